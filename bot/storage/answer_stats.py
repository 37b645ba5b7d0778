"""Read-only answer counts per question, for `python -m bot questions flags`.

The database is opened read-only (SQLite's `mode=ro`; on PostgreSQL, sessions whose
transactions are read-only): reviewing the bank never creates a database, migrates one,
or takes the bot's write lock. The answers counted are each
member's first look at a question: daily-drill attempts once counted (an open
reveal:at_close drill's answers wait for its close, as every aggregate does) and practice
answers to new questions; a practice review of a question the member already saw (its
FSRS card was due) would make every question look easier than it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg

from bot.core.flags import Tally
from bot.core.models import AnswerCount, Verdict
from bot.storage.postgres import blocking, translate, where
from bot.storage.sqlite import POSTGRES_SCHEMES, DatabaseUnavailable, path_from_url, url_scheme

REPORTS_TABLE = "question_reports"


Rows = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


class AnswerStats:
    """Queries over one read-only database; see `open_stats`. `rows` runs one query (a
    database that cannot answer it is DatabaseUnavailable); `conn` is SQLite's, None on
    PostgreSQL."""

    def __init__(self, rows: Rows, tables_sql: str, conn: sqlite3.Connection | None = None) -> None:
        self._query = rows
        self.conn = conn
        self.tables = {row[0] for row in self._rows(tables_sql)}

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self._query(sql, params)

    @property
    def has_answers(self) -> bool:
        """False for a database that was never migrated (no attempts table)."""
        return "attempts" in self.tables

    def _answers(self) -> str:
        """Every counted answer as (question_id, normalized, verdict)."""
        drills = "SELECT question_id, normalized, verdict FROM attempts WHERE counted = 1"
        if "practice_items" not in self.tables:
            return drills
        return f"""{drills} UNION ALL
            SELECT question_id, normalized, verdict FROM practice_items
            WHERE answered_at IS NOT NULL AND review = 0"""

    def tallies(self) -> dict[str, Tally]:
        """Answers and correct answers per question id."""
        if not self.has_answers:
            return {}
        rows = self._rows(
            f"""SELECT question_id, count(*), sum(CASE WHEN verdict = 'good' THEN 1 ELSE 0 END)
                FROM ({self._answers()}) AS a GROUP BY question_id"""
        )
        return {qid: Tally(qid, answers, correct) for qid, answers, correct in rows}

    def answer_counts(self, question_ids: Sequence[str]) -> dict[str, tuple[AnswerCount, ...]]:
        """Per question, how many answers share each normalised answer and verdict: for
        lettered kinds the normalised answer is the letters picked."""
        if not self.has_answers or not question_ids:
            return {}
        grouped = f"""SELECT a.question_id, a.normalized, a.verdict, count(*)
                      FROM ({self._answers()}) AS a JOIN {{wanted}} ON w.id = a.question_id
                      GROUP BY a.question_id, a.normalized, a.verdict
                      ORDER BY a.question_id, a.normalized, a.verdict"""
        if self.conn is None:  # PostgreSQL takes the ids as one array parameter
            rows = self._rows(grouped.format(wanted="unnest(?::text[]) AS w (id)"), [question_ids])
        else:
            # The ids go in a temporary table (the read-only file is untouched): a query
            # parameter per id would hit SQLite's limit on a large bank.
            self._rows("CREATE TEMP TABLE IF NOT EXISTS wanted (id TEXT PRIMARY KEY)")
            self._rows("DELETE FROM temp.wanted")
            self.conn.executemany(
                "INSERT OR IGNORE INTO temp.wanted VALUES (?)", [(q,) for q in question_ids]
            )
            rows = self._rows(grouped.format(wanted="temp.wanted w"))
        counts: dict[str, list[AnswerCount]] = {}
        for qid, normalized, verdict, count in rows:
            counts.setdefault(qid, []).append(AnswerCount(normalized, Verdict(verdict), count))
        return {qid: tuple(rows) for qid, rows in counts.items()}

    def open_reports(self) -> dict[str, dict[str, int]] | None:
        """Open reports per question and reason; None when the database has no reports
        table (it comes with a later migration)."""
        if REPORTS_TABLE not in self.tables:
            return None
        rows = self._rows(
            f"""SELECT question_id, reason, count(*) FROM {REPORTS_TABLE}
                WHERE state = 'open' GROUP BY question_id, reason"""
        )
        reports: dict[str, dict[str, int]] = {}
        for qid, reason, count in rows:
            reports.setdefault(qid, {})[reason] = count
        return reports


_SQLITE_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
_PG_TABLES = """SELECT table_name FROM information_schema.tables
                WHERE table_schema = current_schema()"""


def _pg_rows(url: str) -> Rows:
    """One read-only session per query (the CLI is synchronous: see postgres.blocking)."""

    def rows(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        async def fetch(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in await conn.fetch(translate(sql).sql, *params)]

        try:
            return blocking(url, fetch, default_transaction_read_only="on")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(where(url), str(exc) or type(exc).__name__) from exc

    return rows


@contextmanager
def open_stats(url: str) -> Iterator[AnswerStats]:
    """The database at DATABASE_URL `url`, read-only. BadDatabaseUrl for a URL this build
    cannot open; DatabaseUnavailable when the file is missing or is not SQLite, or the
    PostgreSQL server cannot be reached."""
    if url_scheme(url) in POSTGRES_SCHEMES:
        yield AnswerStats(_pg_rows(url), _PG_TABLES)
        return
    path = path_from_url(url)
    if path == ":memory:":
        raise DatabaseUnavailable(path, "an in-memory database holds no answers")
    if not Path(path).is_file():
        reason = "is a directory" if Path(path).is_dir() else "no such file"
        raise DatabaseUnavailable(path, reason)
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(path, str(exc)) from exc

    def rows(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:  # not SQLite, locked, an older schema
            raise DatabaseUnavailable(path, str(exc)) from exc

    try:
        yield AnswerStats(rows, _SQLITE_TABLES, conn)
    finally:
        conn.close()
