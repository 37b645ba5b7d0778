"""One handler per /quiz command, registered by the command's type with its permission.

As in a message bus, `dispatch` looks the command's type up in `HANDLERS`, refuses an
admin-only command for a member who is not an admin, and runs the handler. A new command
is its type in the grammar (bot.core.commands), one `@handles` function here, and its
wording in bot.core.messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.core import commands as cmd
from bot.core import messages
from bot.core.errors import NotAllowed, NotInGroup, UsageError
from bot.core.service import Invocation, QuizService, Reply

C = TypeVar("C")
Handler = Callable[[QuizService, C, Invocation], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    """A command type's handler, and whether only channel admins may run it."""

    handler: Handler[Any]
    admin: bool


HANDLERS: dict[type, Route] = {}


def handles(command_type: type[C], *, admin: bool = False) -> Callable[[Handler[C]], Handler[C]]:
    """Register the decorated function as the one handler for `command_type`."""

    def register(handler: Handler[C]) -> Handler[C]:
        if command_type in HANDLERS:
            raise ValueError(f"{command_type.__name__} already has a handler")
        HANDLERS[command_type] = Route(handler, admin)
        return handler

    return register


def requires_admin(command: cmd.Command) -> bool:
    """Whether the command is admin-only, so an adapter asks the platform only then."""
    route = HANDLERS.get(type(command))
    return route is not None and route.admin


async def dispatch(service: QuizService, command: cmd.Command, inv: Invocation) -> Reply:
    """Run one parsed command through its handler; QuizErrors carry the private reply."""
    route = HANDLERS.get(type(command))
    if route is None:
        raise UsageError(messages.USAGE)
    if route.admin and not inv.is_admin:
        raise NotAllowed(messages.ADMINS_ONLY)
    return await route.handler(service, command, inv)


# --- everyone -------------------------------------------------------------------------


@handles(cmd.Help)
async def show_help(service: QuizService, command: cmd.Help, inv: Invocation) -> Reply:
    return Reply(messages.USAGE)


@handles(cmd.Topics)
async def show_topics(service: QuizService, command: cmd.Topics, inv: Invocation) -> Reply:
    return Reply(messages.topics_text(service.topic_counts()))


@handles(cmd.Answer)
async def answer(service: QuizService, command: cmd.Answer, inv: Invocation) -> Reply:
    """The member's open practice session takes the answer; else the channel's drill."""
    if session := await service.open_practice(inv.member):
        turn = await service.answer_practice(inv, session, command.text)
        return Reply(messages.practice_text(turn), turn)
    result = await service.answer_in_channel(inv.member, inv.channel, command.text)
    return Reply(messages.answer_feedback(result), result)


@handles(cmd.Stats)
async def show_stats(service: QuizService, command: cmd.Stats, inv: Invocation) -> Reply:
    stats = await service.member_stats(inv.member, inv.channel, command.member)
    return Reply(messages.stats_text(stats), stats)


@handles(cmd.ShowLeaderboard)
async def show_leaderboard(
    service: QuizService, command: cmd.ShowLeaderboard, inv: Invocation
) -> Reply:
    board = await service.leaderboard(inv.member, inv.channel, command.period, command.group)
    return Reply(messages.leaderboard_text(board), board)


@handles(cmd.GroupCreate)
async def create_group(service: QuizService, command: cmd.GroupCreate, inv: Invocation) -> Reply:
    await service.repo.create_group(inv.member, command.name, service.clock.now())
    return Reply(messages.group_created(command.name))


@handles(cmd.GroupJoin)
async def join_group(service: QuizService, command: cmd.GroupJoin, inv: Invocation) -> Reply:
    if not await service.repo.join_group(inv.member, command.name, service.clock.now()):
        return Reply(messages.already_in_group(command.name))
    return Reply(messages.group_joined(command.name))


@handles(cmd.GroupLeave)
async def leave_group(service: QuizService, command: cmd.GroupLeave, inv: Invocation) -> Reply:
    if not await service.repo.leave_group(inv.member, command.name):
        raise NotInGroup(command.name)
    return Reply(messages.group_left(command.name))


@handles(cmd.GroupList)
async def list_groups(service: QuizService, command: cmd.GroupList, inv: Invocation) -> Reply:
    groups = await service.repo.list_groups(inv.member)
    mine = await service.repo.member_groups(inv.member)
    return Reply(messages.groups_text(groups, mine), groups)


@handles(cmd.Remind)
async def remind(service: QuizService, command: cmd.Remind, inv: Invocation) -> Reply:
    changed = await service.set_reminder(inv, on=command.on)
    if command.on:
        return Reply(messages.REMINDER_ON if changed else messages.REMINDER_ALREADY_ON)
    return Reply(messages.REMINDER_OFF if changed else messages.REMINDER_ALREADY_OFF)


# --- the 4-week study plan -------------------------------------------------------------


@handles(cmd.ShowPlan)
async def show_plan(service: QuizService, command: cmd.ShowPlan, inv: Invocation) -> Reply:
    status = await service.plan_status(inv.channel)
    return Reply(messages.plan_text(status), status)


