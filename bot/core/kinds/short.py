"""`short`: a word or phrase, matched against accepted spellings (and rejected near misses)."""

from __future__ import annotations

from typing import Any

from bot.core import grading
from bot.core.grading import normalize
from bot.core.kinds.base import FieldReader, Imported, QuestionKind
from bot.core.kinds.inputs import Input
from bot.core.kinds.names import Kind
from bot.core.models import Grade, Question


class ShortKind(QuestionKind):
    kind = Kind.SHORT
    fields = frozenset({"answers", "rejected"})
    input = Input.TEXT

    def read(self, fields: FieldReader) -> dict[str, Any]:
        answers = fields.texts("answers")
        rejected = fields.texts("rejected", required=False)
        for key, phrases in (("answers", answers), ("rejected", rejected)):
            for phrase in phrases:
                if not normalize(phrase):
                    fields.problem(key, f"{phrase!r} is empty once punctuation is removed")
        accepted = {normalize(phrase): phrase for phrase in answers}
        for phrase in rejected:
            if normalize(phrase) in accepted:
                fields.problem(
                    "rejected",
                    f"{phrase!r} is also accepted (as {accepted[normalize(phrase)]!r})"
                    " once case, accents and punctuation are folded",
                )
        return {"answers": answers, "rejected": rejected}

    def grade(self, question: Question, answer: str) -> Grade:
        return grading.grade_short(question, answer)

    def answer_key(self, question: Question) -> str:
        return question.answers[0]

    def to_data(self, question: Question) -> dict[str, Any]:
        data: dict[str, Any] = {"answers": list(question.answers)}
        if question.rejected:
            data["rejected"] = list(question.rejected)
        return data

    def from_import(self, record: Imported) -> dict[str, Any] | None:
        if record.options:
            return None
        return {"kind": self.kind.value, "answers": list(record.answers)}


KIND = ShortKind()
