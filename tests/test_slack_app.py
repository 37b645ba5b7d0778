"""The Slack app end to end: signed requests through Bolt, replies recorded by a fake Slack.

Requests go through `AsyncApp.async_dispatch` with real signature verification; the app
is built with process_before_response=True so each dispatch returns once its handler
has finished, and every Web API call and response_url reply is read from the fake.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import commands, messages
from bot.core.errors import DrillClosed, InvalidAnswer, NotAllowed, NotFound
from bot.core.models import ChannelRef, DrillState, MemberRef, Period
from bot.scheduler import DrillScheduler
from bot.slack_adapter import errors as slack_errors
from bot.slack_adapter.admins import SlackUsers
from bot.slack_adapter.app import create_app
from bot.slack_adapter.blocks import (
    OPEN_MODAL_ACTION,
    escape,
    fallback,
    home_error_view,
    modal_value,
)
from tests.conftest import dispatcher_of
from tests.slack_fakes import (
    ADMIN,
    SECRET,
    Call,
    FakeSlack,
    action_body,
    command_body,
    dispatch,
    event_body,
    signed_headers,
    view_submission_body,
)

CHANNEL = ChannelRef("slack", "T1", "C1")


pytestmark = pytest.mark.usefixtures("no_slack_env")


@pytest.fixture
def slack_config(config, fake):
    return replace(
        config,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        slack_admin_user_ids=("U-LISTED",),
    )


class Workspace:
    """Members of one workspace sending signed requests; replies come back from the fake."""

    def __init__(self, app, fake: FakeSlack) -> None:
        self.app = app
        self.fake = fake
        self.keys = itertools.count(1)

    async def send(self, body: str, **headers: object):
        response = await dispatch(self.app, body, signed_headers(body, **headers))
        assert response.status == 200, response.body
        return response

    async def command(self, user: str, text: str, channel: str = "C1") -> Call:
        key = f"cmd{next(self.keys)}"
        body = command_body(
            text, user=user, response_url=self.fake.response_url(key), channel=channel
        )
        await self.send(body)
        [reply] = self.fake.responses(key)
        assert reply.args["response_type"] == "ephemeral"
        return reply

    def click_body(self, user: str, button: dict, post: Call) -> tuple[str, str]:
        key = f"click{next(self.keys)}"
        body = action_body(
            user=user,
            action_id=button["action_id"],
            value=button["value"],
            response_url=self.fake.response_url(key),
            message_ts="1736928000.000001",
            channel=post.args["channel"],
        )
        return body, key

    async def click(self, user: str, button: dict, post: Call) -> Call:
        body, key = self.click_body(user, button, post)
        await self.send(body)
        [reply] = self.fake.responses(key)
        return reply


@pytest.fixture
def workspace(service, slack_config, fake) -> Workspace:
    return Workspace(create_app(service, slack_config, process_before_response=True), fake)


async def post_drill(workspace: Workspace, topics: str = "testing") -> Call:
    await workspace.command(ADMIN, f"setup tz:Europe/Berlin topics:{topics}")
    reply = await workspace.command(ADMIN, "post-now")
    assert reply.args["text"].startswith("Posted today's question")
    return workspace.fake.calls_to("chat.postMessage")[-1]


def buttons(post: Call) -> list[dict]:
    actions = [b for b in post.args["blocks"] if b["type"] == "actions"]
    return actions[0]["elements"]


def button_for(post: Call, letter: str) -> dict:
    return next(b for b in buttons(post) if b["action_id"] == f"drill_answer:{letter}")


async def attempts(service, user: str | None = None) -> int:
    sql = "SELECT count(*) FROM attempts a JOIN members m ON m.id = a.member_id"
    params: tuple = ()
    if user is not None:
        sql += " WHERE m.user_id = ?"
        params = (user,)
    async with service.repo.db.conn.execute(sql, params) as cursor:
        return (await cursor.fetchone())[0]


# --- /quiz and admins -------------------------------------------------------------------------


async def test_setup_by_a_workspace_admin_configures_the_channel(workspace, service, fake):
    reply = await workspace.command(ADMIN, "setup time:08:30 tz:Europe/Berlin topics:testing")
    assert reply.args["text"].startswith("Daily Drill is set up here.")
    settings = await service.repo.get_settings(CHANNEL)
    assert (settings.post_time, settings.timezone, settings.admin_user_id) == (
        "08:30",
        "Europe/Berlin",
        ADMIN,
    )
    assert [call.args["user"] for call in fake.calls_to("users.info")] == [ADMIN]


async def test_setup_by_a_non_admin_is_refused_privately_and_changes_nothing(
    workspace, service, fake
):
    reply = await workspace.command("U-MEMBER", "setup time:08:30")
    assert reply.args["text"] == "Only channel admins can do that."
    assert await service.repo.get_settings(CHANNEL) is None
    assert fake.calls_to("chat.postMessage") == []


async def test_listed_admin_ids_need_no_lookup_and_lookups_are_cached(workspace, fake):
    await workspace.command("U-LISTED", "setup tz:UTC")
    assert fake.calls_to("users.info") == []
    await workspace.command(ADMIN, "pause")
    await workspace.command(ADMIN, "resume")
    assert len(fake.calls_to("users.info")) == 1


async def test_member_commands_never_look_up_roles(workspace, fake):
    reply = await workspace.command("U-MEMBER", "help")
    assert reply.args["text"] == fallback(messages.USAGE)
    assert "&lt;text&gt;" in reply.args["text"]
    assert fake.calls_to("users.info") == []


async def test_replies_are_escaped_so_echoed_text_cannot_ping_a_channel(workspace):
    reply = await workspace.command("U-MEMBER", "<!channel>")
    assert "&lt;!channel&gt;" in reply.args["text"]
    assert "<!channel>" not in reply.args["text"]


# --- the daily post and clicks ----------------------------------------------------------------


async def test_post_now_posts_the_question_with_a_button_per_letter(workspace, service, fake):
    post = await post_drill(workspace)
    drill = await service.repo.latest_drill(CHANNEL)
    question = service.question(drill.question_id)
    assert post.token == "xoxb-test" and post.args["channel"] == "C1"
    assert [b["type"] for b in post.args["blocks"]] == ["header", "section", "context", "actions"]
    assert post.args["blocks"][0]["text"]["text"] == messages.DAILY_TITLE
    assert post.args["blocks"][1]["text"]["text"] == escape(messages.question_body(question))
    assert post.args["blocks"][2]["elements"][0]["text"] == messages.question_header(question)
    assert [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons(post)] == [
        (letter, f"drill_answer:{letter}", f"{drill.id}:{letter}") for letter in question.letters
    ]
    assert question.prompt in post.args["text"]
    assert drill.state is DrillState.OPEN and drill.message_id.startswith("1736928000.")


async def test_twenty_members_click_a_double_click_counts_once_and_a_retry_says_nothing(
    workspace, service, fake
):
    post = await post_drill(workspace)
    drill = await service.repo.latest_drill(CHANNEL)
    right = service.question(drill.question_id).correct_letter
    wrong = next(letter for letter in "ABCD" if letter != right)
    members = [f"U{n:02d}" for n in range(20)]
    bodies = [
        workspace.click_body(user, button_for(post, right if n % 3 else wrong), post)
        for n, user in enumerate(members)
    ]
    double, double_key = workspace.click_body("U00", button_for(post, right), post)
    retried, _ = bodies[1]

    await asyncio.gather(
        *(workspace.send(body) for body, _ in bodies),
        workspace.send(double),
    )
    # Slack re-sends a click it did not see acknowledged: counted once, answered once.
    await workspace.send(retried, retry=1)

    assert await attempts(service) == 20
    assert await attempts(service, "U00") == 1 and await attempts(service, "U01") == 1
    clicks = [r for r in fake.responses() if r.path.startswith("/respond/click")]
    assert len(clicks) == 21
    assert len(fake.responses(bodies[1][1])) == 1
    replies = [r.args["text"] for r in clicks]
    assert sum(text.startswith("You've already answered") for text in replies) == 1
    # Whichever of U00's two clicks won, the other is told that the first one stands.
    u00 = sorted(fake.responses(key)[0].args["text"] for key in (bodies[0][1], double_key))
    async with service.repo.db.conn.execute(
        "SELECT normalized FROM attempts a JOIN members m ON m.id = a.member_id"
        " WHERE m.user_id = 'U00'"
    ) as cursor:
        (stored,) = await cursor.fetchone()
    assert u00[1] == messages.already_answered(stored)
    assert u00[0].startswith("Correct" if stored == right else "Not quite.")
    assert all(r.args["replace_original"] is False for r in clicks)
    stats = await service.member_stats(MemberRef("slack", "T1", "U01"), CHANNEL)
    assert (stats.answered, stats.correct) == (1, 1)
    assert stats.points > 0
    board = await service.leaderboard(MemberRef("slack", "T1", "U01"), CHANNEL, Period.ALL, None)
    assert next(e for e in board.entries if e.user_id == "U01").answered == 1


async def test_a_retried_click_whose_first_delivery_was_lost_is_answered(workspace, service, fake):
    post = await post_drill(workspace)
    drill = await service.repo.latest_drill(CHANNEL)
    right = service.question(drill.question_id).correct_letter
    body, key = workspace.click_body("U07", button_for(post, right), post)

    await workspace.send(body, retry=2)

    [reply] = fake.responses(key)
    assert reply.args["text"].startswith("Correct")
    assert await attempts(service, "U07") == 1


async def test_close_now_updates_the_post_and_follows_with_a_board(workspace, service, fake):
    post = await post_drill(workspace)
    drill = await service.repo.latest_drill(CHANNEL)
    question = service.question(drill.question_id)
    right = question.correct_letter
    await workspace.click("U01", button_for(post, right), post)
    await workspace.click("U02", button_for(post, "A" if right != "A" else "B"), post)

    reply = await workspace.command(ADMIN, "close-now")

    assert reply.args["text"] == "Closed the drill and posted the answer."
    [update] = fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("C1", drill.message_id)
    kinds = [b["type"] for b in update.args["blocks"]]
    assert kinds.count("actions") == 1 and kinds[0] == "header"
    (report,) = update.args["blocks"][-1]["elements"]  # the answer buttons are gone
    assert (report["action_id"], report["value"]) == ("drill_report", str(drill.id))
    texts = json.dumps(update.args["blocks"], ensure_ascii=False)
    assert f"*{right}) " in texts and "✓" in texts
    assert "2 people answered; 1 got it right (50%)." in texts
    assert (
        "```" in texts
        and messages.distribution_lines(await service.drill_result(drill.id))[0] in texts
    )
    assert "Fastest correct: u01" in texts
    assert update.args["text"].startswith(messages.CLOSED_TITLE)
    board = fake.calls_to("chat.postMessage")[-1]
    assert board.args["channel"] == "C1" and board.args["text"].startswith("Top 5 this week")
    assert board.args["blocks"][0]["text"]["text"] == "Top 5 this week"


async def test_stats_and_leaderboard_reply_with_the_messages_text(workspace, service, fake):
    post = await post_drill(workspace)
    drill = await service.repo.latest_drill(CHANNEL)
    await workspace.click(
        "U01", button_for(post, service.question(drill.question_id).correct_letter), post
    )
    member = MemberRef("slack", "T1", "U01", "u01")

    stats_reply = await workspace.command("U01", "stats")
    board_reply = await workspace.command("U01", "leaderboard all")

    stats = await service.member_stats(member, CHANNEL)
    assert stats_reply.args["text"] == fallback(messages.stats_text(stats))
    assert stats_reply.args["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Stats for u01", "emoji": True},
    }
    board = await service.leaderboard(member, CHANNEL, Period.ALL, None)
    assert board_reply.args["text"] == fallback(messages.leaderboard_text(board))
    assert board_reply.args["blocks"][0]["text"]["text"] == messages.board_title(board)
    assert "1. u01:" in board_reply.args["blocks"][1]["text"]["text"]


# --- App Home ---------------------------------------------------------------------------------


async def test_app_home_publishes_the_members_stats(workspace, service, fake):
    post = await post_drill(workspace)
    drill = await service.repo.latest_drill(CHANNEL)
    await workspace.click(
        "U01", button_for(post, service.question(drill.question_id).correct_letter), post
    )
    fake.display_names["U01"] = "Ada"

    await workspace.send(
        event_body({"type": "app_home_opened", "user": "U01", "channel": "D01", "tab": "home"}),
        content_type="application/json",
    )

    [publish] = fake.calls_to("views.publish")
    view = publish.args["view"]
    assert publish.args["user_id"] == "U01" and view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "Stats for Ada"
    body = json.dumps(view["blocks"])
    stats = await service.member_stats(MemberRef("slack", "T1", "U01", "Ada"), CHANNEL)
    assert f"Points: {stats.points}" in body and "rank: #1 of 1" in body
    assert "testing: 1/1 (100%)" in body


async def test_the_home_tabs_practice_now_button_starts_practice_in_the_dm(
    workspace, service, fake
):
    await workspace.command(ADMIN, "setup tz:Europe/Berlin topics:testing")
    await workspace.send(
        event_body({"type": "app_home_opened", "user": "U05", "channel": "D05", "tab": "home"}),
        content_type="application/json",
    )
    [publish] = fake.calls_to("views.publish")
    [button] = [
        element
        for block in publish.args["view"]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert button["text"]["text"] == messages.PRACTICE_NOW_BUTTON
    click = {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "fake"},
        "user": {"id": "U05", "username": "u05", "name": "u05", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "V1"},
        "trigger_id": "trigger-U05",
        "view": publish.args["view"],
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b"}],
    }

    await workspace.send(urlencode({"payload": json.dumps(click)}))

    [dm] = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "U05"]
    assert "Practice 1/" in dm.args["text"]
    session = await service.open_practice(MemberRef("slack", "T1", "U05"))
    assert session is not None and session.current is not None


async def test_the_messages_tab_publishes_nothing(workspace, fake):
    await workspace.send(
        event_body({"type": "app_home_opened", "user": "U01", "channel": "D01", "tab": "messages"}),
        content_type="application/json",
    )
    assert fake.calls_to("views.publish") == []


# --- typed answers in a modal -----------------------------------------------------------------


async def open_modal(workspace: Workspace, post: Call, user: str = "U01") -> dict:
    [button] = buttons(post)
    assert button["text"]["text"] == messages.ANSWER_BUTTON
    await workspace.send(workspace.click_body(user, button, post)[0])
    opened = workspace.fake.calls_to("views.open")[-1]
    assert opened.args["trigger_id"] == f"trigger-{user}"
    return opened.args["view"]


async def submit(workspace: Workspace, view: dict, answer: str, user: str = "U01"):
    body = view_submission_body(user=user, private_metadata=view["private_metadata"], answer=answer)
    return await workspace.send(body)


async def test_a_typed_answer_goes_through_a_modal_and_gets_private_feedback(
    workspace, service, fake
):
    post = await post_drill(workspace, topics="typed")
    drill = await service.repo.latest_drill(CHANNEL)
    question = service.question(drill.question_id)

    view = await open_modal(workspace, post)
    assert view["callback_id"] == "drill_answer_modal"
    assert json.loads(view["private_metadata"]) == {"drill": drill.id, "channel": "C1"}
    [answer_input] = [b for b in view["blocks"] if b["type"] == "input"]
    assert answer_input["element"]["multiline"] is True

    response = await submit(workspace, view, messages.answer_key(question))

    assert response.body == ""  # an empty ack closes the modal
    [feedback] = fake.calls_to("chat.postEphemeral")
    assert (feedback.args["channel"], feedback.args["user"]) == ("C1", "U01")
    assert feedback.args["text"].startswith(("Correct", "Partly"))
    assert await attempts(service, "U01") == 1


async def test_an_answer_that_cannot_be_graded_keeps_the_modal_open(workspace, service, fake):
    post = await post_drill(workspace, topics="typed")
    view = await open_modal(workspace, post)

    response = await submit(workspace, view, "   ")

    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {"answer": "Type an answer first."},
    }
    assert await attempts(service) == 0
    assert fake.calls_to("chat.postEphemeral") == []


async def test_a_second_modal_answer_is_refused_and_the_first_stands(workspace, service, fake):
    post = await post_drill(workspace, topics="typed")
    question = service.question((await service.repo.latest_drill(CHANNEL)).question_id)
    view = await open_modal(workspace, post)
    await submit(workspace, view, messages.answer_key(question))
    await submit(workspace, view, "something else entirely")

    second = fake.calls_to("chat.postEphemeral")[-1]
    assert "already answered" in second.args["text"]
    assert await attempts(service, "U01") == 1


@pytest.mark.allow_error_logs
async def test_a_failing_slack_call_still_gets_a_private_reply(workspace, fake):
    post = await post_drill(workspace, topics="typed")
    fake.fail["views.open"] = "internal_error"
    [button] = buttons(post)

    reply = await workspace.click("U01", button, post)

    assert reply.args["text"] == messages.SOMETHING_WENT_WRONG


@pytest.mark.allow_error_logs
async def test_a_modal_that_fails_says_so_inside_the_modal(workspace, service, fake):
    await post_drill(workspace, topics="typed")

    response = await submit(workspace, {"private_metadata": "not json"}, "lasso")

    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {"answer": messages.SOMETHING_WENT_WRONG},
    }
    assert await attempts(service) == 0


# --- channels that refuse the bot -------------------------------------------------------------


@pytest.mark.allow_error_logs
async def test_a_refused_post_is_reported_to_the_admin_who_ran_setup(workspace, service, fake):
    await workspace.command(ADMIN, "setup tz:Europe/Berlin topics:testing", channel="C-GONE")
    fake.refuse["C-GONE"] = "not_in_channel"
    gone = ChannelRef("slack", "T1", "C-GONE")

    await DrillScheduler(service).tick()  # 09:00 in Berlin: the post is due
    await service.delivery.drain()

    refused, dm = fake.calls_to("chat.postMessage")
    assert refused.args["channel"] == "C-GONE"
    [ephemeral] = fake.calls_to("chat.postEphemeral")
    assert (ephemeral.args["channel"], ephemeral.args["user"]) == ("C-GONE", ADMIN)
    assert dm.args["channel"] == ADMIN
    assert dm.args["text"] == fallback(messages.post_failed_text("#C-GONE", "not_in_channel"))
    assert (await service.repo.latest_drill(gone)).state is DrillState.FAILED


@pytest.mark.allow_error_logs
async def test_post_now_in_a_channel_without_the_bot_says_why(workspace, fake):
    await workspace.command(ADMIN, "setup topics:testing", channel="C-GONE")
    fake.refuse["C-GONE"] = "channel_not_found"

    reply = await workspace.command(ADMIN, "post-now", channel="C-GONE")

    assert reply.args["text"] == "I couldn't post the question here: channel_not_found"


async def test_admin_lookups_expire_after_the_cache_time(fake):
    now = [0.0]
    users = SlackUsers(ttl=300, clock=lambda: now[0])
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)

    assert await users.is_admin(client, "T1", ADMIN)
    now[0] = 299
    assert await users.is_admin(client, "T1", ADMIN)
    fake.admins.discard(ADMIN)
    now[0] = 301
    assert not await users.is_admin(client, "T1", ADMIN)
    assert len(fake.calls_to("users.info")) == 2


async def test_an_answer_may_use_the_whole_length_limit_after_the_command(workspace):
    await post_drill(workspace)
    longest = "x" * commands.MAX_TEXT
    reply = await workspace.command("U01", f"answer {longest}")
    assert "too long" not in reply.args["text"]
    assert reply.args["text"].startswith("Answer with one of the letters")
    reply = await workspace.command("U01", f"answer {longest}x")
    assert reply.args["text"].startswith("That's too long")


@pytest.mark.parametrize("user", [ADMIN, "U-MEMBER"])
async def test_setup_with_a_zone_directory_is_a_clear_refusal(workspace, service, user):
    reply = await workspace.command(user, "setup tz:Europe")
    assert reply.args["text"].startswith("I don't know the time zone `Europe`. Did you mean")
    assert await service.repo.get_settings(CHANNEL) is None


# --- one error path: every listener raises, app.error tells the member ------------------------


@pytest.fixture
def handled(monkeypatch) -> list[Exception]:
    """The errors that reached the app's error handler (spied on before the app is built)."""
    seen: list[Exception] = []
    original = slack_errors.handle_error

    @functools.wraps(original)
    async def spy(**kwargs):
        seen.append(kwargs["error"])
        return await original(**kwargs)

    monkeypatch.setattr(slack_errors, "handle_error", spy)
    return seen


