"""Statements as steps: one function body for both the sync and the async drivers.

The answer path's writes run inside SQLite's group commit, on aiosqlite's thread, where
nothing can be awaited; on PostgreSQL the same writes run on an asyncpg connection,
where everything is. A generator that yields each `Query` and receives its rows is
driven by either (`run_sync`, `run_async`), so the logic is written once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bot.storage.connection import Connection

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any]


@dataclass(frozen=True)
class Query:
    sql: str
    params: Params = ()


# A step function yields queries and receives each one's rows (a list, maybe empty).
Steps = Generator[Query, list[Any], T]
StepsFactory = Callable[[], Steps[T]]


def first(rows: list[Any]) -> Any:
    """The first row, or None: `fetchone()` for rows already fetched."""
    return rows[0] if rows else None


def run_sync(steps: Steps[T], conn: sqlite3.Connection) -> T:
    try:
        query = next(steps)
        while True:
            query = steps.send(conn.execute(query.sql, query.params).fetchall())
    except StopIteration as done:
        return done.value


async def run_async(steps: Steps[T], conn: Connection) -> T:
    try:
        query = next(steps)
        while True:
            query = steps.send(list(await conn.execute_fetchall(query.sql, query.params)))
    except StopIteration as done:
        return done.value
