"""A fake Discord on 127.0.0.1: REST API and gateway, plus raw interaction payloads.

The real discord.py client logs in, connects and syncs against these servers; tests then
push `INTERACTION_CREATE` events through the gateway exactly as Discord would and read
what the bot sent back from the REST calls recorded here. Point discord.py at the fake
with `install(fake, monkeypatch)` (it patches `Route.BASE` and `DEFAULT_GATEWAY`).

Delivery modes, off by default: `rate_limit` enforces a global requests-per-second
bucket and answers 429 as Discord does (Retry-After, X-RateLimit-Global, `retry_after`
and `global` in the JSON body); `fail_messages` answers the next N message writes with
`fail_status` without keeping them, `accept_then_fail` keeps them and then answers
`fail_status` (the "5xx after accepting" case). Like Discord, a message sent with
`enforce_nonce` whose nonce the channel already has returns that message, not a copy.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
import yarl
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.config import Config
from bot.core.service import QuizService
from bot.discord_adapter.bot import DrillBot, create_bot
from tests.fakes import FakeRateLimit, retry_after_header

TOKEN = "fake-token"
APP_ID = "900000000000000001"  # a bot user shares its application's id
GUILD_ID = "800000000000000001"
CHANNEL_ID = "810000000000000001"
API_PREFIX = "/api/v10"
WAIT = 5.0

ALL_PERMISSIONS = discord.Permissions.all()
MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, read_message_history=True, use_application_commands=True
)
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | discord.Permissions(manage_guild=True)
_snowflakes = itertools.count(950000000000000000)


def snowflake() -> str:
    return str(next(_snowflakes))


def user_payload(user_id: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


BOT_USER = user_payload(APP_ID, "Daily Drill", bot=True)


def member_payload(user_id: str, name: str, permissions: discord.Permissions) -> dict[str, Any]:
    return {
        "user": user_payload(user_id, name),
        "nick": None,
        "roles": [],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": str(permissions.value),
    }


def channel_payload(channel_id: str = CHANNEL_ID) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": GUILD_ID,
        "name": "ml-drills",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def guild_payload() -> dict[str, Any]:
    return {
        "id": GUILD_ID,
        "name": "Study Group",
        "icon": None,
        "owner_id": "1",
        "unavailable": False,
        "member_count": 2,
        "large": False,
        "features": [],
        "roles": [
            {
                "id": GUILD_ID,
                "name": "@everyone",
                "permissions": str(MEMBER_PERMISSIONS.value),
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": [channel_payload()],
        "members": [member_payload(APP_ID, "Daily Drill", ALL_PERMISSIONS) | {"user": BOT_USER}],
        "threads": [],
        "emojis": [],
        "stickers": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "joined_at": "2024-01-01T00:00:00+00:00",
    }


@dataclass(frozen=True)
class Call:
    """One REST request the bot made, and what the fake answered."""

    method: str
    path: str
    body: Any
    authorized: bool
    response: Any = None
    status: int = 200


@dataclass
class Refusal:
    status: int
    code: int
    message: str


@dataclass
class FakeDiscord:
    """Discord's REST API and gateway in one aiohttp app; records every REST call."""

    calls: list[Call] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    refusals: dict[tuple[str, str], Refusal] = field(default_factory=dict)
    rate_limit: FakeRateLimit | None = None
    fail_messages: int = 0
    accept_then_fail: int = 0
    fail_status: int = 502
    bucket_headers: dict[str, str] = field(default_factory=dict)  # on every 2xx answer
    rate_limited: int = 0
    gateway_sessions: int = 0
    identified_shards: list[list[int] | None] = field(default_factory=list)  # IDENTIFY's `shard`
    server: TestServer | None = None
    _ws: web.WebSocketResponse | None = None
    _seq: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _identified: asyncio.Event = field(default_factory=asyncio.Event)

    # --- running ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self.server = TestServer(app, host="127.0.0.1", port=0)
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    @property
    def api_base(self) -> str:
        assert self.server is not None
        return str(self.server.make_url(API_PREFIX))

    @property
    def gateway_url(self) -> yarl.URL:
        assert self.server is not None
        return self.server.make_url("/gateway").with_scheme("ws")

    # --- what the bot did ---------------------------------------------------------------

    def find(self, method: str, pattern: str) -> list[Call]:
        regex = re.compile(pattern)
        return [c for c in self.calls if c.method == method and regex.fullmatch(c.path)]

    async def wait_for(self, method: str, pattern: str, count: int = 1) -> list[Call]:
        """The first `count` matching calls, waiting (boundedly) for them to arrive."""
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: len(self.find(method, pattern)) >= count)
        return self.find(method, pattern)[:count]

    async def reply_to(self, interaction: dict[str, Any]) -> dict[str, Any]:
        """The JSON body of the bot's callback to one interaction."""
        path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
        (call,) = await self.wait_for("POST", re.escape(path))
        return call.body

    async def followup_to(self, interaction: dict[str, Any]) -> dict[str, Any]:
        (call,) = await self.wait_for("POST", rf"/webhooks/{APP_ID}/{interaction['token']}")
        return call.body

    def refuse(self, method: str, path: str, status: int, code: int, message: str) -> None:
        self.refusals[(method, path)] = Refusal(status, code, message)

    @property
    def requests(self) -> int:
        return len(self.calls)

    def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """The channel's messages, oldest first."""
        return [m for m in self.messages.values() if m["channel_id"] == channel_id]

    def duplicates(self) -> int:
        """Messages that repeat an earlier one in the same channel (same content, embeds
        and components): what a retry must never produce."""
        seen: set[str] = set()
        copies = 0
        for message in self.messages.values():
            key = json.dumps(
                [message[k] for k in ("channel_id", "content", "embeds", "components")],
                sort_keys=True,
            )
            copies += key in seen
            seen.add(key)
        return copies

    # --- the gateway ----------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        await self.connected()
        assert self._ws is not None
        self._seq += 1
        await self._ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def connected(self) -> None:
        """Wait until a bot has identified on the gateway."""
        async with asyncio.timeout(WAIT):
            await self._identified.wait()

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one interaction and return the bot's callback body."""
        await self.dispatch("INTERACTION_CREATE", payload)
        return await self.reply_to(payload)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.gateway_sessions += 1
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif frame["op"] == 2:
                shard = frame["d"].get("shard")
                self.identified_shards.append(shard)
                await self._send_ready(ws, shard)
        return ws

    async def _send_ready(self, ws: web.WebSocketResponse, shard: list[int] | None) -> None:
        """READY, and the guild only on the connection of its shard, as Discord does
        (shard id = (guild_id >> 22) % shard count); that connection gets the events."""
        holds_guild = shard is None or (int(GUILD_ID) >> 22) % shard[1] == shard[0]
        ready: dict[str, Any] = {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": GUILD_ID, "unavailable": True}] if holds_guild else [],
            "session_id": "fake-session",
            "resume_gateway_url": str(self.gateway_url),
            "application": {"id": APP_ID, "flags": 0},
        }
        if shard is not None:
            ready["shard"] = shard
        events = [("READY", ready)] + ([("GUILD_CREATE", guild_payload())] if holds_guild else [])
        if holds_guild:
            self._ws = ws
            self._identified.clear()
        for event, data in events:
            self._seq += 1
            await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))
        if holds_guild:
            self._identified.set()

    # --- the REST API -------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body = await _body(request)
        refusal = self.refusals.get((request.method, path))
        status, headers = 200, {}
        writes_message = request.method in ("POST", "PATCH") and path.startswith("/channels/")
        wait = self.rate_limit.take() if self.rate_limit is not None else None
        if wait is not None:
            self.rate_limited += 1
            status, response = (
                429,
                {
                    "message": "You are being rate limited.",
                    "retry_after": round(wait, 3),
                    "global": True,
                    "code": 0,
                },
            )
            headers = {
                "Retry-After": retry_after_header(wait),
                "X-RateLimit-Global": "true",
                "X-RateLimit-Scope": "global",
                "Via": "1.1 google",  # discord.py treats a 429 without it as a ban
            }
        elif refusal is not None:
            status, response = refusal.status, {"message": refusal.message, "code": refusal.code}
        elif writes_message and self.fail_messages:
            self.fail_messages -= 1
            status, response = self.fail_status, {"message": "Bad Gateway", "code": 0}
        else:
            response = self._answer(request.method, path, body, request.query)
            if writes_message and self.accept_then_fail:
                self.accept_then_fail -= 1
                status, response = self.fail_status, {"message": "Bad Gateway", "code": 0}
        authorized = "Authorization" in request.headers
        if status < 300:
            headers.update(self.bucket_headers)
        call = Call(request.method, path, body, authorized, response, status)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return _json(response, status=status, headers=headers)

    def _answer(self, method: str, path: str, body: Any, query: Any = None) -> Any:
        if path == "/users/@me":
            return BOT_USER
        if path == "/oauth2/applications/@me":
            return {
                "id": APP_ID,
                "name": "Daily Drill",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user_payload("1", "owner"),
                "verify_key": "00",
                "flags": 0,
            }
        if method == "PUT" and path.endswith("/commands"):
            return [dict(command, id=snowflake(), application_id=APP_ID) for command in body]
        if method == "POST" and path == "/users/@me/channels":
            return {
                "id": snowflake(),
                "type": 1,
                "recipients": [user_payload(body["recipient_id"], "dm")],
            }
        if match := re.fullmatch(r"/interactions/(\d+)/[^/]+/callback", path):
            return {"interaction": {"id": match[1], "type": 2}}
        if method == "GET" and (match := re.fullmatch(r"/channels/(\d+)/messages", path)):
            limit = int((query or {}).get("limit", 50))
            newest_first = list(reversed(self.channel_messages(match[1])))
            return copy.deepcopy(newest_first[:limit])
        if match := re.fullmatch(r"/channels/(\d+)/messages", path):
            if (body or {}).get("enforce_nonce") and (nonce := body.get("nonce")):
                for message in self.channel_messages(match[1]):
                    if message.get("nonce") == nonce:
                        return copy.deepcopy(message)
            return self._store(snowflake(), match[1], body)
        if match := re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path):
            return self._store(match[2], match[1], body)
        if re.fullmatch(rf"/webhooks/{APP_ID}/[^/]+(/messages/@original)?", path):
            return self._store(snowflake(), CHANNEL_ID, body, flags=(body or {}).get("flags", 0))
        raise web.HTTPNotFound(text=f"the fake does not know {method} {path}")

    def _store(
        self, message_id: str, channel_id: str, body: dict[str, Any], flags: int = 0
    ) -> dict[str, Any]:
        message = self.messages.get(message_id) or {
            "id": message_id,
            "channel_id": channel_id,
            "author": BOT_USER,
            "content": "",
            "timestamp": "2025-01-15T08:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": flags,
        }
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key]
        if "nonce" in body:
            message["nonce"] = body["nonce"]
        self.messages[message_id] = message
        return copy.deepcopy(message)


