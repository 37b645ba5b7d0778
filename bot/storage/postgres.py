"""The PostgreSQL connection: an asyncpg pool behind the same interface as SQLite's.

The repository's SQL is written once, with SQLite's `?` and `:name` parameters; it is
translated here to PostgreSQL's `$n` on first use and cached. Rows are asyncpg Records,
which index by position and by column name as sqlite3.Row does.

One design for both databases: every write transaction takes one transaction-scoped
advisory lock first, PostgreSQL's counterpart of SQLite's `BEGIN IMMEDIATE`. A
transaction that reads, then writes (a claim, a close, a card review) means the same on
both, and no process sees a unique-key error SQLite's single writer would have queued
instead. The exactly-once guarantees themselves are not the lock's: they come, on both,
from the unique keys, `ON CONFLICT` and conditional updates, and the aggregates from the
triggers (migrations/postgres, PL/pgSQL mirrors of SQLite's) in the same transaction.
Reads run statement by statement (READ COMMITTED: a write is seen whole or not at all);
the export, which must be one picture, reads in a REPEATABLE READ snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg

from bot.core.errors import QuizError
from bot.storage.connection import Connection
from bot.storage.group_commit import BatchQueue, Outcomes
from bot.storage.migrate import migrate_postgres
from bot.storage.sqlite import DatabaseUnavailable
from bot.storage.steps import StepsFactory, run_async

log = logging.getLogger(__name__)

T = TypeVar("T")
# Failures that belong to one write (a typed refusal, a constraint): in a batch, only its
# caller fails.
OWN_FAILURES = (QuizError, asyncpg.IntegrityConstraintViolationError)


class _OwnFailure(Exception):
    """A write failed on its own in a batch run without savepoints."""


# Any constant: the key of the advisory lock every write transaction takes.
WRITE_LOCK = 0x64726C77
POOL_SIZE = 8
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMP_SCHEMA = re.compile(r"\btemp\.")
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Translated:
    sql: str
    names: tuple[str, ...]  # the :name parameters in $n order; empty for `?` ones
    positional: int
    returns_rows: bool


def _quoted_end(sql: str, start: int, quote: str) -> int:
    """The index just past the literal or identifier opening at `start` (doubled quotes
    inside it are the quote itself)."""
    at = start + 1
    while True:
        at = sql.index(quote, at) + 1
        if at < len(sql) and sql[at] == quote:
            at += 1
            continue
        return at


@lru_cache(maxsize=2048)
def translate(sql: str) -> _Translated:
    """SQLite-style parameters to `$n`, outside string literals, quoted identifiers and
    comments; `temp.` (SQLite's temporary schema) to `pg_temp.`."""
    out: list[str] = []
    names: list[str] = []
    positional = 0
    at = 0
    code_from = 0

    def code(until: int) -> None:
        out.append(_TEMP_SCHEMA.sub("pg_temp.", sql[code_from:until]))

    while at < len(sql):
        char = sql[at]
        if char in "'\"":
            code(at)
            end = _quoted_end(sql, at, char)
            out.append(sql[at:end])
            at = code_from = end
        elif sql.startswith("--", at):
            code(at)
            end = sql.find("\n", at)
            end = len(sql) if end < 0 else end
            out.append(sql[at:end])
            at = code_from = end
        elif char == "?":
            code(at)
            positional += 1
            out.append(f"${positional}")
            at = code_from = at + 1
        elif char == ":" and sql.startswith("::", at):
            at += 2  # a cast
        elif char == ":" and (name := _IDENTIFIER.match(sql, at + 1)):
            code(at)
            if name.group() not in names:
                names.append(name.group())
            out.append(f"${names.index(name.group()) + 1}")
            at = code_from = name.end()
        else:
            at += 1
    code(len(sql))
    if names and positional:
        raise ValueError("a statement mixes ? and :name parameters")
    text = "".join(out)
    head = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
    returns_rows = head in ("SELECT", "WITH", "VALUES") or bool(_RETURNING.search(text))
    return _Translated(text, tuple(names), positional, returns_rows)


def _arguments(
    statement: _Translated, params: Sequence[Any] | Mapping[str, Any] | None
) -> list[Any]:
    if statement.names:
        if not isinstance(params, Mapping):
            raise TypeError("a statement with :name parameters takes a mapping")
        return [params[name] for name in statement.names]
    values = list(params or ())
    if len(values) != statement.positional:
        raise TypeError(f"{statement.positional} parameters expected, {len(values)} given")
    return values


@dataclass(frozen=True)
class PgCursor:
    """What the repository reads of a statement it executed: how many rows it touched."""

    rowcount: int


def _rowcount(status: str) -> int:
    """asyncpg's command status (`UPDATE 3`, `INSERT 0 1`) to a row count; -1 for none."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgConnection:
    """An asyncpg connection with the calls the repository makes of aiosqlite's."""

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw

    async def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:
        statement = translate(sql)
        args = _arguments(statement, parameters)
        if statement.returns_rows:
            return PgCursor(len(await self.raw.fetch(statement.sql, *args)))
        return PgCursor(_rowcount(await self.raw.execute(statement.sql, *args)))

    async def execute_fetchall(self, sql: str, parameters: Any = (), /) -> list[asyncpg.Record]:
        statement = translate(sql)
        return await self.raw.fetch(statement.sql, *_arguments(statement, parameters))

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> None:
        statement = translate(sql)
        rows = [_arguments(statement, list(row)) for row in parameters]
        if rows:
            await self.raw.executemany(statement.sql, rows)


def blocking(url: str, work: Callable[[asyncpg.Connection], Awaitable[T]], **settings: str) -> T:
    """Run `work` on a connection of its own, on a thread with its own event loop, and
    wait: for synchronous callers (the questions CLI, a test reading the database) that
    may themselves be running inside an event loop. `settings` are the session's."""

    async def run() -> T:
        conn = await asyncpg.connect(asyncpg_dsn(url), server_settings=settings or None)
        try:
            return await work(conn)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result()


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://...` (SQLAlchemy's spelling) to the `postgresql://...`
    libpq and asyncpg read."""
    _, _, rest = url.partition("://")
    return f"postgresql://{rest}"


class PgDatabase:
    """A pool of asyncpg connections shared by the process."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._writes: BatchQueue | None = None

    @classmethod
    async def open(cls, url: str, *, pool_size: int = POOL_SIZE) -> PgDatabase:
        """Connect; DatabaseUnavailable (naming the host, never the password) when the
        server cannot be reached or refuses the login."""
        try:
            pool = await asyncpg.create_pool(
                asyncpg_dsn(url), min_size=1, max_size=pool_size, command_timeout=60
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(where(url), str(exc) or type(exc).__name__) from exc
        log.debug("opened PostgreSQL pool to %s", where(url))
        return cls(pool)

    async def close(self) -> None:
        """Finish the grouped writes already submitted, then close the pool."""
        if self._writes is not None:
            await self._writes.close()
        await self.pool.close()

    async def migrate(self) -> list[int]:
        async with self.pool.acquire() as raw:
            return await migrate_postgres(raw)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConnection]:
        async with self.pool.acquire() as raw, raw.transaction():
            await raw.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            yield PgConnection(raw)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PgConnection]:
        """Each statement sees every write committed before it (READ COMMITTED), and a
        write always commits whole; with no BEGIN and COMMIT, a read costs its own round
        trips only. Two statements of one read may see a write between them (a board and
        the caller's rank one answer apart): `snapshot()` is for reads that must not."""
        async with self.pool.acquire() as raw:
            yield PgConnection(raw)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[PgConnection]:
        """Every statement sees the same committed state (a read-only REPEATABLE READ
        transaction): for a read that must be one picture, as an export."""
        async with (
            self.pool.acquire() as raw,
            raw.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield PgConnection(raw)

    async def grouped(self, steps: StepsFactory[T]) -> T:
        """The answer path's writes share transactions, as on SQLite (group commit): one
        advisory lock, one COMMIT and one WAL flush per batch, not per answer. Returns
        once the batch committed; a failure of its own undoes its writes alone."""
        return await self.writes.submit(steps)

    @property
    def writes(self) -> BatchQueue:
        """The group-commit queue, made on first use (its task starts with its first write)."""
        if self._writes is None:
            self._writes = BatchQueue(self._run_writes, asyncio.Lock(), "PostgreSQL writes")
        return self._writes

    async def _run_writes(self, works: list[StepsFactory[Any]]) -> Outcomes:
        """The batch without savepoints first; should one write fail on its own, all of
        it again with a savepoint per write (see group_commit.run_writes)."""
        try:
            return await self._batch(works, savepoints=False)
        except _OwnFailure:
            return await self._batch(works, savepoints=True)

    async def _batch(self, works: list[StepsFactory[Any]], *, savepoints: bool) -> Outcomes:
        outcomes: Outcomes = []
        async with self.transaction() as conn:
            for work in works:
                if not savepoints:
                    try:
                        outcomes.append((True, await run_async(work(), conn)))
                    except OWN_FAILURES as exc:
                        raise _OwnFailure from exc  # rolls the transaction back
                    continue
                try:
                    async with conn.raw.transaction():  # a savepoint
                        value = await run_async(work(), conn)
                except OWN_FAILURES as exc:
                    outcomes.append((False, exc))
                else:
                    outcomes.append((True, value))
        return outcomes

    async def grouped_read(self, steps: StepsFactory[T]) -> T:
        """The answer path's read; PostgreSQL reads from many connections at once, so
        there is no batch to share."""
        async with self.reading() as conn:
            return await run_async(steps(), conn)

    async def member_tables(self, conn: Connection) -> list[str]:
        """Every table with a member_id column, from the schema itself."""
        rows = await conn.execute_fetchall(
            """SELECT table_name FROM information_schema.columns
               WHERE table_schema = current_schema() AND column_name = 'member_id'
               ORDER BY table_name"""
        )
        return [row[0] for row in rows]


def where(url: str) -> str:
    """host:port/database of a URL, for messages: no user, no password."""
    _, _, rest = url.partition("://")
    return rest.rpartition("@")[2].split("?")[0]
