"""slack/manifest.yml declares exactly what the app registers and calls."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.slack_adapter.app import BOT_SCOPES, COMMAND, EVENTS, create_app
from tests.slack_fakes import (
    ADMIN,
    SECRET,
    action_body,
    command_body,
    dispatch,
    event_body,
    signed_headers,
    view_submission_body,
)

MANIFEST = Path(__file__).resolve().parents[1] / "slack" / "manifest.yml"
# The bot scope each Web API method needs; a method missing here fails the test, so a
# new call cannot ship without its scope in the manifest.
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "users.info": "users:read",
    "views.open": None,
    "views.publish": None,
    "conversations.open": "im:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
NO_SCOPE = {"auth.test"}


pytestmark = pytest.mark.usefixtures("no_slack_env")


@pytest.fixture
def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


@pytest.fixture
def app(service, config, fake):
    slack_config = replace(
        config, slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=fake.api_url
    )
    return create_app(service, slack_config, process_before_response=True)


async def send(app, body: str, content_type: str = "application/x-www-form-urlencoded"):
    return await dispatch(app, body, signed_headers(body, content_type))


def test_the_manifest_declares_the_registered_command_events_and_features(manifest):
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert settings["event_subscriptions"]["bot_events"] == list(EVENTS)
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert features["app_home"]["home_tab_enabled"] is True
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert "user" not in manifest["oauth_config"]["scopes"]


async def test_the_app_handles_every_command_and_event_the_manifest_subscribes(manifest, app, fake):
    for n, declared in enumerate(manifest["features"]["slash_commands"]):
        body = command_body("help", user="U01", response_url=fake.response_url(f"c{n}"))
        assert declared["command"] in body.replace("%2F", "/")
        assert (await send(app, body)).status == 200
    for name in manifest["settings"]["event_subscriptions"]["bot_events"]:
        event = {"type": name, "user": "U01", "tab": "home"}
        if name == "tokens_revoked":
            event = {"type": name, "tokens": {"bot": ["UBOT"]}}
        response = await send(app, event_body(event), "application/json")
        assert response.status == 200, name
    # An event the manifest does not subscribe to finds no listener: Bolt says 404.
    unsubscribed = event_body({"type": "reaction_added", "user": "U01"})
    assert (await send(app, unsubscribed, "application/json")).status == 404


async def test_the_manifest_grants_exactly_the_scopes_the_app_calls(manifest, app, fake):
    for n, text in enumerate(("setup topics:typed", "post-now")):
        await send(app, command_body(text, user=ADMIN, response_url=fake.response_url(f"s{n}")))
    [post] = fake.calls_to("chat.postMessage")
    [button] = post.args["blocks"][-1]["elements"]
    click = action_body(
        user="U01",
        action_id=button["action_id"],
        value=button["value"],
        response_url=fake.response_url("click"),
    )
    await send(app, click)
    [opened] = fake.calls_to("views.open")
    metadata = opened.args["view"]["private_metadata"]
    await send(app, view_submission_body(user="U01", private_metadata=metadata, answer="lasso"))
    await send(
        app,
        event_body({"type": "app_home_opened", "user": "U01", "tab": "home"}),
        "application/json",
    )
    await send(app, command_body("close-now", user=ADMIN, response_url=fake.response_url("c")))
    await send(app, command_body("export", user="U01", response_url=fake.response_url("e")))

    called = {call.method for call in fake.calls if call.method != "response_url"} - NO_SCOPE
    assert called == set(METHOD_SCOPES), json.dumps(sorted(called))
    needed = {"commands"} | {scope for scope in METHOD_SCOPES.values() if scope}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed
