"""The PostgreSQL migrations: the same runner and guarantees as SQLite, the same schema,
and the aggregate triggers doing what SQLite's do."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.storage.migrate import (
    POSTGRES_MIGRATIONS_DIR,
    DatabaseTooNew,
    discover,
    migrate,
    migrate_postgres,
)
from bot.storage.sqlite import Database

NOW = "2025-01-15T08:00:00+00:00"


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pg_url)
    yield conn
    await conn.close()


async def test_a_fresh_postgres_database_gets_every_migration_once(pg):
    assert await migrate_postgres(pg) == [m.version for m in discover(POSTGRES_MIGRATIONS_DIR)]
    assert await migrate_postgres(pg) == []


async def test_a_postgres_database_newer_than_the_code_is_refused(pg):
    await migrate_postgres(pg)
    await pg.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', $1)",
        NOW,
    )
    with pytest.raises(DatabaseTooNew, match="9999"):
        await migrate_postgres(pg)


async def test_a_failing_postgres_migration_leaves_nothing_half_applied(pg, tmp_path: Path):
    directory = tmp_path / "migrations"
    shutil.copytree(POSTGRES_MIGRATIONS_DIR, directory)
    (directory / "0099_broken.sql").write_text(
        "CREATE TABLE half_done (id integer);\nSELECT no_such_function();\n"
    )
    with pytest.raises(asyncpg.UndefinedFunctionError):
        await migrate_postgres(pg, directory)
    assert await pg.fetchval("SELECT to_regclass('half_done')") is None
    latest = max(m.version for m in discover(POSTGRES_MIGRATIONS_DIR))
    assert await pg.fetchval("SELECT max(version) FROM schema_migrations") == latest


async def test_postgres_and_sqlite_have_the_same_tables_and_columns(pg, db_url):
    await migrate_postgres(pg)
    rows = await pg.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public'"
    )
    on_postgres = {(row["table_name"], row["column_name"]) for row in rows}
    db = await Database.open(db_url)
    try:
        await migrate(db)
        on_sqlite = set()
        async with db.conn.execute(
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p"
            " WHERE m.type = 'table'"
        ) as cursor:
            on_sqlite = {(row[0], row[1]) async for row in cursor}
    finally:
        await db.close()
    assert on_postgres == on_sqlite


async def _attempt(pg: asyncpg.Connection, member: int, drill: int, verdict: str, points: int):
    return await pg.fetchval(
        "INSERT INTO attempts (member_id, drill_id, question_id, topic, answer, normalized,"
        " verdict, score, points, answered_at, latency_ms, week_key, month_key)"
        " VALUES ($1, $2, 'q1', 'stats', 'a', 'a', $3, 1.0, $4, $5, 10, '2025-W03', '2025-01')"
        " RETURNING id",
        member,
        drill,
        verdict,
        points,
        NOW,
    )


async def test_postgres_triggers_keep_totals_and_histogram_with_the_attempts(pg):
    await migrate_postgres(pg)
    await pg.execute(
        "INSERT INTO channels (platform, workspace_id, channel_id, created_at, updated_at)"
        " VALUES ('discord', 'g', 'c', $1, $1);"
        "INSERT INTO questions (id, pack, topic, kind, difficulty, content_hash, updated_at)"
        " VALUES ('q1', 'p', 'stats', 'mcq', 'easy', 'h', $1);".replace("$1", f"'{NOW}'")
    )
    members = [
        await pg.fetchval(
            "INSERT INTO members (platform, workspace_id, user_id, created_at)"
            " VALUES ('discord', 'g', $1, $2) RETURNING id",
            user,
            NOW,
        )
        for user in ("u1", "u2")
    ]
    drills = [
        await pg.fetchval(
            "INSERT INTO drills (channel_id, local_date, question_id, state, opened_at,"
            " updated_at) SELECT id, $1, 'q1', 'closed', $2, $2 FROM channels RETURNING id",
            day,
            NOW,
        )
        for day in ("2025-01-14", "2025-01-15")
    ]
    await _attempt(pg, members[0], drills[0], "good", 10)
    await _attempt(pg, members[1], drills[0], "good", 10)
    second = await _attempt(pg, members[0], drills[1], "wrong", 0)
    await pg.execute("UPDATE attempts SET verdict = 'good', points = 7 WHERE id = $1", second)

    totals = await pg.fetch(
        "SELECT member_id, period, points, answered, correct FROM score_totals"
        " WHERE period = 'all' ORDER BY member_id"
    )
    assert [tuple(row) for row in totals] == [
        (members[0], "all", 17, 2, 2),
        (members[1], "all", 10, 1, 1),
    ]
    histogram = await pg.fetch(
        "SELECT points, members FROM score_histogram WHERE period = 'all' ORDER BY points"
    )
    assert [tuple(row) for row in histogram] == [(10, 1), (17, 1)]

    await pg.execute("DELETE FROM attempts WHERE member_id = $1", members[1])
    assert (
        await pg.fetchval("SELECT count(*) FROM score_totals WHERE member_id = $1", members[1]) == 0
    )
    histogram = await pg.fetch(
        "SELECT points, members FROM score_histogram WHERE period = 'all' ORDER BY points"
    )
    assert [tuple(row) for row in histogram] == [(17, 1)]
    stats = await pg.fetchrow(
        "SELECT answered, correct FROM topic_stats WHERE member_id = $1", members[0]
    )
    assert tuple(stats) == (2, 2)
