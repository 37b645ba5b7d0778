"""Grades a member's answer against a question (rules: docs/question-format.md).

Grading is pure and deterministic: the same answer to the same question always gets the
same Grade, so a pack's open-question examples double as its tests.

Open answers and the parts of a prompt: many prompts ask for two or three things ("how
would you build the detector, set its threshold and know whether it works?"), and an
interviewer marks an answer that skips one of them partly right, however well it covers
the rest. The share of key points cannot see that (three of four points is 0.75 whichever
point is missing), so a key point may name the `part` of the prompt it answers, and an
answer that leaves a named part unanswered is capped below "good" (`PART_MISSING_SCORE`).
This is an explicit field rather than a rule guessed from the prompt's wording because
which key point answers which question is the author's judgement: splitting a prompt at
"and"/"how"/"why" would misfire on prompts such as "explain A and B" that ask for one
comparison, and matching key points to prompt fragments by shared words is not reliable.
Points that answer no asked-for part (an extra an interviewer likes to hear) go without
one and are never required.

Three more things keep a right answer in plain words from being missed: a condition
("if/when ...") stays one clause with its consequence, and a negation before it does not
deny it; a clause that names no subject is read as being about the subject of the clause
before it (or, for a leading "it", the prompt's topic); and a phrase also matches its
plain-word paraphrases (`PARAPHRASES`), except `none` phrases, which block only as
written.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.core import messages
from bot.core.errors import InvalidAnswer
from bot.core.models import Grade, KeyPoint, Question, Verdict

log = logging.getLogger(__name__)

# A choice answered by its text instead of its letter must be this close to one option.
CHOICE_TEXT_SCORE = 90.0
# Open answers: the verdict thresholds and what each misconception found costs.
GOOD_SCORE = 0.7
PARTIAL_SCORE = 0.2  # one of five key points is partly right
MISCONCEPTION_COST = 0.5
# The most an open answer scores while a part the prompt asks for goes unanswered.
PART_MISSING_SCORE = 0.65

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
# Roman numerals in "type I" / "type II" read like the digits.
ROMAN = {"i": "1", "ii": "2", "1": "i", "2": "ii"}
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
_SENTENCE_END = re.compile(r"[!?\n\r]|\.(?=\s|$)")
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|i\.i\.d|vs)\.", re.IGNORECASE)
# A bracketed aside of two letters or more is an alternative ("MAR (missing at random)").
_BRACKETED = re.compile(r"\(([^()]*[^\W\d_]{2}[^()]*)\)")
_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_LETTER = re.compile(
    r"^(?:(?:option|answer|choice|letter)\s+)?\(?([a-z])\s*(?:[).:\]]\s*(?:.*))?$",
    re.IGNORECASE | re.DOTALL,
)
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?", re.IGNORECASE)
# Signs around a number that do not change it ("~1.08", "recall = 0.35", "≈ 2").
_APPROXIMATELY = re.compile(r"[~\u2248=:]")
_IDENTIFIER = re.compile(r"[^\W\d_]+[0-9]+")
_FRACTION = re.compile(r"([-+]?[0-9]+(?:\.[0-9]+)?)\s*/\s*([0-9]+(?:\.[0-9]+)?)")


def _fold(text: str) -> str:
    """Lowercase without accents: NFKD, drop combining marks, casefold (twice for ß-like)."""
    if text.isascii():
        return text.lower()
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


# --- choice --------------------------------------------------------------------------


def grade_choice(question: Question, answer: str) -> Grade:
    letters = question.letters
    hint = messages.choose_a_letter(letters[0], letters[-1])
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
    "id say",
    "i would say",
    "id guess",
    "i reckon",
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
    """The answer without its lead-ins and hedges; "type i" read as "type 1"."""
    words = [
        ROMAN.get(word, word)
        if index and words[index - 1] == "type" and word in {"i", "ii"}
        else word
        for index, word in enumerate(words)
    ]
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
        raise InvalidAnswer(messages.SHORT_ANSWER_EMPTY)
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


def _strict_number(raw: str, *, percent: bool) -> float | None:
    """One bare number ("0.25", "1/4", "2.5e-1", "1,000", "25%"), or None."""
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
        return None
    if value is None or not math.isfinite(value):
        return None
    return value * scale


def _number_in_words(text: str, *, percent: bool) -> float | None:
    """The one number a short sentence gives ("about 1.08", "recall = 0.35", "sixteen").

    None when there is no number, more than one ("0.3 or 0.4"), a token that only looks
    like one ("1_000", "0,25"), or a negation ("not 0.35"): those are asked again.
    """
    tokens: list[str] = []
    for token in _APPROXIMATELY.sub(" ", _fold(text).replace("\u2212", "-")).split():
        token = token.strip(".,;!?()[]{}\"'")
        if token and not any(ch.isdigit() for ch in token):
            tokens += [t for t in _DASHES.sub(" ", _APOSTROPHES.sub("", token)).split() if t]
        elif token:
            tokens.append(token)
    tokens = _number_words(tokens)
    if NEGATORS.intersection(tokens):
        return None
    values: set[float] = set()
    for position, token in enumerate(tokens):
        if not any(ch.isdigit() for ch in token) or _IDENTIFIER.fullmatch(token):
            continue  # a word, or a name such as "f1", "r2", "p99"
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        if following in {"%", "percent", "pct"}:
            token += "%"
        value = _strict_number(token, percent=percent)
        if value is None:
            return None
        values.add(value)
    return values.pop() if len(values) == 1 else None


def parse_number(text: str, *, percent: bool) -> float:
    """Read "0.25", "1/4", "2.5e-1", "1,000", "25%", "about 0.25" or "recall = 0.25";
    raises InvalidAnswer otherwise."""
    value = _strict_number(text.strip().replace("\u2212", "-").replace(" ", ""), percent=percent)
    if value is None:
        value = _number_in_words(text, percent=percent)
    if value is None:
        raise InvalidAnswer(messages.not_a_number(percent))
    return value


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

ING_LENGTH = 5  # a phrase word ending in "e" this long also matches its -ing form
INFLECTION = 4  # a phrase word this many letters longer than a stem is still its form


# British and American spellings of one word, each way round (see `_other_spellings`).
SPELLINGS = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"(?<=[a-z]{3})is(e|ed|es|ing|ation|ations|er|ers|able)?$", r"iz\1"),
        (r"(?<=[a-z]{3})iz(e|ed|es|ing|ation|ations|er|ers|able)?$", r"is\1"),
        (r"iour", "ior"),
        (r"(?<=[a-z]{2})ior(s|al)?$", r"iour\1"),
        (r"elled$", "eled"),
        (r"elling$", "eling"),
        (r"(?<=[a-z]{2}[^l])eled$", "elled"),
        (r"(?<=[a-z]{2}[^l])eling$", "elling"),
        (r"(?<=[a-z]{3})tre(s)?$", r"ter\1"),
        (r"(?<=[a-z]{2}[^aeiou])ter(s)?$", r"tre\1"),
        (r"yse(s|d)?$", r"yze\1"),
        (r"yze(s|d)?$", r"yse\1"),
        (r"artefact", "artifact"),
        (r"artifact", "artefact"),
    )
)


def _terms(*groups: str) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Groups of "|"-separated terms, each term split into its words."""
    return tuple(tuple(tuple(term.split()) for term in group.split("|")) for group in groups)


