"""Applies migrations/NNNN_name.sql in order, one transaction each, recorded in
schema_migrations; refuses a database that a newer version of the code has migrated.

One runner, two dialects: SQLite reads migrations/*.sql (split into statements and run on
the aiosqlite connection), PostgreSQL reads migrations/postgres/*.sql (each file sent
whole, PL/pgSQL bodies included, on one asyncpg connection). PostgreSQL starts at version
12 (its 0012_init.sql is SQLite's 0001-0012); from 0013 on a migration exists in both
directories under the same number."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bot.storage.sqlite import Database

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

# Shipped inside the package as bot/_migrations: real files in a wheel, a link to the
# top-level migrations/ in a checkout.
MIGRATIONS_DIR = Path(str(resources.files("bot") / "_migrations")).resolve()
POSTGRES_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgres"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class DatabaseTooNew(RuntimeError):
    """The database has migrations this code does not know: run a newer release."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def statements(self) -> list[str]:
        """Split the script into statements (trigger bodies stay whole)."""
        statements, pending = [], ""
        for line in self.path.read_text(encoding="utf-8").splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                if pending.strip():
                    statements.append(pending.strip())
                pending = ""
        if pending.strip() and not all(
            part.strip().startswith("--") for part in pending.strip().splitlines()
        ):
            raise ValueError(f"{self.path.name}: unterminated statement at the end")
        return statements


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: migration files are named NNNN_name.sql")
        migrations.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {directory}")
    return migrations


# The same in both dialects.
_VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


async def applied_versions(db: Database) -> set[int]:
    await db.conn.execute(_VERSIONS_TABLE)
    async with db.conn.execute("SELECT version FROM schema_migrations") as cursor:
        return {row[0] async for row in cursor}


async def _run(
    migrations: list[Migration],
    applied_now: set[int],
    apply: Callable[[Migration], Awaitable[bool]],
) -> list[int]:
    """The runner both dialects share: refuse a newer database, then apply each missing
    migration in order through `apply` (one transaction; False when another process
    applied it first)."""
    known = {m.version for m in migrations}
    unknown = sorted(applied_now - known)
    if unknown:
        raise DatabaseTooNew(
            f"the database has migration {unknown[-1]}, newer than this code knows "
            f"(latest {max(known, default=0)}); upgrade the bot before starting it"
        )
    applied = []
    for migration in migrations:
        if migration.version in applied_now or not await apply(migration):
            continue
        log.info("applied migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    return applied


async def migrate(db: Database, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Bring the SQLite schema up to date; returns the versions applied by this call."""

    async def apply(migration: Migration) -> bool:
        async with db.transaction() as conn:
            async with conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ) as cursor:
                if await cursor.fetchone():
                    return False
            for statement in migration.statements():
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
        return True

    return await _run(discover(directory), await applied_versions(db), apply)


# Any constant: every process migrating one PostgreSQL database queues on this lock.
_PG_MIGRATION_LOCK = 0x64726C6C


async def migrate_postgres(
    conn: asyncpg.Connection, directory: Path = POSTGRES_MIGRATIONS_DIR
) -> list[int]:
    """Bring the PostgreSQL schema up to date; returns the versions applied by this call.
    An advisory lock makes processes starting together migrate one after the other."""
    await conn.execute(_VERSIONS_TABLE)

    async def apply(migration: Migration) -> bool:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _PG_MIGRATION_LOCK)
            if await conn.fetchval(
                "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
            ):
                return False
            await conn.execute(migration.path.read_text(encoding="utf-8"))
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                datetime.now(UTC).isoformat(),
            )
        return True

    rows = await conn.fetch("SELECT version FROM schema_migrations")
    return await _run(discover(directory), {row["version"] for row in rows}, apply)
