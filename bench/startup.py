"""Start-up at scale, run by hand: `python bench/startup.py [--channels 10000 100000]`.

Seeds a database with N configured channels (by SQL, with their next post and weekly
instants as the service stores them) and a bank of 1,000 questions, then starts the bot's
core in a fresh interpreter (load the bank, migrate, sync questions, the scheduler's one
job and its first tick, the dispatcher) and reports the time and peak RSS. Issue 16's
targets: 10,000 channels in < 3 s and < 100 MB; 100,000 in < 10 s and < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import report, write_bank  # noqa: E402
from bot.app import open_service  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.core.models import ChannelRef, ChannelSettings  # noqa: E402
from bot.core.schedule import next_post_after, next_weekly_after  # noqa: E402
from bot.delivery.dispatcher import Dispatcher  # noqa: E402
from bot.scheduler import DrillScheduler  # noqa: E402
from bot.storage.migrate import migrate  # noqa: E402
from bot.storage.sqlite import Database  # noqa: E402

TARGETS = {10_000: (3.0, 100.0), 100_000: (10.0, 300.0)}
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Pacific/Chatham")


async def seed(db_url: str, path: Path, channels: int) -> None:
    db = await Database.open(db_url)
    try:
        await migrate(db)
    finally:
        await db.close()
    now = datetime.now(UTC)
    stamp = now.isoformat()
    rows = []
    for i in range(channels):
        zone, hour = ZONES[i % len(ZONES)], i % 24
        settings = ChannelSettings(
            ChannelRef("bench", f"W{i % 50}", f"C{i}"), post_time=f"{hour:02d}:00", timezone=zone
        )
        post = next_post_after(settings, now)
        weekly = next_weekly_after(settings, now)
        rows.append(
            (
                "bench",
                f"W{i % 50}",
                f"C{i}",
                settings.post_time,
                zone,
                post.isoformat() if post else None,
                weekly.isoformat() if weekly else None,
                stamp,
                stamp,
            )
        )
    with sqlite3.connect(path) as conn:
        conn.executemany(
            """INSERT INTO channels (platform, workspace_id, channel_id, post_time, timezone,
                   next_post_at, next_weekly_at, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )


def child(db_url: str, bank: str) -> None:
    """The measured start-up, alone in its interpreter."""

    async def main() -> None:
        start = time.perf_counter()
        async with open_service(Config(database_url=db_url, questions_dir=Path(bank))) as service:
            dispatcher = service.delivery
            assert isinstance(dispatcher, Dispatcher)
            dispatcher.start()
            scheduler = DrillScheduler(service)
            await scheduler.start()
            elapsed = time.perf_counter() - start
            jobs = len(scheduler.scheduler.get_jobs())
            scheduler.shutdown()
            await dispatcher.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{elapsed:.3f} {rss:.1f} {jobs}")

    asyncio.run(main())


async def measure(workdir: Path, questions: int, channels: int) -> None:
    print(f"Start-up: {questions:,} questions, {channels:,} channels")
    bank = workdir / "bank"
    if not bank.exists():
        write_bank(bank, questions)
    path = workdir / f"startup-{channels}.db"
    db_url = f"sqlite:///{path}"
    await seed(db_url, path, channels)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child", db_url, str(bank), stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await proc.communicate()
    elapsed, rss, jobs = stdout.decode().split()
    seconds, megabytes = TARGETS.get(channels, (3.0, 100.0))
    report(
        "start-up to the first tick",
        f"{float(elapsed):.2f} s",
        f"< {seconds:g} s",
        float(elapsed) < seconds,
    )
    report("peak RSS", f"{float(rss):.0f} MB", f"< {megabytes:g} MB", float(rss) < megabytes)
    report("scheduler jobs", jobs, "1", jobs == "1")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=1_000)
    parser.add_argument("--channels", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for channels in args.channels:
            await measure(Path(tmp), args.questions, channels)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        asyncio.run(main())
