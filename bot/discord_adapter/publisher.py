"""The core's Publisher port on Discord: posts, the reveal edit, boards, private notes.

Channels are addressed by id through partial messageables, so posting needs no cache
and works for a channel the gateway has not described yet.

Failures leave as the core's error types: Forbidden and NotFound as ChannelUnavailable,
429s, 5xx, timeouts and lost connections as TransientFailure. discord.py retries a 5xx
itself, up to 5 tries, and cannot be told not to; so every message created here carries
a `nonce` (discord.py then sends `enforce_nonce`), and Discord answers a repeat of the
same nonce within a few minutes with the message it already made, never a copy. Past
that window, `find_drill_post` tells whether a drill's post is out before posting again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import discord

from bot.core.errors import ChannelUnavailable, TransientFailure
from bot.core.models import ChannelRef, DrillPost, DrillResult, Leaderboard
from bot.delivery.transport import transport_failures
from bot.discord_adapter.render import (
    drill_embed,
    leaderboard_embed,
    private_text,
    reveal_embed,
)
from bot.discord_adapter.replies import NO_MENTIONS
from bot.discord_adapter.views import answer_view

log = logging.getLogger(__name__)

NONCE_LENGTH = 25  # Discord's limit for a string nonce
HISTORY_LIMIT = 50  # recent messages searched for a drill's post


def drill_nonce(drill_id: int) -> str:
    return f"drill-{drill_id}"


def content_nonce(*parts: Any) -> str:
    """A nonce for a message with no id of its own: the same message to the same place
    gets the same nonce, so a retry within Discord's window is not posted twice."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:NONCE_LENGTH]


def _retry_after(exc: discord.HTTPException) -> tuple[float | None, bool]:
    headers = getattr(exc.response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("X-RateLimit-Reset-After")
    is_global = str(headers.get("X-RateLimit-Global", "")).lower() == "true"
    try:
        return (float(value) if value is not None else None), is_global
    except ValueError:
        return None, is_global


@contextmanager
def translated(action: str, *, creates: bool = False) -> Iterator[None]:
    """Turn discord.py's and aiohttp's exceptions into the core's delivery errors."""
    with transport_failures(action, "Discord"):
        try:
            yield
        except (discord.Forbidden, discord.NotFound) as exc:
            raise ChannelUnavailable(exc.text or str(exc)) from exc
        except discord.RateLimited as exc:
            raise TransientFailure(
                f"{action}: rate limited", retry_after=exc.retry_after, maybe_delivered=creates
            ) from exc
        except discord.HTTPException as exc:
            if exc.status == 429:
                retry_after, is_global = _retry_after(exc)
                raise TransientFailure(
                    f"{action}: rate limited",
                    retry_after=retry_after,
                    global_limit=is_global,
                    maybe_delivered=creates,
                ) from exc
            if exc.status >= 500:
                raise TransientFailure(
                    f"{action}: Discord answered {exc.status}", maybe_delivered=True
                ) from exc
            raise


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
        # discord.py retries a 5xx itself: an earlier try may have been taken before the
        # 429 that ends them, so a rate-limited post is looked up before it is sent again.
        with translated("posting the drill", creates=True):
            message = await self.channel(post.drill.channel).send(
                embed=drill_embed(post),
                view=answer_view(post.drill.id, post.question),
                allowed_mentions=NO_MENTIONS,
                nonce=drill_nonce(post.drill.id),
            )
        return str(message.id)

    async def find_drill_post(self, channel: ChannelRef, drill_id: int) -> str | None:
        """The id of the drill's post among the channel's recent messages by this bot (it
        carries buttons `drill:{id}:...`), or None: asked before posting again when an
        earlier attempt's outcome is unknown."""
        prefix = f"drill:{drill_id}:"
        me = self.client.user.id if self.client.user is not None else None
        with translated("reading the channel"):
            async for message in self.channel(channel).history(limit=HISTORY_LIMIT):
                if me is not None and message.author.id != me:
                    continue
                if any(
                    str(getattr(child, "custom_id", "") or "").startswith(prefix)
                    for row in message.components
                    for child in getattr(row, "children", ())
                ):
                    return str(message.id)
        return None

    async def reveal_drill(self, result: DrillResult) -> None:
        drill = result.drill
        if drill.message_id is None:
            # Its post never got an id (given up while it may be out): the answer still
            # reaches the channel, as a message of its own.
            log.warning("drill %s has no post to edit: posting its reveal", drill.id)
            with translated("revealing the drill"):
                await self.channel(drill.channel).send(
                    embed=reveal_embed(result),
                    allowed_mentions=NO_MENTIONS,
                    nonce=content_nonce("reveal", drill.id),
                )
            return
        message = self.channel(drill.channel).get_partial_message(int(drill.message_id))
        with translated("revealing the drill"):
            await message.edit(
                embed=reveal_embed(result),
                view=answer_view(drill.id, result.question, revealed=True),
                allowed_mentions=NO_MENTIONS,
            )

    async def post_leaderboard(self, channel: ChannelRef, board: Leaderboard, title: str) -> None:
        embed = leaderboard_embed(board, title)
        with translated("posting a leaderboard"):
            await self.channel(channel).send(
                embed=embed,
                allowed_mentions=NO_MENTIONS,
                nonce=content_nonce(channel.channel_id, embed.to_dict()),
            )

    async def post_notice(self, channel: ChannelRef, text: str) -> None:
        content = private_text(text).content  # the same clipping as any text reply
        with translated("posting a notice"):
            await self.channel(channel).send(
                content,
                allowed_mentions=NO_MENTIONS,
                nonce=content_nonce(channel.channel_id, content),
            )

    def channel_mention(self, channel: ChannelRef) -> str:
        return f"<#{channel.channel_id}>"

    async def remind(self, post: DrillPost, user_id: str, text: str) -> None:
        """A DM with the question and its answer controls: their custom ids carry the
        drill, so a click in the DM answers it (see views.submit)."""
        with translated("sending a reminder"):
            dm = await self.client.create_dm(discord.Object(int(user_id)))
            await dm.send(
                private_text(text).content,
                embed=drill_embed(post),
                view=answer_view(post.drill.id, post.question),
                allowed_mentions=NO_MENTIONS,
                nonce=content_nonce("reminder", post.drill.id, user_id),
            )

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        """A DM: it reaches the member even where the bot cannot post. (An ephemeral
        message needs an interaction to answer, and the callers here have none.)"""
        content = private_text(text).content
        with translated("sending a direct message"):
            dm = await self.client.create_dm(discord.Object(int(user_id)))
            await dm.send(
                content, allowed_mentions=NO_MENTIONS, nonce=content_nonce(user_id, content)
            )
