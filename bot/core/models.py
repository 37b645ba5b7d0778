"""Frozen value objects shared by the core, the storage layer and the adapters."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.core.kinds.names import Kind as Kind  # defined with the kinds, re-exported here

LETTERS = "ABCDEF"


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class Verdict(StrEnum):
    GOOD = "good"
    PARTIAL = "partial"
    WRONG = "wrong"


class RevealMode(StrEnum):
    IMMEDIATE = "immediate"
    AT_CLOSE = "at_close"


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


class DrillState(StrEnum):
    """pending (post row written) -> open (its post may be out: answers are taken) ->
    closed; open -> pending when an attempt surely did not reach the platform; -> failed
    when an unattended post is given up. 'posting' is kept only for old rows."""

    PENDING = "pending"
    POSTING = "posting"
    OPEN = "open"
    CLOSED = "closed"
    FAILED = "failed"


# --- the bank -----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    text: str
    why: str
    correct: bool = False


@dataclass(frozen=True)
class KeyPoint:
    """A claim an open answer should make (or, as a misconception, must not make)."""

    point: str
    subject: tuple[str, ...]
    claim: tuple[str, ...]
    none: tuple[str, ...] = ()


@dataclass(frozen=True)
class Example:
    label: Verdict
    answer: str


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    kind: Kind
    difficulty: Difficulty
    prompt: str
    explanation: str
    source: str
    tags: tuple[str, ...] = ()
    week: int | None = None
    pack: str = ""
    # choice, multi
    choices: tuple[Choice, ...] = ()
    # short
    answers: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    # numeric
    answer: float | None = None
    tolerance: float = 0.0
    percent: bool = False
    # open
    reference: str = ""
    key_points: tuple[KeyPoint, ...] = ()
    misconceptions: tuple[KeyPoint, ...] = ()
    examples: tuple[Example, ...] = ()

    @property
    def correct_letter(self) -> str | None:
        for index, choice in enumerate(self.choices):
            if choice.correct:
                return LETTERS[index]
        return None

    @property
    def correct_letters(self) -> str:
        return "".join(LETTERS[i] for i, choice in enumerate(self.choices) if choice.correct)

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.choices)]

    @property
    def content_hash(self) -> str:
        """Changes whenever anything a member sees or is graded on changes."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one answer; `score` is 0..1, `correct` means full marks."""

    verdict: Verdict
    score: float
    normalized: str
    matched: str = ""
    covered: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()
    misconceptions: tuple[str, ...] = ()

    @property
    def correct(self) -> bool:
        return self.verdict is Verdict.GOOD


# --- who and where ---------------------------------------------------------------


@dataclass(frozen=True)
class MemberRef:
    platform: str
    workspace_id: str
    user_id: str
    display_name: str = ""

    @property
    def name(self) -> str:
        return self.display_name or self.user_id


@dataclass(frozen=True)
class ChannelRef:
    platform: str
    workspace_id: str
    channel_id: str


@dataclass(frozen=True)
class ChannelSettings:
    channel: ChannelRef
    post_time: str = "09:00"
    close_time: str | None = "17:00"
    timezone: str = "UTC"
    topics: tuple[str, ...] = ()
    reveal: RevealMode = RevealMode.IMMEDIATE
    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    paused: bool = False
    skip_date: date | None = None
    admin_user_id: str | None = None


# --- drills and answers -------------------------------------------------------------


@dataclass(frozen=True)
class Drill:
    id: int
    channel: ChannelRef
    local_date: date
    question_id: str
    state: DrillState
    opened_at: datetime
    closes_at: datetime | None = None
    closed_at: datetime | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class DrillPost:
    """What a publisher shows when a drill opens."""

    drill: Drill
    question: Question
    settings: ChannelSettings


@dataclass(frozen=True)
class Attempt:
    member: MemberRef
    question_id: str
    answer: str
    grade: Grade
    points: int
    answered_at: datetime
    latency_ms: int
    drill_id: int | None = None


@dataclass(frozen=True)
class AnswerResult:
    attempt: Attempt
    question: Question
    reveal_now: bool
    streak: int


@dataclass(frozen=True)
class AnswerCount:
    """How many attempts at a drill share one normalised answer and verdict."""

    normalized: str
    verdict: Verdict
    count: int


@dataclass(frozen=True)
class ChoiceCount:
    label: str
    count: int
    correct: bool


@dataclass(frozen=True)
class DrillResult:
    """The reveal: the answer key, how the channel answered and who was fastest."""

    drill: Drill
    question: Question
    answered: int
    correct: int
    distribution: tuple[ChoiceCount, ...]
    fastest: tuple[tuple[str, int], ...]  # (display name, latency ms), fastest first


