"""SlackPublisher: the core's Publisher port on the Slack Web API.

A drill's message id is the `ts` chat.postMessage returns; the reveal edits that message
in the drill's channel with chat.update. Errors that retrying cannot fix (the bot was
removed from the channel, the channel is gone or archived) become ChannelUnavailable, so
the scheduler stops retrying and tells the admin who ran setup through post_private,
which falls back to a direct message when the channel refuses an ephemeral one.

Rate limits (429 with Retry-After), 5xx, Slack's internal_error and fatal_error,
timeouts and lost connections become TransientFailure, to be retried by the delivery
code. chat.postMessage goes through a copy of the client without slack_sdk's retry
handlers: its default handler repeats a request after a lost connection, and Slack has
no idempotency key for a post, so a reset after Slack accepted it would post it twice.
Our own retries ask `find_drill_post` first when a post's outcome is unknown.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import messages
from bot.core.errors import ChannelUnavailable, TransientFailure
from bot.core.models import ChannelRef, DrillPost, DrillResult, Leaderboard
from bot.delivery.transport import transport_failures
from bot.slack_adapter import blocks

log = logging.getLogger(__name__)


class _Auth(TypedDict, total=False):
    """The workspace's token to call with; empty means the client's own."""

    token: str


# Slack errors that mean "this channel will not take our posts until someone acts".
CHANNEL_REFUSALS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "restricted_action",
        "missing_scope",
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "team_access_not_granted",
    }
)
# Errors of chat.postEphemeral after which a direct message still reaches the user.
DM_FALLBACK = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "user_not_in_channel",
        "restricted_action",
    }
)

# Errors after which the call may have taken effect; a later attempt may succeed.
SERVER_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable"})
HISTORY_LIMIT = 50  # recent messages searched for a drill's post

TokenLookup = Callable[[str], Awaitable[str | None]]


def error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown_error"))


def _header(exc: SlackApiError, name: str) -> str | None:
    headers = getattr(exc.response, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list | tuple) else value)
    return None


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn slack_sdk's and aiohttp's exceptions into the core's delivery errors; other
    Slack errors (a malformed request, a bug of ours) leave as they are."""
    with transport_failures(action, "Slack"):
        try:
            yield
        except SlackApiError as exc:
            code = error_code(exc)
            status = getattr(exc.response, "status_code", 200)
            if code in CHANNEL_REFUSALS:
                raise ChannelUnavailable(code) from exc
            if status == 429 or code == "ratelimited":
                try:
                    retry_after = float(_header(exc, "Retry-After") or 1)
                except ValueError:
                    retry_after = 1.0
                raise TransientFailure(f"{action}: rate limited", retry_after=retry_after) from exc
            if status >= 500 or code in SERVER_ERRORS:
                raise TransientFailure(
                    f"{action}: Slack answered {status} {code}", maybe_delivered=True
                ) from exc
            raise


def without_retries(client: AsyncWebClient) -> AsyncWebClient:
    """The same client (token, address, session) with no retry handlers."""
    quiet = copy.copy(client)
    quiet.retry_handlers = []
    return quiet


async def send_private(
    client: AsyncWebClient, channel_id: str, user_id: str, text: str, token: str | None = None
) -> None:
    """An ephemeral message in the channel, or a DM (the app's Messages tab) if the
    channel refuses it: the admin must hear about a channel the bot was removed from."""
    auth: _Auth = {"token": token} if token else {}
    try:
        await client.chat_postEphemeral(
            channel=channel_id, user=user_id, text=blocks.fallback(text), **auth
        )
        return
    except SlackApiError as exc:
        if error_code(exc) not in DM_FALLBACK:
            raise
        log.info(
            "ephemeral to %s in %s refused (%s): sending a DM", user_id, channel_id, error_code(exc)
        )
    await client.chat_postMessage(channel=user_id, text=blocks.fallback(text), **auth)


