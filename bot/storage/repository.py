"""SqlRepository: the core's Repository port, one SQL for SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, cast, overload

from bot.core.errors import DrillClosed, GroupExists, NotSetUp, UnknownGroup
from bot.core.models import (
    AnswerCount,
    AnsweredPractice,
    Attempt,
    AttemptRecord,
    AttemptRow,
    BoardEntry,
    BoardPage,
    CardsDue,
    ChannelRef,
    ChannelSchedule,
    ChannelSettings,
    Drill,
    DrillAndSettings,
    DrillState,
    ExtraRows,
    Forgotten,
    Grade,
    Group,
    GroupMembership,
    GroupStanding,
    LowBank,
    MemberData,
    MemberGrade,
    MemberRef,
    MemberTotals,
    OutboxItem,
    OutboxKind,
    OutboxState,
    Period,
    PostClaim,
    PracticeItem,
    PracticeSession,
    PracticeState,
    Question,
    QuestionReport,
    Rank,
    Regrade,
    ReportFiled,
    ReportReason,
    ReportState,
    RevealMode,
    ReviewedCard,
    ScoreTotal,
    StartedPractice,
    StoredAttempt,
    Streak,
    StreakRecord,
    StudyPlan,
    TopicStat,
    Verdict,
)
from bot.core.ports import CardReview
from bot.core.review import PracticePick
from bot.core.scoring import FREEZE_EVERY, MAX_FREEZES, period_key
from bot.storage.connection import Connection, SqlDatabase
from bot.storage.steps import Params, Query, Steps, first

log = logging.getLogger(__name__)

# A row of either database: Row or asyncpg.Record, by position or column name.
Row = Any


_LIVE = "('pending', 'posting', 'open')"
_DRILL_COLUMNS = """
    d.id, c.platform, c.workspace_id, c.channel_id AS channel, d.local_date, d.question_id,
    d.state, d.opened_at, d.closes_at, d.closed_at, d.message_id
"""
# The channel's drills that went out between the member's last answered day and :day.
_MISSED = """
    (SELECT count(*) FROM drills
     WHERE drills.channel_id = streaks.channel_id AND drills.local_date > streaks.last_date
       AND drills.local_date < :day AND drills.state IN ('open', 'closed'))
"""
# The streak after answering the drill of :day: unchanged for a repeat of the same day, one
# more when every missed drill day since the last answer is covered by a freeze (none
# missed is the plain case), else a fresh start.
_NEXT_STREAK = f"""
    CASE
        WHEN streaks.last_date = :day THEN streaks.current
        WHEN streaks.last_date < :day AND {_MISSED} <= streaks.freezes THEN streaks.current + 1
        ELSE 1
    END
"""
# Freezes after that answer: the missed days use theirs, and reaching a multiple of
# FREEZE_EVERY earns one.
_NEXT_FREEZES = f"""
    least({MAX_FREEZES}, CASE
        WHEN streaks.last_date = :day THEN streaks.freezes
        WHEN streaks.last_date < :day THEN
            greatest(streaks.freezes - {_MISSED}, 0)
            + (CASE WHEN {_MISSED} <= streaks.freezes
                         AND (streaks.current + 1) % {FREEZE_EVERY} = 0
                    THEN 1 ELSE 0 END)
        ELSE streaks.freezes
    END)
"""


@overload
def _ts(value: datetime) -> str: ...
@overload
def _ts(value: None) -> None: ...
@overload
def _ts(value: datetime | None) -> str | None: ...
def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@overload
def _utc(value: datetime) -> str: ...
@overload
def _utc(value: None) -> None: ...
@overload
def _utc(value: datetime | None) -> str | None: ...
def _utc(value: datetime | None) -> str | None:
    """Instants that are compared as text (due times) are stored in UTC."""
    return value.astimezone(UTC).isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _drill(row: Row) -> Drill:
    return Drill(
        id=row["id"],
        channel=ChannelRef(row["platform"], row["workspace_id"], row["channel"]),
        local_date=date.fromisoformat(row["local_date"]),
        question_id=row["question_id"],
        state=DrillState(row["state"]),
        opened_at=datetime.fromisoformat(row["opened_at"]),
        closes_at=_dt(row["closes_at"]),
        closed_at=_dt(row["closed_at"]),
        message_id=row["message_id"],
    )


# An update that would make a drill live leaves it alone while another drill of its
# channel is (drills_one_live would refuse it).
_NO_OTHER_LIVE = """NOT EXISTS (SELECT 1 FROM drills live WHERE live.channel_id = drills.channel_id
                   AND live.state IN ('posting', 'open') AND live.id != drills.id)"""
_OUTBOX_COLUMNS = """
    o.id, o.key, o.kind, c.platform, c.workspace_id, c.channel_id AS channel, o.state,
    o.attempts, o.next_attempt_at, o.created_at, o.drill_id, o.week_key, o.detail,
    o.unsure, o.claimed_at, o.failing_since, o.last_error, o.message_id, o.done_at,
    (SELECT m.user_id FROM members m WHERE m.id = o.member_id) AS member_user_id
"""
# Rows that may be handed to a sender now: pending and due, or left 'sending' by a sender
# that stopped (claimed before :stale). Only the first undelivered row of its channel.
_CLAIMABLE = """
    ((o.state = 'pending' AND o.next_attempt_at <= :now)
     OR (o.state = 'sending' AND o.claimed_at <= :stale))
"""
_HEAD_OF_CHANNEL = """
    NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel_id = o.channel_id
                AND p.state IN ('pending', 'sending') AND p.id < o.id)
"""


def _outbox(row: Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        key=row["key"],
        effect=OutboxKind(row["kind"]),
        channel=ChannelRef(row["platform"], row["workspace_id"], row["channel"]),
        state=OutboxState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=datetime.fromisoformat(row["next_attempt_at"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        drill_id=row["drill_id"],
        week_key=row["week_key"],
        detail=row["detail"],
        unsure=bool(row["unsure"]),
        claimed_at=_dt(row["claimed_at"]),
        failing_since=_dt(row["failing_since"]),
        last_error=row["last_error"],
        message_id=row["message_id"],
        done_at=_dt(row["done_at"]),
        member_user_id=row["member_user_id"],
    )


def post_key(drill_id: int) -> str:
    return f"post:{drill_id}"


def notice_key(channel_pk: int, low: LowBank) -> str:
    return f"notice:low-bank:{channel_pk}:{low.scope}"


# The channel columns _settings reads beside _DRILL_COLUMNS (whose names they must not
# repeat: a PostgreSQL row's name lookup takes the last of two equal names).
_SETTINGS_COLUMNS = """
    c.channel_id, c.post_time, c.close_time, c.timezone, c.topics, c.reveal, c.days, c.paused,
    c.skip_date, c.admin_user_id, c.plan, c.plan_start
