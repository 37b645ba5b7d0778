"""Which question a channel gets next: no repeats until the eligible pool runs out, and
the plan week's questions first while the channel follows the 4-week study plan."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from bot.core import messages
from bot.core.errors import QuizError
from bot.core.models import LowBank, PlanPosition, Question, StudyPlan

PLAN_WEEKS = 4
WEEK_DAYS = 7
# A channel is warned once when fewer unasked questions than this are left to pick from.
LOW_BANK = 10


def eligible(questions: Iterable[Question], topics: Sequence[str]) -> list[Question]:
    """The questions a channel's topic plan allows (all when the plan is empty)."""
    wanted = set(topics)
    return [q for q in questions if not wanted or q.topic in wanted]


def pick_question(
    pool: Sequence[Question], asked: Sequence[str], seed: str, week: int | None = None
) -> Question:
    """Pick among the questions asked least often in this channel.

    `asked` lists the channel's question ids, oldest first. Taking the least-asked ones
    means no repeat until the whole pool has been used, and each later round works the
    same way; the last question asked is never picked again straight away. With a plan
    `week`, that week's questions win among the least-asked: the day follows the plan
    while the week has unasked questions, and falls back to the other weeks' unasked
    ones (not to repeats) when it has none. The choice is seeded by channel and day so
    that every process picks the same question.
    """
    if not pool:
        raise QuizError(messages.NO_MATCHING_QUESTIONS)
    counts = Counter(asked)
    fewest = min(counts[q.id] for q in pool)
    candidates = [q for q in pool if counts[q.id] == fewest]
    on_plan = [q for q in candidates if week is not None and q.week == week]
    candidates = on_plan or candidates
    if len(candidates) > 1 and asked:
        candidates = [q for q in candidates if q.id != asked[-1]]
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    return rng.choice(sorted(candidates, key=lambda q: q.id))


# --- the 4-week study plan ---------------------------------------------------------------


def plan_position(plan: StudyPlan, start: date | None, day: date) -> PlanPosition | None:
    """The plan week of a local day: week 1 is the 7 days from `start`, and so on; after
    week 4 a repeating plan starts again at week 1, a once plan is finished."""
    if plan is StudyPlan.NONE or start is None:
        return None
    elapsed = (day - start).days
    if elapsed < 0:
        return PlanPosition(None, 0, 0, upcoming=True)
    index, weekday = divmod(elapsed, WEEK_DAYS)
    if plan is StudyPlan.ONCE and index >= PLAN_WEEKS:
        return PlanPosition(None, weekday + 1, 1, finished=True)
    return PlanPosition(index % PLAN_WEEKS + 1, weekday + 1, index // PLAN_WEEKS + 1)


def plan_week(plan: StudyPlan, start: date | None, day: date) -> int | None:
    """The plan week (1-4) whose questions come first on `day`, or None (all weeks)."""
    position = plan_position(plan, start, day)
    return position.week if position else None


def next_plan_week(
    plan: StudyPlan, start: date | None, day: date
) -> tuple[int | None, date | None]:
    """The plan week after the one `day` falls in, and its first day: week 1 on the start
    date when the plan is still ahead; None on the day a once plan ends (or has ended)."""
    position = plan_position(plan, start, day)
    if position is None or start is None or position.finished:
        return None, None
    if position.week is None:  # the plan is still ahead
        return 1, start
    begins = day + timedelta(days=WEEK_DAYS - position.day + 1)
    if plan is StudyPlan.ONCE and position.week == PLAN_WEEKS:
        return None, begins
    return position.week % PLAN_WEEKS + 1, begins


def week_pool(pool: Sequence[Question], week: int | None) -> list[Question]:
    """The pool's questions of a plan week (the whole pool without a week)."""
    return [q for q in pool if week is None or q.week == week]


def week_topics(pool: Sequence[Question], week: int | None) -> tuple[tuple[str, int], ...]:
    """The topics of a plan week's questions with how many each has, most first."""
    counts = Counter(q.topic for q in week_pool(pool, week))
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def low_bank(
    pool: Sequence[Question],
    asked: Iterable[str],
    week: int | None,
    topics: Sequence[str],
    below: int = LOW_BANK,
) -> LowBank | None:
    """The warning due when fewer than `below` unasked questions are left where the day
    is picked from: the plan week's questions in the topics (when it has any), else all
    the topics' questions."""
    seen = set(asked)
    target = week_pool(pool, week) if week is not None else []
    if not target:
        target, week = list(pool), None
    left = sum(1 for q in target if q.id not in seen)
    return LowBank(left, week, tuple(topics)) if left < below else None
