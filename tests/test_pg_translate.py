"""The repository's SQLite-style SQL as PostgreSQL receives it (bot.storage.postgres)."""

from __future__ import annotations

import pytest

from bot.storage.postgres import PgConnection, _arguments, _rowcount, translate


def test_question_marks_become_numbered_parameters_outside_literals():
    statement = translate("SELECT ? FROM t WHERE a = '?' AND b = ? -- why?\nAND c = \"?\"")
    assert statement.sql == "SELECT $1 FROM t WHERE a = '?' AND b = $2 -- why?\nAND c = \"?\""
    assert (statement.positional, statement.names) == (2, ())


def test_named_parameters_share_one_number_each_and_keep_casts_and_times():
    statement = translate("SELECT :now, x::text, '09:00' WHERE y <= :soon AND z > :now")
    assert statement.sql == "SELECT $1, x::text, '09:00' WHERE y <= $2 AND z > $1"
    assert _arguments(statement, {"soon": 2, "now": 1, "unused": 3}) == [1, 2]


def test_sqlites_temp_schema_is_postgresqls_outside_literals():
    assert translate("DELETE FROM temp.loaded WHERE a = 'temp.x'").sql == (
        "DELETE FROM pg_temp.loaded WHERE a = 'temp.x'"
    )


def test_a_doubled_quote_stays_inside_its_literal():
    assert translate("SELECT 'it''s ?', ?").sql == "SELECT 'it''s ?', $1"


@pytest.mark.parametrize(
    ("sql", "returns"),
    [
        ("SELECT 1", True),
        ("  with x AS (SELECT 1) SELECT * FROM x", True),
        ("UPDATE t SET a = 1 WHERE b = 2\n RETURNING id", True),
        ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", False),
        ("UPDATE t SET returning_soon = 1", False),
    ],
)
def test_statements_that_return_rows_are_fetched(sql, returns):
    assert translate(sql).returns_rows is returns


def test_a_wrong_parameter_count_or_mixed_styles_are_refused():
    with pytest.raises(TypeError):
        _arguments(translate("SELECT ?, ?"), (1,))
    with pytest.raises(TypeError):
        _arguments(translate("SELECT :a"), (1,))
    with pytest.raises(ValueError):
        translate("SELECT ?, :a")


def test_command_status_gives_the_row_count():
    assert [_rowcount(s) for s in ("UPDATE 3", "INSERT 0 1", "DELETE 0", "CREATE TABLE")] == [
        3,
        1,
        0,
        -1,
    ]


async def test_rowcount_and_rows_on_a_real_server(pg_url):
    import asyncpg

    raw = await asyncpg.connect(pg_url)
    try:
        conn = PgConnection(raw)
        await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        await conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "b")])
        assert (
            await conn.execute("UPDATE t SET name = ? WHERE name = ?", ("c", "b"))
        ).rowcount == 2
        returned = await conn.execute("DELETE FROM t WHERE id > :low RETURNING id", {"low": 1})
        assert returned.rowcount == 2
        rows = await conn.execute_fetchall("SELECT id, name FROM t WHERE name = ?", ("a",))
        assert [(r[0], r["name"]) for r in rows] == [(1, "a")]
    finally:
        await raw.close()
