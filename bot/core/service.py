"""QuizService: every use case, the adapters' one door into the core."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TypeVar

from bot.core import commands as cmd
from bot.core import messages
from bot.core.bank import Bank
from bot.core.errors import (
    AlreadyAnswered,
    AlreadyExists,
    BankError,
    BankErrors,
    DrillClosed,
    NoOpenDrill,
    NotFound,
    NotSetUp,
    QuizError,
    UsageError,
)
from bot.core.kinds import registry
from bot.core.models import (
    AnswerResult,
    Attempt,
    ChannelRef,
    ChannelSchedule,
    ChannelSettings,
    Drill,
    DrillPost,
    DrillResult,
    DrillState,
    Forgotten,
    Grade,
    Leaderboard,
    LowBank,
    MemberData,
    MemberExport,
    MemberRef,
    MemberStats,
    OutboxItem,
    OutboxKind,
    OutboxState,
    Period,
    PlanStatus,
    PostClaim,
    PracticeAnswer,
    PracticeSession,
    PracticeTurn,
    Question,
    QuestionReport,
    Regrade,
    ReportFiled,
    ReportPrompt,
    ReportReason,
    ReportResolved,
    ReportState,
    RevealMode,
    ReviewSummary,
    StudyPlan,
    Verdict,
    WeekPoints,
)
from bot.core.picking import (
    LOW_BANK,
    eligible,
    low_bank,
    next_plan_week,
    pick_question,
    plan_position,
    plan_week,
    week_topics,
)
from bot.core.ports import Clock, Delivery, Publisher, Repository
from bot.core.privacy import member_export
from bot.core.review import plan_practice, rating_for, reviewer
from bot.core.schedule import (
    close_for,
    is_skipped,
    next_post_after,
    next_weekly_after,
    weekly_board_week_day,
)
from bot.core.scoring import at_local_time, local_date, period_key, points_for

log = logging.getLogger(__name__)

BOARD_SIZE = 10
FASTEST = 3
ACCEPTING = (DrillState.OPEN,)
# An outbox row still 'sending' this long after its claim was left by a crashed sender.
STALE_POSTING = timedelta(minutes=2)
# How long /quiz post-now (and close-now) wait for the delivery before saying "queued".
POST_WAIT = timedelta(seconds=10)
# How many weeks of points the progress chart with /quiz stats shows.
CHART_WEEKS = 8
# A member who asked for reminders hears about an unanswered drill this long before it
# closes.
REMINDER_LEAD = timedelta(hours=1)
# How far ahead skip and resume look for the next post day (repeated skips move it on).
POST_DAY_HORIZON = 800
# How far from the channel's today a study plan may start (catches a mistyped year).
PLAN_START_RANGE = 365
# A chat mention as members type or paste it: <@U1> (Slack), <@!1> or <@1> (Discord),
# <@U1|name> (Slack's escaped form).
_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")


def member_key(text: str) -> str:
    """The user id in a mention, else the text without a leading @ (an id or a name)."""
    text = text.strip()
    mention = _MENTION.match(text)
    return mention.group(1) if mention else text.removeprefix("@")


_T = TypeVar("_T")


def _given(new: _T | None, old: _T) -> _T:
    """A setup field the admin gave, else the current value (None means not given)."""
    return old if new is None else new


class PublishFailed(QuizError):
    """The platform refused a post; the drill stays claimed and can be posted again."""


class LiveQuestionMissing(BankErrors):
    """The bank lacks questions that live drills ask: they could never be revealed.
    A BankErrors, so start-up reports it like any other bad bank (one message, exit 2)."""

    def __init__(self, question_ids: list[str]) -> None:
        super().__init__(
            [BankError("the bank", qid, None, messages.LIVE_QUESTION_GONE) for qid in question_ids]
        )


@dataclass(frozen=True)
class Invocation:
    """Who ran a command, where, and whether the platform says they are an admin."""

    member: MemberRef
    channel: ChannelRef
    is_admin: bool = False


@dataclass(frozen=True)
class Reply:
    """A private reply: the text every platform shows, and the result behind it."""

    text: str
    data: object = None


class QuizService:
    def __init__(
        self,
        repo: Repository,
        bank: Bank,
        clock: Clock,
        publishers: dict[str, Publisher] | None = None,
        delivery: Delivery | None = None,
        *,
        low_bank: int = LOW_BANK,
    ) -> None:
        self.repo = repo
        self.bank = bank
        self.clock = clock
        self.publishers: dict[str, Publisher] = dict(publishers or {})
        self.delivery = delivery
        self.low_bank = low_bank  # warn below this many unasked questions (0: never)

    # --- wiring -------------------------------------------------------------------

    def register_publisher(self, platform: str, publisher: Publisher) -> None:
        self.publishers[platform] = publisher

    def set_delivery(self, delivery: Delivery) -> None:
        self.delivery = delivery

    def has_publisher(self, platform: str) -> bool:
        return platform in self.publishers

    async def start(self) -> None:
        """Record the bank's questions so drills and attempts can refer to them.

        Refuses to run when a live drill asks a question the bank lost: that drill
        could neither be graded nor revealed, and closing it silently would hide it.
        """
        missing = await self.repo.sync_questions(list(self.bank), self.clock.now())
        if missing:
            raise LiveQuestionMissing(missing)
        await self.schedule_unscheduled()

    def question(self, question_id: str) -> Question:
        found = self.bank.get(question_id)
        if found is None:
            raise NotFound(messages.QUESTION_NOT_IN_BANK)
        return found

    def publisher_for(self, channel: ChannelRef) -> Publisher:
        try:
            return self.publishers[channel.platform]
        except KeyError as exc:
            raise QuizError(messages.cannot_post_on(channel.platform)) from exc

    # --- the command grammar ----------------------------------------------------------

    async def execute(self, command: cmd.Command, inv: Invocation) -> Reply:
        """Run one parsed /quiz command through its handler; QuizErrors carry the reply."""
        # The handlers build on this module's use cases, so they are imported on first use.
        from bot.core.handlers import dispatch

        return await dispatch(self, command, inv)

    # --- channel settings ---------------------------------------------------------------

    def topic_counts(self) -> dict[str, int]:
        return {topic: len(self.bank.by_topic(topic)) for topic in self.bank.topics()}

    async def settings_for(self, channel: ChannelRef) -> ChannelSettings:
        settings = await self.repo.get_settings(channel)
        if settings is None:
            raise NotSetUp
        return settings

    async def configure_channel(
        self, inv: Invocation, setup: cmd.Setup
    ) -> tuple[ChannelSettings, datetime | None, datetime | None]:
        unknown = [t for t in setup.topics or () if t not in self.bank.topics()]
        if unknown:
            raise UsageError(messages.unknown_topics(unknown))
        current = await self.repo.get_settings(inv.channel) or ChannelSettings(inv.channel)
        settings = replace(
            current,
            admin_user_id=inv.member.user_id,
            post_time=_given(setup.time, current.post_time),
            timezone=_given(setup.tz, current.timezone),
            topics=_given(setup.topics, current.topics),
            reveal=_given(setup.reveal, current.reveal),
            close_time=None if setup.clear_close else _given(setup.close, current.close_time),
            days=_given(setup.days, current.days),
        )
        settings = self._with_plan(settings, setup)
        if settings.close_time == settings.post_time:
            raise UsageError(messages.CLOSE_EQUALS_POST)
        next_post = await self.save_settings(settings)
        next_close = close_for(settings, next_post) if next_post else None
        return settings, next_post, next_close

    def _with_plan(self, settings: ChannelSettings, setup: cmd.Setup) -> ChannelSettings:
        """Apply `plan:` and `start:`: a plan given without a start starts on the
        channel's local today (in the time zone this setup leaves it with); `start:`
        alone moves the start of the channel's plan."""
        if setup.plan is None and setup.start is None:
            return settings
        plan = setup.plan or settings.plan
        if plan is StudyPlan.NONE:
            if setup.start is not None:
                raise UsageError(messages.START_NEEDS_PLAN)
            return replace(settings, plan=plan, plan_start=None)
        today = local_date(self.clock.now(), settings.timezone)
        start = setup.start or today
        if abs((start - today).days) > PLAN_START_RANGE:
            raise UsageError(messages.start_out_of_range(start, PLAN_START_RANGE))
        return replace(settings, plan=plan, plan_start=start)

    async def save_settings(self, settings: ChannelSettings) -> datetime | None:
        """Store settings with the next post and weekly-board instants they give (the one
        scheduler job reads those, so a change needs no restart); returns the next post."""
        now = self.clock.now()
        next_post = next_post_after(settings, now, inclusive=True)
        next_weekly = next_weekly_after(settings, now, inclusive=True)
        await self.repo.save_settings(settings, now, next_post, next_weekly)
        return next_post

    async def set_paused(self, inv: Invocation, *, paused: bool) -> ChannelSettings:
        settings = replace(await self.settings_for(inv.channel), paused=paused)
        await self.save_settings(settings)
        return settings

    async def next_post_at(self, settings: ChannelSettings) -> datetime | None:
        """When the channel's next post will really happen: a post day whose time is
        still ahead, that has no drill yet (a post-now counts) and is not skipped."""
        now = self.clock.now()
        day = local_date(now, settings.timezone)
        posted = await self.repo.posted_dates(settings.channel, day)
        for _ in range(POST_DAY_HORIZON):
            post_at = at_local_time(day, settings.post_time, settings.timezone)
            if (
                day.weekday() in settings.days
                and post_at > now
                and day not in posted
                and not is_skipped(settings, day)
            ):
                return post_at
            day += timedelta(days=1)
        return None

    async def skip_next(self, inv: Invocation) -> tuple[datetime, bool]:
        """Skip the next post that would really happen; a repeated skip skips the one
        after. The skip covers every post day up to the stored date, so skips add up.
        Returns that post's time and whether the channel is paused anyway."""
        settings = await self.settings_for(inv.channel)
        post_at = await self.next_post_at(settings)
        if post_at is None:
            raise NotFound(messages.NO_POST_DAY)
        settings = replace(settings, skip_date=local_date(post_at, settings.timezone))
        await self.save_settings(settings)
        return post_at, settings.paused

    # --- the 4-week study plan --------------------------------------------------------------

    async def bank_left(
        self, settings: ChannelSettings, at: datetime | None = None
    ) -> LowBank | None:
        """The low-bank warning for the questions a post at `at` (default now) would
        pick from, if they are few."""
        day = local_date(at or self.clock.now(), settings.timezone)
        pool = eligible(self.bank, settings.topics)
        asked = await self.repo.asked_questions(settings.channel)
        week = plan_week(settings.plan, settings.plan_start, day)
        return low_bank(pool, asked, week, settings.topics, self.low_bank)

    async def plan_status(self, channel: ChannelRef) -> PlanStatus:
        """Where the channel is in its plan today and what its coming week covers, from
        the bank's questions of those weeks within the channel's topics."""
        settings = await self.repo.get_settings(channel) or ChannelSettings(channel)
        today = local_date(self.clock.now(), settings.timezone)
        plan, start = settings.plan, settings.plan_start
        position = plan_position(plan, start, today)
        if position is None:
            return PlanStatus(plan, start, today, None)
        pool = eligible(self.bank, settings.topics)
        next_week, next_start = next_plan_week(plan, start, today)
        return PlanStatus(
            plan,
            start,
            today,
            position,
            week_topics=week_topics(pool, position.week) if position.week else (),
            next_week=next_week,
            next_start=next_start,
            next_topics=week_topics(pool, next_week) if next_week else (),
            low_bank=await self.bank_left(settings),
        )

    # --- the daily drill ------------------------------------------------------------------

    async def _pick(self, settings: ChannelSettings, day: date) -> tuple[str, LowBank | None]:
        """The day's question (the plan week's first, within the topics), and the
        low-bank warning when the questions left unasked after it are few."""
        channel = settings.channel
        pool = eligible(self.bank, settings.topics)
        asked = await self.repo.asked_questions(channel)
        seed = f"{channel.platform}:{channel.workspace_id}:{channel.channel_id}:{day}"
        week = plan_week(settings.plan, settings.plan_start, day)
        question = pick_question(pool, asked, seed, week)
        left = low_bank(pool, [*asked, question.id], week, settings.topics, self.low_bank)
        return question.id, left

    async def _claim_post(
        self,
        settings: ChannelSettings,
        day: date,
        *,
        due: datetime | None = None,
        next_due: datetime | None = None,
        force: bool = False,
    ) -> PostClaim:
        now = self.clock.now()
        question_id, low = await self._pick(settings, day)
        return await self.repo.claim_post(
            settings.channel,
            day,
            question_id,
            now,
            close_for(settings, now),
            due=due,
            next_due=next_due,
            force=force,
            low_bank=low,
        )

    async def post_daily(self, channel: ChannelRef, *, forced: bool = False) -> Drill:
        """Claim today's drill and its post row once, whoever else tries at the same time,
        then wait (up to POST_WAIT) for the delivery: the drill comes back with its
        message id when posted, without one when it is still queued.

        `/quiz post-now` forces it (a skipped day too, and a failed or pending post is
        due at once). The channel's drill from another day is closed in the same
        transaction, its reveal and board queued ahead of the new question. A post left
        'sending' by a crashed process is taken over once STALE_POSTING has passed.
        """
        settings = await self.settings_for(channel)
        today = local_date(self.clock.now(), settings.timezone)
        if not forced and (settings.paused or is_skipped(settings, today)):
            raise AlreadyExists(messages.POST_SKIPPED)
        claim = await self._claim_post(settings, today, force=forced)
        drill, row = claim.drill, claim.post
        if drill is None or row is None or drill.state is DrillState.CLOSED:
            raise AlreadyExists(messages.ALREADY_POSTED)
        if row.state is OutboxState.DONE:
            raise AlreadyExists(messages.ALREADY_POSTED)
        if not (claim.created or forced):
            raise AlreadyExists(messages.BEING_POSTED)
        if self.delivery is None:
            return drill
        attempt = await self.delivery.deliver_now(row.id, POST_WAIT.total_seconds())
        item = attempt.item
        if attempt.elsewhere:
            if item.state is OutboxState.DONE:
                raise AlreadyExists(messages.ALREADY_POSTED)
            raise AlreadyExists(messages.BEING_POSTED)
        if item.state is OutboxState.DONE:
            return replace(drill, state=DrillState.OPEN, message_id=item.message_id)
        if attempt.timed_out:
            return drill
        raise PublishFailed(messages.post_refused(item.last_error or ""))

    async def open_drills(self) -> list[Drill]:
        """Drills still taking answers, e.g. to re-attach their buttons after a restart."""
        return await self.repo.drills_in_states(ACCEPTING)

    async def open_drill_in(self, channel: ChannelRef) -> Drill:
        drill = await self.repo.open_drill(channel)
        if drill is None:
            raise NoOpenDrill(messages.NO_OPEN_DRILL)
        return drill

    async def answer_in_channel(
        self, member: MemberRef, channel: ChannelRef, text: str
    ) -> AnswerResult:
        drill = await self.open_drill_in(channel)
        return await self.submit_answer(member, drill.id, text)

    async def submit_answer(self, member: MemberRef, drill_id: int, text: str) -> AnswerResult:
        """Grade and record one answer; the (drill, member) key refuses a second one."""
        cmd.check_length(text)
        found = await self.repo.drill_with_settings(drill_id)
        if found is None:
            raise NotFound(messages.QUESTION_GONE)
        drill, settings = found.drill, found.settings
        now = self.clock.now()
        if drill.state is not DrillState.OPEN or (drill.closes_at and now >= drill.closes_at):
            raise DrillClosed(messages.DRILL_CLOSED)
        if (member.platform, member.workspace_id) != (
            drill.channel.platform,
            drill.channel.workspace_id,
        ):
            raise NotFound(messages.OTHER_WORKSPACE)
        question = self.question(drill.question_id)
        result = registry.grade(question, text)
        latency = max(now - drill.opened_at, timedelta(0))
        attempt = Attempt(
            member=member,
            question_id=question.id,
            answer=text.strip(),
            grade=result,
            points=points_for(question.difficulty, result, latency),
            answered_at=now,
            latency_ms=int(latency.total_seconds() * 1000),
            drill_id=drill.id,
        )
        rating = rating_for(question, result, latency)
        stored = await self.repo.record_attempt(
            attempt, question.topic, drill.local_date, reviewer(rating, now)
        )
        if not stored.created:
            first = stored.attempt
            given = messages.given_answer(question, first.answer, first.grade.normalized)
            raise AlreadyAnswered(messages.already_answered(given))
        return AnswerResult(
            attempt=stored.attempt,
            question=question,
            reveal_now=settings.reveal is RevealMode.IMMEDIATE,
            streak=stored.streak,
        )

    async def close_now(self, channel: ChannelRef) -> DrillResult:
        drill = await self.open_drill_in(channel)
        result = await self.close_drill(drill.id)
        if result is None:
            raise NoOpenDrill(messages.CLOSED_A_MOMENT_AGO)
        return result

    async def close_drill(self, drill_id: int, *, wait: bool = True) -> DrillResult | None:
        """Close once (a conditional update that also queues the reveal and the board);
        a second close returns None. With `wait`, the reveal is delivered before this
        returns (as far as POST_WAIT allows).

        The question is looked up first: a drill whose question left the bank stays
        open (NotFound) rather than closing without its reveal.
        """
        drill = await self.repo.get_drill(drill_id)
        if drill is None:
            raise NotFound(messages.DRILL_GONE)
        self.question(drill.question_id)
        if not await self.repo.close_drill(drill_id, self.clock.now()):
            return None
        if self.delivery is not None:
            # The board is queued after the reveal: waiting for it delivers both, in order.
            board = await self.repo.outbox_by_key(f"board:{drill_id}")
            if wait and board is not None:
                await self.delivery.deliver_now(board.id, POST_WAIT.total_seconds())
            self.delivery.wake()
        return await self.drill_result(drill_id)

    async def drill_result(self, drill_id: int) -> DrillResult:
        drill = await self.repo.get_drill(drill_id)
        if drill is None:
            raise NotFound(messages.DRILL_GONE)
        question = self.question(drill.question_id)
        counts = await self.repo.answer_counts(drill.id)
        distribution = registry.of(question).distribution(question, counts)
        answered = sum(row.count for row in counts)
        correct = sum(row.count for row in counts if row.verdict is Verdict.GOOD)
        fastest = await self.repo.fastest_correct(drill.id, FASTEST)
        return DrillResult(drill, question, answered, correct, distribution, fastest)

    async def close_if_due(self, channel: ChannelRef) -> DrillResult | None:
        """Close the channel's open drill once its close time has passed."""
        drill = await self.repo.open_drill(channel)
        if drill is None:
            return None
        if drill.closes_at is None or drill.closes_at > self.clock.now():
            return None
        return await self.close_drill(drill.id)

    async def fail_post(self, channel: ChannelRef, reason: str) -> None:
        """Give up on today's post: its row dies, the drill is marked failed and one admin
        DM is queued, all in one transaction."""
        drill = await self.repo.latest_drill(channel)
        if drill is None:
            return
        log.error("giving up on the post in %s: %s", channel, reason)
        dm_key = f"dm:post-failed:{drill.id}"
        row = await self.repo.outbox_by_key(f"post:{drill.id}")
        now = self.clock.now()
        if row is None:
            await self.repo.fail_unposted_drill(drill.id, reason, now, dm_key)
        else:
            await self.repo.kill_outbox(
                row.id,
                reason,
                now,
                unsure=False,
                dm_key=dm_key,
                drill_state=DrillState.FAILED,
                from_states=(OutboxState.PENDING, OutboxState.SENDING),
            )
        self._wake_delivery()

    async def post_weekly_board(
        self, channel: ChannelRef, days_late: int = 0
    ) -> Leaderboard | None:
        """Claim the week's board once per channel and week, queue it and wait for it.

        `days_late`: the board comes that many days after the week's last drill day (its
        reveal is the next morning, or the delay crosses midnight); it is that week's.
        """
        settings = await self.settings_for(channel)
        today = local_date(self.clock.now(), settings.timezone) - timedelta(days=days_late)
        week = period_key(Period.WEEK, today)
        row = await self.repo.claim_weekly(channel, week, self.clock.now())
        if row is None:
            return None
        if self.delivery is not None:
            await self.delivery.deliver_now(row.id, POST_WAIT.total_seconds())
        return await self.weekly_board(channel, week)

    async def weekly_board(self, channel: ChannelRef, week: str) -> Leaderboard:
        """The board a channel gets at the end of its week: members, groups, most improved."""
        viewer = MemberRef(channel.platform, channel.workspace_id, "")
        board = await self._board(viewer, Period.WEEK, week, None)
        year, number = (int(part) for part in week.split("-W"))
        previous_day = date.fromisocalendar(year, number, 1) - timedelta(days=7)
        previous = period_key(Period.WEEK, previous_day)
        return replace(
            board,
            groups=tuple(await self.repo.group_standings(channel, week, BOARD_SIZE)),
            most_improved=await self.repo.most_improved(channel, week, previous),
        )

    # --- the schedule (one scheduler job asks what is due) ------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    async def fire_due(self, misfire_grace: timedelta, batch: int = 500) -> int:
        """Do what is due by the database alone: posts, closes and weekly boards. Each
        claim is a compare-and-set on the stored instant (or the drill's state) in the
        transaction that writes the drill and its outbox rows, so a double tick or a
        second process fires nothing twice. Returns how many rows were queued."""
        now = self.clock.now()
        queued = 0
        while due := await self.repo.due_posts(now, batch):
            for settings, due_at in due:
                if await self._fire_post(settings, due_at, now, misfire_grace):
                    queued += 1
                    self._wake_delivery()  # the first posts go out while the rest are claimed
            if len(due) < batch:
                break
        closed: set[int] = set()
        while ids := [i for i in await self.repo.due_closes(now, batch) if i not in closed]:
            for drill_id in ids:
                closed.add(drill_id)
                try:
                    if await self.close_drill(drill_id, wait=False):
                        queued += 2
                except QuizError as exc:
                    log.warning("cannot close drill %s: %s", drill_id, exc.message)
        queued += await self.repo.queue_reminders(now, REMINDER_LEAD)
        while due := await self.repo.due_weekly_boards(now, batch):
            for settings, due_at in due:
                queued += await self._fire_weekly(settings, due_at, now)
            if len(due) < batch:
                break
        if queued:
            self._wake_delivery()
        return queued

    async def _fire_post(
        self, settings: ChannelSettings, due_at: datetime, now: datetime, grace: timedelta
    ) -> int:
        channel = settings.channel
        try:
            next_due = next_post_after(settings, max(due_at, now))
            day = local_date(due_at, settings.timezone)
        except Exception:  # a stored channel that cannot be scheduled never stops the others
            log.exception("cannot schedule %s; the other channels go on", channel)
            await self.repo.advance_schedule(channel, "next_post_at", due_at, None)
            return 0
        if now - due_at > grace:
            log.warning("missed the post in %s at %s: the bot was not running", channel, due_at)
        elif is_skipped(settings, day):
            log.info("no post in %s: today's post is skipped", channel)
        else:
            try:
                claim = await self._claim_post(settings, day, due=due_at, next_due=next_due)
            except QuizError as exc:
                log.warning("no post in %s: %s", channel, exc.message)
            else:
                return int(claim.created)
        await self.repo.advance_schedule(channel, "next_post_at", due_at, next_due)
        return 0

    async def _fire_weekly(self, settings: ChannelSettings, due_at: datetime, now: datetime) -> int:
        """Weekly boards are always caught up: the board of the week the instant ends."""
        channel = settings.channel
        try:
            next_due = next_weekly_after(settings, max(due_at, now))
            week = period_key(Period.WEEK, weekly_board_week_day(settings, due_at))
        except Exception:
            log.exception("cannot schedule %s; the other channels go on", channel)
            await self.repo.advance_schedule(channel, "next_weekly_at", due_at, None)
            return 0
        row = await self.repo.claim_weekly(channel, week, now, due=due_at, next_due=next_due)
        if row is None:  # another tick moved it on, or the week's board is claimed already
            await self.repo.advance_schedule(channel, "next_weekly_at", due_at, next_due)
            return 0
        return 1

    async def schedule_unscheduled(self) -> None:
        """Give channels stored without next instants (before the outbox) their schedule.
        From a day back, so a post missed today is still judged by the misfire grace."""
        since = self.clock.now() - timedelta(days=1)
        for settings in await self.repo.unscheduled_channels():
            try:
                await self.repo.set_schedule(
                    settings.channel,
                    next_post_after(settings, since),
                    next_weekly_after(settings, since),
                )
            except Exception:
                log.exception("cannot schedule %s; the other channels go on", settings.channel)

    async def channel_schedule(self, channel: ChannelRef) -> ChannelSchedule:
        """The stored next post and weekly-board instants of a channel."""
        return await self.repo.schedule_of(channel)

    # --- delivery (the dispatcher's side of the outbox) -------------------------------------

    def _wake_delivery(self) -> None:
        if self.delivery is not None:
            self.delivery.wake()

    async def claim_deliveries(
        self, limit: int, channel: ChannelRef | None = None
    ) -> list[OutboxItem]:
        now = self.clock.now()
        return await self.repo.claim_outbox(now, now - STALE_POSTING, limit, channel)

    async def outbox_item(self, item_id: int) -> OutboxItem | None:
        return await self.repo.get_outbox(item_id)

    async def next_delivery_due(self) -> datetime | None:
        return await self.repo.next_outbox_due()

    def is_stale(self, item: OutboxItem) -> bool:
        """A 'sending' row whose sender has stopped (crashed) may be taken over."""
        return item.claimed_at is None or item.claimed_at <= self.clock.now() - STALE_POSTING

    async def deliver(self, item: OutboxItem) -> str | None:
        """Render one row from the database as it is now and hand it to the platform;
        returns the platform's message id where there is one. Raises what the publisher
        raised (ChannelUnavailable for good, anything else to retry)."""
        publisher = self.publisher_for(item.channel)
        channel = item.channel
        match item.effect:
            case OutboxKind.POST:
                drill = await self._drill(item.drill_id)
                if item.unsure:
                    found = await publisher.find_drill_post(channel, drill.id)
                    if found is not None:
                        log.info(
                            "drill %s was posted already (%s): not posting again", drill.id, found
                        )
                        return found
                settings = await self.settings_for(channel)
                question = self.question(drill.question_id)
                return await publisher.post_drill(DrillPost(drill, question, settings))
            case OutboxKind.REVEAL:
                if item.drill_id is None:
                    raise NotFound(messages.DRILL_GONE)
                result = await self.drill_result(item.drill_id)
                await publisher.reveal_drill(result)
                return result.drill.message_id
            case OutboxKind.BOARD:
                drill = await self._drill(item.drill_id)
                viewer = MemberRef(channel.platform, channel.workspace_id, "")
                week = period_key(Period.WEEK, drill.local_date)
                board = await self._board(viewer, Period.WEEK, week, None)
                top = replace(board, entries=board.entries[:5])
                await publisher.post_leaderboard(channel, top, messages.TOP_FIVE_TITLE)
            case OutboxKind.WEEKLY:
                board = await self.weekly_board(channel, item.week_key or "")
                await publisher.post_leaderboard(channel, board, messages.WEEKLY_TITLE)
            case OutboxKind.REMINDER:
                await self._remind(publisher, item)
            case OutboxKind.NOTICE:
                low = LowBank.from_detail(item.detail or "")
                await publisher.post_notice(channel, messages.low_bank_text(low, after_today=True))
            case OutboxKind.DM if item.key.startswith(REGRADED_DM):
                await self._tell_regraded(publisher, item)
            case OutboxKind.DM:
                settings = await self.settings_for(channel)
                if settings.admin_user_id:
                    mention = publisher.channel_mention(channel)
                    reason = item.detail or "unknown error"
                    text = (
                        messages.post_failed_text(mention, reason)
                        if item.key.startswith("dm:post-failed:")
                        else messages.delivery_failed_text(mention, reason)
                    )
                    await publisher.post_private(channel, settings.admin_user_id, text)
        return None

    async def _remind(self, publisher: Publisher, item: OutboxItem) -> None:
        """Rendered at delivery: a drill that closed or was answered since the row was
        queued needs no reminder, and the row is done without a message."""
        drill = await self._drill(item.drill_id)
        user_id = item.member_user_id
        if user_id is None or drill.state is not DrillState.OPEN:
            return
        if await self.repo.member_attempt(drill.id, user_id) is not None:
            return
        settings = await self.settings_for(item.channel)
        question = self.question(drill.question_id)
        closes_at = drill.closes_at or await self.next_post_at(settings)
        text = messages.reminder_text(
            publisher.channel_mention(item.channel), closes_at, settings.timezone
        )
        await publisher.remind(DrillPost(drill, question, settings), user_id, text)

    async def set_reminder(self, inv: Invocation, *, on: bool) -> bool:
        """Whether this changed anything: turning on what is on says so instead."""
        await self.settings_for(inv.channel)
        return await self.repo.set_reminder(inv.member, inv.channel, on, self.clock.now())

    async def answer_reminder(
        self, platform: str, user_id: str, drill_id: int, text: str
    ) -> AnswerResult:
        """An answer sent from a reminder, a DM that names no workspace: it counts for the
        drill's workspace only for a member who asked for reminders in its channel."""
        member = await self.repo.reminded_member(drill_id, user_id)
        if member is None or member.platform != platform:
            raise NotFound(messages.OTHER_WORKSPACE)
        return await self.submit_answer(member, drill_id, text)

    async def _drill(self, drill_id: int | None) -> Drill:
        drill = await self.repo.get_drill(drill_id) if drill_id is not None else None
        if drill is None:
            raise NotFound(messages.DRILL_GONE)
        return drill

    async def delivered(self, item: OutboxItem, message_id: str | None) -> None:
        await self.repo.finish_outbox(item.id, message_id, self.clock.now())

    async def retry_delivery(
        self, item: OutboxItem, error: str, retry_at: datetime, *, unsure: bool
    ) -> None:
        await self.repo.retry_outbox(item.id, error, retry_at, self.clock.now(), unsure=unsure)

    async def give_up_delivery(
        self, item: OutboxItem, error: str, *, unsure: bool, attended: bool
    ) -> None:
        """Stop delivering a row. Unattended, its channel's admin gets one DM about it
        (queued in the same transaction) and a post's drill is marked failed; attended
        (an admin is waiting for the reply), the drill goes back to pending."""
        dm_key = None if attended else dm_key_for(item)
        drill_state = DrillState.PENDING if attended else DrillState.FAILED
        await self.repo.kill_outbox(
            item.id, error, self.clock.now(), unsure=unsure, dm_key=dm_key, drill_state=drill_state
        )

    # --- stats and leaderboards -------------------------------------------------------------

    async def member_stats(
        self, caller: MemberRef, channel: ChannelRef, target: str | None = None
    ) -> MemberStats:
        member = caller
        if target:
            found = await self.repo.find_member(channel, member_key(target))
            if found is None:
                raise NotFound(messages.unknown_member(target))
            member = found
        totals = await self.repo.member_totals(member)
        standing = await self.repo.rank(member, Period.ALL, "all")
        streak = await self.repo.streak(member)
        topics = await self.repo.topic_stats(member)
        return MemberStats(
            member=member,
            answered=totals.answered,
            correct=totals.correct,
            points=totals.points,
            rank=standing.position,
            ranked_members=standing.ranked,
            current_streak=streak.current,
            best_streak=streak.best,
            freezes=streak.freezes,
            topics=tuple(sorted(topics, key=lambda t: (t.accuracy, -t.answered, t.topic))),
            reviews=await self.review_summary(member, channel),
            weeks=await self.weekly_points(member, channel),
        )

    async def weekly_points(self, member: MemberRef, channel: ChannelRef) -> tuple[WeekPoints, ...]:
        """Points in each of the last CHART_WEEKS weeks (this one last), in the channel's
        calendar; a week without answers is 0."""
        today = local_date(self.clock.now(), await self._timezone(channel))
        keys = [
            period_key(Period.WEEK, today - timedelta(weeks=back))
            for back in reversed(range(CHART_WEEKS))
        ]
        points = await self.repo.weekly_points(member, keys)
        return tuple(WeekPoints(key, points.get(key, 0)) for key in keys)

    # --- practice with spaced repetition (FSRS; see bot.core.review) ------------------------

    async def _timezone(self, channel: ChannelRef) -> str:
        """Whose calendar "today" follows for a member: the channel's, else UTC."""
        settings = await self.repo.get_settings(channel)
        return settings.timezone if settings else "UTC"

    async def _day_start(self, channel: ChannelRef) -> tuple[datetime, str]:
        timezone = await self._timezone(channel)
        return at_local_time(local_date(self.clock.now(), timezone), "00:00", timezone), timezone

    async def review_summary(self, member: MemberRef, channel: ChannelRef) -> ReviewSummary:
        """Cards due by the end of the member's today, and the next due after it."""
        start, timezone = await self._day_start(channel)
        tomorrow = local_date(start, timezone) + timedelta(days=1)
        cards = await self.repo.review_summary(member, at_local_time(tomorrow, "00:00", timezone))
        return ReviewSummary(cards.due, cards.next_due, timezone)

    async def practice_goal(self, member: MemberRef) -> int:
        return await self.repo.practice_goal(member) or cmd.DEFAULT_GOAL

    async def set_practice_goal(self, member: MemberRef, goal: int) -> int:
        """Set the daily goal; the grammar has checked its range (the column checks too)."""
        await self.repo.set_practice_goal(member, goal, self.clock.now())
        return goal

    async def open_practice(self, member: MemberRef) -> PracticeSession | None:
        return await self.repo.open_practice(member)

    async def _plan_week_in(self, channel: ChannelRef) -> int | None:
        """The study-plan week the channel is in today, if it follows the plan."""
        settings = await self.repo.get_settings(channel)
        if settings is None:
            return None
        today = local_date(self.clock.now(), settings.timezone)
        return plan_week(settings.plan, settings.plan_start, today)

    async def start_practice(self, inv: Invocation, command: cmd.Practice) -> PracticeTurn:
        """Resume the member's open session, or start one: due reviews first, then new
        questions from their weakest topics (bot.core.review.plan_practice). `new` stops
        the open session and starts over."""
        member, now = inv.member, self.clock.now()
        if command.topic is not None and command.topic not in self.bank.topics():
            raise UsageError(messages.unknown_topics([command.topic]))
        if not command.restart and (session := await self.repo.open_practice(member)):
            return await self._resume(inv, session)
        count = command.count or await self.practice_goal(member)
        live = await self.repo.live_questions(inv.channel)
        topics = (command.topic,) if command.topic else ()
        pool = [q for q in eligible(self.bank, topics) if q.id not in live]
        seed = f"{member.platform}:{member.workspace_id}:{member.user_id}:{now.isoformat()}"
        picks = plan_practice(
            pool,
            await self.repo.member_cards(member),
            await self.repo.topic_stats(member),
            count,
            now,
            seed,
            week=await self._plan_week_in(inv.channel),
        )
        if not picks:
            raise NotFound(messages.NOTHING_TO_PRACTICE)
        started = await self.repo.start_practice(
            member, command.topic, picks, now, restart=command.restart
        )
        if not started.created:  # another start won the race: that session is the one
            return await self._resume(inv, started.session)
        return await self._turn(inv, started.session)

    async def _resume(self, inv: Invocation, session: PracticeSession) -> PracticeTurn:
        await self.repo.touch_practice(session.id, self.clock.now())
        return await self._turn(inv, session, resumed=True)

    async def _turn(
        self,
        inv: Invocation,
        session: PracticeSession,
        answered: PracticeAnswer | None = None,
        *,
        resumed: bool = False,
    ) -> PracticeTurn:
        current = session.current
        if current is not None:
            return PracticeTurn(
                session, answered, self.question(current.question_id), resumed=resumed
            )
        start, _ = await self._day_start(inv.channel)
        return PracticeTurn(
            session,
            answered,
            reviews=await self.review_summary(inv.member, inv.channel),
            goal=await self.practice_goal(inv.member),
            practised_today=await self.repo.practised_since(inv.member, start),
        )

    async def answer_practice(
        self, inv: Invocation, session: PracticeSession, text: str
    ) -> PracticeTurn:
        """Grade the answer to the session's current question, review its card, and go
        on to the next question (or the summary). Never scores points or streaks."""
        cmd.check_length(text)
        current = session.current
        if current is None:
            raise NotFound(messages.NO_PRACTICE)
        question = self.question(current.question_id)
        grade = registry.grade(question, text)
        now = self.clock.now()
        latency = max(now - session.asked_at, timedelta(0))
        rating = rating_for(question, grade, latency)
        stored = await self.repo.answer_practice(
            session,
            current.position,
            text.strip(),
            grade,
            int(latency.total_seconds() * 1000),
            reviewer(rating, now),
            now,
        )
        reviewed = stored.reviewed
        if reviewed is None:
            raise AlreadyAnswered(messages.PRACTICE_ALREADY_ANSWERED)
        answered = PracticeAnswer(
            question, text.strip(), grade, reviewed.rating, reviewed.due, reviewed.due - now
        )
        return await self._turn(inv, stored.session, answered)

    async def answer_practice_form(
        self, inv: Invocation, session_id: int, position: int, text: str
    ) -> PracticeTurn:
        """An answer from a form opened for one item (a Discord modal): refused unless that
        item is still the one the member is on, so a stale form never answers the next."""
        session = await self.repo.open_practice(inv.member)
        if session is None or session.id != session_id:
            raise NotFound(messages.PRACTICE_FORM_STALE)
        if session.current is None or session.current.position != position:
            raise AlreadyAnswered(messages.PRACTICE_ALREADY_ANSWERED)
        return await self.answer_practice(inv, session, text)

    async def stop_practice(self, member: MemberRef) -> bool:
        return await self.repo.stop_practice(member, self.clock.now())

    async def channel_board(self, channel: ChannelRef, period: Period) -> Leaderboard:
        viewer = MemberRef(channel.platform, channel.workspace_id, "")
        return await self.leaderboard(viewer, channel, period, None)

    async def leaderboard(
        self, caller: MemberRef, channel: ChannelRef, period: Period, group: str | None
    ) -> Leaderboard:
        """Top members for the period as the channel's calendar sees it, plus the caller."""
        settings = await self.repo.get_settings(channel)
        timezone = settings.timezone if settings else "UTC"
        key = period_key(period, local_date(self.clock.now(), timezone))
        return await self._board(caller, period, key, group)

    async def _board(
        self, caller: MemberRef, period: Period, key: str, group: str | None
    ) -> Leaderboard:
        page = await self.repo.board(caller, period, key, group, BOARD_SIZE)
        return Leaderboard(period, key, group, page.entries, page.caller, page.ranked)

    # --- members' rights: /quiz export, /quiz forget-me, /quiz forget ------------------------

    async def export_member(self, member: MemberRef) -> MemberExport | None:
        """The member's JSON document for this workspace; None when nothing is stored."""
        data = await self.repo.member_data(member)
        if data.empty:
            return None
        return member_export(data, self.clock.now())

    async def member_to_forget(self, channel: ChannelRef, target: str) -> MemberData:
        """What is stored about the member `target` names (as `/quiz stats` reads it: a
        mention, a user id or a name). A member who left may have no member row but still
        be a channel's setup contact, so an unknown mention is looked up by its id."""
        found = await self.repo.find_member(channel, member_key(target))
        member = found or MemberRef(channel.platform, channel.workspace_id, member_key(target))
        return await self.repo.member_data(member)

    async def forget_member(self, member: MemberRef) -> Forgotten:
        return await self.repo.forget_member(member)

    # --- reports and disputes: /quiz report, /quiz reports -------------------------------

    async def _reported_drill(self, inv: Invocation, drill_id: int | None) -> Drill:
        """The drill a report is about: the button's, else the channel's latest revealed
        or open one."""
        if drill_id is None:
            drill = await self.repo.latest_reportable_drill(inv.channel)
        else:
            drill = await self.repo.get_drill(drill_id)
            if drill is not None and (inv.member.platform, inv.member.workspace_id) != (
                drill.channel.platform,
                drill.channel.workspace_id,
            ):
                raise NotFound(messages.OTHER_WORKSPACE)
        if drill is None or drill.state not in (DrillState.OPEN, DrillState.CLOSED):
            raise NotFound(messages.NOTHING_TO_REPORT)
        return drill

    async def report_prompt(self, inv: Invocation, drill_id: int | None) -> ReportPrompt:
        drill = await self._reported_drill(inv, drill_id)
        return ReportPrompt(drill.id, drill.question_id)

    async def report_question(
        self, inv: Invocation, reason: ReportReason, text: str, drill_id: int | None
    ) -> ReportFiled:
        """One report per member and question: a second one is told the first stands."""
        drill = await self._reported_drill(inv, drill_id)
        return await self.repo.add_report(inv.member, drill, reason, text, self.clock.now())

    async def open_reports(self, channel: ChannelRef) -> list[QuestionReport]:
        return await self.repo.open_reports(channel)

    async def resolve_report(self, inv: Invocation, command: cmd.ResolveReport) -> ReportResolved:
        """Reject or accept one open report. Accepting a wrong-key report regrades its
        drill (with `key` on a lettered question, else the drill is void: every answer
        counts as right), in the transaction that resolves the report."""
        report = await self.repo.get_report(inv.channel, command.report_id)
        if report is None:
            raise NotFound(messages.REPORT_NOT_FOUND)
        if report.state is not ReportState.OPEN:
            raise AlreadyExists(messages.report_already_resolved(report))
        regrades: list[Regrade] = []
        key: str | None = None
        voided = False
        state = ReportState.ACCEPTED if command.accept else ReportState.REJECTED
        if command.accept and report.reason is ReportReason.WRONG_KEY:
            regrades, key, voided = await self._regrades(report, command.key)
        elif command.key is not None:
            raise UsageError(messages.KEY_ONLY_FOR_WRONG_KEY)
        now = self.clock.now()
        changed = await self.repo.resolve_report(
            report.id, state, command.note, now, regrades, voided=voided
        )
        if changed is None:  # another admin (or process) resolved it in between
            again = await self.repo.get_report(inv.channel, report.id)
            raise AlreadyExists(messages.report_already_resolved(again or report))
        if changed and self.delivery is not None:
            self.delivery.wake()
        return ReportResolved(report, state, changed, key, voided)

    async def _regrades(
        self, report: QuestionReport, key: str | None
    ) -> tuple[list[Regrade], str | None, bool]:
        """Each attempt of the report's drill graded again, the changed ones only."""
        drill = await self._drill(report.drill_id)
        if drill.state is not DrillState.CLOSED:
            raise UsageError(messages.CLOSE_BEFORE_REGRADE)
        question = self.question(drill.question_id)
        rekeyed: Question | None = None
        if registry.lettered(question):
            if key is None:
                raise UsageError(messages.key_needed(question.letters))
            rekeyed, key = registry.with_key(question, key)
        elif key is not None:
            raise UsageError(messages.KEY_NOT_LETTERED)
        regrades = []
        for attempt in await self.repo.drill_attempts(drill.id):
            grade = (
                registry.grade(rekeyed, attempt.answer)
                if rekeyed is not None
                else Grade(Verdict.GOOD, 1.0, "")
            )
            latency = timedelta(milliseconds=attempt.latency_ms)
            points = points_for(question.difficulty, grade, latency)
            if (grade.verdict, points) != (attempt.verdict, attempt.points):
                regrades.append(
                    Regrade(
                        attempt.id,
                        grade.verdict,
                        grade.score,
                        points,
                        attempt.verdict,
                        attempt.points,
                    )
                )
        return regrades, key, rekeyed is None

    async def _tell_regraded(self, publisher: Publisher, item: OutboxItem) -> None:
        """Rendered at delivery from the attempt as it is now; a member forgotten since
        gets nothing."""
        drill = await self._drill(item.drill_id)
        user_id = item.member_user_id
        now = await self.repo.member_attempt(drill.id, user_id) if user_id else None
        if user_id is None or now is None:
            return
        before = json.loads(item.detail or "{}")
        text = messages.regraded_text(
            drill.question_id,
            drill.local_date,
            bool(before.get("voided")),
            now.verdict,
            int(before.get("points", now.points)),
            now.points,
        )
        await publisher.post_private(item.channel, user_id, text)


# The private message to a member whose attempt an accepted report changed: one per
# member and drill, keyed dm:regraded:{drill}:{member} (bot.storage, resolve_report).
REGRADED_DM = "dm:regraded:"


def dm_key_for(item: OutboxItem) -> str | None:
    """The one admin DM a dead row may cause: a post's, its drill's reveal and board
    share one, a week's board has its own; a DM that fails causes none."""
    match item.effect:
        case OutboxKind.POST:
            return f"dm:post-failed:{item.drill_id}"
        case OutboxKind.REVEAL | OutboxKind.BOARD:
            return f"dm:reveal-failed:{item.drill_id}"
        case OutboxKind.WEEKLY:
            return f"dm:weekly-failed:{item.key.removeprefix('weekly:')}"
    return None
