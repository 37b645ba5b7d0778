"""The daily life cycle on APScheduler's one tick job: instants, real firings, restarts,
retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.app import open_service
from bot.core import commands
from bot.core.errors import AlreadyExists, ChannelUnavailable
from bot.core.models import (
    ChannelRef,
    ChannelSchedule,
    ChannelSettings,
    DrillState,
    OutboxState,
    Period,
)
from bot.core.service import Invocation, PublishFailed, QuizService
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.retry import RetryPolicy
from bot.scheduler import (
    DrillScheduler,
    close_days,
    cron,
    weekly_board_lag,
    weekly_board_time,
)
from tests.conftest import claim_todays_drill, dispatcher_of, member
from tests.fakes import RecordingPublisher

pytestmark = pytest.mark.every_backend

BERLIN = "Europe/Berlin"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "after", "expected_utc"),
    [
        # Berlin springs forward on 2025-03-30: 09:00 is 08:00 UTC before, 07:00 UTC after.
        (BERLIN, utc(2025, 3, 29, 8, 0, 1), utc(2025, 3, 30, 7, 0)),
        # ...and falls back on 2025-10-26: 09:00 is 07:00 UTC before, 08:00 UTC after.
        (BERLIN, utc(2025, 10, 25, 7, 0, 1), utc(2025, 10, 26, 8, 0)),
        (BERLIN, utc(2025, 10, 26, 8, 0, 1), utc(2025, 10, 27, 8, 0)),
        # New York: DST starts 2025-03-09 and ends 2025-11-02.
        ("America/New_York", utc(2025, 3, 8, 14, 0, 1), utc(2025, 3, 9, 13, 0)),
        ("America/New_York", utc(2025, 11, 1, 13, 0, 1), utc(2025, 11, 2, 14, 0)),
        # Kolkata is +05:30 all year.
        ("Asia/Kolkata", utc(2025, 6, 1, 3, 30, 1), utc(2025, 6, 2, 3, 30)),
        # Chatham is +13:45 in its summer (January) and +12:45 in its winter (July).
        ("Pacific/Chatham", utc(2025, 1, 14, 19, 15, 1), utc(2025, 1, 15, 19, 15)),
        ("Pacific/Chatham", utc(2025, 7, 14, 20, 15, 1), utc(2025, 7, 15, 20, 15)),
    ],
)
def test_daily_post_trigger_keeps_local_time_across_zones_and_dst(zone, after, expected_utc):
    trigger = cron(tuple(range(7)), "09:00", zone)
    fire = trigger.get_next_fire_time(None, after)
    assert fire.astimezone(UTC) == expected_utc
    assert fire.astimezone(ZoneInfo(zone)).hour == 9


def test_weekday_posts_skip_the_weekend():
    trigger = cron((0, 1, 2, 3, 4), "09:00", BERLIN)
    friday_after_post = utc(2025, 1, 17, 8, 0, 1)
    assert trigger.get_next_fire_time(None, friday_after_post) == datetime(
        2025, 1, 20, 9, 0, tzinfo=ZoneInfo(BERLIN)
    )


def test_the_weekly_board_follows_the_last_close_of_the_week(channel):
    assert weekly_board_time(ChannelSettings(channel)) == (4, "17:05")
    assert weekly_board_time(ChannelSettings(channel, close_time=None, days=(0, 2))) == (
        2,
        "09:05",
    )


async def setup(service: QuizService, admin: Invocation, text: str) -> str:
    reply = await service.execute(commands.parse(f"/quiz setup tz:{BERLIN} {text}"), admin)
    return reply.text


@pytest.fixture
async def scheduler(service: QuizService, dispatcher: Dispatcher) -> AsyncIterator[DrillScheduler]:
    """The tick job with the outbox dispatcher running behind it, as `python -m bot run`
    starts them."""
    drills = DrillScheduler(service)
    dispatcher.start()
    yield drills
    await drills.shutdown()
    await dispatcher.stop()


async def test_setup_shows_the_next_post_and_close_in_local_time(service, admin, scheduler):
    text = await setup(service, admin, "time:09:30 close:16:00 topics:testing")
    # The fake clock says Wednesday 2025-01-15 09:00 in Berlin.
    assert "Next post: Wed 15 Jan 09:30 Europe/Berlin." in text
    assert "Next close: Wed 15 Jan 16:00 Europe/Berlin." in text
    schedule = await service.channel_schedule(admin.channel)
    assert schedule.next_post_at == datetime(2025, 1, 15, 9, 30, tzinfo=ZoneInfo(BERLIN))
    assert schedule.next_weekly_at == datetime(2025, 1, 17, 16, 5, tzinfo=ZoneInfo(BERLIN))


async def test_pause_resume_and_skip_move_the_stored_schedule(service, admin, scheduler):
    await setup(service, admin, "time:09:30 topics:testing")
    await service.execute(commands.Pause(), admin)
    assert await service.channel_schedule(admin.channel) == ChannelSchedule(None, None)
    await service.execute(commands.Resume(), admin)
    schedule = await service.channel_schedule(admin.channel)
    assert schedule.next_post_at == datetime(2025, 1, 15, 9, 30, tzinfo=ZoneInfo(BERLIN))
    assert schedule.next_weekly_at is not None
    await service.execute(commands.Skip(), admin)
    settings = await service.repo.get_settings(admin.channel)
    assert settings.skip_date == date(2025, 1, 15)
    schedule = await service.channel_schedule(admin.channel)
    assert schedule.next_post_at == datetime(2025, 1, 16, 9, 30, tzinfo=ZoneInfo(BERLIN))


async def test_a_restart_inside_the_grace_window_posts_once(
    service, admin, clock, publisher, scheduler
):
    await setup(service, admin, "time:09:00 topics:testing")
    clock.set(utc(2025, 1, 15, 8, 20))  # restarted at 09:20 local
    await scheduler.start()
    await wait_for(lambda: publisher.posts)
    again = DrillScheduler(service)
    try:
        await again.start()  # a second restart the same morning
        await asyncio.sleep(0.05)
    finally:
        await again.shutdown()
    assert len(publisher.posts) == 1


async def test_a_restart_after_the_grace_window_does_not_post_late(
    service, admin, clock, publisher, scheduler, caplog
):
    await setup(service, admin, "time:09:00 topics:testing")
    clock.set(utc(2025, 1, 15, 10, 30))  # 11:30 local, 2.5 h late
    await scheduler.start()
    await asyncio.sleep(0.05)
    assert publisher.posts == []
    assert "missed the post" in caplog.text
    assert await service.repo.latest_drill(admin.channel) is None


async def test_a_restart_closes_drills_whose_close_time_passed(
    service, admin, clock, publisher, scheduler
):
    await setup(service, admin, "time:09:00 close:17:00 topics:testing")
    await service.post_daily(admin.channel, forced=True)
    clock.set(utc(2025, 1, 15, 17, 0))  # 18:00 local: the process was down at close
    await scheduler.start()
    await wait_for(lambda: publisher.reveals)
    drill = await service.repo.latest_drill(admin.channel)
    assert drill.state is DrillState.CLOSED
    assert len(publisher.reveals) == 1


async def test_two_schedulers_on_one_database_make_one_post(config, clock, admin):
    publishers = [RecordingPublisher(), RecordingPublisher()]
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        schedulers = []
        for svc, pub in zip((one, two), publishers, strict=True):
            svc.register_publisher("test", pub)
            schedulers.append(DrillScheduler(svc))
        await setup(one, admin, "time:09:00 topics:testing")
        try:
            for drills in schedulers:
                await drills.start()
            clock.set(utc(2025, 1, 16, 8, 0))  # Thursday's post, fired by both at once
            await asyncio.gather(*(d.tick() for d in schedulers))
            await asyncio.gather(*(d.tick() for d in schedulers))
            await asyncio.gather(dispatcher_of(one).drain(), dispatcher_of(two).drain())
        finally:
            for drills in schedulers:
                await drills.shutdown()
    posted = [p.drill.local_date for pub in publishers for p in pub.posts]
    assert posted.count(date(2025, 1, 16)) == 1


FAST_RETRIES = RetryPolicy(base=0.01, cap=0.05)


@pytest.mark.allow_error_logs
async def test_a_failing_publisher_is_retried_without_a_second_claim(config, admin):
    publisher = RecordingPublisher(fail_posts=2)
    async with open_service(config) as svc:  # a real clock: retries wait for real
        svc.register_publisher("test", publisher)
        delivery = Dispatcher(svc, policy=FAST_RETRIES)
        await setup(svc, admin, "time:09:00 days:daily topics:testing")
        with pytest.raises(PublishFailed):
            await svc.post_daily(admin.channel, forced=True)
        delivery.start()
        try:
            await wait_for(lambda: publisher.posts)
        finally:
            await delivery.stop()
        drill = await svc.repo.latest_drill(admin.channel)
    assert publisher.fail_posts == 0 and len(publisher.posts) == 1
    assert drill.state is DrillState.OPEN and publisher.posts[0].drill.id == drill.id


@pytest.mark.allow_error_logs
async def test_a_post_failing_past_the_retry_horizon_marks_the_drill_failed(
    service, admin, clock, dispatcher
):
    publisher = RecordingPublisher(fail_posts=1000)
    service.register_publisher("test", publisher)
    dispatcher.policy = RetryPolicy(base=1, cap=60, horizon=600)
    await setup(service, admin, "time:09:00 days:daily topics:testing")
    await DrillScheduler(service).tick()  # 09:00: the post is due
    for _ in range(30):  # an outage longer than the ten-minute horizon
        await dispatcher.drain()
        clock.advance(seconds=61)
    drill = await service.repo.latest_drill(admin.channel)
    assert publisher.posts == [] and publisher.fail_posts < 1000 - 2
    assert drill.state is DrillState.FAILED
    assert (await service.repo.outbox_by_key(f"post:{drill.id}")).state is OutboxState.DEAD
    [(_, user_id, text)] = publisher.private
    assert user_id == admin.member.user_id and "couldn't post" in text


class RefusingPublisher(RecordingPublisher):
    async def post_drill(self, post):
        raise ChannelUnavailable("missing permission to send messages")


@pytest.mark.allow_error_logs
async def test_a_channel_that_refuses_the_bot_is_not_retried(service, admin, dispatcher):
    publisher = RefusingPublisher()
    service.register_publisher("test", publisher)
    await setup(service, admin, "time:09:00 topics:testing")
    await DrillScheduler(service).tick()
    await asyncio.wait_for(dispatcher.drain(), timeout=2)
    drill = await service.repo.latest_drill(admin.channel)
    assert drill.state is DrillState.FAILED
    assert "missing permission" in publisher.private[0][2]


async def wait_for(condition) -> None:
    """Poll briefly for a side effect of a job running in the background."""
    async with asyncio.timeout(3):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def fire_for_real(svc: QuizService, at_local: datetime, happened) -> None:
    """Travel to just before `at_local`, start the tick job and the dispatcher, and wait
    for the effect `happened` (a real firing of the job, through the real scheduler)."""
    with time_machine.travel(at_local - timedelta(seconds=0.3), tick=True):
        drills = DrillScheduler(svc, tick=timedelta(seconds=0.2))
        dispatcher_of(svc).start()
        try:
            await drills.start()
            await wait_for(happened)
        finally:
            await drills.shutdown()
            await dispatcher_of(svc).stop()


async def test_post_close_and_weekly_board_fire_on_time(config, admin):
    publisher = RecordingPublisher()
    tz = ZoneInfo(BERLIN)
    async with open_service(config) as svc:  # the system clock, moved by time-machine
        svc.register_publisher("test", publisher)
        with time_machine.travel(datetime(2025, 1, 16, 12, 0, tzinfo=tz)):
            await setup(svc, admin, "time:09:00 close:17:00 topics:testing")

        await fire_for_real(svc, datetime(2025, 1, 17, 9, 0, tzinfo=tz), lambda: publisher.posts)
        assert [p.drill.local_date for p in publisher.posts] == [date(2025, 1, 17)]
        drill_id = publisher.posts[0].drill.id
        with time_machine.travel(datetime(2025, 1, 17, 9, 1, tzinfo=tz)):
            letter = publisher.posts[0].question.correct_letter
            await svc.submit_answer(member("ann"), drill_id, letter)

        await fire_for_real(svc, datetime(2025, 1, 17, 17, 0, tzinfo=tz), lambda: publisher.reveals)
        assert [r.drill.id for r in publisher.reveals] == [drill_id]

        def weekly_boards():
            return [board for _, board, title in publisher.boards if title == "Weekly leaderboard"]

        await fire_for_real(svc, datetime(2025, 1, 17, 17, 5, tzinfo=tz), weekly_boards)
        weekly = weekly_boards()
        assert len(weekly) == 1 and weekly[0].period_key == "2025-W03"
        assert [e.display_name for e in weekly[0].entries] == ["ann"]
        with time_machine.travel(datetime(2025, 1, 17, 17, 6, tzinfo=tz)):
            assert await svc.post_weekly_board(admin.channel) is None  # once per week


async def test_weekly_board_has_group_standings_and_the_most_improved(
    service, admin, clock, publisher
):
    await setup(service, admin, "time:09:00 days:daily topics:testing")
    ann, ben = member("ann"), member("ben")
    await service.execute(commands.parse("/quiz group create owls"), Invocation(ann, admin.channel))
    for day, answers in ((8, {ann: True, ben: True}), (15, {ann: True, ben: False})):
        clock.set(utc(2025, 1, day, 8, 0))
        drill = await service.post_daily(admin.channel, forced=True)
        right = publisher.posts[-1].question.correct_letter
        wrong = next(x for x in "ABCD" if x != right)
        for who, correct in answers.items():
            await service.submit_answer(who, drill.id, right if correct else wrong)
    # Week 3 (the 15th): ann scored, ben did not; only ann is in the group.
    board = await service.post_weekly_board(admin.channel)
    assert [g.name for g in board.groups] == ["owls"]
    assert board.entries[0].user_id == ann.user_id
    assert board.groups[0].points == board.entries[0].points > 0
    assert publisher.boards[-1][1] == board
    clock.set(utc(2025, 1, 22, 8, 0))
    drill = await service.post_daily(admin.channel, forced=True)
    right = publisher.posts[-1].question.correct_letter
    await service.submit_answer(ben, drill.id, right)
    await service.submit_answer(ann, drill.id, next(x for x in "ABCD" if x != right))
    board = await service.leaderboard(ann, admin.channel, Period.WEEK, None)
    assert board.period_key == "2025-W04"
    improved = await service.repo.most_improved(admin.channel, "2025-W04", "2025-W03")
    assert improved is not None and improved[0] == "ben"


async def test_drill_dates_and_weeks_follow_local_midnight(service, clock, publisher):
    kolkata = Invocation(member("raj"), ChannelRef("test", "W1", "IN"), is_admin=True)
    await service.execute(
        commands.parse("/quiz setup tz:Asia/Kolkata days:daily topics:testing"), kolkata
    )
    # 18:40 UTC on Sunday 19 Jan is 00:10 on Monday 20 Jan in Kolkata.
    clock.set(utc(2025, 1, 19, 18, 40))
    drill = await service.post_daily(kolkata.channel, forced=True)
    assert drill.local_date == date(2025, 1, 20)
    await service.submit_answer(
        kolkata.member, drill.id, publisher.posts[-1].question.correct_letter
    )
    board = await service.leaderboard(kolkata.member, kolkata.channel, Period.WEEK, None)
    assert board.period_key == "2025-W04" and board.entries[0].user_id == kolkata.member.user_id
    # 18:29 UTC on Monday is 23:59 on Monday there: still the same drill day.
    clock.set(utc(2025, 1, 20, 18, 29))
    with pytest.raises(AlreadyExists):
        await service.post_daily(kolkata.channel, forced=True)
    assert (await service.repo.latest_drill(kolkata.channel)).id == drill.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A close a few minutes before midnight puts the board on Saturday, not Friday 00:04.
        ("close:23:59", (5, "00:04", 1)),
        # Closing the next morning: Friday's drill is revealed on Saturday at 08:00.
        ("time:09:00 close:08:00", (5, "08:05", 1)),
        ("close:17:00", (4, "17:05", 0)),
        # Daily drills closing the next morning: Sunday's reveal is on Monday.
        ("time:09:00 close:08:00 days:daily", (0, "08:05", 1)),
        ("time:23:58 close:23:59 days:daily", (0, "00:04", 1)),
    ],
)
def test_the_weekly_board_comes_after_the_last_reveal_of_the_week(channel, text, expected):
    setup_cmd = commands.parse(f"/quiz setup {text}")
    settings = ChannelSettings(
        channel,
        post_time=setup_cmd.time or "09:00",
        close_time=setup_cmd.close or "17:00",
        days=setup_cmd.days or (0, 1, 2, 3, 4),
    )
    assert (*weekly_board_time(settings), weekly_board_lag(settings)) == expected


def test_a_drill_closing_the_next_morning_is_closed_on_that_morning(channel):
    settings = ChannelSettings(channel, post_time="09:00", close_time="08:00", days=(4,))
    assert close_days(settings) == (5,)
    assert close_days(ChannelSettings(channel, days=(4,))) == (4,)


async def test_a_sunday_drill_revealed_on_monday_gets_its_own_weeks_board(
    service, admin, clock, publisher, scheduler
):
    await setup(service, admin, "time:09:00 close:08:00 days:daily topics:testing")
    clock.set(utc(2025, 1, 19, 8, 0))  # Sunday 09:00 in Berlin, ISO week 3
    drill = await service.post_daily(admin.channel)
    await service.submit_answer(
        member("ann"), drill.id, publisher.posts[-1].question.correct_letter
    )
    clock.set(utc(2025, 1, 20, 7, 5))  # Monday 08:05, after the 08:00 reveal
    await scheduler.tick()  # closes Sunday's drill, then the week's board is due
    await wait_for(lambda: [b for b in publisher.boards if b[2] == "Weekly leaderboard"])
    [(_, board, _)] = [b for b in publisher.boards if b[2] == "Weekly leaderboard"]
    assert board.period_key == "2025-W03"
    assert [e.display_name for e in board.entries] == ["ann"]


@pytest.mark.allow_error_logs
async def test_one_channel_that_cannot_be_scheduled_does_not_stop_the_others(
    service, admin, clock, publisher, scheduler, caplog
):
    await setup(service, admin, "time:09:00 topics:testing")
    broken = ChannelSettings(ChannelRef("test", "W1", "OLD"), timezone="Mars/Olympus_Mons")
    await service.repo.save_settings(broken, clock.now())
    clock.set(utc(2025, 1, 15, 8, 20))  # 09:20 in Berlin: the catch-up posts
    await service.start()  # a restart: stored channels without a schedule get one
    await scheduler.start()
    await wait_for(lambda: publisher.posts)
    assert (await service.channel_schedule(admin.channel)).next_post_at is not None
    assert await service.channel_schedule(broken.channel) == ChannelSchedule(None, None)
    assert "cannot schedule" in caplog.text


@pytest.mark.allow_error_logs
async def test_the_catch_up_at_start_up_reposts_a_failed_drill(
    service, admin, clock, publisher, scheduler
):
    await setup(service, admin, "time:09:00 topics:testing")
    drill = await claim_todays_drill(service, admin.channel)
    await service.fail_post(admin.channel, "not_in_channel")
    assert (await service.repo.get_drill(drill.id)).state is DrillState.FAILED
    clock.set(utc(2025, 1, 15, 8, 20))
    await scheduler.start()
    await wait_for(lambda: publisher.posts)
    assert [p.drill.id for p in publisher.posts] == [drill.id]
    assert (await service.repo.get_drill(drill.id)).state is DrillState.OPEN


async def test_shutdown_waits_for_the_tick_in_flight(
    service: QuizService, monkeypatch: pytest.MonkeyPatch
):
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_fire_due(grace: timedelta) -> int:
        entered.set()
        await release.wait()
        return 0

    drills = DrillScheduler(service)
    monkeypatch.setattr(service, "fire_due", slow_fire_due)
    tick = asyncio.create_task(drills.tick())
    await entered.wait()
    stopping = asyncio.create_task(drills.shutdown())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # the tick is still running on the service
    release.set()
    await stopping
    assert tick.done()