@pytest.fixture
def spied(handled, service, slack_config, fake) -> Workspace:
    return Workspace(create_app(service, slack_config, process_before_response=True), fake)


async def test_a_refused_command_reaches_the_member_through_the_error_handler(
    spied, handled, service
):
    reply = await spied.command("U01", "setup tz:Europe/Berlin topics:testing")

    [error] = handled
    assert isinstance(error, NotAllowed)
    assert reply.args["text"] == fallback(error.message)
    assert await service.repo.get_settings(CHANNEL) is None


async def test_a_refused_click_reaches_the_member_through_the_error_handler(
    spied, handled, service
):
    post = await post_drill(spied)
    await spied.command(ADMIN, "close-now")

    reply = await spied.click("U01", button_for(post, "A"), post)

    [error] = handled
    assert isinstance(error, DrillClosed)
    assert reply.args["response_type"] == "ephemeral" and reply.args["replace_original"] is False
    assert reply.args["text"] == fallback(error.message)
    assert await attempts(service) == 0


async def test_a_refused_modal_opening_reaches_the_member_through_the_error_handler(
    spied, handled, service, fake
):
    post = await post_drill(spied, topics="typed")
    drill = await service.repo.latest_drill(CHANNEL)
    gone = {"action_id": OPEN_MODAL_ACTION, "value": modal_value(drill.id, "no-such-question")}

    reply = await spied.click("U01", gone, post)

    [error] = handled
    assert isinstance(error, NotFound)
    assert reply.args["text"] == fallback(error.message)
    assert fake.calls_to("views.open") == []


