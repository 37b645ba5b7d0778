"""The answer burst, leaderboard and stats benchmarks of bench/run.py on PostgreSQL, run
by hand: `python bench/pg.py [--members 10000] [--concurrency 100]`.

A PostgreSQL 15 server is started in a temporary directory (tests/pg.py finds the
binaries: $PG_BIN, /usr/lib/postgresql/15/bin or PATH) on a free 127.0.0.1 port, and
stopped at the end. Each benchmark gets its own empty database; the figures are printed
beside the same ceilings as on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import answer_burst, leaderboard_at_scale, scale_arguments, seeded  # noqa: E402
from bot.storage.database import migrate_url  # noqa: E402
from bot.storage.transfer import copy_sqlite_to_postgres  # noqa: E402
from tests.pg import PgServer, start_server  # noqa: E402


async def database(server: PgServer, name: str) -> str:
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.url(name)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    scale_arguments(parser)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    server = start_server(root)
    try:
        print(f"PostgreSQL at {server.url()}")
        burst, raw = await database(server, "burst"), await database(server, "raw")
        await answer_burst(burst, raw, args.members, args.concurrency)
        # Seeded through SQLite's triggers, then moved with migrate-data (COPY): the
        # row-by-row PL/pgSQL triggers would take about 15 minutes for a million rows.
        large, source = await database(server, "large"), f"sqlite:///{root / 'large.db'}"
        await seeded(source, args.board_members, args.attempts)
        await migrate_url(large)
        start = time.perf_counter()
        await copy_sqlite_to_postgres(source, large)
        print(f"  (copied to PostgreSQL in {time.perf_counter() - start:.1f} s)")
        await leaderboard_at_scale(large, args.board_members, args.attempts, args.repeats)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
