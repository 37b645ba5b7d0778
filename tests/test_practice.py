"""Practice sessions and FSRS review cards: the core, the service over SQLite, the console."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Card, Rating, Scheduler

from bot.app import open_service
from bot.console_adapter.console import CHANNEL, Console, member_named
from bot.core import commands, messages
from bot.core.errors import UsageError
from bot.core.kinds import registry
from bot.core.models import (
    ChannelRef,
    Grade,
    MemberRef,
    Period,
    PracticeTurn,
    TopicStat,
    Verdict,
)
from bot.core.review import (
    FAST_ANSWER,
    FAST_PROSE_ANSWER,
    plan_practice,
    rating_for,
    review,
)
from bot.core.service import Invocation, QuizService
from tests.conftest import member
from tests.test_console import run_console
from tests.test_service import correct_letter, post, setup_channel, wrong_letter

pytestmark = pytest.mark.every_backend

ALICE = member("alice")
# A right answer to each question of the test bank (tests/bank).
RIGHT = {
    "testing-choice-correlation": "A",
    "testing-choice-l1": "B",
    "testing-short-lasso": "lasso",
    "testing-numeric-precision": "0.75",
}


def inv(who: MemberRef = ALICE) -> Invocation:
    return Invocation(who, ChannelRef("test", "W1", "C1"))


async def run(service: QuizService, text: str, who: MemberRef = ALICE):
    return await service.execute(commands.parse(text), inv(who))


def right_answer(service: QuizService, question_id: str) -> str:
    question = service.question(question_id)
    good = [example.answer for example in question.examples if example.label is Verdict.GOOD]
    return RIGHT.get(question_id) or " ".join(question.correct_letters) or good[0]


def wrong_answer(service: QuizService, question_id: str) -> str:
    question = service.question(question_id)
    return next(letter for letter in question.letters if letter not in question.correct_letters)


def current_id(turn: PracticeTurn) -> str:
    assert turn.question is not None
    return turn.question.id


# --- FSRS in the core ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "seconds", "prose", "expected"),
    [
        (Verdict.WRONG, 5, False, Rating.Again),
        (Verdict.PARTIAL, 5, True, Rating.Hard),
        (Verdict.GOOD, 300, False, Rating.Good),
        (Verdict.GOOD, FAST_ANSWER.total_seconds(), False, Rating.Easy),
        (Verdict.GOOD, FAST_ANSWER.total_seconds() + 1, False, Rating.Good),
        (Verdict.GOOD, FAST_PROSE_ANSWER.total_seconds(), True, Rating.Easy),
    ],
)
def test_grades_map_to_fsrs_ratings(service, verdict, seconds, prose, expected):
    question_id = "testing-open-l1-l2" if prose else "testing-choice-l1"
    question = service.question(question_id)
    assert registry.of(question).answers_in_prose is prose
    grade = Grade(verdict, 1.0 if verdict is Verdict.GOOD else 0.0, "x")
    assert rating_for(question, grade, timedelta(seconds=seconds)) is expected


def test_review_moves_the_due_date_as_the_library_says():
    scheduler = Scheduler(enable_fuzzing=False)
    start = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
    expected = Card(card_id=1, due=start)
    stored = None
    at = start
    for rating in (Rating.Good, Rating.Good, Rating.Again, Rating.Easy):
        expected, _ = scheduler.review_card(expected, rating, review_datetime=at)
        reviewed = review(stored, rating, at)
        assert reviewed.due == expected.due
        assert reviewed.rating == int(rating)
        stored = reviewed.card
        at = expected.due + timedelta(hours=1)
    # A learning card goes from minutes to days, as FSRS schedules it.
    assert expected.due - start > timedelta(days=1)


def test_a_plan_puts_due_reviews_first_then_the_weakest_topics_and_never_repeats(service):
    now = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
    pool = list(service.bank)
    cards = [
        ("testing-choice-l1", now - timedelta(days=2)),
        ("testing-short-lasso", now - timedelta(days=1)),
        ("testing-choice-correlation", now + timedelta(days=3)),
    ]
    stats = [TopicStat("testing", 10, 10), TopicStat("typed", 4, 0), TopicStat("select", 1, 1)]
    picks = plan_practice(pool, cards, stats, 20, now, "seed")
    ids = [p.question_id for p in picks]
    assert ids[:2] == ["testing-choice-l1", "testing-short-lasso"]
    assert [p.review for p in picks[:3]] == [True, True, False]
    assert picks[2].topic == "typed"  # 0 of 4 right: the weakest topic comes first
    assert len(ids) == len(set(ids)) == len(pool)
    assert ids[-1] == "testing-choice-correlation"  # not due yet: only to fill the session
    assert [p.question_id for p in plan_practice(pool, cards, stats, 3, now, "seed")] == ids[:3]


def test_new_questions_of_the_channels_plan_week_come_before_the_others(service):
    now = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
    pool = list(service.bank)
    week_two = {q.id for q in pool if q.week == 2}
    picks = plan_practice(pool, [], [], len(pool), now, "seed", week=2)
    ids = [p.question_id for p in picks]
    assert set(ids[: len(week_two)]) == week_two and len(week_two) >= 2
    assert len(ids) == len(set(ids)) == len(pool)


async def test_practice_in_a_channel_on_the_study_plan_follows_its_week(service, admin, clock):
    start = "2025-01-08"  # Wednesday 15 January is then day 1 of week 2
    await service.execute(
        commands.parse(f"/quiz setup tz:Europe/Berlin plan:4-week start:{start}"), admin
    )
    turn = await service.start_practice(admin, commands.Practice(count=2))
    weeks = [service.question(item.question_id).week for item in turn.session.items]
    assert weeks == [2, 2]


# --- the goal -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["5", "21", "ten", "8.5", "-7", "6 7"])
async def test_a_bad_goal_is_refused_and_changes_nothing(service, value):
    await run(service, "/quiz goal 12")
    with pytest.raises(UsageError, match="whole number from 6 to 20"):
        await run(service, f"/quiz goal {value}")
    assert await service.practice_goal(ALICE) == 12


async def test_the_goal_defaults_to_8_and_sets_the_session_length(service):
    assert "goal is 8" in (await run(service, "/quiz goal")).text
    turn = (await run(service, "/quiz practice")).data
    assert len(turn.session.items) == 8
    await run(service, "/quiz practice stop")
    await run(service, "/quiz goal 6")
    assert len((await run(service, "/quiz practice")).data.session.items) == 6


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/quiz practice 0", "not a number of questions"),
        ("/quiz practice 31", "not a number of questions"),
        ("/quiz practice typed testing", "one topic at most"),
        ("/quiz practice stop now", "takes no other options"),
        ("/quiz practice 3 4", "given twice"),
    ],
)
async def test_bad_practice_options_are_refused(service, text, problem):
    with pytest.raises(UsageError, match=problem):
        await run(service, text)
    assert await service.open_practice(ALICE) is None


async def test_a_topic_with_fewer_questions_than_asked_gives_a_shorter_session(service):
    turn = (await run(service, "/quiz practice select 10")).data
    assert [item.topic for item in turn.session.items] == ["select", "select"]
    assert "Practice 1/2 · select" in messages.practice_text(turn)


async def test_an_unknown_practice_topic_is_refused(service):
    with pytest.raises(UsageError, match="Unknown topic"):
        await run(service, "/quiz practice cooking")
    assert await service.open_practice(ALICE) is None


# --- sessions -----------------------------------------------------------------------------


async def test_a_session_asks_each_question_once_then_summarises(service, clock):
    turn = (await run(service, "/quiz practice 8")).data
    seen = []
    while turn.question is not None:
        seen.append(current_id(turn))
        clock.advance(minutes=1)
        reply = await run(service, "/quiz answer " + right_answer(service, current_id(turn)))
        turn = reply.data
        assert turn.answered is not None and turn.answered.question.id == seen[-1]
    assert len(seen) == len(set(seen)) == 8
    assert "Practice done: " in reply.text and "Goal met!" in reply.text
    assert turn.session.answered == 8
    stats = await service.member_stats(ALICE, CHANNEL)
    assert stats.answered == 8 and stats.points == 0
    # Every question has a card now; a new session fills up with cards not due yet.
    assert len(await service.repo.member_cards(ALICE)) == 8


async def test_practice_feedback_names_the_key_points_covered_and_missed(service):
    turn = (await run(service, "/quiz practice typed 3")).data
    while current_id(turn) != "testing-open-l1-l2":
        turn = (await run(service, "/quiz answer " + right_answer(service, current_id(turn)))).data
    reply = await run(service, "/quiz answer L1 drives some weights exactly to zero")
    assert "You covered: L1 drives some weights exactly to zero" in reply.text
    assert "You missed: L2 shrinks all weights smoothly" in reply.text
    assert reply.data.answered.rating == int(Rating.Hard)


async def test_a_bad_practice_answer_changes_nothing(service):
    turn = (await run(service, "/quiz practice testing 2")).data
    with pytest.raises(Exception, match="one of the letters"):
        await run(service, "/quiz answer Z")
    session = await service.open_practice(ALICE)
    assert session.answered == 0 and session.current.question_id == current_id(turn)
    assert await service.repo.member_cards(ALICE) == []


async def test_a_wrong_practice_answer_comes_back_first_once_due(service, clock):
    turn = (await run(service, "/quiz practice testing 2")).data
    missed = current_id(turn)
    turn = (await run(service, "/quiz answer " + wrong_answer(service, missed))).data
    assert turn.answered.rating == int(Rating.Again)
    assert turn.answered.comes_back_in <= timedelta(minutes=10)
    await run(service, "/quiz answer " + right_answer(service, current_id(turn)))
    clock.advance(hours=1)
    again = (await run(service, "/quiz practice testing 2")).data
    assert current_id(again) == missed and again.session.items[0].review


async def test_practice_new_starts_over_and_stop_ends_the_session(service):
    first = (await run(service, "/quiz practice 3")).data
    resumed = await run(service, "/quiz practice 5")
    assert resumed.data.resumed and resumed.data.session.id == first.session.id
    assert "Resuming your practice session at question 1 of 3" in resumed.text
    fresh = (await run(service, "/quiz practice new 4")).data
    assert fresh.session.id != first.session.id and len(fresh.session.items) == 4
    assert "Practice stopped" in (await run(service, "/quiz practice stop")).text
    assert (await run(service, "/quiz practice stop")).text == "You have no practice session open."


async def test_two_starts_at_once_leave_one_open_session(service):
    one, two = await asyncio.gather(
        run(service, "/quiz practice testing 2"), run(service, "/quiz practice typed 3")
    )
    assert one.data.session.id == two.data.session.id
    assert [one.data.resumed, two.data.resumed].count(True) == 1
    async with service.repo.db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT state FROM practice_sessions")
    assert [row[0] for row in rows] == ["open"]


async def test_practice_resumes_after_a_restart_on_the_same_database(config, clock):
    async with open_service(config, clock) as first:
        turn = (await run(first, "/quiz practice typed 3")).data
        asked = current_id(turn)
        await run(first, "/quiz answer " + right_answer(first, asked))
        second_question = (await first.open_practice(ALICE)).current.question_id
    clock.advance(minutes=5)
    async with open_service(config, clock) as again:
        reply = await run(again, "/quiz practice")
        assert reply.data.resumed and current_id(reply.data) == second_question
        assert "question 2 of 3" in reply.text
        answered = (await run(again, "/quiz answer " + right_answer(again, second_question))).data
        assert answered.answered.question.id == second_question
        # Speed counts from the resume, not from before the restart: a quick answer is Easy.
        assert answered.answered.rating == int(Rating.Easy)


async def test_practice_never_changes_points_or_streaks(service, admin, clock, publisher):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    clock.advance(minutes=1)
    await service.submit_answer(ALICE, drill_id, correct_letter(publisher))
    before = await service.member_stats(ALICE, admin.channel)
    board = await service.leaderboard(ALICE, admin.channel, Period.WEEK, None)
    daily_question = publisher.posts[-1].question.id

    turn = (await run(service, "/quiz practice 8")).data
    asked = []
    while turn.question is not None:
        asked.append(current_id(turn))
        turn = (await run(service, "/quiz answer " + right_answer(service, asked[-1]))).data
    assert daily_question not in asked  # still open: practice does not give it away

    after = await service.member_stats(ALICE, admin.channel)
    assert after.points == before.points and after.rank == before.rank
    assert (after.current_streak, after.best_streak) == (1, 1) == (before.current_streak, 1)
    assert after.answered == before.answered + len(asked)
    assert await service.leaderboard(ALICE, admin.channel, Period.WEEK, None) == board


async def test_practice_skips_a_daily_question_that_is_still_open(service, admin, publisher):
    await setup_channel(service, admin)
    await post(service, admin)
    daily_question = publisher.posts[-1].question.id
    turn = (await run(service, "/quiz practice testing 3")).data
    assert daily_question not in [item.question_id for item in turn.session.items]


async def test_a_daily_answer_reviews_the_card_as_fsrs_says(service, admin, clock, publisher):
    await setup_channel(service, admin)
    drill_id = await post(service, admin)
    clock.advance(minutes=3)
    await service.submit_answer(ALICE, drill_id, wrong_letter(publisher))
    question_id = publisher.posts[-1].question.id
    stored = Card.from_json(await service.repo.card_of(ALICE, question_id))
    expected, _ = Scheduler(enable_fuzzing=False).review_card(
        Card(card_id=stored.card_id, due=clock.now()), Rating.Again, review_datetime=clock.now()
    )
    assert stored.due == expected.due == clock.now() + timedelta(minutes=1)
    assert json.loads(stored.to_json())["state"] == expected.state.value
    # A repeated answer is refused and reviews nothing.
    with pytest.raises(Exception, match="stands"):
        await service.submit_answer(ALICE, drill_id, correct_letter(publisher))
    assert Card.from_json(await service.repo.card_of(ALICE, question_id)).due == stored.due


async def test_an_at_close_answer_reviews_its_card_only_at_the_reveal(
    service, admin, clock, publisher
):
    await setup_channel(service, admin, "reveal:at_close")
    drill_id = await post(service, admin)
    answered_at = clock.advance(minutes=3)
    await service.submit_answer(ALICE, drill_id, wrong_letter(publisher))
    question_id = publisher.posts[-1].question.id
    assert await service.repo.card_of(ALICE, question_id) is None
    hidden = (await service.member_stats(ALICE, admin.channel)).reviews
    assert (hidden.due_today, hidden.next_due) == (0, None)
    clock.advance(hours=2)
    await service.close_now(admin.channel)
    card = Card.from_json(await service.repo.card_of(ALICE, question_id))
    assert card.due == answered_at + timedelta(minutes=1)  # reviewed as of the answer
    assert (await service.member_stats(ALICE, admin.channel)).reviews.due_today == 1


async def test_stats_show_reviews_due_today_and_the_next_due_date(service, clock):
    assert "Reviews: none yet" in (await run(service, "/quiz stats")).text
    turn = (await run(service, "/quiz practice testing 2")).data
    first = current_id(turn)
    turn = (await run(service, "/quiz answer " + wrong_answer(service, first))).data
    await run(service, "/quiz answer " + right_answer(service, current_id(turn)))
    stats = (await run(service, "/quiz stats")).data
    # The miss is due in minutes, the quick right answer (Easy) in days.
    assert stats.reviews.due_today == 1
    assert stats.reviews.next_due > clock.now() + timedelta(days=1)
    text = messages.stats_text(stats)
    assert f"Reviews due today: 1 · next: {stats.reviews.next_due:%a %d %b}" in text


# --- the console ----------------------------------------------------------------------------


async def test_a_practice_session_on_the_console(service, clock):
    out = io.StringIO()
    console = Console(service, out)
    await console.handle("/quiz goal 6")
    await console.handle("/quiz practice testing 2")
    session = await service.open_practice(member_named("you"))
    for item in session.items:
        clock.advance(seconds=30)
        await console.handle(right_answer(service, item.question_id))  # plain text answers
    text = out.getvalue()
    assert "[private to you] Your daily practice goal is now 6 questions." in text
    assert "Practice 1/2 · testing" in text and "Practice 2/2 · testing" in text
    assert text.count("Correct!") == 2
    assert "Practice done: 2 of 2 right." in text and "Today: 2 of your goal of 6." in text
    assert await service.open_practice(member_named("you")) is None


async def test_two_members_practise_on_their_own_cards(service):
    bob = member("bob")
    alice_turn = (await run(service, "/quiz practice testing 2")).data
    bob_turn = (await run(service, "/quiz practice testing 2", bob)).data
    await run(service, "/quiz answer " + right_answer(service, current_id(alice_turn)))
    assert len(await service.repo.member_cards(ALICE)) == 1
    assert await service.repo.member_cards(bob) == []
    assert (await service.open_practice(bob)).id == bob_turn.session.id


def test_practice_in_the_console_process_resumes_after_a_restart(tmp_path):
    """`python -m bot console` fed by a pipe, twice on one database file."""
    first = run_console(tmp_path, "/quiz goal 6\n/quiz practice testing 2\nA\n")
    assert "[private to you] Practice 1/2 · testing" in first
    assert "Practice 2/2 · testing" in first
    assert "Correct!" in first or "Not quite. The answer is" in first
    again = run_console(tmp_path, "/quiz practice\nA\n/quiz stats\n/quiz practice stop\n")
    assert "Resuming your practice session at question 2 of 2." in again
    assert "Practice done: " in again and "Today: 2 of your goal of 6." in again
    assert "Points: 0 · rank: unranked" in again and "testing: " in again
    assert "You have no practice session open." in again