async def test_a_refused_modal_answer_closes_the_modal_and_reaches_the_channel(
    spied, handled, service, fake
):
    post = await post_drill(spied, topics="typed")
    view = await open_modal(spied, post)
    await spied.command(ADMIN, "close-now")

    response = await submit(spied, view, "lasso")

    [error] = handled
    assert isinstance(error, DrillClosed)
    assert response.body == ""  # closed: the reason arrives in the channel
    [told] = fake.calls_to("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == ("C1", "U01")
    assert told.args["text"] == fallback(error.message)
    assert await attempts(service) == 0


async def test_an_ungradable_modal_answer_keeps_the_modal_open_through_the_error_handler(
    spied, handled, service, fake
):
    post = await post_drill(spied, topics="typed")
    view = await open_modal(spied, post)

    response = await submit(spied, view, "   ")

    [error] = handled
    assert isinstance(error, InvalidAnswer)
    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {"answer": error.message},
    }
    assert fake.calls_to("chat.postEphemeral") == []


@pytest.mark.allow_error_logs
async def test_an_unexpected_failure_is_logged_and_the_member_gets_the_generic_message(
    spied, handled, service, monkeypatch, caplog
):
    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(service, "execute", broken)

    reply = await spied.command("U01", "stats")

    assert [type(e) for e in handled] == [RuntimeError]
    assert reply.args["text"] == messages.SOMETHING_WENT_WRONG
    [record] = [r for r in caplog.records if r.name == "bot.slack_adapter.errors"]
    assert record.levelname == "ERROR" and "/quiz 'stats' by U01 in T1" in record.getMessage()
    assert "database on fire" in str(record.exc_info[1])


@pytest.mark.allow_error_logs
async def test_a_home_tab_that_fails_shows_the_error_view(
    spied, handled, service, fake, monkeypatch
):
    async def broken(*args, **kwargs):
        raise RuntimeError("stats unavailable")

    monkeypatch.setattr(service, "member_stats", broken)

    await spied.send(
        event_body({"type": "app_home_opened", "user": "U01", "channel": "D01", "tab": "home"}),
        content_type="application/json",
    )

    assert [type(e) for e in handled] == [RuntimeError]
    [publish] = fake.calls_to("views.publish")
    assert publish.args["user_id"] == "U01"
    assert publish.args["view"] == home_error_view().to_dict()


# --- a select-all (multi) question: checkboxes in the answer modal ----------------------------


async def submit_picks(workspace: Workspace, view: dict, picked: list[str], user: str):
    body = view_submission_body(user=user, private_metadata=view["private_metadata"], picked=picked)
    return await workspace.send(body)


async def test_a_multi_question_is_answered_with_checkboxes_once_and_revealed_per_choice(
    workspace, service, fake
):
    post = await post_drill(workspace, topics="select")
    drill = await service.repo.latest_drill(CHANNEL)
    question = service.question(drill.question_id)
    right = list(question.correct_letters)
    wrong = next(x for x in question.letters if x not in right)

    view = await open_modal(workspace, post)
    [answer_input] = [b for b in view["blocks"] if b["type"] == "input"]
    boxes = answer_input["element"]
    assert boxes["type"] == "checkboxes"
    assert [o["value"] for o in boxes["options"]] == list(question.letters)
    assert [o["text"]["text"] for o in boxes["options"]] == messages.choice_lines(question)

    picks = {"U01": right, "U02": right[:1], "U03": [right[0], wrong]}
    for user, picked in picks.items():
        response = await submit_picks(workspace, view, picked, user)
        assert response.body == ""  # an empty ack closes the modal
    feedback = {
        call.args["user"]: call.args["text"] for call in fake.calls_to("chat.postEphemeral")
    }
    assert feedback["U01"].startswith("Correct, +")
    assert feedback["U02"].startswith("Partly right, +")
    assert feedback["U03"].startswith(f"Not quite. The answer is {messages.answer_key(question)}.")

    await submit_picks(workspace, view, [wrong], "U01")
    second = fake.calls_to("chat.postEphemeral")[-1]
    assert second.args["text"] == messages.already_answered(", ".join(right))
    assert await attempts(service, "U01") == 1

    await workspace.command(ADMIN, "close-now")
    [update] = fake.calls_to("chat.update")
    texts = json.dumps(update.args["blocks"], ensure_ascii=False)
    for letter in right:
        assert f"*{letter}) " in texts
    assert "3 people answered; 1 got it right (33%)." in texts
    result = await service.drill_result(drill.id)
    counts = {row.label: row.count for row in result.distribution}
    assert counts == {x: sum(x in p for p in picks.values()) for x in question.letters}
    for line in messages.distribution_lines(result):
        assert line in texts

    stats = await workspace.command("U02", "stats")
    assert "Answered: 1 · correct: 0 (0%)" in stats.args["text"]


async def test_a_multi_post_lists_its_choices_takes_typed_letters_and_then_refuses_the_boxes(
    workspace, service, fake
):
    post = await post_drill(workspace, topics="select")
    drill = await service.repo.latest_drill(CHANNEL)
    question = service.question(drill.question_id)
    right = question.correct_letters
    shown = json.dumps(post.args["blocks"], ensure_ascii=False)
    for line in messages.choice_lines(question):  # the Answer button opens the checkboxes
        assert escape(line) in shown

    typed = ", ".join(reversed(right)).lower()  # any order, any case, with separators
    reply = await workspace.command("U04", f"answer {typed}")
    assert reply.args["text"].startswith("Correct, +")
    view = await open_modal(workspace, post, user="U04")
    await submit_picks(workspace, view, [right[0]], "U04")
    repeat = fake.calls_to("chat.postEphemeral")[-1]
    assert repeat.args["text"] == messages.already_answered(", ".join(right))
    refused = await workspace.command("U05", "answer A Z")
    assert refused.args["text"] == messages.pick_letters_hint(question.letters)
    result = await service.drill_result(drill.id)
    assert (result.answered, result.correct) == (1, 1)  # neither the repeat nor "A Z" counts


# --- the outbox through the real Slack client ----------------------------------------------------


@pytest.mark.allow_error_logs
async def test_a_post_slack_took_before_answering_502_is_found_not_posted_again(
    workspace, service, fake, clock
):
    await workspace.command(ADMIN, "setup tz:Europe/Berlin topics:testing")
    fake.accept_then_fail = 1  # Slack posts it, then answers 502
    await DrillScheduler(service).tick()  # 09:00 in Berlin: the post is due
    await service.delivery.drain()
    drill = await service.repo.latest_drill(ChannelRef("slack", "T1", "C1"))
    assert drill.state is DrillState.OPEN and drill.message_id is None  # may be out: open
    clock.advance(minutes=1)
    await service.delivery.drain()  # the retry looks at the channel's history first
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert len(fake.calls_to("conversations.history")) == 1
    assert fake.duplicates() == 0 and len(fake.posted["C1"]) == 1
    stored = await service.repo.get_drill(drill.id)
    assert stored.message_id == fake.posted["C1"][0]["ts"]
    await service.close_now(drill.channel)
    [update] = fake.calls_to("chat.update")
    assert update.args["ts"] == stored.message_id


