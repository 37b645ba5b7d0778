"""The `/quiz` app-command group: the console grammar as typed Discord options.

Each subcommand builds the same core command dataclass the text grammar produces, with
the grammar's own validators, so bad input gets the console's words; then the service
runs it. Admin subcommands are checked by the service (Manage Server, see
`replies.invocation`): Discord applies `default_member_permissions` only to top-level
commands, so they cannot be hidden inside `/quiz` (README, "Running on Discord").
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable

import discord
from discord import app_commands

from bot.charts import progress_chart
from bot.core import commands as cmd
from bot.core import messages
from bot.core.models import MemberStats, Period
from bot.core.service import Reply
from bot.core.zones import canonical_zones
from bot.discord_adapter.forget import forget_reply
from bot.discord_adapter.invite import missing_permissions
from bot.discord_adapter.practice import (
    ACTIONS,
    goal_command,
    practice_command,
    reply_with_practice,
    send_practice_modal,
)
from bot.discord_adapter.render import (
    CHOICE_LIMIT,
    CHOICE_NAME_LIMIT,
    PrivateReply,
    private_reply,
    private_text,
    with_progress_chart,
)
from bot.discord_adapter.replies import (
    channel_ref,
    describe,
    drill_bot,
    invocation,
    member_ref,
    respond,
    send_private,
)
from bot.discord_adapter.report import report_reply
from bot.discord_adapter.views import answer_modal

log = logging.getLogger(__name__)

Choice = app_commands.Choice
PERIODS = [Choice(name=p.value, value=p.value) for p in Period]
REVEALS = [Choice(name=label, value=mode) for mode, label in messages.REVEAL_CHOICES.items()]
SWITCHES = [Choice(name=value, value=value) for value in ("on", "off")]
PLANS = [Choice(name=label, value=plan) for plan, label in messages.PLAN_CHOICES.items()]
AnswerText = app_commands.Range[str, 1, cmd.MAX_TEXT]
GroupName = app_commands.Range[str, 1, 32]


class QuizTree(app_commands.CommandTree):
    """A command tree whose framework errors (a stale command, a failed conversion)
    still get a private reply; handler errors are caught in `replies.respond`."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        log.error("/quiz failed for %s", describe(interaction), exc_info=error)
        if interaction.type is discord.InteractionType.autocomplete:
            return
        try:
            await send_private(interaction, private_text(messages.SOMETHING_WENT_WRONG))
        except discord.HTTPException:
            log.exception("could not answer %s", describe(interaction))


async def run(
    interaction: discord.Interaction,
    name: str,
    build: Callable[[], cmd.Command],
    finish: Callable[[Reply], PrivateReply] = private_reply,
    *,
    with_chart: bool = False,
) -> None:
    """Build the core command (validators may refuse it), execute it, reply privately;
    `with_chart` attaches the progress chart to a stats reply."""

    async def work() -> PrivateReply:
        command = build()
        reply = await drill_bot(interaction).service.execute(command, invocation(interaction))
        private = finish(reply)
        if with_chart and isinstance(reply.data, MemberStats):
            private = with_progress_chart(private, await progress_chart(reply.data))
        return private

    await respond(interaction, work, action=f"/quiz {name}")


def setup_command(
    time: str | None,
    tz: str | None,
    topics: str | None,
    reveal: str | None,
    close: str | None,
    days: str | None,
    plan: str | None = None,
    start: str | None = None,
) -> cmd.Setup:
    """The options as the grammar's `key:value` words, parsed by the grammar itself."""
    given = {
        "time": time,
        "tz": tz,
        "topics": topics,
        "reveal": reveal,
        "close": close,
        "days": days,
        "plan": plan,
        "start": start,
    }
    return cmd.parse_setup([f"{key}:{value.strip()}" for key, value in given.items() if value])


def setup_reply(reply: Reply, granted: discord.Permissions) -> PrivateReply:
    """The setup summary, plus a warning when the bot could not post in this channel."""
    text = reply.text
    if missing := missing_permissions(granted):
        text = f"{text}\n\n{messages.missing_permissions_text(missing)}"
    return private_text(text)