# Plain words for technical terms, each group's terms interchangeable in a phrase (stems:
# a term matches a phrase word it starts, see `_stem_of`). Only near-synonyms in an ML
# answer: a group that joined two things an interviewer tells apart would grade wrongly.
PARAPHRASES = _terms(
    "correlat|move together|moves together|go together",
    "incident|outage",
    "threshold|cutoff|cut off|cut point",
    "percentile|quantile",
    "vanish|shrink to 0|go to 0|die out|disappear",
    "explod|blow up|blows up|blew up",
    "parallel|simultaneous|at the same time|all at once",
    "sequential|one after another|one at a time|one by one",
    "quadratic|n squared|n 2|square of the",
    "once|a single time|1 time",
    "leak|peek|contaminat",
    "imput|fill in",
    "deploy|ship to production|put into production",
    "monitor|track|watch|keep an eye on",
    "how many|number of",
    "bootstrap|bagging",
    "human|people",
    "drift|shift",
    "evaluat|assess",
    "interpretab|explainab|transparen",
    "rare|uncommon|infrequent",
    "imbalanc|unbalanc|skewed",
    "large|big|huge|enormous|massive",
    "small|little|tiny|minuscule",
    "mistake|error",
    "row|observation|data point",
    "feature|column|predictor|attribute",
    "false positive|false alarm",
    "outlier|anomal",
    "learning rate|step size",
    "loss function|cost function|objective function",
    "neural network|neural net|deep net",
    "faster|quicker|speeds up|accelerat",
    "slower|takes longer",
    "expensive|costly",
    "cheap|inexpensive",
    "memory|ram",
    # One word or two: "data set", "hyper-parameter", "non-linear", "fine-tune".
    "dataset|data set",
    "hyperparam|hyper param",
    "trade off|tradeoff",
    "real time|realtime",
    "mini batch|minibatch",
    "pretrain|pre train",
    "fine tun|finetun",
    "overfit|over fit",
    "underfit|under fit",
    "one hot|onehot",
    "k fold|kfold",
    "time series|timeseries",
    "nonlinear|non linear",
    "nonparametric|non parametric",
    "nonconvex|non convex",
    "nonnegative|non negative",
    "nonstationar|non stationar",
    "reduc|lower|decreas|cut",
    "increas|rais|boost",
)
# Change words that start a two-word phrase, and how the change reads after the noun.
FALLS = ("reduc", "lower", "decreas", "cut", "less")
FELL = (("fall",), ("drop",), ("decreas",), ("shrink",), ("go", "down"))
RISES = ("increas", "rais", "more", "higher", "boost")
ROSE = (("rise",), ("grow",), ("increas",), ("go", "up"))
# Words after "not"/"no" that keep the claim asserted ("not only", "no matter"), for those
# negators only: "doesn't matter" and "can't simply" still negate.
NOT_NEGATING_NEXT = {
    "not": frozenset({"only", "just", "merely", "simply", "least"}),
    "no": frozenset({"matter", "doubt"}),
}
# Openers that deny the rest of their sentence ("It is not true that ...", "It's a myth that").
SENTENCE_DENIALS = _word_sequences(
    "not true that",
    "isnt true that",
    "not the case that",
    "isnt the case that",
    "not correct that",
    "not right that",
    "false that",
    "untrue that",
    "wrong that",
    "a myth that",
    "wrong to say that",
)
# Words that turn what follows into the thing compared with ("faster than a sequential RNN").
COMPARISONS = frozenset({"than", "unlike", "versus", "vs", "instead"})
COMPARISON_REACH = 3  # a claim this many words after the comparison word belongs to it
# Endings that call what came before false ("saying L2 gives zeros is wrong").
TRAILING_DENIALS = _word_sequences(
    "is false", "is wrong", "is untrue", "is a myth", "is not true", "isnt true", "is incorrect"
)
# Contrast words that end a denial after a comma: "It is not true that X, but Y" asserts Y.
DENIAL_ENDS = frozenset({"but", "however"})
# Verbs that, right after a point's subject, start a statement about it ("..., and variance
# is the error from ...", "..., content-based needs item features"): a new claim begins.
PREDICATES = frozenset(
    {
        "is",
        "are",
        "was",
        "were",
        "means",
        "mean",
        "has",
        "have",
        "gives",
        "give",
        "makes",
        "make",
        "needs",
        "need",
        "requires",
        "require",
        "uses",
        "use",
        "can",
        "cannot",
        "cant",
        "does",
        "doesnt",
        "do",
        "dont",
        "will",
        "wont",
        "tends",
        "tend",
        "should",
        "shows",
        "show",
        "handles",
        "handle",
        "suffers",
        "suffer",
        "recommends",
        "recommend",
        "works",
        "work",
        "finds",
        "find",
        "learns",
        "learn",
        "indicates",
        "indicate",
        "suggests",
        "suggest",
        "signals",
        "implies",
    }
)
# Subjects too vague to carry a swapped claim ("it is ...", "the model has ...").
VAGUE_SUBJECTS = frozenset(
    {"it", "they", "this", "that", "the", "its", "you", "we", "model", "models", "training", "data"}
)
# Verbs that link a sign to what it means when the sign comes first ("a gap means ...").
LINKS = frozenset({"means", "mean", "indicates", "suggests", "signals", "implies"})
# A claim phrase must hold a word of three letters or more to tell points apart ("2" does not).
_LETTERS = re.compile(r"[^\W\d_]{3}")
# Pronouns that stand for the subject of the clause before ("..., but its size ...").
PRONOUNS = frozenset({"it", "its", "they", "their", "them", "this", "these"})
PRONOUN_REACH = 3  # a pronoun among a clause's first words this many words
TOPIC_REACH = 8  # the prompt's topic is a subject among its first words this many words
# Contrast words that turn to another subject ("..., while normal points sit deep").
TURNS = frozenset({"while", "whereas", "unlike", "although", "though"})
CROSSED_REACH = 6  # a swapped claim sits within this many words of the subject
# Negators that only deny the noun right after them ("with almost no labels, fit an
# isolation forest on normal data"), unless that noun is a need ("no need to scale").
OBJECT_NEGATORS = frozenset({"without", "no"})
NONE_NEGATION_REACH = 2  # a `none` phrase this close after a negator is denied, not said
WIDE_AFTER_NO = frozenset({"need", "needs", "reason", "point", "way", "longer"})
# Words that open a condition, which stays one clause with its consequence.
CONDITIONS = frozenset({"if", "when", "whenever", "unless", "once"})
CAUSES = frozenset({"because", "since", "so"})  # these end a condition ("if X because Y")
# Words that may join a claim about a new subject ("..., because prompting cannot ...").
JOINERS = frozenset({"and", "because", "since", "so"})
# Words that may sit between "and" and a new subject ("and the naive Bayes model ...").
DETERMINERS = frozenset({"the", "a", "an", "its", "their", "this", "that", "these", "those"})
_COMMA = re.compile(r"(?<![0-9]),|,(?![0-9]{3}(?![0-9]))")


