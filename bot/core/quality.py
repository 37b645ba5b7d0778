"""Cross-question checks that a single pack's schema cannot express.

Duplicate ids are caught while loading (`bank.scan_bank`), because a Bank keys questions
by id and so can never hold two with the same one.
"""

from __future__ import annotations

import logging
import re

from rapidfuzz import fuzz, process

from bot.core.bank import Bank
from bot.core.errors import BankError
from bot.core.grading import normalize
from bot.core.kinds import registry

log = logging.getLogger(__name__)

NEAR_DUPLICATE_SCORE = 90.0
WORD = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*")
SENTENCE_END = frozenset(".?!:;")


def check_bank(bank: Bank) -> list[BankError]:
    """Every cross-question problem in the bank, in a stable order."""
    problems: list[BankError] = []
    problems += near_duplicates(bank)
    for kind in registry.KINDS.values():
        problems += kind.bank_problems(bank, [q for q in bank if registry.of(q) is kind])
    for question in bank:
        problems += registry.of(question).problems(bank, question)
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
