"""What every question kind provides, and the pieces the kinds share.

A kind reads and checks its own pack fields, grades, says what the answer key is, names
the input an adapter should offer, counts the reveal's distribution, writes its fields
back for export, accepts imported records, and runs its own quality checks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from bot.core import messages
from bot.core.errors import BankError
from bot.core.kinds.inputs import AnswerInput, Input
from bot.core.kinds.names import Kind
from bot.core.models import AnswerCount, ChoiceCount, Grade, Question, Verdict

if TYPE_CHECKING:
    from bot.core.bank import Bank

E = TypeVar("E", Kind, Verdict)


@dataclass(frozen=True)
class Imported:
    """One record from another tool: its accepted answers, or options and the right ones."""

    answers: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    correct: tuple[int, ...] = ()
    why: str = ""


class FieldReader(Protocol):
    """Typed access to one YAML mapping that records problems (bank._Reader)."""

    data: dict[Any, Any]

    def problem(self, key: str | None, problem: str) -> None: ...

    def unknown(self, allowed: Iterable[str], what: str) -> None: ...

    def text(self, key: str, *, required: bool = True) -> str: ...

    def number(self, key: str, *, required: bool = True) -> float | None: ...

    def boolean(self, key: str) -> bool: ...

    def texts(self, key: str, *, required: bool = True) -> tuple[str, ...]: ...

    def mappings(self, key: str, *, required: bool = True) -> list[tuple[str, dict[Any, Any]]]: ...

    def child(self, at: str, data: dict[Any, Any]) -> FieldReader: ...

    def enum(self, key: str, enum: type[E]) -> E | None: ...


class QuestionKind(ABC):
    """One kind of question; the registry holds one instance of each."""

    kind: ClassVar[Kind]
    fields: ClassVar[frozenset[str]]  # the pack fields of this kind, beside the common ones
    input: ClassVar[Input]
    lists_missed: ClassVar[bool] = False  # feedback names what a partial answer missed
    partly_right: ClassVar[bool] = False  # an answer can earn partial credit
    answers_in_prose: ClassVar[bool] = False  # the key is a reference text, shown on its own

    @abstractmethod
    def read(self, fields: FieldReader) -> dict[str, Any]:
        """The Question fields of this kind; problems go to `fields`."""

    @abstractmethod
    def grade(self, question: Question, answer: str) -> Grade:
        """Grade a non-empty answer; raises InvalidAnswer when it cannot be graded as given."""

    @abstractmethod
    def answer_key(self, question: Question) -> str:
        """The answer as a member should read it in a reveal."""

    @abstractmethod
    def to_data(self, question: Question) -> dict[str, Any]:
        """This kind's pack fields for a question (the inverse of `read`)."""

    def answer_input(self, question: Question) -> AnswerInput:
        return AnswerInput(self.input)

    def given(self, answer: str, normalized: str) -> str:
        """A stored answer as its member is reminded of it, safe to quote back."""
        return messages.echo(answer)

    def distribution(
        self, question: Question, counts: Sequence[AnswerCount]
    ) -> tuple[ChoiceCount, ...]:
        """The reveal's rows: here answers per verdict; lettered kinds count per choice."""
        by_verdict = {verdict: 0 for verdict in Verdict}
        for row in counts:
            by_verdict[row.verdict] += row.count
        return tuple(
            ChoiceCount(messages.VERDICT_LABELS[verdict], count, verdict is Verdict.GOOD)
            for verdict, count in by_verdict.items()
            if verdict is not Verdict.PARTIAL or self.partly_right
        )

    def from_import(self, record: Imported) -> dict[str, Any] | None:
        """Pack fields for an imported record this kind can hold, else None."""
        return None

    def problems(self, bank: Bank, question: Question) -> list[BankError]:
        """Quality problems of one question that loading does not catch."""
        return []

    def bank_problems(self, bank: Bank, questions: Sequence[Question]) -> list[BankError]:
        """Quality problems across this kind's questions (e.g. where the right letter sits)."""
        return []
