"""Question kinds: one module per kind owns everything that differs between kinds.

The rest of the code asks `bot.core.kinds.registry` and never names a kind. This package
module imports nothing, so `bot.core.models` can take `Kind` from `names` without a cycle.
"""