@functools.cache
def _zones() -> tuple[str, ...]:
    """The zones setup accepts, so autocomplete never offers one it would refuse."""
    return tuple(sorted(canonical_zones()))


def timezone_choices(current: str) -> list[Choice[str]]:
    """Time zones starting with what was typed, then those containing it."""
    needle = current.strip().lower().replace(" ", "_")
    starts = [z for z in _zones() if z.lower().startswith(needle)]
    contains = [z for z in _zones() if needle in z.lower() and not z.lower().startswith(needle)]
    return [Choice(name=z, value=z) for z in [*starts, *contains][:CHOICE_LIMIT]]


def topic_choices(current: str, topics: Iterable[str]) -> list[Choice[str]]:
    """Completes the last topic of a comma-separated list, keeping those before it."""
    before, _, partial = current.rpartition(",")
    chosen = [t.strip().lower() for t in before.split(",") if t.strip()]
    partial = partial.strip().lower()
    prefix = "".join(f"{t}," for t in chosen)
    values = [f"{prefix}{t}" for t in topics if t not in chosen and partial in t]
    if not chosen and "all".startswith(partial):
        values.insert(0, "all")
    fitting = [v for v in values if len(v) <= CHOICE_NAME_LIMIT]
    return [Choice(name=v, value=v) for v in fitting[:CHOICE_LIMIT]]


def one_topic_choices(current: str, topics: Iterable[str]) -> list[Choice[str]]:
    """The topics containing what was typed (practice takes one topic)."""
    needle = current.strip().lower()
    return [Choice(name=t, value=t) for t in topics if needle in t][:CHOICE_LIMIT]


async def answer_in_modal(interaction: discord.Interaction) -> None:
    """`/quiz answer` without text: open the modal for the member's practice question
    while a session is open, else for the channel's open drill."""

    async def work() -> PrivateReply | None:
        service = drill_bot(interaction).service
        if session := await service.open_practice(member_ref(interaction)):
            return await send_practice_modal(interaction, session)
        drill = await service.open_drill_in(channel_ref(interaction))
        title = messages.question_header(service.question(drill.question_id))
        await interaction.response.send_modal(answer_modal(drill.id, title))
        return None

    await respond(interaction, work, action="/quiz answer (modal)")


