"""Reports and disputes on Slack, end to end through the fake Slack: the Report button
in the reveal opens a modal (a reason select and optional text), `/quiz report` and the
admins' `/quiz reports`, and an accepted wrong-key report telling each changed member."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.core import messages
from bot.slack_adapter.app import create_app
from bot.slack_adapter.blocks import REPORT_ACTION
from tests.conftest import dispatcher_of
from tests.slack_fakes import ADMIN, SECRET, report_submission_body
from tests.test_slack_app import CHANNEL, Workspace, button_for, post_drill

pytestmark = pytest.mark.usefixtures("no_slack_env")


@pytest.fixture
def workspace(service, config, fake) -> Workspace:
    slack = replace(
        config,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        slack_admin_user_ids=(ADMIN,),
    )
    return Workspace(create_app(service, slack, process_before_response=True), fake)


async def test_the_report_button_opens_a_modal_and_an_accept_regrades(workspace, service, fake):
    post = await post_drill(workspace)
    drill = await service.repo.latest_drill(CHANNEL)
    question = service.question(drill.question_id)
    right = question.correct_letter
    other = next(letter for letter in question.letters if letter != right)
    await workspace.click("U01", button_for(post, right), post)
    await workspace.click("U02", button_for(post, other), post)
    await workspace.command(ADMIN, "close-now")
    [update] = fake.calls_to("chat.update")
    (report,) = update.args["blocks"][-1]["elements"]
    assert report["action_id"] == REPORT_ACTION

    await workspace.send(workspace.click_body("U02", report, update)[0])
    view = fake.calls_to("views.open")[-1].args["view"]
    assert view["callback_id"] == "drill_report_modal"
    reason, text = view["blocks"][1], view["blocks"][2]
    assert [o["value"] for o in reason["element"]["options"]] == [
        "wrong-key",
        "ambiguous",
        "typo",
        "too-easy",
        "too-hard",
        "other",
    ]
    assert text["optional"] and text["element"]["max_length"] == 500
    assert json.loads(view["private_metadata"]) == {"drill": drill.id, "channel": "C1"}

    for picked in ("wrong-key", "typo"):
        body = report_submission_body(
            user="U02", private_metadata=view["private_metadata"], reason=picked, text="B fits"
        )
        await workspace.send(body)
    told = [c.args["text"] for c in fake.calls_to("chat.postEphemeral") if c.args["user"] == "U02"]
    assert told[-2].startswith(f"Thanks: report #1 on `{question.id}` (wrong-key)")
    assert "already" in told[-1]

    typed = await workspace.command("U01", "report too-hard")
    assert typed.args["text"].startswith(f"Thanks: report #2 on `{question.id}` (too-hard)")
    refused = await workspace.command("U01", "reports")
    assert refused.args["text"] == messages.ADMINS_ONLY
    listing = await workspace.command(ADMIN, "reports")
    assert f"`{question.id}`: wrong-key ×1, too-hard ×1" in listing.args["text"]
    assert "#1 wrong-key" in listing.args["text"] and "B fits" in listing.args["text"]

    resolved = await workspace.command(ADMIN, f"reports resolve 1 accept key:{other}")
    assert f"Regraded with key {other}: 2 attempt(s) changed" in resolved.args["text"]
    await dispatcher_of(service).drain()
    regraded = [
        (c.args["user"], c.args["text"])
        for c in fake.calls_to("chat.postEphemeral")
        if c.args["text"].startswith("After a report")
    ]
    assert sorted(user for user, _ in regraded) == ["U01", "U02"]
    assert dict(regraded)["U02"].endswith("your answer is now Correct. Your points for it: 0 → 15.")
