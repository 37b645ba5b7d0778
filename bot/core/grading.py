"""Grades a member's answer against a question (rules: docs/question-format.md).

Grading is pure and deterministic: the same answer to the same question always gets the
same Grade, so a pack's open-question examples double as its tests.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from rapidfuzz import fuzz, process

from bot.core.errors import InvalidAnswer
from bot.core.models import Grade, KeyPoint, Kind, Question, Verdict

log = logging.getLogger(__name__)

# Short answers: a phrase of this many characters (normalised) or fewer must match exactly;
# up to SHORT_PHRASE characters needs SHORT_SCORE, longer phrases LONG_SCORE (rapidfuzz 0-100).
EXACT_ONLY = 3
SHORT_PHRASE = 6
SHORT_SCORE = 85.0
LONG_SCORE = 80.0
# A choice answered by its text instead of its letter must be this close to one option.
CHOICE_TEXT_SCORE = 90.0
# Open answers: the verdict thresholds and what each misconception found costs.
GOOD_SCORE = 0.7
PARTIAL_SCORE = 0.3
MISCONCEPTION_COST = 0.5

UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBER_WORDS = {word: value for value, word in enumerate(UNITS)} | {
    word: 20 + 10 * index for index, word in enumerate(TENS)
}
HUNDRED, THOUSAND = "hundred", "thousand"
SPELLED = {str(value): word for word, value in NUMBER_WORDS.items()} | {
    "100": HUNDRED,
    "1000": THOUSAND,
}
CLAUSE_WORDS = frozenset({"but", "whereas", "while", "however", "although", "though", "unlike"})

_DASHES = re.compile(r"[-_\u2010-\u2015\u2212]")
_APOSTROPHES = re.compile(r"['\u2018\u2019`]")
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")
# Words, keeping decimals and fractions ("0.25", "1/4") whole.
_WORD = re.compile(r"[0-9]+(?:[./][0-9]+)+|[^\W_]+")
# Sentence ends (a dot before white space, so decimals and `loss.backward()` stay whole),
# semicolons, ! ? and line breaks. A colon does not break: "Bagging: trains in parallel"
# states one claim about its label.
_CLAUSE_BREAK = re.compile(r"[;!?\n\r]|\.(?=\s|$)")
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|vs)\.", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_LETTER = re.compile(
    r"^(?:(?:option|answer|choice|letter)\s+)?\(?([a-z])\s*(?:[).:\]]\s*(?:.*))?$",
    re.IGNORECASE | re.DOTALL,
)
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?", re.IGNORECASE)
_FRACTION = re.compile(r"([-+]?[0-9]+(?:\.[0-9]+)?)\s*/\s*([0-9]+(?:\.[0-9]+)?)")


def _fold(text: str) -> str:
    """Lowercase without accents: NFKD, drop combining marks, casefold (twice for ß-like)."""
    for _ in range(2):
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return text


def _number_words(words: Sequence[str]) -> list[str]:
    """Replace runs of number words ("twenty five", "two hundred") by their digits."""
    out: list[str] = []
    total = current = 0
    last = ""  # what the previous word was: unit, tens, hundred, thousand, or "" (no number)

    def flush() -> None:
        nonlocal total, current, last
        if last:
            out.append(str(total + current))
        total = current = 0
        last = ""

    for word in words:
        value = NUMBER_WORDS.get(word)
        if value is not None:
            kind = "tens" if value >= 20 else "unit"
            if not (last in {HUNDRED, THOUSAND} or (last == "tens" and 0 < value < 10)):
                flush()
            current += value
            last = kind
        elif word == HUNDRED:
            if not (last in {"unit", "tens"} and 0 < current < 100):
                flush()
                current = 1
            current *= 100
            last = HUNDRED
        elif word == THOUSAND:
            if not (last in {"unit", "tens", HUNDRED} and current and not total):
                flush()
                current = 1
            total, current = current * 1000, 0
            last = THOUSAND
        else:
            flush()
            out.append(word)
    flush()
    return out


def normalize(text: str) -> str:
    """Fold case, accents, punctuation, hyphens and number words so spellings compare equal."""
    text = _DASHES.sub(" ", _APOSTROPHES.sub("", _fold(text)))
    words = _WORD.findall(_THOUSANDS.sub("", text))
    return " ".join(_number_words(words))


def grade(question: Question, answer: str) -> Grade:
    """Grade one answer; raises InvalidAnswer when it cannot be graded as given."""
    if not answer or not answer.strip():
        raise InvalidAnswer("Type an answer first.")
    if question.kind is Kind.CHOICE:
        result = grade_choice(question, answer)
    elif question.kind is Kind.SHORT:
        result = grade_short(question, answer)
    elif question.kind is Kind.NUMERIC:
        result = grade_numeric(question, answer)
    else:
        result = grade_open(question, answer)
    log.debug("graded %s: %s (%.2f)", question.id, result.verdict, result.score)
    return result


# --- choice --------------------------------------------------------------------------


def grade_choice(question: Question, answer: str) -> Grade:
    letters = question.letters
    hint = f"Answer with one of the letters {letters[0]}-{letters[-1]}."
    letter = _choice_letter(question, answer.strip())
    if letter is None or letter not in letters:
        raise InvalidAnswer(hint)
    choice = question.choices[letters.index(letter)]
    return Grade(
        verdict=Verdict.GOOD if choice.correct else Verdict.WRONG,
        score=1.0 if choice.correct else 0.0,
        normalized=letter,
        matched=choice.text,
    )


def _choice_letter(question: Question, answer: str) -> str | None:
    """The letter an answer names: "b", "B)", "(b)", "option b", or an option's text."""
    match = _LETTER.match(answer)
    if match:
        return match.group(1).upper()
    verbatim = [" ".join(choice.text.casefold().split()) for choice in question.choices]
    typed = " ".join(answer.casefold().split())
    if typed in verbatim:
        return question.letters[verbatim.index(typed)]
    # Options that only differ in punctuation ("clf.C", "clf__C") cannot be told apart here.
    texts = [normalize(choice.text) for choice in question.choices]
    best = process.extractOne(
        normalize(answer), texts, scorer=fuzz.ratio, score_cutoff=CHOICE_TEXT_SCORE
    )
    if best is None or texts.count(best[0]) > 1:
        return None
    return question.letters[best[2]]


