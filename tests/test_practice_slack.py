"""Practice over Slack: signed /quiz commands through Bolt, replies from the fake Slack."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.models import ChannelRef, MemberRef, Period
from bot.slack_adapter.app import create_app
from tests.slack_fakes import SECRET
from tests.test_practice import right_answer, wrong_answer
from tests.test_slack_app import Workspace, post_drill

pytestmark = pytest.mark.usefixtures("no_slack_env")


@pytest.fixture
def workspace(service, config, fake) -> Workspace:
    slack_config = replace(
        config, slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=fake.api_url
    )
    return Workspace(create_app(service, slack_config, process_before_response=True), fake)


async def test_a_practice_session_over_slack_is_ephemeral_and_scores_no_points(
    workspace: Workspace,
    service,
):
    await post_drill(workspace)
    member = MemberRef("slack", "T1", "U-SAM")
    goal = await workspace.command("U-SAM", "goal 99")
    assert goal.args["text"].startswith("`99` is not a goal.")
    assert await service.practice_goal(member) == 8
    reply = await workspace.command("U-SAM", "practice testing 2")
    assert "Practice 1/2 · testing" in reply.args["text"]
    session = await service.open_practice(member)
    first, second = (item.question_id for item in session.items)
    reply = await workspace.command("U-SAM", "answer " + wrong_answer(service, first))
    assert reply.args["text"].startswith("Not quite. The answer is")
    assert "Practice 2/2" in reply.args["text"]
    reply = await workspace.command("U-SAM", "answer " + right_answer(service, second))
    assert reply.args["text"].startswith("Correct!")
    assert "Practice done: 1 of 2 right." in reply.args["text"]
    stats = await workspace.command("U-SAM", "stats")
    assert "Reviews due today: 1" in stats.args["text"]
    channel = ChannelRef("slack", "T1", "C1")
    board = await service.leaderboard(member, channel, Period.ALL, None)
    assert board.caller is None and board.entries == ()
