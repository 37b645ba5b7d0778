"""Grading rules from docs/question-format.md, one behaviour per test."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.grading import OPEN_SETS, Measures, load_labels, measure, measure_open
from bot.core import messages
from bot.core.bank import load_bank
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


# --- issue 10: negation, polarity, partial credit, one-letter words, wrapped answers -------

GENERATIVE = KeyPoint(
    point="Naive Bayes is generative", subject=("naive bayes",), claim=("generative",)
)
DISCRIMINATIVE = KeyPoint(
    point="Logistic regression is discriminative",
    subject=("logistic regression",),
    claim=("discriminative",),
)
JOINT = KeyPoint(
    point="Generative models learn the joint", subject=("generative",), claim=("joint",)
)
BOUNDARY = KeyPoint(
    point="Discriminative models learn the boundary",
    subject=("discriminative",),
    claim=("boundary", "p y x"),
)
MORE_DATA = KeyPoint(
    point="Discriminative wins with more data", subject=("more data",), claim=("discriminative",)
)
LR_GENERATIVE = KeyPoint(
    point="Says logistic regression is generative",
    subject=("logistic regression",),
    claim=("generative",),
)
GEN_DISC = make(
    Kind.OPEN,
    reference="Naive Bayes models the joint; logistic regression learns P(y|x).",
    key_points=(GENERATIVE, DISCRIMINATIVE, JOINT, BOUNDARY, MORE_DATA),
    misconceptions=(LR_GENERATIVE,),
)
TYPE_I = KeyPoint(
    point="Type I is a false positive", subject=("type i",), claim=("false positive",)
)
TYPE_II = KeyPoint(
    point="Type II is a false negative", subject=("type ii",), claim=("false negative",)
)
TRADE = KeyPoint(point="They trade off", subject=("threshold",), claim=("trade", "other"))
TYPES = make(
    Kind.OPEN,
    reference="Type I is a false positive, Type II a false negative.",
    key_points=(TYPE_I, TYPE_II, TRADE),
)
ORDER = KeyPoint(
    point="backward() then step()",
    subject=("backward",),
    claim=("then step", "before step", "followed by step"),
)
ZERO = KeyPoint(
    point="Zero the gradients", subject=("zero grad",), claim=("clear", "reset", "first")
)
EVAL = KeyPoint(point="eval() and no_grad() to validate", subject=("eval",), claim=("no grad",))
STEP_FIRST = KeyPoint(
    point="Steps before computing gradients",
    subject=("step before",),
    claim=("backward",),
)
LOOP = make(
    Kind.OPEN,
    reference="Zero the gradients, backward, then step; eval() and no_grad() to validate.",
    key_points=(ORDER, ZERO, EVAL),
    misconceptions=(STEP_FIRST,),
)
CANARY = make(
    Kind.SHORT,
    answers=("canary", "canary release", "canary deployment"),
    rejected=("shadow deployment", "blue-green"),
)
INERTIA = make(Kind.SHORT, answers=("inertia", "WCSS"), rejected=("silhouette",))
DISTIL = make(Kind.SHORT, answers=("knowledge distillation", "distillation"), rejected=("pruning",))
ORTHO = make(Kind.SHORT, answers=("orthogonal", "perpendicular"), rejected=("parallel",))
LOOCV = make(Kind.SHORT, answers=("leave-one-out", "LOOCV"), rejected=("k-fold",))
MAR = make(Kind.SHORT, answers=("MAR", "missing at random"), rejected=("MCAR", "MNAR"))
TYPE_I_SHORT = make(Kind.SHORT, answers=("type I error", "type I"), rejected=("type II error",))
SIXTEEN = make(Kind.NUMERIC, answer=16.0, tolerance=0.0)
RATIO = make(Kind.NUMERIC, answer=1.08, tolerance=0.005)
RECALL = make(Kind.NUMERIC, answer=0.35, tolerance=0.005)


@pytest.mark.parametrize(
    "answer",
    [
        "L1 does not make weights zero.",
        "Lasso never gives sparse weights",
        "L1 weights are not sparse",
        "There is no sparsity with L1, since lasso isn't sparse",
        "It is not true that L1 drives weights to zero",
        "It's not the case that lasso makes weights sparse",
        "It is not true that L1 gives zeros and that lasso is sparse.",
    ],
)
def test_open_negated_claim_does_not_count(answer: str) -> None:
    result = grade(OPEN, answer)
    assert SPARSITY.point not in result.covered, answer
    assert result.verdict is Verdict.WRONG


def test_open_non_prefix_negates_the_claim() -> None:
    point = KeyPoint(point="Kernels are linear", subject=("kernel",), claim=("linear",))
    question = make(Kind.OPEN, reference="r", key_points=(point, SHRINK, UNITS))
    assert grade(question, "a kernel is non-linear").covered == ()
    assert grade(question, "a kernel is linear").covered == (point.point,)


def test_open_not_only_still_asserts_the_claim() -> None:
    assert SPARSITY.point in grade(OPEN, "L1 not only shrinks, it sets weights to zero").covered


def test_open_negation_before_a_comma_leaves_the_next_part_asserted() -> None:
    assert SPARSITY.point in grade(OPEN, "Without tuning, L1 sets weights to zero").covered


def test_open_claim_called_false_after_it_does_not_count() -> None:
    assert grade(OPEN, "That L1 drives weights to zero is a myth").covered == ()
    assert grade(OPEN, "Saying lasso gives sparse weights is wrong").covered == ()


def test_open_denial_ends_at_but() -> None:
    result = grade(OPEN, "It is not true that ridge shrinks weights, but lasso makes them zero.")
    assert result.covered == (SPARSITY.point,)


def test_open_but_inside_the_denied_claim_does_not_end_the_denial() -> None:
    # Only ", but" starts an asserted contrast; here "but" belongs to the denied claim.
    result = grade(OPEN, "It is not true that L1 gives zeros but L2 shrinks weights.")
    assert result.covered == ()


# Two contrasted key points, as in "explain A versus B" questions.
BIAS = KeyPoint(point="Bias comes from too simple a model", subject=("bias",), claim=("simpl",))
VARIANCE = KeyPoint(
    point="Variance is sensitivity to the training sample",
    subject=("variance", "overfit"),
    claim=("sensitiv", "gap"),
)
VALIDATE = KeyPoint(point="Balance it on validation data", subject=("validation",), claim=("pick",))
TRADE_OFF = make(
    Kind.OPEN,
    reference="Bias: too simple. Variance: sensitive to the sample. Pick on validation data.",
    key_points=(BIAS, VARIANCE, VALIDATE),
    examples=(Example(Verdict.GOOD, "Bias comes from simple models."),),
)


def test_open_a_new_subject_with_a_verb_after_and_starts_a_new_claim() -> None:
    # Neither half states a whole point, yet "and variance is" starts a second claim, so
    # "sensitive" is not read as part of a claim about bias.
    text = "bias is how sensitive it is, and variance is the error from assumptions"
    assert clauses(text, TRADE_OFF.key_points) == [
        ["bias", "is", "how", "sensitive", "it", "is"],
        ["and", "variance", "is", "the", "error", "from", "assumptions"],
    ]


def test_open_claim_of_one_point_said_of_another_points_subject_is_a_mistake() -> None:
    swapped = grade(TRADE_OFF, "Bias is how sensitive the model is to the training sample.")
    assert swapped.verdict is Verdict.WRONG and swapped.covered == ()
    assert swapped.misconceptions == (messages.swapped_claim(VARIANCE.point),)
    # Read backwards too: "a big gap means <the other point's subject>".
    assert grade(TRADE_OFF, "A big gap means the model has high bias.").misconceptions == (
        messages.swapped_claim(VARIANCE.point),
    )


def test_open_right_way_round_or_shared_words_are_no_swap() -> None:
    right = grade(TRADE_OFF, "Bias comes from a simple model; variance is sensitivity to the data.")
    assert right.misconceptions == () and len(right.covered) == 2
    # "pick" belongs to the validation point, but a clause that states a point is no swap,
    # and a claim far from the subject or not linked by a verb is none either.
    assert grade(TRADE_OFF, "Bias is simple to pick.").misconceptions == ()
    far = "Bias, in my experience with many models, is rarely sensitive."
    assert grade(TRADE_OFF, far).misconceptions == ()
    assert grade(TRADE_OFF, "The sensitive errors and the bias.").misconceptions == ()


def test_open_subject_after_than_is_only_the_yardstick() -> None:
    assert grade(TRADE_OFF, "A rigid rule is simpler than bias").covered == ()
    assert grade(TRADE_OFF, "Bias comes from a model simpler than the truth").covered == (
        BIAS.point,
    )


def test_open_because_before_a_new_subject_and_verb_starts_a_new_claim() -> None:
    # "first" is said of fine-tuning; "because prompting cannot ..." is a claim of its own.
    start = KeyPoint(point="Start with prompting", subject=("prompt",), claim=("first",))
    question = make(
        Kind.OPEN,
        reference="Start with prompting.",
        key_points=(start, BIAS, VALIDATE),
        examples=(Example(Verdict.GOOD, "Try prompting first."),),
    )
    assert grade(question, "Fine-tuning comes first, because prompting cannot help.").covered == ()
    assert grade(question, "Try prompting first because it is cheap.").covered == (start.point,)


def test_open_the_verb_after_a_subject_is_not_a_swapped_claim() -> None:
    # "finds" is both the verb after "bias" and a claim word of the validation point.
    found = KeyPoint(point="Validation finds the balance", subject=("validation",), claim=("find",))
    question = make(
        Kind.OPEN,
        reference="Validation finds the balance.",
        key_points=(BIAS, VARIANCE, found),
        examples=(Example(Verdict.GOOD, "Validation finds it."),),
    )
    assert grade(question, "Bias finds its way in.").misconceptions == ()
    assert grade(question, "Bias is what we find there.").misconceptions != ()


def test_open_without_only_negates_what_follows_it() -> None:
    assert grade(OPEN, "Without much tuning lasso gives zeros").covered == (SPARSITY.point,)
    assert grade(OPEN, "Lasso works without zeros").covered == ()
    assert grade(OPEN, "Lasso works without any zeros").covered == ()


def test_open_no_only_negates_the_noun_after_it() -> None:
    assert grade(OPEN, "With no labels at all lasso gives zeros").covered == (SPARSITY.point,)
    assert grade(OPEN, "Lasso gives no zeros").covered == ()
    assert grade(OPEN, "There is no need for lasso to give zeros").covered == ()


def test_open_negated_none_phrase_does_not_block_the_point() -> None:
    defined = KeyPoint(
        point="Evaluated once", subject=("default",), claim=("once",), none=("each call",)
    )
    question = make(Kind.OPEN, reference="r", key_points=(defined, SHRINK, UNITS))
    assert grade(question, "The default is built once, not on each call.").covered == (
        defined.point,
    )
    assert grade(question, "The default is built once on each call.").covered == ()


def test_open_leading_pronoun_stands_for_the_previous_clauses_subject() -> None:
    result = grade(OPEN, "L1 sets weights to zero, but it also uses absolute values.")
    assert result.covered == (SPARSITY.point, UNITS.point)
    # A clause with a subject of its own, or a pronoun deep inside it, keeps its words.
    assert grade(OPEN, "Lasso sets weights to zero. Ridge shrinks it.").covered == (
        SPARSITY.point,
        SHRINK.point,
    )
    assert UNITS.point not in grade(OPEN, "L1 is sparse. We use values and it is absolute.").covered


GAP = KeyPoint(
    point="Overfitting shows as a gap", subject=("training error",), claim=("much higher",)
)
STEP = KeyPoint(
    point="The learning rate scales each step", subject=("learning rate",), claim=("step",)
)
LOW_RATE = KeyPoint(point="Too low is slow", subject=("learning rate",), claim=("slow",))
SHARED_UNIT = KeyPoint(
    point="Skip it when features share a unit", subject=("same unit",), claim=("meaningful",)
)
CURVES = dataclasses.replace(
    make(Kind.OPEN, reference="r", key_points=(GAP, STEP, LOW_RATE, SHARED_UNIT)),
    prompt="Explain the role of the learning rate. How do you notice overfitting?",
)


def test_open_condition_stays_with_its_consequence() -> None:
    text = "If features share the same unit, the training error is much higher."
    assert len(clauses(text, (GAP, SHARED_UNIT))) == 1
    # Without the condition the comma before a new claim splits.
    assert (
        len(clauses("Features share the same unit, the training error is much higher.", (GAP,)))
        == 2
    )


def test_open_negation_before_a_condition_leaves_the_condition_asserted() -> None:
    answer = "You might not standardise when all features share the same unit, as it is meaningful."
    assert grade(CURVES, answer).covered == (SHARED_UNIT.point,)
    assert grade(CURVES, "The same unit is not meaningful.").covered == ()


def test_open_leading_pronoun_of_the_first_clause_stands_for_the_prompts_topic() -> None:
    assert grade(CURVES, "It scales every step.").covered == (STEP.point,)
    # Only a pronoun at the start of the answer: later clauses need an antecedent.
    assert grade(CURVES, "Gradient descent needs care. It scales every step.").covered == ()


def test_open_clause_without_a_subject_goes_on_about_the_previous_clauses_subject() -> None:
    answer = "The learning rate matters: too big diverges, but too small is slow."
    assert grade(CURVES, answer).covered == (LOW_RATE.point,)
    # Not across a semicolon, nor after "while" (which turns to another subject).
    assert grade(CURVES, "The learning rate matters; too small is slow.").covered == ()
    assert grade(CURVES, "The learning rate matters, while too small is slow.").covered == ()


OUTAGES = KeyPoint(point="Check past incidents", subject=("precision",), claim=("past incident",))
EXPLODING = KeyPoint(point="Clip exploding gradients", subject=("clip",), claim=("exploding",))
LESS_VARIANCE = KeyPoint(
    point="Averaging reduces variance",
    subject=("averag",),
    claim=("reduces variance",),
    none=("reduc bias",),
)
TINY = KeyPoint(point="Averaging keeps it small", subject=("averag",), claim=("small model",))
COUNTED = KeyPoint(point="Count the incidents", subject=("check",), claim=("how many",))
PLAIN = make(
    Kind.OPEN, reference="r", key_points=(OUTAGES, EXPLODING, LESS_VARIANCE, TINY, COUNTED)
)


@pytest.mark.parametrize(
    ("answer", "point"),
    [
        ("Measure precision on past outages.", OUTAGES),
        ("Clip them when they blow up.", EXPLODING),
        ("Averaging the trees makes the variance drop.", LESS_VARIANCE),
        ("Averaging lowers variance.", LESS_VARIANCE),
        ("Averaging makes a tiny model.", TINY),
        ("Check the number of past incidents.", COUNTED),
    ],
)
def test_open_plain_word_paraphrases_of_a_phrase_match(answer: str, point: KeyPoint) -> None:
    assert grade(PLAIN, answer).covered == (point.point,)


@pytest.mark.parametrize(
    ("phrase", "answer"),
    [
        ("normalise", "We normalize the inputs"),
        ("normalization", "Apply normalisation first"),
        ("behaviour", "Its behavior changes"),
        ("labelled", "Use the labeled rows"),
        ("modeling", "Modelling the noise helps"),
        ("centre", "The center moves"),
        ("artifact", "The artefact ships"),
    ],
)
def test_open_british_and_american_spellings_match(phrase: str, answer: str) -> None:
    point = KeyPoint(point="p", subject=(phrase,), claim=(answer.split()[-1],))
    question = make(Kind.OPEN, reference="r", key_points=(point, SHRINK, UNITS))
    assert grade(question, answer).covered == (point.point,)


def test_open_compounds_match_written_as_one_word_or_two() -> None:
    point = KeyPoint(point="p", subject=("data set",), claim=("non linear",))
    question = make(Kind.OPEN, reference="r", key_points=(point, SHRINK, UNITS))
    assert grade(question, "The dataset is nonlinear.").covered == (point.point,)
    # "non" inside the phrase is no negation of it.
    assert grade(question, "The data set is non-linear.").covered == (point.point,)
    swapped = KeyPoint(point="p", subject=("dataset",), claim=("nonlinear",))
    question = make(Kind.OPEN, reference="r", key_points=(swapped, SHRINK, UNITS))
    assert grade(question, "The data set is non-linear.").covered == (swapped.point,)


def test_open_none_phrases_are_not_paraphrased() -> None:
    assert grade(PLAIN, "Averaging reduces variance and lowers bias.").covered == (
        LESS_VARIANCE.point,
    )
    assert grade(PLAIN, "Averaging reduces variance and reduces bias.").covered == ()


def test_open_swap_is_not_counted_on_top_of_a_listed_misconception() -> None:
    result = grade(OPEN, "L1 gives zeros, L1 is absolute. L2 shrinks. Ridge is sparse too.")
    assert result.misconceptions == (L2_SPARSE.point,)


def test_open_doesnt_matter_negates_while_no_matter_does_not() -> None:
    matters = KeyPoint(point="It matters for rare classes", subject=("rare",), claim=("matter",))
    question = make(
        Kind.OPEN,
        reference="It matters most for rare classes.",
        key_points=(matters, BIAS, VALIDATE),
        examples=(Example(Verdict.GOOD, "It matters for rare classes."),),
    )
    assert grade(question, "Stratifying doesn't matter for rare classes").covered == ()
    assert grade(question, "Not only for rare classes does it matter").covered == (matters.point,)
    assert grade(question, "It does matter for rare classes").covered == (matters.point,)


def test_open_phrase_verb_ending_in_e_matches_its_ing_form() -> None:
    average = KeyPoint(point="Scores are averaged", subject=("average",), claim=("score",))
    question = make(
        Kind.OPEN,
        reference="Average the scores.",
        key_points=(average, BIAS, VALIDATE),
        examples=(Example(Verdict.GOOD, "Average the scores."),),
    )
    assert grade(question, "Averaging the fold scores").covered == (average.point,)
    assert grade(question, "The scores average out").covered == (average.point,)


def test_open_denial_covers_the_whole_sentence_across_semicolons() -> None:
    result = grade(OPEN, "It is not true that L1 gives zeros; L2 shrinks weights.")
    assert result.covered == ()
    assert grade(OPEN, "It is not true that L1 gives zeros. L2 shrinks weights.").covered == (
        SHRINK.point,
    )


def test_open_reversed_facts_score_nothing() -> None:
    result = grade(GEN_DISC, "Logistic regression is generative and naive Bayes is discriminative.")
    assert result.covered == ()
    assert result.misconceptions == (LR_GENERATIVE.point,)
    assert result.verdict is Verdict.WRONG


def test_open_right_way_round_scores_both_points() -> None:
    result = grade(GEN_DISC, "Naive Bayes is generative and logistic regression is discriminative.")
    assert result.covered == (GENERATIVE.point, DISCRIMINATIVE.point)


def test_open_misconception_in_a_clause_contradicts_its_key_points() -> None:
    result = grade(LOOP, "Call step before backward, then step again. Zero grad first.")
    assert ORDER.point not in result.covered
    assert result.misconceptions == (STEP_FIRST.point,)


def test_open_step_before_backward_does_not_score() -> None:
    result = grade(LOOP, "Call optimizer.step() before loss.backward(); zero_grad is not needed.")
    assert result.covered == ()
    assert result.verdict is Verdict.WRONG


def test_open_backward_then_step_scores() -> None:
    result = grade(LOOP, "Zero grad first, call loss.backward() then step().")
    assert result.covered == (ORDER.point, ZERO.point)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Type I is a false positive and Type II is a false negative",
            [["type", "i", "is", "a", "false", "positive"], ["and", "type", "ii", "is", "a"]],
        ),
        ("Use precision and recall", [["use", "precision", "and", "recall"]]),
        ("Type I and type II errors trade off", [["type", "i", "and", "type", "ii", "errors"]]),
    ],
)
def test_and_splits_only_where_a_new_claim_starts(text: str, expected: list[list[str]]) -> None:
    found = clauses(text, TYPES.key_points)
    assert [clause[: len(want)] for clause, want in zip(found, expected, strict=False)] == expected
    assert len(found) == len(expected)


def test_and_inside_a_phrase_never_splits() -> None:
    point = KeyPoint(point="PR", subject=("metric",), claim=("precision and recall",))
    other = KeyPoint(point="R", subject=("recall",), claim=("rate",))
    found = clauses("the metric is precision and recall is its rate", (point, other))
    assert found == [["the", "metric", "is", "precision", "and", "recall", "is", "its", "rate"]]


def test_comma_list_stays_one_clause_but_a_new_claim_splits() -> None:
    assert clauses("Use dropout, weight decay", (SHRINK, L2_SPARSE)) == [
        ["use", "dropout", "weight", "decay"]
    ]
    assert clauses("L1 gives zeros, ridge shrinks weights", OPEN.key_points) == [
        ["l1", "gives", "zeros"],
        ["ridge", "shrinks", "weights"],
    ]


def test_textbook_type_i_and_ii_answer_scores() -> None:
    result = grade(TYPES, "Type I is a false positive and Type II is a false negative")
    assert result.covered == (TYPE_I.point, TYPE_II.point)
    assert result.verdict is Verdict.PARTIAL
    assert grade(TYPES, "Type 1 is a false positive, type 2 a false negative").covered == (
        TYPE_I.point,
        TYPE_II.point,
    )


@pytest.mark.parametrize(
    "answer",
    ["Type II is a false positive", "The type is a false positive", "types false positive"],
)
def test_one_letter_words_match_only_themselves(answer: str) -> None:
    assert TYPE_I.point not in grade(TYPES, answer).covered


def test_e_g_does_not_match_every_good() -> None:
    example = KeyPoint(point="Gives an example", subject=("bayes",), claim=("e g",))
    question = make(Kind.OPEN, reference="r", key_points=(example, SHRINK, UNITS))
    assert grade(question, "Every good model uses Bayes").covered == ()
    assert grade(question, "Bayes, e.g. naive Bayes").covered == (example.point,)


def test_one_extra_word_may_sit_inside_a_phrase_but_not_a_negation() -> None:
    raise_ = KeyPoint(
        point="Raising the threshold raises precision",
        subject=("raising the threshold",),
        claim=("precision",),
    )
    question = make(Kind.OPEN, reference="r", key_points=(raise_, SHRINK, UNITS))
    assert grade(question, "Raising the decision threshold increases precision").covered == (
        raise_.point,
    )
    assert grade(question, "Raising the not threshold increases precision").covered == ()


def test_claim_about_the_compared_thing_is_not_about_the_subject() -> None:
    sequential = KeyPoint(
        point="Says transformers are sequential", subject=("transformer",), claim=("sequential",)
    )
    question = make(Kind.OPEN, reference="r", key_points=(SHRINK, UNITS, SPARSITY))
    question = make(
        Kind.OPEN, reference="r", key_points=question.key_points, misconceptions=(sequential,)
    )
    assert grade(question, "Transformers are faster than a sequential RNN").misconceptions == ()
    assert grade(question, "Transformers are sequential").misconceptions == (sequential.point,)


def test_one_point_of_five_is_partly_right() -> None:
    result = grade(GEN_DISC, "Naive Bayes is a generative model.")
    assert result.score == pytest.approx(0.2)
    assert result.verdict is Verdict.PARTIAL
    assert result.covered == (GENERATIVE.point,)
    assert result.missed == (DISCRIMINATIVE.point, JOINT.point, BOUNDARY.point, MORE_DATA.point)


def test_one_point_with_a_misconception_is_wrong_and_named() -> None:
    result = grade(GEN_DISC, "Naive Bayes is generative. Logistic regression is generative too.")
    assert result.verdict is Verdict.WRONG
    assert result.misconceptions == (LR_GENERATIVE.point,)


def test_open_feedback_lists_covered_missed_and_misconceptions() -> None:
    result = grade(
        GEN_DISC,
        "Naive Bayes is generative and learns the joint. Logistic regression is generative.",
    )
    assert result.covered == (GENERATIVE.point, JOINT.point)
    assert result.missed == (DISCRIMINATIVE.point, BOUNDARY.point, MORE_DATA.point)
    assert result.misconceptions == (LR_GENERATIVE.point,)


DETECTOR = KeyPoint(
    point="Fit an isolation forest on normal data",
    subject=("isolation forest",),
    claim=("normal",),
    part="build",
)
SEASONS = KeyPoint(
    point="Model the daily pattern", subject=("daily",), claim=("pattern",), part="build"
)
BUDGET = KeyPoint(
    point="Set the threshold from the alert budget",
    subject=("threshold",),
    claim=("budget",),
    part="threshold",
)
INCIDENTS = KeyPoint(
    point="Check precision on past incidents",
    subject=("precision",),
    claim=("incident",),
    part="evaluate",
)
DETECT = make(
    Kind.OPEN,
    reference="Isolation forest on normal data; threshold from the budget; precision on incidents.",
    key_points=(DETECTOR, SEASONS, BUDGET, INCIDENTS),
)


def test_open_answer_missing_a_whole_part_of_the_prompt_is_partly_right() -> None:
    answer = (
        "Fit an isolation forest on normal data and remove the daily pattern. "
        "Set the threshold from the alert budget."
    )
    result = grade(DETECT, answer)
    assert result.covered == (DETECTOR.point, SEASONS.point, BUDGET.point)
    assert result.verdict is Verdict.PARTIAL
    assert result.score == pytest.approx(0.65)
    assert result.missed == (INCIDENTS.point,)


def test_open_answer_covering_every_part_can_be_good() -> None:
    answer = (
        "Fit an isolation forest on normal data. Set the threshold from the alert budget. "
        "Check precision on past incidents."
    )
    result = grade(DETECT, answer)
    assert result.verdict is Verdict.GOOD
    assert result.score == pytest.approx(0.75)


def test_open_points_without_parts_need_no_part_covered() -> None:
    unparted = make(
        Kind.OPEN,
        reference=DETECT.reference,
        key_points=tuple(dataclasses.replace(p, part="") for p in DETECT.key_points),
    )
    answer = (
        "Fit an isolation forest on normal data and remove the daily pattern. "
        "Set the threshold from the alert budget."
    )
    assert grade(unparted, answer).verdict is Verdict.GOOD


@pytest.mark.parametrize(
    "answer",
    [
        "It's a canary.",
        "canary I guess",
        "I think it's a canary release",
        "the answer is canary",
        "probably canary deployment",
        "Canary deployment, I think",
        "canery",
        "canary release strategy",
        "This is called a canary release.",
    ],
)
def test_short_strips_lead_ins_hedges_and_forgives_one_typo(answer: str) -> None:
    result = grade(CANARY, answer)
    assert result.verdict is Verdict.GOOD, answer
    assert result.matched in CANARY.answers


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (LOOCV, "I think it's leave-one-out"),
        (LOOCV, "Leave one out, I'd say"),
        (MAR, "missing at random (MAR)"),
        (MAR, "MAR or missing at random"),
        (ORTHO, "They are perpendicular."),
        (ORTHO, "ortogonal"),
        (TYPE_I_SHORT, "type one error"),
        (TYPE_I_SHORT, "Type 1"),
    ],
)
def test_short_accepts_realistic_wordings(question: Question, answer: str) -> None:
    assert grade(question, answer).verdict is Verdict.GOOD, answer


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (ORTHO, "not orthogonal"),
        (ORTHO, "non-orthogonal"),
        (ORTHO, "it's not orthogonal"),
        (ORTHO, "They are not perpendicular"),
        (ORTHO, "nonorthogonal"),
        (CANARY, "no canary"),
        (CANARY, "isn't a canary release"),
        (MAR, "not missing at random"),
        (INERTIA, "ertia"),
        (INERTIA, "inert"),
        (DISTIL, "tillation"),
        (CANARY, "anary"),
        (CANARY, "shadow canary"),
        (CANARY, "canary or shadow deployment"),
        (TYPE_I_SHORT, "type II error"),
        (TYPE_I_SHORT, "type is"),
        (TYPE_I_SHORT, "type I or type II error"),
    ],
)
def test_short_rejects_negations_fragments_and_mixed_answers(
    question: Question, answer: str
) -> None:
    assert grade(question, answer).verdict is Verdict.WRONG, answer


def test_short_typo_needs_a_long_word() -> None:
    short_word = make(Kind.SHORT, answers=("adam",), rejected=("sgd",))
    assert grade(short_word, "adam").verdict is Verdict.GOOD
    assert grade(short_word, "adan").verdict is Verdict.WRONG


def test_short_tie_between_answer_and_near_miss_goes_to_the_near_miss() -> None:
    close = make(Kind.SHORT, answers=("lemmatise",), rejected=("lemmatiser",))
    assert grade(close, "lemmatiser").verdict is Verdict.WRONG


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (SIXTEEN, "sixteen"),
        (SIXTEEN, "16 fits"),
        (SIXTEEN, "It's 16."),
        (RATIO, "~1.08"),
        (RATIO, "about 1.08"),
        (RATIO, "≈ 1.08"),
        (RECALL, "recall = 0.35"),
        (RECALL, "0.35 recall"),
        (SHARE, "25 %"),
        (SHARE, "twenty-five percent"),
    ],
)
def test_numeric_reads_one_number_from_a_short_sentence(question: Question, answer: str) -> None:
    result = grade(question, answer)
    assert result.verdict is Verdict.GOOD, answer


def test_numeric_sentence_with_a_wrong_number_is_wrong() -> None:
    assert grade(RECALL, "recall = 0.53").verdict is Verdict.WRONG


@pytest.mark.parametrize("answer", ["0.35 or 0.4", "not 0.35", "between 0.3 and 0.4", "16ms"])
def test_numeric_ambiguous_or_negated_number_is_asked_again(answer: str) -> None:
    with pytest.raises(InvalidAnswer, match="1/4"):
        grade(RECALL, answer)


@given(st.text(alphabet=st.sampled_from(list("abe ilnortx019.,;:-%~=()'I")), max_size=80))
@settings(max_examples=300, deadline=None)
def test_grade_only_ever_raises_invalid_answer(text: str) -> None:
    for question in (CHOICE, CANARY, TYPE_I_SHORT, RECALL, SHARE, OPEN, GEN_DISC, LOOP):
        try:
            result = grade(question, text)
        except InvalidAnswer as exc:
            assert exc.message
        else:
            assert 0.0 <= result.score <= 1.0
            assert result.verdict in Verdict


# --- the labelled sets in bench/data (issue 10 targets; timings live in bench/grading.py) --


@pytest.fixture(scope="module")
def measured() -> Measures:
    return measure()


def test_labelled_short_answers_meet_the_targets(measured: Measures) -> None:
    assert measured.right_total >= 400 and measured.wrong_total >= 400
    assert measured.rate("short_false_accepts") <= 0.01, measured.false_accepts
    assert measured.rate("short_false_rejects") <= 0.02, measured.false_rejects


def test_negated_forms_of_right_answers_are_not_accepted(measured: Measures) -> None:
    assert measured.rate("negated_accepted") <= 0.02, measured.negated_accepted
    assert measured.rate("open_negated_accepted") <= 0.02, measured.open_negated_accepted


def test_open_held_out_grading_does_not_regress(measured: Measures) -> None:
    # A ratchet at the level measured with the bank on this branch: an engine change that
    # loses agreement on either labelled set fails here even before the targets are met.
    first, fresh = measured.open_set("open_heldout"), measured.open_set("open_heldout_fresh")
    assert first.total >= 140 and fresh.total >= 150
    assert len(load_labels(OPEN_SETS[1])["answers"]) >= 40
    # Measured with prompt parts, conditions and paraphrases: 95.8% / 99.2% and 97.7% / 99.1%.
    assert measured.rate("open_agreement", "open_heldout") >= 0.95, first.disagreements
    assert measured.rate("open_ordering", "open_heldout") >= 0.99
    assert measured.rate("open_agreement", "open_heldout_fresh") >= 0.97, fresh.disagreements
    assert measured.rate("open_ordering", "open_heldout_fresh") >= 0.99


def test_open_held_out_grading_meets_the_targets(measured: Measures) -> None:
    for name in ("open_heldout", "open_heldout_fresh"):
        figures = measured.open_set(name)
        assert measured.rate("open_agreement", name) >= 0.90, figures.disagreements
        assert measured.rate("open_ordering", name) >= 0.97, name


def test_measure_open_grades_only_the_sets_asked_for() -> None:
    measures = Measures()
    measure_open(load_bank(), measures, sets=[OPEN_SETS[0]])
    assert list(measures.open_sets) == [OPEN_SETS[0].stem]
    assert measures.open_set(OPEN_SETS[0].stem).total >= 140