class WordIndex:
    """A clause's words indexed by every prefix, so finding a phrase costs a lookup; the
    spans found are memoised, since one clause is checked against every point's phrases."""

    def __init__(self, words: Sequence[str]) -> None:
        self.words = tuple(words)
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        self._memo: dict[str, list[range]] = {}
        for position, word in enumerate(self.words):
            self._exact.setdefault(word, []).append(position)
            if word[:1].isdigit():
                continue
            for end in range(2, len(word) + 1):
                self._prefix.setdefault(word[:end], []).append(position)

    def _starts(self, spellings: tuple[str, ...]) -> list[int]:
        """Positions of the clause words a phrase's first word matches, in order."""
        found: list[int] = []
        hits = 0
        for spelling in spellings:
            exact = len(spelling) == 1 or spelling[0].isdigit()
            positions = (self._exact if exact else self._prefix).get(spelling)
            if positions:
                found += positions
                hits += 1
        return sorted(set(found)) if hits > 1 else found

    def spans(self, phrase: str, *, exact: bool = False) -> list[range]:
        """Where a phrase's words (or, unless `exact`, a paraphrase of them) match
        consecutive words of the clause."""
        key = f"={phrase}" if exact else phrase
        if key in self._memo:
            return self._memo[key]
        found: list[range] = []
        forms = (_phrase_words(phrase),) if exact else _phrase_forms(phrase)
        for words in forms if forms[0] else ():
            for start in self._starts(words[0]):
                stop = self._match_rest(words, start + 1)
                if stop is not None and range(start, stop) not in found:
                    found.append(range(start, stop))
        if len(found) > 1:
            found.sort(key=lambda span: (span.start, span.stop))
        self._memo[key] = found
        return found

    def _match_rest(self, words: tuple[tuple[str, ...], ...], position: int) -> int | None:
        """Match the phrase's other words from `position`, letting one extra word sit
        inside the phrase ("raising the decision threshold" for "raising the threshold");
        where the match ends, or None."""
        skipped = False
        clause = self.words
        for spellings in words[1:]:
            if position < len(clause) and _word_matches(spellings, clause[position]):
                position += 1
            elif (
                not skipped
                and position + 1 < len(clause)
                and clause[position] not in NEGATORS
                and clause[position] not in CLAUSE_WORDS
                and _word_matches(spellings, clause[position + 1])
            ):
                skipped = True
                position += 2
            else:
                return None
        return position


