"""Feeds Discord's rate-limit headers to the delivery limiter, through aiohttp tracing.

discord.py keeps its own per-route buckets and holds its own requests behind a global
429, but it cannot tell the limiter in front of it: queued deliveries would keep
handing it requests that pile up behind its lock and leave together when it lifts. Pass
`http_trace=discord_trace(limiter)` to discord.Client (create_bot forwards it) so that a
global 429 pauses the limiter's `discord` key for its Retry-After, and a channel's
message bucket reported empty (X-RateLimit-Remaining 0) holds that channel's key until
X-RateLimit-Reset-After.
"""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

import aiohttp

from bot.delivery.ratelimit import RateLimiter, discord_keys

log = logging.getLogger(__name__)

CHANNEL_MESSAGES = re.compile(r"/channels/(?P<channel_id>[0-9]+)/messages(?:/|$)")


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def observe(limiter: RateLimiter, path: str, status: int, headers: object) -> None:
    """Apply one response's rate-limit headers to the limiter."""
    get = getattr(headers, "get", None)
    if get is None:
        return
    global_key, _ = discord_keys("")
    if status == 429:
        retry_after = _seconds(get("Retry-After"))
        is_global = get("X-RateLimit-Global", "").lower() == "true" or (
            get("X-RateLimit-Scope", "") == "global"
        )
        if is_global and retry_after is not None:
            limiter.pause(global_key, retry_after)
            return
    match = CHANNEL_MESSAGES.search(path)
    remaining, reset_after = get("X-RateLimit-Remaining"), get("X-RateLimit-Reset-After")
    if match and remaining is not None and (reset := _seconds(reset_after)) is not None:
        _, channel_key = discord_keys(match["channel_id"])
        try:
            limiter.learn(channel_key, int(remaining), reset)
        except ValueError:
            log.debug("unreadable X-RateLimit-Remaining %r", remaining)


def discord_trace(limiter: RateLimiter) -> aiohttp.TraceConfig:
    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        observe(limiter, params.url.path, params.response.status, params.response.headers)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace
