"""What the lettered kinds (choice, multi) share: their choices, key, counts and checks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.core.errors import BankError
from bot.core.kinds.base import FieldReader, Imported, QuestionKind
from bot.core.kinds.inputs import AnswerInput
from bot.core.models import LETTERS, AnswerCount, Choice, ChoiceCount, Question

if TYPE_CHECKING:
    from bot.core.bank import Bank

CHOICE_FIELDS = frozenset({"text", "correct", "why"})
CATCH_ALL = re.compile(r"\b(all|none|both|neither) of the (above|others|options)\b")


def read_choices(fields: FieldReader, fewest: int, most: int) -> tuple[Choice, ...]:
    """The `choices` list: `fewest`-`most` entries of text, why and correct, texts distinct."""
    entries = fields.mappings("choices")
    if "choices" in fields.data and not fewest <= len(entries) <= most:
        fields.problem("choices", f"needs {fewest}-{most} choices (found {len(entries)})")
    choices = []
    for at, entry in entries:
        choice = fields.child(at, entry)
        choice.unknown(CHOICE_FIELDS, "a choice")
        choices.append(
            Choice(
                text=choice.text("text"), why=choice.text("why"), correct=choice.boolean("correct")
            )
        )
    return tuple(choices)


def distinct_texts(fields: FieldReader, choices: Sequence[Choice]) -> None:
    # Only case and spacing: code options such as "clf.C" and "clf__C" must stay distinct.
    texts = [" ".join(choice.text.casefold().split()) for choice in choices]
    if len(set(texts)) != len(texts):
        fields.problem("choices", "two choices have the same text")


def choices_data(question: Question) -> dict[str, Any]:
    return {
        "choices": [
            {"text": c.text, **({"correct": True} if c.correct else {}), "why": c.why}
            for c in question.choices
        ]
    }


def imported_choices(record: Imported) -> list[dict[str, Any]]:
    return [
        {"text": option, "why": record.why} | ({"correct": True} if index in record.correct else {})
        for index, option in enumerate(record.options)
    ]


def choice_line(question: Question, letter: str) -> str:
    return f"{letter}) {question.choices[LETTERS.index(letter)].text}"


class Lettered(QuestionKind):
    """A kind answered by letters naming its choices."""

    fields = frozenset({"choices"})

    def answer_input(self, question: Question) -> AnswerInput:
        return AnswerInput(self.input, tuple(question.letters))

    def answer_key(self, question: Question) -> str:
        return "; ".join(choice_line(question, letter) for letter in question.correct_letters)

    def to_data(self, question: Question) -> dict[str, Any]:
        return choices_data(question)

    def given(self, answer: str, normalized: str) -> str:
        return ", ".join(normalized)

    def distribution(
        self, question: Question, counts: Sequence[AnswerCount]
    ) -> tuple[ChoiceCount, ...]:
        """How many members picked each choice."""
        picks = dict.fromkeys(question.letters, 0)
        for row in counts:  # an answer is stored as the letters it picked, sorted
            for letter in row.normalized:
                if letter in picks:
                    picks[letter] += row.count
        right = question.correct_letters
        return tuple(ChoiceCount(letter, n, letter in right) for letter, n in picks.items())

    def problems(self, bank: Bank, question: Question) -> list[BankError]:
        path = bank.path_of(question)
        problems = []
        for index, choice in enumerate(question.choices):
            field = f"choices[{index}]"
            if not choice.why.strip():
                problems.append(
                    BankError(path, question.id, f"{field}.why", "every choice needs a why")
                )
            if CATCH_ALL.search(choice.text.casefold()):
                problems.append(
                    BankError(
                        path, question.id, f"{field}.text", "no all/none of the above options"
                    )
                )
        return problems