# --- stats and boards -----------------------------------------------------------------


@dataclass(frozen=True)
class TopicStat:
    topic: str
    answered: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class ReviewSummary:
    """A member's FSRS cards as /quiz stats shows them: how many are due by the end of
    today, and the first due instant after today (None when no card is due later)."""

    due_today: int
    next_due: datetime | None
    timezone: str = "UTC"


@dataclass(frozen=True)
class MemberStats:
    member: MemberRef
    answered: int
    correct: int
    points: int
    rank: int | None
    ranked_members: int
    current_streak: int
    best_streak: int
    topics: tuple[TopicStat, ...] = field(default=())
    reviews: ReviewSummary | None = None

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class BoardEntry:
    rank: int
    user_id: str
    display_name: str
    points: int
    answered: int
    correct: int


@dataclass(frozen=True)
class GroupStanding:
    name: str
    points: int
    members: int


@dataclass(frozen=True)
class Leaderboard:
    period: Period
    period_key: str
    group: str | None
    entries: tuple[BoardEntry, ...]
    caller: BoardEntry | None
    total_members: int
    # Filled only for the weekly board a channel gets at the end of its week.
    groups: tuple[GroupStanding, ...] = ()
    most_improved: tuple[str, int] | None = None  # (display name, points gained)


@dataclass(frozen=True)
class Group:
    name: str
    members: int


# --- delivery -------------------------------------------------------------------------


class OutboxKind(StrEnum):
    POST = "post"
    REVEAL = "reveal"
    BOARD = "board"
    WEEKLY = "weekly"
    DM = "dm"
    REMINDER = "reminder"


class OutboxState(StrEnum):
    """pending -> sending -> done | dead; sending -> pending on a transient error.
    The whole machine is described in migrations/0006_outbox.sql."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    DEAD = "dead"


@dataclass(frozen=True)
class OutboxItem:
    """One outbound effect as stored: ids to render from, never rendered text."""

    id: int
    key: str
    effect: OutboxKind  # what the row delivers (its column is `kind`)
    channel: ChannelRef
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    drill_id: int | None = None
    week_key: str | None = None
    detail: str | None = None  # a DM's reason
    unsure: bool = False  # the platform may already have it: look before sending again
    claimed_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str | None = None
    message_id: str | None = None
    done_at: datetime | None = None


@dataclass(frozen=True)
class PostClaim:
    """What claiming a channel's post did: the drill (None when another process won the
    schedule), whether this call made the post row, and that row."""

    drill: Drill | None
    created: bool = False
    post: OutboxItem | None = None


@dataclass(frozen=True)
class DeliveryAttempt:
    """How waiting for one row ended: the row as it then stood, whether another process
    sent it (or is sending it), and whether the wait ran out first."""

    item: OutboxItem
    elsewhere: bool = False
    timed_out: bool = False


# --- practice and spaced repetition ----------------------------------------------------


@dataclass(frozen=True)
class ReviewedCard:
    """An FSRS card after a review: py-fsrs's Card.to_json(), its due instant, the rating."""

    card: str
    due: datetime
    rating: int


class PracticeState(StrEnum):
    OPEN = "open"
    DONE = "done"
    STOPPED = "stopped"


@dataclass(frozen=True)
class PracticeItem:
    """One question of a practice session; the answer fields are None until answered."""

    position: int
    question_id: str
    topic: str
    review: bool
    verdict: Verdict | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class PracticeSession:
    id: int
    member: MemberRef
    topic: str | None
    state: PracticeState
    started_at: datetime
    asked_at: datetime
    items: tuple[PracticeItem, ...]

    @property
    def current(self) -> PracticeItem | None:
        """The first unanswered item: the question the member is on."""
        return next((item for item in self.items if item.answered_at is None), None)

    @property
    def answered(self) -> int:
        return sum(item.answered_at is not None for item in self.items)

    def count(self, verdict: Verdict) -> int:
        return sum(item.verdict is verdict for item in self.items)


@dataclass(frozen=True)
class PracticeAnswer:
    """One graded practice answer: what the feedback shows, and the card's next due."""

    question: Question
    answer: str
    grade: Grade
    rating: int
    next_due: datetime
    comes_back_in: timedelta


@dataclass(frozen=True)
class PracticeTurn:
    """What a practice command shows: the feedback on an answer (if one was given), then
    the next question, or the summary once the session is done."""

    session: PracticeSession
    answered: PracticeAnswer | None = None
    question: Question | None = None
    resumed: bool = False
    reviews: ReviewSummary | None = None
    goal: int = 8
    practised_today: int = 0