@dataclass(frozen=True)
class Clause:
    """One claim's worth of words; `segments` numbers each word's comma-separated part."""

    words: tuple[str, ...]
    segments: tuple[int, ...]
    denied: bool = False  # inside "It is not true that ..."
    piece: int = 0  # which sentence or semicolon part of the answer it comes from
    index: WordIndex = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", WordIndex(self.words))


def _contains(words: Sequence[str], sequence: tuple[str, ...]) -> int | None:
    """Where `sequence` starts in `words`, or None."""
    size = len(sequence)
    for start in range(len(words) - size + 1):
        if tuple(words[start : start + size]) == sequence:
            return start
    return None


def _asserts_some_point(index: WordIndex, points: Sequence[KeyPoint], part: range) -> bool:
    """Whether the words in `part` hold a subject and a claim of one point."""

    def inside(phrases: Sequence[str]) -> list[range]:
        return [
            s
            for p in phrases
            for s in index.spans(p)
            if s.start >= part.start and s.stop <= part.stop
        ]

    for point in points:
        claims = inside(point.claim)
        if claims and any(
            subject.stop <= claim.start or claim.stop <= subject.start
            for subject in inside(point.subject)
            for claim in claims
        ):
            return True
    return False


def _claim_cuts(
    words: Sequence[str], segments: Sequence[int], points: Sequence[KeyPoint]
) -> list[int]:
    """Where an "and" or a comma starts a new claim about a new subject.

    A cut needs a subject right after it and a whole claim (a point's subject and claim)
    in the part it starts. So "logistic regression is generative and naive Bayes is
    discriminative" and "small k underfits, large k overfits" split, while "precision and
    recall", "fit the imputer and scaler on the training set", "use dropout, weight decay"
    and "for small k, it overfits" do not.
    """
    if not points:
        return []
    index = WordIndex(words)
    conditional = not CONDITIONS.isdisjoint(words)
    subjects = {p for point in points for p in point.subject}
    joined = {
        p for point in points for p in (*point.subject, *point.claim, *point.none) if " " in p
    }
    cuts: list[int] = []
    for position in range(2, len(words) - 1):
        is_and = words[position] in JOINERS
        if not is_and and segments[position] == segments[position - 1]:
            continue
        last = cuts[-1] if cuts else 0
        start = position + 1 if is_and else position
        while start < len(words) and words[start] in DETERMINERS:
            start += 1
        if position - last < 2 or len(words) - start < 2:
            continue
        if (
            conditional
            and words[position] not in CAUSES
            and _condition_at(words, segments, position) is not None
        ):
            continue  # a condition stays with its consequence
        starting = [
            span for subject in subjects for span in index.spans(subject) if span.start == start
        ]
        if not starting:
            continue
        if any(span.start < position <= span.stop - 1 for p in joined for span in index.spans(p)):
            continue  # a phrase runs across it ("precision and recall")
        # The new part must make its own claim, up to its comma or next "and": a list
        # ("dropout, weight decay") or a shared verb ("fit the training data and the test
        # data together") stays whole.
        stop = start
        while stop < len(words) and segments[stop] == segments[start]:
            if stop > start and words[stop] == "and":
                break
            stop += 1
        predicated = any(
            span.stop < len(words) and words[span.stop] in PREDICATES for span in starting
        )
        if predicated or _asserts_some_point(index, points, range(start, stop)):
            cuts.append(position)
    return cuts


