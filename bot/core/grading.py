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
from dataclasses import dataclass
from fractions import Fraction

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.core.errors import InvalidAnswer
from bot.core.models import Grade, KeyPoint, Kind, Question, Verdict

log = logging.getLogger(__name__)

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
# A bracketed aside of two letters or more is an alternative ("MAR (missing at random)").
_BRACKETED = re.compile(r"\(([^()]*[^\W\d_]{2}[^()]*)\)")
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


def _word_sequences(*phrases: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(phrase.split()) for phrase in phrases)


# Openers and hedges that wrap a short answer ("It's X.", "I think it's X", "X I guess").
LEAD_INS = _word_sequences(
    "i think",
    "i believe",
    "i guess",
    "i suppose",
    "i would say",
    "id say",
    "i would guess",
    "id guess",
    "i would go with",
    "id go with",
    "i would use",
    "id use",
    "my guess is",
    "my answer is",
    "the answer is",
    "answer is",
    "answer",
    "pretty sure",
    "im pretty sure",
    "i am pretty sure",
    "im fairly sure",
    "if i remember correctly",
    "if im not mistaken",
    "im not sure but",
    "not sure but",
    "im not sure",
    "not sure",
    "probably",
    "maybe",
    "perhaps",
    "possibly",
    "likely",
    "definitely",
    "surely",
    "hmm",
    "hm",
    "um",
    "umm",
    "uh",
    "erm",
    "well",
    "so",
    "ok",
    "okay",
    "oh",
    "yes",
    "yeah",
    "its",
    "it is",
    "it would be",
    "itd be",
    "it should be",
    "it must be",
    "thats",
    "that is",
    "that would be",
    "thatd be",
    "this is",
    "these are",
    "those are",
    "they are",
    "theyre",
    "its called",
    "it is called",
    "this is called",
    "that is called",
    "they are called",
    "theyre called",
    "called",
    "known as",
    "we call it",
    "the term is",
    "the name is",
    "use",
    "with",
    "the",
    "a",
    "an",
)
HEDGES = _word_sequences(
    "i guess",
    "i think",
    "i believe",
    "i suppose",
    "i guess so",
    "i think so",
    "probably",
    "maybe",
    "perhaps",
    "right",
    "is my guess",
    "is my answer",
    "is the answer",
    "would be my guess",
    "if i remember correctly",
    "if im not mistaken",
    "im not sure",
    "not sure",
    "im pretty sure",
    "or something",
)
# Words that name the kind of thing and may be dropped from the end ("DBSCAN algorithm").
GENERIC_TAILS = frozenset(
    {
        "method",
        "technique",
        "algorithm",
        "approach",
        "strategy",
        "function",
        "procedure",
        "process",
        "model",
        "test",
        "plot",
        "distribution",
        "kernel",
        "metric",
        "score",
        "problem",
        "issue",
        "layer",
        "activation",
        "regularization",
        "regularisation",
    }
)
# Words after which the rest of a sentence is the answer ("the third term is noise").
COPULAS = frozenset({"is", "are", "called", "named", "termed"})
COPULA_REACH = 8  # a copula further into the answer than this starts no answer
ALTERNATIVES = frozenset({"or", "aka"})
NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "none",
        "nor",
        "neither",
        "non",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "wont",
        "wouldnt",
        "shouldnt",
        "couldnt",
        "hasnt",
        "havent",
        "aint",
        "without",
        "untrue",
    }
)
TYPO_LENGTH = 5  # a word this long may carry one typo (edit, insertion or swap) ...
LONG_TYPO_LENGTH = 8  # ... and this long two
PLURAL_LENGTH = 3  # a word this long may differ by a plural "s" or "es"


def _strip(words: Sequence[str], affixes: Sequence[tuple[str, ...]], *, end: bool) -> list[str]:
    """Remove lead-ins (or hedges at the end) until none is left, keeping at least one word."""
    out = list(words)
    changed = True
    while changed:
        changed = False
        for affix in affixes:
            size = len(affix)
            if len(out) <= size:
                continue
            part = tuple(out[-size:]) if end else tuple(out[:size])
            if part == affix:
                out = out[:-size] if end else out[size:]
                changed = True
    return out


def _unwrapped(words: Sequence[str]) -> list[str]:
    """The answer without its lead-ins and hedges."""
    return _strip(_strip(words, LEAD_INS, end=False), HEDGES, end=True)


def _core(words: Sequence[str]) -> list[str]:
    """Unwrapped, and without trailing generic words ("DBSCAN algorithm" -> "dbscan")."""
    out = _unwrapped(words)
    while len(out) > 1 and out[-1] in GENERIC_TAILS:
        out.pop()
    return out


@dataclass(frozen=True)
class _Phrase:
    forms: tuple[tuple[str, ...], ...]  # unwrapped words, and the core when it differs
    original: str
    accepted: bool


