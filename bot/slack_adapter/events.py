"""Events: the App Home tab shows the member's stats with a "Practice now" button;
uninstalls are recorded."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import commands, messages
from bot.core.models import MemberRef
from bot.core.service import Invocation
from bot.slack_adapter.blocks import PRACTICE_NOW_ACTION, fallback, home_view
from bot.slack_adapter.common import PLATFORM, Deps, channel_ref, member_ref, team_of

log = logging.getLogger(__name__)

HOME_OPENED = "app_home_opened"
UNINSTALL_EVENTS = ("app_uninstalled", "tokens_revoked")


def register(app: AsyncApp, deps: Deps, *, multi_workspace: bool) -> None:
    @app.event(HOME_OPENED)
    async def home_opened(event: dict, client: AsyncWebClient, context: AsyncBoltContext) -> None:
        if event.get("tab") != "home":
            return
        team, user = team_of(context), event["user"]
        name = await deps.users.display_name(client, team, user)
        member = MemberRef(PLATFORM, team, user, name)
        stats = await deps.service.member_stats(member, channel_ref(team, ""))
        await client.views_publish(user_id=user, view=home_view(stats))

    @app.action(PRACTICE_NOW_ACTION)
    async def practice_now(
        ack: AsyncAck, body: dict, client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """Start (or resume) the member's practice session; its questions come as DMs
        from the app, answered with `/quiz answer` (there too, or in any channel)."""
        await ack()
        team, user = team_of(context), body["user"]["id"]
        member = member_ref(team, body["user"])
        turn = await deps.service.start_practice(
            Invocation(member, channel_ref(team, user)), commands.Practice()
        )
        await client.chat_postMessage(channel=user, text=fallback(messages.practice_text(turn)))

    if multi_workspace:
        # Bolt deletes the workspace's installation and bot token from the store.
        app.enable_token_revocation_listeners()
        return

    async def uninstalled(event: dict, context: AsyncBoltContext) -> None:
        log.warning("Slack says %s in workspace %s", event.get("type"), context.team_id)

    for name in UNINSTALL_EVENTS:
        app.event(name)(uninstalled)
