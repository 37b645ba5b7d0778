"""The migration runner: fresh databases, re-runs and databases newer than the code."""

from __future__ import annotations

import shutil

import pytest

from bot.storage.migrate import MIGRATIONS_DIR, DatabaseTooNew, discover, migrate
from bot.storage.sqlite import Database


async def tables(db: Database) -> set[str]:
    async with db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cur:
        return {row[0] async for row in cur}


async def test_a_fresh_database_gets_every_migration(db_url):
    db = await Database.open(db_url)
    try:
        applied = await migrate(db)
        assert applied == [m.version for m in discover()]
        assert {"channels", "drills", "attempts", "score_totals"} <= await tables(db)
        async with db.conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
        async with db.conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
    finally:
        await db.close()


async def test_running_migrations_again_applies_nothing(db_url):
    for expected_new in (True, False):
        db = await Database.open(db_url)
        try:
            assert bool(await migrate(db)) is expected_new
        finally:
            await db.close()


async def test_a_database_newer_than_the_code_is_refused(db_url):
    db = await Database.open(db_url)
    try:
        await migrate(db)
        await db.conn.execute("INSERT INTO schema_migrations VALUES (9999, 'from_the_future', 'x')")
        with pytest.raises(DatabaseTooNew, match="9999"):
            await migrate(db)
    finally:
        await db.close()


async def test_a_failing_migration_leaves_nothing_half_applied(db_url, tmp_path):
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    (directory / "9000_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    db = await Database.open(db_url)
    try:
        with pytest.raises(Exception, match="no_such_table"):
            await migrate(db, directory)
        assert "half_done" not in await tables(db)
        async with db.conn.execute("SELECT max(version) FROM schema_migrations") as cur:
            assert (await cur.fetchone())[0] < 9000
    finally:
        await db.close()


async def test_finding_a_member_by_display_name_searches_the_index(tmp_path):
    """0013: find_member's lower(display_name) lookup searches the index on all three
    columns, not only on the workspace."""
    db = await Database.open(f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        await migrate(db)
        plan = await db.conn.execute_fetchall(
            """EXPLAIN QUERY PLAN SELECT user_id FROM members
               WHERE platform = ? AND workspace_id = ? AND lower(display_name) = lower(?)""",
            ("slack", "T1", "Ann"),
        )
    finally:
        await db.close()
    # All three columns searched: before 0013 the name was filtered row by row.
    searched = "USING INDEX members_by_name (platform=? AND workspace_id=? AND <expr>=?)"
    assert any(searched in row[3] for row in plan), [row[3] for row in plan]
