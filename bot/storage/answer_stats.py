"""Read-only answer counts per question, for `python -m bot questions flags`.

The database is opened read-only (SQLite's `mode=ro`): reviewing the bank never creates a
database, migrates one, or takes the bot's write lock. The answers counted are each
member's first look at a question: daily-drill attempts once counted (an open
reveal:at_close drill's answers wait for its close, as every aggregate does) and practice
answers to new questions; a practice review of a question the member already saw (its
FSRS card was due) would make every question look easier than it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.core.flags import Tally
from bot.core.models import AnswerCount, Verdict
from bot.storage.sqlite import DatabaseUnavailable, path_from_url

REPORTS_TABLE = "question_reports"


class AnswerStats:
    """Queries over one open read-only connection; see `open_stats`."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.tables = {
            row[0] for row in self._rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        }

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """All rows of one query; a database that cannot answer it (not SQLite, locked, an
        older schema) is DatabaseUnavailable."""
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(self.path, str(exc)) from exc

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
            f"""SELECT question_id, count(*), sum(verdict = 'good')
                FROM ({self._answers()}) GROUP BY question_id"""
        )
        return {qid: Tally(qid, answers, correct) for qid, answers, correct in rows}

    def answer_counts(self, question_ids: Sequence[str]) -> dict[str, tuple[AnswerCount, ...]]:
        """Per question, how many answers share each normalised answer and verdict: for
        lettered kinds the normalised answer is the letters picked."""
        if not self.has_answers or not question_ids:
            return {}
        # The ids go in a temporary table (the read-only file is untouched): a query
        # parameter per id would hit SQLite's limit on a large bank.
        self._rows("CREATE TEMP TABLE IF NOT EXISTS wanted (id TEXT PRIMARY KEY)")
        self._rows("DELETE FROM temp.wanted")
        self.conn.executemany(
            "INSERT OR IGNORE INTO temp.wanted VALUES (?)", [(q,) for q in question_ids]
        )
        rows = self._rows(
            f"""SELECT a.question_id, a.normalized, a.verdict, count(*)
                FROM ({self._answers()}) AS a JOIN temp.wanted w ON w.id = a.question_id
                GROUP BY a.question_id, a.normalized, a.verdict
                ORDER BY a.question_id, a.normalized, a.verdict"""
        )
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


@contextmanager
def open_stats(url: str) -> Iterator[AnswerStats]:
    """The database at DATABASE_URL `url`, read-only. BadDatabaseUrl for a URL this build
    cannot open; DatabaseUnavailable when the file is missing or is not SQLite."""
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
    try:
        yield AnswerStats(conn, path)
    finally:
        conn.close()
