"""The buttons under a daily post and the answer modal, stateless across restarts.

Which widget a post gets is the kind's answer input (bot.core.kinds), never the kind:
one button per letter, a select menu of several letters, or an "Answer" button opening
a text modal. Custom ids carry everything a click needs: `drill:{drill_id}:answer:{letter}`
for a lettered button, `drill:{drill_id}:pick` for the select, and `drill:{drill_id}:modal`
for the "Answer" button (the modal it opens has the same id). Buttons and the select are
`DynamicItem`s whose templates are registered once in `setup_hook`, so discord.py
rebuilds the item from the custom id of any post, including posts made before the last
restart, and the database decides whether the drill is still open.

Modal submits are handled in `DrillBot.on_interaction` by custom id rather than by a
stored `Modal` object: discord.py keeps stored modals by custom id alone, so two members
answering the same drill would overwrite each other's, and a restart would forget them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import discord

from bot.core import commands as cmd
from bot.core import messages
from bot.core.kinds import registry
from bot.core.kinds.inputs import AnswerInput, Input
from bot.core.models import LETTERS, Question
from bot.discord_adapter.render import MODAL_TITLE_LIMIT, PrivateReply, clip
from bot.discord_adapter.replies import PLATFORM, describe, drill_bot, member_ref, respond
from bot.discord_adapter.report import ReportButton

log = logging.getLogger(__name__)

ANSWER_TEMPLATE = rf"drill:(?P<drill_id>[0-9]+):answer:(?P<letter>[{LETTERS}])"
PICK_TEMPLATE = r"drill:(?P<drill_id>[0-9]+):pick"
MODAL_TEMPLATE = r"drill:(?P<drill_id>[0-9]+):modal"
MODAL_ID = re.compile(MODAL_TEMPLATE)
ANSWER_INPUT_ID = "answer"
# Discord allows 4,000 characters in a text input; the core accepts MAX_TEXT.
ANSWER_MAX_LENGTH = min(4000, cmd.MAX_TEXT)
OPTION_LABEL_LIMIT = 100  # Discord's limit on a select option's label


def pick_id(drill_id: int) -> str:
    return f"drill:{drill_id}:pick"


def answer_id(drill_id: int, letter: str) -> str:
    return f"drill:{drill_id}:answer:{letter}"


def modal_id(drill_id: int) -> str:
    return f"drill:{drill_id}:modal"


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button], template=ANSWER_TEMPLATE):
    """One lettered choice; a click answers with that letter."""

    def __init__(
        self,
        drill_id: int,
        letter: str,
        *,
        style: discord.ButtonStyle = discord.ButtonStyle.primary,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=letter,
                style=style,
                disabled=disabled,
                custom_id=answer_id(drill_id, letter),
            )
        )
        self.drill_id = drill_id
        self.letter = letter

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerButton:
        return cls(int(match["drill_id"]), match["letter"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await submit(interaction, self.drill_id, self.letter)


class AnswerSelect(discord.ui.DynamicItem[discord.ui.Select], template=PICK_TEMPLATE):
    """A menu of lettered choices taking several at once; submitting answers with them."""

    def __init__(
        self, drill_id: int, options: Sequence[discord.SelectOption], *, disabled: bool = False
    ) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=pick_id(drill_id),
                placeholder=messages.PICK_PLACEHOLDER,
                min_values=1,
                max_values=len(options),
                options=list(options),
                disabled=disabled,
            )
        )
        self.drill_id = drill_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerSelect:
        # discord.py builds the item from the clicked component: a select for this template.
        if not isinstance(item, discord.ui.Select):
            raise TypeError(f"a pick menu arrived as {type(item).__name__}, not a select")
        return cls(int(match["drill_id"]), item.options, disabled=item.disabled)

    async def callback(self, interaction: discord.Interaction) -> None:
        await submit(interaction, self.drill_id, " ".join(self.item.values))


def select_options(question: Question, wanted: AnswerInput) -> list[discord.SelectOption]:
    lines = dict(zip(question.letters, messages.choice_lines(question), strict=True))
    return [
        discord.SelectOption(label=clip(lines[letter], OPTION_LABEL_LIMIT), value=letter)
        for letter in wanted.options
    ]


class AnswerModalButton(discord.ui.DynamicItem[discord.ui.Button], template=MODAL_TEMPLATE):
    """The single "Answer" button of typed kinds; a click opens the answer modal."""

    def __init__(self, drill_id: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=messages.ANSWER_BUTTON,
                style=discord.ButtonStyle.primary,
                disabled=disabled,
                custom_id=modal_id(drill_id),
            )
        )
        self.drill_id = drill_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerModalButton:
        return cls(int(match["drill_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        title = messages.DAILY_TITLE
        if interaction.message and interaction.message.embeds:
            title = interaction.message.embeds[0].title or title
        await open_modal(interaction, self.drill_id, title)


def answer_view(drill_id: int, question: Question, *, revealed: bool = False) -> discord.ui.View:
    """The answer widget for a post: enabled while open; once revealed, disabled, with
    the correct letters in green."""
    view = discord.ui.View(timeout=None)
    wanted = registry.answer_input(question)
    if wanted.input is Input.BUTTONS:
        for letter in wanted.options:
            style = discord.ButtonStyle.primary
            if revealed:
                correct = letter in question.correct_letters
                style = discord.ButtonStyle.success if correct else discord.ButtonStyle.secondary
            view.add_item(AnswerButton(drill_id, letter, style=style, disabled=revealed))
    elif wanted.input is Input.SELECT_MANY:
        view.add_item(AnswerSelect(drill_id, select_options(question, wanted), disabled=revealed))
    else:
        view.add_item(AnswerModalButton(drill_id, disabled=revealed))
    if revealed:  # reports and disputes: members may report the revealed question
        view.add_item(ReportButton(drill_id))
    return view


def answer_modal(drill_id: int, title: str) -> discord.ui.Modal:
    return text_modal(modal_id(drill_id), title)


def text_modal(custom_id: str, title: str) -> discord.ui.Modal:
    """An answer form. It is stopped before it is sent, so discord.py does not keep it:
    its submit is handled by custom id (see the module docstring)."""
    modal = discord.ui.Modal(title=clip(title, MODAL_TITLE_LIMIT), custom_id=custom_id)
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


async def open_modal(interaction: discord.Interaction, drill_id: int, title: str) -> None:
    try:
        await interaction.response.send_modal(answer_modal(drill_id, title))
    except discord.HTTPException:
        log.exception("could not open the answer modal for %s", describe(interaction))


async def submit(interaction: discord.Interaction, drill_id: int, text: str) -> None:
    """Record one member's answer to a drill and tell them privately how it went."""

    async def work() -> PrivateReply:
        service = drill_bot(interaction).service
        if interaction.guild_id is None:  # a click on a reminder, in the member's DMs
            user = str(interaction.user.id)
            result = await service.answer_reminder(PLATFORM, user, drill_id, text)
        else:
            result = await service.submit_answer(member_ref(interaction), drill_id, text)
        return PrivateReply(content=messages.answer_feedback(result))

    await respond(interaction, work, action=f"answer to drill {drill_id}")


async def submit_modal(interaction: discord.Interaction) -> None:
    """Handle an answer modal's submit; every other interaction is left alone."""
    if interaction.type is not discord.InteractionType.modal_submit or not interaction.data:
        return
    match = MODAL_ID.fullmatch(str(interaction.data.get("custom_id", "")))
    if match is None:
        return
    text = submitted_value(interaction.data.get("components", []), ANSWER_INPUT_ID) or ""
    await submit(interaction, int(match["drill_id"]), text)


def submitted_value(components: Any, custom_id: str) -> str | None:
    """A text input's value in a modal submit, whether wrapped in action rows or labels."""
    if isinstance(components, dict):
        if components.get("custom_id") == custom_id and "value" in components:
            return str(components["value"])
        components = [*components.get("components", []), components.get("component")]
    if isinstance(components, list):
        for child in components:
            if child and (value := submitted_value(child, custom_id)) is not None:
                return value
    return None
