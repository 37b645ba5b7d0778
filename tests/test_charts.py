"""The progress chart with /quiz stats: a PNG of the expected size on every platform,
points per week from the aggregates, and the text stats whatever happens to the image."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import charts
from bot.core import commands, messages
from bot.core.models import ChannelRef, MemberRef, MemberStats, TopicStat, WeekPoints
from bot.core.service import Invocation, QuizService
from bot.slack_adapter.app import create_app
from bot.slack_adapter.blocks import fallback
from tests.conftest import member
from tests.discord_fakes import person, running_bot, slash
from tests.slack_fakes import ADMIN as SLACK_ADMIN
from tests.slack_fakes import SECRET, TEAM, command_body, dispatch, signed_headers

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DISCORD_ADMIN = person("ada", admin=True)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def sample(**changes: Any) -> MemberStats:
    stats = MemberStats(
        member=MemberRef("test", "W1", "U-ann", "ann"),
        answered=9,
        correct=5,
        points=95,
        rank=1,
        ranked_members=2,
        current_streak=3,
        best_streak=3,
        topics=(TopicStat("statistics", 4, 1), TopicStat("nlp", 5, 4)),
        weeks=tuple(WeekPoints(f"2025-W{n:02d}", 10 * n) for n in range(1, 9)),
    )
    return replace(stats, **changes)


def test_the_chart_is_a_png_of_the_expected_size():
    assert png_size(charts.progress_png(sample())) == (charts.WIDTH, charts.HEIGHT)


def test_a_member_with_no_answers_still_gets_a_chart():
    empty = sample(answered=0, correct=0, points=0, topics=(), weeks=())
    assert png_size(charts.progress_png(empty)) == (charts.WIDTH, charts.HEIGHT)


@pytest.mark.allow_error_logs
async def test_a_chart_that_cannot_be_drawn_is_logged_and_left_out(monkeypatch, caplog):
    def broken(stats: MemberStats) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setattr(charts, "progress_png", broken)
    assert await charts.progress_chart(sample()) is None
    assert "could not draw the progress chart for U-ann" in caplog.text


async def setup(service: QuizService, admin: Invocation) -> None:
    await service.execute(commands.parse("/quiz setup tz:Europe/Berlin topics:testing"), admin)


async def test_stats_carry_the_points_of_the_last_eight_weeks(service, admin, clock, publisher):
    await setup(service, admin)
    alice = member("alice")
    for day in (datetime(2025, 1, 6, 8, tzinfo=UTC), datetime(2025, 1, 15, 8, tzinfo=UTC)):
        clock.set(day)
        drill = await service.post_daily(admin.channel, forced=True)
        await service.submit_answer(alice, drill.id, publisher.posts[-1].question.correct_letter)
        await service.close_drill(drill.id)

    stats = await service.member_stats(alice, admin.channel)

    keys = [week.week_key for week in stats.weeks]
    assert keys == [f"2024-W{n}" for n in range(48, 53)] + [f"2025-W0{n}" for n in (1, 2, 3)]
    by_week = {week.week_key: week.points for week in stats.weeks}
    assert by_week["2025-W02"] > 0 and by_week["2025-W03"] > 0
    assert sum(by_week.values()) == stats.points


# --- on each platform ------------------------------------------------------------------------


async def test_discord_stats_come_with_the_chart_attached_to_the_embed(
    service, config, discord_fake
):
    async with running_bot(service, config):
        await discord_fake.interact(slash("setup", DISCORD_ADMIN, tz="Europe/Berlin"))
        reply = await discord_fake.interact(slash("stats", DISCORD_ADMIN))
    ((filename, data),) = reply["_files"].items()
    assert filename == charts.CHART_FILENAME
    assert png_size(data) == (charts.WIDTH, charts.HEIGHT)
    (embed,) = reply["data"]["embeds"]
    assert embed["image"]["url"] == f"attachment://{charts.CHART_FILENAME}"
    assert embed["title"] == f"Stats for {DISCORD_ADMIN.name}"


@pytest.fixture
def slack(service, config, fake):
    slack_config = replace(
        config, slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=fake.api_url
    )
    return create_app(service, slack_config, process_before_response=True)


async def slack_command(app, fake, user: str, text: str, key: str) -> str:
    body = command_body(text, user=user, response_url=fake.response_url(key))
    response = await dispatch(app, body, signed_headers(body))
    assert response.status == 200
    [reply] = fake.responses(key)
    return reply.args["text"]


async def test_slack_stats_upload_the_chart_to_the_members_dm(slack, fake, service):
    await slack_command(slack, fake, SLACK_ADMIN, "setup tz:Europe/Berlin", "setup")
    text = await slack_command(slack, fake, "U01", "stats", "stats")

    assert text.startswith(fallback("Stats for"))
    [opened] = fake.calls_to("conversations.open")
    assert opened.args["users"] == "U01"
    [done] = fake.calls_to("files.completeUploadExternal")
    assert done.args["channel_id"] == "DU01"
    [(_, data)] = fake.uploads.items()
    assert png_size(data) == (charts.WIDTH, charts.HEIGHT)


async def test_slack_stats_still_answer_when_the_chart_cannot_be_uploaded(slack, fake, service):
    await slack_command(slack, fake, SLACK_ADMIN, "setup tz:Europe/Berlin", "setup")
    fake.fail["files.getUploadURLExternal"] = "missing_scope"

    text = await slack_command(slack, fake, "U01", "stats", "stats")

    channel = ChannelRef("slack", TEAM, "C1")
    stats = await service.member_stats(MemberRef("slack", TEAM, "U01", "u01"), channel)
    assert text == fallback(messages.stats_text(stats))
    assert fake.calls_to("files.completeUploadExternal") == []
