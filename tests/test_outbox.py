"""The outbox (issue 16): every post, reveal, board, weekly board and admin DM is a row
written with the state change that causes it, delivered once, in order per channel,
through failures, crashes, restarts and racing processes."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import open_service
from bot.core import commands
from bot.core.errors import AlreadyExists, ChannelUnavailable, TransientFailure
from bot.core.models import ChannelRef, ChannelSettings, DrillState
from bot.core.schedule import close_for, next_post_after, next_weekly_after
from bot.core.service import STALE_POSTING, Invocation, QuizService
from bot.scheduler import DrillScheduler, cron
from bot.storage.migrate import discover, migrate
from bot.storage.sqlite import Database
from tests.conftest import db_rows, dispatcher_of, member
from tests.fakes import RecordingPublisher

pytestmark = pytest.mark.every_backend

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class PlatformLog(RecordingPublisher):
    """A platform that logs every message in the order it took them; while `down`, it
    refuses every call with a transient error (as a 5xx would)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.down = False
        self.failures = 0

    def _check(self) -> None:
        if self.down:
            self.failures += 1
            raise TransientFailure("Slack answered 503", maybe_delivered=True)

    async def post_drill(self, post):
        self._check()
        self.log.append(f"post:{post.drill.local_date}")
        return await super().post_drill(post)

    async def reveal_drill(self, result):
        self._check()
        self.log.append(f"reveal:{result.drill.local_date}")
        await super().reveal_drill(result)

    async def post_leaderboard(self, channel, board, title):
        self._check()
        self.log.append(f"board:{title}")
        await super().post_leaderboard(channel, board, title)

    async def post_private(self, channel, user_id, text):
        self._check()
        self.log.append("dm")
        await super().post_private(channel, user_id, text)


async def setup(service: QuizService, admin: Invocation, text: str = "") -> None:
    await service.execute(
        commands.parse(f"/quiz setup tz:Europe/Berlin topics:testing {text}"), admin
    )


async def rows(service: QuizService) -> list[tuple[str, str, int]]:
    return await db_rows(service.repo.db, "SELECT key, state, attempts FROM outbox ORDER BY id")


async def tick_and_drain(service: QuizService) -> None:
    await DrillScheduler(service).tick()
    await dispatcher_of(service).drain()


# --- idempotent claims ------------------------------------------------------------------------


async def test_a_double_tick_and_two_services_claim_each_effect_once(config, clock, admin):
    clock.set(utc(2025, 1, 17, 8, 0))  # Friday 09:00 in Berlin
    publishers = [RecordingPublisher(), RecordingPublisher()]
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        services = (one, two)
        for svc, pub in zip(services, publishers, strict=True):
            svc.register_publisher("test", pub)
        await setup(one, admin, "time:09:00 close:17:00")

        async def race() -> None:
            schedulers = [DrillScheduler(svc) for svc in services for _ in range(2)]
            await asyncio.gather(*(s.tick() for s in schedulers))
            await asyncio.gather(*(dispatcher_of(svc).drain() for svc in services))

        await race()  # 09:00: the post
        clock.set(utc(2025, 1, 17, 16, 0))
        await race()  # 17:00: the close, its reveal and board
        clock.set(utc(2025, 1, 17, 16, 5))
        await race()  # 17:05: the weekly board
        keys = await rows(one)
    posts = [p for pub in publishers for p in pub.posts]
    reveals = [r for pub in publishers for r in pub.reveals]
    boards = [title for pub in publishers for _, _, title in pub.boards]
    assert len(posts) == 1 and len(reveals) == 1
    assert sorted(boards) == ["Top 5 this week", "Weekly leaderboard"]
    drill_id = posts[0].drill.id
    assert keys == [
        (f"post:{drill_id}", "done", 1),
        (f"reveal:{drill_id}", "done", 1),
        (f"board:{drill_id}", "done", 1),
        ("weekly:1:2025-W03", "done", 1),
    ]


async def test_every_effect_is_a_row_written_with_its_state_change(service, admin, publisher):
    await setup(service, admin)
    drill = await service.post_daily(admin.channel, forced=True)
    assert await rows(service) == [(f"post:{drill.id}", "done", 1)]
    stored = await service.repo.get_drill(drill.id)
    assert stored.message_id == f"msg-{drill.id}" and stored.state is DrillState.OPEN
    await service.close_now(admin.channel)
    assert [key for key, _, _ in await rows(service)] == [
        f"post:{drill.id}",
        f"reveal:{drill.id}",
        f"board:{drill.id}",
    ]


# --- failures, retries, permanent errors --------------------------------------------------------


