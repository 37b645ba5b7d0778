"""The Slack app over real HTTP and websockets: Bolt's aiohttp adapter, the runner's HTTP
and Socket Mode, signature checks, and the multi-workspace OAuth install."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.__main__ import serve_adapters
from bot.core import messages
from bot.core.models import ChannelRef, ChannelSettings, OutboxState
from bot.slack_adapter.app import create_app
from bot.slack_adapter.blocks import fallback
from bot.slack_adapter.runner import http_app, run_slack
from bot.storage.slack_store import SqlInstallationStore
from bot.storage.sqlite import Database
from tests.fakes import free_port
from tests.slack_fakes import (
    ADMIN,
    SECRET,
    command_body,
    event_body,
    signed_headers,
    view_submission_body,
)

pytestmark = pytest.mark.usefixtures("no_slack_env")


@pytest.fixture
def http_config(config, fake):
    return replace(
        config, slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=fake.api_url
    )


@pytest.fixture
async def server(service, http_config):
    """The app as Slack reaches it in HTTP mode, handlers running after the ack."""
    test_server = TestServer(http_app(create_app(service, http_config)), host="127.0.0.1", port=0)
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: str, headers: dict[str, str]):
    async with http.post(url, data=body.encode(), headers=headers) as response:
        return response.status, await response.text()


# --- signed requests over HTTP ----------------------------------------------------------------


async def test_a_command_over_http_is_acked_at_once_then_answered(server, http, fake):
    body = command_body("help", user="U01", response_url=fake.response_url("help"))

    status, text = await post(
        http, str(server.make_url("/slack/events")), body, signed_headers(body)
    )

    assert (status, text) == (200, "")
    [reply] = await fake.wait_for("response_url")
    assert reply.args["text"] == fallback(messages.USAGE)


async def test_a_refused_command_over_http_is_acked_then_answered_privately(server, http, fake):
    body = command_body("setup topics:testing", user="U01", response_url=fake.response_url("no"))

    status, text = await post(
        http, str(server.make_url("/slack/events")), body, signed_headers(body)
    )

    assert (status, text) == (200, "")
    [reply] = await fake.wait_for("response_url")
    assert reply.args["response_type"] == "ephemeral"
    assert reply.args["text"] == "Only channel admins can do that."


@pytest.mark.allow_error_logs
async def test_a_modal_that_fails_over_http_says_so_inside_the_modal(server, http):
    body = view_submission_body(user="U01", private_metadata="not json", answer="lasso")

    status, text = await post(
        http,
        str(server.make_url("/slack/events")),
        body,
        signed_headers(body),
    )

    assert status == 200
    assert json.loads(text) == {
        "response_action": "errors",
        "errors": {"answer": messages.SOMETHING_WENT_WRONG},
    }


async def test_a_forged_signature_is_refused_with_401(server, http, fake):
    body = command_body("help", user="U01", response_url=fake.response_url("forged"))
    headers = signed_headers(body, secret="not-the-secret")

    status, _ = await post(http, str(server.make_url("/slack/events")), body, headers)

    assert status == 401
    assert fake.calls == []


async def test_a_stale_timestamp_is_refused_with_401(server, http, fake):
    body = command_body("help", user="U01", response_url=fake.response_url("stale"))
    headers = signed_headers(body, timestamp=int(time.time()) - 301)

    status, _ = await post(http, str(server.make_url("/slack/events")), body, headers)

    assert status == 401
    assert fake.calls == []


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", " 1", "١٧٣٦"])
async def test_a_malformed_timestamp_is_refused_with_401_and_no_traceback(
    server, http, fake, caplog, timestamp
):
    body = command_body("help", user="U01", response_url=fake.response_url("malformed"))
    headers = signed_headers(body)
    headers["x-slack-request-timestamp"] = timestamp

    status, _ = await post(http, str(server.make_url("/slack/events")), body, headers)

    assert status == 401
    assert fake.calls == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_url_verification_echoes_the_challenge(server, http):
    body = '{"token": "t", "challenge": "c-123", "type": "url_verification"}'
    headers = signed_headers(body, "application/json")

    async with http.post(str(server.make_url("/slack/events")), data=body, headers=headers) as r:
        assert r.status == 200
        assert await r.json() == {"challenge": "c-123"}


async def test_the_health_check_answers(server, http):
    async with http.get(str(server.make_url("/healthz"))) as response:
        assert response.status == 200
        assert await response.json() == {"ok": True}


# --- the runner -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(service, config):
    task = asyncio.create_task(run_slack(service, config))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_http_mode_serves_signed_requests_on_the_port(service, http_config, http, fake):
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async with running(service, replace(http_config, port=port)) as task:

        async def healthy() -> bool:
            assert not task.done(), task
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(f"{base}/healthz") as response:
                    return response.status == 200
            return False

        deadline = time.monotonic() + 5
        while not await healthy():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        body = command_body("topics", user="U01", response_url=fake.response_url("topics"))
        status, _ = await post(http, f"{base}/slack/events", body, signed_headers(body))
        [reply] = await fake.wait_for("response_url")

    assert status == 200
    assert reply.args["text"].startswith("Topics in the bank:")
    assert "slack" in service.publishers


async def test_socket_mode_answers_a_command_over_the_websocket(service, config, fake):
    socket_config = replace(
        config, slack_bot_token="xoxb-test", slack_app_token="xapp-test", slack_api_url=fake.api_url
    )
    body = command_body("help", user="U01", response_url=fake.response_url("socket"))

    async with running(service, socket_config):
        await fake.wait_until(lambda: fake.sockets)
        await fake.sockets[0].send_json(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": dict(parse_qsl(body)),
            }
        )
        [reply] = await fake.wait_for("response_url")
        await fake.wait_until(lambda: fake.socket_acks)

    [opened] = fake.calls_to("apps.connections.open")
    assert opened.token == "xapp-test"
    assert fake.socket_acks[0]["envelope_id"] == "env-1"
    assert reply.args["text"] == fallback(messages.USAGE)


# --- multi-workspace install ------------------------------------------------------------------


@pytest.fixture
async def oauth(service, config, db_url, fake):
    """An OAuth-mode server whose installation store shares the test's database file."""
    db = await Database.open(db_url)
    oauth_config = replace(
        config,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
    )
    test_server = TestServer(
        http_app(create_app(service, oauth_config, db=db, process_before_response=True)),
        host="127.0.0.1",
        port=0,
    )
    await test_server.start_server()
    yield test_server, SqlInstallationStore(db, "111.222")
    await test_server.close()
    await db.close()


