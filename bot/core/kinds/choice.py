"""`choice`: one right option among 3-5 lettered ones, answered by a button or a letter."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.core import grading
from bot.core.errors import BankError
from bot.core.kinds.base import FieldReader, Imported
from bot.core.kinds.inputs import Input
from bot.core.kinds.lettered import Lettered, distinct_texts, imported_choices, read_choices
from bot.core.kinds.names import Kind
from bot.core.models import LETTERS, Grade, Question

if TYPE_CHECKING:
    from bot.core.bank import Bank

MIN_CHOICES, MAX_CHOICES = 3, 5
SHIPPED_CHOICES = 4
MAX_LETTER_SHARE = 0.35
MIN_CHOICES_FOR_SPREAD = 8


class ChoiceKind(Lettered):
    kind = Kind.CHOICE
    input = Input.BUTTONS

    def read(self, fields: FieldReader) -> dict[str, Any]:
        choices = read_choices(fields, MIN_CHOICES, MAX_CHOICES)
        correct = sum(choice.correct for choice in choices)
        if choices and correct != 1:
            fields.problem("choices", f"exactly one choice must be correct (found {correct})")
        distinct_texts(fields, choices)
        return {"choices": choices}

    def grade(self, question: Question, answer: str) -> Grade:
        return grading.grade_choice(question, answer)

    def from_import(self, record: Imported) -> dict[str, Any] | None:
        if not record.options or len(record.correct) != 1:
            return None
        return {"kind": self.kind.value, "choices": imported_choices(record)}

    def problems(self, bank: Bank, question: Question) -> list[BankError]:
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
        return problems + super().problems(bank, question)

    def bank_problems(self, bank: Bank, questions: Sequence[Question]) -> list[BankError]:
        """A pack whose right answers pile up on one letter teaches members to guess it."""
        letters: dict[str, Counter[str]] = defaultdict(Counter)
        paths: dict[str, str] = {}
        for question in questions:
            if question.correct_letter:
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


KIND = ChoiceKind()
