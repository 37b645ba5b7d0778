"""Which questions to review, judged from how members answered them (pure).

`python -m bot questions flags` feeds these rules the answer counts the database holds;
the rules themselves know nothing of storage. Every statistical rule waits for
`min_answers` answers: a handful of answers says more about who answered than about the
question. "Correct" means a `good` verdict; a partial answer counts as not correct.

The flags, most severe first (a question's rank is its most severe flag):
- reported: members filed reports that are still open;
- distractor beats key: a wrong choice was picked more often than the key (for `multi`,
  than the least-picked right choice): the key may be wrong, or the wording misleads;
- too hard: the share correct is below `too_hard` (default 15%);
- unpicked choice: a choice nobody picked: it distracts no one, so it adds nothing;
- too easy: the share correct is above `too_easy` (default 95%).

Calibration proposes a difficulty from the share correct, with at least `min_answers`
answers: 80% or more is easy, 40% or less is hard, anything between is medium.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.kinds import registry
from bot.core.kinds.lettered import Lettered
from bot.core.models import AnswerCount, ChoiceCount, Difficulty, Question

MIN_ANSWERS = 20
TOO_EASY = 0.95
TOO_HARD = 0.15
EASY_FROM = 0.80
HARD_UP_TO = 0.40


class Flag(StrEnum):
    """In severity order: the first is the most severe."""

    REPORTED = "reported"
    DISTRACTOR = "distractor beats key"
    TOO_HARD = "too hard"
    UNPICKED = "unpicked choice"
    TOO_EASY = "too easy"


SEVERITY = {flag: rank for rank, flag in enumerate(Flag)}


@dataclass(frozen=True)
class Thresholds:
    too_easy: float = TOO_EASY
    too_hard: float = TOO_HARD
    min_answers: int = MIN_ANSWERS


@dataclass(frozen=True)
class Bands:
    """Calibration bands: share correct >= easy_from is easy, <= hard_up_to is hard."""

    easy_from: float = EASY_FROM
    hard_up_to: float = HARD_UP_TO
    min_answers: int = MIN_ANSWERS


@dataclass(frozen=True)
class Tally:
    """How many answers a question got and how many of them were correct."""

    question_id: str
    answers: int
    correct: int

    @property
    def share(self) -> float | None:
        return self.correct / self.answers if self.answers else None


@dataclass(frozen=True)
class Finding:
    """One flag on one question; `choice`, `picks` and `key_picks` say which choice for
    the choice rules, `count` how many open reports for `reported`."""

    flag: Flag
    choice: str = ""
    picks: int = 0
    key_picks: int = 0
    reason: str = ""
    count: int = 0


@dataclass(frozen=True)
class Review:
    """A question with its answer counts, what the rules found and the open reports."""

    question: Question
    tally: Tally
    findings: tuple[Finding, ...]
    picks: tuple[ChoiceCount, ...] = ()
    reports: Mapping[str, int] = field(default_factory=dict)

    @property
    def severity(self) -> int:
        return min((SEVERITY[finding.flag] for finding in self.findings), default=len(Flag))


@dataclass(frozen=True)
class Calibration:
    question: Question
    tally: Tally
    proposed: Difficulty

    @property
    def changes(self) -> bool:
        return self.proposed is not self.question.difficulty


def share_flags(tally: Tally, thresholds: Thresholds) -> list[Finding]:
    """Too easy above the ceiling, too hard below the floor (both strict)."""
    share = tally.share
    if share is None or tally.answers < thresholds.min_answers:
        return []
    if share > thresholds.too_easy:
        return [Finding(Flag.TOO_EASY)]
    if share < thresholds.too_hard:
        return [Finding(Flag.TOO_HARD)]
    return []


def choice_picks(question: Question, counts: Sequence[AnswerCount]) -> tuple[ChoiceCount, ...]:
    """How many answers picked each choice of a lettered question; () for other kinds."""
    kind = registry.of(question)
    if not isinstance(kind, Lettered):
        return ()
    return kind.distribution(question, counts)


def choice_flags(
    picks: Sequence[ChoiceCount], answers: int, thresholds: Thresholds
) -> list[Finding]:
    """A distractor picked more often than the (least-picked) key, and choices nobody picked."""
    keys = [pick.count for pick in picks if pick.correct]
    if not picks or not keys or answers < thresholds.min_answers:
        return []
    key_picks = min(keys)
    findings = [
        Finding(Flag.DISTRACTOR, pick.label, pick.count, key_picks)
        for pick in picks
        if not pick.correct and pick.count > key_picks
    ]
    findings += [Finding(Flag.UNPICKED, pick.label) for pick in picks if pick.count == 0]
    return findings


def report_flags(reports: Mapping[str, int]) -> list[Finding]:
    """One finding per reason with open reports, the most reported first."""
    ranked = sorted(reports.items(), key=lambda item: (-item[1], item[0]))
    return [Finding(Flag.REPORTED, reason=reason, count=n) for reason, n in ranked if n > 0]


def review(
    question: Question,
    tally: Tally,
    counts: Sequence[AnswerCount] = (),
    reports: Mapping[str, int] | None = None,
    thresholds: Thresholds = Thresholds(),
) -> Review:
    """Every rule applied to one question."""
    picks = choice_picks(question, counts)
    findings = report_flags(reports or {})
    findings += choice_flags(picks, tally.answers, thresholds)
    findings += share_flags(tally, thresholds)
    findings.sort(key=lambda finding: SEVERITY[finding.flag])
    return Review(question, tally, tuple(findings), picks, dict(reports or {}))


def by_severity(reviews: Iterable[Review]) -> list[Review]:
    """The flagged reviews, most severe first; then more flags, more answers, then id."""
    flagged = [item for item in reviews if item.findings]
    return sorted(
        flagged,
        key=lambda item: (
            item.severity,
            -len(item.findings),
            -item.tally.answers,
            item.question.id,
        ),
    )


def propose_difficulty(tally: Tally, bands: Bands = Bands()) -> Difficulty | None:
    """The difficulty the share correct suggests; None below `min_answers` answers."""
    share = tally.share
    if share is None or tally.answers < bands.min_answers:
        return None
    if share >= bands.easy_from:
        return Difficulty.EASY
    if share <= bands.hard_up_to:
        return Difficulty.HARD
    return Difficulty.MEDIUM


def calibrate(question: Question, tally: Tally, bands: Bands = Bands()) -> Calibration | None:
    proposed = propose_difficulty(tally, bands)
    return None if proposed is None else Calibration(question, tally, proposed)
