"""The test PostgreSQL server itself: started by the fixture, one fresh database per test."""

from __future__ import annotations

import asyncpg

from bot.storage.migrate import POSTGRES_MIGRATIONS_DIR, discover
from tests.pg import PgServer


async def test_each_test_gets_its_own_empty_database(pg_server: PgServer, pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        await conn.execute("CREATE TABLE probe (id integer PRIMARY KEY)")
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    assert tables == 0
    assert version.startswith("15")
    assert pg_url.startswith(f"postgresql://drill@127.0.0.1:{pg_server.port}/drill_")


async def test_a_migrated_database_is_copied_from_the_template(pg_migrated_url: str) -> None:
    conn = await asyncpg.connect(pg_migrated_url)
    try:
        versions = await conn.fetchval("SELECT array_agg(version) FROM schema_migrations")
        attempts = await conn.fetchval("SELECT count(*) FROM attempts")
    finally:
        await conn.close()
    assert versions == [m.version for m in discover(POSTGRES_MIGRATIONS_DIR)]
    assert attempts == 0
