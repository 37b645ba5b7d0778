"""Core results laid out as Discord embeds, always inside Discord's size limits.

The words come from `bot.core.messages`; this module only arranges them. Anything that
could overflow a limit is cut at a word or line boundary and marked with an ellipsis,
so a long question or a crowded leaderboard degrades instead of failing to send.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import discord

from bot.charts import CHART_FILENAME
from bot.core import messages
from bot.core.messages import ELLIPSIS, clip
from bot.core.models import (
    DrillPost,
    DrillResult,
    Leaderboard,
    MemberExport,
    MemberStats,
    Question,
)
from bot.core.service import Reply

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000
CHOICE_LIMIT = 25
CHOICE_NAME_LIMIT = 100
MODAL_TITLE_LIMIT = 45
CHOICE_LINE_LIMIT = 600  # one answer choice in the post; five of them leave room for the prompt


OPEN_COLOUR = discord.Colour.blurple()
CLOSED_COLOUR = discord.Colour.green()
INFO_COLOUR = discord.Colour.dark_teal()


@dataclass(frozen=True)
class Attachment:
    """A file sent with a private reply (the /quiz export document)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class PrivateReply:
    """What an interaction gets back: text, an embed, or both, and maybe a file; always
    ephemeral."""

    content: str = ""
    embed: discord.Embed | None = None
    file: Attachment | None = None
    view: discord.ui.View | None = None


# --- truncation ---------------------------------------------------------------------------


def clip_lines(lines: list[str], limit: int) -> str:
    """Whole lines while they fit, then a last line with an ellipsis."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for line in lines:
        size += len(line) + 1
        if size + len(ELLIPSIS) > limit:
            break
        kept.append(line)
    if not kept:
        return clip(lines[0], limit)
    return "\n".join([*kept, ELLIPSIS])


def text_embed(text: str, colour: discord.Colour = INFO_COLOUR) -> discord.Embed:
    """A messages text as an embed: its first line the title, the rest the description."""
    first, _, rest = text.partition("\n")
    return discord.Embed(
        title=clip(first, TITLE_LIMIT),
        description=clip_lines(rest.split("\n"), DESCRIPTION_LIMIT) if rest else None,
        colour=colour,
    )


def private_reply(reply: Reply) -> PrivateReply:
    """Stats and leaderboards as embeds; every other reply as plain text."""
    if isinstance(reply.data, MemberStats | Leaderboard):
        return PrivateReply(embed=text_embed(reply.text))
    if isinstance(reply.data, MemberExport):
        text = private_text(f"{reply.text}\n{messages.EXPORT_ATTACHED}").content
        file = Attachment(reply.data.filename, reply.data.document.encode())
        return PrivateReply(content=text, file=file)
    return private_text(reply.text)


def with_progress_chart(reply: PrivateReply, png: bytes | None) -> PrivateReply:
    """The stats embed with the chart as its image (attached), or as it was without one."""
    if png is None or reply.embed is None:
        return reply
    reply.embed.set_image(url=f"attachment://{CHART_FILENAME}")
    return replace(reply, file=Attachment(CHART_FILENAME, png))


def private_text(text: str) -> PrivateReply:
    return PrivateReply(content=clip_lines(text.split("\n"), CONTENT_LIMIT))


# --- the daily post and its reveal ----------------------------------------------------------


def question_description(question: Question, limit: int, *, revealed: bool = False) -> str:
    """The prompt and lettered choices; once revealed, the correct choices are marked.

    The choices are kept whole (each clipped on its own) and the prompt gets what is
    left, so a long prompt never pushes the choices out of the post.
    """
    choice_lines = [clip(line, CHOICE_LINE_LIMIT) for line in messages.choice_lines(question)]
    if revealed:
        for letter in question.correct_letters:
            index = question.letters.index(letter)
            choice_lines[index] = f"✅ **{choice_lines[index]}**"
    tail = "\n".join(choice_lines)
    room = limit - len(tail) - (1 if tail else 0)
    if room <= len(ELLIPSIS):
        return clip(tail, limit)
    prompt = clip(question.prompt.strip() + ("\n" if tail else ""), room)
    return f"{prompt}\n{tail}" if tail else prompt


def drill_embed(post: DrillPost) -> discord.Embed:
    question, drill = post.question, post.drill
    hint = messages.answer_hint(question)
    description = question_description(question, DESCRIPTION_LIMIT - len(hint) - 2)
    embed = discord.Embed(
        title=clip(messages.question_header(question), TITLE_LIMIT),
        description=f"{description}\n\n{hint}",
        colour=OPEN_COLOUR,
        timestamp=drill.opened_at,
    )
    embed.set_author(name=messages.DAILY_TITLE)
    return embed


def reveal_embed(result: DrillResult) -> discord.Embed:
    """The post after the close: the answer, the explanation, the distribution, the fastest."""
    question = result.question
    answer = clip(
        f"{messages.answer_line(question)}\n{question.explanation.strip()}", FIELD_VALUE_LIMIT
    )
    fastest = messages.fastest_line(result)
    bars_room = FIELD_VALUE_LIMIT - len("```\n\n```") - (len(fastest) + 1 if fastest else 0)
    bars = clip_lines(messages.distribution_lines(result), max(bars_room, 0))
    distribution = "\n".join(part for part in (f"```\n{bars}\n```", fastest) if part)
    embed = discord.Embed(
        title=clip(messages.question_header(question), TITLE_LIMIT),
        colour=CLOSED_COLOUR,
        timestamp=result.drill.closed_at,
    )
    embed.set_author(name=messages.CLOSED_TITLE)
    embed.add_field(name="\u200b", value=answer, inline=False)
    embed.add_field(
        name=clip(messages.reveal_summary(result), FIELD_NAME_LIMIT),
        value=clip(distribution, FIELD_VALUE_LIMIT),
        inline=False,
    )
    room = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - len(embed))
    embed.description = question_description(question, room, revealed=True)
    return embed


def leaderboard_embed(board: Leaderboard, title: str) -> discord.Embed:
    return text_embed(messages.leaderboard_text(board, title))
