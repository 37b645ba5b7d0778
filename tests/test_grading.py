"""Grading rules from docs/question-format.md, one behaviour per test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import InvalidAnswer, QuizError
from bot.core.grading import clauses, normalize
from bot.core.kinds.registry import grade
from bot.core.models import Choice, Difficulty, Example, KeyPoint, Kind, Question, Verdict


def make(kind: Kind, **fields: object) -> Question:
    return Question(
        id=f"test-{kind.value}",
        topic="generalization",
        kind=kind,
        difficulty=Difficulty.EASY,
        prompt="A test prompt?",
        explanation="Because.",
        source="topic:generalization",
        tags=("test",),
        week=1,
        **fields,  # type: ignore[arg-type]
    )


CHOICE = make(
    Kind.CHOICE,
    choices=(
        Choice("Weight decay", "It shrinks weights."),
        Choice("Early stopping", "It halts training.", correct=True),
        Choice("Dropout", "It drops units."),
        Choice("Batch normalisation", "It rescales activations."),
    ),
)
L1 = make(
    Kind.SHORT,
    answers=("L1", "lasso", "L1 regularization", "l1 penalty"),
    rejected=("L2", "ridge", "elastic net"),
)
KMEANS = make(Kind.SHORT, answers=("k-means",), rejected=("k-medians", "k-medoids"))
COUNT = make(Kind.SHORT, answers=("three",), rejected=("two", "four"))
SHARE = make(Kind.NUMERIC, answer=0.25, tolerance=0.005, percent=True)
PERCENT_FALSE = make(Kind.NUMERIC, answer=25.0, tolerance=0.5, percent=False)
BIG = make(Kind.NUMERIC, answer=1000.0, tolerance=0.0)
SPARSITY = KeyPoint(
    point="L1 drives weights to zero",
    subject=("l1", "lasso"),
    claim=("zero", "sparse"),
    none=("not zero", "never zero", "not sparse"),
)
SHRINK = KeyPoint(point="L2 shrinks weights", subject=("l2", "ridge"), claim=("shrink", "small"))
UNITS = KeyPoint(point="L1 uses absolute values", subject=("l1",), claim=("absolute",))
L2_SPARSE = KeyPoint(point="Claims L2 is sparse", subject=("l2", "ridge"), claim=("sparse",))
OPEN = make(
    Kind.OPEN,
    reference="L1 zeroes weights; L2 shrinks them.",
    key_points=(SPARSITY, SHRINK, UNITS),
    misconceptions=(L2_SPARSE,),
    examples=(Example(Verdict.GOOD, "L1 gives zeros."),),
)


@pytest.mark.parametrize("answer", ["B", "b", "B)", "(b)", "b.", "option b", "Option B", "b) yes"])
def test_choice_accepts_letter_forms(answer: str) -> None:
    result = grade(CHOICE, answer)
    assert result.verdict is Verdict.GOOD
    assert result.score == 1.0
    assert result.normalized == "B"


def test_choice_wrong_letter_scores_zero_and_names_letter() -> None:
    result = grade(CHOICE, "c")
    assert (result.verdict, result.score, result.normalized) == (Verdict.WRONG, 0.0, "C")


def test_choice_accepts_option_text_with_typos() -> None:
    assert grade(CHOICE, "early stoping").normalized == "B"
    assert grade(CHOICE, "DROPOUT").normalized == "C"


def test_choice_text_that_only_differs_in_punctuation_needs_exact_text() -> None:
    code = make(
        Kind.CHOICE,
        choices=(
            Choice("clf.C", "Attribute access."),
            Choice("C", "Bare name."),
            Choice("clf__C", "Step name, two underscores, parameter.", correct=True),
        ),
    )
    assert grade(code, "clf__c").normalized == "C"
    assert grade(code, "clf.C").normalized == "A"
    with pytest.raises(InvalidAnswer, match="A-C"):
        grade(code, "clf_C")


@pytest.mark.parametrize("answer", ["E", "z", "maybe the second one", "?"])
def test_choice_unintelligible_or_unoffered_letter_is_invalid(answer: str) -> None:
    with pytest.raises(InvalidAnswer, match="A-D"):
        grade(CHOICE, answer)


@pytest.mark.parametrize(
    "answer", ["L1", "l1", "L-1", "l 1", "Lasso", "laso", "L1 regularisation", "regularization L1"]
)
def test_short_accepts_listed_forms_and_small_typos(answer: str) -> None:
    result = grade(L1, answer)
    assert result.verdict is Verdict.GOOD
    assert result.matched in L1.answers


@pytest.mark.parametrize("answer", ["L2", "l2 regularization", "ridge", "Elastic-Net", "L11", "L"])
def test_short_rejects_near_misses_and_other_digits(answer: str) -> None:
    result = grade(L1, answer)
    assert result.verdict is Verdict.WRONG
    assert result.matched == ""


def test_short_kmeans_vs_kmedians() -> None:
    assert grade(KMEANS, "K-Means").verdict is Verdict.GOOD
    assert grade(KMEANS, "kmeans").verdict is Verdict.GOOD
    assert grade(KMEANS, "k medians").verdict is Verdict.WRONG
    assert grade(KMEANS, "k-medoids").verdict is Verdict.WRONG


def test_short_folds_number_words_to_digits() -> None:
    assert grade(COUNT, "3").verdict is Verdict.GOOD
    assert grade(COUNT, "Three").verdict is Verdict.GOOD
    assert grade(COUNT, "2").verdict is Verdict.WRONG


def test_short_reports_normalized_text() -> None:
    assert grade(L1, "  LASSO!! ").normalized == "lasso"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Régularisation", "regularisation"),
        ("k-means_clustering", "k means clustering"),
        ("  Many   spaces\tand\nlines ", "many spaces and lines"),
        ("twenty five", "25"),
        ("one thousand two hundred thirty four", "1234"),
        ("five six", "5 6"),
        ("1,000 and 0.25 or 1/4", "1000 and 0.25 or 1/4"),
        ("don't (stop)!", "dont stop"),
        ("Straße", "strasse"),
    ],
)
def test_normalize_folds_case_accents_punctuation_and_numbers(text: str, expected: str) -> None:
    assert normalize(text) == expected


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@pytest.mark.parametrize("answer", ["0.25", "1/4", "2.5e-1", "25%", ".25", "0.253", " 0.25 "])
def test_numeric_accepts_decimal_fraction_scientific_and_percent(answer: str) -> None:
    result = grade(SHARE, answer)
    assert result.verdict is Verdict.GOOD
    assert result.score == 1.0


@pytest.mark.parametrize("answer", ["0.26", "25", "-0.25", "1/3"])
def test_numeric_outside_tolerance_is_wrong(answer: str) -> None:
    assert grade(SHARE, answer).verdict is Verdict.WRONG


def test_numeric_ignores_percent_sign_when_percent_is_false() -> None:
    assert grade(PERCENT_FALSE, "25%").verdict is Verdict.GOOD
    assert grade(PERCENT_FALSE, "25").verdict is Verdict.GOOD


def test_numeric_accepts_thousands_separators() -> None:
    assert grade(BIG, "1,000").verdict is Verdict.GOOD
    assert grade(BIG, "1000.0").normalized == "1000"


@pytest.mark.parametrize("answer", ["about a quarter", "1/0", "1e999", "0,25", "nan", "1_000"])
def test_numeric_unparseable_is_invalid_with_example(answer: str) -> None:
    with pytest.raises(InvalidAnswer, match="1/4"):
        grade(SHARE, answer)


@pytest.mark.parametrize("question", [CHOICE, L1, SHARE, OPEN])
@pytest.mark.parametrize("answer", ["", "   ", "\n\t"])
def test_empty_answer_is_invalid(question: Question, answer: str) -> None:
    with pytest.raises(InvalidAnswer):
        grade(question, answer)


def test_clauses_split_at_punctuation_and_contrast_words() -> None:
    found = clauses("L1 zeroes weights while L2 shrinks; e.g. 0.5 stays. However, fine")
    assert found == [
        ["l1", "zeroes", "weights"],
        ["while", "l2", "shrinks"],
        ["e", "g", "0.5", "stays"],
        ["however", "fine"],
    ]


def test_colons_and_dots_inside_code_do_not_split_clauses() -> None:
    found = clauses("Bagging: trains in parallel. Then call loss.backward() and stop.\nDone")
    assert found == [
        ["bagging", "trains", "in", "parallel"],
        ["then", "call", "loss", "backward", "and", "stop"],
        ["done"],
    ]


def test_open_covers_all_points_for_good_answer() -> None:
    result = grade(OPEN, "L1 makes weights sparse and uses absolute values. Ridge shrinks them.")
    assert result.verdict is Verdict.GOOD
    assert result.score == 1.0
    assert result.covered == (SPARSITY.point, SHRINK.point, UNITS.point)
    assert result.missed == ()


def test_open_subject_and_claim_must_share_a_clause() -> None:
    result = grade(OPEN, "Think about L1. The weights become zero.")
    assert SPARSITY.point not in result.covered
    assert result.verdict is Verdict.WRONG


def test_open_prefix_words_match_word_starts() -> None:
    result = grade(OPEN, "L2 shrinks; lasso zeroes them; l1 penalises absolutes")
    assert result.covered == (SPARSITY.point, SHRINK.point, UNITS.point)


def test_open_number_word_phrase_matches_digits_and_inflections() -> None:
    for answer in ("L1 sets weights to 0", "L1 sets weights to zero", "L1 zeros weights"):
        assert grade(OPEN, answer).covered == (SPARSITY.point,), answer


def test_open_none_phrase_blocks_the_point_in_that_clause() -> None:
    blocked = grade(OPEN, "L1 weights are not zero")
    assert SPARSITY.point in blocked.missed
    unblocked = grade(OPEN, "L1 weights are not small. L1 sets weights to zero")
    assert SPARSITY.point in unblocked.covered


def test_open_misconception_subtracts_half() -> None:
    result = grade(OPEN, "L1 gives zeros, L1 is absolute. L2 shrinks. Ridge is sparse too.")
    assert result.misconceptions == (L2_SPARSE.point,)
    assert result.score == pytest.approx(0.5)
    assert result.verdict is Verdict.PARTIAL


def test_open_wrong_way_round_is_wrong() -> None:
    result = grade(OPEN, "L2 gives sparse weights")
    assert result.verdict is Verdict.WRONG
    assert result.score == 0.0
    assert result.covered == ()
    assert result.misconceptions == (L2_SPARSE.point,)


def test_open_partial_between_thresholds() -> None:
    result = grade(OPEN, "Lasso drives weights to zero")
    assert result.score == pytest.approx(1 / 3)
    assert result.verdict is Verdict.PARTIAL


def test_open_punctuation_only_is_invalid() -> None:
    with pytest.raises(InvalidAnswer):
        grade(OPEN, "?!...")


@given(st.text(max_size=200))
@settings(max_examples=150, deadline=None)
def test_grade_only_raises_quiz_errors(text: str) -> None:
    for question in (CHOICE, L1, SHARE, OPEN):
        try:
            result = grade(question, text)
        except QuizError as exc:
            assert exc.message
        else:
            assert 0.0 <= result.score <= 1.0
