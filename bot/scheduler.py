"""APScheduler jobs built from channel settings: post, close and the weekly board.

The job store is in memory and rebuilt from the database at start-up and on every
settings change; the database stays the truth. Jobs only *ask* the service to post or
close, and the service's unique keys and conditional updates make each happen once,
so a job that fires twice or a second process running the same jobs changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.core.errors import AlreadyExists, ChannelUnavailable, QuizError
from bot.core.models import ChannelRef, ChannelSettings, DrillState
from bot.core.scoring import at_local_time, local_date
from bot.core.service import PublishFailed, QuizService, is_skipped

log = logging.getLogger(__name__)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKLY_BOARD_DELAY = timedelta(minutes=5)
RETRY_WINDOW = timedelta(minutes=10)
FIRST_RETRY = timedelta(seconds=15)
FIRST_MONDAY = datetime(2024, 1, 1)  # any Monday: weekly_board_time counts days from it


def job_id(kind: str, channel: ChannelRef) -> str:
    return f"{kind}:{channel.platform}:{channel.workspace_id}:{channel.channel_id}"


def cron(days: tuple[int, ...], hhmm: str, timezone: str) -> CronTrigger:
    hour, minute = (int(part) for part in hhmm.split(":"))
    weekdays = ",".join(DAY_NAMES[d] for d in days)
    return CronTrigger(day_of_week=weekdays, hour=hour, minute=minute, timezone=ZoneInfo(timezone))


def closes_next_day(settings: ChannelSettings) -> bool:
    """A close time at or before the post time closes the drill on the following day."""
    return settings.close_time is not None and settings.close_time <= settings.post_time


def close_days(settings: ChannelSettings) -> tuple[int, ...]:
    """The weekdays a close happens: the post days, or the days after them."""
    if closes_next_day(settings):
        return tuple(sorted((day + 1) % 7 for day in settings.days))
    return settings.days


def weekly_board_at(settings: ChannelSettings) -> datetime:
    """The board's wall-clock moment in a reference week starting on FIRST_MONDAY."""
    anchor = datetime.strptime(settings.close_time or settings.post_time, "%H:%M")
    day = max(settings.days) + (1 if closes_next_day(settings) else 0)
    board = FIRST_MONDAY + timedelta(days=day, hours=anchor.hour, minutes=anchor.minute)
    return board + WEEKLY_BOARD_DELAY


def weekly_board_lag(settings: ChannelSettings) -> int:
    """Days from the week's last drill day to its board (0, or 1-2 past midnight)."""
    return (weekly_board_at(settings) - FIRST_MONDAY).days - max(settings.days)


def weekly_board_time(settings: ChannelSettings) -> tuple[int, str]:
    """The channel's week ends 5 minutes after the last drill of its week closes
    (Friday 17:05 by default), or after that day's post when drills close at the next post.

    Counted on a real week, so a close late in the evening, or on the next morning,
    moves the board to the right weekday instead of wrapping to the start of that day.
    """
    board = weekly_board_at(settings)
    return board.weekday(), board.strftime("%H:%M")


