"""QuizService: every use case, the adapters' one door into the core."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

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
    ChannelSettings,
    Drill,
    DrillPost,
    DrillResult,
    DrillState,
    Leaderboard,
    MemberRef,
    MemberStats,
    Period,
    Question,
    RevealMode,
    Verdict,
)
from bot.core.picking import eligible, pick_question
from bot.core.ports import ChannelScheduler, Clock, Publisher, Repository
from bot.core.scoring import at_local_time, local_date, period_key, points_for

log = logging.getLogger(__name__)

BOARD_SIZE = 10
FASTEST = 3
ACCEPTING = (DrillState.OPEN,)
# A drill still 'posting' this long after its claim was left by a crashed poster.
STALE_POSTING = timedelta(minutes=2)
# How far ahead skip and resume look for the next post day (repeated skips move it on).
POST_DAY_HORIZON = 800
# A chat mention as members type or paste it: <@U1> (Slack), <@!1> or <@1> (Discord),
# <@U1|name> (Slack's escaped form).
_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")


def member_key(text: str) -> str:
    """The user id in a mention, else the text without a leading @ (an id or a name)."""
    text = text.strip()
    mention = _MENTION.match(text)
    return mention.group(1) if mention else text.removeprefix("@")


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
        scheduler: ChannelScheduler | None = None,
    ) -> None:
        self.repo = repo
        self.bank = bank
        self.clock = clock
        self.publishers: dict[str, Publisher] = dict(publishers or {})
        self.scheduler = scheduler

    # --- wiring -------------------------------------------------------------------

    def register_publisher(self, platform: str, publisher: Publisher) -> None:
        self.publishers[platform] = publisher

    def set_scheduler(self, scheduler: ChannelScheduler) -> None:
        self.scheduler = scheduler

    async def start(self) -> None:
        """Record the bank's questions so drills and attempts can refer to them.

        Refuses to run when a live drill asks a question the bank lost: that drill
        could neither be graded nor revealed, and closing it silently would hide it.
        """
        missing = await self.repo.sync_questions(list(self.bank), self.clock.now())
        if missing:
            raise LiveQuestionMissing(missing)

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
        changes: dict[str, object] = {"admin_user_id": inv.member.user_id}
        for name, field in (
            ("time", "post_time"),
            ("tz", "timezone"),
            ("topics", "topics"),
            ("reveal", "reveal"),
            ("close", "close_time"),
            ("days", "days"),
        ):
            value = getattr(setup, name)
            if value is not None:
                changes[field] = value
        if setup.clear_close:
            changes["close_time"] = None
        settings = replace(current, **changes)
        if settings.close_time == settings.post_time:
            raise UsageError(messages.CLOSE_EQUALS_POST)
        await self.repo.save_settings(settings, self.clock.now())
        next_post, next_close = self.reschedule(settings)
        return settings, next_post, next_close

    def reschedule(self, settings: ChannelSettings) -> tuple[datetime | None, datetime | None]:
        if self.scheduler is None:
            return None, None
        return self.scheduler.reschedule(settings)

    async def set_paused(self, inv: Invocation, *, paused: bool) -> ChannelSettings:
        settings = replace(await self.settings_for(inv.channel), paused=paused)
        await self.repo.save_settings(settings, self.clock.now())
        self.reschedule(settings)
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
        settings = replace(settings, skip_date=post_at.date())
        await self.repo.save_settings(settings, self.clock.now())
        self.reschedule(settings)
        return post_at, settings.paused

    # --- the daily drill ------------------------------------------------------------------

    async def open_daily_drill(self, channel: ChannelRef) -> tuple[Drill, bool]:
        """Claim today's drill for a channel; the unique (channel, local date) makes a
        second claim return the existing drill with created=False."""
        return await self._claim_today(await self.settings_for(channel))

    async def _claim_today(self, settings: ChannelSettings) -> tuple[Drill, bool]:
        channel = settings.channel
        now = self.clock.now()
        today = local_date(now, settings.timezone)
        pool = eligible(self.bank, settings.topics)
        asked = await self.repo.asked_questions(channel)
        seed = f"{channel.platform}:{channel.workspace_id}:{channel.channel_id}:{today}"
        question = pick_question(pool, asked, seed)
        closes_at = None
        if settings.close_time:
            closes_at = at_local_time(today, settings.close_time, settings.timezone)
            if closes_at <= now:
                closes_at = at_local_time(
                    today + timedelta(days=1), settings.close_time, settings.timezone
                )
        return await self.repo.claim_drill(channel, today, question.id, now, closes_at)

    async def post_daily(self, channel: ChannelRef, *, forced: bool = False) -> Drill:
        """Open and post today's drill exactly once, whoever else tries at the same time.

        The scheduler calls this unforced (a skipped day posts nothing); `/quiz post-now`
        forces it. A drill that failed, or was left 'posting' by a crash for longer than
        STALE_POSTING, is claimed again. The drill still open in the channel from another
        day (even a later one, after a change of time zone) is closed with its reveal
        first: a channel has one live drill, which the drills_one_live index enforces.
        """
        settings = await self.settings_for(channel)
        today = local_date(self.clock.now(), settings.timezone)
        if not forced and (settings.paused or is_skipped(settings, today)):
            raise AlreadyExists(messages.POST_SKIPPED)
        previous = await self.repo.open_drill(channel)
        if previous is not None and previous.local_date != today:
            await self.close_drill(previous.id)
        drill, _ = await self._claim_today(settings)
        if drill.state in (DrillState.OPEN, DrillState.CLOSED):
            raise AlreadyExists(messages.ALREADY_POSTED)
        claimed = await self.repo.claim_posting(drill.id, self.clock.now(), STALE_POSTING)
        if not claimed:
            raise AlreadyExists(messages.BEING_POSTED)
        post = DrillPost(drill, self.question(drill.question_id), settings)
        try:
            message_id = await self.publisher_for(channel).post_drill(post)
        except Exception as exc:
            log.exception("posting drill %s to %s failed", drill.id, channel)
            await self.repo.transition_drill(
                drill.id, (DrillState.POSTING,), DrillState.PENDING, self.clock.now()
            )
            raise PublishFailed(messages.post_refused(exc)) from exc
        await self.repo.set_drill_message(drill.id, message_id, self.clock.now())
        return replace(drill, state=DrillState.OPEN, message_id=message_id)

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
        drill, settings = found
        now = self.clock.now()
        if drill.state is not DrillState.OPEN or (drill.closes_at and now >= drill.closes_at):
            raise DrillClosed(messages.DRILL_CLOSED)
        if member.workspace_id != drill.channel.workspace_id:
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
        stored, created, streak = await self.repo.record_attempt(
            attempt, question.topic, drill.local_date
        )
        if not created:
            given = messages.given_answer(question, stored.answer, stored.grade.normalized)
            raise AlreadyAnswered(messages.already_answered(given))
        return AnswerResult(
            attempt=stored,
            question=question,
            reveal_now=settings.reveal is RevealMode.IMMEDIATE,
            streak=streak,
        )

    async def close_now(self, channel: ChannelRef) -> DrillResult:
        drill = await self.open_drill_in(channel)
        result = await self.close_drill(drill.id)
        if result is None:
            raise NoOpenDrill(messages.CLOSED_A_MOMENT_AGO)
        return result

    async def close_drill(self, drill_id: int) -> DrillResult | None:
        """Close once (a conditional update), then reveal; a second close returns None.

        The question is looked up first: a drill whose question left the bank stays
        open (NotFound) rather than closing without its reveal.
        """
        drill = await self.repo.get_drill(drill_id)
        if drill is None:
            raise NotFound(messages.DRILL_GONE)
        self.question(drill.question_id)
        closed = await self.repo.transition_drill(
            drill_id, ACCEPTING, DrillState.CLOSED, self.clock.now()
        )
        if not closed:
            return None
        result = await self.drill_result(drill_id)
        try:
            publisher = self.publisher_for(result.drill.channel)
            await publisher.reveal_drill(result)
            board = await self.channel_board(result.drill.channel, Period.WEEK)
            await publisher.post_leaderboard(
                result.drill.channel,
                replace(board, entries=board.entries[:5]),
                messages.TOP_FIVE_TITLE,
            )
        except Exception:
            log.exception("revealing drill %s failed", drill_id)
        return result

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
        """Give up on today's post: mark the drill failed and tell the admin privately."""
        drill = await self.repo.latest_drill(channel)
        if drill is not None:
            await self.repo.transition_drill(
                drill.id,
                (DrillState.PENDING, DrillState.POSTING),
                DrillState.FAILED,
                self.clock.now(),
            )
        settings = await self.settings_for(channel)
        log.error("giving up on the post in %s: %s", channel, reason)
        if settings.admin_user_id:
            try:
                publisher = self.publisher_for(channel)
                text = messages.post_failed_text(publisher.channel_mention(channel), reason)
                await publisher.post_private(channel, settings.admin_user_id, text)
            except Exception:
                log.exception("could not tell admin %s about %s", settings.admin_user_id, channel)

    async def post_weekly_board(
        self, channel: ChannelRef, days_late: int = 0
    ) -> Leaderboard | None:
        """Post the week's board once per channel and week (claimed in the database).

        `days_late`: the board comes that many days after the week's last drill day (its
        reveal is the next morning, or the delay crosses midnight); it is that week's.
        """
        settings = await self.settings_for(channel)
        today = local_date(self.clock.now(), settings.timezone) - timedelta(days=days_late)
        week = period_key(Period.WEEK, today)
        if not await self.repo.claim_weekly_board(channel, week, self.clock.now()):
            return None
        viewer = MemberRef(channel.platform, channel.workspace_id, "")
        board = await self._board(viewer, Period.WEEK, week, None)
        previous = period_key(Period.WEEK, today - timedelta(days=7))
        board = replace(
            board,
            groups=tuple(await self.repo.group_standings(channel, week, BOARD_SIZE)),
            most_improved=await self.repo.most_improved(channel, week, previous),
        )
        await self.publisher_for(channel).post_leaderboard(channel, board, messages.WEEKLY_TITLE)
        return board

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
        answered, correct, points = await self.repo.member_totals(member)
        rank, ranked = await self.repo.rank(member, Period.ALL, "all")
        current, best = await self.repo.streak(member)
        topics = await self.repo.topic_stats(member)
        return MemberStats(
            member=member,
            answered=answered,
            correct=correct,
            points=points,
            rank=rank,
            ranked_members=ranked,
            current_streak=current,
            best_streak=best,
            topics=tuple(sorted(topics, key=lambda t: (t.accuracy, -t.answered, t.topic))),
        )

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
        entries, mine, total = await self.repo.board(caller, period, key, group, BOARD_SIZE)
        return Leaderboard(period, key, group, tuple(entries), mine, total)


def is_skipped(settings: ChannelSettings, day: date) -> bool:
    """Skips add up: every post day up to the stored skip date is skipped."""
    return settings.skip_date is not None and day <= settings.skip_date