def split_clauses(text: str, points: Sequence[KeyPoint] = ()) -> list[Clause]:
    """Split an answer into clauses: at . ; ! ?, before "but", "while"..., and where an
    "and" or a comma starts a claim about a new subject (given the question's points).

    A denial such as "it is not true that" covers the rest of its sentence, across
    semicolons and new claims, up to the next contrast word ("..., but").
    """
    text = _ABBREVIATIONS.sub(lambda match: match.group(1).replace(".", " "), _fold(text))
    found: list[Clause] = []
    pieces = itertools.count()
    for sentence in _SENTENCE_END.split(text):
        denied = False
        for piece in _CLAUSE_BREAK.split(sentence):
            number = next(pieces)
            words: list[str] = []
            segments: list[int] = []
            for comma, part in enumerate(_COMMA.split(piece)):
                part_words = normalize(part).split()
                words += part_words
                segments += [comma] * len(part_words)
            starts = [0] + [i for i, w in enumerate(words) if w in CLAUSE_WORDS and i > 0]
            for start, stop in zip(starts, [*starts[1:], len(words)], strict=True):
                if (
                    start > 0
                    and words[start] in DENIAL_ENDS
                    and segments[start] != segments[start - 1]
                ):
                    # "..., but" ends a denial; "whereas", and a "but" inside the denied
                    # claim ("not true that it lowers bias but raises variance") do not.
                    denied = False
                part_clauses, denied = _contrast_clause(
                    words[start:stop], segments[start:stop], points, denied=denied, piece=number
                )
                found += part_clauses
    return found


def _condition_at(words: Sequence[str], segments: Sequence[int], position: int) -> int | None:
    """Where the condition ("if", "when", "unless"...) that `position` sits in starts: one
    earlier in the same comma part, or in the part just before when `position` opens the
    part that states its consequence ("if both errors are high, more data won't help")."""
    segment = segments[position]
    for index in range(position - 1, -1, -1):
        if segments[index] < segment - 1:
            break
        if words[index] in CONDITIONS and (
            segments[index] == segment
            or (segments[index] == segment - 1 and segments[position - 1] != segment)
        ):
            return index
    return None


def _contrast_clause(
    words: list[str],
    segments: list[int],
    points: Sequence[KeyPoint],
    *,
    denied: bool,
    piece: int,
) -> tuple[list[Clause], bool]:
    """One clause between contrast words, cut where a new claim starts, and whether a
    denial is still open at its end."""
    denial = 0 if denied else None
    if denial is None and "that" in words:
        denial = min(
            (at for seq in SENTENCE_DENIALS if (at := _contains(words, seq)) is not None),
            default=None,
        )
    cuts = [0, *_claim_cuts(words, segments, points), len(words)]
    out = []
    for start, stop in itertools.pairwise(cuts):
        if stop > start:
            inside = denial is not None and denial < stop
            out.append(Clause(tuple(words[start:stop]), tuple(segments[start:stop]), inside, piece))
    return out, denial is not None


def clauses(text: str, points: Sequence[KeyPoint] = ()) -> list[list[str]]:
    """The words of each clause of an answer (see `split_clauses`)."""
    return [list(clause.words) for clause in split_clauses(text, points)]


@functools.lru_cache(maxsize=65536)
def _phrase_words(phrase: str) -> tuple[tuple[str, ...], ...]:
    """A phrase's normalised words, each with its other spellings (number word, numeral,
    and the -ing form of a verb ending in "e": "average" matches "averaging").

    "zero" becomes "0" like the answer's "zero", but must still match "zeros" and "zeroes",
    which are not number words and so keep their spelling; "type i" also matches "type 1".
    """
    return tuple(
        (
            word,
            *([SPELLED[word]] if word in SPELLED else []),
            *([ROMAN[word]] if word in ROMAN else []),
            *([word[:-1] + "ing"] if len(word) >= ING_LENGTH and word.endswith("e") else []),
            *_other_spellings(word),
        )
        for word in normalize(phrase).split()
    )