async def install(http: aiohttp.ClientSession, server: TestServer) -> tuple[int, str]:
    """Follow the install link as a browser would, then come back through the redirect."""
    async with http.get(str(server.make_url("/slack/install"))) as response:
        assert response.status == 200
        page = await response.text()
        cookie = response.headers["Set-Cookie"]
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]*)"', page).group(1)
    assert "scope=commands,chat:write,users:read,im:write,files:write&" in link.replace(
        "&amp;", "&"
    )
    state = re.search(r"slack-app-oauth-state=([^;]+)", cookie).group(1)
    redirect = server.make_url(f"/slack/oauth_redirect?code=the-code&state={state}")
    headers = {"Cookie": f"slack-app-oauth-state={state}"}
    async with http.get(str(redirect), headers=headers) as response:
        first = response.status
    async with http.get(str(redirect), headers=headers) as response:
        replayed = response.status
    return first, replayed


async def test_the_oauth_callback_stores_the_installation_in_the_database(oauth, http, fake):
    server, store = oauth

    first, replayed = await install(http, server)

    assert first == 200
    assert replayed == 401  # a state is consumed once: invalid_state
    [exchange] = fake.calls_to("oauth.v2.access")
    assert (exchange.args["code"], exchange.args["client_id"]) == ("the-code", "111.222")
    bot = await store.async_find_bot(enterprise_id=None, team_id="T2")
    assert (bot.bot_token, bot.bot_user_id, bot.bot_scopes) == (
        "xoxb-T2-installed",
        "UBOT2",
        ["commands", "chat:write", "users:read"],
    )
    installation = await store.async_find_installation(enterprise_id=None, team_id="T2")
    assert installation.user_id == "U-INSTALLER" and installation.team_name == "Second workspace"


async def test_an_installed_workspace_uses_its_own_token(oauth, http, fake):
    server, _ = oauth
    await install(http, server)
    url = str(server.make_url("/slack/events"))

    for n, text in enumerate(("setup topics:testing", "post-now")):
        body = command_body(text, user=ADMIN, team="T2", response_url=fake.response_url(f"t2-{n}"))
        status, _ = await post(http, url, body, signed_headers(body))
        assert status == 200

    [posted] = fake.calls_to("chat.postMessage")
    assert posted.token == "xoxb-T2-installed"
    assert fake.responses("t2-1")[0].args["text"].startswith("Posted today's question")
    assert {call.token for call in fake.calls_to("users.info")} == {"xoxb-T2-installed"}


async def test_uninstalling_deletes_the_workspaces_tokens(oauth, http, fake):
    server, store = oauth
    await install(http, server)
    body = event_body({"type": "app_uninstalled"}, team="T2")

    status, _ = await post(
        http, str(server.make_url("/slack/events")), body, signed_headers(body, "application/json")
    )

    assert status == 200
    assert await store.bot_token("T2") is None
    assert await store.async_find_installation(enterprise_id=None, team_id="T2") is None


async def test_run_delivers_an_overdue_reveal_once_the_slack_publisher_exists(
    service, http_config, fake, clock
):
    """`python -m bot run` starts the deliveries only after the adapters registered their
    publishers: the reveal the process owed while it was down goes out at its first try."""
    channel = ChannelRef("slack", "T1", "C1")
    await service.save_settings(
        ChannelSettings(channel, timezone="Europe/Berlin", topics=("testing",))
    )
    now = clock.now()
    question = service.bank.by_topic("testing")[0]
    claim = await service.repo.claim_post(
        channel, now.date(), question.id, now - timedelta(hours=1), now - timedelta(minutes=1)
    )
    [post_row] = await service.claim_deliveries(10)
    await service.delivered(post_row, "1736928000.000100")

    task = asyncio.create_task(
        serve_adapters(service, replace(http_config, port=free_port()), [run_slack])
    )
    try:
        [update] = await fake.wait_for("chat.update")
        reveal = await settled(service, f"reveal:{claim.drill.id}")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert update.args["ts"] == "1736928000.000100"
    assert (reveal.state, reveal.attempts, reveal.last_error) == (OutboxState.DONE, 1, None)


async def settled(service, key: str):
    """The outbox row once it is no longer waiting or being sent (it lives in SQLite, so
    there is no event to wait on)."""
    async with asyncio.timeout(3):
        while (row := await service.repo.outbox_by_key(key)).state in (  # noqa: ASYNC110
            OutboxState.PENDING,
            OutboxState.SENDING,
        ):
            await asyncio.sleep(0.01)
    return row
