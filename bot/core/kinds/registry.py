"""The one place that knows every kind: look a question's kind up here.

Adding a kind means one module in this package, one entry in `KINDS` and one name in
`names.Kind`; nothing outside the package changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from bot.core import messages
from bot.core.errors import InvalidAnswer, UsageError
from bot.core.kinds import choice, multi, numeric, short
from bot.core.kinds import open as open_kind
from bot.core.kinds.base import Imported, QuestionKind
from bot.core.kinds.inputs import AnswerInput, Input
from bot.core.kinds.lettered import Lettered
from bot.core.kinds.names import Kind
from bot.core.models import LETTERS, Grade, Question

log = logging.getLogger(__name__)

KINDS: Mapping[Kind, QuestionKind] = MappingProxyType(
    {k.kind: k for k in (choice.KIND, short.KIND, numeric.KIND, open_kind.KIND, multi.KIND)}
)
ALL_FIELDS = frozenset().union(*(k.fields for k in KINDS.values()))


def get(kind: Kind) -> QuestionKind:
    return KINDS[kind]


def of(question: Question) -> QuestionKind:
    return KINDS[question.kind]


def names() -> tuple[str, ...]:
    """Every kind's name, in the order reports list them."""
    return tuple(kind.value for kind in KINDS)


def grade(question: Question, answer: str) -> Grade:
    """Grade one answer; raises InvalidAnswer when it cannot be graded as given."""
    if not answer or not answer.strip():
        raise InvalidAnswer(messages.EMPTY_ANSWER)
    result = of(question).grade(question, answer)
    log.debug("graded %s: %s (%.2f)", question.id, result.verdict, result.score)
    return result


def answer_input(question: Question) -> AnswerInput:
    return of(question).answer_input(question)


def import_fields(record: Imported) -> dict[str, Any]:
    """Pack fields (with the kind) of the first kind that can hold an imported record."""
    for kind in KINDS.values():
        if (fields := kind.from_import(record)) is not None:
            return fields
    raise ValueError(f"no question kind holds {record!r}")


# --- reports and disputes: a corrected key --------------------------------------------


def lettered(question: Question) -> bool:
    """Whether the question is answered by letters, so a corrected key is letters."""
    return isinstance(of(question), Lettered)


def with_key(question: Question, key: str) -> tuple[Question, str]:
    """The lettered question with `key`'s letters as its correct choices, and the key as
    written back (`B`, `AC`); one letter for a one-answer kind. Raises UsageError."""
    letters = "".join(dict.fromkeys(ch for ch in key.upper() if ch not in ", "))
    one = answer_input(question).input is Input.BUTTONS
    if (
        not letters
        or any(ch not in question.letters for ch in letters)
        or (one and len(letters) != 1)
    ):
        raise UsageError(messages.not_a_key(key, question.letters, one))
    chosen = "".join(ch for ch in LETTERS if ch in letters)
    choices = tuple(
        replace(choice, correct=LETTERS[index] in chosen)
        for index, choice in enumerate(question.choices)
    )
    return replace(question, choices=choices), chosen
