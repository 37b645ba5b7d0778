"""Answer burst with group commit, run by hand: `.venv/bin/python bench/answers.py`.

Three runs of 10,000 answers through the service (all arriving at once, 100 in flight,
1,000 in flight), each next to the raw rate measured just before it: the same member
and attempt rows committed one per transaction with aiosqlite (bench/run.py's baseline),
so a machine whose load changes during the run compares like with like. Each run has a
database of its own; afterwards the file is read with the standard library to count
lost answers (acknowledged but not stored, or missing from the aggregates) and answers
counted twice. CPU time per answer (all threads) is shown too: on a shared machine it
moves less than the rates. Figures are printed beside their ceilings, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import NOW, TEST_BANK, percentile, raw_inserts, report  # noqa: E402
from bot.app import freeze_start_up, open_service  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.core import commands  # noqa: E402
from bot.core.errors import AlreadyAnswered  # noqa: E402
from bot.core.models import ChannelRef, MemberRef  # noqa: E402
from bot.core.service import Invocation  # noqa: E402
from bot.storage.repository import SqlRepository  # noqa: E402
from tests.fakes import FakeClock, RecordingPublisher  # noqa: E402


@dataclass(frozen=True)
class Burst:
    rate: float
    cpu_ms: float
    latencies: list[float]
    failed: int
    batches: int
    refused_repeats: int
    repeats: int
    lost: int
    unacknowledged: int
    twice: int


def user(i: int) -> MemberRef:
    return MemberRef("bench", "W", f"U{i}", f"m{i}")


async def burst(path: Path, answers: int, in_flight: int) -> Burst:
    """`answers` members answer one drill through the service, `in_flight` at a time;
    then every tenth answers again, all at once, and must be refused."""
    config = Config(database_url=f"sqlite:///{path}", questions_dir=TEST_BANK, low_bank_warning=0)
    publisher = RecordingPublisher()
    async with open_service(config, FakeClock(NOW)) as service:
        service.register_publisher("bench", publisher)
        channel = ChannelRef("bench", "W", "C")
        admin = Invocation(MemberRef("bench", "W", "admin"), channel, is_admin=True)
        await service.execute(commands.parse("/quiz setup topics:testing close:none"), admin)
        drill = await service.post_daily(channel, forced=True)
        letter = publisher.posts[0].question.correct_letter
        freeze_start_up()  # as `python -m bot run` does before its deliveries start
        latencies: list[float] = []
        acknowledged: set[str] = set()
        failed = 0
        pending = iter(range(answers))

        async def member_after_member() -> None:
            # `in_flight` of these run at once: each answer starts as soon as one is done,
            # with no backlog of waiting tasks for the loop to wade through.
            nonlocal failed
            for i in pending:
                start = time.perf_counter()
                try:
                    await service.submit_answer(user(i), drill.id, letter)
                except Exception:
                    failed += 1
                    continue
                latencies.append(time.perf_counter() - start)
                acknowledged.add(user(i).user_id)

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(member_after_member() for _ in range(in_flight)))
        rate = answers / (time.perf_counter() - start)
        cpu_ms = (time.process_time() - cpu) * 1000 / answers
        assert isinstance(service.repo, SqlRepository)
        batches = service.repo.db.writes.batches
        repeats = await asyncio.gather(
            *(service.submit_answer(user(i), drill.id, letter) for i in range(0, answers, 10)),
            return_exceptions=True,
        )
    lost, unacknowledged, twice = audit(path, drill.id, acknowledged)
    return Burst(
        rate=rate,
        cpu_ms=cpu_ms,
        latencies=latencies,
        failed=failed,
        batches=batches,
        refused_repeats=sum(isinstance(r, AlreadyAnswered) for r in repeats),
        repeats=len(repeats),
        lost=lost,
        unacknowledged=unacknowledged,
        twice=twice,
    )


def audit(path: Path, drill_id: int, acknowledged: set[str]) -> tuple[int, int, int]:
    """From the closed file: (lost, stored but never acknowledged, counted twice).

    Lost: an acknowledged member without their attempt or without it in score_totals.
    Twice: attempts beyond one per member, or all-time totals above one answer."""
    conn = sqlite3.connect(path)
    try:
        stored = {
            user_id
            for (user_id,) in conn.execute(
                """SELECT m.user_id FROM attempts a JOIN members m ON m.id = a.member_id
                   JOIN score_totals s ON s.member_id = a.member_id AND s.period = 'all'
                   WHERE a.drill_id = ? AND a.counted AND s.answered >= 1""",
                (drill_id,),
            )
        }
        (extra_rows,) = conn.execute(
            "SELECT count(*) - count(DISTINCT member_id) FROM attempts WHERE drill_id = ?",
            (drill_id,),
        ).fetchone()
        (over_counted,) = conn.execute(
            "SELECT count(*) FROM score_totals WHERE period = 'all' AND answered > 1"
        ).fetchone()
    finally:
        conn.close()
    return len(acknowledged - stored), len(stored - acknowledged), extra_rows + over_counted


async def raw(workdir: Path, answers: int) -> tuple[float, float]:
    """(rows/s, CPU ms per row) of bench/run.py's one-commit-per-row baseline."""
    cpu = time.process_time()
    raw_db = Path(tempfile.mkdtemp(dir=workdir)) / "raw.db"
    rate = await raw_inserts(f"sqlite:///{raw_db}", answers)
    return rate, (time.process_time() - cpu) * 1000 / answers