@pytest.mark.allow_error_logs
async def test_an_outage_of_ten_minutes_loses_nothing_and_keeps_the_channel_order(
    service, admin, clock
):
    platform = PlatformLog()
    service.register_publisher("test", platform)
    await setup(service, admin, "time:09:00 close:none days:daily")
    await tick_and_drain(service)  # Wednesday 09:00: posted
    drill = await service.repo.latest_drill(admin.channel)
    await service.submit_answer(member("ann"), drill.id, platform.posts[0].question.correct_letter)
    platform.down = True
    clock.set(utc(2025, 1, 16, 8, 0))  # Thursday 09:00: yesterday's reveal, board, new post
    for minute in range(40):
        if minute == 10:
            platform.down = False
        await tick_and_drain(service)
        clock.advance(minutes=1)
    assert platform.failures > 0
    assert platform.log == [
        "post:2025-01-15",
        "reveal:2025-01-15",
        "board:Top 5 this week",
        "post:2025-01-16",
    ]
    assert all(state == "done" for _, state, _ in await rows(service))
    assert (await service.open_drill_in(admin.channel)).local_date == date(2025, 1, 16)


class AcceptsThenFails(RecordingPublisher):
    """The platform takes the post, then the answer is lost (a 502 after accepting)."""

    async def post_drill(self, post):
        await super().post_drill(post)
        raise TransientFailure("Discord answered 502", maybe_delivered=True)


@pytest.mark.allow_error_logs
async def test_a_5xx_after_the_platform_accepted_a_post_does_not_double_it(service, admin, clock):
    platform = AcceptsThenFails()
    service.register_publisher("test", platform)
    await setup(service, admin)
    await tick_and_drain(service)
    drill = await service.repo.latest_drill(admin.channel)
    assert drill.state is DrillState.OPEN  # its post may be out: answers are taken
    clock.advance(minutes=5)
    await tick_and_drain(service)
    assert len(platform.posts) == 1
    stored = await service.repo.get_drill(drill.id)
    assert stored.message_id == f"msg-{drill.id}"
    assert await rows(service) == [(f"post:{drill.id}", "done", 2)]


class GoneChannel(RecordingPublisher):
    async def post_drill(self, post):
        raise ChannelUnavailable("not_in_channel")

    async def reveal_drill(self, result):
        raise ChannelUnavailable("channel_not_found")

    async def post_leaderboard(self, channel, board, title):
        raise ChannelUnavailable("channel_not_found")


@pytest.mark.allow_error_logs
async def test_a_permanent_error_stops_at_once_and_tells_the_admin_once(service, admin, clock):
    platform = RecordingPublisher()
    service.register_publisher("test", platform)
    await setup(service, admin, "close:none days:daily")
    await tick_and_drain(service)  # Wednesday posted
    gone = GoneChannel()
    service.register_publisher("test", gone)
    clock.set(utc(2025, 1, 16, 8, 0))  # Thursday: the reveal, board and post all refused
    for _ in range(3):
        await tick_and_drain(service)
        clock.advance(minutes=10)
    states = {key.split(":")[0]: (state, attempts) for key, state, attempts in await rows(service)}
    assert states["reveal"] == ("dead", 1) and states["board"] == ("dead", 1)
    texts = [text for _, _, text in gone.private]
    assert len(texts) == 2  # one for the reveal and its board, one for the post
    assert sum("couldn't post today's question" in text for text in texts) == 1
    assert all(user == admin.member.user_id for _, user, _ in gone.private)
    thursday = await service.repo.latest_drill(admin.channel)
    assert thursday.state is DrillState.FAILED


# --- crashes and restarts -------------------------------------------------------------------------


class HangsAfterAccepting(RecordingPublisher):
    """The platform takes the post; the process dies before the answer arrives."""

    async def post_drill(self, post):
        await super().post_drill(post)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_crash_after_the_platform_took_the_post_leaves_no_ghost_and_no_duplicate(
    config, clock, admin
):
    platform = HangsAfterAccepting()
    async with open_service(config, clock) as first:
        first.register_publisher("test", platform)
        await setup(first, admin)
        await DrillScheduler(first).tick()
        dispatcher_of(first).start()
        async with asyncio.timeout(3):
            while not platform.posts:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await dispatcher_of(first).stop()  # killed mid-call: the message id is unknown
        drill = await first.repo.latest_drill(admin.channel)
        assert drill.state is DrillState.OPEN and drill.message_id is None
        answer = platform.posts[0].question.correct_letter
        assert (await first.submit_answer(member("ann"), drill.id, answer)).attempt.grade.correct

    clock.advance(seconds=STALE_POSTING.total_seconds() + 1)
    async with open_service(config, clock) as restarted:  # the platform keeps its history
        restarted.register_publisher("test", RecordingPublisher(posts=platform.posts))
        await dispatcher_of(restarted).drain()
        stored = await restarted.repo.get_drill(drill.id)
        assert await rows(restarted) == [(f"post:{drill.id}", "done", 2)]
    assert len(platform.posts) == 1
    assert stored.message_id == f"msg-{drill.id}"


