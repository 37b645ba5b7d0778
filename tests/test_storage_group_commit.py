"""Group commit of answers over a real SQLite file: batches share one transaction, each
answer in its own savepoint, and nothing is acknowledged before COMMIT."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from itertools import groupby

import asyncpg
import pytest

from bot.app import open_service
from bot.config import Config
from bot.core import commands
from bot.core.errors import AlreadyAnswered, DrillClosed, NotFound
from bot.core.models import Attempt, ChannelRef, Drill, Grade, Verdict
from bot.core.service import Invocation, QuizService
from bot.storage import repository, sqlite
from bot.storage.connection import SqlDatabase
from bot.storage.group_commit import DatabaseClosing
from bot.storage.repository import SqlRepository
from bot.storage.sqlite import Database
from bot.storage.steps import Query, Steps
from tests.conftest import member
from tests.dbtools import sql
from tests.fakes import FakeClock, RecordingPublisher

pytestmark = pytest.mark.every_backend

ANSWERED_AT = datetime(2025, 1, 15, 8, 1, tzinfo=UTC)


def rows(config: Config, query: str) -> list[tuple]:
    """Read what is durable in the database, on a connection of its own."""
    return sql(config.database_url, query)


def repo_of(service: QuizService) -> SqlRepository:
    assert isinstance(service.repo, SqlRepository)
    return service.repo


async def open_drill(service: QuizService, channel: ChannelRef) -> Drill:
    admin = Invocation(member("admin"), channel, is_admin=True)
    await service.execute(commands.parse("/quiz setup topics:testing close:none"), admin)
    return await service.post_daily(channel, forced=True)


def attempt(name: str, drill: Drill, answer: str = "A") -> Attempt:
    return Attempt(
        member=member(name),
        question_id=drill.question_id,
        answer=answer,
        grade=Grade(Verdict.GOOD, 1.0, answer),
        points=10,
        answered_at=ANSWERED_AT,
        latency_ms=60_000,
        drill_id=drill.id,
    )


async def in_one_batch(db: SqlDatabase, *calls: Awaitable, reads: bool = False) -> list:
    """Start every call while the connection is busy, so that the writer (or the reader)
    takes them all in its next batch; fails if they ran in more than one."""
    queue = db.reads if reads else db.writes
    before = queue.batches
    async with queue._lock:  # the writer (reader) waits, and then takes them all at once
        tasks = [asyncio.ensure_future(call) for call in calls]
        for _ in range(5):
            await asyncio.sleep(0)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert queue.batches == before + 1
    return results


async def test_many_concurrent_answers_are_all_durable_and_counted_once(
    config: Config, clock: FakeClock
):
    members = 400
    async with open_service(config, clock) as service:
        publisher = RecordingPublisher()
        service.register_publisher("test", publisher)
        channel = ChannelRef("test", "W1", "C1")
        drill = await open_drill(service, channel)
        letter = publisher.posts[0].question.correct_letter
        names = [f"m{i}" for i in range(members)]
        # Every member answers, and every tenth answers twice at the same moment.
        calls = [service.submit_answer(member(n), drill.id, letter) for n in names]
        calls += [service.submit_answer(member(n), drill.id, letter) for n in names[::10]]
        results = await asyncio.gather(*calls, return_exceptions=True)
        batches = repo_of(service).db.writes.batches

    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == members // 10
    assert all(isinstance(r, AlreadyAnswered) for r in refused)
    assert batches < members / 4  # answers shared transactions
    # After the database was closed: each acknowledged answer is in the file, once.
    assert rows(config, "SELECT count(*), count(DISTINCT member_id) FROM attempts") == [
        (members, members)
    ]
    assert rows(
        config, "SELECT count(*), sum(answered), sum(correct) FROM score_totals WHERE period='all'"
    ) == [(members, members, members)]
    assert rows(config, "SELECT count(*), sum(current) FROM streaks") == [(members, members)]


async def test_a_duplicate_inside_a_batch_fails_only_its_caller(service, channel, config):
    drill = await open_drill(service, channel)
    repo = repo_of(service)
    ann, ben, ann_again, cat = await in_one_batch(
        repo.db,
        repo.record_attempt(attempt("ann", drill, "A"), "testing", drill.local_date),
        repo.record_attempt(attempt("ben", drill, "B"), "testing", drill.local_date),
        repo.record_attempt(attempt("ann", drill, "C"), "testing", drill.local_date),
        repo.record_attempt(attempt("cat", drill, "D"), "testing", drill.local_date),
    )
    assert [r.created for r in (ann, ben, ann_again, cat)] == [True, True, False, True]
    assert ann_again.attempt.answer == "A"  # the first answer stands
    assert rows(config, "SELECT answer FROM attempts ORDER BY id") == [("A",), ("B",), ("D",)]


# On PostgreSQL the service's reads do not queue: its answers reach the writer apart.
@pytest.mark.sqlite_only
async def test_a_duplicate_answer_through_the_service_in_a_batch_is_refused_alone(
    service, channel, config, publisher
):
    drill = await open_drill(service, channel)
    right = publisher.posts[-1].question.correct_letter
    wrong = next(letter for letter in "ABCD" if letter != right)
    ann, ben, ann_again = await in_one_batch(
        repo_of(service).db,
        service.submit_answer(member("ann"), drill.id, wrong),
        service.submit_answer(member("ben"), drill.id, right),
        service.submit_answer(member("ann"), drill.id, right),
    )
    assert isinstance(ann_again, AlreadyAnswered)
    assert f"your answer {wrong} stands" in ann_again.message
    assert ann.attempt.answer == wrong and ben.attempt.grade.correct
    assert rows(config, "SELECT count(*), sum(correct) FROM score_totals WHERE period='all'") == [
        (2, 1)
    ]


async def test_a_closed_drill_answer_in_a_batch_fails_only_its_caller(service, config):
    closed = await open_drill(service, ChannelRef("test", "W1", "C-closed"))
    assert await service.close_drill(closed.id) is not None
    drill = await open_drill(service, ChannelRef("test", "W1", "C-open"))
    repo = repo_of(service)
    ann, ben, cat = await in_one_batch(
        repo.db,
        repo.record_attempt(attempt("ann", drill), "testing", drill.local_date),
        repo.record_attempt(attempt("ben", closed), "testing", closed.local_date),
        repo.record_attempt(attempt("cat", drill), "testing", drill.local_date),
    )
    assert isinstance(ben, DrillClosed)
    assert ann.created and cat.created
    assert rows(config, "SELECT drill_id, count(*) FROM attempts GROUP BY drill_id") == [
        (drill.id, 2)
    ]


async def test_a_constraint_failure_rolls_back_only_that_answers_writes(service, channel, config):
    drill = await open_drill(service, channel)
    repo = repo_of(service)
    gone = replace(drill, id=drill.id + 1000)
    ann, ghost = await in_one_batch(
        repo.db,
        repo.record_attempt(attempt("ann", drill), "testing", drill.local_date),
        repo.record_attempt(attempt("ghost", gone), "testing", drill.local_date),
    )
    assert ann.created
    assert isinstance(ghost, (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError))
    # The member row written before the failing insert went with its savepoint.
    assert rows(config, "SELECT user_id FROM members WHERE user_id IN ('U-ann', 'U-ghost')") == [
        ("U-ann",)
    ]


async def test_a_crash_mid_batch_acknowledges_nothing_of_it(
    service, channel, config, monkeypatch: pytest.MonkeyPatch
):
    drill = await open_drill(service, channel)
    repo = repo_of(service)
    real = repository._store_attempt

    def crashing(attempt: Attempt, topic: str, day: date, review) -> Steps[object]:
        stored = yield from real(attempt, topic, day, review)
        if attempt.member.display_name == "boom":  # after its writes, before COMMIT
            raise RuntimeError("injected crash")
        return stored

    monkeypatch.setattr(repository, "_store_attempt", crashing)
    results = await in_one_batch(
        repo.db,
        *(
            repo.record_attempt(attempt(name, drill), "testing", drill.local_date)
            for name in ("ann", "ben", "boom", "cat")
        ),
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert rows(config, "SELECT count(*) FROM attempts") == [(0,)]
    assert rows(config, "SELECT count(*) FROM score_totals") == [(0,)]
    # The writer goes on: the same answer again is stored.
    created = (
        await repo.record_attempt(attempt("ann", drill), "testing", drill.local_date)
    ).created
    assert created
    assert rows(config, "SELECT count(*) FROM attempts") == [(1,)]


@pytest.mark.sqlite_only  # PRAGMA defer_foreign_keys is SQLite's
async def test_a_failed_commit_acknowledges_nothing_of_its_batch(service, channel, config):
    drill = await open_drill(service, channel)
    repo = repo_of(service)

    def violates_at_commit() -> Steps[None]:
        # A deferred foreign key is checked by COMMIT, after every savepoint was released.
        yield Query("PRAGMA defer_foreign_keys = ON")
        yield Query(
            "INSERT INTO streaks (member_id, channel_id, current, best, last_date)"
            " VALUES (999999, 1, 1, 1, '2025-01-15')"
        )

    ann, bad, ben = await in_one_batch(
        repo.db,
        repo.record_attempt(attempt("ann", drill), "testing", drill.local_date),
        repo.db.grouped(violates_at_commit),
        repo.record_attempt(attempt("ben", drill), "testing", drill.local_date),
    )
    assert all(isinstance(r, sqlite3.IntegrityError) for r in (ann, bad, ben))
    assert rows(config, "SELECT count(*) FROM attempts") == [(0,)]
    assert rows(config, "SELECT count(*) FROM streaks") == [(0,)]


async def test_close_with_pending_answers_does_not_hang(config: Config, clock: FakeClock):
    async with open_service(config, clock) as service:
        service.register_publisher("test", RecordingPublisher())
        drill = await open_drill(service, ChannelRef("test", "W1", "C1"))
        repo = repo_of(service)
        pending = [
            asyncio.ensure_future(
                repo.record_attempt(attempt(f"m{i}", drill), "testing", drill.local_date)
            )
            for i in range(300)
        ]
        await asyncio.sleep(0)
        await asyncio.wait_for(repo.db.close(), timeout=10)
        done, not_done = await asyncio.wait(pending, timeout=10)
        assert not not_done
        with pytest.raises(DatabaseClosing):
            await repo.record_attempt(attempt("late", drill), "testing", drill.local_date)
    acknowledged = sum(1 for task in done if task.exception() is None)
    refused = [task.exception() for task in done if task.exception() is not None]
    assert all(isinstance(exc, DatabaseClosing) for exc in refused)
    assert rows(config, "SELECT count(*) FROM attempts") == [(acknowledged,)]
    assert acknowledged > 0


async def test_an_answer_to_an_unknown_drill_is_refused_and_stores_nothing(
    service, channel, config
):
    drill = await open_drill(service, channel)
    results = await asyncio.gather(
        service.submit_answer(member("ann"), drill.id, "A"),
        service.submit_answer(member("ben"), drill.id + 1000, "A"),
        return_exceptions=True,
    )
    assert not isinstance(results[0], Exception)
    assert isinstance(results[1], NotFound)
    assert rows(
        config, "SELECT m.user_id FROM attempts a JOIN members m ON m.id = a.member_id"
    ) == [("U-ann",)]


@pytest.mark.sqlite_only  # the batched read queue is SQLite's
async def test_equal_reads_asked_together_share_one_query(service, channel):
    drill = await open_drill(service, channel)
    repo = repo_of(service)
    queries: list[str] = []
    async with repo.db.reading() as conn:
        await conn.set_trace_callback(queries.append)
    *found, missing = await in_one_batch(
        repo.db,
        *(repo.drill_with_settings(drill.id) for _ in range(20)),
        repo.drill_with_settings(drill.id + 1000),
        reads=True,
    )
    async with repo.db.reading() as conn:
        await conn.set_trace_callback(None)
    assert all(f == found[0] for f in found) and found[0].drill.id == drill.id
    assert missing is None
    assert sum("FROM drills d JOIN channels c" in q for q in queries) == 2


@pytest.mark.sqlite_only  # counted with sqlite3's trace callback
async def test_a_batch_of_new_answers_runs_three_statements_each(service, channel, config):
    # Member, attempt (its drill check included) and streak; no savepoints, no drill read.
    drill = await open_drill(service, channel)
    repo = repo_of(service)
    queries: list[str] = []
    async with repo.db.reading() as conn:
        await conn.set_trace_callback(queries.append)
    results = await in_one_batch(
        repo.db,
        *(
            repo.record_attempt(attempt(f"m{i}", drill), "testing", drill.local_date)
            for i in range(10)
        ),
    )
    async with repo.db.reading() as conn:
        await conn.set_trace_callback(None)
    assert [r.created for r in results] == [True] * 10
    # A statement is traced again for each trigger it fires: runs of one count once.
    heads = [head for head, _ in groupby(" ".join(q.split()[:3]) for q in queries)]
    each = ["INSERT INTO members", "INSERT INTO attempts", "INSERT INTO streaks"]
    assert heads == ["BEGIN IMMEDIATE", *each * 10, "COMMIT"]
    assert rows(config, "SELECT count(*) FROM attempts") == [(10,)]


async def test_a_stopped_writer_fails_its_waiting_callers_instead_of_hanging(service, channel):
    drill = await open_drill(service, channel)
    repo = repo_of(service)
    async with repo.db.reading():
        waiting = [
            asyncio.ensure_future(
                repo.record_attempt(attempt(name, drill), "testing", drill.local_date)
            )
            for name in ("ann", "ben")
        ]
        for _ in range(5):
            await asyncio.sleep(0)
        repo.db.writes._task.cancel()  # as a loop shutting down cancels its tasks
        done, not_done = await asyncio.wait(waiting, timeout=5)
    assert not not_done
    assert all(isinstance(task.exception(), DatabaseClosing) for task in done)
    with pytest.raises(DatabaseClosing):
        await repo.record_attempt(attempt("cat", drill), "testing", drill.local_date)


@pytest.mark.sqlite_only  # WAL checkpoints are SQLite's
async def test_committed_writes_reach_the_database_file_by_a_background_checkpoint(
    db_url, monkeypatch
):
    monkeypatch.setattr(sqlite, "CHECKPOINT_INTERVAL", 0.0)
    db = await Database.open(db_url)
    try:
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY)")
            async with conn.execute("PRAGMA wal_autocheckpoint") as cursor:
                autocheckpoint = await cursor.fetchone()
        # No COMMIT copies the WAL into the file itself.
        assert autocheckpoint is not None and autocheckpoint[0] == 0
        assert db._checkpoint is not None
        await db._checkpoint
        await asyncio.gather(*(db.grouped(partial(insert_answer, i)) for i in range(20)))
        assert db._checkpoint is not None
        await db._checkpoint
        # `immutable` reads the database file alone, without the WAL.
        path = db_url.removeprefix("sqlite:///")
        file_only = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            assert file_only.execute("SELECT count(*) FROM answers").fetchone() == (20,)
        finally:
            file_only.close()
    finally:
        await db.close()


def insert_answer(answer_id: int) -> Steps[None]:
    yield Query("INSERT INTO answers (id) VALUES (?)", (answer_id,))
