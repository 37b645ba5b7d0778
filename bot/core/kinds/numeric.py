"""`numeric`: a number within a tolerance, typed as 0.25, 1/4, 2.5e-1 or (if allowed) 25%."""

from __future__ import annotations

from typing import Any

from bot.core import grading, messages
from bot.core.kinds.base import FieldReader, QuestionKind
from bot.core.kinds.inputs import Input
from bot.core.kinds.names import Kind
from bot.core.models import Grade, Question


class NumericKind(QuestionKind):
    kind = Kind.NUMERIC
    fields = frozenset({"answer", "tolerance", "percent"})
    input = Input.NUMBER

    def read(self, fields: FieldReader) -> dict[str, Any]:
        answer = fields.number("answer")
        tolerance = fields.number("tolerance")
        if tolerance is not None and tolerance < 0:
            fields.problem("tolerance", f"must be 0 or more (found {tolerance:g})")
        return {
            "answer": answer,
            "tolerance": tolerance or 0.0,
            "percent": fields.boolean("percent"),
        }

    def grade(self, question: Question, answer: str) -> Grade:
        return grading.grade_numeric(question, answer)

    def answer_key(self, question: Question) -> str:
        return messages.number_text(question.answer, question.tolerance)

    def to_data(self, question: Question) -> dict[str, Any]:
        return {
            "answer": question.answer,
            "tolerance": question.tolerance,
            "percent": question.percent,
        }


KIND = NumericKind()
