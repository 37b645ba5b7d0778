"""The one error path of every listener, as Bolt's `app.error` handler.

Listeners raise; this tells the member privately where the request came from: a command
or a click gets an ephemeral reply, a modal shows the reason under its input (or closes
and sends it to the channel), the Home tab shows its error view. A QuizError's message
is for the member; anything else is logged with the request and gets the generic message.

Bolt 1.x, running a listener after its ack (HTTP and Socket Mode in production), resets
`ack.response` to None when that listener fails; a failure faster than Bolt's 10 ms poll
for the ack then answers Slack with a 404 although the listener acked. SettledAck keeps
an ack once made.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import messages
from bot.core.errors import AlreadyAnswered, InvalidAnswer, QuizError, UsageError
from bot.slack_adapter.blocks import (
    ANSWER_BLOCK,
    MAX_LABEL,
    clip,
    home_error_view,
    parse_modal_metadata,
)
from bot.slack_adapter.common import reply_privately
from bot.slack_adapter.events import HOME_OPENED
from bot.slack_adapter.publisher import send_private

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.middleware(settle_acks)
    app.error(handle_error)


class SettledAck(AsyncAck):
    """An ack that Bolt cannot take back once it is made (see the module docstring)."""

    _made: BoltResponse | None = None

    @property
    def response(self) -> BoltResponse | None:
        return self._made

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is not None or self._made is None:
            self._made = value


async def settle_acks(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
    context["ack"] = SettledAck()
    await next()


async def handle_error(
    error: Exception,
    body: dict,
    ack: AsyncAck,
    respond: AsyncRespond | None,
    client: AsyncWebClient,
    response: BoltResponse | None,
    request: AsyncBoltRequest,
) -> BoltResponse | None:
    """Tell the member, then give Bolt the response to send to Slack.

    Bolt passes no response when the listener ran after its ack (HTTP and Socket Mode in
    production): Slack has its answer. Otherwise the ack made here, or the listener's own,
    is the answer; without it Bolt would send a 500.
    """
    if not isinstance(error, QuizError):
        log.error("Slack %s failed", describe(body), exc_info=error)
    kind = body.get("type")
    if isinstance(error, AlreadyAnswered) and is_retry(request):
        # Slack re-sent a request it thinks timed out; the first delivery answered it.
        log.info("ignoring Slack's retry of %s: already answered", describe(body))
    elif kind == "view_submission":
        await _tell_modal(error, body, ack, client)
    elif kind == "event_callback":
        await _tell_home(body, client)
    elif respond is not None:
        await reply_privately(respond, _text(error))
    else:
        log.warning("no way to tell the member about %s: %s", describe(body), _text(error))
    if response is None:
        return None
    return ack.response if ack.response is not None else await ack()


def is_retry(request: AsyncBoltRequest) -> bool:
    """Slack marks a redelivery of a request it did not see acknowledged in time."""
    return bool(request.headers.get("x-slack-retry-num"))


def _text(error: Exception) -> str:
    return error.message if isinstance(error, QuizError) else messages.SOMETHING_WENT_WRONG


def describe(body: dict) -> str:
    """The request in a log line: what was sent, by whom, where."""
    user = body.get("user_id") or (body.get("user") or {}).get("id") or "?"
    team = body.get("team_id") or (body.get("team") or {}).get("id") or "?"
    if "command" in body:
        what = f"{body['command']} {body.get('text', '')[:200]!r}"
    elif body.get("type") == "block_actions":
        what = "click " + ", ".join(repr(a.get("value")) for a in body.get("actions", []))
    elif body.get("type") == "view_submission":
        what = f"modal {body.get('view', {}).get('private_metadata', '')[:200]!r}"
    else:
        what = str((body.get("event") or {}).get("type") or body.get("type") or "request")
    return f"{what} by {user} in {team}"


async def _tell_modal(error: Exception, body: dict, ack: AsyncAck, client: AsyncWebClient) -> None:
    """An answer that cannot be graded as given, or a failure, keeps the modal open with
    the reason under the input; any other refusal closes it and arrives in the channel."""
    if ack.response is not None:
        return  # the modal is closed already; the failure is logged
    if isinstance(error, InvalidAnswer | UsageError):
        await ack(response_action="errors", errors={ANSWER_BLOCK: clip(error.message, MAX_LABEL)})
        return
    if not isinstance(error, QuizError):
        await ack(response_action="errors", errors={ANSWER_BLOCK: messages.SOMETHING_WENT_WRONG})
        return
    await ack()
    user = body["user"]["id"]
    try:
        _, channel_id = parse_modal_metadata(body["view"]["private_metadata"])
        await send_private(client, channel_id, user, error.message)
    except Exception:
        log.exception("telling %s about %s failed", user, describe(body))


async def _tell_home(body: dict, client: AsyncWebClient) -> None:
    event = body.get("event") or {}
    if event.get("type") != HOME_OPENED:
        return
    try:
        await client.views_publish(user_id=event["user"], view=home_error_view())
    except Exception:
        log.exception("publishing the Home tab's error view for %s failed", describe(body))
