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


class StudyPlan(StrEnum):
    """The 4-week interview study plan a channel follows (`/quiz setup plan:`):
    `4-week` starts again at week 1 after week 4, `4-week-once` then asks all topics."""

    NONE = "none"
    REPEAT = "4-week"
    ONCE = "4-week-once"


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
    part: str = ""  # which asked-for part of the prompt it answers ("" for none)


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
    plan: StudyPlan = StudyPlan.NONE
    plan_start: date | None = None  # the local date week 1 begins; set with a plan


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
class Streak:
    """Drill days answered in a row, the best run, and the freezes held for missed days."""

    current: int
    best: int
    freezes: int = 0


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
    freezes: int = 0
    reviews: ReviewSummary | None = None
    weeks: tuple[WeekPoints, ...] = ()  # the last CHART_WEEKS weeks, oldest first

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class WeekPoints:
    """Daily-drill points of one ISO week (`2025-W03`), for the progress chart."""

    week_key: str
    points: int


@dataclass(frozen=True)
class BoardEntry:
    rank: int
    user_id: str
    display_name: str
    points: int
    answered: int
    correct: int


@dataclass(frozen=True)
class BoardPage:
    """A board as stored: its top entries, the caller's own entry (None when unranked),
    and how many members are ranked."""

    entries: tuple[BoardEntry, ...]
    caller: BoardEntry | None
    ranked: int


@dataclass(frozen=True)
class StoredAttempt:
    """An answer as record_attempt left it: the attempt stored (for a repeat, the first
    one), whether this call stored it, and the member's streak in the drill's channel
    (0 for a practice answer or a repeat)."""

    attempt: Attempt
    created: bool
    streak: int


@dataclass(frozen=True)
class DrillAndSettings:
    drill: Drill
    settings: ChannelSettings


@dataclass(frozen=True)
class ChannelSchedule:
    """A channel's stored next post and weekly-board instants (None: none scheduled)."""

    next_post_at: datetime | None
    next_weekly_at: datetime | None


@dataclass(frozen=True)
class CardsDue:
    """Review cards due before an instant, and the first due from it on."""

    due: int
    next_due: datetime | None


@dataclass(frozen=True)
class MemberGrade:
    """The grading a member's attempt at a drill has now."""

    verdict: Verdict
    points: int


@dataclass(frozen=True)
class MemberTotals:
    answered: int
    correct: int
    points: int


@dataclass(frozen=True)
class Rank:
    """1 + the members with more points (None when unranked), of `ranked` members."""

    position: int | None
    ranked: int


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
    NOTICE = "notice"  # a one-off message to the channel (the low-bank warning)


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
    member_user_id: str | None = None  # whom a reminder goes to


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


# --- the 4-week study plan ---------------------------------------------------------------


@dataclass(frozen=True)
class PlanPosition:
    """Where a channel's plan stands on one local day."""

    week: int | None  # the plan week (1-4) the day falls in; None when the plan isn't running
    day: int  # 1-7: the day of that plan week (0 before the start)
    round: int  # 1 in the first four weeks; a repeating plan counts up after each week 4
    upcoming: bool = False  # the start date is still ahead
    finished: bool = False  # a 4-week-once plan past its week 4: all topics again


@dataclass(frozen=True)
class LowBank:
    """Fewer than LOW_BANK unasked questions are left where the channel picks from:
    its plan week within its topics (`week`), or its topics (`week` None)."""

    left: int
    week: int | None
    topics: tuple[str, ...]

    @property
    def scope(self) -> str:
        """What the warning is about, for its once-per-channel outbox key."""
        return f"{','.join(sorted(self.topics)) or '*'}:w{self.week or '*'}"

    def to_detail(self) -> str:
        return json.dumps({"left": self.left, "week": self.week, "topics": list(self.topics)})

    @classmethod
    def from_detail(cls, detail: str) -> LowBank:
        data = json.loads(detail)
        return cls(int(data["left"]), data["week"], tuple(data["topics"]))


@dataclass(frozen=True)
class PlanStatus:
    """What `/quiz plan` shows: the plan, today's place in it and the coming week."""

    plan: StudyPlan
    start: date | None
    today: date
    position: PlanPosition | None
    week_topics: tuple[tuple[str, int], ...] = ()  # this plan week's topics and counts
    next_week: int | None = None  # the coming plan week; None when the plan ends first
    next_start: date | None = None  # the local date the coming week (or all topics) begins
    next_topics: tuple[tuple[str, int], ...] = ()
    low_bank: LowBank | None = None


# --- members' rights: what /quiz export hands over and /quiz forget-me deletes ---------


