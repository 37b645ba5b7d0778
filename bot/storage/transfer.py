"""`python -m bot migrate-data`: copy a SQLite deployment into a migrated, empty PostgreSQL.

One PostgreSQL transaction does it all, so a failure leaves the target as empty as it
was: every table of the SQLite file except the migration log, parents before children
(the order of their foreign keys), each row converted to the type of its PostgreSQL
column and sent with COPY; then every serial/identity sequence is moved past the
copied ids, and each table's row count is checked against the source's before the
commit. The aggregate tables (score totals, topic stats, the score histogram) are
copied as they are: the target's user triggers are disabled while the rows go in
(ALTER TABLE ... DISABLE TRIGGER USER, which the owner of the tables may do; foreign
keys stay enforced), so no attempt is counted twice. The source is opened read-only;
after the commit the target is ANALYZEd, so its first queries plan on real figures.
"""

from __future__ import annotations

import graphlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bot.core import messages
from bot.storage.postgres import asyncpg_dsn
from bot.storage.sqlite import POSTGRES_SCHEMES, BadDatabaseUrl, path_from_url, url_scheme

log = logging.getLogger(__name__)

MIGRATION_LOG = "schema_migrations"
BATCH = 5000  # rows per COPY


class TransferRefused(Exception):
    """The copy cannot start or did not verify; the message is the one line to print."""


@dataclass(frozen=True)
class CopiedTable:
    name: str
    rows: int