class DrillScheduler:
    """Implements the core's ChannelScheduler port on an AsyncIOScheduler."""

    def __init__(
        self,
        service: QuizService,
        *,
        misfire_grace: timedelta = timedelta(hours=1),
        retry_window: timedelta = RETRY_WINDOW,
        first_retry: timedelta = FIRST_RETRY,
        scheduler: AsyncIOScheduler | None = None,
    ) -> None:
        self.service = service
        self.misfire_grace = misfire_grace
        self.retry_window = retry_window
        self.first_retry = first_retry
        self.scheduler = scheduler or AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1}
        )
        service.set_scheduler(self)

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the scheduler, rebuild every channel's jobs and catch up on what is due."""
        if not self.scheduler.running:
            self.scheduler.start()
        for settings in await self.service.repo.configured_channels():
            try:
                self.reschedule(settings)
                await self.catch_up(settings)
            except Exception:  # one bad stored channel never stops the others
                log.exception("cannot schedule %s; the other channels go on", settings.channel)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def catch_up(self, settings: ChannelSettings) -> None:
        """After a restart: close drills whose time has passed, and post today's drill
        if its time passed within the misfire grace. Older misses are only logged."""
        channel = settings.channel
        await self.close_job(channel)
        if settings.paused:
            return
        now = self.service.clock.now()
        today = local_date(now, settings.timezone)
        post_at = at_local_time(today, settings.post_time, settings.timezone)
        if today.weekday() not in settings.days or post_at > now:
            return
        latest = await self.service.repo.latest_drill(channel)
        if (
            latest is not None
            and latest.local_date == today
            and latest.state in (DrillState.OPEN, DrillState.CLOSED)
        ):
            return  # a failed, pending or crashed ('posting') drill is posted again
        if now - post_at <= self.misfire_grace:
            log.info("catching up on today's post in %s (due %s)", channel, post_at)
            self.scheduler.add_job(  # no trigger: run as soon as the scheduler can
                self.post_job,
                args=[channel],
                id=job_id("catch-up", channel),
                replace_existing=True,
                misfire_grace_time=int(self.misfire_grace.total_seconds()),
            )
        else:
            log.warning("missed the post in %s at %s: the bot was not running", channel, post_at)

    # --- the ChannelScheduler port ------------------------------------------------------------

    def reschedule(self, settings: ChannelSettings) -> tuple[datetime | None, datetime | None]:
        """(Re)build a channel's jobs under stable ids; returns the next post and close."""
        channel = settings.channel
        grace = int(self.misfire_grace.total_seconds())
        post = cron(settings.days, settings.post_time, settings.timezone)
        close = (
            cron(close_days(settings), settings.close_time, settings.timezone)
            if settings.close_time
            else None
        )
        day, at = weekly_board_time(settings)
        weekly = cron((day,), at, settings.timezone)
        wanted = {
            "post": (post, self.post_job) if not settings.paused else None,
            "close": (close, self.close_job) if close else None,
            "weekly": (weekly, self.weekly_job, weekly_board_lag(settings))
            if not settings.paused
            else None,
        }
        for kind, job in wanted.items():
            ident = job_id(kind, channel)
            if job is None:
                if self.scheduler.get_job(ident):
                    self.scheduler.remove_job(ident)
                continue
            trigger, func, *extra = job
            self.scheduler.add_job(
                func,
                trigger,
                args=[channel, *extra],
                id=ident,
                replace_existing=True,
                misfire_grace_time=grace,
            )
        now = self.service.clock.now()
        next_post = None if settings.paused else self.next_post(settings, post, now)
        next_close = close.get_next_fire_time(None, next_post or now) if close else None
        return next_post, next_close

    @staticmethod
    def next_post(settings: ChannelSettings, trigger: CronTrigger, now: datetime) -> datetime:
        fire = trigger.get_next_fire_time(None, now)
        while fire and is_skipped(settings, fire.date()):
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        return fire

    # --- the jobs ---------------------------------------------------------------------------------

    async def post_job(self, channel: ChannelRef) -> None:
        """Post today's drill, retrying a failing platform with backoff for up to
        `retry_window`; the drill is claimed once and reposted from the same claim."""
        deadline = self.service.clock.now() + self.retry_window
        delay = self.first_retry
        while True:
            try:
                drill = await self.service.post_daily(channel)
            except AlreadyExists as exc:
                log.info("no post in %s: %s", channel, exc.message)
                return
            except PublishFailed as exc:
                permanent = isinstance(exc.__cause__, ChannelUnavailable)
                remaining = deadline - self.service.clock.now()
                if permanent or remaining <= timedelta(0):
                    await self.service.fail_post(channel, str(exc.__cause__ or exc))
                    return
                wait = min(delay, remaining)
                log.warning("post in %s failed; retrying in %ss", channel, wait.total_seconds())
                await asyncio.sleep(wait.total_seconds())
                delay *= 2
                continue
            except QuizError as exc:
                log.warning("no post in %s: %s", channel, exc.message)
                return
            log.info("posted drill %s (%s) in %s", drill.id, drill.question_id, channel)
            return

    async def close_job(self, channel: ChannelRef) -> None:
        try:
            result = await self.service.close_if_due(channel)
        except QuizError as exc:
            log.warning("closing in %s: %s", channel, exc.message)
            return
        if result is not None:
            log.info("closed drill %s in %s", result.drill.id, channel)

    async def weekly_job(self, channel: ChannelRef, days_late: int = 0) -> None:
        try:
            board = await self.service.post_weekly_board(channel, days_late)
        except QuizError as exc:
            log.warning("weekly board in %s: %s", channel, exc.message)
            return
        if board is not None:
            log.info("posted the weekly board for %s in %s", board.period_key, channel)
