"""`/quiz <text>`: parsed by the core grammar, run by the service, answered ephemerally.

`/quiz export` also uploads the member's JSON document (files upload v2) to a direct
message with them, and `/quiz stats` its progress chart: a response_url reply cannot
carry a file, and a DM is private.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.charts import CHART_FILENAME, progress_chart
from bot.core import commands, messages
from bot.core.handlers import requires_admin
from bot.core.models import MemberExport, MemberRef, MemberStats
from bot.core.service import Invocation
from bot.slack_adapter.blocks import reply_blocks, unescape
from bot.slack_adapter.common import PLATFORM, Deps, channel_ref, reply_privately

log = logging.getLogger(__name__)

COMMAND = "/quiz"


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command(COMMAND)
    async def quiz(
        ack: AsyncAck, body: dict, respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()  # first: Slack wants it within 3 seconds, whatever follows
        text, layout, data = await run(deps, body, client)
        await reply_privately(respond, text, layout)
        if isinstance(data, MemberStats):
            await send_chart(client, body["user_id"], data)


async def run(
    deps: Deps, body: dict, client: AsyncWebClient
) -> tuple[str, list[Block] | None, object]:
    """The private reply to one command: its text, blocks for tables, and the data behind
    it. A refusal or a failure raises, for the app's error handler to answer."""
    team, user, channel_id = body["team_id"], body["user_id"], body["channel_id"]
    member = MemberRef(PLATFORM, team, user, body.get("user_name", ""))
    command = commands.parse(unescape(body.get("text", "")))
    is_admin = requires_admin(command) and await deps.users.is_admin(client, team, user)
    reply = await deps.service.execute(
        command, Invocation(member, channel_ref(team, channel_id), is_admin)
    )
    if isinstance(reply.data, MemberExport):
        return f"{reply.text}\n{await send_export(client, user, reply.data)}", None, reply.data
    return reply.text, reply_blocks(reply.text, reply.data), reply.data


async def send_chart(client: AsyncWebClient, user_id: str, stats: MemberStats) -> None:
    """The progress chart as an image in the member's DM with the app (a response_url
    reply carries no file); the text stats are out already, whatever happens here."""
    png = await progress_chart(stats)
    if png is not None:
        title = messages.chart_title(stats.member.name)
        await upload_to_dm(client, user_id, CHART_FILENAME, title, png, alt_txt=title)


# --- members' rights: the export file -------------------------------------------------


async def send_export(client: AsyncWebClient, user_id: str, export: MemberExport) -> str:
    """Upload the document to the member's DM; the line to add to the reply says how it
    went."""
    sent = await upload_to_dm(
        client, user_id, export.filename, export.filename, export.document.encode()
    )
    return messages.EXPORT_SENT_DM if sent else messages.EXPORT_UPLOAD_FAILED


async def upload_to_dm(
    client: AsyncWebClient,
    user_id: str,
    filename: str,
    title: str,
    data: bytes,
    alt_txt: str | None = None,
) -> bool:
    """A file in the member's DM with the app (files upload v2; conversations.open needs
    im:write, the upload files:write); False, logged, when Slack refuses."""
    try:
        opened = await client.conversations_open(users=user_id)
        await client.files_upload_v2(
            channel=opened["channel"]["id"],
            filename=filename,
            title=title,
            file=data,
            alt_txt=alt_txt,
        )
    except SlackApiError as exc:
        log.warning("could not upload %s: %s", filename, exc.response.get("error"))
        return False
    return True