def _timestamp(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _naive_timestamp(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "boolean": bool,
    "smallint": int,
    "integer": int,
    "bigint": int,
    "real": float,
    "double precision": float,
    "text": str,
    "character varying": str,
    "json": str,
    "jsonb": str,
    "bytea": bytes,
    "date": lambda value: date.fromisoformat(value) if isinstance(value, str) else value,
    "timestamp with time zone": _timestamp,
    "timestamp without time zone": _naive_timestamp,
}


def sqlite_source(url: str) -> Path:
    """The file of a sqlite:/// URL; TransferRefused unless it is an existing file."""
    try:
        path = path_from_url(url)
    except BadDatabaseUrl as exc:
        raise TransferRefused(messages.transfer_bad_source(_shown(url))) from exc
    if path == ":memory:" or not Path(path).is_file():
        raise TransferRefused(messages.transfer_missing_source(path))
    return Path(path)


def _shown(url: str) -> str:
    """A URL as an error shows it: by its scheme only when it may hold a password (any
    PostgreSQL URL, any URL with user information)."""
    scheme = url_scheme(url)
    hide = scheme in POSTGRES_SCHEMES or "@" in url.partition("://")[2].partition("/")[0]
    return f"{scheme}://..." if scheme and hide else messages.shown_setting(url)


def postgres_target(url: str) -> str:
    if url_scheme(url) not in POSTGRES_SCHEMES:
        raise TransferRefused(messages.transfer_bad_target(_shown(url)))
    return asyncpg_dsn(url)


def _source_tables(source: sqlite3.Connection) -> list[str]:
    """The source's tables, parents first."""
    names = [
        row[0]
        for row in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        if row[0] != MIGRATION_LOG
    ]
    order: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in sorted(names):
        parents = {row[2] for row in source.execute(f'PRAGMA foreign_key_list("{name}")')}
        order.add(name, *(parents - {name}))
    return [name for name in order.static_order() if name in names]


def _versions_sqlite(source: sqlite3.Connection) -> set[int]:
    try:
        return {row[0] for row in source.execute(f"SELECT version FROM {MIGRATION_LOG}")}
    except sqlite3.OperationalError:
        return set()


async def _versions_postgres(target: asyncpg.Connection) -> set[int] | None:
    if await target.fetchval("SELECT to_regclass($1)", MIGRATION_LOG) is None:
        return None
    return {row[0] for row in await target.fetch(f"SELECT version FROM {MIGRATION_LOG}")}


async def _target_columns(target: asyncpg.Connection) -> dict[str, dict[str, str]]:
    rows = await target.fetch(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = current_schema()"""
    )
    columns: dict[str, dict[str, str]] = {}
    for row in rows:
        columns.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
    return columns


def _batches(
    source: sqlite3.Connection, table: str, columns: list[str], types: list[str]
) -> Iterator[list[tuple[Any, ...]]]:
    converters = [CONVERTERS.get(kind, lambda value: value) for kind in types]
    quoted = ", ".join(f'"{column}"' for column in columns)
    cursor = source.execute(f'SELECT {quoted} FROM "{table}"')
    while rows := cursor.fetchmany(BATCH):
        yield [
            tuple(
                None if value is None else convert(value)
                for convert, value in zip(converters, row, strict=True)
            )
            for row in rows
        ]


async def copy_sqlite_to_postgres(source_url: str, target_url: str) -> list[CopiedTable]:
    """Copy every table; TransferRefused (the target untouched) when it cannot."""
    path = sqlite_source(source_url)
    dsn = postgres_target(target_url)
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as source:
        try:
            tables = _source_tables(source)
        except sqlite3.DatabaseError as exc:
            raise TransferRefused(messages.transfer_unreadable_source(str(path), str(exc))) from exc
        source_versions = _versions_sqlite(source)
        try:
            target = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            raise TransferRefused(messages.transfer_cannot_connect(str(exc))) from exc
        try:
            return await _copy(source, tables, source_versions, target)
        finally:
            await target.close()


async def _copy(
    source: sqlite3.Connection,
    tables: list[str],
    source_versions: set[int],
    target: asyncpg.Connection,
) -> list[CopiedTable]:
    target_versions = await _versions_postgres(target)
    if not target_versions:
        raise TransferRefused(messages.TRANSFER_TARGET_NOT_MIGRATED)
    # PostgreSQL's history starts at 12 (one file for SQLite's 1-12): compare the latest.
    if max(source_versions, default=0) != max(target_versions):
        raise TransferRefused(
            messages.transfer_versions_differ(max(source_versions, default=0), max(target_versions))
        )
    columns = await _target_columns(target)
    for table in tables:
        if table not in columns:
            raise TransferRefused(messages.transfer_missing_table(table))
        missing = [
            row[1]
            for row in source.execute(f'PRAGMA table_info("{table}")')
            if row[1] not in columns[table]
        ]
        if missing:
            raise TransferRefused(messages.transfer_missing_column(table, missing[0]))
    copied = []
    async with target.transaction():
        # The ALTERs lock each table until the commit, so nothing writes between the
        # emptiness check and the copy.
        for table in tables:
            await target.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        for table in sorted(columns):
            if table != MIGRATION_LOG and await target.fetchval(
                f'SELECT EXISTS (SELECT FROM "{table}")'
            ):
                raise TransferRefused(messages.transfer_target_not_empty(table))
        for table in tables:
            names = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
            types = [columns[table][name] for name in names]
            try:
                for batch in _batches(source, table, names, types):
                    await target.copy_records_to_table(table, records=batch, columns=names)
            except (asyncpg.PostgresError, ValueError, TypeError) as exc:
                raise TransferRefused(messages.transfer_failed(table, str(exc))) from exc
            await _reset_sequences(target, table, list(columns[table]))
            expected = source.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            rows = await target.fetchval(f'SELECT count(*) FROM "{table}"')
            if rows != expected:
                raise TransferRefused(messages.transfer_count_differs(table, expected, rows))
            log.info("copied %d rows of %s", rows, table)
            copied.append(CopiedTable(table, rows))
        for table in tables:
            await target.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
    # The planner's statistics of tables filled in one go: without them the first
    # queries (boards, ranks) plan as if the tables were empty until autovacuum runs.
    await target.execute("ANALYZE")
    return copied


async def _reset_sequences(target: asyncpg.Connection, table: str, columns: list[str]) -> None:
    """Move each serial or identity sequence of `table` past its largest copied id."""
    for column in columns:
        sequence = await target.fetchval(
            "SELECT pg_get_serial_sequence($1, $2)", f'"{table}"', column
        )
        if sequence is None:
            continue
        await target.execute(
            f"""SELECT setval($1, coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1,
                              false)""",
            sequence,
        )
