"""Streaks that forgive: a freeze per 7 drill days in a row, at most 2, each covering one
missed drill day; days without a drill never count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.core import commands, messages
from bot.core.models import MemberRef
from bot.core.service import Invocation, QuizService
from tests.conftest import member

ALICE = member("alice")
# Wednesday 1 January 2025, 09:00 in Berlin.
FIRST_DAY = date(2025, 1, 1)


async def drill_day(
    service: QuizService, admin: Invocation, clock, day: date, *, answers: bool
) -> int:
    """Post the day's drill, let alice answer it (or not), close it; her streak after."""
    clock.set(datetime(day.year, day.month, day.day, 8, tzinfo=UTC))
    drill = await service.post_daily(admin.channel, forced=True)
    streak = 0
    if answers:
        result = await service.submit_answer(ALICE, drill.id, "A")
        streak = result.streak
    await service.close_drill(drill.id)
    return streak


async def run_days(service, admin, clock, pattern: str, start: date = FIRST_DAY) -> int:
    """One drill a day from `start`: `x` alice answers, `.` she misses; returns her last
    streak as the answer reported it."""
    streak = 0
    for offset, mark in enumerate(pattern):
        day = start + timedelta(days=offset)
        answered = await drill_day(service, admin, clock, day, answers=mark == "x")
        streak = answered or streak
    return streak


async def setup(service: QuizService, admin: Invocation, days: str = "daily") -> None:
    await service.execute(
        commands.parse(f"/quiz setup tz:Europe/Berlin topics:testing days:{days}"), admin
    )


async def stats(service: QuizService, admin: Invocation, who: MemberRef = ALICE):
    return await service.member_stats(who, admin.channel)


async def test_seven_days_in_a_row_earn_a_freeze_and_two_is_the_most_held(service, admin, clock):
    await setup(service, admin)
    await run_days(service, admin, clock, "x" * 6)
    assert (await stats(service, admin)).freezes == 0
    await run_days(service, admin, clock, "x", FIRST_DAY + timedelta(days=6))
    assert (await stats(service, admin)).freezes == 1
    await run_days(service, admin, clock, "x" * 14, FIRST_DAY + timedelta(days=7))
    held = await stats(service, admin)
    assert (held.current_streak, held.freezes) == (21, 2)


async def test_a_freeze_covers_a_missed_drill_day_and_is_used_up(service, admin, clock):
    await setup(service, admin)
    await run_days(service, admin, clock, "x" * 7 + ".")
    missed = await stats(service, admin)
    assert (missed.current_streak, missed.best_streak, missed.freezes) == (7, 7, 0)
    streak = await run_days(service, admin, clock, "x", FIRST_DAY + timedelta(days=8))
    assert streak == 8
    after = await stats(service, admin)
    assert (after.current_streak, after.freezes) == (8, 0)


async def test_two_missed_days_with_one_freeze_break_the_streak(service, admin, clock):
    await setup(service, admin)
    await run_days(service, admin, clock, "x" * 7 + "..")
    broken = await stats(service, admin)
    assert (broken.current_streak, broken.best_streak, broken.freezes) == (0, 7, 0)
    streak = await run_days(service, admin, clock, "x", FIRST_DAY + timedelta(days=9))
    assert streak == 1
    assert (await stats(service, admin)).freezes == 0


async def test_a_weekend_without_drills_uses_no_freeze(service, admin, clock):
    await setup(service, admin, "weekdays")
    # Wed 1 .. Fri 10 January: 8 weekday drills, the weekend of 4-5 January has none.
    weekdays = [FIRST_DAY + timedelta(days=n) for n in range(10)]
    streak = 0
    for day in (d for d in weekdays if d.weekday() < 5):
        streak = await drill_day(service, admin, clock, day, answers=True)
    held = await stats(service, admin)
    assert (streak, held.current_streak, held.freezes) == (8, 8, 1)


async def test_freezes_count_per_member(service, admin, clock):
    await setup(service, admin)
    bob = member("bob")
    for offset in range(7):
        day = FIRST_DAY + timedelta(days=offset)
        clock.set(datetime(day.year, day.month, day.day, 8, tzinfo=UTC))
        drill = await service.post_daily(admin.channel, forced=True)
        await service.submit_answer(ALICE, drill.id, "A")
        if offset >= 3:
            await service.submit_answer(bob, drill.id, "A")
        await service.close_drill(drill.id)
    assert (await stats(service, admin)).freezes == 1
    assert (await stats(service, admin, bob)).freezes == 0


async def test_stats_show_the_freezes_held(service, admin, clock):
    await setup(service, admin)
    await run_days(service, admin, clock, "x" * 7)
    text = messages.stats_text(await stats(service, admin))
    assert "Streak: 7 (best 7) · freezes: 1 of 2" in text.splitlines()