def quiz_group() -> app_commands.Group:
    """A fresh `/quiz` group for one bot's command tree."""
    quiz = app_commands.Group(
        name="quiz",
        description=messages.SLASH_DESCRIPTIONS["quiz"],
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
    )
    groups = app_commands.Group(
        name="group", description=messages.SLASH_DESCRIPTIONS["group"], parent=quiz
    )

    @quiz.command(name="help", description=messages.SLASH_DESCRIPTIONS["help"])
    async def help_(interaction: discord.Interaction) -> None:
        await run(interaction, "help", cmd.Help)

    @quiz.command(name="topics", description=messages.SLASH_DESCRIPTIONS["topics"])
    async def topics_(interaction: discord.Interaction) -> None:
        await run(interaction, "topics", cmd.Topics)

    @quiz.command(name="stats", description=messages.SLASH_DESCRIPTIONS["stats"])
    @app_commands.describe(**messages.SLASH_OPTIONS["stats"])
    async def stats(interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        await run(
            interaction,
            "stats",
            lambda: cmd.Stats(member.mention if member else None),
            with_chart=True,
        )

    @quiz.command(name="leaderboard", description=messages.SLASH_DESCRIPTIONS["leaderboard"])
    @app_commands.describe(**messages.SLASH_OPTIONS["leaderboard"])
    @app_commands.choices(period=PERIODS)
    async def leaderboard(
        interaction: discord.Interaction, period: str = "week", group: GroupName | None = None
    ) -> None:
        def build() -> cmd.ShowLeaderboard:
            name = cmd.parse_group_name(group.strip()) if group else None
            return cmd.ShowLeaderboard(Period(period), name)

        await run(interaction, "leaderboard", build)

    @quiz.command(name="answer", description=messages.SLASH_DESCRIPTIONS["answer"])
    @app_commands.describe(**messages.SLASH_OPTIONS["answer"])
    async def answer(interaction: discord.Interaction, text: AnswerText | None = None) -> None:
        if text is None or not text.strip():
            await answer_in_modal(interaction)
            return
        await run(interaction, "answer", lambda: cmd.Answer(text), reply_with_practice)

    @quiz.command(name="remind", description=messages.SLASH_DESCRIPTIONS["remind"])
    @app_commands.describe(**messages.SLASH_OPTIONS["remind"])
    @app_commands.choices(switch=SWITCHES)
    async def remind(interaction: discord.Interaction, switch: str) -> None:
        await run(interaction, "remind", lambda: cmd.parse_remind(switch))

    @groups.command(name="create", description=messages.SLASH_DESCRIPTIONS["group create"])
    @app_commands.describe(**messages.SLASH_OPTIONS["group create"])
    async def group_create(interaction: discord.Interaction, name: GroupName) -> None:
        await run(interaction, "group create", lambda: cmd.GroupCreate(cmd.parse_group_name(name)))

    @groups.command(name="join", description=messages.SLASH_DESCRIPTIONS["group join"])
    @app_commands.describe(**messages.SLASH_OPTIONS["group join"])
    async def group_join(interaction: discord.Interaction, name: GroupName) -> None:
        await run(interaction, "group join", lambda: cmd.GroupJoin(cmd.parse_group_name(name)))

    @groups.command(name="leave", description=messages.SLASH_DESCRIPTIONS["group leave"])
    @app_commands.describe(**messages.SLASH_OPTIONS["group leave"])
    async def group_leave(interaction: discord.Interaction, name: GroupName) -> None:
        await run(interaction, "group leave", lambda: cmd.GroupLeave(cmd.parse_group_name(name)))

    @groups.command(name="list", description=messages.SLASH_DESCRIPTIONS["group list"])
    async def group_list(interaction: discord.Interaction) -> None:
        await run(interaction, "group list", cmd.GroupList)

    @quiz.command(name="setup", description=messages.SLASH_DESCRIPTIONS["setup"])
    @app_commands.describe(**messages.SLASH_OPTIONS["setup"])
    @app_commands.choices(reveal=REVEALS, plan=PLANS)
    async def setup(
        interaction: discord.Interaction,
        time: str | None = None,
        tz: str | None = None,
        topics: str | None = None,
        reveal: str | None = None,
        close: str | None = None,
        days: str | None = None,
        plan: str | None = None,
        start: str | None = None,
    ) -> None:
        await run(
            interaction,
            "setup",
            lambda: setup_command(time, tz, topics, reveal, close, days, plan, start),
            lambda reply: setup_reply(reply, interaction.app_permissions),
        )

    @setup.autocomplete("tz")
    async def setup_tz(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return timezone_choices(current)

    @setup.autocomplete("topics")
    async def setup_topics(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return topic_choices(current, drill_bot(interaction).service.topic_counts())

    # --- the 4-week study plan ----------------------------------------------------------

    @quiz.command(name="plan", description=messages.SLASH_DESCRIPTIONS["plan"])
    async def plan_(interaction: discord.Interaction) -> None:
        await run(interaction, "plan", cmd.ShowPlan)

    # --- channel admins ---------------------------------------------------------------

    @quiz.command(name="post-now", description=messages.SLASH_DESCRIPTIONS["post-now"])
    async def post_now(interaction: discord.Interaction) -> None:
        await run(interaction, "post-now", cmd.PostNow)

    @quiz.command(name="close-now", description=messages.SLASH_DESCRIPTIONS["close-now"])
    async def close_now(interaction: discord.Interaction) -> None:
        await run(interaction, "close-now", cmd.CloseNow)

    @quiz.command(name="pause", description=messages.SLASH_DESCRIPTIONS["pause"])
    async def pause(interaction: discord.Interaction) -> None:
        await run(interaction, "pause", cmd.Pause)

    @quiz.command(name="resume", description=messages.SLASH_DESCRIPTIONS["resume"])
    async def resume(interaction: discord.Interaction) -> None:
        await run(interaction, "resume", cmd.Resume)

    @quiz.command(name="skip", description=messages.SLASH_DESCRIPTIONS["skip"])
    async def skip(interaction: discord.Interaction) -> None:
        await run(interaction, "skip", cmd.Skip)

    # --- members' rights -----------------------------------------------------------

    @quiz.command(name="export", description=messages.SLASH_DESCRIPTIONS["export"])
    async def export(interaction: discord.Interaction) -> None:
        await run(interaction, "export", cmd.Export)

    @quiz.command(name="forget-me", description=messages.SLASH_DESCRIPTIONS["forget-me"])
    @app_commands.describe(**messages.SLASH_OPTIONS["forget-me"])
    async def forget_me(interaction: discord.Interaction, confirm: bool = False) -> None:
        await run(interaction, "forget-me", lambda: cmd.ForgetMe(confirm), forget_reply)

    # A user, not a member: someone who left the server is no member any more.
    @quiz.command(name="forget", description=messages.SLASH_DESCRIPTIONS["forget"])
    @app_commands.describe(**messages.SLASH_OPTIONS["forget"])
    async def forget(
        interaction: discord.Interaction, member: discord.User, confirm: bool = False
    ) -> None:
        await run(interaction, "forget", lambda: cmd.Forget(member.mention, confirm), forget_reply)

    add_practice_commands(quiz)
    add_report_commands(quiz)
    return quiz


# --- practice (FSRS): /quiz practice and /quiz goal (see bot.discord_adapter.practice) ---


def add_practice_commands(quiz: app_commands.Group) -> None:
    """Options are the grammar's words, parsed by it: bad values get the console's text."""

    @quiz.command(name="practice", description=messages.SLASH_DESCRIPTIONS["practice"])
    @app_commands.describe(**messages.SLASH_OPTIONS["practice"])
    @app_commands.choices(action=ACTIONS)
    async def practice(
        interaction: discord.Interaction,
        topic: str | None = None,
        count: int | None = None,
        action: str | None = None,
    ) -> None:
        await run(
            interaction,
            "practice",
            lambda: practice_command(topic, count, action),
            reply_with_practice,
        )

    @practice.autocomplete("topic")
    async def practice_topic(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        topics = drill_bot(interaction).service.topic_counts()
        return [
            c for c in topic_choices(current, topics) if c.value != "all" and "," not in c.value
        ]

    @quiz.command(name="goal", description=messages.SLASH_DESCRIPTIONS["goal"])
    @app_commands.describe(**messages.SLASH_OPTIONS["goal"])
    async def goal(interaction: discord.Interaction, questions: int | None = None) -> None:
        await run(interaction, "goal", lambda: goal_command(questions))


# --- reports and disputes: /quiz report, /quiz reports, /quiz resolve-report -------------

REASONS = [Choice(name=label, value=r.value) for r, label in messages.REPORT_REASON_LABELS.items()]
DECISIONS = [Choice(name=value, value=value) for value in ("accept", "reject")]
ReportText = app_commands.Range[str, 1, messages.REPORT_TEXT_LIMIT]


def add_report_commands(quiz: app_commands.Group) -> None:
    """The grammar's words as options, parsed by it: bad values get the console's text."""

    @quiz.command(name="report", description=messages.SLASH_DESCRIPTIONS["report"])
    @app_commands.describe(**messages.SLASH_OPTIONS["report"])
    @app_commands.choices(reason=REASONS)
    async def report(
        interaction: discord.Interaction, reason: str | None = None, text: ReportText | None = None
    ) -> None:
        await run(interaction, "report", lambda: cmd.parse_report(reason, text or ""), report_reply)

    @quiz.command(name="reports", description=messages.SLASH_DESCRIPTIONS["reports"])
    async def reports(interaction: discord.Interaction) -> None:
        await run(interaction, "reports", cmd.ShowReports)

    @quiz.command(name="resolve-report", description=messages.SLASH_DESCRIPTIONS["resolve-report"])
    @app_commands.describe(**messages.SLASH_OPTIONS["resolve-report"])
    @app_commands.choices(decision=DECISIONS)
    async def resolve_report(
        interaction: discord.Interaction,
        report: int,
        decision: str,
        key: str | None = None,
        note: ReportText | None = None,
    ) -> None:
        await run(
            interaction,
            "resolve-report",
            lambda: cmd.parse_resolve(str(report), decision, key, note or ""),
        )
