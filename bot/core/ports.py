"""What the service needs from the outside world, as Protocols the adapters fill."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.core.models import (
    AnswerCount,
    AnsweredPractice,
    Attempt,
    AttemptRow,
    BoardPage,
    CardsDue,
    ChannelRef,
    ChannelSchedule,
    ChannelSettings,
    DeliveryAttempt,
    Drill,
    DrillAndSettings,
    DrillPost,
    DrillResult,
    DrillState,
    Forgotten,
    Grade,
    Group,
    GroupStanding,
    Leaderboard,
    LowBank,
    MemberData,
    MemberGrade,
    MemberRef,
    MemberTotals,
    OutboxItem,
    OutboxState,
    Period,
    PostClaim,
    PracticeSession,
    Question,
    QuestionReport,
    Rank,
    Regrade,
    ReportFiled,
    ReportReason,
    ReportState,
    ReviewedCard,
    StartedPractice,
    StoredAttempt,
    Streak,
    TopicStat,
)

if TYPE_CHECKING:
    from bot.core.review import PracticePick

# Reviews one FSRS card: its stored JSON (None for a new card) to the card after the
# review. The repository calls it inside the transaction that stores the graded answer.
CardReview = Callable[[str | None], ReviewedCard]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Publisher(Protocol):
    """How the core posts to one platform; adapters decide how each message looks."""

    async def post_drill(self, post: DrillPost) -> str:
        """Post the daily question; returns the platform's message id."""
        ...

    async def find_drill_post(self, channel: ChannelRef, drill_id: int) -> str | None:
        """The message id of the drill's post if it is among the channel's recent bot
        messages, else None: checked before posting again after an unknown outcome (a
        crash mid-call, a 5xx after the platform accepted the post)."""
        ...

    async def reveal_drill(self, result: DrillResult) -> None:
        """Update the drill's post (result.drill.message_id) with the answer and stats."""
        ...

    async def post_leaderboard(
        self, channel: ChannelRef, board: Leaderboard, title: str
    ) -> None: ...

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        """A message only `user_id` sees (an ephemeral message or a DM)."""
        ...

    async def remind(self, post: DrillPost, user_id: str, text: str) -> None:
        """A direct message to `user_id`: `text`, then the drill's question with its
        answer controls, so the member can answer from the reminder itself."""
        ...

    async def post_notice(self, channel: ChannelRef, text: str) -> None:
        """A plain message to the channel (the low-bank warning)."""
        ...

    def channel_mention(self, channel: ChannelRef) -> str:
        """How a message names the channel so that members can click through to it."""
        ...


class Delivery(Protocol):
    """Delivers outbox rows (bot/delivery/dispatcher.py); the service wakes it and, for
    an admin's post-now, waits for one row."""

    def wake(self) -> None:
        """New rows are due: deliver them soon."""
        ...

    async def deliver_now(self, item_id: int, within: float) -> DeliveryAttempt:
        """Deliver the row (after its channel's earlier rows) and wait up to `within`
        seconds for the outcome of one attempt."""
        ...


