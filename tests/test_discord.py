"""The Discord adapter end to end: the real discord.py client against a fake Discord.

Every test logs a DrillBot in over the fake REST API, connects it to the fake gateway,
pushes raw INTERACTION_CREATE payloads through the gateway and asserts on the REST
calls discord.py made (interaction callbacks, posts, edits), and on SQLite.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import open_service
from bot.core import commands, messages
from bot.core.errors import UsageError
from bot.core.models import ChannelRef, Kind, Question
from bot.core.service import QuizService
from bot.discord_adapter.runner import run_discord
from bot.discord_adapter.sync import HASH_FILE
from bot.scheduler import DrillScheduler
from tests.conftest import dispatcher_of
from tests.discord_fakes import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    MEMBER_PERMISSIONS,
    FakeDiscord,
    button_ids,
    buttons,
    click,
    dm_click,
    install,
    modal_submit,
    person,
    pick,
    resolved_member,
    running_bot,
    selects,
    slash,
)

ADMIN = person("ada", admin=True)
CHANNEL = ChannelRef("discord", GUILD_ID, CHANNEL_ID)
POSTS = rf"/channels/{CHANNEL_ID}/messages"
EDITS = rf"/channels/{CHANNEL_ID}/messages/\d+"
EPHEMERAL = 64


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch):
    fake = FakeDiscord()
    await fake.start()
    install(fake, monkeypatch)
    yield fake
    await fake.close()


@pytest.fixture
async def bot(service, config, fake):
    async with running_bot(service, config) as bot:
        yield bot


def text_of(reply: dict[str, Any]) -> str:
    """The private text of an interaction callback (type 4, ephemeral)."""
    assert reply["type"] == 4, reply
    assert reply["data"]["flags"] == EPHEMERAL
    return reply["data"].get("content", "")


def embed_of(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["type"] == 4 and reply["data"]["flags"] == EPHEMERAL
    (embed,) = reply["data"]["embeds"]
    return embed


async def setup_channel(fake: FakeDiscord, topics: str = "testing", **options: str) -> str:
    return text_of(
        await fake.interact(slash("setup", ADMIN, tz="Europe/Berlin", topics=topics, **options))
    )


async def post_now(fake: FakeDiscord) -> dict[str, Any]:
    """`/quiz post-now` by the admin; returns the message the bot posted."""
    posted = len(fake.find("POST", POSTS))
    reply = text_of(await fake.interact(slash("post-now", ADMIN)))
    assert reply.startswith("Posted today's question"), reply
    calls = await fake.wait_for("POST", POSTS, posted + 1)
    return calls[-1].response


async def open_question(service: QuizService) -> tuple[int, Question]:
    drill = await service.open_drill_in(CHANNEL)
    return drill.id, service.question(drill.question_id)


def sql(db: Path, query: str, *args: object) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(query, args).fetchall()


def totals(db: Path, user_id: str) -> tuple[int, int, int]:
    """Answered, correct and points of a Discord member, straight from the attempt log."""
    ((answered, correct, points),) = sql(
        db,
        """SELECT count(*), coalesce(sum(a.verdict = 'good'), 0), coalesce(sum(a.points), 0)
           FROM attempts a JOIN members m ON m.id = a.member_id
           WHERE m.platform = 'discord' AND m.user_id = ?""",
        user_id,
    )
    return answered, correct, points


# --- setup and admin rights --------------------------------------------------------------------


async def test_setup_by_an_admin_configures_the_channel(fake, bot, service):
    reply = await setup_channel(fake, time="09:30", close="16:00", reveal="at_close")
    assert reply.startswith("Daily Drill is set up here.")
    assert "Posts at 09:30 (mon-fri), closes 16:00, Europe/Berlin." in reply
    settings = await service.repo.get_settings(CHANNEL)
    assert settings.post_time == "09:30" and settings.reveal.value == "at_close"
    assert settings.admin_user_id == ADMIN.user_id
    assert "Heads up" not in reply


async def test_setup_by_a_member_without_manage_server_is_refused(fake, bot, service):
    reply = await fake.interact(slash("setup", person("bo"), time="10:00"))
    assert text_of(reply) == "Only channel admins can do that."
    assert await service.repo.get_settings(CHANNEL) is None


@pytest.mark.parametrize(
    ("options", "grammar"),
    [
        ({"time": "25:00"}, "setup time:25:00"),
        ({"tz": "Mars/Olympus"}, "setup tz:Mars/Olympus"),
        ({"days": "someday"}, "setup days:someday"),
    ],
)
async def test_bad_setup_options_get_the_console_message(fake, bot, service, options, grammar):
    with pytest.raises(UsageError) as console:
        commands.parse(f"/quiz {grammar}")
    reply = await fake.interact(slash("setup", ADMIN, **options))
    assert text_of(reply) == console.value.message
    assert await service.repo.get_settings(CHANNEL) is None


async def test_setup_warns_the_admin_when_the_bot_cannot_post_there(fake, bot):
    reply = await fake.interact(
        slash("setup", ADMIN, time="09:00", app_permissions=MEMBER_PERMISSIONS)
    )
    assert text_of(reply).endswith(messages.missing_permissions_text(["Embed Links"]))


@pytest.mark.allow_error_logs  # the service logs the refused post
async def test_post_now_where_the_bot_may_not_post_tells_the_admin(fake, bot, service):
    await setup_channel(fake)
    fake.refuse("POST", f"/channels/{CHANNEL_ID}/messages", 403, 50013, "Missing Permissions")
    reply = await fake.interact(slash("post-now", ADMIN))
    assert text_of(reply) == "I couldn't post the question here: Missing Permissions"
    latest = await service.repo.latest_drill(CHANNEL)
    assert latest.state.value == "pending" and latest.message_id is None


@pytest.mark.allow_error_logs  # giving up on a post is logged as an error
async def test_a_scheduled_post_the_channel_refuses_is_reported_to_the_setup_admin(
    fake, bot, service
):
    await setup_channel(fake)
    fake.refuse("POST", f"/channels/{CHANNEL_ID}/messages", 403, 50001, "Missing Access")
    await DrillScheduler(service).tick()  # 09:00 in Berlin: the post is due
    await service.delivery.drain()
    (dm,) = await fake.wait_for("POST", "/users/@me/channels")
    assert str(dm.body["recipient_id"]) == ADMIN.user_id
    (note,) = await fake.wait_for("POST", rf"/channels/{dm.response['id']}/messages")
    assert note.body["content"] == messages.post_failed_text(f"<#{CHANNEL_ID}>", "Missing Access")


# --- the daily post and answers ---------------------------------------------------------------


async def test_post_now_posts_the_question_embed_with_one_button_per_letter(fake, bot, service):
    await setup_channel(fake)
    message = await post_now(fake)
    drill_id, question = await open_question(service)
    (post,) = fake.find("POST", POSTS)
    assert post.authorized
    (embed,) = message["embeds"]
    assert embed["title"] == messages.question_header(question)
    assert embed["author"]["name"] == messages.DAILY_TITLE
    assert embed["description"].startswith(question.prompt)
    for letter, choice in zip("ABCD", question.choices, strict=True):
        assert f"{letter}) {choice.text}" in embed["description"]
    assert button_ids(message) == [f"drill:{drill_id}:answer:{x}" for x in question.letters]
    assert [b["label"] for b in buttons(message)] == list(question.letters)
    assert not any(b.get("disabled") for b in buttons(message))
    assert (await service.repo.get_drill(drill_id)).message_id == message["id"]


async def test_twenty_members_click_once_each_and_late_or_double_clicks_are_refused(
    fake, bot, service, tmp_path
):
    await setup_channel(fake)
    message = await post_now(fake)
    drill_id, question = await open_question(service)
    right = question.correct_letter
    wrong = next(x for x in question.letters if x != right)
    members = [person(f"member{i:02d}") for i in range(20)]
    clicks = [
        click(f"drill:{drill_id}:answer:{right if i % 4 else wrong}", message, who)
        for i, who in enumerate(members)
    ]
    for payload in clicks:
        await fake.dispatch("INTERACTION_CREATE", payload)
    replies = [text_of(await fake.reply_to(payload)) for payload in clicks]
    assert sum(r.startswith("Correct, +15 points!") for r in replies) == 15
    assert sum(r.startswith(f"Not quite. The answer is {right})") for r in replies) == 5
    assert all(question.explanation in r for r in replies)

    again = await fake.interact(click(f"drill:{drill_id}:answer:{right}", message, members[1]))
    assert text_of(again) == messages.already_answered(right)

    text_of(await fake.interact(slash("close-now", ADMIN)))
    late = await fake.interact(click(f"drill:{drill_id}:answer:{right}", message, person("late")))
    assert text_of(late) == "This drill is closed. A new question comes with the next post."

    db = tmp_path / "drill.db"
    assert sql(db, "SELECT count(*) FROM attempts WHERE drill_id = ?", drill_id) == [(20,)]
    assert totals(db, members[1].user_id) == (1, 1, 15)
    assert totals(db, person("late").user_id) == (0, 0, 0)


async def test_close_now_edits_the_post_with_the_distribution(fake, bot, service, clock):
    await setup_channel(fake)
    message = await post_now(fake)
    drill_id, question = await open_question(service)
    right = question.correct_letter
    wrong = next(x for x in question.letters if x != right)
    for name, letter in [("ann", right), ("ben", wrong), ("cy", right), ("dee", right)]:
        clock.advance(seconds=30)
        await fake.interact(click(f"drill:{drill_id}:answer:{letter}", message, person(name)))

    reply = await fake.interact(slash("close-now", ADMIN))
    assert text_of(reply) == "Closed the drill and posted the answer."
    (edit,) = await fake.wait_for("PATCH", rf"/channels/{CHANNEL_ID}/messages/{message['id']}")
    (embed,) = edit.body["embeds"]
    assert embed["author"]["name"] == messages.CLOSED_TITLE
    assert f"✅ **{right})" in embed["description"]
    answer, spread = embed["fields"]
    assert answer["value"].startswith(f"{messages.answer_line(question)}\n{question.explanation}")
    assert spread["name"] == "4 people answered; 3 got it right (75%)."
    bars = dict(re.findall(r"^([A-E])\s+[█░]{10} (\d+)", spread["value"], re.MULTILINE))
    assert bars == {x: str(3 if x == right else int(x == wrong)) for x in question.letters}
    assert "Fastest correct: ann (30.0s), cy (90.0s), dee (120.0s)" in spread["value"]
    *answers, report = buttons(edit.body)
    assert all(b["disabled"] for b in answers)
    assert report["custom_id"] == f"drill:{drill_id}:report" and not report.get("disabled")
    styles = {b["label"]: b["style"] for b in buttons(edit.body)}
    assert styles[right] == 3 and {styles[x] for x in question.letters if x != right} == {2}

    board = (await fake.wait_for("POST", POSTS, 2))[1]
    (board_embed,) = board.body["embeds"]
    assert board_embed["title"] == "Top 5 this week"
    assert board_embed["description"].splitlines()[0].endswith("pts (1/1)")


async def test_at_close_reveal_mode_only_locks_the_answer_in(fake, bot, service):
    await setup_channel(fake, reveal="at_close")
    message = await post_now(fake)
    drill_id, _ = await open_question(service)
    reply = await fake.interact(click(f"drill:{drill_id}:answer:B", message, person("eve")))
    assert text_of(reply) == "Locked in: B. The answer is revealed when the drill closes."


async def test_a_click_on_a_post_from_before_a_restart_is_recorded(
    fake, service, config, clock, tmp_path
):
    async with running_bot(service, config):
        await setup_channel(fake)
        message = await post_now(fake)
        drill_id, question = await open_question(service)
    async with open_service(config, clock) as restarted, running_bot(restarted, config):
        assert fake.gateway_sessions == 2
        payload = click(
            f"drill:{drill_id}:answer:{question.correct_letter}", message, person("kim")
        )
        reply = await fake.interact(payload)
        assert text_of(reply).startswith("Correct, +15 points!")
        result = await restarted.drill_result(drill_id)
    assert (result.answered, result.correct) == (1, 1)
    assert totals(tmp_path / "drill.db", person("kim").user_id) == (1, 1, 15)


async def test_a_form_opened_before_a_restart_is_still_accepted(fake, service, config, clock):
    async with running_bot(service, config):
        message = await post_typed(fake, service, clock, Kind.SHORT)
        form = await fake.interact(click(buttons(message)[0]["custom_id"], message, person("lou")))
    async with open_service(config, clock) as restarted, running_bot(restarted, config):
        submit = modal_submit(form["data"]["custom_id"], "lasso", person("lou"))
        assert text_of(await fake.interact(submit)).startswith("Correct, +")


async def post_typed(fake: FakeDiscord, service: QuizService, clock, kind: Kind) -> dict:
    """Post typed questions day after day until one of `kind` comes up (no repeats, so
    the three typed questions of the test bank come up within three days)."""
    await setup_channel(fake, topics="typed", days="daily")
    for _ in range(3):
        message = await post_now(fake)
        _, question = await open_question(service)
        if question.kind is kind:
            return message
        await fake.interact(slash("close-now", ADMIN))
        clock.advance(days=1)
    raise AssertionError(f"no {kind} question was posted")


async def test_a_short_question_is_answered_in_a_modal(fake, bot, service, clock):
    message = await post_typed(fake, service, clock, Kind.SHORT)
    drill_id, _ = await open_question(service)
    ((only,),) = [[b["custom_id"] for b in buttons(message)]]
    assert only == f"drill:{drill_id}:modal"
    assert buttons(message)[0]["label"] == messages.ANSWER_BUTTON

    # Two members open the form before either submits: their forms must not collide.
    opened = [await fake.interact(click(only, message, person(n))) for n in ("liv", "max")]
    assert all(reply["type"] == 9 for reply in opened)
    form = opened[0]["data"]
    assert form["custom_id"] == f"drill:{drill_id}:modal"
    ((text_input,),) = [row["components"] for row in form["components"]]
    assert text_input["style"] == 2 and text_input["max_length"] == commands.MAX_TEXT

    good = await fake.interact(modal_submit(only, "Lasso regression", person("liv")))
    bad = await fake.interact(modal_submit(only, "ridge", person("max")))
    assert text_of(good).startswith("Correct, +")
    assert text_of(bad).startswith("Not quite. The answer is lasso.")
    result = await service.drill_result(drill_id)
    assert (result.answered, result.correct) == (2, 1)


async def test_answer_command_answers_directly_or_opens_the_form(fake, bot, service):
    await setup_channel(fake)
    await post_now(fake)
    drill_id, question = await open_question(service)
    direct = await fake.interact(slash("answer", person("ola"), text=question.correct_letter))
    assert text_of(direct).startswith("Correct, +15 points!")
    form = await fake.interact(slash("answer", person("pia")))
    assert form["type"] == 9 and form["data"]["custom_id"] == f"drill:{drill_id}:modal"
    submitted = await fake.interact(modal_submit(f"drill:{drill_id}:modal", "a", person("pia")))
    assert text_of(submitted).startswith("Correct, +15 points!")


async def test_over_long_answers_get_the_console_message_and_change_nothing(fake, bot, service):
    await setup_channel(fake)
    await post_now(fake)
    drill_id, _ = await open_question(service)
    essay = "word " * 500
    with pytest.raises(UsageError) as console:
        commands.parse(f"/quiz answer {essay}")
    typed = await fake.interact(slash("answer", person("quinn"), text=essay))
    modal = await fake.interact(modal_submit(f"drill:{drill_id}:modal", essay, person("quinn")))
    assert text_of(typed) == text_of(modal) == console.value.message
    assert (await service.drill_result(drill_id)).answered == 0


# --- stats, leaderboards, groups, help -----------------------------------------------------------


async def test_stats_and_leaderboard_replies_carry_the_numbers_in_sqlite(
    fake, bot, service, clock, tmp_path
):
    db = tmp_path / "drill.db"
    await setup_channel(fake)
    message = await post_now(fake)
    drill_id, question = await open_question(service)
    wrong = next(x for x in question.letters if x != question.correct_letter)
    people = {"rae": question.correct_letter, "sol": wrong, "tam": question.correct_letter}
    for name, letter in people.items():
        clock.advance(minutes=20)  # rae earns a speed bonus of 3, tam one of 1
        await fake.interact(click(f"drill:{drill_id}:answer:{letter}", message, person(name)))

    rae = person("rae")
    answered, correct, points = totals(db, rae.user_id)
    embed = embed_of(await fake.interact(slash("stats", rae)))
    assert embed["title"] == "Stats for rae"
    assert f"Answered: {answered} · correct: {correct} (100%)" in embed["description"]
    assert f"Points: {points} · rank: #1 of 3" in embed["description"]
    assert f"testing: {correct}/{answered} (100%)" in embed["description"]

    other = embed_of(
        await fake.interact(
            slash("stats", rae, member=person("sol"), resolved=resolved_member(person("sol")))
        )
    )
    assert other["title"] == "Stats for sol"
    assert "Answered: 1 · correct: 0 (0%)" in other["description"]

    board = embed_of(await fake.interact(slash("leaderboard", person("sol"), period="all")))
    assert board["title"] == "Leaderboard: all time"
    expected = sorted(
        ((totals(db, person(n).user_id)[2], n) for n in people), key=lambda row: -row[0]
    )
    lines = board["description"].splitlines()
    assert lines[0] == f"1. rae: {expected[0][0]} pts (1/1)"
    assert lines[1] == f"2. tam: {expected[1][0]} pts (1/1)"
    assert lines[2] == "3. sol: 0 pts (0/1)"


async def test_stats_lists_topics_weakest_first(fake, bot, service, clock):
    await setup_channel(fake)
    message = await post_now(fake)
    drill_id, question = await open_question(service)
    uma = person("uma")
    await fake.interact(click(f"drill:{drill_id}:answer:{question.correct_letter}", message, uma))
    await fake.interact(slash("close-now", ADMIN))
    clock.advance(days=1)
    typed = await post_typed(fake, service, clock, Kind.SHORT)
    typed_id, _ = await open_question(service)
    await fake.interact(modal_submit(buttons(typed)[0]["custom_id"], "ridge", uma))
    assert typed_id != drill_id
    embed = embed_of(await fake.interact(slash("stats", uma)))
    lines = embed["description"].splitlines()
    by_topic = lines[lines.index("By topic, weakest first:") + 1 :]
    assert by_topic == ["  typed: 0/1 (0%)", "  testing: 1/1 (100%)"]


async def test_study_groups_from_discord(fake, bot):
    vic = person("vic")
    assert text_of(await fake.interact(slash("group create", vic, name="nlp-club"))) == (
        "Created the group nlp-club and added you to it."
    )
    assert text_of(await fake.interact(slash("group join", person("wes"), name="nlp-club"))) == (
        "You joined nlp-club."
    )
    listing = text_of(await fake.interact(slash("group list", vic)))
    assert "nlp-club: 2 members (you're in it)" in listing
    bad = text_of(await fake.interact(slash("group join", vic, name="no spaces")))
    assert bad == "Group names are 1-32 letters, digits, - or _, starting with a letter or digit."
    assert text_of(await fake.interact(slash("group leave", vic, name="nlp-club"))) == (
        "You left nlp-club."
    )
    board = embed_of(await fake.interact(slash("leaderboard", vic, group="nlp-club")))
    assert board["title"] == "Leaderboard: this week · group nlp-club"


async def test_help_and_topics(fake, bot):
    assert text_of(await fake.interact(slash("help", person("xia")))) == messages.USAGE
    topics = text_of(await fake.interact(slash("topics", person("xia"))))
    assert "testing: 3 questions" in topics and "typed: 3 questions" in topics


async def test_timezone_and_topic_options_autocomplete(fake, bot):
    zones = await fake.interact(slash("setup", ADMIN, focused="tz", tz="berl"))
    assert zones["type"] == 8
    assert zones["data"]["choices"][0] == {"name": "Europe/Berlin", "value": "Europe/Berlin"}
    topics = await fake.interact(
        slash("setup", ADMIN, focused="topics", time="09:00", topics="testing,ty")
    )
    assert topics["data"]["choices"] == [{"name": "testing,typed", "value": "testing,typed"}]
    every = await fake.interact(slash("setup", ADMIN, focused="tz", tz=""))
    assert len(every["data"]["choices"]) == 25


# --- the plumbing: deferral, failures, sync, start-up ---------------------------------------


async def test_slow_work_is_deferred_then_answered_in_a_follow_up(fake, service, config):
    async with running_bot(service, config, reply_budget=0.05):
        payload = slash("stats", person("yan"))
        async with service.repo.db.transaction():  # the database is busy for a while
            await fake.dispatch("INTERACTION_CREATE", payload)
            reply = await fake.reply_to(payload)
        followup = await fake.followup_to(payload)
    assert reply == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert followup["embeds"][0]["title"] == "Stats for yan"
    assert followup["flags"] == EPHEMERAL


@pytest.mark.allow_error_logs
async def test_a_failing_handler_logs_with_context_and_apologises(
    fake, bot, service, tmp_path, caplog
):
    await setup_channel(fake)
    sql(tmp_path / "drill.db", "ALTER TABLE members RENAME TO members_gone")
    who = person("zed")
    reply = await fake.interact(slash("stats", who))
    assert text_of(reply) == messages.SOMETHING_WENT_WRONG
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.name == "bot.discord_adapter.replies"
    assert f"/quiz stats failed for user {who.user_id} in guild {GUILD_ID}" in record.getMessage()
    assert record.exc_info is not None


@pytest.mark.allow_error_logs
async def test_a_command_discord_still_shows_after_an_update_gets_a_private_reply(
    fake, bot, caplog
):
    reply = await fake.interact(slash("retired-command", person("abe")))
    assert text_of(reply) == messages.SOMETHING_WENT_WRONG
    assert any(r.name == "bot.discord_adapter.commands" for r in caplog.records)


async def test_commands_sync_once_and_again_only_when_the_tree_changes(
    fake, service, config, tmp_path
):
    global_sync = rf"/applications/{APP_ID}/commands"
    async with running_bot(service, config):
        pass
    (sync,) = fake.find("PUT", global_sync)
    (quiz,) = sync.body
    assert quiz["name"] == "quiz" and quiz["contexts"] == [0] and not quiz["dm_permission"]
    names = {option["name"] for option in quiz["options"]}
    assert names == {
        *("help", "topics", "stats", "leaderboard", "answer", "group", "setup", "remind"),
        *("post-now", "close-now", "pause", "resume", "skip", "plan"),
        *("export", "forget-me", "forget", "practice", "goal"),
        *("report", "reports", "resolve-report"),
    }
    stored = (tmp_path / HASH_FILE).read_text()

    async with running_bot(service, config):
        pass
    assert len(fake.find("PUT", global_sync)) == 1

    (tmp_path / HASH_FILE).write_text("a tree from an older release\n")
    async with running_bot(service, config):
        pass
    assert len(fake.find("PUT", global_sync)) == 2
    assert (tmp_path / HASH_FILE).read_text() == stored


async def test_a_development_guild_gets_the_commands_instantly(fake, service, config):
    dev = config.__class__(**{**config.__dict__, "discord_guild_id": GUILD_ID})
    async with running_bot(service, dev):
        pass
    assert fake.find("PUT", rf"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    assert not fake.find("PUT", rf"/applications/{APP_ID}/commands")


async def test_the_command_payload_fits_discords_limits(fake, bot):
    (sync,) = fake.find("PUT", rf"/applications/{APP_ID}/commands")

    def walk(options: list[dict[str, Any]]) -> None:
        assert len(options) <= 25
        for option in options:
            assert 1 <= len(option["description"]) <= 100, option
            assert len(option.get("choices", [])) <= 25
            assert all(len(c["name"]) <= 100 for c in option.get("choices", []))
            walk(option.get("options", []))

    for command in sync.body:
        assert len(command["description"]) <= 100
        walk(command["options"])
    (quiz,) = sync.body
    setup = next(o for o in quiz["options"] if o["name"] == "setup")
    auto = {o["name"] for o in setup["options"] if o.get("autocomplete")}
    assert auto == {"tz", "topics"}


async def test_run_discord_connects_and_stops_when_cancelled(fake, service, config):
    live = config.__class__(**{**config.__dict__, "discord_token": "fake-token"})
    task = asyncio.create_task(run_discord(service, live))
    await fake.connected()
    assert fake.find("PUT", rf"/applications/{APP_ID}/commands")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.find("GET", "/users/@me")


async def test_a_whole_day_through_the_scheduler_jobs(fake, bot, service, clock, tmp_path):
    """09:00 Berlin the post job posts, members click through the day, the 17:00 close
    job reveals and posts the board, and /quiz stats shows what SQLite holds."""
    await setup_channel(fake, time="09:00", close="17:00")
    scheduler = DrillScheduler(service)
    await scheduler.tick()
    await service.delivery.drain()
    (post,) = await fake.wait_for("POST", POSTS)
    message = post.response
    drill_id, question = await open_question(service)
    for minutes, name in [(2, "ari"), (45, "bea"), (300, "cal")]:
        clock.advance(minutes=minutes)
        payload = click(f"drill:{drill_id}:answer:{question.correct_letter}", message, person(name))
        assert text_of(await fake.interact(payload)).startswith("Correct, +")

    clock.set(clock.now().replace(hour=16, minute=0, second=1))  # 17:00:01 in Berlin
    await scheduler.tick()
    await service.delivery.drain()
    (edit,) = await fake.wait_for("PATCH", EDITS)
    assert (
        edit.body["embeds"][0]["fields"][1]["name"] == "3 people answered; 3 got it right (100%)."
    )
    board = (await fake.wait_for("POST", POSTS, 2))[1].body["embeds"][0]
    assert board["description"].splitlines()[0] == "1. ari: 15 pts (1/1)"

    stats = embed_of(await fake.interact(slash("stats", person("bea"))))
    answered, correct, points = totals(tmp_path / "drill.db", person("bea").user_id)
    assert (answered, correct, points) == (1, 1, 11)  # 10 + 1 for answering within 2 hours
    assert f"Points: {points} · rank: #2 of 3" in stats["description"]


@pytest.mark.parametrize("url", ["sqlite://:memory:", "postgresql://drill@db.example/drill"])
async def test_the_sync_hash_lives_in_the_data_dir_whatever_the_database_url(
    fake, service, config, tmp_path, url
):
    state = tmp_path / "state"
    elsewhere = replace(config, database_url=url, data_dir=state)
    global_sync = rf"/applications/{APP_ID}/commands"
    async with running_bot(service, elsewhere):
        pass
    async with running_bot(service, elsewhere):
        pass
    assert len(fake.find("PUT", global_sync)) == 1
    assert (state / HASH_FILE).is_file()


# --- a select-all (multi) question: a select menu taking several letters ------------------------


def answers_for(letters: str, right: str) -> dict[str, list[str]]:
    """Members and their picks: one exactly right, one partly right, one with a wrong pick."""
    wrong = next(x for x in letters if x not in right)
    return {"ann": list(right), "ben": [right[0]], "cy": [right[0], wrong]}


async def test_a_multi_question_is_posted_with_a_select_menu_taking_several_letters(
    fake, bot, service
):
    await setup_channel(fake, topics="select")
    message = await post_now(fake)
    drill_id, question = await open_question(service)
    (menu,) = selects(message)
    assert menu["custom_id"] == f"drill:{drill_id}:pick"
    assert (menu["min_values"], menu["max_values"]) == (1, len(question.letters))
    assert [o["value"] for o in menu["options"]] == list(question.letters)
    assert [o["label"] for o in menu["options"]] == messages.choice_lines(question)
    (embed,) = message["embeds"]
    assert embed["description"].endswith(messages.answer_hint(question))


async def test_multi_answers_get_full_partial_or_no_credit_once_each_and_the_reveal_counts_choices(
    fake, bot, service, tmp_path
):
    await setup_channel(fake, topics="select")
    message = await post_now(fake)
    drill_id, question = await open_question(service)
    right = question.correct_letters
    picks = answers_for(question.letters, right)
    custom_id = f"drill:{drill_id}:pick"
    replies = {
        name: text_of(await fake.interact(pick(custom_id, letters, message, person(name))))
        for name, letters in picks.items()
    }
    assert replies["ann"].startswith("Correct, +")
    assert replies["ben"].startswith("Partly right, +")
    assert "You missed: " in replies["ben"]
    assert replies["cy"].startswith(f"Not quite. The answer is {messages.answer_key(question)}.")

    again = await fake.interact(pick(custom_id, [right[0]], message, person("ann")))
    assert text_of(again) == messages.already_answered(", ".join(right))

    text_of(await fake.interact(slash("close-now", ADMIN)))
    (edit,) = await fake.wait_for("PATCH", rf"/channels/{CHANNEL_ID}/messages/{message['id']}")
    (embed,) = edit.body["embeds"]
    for letter in right:
        assert f"✅ **{letter})" in embed["description"]
    answer, spread = embed["fields"]
    assert answer["value"].startswith(messages.answer_line(question))
    assert spread["name"] == "3 people answered; 1 got it right (33%)."
    bars = dict(re.findall(r"^([A-F])\s+[█░]{10} (\d+)", spread["value"], re.MULTILINE))
    expected = {x: sum(x in letters for letters in picks.values()) for x in question.letters}
    assert bars == {x: str(n) for x, n in expected.items()}
    (menu,) = selects(edit.body)
    assert menu["disabled"] is True

    db = tmp_path / "drill.db"
    stored = sql(db, "SELECT normalized FROM attempts WHERE drill_id = ? ORDER BY id", drill_id)
    assert stored == [(right,), (right[0],), ("".join(sorted(picks["cy"])),)]  # sorted letters
    base = {"easy": 10, "medium": 20, "hard": 30}[question.difficulty.value]
    assert totals(db, person("ann").user_id) == (1, 1, base + 5)
    assert totals(db, person("ben").user_id) == (1, 0, base // 2)
    assert totals(db, person("cy").user_id) == (1, 0, 0)
    stats = embed_of(await fake.interact(slash("stats", person("ben"))))
    assert "Answered: 1 · correct: 0 (0%)" in stats["description"]
    assert f"Points: {base // 2} · " in stats["description"]


async def test_a_multi_question_takes_typed_letters_and_then_refuses_a_menu_pick(
    fake, bot, service
):
    await setup_channel(fake, topics="select")
    message = await post_now(fake)
    drill_id, question = await open_question(service)
    right = question.correct_letters
    typed = ", ".join(reversed(right)).lower()  # any order, any case, with separators
    reply = text_of(await fake.interact(slash("answer", person("dee"), text=typed)))
    assert reply.startswith("Correct, +")

    menu = await fake.interact(pick(f"drill:{drill_id}:pick", [right[0]], message, person("dee")))
    assert text_of(menu) == messages.already_answered(", ".join(right))
    refused = text_of(await fake.interact(slash("answer", person("eve"), text="A Z")))
    assert refused == messages.pick_letters_hint(question.letters)
    result = await service.drill_result(drill_id)
    assert (result.answered, result.correct) == (1, 1)  # neither the repeat nor "A Z" counts


async def test_a_pick_on_a_multi_post_from_before_a_restart_is_recorded(
    fake, service, config, clock, tmp_path
):
    async with running_bot(service, config):
        await setup_channel(fake, topics="select")
        message = await post_now(fake)
        drill_id, question = await open_question(service)
    async with open_service(config, clock) as restarted, running_bot(restarted, config):
        payload = pick(
            f"drill:{drill_id}:pick", list(question.correct_letters), message, person("kim")
        )
        assert text_of(await fake.interact(payload)).startswith("Correct, +")
        result = await restarted.drill_result(drill_id)
    assert (result.answered, result.correct) == (1, 1)
    assert totals(tmp_path / "drill.db", person("kim").user_id)[:2] == (1, 1)


async def test_a_reveal_without_a_post_to_edit_is_posted_as_a_message(fake, bot, service, clock):
    """A post given up while it may have been out leaves the drill open without an id:
    its reveal still reaches the channel, as a new message."""
    await setup_channel(fake)
    question = service.bank.by_topic("testing")[0]
    now = clock.now()
    claim = await service.repo.claim_post(CHANNEL, now.date(), question.id, now, None)
    [row] = await service.claim_deliveries(10)  # the drill opens: its post may be out
    await service.give_up_delivery(row, "gave up", unsure=True, attended=False)
    await service.close_drill(claim.drill.id)
    reveal = (await fake.wait_for("POST", POSTS))[0].body["embeds"][0]
    summary = messages.reveal_summary(await service.drill_result(claim.drill.id))
    assert summary in [field["name"] for field in reveal["fields"]]
    assert not fake.find("PATCH", EDITS)


# --- reminders -----------------------------------------------------------------------------------


async def test_a_reminder_is_a_dm_whose_buttons_answer_the_drill(
    fake, service, config, clock, tmp_path
):
    kim, lee = person("kim"), person("lee")
    async with running_bot(service, config):
        await setup_channel(fake, close="17:00")
        for who in (kim, lee):
            reply = await fake.interact(slash("remind", who, switch="on"))
            assert text_of(reply) == messages.REMINDER_ON
        message = await post_now(fake)
        drill_id, question = await open_question(service)
        clock.set(datetime(2025, 1, 15, 15, 0, tzinfo=UTC))  # 16:00 in Berlin
        await service.fire_due(timedelta(hours=12))
        await dispatcher_of(service).drain()

        opened = fake.find("POST", "/users/@me/channels")
        recipients = {str(call.body["recipient_id"]): call.response["id"] for call in opened}
        assert sorted(recipients) == sorted([kim.user_id, lee.user_id])
        dm_id = recipients[kim.user_id]
        (reminder,) = fake.channel_messages(dm_id)
        assert reminder["content"] == (
            f"Reminder: today's question in <#{CHANNEL_ID}> closes at 17:00 Europe/Berlin."
            " Answer here:"
        )
        assert button_ids(reminder) == button_ids(message)
        right = f"drill:{drill_id}:answer:{question.correct_letter}"
        reply = await fake.interact(dm_click(right, reminder, kim, dm_id))
        assert text_of(reply).startswith("Correct, +")
        again = await fake.interact(dm_click(right, reminder, kim, dm_id))
        assert text_of(again).startswith("You've already answered")
        stranger = await fake.interact(dm_click(right, reminder, person("max"), dm_id))
        assert text_of(stranger) == messages.OTHER_WORKSPACE
    assert totals(tmp_path / "drill.db", kim.user_id)[:2] == (1, 1)
    assert totals(tmp_path / "drill.db", person("max").user_id) == (0, 0, 0)
