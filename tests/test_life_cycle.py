"""The day's life cycle (issue 9): re-posting failed and stale drills, one live drill per
channel, at_close verdicts kept back until the reveal, skip, resume and study groups."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import UTC, date, datetime

import asyncpg
import pytest

from bot.app import open_service
from bot.core import commands
from bot.core.bank import Bank
from bot.core.errors import AlreadyExists, BankErrors, NotFound
from bot.core.models import DrillState, Period
from bot.core.service import (
    Invocation,
    LiveQuestionMissing,
    PublishFailed,
    QuizService,
)
from bot.storage.migrate import discover, migrate
from bot.storage.sqlite import Database
from tests.conftest import claim_todays_drill, db_rows, member
from tests.fakes import RecordingPublisher

pytestmark = pytest.mark.every_backend


async def setup_channel(service: QuizService, admin: Invocation, text: str = "") -> None:
    await service.execute(
        commands.parse(f"/quiz setup tz:Europe/Berlin topics:testing {text}"), admin
    )


def right(publisher: RecordingPublisher) -> str:
    return publisher.posts[-1].question.correct_letter


async def crash_while_posting(service: QuizService, admin: Invocation) -> int:
    """Claim today's drill and its post row into 'sending', as a process that then died
    would have."""
    drill = await claim_todays_drill(service, admin.channel)
    [sending] = await service.claim_deliveries(10)
    assert sending.key == f"post:{drill.id}"
    return drill.id


# --- 1. failed and stale drills can be posted again --------------------------------------


@pytest.mark.allow_error_logs
async def test_post_now_reposts_a_drill_that_failed(service, admin, publisher):
    await setup_channel(service, admin)
    publisher.fail_posts = 1
    with pytest.raises(PublishFailed):
        await service.post_daily(admin.channel)
    await service.fail_post(admin.channel, "not_in_channel")
    failed = await service.repo.latest_drill(admin.channel)
    assert failed.state is DrillState.FAILED
    reply = await service.execute(commands.PostNow(), admin)
    assert reply.text.startswith("Posted today's question")
    drill = await service.repo.latest_drill(admin.channel)
    assert drill.id == failed.id and drill.state is DrillState.OPEN
    assert [p.drill.id for p in publisher.posts] == [failed.id]


async def test_a_drill_left_posting_by_a_crash_is_reposted_once_stale(
    service, admin, clock, publisher
):
    await setup_channel(service, admin)
    drill_id = await crash_while_posting(service, admin)
    clock.advance(seconds=30)  # another process may still be posting it
    with pytest.raises(AlreadyExists, match="being posted already"):
        await service.execute(commands.PostNow(), admin)
    clock.advance(minutes=2)
    await service.execute(commands.PostNow(), admin)
    assert [p.drill.id for p in publisher.posts] == [drill_id]
    assert (await service.repo.get_drill(drill_id)).state is DrillState.OPEN


async def test_two_processes_reclaim_a_stale_drill_once(config, clock, admin):
    publishers = [RecordingPublisher(), RecordingPublisher()]
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        for svc, pub in zip((one, two), publishers, strict=True):
            svc.register_publisher("test", pub)
        await setup_channel(one, admin)
        await crash_while_posting(one, admin)
        clock.advance(minutes=5)
        results = await asyncio.gather(
            one.post_daily(admin.channel, forced=True),
            two.post_daily(admin.channel, forced=True),
            return_exceptions=True,
        )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert [type(r) for r in results if isinstance(r, Exception)] == [AlreadyExists]
    assert sum(len(p.posts) for p in publishers) == 1


# --- 2. at_close: nothing reveals a verdict before the close ------------------------------


async def test_at_close_verdicts_stay_out_of_boards_and_stats_until_the_close(
    service, admin, publisher
):
    await setup_channel(service, admin, "reveal:at_close")
    drill = await service.post_daily(admin.channel, forced=True)
    alice, bob = member("alice"), member("bob")
    await service.submit_answer(alice, drill.id, right(publisher))
    wrong = next(letter for letter in "ABCD" if letter != right(publisher))
    await service.submit_answer(bob, drill.id, wrong)
    for period in Period:
        board = await service.leaderboard(alice, admin.channel, period, None)
        assert board.entries == () and board.caller is None and board.total_members == 0
    stats = await service.member_stats(alice, admin.channel)
    assert (stats.correct, stats.points, stats.rank) == (0, 0, None)
    assert stats.topics == ()
    text = (await service.execute(commands.Stats(None), Invocation(alice, admin.channel))).text
    assert "100%" not in text

    await service.close_now(admin.channel)
    assert await service.close_drill(drill.id) is None  # a second close counts nothing
    stats = await service.member_stats(alice, admin.channel)
    assert (stats.answered, stats.correct, stats.rank, stats.ranked_members) == (1, 1, 1, 2)
    assert stats.points > 0
    board = await service.leaderboard(alice, admin.channel, Period.WEEK, None)
    assert [(e.user_id, e.answered) for e in board.entries] == [("U-alice", 1), ("U-bob", 1)]
    assert board.entries[0].points == stats.points


async def test_immediate_reveal_still_counts_at_once(service, admin, publisher):
    await setup_channel(service, admin, "reveal:immediate")
    drill = await service.post_daily(admin.channel, forced=True)
    await service.submit_answer(member("al"), drill.id, right(publisher))
    stats = await service.member_stats(member("al"), admin.channel)
    assert (stats.answered, stats.correct, stats.rank) == (1, 1, 1)


# --- 3. one live drill per channel --------------------------------------------------------


async def test_a_zone_change_west_then_post_now_leaves_one_open_drill(
    service, admin, clock, publisher
):
    await setup_channel(service, admin, "reveal:at_close")
    clock.set(datetime(2025, 1, 16, 0, 30, tzinfo=UTC))  # Thu 01:30 in Berlin
    first = await service.post_daily(admin.channel, forced=True)
    await service.submit_answer(member("al"), first.id, right(publisher))
    await service.execute(commands.parse("/quiz setup tz:America/Los_Angeles"), admin)
    second = await service.post_daily(admin.channel, forced=True)  # Wed 16:30 there
    assert (first.local_date, second.local_date) == (date(2025, 1, 16), date(2025, 1, 15))
    assert (await service.repo.get_drill(first.id)).state is DrillState.CLOSED
    assert [r.drill.id for r in publisher.reveals] == [first.id]  # closed with its reveal
    assert (await service.open_drill_in(admin.channel)).id == second.id
    assert (await service.member_stats(member("al"), admin.channel)).correct == 1


async def test_the_database_refuses_a_second_live_drill_in_a_channel(service, admin):
    await setup_channel(service, admin)
    open_one = await service.post_daily(admin.channel, forced=True)
    now = service.clock.now()
    stamp = now.isoformat()
    db = service.repo.db
    async with db.transaction() as conn:
        ((other_id,),) = await conn.execute_fetchall(  # yesterday's drill, never posted
            """INSERT INTO drills (channel_id, local_date, question_id, state, opened_at,
                                   updated_at)
               SELECT channel_id, '2025-01-14', question_id, 'pending', ?, ? FROM drills
               WHERE id = ? RETURNING id""",
            (stamp, stamp, open_one.id),
        )
        await conn.execute(  # a post row for the other drill, due now
            """INSERT INTO outbox (key, kind, channel_id, drill_id, next_attempt_at, created_at)
               SELECT 'post:' || id, 'post', channel_id, id, ?, ? FROM drills WHERE id = ?""",
            (stamp, stamp, other_id),
        )
    other = await service.repo.get_drill(other_id)
    assert [row.drill_id for row in await service.claim_deliveries(10)] == [other.id]
    assert (await service.repo.get_drill(other.id)).state is DrillState.PENDING
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        async with db.transaction() as conn:
            await conn.execute("UPDATE drills SET state = 'open' WHERE id = ?", (other.id,))
    assert (await service.open_drill_in(admin.channel)).id == open_one.id


# --- 4 and 8. skip, resume ----------------------------------------------------------------


async def test_skip_names_the_next_day_that_really_posts_and_repeats_move_on(service, admin, clock):
    await setup_channel(service, admin)
    clock.set(datetime(2025, 1, 15, 7, 0, tzinfo=UTC))  # Wed 08:00, before the 09:00 post
    await service.execute(commands.PostNow(), admin)
    replies = [(await service.execute(commands.Skip(), admin)).text for _ in range(3)]
    assert replies == [
        "Skipping the post on Thu 16 Jan.",
        "Skipping the post on Fri 17 Jan.",
        "Skipping the post on Mon 20 Jan.",
    ]
    for day in (16, 17):
        clock.set(datetime(2025, 1, day, 8, tzinfo=UTC))
        with pytest.raises(AlreadyExists, match="skipped"):
            await service.post_daily(admin.channel)
    clock.set(datetime(2025, 1, 21, 8, tzinfo=UTC))
    assert (await service.post_daily(admin.channel)).local_date == date(2025, 1, 21)


async def test_skip_while_paused_says_so_and_resume_names_the_day(service, admin, clock):
    await setup_channel(service, admin)
    await service.execute(commands.Pause(), admin)
    reply = await service.execute(commands.Skip(), admin)
    assert reply.text == (
        "Skipping the post on Thu 16 Jan. "
        "Posting is paused anyway: nothing posts until `/quiz resume`."
    )
    reply = await service.execute(commands.Resume(), admin)
    assert reply.text == "Resumed: the next question comes on Fri 17 Jan at 09:00."


# --- 7. the bank never takes a live drill's question away ----------------------------------


async def test_a_bank_without_a_live_drills_question_is_refused_and_nothing_retired(
    service, admin, publisher
):
    await setup_channel(service, admin)
    drill = await service.post_daily(admin.channel, forced=True)
    asked = drill.question_id
    smaller = Bank.of(q for q in service.bank if q.id != asked)
    restarted = QuizService(service.repo, smaller, service.clock, {"test": publisher})
    with pytest.raises(LiveQuestionMissing, match=asked) as refused:
        await restarted.start()
    assert isinstance(refused.value, BankErrors)  # start-up reports it as a bad bank, exit 2
    rows = await db_rows(
        service.repo.db, "SELECT id, retired FROM questions WHERE id = ?", (asked,)
    )
    assert [tuple(r) for r in rows] == [(asked, 0)]
    with pytest.raises(NotFound):
        await restarted.close_drill(drill.id)
    assert (await service.repo.get_drill(drill.id)).state is DrillState.OPEN
    assert publisher.reveals == []
    await service.close_now(admin.channel)  # with its question back, it reveals
    assert [r.drill.id for r in publisher.reveals] == [drill.id]


async def test_questions_no_live_drill_asks_are_still_retired(service, admin):
    gone = next(iter(service.bank)).id
    smaller = Bank.of(q for q in service.bank if q.id != gone)
    assert await service.repo.sync_questions(list(smaller), service.clock.now()) == []
    rows = await db_rows(service.repo.db, "SELECT retired FROM questions WHERE id = ?", (gone,))
    assert rows[0][0] == 1


# --- 8. groups -----------------------------------------------------------------------------


async def test_a_group_disappears_when_its_last_member_leaves(service, admin):
    ann = Invocation(member("ann"), admin.channel)
    await service.execute(commands.parse("/quiz group create nlp"), ann)
    await service.execute(commands.parse("/quiz group leave nlp"), ann)
    listing = await service.execute(commands.parse("/quiz group list"), ann)
    assert listing.data == [] and "nlp" not in listing.text
    with pytest.raises(NotFound, match="no group called"):
        await service.execute(commands.parse("/quiz group join nlp"), ann)
    ben = Invocation(member("ben"), admin.channel)
    created = await service.execute(commands.parse("/quiz group create NLP"), ben)
    assert created.text.startswith("Created the group NLP")


@pytest.mark.sqlite_only
async def test_migrating_a_channel_with_two_open_drills_keeps_the_latest_open(db_url, tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    upto = tmp_path / "upto"
    upto.mkdir()
    for migration in discover():
        if migration.version < 5:
            shutil.copy(migration.path, before / migration.path.name)
        if migration.version <= 5:
            shutil.copy(migration.path, upto / migration.path.name)
    db = await Database.open(db_url)
    try:
        await migrate(db, before)
        stamp = "2025-01-15T08:00:00+00:00"
        for sql in (
            f"INSERT INTO channels (id, platform, workspace_id, channel_id, created_at,"
            f" updated_at) VALUES (1, 'test', 'W1', 'C1', '{stamp}', '{stamp}')",
            f"INSERT INTO questions VALUES ('q1', 'p', 't', 'choice', 'easy', 'h', 0, '{stamp}')",
            f"INSERT INTO drills (id, channel_id, local_date, question_id, state, opened_at,"
            f" updated_at) VALUES (1, 1, '2025-01-16', 'q1', 'open', '{stamp}', '{stamp}'),"
            f" (2, 1, '2025-01-15', 'q1', 'open', '{stamp}', '{stamp}')",
            f"INSERT INTO study_groups (platform, workspace_id, name, name_key, created_at)"
            f" VALUES ('test', 'W1', 'empty', 'empty', '{stamp}')",
        ):
            await db.conn.execute(sql)
        assert await migrate(db, upto) == [5]
        rows = await db.conn.execute_fetchall("SELECT id, state FROM drills ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "open"), (2, "closed")]
        assert await db.conn.execute_fetchall("SELECT * FROM study_groups") == []
    finally:
        await db.close()
