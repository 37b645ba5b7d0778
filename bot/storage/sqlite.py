"""The SQLite connection: pragmas, URL parsing and serialised transactions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///data/daily-drill.db"
BUSY_TIMEOUT_MS = 5000


def path_from_url(url: str) -> str:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db` or `sqlite://:memory:` to a path."""
    if not url.startswith("sqlite://"):
        raise ValueError(f"Only sqlite:// URLs are supported so far, not {url.split(':')[0]}://")
    rest = url[len("sqlite://") :]
    if rest in (":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/"):
        raise ValueError(f"Write SQLite URLs as sqlite:///path/to.db, not {url}")
    return rest[1:]


class Database:
    """One aiosqlite connection shared by the process.

    aiosqlite runs every call on one thread, so a transaction spanning several awaits
    must not interleave with another coroutine's statements: `transaction()` holds a
    lock for its whole body. `BEGIN IMMEDIATE` takes SQLite's write lock up front, so
    two processes on one file queue on busy_timeout instead of failing mid-transaction.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str) -> Database:
        path = path_from_url(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        log.debug("opened database %s", path)
        return cls(conn)

    async def close(self) -> None:
        await self.conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads wait for any open transaction so they never see half of one."""
        async with self._lock:
            yield self.conn