# --- short ---------------------------------------------------------------------------


def _similarity(left: str, right: str, **_: Any) -> float:
    """Edit similarity that forgives word order and spacing ("regularization l1", "l 1")."""
    return max(
        fuzz.ratio(left, right),
        fuzz.token_sort_ratio(left, right),
        fuzz.ratio(left.replace(" ", ""), right.replace(" ", "")),
    )


def required_score(phrase: str) -> float:
    """The similarity a normalised phrase needs: exact when tiny, looser as it grows."""
    if len(phrase) <= EXACT_ONLY:
        return 100.0
    if len(phrase) <= SHORT_PHRASE:
        return SHORT_SCORE
    return LONG_SCORE


def grade_short(question: Question, answer: str) -> Grade:
    given = normalize(answer)
    if not given:
        raise InvalidAnswer("Type a word or a short phrase.")
    # Rejected phrases come first so that a tie between a near miss and an answer fails.
    phrases = [(normalize(p), p, False) for p in question.rejected]
    phrases += [(normalize(p), p, True) for p in question.answers]
    best = process.extractOne(given, [p[0] for p in phrases], scorer=_similarity)
    if best is not None:
        phrase, original, accepted = phrases[best[2]]
        if (
            accepted
            and best[1] >= required_score(phrase)
            and _DIGITS.findall(given) == _DIGITS.findall(phrase)
        ):
            return Grade(Verdict.GOOD, 1.0, normalized=given, matched=original)
    return Grade(Verdict.WRONG, 0.0, normalized=given)


# --- numeric -------------------------------------------------------------------------


