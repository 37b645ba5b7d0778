"""Which question a channel gets next: no repeats until the eligible pool runs out."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Sequence

from bot.core import messages
from bot.core.errors import QuizError
from bot.core.models import Question


def eligible(questions: Iterable[Question], topics: Sequence[str]) -> list[Question]:
    """The questions a channel's topic plan allows (all when the plan is empty)."""
    wanted = set(topics)
    return [q for q in questions if not wanted or q.topic in wanted]


def pick_question(pool: Sequence[Question], asked: Sequence[str], seed: str) -> Question:
    """Pick among the questions asked least often in this channel.

    `asked` lists the channel's question ids, oldest first. Taking the least-asked ones
    means no repeat until the whole pool has been used, and each later round works the
    same way; the last question asked is never picked again straight away. The choice
    is seeded by channel and day so that every process picks the same question.
    """
    if not pool:
        raise QuizError(messages.NO_MATCHING_QUESTIONS)
    counts = Counter(asked)
    fewest = min(counts[q.id] for q in pool)
    candidates = [q for q in pool if counts[q.id] == fewest]
    if len(candidates) > 1 and asked:
        candidates = [q for q in candidates if q.id != asked[-1]]
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    return rng.choice(sorted(candidates, key=lambda q: q.id))
