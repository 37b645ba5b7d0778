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
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import answer_burst, leaderboard_at_scale, scale_arguments  # noqa: E402
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
        large = await database(server, "large")
        await leaderboard_at_scale(large, args.board_members, args.attempts, args.repeats)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