def parse_number(text: str, *, percent: bool) -> float:
    """Read "0.25", "1/4", "2.5e-1", "1,000" or "25%"; raises InvalidAnswer otherwise."""
    raw = text.strip().replace("\u2212", "-").replace(" ", "")
    raw = _THOUSANDS.sub("", raw)
    scale = 1.0
    if raw.endswith("%"):
        raw = raw[:-1]
        scale = 0.01 if percent else 1.0
    value: float | None = None
    try:
        if _NUMBER.fullmatch(raw):
            value = float(raw)
        elif match := _FRACTION.fullmatch(raw):
            value = float(Fraction(match.group(1)) / Fraction(match.group(2)))
    except (ZeroDivisionError, OverflowError, ValueError):
        value = None
    if value is None or not math.isfinite(value):
        example = "0.25, 1/4, 2.5e-1, 1,000" + (" or 25%" if percent else "")
        raise InvalidAnswer(f"Answer with a number, for example {example}.")
    return value * scale


def grade_numeric(question: Question, answer: str) -> Grade:
    given = parse_number(answer, percent=question.percent)
    expected = question.answer if question.answer is not None else math.nan
    # A hair of slack so that 0.1 + 0.2 style float noise never fails a right answer.
    slack = 1e-9 * max(1.0, abs(expected))
    right = abs(given - expected) <= question.tolerance + slack
    return Grade(
        verdict=Verdict.GOOD if right else Verdict.WRONG,
        score=1.0 if right else 0.0,
        normalized=f"{given:g}",
    )


# --- open ----------------------------------------------------------------------------


def clauses(text: str) -> list[list[str]]:
    """Split an answer into clauses of normalised words (at . ; ! ? and "but", "while"...)."""
    text = _ABBREVIATIONS.sub(lambda match: match.group(1).replace(".", " "), _fold(text))
    found: list[list[str]] = []
    for piece in _CLAUSE_BREAK.split(text):
        clause: list[str] = []
        for word in normalize(piece).split():
            if word in CLAUSE_WORDS and clause:
                found.append(clause)
                clause = []
            clause.append(word)
        if clause:
            found.append(clause)
    return found


@functools.lru_cache(maxsize=4096)
def _phrase_words(phrase: str) -> tuple[tuple[str, ...], ...]:
    """A phrase's normalised words, each with its spelled form when it is a number word.

    "zero" becomes "0" like the answer's "zero", but must still match "zeros" and "zeroes",
    which are not number words and so keep their spelling.
    """
    return tuple(
        (word, SPELLED[word]) if word in SPELLED else (word,) for word in normalize(phrase).split()
    )


def phrase_spans(phrase: str, clause: Sequence[str]) -> list[range]:
    """Where a phrase's words start consecutive words of the clause ("unit" -> "units")."""
    words = _phrase_words(phrase)
    if not words:
        return []
    first, size = words[0], len(words)
    return [
        range(start, start + size)
        for start in range(len(clause) - size + 1)
        if clause[start].startswith(first)
        and all(clause[start + i].startswith(words[i]) for i in range(1, size))
    ]


def point_found(point: KeyPoint, clause: Sequence[str]) -> bool:
    """A subject and a claim in different places of one clause, and none of the `none`s."""
    if any(phrase_spans(phrase, clause) for phrase in point.none):
        return False
    subjects = [span for phrase in point.subject for span in phrase_spans(phrase, clause)]
    claims = [span for phrase in point.claim for span in phrase_spans(phrase, clause)]
    return any(
        subject.stop <= claim.start or claim.stop <= subject.start
        for subject in subjects
        for claim in claims
    )


def grade_open(question: Question, answer: str) -> Grade:
    parts = clauses(answer)
    if not parts:
        raise InvalidAnswer("Write a sentence or two in your own words.")
    covered = [p for p in question.key_points if any(point_found(p, c) for c in parts)]
    found = [m for m in question.misconceptions if any(point_found(m, c) for c in parts)]
    share = len(covered) / len(question.key_points) if question.key_points else 0.0
    score = min(1.0, max(0.0, share - MISCONCEPTION_COST * len(found)))
    if score >= GOOD_SCORE:
        verdict = Verdict.GOOD
    elif score >= PARTIAL_SCORE:
        verdict = Verdict.PARTIAL
    else:
        verdict = Verdict.WRONG
    return Grade(
        verdict=verdict,
        score=score,
        normalized=normalize(answer),
        covered=tuple(p.point for p in covered),
        missed=tuple(p.point for p in question.key_points if p not in covered),
        misconceptions=tuple(m.point for m in found),
    )
