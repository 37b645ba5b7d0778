"""Delivery primitives the outbox dispatcher builds on: a rate limiter and a retry policy.

Pure asyncio and standard library; platform specifics stay in the adapters, which raise
the core's TransientFailure and ChannelUnavailable."""