class Crashes(BaseException):
    """The process dying between the claim and the platform call."""


class DiesBeforeCalling(RecordingPublisher):
    async def post_drill(self, post):
        raise Crashes


async def test_a_crash_before_the_platform_call_is_posted_after_the_restart(config, clock, admin):
    async with open_service(config, clock) as first:
        first.register_publisher("test", DiesBeforeCalling())
        await setup(first, admin)
        await DrillScheduler(first).tick()
        with pytest.raises(Crashes):
            await dispatcher_of(first).drain()
    clock.advance(minutes=3)
    platform = RecordingPublisher()
    async with open_service(config, clock) as restarted:
        restarted.register_publisher("test", platform)
        await DrillScheduler(restarted).start()  # the start-up tick finds nothing new
        await dispatcher_of(restarted).drain()
        drill = await restarted.repo.latest_drill(admin.channel)
    assert [p.drill.id for p in platform.posts] == [drill.id]
    assert drill.message_id == f"msg-{drill.id}"


async def test_a_restart_delivers_reveals_and_weekly_boards_queued_before_it(config, clock, admin):
    clock.set(utc(2025, 1, 17, 8, 0))  # Friday 09:00
    platform = RecordingPublisher()
    async with open_service(config, clock) as first:
        first.register_publisher("test", platform)
        await setup(first, admin, "time:09:00 close:17:00")
        await first.post_daily(admin.channel)
        first.publishers.clear()  # the platform adapter is gone before 17:00
        clock.set(utc(2025, 1, 17, 16, 6))  # 17:06: the close and the week's end are due
        assert await DrillScheduler(first).tick() == 3
    async with open_service(config, clock) as restarted:
        restarted.register_publisher("test", platform)
        dispatcher_of(restarted).start()
        try:
            async with asyncio.timeout(3):
                while len(platform.boards) < 2:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            await dispatcher_of(restarted).stop()
    assert len(platform.reveals) == 1
    assert [title for _, _, title in platform.boards] == ["Top 5 this week", "Weekly leaderboard"]


# --- the scheduler --------------------------------------------------------------------------------


async def test_the_scheduler_keeps_one_job_whatever_the_number_of_channels(service):
    scheduler = DrillScheduler(service)
    try:
        for index in range(50):
            settings = ChannelSettings(ChannelRef("test", "W1", f"C{index}"))
            await service.save_settings(settings)
        await scheduler.start()
        assert len(scheduler.scheduler.get_jobs()) == 1
    finally:
        await scheduler.shutdown()


async def test_a_changed_schedule_takes_effect_without_a_restart(service, admin, clock, publisher):
    await setup(service, admin, "time:10:00")
    scheduler = DrillScheduler(service)
    await scheduler.tick()
    assert publisher.posts == []
    await setup(service, admin, "time:09:00")  # now due: 09:00 in Berlin
    await tick_and_drain(service)
    assert len(publisher.posts) == 1


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # Berlin springs forward on 2025-03-30: 09:00 is 08:00 UTC before, 07:00 UTC after.
        (utc(2025, 3, 29, 8, 0), utc(2025, 3, 30, 7, 0)),
        # ...and falls back on 2025-10-26: 09:00 is 07:00 UTC before, 08:00 UTC after.
        (utc(2025, 10, 25, 7, 0), utc(2025, 10, 26, 8, 0)),
        (utc(2025, 10, 26, 8, 0), utc(2025, 10, 27, 8, 0)),
    ],
)
def test_the_stored_next_post_keeps_local_time_across_dst(channel, after, expected):
    settings = ChannelSettings(channel, timezone="Europe/Berlin", days=tuple(range(7)))
    assert next_post_after(settings, after) == expected
    assert (
        cron(settings.days, "09:00", "Europe/Berlin").get_next_fire_time(
            None, after + timedelta(seconds=1)
        )
        == expected
    )


@pytest.mark.parametrize("day", [date(2025, 3, 30), date(2025, 10, 26)])
def test_closes_and_weekly_boards_keep_local_time_on_dst_days(channel, day):
    settings = ChannelSettings(
        channel, timezone="Europe/Berlin", post_time="01:30", close_time="17:00", days=(6,)
    )
    posted = datetime(day.year, day.month, day.day, 1, 30, tzinfo=BERLIN)
    closes = close_for(settings, posted.astimezone(UTC))
    assert closes.astimezone(BERLIN).replace(tzinfo=None) == datetime(
        day.year, day.month, day.day, 17, 0
    )
    board = next_weekly_after(settings, posted.astimezone(UTC))
    assert board.astimezone(BERLIN).replace(tzinfo=None) == datetime(
        day.year, day.month, day.day, 17, 5
    )


