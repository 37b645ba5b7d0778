"""`/quiz practice` and `/quiz goal` on Discord, and the practice answer form.

Practice is private: every reply is ephemeral. While a session is open, `/quiz answer
text:...` answers its question (the core's Answer handler decides), and `/quiz answer`
without text opens a form for it whose custom id names the session and the item,
`practice:{session_id}:{position}:modal`, so a form left open never answers a later
question. Options are turned into the grammar's own words and parsed by it, so bad
values get the console's messages.
"""

from __future__ import annotations

import re

import discord
from discord import app_commands

from bot.core import commands as cmd
from bot.core import messages
from bot.core.models import PracticeSession
from bot.discord_adapter.render import MODAL_TITLE_LIMIT, PrivateReply, clip, private_text
from bot.discord_adapter.replies import drill_bot, invocation, respond
from bot.discord_adapter.views import ANSWER_INPUT_ID, ANSWER_MAX_LENGTH, submitted_value

Choice = app_commands.Choice
ACTIONS = [Choice(name=label, value=value) for value, label in messages.PRACTICE_ACTIONS.items()]
MODAL_ID = re.compile(r"practice:(?P<session>[0-9]+):(?P<position>[0-9]+):modal")


def practice_command(topic: str | None, count: int | None, action: str | None) -> cmd.Command:
    """The options as `/quiz practice [new|stop] [topic] [count]` words."""
    words = [action if action in ("new", "stop") else "", (topic or "").strip()]
    words.append("" if count is None else str(count))
    return cmd.parse_practice("practice", [word for word in words if word])


def goal_command(questions: int | None) -> cmd.Command:
    return cmd.parse_practice("goal", [] if questions is None else [str(questions)])


def practice_modal_id(session: PracticeSession) -> str:
    current = session.current
    return f"practice:{session.id}:{current.position if current else 0}:modal"


def practice_modal(session: PracticeSession, title: str) -> discord.ui.Modal:
    """The practice answer form; stopped before it is sent, like the daily one (views)."""
    modal = discord.ui.Modal(
        title=clip(title, MODAL_TITLE_LIMIT), custom_id=practice_modal_id(session)
    )
    modal.add_item(
        discord.ui.TextInput(
            label=messages.ANSWER_LABEL,
            custom_id=ANSWER_INPUT_ID,
            style=discord.TextStyle.paragraph,
            max_length=ANSWER_MAX_LENGTH,
        )
    )
    modal.stop()
    return modal


async def send_practice_modal(
    interaction: discord.Interaction, session: PracticeSession
) -> PrivateReply | None:
    """`/quiz answer` without text during practice: the form for the current question."""
    current = session.current
    if current is None:
        return private_text(messages.NO_PRACTICE)
    question = drill_bot(interaction).service.question(current.question_id)
    title = f"{messages.PRACTICE_TITLE} · {messages.question_header(question)}"
    await interaction.response.send_modal(practice_modal(session, title))
    return None


async def submit_practice_modal(interaction: discord.Interaction) -> None:
    """Handle a practice form's submit; every other interaction is left alone."""
    if interaction.type is not discord.InteractionType.modal_submit or not interaction.data:
        return
    match = MODAL_ID.fullmatch(str(interaction.data.get("custom_id", "")))
    if match is None:
        return
    text = submitted_value(interaction.data.get("components", []), ANSWER_INPUT_ID) or ""

    async def work() -> PrivateReply:
        service = drill_bot(interaction).service
        turn = await service.answer_practice_form(
            invocation(interaction), int(match["session"]), int(match["position"]), text
        )
        return private_text(messages.practice_text(turn))

    await respond(interaction, work, action="practice answer form")