def show(run: Burst, raw_rate: float, raw_cpu_ms: float, p99_ceiling_ms: float | None) -> None:
    report("raw aiosqlite inserts/s, just before", f"{raw_rate:,.0f}", "-", True)
    ok = run.rate >= 2 * raw_rate
    report("service answers/s (group commit)", f"{run.rate:,.0f}", f">= {2 * raw_rate:,.0f}", ok)
    report("  vs raw", f"{run.rate / raw_rate:.2f}x", ">= 2x", ok)
    report("CPU per answer / per raw row", f"{run.cpu_ms:.2f} / {raw_cpu_ms:.2f} ms", "-", True)
    report("answers per write batch", f"{len(run.latencies) / max(run.batches, 1):.1f}", "-", True)
    report("p50 latency", f"{percentile(run.latencies, 0.5) * 1000:.1f} ms", "-", True)
    p99 = percentile(run.latencies, 0.99) * 1000
    if p99_ceiling_ms is None:
        report("p99 latency", f"{p99:.1f} ms", "-", True)
    else:
        report("p99 latency", f"{p99:.1f} ms", f"< {p99_ceiling_ms:.0f} ms", p99 < p99_ceiling_ms)
    report("answers refused or failed", f"{run.failed:,}", "0", run.failed == 0)
    report("lost", f"{run.lost:,}", "0", run.lost == 0)
    report("stored but never acknowledged", f"{run.unacknowledged:,}", "0", not run.unacknowledged)
    report("counted twice", f"{run.twice:,}", "0", run.twice == 0)
    report(
        "repeats refused",
        f"{run.refused_repeats:,} / {run.repeats:,}",
        "all",
        run.refused_repeats == run.repeats,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=10_000)
    args = parser.parse_args()
    n = args.answers
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        runs = (("all at once", n, None), ("100 in flight", 100, 50.0))
        runs += (("1,000 in flight", 1_000, 600.0),)
        for index, (name, in_flight, ceiling) in enumerate(runs):
            print(f"{n:,} answers, {name}")
            raw_rate, raw_cpu_ms = await raw(workdir, n)
            run = await burst(workdir / f"service-{index}.db", n, in_flight)
            show(run, raw_rate, raw_cpu_ms, ceiling)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    asyncio.run(main())