class Repository(Protocol):
    """Persistence for the service; each method is one transaction. See SqlRepository."""

    async def sync_questions(self, questions: Sequence[Question], now: datetime) -> list[str]: ...

    async def get_settings(self, channel: ChannelRef) -> ChannelSettings | None: ...

    async def save_settings(
        self,
        settings: ChannelSettings,
        now: datetime,
        next_post_at: datetime | None = None,
        next_weekly_at: datetime | None = None,
    ) -> None: ...

    async def unscheduled_channels(self) -> list[ChannelSettings]: ...

    async def set_schedule(
        self, channel: ChannelRef, next_post_at: datetime | None, next_weekly_at: datetime | None
    ) -> None: ...

    async def schedule_of(self, channel: ChannelRef) -> ChannelSchedule: ...

    async def due_posts(
        self, now: datetime, limit: int
    ) -> list[tuple[ChannelSettings, datetime]]: ...

    async def due_weekly_boards(
        self, now: datetime, limit: int
    ) -> list[tuple[ChannelSettings, datetime]]: ...

    async def due_closes(self, now: datetime, limit: int) -> list[int]: ...

    async def advance_schedule(
        self, channel: ChannelRef, column: str, due: datetime, next_due: datetime | None
    ) -> bool: ...

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
    ) -> PostClaim: ...

    async def claim_weekly(
        self,
        channel: ChannelRef,
        week_key: str,
        now: datetime,
        *,
        due: datetime | None = None,
        next_due: datetime | None = None,
    ) -> OutboxItem | None: ...

    async def close_drill(self, drill_id: int, now: datetime) -> bool: ...

    async def fail_unposted_drill(
        self, drill_id: int, reason: str, now: datetime, dm_key: str
    ) -> bool: ...

    async def claim_outbox(
        self,
        now: datetime,
        stale_before: datetime,
        limit: int,
        channel: ChannelRef | None = None,
    ) -> list[OutboxItem]: ...

    async def get_outbox(self, item_id: int) -> OutboxItem | None: ...

    async def outbox_by_key(self, key: str) -> OutboxItem | None: ...

    async def next_outbox_due(self) -> datetime | None: ...

    async def finish_outbox(self, item_id: int, message_id: str | None, now: datetime) -> None: ...

    async def retry_outbox(
        self, item_id: int, error: str, next_attempt_at: datetime, now: datetime, *, unsure: bool
    ) -> None: ...

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
    ) -> bool: ...

    async def configured_channels(self) -> list[ChannelSettings]: ...

    async def asked_questions(self, channel: ChannelRef) -> list[str]: ...

    async def open_drill(self, channel: ChannelRef) -> Drill | None: ...

    async def posted_dates(self, channel: ChannelRef, since: date) -> set[date]: ...

    async def get_drill(self, drill_id: int) -> Drill | None: ...

    async def latest_drill(self, channel: ChannelRef) -> Drill | None: ...

    async def drills_in_states(self, states: Sequence[DrillState]) -> list[Drill]: ...

    async def record_attempt(
        self, attempt: Attempt, topic: str, local_date: date, review: CardReview | None = None
    ) -> StoredAttempt: ...

    async def drill_with_settings(self, drill_id: int) -> DrillAndSettings | None: ...

    async def answer_counts(self, drill_id: int) -> tuple[AnswerCount, ...]: ...

    async def fastest_correct(self, drill_id: int, limit: int) -> tuple[tuple[str, int], ...]: ...

    async def find_member(self, workspace: ChannelRef, key: str) -> MemberRef | None:
        """A member by platform user id, else by display name (mentions are parsed first)."""

    async def member_totals(self, member: MemberRef) -> MemberTotals: ...

    async def weekly_points(self, member: MemberRef, week_keys: Sequence[str]) -> dict[str, int]:
        """The member's points in each of these weeks that has any."""
        ...

    async def rank(self, member: MemberRef, period: Period, key: str) -> Rank: ...

    async def topic_stats(self, member: MemberRef) -> list[TopicStat]: ...

    async def streak(self, member: MemberRef) -> Streak: ...

    async def board(
        self, member: MemberRef, period: Period, key: str, group: str | None, limit: int
    ) -> BoardPage: ...

    async def group_standings(
        self, workspace: ChannelRef, week_key: str, limit: int
    ) -> list[GroupStanding]: ...

    async def most_improved(
        self, workspace: ChannelRef, week_key: str, previous_key: str
    ) -> tuple[str, int] | None: ...

    async def create_group(self, member: MemberRef, name: str, now: datetime) -> None: ...

    async def join_group(self, member: MemberRef, name: str, now: datetime) -> bool: ...

    async def leave_group(self, member: MemberRef, name: str) -> bool: ...

    async def list_groups(self, member: MemberRef) -> list[Group]: ...

    async def member_groups(self, member: MemberRef) -> list[str]: ...

    async def set_reminder(
        self, member: MemberRef, channel: ChannelRef, on: bool, now: datetime
    ) -> bool: ...

    async def reminded_member(self, drill_id: int, user_id: str) -> MemberRef | None: ...

    async def queue_reminders(self, now: datetime, lead: timedelta) -> int: ...

    # --- members' rights ---------------------------------------------------------------

    async def member_data(self, member: MemberRef) -> MemberData:
        """Everything stored about the member in its workspace (for /quiz export)."""
        ...

    async def forget_member(self, member: MemberRef) -> Forgotten:
        """Delete every row holding the member's id in its workspace, aggregates kept
        true, in one transaction (for /quiz forget-me and /quiz forget)."""
        ...

    # --- practice sessions and FSRS review cards ---

    async def member_cards(self, member: MemberRef) -> list[tuple[str, datetime]]: ...

    async def card_of(self, member: MemberRef, question_id: str) -> str | None: ...

    async def review_summary(self, member: MemberRef, until: datetime) -> CardsDue: ...

    async def practice_goal(self, member: MemberRef) -> int | None: ...

    async def set_practice_goal(self, member: MemberRef, goal: int, now: datetime) -> None: ...

    async def live_questions(self, workspace: ChannelRef) -> set[str]: ...

    async def open_practice(self, member: MemberRef) -> PracticeSession | None: ...

    async def start_practice(
        self,
        member: MemberRef,
        topic: str | None,
        picks: Sequence[PracticePick],
        now: datetime,
        *,
        restart: bool,
    ) -> StartedPractice: ...

    async def answer_practice(
        self,
        session: PracticeSession,
        position: int,
        answer: str,
        grade: Grade,
        latency_ms: int,
        review: CardReview,
        now: datetime,
    ) -> AnsweredPractice: ...

    async def touch_practice(self, session_id: int, now: datetime) -> None: ...

    async def stop_practice(self, member: MemberRef, now: datetime) -> bool: ...

    async def practised_since(self, member: MemberRef, since: datetime) -> int: ...

    # --- reports and disputes (question_reports) ---

    async def latest_reportable_drill(self, channel: ChannelRef) -> Drill | None:
        """The channel's latest drill that is open or closed (revealed)."""
        ...

    async def add_report(
        self, member: MemberRef, drill: Drill, reason: ReportReason, text: str, now: datetime
    ) -> ReportFiled:
        """One report per member and question; a repeat returns the first, unchanged."""
        ...

    async def open_reports(self, channel: ChannelRef) -> list[QuestionReport]: ...

    async def get_report(self, channel: ChannelRef, report_id: int) -> QuestionReport | None:
        """A report made on one of the channel's drills."""
        ...

    async def drill_attempts(self, drill_id: int) -> list[AttemptRow]: ...

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
        """Resolve an open report, apply the regrades (aggregates follow by trigger) and
        queue one private message per changed member, in one transaction. Returns how
        many attempts changed, or None if the report was no longer open."""
        ...

    async def member_attempt(self, drill_id: int, user_id: str) -> MemberGrade | None:
        """The member's verdict and points on the drill, as stored now."""
        ...
