"""The answer modal's submission (typed or ticked): graded, then private feedback in the channel.

Grading takes milliseconds, so the answer is graded before the ack: an answer that
cannot be graded as given (not a number, empty) keeps the modal open with the reason
under the input, where the member can fix it, and so does an unexpected failure ("try
again"). Anything else closes the modal and the feedback arrives as an ephemeral
message (a DM if the channel refuses). The listener raises; errors.py, the app's one
error path, does the telling.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import commands, messages
from bot.core.service import Invocation
from bot.slack_adapter.blocks import (
    ANSWER_BLOCK,
    ANSWER_INPUT,
    MODAL_CALLBACK,
    REPORT_CALLBACK,
    parse_modal_metadata,
    submitted_answer,
    submitted_report,
)
from bot.slack_adapter.common import Deps, channel_ref, member_ref, team_of
from bot.slack_adapter.publisher import send_private


def register(app: AsyncApp, deps: Deps) -> None:
    @app.view(MODAL_CALLBACK)
    async def answer_submitted(
        ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        member = member_ref(team_of(context), body["user"])
        drill_id, channel_id = parse_modal_metadata(view["private_metadata"])
        text = submitted_answer(view["state"]["values"][ANSWER_BLOCK][ANSWER_INPUT])
        result = await deps.service.submit_answer(member, drill_id, text)
        await ack()
        await send_private(client, channel_id, member.user_id, messages.answer_feedback(result))

    @app.view(REPORT_CALLBACK)
    async def report_submitted(
        ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """A report from a reveal's Report button: filed (once per member and question)
        before the ack, so a refusal shows in the modal; the outcome comes privately."""
        team = team_of(context)
        member = member_ref(team, body["user"])
        drill_id, channel_id = parse_modal_metadata(view["private_metadata"])
        reason, text = submitted_report(view["state"]["values"])
        command = commands.parse_report(reason, text, drill_id)
        reply = await deps.service.execute(
            command, Invocation(member, channel_ref(team, channel_id))
        )
        await ack()
        await send_private(client, channel_id, member.user_id, reply.text)