"""


def _settings(row: Row) -> ChannelSettings:
    return ChannelSettings(
        channel=ChannelRef(row["platform"], row["workspace_id"], row["channel_id"]),
        post_time=row["post_time"],
        close_time=row["close_time"],
        timezone=row["timezone"],
        topics=tuple(t for t in row["topics"].split(",") if t),
        reveal=RevealMode(row["reveal"]),
        days=tuple(int(d) for d in row["days"].split(",") if d),
        paused=bool(row["paused"]),
        skip_date=date.fromisoformat(row["skip_date"]) if row["skip_date"] else None,
        admin_user_id=row["admin_user_id"],
        plan=StudyPlan(row["plan"]),
        plan_start=date.fromisoformat(row["plan_start"]) if row["plan_start"] else None,
    )


_UPSERT_MEMBER = """
    INSERT INTO members (platform, workspace_id, user_id, display_name, created_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (platform, workspace_id, user_id) DO UPDATE SET
        display_name = CASE WHEN excluded.display_name != ''
                            THEN excluded.display_name ELSE members.display_name END
    RETURNING id
"""


def _member_params(member: MemberRef, now: str) -> tuple[str, str, str, str, str]:
    return (member.platform, member.workspace_id, member.user_id, member.display_name, now)


@dataclass(frozen=True)
class _DrillWithSettings:
    """drill_with_settings' read; equal ones asked together run once (see run_reads)."""

    drill_id: int

    def __call__(self) -> Steps[DrillAndSettings | None]:
        row = first(
            (
                yield Query(
                    f"""SELECT {_DRILL_COLUMNS}, {_SETTINGS_COLUMNS}
                        FROM drills d JOIN channels c ON c.id = d.channel_id WHERE d.id = ?""",
                    (self.drill_id,),
                )
            )
        )
        return DrillAndSettings(_drill(row), _settings(row)) if row else None


def _stored_attempt(attempt: Attempt, row: Row) -> Attempt:
    grade = Grade(Verdict(row["verdict"]), row["score"], row["normalized"])
    return Attempt(
        member=attempt.member,
        question_id=attempt.question_id,
        answer=row["answer"],
        grade=grade,
        points=row["points"],
        answered_at=datetime.fromisoformat(row["answered_at"]),
        latency_ms=row["latency_ms"],
        drill_id=attempt.drill_id,
    )


# A reviewed card as stored: pending (held until an at_close drill's reveal) or landed.
_HOLD_CARD_INSERT = """
    INSERT INTO review_cards (member_id, question_id, pending_card, pending_due, updated_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (member_id, question_id) DO"""
_STORE_CARD_INSERT = """
    INSERT INTO review_cards (member_id, question_id, card, due_at, reviews, updated_at)
    VALUES (?, ?, ?, ?, 1, ?)
    ON CONFLICT (member_id, question_id) DO"""
_HOLD_CARD = f"""{_HOLD_CARD_INSERT} UPDATE SET
        pending_card = excluded.pending_card, pending_due = excluded.pending_due,
        updated_at = excluded.updated_at
"""
_STORE_CARD = f"""{_STORE_CARD_INSERT} UPDATE SET
        card = excluded.card, due_at = excluded.due_at,
        pending_card = NULL, pending_due = NULL,
        reviews = review_cards.reviews + 1, updated_at = excluded.updated_at
"""
# A member's first review of a question: stored (and a row returned) only when the
# member has no card for it yet.
_FIRST_HELD_CARD = f"{_HOLD_CARD_INSERT} NOTHING RETURNING 1"
_FIRST_CARD = f"{_STORE_CARD_INSERT} NOTHING RETURNING 1"


def _card_write(
    member_id: int, question_id: str, reviewed: ReviewedCard, stamp: str, *, held: bool
) -> tuple[str, tuple[object, ...]]:
    """The statement storing a reviewed card: pending while `held` (an answer to an open
    at_close drill, landed by the close: _land_held_reviews), else the card itself."""
    params = (member_id, question_id, reviewed.card, _utc(reviewed.due), stamp)
    return _HOLD_CARD if held else _STORE_CARD, params


def _review_card_in_batch(
    member_id: int,
    question_id: str,
    review: CardReview,
    stamp: str,
    *,
    held: bool,
) -> Steps[None]:
    """Review the member's card for the question (see _card_write for `held`). A first
    review, the usual case, is a single statement; a card already stored (its row always
    holds a card or a pending one) is read, reviewed and written back."""
    first = review(None)
    params = (member_id, question_id, first.card, _utc(first.due), stamp)
    if (yield Query(_FIRST_HELD_CARD if held else _FIRST_CARD, params)):
        return
    ((card,),) = yield Query(
        """SELECT coalesce(pending_card, card) FROM review_cards
           WHERE member_id = ? AND question_id = ?""",
        (member_id, question_id),
    )
    yield Query(*_card_write(member_id, question_id, review(card), stamp, held=held))


_ATTEMPT_COLUMNS = """member_id, drill_id, question_id, topic, answer, normalized, verdict,
    score, points, answered_at, latency_ms, week_key, month_key, counted"""
# A drill's answer, stored only while the drill is open (the check and the write are one
# statement); an answer to an open at_close drill is stored uncounted: the close counts it.
_INSERT_DRILL_ATTEMPT = f"""
    INSERT INTO attempts ({_ATTEMPT_COLUMNS})
    SELECT ?, d.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
           CASE WHEN c.reveal = '{RevealMode.AT_CLOSE.value}' THEN 0 ELSE 1 END
      FROM drills d JOIN channels c ON c.id = d.channel_id
     WHERE d.id = ? AND d.state = '{DrillState.OPEN.value}'
    ON CONFLICT (drill_id, member_id) DO NOTHING
    RETURNING id, counted
"""
# A practice answer (no drill), or a drill that does not exist (its foreign key refuses).
_INSERT_ATTEMPT = f"""
    INSERT INTO attempts ({_ATTEMPT_COLUMNS})
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
    RETURNING id, counted
"""


# The member's streak in the drill's channel after answering it. Built once: an f-string
# in the call would build (and the statement cache hash) these 1.9 KB for every answer.
_UPSERT_STREAK = f"""
    INSERT INTO streaks (member_id, channel_id, current, best, last_date)
    SELECT :member, d.channel_id, 1, 1, :day FROM drills d WHERE d.id = :drill
    ON CONFLICT (member_id, channel_id) DO UPDATE SET
        current = {_NEXT_STREAK},
        best = greatest(streaks.best, {_NEXT_STREAK}),
        freezes = {_NEXT_FREEZES},
        last_date = greatest(streaks.last_date, :day)
    RETURNING current
"""


def _store_attempt(
    attempt: Attempt,
    topic: str,
    local_date: date,
    review: CardReview | None,
) -> Steps[StoredAttempt]:
    """record_attempt's writes: on SQLite run by the group-commit writer on the
    connection's thread (see run_writes: a failure here undoes this answer's writes
    alone), on PostgreSQL in a transaction of their own."""
    now = _ts(attempt.answered_at)
    ((member_id,),) = yield Query(_UPSERT_MEMBER, _member_params(attempt.member, now))
    values = (
        attempt.question_id,
        topic,
        attempt.answer,
        attempt.grade.normalized,
        attempt.grade.verdict.value,
        attempt.grade.score,
        attempt.points,
        now,
        attempt.latency_ms,
        period_key(Period.WEEK, local_date),
        period_key(Period.MONTH, local_date),
    )
    if attempt.drill_id is None:
        row = first((yield Query(_INSERT_ATTEMPT, (member_id, None, *values))))
    else:
        row = first((yield Query(_INSERT_DRILL_ATTEMPT, (member_id, *values, attempt.drill_id))))
    if row is None:
        # Not stored: a repeat, or the drill is no longer open (the service checked it
        # before grading; a close may have come in between).
        existing = first(
            (
                yield Query(
                    """SELECT answer, normalized, verdict, score, points, answered_at,
                              latency_ms
                       FROM attempts WHERE drill_id = ? AND member_id = ?""",
                    (attempt.drill_id, member_id),
                )
            )
        )
        if existing is not None:
            return StoredAttempt(_stored_attempt(attempt, existing), False, 0)
        if (yield Query("SELECT 1 FROM drills WHERE id = ?", (attempt.drill_id,))):
            raise DrillClosed()
        row = first((yield Query(_INSERT_ATTEMPT, (member_id, attempt.drill_id, *values))))
    counted = bool(row["counted"])
    if review is not None:
        yield from _review_card_in_batch(
            member_id, attempt.question_id, review, now, held=not counted
        )
    if attempt.drill_id is None:
        return StoredAttempt(attempt, True, 0)
    ((streak,),) = yield Query(
        _UPSERT_STREAK,
        {"member": member_id, "day": local_date.isoformat(), "drill": attempt.drill_id},
    )
    return StoredAttempt(attempt, True, streak)


class SqlRepository:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    # --- helpers -------------------------------------------------------------------------

    # One round trip each (to aiosqlite's thread, or to the PostgreSQL server):
    # execute_fetchall runs the statement and reads its rows in a single call, where
    # execute + fetchone + close take three on SQLite.
    @staticmethod
    async def _one(conn: Connection, sql: str, params: Params = ()) -> Row | None:
        # Typed as Iterable; both connections return a list.
        rows = cast(list[Row], await conn.execute_fetchall(sql, params))
        return rows[0] if rows else None

    @classmethod
    async def _single(cls, conn: Connection, sql: str, params: Params = ()) -> Row:
        """For statements that always yield a row: an aggregate, an upsert's RETURNING,
        a row this transaction just wrote or found."""
        row = await cls._one(conn, sql, params)
        assert row is not None, "the statement yields a row"
        return row

    @staticmethod
    async def _all(conn: Connection, sql: str, params: Params = ()) -> Iterable[Row]:
        return await conn.execute_fetchall(sql, params)

    async def _upsert_member(self, conn: Connection, member: MemberRef, now: str) -> int:
        row = await self._single(conn, _UPSERT_MEMBER, _member_params(member, now))
        return row[0]

    async def _member_id(self, conn: Connection, member: MemberRef) -> int | None:
        row = await self._one(
            conn,
            "SELECT id FROM members WHERE platform = ? AND workspace_id = ? AND user_id = ?",
            (member.platform, member.workspace_id, member.user_id),
        )
        return row[0] if row else None

    async def _channel_pk(self, conn: Connection, channel: ChannelRef) -> int | None:
        row = await self._one(
            conn,
            "SELECT id FROM channels WHERE platform = ? AND workspace_id = ? AND channel_id = ?",
            (channel.platform, channel.workspace_id, channel.channel_id),
        )
        return row[0] if row else None

    async def _group_id(self, conn: Connection, member: MemberRef, name: str) -> int:
        row = await self._one(
            conn,
            "SELECT id FROM study_groups WHERE platform = ? AND workspace_id = ? AND name_key = ?",
            (member.platform, member.workspace_id, name.casefold()),
        )
        if row is None:
            raise UnknownGroup(name)
        return row[0]

    # --- questions and channels --------------------------------------------------------------

    async def sync_questions(self, questions: Sequence[Question], now: datetime) -> list[str]:
        """Upsert the loaded bank; questions no longer in it are retired, never deleted,
        and never while a live drill (pending, posting, open) still asks them.

        Returns the ids live drills use that the bank lacks: the caller must not run
        with them, since those drills could never be revealed.
        """
        stamp = _ts(now)
        async with self.db.transaction() as conn:
            await conn.executemany(
                """INSERT INTO questions (id, pack, topic, kind, difficulty, content_hash,
                                          retired, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, 0, ?)
                   ON CONFLICT (id) DO UPDATE SET
                       pack = excluded.pack, topic = excluded.topic, kind = excluded.kind,
                       difficulty = excluded.difficulty, content_hash = excluded.content_hash,
                       retired = 0, updated_at = excluded.updated_at
                   WHERE questions.content_hash != excluded.content_hash
                      OR questions.retired = 1""",
                [
                    (q.id, q.pack, q.topic, q.kind.value, q.difficulty.value, q.content_hash, stamp)
                    for q in questions
                ],
            )
            await conn.execute("CREATE TEMP TABLE IF NOT EXISTS loaded (id TEXT PRIMARY KEY)")
            await conn.execute("DELETE FROM temp.loaded")
            await conn.executemany(
                "INSERT INTO temp.loaded (id) VALUES (?) ON CONFLICT DO NOTHING",
                [(q.id,) for q in questions],
            )
            await conn.execute(
                f"""UPDATE questions SET retired = 1, updated_at = ?
                   WHERE retired = 0 AND id NOT IN (SELECT id FROM temp.loaded)
                     AND id NOT IN (SELECT question_id FROM drills WHERE state IN {_LIVE})""",
                (stamp,),
            )
            rows = await self._all(
                conn,
                f"""SELECT DISTINCT question_id FROM drills
                    WHERE state IN {_LIVE}
                      AND question_id NOT IN (SELECT id FROM temp.loaded)
                    ORDER BY question_id""",
            )
        return [row[0] for row in rows]

    async def get_settings(self, channel: ChannelRef) -> ChannelSettings | None:
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                "SELECT * FROM channels WHERE platform = ? AND workspace_id = ? AND channel_id = ?",
                (channel.platform, channel.workspace_id, channel.channel_id),
            )
        return _settings(row) if row else None

    async def save_settings(
        self,
        settings: ChannelSettings,
        now: datetime,
        next_post_at: datetime | None = None,
        next_weekly_at: datetime | None = None,
    ) -> None:
        """Store the settings with the next post and weekly-board instants they give, so
        a changed schedule is what the next scheduler tick reads."""
        channel = settings.channel
        async with self.db.transaction() as conn:
            await conn.execute(
                """INSERT INTO channels (platform, workspace_id, channel_id, post_time, close_time,
                       timezone, topics, reveal, days, paused, skip_date, admin_user_id,
                       plan, plan_start, next_post_at, next_weekly_at, created_at, updated_at)
                   VALUES (:platform, :workspace, :channel, :post_time, :close_time, :timezone,
                       :topics, :reveal, :days, :paused, :skip_date, :admin,
                       :plan, :plan_start, :next_post, :next_weekly, :now, :now)
                   ON CONFLICT (platform, workspace_id, channel_id) DO UPDATE SET
                       post_time = excluded.post_time, close_time = excluded.close_time,
                       timezone = excluded.timezone, topics = excluded.topics,
                       reveal = excluded.reveal, days = excluded.days, paused = excluded.paused,
                       skip_date = excluded.skip_date, admin_user_id = excluded.admin_user_id,
                       plan = excluded.plan, plan_start = excluded.plan_start,
                       next_post_at = excluded.next_post_at,
                       next_weekly_at = excluded.next_weekly_at,
                       updated_at = excluded.updated_at""",
                {
                    "platform": channel.platform,
                    "workspace": channel.workspace_id,
                    "channel": channel.channel_id,
                    "post_time": settings.post_time,
                    "close_time": settings.close_time,
                    "timezone": settings.timezone,
                    "topics": ",".join(settings.topics),
                    "reveal": settings.reveal.value,
                    "days": ",".join(str(d) for d in settings.days),
                    "paused": int(settings.paused),
                    "skip_date": settings.skip_date.isoformat() if settings.skip_date else None,
                    "admin": settings.admin_user_id,
                    "plan": settings.plan.value,
                    "plan_start": settings.plan_start.isoformat() if settings.plan_start else None,
                    "next_post": _utc(next_post_at),
                    "next_weekly": _utc(next_weekly_at),
                    "now": _ts(now),
                },
            )

    async def configured_channels(self) -> list[ChannelSettings]:
        async with self.db.reading() as conn:
            rows = await self._all(conn, "SELECT * FROM channels ORDER BY id")
        return [_settings(row) for row in rows]

    # --- drills -----------------------------------------------------------------------------

    async def asked_questions(self, channel: ChannelRef) -> list[str]:
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT d.question_id FROM drills d JOIN channels c ON c.id = d.channel_id
                   WHERE c.platform = ? AND c.workspace_id = ? AND c.channel_id = ?
                   ORDER BY d.local_date""",
                (channel.platform, channel.workspace_id, channel.channel_id),
            )
        return [row[0] for row in rows]

    async def get_drill(self, drill_id: int) -> Drill | None:
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                f"""SELECT {_DRILL_COLUMNS} FROM drills d JOIN channels c ON c.id = d.channel_id
                    WHERE d.id = ?""",
                (drill_id,),
            )
        return _drill(row) if row else None

    async def drill_with_settings(self, drill_id: int) -> DrillAndSettings | None:
        """A drill and its channel's settings in one read. This is the answer path's hot
        spot: concurrent ones share a round trip, and those for one drill a query."""
        return await self.db.grouped_read(_DrillWithSettings(drill_id))

    async def latest_drill(self, channel: ChannelRef) -> Drill | None:
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                f"""SELECT {_DRILL_COLUMNS} FROM drills d JOIN channels c ON c.id = d.channel_id
                    WHERE c.platform = ? AND c.workspace_id = ? AND c.channel_id = ?
                    ORDER BY d.local_date DESC LIMIT 1""",
                (channel.platform, channel.workspace_id, channel.channel_id),
            )
        return _drill(row) if row else None

    async def open_drill(self, channel: ChannelRef) -> Drill | None:
        """The channel's one open drill (drills_one_live allows no second)."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                f"""SELECT {_DRILL_COLUMNS} FROM drills d JOIN channels c ON c.id = d.channel_id
                    WHERE c.platform = ? AND c.workspace_id = ? AND c.channel_id = ?
                      AND d.state = 'open'""",
                (channel.platform, channel.workspace_id, channel.channel_id),
            )
        return _drill(row) if row else None

    async def posted_dates(self, channel: ChannelRef, since: date) -> set[date]:
        """Local dates from `since` on that already have a drill which is not failed."""
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT d.local_date FROM drills d JOIN channels c ON c.id = d.channel_id
                   WHERE c.platform = ? AND c.workspace_id = ? AND c.channel_id = ?
                     AND d.local_date >= ? AND d.state != 'failed'""",
                (channel.platform, channel.workspace_id, channel.channel_id, since.isoformat()),
            )
        return {date.fromisoformat(row[0]) for row in rows}

    async def drills_in_states(self, states: Sequence[DrillState]) -> list[Drill]:
        marks = ",".join("?" for _ in states)
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                f"""SELECT {_DRILL_COLUMNS} FROM drills d JOIN channels c ON c.id = d.channel_id
                    WHERE d.state IN ({marks}) ORDER BY d.id""",
                [s.value for s in states],
            )
        return [_drill(row) for row in rows]

    # --- answers --------------------------------------------------------------------------

    async def record_attempt(
        self, attempt: Attempt, topic: str, local_date: date, review: CardReview | None = None
    ) -> StoredAttempt:
        """Store an answer; aggregates follow by trigger in the same transaction.

        Concurrent answers share a transaction (group commit, see storage.group_commit):
        this returns once that transaction committed. An answer to a drill that is no
        longer open raises DrillClosed and stores nothing. An answer to an open at_close
        drill is stored uncounted: the close counts it. With `review`, the member's FSRS
        card for the question is reviewed in the same transaction (a repeat reviews
        nothing); for an uncounted attempt the review is held back until the close.

        A repeat for the same drill and member (a double click, a retried delivery,
        another process) returns the first attempt, not created.
        """
        return await self.db.grouped(partial(_store_attempt, attempt, topic, local_date, review))

    async def answer_counts(self, drill_id: int) -> tuple[AnswerCount, ...]:
        """How many attempts at a drill share each normalised answer and verdict."""
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT normalized, verdict, count(*) FROM attempts WHERE drill_id = ?
                   GROUP BY normalized, verdict ORDER BY normalized, verdict""",
                (drill_id,),
            )
        return tuple(AnswerCount(row[0], Verdict(row[1]), row[2]) for row in rows)

    async def fastest_correct(self, drill_id: int, limit: int) -> tuple[tuple[str, int], ...]:
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT coalesce(nullif(m.display_name, ''), m.user_id), a.latency_ms
                   FROM attempts a JOIN members m ON m.id = a.member_id
                   WHERE a.drill_id = ? AND a.verdict = 'good'
                   ORDER BY a.latency_ms, a.id LIMIT ?""",
                (drill_id, limit),
            )
        return tuple((row[0], row[1]) for row in rows)

    # --- members and stats --------------------------------------------------------------------

    async def find_member(self, workspace: ChannelRef, key: str) -> MemberRef | None:
        """A member of the workspace by platform user id, else by display name."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                """SELECT user_id, display_name FROM members
                   WHERE platform = ? AND workspace_id = ?
                     AND (user_id = ? OR lower(display_name) = lower(?))
                   ORDER BY user_id = ? DESC LIMIT 1""",
                (workspace.platform, workspace.workspace_id, key, key, key),
            )
        if row is None:
            return None
        return MemberRef(workspace.platform, workspace.workspace_id, row[0], row[1])

    async def weekly_points(self, member: MemberRef, week_keys: Sequence[str]) -> dict[str, int]:
        marks = ",".join("?" for _ in week_keys)
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                f"""SELECT t.period_key, t.points FROM score_totals t
                    JOIN members m ON m.id = t.member_id
                    WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?
                      AND t.period = 'week' AND t.period_key IN ({marks})""",
                (member.platform, member.workspace_id, member.user_id, *week_keys),
            )
        return {row[0]: row[1] for row in rows}

    async def member_totals(self, member: MemberRef) -> MemberTotals:
        """Answers, correct answers and all-time points, in one query (one round trip on
        PostgreSQL, where `/quiz stats` pays one per query)."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                """SELECT coalesce((SELECT sum(t.answered) FROM topic_stats t
                                    WHERE t.member_id = m.id), 0),
                          coalesce((SELECT sum(t.correct) FROM topic_stats t
                                    WHERE t.member_id = m.id), 0),
                          coalesce((SELECT s.points FROM score_totals s
                                    WHERE s.member_id = m.id AND s.period = 'all'
                                      AND s.period_key = 'all'), 0)
                   FROM members m
                   WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?""",
                (member.platform, member.workspace_id, member.user_id),
            )
        return MemberTotals(*row) if row else MemberTotals(0, 0, 0)

    async def rank(self, member: MemberRef, period: Period, key: str) -> Rank:
        async with self.db.reading() as conn:
            standing = await self._standing(conn, member, period, key, None)
        mine, above, total = standing
        return Rank(above + 1 if mine else None, total)

    async def _standing(
        self,
        conn: Connection,
        member: MemberRef,
        period: Period,
        key: str,
        group_id: int | None,
    ) -> tuple[Row | None, int, int]:
        """The member's totals row, how many rank above it, and how many are ranked.

        Workspace ranks sum the points histogram (a few hundred buckets, not one row per
        member); a group's are counted on its members' rows, which are few.
        """
        member_id = await self._member_id(conn, member)
        mine = None
        if member_id is not None:
            mine = await self._one(
                conn,
                """SELECT points, answered, correct FROM score_totals
                   WHERE member_id = ? AND period = ? AND period_key = ?""",
                (member_id, period.value, key),
            )
        if group_id is None:
            counts = await self._single(
                conn,
                """SELECT coalesce(sum(members), 0),
                          coalesce(sum(CASE WHEN points > ? THEN members END), 0)
                   FROM score_histogram
                   WHERE platform = ? AND workspace_id = ? AND period = ? AND period_key = ?""",
                (mine[0] if mine else 0, member.platform, member.workspace_id, period.value, key),
            )
        else:
            in_group = await self._member_in_group(conn, group_id, member_id)
            counts = await self._single(
                conn,
                """SELECT count(*), coalesce(sum(CASE WHEN s.points > ? THEN 1 ELSE 0 END), 0)
                   FROM score_totals s JOIN group_members g ON g.member_id = s.member_id
                   WHERE g.group_id = ? AND s.period = ? AND s.period_key = ?""",
                (mine[0] if mine else 0, group_id, period.value, key),
            )
            mine = mine if in_group else None
        total, above = counts
        return mine, (above if mine else 0), total

    async def _member_in_group(
        self, conn: Connection, group_id: int, member_id: int | None
    ) -> bool:
        row = await self._one(
            conn,
            "SELECT 1 FROM group_members WHERE group_id = ? AND member_id = ?",
            (group_id, member_id),
        )
        return row is not None

    async def topic_stats(self, member: MemberRef) -> list[TopicStat]:
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT t.topic, t.answered, t.correct
                   FROM topic_stats t JOIN members m ON m.id = t.member_id
                   WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?""",
                (member.platform, member.workspace_id, member.user_id),
            )
        return [TopicStat(row[0], row[1], row[2]) for row in rows]

    async def streak(self, member: MemberRef) -> Streak:
        """The member's streak: the best over their channels.

        A streak is broken once more drills of its channel closed unanswered since the
        last answer than the member holds freezes; the freezes held are what is left
        after those missed days.
        """
        async with self.db.reading() as conn:
            row = await self._single(
                conn,
                """SELECT coalesce(max(CASE WHEN missed > freezes THEN 0 ELSE current END), 0),
                          coalesce(max(best), 0),
                          coalesce(max(CASE WHEN missed > freezes THEN 0
                                            ELSE freezes - missed END), 0)
                   FROM (SELECT s.current, s.best, s.freezes,
                                (SELECT count(*) FROM drills d
                                 WHERE d.channel_id = s.channel_id
                                   AND d.local_date > s.last_date
                                   AND d.state = 'closed') AS missed
                         FROM streaks s JOIN members m ON m.id = s.member_id
                         WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?) AS s""",
                (member.platform, member.workspace_id, member.user_id),
            )
        return Streak(current=row[0], best=row[1], freezes=row[2])

    async def board(
        self, member: MemberRef, period: Period, key: str, group: str | None, limit: int
    ) -> BoardPage:
        """Top `limit` of the workspace (or one group) for a period, the caller's own
        entry, and how many are ranked. Reads only the period's aggregate rows."""
        async with self.db.reading() as conn:
            join = ""
            params: list[object] = [member.platform, member.workspace_id, period.value, key]
            group_id = None
            if group is not None:
                group_id = await self._group_id(conn, member, group)
                join = "JOIN group_members g ON g.member_id = s.member_id AND g.group_id = ?"
                params = [group_id, *params]
            rows = await self._all(
                conn,
                f"""SELECT m.user_id, m.display_name, s.points, s.answered, s.correct
                    FROM score_totals s {join} JOIN members m ON m.id = s.member_id
                    WHERE s.platform = ? AND s.workspace_id = ? AND s.period = ?
                      AND s.period_key = ?
                    ORDER BY s.points DESC, s.correct DESC, s.member_id LIMIT ?""",
                [*params, limit],
            )
            mine, above, total = await self._standing(conn, member, period, key, group_id)
        entries: list[BoardEntry] = []
        for row in rows:
            ahead = sum(1 for e in entries if e.points > row[2])
            entries.append(BoardEntry(ahead + 1, row[0], row[1] or row[0], *row[2:5]))
        caller = None
        if mine is not None:
            name = member.display_name or next(
                (e.display_name for e in entries if e.user_id == member.user_id), member.user_id
            )
            caller = BoardEntry(above + 1, member.user_id, name, *mine)
        return BoardPage(tuple(entries), caller, total)

    async def group_standings(
        self, workspace: ChannelRef, week_key: str, limit: int
    ) -> list[GroupStanding]:
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT g.name, coalesce(sum(s.points), 0), count(gm.member_id)
                   FROM study_groups g
                   JOIN group_members gm ON gm.group_id = g.id
                   LEFT JOIN score_totals s ON s.member_id = gm.member_id
                        AND s.period = 'week' AND s.period_key = ?
                   WHERE g.platform = ? AND g.workspace_id = ?
                   GROUP BY g.id ORDER BY 2 DESC, g.name_key LIMIT ?""",
                (week_key, workspace.platform, workspace.workspace_id, limit),
            )
        return [GroupStanding(row[0], row[1], row[2]) for row in rows]

    async def most_improved(
        self, workspace: ChannelRef, week_key: str, previous_key: str
    ) -> tuple[str, int] | None:
        """The member who gained most on their own previous week (both weeks played)."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                """SELECT coalesce(nullif(m.display_name, ''), m.user_id),
                          cur.points - prev.points AS gain
                   FROM score_totals cur
                   JOIN score_totals prev ON prev.member_id = cur.member_id
                        AND prev.period = 'week' AND prev.period_key = ?
                   JOIN members m ON m.id = cur.member_id
                   WHERE cur.platform = ? AND cur.workspace_id = ?
                     AND cur.period = 'week' AND cur.period_key = ?
                     AND cur.points > prev.points
                   ORDER BY gain DESC, cur.member_id LIMIT 1""",
                (previous_key, workspace.platform, workspace.workspace_id, week_key),
            )
        return (row[0], row[1]) if row else None

    # --- study groups ---------------------------------------------------------------------------

    async def create_group(self, member: MemberRef, name: str, now: datetime) -> None:
        async with self.db.transaction() as conn:
            member_id = await self._upsert_member(conn, member, _ts(now))
            row = await self._one(
                conn,
                """INSERT INTO study_groups (platform, workspace_id, name, name_key, created_by,
                                             created_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (platform, workspace_id, name_key) DO NOTHING
                   RETURNING id""",
                (member.platform, member.workspace_id, name, name.casefold(), member_id, _ts(now)),
            )
            if row is None:
                raise GroupExists(name)
            await conn.execute(
                "INSERT INTO group_members (group_id, member_id, joined_at) VALUES (?, ?, ?)",
                (row[0], member_id, _ts(now)),
            )

    async def join_group(self, member: MemberRef, name: str, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            group_id = await self._group_id(conn, member, name)
            member_id = await self._upsert_member(conn, member, _ts(now))
            cursor = await conn.execute(
                """INSERT INTO group_members (group_id, member_id, joined_at) VALUES (?, ?, ?)
                   ON CONFLICT (group_id, member_id) DO NOTHING""",
                (group_id, member_id, _ts(now)),
            )
            return cursor.rowcount == 1

    async def leave_group(self, member: MemberRef, name: str) -> bool:
        async with self.db.transaction() as conn:
            group_id = await self._group_id(conn, member, name)
            member_id = await self._member_id(conn, member)
            cursor = await conn.execute(
                "DELETE FROM group_members WHERE group_id = ? AND member_id = ?",
                (group_id, member_id),
            )
            await conn.execute(  # the last one out removes the group, freeing its name
                """DELETE FROM study_groups WHERE id = ?
                   AND NOT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?)""",
                (group_id, group_id),
            )
            return cursor.rowcount == 1

    async def list_groups(self, member: MemberRef) -> list[Group]:
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT g.name, count(gm.member_id) FROM study_groups g
                   LEFT JOIN group_members gm ON gm.group_id = g.id
                   WHERE g.platform = ? AND g.workspace_id = ?
                   GROUP BY g.id ORDER BY g.name_key""",
                (member.platform, member.workspace_id),
            )
        return [Group(row[0], row[1]) for row in rows]

    async def member_groups(self, member: MemberRef) -> list[str]:
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT g.name FROM study_groups g
                   JOIN group_members gm ON gm.group_id = g.id
                   JOIN members m ON m.id = gm.member_id
                   WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?
                   ORDER BY g.name_key""",
                (member.platform, member.workspace_id, member.user_id),
            )
        return [row[0] for row in rows]

    # --- reminders -------------------------------------------------------------------------

    async def set_reminder(
        self, member: MemberRef, channel: ChannelRef, on: bool, now: datetime
    ) -> bool:
        """Turn the member's reminder in the channel on or off; False if it already was."""
        async with self.db.transaction() as conn:
            channel_pk = await self._channel_pk(conn, channel)
            if channel_pk is None:
                raise NotSetUp
            member_id = await self._upsert_member(conn, member, _ts(now))
            if on:
                cursor = await conn.execute(
                    """INSERT INTO reminder_subscriptions (member_id, channel_id, created_at)
                       VALUES (?, ?, ?) ON CONFLICT DO NOTHING""",
                    (member_id, channel_pk, _ts(now)),
                )
            else:
                cursor = await conn.execute(
                    "DELETE FROM reminder_subscriptions WHERE member_id = ? AND channel_id = ?",
                    (member_id, channel_pk),
                )
        return cursor.rowcount == 1

    async def reminded_member(self, drill_id: int, user_id: str) -> MemberRef | None:
        """The member with reminders on in the drill's channel, for an answer from a
        reminder (a DM, which names no workspace); None if they asked for none there."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                """SELECT m.platform, m.workspace_id, m.user_id, m.display_name
                   FROM drills d JOIN reminder_subscriptions r ON r.channel_id = d.channel_id
                   JOIN members m ON m.id = r.member_id
                   JOIN channels c ON c.id = d.channel_id
                   WHERE d.id = ? AND m.user_id = ?
                     AND m.platform = c.platform AND m.workspace_id = c.workspace_id""",
                (drill_id, user_id),
            )
        return MemberRef(row[0], row[1], row[2], row[3]) if row else None

    async def queue_reminders(self, now: datetime, lead: timedelta) -> int:
        """One reminder row per subscribed member who has not answered an open drill that
        closes within `lead` (at its close time, or at the channel's next post when it
        has none). The row's key makes a second tick or process queue nothing."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """INSERT INTO outbox (key, kind, channel_id, drill_id, member_id,
                                       next_attempt_at, created_at)
                   SELECT 'reminder:' || d.id || ':' || r.member_id, 'reminder', d.channel_id,
                          d.id, r.member_id, :now, :now
                   FROM drills d
                   JOIN channels c ON c.id = d.channel_id
                   JOIN reminder_subscriptions r ON r.channel_id = d.channel_id
                   WHERE d.state = 'open'
                     AND coalesce(d.closes_at, c.next_post_at) > :now
                     AND coalesce(d.closes_at, c.next_post_at) <= :soon
                     AND NOT EXISTS (SELECT 1 FROM attempts a
                                     WHERE a.drill_id = d.id AND a.member_id = r.member_id)
                   ON CONFLICT (key) DO NOTHING""",
                {"now": _utc(now), "soon": _utc(now + lead)},
            )
        return cursor.rowcount

    # --- the schedule: next_* instants on channels ----------------------------------------

    async def unscheduled_channels(self) -> list[ChannelSettings]:
        """Channels not paused that have no next post or board yet (stored before the
        outbox migration, or saved without them)."""
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT * FROM channels WHERE paused = 0
                   AND next_post_at IS NULL AND next_weekly_at IS NULL ORDER BY id""",
            )
        return [_settings(row) for row in rows]

    async def set_schedule(
        self, channel: ChannelRef, next_post_at: datetime | None, next_weekly_at: datetime | None
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                """UPDATE channels SET next_post_at = ?, next_weekly_at = ?
                   WHERE platform = ? AND workspace_id = ? AND channel_id = ?""",
                (
                    _utc(next_post_at),
                    _utc(next_weekly_at),
                    channel.platform,
                    channel.workspace_id,
                    channel.channel_id,
                ),
            )

    async def due_posts(self, now: datetime, limit: int) -> list[tuple[ChannelSettings, datetime]]:
        """Channels whose next post is due, earliest first, with that instant."""
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT * FROM channels WHERE next_post_at IS NOT NULL AND next_post_at <= ?
                   ORDER BY next_post_at, id LIMIT ?""",
                (_utc(now), limit),
            )
        return [(_settings(row), datetime.fromisoformat(row["next_post_at"])) for row in rows]

    async def due_weekly_boards(
        self, now: datetime, limit: int
    ) -> list[tuple[ChannelSettings, datetime]]:
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT * FROM channels
                   WHERE next_weekly_at IS NOT NULL AND next_weekly_at <= ?
                   ORDER BY next_weekly_at, id LIMIT ?""",
                (_utc(now), limit),
            )
        return [(_settings(row), datetime.fromisoformat(row["next_weekly_at"])) for row in rows]

    async def due_closes(self, now: datetime, limit: int) -> list[int]:
        """Open drills whose close time has passed (through drills_due_close)."""
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT id FROM drills WHERE state = 'open' AND closes_at IS NOT NULL
                   AND closes_at <= ? ORDER BY closes_at, id LIMIT ?""",
                (_utc(now), limit),
            )
        return [row[0] for row in rows]

    async def advance_schedule(
        self, channel: ChannelRef, column: str, due: datetime, next_due: datetime | None
    ) -> bool:
        """Move a due instant on (a skipped or missed post) only if it is unchanged."""
        if column not in ("next_post_at", "next_weekly_at"):
            raise ValueError(column)
        async with self.db.transaction() as conn:
            return await self._advance(conn, channel, column, due, next_due)

    async def _advance(
        self,
        conn: Connection,
        channel: ChannelRef,
        column: str,
        due: datetime,
        next_due: datetime | None,
    ) -> bool:
        cursor = await conn.execute(
            f"""UPDATE channels SET {column} = ?
                WHERE platform = ? AND workspace_id = ? AND channel_id = ? AND {column} = ?""",
            (
                _utc(next_due),
                channel.platform,
                channel.workspace_id,
                channel.channel_id,
                _utc(due),
            ),
        )
        return cursor.rowcount == 1

    # --- claims that write outbox rows ----------------------------------------------------

    async def _enqueue(
        self,
        conn: Connection,
        key: str,
        kind: OutboxKind,
        channel_pk: int,
        now: datetime,
        *,
        drill_id: int | None = None,
        week_key: str | None = None,
        detail: str | None = None,
    ) -> bool:
        cursor = await conn.execute(
            """INSERT INTO outbox (key, kind, channel_id, drill_id, week_key, detail,
                                   next_attempt_at, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING""",
            (key, kind.value, channel_pk, drill_id, week_key, detail, _utc(now), _utc(now)),
        )
        return cursor.rowcount == 1

    async def _close(self, conn: Connection, drill_id: int, now: datetime) -> bool:
        """Close an open drill, count its held-back attempts and queue its reveal and
        board, all in the caller's transaction; False if it was not open."""
        row = await self._one(
            conn,
            """UPDATE drills SET state = 'closed', closed_at = ?, updated_at = ?
               WHERE id = ? AND state = 'open' RETURNING channel_id""",
            (_ts(now), _ts(now), drill_id),
        )
        if row is None:
            return False
        await self._land_held_reviews(conn, drill_id)
        await conn.execute(
            "UPDATE attempts SET counted = 1 WHERE drill_id = ? AND counted = 0", (drill_id,)
        )
        for kind in (OutboxKind.REVEAL, OutboxKind.BOARD):
            await self._enqueue(
                conn, f"{kind.value}:{drill_id}", kind, row[0], now, drill_id=drill_id
            )
        return True

    async def close_drill(self, drill_id: int, now: datetime) -> bool:
        """Close once: the caller whose update closed the drill gets True, and its reveal
        and board rows are written in the same transaction."""
        async with self.db.transaction() as conn:
            return await self._close(conn, drill_id, now)

    async def _outbox_by_key(self, conn: Connection, key: str) -> OutboxItem | None:
        row = await self._one(
            conn,
            f"""SELECT {_OUTBOX_COLUMNS} FROM outbox o JOIN channels c ON c.id = o.channel_id
                WHERE o.key = ?""",
            (key,),
        )
        return _outbox(row) if row else None

    async def claim_post(
        self,
        channel: ChannelRef,
        day: date,
        question_id: str,
        now: datetime,
        closes_at: datetime | None,
        *,
        due: datetime | None = None,
        next_due: datetime | None = None,
        force: bool = False,
        low_bank: LowBank | None = None,
    ) -> PostClaim:
        """Claim the (channel, day) drill and write its post row, in one transaction.

        With `due`, the channel's next_post_at is first moved from `due` to `next_due`
        (compare-and-set): of two ticks or processes firing the same post, only the one
        whose update changed the row goes on; the other gets PostClaim(None).
        A new, pending or failed drill gets its post row (a dead one is re-armed); the
        channel's other open drill is closed with its reveal and board queued first, and
        other pending drills (never attempted) are retired. `force` (post-now) also makes
        a pending post row of this drill due at once. `low_bank`: the post leaves few
        unasked questions, and a new post row comes with the channel's warning just
        ahead of it, whose key (notice_key) makes it once per channel, topics and week.
        """
        async with self.db.transaction() as conn:
            channel_pk = await self._channel_pk(conn, channel)
            if channel_pk is None:
                raise NotSetUp
            if due is not None and not await self._advance(
                conn, channel, "next_post_at", due, next_due
            ):
                return PostClaim(None)
            await conn.execute(
                """INSERT INTO drills (channel_id, local_date, question_id, state, opened_at,
                                       closes_at, updated_at)
                   VALUES (?, ?, ?, 'pending', ?, ?, ?)
                   ON CONFLICT (channel_id, local_date) DO NOTHING""",
                (channel_pk, day.isoformat(), question_id, _ts(now), _utc(closes_at), _ts(now)),
            )
            drill = _drill(
                await self._single(
                    conn,
                    f"""SELECT {_DRILL_COLUMNS} FROM drills d JOIN channels c
                        ON c.id = d.channel_id WHERE d.channel_id = ? AND d.local_date = ?""",
                    (channel_pk, day.isoformat()),
                )
            )
            key = post_key(drill.id)
            created = False
            if drill.state in (DrillState.PENDING, DrillState.FAILED):
                others = await self._all(
                    conn,
                    "SELECT id FROM drills WHERE channel_id = ? AND state = 'open' AND id != ?",
                    (channel_pk, drill.id),
                )
                for other in others:
                    await self._close(conn, other[0], now)
                await conn.execute(
                    """UPDATE outbox SET state = 'dead', last_error = 'superseded', done_at = ?
                       WHERE kind = 'post' AND state = 'pending' AND drill_id IN (
                           SELECT id FROM drills WHERE channel_id = ? AND state = 'pending'
                           AND id != ?)""",
                    (_utc(now), channel_pk, drill.id),
                )
                await conn.execute(
                    """UPDATE drills SET state = 'failed', updated_at = ?
                       WHERE channel_id = ? AND state = 'pending' AND id != ?""",
                    (_ts(now), channel_pk, drill.id),
                )
                if drill.state is DrillState.FAILED:
                    await conn.execute(
                        """UPDATE drills SET state = 'pending', closes_at = ?, updated_at = ?
                           WHERE id = ? AND state = 'failed'""",
                        (_utc(closes_at), _ts(now), drill.id),
                    )
                    drill = replace(drill, state=DrillState.PENDING, closes_at=closes_at)
                if low_bank is not None and await self._outbox_by_key(conn, key) is None:
                    # Ahead of the post, so post-now delivers it too (earlier rows first).
                    await self._enqueue(
                        conn,
                        notice_key(channel_pk, low_bank),
                        OutboxKind.NOTICE,
                        channel_pk,
                        now,
                        detail=low_bank.to_detail(),
                    )
                created = await self._enqueue(
                    conn, key, OutboxKind.POST, channel_pk, now, drill_id=drill.id
                )
                rearmed = await conn.execute(
                    f"""UPDATE outbox SET state = 'pending', next_attempt_at = ?, attempts = 0,
                            failing_since = NULL, claimed_at = NULL, done_at = NULL
                        WHERE key = ? AND state IN ({"'dead', 'pending'" if force else "'dead'"})
                          AND NOT ?""",
                    (_utc(now), key, created),
                )
                created = created or rearmed.rowcount == 1
            elif force:
                await conn.execute(
                    """UPDATE outbox SET state = 'pending', next_attempt_at = ?, done_at = NULL
                       WHERE key = ? AND state IN ('dead', 'pending')""",
                    (_utc(now), key),
                )
            return PostClaim(drill, created, await self._outbox_by_key(conn, key))

    async def claim_weekly(
        self,
        channel: ChannelRef,
        week_key: str,
        now: datetime,
        *,
        due: datetime | None = None,
        next_due: datetime | None = None,
    ) -> OutboxItem | None:
        """Claim the channel's board for the week (weekly_boards) and write its row, once;
        None for every other caller (the schedule moved on, or the week is claimed)."""
        async with self.db.transaction() as conn:
            channel_pk = await self._channel_pk(conn, channel)
            if channel_pk is None:
                return None
            if due is not None and not await self._advance(
                conn, channel, "next_weekly_at", due, next_due
            ):
                return None
            cursor = await conn.execute(
                """INSERT INTO weekly_boards (channel_id, week_key, posted_at) VALUES (?, ?, ?)
                   ON CONFLICT (channel_id, week_key) DO NOTHING""",
                (channel_pk, week_key, _ts(now)),
            )
            if cursor.rowcount != 1:
                return None
            key = f"weekly:{channel_pk}:{week_key}"
            await self._enqueue(conn, key, OutboxKind.WEEKLY, channel_pk, now, week_key=week_key)
            return await self._outbox_by_key(conn, key)

    # --- the outbox as the dispatcher sees it ------------------------------------------------

    async def claim_outbox(
        self,
        now: datetime,
        stale_before: datetime,
        limit: int,
        channel: ChannelRef | None = None,
    ) -> list[OutboxItem]:
        """Hand out due rows, each the first undelivered row of its channel, by one
        conditional UPDATE: a row moves to 'sending' for exactly one caller, whatever the
        number of processes. A post row's drill opens in the same transaction: from now
        on its post may be out, so it takes answers."""
        params: dict[str, object] = {
            "now": _utc(now),
            "stale": _utc(stale_before),
            "limit": limit,
        }
        only = ""
        if channel is not None:
            only = """AND o.channel_id = (SELECT id FROM channels WHERE platform = :platform
                      AND workspace_id = :workspace AND channel_id = :channel)"""
            params |= {
                "platform": channel.platform,
                "workspace": channel.workspace_id,
                "channel": channel.channel_id,
            }
        async with self.db.transaction() as conn:
            claimed = await self._all(
                conn,
                f"""UPDATE outbox AS o SET state = 'sending', claimed_at = :now,
                        attempts = attempts + 1,
                        unsure = CASE WHEN unsure = 1 OR state = 'sending' THEN 1 ELSE 0 END
                    WHERE o.id IN (SELECT o.id FROM outbox o
                                   WHERE {_CLAIMABLE} {only} AND {_HEAD_OF_CHANNEL}
                                   ORDER BY o.next_attempt_at, o.id LIMIT :limit)
                      AND {_CLAIMABLE}
                    RETURNING id""",
                params,
            )
            ids = [row[0] for row in claimed]
            if not ids:
                return []
            marks = ",".join("?" for _ in ids)
            await conn.execute(
                f"""UPDATE drills SET state = 'open', claimed_at = ?, updated_at = ?
                    WHERE state = 'pending' AND id IN (
                        SELECT drill_id FROM outbox WHERE kind = 'post' AND id IN ({marks}))
                      AND {_NO_OTHER_LIVE}""",
                (_ts(now), _ts(now), *ids),
            )
            rows = await self._all(
                conn,
                f"""SELECT {_OUTBOX_COLUMNS} FROM outbox o JOIN channels c ON c.id = o.channel_id
                    WHERE o.id IN ({marks}) ORDER BY o.id""",
                ids,
            )
        return [_outbox(row) for row in rows]

    async def get_outbox(self, item_id: int) -> OutboxItem | None:
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                f"""SELECT {_OUTBOX_COLUMNS} FROM outbox o JOIN channels c ON c.id = o.channel_id
                    WHERE o.id = ?""",
                (item_id,),
            )
        return _outbox(row) if row else None

    async def outbox_by_key(self, key: str) -> OutboxItem | None:
        async with self.db.reading() as conn:
            return await self._outbox_by_key(conn, key)

    async def next_outbox_due(self) -> datetime | None:
        """When the next claimable row is due: rows behind an earlier one of their channel
        wait for it, not for the clock."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                f"""SELECT min(o.next_attempt_at) FROM outbox o
                    WHERE o.state = 'pending' AND {_HEAD_OF_CHANNEL}""",
            )
        return _dt(row[0]) if row else None

    async def finish_outbox(self, item_id: int, message_id: str | None, now: datetime) -> None:
        """Mark a row done with the platform's message id; a post's drill gets the id in
        the same transaction, so nothing can see the post out without it."""
        async with self.db.transaction() as conn:
            row = await self._one(
                conn,
                """UPDATE outbox SET state = 'done', message_id = ?, done_at = ?, claimed_at = NULL
                   WHERE id = ? AND state != 'done' RETURNING kind, drill_id""",
                (message_id, _utc(now), item_id),
            )
            if row is not None and row[0] == OutboxKind.POST.value and message_id is not None:
                await conn.execute(
                    f"""UPDATE drills SET message_id = ?, updated_at = ?,
                           state = CASE WHEN state IN ('pending', 'posting', 'failed')
                                        THEN 'open' ELSE state END
                       WHERE id = ?
                         AND (state NOT IN ('pending', 'posting', 'failed') OR {_NO_OTHER_LIVE})""",
                    (message_id, _ts(now), row[1]),
                )

    async def _release_drill(
        self, conn: Connection, item_id: int, state: str, now: datetime
    ) -> None:
        """Take a post's drill out of 'open' when no attempt can have reached the
        platform (the row was never unsure) and nobody answered it."""
        await conn.execute(
            """UPDATE drills SET state = ?, updated_at = ?
               WHERE id = (SELECT drill_id FROM outbox WHERE id = ? AND kind = 'post'
                           AND unsure = 0)
                 AND state IN ('open', 'pending') AND message_id IS NULL
                 AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.drill_id = drills.id)""",
            (state, _ts(now), item_id),
        )

    async def retry_outbox(
        self, item_id: int, error: str, next_attempt_at: datetime, now: datetime, *, unsure: bool
    ) -> None:
        """Back to 'pending' after a transient error, due again at `next_attempt_at`."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = ?,
                       unsure = CASE WHEN unsure = 1 OR ? THEN 1 ELSE 0 END,
                       failing_since = coalesce(failing_since, ?),
                       claimed_at = NULL
                   WHERE id = ? AND state = 'sending'""",
                (_utc(next_attempt_at), error[:500], unsure, _utc(now), item_id),
            )
            if cursor.rowcount == 1:
                await self._release_drill(conn, item_id, DrillState.PENDING.value, now)

    async def kill_outbox(
        self,
        item_id: int,
        error: str,
        now: datetime,
        *,
        unsure: bool,
        dm_key: str | None,
        drill_state: DrillState,
        from_states: Sequence[OutboxState] = (OutboxState.SENDING,),
    ) -> bool:
        """Stop delivering a row ('dead'); a post's drill moves to `drill_state` (failed,
        or pending when an admin is told by the reply) unless its post may be out; with
        `dm_key`, one admin DM row about it is written in the same transaction."""
        marks = ",".join("?" for _ in from_states)
        async with self.db.transaction() as conn:
            row = await self._one(
                conn,
                f"""UPDATE outbox SET state = 'dead', last_error = ?, done_at = ?,
                        unsure = CASE WHEN unsure = 1 OR ? THEN 1 ELSE 0 END, claimed_at = NULL
                    WHERE id = ? AND state IN ({marks}) RETURNING channel_id""",
                (error[:500], _utc(now), unsure, item_id, *(s.value for s in from_states)),
            )
            if row is None:
                return False
            await self._release_drill(conn, item_id, drill_state.value, now)
            if dm_key is not None:
                await self._enqueue(conn, dm_key, OutboxKind.DM, row[0], now, detail=error)
            return True

    async def fail_unposted_drill(
        self, drill_id: int, reason: str, now: datetime, dm_key: str
    ) -> bool:
        """Give up on a drill that has no post row yet (claimed, never queued): mark it
        failed and write the admin DM row, in one transaction."""
        async with self.db.transaction() as conn:
            row = await self._one(
                conn,
                """UPDATE drills SET state = 'failed', updated_at = ?
                   WHERE id = ? AND state IN ('pending', 'posting') RETURNING channel_id""",
                (_ts(now), drill_id),
            )
            if row is None:
                return False
            await self._enqueue(
                conn, dm_key, OutboxKind.DM, row[0], now, drill_id=drill_id, detail=reason
            )
            return True

    async def schedule_of(self, channel: ChannelRef) -> ChannelSchedule:
        """The channel's stored next post and weekly-board instants."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                """SELECT next_post_at, next_weekly_at FROM channels
                   WHERE platform = ? AND workspace_id = ? AND channel_id = ?""",
                (channel.platform, channel.workspace_id, channel.channel_id),
            )
        return ChannelSchedule(_dt(row[0]), _dt(row[1])) if row else ChannelSchedule(None, None)

    # --- members' rights: /quiz export and /quiz forget-me ---------------------------------

    # The tables whose rows `member_data` reads by name; any other table with a member_id
    # column (one a later migration adds) is exported as it is stored, and every one of
    # them is emptied of the member by `forget_member`.
    _KNOWN_MEMBER_TABLES = frozenset(
        {"attempts", "score_totals", "topic_stats", "streaks", "group_members"}
    )
    # Slack's installation store (0002) keeps the installing user's id: their install
    # record goes with them; the workspace's bot token is kept apart and stays.
    _SLACK = "slack"

    @staticmethod
    def _quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    async def member_data(self, member: MemberRef) -> MemberData:
        """Everything stored about the member in its workspace, read in one snapshot."""
        async with self.db.snapshot() as conn:
            row = await self._one(
                conn,
                """SELECT id, display_name, created_at FROM members
                   WHERE platform = ? AND workspace_id = ? AND user_id = ?""",
                (member.platform, member.workspace_id, member.user_id),
            )
            setup = await self._all(
                conn,
                """SELECT channel_id FROM channels
                   WHERE platform = ? AND workspace_id = ? AND admin_user_id = ? ORDER BY id""",
                (member.platform, member.workspace_id, member.user_id),
            )
            installs = await self._slack_installs(conn, member, "installed_at")
            if row is None:
                return MemberData(
                    member,
                    None,
                    setup_channels=tuple(r[0] for r in setup),
                    slack_installs=tuple(datetime.fromisoformat(r[0]) for r in installs),
                )
            member_id = row["id"]
            attempts = await self._all(
                conn,
                """SELECT a.question_id, a.topic, a.answer, a.normalized, a.answered_at,
                          a.latency_ms, c.channel_id, d.local_date, a.counted, a.verdict,
                          a.score, a.points
                   FROM attempts a LEFT JOIN drills d ON d.id = a.drill_id
                   LEFT JOIN channels c ON c.id = d.channel_id
                   WHERE a.member_id = ? ORDER BY a.answered_at, a.id""",
                (member_id,),
            )
            totals = await self._all(
                conn,
                """SELECT period, period_key, points, answered, correct FROM score_totals
                   WHERE member_id = ? ORDER BY period, period_key""",
                (member_id,),
            )
            topics = await self._all(
                conn,
                """SELECT topic, answered, correct FROM topic_stats
                   WHERE member_id = ? ORDER BY topic""",
                (member_id,),
            )
            streaks = await self._all(
                conn,
                """SELECT c.channel_id, s.current, s.best, s.last_date, s.freezes
                   FROM streaks s JOIN channels c ON c.id = s.channel_id
                   WHERE s.member_id = ? ORDER BY c.channel_id""",
                (member_id,),
            )
            groups = await self._all(
                conn,
                """SELECT g.name, gm.joined_at, g.created_by = gm.member_id
                   FROM group_members gm JOIN study_groups g ON g.id = gm.group_id
                   WHERE gm.member_id = ? ORDER BY g.name_key""",
                (member_id,),
            )
            extra = []
            for table in await self.db.member_tables(conn):
                if table in self._KNOWN_MEMBER_TABLES:
                    continue
                rows = await self._all(
                    conn, f"SELECT * FROM {self._quoted(table)} WHERE member_id = ?", (member_id,)
                )
                if rows:
                    kept = tuple(
                        tuple(
                            (key, value)
                            for key, value in zip(r.keys(), r, strict=True)
                            if key != "member_id"
                        )
                        for r in rows
                    )
                    extra.append(ExtraRows(table, kept))
        return MemberData(
            member=replace(member, display_name=row["display_name"] or member.display_name),
            first_seen=datetime.fromisoformat(row["created_at"]),
            attempts=tuple(self._attempt_record(r) for r in attempts),
            totals=tuple(ScoreTotal(Period(r[0]), r[1], r[2], r[3], r[4]) for r in totals),
            topics=tuple(TopicStat(r[0], r[1], r[2]) for r in topics),
            streaks=tuple(
                StreakRecord(r[0], r[1], r[2], date.fromisoformat(r[3]), r[4]) for r in streaks
            ),
            groups=tuple(
                GroupMembership(r[0], datetime.fromisoformat(r[1]), bool(r[2])) for r in groups
            ),
            setup_channels=tuple(r[0] for r in setup),
            slack_installs=tuple(datetime.fromisoformat(r[0]) for r in installs),
            extra=tuple(extra),
        )

    @staticmethod
    def _attempt_record(row: Row) -> AttemptRecord:
        pending = not row["counted"]
        return AttemptRecord(
            question_id=row["question_id"],
            topic=row["topic"],
            answer=row["answer"],
            normalized=row["normalized"],
            answered_at=datetime.fromisoformat(row["answered_at"]),
            latency_ms=row["latency_ms"],
            channel_id=row["channel_id"],
            drill_date=date.fromisoformat(row["local_date"]) if row["local_date"] else None,
            pending=pending,
            verdict=None if pending else Verdict(row["verdict"]),
            score=None if pending else row["score"],
            points=None if pending else row["points"],
        )

    async def _slack_installs(
        self, conn: Connection, member: MemberRef, columns: str
    ) -> Iterable[Row]:
        if member.platform != self._SLACK:
            return ()
        return await self._all(
            conn,
            f"""SELECT {columns} FROM slack_installations WHERE team_id = ? AND user_id = ?
                ORDER BY installed_at""",
            (member.workspace_id, member.user_id),
        )

    async def forget_member(self, member: MemberRef) -> Forgotten:
        """Delete every row holding the member's id in its workspace, in one transaction.

        Attempts go first, so the delete triggers (0010) take them out of score_totals,
        topic_stats and, through those, the points histogram: the others' boards, ranks
        and weekly boards read what a recomputation from the remaining attempts gives.
        Then group memberships (a group left empty goes, as when its last member leaves),
        every other table with a member_id column, the member row, the channels' record
        of who ran setup, and a Slack install record of theirs. A second call finds
        nothing and returns all zeros.
        """
        async with self.db.transaction() as conn:
            member_id = await self._member_id(conn, member)
            attempts = groups = rows = 0
            if member_id is not None:
                cursor = await conn.execute(
                    "DELETE FROM attempts WHERE member_id = ?", (member_id,)
                )
                attempts = cursor.rowcount
                joined = await self._all(
                    conn, "SELECT group_id FROM group_members WHERE member_id = ?", (member_id,)
                )
                cursor = await conn.execute(
                    "DELETE FROM group_members WHERE member_id = ?", (member_id,)
                )
                groups = cursor.rowcount
                await conn.executemany(
                    """DELETE FROM study_groups WHERE id = ?
                       AND NOT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?)""",
                    [(g[0], g[0]) for g in joined],
                )
                cursor = await conn.execute(
                    "UPDATE study_groups SET created_by = NULL WHERE created_by = ?", (member_id,)
                )
                rows += cursor.rowcount
                for table in await self.db.member_tables(conn):
                    cursor = await conn.execute(
                        f"DELETE FROM {self._quoted(table)} WHERE member_id = ?", (member_id,)
                    )
                    rows += cursor.rowcount
                cursor = await conn.execute("DELETE FROM members WHERE id = ?", (member_id,))
                rows += cursor.rowcount
            cursor = await conn.execute(
                """UPDATE channels SET admin_user_id = NULL
                   WHERE platform = ? AND workspace_id = ? AND admin_user_id = ?""",
                (member.platform, member.workspace_id, member.user_id),
            )
            rows += cursor.rowcount
            if member.platform == self._SLACK:
                cursor = await conn.execute(
                    "DELETE FROM slack_installations WHERE team_id = ? AND user_id = ?",
                    (member.workspace_id, member.user_id),
                )
                rows += cursor.rowcount
        log.info(  # no user id: the log must not keep what was just forgotten
            "forgot a member of %s/%s: %d attempts, %d groups, %d rows",
            member.platform,
            member.workspace_id,
            attempts,
            groups,
            rows + attempts + groups,
        )
        return Forgotten(member, attempts, groups, rows + attempts + groups)

    # --- practice sessions and FSRS review cards (migration 0011) --------------------------

    async def _review_card(
        self,
        conn: Connection,
        member_id: int,
        question_id: str,
        review: CardReview,
        stamp: str,
    ) -> ReviewedCard:
        """Read the member's card, review it, write it back: inside the caller's
        transaction, so no other writer sees or changes it in between."""
        row = await self._one(
            conn,
            """SELECT coalesce(pending_card, card) FROM review_cards
               WHERE member_id = ? AND question_id = ?""",
            (member_id, question_id),
        )
        reviewed = review(row[0] if row else None)
        await conn.execute(*_card_write(member_id, question_id, reviewed, stamp, held=False))
        return reviewed

    @staticmethod
    async def _land_held_reviews(conn: Connection, drill_id: int) -> None:
        """The close of an at_close drill: the pending reviews of its uncounted attempts
        become the cards (before the attempts are counted, in the same transaction)."""
        await conn.execute(
            """UPDATE review_cards SET card = pending_card, due_at = pending_due,
                   pending_card = NULL, pending_due = NULL, reviews = reviews + 1
               WHERE pending_card IS NOT NULL
                 AND (member_id, question_id) IN (
                     SELECT member_id, question_id FROM attempts
                     WHERE drill_id = ? AND counted = 0)""",
            (drill_id,),
        )

    async def member_cards(self, member: MemberRef) -> list[tuple[str, datetime]]:
        """The member's cards as (question id, due instant), soonest due first (a card
        whose only review is still held back by an at_close drill is not one yet)."""
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT r.question_id, r.due_at FROM review_cards r
                   JOIN members m ON m.id = r.member_id
                   WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?
                     AND r.due_at IS NOT NULL
                   ORDER BY r.due_at, r.question_id""",
                (member.platform, member.workspace_id, member.user_id),
            )
        return [(row[0], datetime.fromisoformat(row[1])) for row in rows]

    async def card_of(self, member: MemberRef, question_id: str) -> str | None:
        """The member's card for one question as stored (Card.to_json()), if any."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                """SELECT r.card FROM review_cards r JOIN members m ON m.id = r.member_id
                   WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?
                     AND r.question_id = ?""",
                (member.platform, member.workspace_id, member.user_id, question_id),
            )
        return row[0] if row else None

    async def review_summary(self, member: MemberRef, until: datetime) -> CardsDue:
        """Cards due before `until`, and the first due instant from `until` on."""
        async with self.db.reading() as conn:
            row = await self._single(
                conn,
                """SELECT count(CASE WHEN r.due_at < :until THEN 1 END),
                          min(CASE WHEN r.due_at >= :until THEN r.due_at END)
                   FROM review_cards r JOIN members m ON m.id = r.member_id
                   WHERE m.platform = :platform AND m.workspace_id = :workspace
                     AND m.user_id = :user""",
                {
                    "until": _utc(until),
                    "platform": member.platform,
                    "workspace": member.workspace_id,
                    "user": member.user_id,
                },
            )
        return CardsDue(row[0], _dt(row[1]))

    async def practice_goal(self, member: MemberRef) -> int | None:
        """The member's daily practice goal; None for a member not stored yet."""
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                """SELECT practice_goal FROM members
                   WHERE platform = ? AND workspace_id = ? AND user_id = ?""",
                (member.platform, member.workspace_id, member.user_id),
            )
        return row[0] if row else None

    async def set_practice_goal(self, member: MemberRef, goal: int, now: datetime) -> None:
        async with self.db.transaction() as conn:
            member_id = await self._upsert_member(conn, member, _ts(now))
            await conn.execute(
                "UPDATE members SET practice_goal = ? WHERE id = ?", (goal, member_id)
            )

    async def live_questions(self, workspace: ChannelRef) -> set[str]:
        """Questions of the workspace's daily drills that are still live: practice must
        not show a question before its channel's reveal."""
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                f"""SELECT DISTINCT d.question_id FROM drills d
                    JOIN channels c ON c.id = d.channel_id
                    WHERE d.state IN {_LIVE} AND c.platform = ? AND c.workspace_id = ?""",
                (workspace.platform, workspace.workspace_id),
            )
        return {row[0] for row in rows}

    async def _practice(
        self, conn: Connection, member: MemberRef, session_id: int
    ) -> PracticeSession:
        head = await self._single(
            conn,
            "SELECT id, topic, state, started_at, asked_at FROM practice_sessions WHERE id = ?",
            (session_id,),
        )
        rows = await self._all(
            conn,
            """SELECT position, question_id, topic, review, verdict, answered_at
               FROM practice_items WHERE session_id = ? ORDER BY position""",
            (session_id,),
        )
        items = tuple(
            PracticeItem(
                position=row[0],
                question_id=row[1],
                topic=row[2],
                review=bool(row[3]),
                verdict=Verdict(row[4]) if row[4] else None,
                answered_at=_dt(row[5]),
            )
            for row in rows
        )
        return PracticeSession(
            id=head[0],
            member=member,
            topic=head[1],
            state=PracticeState(head[2]),
            started_at=datetime.fromisoformat(head[3]),
            asked_at=datetime.fromisoformat(head[4]),
            items=items,
        )

    async def _open_practice_id(self, conn: Connection, member: MemberRef) -> int | None:
        row = await self._one(
            conn,
            """SELECT s.id FROM practice_sessions s JOIN members m ON m.id = s.member_id
               WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?
                 AND s.state = 'open'""",
            (member.platform, member.workspace_id, member.user_id),
        )
        return row[0] if row else None

    async def open_practice(self, member: MemberRef) -> PracticeSession | None:
        async with self.db.reading() as conn:
            session_id = await self._open_practice_id(conn, member)
            return await self._practice(conn, member, session_id) if session_id else None

    async def start_practice(
        self,
        member: MemberRef,
        topic: str | None,
        picks: Sequence[PracticePick],
        now: datetime,
        *,
        restart: bool,
    ) -> StartedPractice:
        """Start a session with these questions, or return the open one (created=False).
        `restart` stops the open session first, in the same transaction; the
        practice_one_open index keeps one open session whoever starts at the same time."""
        stamp = _utc(now)
        async with self.db.transaction() as conn:
            member_id = await self._upsert_member(conn, member, stamp)
            if restart:
                await conn.execute(
                    """UPDATE practice_sessions SET state = 'stopped', finished_at = ?
                       WHERE member_id = ? AND state = 'open'""",
                    (stamp, member_id),
                )
            row = await self._one(
                conn,
                """INSERT INTO practice_sessions (member_id, topic, state, started_at, asked_at)
                   VALUES (?, ?, 'open', ?, ?)
                   ON CONFLICT (member_id) WHERE state = 'open' DO NOTHING
                   RETURNING id""",
                (member_id, topic, stamp, stamp),
            )
            if row is None:  # the open session the index kept this one from joining
                session_id = await self._open_practice_id(conn, member)
                assert session_id is not None, "the conflicting session is open"
                return StartedPractice(await self._practice(conn, member, session_id), False)
            await conn.executemany(
                """INSERT INTO practice_items (session_id, position, question_id, topic, review)
                   VALUES (?, ?, ?, ?, ?)""",
                [
                    (row[0], position, pick.question_id, pick.topic, int(pick.review))
                    for position, pick in enumerate(picks, start=1)
                ],
            )
            return StartedPractice(await self._practice(conn, member, row[0]), True)

    async def answer_practice(
        self,
        session: PracticeSession,
        position: int,
        answer: str,
        grade: Grade,
        latency_ms: int,
        review: CardReview,
        now: datetime,
    ) -> AnsweredPractice:
        """Store the answer to one item and review its card, in one transaction; the
        session is done with its last item. Only an open session's unanswered item takes
        an answer: a repeat (a double submit) gets (the session as it is, None)."""
        stamp = _utc(now)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """UPDATE practice_items SET answer = ?, normalized = ?, verdict = ?, score = ?,
                       latency_ms = ?, answered_at = ?
                   WHERE session_id = ? AND position = ? AND answered_at IS NULL
                     AND (SELECT state FROM practice_sessions WHERE id = ?) = 'open'""",
                (
                    answer,
                    grade.normalized,
                    grade.verdict.value,
                    grade.score,
                    latency_ms,
                    stamp,
                    session.id,
                    position,
                    session.id,
                ),
            )
            reviewed = None
            if cursor.rowcount == 1:
                item = await self._single(
                    conn,
                    """SELECT i.question_id, s.member_id FROM practice_items i
                       JOIN practice_sessions s ON s.id = i.session_id
                       WHERE i.session_id = ? AND i.position = ?""",
                    (session.id, position),
                )
                reviewed = await self._review_card(conn, item[1], item[0], review, stamp)
                await conn.execute(
                    "UPDATE practice_items SET rating = ? WHERE session_id = ? AND position = ?",
                    (reviewed.rating, session.id, position),
                )
                await conn.execute(
                    """UPDATE practice_sessions SET asked_at = :now,
                           state = CASE WHEN EXISTS (SELECT 1 FROM practice_items
                                                     WHERE session_id = :id
                                                       AND answered_at IS NULL)
                                        THEN 'open' ELSE 'done' END,
                           finished_at = CASE WHEN EXISTS (SELECT 1 FROM practice_items
                                                           WHERE session_id = :id
                                                             AND answered_at IS NULL)
                                              THEN NULL ELSE :now END
                       WHERE id = :id""",
                    {"now": stamp, "id": session.id},
                )
            return AnsweredPractice(
                await self._practice(conn, session.member, session.id), reviewed
            )

    async def touch_practice(self, session_id: int, now: datetime) -> None:
        """The current question was shown again (a resume): its speed counts from now."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE practice_sessions SET asked_at = ? WHERE id = ? AND state = 'open'",
                (_utc(now), session_id),
            )

    async def stop_practice(self, member: MemberRef, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """UPDATE practice_sessions SET state = 'stopped', finished_at = ?
                   WHERE state = 'open' AND member_id = (
                       SELECT id FROM members
                       WHERE platform = ? AND workspace_id = ? AND user_id = ?)""",
                (_ts(now), member.platform, member.workspace_id, member.user_id),
            )
            return cursor.rowcount == 1

    async def practised_since(self, member: MemberRef, since: datetime) -> int:
        """Practice answers the member gave from `since` on (today's, for the goal)."""
        async with self.db.reading() as conn:
            row = await self._single(
                conn,
                """SELECT count(*) FROM practice_items i
                   JOIN practice_sessions s ON s.id = i.session_id
                   JOIN members m ON m.id = s.member_id
                   WHERE m.platform = ? AND m.workspace_id = ? AND m.user_id = ?
                     AND i.answered_at >= ?""",
                (member.platform, member.workspace_id, member.user_id, _utc(since)),
            )
        return row[0]

    # --- reports and disputes (question_reports, migration 0012) -------------------------

    async def latest_reportable_drill(self, channel: ChannelRef) -> Drill | None:
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                f"""SELECT {_DRILL_COLUMNS} FROM drills d JOIN channels c ON c.id = d.channel_id
                    WHERE c.platform = ? AND c.workspace_id = ? AND c.channel_id = ?
                      AND d.state IN ('open', 'closed')
                    ORDER BY d.local_date DESC, d.id DESC LIMIT 1""",
                (channel.platform, channel.workspace_id, channel.channel_id),
            )
        return _drill(row) if row else None

    async def add_report(
        self, member: MemberRef, drill: Drill, reason: ReportReason, text: str, now: datetime
    ) -> ReportFiled:
        """The unique (question, member) key keeps the first report: a repeat, from any
        process, inserts nothing and gets the first one back."""
        async with self.db.transaction() as conn:
            member_id = await self._upsert_member(conn, member, _ts(now))
            row = await self._one(
                conn,
                """INSERT INTO question_reports (question_id, member_id, drill_id, reason, text,
                                                 created_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (question_id, member_id) DO NOTHING RETURNING id, reason""",
                (drill.question_id, member_id, drill.id, reason.value, text, _ts(now)),
            )
            created = row is not None
            if row is None:
                row = await self._single(
                    conn,
                    """SELECT id, reason FROM question_reports
                       WHERE question_id = ? AND member_id = ?""",
                    (drill.question_id, member_id),
                )
        return ReportFiled(row["id"], drill.question_id, ReportReason(row["reason"]), created)

    _REPORT_COLUMNS = """
        r.id, r.question_id, r.drill_id, d.local_date, r.reason, r.text, r.state, r.created_at,
        coalesce(nullif(m.display_name, ''), m.user_id) AS reporter
    """
    _REPORT_FROM = """
        question_reports r JOIN members m ON m.id = r.member_id
        JOIN drills d ON d.id = r.drill_id JOIN channels c ON c.id = d.channel_id
        WHERE c.platform = ? AND c.workspace_id = ? AND c.channel_id = ?
    """

    @staticmethod
    def _report(row: Row) -> QuestionReport:
        return QuestionReport(
            id=row["id"],
            question_id=row["question_id"],
            drill_id=row["drill_id"],
            local_date=date.fromisoformat(row["local_date"]) if row["local_date"] else None,
            reporter=row["reporter"],
            reason=ReportReason(row["reason"]),
            text=row["text"],
            state=ReportState(row["state"]),
            created_at=datetime.fromisoformat(row["created_at"]),
        )

    async def open_reports(self, channel: ChannelRef) -> list[QuestionReport]:
        """Open reports on the channel's drills, grouped by question, oldest first."""
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                f"""SELECT {self._REPORT_COLUMNS} FROM {self._REPORT_FROM}
                      AND r.state = 'open'
                    ORDER BY (SELECT min(o.id) FROM question_reports o
                              WHERE o.question_id = r.question_id AND o.state = 'open'), r.id""",
                (channel.platform, channel.workspace_id, channel.channel_id),
            )
        return [self._report(row) for row in rows]

    async def get_report(self, channel: ChannelRef, report_id: int) -> QuestionReport | None:
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                f"SELECT {self._REPORT_COLUMNS} FROM {self._REPORT_FROM} AND r.id = ?",
                (channel.platform, channel.workspace_id, channel.channel_id, report_id),
            )
        return self._report(row) if row else None

    async def drill_attempts(self, drill_id: int) -> list[AttemptRow]:
        async with self.db.reading() as conn:
            rows = await self._all(
                conn,
                """SELECT id, answer, verdict, points, latency_ms FROM attempts
                   WHERE drill_id = ? ORDER BY id""",
                (drill_id,),
            )
        return [AttemptRow(row[0], row[1], Verdict(row[2]), row[3], row[4]) for row in rows]

    async def resolve_report(
        self,
        report_id: int,
        state: ReportState,
        note: str,
        now: datetime,
        regrades: Sequence[Regrade],
        *,
        voided: bool,
    ) -> int | None:
        """One transaction: the report's conditional move out of 'open', the attempts'
        new grading (the 0012 triggers correct score_totals, topic_stats and through them
        the histogram) and one 'dm' row per changed member, keyed
        dm:regraded:{drill}:{member} so a member hears once per drill. An attempt changes
        only if it still has the grading it was regraded from (forget-me or another
        resolve in between leaves it alone)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """UPDATE question_reports SET state = ?, resolved_at = ?, resolution_note = ?
                   WHERE id = ? AND state = 'open'""",
                (state.value, _ts(now), note or None, report_id),
            )
            if cursor.rowcount != 1:
                return None
            changed = 0
            for regrade in regrades:
                row = await self._one(
                    conn,
                    """UPDATE attempts SET verdict = ?, score = ?, points = ?
                       WHERE id = ? AND verdict = ? AND points = ?
                       RETURNING drill_id, member_id""",
                    (
                        regrade.verdict.value,
                        regrade.score,
                        regrade.points,
                        regrade.attempt_id,
                        regrade.before_verdict.value,
                        regrade.before_points,
                    ),
                )
                if row is None:
                    continue
                changed += 1
                detail = json.dumps({"points": regrade.before_points, "voided": voided})
                await conn.execute(
                    """INSERT INTO outbox (key, kind, channel_id, drill_id, member_id, detail,
                                           next_attempt_at, created_at)
                       SELECT ?, 'dm', d.channel_id, d.id, ?, ?, ?, ? FROM drills d
                       WHERE d.id = ? ON CONFLICT (key) DO NOTHING""",
                    (
                        f"dm:regraded:{row[0]}:{row[1]}",
                        row[1],
                        detail,
                        _utc(now),
                        _utc(now),
                        row[0],
                    ),
                )
        return changed

    async def member_attempt(self, drill_id: int, user_id: str) -> MemberGrade | None:
        async with self.db.reading() as conn:
            row = await self._one(
                conn,
                """SELECT a.verdict, a.points FROM attempts a JOIN members m ON m.id = a.member_id
                   JOIN drills d ON d.id = a.drill_id JOIN channels c ON c.id = d.channel_id
                   WHERE a.drill_id = ? AND m.user_id = ?
                     AND m.platform = c.platform AND m.workspace_id = c.workspace_id""",
                (drill_id, user_id),
            )
        return MemberGrade(Verdict(row[0]), row[1]) if row else None