async def test_a_post_claimed_within_the_grace_uses_its_own_day_not_the_next(
    service, admin, clock, publisher
):
    await setup(service, admin, "time:23:50 days:daily")
    clock.set(utc(2025, 1, 15, 23, 10))  # 00:10 on Thursday: 20 minutes late
    await tick_and_drain(service)
    [post] = publisher.posts
    assert post.drill.local_date == date(2025, 1, 15)


# --- the migration -----------------------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_the_migration_reopens_drills_left_posting_with_an_unsure_post_row(db_url, tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    for migration in discover():
        if migration.version < 6:
            shutil.copy(migration.path, before / migration.path.name)
    db = await Database.open(db_url)
    try:
        await migrate(db, before)
        stamp = "2025-01-15T08:00:00+00:00"
        for sql in (
            f"INSERT INTO channels (id, platform, workspace_id, channel_id, created_at,"
            f" updated_at) VALUES (1, 'test', 'W1', 'C1', '{stamp}', '{stamp}')",
            f"INSERT INTO questions VALUES ('q1', 'p', 't', 'choice', 'easy', 'h', 0, '{stamp}')",
            f"INSERT INTO drills (id, channel_id, local_date, question_id, state, opened_at,"
            f" updated_at, claimed_at) VALUES (1, 1, '2025-01-15', 'q1', 'posting', '{stamp}',"
            f" '{stamp}', '{stamp}')",
        ):
            await db.conn.execute(sql)
        assert await migrate(db) == [m.version for m in discover() if m.version >= 6]
        drills = await db.conn.execute_fetchall("SELECT state FROM drills")
        outbox = await db.conn.execute_fetchall("SELECT key, state, unsure FROM outbox")
        assert [tuple(r) for r in drills] == [("open",)]
        assert [tuple(r) for r in outbox] == [("post:1", "pending", 1)]
    finally:
        await db.close()


# --- /quiz post-now ---------------------------------------------------------------------------


class SlowPlatform(RecordingPublisher):
    """Takes its time to answer a post, until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def post_drill(self, post):
        await self.release.wait()
        return await super().post_drill(post)


async def test_post_now_says_queued_when_the_platform_is_slow_and_it_still_posts_once(
    service, admin, monkeypatch
):
    monkeypatch.setattr("bot.core.service.POST_WAIT", timedelta(seconds=0.1))
    platform = SlowPlatform()
    service.register_publisher("test", platform)
    await setup(service, admin)
    reply = await service.execute(commands.PostNow(), admin)
    assert "is queued" in reply.text
    drill = await service.repo.latest_drill(admin.channel)
    assert drill.state is DrillState.OPEN  # its post may be out: answers are taken
    platform.release.set()
    async with asyncio.timeout(3):
        while (await service.repo.get_drill(drill.id)).message_id is None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert len(platform.posts) == 1
    with pytest.raises(AlreadyExists, match="already posted"):
        await service.execute(commands.PostNow(), admin)


async def test_post_now_while_another_process_sends_the_post_says_so(config, clock, admin):
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        await setup(one, admin)
        await DrillScheduler(one).tick()
        [sending] = await one.claim_deliveries(10)  # process one is mid-call
        two.register_publisher("test", RecordingPublisher())
        with pytest.raises(AlreadyExists, match="being posted already"):
            await two.execute(commands.PostNow(), admin)
    assert sending.key.startswith("post:")


# --- one slow call holds back only its own channel -----------------------------------------


class HangsIn(RecordingPublisher):
    """A platform whose post to one channel does not return until released."""

    def __init__(self, channel: ChannelRef) -> None:
        super().__init__()
        self.channel = channel
        self.release = asyncio.Event()

    async def post_drill(self, post):
        if post.drill.channel == self.channel:
            await self.release.wait()
        return await super().post_drill(post)


async def test_a_call_the_platform_holds_does_not_hold_other_channels_back(service, admin, clock):
    slow, fast = admin.channel, ChannelRef("test", "W1", "C2")
    platform = HangsIn(slow)
    service.register_publisher("test", platform)
    for channel in (slow, fast):
        await setup(
            service, Invocation(admin.member, channel, is_admin=True), "time:09:30 close:none"
        )
    dispatcher_of(service).start()
    clock.set(utc(2025, 1, 15, 8, 30))  # 09:30 in Berlin: both posts are due
    await DrillScheduler(service).tick()  # queued; the post to `slow` hangs
    async with asyncio.timeout(3):
        while not platform.posts:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    fast_drill = await service.repo.latest_drill(fast)
    await service.close_drill(fast_drill.id, wait=False)  # its reveal and board are queued

    async with asyncio.timeout(3):
        while not (platform.reveals and platform.boards):  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    assert [p.drill.channel for p in platform.posts] == [fast]
    assert platform.reveals[0].drill.id == fast_drill.id
    platform.release.set()
    async with asyncio.timeout(3):
        while len(platform.posts) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