# --- practice (FSRS spaced repetition) -----------------------------------------------


@handles(cmd.Goal)
async def goal(service: QuizService, command: cmd.Goal, inv: Invocation) -> Reply:
    if command.goal is None:
        return Reply(messages.goal_text(await service.practice_goal(inv.member), changed=False))
    value = await service.set_practice_goal(inv.member, command.goal)
    return Reply(messages.goal_text(value, changed=True), value)


@handles(cmd.Practice)
async def practice(service: QuizService, command: cmd.Practice, inv: Invocation) -> Reply:
    turn = await service.start_practice(inv, command)
    return Reply(messages.practice_text(turn), turn)


@handles(cmd.PracticeStop)
async def stop_practice(service: QuizService, command: cmd.PracticeStop, inv: Invocation) -> Reply:
    if not await service.stop_practice(inv.member):
        return Reply(messages.NO_PRACTICE_TO_STOP)
    return Reply(messages.PRACTICE_STOPPED)


# --- channel admins -------------------------------------------------------------------


@handles(cmd.Setup, admin=True)
async def setup(service: QuizService, command: cmd.Setup, inv: Invocation) -> Reply:
    settings, next_post, next_close = await service.configure_channel(inv, command)
    low = await service.bank_left(settings, next_post)  # the 4-week study plan's warning
    return Reply(messages.setup_text(settings, next_post, next_close, low), settings)


@handles(cmd.PostNow, admin=True)
async def post_now(service: QuizService, command: cmd.PostNow, inv: Invocation) -> Reply:
    drill = await service.post_daily(inv.channel, forced=True)
    if drill.message_id is None:  # still on its way: the outbox delivers it
        return Reply(messages.post_queued_text(drill.question_id), drill)
    return Reply(messages.posted_now(drill.question_id), drill)


@handles(cmd.CloseNow, admin=True)
async def close_now(service: QuizService, command: cmd.CloseNow, inv: Invocation) -> Reply:
    result = await service.close_now(inv.channel)
    return Reply(messages.CLOSED_NOW, result)


@handles(cmd.Pause, admin=True)
async def pause(service: QuizService, command: cmd.Pause, inv: Invocation) -> Reply:
    await service.set_paused(inv, paused=True)
    return Reply(messages.PAUSED)


@handles(cmd.Resume, admin=True)
async def resume(service: QuizService, command: cmd.Resume, inv: Invocation) -> Reply:
    settings = await service.set_paused(inv, paused=False)
    next_post = await service.next_post_at(settings)
    return Reply(messages.resumed_text(next_post))


@handles(cmd.Skip, admin=True)
async def skip(service: QuizService, command: cmd.Skip, inv: Invocation) -> Reply:
    skipped, paused = await service.skip_next(inv)
    return Reply(messages.skip_text(skipped, paused))


# --- members' rights: export, forget-me, and forget for admins ------------------------


@handles(cmd.Export)
async def export(service: QuizService, command: cmd.Export, inv: Invocation) -> Reply:
    document = await service.export_member(inv.member)
    if document is None:
        return Reply(messages.NOTHING_STORED)
    return Reply(messages.export_summary(document.data), document)


@handles(cmd.ForgetMe)
async def forget_me(service: QuizService, command: cmd.ForgetMe, inv: Invocation) -> Reply:
    if not command.confirm:
        data = await service.repo.member_data(inv.member)
        if data.empty:
            return Reply(messages.NOTHING_TO_FORGET)
        return Reply(messages.forget_me_confirm(data), data)
    result = await service.forget_member(inv.member)
    if result.nothing:
        return Reply(messages.NOTHING_TO_FORGET)
    return Reply(messages.forgot_you(result), result)


@handles(cmd.Forget, admin=True)
async def forget(service: QuizService, command: cmd.Forget, inv: Invocation) -> Reply:
    data = await service.member_to_forget(inv.channel, command.member)
    if data.empty:
        return Reply(messages.nothing_stored_about(command.member))
    if not command.confirm:
        return Reply(messages.forget_confirm(data), data)
    result = await service.forget_member(data.member)
    return Reply(messages.forgot_member(result), result)


# --- reports and disputes: /quiz report, and /quiz reports for admins --------------------


@handles(cmd.Report)
async def report(service: QuizService, command: cmd.Report, inv: Invocation) -> Reply:
    if command.reason is None:
        prompt = await service.report_prompt(inv, command.drill_id)
        return Reply(messages.report_reasons_text(prompt.question_id), prompt)
    filed = await service.report_question(inv, command.reason, command.text, command.drill_id)
    return Reply(messages.report_filed(filed), filed)


@handles(cmd.ShowReports, admin=True)
async def show_reports(service: QuizService, command: cmd.ShowReports, inv: Invocation) -> Reply:
    reports = await service.open_reports(inv.channel)
    return Reply(messages.reports_text(reports), reports)


@handles(cmd.ResolveReport, admin=True)
async def resolve_report(
    service: QuizService, command: cmd.ResolveReport, inv: Invocation
) -> Reply:
    result = await service.resolve_report(inv, command)
    return Reply(messages.report_resolved(result), result)
