"""Benchmarks for the budgets in the design brief, run by hand: `make bench`.

Each figure is printed beside the ceiling it is compared to. Nothing here is a test:
numbers depend on the machine, so they are read and reported, never asserted in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import open_service  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.core import commands  # noqa: E402
from bot.core.models import ChannelRef, MemberRef, Period  # noqa: E402
from bot.core.service import Invocation  # noqa: E402
from bot.scheduler import DrillScheduler  # noqa: E402
from bot.storage.connection import Connection, SqlDatabase  # noqa: E402
from bot.storage.database import migrate_database, open_database  # noqa: E402
from tests.fakes import FakeClock, RecordingPublisher  # noqa: E402

TEST_BANK = ROOT / "tests" / "bank"
NOW = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
SEED_CHUNK = 10_000  # attempts per transaction: each fires the aggregate triggers


def report(name: str, value: str, ceiling: str, ok: bool) -> None:
    print(f"  {name:<44} {value:>14}   ceiling {ceiling:<14} {'ok' if ok else 'OVER'}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- 1. an answer burst -------------------------------------------------------------------


async def answer_burst(db_url: str, raw_url: str, members: int, concurrency: int) -> None:
    """Through the service on `db_url`; the baseline's plain inserts on `raw_url` (both
    empty databases of one kind, SQLite or PostgreSQL)."""
    print(f"Answer burst: {members:,} members answer one drill, {concurrency} at a time")
    config = Config(database_url=db_url, questions_dir=TEST_BANK, low_bank_warning=0)
    clock = FakeClock(NOW)
    publisher = RecordingPublisher()
    async with open_service(config, clock) as service:
        service.register_publisher("bench", publisher)
        channel = ChannelRef("bench", "W", "C")
        admin = Invocation(MemberRef("bench", "W", "admin"), channel, is_admin=True)
        await service.execute(commands.parse("/quiz setup topics:testing close:none"), admin)
        drill = await service.post_daily(channel, forced=True)
        letter = publisher.posts[0].question.correct_letter
        latencies: list[float] = []
        semaphore = asyncio.Semaphore(concurrency)

        async def answer(i: int) -> None:
            async with semaphore:
                start = time.perf_counter()
                await service.submit_answer(
                    MemberRef("bench", "W", f"U{i}", f"m{i}"), drill.id, letter
                )
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(answer(i) for i in range(members)))
        service_rate = members / (time.perf_counter() - start)
        # A repeat of every answer must change nothing.
        repeats = await asyncio.gather(
            *(answer(i) for i in range(0, members, 10)), return_exceptions=True
        )
        result = await service.drill_result(drill.id)
        board = await service.leaderboard(admin.member, channel, Period.ALL, None)

    raw_rate = await raw_inserts(raw_url, members)
    report(
        "service answers/s",
        f"{service_rate:,.0f}",
        f">= {raw_rate / 2:,.0f}",
        service_rate >= raw_rate / 2,
    )
    report("raw inserts/s (same rows)", f"{raw_rate:,.0f}", "-", True)
    report("p50 latency", f"{percentile(latencies, 0.5) * 1000:.2f} ms", "-", True)
    report("p99 latency", f"{percentile(latencies, 0.99) * 1000:.2f} ms", "-", True)
    counted = result.answered == members and board.total_members == members
    refused = all(isinstance(r, Exception) for r in repeats)
    report(
        "answers counted / repeats refused",
        f"{result.answered:,} / {len(repeats):,}",
        f"{members:,} / all",
        counted and refused,
    )


async def bench_channel(conn: Connection, stamp: str, questions: list[tuple[str, str]]) -> None:
    """The one channel (id 1, UTC) and the questions, as (id, topic), its drills ask."""
    await conn.execute(
        "INSERT INTO channels (platform, workspace_id, channel_id, timezone, created_at, "
        "updated_at) VALUES ('bench', 'W', 'C', 'UTC', ?, ?)",
        (stamp, stamp),
    )
    await conn.executemany(
        "INSERT INTO questions VALUES (?, 'p', ?, 'choice', 'easy', 'h', 0, ?)",
        [(qid, topic, stamp) for qid, topic in questions],
    )


async def raw_inserts(db_url: str, members: int) -> float:
    """The same member and attempt rows, each in its own transaction, with no service."""
    db = await open_database(db_url)
    await migrate_database(db)
    stamp = NOW.isoformat()
    async with db.transaction() as conn:
        await bench_channel(conn, stamp, [("q", "t")])
        await conn.execute(
            "INSERT INTO drills (channel_id, local_date, question_id, state, opened_at,"
            " updated_at) VALUES (1, '2025-01-15', 'q', 'open', ?, ?)",
            (stamp, stamp),
        )
    start = time.perf_counter()
    for i in range(members):
        async with db.transaction() as tx:
            rows = await tx.execute_fetchall(
                "INSERT INTO members (platform, workspace_id, user_id, display_name, created_at)"
                " VALUES ('bench', 'W', ?, ?, ?) RETURNING id",
                (f"U{i}", f"m{i}", stamp),
            )
            member_id = rows[0][0]
            await tx.execute(
                "INSERT INTO attempts (member_id, drill_id, question_id, topic, answer, normalized,"
                " verdict, score, points, answered_at, latency_ms, week_key, month_key)"
                " VALUES (?, 1, 'q', 't', 'A', 'A', 'good', 1, 15, ?, 1000, '2025-W03', '2025-01')",
                (member_id, stamp),
            )
    rate = members / (time.perf_counter() - start)
    await db.close()
    return rate


# --- 2. leaderboard and stats at scale ----------------------------------------------------------


async def seed_large(db: SqlDatabase, members: int, attempts: int) -> None:
    """Members and attempts written straight into the database; the triggers build the
    aggregates."""
    stamp = NOW.isoformat()
    rng = random.Random(7)
    topics = ["statistics", "nlp", "evaluation", "optimization", "deep-learning"]
    days = attempts // members
    async with db.transaction() as conn:
        await bench_channel(conn, stamp, [(f"q{d}", topics[d % len(topics)]) for d in range(days)])
        await conn.executemany(
            "INSERT INTO drills (channel_id, local_date, question_id, state, opened_at, updated_at)"
            " VALUES (1, ?, ?, 'closed', ?, ?)",
            [
                ((NOW.date() - timedelta(days=days - d)).isoformat(), f"q{d}", stamp, stamp)
                for d in range(days)
            ],
        )
        await conn.executemany(
            "INSERT INTO members (platform, workspace_id, user_id, display_name, created_at)"
            " VALUES ('bench', 'W', ?, ?, ?)",
            [(f"U{i}", f"m{i}", stamp) for i in range(members)],
        )
    for d in range(days):
        local = NOW.date() - timedelta(days=days - d)
        week = f"{local.isocalendar()[0]}-W{local.isocalendar()[1]:02d}"
        rows = []
        for m in range(1, members + 1):
            good = rng.random() < 0.6
            rows.append(
                (
                    m,
                    d + 1,
                    f"q{d}",
                    topics[d % len(topics)],
                    "A",
                    "A",
                    "good" if good else "wrong",
                    float(good),
                    rng.choice((0, 10, 15, 20, 35)) if good else 0,
                    stamp,
                    rng.randint(1000, 10**7),
                    week,
                    local.strftime("%Y-%m"),
                )
            )
        for chunk in range(0, len(rows), SEED_CHUNK):
            async with db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO attempts (member_id, drill_id, question_id, topic, answer,"
                    " normalized, verdict, score, points, answered_at, latency_ms, week_key,"
                    " month_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows[chunk : chunk + SEED_CHUNK],
                )
    async with db.transaction() as conn:
        await conn.execute("ANALYZE")


async def seeded(db_url: str, members: int, attempts: int) -> None:
    """`db_url`, an empty database, migrated and seeded (see seed_large)."""
    db = await open_database(db_url)
    await migrate_database(db)
    start = time.perf_counter()
    await seed_large(db, members, attempts)
    await db.close()
    print(f"  (seeded in {time.perf_counter() - start:.1f} s)")


async def leaderboard_at_scale(db_url: str, members: int, attempts: int, repeats: int) -> None:
    """On `db_url`, a database seeded by `seeded` with these sizes."""
    print(f"Leaderboard and stats: {members:,} members, {attempts:,} attempts")
    config = Config(database_url=db_url, questions_dir=TEST_BANK, low_bank_warning=0)
    async with open_service(config, FakeClock(NOW)) as service:
        channel = ChannelRef("bench", "W", "C")
        rng = random.Random(3)
        board_times, stats_times = [], []
        for _ in range(repeats):
            caller = MemberRef("bench", "W", f"U{rng.randrange(members)}")
            for period in (Period.WEEK, Period.ALL):
                start = time.perf_counter()
                board = await service.leaderboard(caller, channel, period, None)
                board_times.append(time.perf_counter() - start)
                assert board.caller is not None and len(board.entries) == 10
            start = time.perf_counter()
            stats = await service.member_stats(caller, channel)
            stats_times.append(time.perf_counter() - start)
            assert stats.answered == attempts // members
    for name, times in (("top 10 + caller's rank", board_times), ("stats", stats_times)):
        p50, p99 = percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000
        report(f"{name} p50", f"{p50:.2f} ms", "< 10 ms", p50 < 10)
        report(f"{name} p99", f"{p99:.2f} ms", "< 10 ms", p99 < 10)


# --- 3. start-up ----------------------------------------------------------------------------------


def write_bank(directory: Path, count: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    questions = []
    for i in range(count):
        correct = i % 4
        questions.append(
            {
                "id": f"bench-q{i}",
                "tags": ["bench"],
                "difficulty": ["easy", "medium", "hard"][i % 3],
                "week": 1 + i % 4,
                "kind": "choice",
                "prompt": f"Benchmark question {i}: which option is number {correct} ({i * 7919})?",
                "choices": [
                    {
                        "text": f"Option {j} of {i}",
                        "why": "Generated.",
                        **({"correct": True} if j == correct else {}),
                    }
                    for j in range(4)
                ],
                "explanation": "Generated for the start-up benchmark.",
                "source": "topic:bench",
            }
        )
    (directory / "bench.yaml").write_text(
        yaml.safe_dump({"topic": "bench", "questions": questions})
    )


def startup_child(db_url: str, bank: str) -> None:
    """Run in a fresh interpreter so that time and memory are the bot's alone."""

    async def main() -> None:
        start = time.perf_counter()
        async with open_service(Config(database_url=db_url, questions_dir=Path(bank))) as service:
            scheduler = DrillScheduler(service)
            await scheduler.start()
            elapsed = time.perf_counter() - start
            jobs = len(scheduler.scheduler.get_jobs())
            scheduler.shutdown()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{elapsed:.3f} {rss:.1f} {jobs}")

    asyncio.run(main())


