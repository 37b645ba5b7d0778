"""The 4-week study plan: the grammar, the plan week of a day, the daily pick that follows
it, `/quiz plan`, and the low-bank warning, through the service, the console and Discord.

The test bank (tests/bank) has 4 questions in week 1 (testing 2, typed 2), 2 in week 2
(testing 1, typed 1), and 1 each in weeks 3 and 4 (select).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.app import open_service
from bot.config import Config, ConfigError
from bot.core import commands, messages
from bot.core.errors import UsageError
from bot.core.models import (
    ChannelRef,
    Difficulty,
    Kind,
    LowBank,
    PlanPosition,
    Question,
    StudyPlan,
)
from bot.core.picking import LOW_BANK, next_plan_week, pick_question, plan_position
from bot.core.service import Invocation, QuizService
from bot.scheduler import DrillScheduler
from bot.slack_adapter.app import create_app
from bot.slack_adapter.blocks import fallback
from bot.storage.repository import notice_key
from tests.conftest import db_rows, dispatcher_of, member
from tests.discord_fakes import CHANNEL_ID, GUILD_ID, FakeDiscord, person, running_bot, slash
from tests.fakes import FakeClock, RecordingPublisher
from tests.slack_fakes import ADMIN as SLACK_ADMIN
from tests.slack_fakes import SECRET, FakeSlack
from tests.test_console import run_console
from tests.test_slack_app import Workspace

pytestmark = pytest.mark.every_backend

MONDAY = date(2025, 1, 13)  # the clock fixture's Wednesday 2025-01-15 is day 3 of its week


@pytest.fixture
def config(config):
    """The warning on, at the shipped threshold (conftest turns it off for other tests)."""
    return replace(config, low_bank_warning=LOW_BANK)


async def setup(service: QuizService, admin: Invocation, text: str) -> str:
    return (await service.execute(commands.parse(f"/quiz setup {text}"), admin)).text


async def post_on(service: QuizService, admin: Invocation, clock: FakeClock, day: date) -> Question:
    """Post-now on `day` at 10:00 UTC; the question the channel got."""
    clock.set(datetime.combine(day, time(10, 0), tzinfo=UTC))
    drill = await service.post_daily(admin.channel, forced=True)
    return service.question(drill.question_id)


async def plan_reply(service: QuizService, channel_member: Invocation) -> str:
    return (await service.execute(commands.parse("/quiz plan"), channel_member)).text


# --- the grammar -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("setup plan:4-week", commands.Setup(plan=StudyPlan.REPEAT)),
        ("setup plan:4-Week-Once", commands.Setup(plan=StudyPlan.ONCE)),
        ("setup plan:none", commands.Setup(plan=StudyPlan.NONE)),
        (
            "setup plan:4-week start:2025-01-13 topics:testing",
            commands.Setup(topics=("testing",), plan=StudyPlan.REPEAT, start=MONDAY),
        ),
        ("setup start:2024-02-29", commands.Setup(start=date(2024, 2, 29))),
        ("plan", commands.ShowPlan()),
    ],
)
def test_the_grammar_reads_plan_options_and_the_plan_command(text, expected):
    assert commands.parse(f"/quiz {text}") == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("setup plan:weekly", messages.PLAN_RULE),
        ("setup plan:4-week plan:none", messages.given_twice("plan")),
        ("setup start:2025-13-01", messages.not_a_start_date("2025-13-01")),
        ("setup start:2025-02-29", messages.not_a_start_date("2025-02-29")),
        ("setup start:13/01/2025", messages.not_a_start_date("13/01/2025")),
        ("setup start:2025-1-13", messages.not_a_start_date("2025-1-13")),
        ("setup plan:none start:2025-01-13", messages.START_WITHOUT_PLAN),
        ("plan week", messages.takes_no_arguments("plan")),
    ],
)
def test_bad_plan_options_are_refused_with_the_reason(text, problem):
    with pytest.raises(UsageError) as caught:
        commands.parse(f"/quiz {text}")
    assert caught.value.message.split("\n")[0] == problem


# --- the plan week of a day ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "offset", "expected"),
    [
        (StudyPlan.REPEAT, 0, PlanPosition(1, 1, 1)),
        (StudyPlan.REPEAT, 6, PlanPosition(1, 7, 1)),
        (StudyPlan.REPEAT, 7, PlanPosition(2, 1, 1)),
        (StudyPlan.REPEAT, 27, PlanPosition(4, 7, 1)),
        (StudyPlan.REPEAT, 28, PlanPosition(1, 1, 2)),  # wraps around to week 1
        (StudyPlan.REPEAT, 64, PlanPosition(2, 2, 3)),
        (StudyPlan.ONCE, 27, PlanPosition(4, 7, 1)),
        (StudyPlan.ONCE, 28, PlanPosition(None, 1, 1, finished=True)),
        (StudyPlan.ONCE, -1, PlanPosition(None, 0, 0, upcoming=True)),
        (StudyPlan.REPEAT, -3, PlanPosition(None, 0, 0, upcoming=True)),
    ],
)
def test_the_plan_week_counts_seven_days_from_the_start(plan, offset, expected):
    assert plan_position(plan, MONDAY, MONDAY + timedelta(days=offset)) == expected


def test_no_plan_has_no_position():
    assert plan_position(StudyPlan.NONE, MONDAY, MONDAY) is None
    assert plan_position(StudyPlan.REPEAT, None, MONDAY) is None


@pytest.mark.parametrize(
    ("plan", "offset", "expected"),
    [
        (StudyPlan.REPEAT, 2, (2, 7)),
        (StudyPlan.REPEAT, 27, (1, 28)),
        (StudyPlan.ONCE, 27, (None, 28)),  # the plan ends; all topics from day 28
        (StudyPlan.ONCE, 30, (None, None)),
        (StudyPlan.ONCE, -5, (1, 0)),  # not started: week 1 begins on the start date
    ],
)
def test_the_coming_plan_week_and_its_first_day(plan, offset, expected):
    week, begins = next_plan_week(plan, MONDAY, MONDAY + timedelta(days=offset))
    expected_week, expected_offset = expected
    assert week == expected_week
    assert begins == (None if expected_offset is None else MONDAY + timedelta(expected_offset))


# --- the pick -----------------------------------------------------------------------------------


def question(qid: str, week: int | None, topic: str = "t") -> Question:
    return Question(qid, topic, Kind.CHOICE, Difficulty.EASY, "?", ".", "test", week=week)


POOL = [question(f"w{week}-{n}", week) for week in (1, 2, 3, 4) for n in range(5)]


def test_the_pick_takes_the_plan_weeks_questions_while_it_has_unasked_ones():
    asked = ["w2-0", "w2-1"]
    picks = {pick_question(POOL, asked, f"seed-{n}", week=2).id for n in range(40)}
    assert picks == {"w2-2", "w2-3", "w2-4"}


def test_a_used_up_plan_week_falls_back_to_other_weeks_unasked_questions_not_repeats():
    asked = [f"w3-{n}" for n in range(5)] + ["w1-0"]
    picks = {pick_question(POOL, asked, f"seed-{n}", week=3).id for n in range(60)}
    assert picks and not picks & set(asked)
    assert {q.split("-")[0] for q in picks} == {"w1", "w2", "w4"}


def test_without_a_plan_week_every_week_is_picked():
    picks = {pick_question(POOL, [], f"seed-{n}").id.split("-")[0] for n in range(60)}
    assert picks == {"w1", "w2", "w3", "w4"}


def test_once_the_whole_pool_is_asked_the_plan_week_comes_first_again():
    asked = [q.id for q in POOL]
    picks = {pick_question(POOL, asked, f"seed-{n}", week=4).id for n in range(40)}
    assert picks and all(p.startswith("w4-") for p in picks)


async def test_daily_questions_follow_the_plan_weeks_and_wrap_around(service, admin, clock):
    await setup(service, admin, f"plan:4-week start:{MONDAY} days:daily close:none")
    weeks = [
        (await post_on(service, admin, clock, MONDAY + timedelta(days=offset))).week
        for offset in (2, 7, 14, 21, 28, 35)
    ]
    assert weeks == [1, 2, 3, 4, 1, 2]


async def test_a_once_plan_ends_after_week_4(service, admin, clock):
    await setup(service, admin, f"plan:4-week-once start:{MONDAY} days:daily close:none")
    weeks = [
        (await post_on(service, admin, clock, MONDAY + timedelta(days=offset))).week
        for offset in (2, 7, 14, 21)
    ]
    assert weeks == [1, 2, 3, 4]
    await post_on(service, admin, clock, MONDAY + timedelta(days=28))
    status = await service.plan_status(admin.channel)
    assert status.position == PlanPosition(None, 1, 1, finished=True)
    assert messages.plan_text(status).split("\n")[1] == (
        "The 4 weeks are done: the daily question comes from all topics again."
    )


async def test_the_plan_week_within_the_topics_filter(service, admin, clock):
    await setup(service, admin, f"plan:4-week start:{MONDAY} topics:typed days:daily")
    day_one = await post_on(service, admin, clock, MONDAY + timedelta(days=7))
    day_two = await post_on(service, admin, clock, MONDAY + timedelta(days=8))
    assert (day_one.id, day_one.week) == ("testing-numeric-precision", 2)
    # Week 2 has one typed question: the next day falls back to week 1's unasked typed ones.
    assert day_two.topic == "typed" and day_two.week == 1


# --- /quiz setup plan: ----------------------------------------------------------------------


async def test_the_start_defaults_to_the_channels_local_today(service, admin):
    # 08:00 UTC on Wednesday 15 January is 23:00 on Tuesday the 14th in Anchorage.
    await setup(service, admin, "tz:America/Anchorage plan:4-week")
    settings = await service.repo.get_settings(admin.channel)
    assert (settings.plan, settings.plan_start) == (StudyPlan.REPEAT, date(2025, 1, 14))


async def test_start_alone_moves_the_start_of_the_channels_plan(service, admin):
    await setup(service, admin, "plan:4-week-once")
    await setup(service, admin, "start:2025-01-06")
    settings = await service.repo.get_settings(admin.channel)
    assert (settings.plan, settings.plan_start) == (StudyPlan.ONCE, date(2025, 1, 6))
    status = await service.plan_status(admin.channel)
    assert status.position == PlanPosition(2, 3, 1)


async def test_plan_none_clears_the_plan(service, admin):
    await setup(service, admin, f"plan:4-week-once start:{MONDAY}")
    reply = await setup(service, admin, "plan:none")
    settings = await service.repo.get_settings(admin.channel)
    assert (settings.plan, settings.plan_start) == (StudyPlan.NONE, None)
    assert "Study plan" not in reply


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("start:2025-02-01", messages.START_NEEDS_PLAN),
        ("plan:4-week start:2026-02-01", messages.start_out_of_range(date(2026, 2, 1), 365)),
        ("plan:4-week start:2023-12-31", messages.start_out_of_range(date(2023, 12, 31), 365)),
        ("plan:sometimes", messages.PLAN_RULE),
    ],
)
async def test_bad_plan_setups_change_nothing(service, admin, text, problem):
    await setup(service, admin, "time:08:15")
    before = await service.repo.get_settings(admin.channel)
    with pytest.raises(UsageError) as caught:
        await setup(service, admin, f"time:07:00 {text}")
    assert caught.value.message.split("\n")[0] == problem
    assert await service.repo.get_settings(admin.channel) == before


async def test_members_cannot_set_a_plan(service, admin):
    await setup(service, admin, "time:08:15")
    with pytest.raises(Exception, match=messages.ADMINS_ONLY):
        await service.execute(
            commands.parse("/quiz setup plan:4-week"), Invocation(member("bo"), admin.channel)
        )
    assert (await service.repo.get_settings(admin.channel)).plan is StudyPlan.NONE


# --- /quiz plan ---------------------------------------------------------------------------------


async def test_plan_without_a_plan_says_so(service, admin):
    assert await plan_reply(service, Invocation(member("bo"), admin.channel)) == messages.NO_PLAN
    await setup(service, admin, "time:08:15")
    assert await plan_reply(service, Invocation(member("bo"), admin.channel)) == messages.NO_PLAN


async def test_plan_shows_the_week_the_day_and_what_the_coming_week_covers(service, admin):
    await setup(service, admin, f"plan:4-week start:{MONDAY}")
    reply = await plan_reply(service, Invocation(member("bo"), admin.channel))
    assert reply == "\n".join(
        [
            "Study plan: 4-week (starts again after week 4), started Mon 13 Jan 2025.",
            "This channel is in week 1 of 4, day 3.",
            "This week covers: testing (2), typed (2).",
            "Next week (week 2, from Mon 20 Jan 2025) covers: testing (1), typed (1).",
            messages.low_bank_text(LowBank(4, 1, ())),
        ]
    )


async def test_plan_in_a_later_round_and_in_the_last_week_of_a_once_plan(service, admin, clock):
    await setup(service, admin, f"plan:4-week start:{MONDAY}")
    clock.set(datetime(2025, 2, 14, 12, 0, tzinfo=UTC))  # day 33: week 1 of round 2, day 5
    lines = (await plan_reply(service, admin)).split("\n")
    assert lines[1] == "This channel is in week 1 of 4 (round 2), day 5."
    assert lines[3] == "Next week (week 2, from Mon 17 Feb 2025) covers: testing (1), typed (1)."

    await setup(service, admin, f"plan:4-week-once start:{MONDAY}")
    clock.set(datetime(2025, 2, 9, 12, 0, tzinfo=UTC))  # day 27: the last day of week 4
    lines = (await plan_reply(service, admin)).split("\n")
    assert lines[1:4] == [
        "This channel is in week 4 of 4, day 7.",
        "This week covers: select (1).",
        "The plan ends on Mon 10 Feb 2025; then all topics come again.",
    ]


async def test_plan_before_the_start_says_when_it_begins(service, admin):
    await setup(service, admin, "plan:4-week start:2025-01-20 topics:select")
    lines = (await plan_reply(service, admin)).split("\n")
    assert lines[:3] == [
        "Study plan: 4-week (starts again after week 4), starts Mon 20 Jan 2025.",
        "Until then the daily question comes from all this channel's topics.",
        "Next week (week 1, from Mon 20 Jan 2025) covers: no questions in this channel's topics.",
    ]


# --- the low-bank warning --------------------------------------------------------------------


async def notice_rows(service: QuizService) -> list[tuple[str, str]]:
    rows = await db_rows(
        service.repo.db, "SELECT key, detail FROM outbox WHERE kind = 'notice' ORDER BY id"
    )
    return [(row[0], row[1]) for row in rows]


async def test_the_warning_comes_in_the_setup_reply_and_once_in_the_channel(
    service, admin, clock, publisher
):
    reply = await setup(service, admin, f"plan:4-week start:{MONDAY} days:daily close:none")
    assert reply.endswith(messages.low_bank_text(LowBank(4, 1, ())))

    await post_on(service, admin, clock, MONDAY + timedelta(days=2))
    await post_on(service, admin, clock, MONDAY + timedelta(days=3))
    await setup(service, admin, "time:08:00")  # a setup again does not re-arm it
    await post_on(service, admin, clock, MONDAY + timedelta(days=4))
    assert publisher.notices == [
        (admin.channel, messages.low_bank_text(LowBank(3, 1, ()), after_today=True))
    ]
    # The channel saw it just before the question that left 3.
    assert [row[0] for row in await notice_rows(service)] == [notice_key(1, LowBank(3, 1, ()))]

    await post_on(service, admin, clock, MONDAY + timedelta(days=7))  # week 2: a new scope
    await post_on(service, admin, clock, MONDAY + timedelta(days=8))
    assert [text for _, text in publisher.notices] == [
        messages.low_bank_text(LowBank(3, 1, ()), after_today=True),
        messages.low_bank_text(LowBank(1, 2, ()), after_today=True),
    ]
    assert len(await notice_rows(service)) == 2


async def test_a_scheduled_post_sends_the_warning_just_before_the_question(
    service, admin, clock, publisher
):
    await setup(service, admin, "time:09:00 topics:select")
    clock.set(datetime(2025, 1, 15, 9, 0, 5, tzinfo=UTC))
    assert await DrillScheduler(service).tick() == 1
    await dispatcher_of(service).drain()
    rows = await db_rows(service.repo.db, "SELECT kind, state FROM outbox ORDER BY id")
    assert [tuple(row) for row in rows] == [("notice", "done"), ("post", "done")]
    assert publisher.notices == [
        (admin.channel, messages.low_bank_text(LowBank(1, None, ("select",)), after_today=True))
    ]
    assert len(publisher.posts) == 1


async def test_two_services_posting_at_once_queue_one_warning(config, clock, admin):
    publishers = [RecordingPublisher(), RecordingPublisher()]
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        for svc, platform in zip((one, two), publishers, strict=True):
            svc.register_publisher("test", platform)
        await setup(one, admin, "topics:select")
        await asyncio.gather(
            one.post_daily(admin.channel), two.post_daily(admin.channel), return_exceptions=True
        )
        rows = await notice_rows(one)
    assert [key for key, _ in rows] == [notice_key(1, LowBank(1, None, ("select",)))]
    assert LowBank.from_detail(rows[0][1]) == LowBank(1, None, ("select",))
    assert sum(len(p.notices) for p in publishers) == 1


async def test_a_pool_above_the_threshold_gives_no_warning(config, clock, admin):
    platform = RecordingPublisher()
    # The test bank's 8 questions are plenty against a threshold of 3.
    async with open_service(replace(config, low_bank_warning=3), clock) as service:
        service.register_publisher("test", platform)
        reply = await setup(service, admin, "days:daily")
        await post_on(service, admin, clock, MONDAY + timedelta(days=2))
        assert await notice_rows(service) == []
    assert "Heads up" not in reply and platform.notices == []


# --- end to end: the console and Discord -----------------------------------------------------


def test_the_plan_through_the_console(tmp_path):
    out = run_console(
        tmp_path,
        "/quiz plan\n"
        "/quiz setup plan:4-week topics:testing\n"
        "/quiz post-now\n"
        "/quiz post-now\n"
        "/quiz plan\n"
        "/quiz setup plan:fortnight\n",
    )
    assert f"[private to you] {messages.NO_PLAN}" in out
    assert "\nStudy plan: 4-week (starts again after week 4), week 1 from " in out
    assert messages.low_bank_text(LowBank(2, 1, ("testing",))) in out
    notice = messages.low_bank_text(LowBank(1, 1, ("testing",)), after_today=True)
    assert out.count(f"#drills · {notice}") == 1
    assert out.index(notice) < out.index("Daily question")
    assert "This channel is in week 1 of 4, day 1.\nThis week covers: testing (2)." in out
    assert f"[private to you] {messages.PLAN_RULE}" in out


DISCORD_ADMIN = person("ada", admin=True)
POSTS = rf"/channels/{CHANNEL_ID}/messages"


DEFERRED = 5  # Discord's DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE callback


def private(reply: dict) -> str:
    assert reply["type"] == 4 and reply["data"]["flags"] == 64, reply
    return reply["data"]["content"]


async def test_the_plan_through_discord(discord_fake: FakeDiscord, service, config, clock):
    async with running_bot(service, config):
        reply = await discord_fake.interact(
            slash("setup", DISCORD_ADMIN, plan="4-week", start="2025-01-13", topics="typed")
        )
        assert "Study plan: 4-week (starts again after week 4), week 1 from Mon 13 Jan 2025." in (
            private(reply)
        )
        bad = await discord_fake.interact(slash("setup", DISCORD_ADMIN, start="2025-31-01"))
        assert private(bad) == messages.not_a_start_date("2025-31-01")

        plan = private(await discord_fake.interact(slash("plan", person("bo"))))
        assert plan.split("\n")[1:4] == [
            "This channel is in week 1 of 4, day 3.",
            "This week covers: typed (2).",
            "Next week (week 2, from Mon 20 Jan 2025) covers: typed (1).",
        ]

        for day in range(2):
            clock.advance(days=day)
            command = slash("post-now", DISCORD_ADMIN)
            # Waiting for the delivery may outlast the reply budget: then it follows up.
            if (await discord_fake.interact(command))["type"] == DEFERRED:
                await discord_fake.followup_to(command)
        # The warning, the question, then the next day: its board and question.
        posts = await discord_fake.wait_for("POST", POSTS, 4)
    notice = messages.low_bank_text(LowBank(1, 1, ("typed",)), after_today=True)
    assert [call.body.get("content") for call in posts] == [notice, None, None, None]
    channel = ChannelRef("discord", GUILD_ID, CHANNEL_ID)
    assert (await service.repo.get_settings(channel)).plan is StudyPlan.REPEAT


@pytest.mark.usefixtures("no_slack_env")
async def test_the_plan_through_slack(fake: FakeSlack, service, config):
    slack_config = replace(
        config, slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=fake.api_url
    )
    workspace = Workspace(create_app(service, slack_config, process_before_response=True), fake)
    member_reply = await workspace.command("U02", "setup plan:4-week")
    assert member_reply.args["text"] == fallback(messages.ADMINS_ONLY)
    none = await workspace.command("U02", "plan")
    assert none.args["text"] == fallback(messages.NO_PLAN)

    reply = await workspace.command(SLACK_ADMIN, f"setup plan:4-week-once start:{MONDAY}")
    assert (
        fallback("Study plan: 4-week-once (all topics after week 4), week 1 from")
        in (reply.args["text"])
    )
    plan = await workspace.command("U02", "plan")
    assert fallback("This channel is in week 1 of 4, day 3.") in plan.args["text"]

    await workspace.command(SLACK_ADMIN, "post-now")
    await workspace.command(SLACK_ADMIN, "post-now")  # already posted: no second warning
    posts = [call.args["text"] for call in fake.calls_to("chat.postMessage")]
    notice = messages.low_bank_text(LowBank(3, 1, ()), after_today=True)
    assert posts[0] == fallback(notice) and posts.count(fallback(notice)) == 1
    assert len(posts) == 2  # the warning, then the question


@pytest.mark.parametrize(("text", "expected"), [("", LOW_BANK), ("0", 0), ("25", 25)])
def test_low_bank_warning_sets_the_threshold(text, expected):
    assert Config.from_env({"LOW_BANK_WARNING": text}).low_bank_warning == expected


@pytest.mark.parametrize("text", ["-1", "ten", "1.5"])
def test_a_bad_low_bank_warning_is_refused_naming_the_setting(text):
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"LOW_BANK_WARNING": text})
    assert str(caught.value) == messages.bad_setting("LOW_BANK_WARNING", text)
