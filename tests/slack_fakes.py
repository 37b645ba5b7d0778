"""A fake Slack on 127.0.0.1 that records every call, and signed requests to send the app.

FakeSlack serves the Web API under /api/<method> (point AsyncWebClient at
f"{url}/api/"), the response_url webhooks under /respond/<key>, the upload URLs of files
upload v2 under /upload/<file id> (their bytes land in `uploads`), and a Socket Mode
websocket under /socket. Every call lands in `calls`, in order, with its arguments and
the bot token it carried, so tests assert on what Slack would have received.

Delivery modes, off by default: `rate_limit` enforces a requests-per-second bucket over
every Web API call and answers 429 with Retry-After as Slack does; `fail_posts` answers
the next N chat.postMessage calls with `fail_status` without keeping them;
`accept_then_fail` keeps them and then answers `fail_status` (the "5xx after accepting"
case); `drop_after_accept` keeps them and then drops the connection unanswered. Posted
messages are kept per channel for conversations.history.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import BasicAuth, WSMsgType, web
from aiohttp.test_utils import TestServer
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from tests.fakes import FakeRateLimit, retry_after_header

ADMIN = "U-ADMIN"  # a workspace admin according to the fake users.info
SECRET = "test-signing-secret"
TEAM = "T1"
BOT_USER = "UBOT"
FORM = "application/x-www-form-urlencoded"
_EVENT_IDS = itertools.count(1)
WAIT_SECONDS = 5


@dataclass(frozen=True)
class Call:
    method: str  # a Web API method, or "response_url"
    args: dict
    token: str | None = None
    path: str = ""


class FakeSlack:
    """The Web API methods the app calls; `refuse` maps a channel id to the error that
    chat.postMessage and chat.postEphemeral return there, `fail` a method to its error."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.admins: set[str] = set()
        self.display_names: dict[str, str] = {}
        self.refuse: dict[str, str] = {}
        self.fail: dict[str, str] = {}
        self.token_teams: dict[str, str] = {}
        self.rate_limit: FakeRateLimit | None = None
        self.fail_posts = 0
        self.accept_then_fail = 0
        self.drop_after_accept = 0
        self.fail_status = 502
        self.rate_limited = 0
        self.posted: dict[str, list[dict]] = {}
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes sent to its upload URL
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: list[dict] = []
        self._ts = 0
        self._changed = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.api)
        app.router.add_post("/respond/{key}", self.respond)
        app.router.add_post("/upload/{file_id}", self.upload)
        app.router.add_get("/socket", self.socket)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def start(self) -> FakeSlack:
        await self.server.start_server()
        return self

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        await self.server.close()

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/respond/{key}"

    # --- what tests read --------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def responses(self, key: str | None = None) -> list[Call]:
        return [
            call
            for call in self.calls_to("response_url")
            if key is None or call.path == f"/respond/{key}"
        ]

    async def wait_until(self, condition: Callable[[], object]) -> None:
        """Until `condition()` holds, re-checked on every call the fake receives."""
        async with asyncio.timeout(WAIT_SECONDS):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def wait_for(self, method: str, count: int = 1) -> list[Call]:
        """The calls to `method` once there are `count` of them (handlers run after ack)."""
        await self.wait_until(lambda: len(self.calls_to(method)) >= count)
        return self.calls_to(method)

    @property
    def requests(self) -> int:
        return len([call for call in self.calls if call.method != "response_url"])

    def duplicates(self) -> int:
        """Posts that repeat an earlier post in the same channel (same text and blocks)."""
        copies = 0
        for messages in self.posted.values():
            keys = [json.dumps([m["text"], m["blocks"]], sort_keys=True) for m in messages]
            copies += len(keys) - len(set(keys))
        return copies

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    # --- the handlers ----------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(await request.post())
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        if auth.startswith("Basic "):  # oauth.v2.access may carry the client id this way
            args.setdefault("client_id", BasicAuth.decode(auth).login)
        self._record(Call(method, args, token, request.path))
        wait = self.rate_limit.take() if self.rate_limit is not None else None
        if wait is not None:
            self.rate_limited += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": retry_after_header(wait)},
            )
        if method == "chat.postMessage" and self.fail_posts:
            self.fail_posts -= 1
            return web.json_response({"ok": False, "error": "fatal_error"}, status=self.fail_status)
        if method in self.fail:
            return web.json_response({"ok": False, "error": self.fail[method]})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        answer = handler(args, token)
        if method == "chat.postMessage" and answer.get("ok") and self.accept_then_fail:
            self.accept_then_fail -= 1
            return web.json_response({"ok": False, "error": "fatal_error"}, status=self.fail_status)
        if method == "chat.postMessage" and answer.get("ok") and self.drop_after_accept:
            self.drop_after_accept -= 1
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return web.json_response(answer)

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1736928000.{self._ts:06d}"

    def _auth_test(self, args: dict, token: str | None) -> dict:
        team = self.token_teams.get(token or "", TEAM)
        return {
            "ok": True,
            "url": "https://fake.slack.invalid/",
            "team": "Fake team",
            "user": "dailydrill",
            "team_id": team,
            "user_id": BOT_USER,
            "bot_id": "BBOT",
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, args: dict, token: str | None) -> dict:
        channel = args["channel"]
        if channel in self.refuse:
            return {"ok": False, "error": self.refuse[channel]}
        ts = self._next_ts()
        message = {
            "type": "message",
            "ts": ts,
            "user": BOT_USER,
            "bot_id": "BBOT",
            "text": args.get("text"),
            "blocks": _as_list(args.get("blocks")),
        }
        self.posted.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text")}}

    def _conversations_history(self, args: dict, token: str | None) -> dict:
        if args["channel"] in self.refuse:
            return {"ok": False, "error": self.refuse[args["channel"]]}
        limit = int(args.get("limit", 100))
        newest_first = list(reversed(self.posted.get(args["channel"], [])))
        return {"ok": True, "messages": newest_first[:limit], "has_more": len(newest_first) > limit}

    def _chat_update(self, args: dict, token: str | None) -> dict:
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": args.get("text")}

    def _chat_postEphemeral(self, args: dict, token: str | None) -> dict:
        if args["channel"] in self.refuse:
            return {"ok": False, "error": self.refuse[args["channel"]]}
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, args: dict, token: str | None) -> dict:
        return {"ok": True, "view": {"id": "V1", **_as_dict(args.get("view"))}}

    def _views_publish(self, args: dict, token: str | None) -> dict:
        return {"ok": True, "view": {"id": "VHOME", **_as_dict(args.get("view"))}}

    def _users_info(self, args: dict, token: str | None) -> dict:
        user = args["user"]
        admin = user in self.admins
        name = self.display_names.get(user, "")
        return {
            "ok": True,
            "user": {
                "id": user,
                "name": user.lower(),
                "is_admin": admin,
                "is_owner": False,
                "is_primary_owner": False,
                "profile": {"display_name": name, "real_name": name},
            },
        }

    def _conversations_open(self, args: dict, token: str | None) -> dict:
        return {"ok": True, "channel": {"id": "D" + str(args.get("users", ""))}}

    def _files_getUploadURLExternal(self, args: dict, token: str | None) -> dict:
        file_id = f"F{len(self.uploads) + 1:04d}"
        self.uploads[file_id] = b""
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def _files_completeUploadExternal(self, args: dict, token: str | None) -> dict:
        files = _as_list(args.get("files"))
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    def _oauth_v2_access(self, args: dict, token: str | None) -> dict:
        self.token_teams["xoxb-T2-installed"] = "T2"
        return {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": "U-INSTALLER"},
            "scope": "commands,chat:write,users:read",
            "token_type": "bot",
            "access_token": "xoxb-T2-installed",
            "bot_user_id": "UBOT2",
            "team": {"id": "T2", "name": "Second workspace"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict, token: str | None) -> dict:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}

    async def upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal hands out: it takes the raw bytes."""
        file_id = request.match_info["file_id"]
        if file_id not in self.uploads:
            return web.Response(status=404)
        self.uploads[file_id] = await request.read()
        self._changed.set()
        return web.Response(text="OK - 1")

    async def respond(self, request: web.Request) -> web.Response:
        self._record(Call("response_url", await request.json(), None, request.path))
        return web.Response(text="ok")

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self._changed.set()
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
                self._changed.set()
        return ws


def _as_dict(value: object) -> dict:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _as_list(value: object) -> list:
    return json.loads(value) if isinstance(value, str) else list(value or [])


# --- signed requests -----------------------------------------------------------------------------


def signed_headers(
    body: str,
    content_type: str = FORM,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    retry: int | None = None,
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }
    if retry is not None:
        headers["x-slack-retry-num"] = str(retry)
        headers["x-slack-retry-reason"] = "http_timeout"
    return headers


def command_body(
    text: str, *, user: str, response_url: str, team: str = TEAM, channel: str = "C1"
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "command": "/quiz",
            "text": text,
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "ml-drills",
            "user_id": user,
            "user_name": user.lower(),
            "response_url": response_url,
            "trigger_id": f"trigger-{user}",
            "api_app_id": "A1",
        }
    )


def _payload(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})


def action_body(
    *,
    user: str,
    action_id: str,
    value: str,
    response_url: str,
    message_ts: str = "",
    team: str = TEAM,
    channel: str = "C1",
) -> str:
    return _payload(
        {
            "type": "block_actions",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A1",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "trigger_id": f"trigger-{user}",
            "channel": {"id": channel, "name": "ml-drills"},
            "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "drill",
                    "value": value,
                    "action_ts": "1736928001.000100",
                }
            ],
        }
    )


def view_submission_body(
    *,
    user: str,
    private_metadata: str,
    answer: str = "",
    picked: list[str] | None = None,
    team: str = TEAM,
) -> str:
    """A modal submit: the typed `answer`, or with `picked` the ticked checkbox values."""
    state: dict = {"type": "plain_text_input", "value": answer}
    if picked is not None:
        ticked = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in picked]
        state = {"type": "checkboxes", "selected_options": ticked}
    return _payload(
        {
            "type": "view_submission",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A1",
            "token": "legacy-verification-token",
            "trigger_id": f"trigger-{user}",
            "view": {
                "id": "V1",
                "team_id": team,
                "type": "modal",
                "callback_id": "drill_answer_modal",
                "private_metadata": private_metadata,
                "state": {"values": {"answer": {"text": state}}},
                "hash": "h",
            },
            "response_urls": [],
        }
    )


def event_body(event: dict, team: str = TEAM) -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": team,
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(_EVENT_IDS):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
        }
    )


async def dispatch(app: object, body: str, headers: dict[str, str]) -> BoltResponse:
    """Send one signed request through Bolt's own pipeline (verification included)."""
    return await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))


def report_submission_body(
    *, user: str, private_metadata: str, reason: str, text: str = "", team: str = TEAM
) -> str:
    """The Report modal's submit: the picked reason (a static select) and optional text."""
    picked = {"text": {"type": "plain_text", "text": reason}, "value": reason}
    return _payload(
        {
            "type": "view_submission",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A1",
            "token": "legacy-verification-token",
            "trigger_id": f"trigger-{user}",
            "view": {
                "id": "V2",
                "team_id": team,
                "type": "modal",
                "callback_id": "drill_report_modal",
                "private_metadata": private_metadata,
                "state": {
                    "values": {
                        "reason": {"reason": {"type": "static_select", "selected_option": picked}},
                        "answer": {"text": {"type": "plain_text_input", "value": text or None}},
                    }
                },
                "hash": "h",
            },
            "response_urls": [],
        }
    )
