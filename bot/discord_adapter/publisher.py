"""The core's Publisher port on Discord: posts, the reveal edit, boards, private notes.

Channels are addressed by id through partial messageables, so posting needs no cache
and works for a channel the gateway has not described yet.
"""

from __future__ import annotations

import logging

import discord

from bot.core.errors import ChannelUnavailable
from bot.core.models import ChannelRef, DrillPost, DrillResult, Leaderboard
from bot.discord_adapter.render import (
    drill_embed,
    leaderboard_embed,
    private_text,
    reveal_embed,
)
from bot.discord_adapter.replies import NO_MENTIONS
from bot.discord_adapter.views import answer_view

log = logging.getLogger(__name__)


class DiscordPublisher:
    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def channel(self, channel: ChannelRef) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(
            int(channel.channel_id), guild_id=int(channel.workspace_id)
        )

    async def post_drill(self, post: DrillPost) -> str:
        """The question embed with its answer buttons; a refusal for lack of access or
        permissions is ChannelUnavailable, so the caller tells an admin, not retries."""
        try:
            message = await self.channel(post.drill.channel).send(
                embed=drill_embed(post),
                view=answer_view(post.drill.id, post.question),
                allowed_mentions=NO_MENTIONS,
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            raise ChannelUnavailable(exc.text or str(exc)) from exc
        return str(message.id)

    async def reveal_drill(self, result: DrillResult) -> None:
        drill = result.drill
        if drill.message_id is None:
            log.warning("drill %s has no post to reveal in", drill.id)
            return
        message = self.channel(drill.channel).get_partial_message(int(drill.message_id))
        await message.edit(
            embed=reveal_embed(result),
            view=answer_view(drill.id, result.question, revealed=True),
            allowed_mentions=NO_MENTIONS,
        )

    async def post_leaderboard(self, channel: ChannelRef, board: Leaderboard, title: str) -> None:
        await self.channel(channel).send(
            embed=leaderboard_embed(board, title), allowed_mentions=NO_MENTIONS
        )

    def channel_mention(self, channel: ChannelRef) -> str:
        return f"<#{channel.channel_id}>"

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        """A DM: it reaches the member even where the bot cannot post. (An ephemeral
        message needs an interaction to answer, and the callers here have none.)"""
        dm = await self.client.create_dm(discord.Object(int(user_id)))
        await dm.send(private_text(text).content, allowed_mentions=NO_MENTIONS)