@dataclass(frozen=True)
class AttemptRecord:
    """One stored answer. An answer to an at_close drill that is still open is `pending`:
    its verdict, score and points stay hidden until the reveal, in an export too."""

    question_id: str
    topic: str
    answer: str
    normalized: str
    answered_at: datetime
    latency_ms: int
    channel_id: str | None  # None for practice
    drill_date: date | None
    pending: bool
    verdict: Verdict | None
    score: float | None
    points: int | None


@dataclass(frozen=True)
class ScoreTotal:
    period: Period
    period_key: str
    points: int
    answered: int
    correct: int


@dataclass(frozen=True)
class StreakRecord:
    channel_id: str
    current: int
    best: int
    last_date: date
    freezes: int


@dataclass(frozen=True)
class GroupMembership:
    name: str
    joined_at: datetime
    created_it: bool


@dataclass(frozen=True)
class ExtraRows:
    """Rows of a per-member table this code does not know by name (one added by a later
    migration): its columns and values as stored, the member's own id left out."""

    table: str
    rows: tuple[tuple[tuple[str, object], ...], ...]


@dataclass(frozen=True)
class MemberData:
    """Everything stored about one member in one workspace."""

    member: MemberRef
    first_seen: datetime | None  # None: no member row (only other traces, if any)
    attempts: tuple[AttemptRecord, ...] = ()
    totals: tuple[ScoreTotal, ...] = ()
    topics: tuple[TopicStat, ...] = ()
    streaks: tuple[StreakRecord, ...] = ()
    groups: tuple[GroupMembership, ...] = ()
    setup_channels: tuple[str, ...] = ()  # channels whose failures are reported to them
    slack_installs: tuple[datetime, ...] = ()  # when they installed the Slack app
    extra: tuple[ExtraRows, ...] = ()

    @property
    def empty(self) -> bool:
        return self.first_seen is None and not (
            self.setup_channels or self.slack_installs or self.extra
        )


@dataclass(frozen=True)
class MemberExport:
    """The JSON document /quiz export sends, and the data it was made from."""

    filename: str
    document: str
    data: MemberData


@dataclass(frozen=True)
class Forgotten:
    """What forgetting a member deleted; all zero when nothing was stored."""

    member: MemberRef
    attempts: int
    groups: int
    rows: int  # every row deleted or cleared, attempts and groups included

    @property
    def nothing(self) -> bool:
        return self.rows == 0


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
class StartedPractice:
    """A practice start: the session, and whether this call created it (False: the one
    already open, or the one another start created first)."""

    session: PracticeSession
    created: bool


@dataclass(frozen=True)
class AnsweredPractice:
    """The session after an answer, and the card the answer reviewed (None: a repeat)."""

    session: PracticeSession
    reviewed: ReviewedCard | None


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


# --- reports and disputes (question_reports, migration 0012) ---------------------------


class ReportReason(StrEnum):
    WRONG_KEY = "wrong-key"
    AMBIGUOUS = "ambiguous"
    TYPO = "typo"
    TOO_EASY = "too-easy"
    TOO_HARD = "too-hard"
    OTHER = "other"


class ReportState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class QuestionReport:
    """One member's report on a question, made on one drill of a channel."""

    id: int
    question_id: str
    drill_id: int | None
    local_date: date | None
    reporter: str  # the member's display name, else their user id
    reason: ReportReason
    text: str
    state: ReportState
    created_at: datetime


@dataclass(frozen=True)
class ReportFiled:
    """What `/quiz report` did: `created` is False when the member had reported the
    question already (the unique key kept the first report, `reason` is its reason)."""

    report_id: int
    question_id: str
    reason: ReportReason
    created: bool


@dataclass(frozen=True)
class ReportPrompt:
    """`/quiz report` without a reason: which drill the reason picker reports."""

    drill_id: int
    question_id: str


@dataclass(frozen=True)
class Regrade:
    """An attempt's new grading after an accepted wrong-key report."""

    attempt_id: int
    verdict: Verdict
    score: float
    points: int
    before_verdict: Verdict
    before_points: int


@dataclass(frozen=True)
class AttemptRow:
    """A stored drill attempt as a regrade reads it."""

    id: int
    answer: str
    verdict: Verdict
    points: int
    latency_ms: int


@dataclass(frozen=True)
class ReportResolved:
    """What resolving did: the report's new state, and for an accepted wrong-key report
    how many attempts changed (`voided`: every attempt now counts as right)."""

    report: QuestionReport
    state: ReportState
    regraded: int = 0
    key: str | None = None
    voided: bool = False