def _other_spellings(word: str) -> list[str]:
    """The word in the other of British and American spelling ("normalise" and
    "normalize", "behaviour" and "behavior", "labelled" and "labeled")."""
    if len(word) < ING_LENGTH:
        return []
    return [
        other
        for pattern, replacement in SPELLINGS
        if (other := pattern.sub(replacement, word)) != word
    ]


def _stem_of(word: str, stem: str) -> bool:
    """A phrase word is a form of a paraphrase stem: it starts with it and adds at most
    an ending ("outages" of "outage", not "regularisation" of "regular")."""
    return word.startswith(stem) and len(word) - len(stem) <= INFLECTION


@functools.lru_cache(maxsize=65536)
def _phrase_forms(phrase: str) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """A phrase's words (see `_phrase_words`) and its plain-word paraphrases.

    A word or run of words that is one term of a `PARAPHRASES` group may be written as
    any other term of it ("incidents" -> "outages", "exploding" -> "blows up"); one term
    is swapped at a time. A two-word change phrase may also be said the other way round
    ("reduces variance" -> "variance drops", "raises variance" -> "variance goes up").
    """
    words = _phrase_words(phrase)
    if not words:
        return ()
    plain = [spellings[0] for spellings in words]
    singles = [list(spellings) for spellings in words]
    forms: list[tuple[tuple[str, ...], ...]] = []
    for group in PARAPHRASES:
        for term in group:
            size = len(term)
            for at in range(len(plain) - size + 1):
                if not all(_stem_of(plain[at + k], term[k]) for k in range(size)):
                    continue
                for other in group:
                    if other == term:
                        continue
                    if size == 1 and len(other) == 1:
                        singles[at].append(other[0])
                    else:
                        forms.append((*words[:at], *((w,) for w in other), *words[at + size :]))
    if len(plain) == 2:
        for changes, turned in ((FALLS, FELL), (RISES, ROSE)):
            if any(_stem_of(plain[0], stem) for stem in changes):
                forms += [(words[1], *((w,) for w in after)) for after in turned]
    return (tuple(tuple(dict.fromkeys(s)) for s in singles), *dict.fromkeys(forms))


def _word_matches(spellings: tuple[str, ...], word: str) -> bool:
    """A phrase word matches the start of a clause word ("unit" -> "units"); one-letter
    words and numbers only match themselves ("type i" never matches "type ii" or "type is")."""
    for spelling in spellings:
        if word == spelling:
            return True
        if len(spelling) > 1 and not spelling[0].isdigit() and word.startswith(spelling):
            return True
    return False


def phrase_spans(phrase: str, clause: Sequence[str]) -> list[range]:
    """Where a phrase's words match consecutive words of the clause."""
    return WordIndex(clause).spans(phrase)


def _negated(clause: Clause, subject: range, claim: range) -> bool:
    """A negation ("not", "no", "never", "isn't", "non"...) in the clause's comma part that
    leads to the claim, outside the matched phrases themselves."""
    first, last = min(subject.start, claim.start), max(subject.stop, claim.stop)
    start = first
    while start > 0 and clause.segments[start - 1] == clause.segments[first]:
        start -= 1
    words = clause.words
    for index in range(start, last):
        if index in subject or index in claim or words[index] not in NEGATORS:
            continue
        following = words[index + 1] if index + 1 < len(words) else ""
        if following in NOT_NEGATING_NEXT.get(words[index], ()) or (
            index > 0 and words[index - 1] == "or"
        ):
            continue  # "not only", "no matter", "whether or not"
        if (
            words[index] in OBJECT_NEGATORS
            and following not in WIDE_AFTER_NO
            and not any(start in (index + 1, index + 2) for start in (subject.start, claim.start))
        ):
            continue  # "without labels, use silhouette": it only denies its own object
        if any(words[at] in CONDITIONS for at in range(index + 1, first)):
            continue  # "don't standardise when all features share a unit": the condition holds
        return True
    return False


def _negated_before(words: Sequence[str], start: int) -> bool:
    """A negating verb or adverb just before a phrase ("defined once, not on each call");
    "no" and "without" belong to their noun ("torch no grad turns off dropout")."""
    return any(
        word in NEGATORS and word not in OBJECT_NEGATORS
        for word in words[max(0, start - NONE_NEGATION_REACH) : start]
    )


def _denied_after(clause: Clause, claim: range) -> bool:
    """The claim is called false after it ("... gives sparse weights is a myth")."""
    rest = clause.words[claim.stop :]
    return any(_contains(rest, denial) is not None for denial in TRAILING_DENIALS)


