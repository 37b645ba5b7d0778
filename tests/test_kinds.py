"""The question-kind registry, the `multi` kind's rules, and the one-place-per-kind rule."""

from __future__ import annotations

import ast
import copy
import dataclasses
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core import messages
from bot.core.bank import Bank, dump_pack, load_pack, question_from_data, question_to_data
from bot.core.errors import BankError, BankErrors, InvalidAnswer
from bot.core.kinds import registry
from bot.core.kinds.inputs import Input
from bot.core.models import (
    AnswerCount,
    AnswerResult,
    Attempt,
    Choice,
    DrillState,
    Kind,
    MemberRef,
    Verdict,
)
from bot.core.quality import check_bank
from bot.core.scoring import points_for
from tests.conftest import TEST_BANK

ROOT = Path(__file__).resolve().parents[1]
KINDS_PACKAGE = ROOT / "bot" / "core" / "kinds"
PACK = TEST_BANK / "select.yaml"
QID = "select-multi-unsupervised"  # A, C and D are right; B and E are wrong
EXTRA_CHOICES = [{"text": "Naive Bayes", "why": "Labels."}, {"text": "SVM", "why": "Labels."}]


def multi_entry() -> dict[str, Any]:
    data = yaml.safe_load(PACK.read_text(encoding="utf-8"))
    return copy.deepcopy(next(q for q in data["questions"] if q["id"] == QID))


def load_entry(tmp_path: Path, entry: dict[str, Any]) -> list[BankError]:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump({"topic": "select", "questions": [entry]}), encoding="utf-8")
    with pytest.raises(BankErrors) as caught:
        load_pack(path)
    return caught.value.errors


def question():
    (found,) = [q for q in load_pack(PACK) if q.id == QID]
    return found


# --- the registry ---------------------------------------------------------------------------


def test_every_kind_name_has_exactly_one_kind_module_in_the_registry():
    assert set(registry.KINDS) == set(Kind)
    assert all(kind.kind is name for name, kind in registry.KINDS.items())
    assert registry.names() == tuple(name.value for name in registry.KINDS)


