"""Reading and writing a test's database from outside the bot, on either backend.

Tests that check what is stored (every row of every table, a trigger's effect) look at
the database directly, as an operator would. These calls block: on PostgreSQL each runs
on a thread with its own event loop, so a test's loop is never re-entered.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import asyncpg

from bot.storage.postgres import blocking, translate
from bot.storage.sqlite import POSTGRES_SCHEMES, path_from_url, url_scheme


def is_postgres(url: str) -> bool:
    return url_scheme(url) in POSTGRES_SCHEMES


def sql(url: str, query: str, *args: object) -> list[tuple]:
    """The rows of one statement with `?` parameters, as tuples."""
    if is_postgres(url):

        async def fetch(conn: asyncpg.Connection) -> list[tuple]:
            return [tuple(r) for r in await conn.fetch(translate(query).sql, *args)]

        return blocking(url, fetch)
    with closing(sqlite3.connect(path_from_url(url))) as conn, conn:
        return conn.execute(query, args).fetchall()


def script(url: str, text: str) -> None:
    """Several statements without parameters, in one transaction."""
    if is_postgres(url):

        async def run(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute(text)

        blocking(url, run)
        return
    with closing(sqlite3.connect(path_from_url(url))) as conn:
        conn.executescript(f"BEGIN; {text}; COMMIT;")


def tables(url: str) -> list[str]:
    """The database's own tables (the migrations' bookkeeping included)."""
    if is_postgres(url):
        query = """SELECT table_name FROM information_schema.tables
                   WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"""
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return sorted(row[0] for row in sql(url, query))


def tables_with(url: str, column: str) -> list[str]:
    """The tables that have `column`, from the schema itself."""
    if is_postgres(url):
        query = """SELECT table_name FROM information_schema.columns
                   WHERE table_schema = current_schema() AND column_name = ?"""
    else:
        query = """SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
                   WHERE m.type = 'table' AND p.name = ?"""
    return sorted(row[0] for row in sql(url, query, column))
