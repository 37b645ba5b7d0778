"""`open`: a sentence or two in the member's own words, graded on key points it makes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core import grading
from bot.core.errors import BankError, InvalidAnswer
from bot.core.grading import normalize
from bot.core.kinds.base import FieldReader, QuestionKind
from bot.core.kinds.inputs import Input
from bot.core.kinds.names import Kind
from bot.core.models import Example, Grade, KeyPoint, Question, Verdict

if TYPE_CHECKING:
    from bot.core.bank import Bank

MISCONCEPTION_FIELDS = frozenset({"point", "subject", "claim", "none"})
# A key point may name the part of the prompt it answers (see grading.grade_open).
POINT_FIELDS = MISCONCEPTION_FIELDS | {"part"}
EXAMPLE_FIELDS = frozenset({"label", "answer"})
MIN_KEY_POINTS, MAX_KEY_POINTS = 3, 5
MIN_EXAMPLES = 4


class OpenKind(QuestionKind):
    kind = Kind.OPEN
    fields = frozenset({"reference", "key_points", "misconceptions", "examples"})
    input = Input.TEXT
    lists_missed = True
    partly_right = True
    answers_in_prose = True

    def read(self, fields: FieldReader) -> dict[str, Any]:
        reference = fields.text("reference")
        key_points = _points(fields, "key_points", required=True)
        if "key_points" in fields.data and not MIN_KEY_POINTS <= len(key_points) <= MAX_KEY_POINTS:
            fields.problem(
                "key_points",
                f"needs {MIN_KEY_POINTS}-{MAX_KEY_POINTS} key points (found {len(key_points)})",
            )
        parts = {point.part for point in key_points if point.part}
        if len(parts) == 1:
            fields.problem(
                "key_points",
                f"names only one part ({parts.pop()!r}); parts split a prompt that asks for"
                " two things or more, so name at least two or none",
            )
        misconceptions = _points(fields, "misconceptions", required=False)
        examples = []
        for at, entry in fields.mappings("examples"):
            example = fields.child(at, entry)
            example.unknown(EXAMPLE_FIELDS, "an example")
            label = example.enum("label", Verdict)
            answer = example.text("answer")
            if label is not None and answer:
                examples.append(Example(label=label, answer=answer))
        if "examples" in fields.data:
            if len(examples) < MIN_EXAMPLES:
                fields.problem(
                    "examples", f"needs at least {MIN_EXAMPLES} examples (found {len(examples)})"
                )
            labels = {e.label for e in examples}
            missing = [label.value for label in Verdict if label not in labels]
            if missing:
                fields.problem(
                    "examples", f"needs at least one of each label (missing {', '.join(missing)})"
                )
        return {
            "reference": reference,
            "key_points": key_points,
            "misconceptions": misconceptions,
            "examples": tuple(examples),
        }

    def grade(self, question: Question, answer: str) -> Grade:
        return grading.grade_open(question, answer)

    def answer_key(self, question: Question) -> str:
        return question.reference

    def to_data(self, question: Question) -> dict[str, Any]:
        data: dict[str, Any] = {
            "reference": question.reference,
            "key_points": [_point_data(point) for point in question.key_points],
        }
        if question.misconceptions:
            data["misconceptions"] = [_point_data(point) for point in question.misconceptions]
        data["examples"] = [{"label": e.label.value, "answer": e.answer} for e in question.examples]
        return data

    def problems(self, bank: Bank, question: Question) -> list[BankError]:
        """Each labelled example must grade as its label says: the pack tests its grader."""
        problems = []
        for index, example in enumerate(question.examples):
            try:
                result = self.grade(question, example.answer)
            except InvalidAnswer as exc:
                problems.append(
                    BankError(
                        bank.path_of(question), question.id, f"examples[{index}]", exc.message
                    )
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


def _points(fields: FieldReader, key: str, *, required: bool) -> tuple[KeyPoint, ...]:
    points = []
    is_key = key == "key_points"
    for at, entry in fields.mappings(key, required=required):
        point = fields.child(at, entry)
        if is_key:
            point.unknown(POINT_FIELDS, "a key point")
        else:
            point.unknown(MISCONCEPTION_FIELDS, "a misconception")
        phrases = {
            name: point.texts(name, required=name != "none")
            for name in ("subject", "claim", "none")
        }
        for name, values in phrases.items():
            for value in values:
                if not normalize(value):
                    point.problem(name, f"{value!r} is empty once punctuation is removed")
        points.append(
            KeyPoint(
                point=point.text("point"),
                subject=phrases["subject"],
                claim=phrases["claim"],
                none=phrases["none"],
                part=point.text("part", required=False) if is_key else "",
            )
        )
    return tuple(points)


def _point_data(point: KeyPoint) -> dict[str, Any]:
    data: dict[str, Any] = {
        "point": point.point,
        "subject": list(point.subject),
        "claim": list(point.claim),
    }
    if point.none:
        data["none"] = list(point.none)
    if point.part:
        data["part"] = point.part
    return data


KIND = OpenKind()
