"""When a channel's next post, close and weekly board are due: pure, DST-safe arithmetic.

The instants are computed from local wall-clock settings with zoneinfo (through
`at_local_time`) and stored in UTC on the channel, so one scheduler job can read what is
due from the database instead of keeping a cron job per channel.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.core.models import ChannelSettings
from bot.core.scoring import at_local_time, local_date

WEEKLY_BOARD_DELAY = timedelta(minutes=5)
FIRST_MONDAY = datetime(2024, 1, 1)  # any Monday: weekly_board_time counts days from it
# How far ahead the search for the next post day looks (repeated skips move it on).
POST_DAY_HORIZON = 800


def utc(instant: datetime) -> datetime:
    """Compare and store in UTC: aware datetimes sharing one zone compare by wall clock,
    which is wrong across a DST change."""
    return instant.astimezone(UTC)


def is_skipped(settings: ChannelSettings, day: date) -> bool:
    """Skips add up: every post day up to the stored skip date is skipped."""
    return settings.skip_date is not None and day <= settings.skip_date


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


def next_post_after(
    settings: ChannelSettings, after: datetime, *, inclusive: bool = False
) -> datetime | None:
    """The first post instant after `after` (or at it, when `inclusive`: a schedule saved
    at 09:00 sharp still posts at 09:00) on a post day that is not skipped; None when
    paused (or no post day within the horizon)."""
    if settings.paused or not settings.days:
        return None
    day = local_date(after, settings.timezone)
    for _ in range(POST_DAY_HORIZON):
        if day.weekday() in settings.days and not is_skipped(settings, day):
            post_at = utc(at_local_time(day, settings.post_time, settings.timezone))
            if post_at > after or (inclusive and post_at == after):
                return post_at
        day += timedelta(days=1)
    return None


def close_for(settings: ChannelSettings, posted_at: datetime) -> datetime | None:
    """When a drill posted at `posted_at` closes: the close time that day, or the next
    day when that time has passed (a close at or before the post time); None without one."""
    if settings.close_time is None:
        return None
    day = local_date(posted_at, settings.timezone)
    closes_at = utc(at_local_time(day, settings.close_time, settings.timezone))
    if closes_at <= posted_at:
        closes_at = utc(
            at_local_time(day + timedelta(days=1), settings.close_time, settings.timezone)
        )
    return closes_at


def next_weekly_after(
    settings: ChannelSettings, after: datetime, *, inclusive: bool = False
) -> datetime | None:
    """The next weekly-board instant after `after` (or at it); None when paused."""
    if settings.paused or not settings.days:
        return None
    weekday, hhmm = weekly_board_time(settings)
    day = local_date(after, settings.timezone)
    for _ in range(15):
        if day.weekday() == weekday:
            board_at = utc(at_local_time(day, hhmm, settings.timezone))
            if board_at > after or (inclusive and board_at == after):
                return board_at
        day += timedelta(days=1)
    return None  # pragma: no cover - a weekday recurs within 8 days


def weekly_board_week_day(settings: ChannelSettings, board_at: datetime) -> date:
    """A local date inside the week a board due at `board_at` sums up."""
    return local_date(board_at, settings.timezone) - timedelta(days=weekly_board_lag(settings))