class SlackPublisher:
    """Posts with one bot token (single workspace), or with each workspace's token from
    the installation store (multi-workspace OAuth mode)."""

    def __init__(self, client: AsyncWebClient, token_for: TokenLookup | None = None) -> None:
        self.client = client
        self.poster = without_retries(client)
        self.token_for = token_for

    async def _auth(self, workspace_id: str) -> _Auth:
        if self.token_for is None:
            return {}
        token = await self.token_for(workspace_id)
        if token is None:
            raise ChannelUnavailable(messages.not_installed(workspace_id))
        return {"token": token}

    async def _post(self, channel: ChannelRef, *, text: str, blocks: list[dict[str, Any]]) -> str:
        auth = await self._auth(channel.workspace_id)
        with translated("posting"):
            response = await self.poster.chat_postMessage(
                channel=channel.channel_id,
                unfurl_links=False,
                unfurl_media=False,
                text=text,
                blocks=blocks,
                **auth,
            )
        return str(response["ts"])

    async def find_drill_post(self, channel: ChannelRef, drill_id: int) -> str | None:
        """The `ts` of the drill's post among the channel's recent bot messages (its
        actions block is `drill:{id}`), or None: asked before posting again when an
        earlier attempt's outcome is unknown."""
        block_id = f"drill:{drill_id}"
        auth = await self._auth(channel.workspace_id)
        with translated("reading the channel"):
            response = await self.client.conversations_history(
                channel=channel.channel_id, limit=HISTORY_LIMIT, **auth
            )
        for message in response.get("messages") or []:
            if "bot_id" not in message:
                continue
            if any(block.get("block_id") == block_id for block in message.get("blocks") or []):
                return str(message["ts"])
        return None

    async def post_drill(self, post: DrillPost) -> str:
        return await self._post(
            post.drill.channel,
            text=blocks.drill_post_text(post),
            blocks=blocks.as_dicts(blocks.drill_post_blocks(post)),
        )

    async def reveal_drill(self, result: DrillResult) -> None:
        channel = result.drill.channel
        text = blocks.reveal_fallback(result)
        layout = blocks.as_dicts(blocks.reveal_blocks(result))
        if result.drill.message_id is None:
            log.warning("drill %s has no message to update: posting its reveal", result.drill.id)
            await self._post(channel, text=text, blocks=layout)
            return
        auth = await self._auth(channel.workspace_id)
        with translated("revealing"):
            await self.client.chat_update(
                channel=channel.channel_id,
                ts=result.drill.message_id,
                text=text,
                blocks=layout,
                **auth,
            )

    async def post_leaderboard(self, channel: ChannelRef, board: Leaderboard, title: str) -> None:
        await self._post(
            channel,
            text=blocks.fallback(messages.leaderboard_text(board, title)),
            blocks=blocks.as_dicts(blocks.leaderboard_blocks(board, title)),
        )

    async def post_notice(self, channel: ChannelRef, text: str) -> None:
        await self._post(
            channel,
            text=blocks.fallback(text),
            blocks=blocks.as_dicts(blocks.sections(blocks.escape(text))),
        )

    def channel_mention(self, channel: ChannelRef) -> str:
        # Every text we send is escaped, so a <#C123> link would show as typed.
        return f"#{channel.channel_id}"

    async def remind(self, post: DrillPost, user_id: str, text: str) -> None:
        """A DM (the app's Messages tab) with the question and its buttons; a click there
        carries the workspace, so it answers like a click on the channel's post."""
        auth = await self._auth(post.drill.channel.workspace_id)
        layout = [*blocks.sections(blocks.escape(text)), *blocks.drill_post_blocks(post)]
        with translated("sending a reminder"):
            await self.poster.chat_postMessage(
                channel=user_id,
                text=blocks.fallback(f"{text}\n{blocks.drill_post_text(post)}"),
                blocks=blocks.as_dicts(layout),
                unfurl_links=False,
                unfurl_media=False,
                **auth,
            )

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        auth = await self._auth(channel.workspace_id)
        with translated("sending a private message"):
            await send_private(self.client, channel.channel_id, user_id, text, auth.get("token"))
