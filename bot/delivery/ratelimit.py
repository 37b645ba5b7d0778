"""A client-side rate limiter: requests leave close to the allowed rate, never in bursts
that draw 429s.

Each scope (a platform's global limit, one channel, one Slack method in one workspace) is
a key with its own bucket; a request names every key it counts against and waits until
all of them have room. Buckets use GCRA (a token bucket kept as one "theoretical arrival
time"). Waiters queue on a per-key FIFO lock and the slot is counted from the moment a
request actually leaves, so thousands of waiting posts leave in order at the configured
rate, and an event-loop stall releases at most one burst afterwards, never the backlog
of every slot that fell due during the stall.

Keys are plain strings; a `Rule` gives the rate of every key its glob pattern matches
(the first matching rule wins, so list specific rules first), each key getting a bucket
of its own, and a key no rule matches is not limited. The defaults, `DISCORD_RULES`
and `SLACK_RULES`, sit just under the published limits:

- Discord: 50 requests/s per bot across all routes (the "global" limit), paced at 48/s
  with a burst of 2: no one-second window holds more than 49, and a fan-out of N posts
  still leaves within 1.1x of N/50 s (the design's budget, bench/fanout.py; 45/s could
  not: N/45 is 1.11x N/50 before any overhead). discord.py
  already learns per-route buckets from `X-RateLimit-Bucket`, `-Remaining` and
  `-Reset-After` (discord/http.py `Ratelimit`): it waits before a request once a bucket
  is empty and holds every request behind a global 429. What it does not do is pace
  the global limit before Discord answers 429; that is what the `discord` key is for.
  Keeping every route's bucket here too would duplicate discord.py's bookkeeping, so
  the limiter adds only a per-channel pace (5 messages per 5 s, Discord's usual channel
  bucket) so that one channel's reveal, board and post never burst, and
  bot/discord_adapter/ratelimit.py `discord_trace` feeds the headers back: a global
  429 pauses `discord`, an empty channel bucket pauses that channel's key.
- Slack: chat.postMessage is "special": about 1 message per second per channel, short
  bursts allowed. Other methods follow tiers per workspace and method: chat.update
  tier 3 (50+/min), chat.postEphemeral and users.info tier 4 (100+/min),
  conversations.history tier 3 (and 1/min for non-Marketplace apps created after May
  2025, so the delivery code must call it sparingly). views.open answers a trigger
  that expires in 3 s, so it must never wait in a delivery queue and has no rule.

When a platform answers 429 anyway, `pause(key, retry_after)` holds the key (the
platform's global key for a global limit) for that long, then lets requests resume one
at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from bot.core.errors import TransientFailure

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Rule:
    """`rate` requests per `per` seconds for each key matching the glob `pattern`, with
    up to `burst` requests at once after a quiet spell."""

    pattern: str
    rate: float
    per: float = 1.0
    burst: int = 1

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.per <= 0 or self.burst < 1:
            raise ValueError(f"a rate limit rule needs a positive rate and burst: {self!r}")

    @property
    def interval(self) -> float:
        return self.per / self.rate


# Key builders, so that callers and rules agree on the spelling.
def discord_keys(channel_id: str) -> tuple[str, str]:
    return ("discord", f"discord:channel:{channel_id}")


def slack_keys(workspace_id: str, method: str, channel_id: str | None = None) -> tuple[str, ...]:
    keys = [f"slack:{workspace_id}:{method}"]
    if channel_id is not None and method == "chat.postMessage":
        keys.append(f"slack:channel:{channel_id}")
    return tuple(keys)


DISCORD_RULES = (
    Rule("discord:channel:*", rate=5, per=5, burst=2),
    Rule("discord", rate=48, burst=2),
)
SLACK_RULES = (
    Rule("slack:channel:*", rate=1, burst=1),
    # Workspace-wide: Slack allows "several hundred messages per minute".
    Rule("slack:*:chat.postMessage", rate=300, per=60, burst=10),
    Rule("slack:*:chat.update", rate=50, per=60, burst=10),  # tier 3
    Rule("slack:*:conversations.history", rate=50, per=60, burst=3),  # tier 3
    Rule("slack:*:chat.postEphemeral", rate=100, per=60, burst=10),  # tier 4
    Rule("slack:*:users.info", rate=100, per=60, burst=10),  # tier 4
)


@dataclass
class _Bucket:
    rule: Rule
    tat: float  # theoretical arrival time of the next request at the steady rate
    paused_until: float = 0.0
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO queue of waiters

    @property
    def tolerance(self) -> float:
        return (self.rule.burst - 1) * self.rule.interval

    def earliest(self, now: float) -> float:
        return max(now, self.tat - self.tolerance, self.paused_until)

    def take(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.rule.interval


class RateLimiter:
    """Token buckets keyed by scope. `await acquire(keys)` returns once a request may go
    out under every key; `async with slot(*keys)` does the same and pauses the scope
    when the call inside raises a TransientFailure with a Retry-After."""

    def __init__(
        self,
        rules: Iterable[Rule] = (),
        *,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rules = tuple(rules)
        self.clock = clock
        self.sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self.waited = 0.0  # total seconds callers spent waiting, for benchmarks

    def rule_for(self, key: str) -> Rule | None:
        return next((rule for rule in self.rules if fnmatchcase(key, rule.pattern)), None)

    def _bucket(self, key: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            rule = self.rule_for(key)
            if rule is None:
                return None
            bucket = self._buckets[key] = _Bucket(rule, tat=now)
        return bucket

    async def _wait_for(self, key: str) -> None:
        """Wait for this key's turn, then until its bucket has room, and take the slot
        at the time the request really leaves (a pause that arrives meanwhile counts)."""
        bucket = self._bucket(key, self.clock())
        if bucket is None:
            return
        async with bucket.turn:
            while (at := bucket.earliest(now := self.clock())) > now:
                self.waited += at - now
                await self.sleep(at - now)
            bucket.take(now)

    def _paused_until(self, keys: Sequence[str]) -> float:
        return max(
            (self._buckets[key].paused_until for key in keys if key in self._buckets),
            default=0.0,
        )

    async def acquire(self, keys: Iterable[str]) -> None:
        """Wait until one request may go out under every key in `keys`.

        The most specific key is waited for first and the platform's global key last,
        so a channel that must wait never holds a global slot that another channel
        could use now."""
        keys = tuple(keys)
        while True:
            for key in reversed(keys):
                await self._wait_for(key)
            now = self.clock()
            # A pause that arrived while we slept moves the slot; reserve again.
            if self._paused_until(keys) <= now:
                break
        for key in keys[1:]:
            # Count the narrower scopes from when the request actually leaves.
            if (bucket := self._buckets.get(key)) is not None:
                bucket.tat = max(bucket.tat, now + bucket.rule.interval)

    @asynccontextmanager
    async def slot(self, *keys: str) -> AsyncIterator[None]:
        """Acquire, run the call, and pause on a 429 the call reports: the platform's
        global key (`keys[0]`) for a global limit, else the most specific key."""
        await self.acquire(keys)
        try:
            yield
        except TransientFailure as exc:
            if exc.retry_after is not None and keys:
                self.pause(keys[0] if exc.global_limit else keys[-1], exc.retry_after)
            raise

    def pause(self, key: str, retry_after: float) -> None:
        """Hold `key` for `retry_after` seconds (Retry-After, X-RateLimit-Reset-After, a
        Discord global 429); afterwards requests resume at the steady rate, one at a
        time, rather than all at once."""
        now = self.clock()
        bucket = self._bucket(key, now)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(Rule(key, rate=1e9), tat=now)
        until = now + max(0.0, retry_after)
        if until > bucket.paused_until:
            log.info("rate limit: pausing %s for %.2f s", key, retry_after)
            bucket.paused_until = until
        bucket.tat = max(bucket.tat, bucket.paused_until + bucket.tolerance)

    def paused_for(self, key: str) -> float:
        """Seconds until a pause of `key` ends (0 when it is not paused)."""
        bucket = self._buckets.get(key)
        return max(0.0, bucket.paused_until - self.clock()) if bucket is not None else 0.0

    def learn(self, key: str, remaining: int, reset_after: float) -> None:
        """A platform's own bucket state from response headers (X-RateLimit-Remaining,
        X-RateLimit-Reset-After): an exhausted bucket holds the key until it resets."""
        if remaining <= 0:
            self.pause(key, reset_after)


def slack_limiter(
    *, clock: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep
) -> RateLimiter:
    """A limiter with Slack's default rules; method tiers apply per workspace."""
    return RateLimiter(SLACK_RULES, clock=clock, sleep=sleep)


def discord_limiter(
    *, clock: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep
) -> RateLimiter:
    return RateLimiter(DISCORD_RULES, clock=clock, sleep=sleep)
