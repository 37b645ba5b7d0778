"""The SQLite connection: pragmas, URL parsing and serialised transactions."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

import aiosqlite

from bot.storage.connection import Connection
from bot.storage.group_commit import BatchQueue, Outcomes, Work, run_reads, run_writes
from bot.storage.steps import StepsFactory, run_sync

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_URL = "sqlite:///data/daily-drill.db"
BUSY_TIMEOUT_MS = 5000
# Seconds between background WAL checkpoints while writes go on (see Database).
CHECKPOINT_INTERVAL = 1.0
# WAL frames (pages) past which a background checkpoint finishes under the write lock, so
# that the next write starts the WAL over (SQLite's own automatic checkpoint: 1,000).
WAL_RESTART_FRAMES = 1000


POSTGRES_SCHEMES = ("postgres", "postgresql")


class UrlProblem(enum.Enum):
    NOT_A_URL = "not a URL"
    UNKNOWN_SCHEME = "unknown scheme"
    NO_PATH = "no path"
    NOT_THREE_SLASHES = "not sqlite:///"


class BadDatabaseUrl(ValueError):
    """DATABASE_URL names no database this build can open; `problem` says why."""

    def __init__(self, url: str, problem: UrlProblem) -> None:
        super().__init__(f"{problem.value}: {url_scheme(url) or url[:40]}")
        self.url = url
        self.problem = problem


class DatabaseUnavailable(Exception):
    """The database file cannot be opened as a writable SQLite database."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def url_scheme(url: str) -> str:
    """`postgres` for `postgres+asyncpg://...`; empty when `url` has no scheme."""
    scheme, sep, _ = url.partition("://")
    return scheme.split("+")[0].lower() if sep and scheme.isascii() else ""


def path_from_url(url: str) -> str:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db` or `sqlite://:memory:` to a path;
    BadDatabaseUrl for anything else, so a typo never opens a surprise database."""
    scheme = url_scheme(url)
    if not scheme:
        raise BadDatabaseUrl(url, UrlProblem.NOT_A_URL)
    if scheme != "sqlite" or not url.startswith("sqlite://"):
        raise BadDatabaseUrl(url, UrlProblem.UNKNOWN_SCHEME)
    rest = url[len("sqlite://") :]
    if rest in (":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/"):
        raise BadDatabaseUrl(url, UrlProblem.NOT_THREE_SLASHES)
    # `sqlite:///` would make SQLite open a temporary database that vanishes at exit.
    if not rest[1:].strip() or rest[1:].endswith("/"):
        raise BadDatabaseUrl(url, UrlProblem.NO_PATH)
    return rest[1:]


def _check_file(path: str) -> None:
    """Create the file's folder and prove the file is a writable SQLite database, with the
    standard library: a failed aiosqlite connect leaves its thread reporting to a closed
    event loop, so the checks that can fail run here first."""
    if Path(path).is_dir():
        raise DatabaseUnavailable(path, "is a directory")
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise DatabaseUnavailable(path, "a folder on its path is a file") from exc
    except OSError as exc:
        raise DatabaseUnavailable(path, exc.strerror or str(exc)) from exc
    try:
        probe = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(path, str(exc)) from exc
    try:
        # Reading the schema proves it is SQLite; the write lock proves it is writable.
        probe.execute("SELECT count(*) FROM sqlite_master")
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(path, str(exc)) from exc
    finally:
        probe.close()


@dataclass(frozen=True)
class _OnThread(Generic[T]):
    """A step function as group commit's work: driven by the sqlite3 connection, on its
    thread. Equal step factories make equal works, which run_reads runs once."""

    steps: StepsFactory[T]

    def __call__(self, conn: sqlite3.Connection) -> T:
        return run_sync(self.steps(), conn)


def _greatest(*values: object) -> object:
    """PostgreSQL's greatest(): the largest value that is not NULL."""
    present = [v for v in values if v is not None]
    return max(present) if present else None  # type: ignore[type-var]


def _least(*values: object) -> object:
    present = [v for v in values if v is not None]
    return min(present) if present else None  # type: ignore[type-var]