def _compared_away(clause: Clause, subject: range, claim: range) -> bool:
    """The claim describes what the subject is compared with ("faster than a sequential
    RNN", "unlike k-means"), not the subject itself; or the subject is what a claim before
    it is compared with ("a single tree is more accurate than a forest")."""
    words = clause.words
    if claim.start < subject.stop:
        # "<claim> than [a] <subject>": the subject is only the yardstick.
        between = words[claim.stop : subject.start]
        return "than" in between and len(between) <= COMPARISON_REACH
    for index in range(subject.stop, claim.start):
        if words[index] in COMPARISONS and claim.start - index <= COMPARISON_REACH:
            return True
    return False


def point_found(point: KeyPoint, clause: Clause | Sequence[str]) -> bool:
    """A subject and a claim in different places of one clause, asserted (not negated or
    denied), and none of the point's `none` phrases in the clause."""
    if not isinstance(clause, Clause):
        clause = Clause(tuple(clause), (0,) * len(clause))
    spans = clause.index.spans
    if clause.denied or any(
        not _negated_before(clause.words, span.start)
        for phrase in point.none
        for span in spans(phrase, exact=True)
    ):
        return False
    subjects = [span for phrase in point.subject for span in spans(phrase)]
    claims = [span for phrase in point.claim for span in spans(phrase)]
    return any(
        (subject.stop <= claim.start or claim.stop <= subject.start)
        and not _negated(clause, subject, claim)
        and not _compared_away(clause, subject, claim)
        and not _denied_after(clause, claim)
        for subject in subjects
        for claim in claims
    )


@functools.lru_cache(maxsize=1024)
def _own_claims(points: tuple[KeyPoint, ...]) -> tuple[tuple[str, ...], ...]:
    """Each key point's claims that no other point makes or has as a subject: what tells
    it from the others."""
    out = []
    for point in points:
        others = [other for other in points if other is not point]
        claims = {phrase for other in others for phrase in other.claim}
        subjects = [normalize(phrase) for other in others for phrase in other.subject]
        out.append(
            tuple(
                phrase
                for phrase in point.claim
                if phrase not in claims
                and _LETTERS.search(written := normalize(phrase))
                and not any(s.startswith(written) or written.startswith(s) for s in subjects)
            )
        )
    return tuple(out)


def _stated_about(clause: Clause, subject: range, claim: range) -> bool:
    """The claim is said of the subject, close by and with a verb between them: "<subject>
    is/means/has ... <claim>" or "<claim> ... means/is <subject>", and not negated."""
    words = clause.words
    if subject.stop <= claim.start:
        between = range(subject.stop, claim.start)
        # The verb itself is no claim ("DBSCAN finds ..." claims nothing yet).
        verb = claim.start > subject.stop and words[subject.stop] in PREDICATES
    else:
        between = range(claim.stop, subject.start)
        verb = "and" not in words[claim.stop : subject.start] and any(
            words[index] in LINKS for index in between
        )
    return (
        verb
        and len(between) <= CROSSED_REACH
        and not _negated(clause, subject, claim)
        and not _compared_away(clause, subject, claim)
        and not _denied_after(clause, claim)
    )


def _crossed(points: tuple[KeyPoint, ...], clause: Clause) -> list[KeyPoint]:
    """Key points whose own claim the clause says of another point's subject.

    "Bias is how sensitive the model is to the training sample" says the variance point's
    claim of bias; "precision is TP over TP plus FN" gives precision the recall formula;
    "a big gap means underfitting" reads the variance sign as bias. Only a clause that
    asserts no point counts, only a claim no other point makes, said of a subject the
    owner does not have (see `_stated_about`), with none of the owner's subjects in the
    clause: then the answer has swapped two things, which an interviewer marks wrong.
    """
    if clause.denied or any(point_found(point, clause) for point in points):
        return []
    spans = clause.index.spans
    out = []
    for owner, claims in zip(points, _own_claims(points), strict=True):
        if any(spans(phrase) for phrase in owner.subject):
            continue
        found = [span for phrase in claims for span in spans(phrase)]
        if found and any(
            _stated_about(clause, subject, claim)
            for given in points
            if given is not owner
            for phrase in given.subject
            if phrase not in owner.subject and phrase not in VAGUE_SUBJECTS
            for subject in spans(phrase)
            for claim in found
        ):
            out.append(owner)
    return out


def _subject_spans(clause: Clause, points: Sequence[KeyPoint]) -> list[range]:
    """Where the clause names some point's subject (vague words such as "it" aside), in
    order."""
    return sorted(
        (
            span
            for point in points
            for phrase in point.subject
            if phrase not in VAGUE_SUBJECTS
            for span in clause.index.spans(phrase)
        ),
        key=lambda span: (span.start, -span.stop),
    )


