"""When to try a failed delivery again, and when to stop.

Publishers translate platform errors into two core types (bot/core/errors.py):
`ChannelUnavailable` (the channel refuses us until someone acts: stop, tell the admin
once) and `TransientFailure` (5xx, timeout, lost connection, 429: try again later, never
sooner than the platform's Retry-After). `classify` reads those, plus the standard
library's timeout and connection errors; anything else is a bug, retried like a
transient failure so that nothing is lost, but flagged `unexpected` so that the caller
logs it with its traceback.

Our retries are the only retries that may repeat a post (the decision, per platform):

- Discord: discord.py's HTTPClient retries 500/502/504/524 by itself, up to 5 tries
  (discord/http.py `request`), with no switch to turn it off. Every message the
  publisher creates therefore carries a `nonce`; discord.py then also sends
  `enforce_nonce: true`, and Discord returns the message it already created for that
  nonce within the last few minutes instead of creating another. The library's retries
  of a 5xx-after-accept thus come back with the first message, not a copy. Older
  outcomes are settled by `find_drill_post` before posting again.
- Slack: slack_sdk's AsyncWebClient retries nothing but connection errors by default
  (`AsyncConnectionErrorRetryHandler`, once), and a reset after Slack accepted a
  chat.postMessage would post it twice, since Slack has no idempotency key for it. The
  publisher posts through a copy of the client without retry handlers; rate limits are
  the limiter's job, and every other retry is ours.

A give-up horizon bounds the retries: by default an hour from the first failure, so an
outage of ten minutes (or of 59) loses nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from bot.core.errors import ChannelUnavailable, TransientFailure


class Outcome(Enum):
    RETRY = "retry"  # try again at `Decision.delay` seconds from now
    PERMANENT = "permanent"  # the channel refuses us: stop and tell the admin once
    GIVE_UP = "give_up"  # transient, but past the horizon: stop and tell the admin


@dataclass(frozen=True)
class Verdict:
    """What an exception says about the call that raised it."""

    transient: bool
    reason: str
    retry_after: float | None = None
    global_limit: bool = False
    maybe_delivered: bool = False  # the platform may have accepted it: look before re-posting
    unexpected: bool = False  # not a platform failure we know: log it with its traceback


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    verdict: Verdict
    delay: float = 0.0  # seconds until the next attempt, when outcome is RETRY


def classify(exc: BaseException) -> Verdict:
    if isinstance(exc, ChannelUnavailable):
        return Verdict(transient=False, reason=str(exc) or type(exc).__name__)
    if isinstance(exc, TransientFailure):
        return Verdict(
            transient=True,
            reason=exc.reason,
            retry_after=exc.retry_after,
            global_limit=exc.global_limit,
            maybe_delivered=exc.maybe_delivered,
        )
    if isinstance(exc, TimeoutError):
        return Verdict(transient=True, reason="timed out", maybe_delivered=True)
    if isinstance(exc, ConnectionRefusedError):
        return Verdict(transient=True, reason="connection refused")
    if isinstance(exc, OSError):
        return Verdict(transient=True, reason=f"connection error: {exc}", maybe_delivered=True)
    return Verdict(
        transient=True, reason=f"{type(exc).__name__}: {exc}", maybe_delivered=True, unexpected=True
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits about `base * factor**(n-1)`
    seconds (capped at `cap`), drawn uniformly from its upper half so that a fan-out
    that failed together does not retry together; never less than Retry-After."""

    base: float = 2.0
    factor: float = 2.0
    cap: float = 120.0
    horizon: float = 3600.0  # seconds from the first failure after which we give up

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.cap < self.base or self.horizon < 600:
            raise ValueError(
                "a retry policy needs base > 0, factor >= 1, cap >= base and a horizon of "
                f"at least 10 minutes: {self!r}"
            )

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt number `attempt` (1 for the first failure)."""
        exponent = min(max(attempt, 1) - 1, 64)
        ceiling = min(self.cap, self.base * self.factor**exponent)
        return rng.uniform(ceiling / 2, ceiling)

    def decide(
        self,
        exc: BaseException,
        *,
        attempt: int,
        failing_for: float,
        rng: random.Random | None = None,
    ) -> Decision:
        """What to do after failed attempt number `attempt`, `failing_for` seconds after
        the first failure of this delivery (0 for the first)."""
        verdict = classify(exc)
        if not verdict.transient:
            return Decision(Outcome.PERMANENT, verdict)
        delay = self.backoff(attempt, rng or random.Random())
        if verdict.retry_after is not None:
            delay = max(delay, verdict.retry_after)
        if failing_for + delay > self.horizon:
            return Decision(Outcome.GIVE_UP, verdict)
        return Decision(Outcome.RETRY, verdict, delay)
