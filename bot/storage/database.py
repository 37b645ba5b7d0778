"""Opening the database DATABASE_URL names: SQLite (the default) or PostgreSQL."""

from __future__ import annotations

from bot.storage.connection import SqlDatabase
from bot.storage.migrate import migrate
from bot.storage.postgres import PgDatabase
from bot.storage.sqlite import POSTGRES_SCHEMES, Database, url_scheme


async def open_database(url: str) -> SqlDatabase:
    """A `postgresql://` URL opens a pool on that server; anything else is SQLite's
    (BadDatabaseUrl for a URL that is neither)."""
    if url_scheme(url) in POSTGRES_SCHEMES:
        return await PgDatabase.open(url)
    return await Database.open(url)


async def migrate_url(url: str) -> list[int]:
    """Open the database, bring it up to date and close it: `python -m bot migrate`."""
    db = await open_database(url)
    try:
        return await migrate_database(db)
    finally:
        await db.close()


async def migrate_database(db: SqlDatabase) -> list[int]:
    """Bring the schema up to date with the migrations of the database's dialect."""
    if isinstance(db, PgDatabase):
        return await db.migrate()
    assert isinstance(db, Database)
    return await migrate(db)
