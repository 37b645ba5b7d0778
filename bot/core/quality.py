"""Cross-question checks that a single pack's schema cannot express.

Duplicate ids are caught while loading (`bank.scan_bank`), because a Bank keys questions
by id and so can never hold two with the same one.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict

from rapidfuzz import fuzz, process

from bot.core.bank import Bank
from bot.core.errors import BankError, InvalidAnswer
from bot.core.grading import grade, normalize
from bot.core.models import LETTERS, Kind, Question

log = logging.getLogger(__name__)

NEAR_DUPLICATE_SCORE = 90.0
MAX_LETTER_SHARE = 0.35
MIN_CHOICES_FOR_SPREAD = 8
SHIPPED_CHOICES = 4
WORD = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*")
SENTENCE_END = frozenset(".?!:;")
CATCH_ALL = re.compile(r"\b(all|none|both|neither) of the (above|others|options)\b")


def check_bank(bank: Bank) -> list[BankError]:
    """Every cross-question problem in the bank, in a stable order."""
    problems: list[BankError] = []
    problems += near_duplicates(bank)
    problems += _letter_spread(bank)
    for question in bank:
        if question.kind is Kind.CHOICE:
            problems += _choice_problems(bank, question)
        elif question.kind is Kind.OPEN:
            problems += _example_problems(bank, question)
    log.debug("quality check found %d problems in %d questions", len(problems), len(bank))
    return problems


def near_duplicates(bank: Bank) -> list[BankError]:
    """Each later question whose prompt nearly repeats an earlier one (cdist needs numpy)."""
    questions = list(bank)
    prompts = [normalize(question.prompt) for question in questions]
    problems = []
    for later, question in enumerate(questions[1:], start=1):
        matches = process.extract(
            prompts[later],
            prompts[:later],
            scorer=fuzz.token_sort_ratio,
            score_cutoff=NEAR_DUPLICATE_SCORE,
            limit=None,
        )
        for _, score, earlier in sorted(matches, key=lambda match: match[2]):
            other = questions[earlier]
            if differ_in_a_name_or_number(question.prompt, other.prompt):
                continue
            problems.append(
                BankError(
                    bank.path_of(question),
                    question.id,
                    "prompt",
                    f"near-duplicate of {other.id} in {bank.path_of(other)}"
                    f" (similarity {score:.0f})",
                )
            )
    return problems


def _distinctive_words(prompt: str) -> set[str]:
    """Words that name something (capitalised mid-sentence, or holding a digit), folded."""
    words = set()
    for match in WORD.finditer(prompt):
        word = match.group()
        before = prompt[: match.start()].rstrip()
        sentence_start = not before or before[-1] in SENTENCE_END
        if any(ch.isdigit() for ch in word) or (word[0].isupper() and not sentence_start):
            words.add(word.casefold())
    return words


def differ_in_a_name_or_number(prompt: str, other: str) -> bool:
    """True when one prompt names an entity or number the other lacks: "capital of Tanzania"
    and "capital of Taiwan" are close in spelling but different questions."""
    ours, theirs = _distinctive_words(prompt), _distinctive_words(other)
    folded_other = {w.casefold() for w in WORD.findall(other)}
    folded_ours = {w.casefold() for w in WORD.findall(prompt)}
    return bool(ours - folded_other or theirs - folded_ours)


def _letter_spread(bank: Bank) -> list[BankError]:
    letters: dict[str, Counter[str]] = defaultdict(Counter)
    paths: dict[str, str] = {}
    for question in bank:
        if question.kind is Kind.CHOICE and question.correct_letter:
            letters[question.pack][question.correct_letter] += 1
            paths[question.pack] = bank.path_of(question)
    problems = []
    for pack, counts in sorted(letters.items()):
        total = sum(counts.values())
        if total < MIN_CHOICES_FOR_SPREAD:
            continue
        for letter in LETTERS:
            if counts[letter] / total > MAX_LETTER_SHARE:
                spread = ", ".join(f"{key}={counts[key]}" for key in LETTERS if counts[key])
                problems.append(
                    BankError(
                        paths[pack],
                        None,
                        "choices",
                        f"{letter} is correct in {counts[letter]} of {total} choice questions "
                        f"({counts[letter] / total:.0%}); at most {MAX_LETTER_SHARE:.0%} per "
                        f"letter, move some correct options ({spread})",
                    )
                )
    return problems


def _choice_problems(bank: Bank, question: Question) -> list[BankError]:
    path = bank.path_of(question)
    problems = []
    correct = sum(choice.correct for choice in question.choices)
    if correct != 1:
        problems.append(
            BankError(
                path, question.id, "choices", f"exactly one must be correct (found {correct})"
            )
        )
    if not question.source.startswith("import:") and len(question.choices) != SHIPPED_CHOICES:
        problems.append(
            BankError(
                path,
                question.id,
                "choices",
                f"shipped questions have exactly {SHIPPED_CHOICES} choices "
                f"(found {len(question.choices)})",
            )
        )
    for index, choice in enumerate(question.choices):
        field = f"choices[{index}]"
        if not choice.why.strip():
            problems.append(
                BankError(path, question.id, f"{field}.why", "every choice needs a why")
            )
        if CATCH_ALL.search(choice.text.casefold()):
            problems.append(
                BankError(path, question.id, f"{field}.text", "no all/none of the above options")
            )
    return problems


def _example_problems(bank: Bank, question: Question) -> list[BankError]:
    problems = []
    for index, example in enumerate(question.examples):
        try:
            result = grade(question, example.answer)
        except InvalidAnswer as exc:
            problems.append(
                BankError(bank.path_of(question), question.id, f"examples[{index}]", exc.message)
            )
            continue
        if result.verdict is example.label:
            continue
        detail = [f"score {result.score:.2f}"]
        if result.covered:
            detail.append("covered: " + "; ".join(result.covered))
        if result.missed:
            detail.append("missed: " + "; ".join(result.missed))
        if result.misconceptions:
            detail.append("misconceptions: " + "; ".join(result.misconceptions))
        problems.append(
            BankError(
                bank.path_of(question),
                question.id,
                f"examples[{index}]",
                f"labelled {example.label} but grades {result.verdict} ({' | '.join(detail)})",
            )
        )
    return problems
