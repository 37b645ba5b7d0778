"""The outbox dispatcher: delivers outbox rows, in order per channel, with retries.

It talks to the core only (QuizService's delivery methods and, through them, the
Publisher port); it imports no platform library. One background task per process:

- Started only once the publishers it needs are registered (`python -m bot run` starts
  it after the adapters are ready), so a start-up catch-up never meets a missing one.
- Due rows are claimed with one conditional UPDATE (QuizService.claim_deliveries): a
  row moves pending -> sending for exactly one claimer, in this process or another.
  Claimed rows are delivered in the background and more are claimed as calls finish,
  so a call the platform holds delays only its own channel's later rows.
  Only the first undelivered row of a channel is claimable, so a channel's reveal and
  board go out before its new question. Rows left 'sending' by a crashed process are
  claimed again once stale, marked unsure: a post is then looked up with
  `Publisher.find_drill_post` before it is sent again.
- The platform's message id is stored the moment the call returns (for a post, in the
  transaction that marks the row done and gives the drill its id).
- Every platform call waits for its slot in the platform's client-side rate limiter
  (bot.delivery.ratelimit: Discord's global and per-channel pace, Slack's per-channel
  and per-method tiers), so a fan-out leaves close to the allowed rate; a 429 pauses
  the scope for its Retry-After.
- Failures follow bot.delivery.retry.RetryPolicy: transient ones (5xx, timeouts, 429)
  back off exponentially and never sooner than Retry-After, for up to an hour (an
  outage of ten minutes loses nothing); permanent ones (ChannelUnavailable) stop at
  once, the row dies and one admin DM row is written with it.
- Duplicates: a post whose outcome is unknown is looked up before re-sending, so it is
  never doubled where the platform's history shows it. A board or an admin DM has no
  such lookup: after a 5xx-after-accept it may appear twice (Discord folds the repeat
  through the message nonce; on Slack it can show twice). The row's `attempts` and
  `last_error` record every such retry.

On every start (and every idle poll) it resumes what is due: pending rows whose time
came, and stale 'sending' rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from datetime import timedelta

from bot.core.models import DeliveryAttempt, OutboxItem, OutboxKind, OutboxState
from bot.core.service import QuizService
from bot.delivery.ratelimit import (
    RateLimiter,
    discord_keys,
    discord_limiter,
    slack_keys,
    slack_limiter,
)
from bot.delivery.retry import Outcome, RetryPolicy

log = logging.getLogger(__name__)

BATCH = 200  # rows claimed per pass; each is the head of its own channel
CONCURRENCY = 16  # platform calls in flight at once
IDLE_POLL = 30.0  # seconds between looks at the outbox when nothing woke us
WAIT_STEP = 0.02  # seconds between looks while an admin waits for one row

# The platform names the adapters register their publishers under.
DISCORD, SLACK = "discord", "slack"
# The Slack Web API method each kind of row calls (its rate-limit tier).
SLACK_METHODS = {
    OutboxKind.POST: "chat.postMessage",
    OutboxKind.REVEAL: "chat.update",
    OutboxKind.BOARD: "chat.postMessage",
    OutboxKind.WEEKLY: "chat.postMessage",
    OutboxKind.DM: "chat.postEphemeral",
    OutboxKind.REMINDER: "chat.postMessage",
    OutboxKind.NOTICE: "chat.postMessage",
}


def default_limiters() -> dict[str, RateLimiter]:
    return {DISCORD: discord_limiter(), SLACK: slack_limiter()}


def limit_keys(item: OutboxItem) -> tuple[str, ...]:
    """The rate-limit scopes a row's platform call counts against (none for a platform
    without limits, such as the console)."""
    channel = item.channel
    if channel.platform == DISCORD:
        # A DM goes to the member's DM channel, not this one: only the global limit.
        direct = item.effect in (OutboxKind.DM, OutboxKind.REMINDER)
        return ("discord",) if direct else discord_keys(channel.channel_id)
    if channel.platform == SLACK:
        return slack_keys(channel.workspace_id, SLACK_METHODS[item.effect], channel.channel_id)
    return ()


class Dispatcher:
    """Implements the core's Delivery port over QuizService's outbox methods."""

    def __init__(
        self,
        service: QuizService,
        *,
        policy: RetryPolicy | None = None,
        batch: int = BATCH,
        concurrency: int = CONCURRENCY,
        idle_poll: float = IDLE_POLL,
        rng: random.Random | None = None,
        limiters: Mapping[str, RateLimiter] | None = None,
    ) -> None:
        self.service = service
        self.policy = policy or RetryPolicy()
        self.limiters = dict(default_limiters() if limiters is None else limiters)
        self.batch = batch
        self.idle_poll = idle_poll
        self.rng = rng or random.Random()
        self._calls = asyncio.Semaphore(concurrency)
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[int] = set()
        self._attended: set[int] = set()
        self._calls_running: set[asyncio.Task[None]] = set()
        service.set_delivery(self)

    # --- life cycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background task (with a running loop); resumes whatever is due."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        """Stop the background task and any call still in flight (their rows stay
        'sending' and are resumed, unsure, by the next start)."""
        tasks = [*self._calls_running, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    def wake(self) -> None:
        self._woken.set()

    def limiter(self, platform: str) -> RateLimiter | None:
        """The limiter a platform's calls go through; adapters feed it what the platform
        says about its limits (Discord's headers, see discord_adapter/ratelimit.py)."""
        return self.limiters.get(platform)

    async def _run(self) -> None:
        while True:
            self._woken.clear()
            try:
                await self._fill()
                # With no room left, the next finished call wakes us; else the next due row.
                timeout = await self._idle_timeout() if self._room() else self.idle_poll
            except Exception:  # the database went away for a moment: look again soon
                log.exception("delivery pass failed; trying again shortly")
                timeout = min(self.idle_poll, 5.0)
            # asyncio.timeout, not wait_for: on 3.11 wait_for drops a stop()'s cancel that
            # lands just as a wake() sets the event, and the task would never end.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._woken.wait()

    async def _idle_timeout(self) -> float:
        due = await self.service.next_delivery_due()
        if due is None:
            return self.idle_poll
        wait = (due - self.service.now()).total_seconds()
        return min(self.idle_poll, max(wait, 0.0))

    # --- delivering -----------------------------------------------------------------------

    async def _fill(self) -> None:
        """Claim what is due, as far as there is room, and deliver it in the background:
        each finished call wakes the loop to claim again, so a call the platform holds
        for long holds back only its own channel's later rows, not every channel's."""
        while room := self._room():
            items = await self.service.claim_deliveries(room)
            for item in items:
                if item.id in self._in_flight:
                    continue  # ours, still running (reclaimed as stale): it records itself
                self._spawn(item).add_done_callback(lambda _: self.wake())
            if len(items) < room:
                return

    def _room(self) -> int:
        """How many rows to claim now: none until a quarter of the batch is free again
        (one claim per finished call would query the outbox for every delivery)."""
        room = self.batch - len(self._calls_running)
        return room if room >= max(1, self.batch // 4) or not self._calls_running else 0

    async def drain(self) -> int:
        """Deliver every row that is due now, pass after pass, until none is left;
        returns how many attempts were made."""
        attempts = 0
        while items := await self.service.claim_deliveries(self.batch):
            await asyncio.gather(*(self._attempt(item) for item in items))
            attempts += len(items)
        return attempts

    async def deliver_now(self, item_id: int, within: float) -> DeliveryAttempt:
        """Deliver one row now (its channel's earlier rows first) and wait for the
        outcome of an attempt; used by /quiz post-now and close-now."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        self._attended.add(item_id)
        ours = False  # whether this process made the attempt that settled the row
        try:
            first = await self._item(item_id)
            while True:
                ours = ours or item_id in self._in_flight
                item = await self._item(item_id)
                if item.state in (OutboxState.DONE, OutboxState.DEAD):
                    return DeliveryAttempt(item, elsewhere=not ours)
                if item.state is OutboxState.PENDING and item.attempts > first.attempts:
                    # an attempt failed; the row is queued again
                    return DeliveryAttempt(item, elsewhere=not ours)
                claimed = await self.service.claim_deliveries(1, item.channel)
                if claimed:
                    ours = ours or any(c.id == item_id for c in claimed)
                    # A slow platform call goes on in the background once the wait is up.
                    calls = {self._spawn(c) for c in claimed}
                    await asyncio.wait(calls, timeout=max(deadline - loop.time(), 0.0))
                    if any(not call.done() for call in calls):
                        return DeliveryAttempt(await self._item(item_id), timed_out=True)
                    continue
                if (
                    item.state is OutboxState.SENDING
                    and item.id not in self._in_flight
                    and not self.service.is_stale(item)
                ):
                    return DeliveryAttempt(item, elsewhere=True)
                if loop.time() >= deadline:
                    return DeliveryAttempt(item, timed_out=True)
                await asyncio.sleep(WAIT_STEP)
        finally:
            self._attended.discard(item_id)
            self.wake()  # rows behind this one are due as well

    def _spawn(self, item: OutboxItem) -> asyncio.Task[None]:
        task = asyncio.create_task(self._attempt(item), name=f"deliver {item.key}")
        self._calls_running.add(task)
        task.add_done_callback(self._calls_running.discard)
        return task

    async def _item(self, item_id: int) -> OutboxItem:
        item = await self.service.outbox_item(item_id)
        if item is None:
            raise LookupError(f"outbox row {item_id} is gone")
        return item

    async def _attempt(self, item: OutboxItem) -> None:
        """One platform call for a claimed row, and its outcome recorded. Cancellation
        (a shutdown, a crash) leaves the row 'sending': it is resumed, unsure, later."""
        self._in_flight.add(item.id)
        try:
            limiter, keys = self.limiters.get(item.channel.platform), limit_keys(item)
            paced = limiter.slot(*keys) if limiter and keys else contextlib.nullcontext()
            async with self._calls:
                try:
                    async with paced:
                        message_id = await self.service.deliver(item)
                except Exception as exc:
                    await self._failed(item, exc)
                    return
                await self.service.delivered(item, message_id)
                log.info("delivered %s in %s", item.key, item.channel)
        finally:
            self._in_flight.discard(item.id)

    async def _failed(self, item: OutboxItem, exc: Exception) -> None:
        now = self.service.now()
        failing_for = (now - item.failing_since).total_seconds() if item.failing_since else 0.0
        decision = self.policy.decide(
            exc, attempt=item.attempts, failing_for=failing_for, rng=self.rng
        )
        verdict = decision.verdict
        reason = str(exc) or verdict.reason
        attended = item.id in self._attended
        if verdict.unexpected:
            log.error("delivering %s failed unexpectedly", item.key, exc_info=exc)
        if decision.outcome is Outcome.RETRY:
            log.warning(
                "delivering %s in %s failed (%s); retrying in %.1f s",
                item.key,
                item.channel,
                verdict.reason,
                decision.delay,
            )
            await self.service.retry_delivery(
                item,
                reason,
                now + timedelta(seconds=decision.delay),
                unsure=verdict.maybe_delivered,
            )
            return
        level = logging.WARNING if attended else logging.ERROR
        log.log(level, "giving up on %s in %s: %s", item.key, item.channel, verdict.reason)
        await self.service.give_up_delivery(
            item, reason, unsure=verdict.maybe_delivered, attended=attended
        )
        self.wake()  # the admin's DM row is due now
