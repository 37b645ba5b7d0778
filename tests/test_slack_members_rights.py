"""/quiz export, forget-me and forget on Slack: signed requests through Bolt, a fake Slack.

The export's reply says where the file went; the file itself goes through files upload v2
(files.getUploadURLExternal, the upload URL, files.completeUploadExternal) to the DM that
conversations.open gives for the member.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.core import messages
from bot.slack_adapter.app import create_app
from bot.slack_adapter.blocks import fallback
from tests.slack_fakes import ADMIN, SECRET, TEAM, command_body, dispatch, signed_headers

pytestmark = pytest.mark.usefixtures("no_slack_env")


@pytest.fixture
def app(service, config, fake):
    slack_config = replace(
        config, slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=fake.api_url
    )
    return create_app(service, slack_config, process_before_response=True)


@pytest.fixture
def command(app, fake):
    """`/quiz <text>` from a user; returns the text of the private reply."""
    sent = iter(range(1, 1000))

    async def send(user: str, text: str) -> str:
        key = f"c{next(sent)}"
        body = command_body(text, user=user, response_url=fake.response_url(key))
        response = await dispatch(app, body, signed_headers(body))
        assert response.status == 200
        [reply] = fake.responses(key)
        assert reply.args["response_type"] == "ephemeral"
        return reply.args["text"]

    return send


async def query(service, sql: str, *args: object) -> list[tuple]:
    async with service.repo.db.conn.execute(sql, args) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def answered(command, *users: str) -> None:
    await command(ADMIN, "setup tz:Europe/Berlin topics:testing")
    assert (await command(ADMIN, "post-now")).startswith("Posted today's question")
    for user in users:
        await command(user, "answer A")


async def test_export_uploads_the_json_to_a_dm_and_says_so_privately(command, fake):
    await answered(command, "U01", "U02")

    text = await command("U01", "export")

    assert text.startswith(fallback("Everything Daily Drill stores about you in this workspace"))
    assert text.endswith(fallback(messages.EXPORT_SENT_DM))
    [opened] = fake.calls_to("conversations.open")
    assert opened.args["users"] == "U01"
    [asked] = fake.calls_to("files.getUploadURLExternal")
    [done] = fake.calls_to("files.completeUploadExternal")
    assert done.args["channel_id"] == "DU01"
    [(file_id, data)] = fake.uploads.items()
    assert json.loads(done.args["files"])[0]["id"] == file_id
    assert asked.args["filename"].startswith(f"daily-drill-slack-{TEAM}-U01-")
    doc = json.loads(data)
    assert (doc["member"]["user_id"], doc["member"]["platform"]) == ("U01", "slack")
    assert [a["answer"] for a in doc["attempts"]] == ["A"]
    assert "U02" not in data.decode()
    assert fake.calls_to("chat.postMessage")[-1].args["channel"] == "C1"  # no text DM


async def test_an_export_the_install_cannot_upload_says_why(command, fake):
    await answered(command, "U01")
    fake.fail["files.getUploadURLExternal"] = "missing_scope"

    text = await command("U01", "export")

    assert text.endswith(fallback(messages.EXPORT_UPLOAD_FAILED))
    assert fake.calls_to("files.completeUploadExternal") == []


async def test_forget_me_asks_then_deletes_the_member_and_their_install_record(command, service):
    await answered(command, "U01", "U02")
    # U01 installed the app (OAuth mode): that record names them too; the bot token stays.
    await service.repo.db.conn.execute(
        """INSERT INTO slack_installations (client_id, team_id, user_id, data, installed_at)
           VALUES ('app', ?, 'U01', '{}', '2025-01-01T00:00:00+00:00')""",
        (TEAM,),
    )

    asked = await command("U01", "forget-me")
    assert fallback("To go ahead: `/quiz forget-me confirm`") in asked
    assert "2 other records" in asked  # the install record and the answer's review card
    done = await command("U01", "forget-me confirm")

    assert done.startswith(fallback("Done: everything stored about you in this workspace"))
    assert await query(service, "SELECT user_id FROM members") == [("U02",)]
    assert await query(service, "SELECT count(*) FROM slack_installations") == [(0,)]
    assert await command("U01", "forget-me confirm") == fallback(messages.NOTHING_TO_FORGET)


async def test_forget_of_a_mention_is_an_admins_and_refused_to_others(command, service):
    await answered(command, "U01", "U02")

    refused = await command("U01", "forget <@U02|u02> confirm")
    assert refused == fallback(messages.ADMINS_ONLY)
    assert len(await query(service, "SELECT * FROM members")) == 2

    done = await command(ADMIN, "forget <@U02|u02> confirm")
    assert done.startswith(fallback("Deleted everything stored about u02 (`U02`)"))
    assert await query(service, "SELECT user_id FROM members") == [("U01",)]
