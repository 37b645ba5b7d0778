"""Points, local dates and period keys: the pure arithmetic behind scores and streaks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.models import Difficulty, Grade, Period, Verdict

BASE_POINTS = {Difficulty.EASY: 10, Difficulty.MEDIUM: 20, Difficulty.HARD: 30}

# Streak freezes: one earned each time a streak reaches a multiple of FREEZE_EVERY drill
# days, at most MAX_FREEZES held; each covers one missed drill day, used automatically.
FREEZE_EVERY = 7
MAX_FREEZES = 2

# (answered within, bonus): a correct answer soon after the post earns a little more.
SPEED_BONUS = ((timedelta(minutes=5), 5), (timedelta(minutes=30), 3), (timedelta(hours=2), 1))


def points_for(difficulty: Difficulty, grade: Grade, latency: timedelta) -> int:
    """Full points plus a speed bonus when correct; half points for a partial open answer."""
    base = BASE_POINTS[difficulty]
    if grade.verdict is Verdict.PARTIAL:
        return base // 2
    if grade.verdict is not Verdict.GOOD:
        return 0
    bonus = next((extra for within, extra in SPEED_BONUS if latency <= within), 0)
    return base + bonus


def local_date(instant: datetime, timezone: str) -> date:
    """The calendar date at `instant` in `timezone`; streaks and drills key on it."""
    return instant.astimezone(ZoneInfo(timezone)).date()


def period_key(period: Period, day: date) -> str:
    """The leaderboard bucket a local date falls in: ISO week (Mon-Sun), month, or all time."""
    if period is Period.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period is Period.MONTH:
        return f"{day.year}-{day.month:02d}"
    return "all"


def at_local_time(day: date, hhmm: str, timezone: str) -> datetime:
    """The aware instant of wall-clock `hhmm` on `day` in `timezone` (DST-safe via zoneinfo)."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(timezone))
