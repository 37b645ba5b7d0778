"""The terminal channel: the same service and grammar as the chat platforms."""
