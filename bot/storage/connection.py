"""What the repository needs from a database, whichever one: SQLite or PostgreSQL.

`SqliteDatabase` (bot.storage.sqlite) and `PgDatabase` (bot.storage.postgres) both give
connections that run the repository's SQL as written, with `?` or `:name` parameters,
and rows that index by position and by column name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from bot.storage.steps import StepsFactory

T = TypeVar("T")


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...


class Connection(Protocol):
    def execute(self, sql: str, parameters: Any = ..., /) -> Awaitable[Cursor]: ...

    def execute_fetchall(self, sql: str, parameters: Any = ..., /) -> Awaitable[Iterable[Any]]: ...

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> Awaitable[Any]: ...


class SqlDatabase(Protocol):
    """One process's access to the database: serialised write transactions, reads that
    never see half of one, and the answer path's grouped calls."""

    dialect: str

    def transaction(self) -> AbstractAsyncContextManager[Connection]: ...

    def reading(self) -> AbstractAsyncContextManager[Connection]: ...

    def snapshot(self) -> AbstractAsyncContextManager[Connection]: ...

    async def grouped(self, steps: StepsFactory[T]) -> T: ...

    async def grouped_read(self, steps: StepsFactory[T]) -> T: ...

    async def member_tables(self, conn: Connection) -> list[str]: ...

    async def close(self) -> None: ...