# --- reminders -----------------------------------------------------------------------------------


async def test_a_reminder_is_a_dm_with_the_question_whose_buttons_answer_it(
    workspace, service, fake, clock
):
    await workspace.command(ADMIN, "setup tz:Europe/Berlin topics:testing close:17:00")
    on = await workspace.command("U07", "remind on")
    assert on.args["text"] == messages.REMINDER_ON
    post = await post_drill(workspace)
    drill = await service.repo.latest_drill(CHANNEL)
    right = service.question(drill.question_id).correct_letter
    clock.set(datetime(2025, 1, 15, 15, 0, tzinfo=UTC))  # 16:00 in Berlin

    await service.fire_due(timedelta(hours=12))
    await dispatcher_of(service).drain()

    [reminder] = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "U07"]
    assert reminder.args["blocks"][0]["text"]["text"] == (
        "Reminder: today's question in #C1 closes at 17:00 Europe/Berlin. Answer here:"
    )
    assert buttons(reminder) == buttons(post)
    key = "dm-click"
    body = action_body(
        user="U07",
        action_id=button_for(reminder, right)["action_id"],
        value=button_for(reminder, right)["value"],
        response_url=fake.response_url(key),
        message_ts="1736928000.000009",
        channel="D07",
    )
    await workspace.send(body)
    [reply] = fake.responses(key)
    assert reply.args["text"].startswith("Correct")
    assert await attempts(service, "U07") == 1
