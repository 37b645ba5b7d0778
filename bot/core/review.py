"""Spaced repetition with FSRS (py-fsrs), and which questions a practice session asks.

Every member x question is one FSRS card. A graded answer reviews it: wrong -> Again,
partly right -> Hard, right -> Good, right and fast -> Easy. The scheduler has fuzzing
off, so a card's next due instant depends only on its history and the service's clock.
Pure: no storage here; the repository stores `Card.to_json()` and the due instant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating, Scheduler

from bot.core.kinds import registry
from bot.core.models import Grade, Question, ReviewedCard, TopicStat, Verdict
from bot.core.ports import CardReview

SCHEDULER = Scheduler(enable_fuzzing=False)
# A right answer this quick (from when the question was shown) is rated Easy. Answers
# written in prose take longer to type, so they get more time.
FAST_ANSWER = timedelta(seconds=20)
FAST_PROSE_ANSWER = timedelta(seconds=90)
# New practice questions come from the weakest topics first, this many at a time.
WEAK_TOPICS = 3


def rating_for(question: Question, grade: Grade, latency: timedelta) -> Rating:
    """The FSRS rating of one graded answer."""
    if grade.verdict is Verdict.WRONG:
        return Rating.Again
    if grade.verdict is Verdict.PARTIAL:
        return Rating.Hard
    fast = FAST_PROSE_ANSWER if registry.of(question).answers_in_prose else FAST_ANSWER
    return Rating.Easy if latency <= fast else Rating.Good


def review(card_json: str | None, rating: Rating, now: datetime) -> ReviewedCard:
    """The card after one review at `now` (a new card when `card_json` is None)."""
    at = now.astimezone(UTC)
    if card_json is None:
        # An explicit id: Card() would read the wall clock (and sleep a millisecond).
        card = Card(card_id=int(at.timestamp() * 1000), due=at)
    else:
        card = Card.from_json(card_json)
    reviewed, _ = SCHEDULER.review_card(card, rating, review_datetime=at)
    return ReviewedCard(reviewed.to_json(), reviewed.due, int(rating))


def reviewer(rating: Rating, now: datetime) -> CardReview:
    """The review as the repository applies it, inside the transaction storing the answer.

    A new card's review (the usual case: a member meets most questions once) is worked
    out here, before the call, so that the database's thread spends no time on it."""
    first = review(None, rating, now)
    return lambda card_json: first if card_json is None else review(card_json, rating, now)


def topic_weakness(stats: Iterable[TopicStat]) -> dict[str, float]:
    """Smoothed accuracy per topic, (correct + 1) / (answered + 2): an unseen topic counts
    as 0.5, so a topic the member gets wrong comes before one they have not tried."""
    return {s.topic: (s.correct + 1) / (s.answered + 2) for s in stats}


@dataclass(frozen=True)
class PracticePick:
    question_id: str
    topic: str
    review: bool  # the member's card for it is due


def plan_practice(
    pool: Sequence[Question],
    cards: Sequence[tuple[str, datetime]],
    stats: Iterable[TopicStat],
    count: int,
    now: datetime,
    seed: str,
    week: int | None = None,
) -> list[PracticePick]:
    """The questions of one session, in order, none twice.

    `pool`: the questions allowed (topic filter applied, live daily questions removed);
    `cards`: the member's (question id, due) pairs. Due reviews come first, the most
    overdue first; then questions the member has never seen, taken in turn from their
    WEAK_TOPICS weakest topics (then the others), those of the channel's study-plan
    `week` before the rest; when those run out, cards that are not due yet, the soonest
    first, so a small bank still fills the session.
    """
    by_id = {q.id: q for q in pool}
    due_at = {qid: due for qid, due in cards if qid in by_id}
    due = sorted((d, qid) for qid, d in due_at.items() if d <= now)
    picks = [PracticePick(qid, by_id[qid].topic, True) for _, qid in due[:count]]
    weakness = topic_weakness(stats)

    def shuffled(question: Question) -> str:
        return hashlib.sha256(f"{seed}:{question.id}".encode()).hexdigest()

    unseen = sorted((q for q in pool if q.id not in due_at), key=shuffled)
    tiers = (
        [unseen]
        if week is None
        else [
            [q for q in unseen if q.week == week],
            [q for q in unseen if q.week != week],
        ]
    )
    for tier in tiers:
        fresh: dict[str, list[Question]] = {}
        for question in tier:
            fresh.setdefault(question.topic, []).append(question)
        topics = sorted(fresh, key=lambda t: (weakness.get(t, 0.5), t))
        for group in (topics[:WEAK_TOPICS], topics[WEAK_TOPICS:]):
            queues = [list(fresh[t]) for t in group]
            while len(picks) < count and any(queues):
                for queue in queues:
                    if queue and len(picks) < count:
                        question = queue.pop(0)
                        picks.append(PracticePick(question.id, question.topic, False))
    ahead = sorted((d, qid) for qid, d in due_at.items() if d > now)
    for _, qid in ahead[: max(0, count - len(picks))]:
        picks.append(PracticePick(qid, by_id[qid].topic, False))
    return picks
