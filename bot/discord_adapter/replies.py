"""Answering interactions: who and where, privately, within Discord's 3 seconds.

Discord drops an interaction that gets no response within 3 seconds. `respond` runs the
work and replies directly when it finishes within `reply_budget` (one round trip, the
usual case), and otherwise defers first ("thinking…") and sends the reply as a follow-up.
Every failure ends in a private reply: a QuizError's own text, or a generic apology
after the exception is logged with its context.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.core import messages
from bot.core.errors import QuizError
from bot.core.models import ChannelRef, MemberRef
from bot.core.service import Invocation
from bot.discord_adapter.render import PrivateReply

if TYPE_CHECKING:
    from bot.discord_adapter.bot import DrillBot

log = logging.getLogger(__name__)

PLATFORM = "discord"
REPLY_BUDGET = 2.0  # seconds of work before deferring; Discord's deadline is 3
NO_MENTIONS = discord.AllowedMentions.none()


def drill_bot(interaction: discord.Interaction) -> DrillBot:
    return cast("DrillBot", interaction.client)


def member_ref(interaction: discord.Interaction) -> MemberRef:
    user = interaction.user
    return MemberRef(PLATFORM, str(interaction.guild_id), str(user.id), user.display_name)


def channel_ref(interaction: discord.Interaction) -> ChannelRef:
    return ChannelRef(PLATFORM, str(interaction.guild_id), str(interaction.channel_id))


def invocation(interaction: discord.Interaction) -> Invocation:
    """Discord's Manage Server permission makes a member a channel admin."""
    return Invocation(
        member_ref(interaction),
        channel_ref(interaction),
        is_admin=interaction.permissions.manage_guild,
    )


def describe(interaction: discord.Interaction) -> str:
    """Context for log lines."""
    return (
        f"user {interaction.user.id} in guild {interaction.guild_id} "
        f"channel {interaction.channel_id} (interaction {interaction.id})"
    )


async def respond(
    interaction: discord.Interaction,
    work: Callable[[], Awaitable[PrivateReply | None]],
    *,
    action: str,
) -> None:
    """Run `work` and send its reply privately, deferring if it takes too long.

    `work` returns None when it has answered the interaction itself (a modal, which
    cannot follow a deferral: that is why a modal's work must stay fast).
    """
    task = asyncio.ensure_future(_guarded(work, interaction, action))
    done, _ = await asyncio.wait({task}, timeout=drill_bot(interaction).reply_budget)
    try:
        if not done:
            await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await task
        if reply is not None:
            await send_private(interaction, reply)
    except discord.HTTPException:
        log.exception("could not answer %s from %s", action, describe(interaction))


async def _guarded(
    work: Callable[[], Awaitable[PrivateReply | None]],
    interaction: discord.Interaction,
    action: str,
) -> PrivateReply | None:
    try:
        return await work()
    except QuizError as exc:
        return PrivateReply(content=exc.message)
    except Exception:
        log.exception("%s failed for %s", action, describe(interaction))
        return PrivateReply(content=messages.SOMETHING_WENT_WRONG)


async def send_private(interaction: discord.Interaction, reply: PrivateReply) -> None:
    """An ephemeral reply, or an ephemeral follow-up once the interaction is answered."""
    kwargs: dict[str, Any] = {"ephemeral": True, "allowed_mentions": NO_MENTIONS}
    if reply.content:
        kwargs["content"] = reply.content
    if reply.embed is not None:
        kwargs["embed"] = reply.embed
    if reply.file is not None:
        kwargs["file"] = discord.File(io.BytesIO(reply.file.data), filename=reply.file.filename)
    if reply.view is not None:
        kwargs["view"] = reply.view
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)