def test_every_core_module_imports_on_its_own_without_an_import_cycle():
    """Kinds word their texts with messages, and messages asks the kinds: whichever is
    imported first, the other must still load."""
    modules = [f"bot.core.kinds.{path.stem}" for path in sorted(KINDS_PACKAGE.glob("*.py"))]
    modules += [f"bot.core.{path.stem}" for path in sorted((ROOT / "bot" / "core").glob("*.py"))]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'bot' or m.startswith('bot.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def _is_kind(node: ast.AST) -> bool:
    """`Kind` or a qualified `models.Kind`."""
    return (isinstance(node, ast.Name) and node.id == "Kind") or (
        isinstance(node, ast.Attribute) and node.attr == "Kind"
    )


def _reads_a_kind(node: ast.AST) -> bool:
    """`q.kind` or `q.kind.value`."""
    if isinstance(node, ast.Attribute) and node.attr == "value":
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr == "kind"


def kind_mentions(source: str) -> list[str]:
    """Places in Python source that branch on or spell a question kind."""
    names = {kind.value for kind in Kind}
    # "open" is also a drill state; its kind uses are caught by the other patterns.
    ambiguous = {state.value for state in DrillState}
    in_sql = re.compile(rf"\bkind\s*(?:=|==|!=|<>|in\s*\()\s*'({'|'.join(names)})'", re.I)
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and _is_kind(node.value):
            found.append(f"line {line}: Kind.{node.attr}")
        elif isinstance(node, ast.Call) and _is_kind(node.func):
            found.append(f"line {line}: Kind(...)")
        elif isinstance(node, ast.Compare):
            if any(_reads_a_kind(side) for side in [node.left, *node.comparators]):
                found.append(f"line {line}: compares a .kind")
        elif isinstance(node, ast.Match):
            if _reads_a_kind(node.subject):
                found.append(f"line {line}: matches on a .kind")
        elif isinstance(node, ast.Dict):
            found += [
                f"line {line}: kind {value.value!r}"
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value == "kind"
                if isinstance(value, ast.Constant)
            ]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in names - ambiguous:
                found.append(f"line {line}: {node.value!r}")
            found += [f"line {line}: SQL kind {m!r}" for m in in_sql.findall(node.value)]
    return found


def test_the_kind_scanner_catches_every_way_of_naming_a_kind():
    source = """
if question.kind is Kind.CHOICE: pass
if q.kind == other: pass
match q.kind:
    case _: pass
row = {"kind": "open", "answers": []}
label = "numeric"
if models.Kind.MULTI: pass
if q.kind.value != name: pass
wanted = Kind("open")
match q.kind.value:
    case _: pass
sql = "SELECT id FROM questions WHERE kind = 'open'"
"""
    assert len(kind_mentions(source)) == 11
    assert kind_mentions('state = "open"\nkinds = registry.names()\n') == []
    sql = "SELECT id FROM drills WHERE state = 'open' AND kind IS NOT NULL"
    assert kind_mentions(f"x = {sql!r}\nkind = registry.of(q).kind\n") == []


def test_no_module_outside_the_kinds_package_names_a_kind():
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if KINDS_PACKAGE not in path.parents
        and (found := kind_mentions(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


# --- multi: loading ---------------------------------------------------------------------------


def test_a_multi_question_loads_with_its_right_letters():
    loaded = question()
    assert loaded.kind is Kind.MULTI
    assert loaded.letters == "ABCDE"
    assert loaded.correct_letters == "ACD"
    assert registry.answer_input(loaded).input is Input.SELECT_MANY
    assert registry.answer_input(loaded).options == tuple("ABCDE")


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        (lambda q: [c.pop("correct", None) for c in q["choices"][1:]], "choices", "at least 2"),
        (lambda q: [c.update(correct=True) for c in q["choices"]], "choices", "must be wrong"),
        (lambda q: q.update(choices=q["choices"][:3]), "choices", "needs 4-6 choices (found 3)"),
        (lambda q: q["choices"].extend(EXTRA_CHOICES), "choices", "needs 4-6 choices (found 7)"),
        (lambda q: q["choices"][1].pop("why"), "choices[1].why", "missing"),
        (lambda q: q["choices"][1].update(text="DBSCAN"), "choices", "the same text"),
        (lambda q: q.update(answers=["a"]), "answers", "unknown field for a multi question"),
    ],
)
def test_a_broken_multi_question_names_file_question_and_field(tmp_path, change, field, text):
    entry = multi_entry()
    change(entry)
    errors = load_entry(tmp_path, entry)
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert (error.path, error.question_id, error.field) == (
        str(tmp_path / "broken.yaml"),
        QID,
        field,
    )
    assert text in str(error)


def test_a_multi_question_exports_and_loads_back_unchanged():
    loaded = question()
    data = question_to_data(loaded, "select")
    assert data["kind"] == "multi"
    assert [c.get("correct", False) for c in data["choices"]] == [True, False, True, True, False]
    again = question_from_data(data, path="x.yaml", pack=loaded.pack, topic="select")
    assert again == loaded
    (reloaded,) = [
        q for q in yaml.safe_load(dump_pack([loaded]))["questions"] if q["id"] == loaded.id
    ]
    assert reloaded == data


def test_quality_flags_a_catch_all_multi_option():
    loaded = question()
    catch_all = Choice("All of the above", "Catch-alls give the answer away.")
    flawed = dataclasses.replace(loaded, choices=(*loaded.choices[:4], catch_all))
    problems = [str(p) for p in check_bank(Bank.of([flawed]))]
    assert problems == [f"select.yaml: {QID}: choices[4].text: no all/none of the above options"]


# --- multi: grading ---------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["A C D", "a, c, d", "ACD", "D C A", "A and C and D", "A/C/D"])
def test_exactly_the_right_set_gets_full_credit_however_it_is_written(answer):
    graded = registry.grade(question(), answer)
    assert (graded.verdict, graded.score, graded.normalized) == (Verdict.GOOD, 1.0, "ACD")


@pytest.mark.parametrize(("answer", "score"), [("A", 1 / 3), ("C D", 2 / 3), ("da", 2 / 3)])
def test_some_right_choices_and_no_wrong_one_is_partial(answer, score):
    graded = registry.grade(question(), answer)
    assert graded.verdict is Verdict.PARTIAL
    assert graded.score == pytest.approx(score)
    assert graded.normalized == "".join(sorted(answer.upper().replace(" ", "")))
    assert graded.missed  # named in the feedback


@pytest.mark.parametrize("answer", ["A B", "ABCDE", "B", "A C D E"])
def test_any_wrong_pick_is_wrong(answer):
    graded = registry.grade(question(), answer)
    assert (graded.verdict, graded.score) == (Verdict.WRONG, 0.0)


@pytest.mark.parametrize("answer", ["F", "A G", "maybe", "A) k-means", ", ,", "1 2"])
def test_an_answer_that_names_no_valid_letters_is_refused_with_a_hint(answer):
    with pytest.raises(InvalidAnswer) as caught:
        registry.grade(question(), answer)
    assert caught.value.message == messages.pick_letters_hint("ABCDE")


def test_partial_multi_answers_earn_points_by_the_same_rule_as_other_kinds():
    loaded = question()  # easy: 10 points, half for a partial answer
    fast = timedelta(minutes=1)
    assert points_for(loaded.difficulty, registry.grade(loaded, "ACD"), fast) == 15
    assert points_for(loaded.difficulty, registry.grade(loaded, "A"), fast) == 5
    assert points_for(loaded.difficulty, registry.grade(loaded, "AB"), fast) == 0


def test_the_reveal_counts_how_many_members_picked_each_choice():
    loaded = question()
    counts = [
        AnswerCount("ACD", Verdict.GOOD, 2),
        AnswerCount("A", Verdict.PARTIAL, 1),
        AnswerCount("BC", Verdict.WRONG, 1),
    ]
    rows = registry.of(loaded).distribution(loaded, counts)
    assert [(r.label, r.count, r.correct) for r in rows] == [
        ("A", 3, True),
        ("B", 1, False),
        ("C", 3, True),
        ("D", 2, True),
        ("E", 0, False),
    ]


def test_multi_feedback_reminds_of_the_picked_letters_and_names_what_was_missed():
    loaded = question()
    graded = registry.grade(loaded, "c a")
    now = datetime(2025, 1, 15, tzinfo=UTC)
    attempt = Attempt(MemberRef("console", "W", "U"), loaded.id, "c a", graded, 5, now, 0)
    partly = messages.answer_feedback(AnswerResult(attempt, loaded, True, 0))
    assert partly.startswith("Partly right, +5 points.")
    assert "You missed: D) Principal component analysis" in partly
    locked = messages.answer_feedback(AnswerResult(attempt, loaded, False, 0))
    assert locked.startswith("Locked in: A, C.")
    assert messages.answer_line(loaded) == (
        "Answer: A) k-means; C) DBSCAN; D) Principal component analysis"
    )
    assert messages.answer_hint(loaded) == "Pick every right one: `/quiz answer A E`."