async def _body(request: web.Request) -> Any:
    """The JSON body; a multipart one (a message with files) is its `payload_json` plus
    `_files`, each attachment's filename and bytes, as Discord would store them."""
    if not request.body_exists:
        return None
    if request.content_type != "multipart/form-data":
        return await request.json()
    body: dict[str, Any] = {"_files": {}}
    async for part in await request.multipart():
        if part.name == "payload_json":
            body.update(json.loads(await part.text()))
        elif part.filename:
            body["_files"][part.filename] = bytes(await part.read())
    return body


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when the content type is exactly application/json.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def install(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Route, "BASE", fake.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", fake.gateway_url)


@asynccontextmanager
async def running_bot(
    service: QuizService, config: Config, **options: Any
) -> AsyncIterator[DrillBot]:
    """A DrillBot logged in, connected and ready against the fake; closed afterwards."""
    bot = create_bot(service, config, guild_ready_timeout=0.05, **options)
    start = asyncio.create_task(bot.start(TOKEN))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({start, ready}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if start in done:
        ready.cancel()
        start.result()
        raise RuntimeError("the bot stopped before it was ready")
    if not done:
        raise TimeoutError("the bot did not become ready")
    try:
        yield bot
    finally:
        await bot.close()
        await start


# --- raw INTERACTION_CREATE payloads --------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    admin: bool = False

    @property
    def permissions(self) -> discord.Permissions:
        return ADMIN_PERMISSIONS if self.admin else MEMBER_PERMISSIONS


def person(name: str, *, admin: bool = False) -> Person:
    """A guild member with a stable snowflake derived from the name."""
    digest = int(hashlib.sha256(name.encode()).hexdigest()[:12], 16)
    return Person(str(700000000000000000 + digest), name, admin)


def interaction_payload(
    kind: int,
    data: dict[str, Any],
    who: Person,
    *,
    message: dict[str, Any] | None = None,
    app_permissions: discord.Permissions = ALL_PERMISSIONS,
) -> dict[str, Any]:
    interaction_id = snowflake()
    payload = {
        "id": interaction_id,
        "application_id": APP_ID,
        "type": kind,
        "data": data,
        "guild_id": GUILD_ID,
        "guild": {"id": GUILD_ID, "locale": "en-US", "features": []},
        "channel_id": CHANNEL_ID,
        "channel": channel_payload(),
        "member": member_payload(who.user_id, who.name, who.permissions),
        "token": f"token-{interaction_id}",
        "version": 1,
        "app_permissions": str(app_permissions.value),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID},
        "context": 0,
        "attachment_size_limit": 8 * 1024 * 1024,
    }
    if message is not None:
        payload["message"] = message
    return payload


def slash(
    path: str,
    who: Person,
    *,
    focused: str | None = None,
    app_permissions: discord.Permissions = ALL_PERMISSIONS,
    resolved: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """`/quiz <path> option=value...` as Discord sends it (type 4 when `focused` is set)."""
    leaf: list[dict[str, Any]] = []
    for name, value in options.items():
        option: dict[str, Any] = {"name": name, "type": _option_type(value), "value": value}
        if isinstance(value, Person):
            option["value"] = value.user_id
        if name == focused:
            option["focused"] = True
        leaf.append(option)
    names = path.split()
    tree: list[dict[str, Any]] = leaf
    for depth, name in enumerate(reversed(names)):
        tree = [{"name": name, "type": 2 if depth else 1, "options": tree}]
    data: dict[str, Any] = {"id": snowflake(), "name": "quiz", "type": 1, "options": tree}
    if resolved:
        data["resolved"] = resolved
    kind = 4 if focused else 2
    return interaction_payload(kind, data, who, app_permissions=app_permissions)


def resolved_member(target: Person) -> dict[str, Any]:
    member = member_payload(target.user_id, target.name, target.permissions)
    user = member.pop("user")
    return {"users": {target.user_id: user}, "members": {target.user_id: member}}


def _option_type(value: Any) -> int:
    if isinstance(value, Person):
        return 6
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    return 3


def click(custom_id: str, message: dict[str, Any], who: Person) -> dict[str, Any]:
    return interaction_payload(
        3, {"custom_id": custom_id, "component_type": 2}, who, message=message
    )


def dm_click(
    custom_id: str, message: dict[str, Any], who: Person, dm_channel_id: str
) -> dict[str, Any]:
    """A click on a message in the member's DMs with the bot: no guild, a user, not a
    member, and the bot-DM context."""
    payload = click(custom_id, message, who)
    for key in ("guild_id", "guild", "member", "guild_locale"):
        payload.pop(key)
    payload |= {
        "user": user_payload(who.user_id, who.name),
        "channel_id": dm_channel_id,
        "channel": {"id": dm_channel_id, "type": 1},
        "context": 1,
        "authorizing_integration_owners": {"0": GUILD_ID},
    }
    return payload


def ephemeral_message(reply: dict[str, Any]) -> dict[str, Any]:
    """An ephemeral interaction reply as the message a click on its components comes from."""
    return {
        "id": snowflake(),
        "channel_id": CHANNEL_ID,
        "author": BOT_USER,
        "content": reply["data"].get("content", ""),
        "timestamp": "2025-01-15T08:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": reply["data"].get("embeds", []),
        "components": reply["data"].get("components", []),
        "pinned": False,
        "type": 0,
        "flags": 64,
    }


def modal_submit(custom_id: str, value: str, who: Person) -> dict[str, Any]:
    text_input = {"type": 4, "custom_id": "answer", "value": value}
    data = {"custom_id": custom_id, "components": [{"type": 1, "components": [text_input]}]}
    return interaction_payload(5, data, who)


def button_ids(message: dict[str, Any]) -> list[str]:
    return [button["custom_id"] for row in message["components"] for button in row["components"]]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [button for row in message["components"] for button in row["components"]]


def pick(custom_id: str, values: list[str], message: dict[str, Any], who: Person) -> dict[str, Any]:
    """A member submitting a string select menu of the message with these values."""
    data = {"custom_id": custom_id, "component_type": 3, "values": values}
    return interaction_payload(3, data, who, message=message)


def selects(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        item for row in message["components"] for item in row["components"] if item["type"] == 3
    ]
