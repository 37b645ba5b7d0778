"""What every listener shares: the service, the admin directory, refs and private replies."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block

from bot.core.models import ChannelRef, MemberRef
from bot.core.service import QuizService
from bot.slack_adapter.admins import SlackUsers
from bot.slack_adapter.blocks import as_dicts, fallback

log = logging.getLogger(__name__)

PLATFORM = "slack"


@dataclass(frozen=True)
class Deps:
    service: QuizService
    users: SlackUsers


def member_ref(team_id: str, user: dict) -> MemberRef:
    """A member from an interaction payload's `user` object (id, name/username)."""
    name = user.get("name") or user.get("username") or ""
    return MemberRef(PLATFORM, team_id, user["id"], name)


def team_of(context: AsyncBoltContext) -> str:
    """The request's workspace. Bolt leaves it unset only for an org-wide (Enterprise
    Grid) request, which this app is not installed for: the error path answers it."""
    if context.team_id is None:
        raise ValueError("a Slack request without a workspace")
    return context.team_id


def channel_ref(team_id: str, channel_id: str) -> ChannelRef:
    return ChannelRef(PLATFORM, team_id, channel_id)


async def reply_privately(
    respond: AsyncRespond, text: str, blocks: list[Block] | None = None
) -> None:
    """An ephemeral reply through the response_url, next to the message or command.

    `replace_original: false` keeps a clicked drill post as it is; the text is always the
    messages text, and the blocks (if any) only lay it out.
    """
    try:
        response = await respond(
            text=fallback(text),
            blocks=as_dicts(blocks) if blocks else None,
            response_type="ephemeral",
            replace_original=False,
        )
    except Exception:
        log.exception("could not reply through the response_url: %r", text[:200])
        return
    if response.status_code != 200:
        log.error(
            "Slack refused a reply (%s %s): %r", response.status_code, response.body, text[:200]
        )