@functools.lru_cache(maxsize=1024)
def _short_phrases(answers: tuple[str, ...], rejected: tuple[str, ...]) -> tuple[_Phrase, ...]:
    """Every listed phrase, rejected ones first (so a tie goes to the near miss)."""
    out = []
    for phrases, accepted in ((rejected, False), (answers, True)):
        for phrase in phrases:
            words = normalize(phrase).split()
            if words:
                forms = {tuple(_unwrapped(words)): None, tuple(_core(words)): None}
                out.append(_Phrase(tuple(forms), phrase, accepted))
    return tuple(out)


def _typos_allowed(word: str) -> int:
    if len(word) >= LONG_TYPO_LENGTH:
        return 2
    return 1 if len(word) >= TYPO_LENGTH else 0


def _word_distance(given: str, expected: str) -> float | None:
    """0 when equal, 0.5 for a plural ending, 1 per typo in a long word (same first letter)."""
    if given == expected:
        return 0.0
    if any(ch.isdigit() for ch in given + expected):
        return None
    short, long_ = sorted((given, expected), key=len)
    if len(short) >= PLURAL_LENGTH and long_ in {short + "s", short + "es"}:
        return 0.5
    allowed = _typos_allowed(expected)
    if allowed and given[:1] == expected[:1] and len(given) >= TYPO_LENGTH - 1:
        distance = OSA.distance(given, expected, score_cutoff=allowed)
        if distance <= allowed:
            return float(distance)
    return None


def _phrase_distance(given: Sequence[str], expected: Sequence[str]) -> float | None:
    """How far an answer's words are from a phrase's: word by word (any order), or unspaced.

    None when they do not match: a word left over, a digit that differs, a negation added.
    """
    if _DIGITS.findall(" ".join(given)) != _DIGITS.findall(" ".join(expected)):
        return None
    if NEGATORS.intersection(given).difference(expected):
        return None
    joined, target = "".join(given), "".join(expected)
    if joined == target:
        return 0.0
    if len(given) == len(expected):
        pairs = [_word_distance(g, e) for g, e in zip(given, expected, strict=True)]
        if None not in pairs:
            return sum(p for p in pairs if p is not None)
        return _unordered_distance(given, expected)
    # Spacing differs ("early stoping" for "earlystopping"): one typo over the whole.
    allowed = _typos_allowed(target)
    if allowed and joined[:1] == target[:1]:
        distance = OSA.distance(joined, target, score_cutoff=allowed)
        if distance <= allowed:
            return float(distance)
    return None


def _unordered_distance(given: Sequence[str], expected: Sequence[str]) -> float | None:
    """Word order forgiven ("regularization l1"): each phrase word takes its closest match."""
    left = list(given)
    total = 0.0
    for word in expected:
        options = [(d, i) for i, g in enumerate(left) if (d := _word_distance(g, word)) is not None]
        if not options:
            return None
        distance, index = min(options)
        total += distance + 0.25  # a little further than the same words in order
        left.pop(index)
    return total


def _short_match(question: Question, words: Sequence[str]) -> tuple[bool, str] | None:
    """The closest phrase within reach as (accepted, original); a tie goes to `rejected`."""
    forms = {tuple(_unwrapped(words)), tuple(_core(words))}
    best: tuple[float, bool, str] | None = None
    for phrase in _short_phrases(question.answers, question.rejected):
        for form in phrase.forms:
            for given in forms:
                distance = _phrase_distance(given, form)
                if distance is not None and (
                    best is None or (distance, phrase.accepted) < best[:2]
                ):
                    best = (distance, phrase.accepted, phrase.original)
    return None if best is None else (best[1], best[2])


def _short_readings(words: list[str], bracketed: list[str]) -> list[list[list[str]]]:
    """Ways to read an answer, each a list of terms that must all be accepted.

    The whole answer first; then its parts around "or", "aka" or brackets ("missing at
    random (MAR)"); then what follows a copula ("the third term is noise") unless a
    negation precedes it.
    """
    readings = [[words]]
    parts: list[list[str]] = [[]]
    for word in bracketed:
        if word in ALTERNATIVES:
            parts.append([])
        else:
            parts[-1].append(word)
    if len(parts) > 1 and all(parts):
        readings.append(parts)
    for index in range(min(len(words) - 1, COPULA_REACH), -1, -1):
        if words[index] in COPULAS:
            if not NEGATORS.intersection(words[:index]):
                readings.append([words[index + 1 :]])
            break
    return readings


def grade_short(question: Question, answer: str) -> Grade:
    """Accept a listed phrase, wrapped in a sentence or with one typo per long word.

    Every word of the answer must match a word of the phrase, so negations ("not X",
    "non-X") and fragments ("ertia" for "inertia") never pass.
    """
    given = normalize(answer)
    if not given:
        raise InvalidAnswer("Type a word or a short phrase.")
    bracketed = normalize(_BRACKETED.sub(r" or \1 ", answer)).split()
    for terms in _short_readings(given.split(), bracketed):
        matches = [_short_match(question, term) for term in terms]
        if any(match is not None and not match[0] for match in matches):
            break  # a rejected phrase in any reading is a near miss
        if matches and all(match is not None for match in matches):
            original = matches[0][1] if matches[0] else ""
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