class Database:
    """One aiosqlite connection shared by the process.

    aiosqlite runs every call on one thread, so a transaction spanning several awaits
    must not interleave with another coroutine's statements: `transaction()` holds a
    lock for its whole body. `BEGIN IMMEDIATE` takes SQLite's write lock up front, so
    two processes on one file queue on busy_timeout instead of failing mid-transaction.
    `grouped()` writes share transactions with each other, and `grouped_read()` reads
    share a call to the thread (see group_commit).

    WAL checkpoints run in the background, on a connection (and thread) of their own:
    SQLite's automatic checkpoint would run inside the COMMIT that crosses its threshold
    and hold up every answer in that batch (a 20-60 ms COMMIT in about one batch of 15).
    The main connection's automatic checkpoints are off; after a commit, a PASSIVE
    checkpoint starts unless one is running or one started under CHECKPOINT_INTERVAL
    ago. A passive checkpoint never blocks a reader or a writer, and a crash in the
    middle of one loses nothing: the WAL holds every committed page until it is copied.
    A write restarts the WAL from its start only when every frame in it was copied, which
    commits made during a background checkpoint prevent: past WAL_RESTART_FRAMES, the
    checkpoint copies what those commits added while holding the write lock (5-8 ms,
    where the whole copy took 25-50 ms), and the WAL stays bounded under a steady burst.
    """

    dialect = "sqlite"

    def __init__(
        self, conn: aiosqlite.Connection, checkpointer: aiosqlite.Connection | None = None
    ) -> None:
        self.conn = conn
        self._lock = asyncio.Lock()
        self._writes: BatchQueue | None = None
        self._reads: BatchQueue | None = None
        self._checkpointer = checkpointer  # None for an in-memory database (no WAL)
        self._checkpoint: asyncio.Task[None] | None = None
        self._next_checkpoint = 0.0  # loop time before which no checkpoint starts

    @classmethod
    async def open(cls, url: str) -> Database:
        """Open and check the database; DatabaseUnavailable when it is a directory, not
        SQLite, or not writable. A failed open closes its connection: aiosqlite's thread
        would otherwise keep the process alive after the error."""
        path = path_from_url(url)
        if path != ":memory:":
            await asyncio.to_thread(_check_file, path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            # The repository's SQL is shared with PostgreSQL, which has these built in.
            await conn.create_function("greatest", -1, _greatest, deterministic=True)
            await conn.create_function("least", -1, _least, deterministic=True)
            checkpointer = None
            if path != ":memory:":
                await conn.execute("PRAGMA wal_autocheckpoint = 0")
                checkpointer = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            await conn.close()
            raise DatabaseUnavailable(path, str(exc)) from exc
        log.debug("opened database %s", path)
        return cls(conn, checkpointer)

    async def close(self) -> None:
        """Finish the grouped calls already submitted and the running checkpoint, then
        close the connections (the main one last: SQLite checkpoints as it closes)."""
        for queue in (self._reads, self._writes):
            if queue is not None:
                await queue.close()
        checkpointer, self._checkpointer = self._checkpointer, None
        if self._checkpoint is not None:
            await self._checkpoint
        if checkpointer is not None:
            await checkpointer.close()
        await self.conn.close()

    def _committed(self) -> None:
        """After a commit on the main connection: start a background checkpoint when
        none is running and the last one started CHECKPOINT_INTERVAL ago or more."""
        if self._checkpointer is None:
            return
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        now = asyncio.get_running_loop().time()
        if now < self._next_checkpoint:
            return
        self._next_checkpoint = now + CHECKPOINT_INTERVAL
        self._checkpoint = asyncio.create_task(
            self._run_checkpoint(self._checkpointer), name="WAL checkpoint"
        )

    async def _run_checkpoint(self, checkpointer: aiosqlite.Connection) -> None:
        try:
            rows = await checkpointer.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            (_, frames, _), *_ = rows
            if frames >= WAL_RESTART_FRAMES:
                async with self._lock:
                    await checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            # The pages stay in the WAL: the next commit's checkpoint copies them.
            log.warning("background WAL checkpoint failed: %r", exc)

    @property
    def writes(self) -> BatchQueue:
        """The group-commit queue, made on first use (its task starts with its first write)."""
        if self._writes is None:
            self._writes = BatchQueue(self._write_batch, self._lock, "writes")
        return self._writes

    @property
    def reads(self) -> BatchQueue:
        """The batched-read queue, made on first use."""
        if self._reads is None:
            self._reads = BatchQueue(partial(self._on_thread, run_reads), self._lock, "reads")
        return self._reads

    async def _write_batch(self, works: list[Work]) -> Outcomes:
        outcomes = await self._on_thread(run_writes, works)
        self._committed()
        return outcomes

    async def _on_thread(
        self, runner: Callable[[sqlite3.Connection, list[Work]], Outcomes], works: list[Work]
    ) -> Outcomes:
        # aiosqlite offers no public call that runs a function on its thread; _execute
        # is the one its own methods use. One call per batch, not ~5 per write.
        return await self.conn._execute(runner, self.conn._conn, works)

    async def grouped(self, steps: StepsFactory[T]) -> T:
        """Run `steps` on the connection's thread in a transaction shared with other
        concurrent grouped writes; returns once that transaction has committed. A failure
        of its own undoes its writes alone, so `steps` may run twice (see run_writes)."""
        return await self.writes.submit(_OnThread(steps))

    async def grouped_read(self, steps: StepsFactory[T]) -> T:
        """Run the read `steps` on the connection's thread together with other concurrent
        grouped reads: one round trip for all of them (equal factories run once)."""
        return await self.reads.submit(_OnThread(steps))

    async def member_tables(self, conn: Connection) -> list[str]:
        """Every table with a member_id column, from the schema itself."""
        rows = await conn.execute_fetchall(
            """SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
               WHERE m.type = 'table' AND p.name = 'member_id' ORDER BY m.name"""
        )
        return [row[0] for row in rows]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            if self.conn.in_transaction:
                # A caller cancelled while its BEGIN or COMMIT was on aiosqlite's thread
                # (a stopped background task) left it open; nobody else holds the lock.
                # A COMMIT still queued on that thread runs first: then there is nothing
                # left to roll back.
                with contextlib.suppress(sqlite3.OperationalError):
                    await self.conn.execute("ROLLBACK")
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await asyncio.shield(self.conn.execute("ROLLBACK"))
                raise
            await self.conn.execute("COMMIT")
        self._committed()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads wait for any open transaction so they never see half of one; holding
        the lock, a read is also one snapshot (`snapshot` is the same here)."""
        async with self._lock:
            yield self.conn

    snapshot = reading
