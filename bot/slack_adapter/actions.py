"""Button clicks on a drill post: a letter answers, "Answer" opens the answer modal.

A double click or a retried delivery reaches submit_answer twice; the (drill, member)
key in the database keeps the first answer, and the second click is told so privately.
"""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import messages
from bot.core.errors import NotFound
from bot.core.models import LETTERS
from bot.slack_adapter.blocks import (
    ANSWER_ACTION,
    OPEN_MODAL_ACTION,
    REPORT_ACTION,
    answer_modal,
    parse_answer_value,
    parse_modal_value,
    report_modal,
)
from bot.slack_adapter.common import Deps, member_ref, reply_privately, team_of

ANSWER_PATTERN = re.compile(rf"^{ANSWER_ACTION}:[{LETTERS}]$")


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(ANSWER_PATTERN)
    async def answer_clicked(
        ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()
        member = member_ref(team_of(context), body["user"])
        drill_id, letter = parse_answer_value(action["value"])
        result = await deps.service.submit_answer(member, drill_id, letter)
        await reply_privately(respond, messages.answer_feedback(result))

    @app.action(OPEN_MODAL_ACTION)
    async def answer_button(
        ack: AsyncAck,
        body: dict,
        action: dict,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        drill_id, question_id = parse_modal_value(action["value"])
        view = answer_modal(drill_id, body["channel"]["id"], deps.service.question(question_id))
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(REPORT_ACTION)
    async def report_button(
        ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        """The Report button of a reveal: a modal with the reasons and optional text."""
        await ack()
        drill = await deps.service.repo.get_drill(int(action["value"]))
        if drill is None:
            raise NotFound(messages.DRILL_GONE)
        view = report_modal(
            drill.id, body["channel"]["id"], deps.service.question(drill.question_id)
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)
