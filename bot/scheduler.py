"""One APScheduler job, whatever the number of channels: every TICK it asks the service
to do what is due.

The schedule lives in the database: each channel's next post and weekly-board instants
(UTC, indexed, computed with zoneinfo from its settings on every settings change and
after each fire, see bot.core.schedule) and each open drill's close instant. The tick
(QuizService.fire_due) reads what is due through those indexes, claims each item with a
conditional update (the instant advances only if it is unchanged, a drill closes only
if it is still open) in the same transaction that writes the drill and its outbox rows,
then wakes the dispatcher. So:

- a changed schedule takes effect at the next tick, without a restart;
- a process that was down catches up from the database alone at its first tick: a post
  within MISFIRE_GRACE of its time is still made (later ones are logged and skipped),
  overdue closes (their reveals and boards) and weekly boards are always made;
- several processes on one database race safely: each claim is one compare-and-set
  inside a write transaction (SQLite's BEGIN IMMEDIATE serialises them; on PostgreSQL
  the same UPDATE ... WHERE next_post_at = :due takes the row lock and the loser sees 0
  rows), so exactly one process writes each drill, reveal and board row, and the
  outbox's own claims make exactly one process send each row. Any number of processes
  may run the tick; none needs to be elected.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.schedule import (
    close_days,
    closes_next_day,
    weekly_board_lag,
    weekly_board_time,
)
from bot.core.service import QuizService

log = logging.getLogger(__name__)

__all__ = [
    "TICK",
    "DrillScheduler",
    "close_days",
    "closes_next_day",
    "cron",
    "weekly_board_lag",
    "weekly_board_time",
]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TICK = timedelta(seconds=30)
TICK_JOB = "tick"


def cron(days: tuple[int, ...], hhmm: str, timezone: str) -> CronTrigger:
    """The cron equivalent of a channel's post schedule (a reference for the arithmetic
    in bot.core.schedule, which the tests hold against it)."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    weekdays = ",".join(DAY_NAMES[d] for d in days)
    return CronTrigger(day_of_week=weekdays, hour=hour, minute=minute, timezone=ZoneInfo(timezone))


class DrillScheduler:
    """Runs QuizService.fire_due every `tick` on an AsyncIOScheduler."""

    def __init__(
        self,
        service: QuizService,
        *,
        misfire_grace: timedelta = timedelta(hours=1),
        tick: timedelta = TICK,
        scheduler: AsyncIOScheduler | None = None,
    ) -> None:
        self.service = service
        self.misfire_grace = misfire_grace
        self.tick_every = tick
        self.scheduler = scheduler or AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1}
        )
        self._ticks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Catch up at once (one tick before returning), then tick on the one job."""
        await self.tick()
        if not self.scheduler.running:
            self.scheduler.start()
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.tick_every.total_seconds()),
            id=TICK_JOB,
            replace_existing=True,
            misfire_grace_time=max(1, int(self.tick_every.total_seconds())),
        )

    async def shutdown(self) -> None:
        """Stop the job, then wait for a tick in flight: once this returns, no tick
        touches the service (which the caller may be about to close)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        current = asyncio.current_task()
        await asyncio.gather(*(t for t in self._ticks if t is not current), return_exceptions=True)

    async def tick(self) -> int:
        """Fire what is due; returns how many outbox rows were queued."""
        task = asyncio.current_task()
        if task is not None:
            self._ticks.add(task)
        try:
            queued = await self.service.fire_due(self.misfire_grace)
        except Exception:  # the next tick tries again; the database keeps what is due
            log.exception("the scheduler tick failed")
            return 0
        finally:
            if task is not None:
                self._ticks.discard(task)
        if queued:
            log.info("scheduler tick queued %d deliveries", queued)
        return queued
