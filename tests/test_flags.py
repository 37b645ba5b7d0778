"""The review rules (bot/core/flags.py) and the in-place difficulty edit (pack_edit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.bank import load_bank, load_pack
from bot.core.errors import BankErrors
from bot.core.flags import (
    Bands,
    Finding,
    Flag,
    Tally,
    Thresholds,
    by_severity,
    choice_flags,
    propose_difficulty,
    review,
    share_flags,
)
from bot.core.models import AnswerCount, ChoiceCount, Difficulty, Verdict
from bot.core.pack_edit import rewrite_difficulties, set_difficulties
from tests.conftest import TEST_BANK

BANK = load_bank(TEST_BANK)
DEFAULT = Thresholds()


def tally(correct: int, answers: int) -> Tally:
    return Tally("q", answers, correct)


@pytest.mark.parametrize(
    ("correct", "answers", "flags"),
    [
        (20, 20, [Flag.TOO_EASY]),
        (39, 40, [Flag.TOO_EASY]),  # 97.5%
        (19, 20, []),  # exactly 95% is not above it
        (3, 20, []),  # exactly 15% is not below it
        (2, 20, [Flag.TOO_HARD]),
        (0, 20, [Flag.TOO_HARD]),
        (19, 19, []),  # too few answers to judge
        (0, 19, []),
        (0, 0, []),
    ],
)
def test_share_flags_at_the_boundaries(correct: int, answers: int, flags: list[Flag]) -> None:
    assert [f.flag for f in share_flags(tally(correct, answers), DEFAULT)] == flags


def test_share_thresholds_and_min_answers_are_settable() -> None:
    strict = Thresholds(too_easy=0.8, too_hard=0.3, min_answers=5)
    assert [f.flag for f in share_flags(tally(5, 5), strict)] == [Flag.TOO_EASY]
    assert [f.flag for f in share_flags(tally(1, 5), strict)] == [Flag.TOO_HARD]
    assert share_flags(tally(4, 5), strict) == []


def picks(**counts: int) -> list[ChoiceCount]:
    """Lower-case letters are wrong choices, upper-case the key."""
    return [ChoiceCount(k.upper(), n, k.isupper()) for k, n in counts.items()]


def test_a_distractor_picked_more_than_the_key_is_flagged_and_a_tie_is_not() -> None:
    assert choice_flags(picks(A=8, b=9, c=2, d=1), 20, DEFAULT) == [
        Finding(Flag.DISTRACTOR, "B", 9, 8)
    ]
    assert choice_flags(picks(A=9, b=9, c=1, d=1), 20, DEFAULT) == []


def test_an_unpicked_choice_is_flagged_from_min_answers_on() -> None:
    assert choice_flags(picks(A=15, b=5, c=0, d=0), 20, DEFAULT) == [
        Finding(Flag.UNPICKED, "C"),
        Finding(Flag.UNPICKED, "D"),
    ]
    assert choice_flags(picks(A=14, b=5, c=0, d=0), 19, DEFAULT) == []


def test_multi_compares_distractors_with_the_least_picked_key() -> None:
    assert choice_flags(picks(A=20, b=7, C=6, d=1), 20, DEFAULT) == [
        Finding(Flag.DISTRACTOR, "B", 7, 6)
    ]


def test_review_counts_picks_from_stored_letters_for_multi() -> None:
    question = BANK.questions["select-multi-overfitting"]  # key A and C
    counts = [
        AnswerCount("AC", Verdict.GOOD, 8),
        AnswerCount("AB", Verdict.WRONG, 10),
        AnswerCount("A", Verdict.PARTIAL, 2),
    ]
    result = review(question, Tally(question.id, 20, 8), counts)
    assert {p.label: p.count for p in result.picks} == {"A": 20, "B": 10, "C": 8, "D": 0}
    assert [f.flag for f in result.findings] == [Flag.DISTRACTOR, Flag.UNPICKED]


def test_review_of_a_typed_kind_has_no_choice_flags() -> None:
    question = BANK.questions["testing-short-lasso"]
    counts = [AnswerCount("ridge", Verdict.WRONG, 20)]
    result = review(question, Tally(question.id, 20, 0), counts)
    assert result.picks == ()
    assert [f.flag for f in result.findings] == [Flag.TOO_HARD]


def test_reports_come_first_most_reported_reason_first() -> None:
    question = BANK.questions["testing-choice-recall"]
    result = review(question, Tally(question.id, 20, 20), reports={"typo": 1, "wrong-answer": 3})
    assert [(f.flag, f.reason, f.count) for f in result.findings][:2] == [
        (Flag.REPORTED, "wrong-answer", 3),
        (Flag.REPORTED, "typo", 1),
    ]


def test_by_severity_orders_by_worst_flag_then_flag_count_and_drops_clean_ones() -> None:
    easy = review(BANK.questions["testing-choice-recall"], Tally("r", 30, 30))
    hard = review(BANK.questions["testing-short-lasso"], Tally("s", 20, 1))
    reported = review(BANK.questions["testing-open-l1-l2"], Tally("o", 0, 0), reports={"typo": 1})
    clean = review(BANK.questions["testing-numeric-precision"], Tally("n", 20, 10))
    ordered = by_severity([easy, clean, hard, reported])
    assert [item.question.id for item in ordered] == [
        "testing-open-l1-l2",
        "testing-short-lasso",
        "testing-choice-recall",
    ]


@pytest.mark.parametrize(
    ("correct", "answers", "level"),
    [
        (16, 20, Difficulty.EASY),  # exactly 80%
        (15, 20, Difficulty.MEDIUM),
        (9, 20, Difficulty.MEDIUM),
        (8, 20, Difficulty.HARD),  # exactly 40%
        (0, 20, Difficulty.HARD),
        (19, 19, None),
    ],
)
def test_propose_difficulty_bands(correct: int, answers: int, level: Difficulty | None) -> None:
    assert propose_difficulty(tally(correct, answers), Bands()) is level


PACK = """\
# A comment that a re-dump would lose.
topic: testing
questions:
  - id: one
    difficulty: easy   # trailing comment
    tags: [a]
  - {id: two, difficulty: 'hard', tags: [b]}
  - id: three
    difficulty: "medium"
"""


def test_set_difficulties_replaces_only_the_values_in_their_quoting_style() -> None:
    changes = {"one": Difficulty.HARD, "two": Difficulty.MEDIUM, "three": Difficulty.EASY}
    assert set_difficulties(PACK, changes) == PACK.replace(
        "difficulty: easy   #", "difficulty: hard   #"
    ).replace("difficulty: 'hard'", "difficulty: 'medium'").replace(
        'difficulty: "medium"', 'difficulty: "easy"'
    )


def test_set_difficulties_keeps_crlf_line_ends() -> None:
    text = PACK.replace("\n", "\r\n")
    edited = set_difficulties(text, {"three": Difficulty.HARD})
    assert edited == text.replace('"medium"', '"hard"')


def test_set_difficulties_names_an_unknown_id() -> None:
    with pytest.raises(BankErrors, match="nope: difficulty: no difficulty value to edit"):
        set_difficulties(PACK, {"nope": Difficulty.HARD}, "pack.yaml")


def test_rewrite_difficulties_edits_a_real_pack_that_still_loads(tmp_path: Path) -> None:
    pack = tmp_path / "mini.yaml"
    pack.write_bytes((TEST_BANK / "mini.yaml").read_bytes())
    rewrite_difficulties(pack, {"testing-choice-recall": Difficulty.HARD})
    loaded = {q.id: q.difficulty for q in load_pack(pack)}
    assert loaded["testing-choice-recall"] is Difficulty.HARD
    original = {q.id: q.difficulty for q in load_pack(TEST_BANK / "mini.yaml")}
    assert {k: v for k, v in loaded.items() if k != "testing-choice-recall"} == {
        k: v for k, v in original.items() if k != "testing-choice-recall"
    }
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mini.yaml"]
