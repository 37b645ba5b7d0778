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
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from bot.core import commands as cmd
from bot.core import messages
from bot.core.kinds import registry
from bot.core.kinds.inputs import Input
from bot.core.models import LETTERS, PracticeSession, PracticeTurn
from bot.core.service import Reply
from bot.discord_adapter.render import (
    PrivateReply,
    private_reply,
    private_text,
)
from bot.discord_adapter.replies import drill_bot, invocation, member_ref, respond
from bot.discord_adapter.views import (
    ANSWER_INPUT_ID,
    select_options,
    submitted_value,
    text_modal,
)

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
    """The practice answer form, handled by custom id like the daily one (views)."""
    return text_modal(practice_modal_id(session), title)


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
        return practice_reply(turn)

    await respond(interaction, work, action="practice answer form")


# --- the practice question's controls ---------------------------------------------------------
# Like the daily post's, but their custom ids name the session and the item, so a click on
# an earlier question's buttons never answers a later one (the service refuses it).

PRACTICE_ITEM = r"practice:(?P<session>[0-9]+):(?P<position>[0-9]+)"


def practice_id(session_id: int, position: int, action: str) -> str:
    return f"practice:{session_id}:{position}:{action}"


class PracticeButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=rf"{PRACTICE_ITEM}:answer:(?P<letter>[{LETTERS}])",
):
    """One lettered choice of the practice question; a click answers with it."""

    def __init__(self, session_id: int, position: int, letter: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=letter,
                style=discord.ButtonStyle.primary,
                custom_id=practice_id(session_id, position, f"answer:{letter}"),
            )
        )
        self.session_id, self.position, self.letter = session_id, position, letter

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PracticeButton:
        return cls(int(match["session"]), int(match["position"]), match["letter"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await answer_item(interaction, self.session_id, self.position, self.letter)


class PracticePick(discord.ui.DynamicItem[discord.ui.Select], template=rf"{PRACTICE_ITEM}:pick"):
    """The select-all menu of a practice question; submitting answers with the picks."""

    def __init__(self, session_id: int, position: int, options: list[discord.SelectOption]) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=practice_id(session_id, position, "pick"),
                placeholder=messages.PICK_PLACEHOLDER,
                min_values=1,
                max_values=len(options),
                options=options,
            )
        )
        self.session_id, self.position = session_id, position

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PracticePick:
        if not isinstance(item, discord.ui.Select):
            raise TypeError(f"a pick menu arrived as {type(item).__name__}, not a select")
        return cls(int(match["session"]), int(match["position"]), item.options)

    async def callback(self, interaction: discord.Interaction) -> None:
        picked = " ".join(self.item.values)
        await answer_item(interaction, self.session_id, self.position, picked)


class PracticeFormButton(
    discord.ui.DynamicItem[discord.ui.Button], template=rf"{PRACTICE_ITEM}:form"
):
    """The "Answer" button of a typed practice question: it opens the practice form."""

    def __init__(self, session_id: int, position: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=messages.ANSWER_BUTTON,
                style=discord.ButtonStyle.primary,
                custom_id=practice_id(session_id, position, "form"),
            )
        )
        self.session_id, self.position = session_id, position

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PracticeFormButton:
        return cls(int(match["session"]), int(match["position"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async def work() -> PrivateReply | None:
            session = await drill_bot(interaction).service.open_practice(member_ref(interaction))
            current = session.current if session else None
            if session is None or session.id != self.session_id:
                return private_text(messages.PRACTICE_FORM_STALE)
            if current is None or current.position != self.position:
                return private_text(messages.PRACTICE_ALREADY_ANSWERED)
            return await send_practice_modal(interaction, session)

        await respond(interaction, work, action="practice form button")


PRACTICE_ITEMS = (PracticeButton, PracticePick, PracticeFormButton)


async def answer_item(
    interaction: discord.Interaction, session_id: int, position: int, text: str
) -> None:
    async def work() -> PrivateReply:
        service = drill_bot(interaction).service
        turn = await service.answer_practice_form(
            invocation(interaction), session_id, position, text
        )
        return practice_reply(turn)

    await respond(interaction, work, action=f"practice answer {session_id}:{position}")


def practice_view(turn: PracticeTurn) -> discord.ui.View | None:
    """The controls of the question the member is on, or None once the session is done."""
    current, question = turn.session.current, turn.question
    if current is None or question is None:
        return None
    view = discord.ui.View(timeout=None)
    wanted = registry.answer_input(question)
    session_id, position = turn.session.id, current.position
    if wanted.input is Input.BUTTONS:
        for letter in wanted.options:
            view.add_item(PracticeButton(session_id, position, letter))
    elif wanted.input is Input.SELECT_MANY:
        view.add_item(PracticePick(session_id, position, select_options(question, wanted)))
    else:
        view.add_item(PracticeFormButton(session_id, position))
    view.stop()  # handled by custom id (DynamicItem), not kept by discord.py
    return view


def practice_reply(turn: PracticeTurn) -> PrivateReply:
    """A practice turn's text, with the next question's controls."""
    return replace(private_text(messages.practice_text(turn)), view=practice_view(turn))


def reply_with_practice(reply: Reply) -> PrivateReply:
    """`/quiz practice` and `/quiz answer`: a practice turn comes with its controls."""
    if isinstance(reply.data, PracticeTurn):
        return practice_reply(reply.data)
    return private_reply(reply)