async def startup(workdir: Path, questions: int, channels: int) -> None:
    print(f"Start-up: {questions:,} questions, {channels:,} configured channels")
    bank = workdir / "bank"
    write_bank(bank, questions)
    db_url = f"sqlite:///{workdir / 'startup.db'}"
    config = Config(database_url=db_url, questions_dir=bank)
    async with open_service(config, FakeClock(NOW)) as service:
        for i in range(channels):
            admin = Invocation(
                MemberRef("bench", f"W{i % 50}", "admin"),
                ChannelRef("bench", f"W{i % 50}", f"C{i}"),
                True,
            )
            await service.execute(
                commands.parse(f"/quiz setup tz:Europe/Berlin time:0{i % 10}:00"), admin
            )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--startup-child",
        db_url,
        str(bank),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    stdout, _ = await child.communicate()
    out = stdout.decode().split()
    elapsed, rss, jobs = float(out[0]), float(out[1]), int(out[2])
    report("start-up (load, migrate, sync, first tick)", f"{elapsed:.2f} s", "< 2 s", elapsed < 2)
    report("RSS after start-up", f"{rss:.0f} MB", "< 150 MB", rss < 150)
    report("scheduler jobs (one tick, any channel count)", f"{jobs:,}", "1", jobs == 1)


def scale_arguments(parser: argparse.ArgumentParser) -> None:
    """The sizes of the answer burst and of the leaderboard benchmark (bench/pg.py too)."""
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--board-members", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=200)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    scale_arguments(parser)
    parser.add_argument("--questions", type=int, default=1_000)
    parser.add_argument("--channels", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sqlite = f"sqlite:///{workdir}"
        await answer_burst(f"{sqlite}/burst.db", f"{sqlite}/raw.db", args.members, args.concurrency)
        await seeded(f"{sqlite}/large.db", args.board_members, args.attempts)
        await leaderboard_at_scale(
            f"{sqlite}/large.db", args.board_members, args.attempts, args.repeats
        )
        await startup(workdir, args.questions, args.channels)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--startup-child":
        startup_child(sys.argv[2], sys.argv[3])
    else:
        asyncio.run(main())
