"""QuizService over a real SQLite file with a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from bot.app import open_service
from bot.core import commands
from bot.core.errors import (
    AlreadyAnswered,
    AlreadyExists,
    DrillClosed,
    InvalidAnswer,
    NoOpenDrill,
    NotAllowed,
    NotFound,
    UsageError,
)
from bot.core.models import ChannelRef, DrillState, MemberRef, Period
from bot.core.service import Invocation, PublishFailed, QuizService
from tests.conftest import claim_todays_drill, member, open_drill_on
from tests.fakes import RecordingPublisher

pytestmark = pytest.mark.every_backend


async def setup_channel(service: QuizService, admin: Invocation, text: str = "") -> None:
    """Berlin time; choice questions only unless `text` sets other topics."""
    topics = "" if "topics:" in text else "topics:testing"
    await service.execute(commands.parse(f"/quiz setup tz:Europe/Berlin {topics} {text}"), admin)


async def post(service: QuizService, admin: Invocation) -> int:
    drill = await service.post_daily(admin.channel, forced=True)
    return drill.id


def correct_letter(publisher: RecordingPublisher) -> str:
    return publisher.posts[-1].question.correct_letter


def wrong_letter(publisher: RecordingPublisher) -> str:
    right = correct_letter(publisher)
    return next(letter for letter in "ABCD" if letter != right)


async def test_claiming_todays_post_twice_makes_one_drill_and_one_post_row(service, admin):
    await setup_channel(service, admin)
    first = await claim_todays_drill(service, admin.channel)
    again = await claim_todays_drill(service, admin.channel)
    assert again.id == first.id and again.question_id == first.question_id
    assert [row.key for row in await service.claim_deliveries(10)] == [f"post:{first.id}"]


async def test_post_now_posts_once_and_refuses_a_second_post(service, admin, publisher):
    await setup_channel(service, admin, "topics:testing")
    reply = await service.execute(commands.PostNow(), admin)
    assert "Posted" in reply.text
    with pytest.raises(AlreadyExists, match="already posted"):
        await service.execute(commands.PostNow(), admin)
    assert len(publisher.posts) == 1
    assert publisher.posts[0].question.topic == "testing"


async def test_two_services_on_one_database_post_one_drill(config, clock, admin):
    publishers = [RecordingPublisher(), RecordingPublisher()]
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        for svc, pub in zip((one, two), publishers, strict=True):
            svc.register_publisher("test", pub)
        await setup_channel(one, admin)
        results = await asyncio.gather(
            one.post_daily(admin.channel), two.post_daily(admin.channel), return_exceptions=True
        )
    posted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, AlreadyExists)]
    assert len(posted) == 1 and len(refused) == 1
    assert sum(len(p.posts) for p in publishers) == 1


@pytest.mark.allow_error_logs
async def test_a_failed_post_releases_the_claim_so_a_retry_posts(service, admin, publisher):
    await setup_channel(service, admin)
    publisher.fail_posts = 1
    with pytest.raises(PublishFailed, match="couldn't post"):
        await service.post_daily(admin.channel, forced=True)
    drill = await service.repo.latest_drill(admin.channel)
    assert drill.state is DrillState.PENDING
    retried = await service.post_daily(admin.channel, forced=True)
    assert retried.id == drill.id and retried.state is DrillState.OPEN
    assert len(publisher.posts) == 1


async def test_a_second_answer_is_refused_and_the_first_stands(service, admin, publisher):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    alice = member("alice")
    first = wrong_letter(publisher)
    await service.submit_answer(alice, drill_id, first)
    with pytest.raises(AlreadyAnswered, match=f"your answer {first} stands"):
        await service.submit_answer(alice, drill_id, correct_letter(publisher))
    stats = await service.member_stats(alice, admin.channel)
    assert (stats.answered, stats.correct, stats.points) == (1, 0, 0)


async def test_concurrent_double_click_counts_once(service, admin, publisher):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    bob = member("bob")
    letter = correct_letter(publisher)
    results = await asyncio.gather(
        *(service.submit_answer(bob, drill_id, letter) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, AlreadyAnswered) for r in results if isinstance(r, Exception))
    board = await service.leaderboard(bob, admin.channel, Period.ALL, None)
    assert [(e.display_name, e.answered) for e in board.entries] == [("bob", 1)]


async def test_correct_answer_scores_base_points_plus_speed_bonus(service, admin, clock, publisher):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    clock.advance(minutes=2)
    result = await service.submit_answer(member("alice"), drill_id, correct_letter(publisher))
    base = {"easy": 10, "medium": 20, "hard": 30}[publisher.posts[0].question.difficulty]
    assert result.attempt.grade.correct
    assert result.attempt.points == base + 5
    assert result.attempt.latency_ms == 120_000


async def test_close_gives_distribution_and_fastest_correct(service, admin, clock, publisher):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    right, wrong = correct_letter(publisher), wrong_letter(publisher)
    for seconds, name, letter in ((30, "ann", right), (10, "ben", right), (5, "cat", wrong)):
        clock.advance(seconds=seconds)
        await service.submit_answer(member(name), drill_id, letter)
    result = await service.close_now(admin.channel)
    counts = {row.label: row.count for row in result.distribution}
    assert counts[right] == 2 and counts[wrong] == 1 and sum(counts.values()) == 3
    assert [row.label for row in result.distribution if row.correct] == [right]
    assert (result.answered, result.correct) == (3, 2)
    assert [name for name, _ in result.fastest] == ["ann", "ben"]
    assert publisher.reveals[-1].drill.id == drill_id
    assert publisher.boards and publisher.boards[-1][2] == "Top 5 this week"


async def test_answers_after_close_are_refused(service, admin, publisher):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    await service.close_now(admin.channel)
    with pytest.raises(DrillClosed):
        await service.submit_answer(member("late"), drill_id, "A")
    with pytest.raises(NoOpenDrill):
        await service.answer_in_channel(member("late"), admin.channel, "A")
    assert await service.close_drill(drill_id) is None


async def test_answers_after_the_close_time_are_refused_before_the_close_job(service, admin, clock):
    await setup_channel(service, admin, "close:17:00")
    drill_id = await post(service, admin)
    clock.set(datetime(2025, 1, 15, 16, 0, 1, tzinfo=UTC))  # 17:00:01 in Berlin
    with pytest.raises(DrillClosed):
        await service.submit_answer(member("late"), drill_id, "A")


async def test_bad_answers_change_nothing(service, admin):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    alice = member("alice")
    with pytest.raises(InvalidAnswer):
        await service.submit_answer(alice, drill_id, "Z")
    with pytest.raises(UsageError, match="too long"):
        await service.submit_answer(alice, drill_id, "A" * 2001)
    stats = await service.member_stats(alice, admin.channel)
    assert stats.answered == 0


async def test_no_open_drill_and_unset_channel_are_explained(service, admin):
    with pytest.raises(NoOpenDrill, match="no open question"):
        await service.answer_in_channel(member("x"), admin.channel, "A")
    with pytest.raises(NotFound, match="isn't set up"):
        await service.post_daily(admin.channel, forced=True)


async def test_admin_commands_are_refused_for_members(service, channel):
    someone = Invocation(member("pat"), channel, is_admin=False)
    for command in ("setup tz:UTC", "post-now", "close-now", "pause", "resume", "skip"):
        with pytest.raises(NotAllowed):
            await service.execute(commands.parse(f"/quiz {command}"), someone)
    assert await service.repo.get_settings(channel) is None


async def test_setup_keeps_fields_not_given_and_rejects_unknown_topics(service, admin):
    await setup_channel(service, admin, "time:08:30 close:12:00 reveal:at_close")
    await service.execute(commands.parse("/quiz setup topics:testing"), admin)
    settings = await service.repo.get_settings(admin.channel)
    assert (settings.post_time, settings.close_time, settings.timezone) == (
        "08:30",
        "12:00",
        "Europe/Berlin",
    )
    assert settings.topics == ("testing",) and settings.reveal.value == "at_close"
    with pytest.raises(UsageError, match="Unknown topic"):
        await service.execute(commands.parse("/quiz setup topics:astrology"), admin)
    assert (await service.repo.get_settings(admin.channel)).topics == ("testing",)


async def test_at_close_reveal_locks_the_answer_in_without_the_key(service, admin, publisher):
    await setup_channel(service, admin, "reveal:at_close")
    await post(service, admin)
    reply = await service.execute(commands.Answer("b"), Invocation(member("al"), admin.channel))
    assert reply.text.startswith("Locked in: B")
    assert publisher.posts[0].question.explanation.strip() not in reply.text


async def test_leaderboard_weeks_follow_the_channel_time_zone(service, admin, clock, publisher):
    await setup_channel(service, admin)
    # Sunday 23:30 UTC is already Monday 00:30 in Berlin: a new ISO week there.
    clock.set(datetime(2025, 1, 19, 23, 30, tzinfo=UTC))
    drill_id = await post(service, admin)
    alice = member("alice")
    await service.submit_answer(alice, drill_id, correct_letter(publisher))
    board = await service.leaderboard(alice, admin.channel, Period.WEEK, None)
    assert board.period_key == "2025-W04"
    assert [e.user_id for e in board.entries] == ["U-alice"]
    utc_channel = ChannelRef("test", "W1", "elsewhere")
    utc_board = await service.leaderboard(alice, utc_channel, Period.WEEK, None)
    assert utc_board.period_key == "2025-W03" and utc_board.entries == ()


async def test_streaks_count_drill_days_across_a_dst_change(service, admin, clock, publisher):
    await setup_channel(service, admin, "days:daily")
    alice = member("alice")
    # Berlin moves to summer time on 2025-03-30; 09:00 local is 08:00 then 07:00 UTC.
    for day, hour in ((29, 8), (30, 7), (31, 7)):
        clock.set(datetime(2025, 3, day, hour, tzinfo=UTC))
        drill_id = await post(service, admin)
        result = await service.submit_answer(alice, drill_id, correct_letter(publisher))
        await service.close_drill(drill_id)
    assert result.streak == 3
    drills = [p.drill.local_date for p in publisher.posts]
    assert drills == [date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)]
    stats = await service.member_stats(alice, admin.channel)
    assert (stats.current_streak, stats.best_streak) == (3, 3)


async def test_a_missed_drill_breaks_the_streak(service, admin, clock, publisher):
    await setup_channel(service, admin, "days:daily")
    alice = member("alice")
    for day in (13, 14):
        clock.set(datetime(2025, 1, day, 8, tzinfo=UTC))
        drill_id = await post(service, admin)
        await service.submit_answer(alice, drill_id, "A")
        await service.close_drill(drill_id)
    clock.set(datetime(2025, 1, 15, 8, tzinfo=UTC))
    await post(service, admin)
    await service.close_now(admin.channel)
    stats = await service.member_stats(alice, admin.channel)
    assert (stats.current_streak, stats.best_streak) == (0, 2)


async def test_workspaces_never_see_each_other(service, clock, publisher):
    one = Invocation(member("ann", "W1"), ChannelRef("test", "W1", "C1"), is_admin=True)
    two = Invocation(member("ann", "W2"), ChannelRef("test", "W2", "C1"), is_admin=True)
    for inv in (one, two):
        await setup_channel(service, inv)
        await service.post_daily(inv.channel, forced=True)
    await service.execute(commands.Answer(correct_letter(publisher)), one)
    await service.execute(commands.parse("/quiz group create ml-crew"), one)
    stats_two = await service.member_stats(two.member, two.channel)
    assert (stats_two.answered, stats_two.points, stats_two.rank) == (0, 0, None)
    board_two = await service.leaderboard(two.member, two.channel, Period.ALL, None)
    assert board_two.entries == () and board_two.total_members == 0
    assert await service.repo.list_groups(two.member) == []
    with pytest.raises(NotFound):
        await service.member_stats(two.member, two.channel, "U-ann-elsewhere")
    assert await service.repo.find_member(two.channel, "ann") is None
    with pytest.raises(NotFound):
        drill = await service.repo.latest_drill(one.channel)
        await service.submit_answer(member("eve", "W2"), drill.id, "A")


async def test_a_member_of_another_platform_with_the_same_workspace_id_cannot_answer(
    service, admin, publisher
):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    stranger = MemberRef("discord", admin.channel.workspace_id, "U-eve", "eve")

    with pytest.raises(NotFound):
        await service.submit_answer(stranger, drill_id, correct_letter(publisher))

    assert await service.repo.answer_counts(drill_id) == ()


async def test_stats_show_topics_weakest_first_and_rank(service, admin, clock, publisher):
    await setup_channel(service, admin, "days:daily")
    alice, bob = member("alice"), member("bob")
    drill_id = await post(service, admin)
    await service.submit_answer(alice, drill_id, correct_letter(publisher))
    await service.submit_answer(bob, drill_id, wrong_letter(publisher))
    reply = await service.execute(commands.Stats("alice"), Invocation(bob, admin.channel))
    stats = reply.data
    assert stats.member.user_id == "U-alice"
    assert (stats.answered, stats.correct, stats.rank, stats.ranked_members) == (1, 1, 1, 2)
    own = await service.member_stats(bob, admin.channel)
    assert own.rank == 2 and own.accuracy == 0.0
    assert "Stats for alice" in reply.text and "weakest first" in reply.text


async def test_groups_create_join_leave_and_group_leaderboard(service, admin, publisher):
    await setup_channel(service, admin)
    ann, ben, cy = member("ann"), member("ben"), member("cy")
    run = lambda text, who: service.execute(commands.parse(text), Invocation(who, admin.channel))  # noqa: E731
    await run("/quiz group create nlp", ann)
    with pytest.raises(AlreadyExists):
        await run("/quiz group create NLP", ben)
    assert "joined" in (await run("/quiz group join NLP", ben)).text
    assert "already" in (await run("/quiz group join nlp", ben)).text
    drill_id = await post(service, admin)
    for who in (ann, ben, cy):
        await service.submit_answer(who, drill_id, correct_letter(publisher))
    board = await service.leaderboard(ann, admin.channel, Period.WEEK, "nlp")
    assert sorted(e.user_id for e in board.entries) == ["U-ann", "U-ben"]
    assert (await run("/quiz group leave nlp", ben)).text == "You left nlp."
    with pytest.raises(NotFound):
        await run("/quiz group leave nlp", ben)
    listing = await run("/quiz group list", ann)
    assert "nlp: 1 member (you're in it)" in listing.text
    with pytest.raises(NotFound, match="no group called"):
        await service.leaderboard(ann, admin.channel, Period.WEEK, "nope")


async def test_skip_pause_and_resume(service, admin, clock):
    await setup_channel(service, admin)
    reply = await service.execute(commands.Skip(), admin)
    # 09:00 Berlin on Wednesday 15 Jan is now: the next post is Thursday's.
    assert reply.text == "Skipping the post on Thu 16 Jan."
    clock.set(datetime(2025, 1, 16, 8, tzinfo=UTC))
    with pytest.raises(AlreadyExists, match="skipped"):
        await service.post_daily(admin.channel)
    await service.execute(commands.Pause(), admin)
    assert (await service.repo.get_settings(admin.channel)).paused
    await service.execute(commands.Resume(), admin)
    settings = await service.repo.get_settings(admin.channel)
    assert not settings.paused and settings.skip_date == date(2025, 1, 16)


async def test_open_answers_earn_partial_credit_and_name_what_was_missed(service, admin):
    await setup_channel(service, admin)
    drill_id = await open_drill_on(service, admin.channel, "testing-open-l1-l2")
    result = await service.submit_answer(member("al"), drill_id, "L1 makes the weights sparse.")
    assert result.attempt.grade.verdict.value == "partial"
    assert result.attempt.points == 15  # half of a hard question's 30
    reply = await service.drill_result(drill_id)
    assert [(row.label, row.count) for row in reply.distribution] == [
        ("Correct", 0),
        ("Partly", 1),
        ("Wrong", 0),
    ]


async def test_short_answers_match_aliases_but_not_near_misses(service, admin):
    await setup_channel(service, admin)
    drill_id = await open_drill_on(service, admin.channel, "testing-short-lasso")
    good = await service.submit_answer(member("al"), drill_id, "Lasso Regression")
    bad = await service.submit_answer(member("bo"), drill_id, "ridge")
    assert good.attempt.grade.correct and not bad.attempt.grade.correct
    with pytest.raises(AlreadyAnswered, match="your answer Lasso Regression stands"):
        await service.execute(commands.Answer("lasso"), Invocation(member("al"), admin.channel))


async def test_ranks_match_a_count_of_everyone_above(service, admin, clock, publisher):
    """The points histogram behind ranks agrees with counting every member's total."""
    await setup_channel(service, admin, "days:daily")
    names = [f"p{i}" for i in range(12)]
    for day in (13, 14, 15):
        clock.set(datetime(2025, 1, day, 8, tzinfo=UTC))
        drill_id = await post(service, admin)
        right, wrong = correct_letter(publisher), wrong_letter(publisher)
        for i, name in enumerate(names):
            clock.advance(minutes=7 * i)
            letter = right if (i + day) % 3 else wrong
            await service.submit_answer(member(name), drill_id, letter)
    board = await service.leaderboard(member("p0"), admin.channel, Period.ALL, None)
    totals = {
        name: (await service.member_stats(member(name), admin.channel)).points for name in names
    }
    assert len(set(totals.values())) > 3  # enough distinct totals to make ranks meaningful
    for name in names:
        stats = await service.member_stats(member(name), admin.channel)
        assert stats.rank == 1 + sum(1 for p in totals.values() if p > totals[name])
        assert stats.ranked_members == len(names)
    assert [e.points for e in board.entries] == sorted(totals.values(), reverse=True)[:10]
    assert board.total_members == len(names)