@functools.lru_cache(maxsize=1024)
def _prompt_subject(prompt: str, points: tuple[KeyPoint, ...]) -> tuple[str, ...]:
    """The words of the point subject the prompt names first, among its first words
    ("Explain what overfitting is" -> "overfitting"): what an answer's opening "it"
    stands for. A subject further in is no topic ("... and why it is popular"), nor a
    single word only one point has, which may be part of a longer name (the "tf" of
    "Explain TF-IDF")."""
    clause = Clause(tuple(normalize(prompt).split()[:TOPIC_REACH]), ())
    for span in _subject_spans(clause, points):
        index = WordIndex(clause.words[span.start : span.stop])
        if len(span) > 1 or sum(any(index.spans(s) for s in p.subject) for p in points) > 1:
            return index.words
    return ()


def _resolve_pronouns(
    parts: list[Clause], points: Sequence[KeyPoint], topic: tuple[str, ...] = ()
) -> list[Clause]:
    """Give a clause that names no subject of its own the subject it is about: a leading
    "it"/"its"/"they" stands for the subject the clause before named (or, in the
    answer's first clause, for `topic`, what the prompt asks about); a clause without a
    pronoun that goes on about the subject of the clause before it in the same sentence,
    up to a semicolon ("... a big gap: low training error, but much higher validation
    error"), takes that subject too, unless it turns to another with "while", "whereas"...
    The subject's words go in after the pronoun, or in front.

    "Covariance says whether two features move together, but its size depends on their
    units": the second clause is about covariance, though it names no subject itself.
    Only a pronoun among a clause's first words counts, and the subject taken is the
    first the previous clause names.
    """
    out: list[Clause] = []
    for clause in parts:
        words = clause.words
        at = next((i for i, word in enumerate(words[:PRONOUN_REACH]) if word in PRONOUNS), None)
        if _subject_spans(clause, points):
            out.append(clause)
            continue
        named = _subject_spans(out[-1], points) if out else []
        antecedent = out[-1].words[named[0].start : named[0].stop] if named else ()
        if at is not None and not out:
            antecedent = topic
        elif at is None and (
            not out or out[-1].piece != clause.piece or (words and words[0] in TURNS)
        ):
            antecedent = ()
        if antecedent:
            at = -1 if at is None else at
            segment = clause.segments[max(at, 0)]
            clause = Clause(
                (*words[: at + 1], *antecedent, *words[at + 1 :]),
                (
                    *clause.segments[: at + 1],
                    *(segment,) * len(antecedent),
                    *clause.segments[at + 1 :],
                ),
                clause.denied,
                clause.piece,
            )
        out.append(clause)
    return out


def unanswered_parts(points: Sequence[KeyPoint], covered: Sequence[KeyPoint]) -> list[str]:
    """The parts of the prompt (key points' `part`) that no covered point answers."""
    named = dict.fromkeys(point.part for point in points if point.part)
    return [part for part in named if not any(point.part == part for point in covered)]


def grade_open(question: Question, answer: str) -> Grade:
    """Credit each key point asserted in some clause; each misconception asserted costs,
    and so does each point whose claim is given to another point's subject (a swap).

    A point in a clause that also asserts a misconception is contradicted there and does
    not count. Covering any point without a misconception is at least partly right, and
    an answer that leaves a part of the prompt unanswered (key points' `part`) is at most
    partly right.
    """
    points = (*question.key_points, *question.misconceptions)
    topic = _prompt_subject(question.prompt, points)
    parts = _resolve_pronouns(split_clauses(answer, points), points, topic)
    if not parts:
        raise InvalidAnswer(messages.OPEN_ANSWER_EMPTY)
    wrong_in = [[m for m in question.misconceptions if point_found(m, c)] for c in parts]
    found = [m for m in question.misconceptions if any(m in w for w in wrong_in)]
    swapped: list[KeyPoint] = []
    for clause, wrong in zip(parts, wrong_in, strict=True):
        if not wrong:  # a listed misconception already costs this clause
            swapped += [p for p in _crossed(question.key_points, clause) if p not in swapped]
    covered = [
        p
        for p in question.key_points
        if any(point_found(p, c) and not wrong for c, wrong in zip(parts, wrong_in, strict=True))
    ]
    share = len(covered) / len(question.key_points) if question.key_points else 0.0
    mistakes = len(found) + len(swapped)
    score = min(1.0, max(0.0, share - MISCONCEPTION_COST * mistakes))
    if unanswered_parts(question.key_points, covered):
        score = min(score, PART_MISSING_SCORE)
    if score >= GOOD_SCORE:
        verdict = Verdict.GOOD
    elif score >= PARTIAL_SCORE and covered:
        verdict = Verdict.PARTIAL
    else:
        verdict = Verdict.WRONG
    return Grade(
        verdict=verdict,
        score=score,
        normalized=normalize(answer),
        covered=tuple(p.point for p in covered),
        missed=tuple(p.point for p in question.key_points if p not in covered),
        misconceptions=(
            *(m.point for m in found),
            *(messages.swapped_claim(p.point) for p in swapped),
        ),
    )
