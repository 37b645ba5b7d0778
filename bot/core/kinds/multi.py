"""`multi`: select all that apply. 4-6 lettered choices, at least 2 right and 1 wrong.

Exactly the right set gets full credit; some of the right choices and no wrong one is
partial, scored by the share of the right choices picked; anything else is wrong. An
answer is stored as the sorted letters it picked ("AC"), so the reveal counts per choice.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core import messages
from bot.core.errors import InvalidAnswer
from bot.core.kinds.base import FieldReader, Imported
from bot.core.kinds.inputs import Input
from bot.core.kinds.lettered import (
    Lettered,
    choice_line,
    distinct_texts,
    imported_choices,
    read_choices,
)
from bot.core.kinds.names import Kind
from bot.core.models import Grade, Question, Verdict

MIN_CHOICES, MAX_CHOICES = 4, 6
MIN_RIGHT, MIN_WRONG = 2, 1
# Letters apart ("A C", "a, c", "A and C", "A/C") or run together ("AC").
_SEPARATORS = re.compile(r"(?:[\s,;/&+]|\band\b)+", re.IGNORECASE)
_LETTER_RUN = re.compile(r"[A-Za-z]+")


class MultiKind(Lettered):
    kind = Kind.MULTI
    input = Input.SELECT_MANY
    lists_missed = True

    def read(self, fields: FieldReader) -> dict[str, Any]:
        choices = read_choices(fields, MIN_CHOICES, MAX_CHOICES)
        right = sum(choice.correct for choice in choices)
        if choices and right < MIN_RIGHT:
            fields.problem(
                "choices", f"at least {MIN_RIGHT} choices must be correct (found {right})"
            )
        if choices and len(choices) - right < MIN_WRONG:
            fields.problem("choices", f"at least {MIN_WRONG} choice must be wrong (found none)")
        distinct_texts(fields, choices)
        return {"choices": choices}

    def grade(self, question: Question, answer: str) -> Grade:
        picked = picked_letters(question, answer)
        right = set(question.correct_letters)
        covered = tuple(choice_line(question, letter) for letter in sorted(picked & right))
        missed = tuple(choice_line(question, letter) for letter in sorted(right - picked))
        normalized = "".join(sorted(picked))
        if picked == right:
            return Grade(Verdict.GOOD, 1.0, normalized=normalized, covered=covered)
        if picked < right:
            share = len(picked) / len(right)
            return Grade(Verdict.PARTIAL, share, normalized, covered=covered, missed=missed)
        return Grade(Verdict.WRONG, 0.0, normalized=normalized)

    def from_import(self, record: Imported) -> dict[str, Any] | None:
        if not record.options or len(record.correct) < MIN_RIGHT:
            return None
        return {"kind": self.kind.value, "choices": imported_choices(record)}


def picked_letters(question: Question, answer: str) -> set[str]:
    """The letters an answer names: "A C", "A, C", "ac" or "A and C"; at least one."""
    letters = question.letters
    picked: set[str] = set()
    for token in _SEPARATORS.split(answer.strip()):
        if not token:
            continue
        if not _LETTER_RUN.fullmatch(token) or not set(token.upper()) <= set(letters):
            raise InvalidAnswer(messages.pick_letters_hint(letters))
        picked |= set(token.upper())
    if not picked:
        raise InvalidAnswer(messages.pick_letters_hint(letters))
    return picked


KIND = MultiKind()
