"""Applies migrations/NNNN_name.sql in order, one transaction each, recorded in
schema_migrations; refuses a database that a newer version of the code has migrated."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from bot.storage.sqlite import Database

log = logging.getLogger(__name__)

# Shipped inside the package as bot/_migrations: real files in a wheel, a link to the
# top-level migrations/ in a checkout.
MIGRATIONS_DIR = Path(str(resources.files("bot") / "_migrations")).resolve()
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


async def applied_versions(db: Database) -> set[int]:
    await db.conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with db.conn.execute("SELECT version FROM schema_migrations") as cursor:
        return {row[0] async for row in cursor}


async def migrate(db: Database, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Bring the schema up to date; returns the versions applied by this call."""
    migrations = discover(directory)
    known = {m.version for m in migrations}
    unknown = sorted((await applied_versions(db)) - known)
    if unknown:
        raise DatabaseTooNew(
            f"the database has migration {unknown[-1]}, newer than this code knows "
            f"(latest {max(known, default=0)}); upgrade the bot before starting it"
        )
    applied = []
    for migration in migrations:
        async with db.transaction() as conn:
            async with conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ) as cursor:
                if await cursor.fetchone():
                    continue
            for statement in migration.statements():
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
        log.info("applied migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    return applied
