"""The bank loader and the quality checks: the shipped bank and every kind of schema error."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.bank import (
    DEFAULT_QUESTIONS_DIR,
    Bank,
    UnusableBank,
    dump_pack,
    load_bank,
    load_pack,
    scan_bank,
)
from bot.core.errors import BankError, BankErrors
from bot.core.models import Choice, Example, Kind, Question, Verdict
from bot.core.quality import check_bank

SAMPLE = Path(__file__).parent / "data" / "sample-pack.yaml"
OPEN_ID = "gen-sample-l1-vs-l2"
SHORT_ID = "gen-sample-sparse-penalty"
CHOICE_ID = "gen-sample-early-stopping"
NUMERIC_ID = "gen-sample-fold-share"


def sample_data() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


def write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def broken(tmp_path: Path, qid: str, change: Callable[[dict[str, Any]], object]) -> list[BankError]:
    """Load the sample pack with one question changed; returns the errors it raises."""
    data = sample_data()
    change(next(q for q in data["questions"] if q["id"] == qid))
    path = write(tmp_path / "broken.yaml", data)
    with pytest.raises(BankErrors) as caught:
        load_pack(path)
    return caught.value.errors


def assert_names(errors: list[BankError], tmp_path: Path, qid: str, field: str, text: str) -> None:
    """Exactly the one expected error, and its message names file, id and field."""
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert (error.path, error.question_id, error.field) == (
        str(tmp_path / "broken.yaml"),
        qid,
        field,
    )
    message = str(error)
    assert message.startswith(f"{tmp_path / 'broken.yaml'}: {qid}: {field}: ")
    assert text in message


def test_shipped_bank_loads_and_passes_quality_checks() -> None:
    bank = load_bank(DEFAULT_QUESTIONS_DIR)
    assert len(bank) > 0
    assert [str(problem) for problem in check_bank(bank)] == []


def test_shipped_bank_has_multi_questions_over_topics_with_right_and_wrong_picks() -> None:
    """Issue 17: at least 30 multi questions over 12 topics, none a disguised single choice."""
    multi = [q for q in load_bank(DEFAULT_QUESTIONS_DIR) if q.kind is Kind.MULTI]
    assert len(multi) >= 30
    assert len({q.topic for q in multi}) >= 12
    assert [q.id for q in multi if len(q.correct_letters) < 2] == []
    assert [q.id for q in multi if len(q.correct_letters) == len(q.choices)] == []


def test_sample_pack_loads_every_kind() -> None:
    questions = load_pack(SAMPLE)
    assert [q.kind for q in questions] == [Kind.OPEN, Kind.SHORT, Kind.CHOICE, Kind.NUMERIC]
    assert {q.pack for q in questions} == {"sample-pack"}
    assert {q.topic for q in questions} == {"generalization"}
    choice = questions[2]
    assert choice.correct_letter == "C"
    assert choice.choices[0] == Choice(
        "Weight decay", "Weight decay shrinks weights every step; it never ends training."
    )
    numeric = questions[3]
    assert (numeric.answer, numeric.tolerance, numeric.percent) == (0.25, 0.005, True)
    assert questions[0].examples[2] == Example(
        Verdict.WRONG, "L2 makes weights sparse while L1 only shrinks them."
    )


def test_missing_field_is_named(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.pop("prompt"))
    assert_names(errors, tmp_path, SHORT_ID, "prompt", "missing")


def test_id_must_be_a_slug(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(id="Gen_Bad--id"))
    assert_names(errors, tmp_path, "Gen_Bad--id", "id", "slug")


def test_unknown_key_suggests_the_nearest_field(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(explantion="typo"))
    assert_names(errors, tmp_path, SHORT_ID, "explantion", "did you mean 'explanation'?")


def test_field_of_another_kind_is_unknown(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(tolerance=0.1))
    assert_names(errors, tmp_path, SHORT_ID, "tolerance", "unknown field for a short question")


def test_yaml_boolean_where_text_is_needed_is_explained(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace(
        "rejected: [L2, ridge, elastic net]", "rejected: [L2, ridge, no]"
    )
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BankErrors) as caught:
        load_pack(path)
    assert_names(caught.value.errors, tmp_path, SHORT_ID, "rejected[2]", "boolean false")
    assert "quotes" in str(caught.value)


def test_difficulty_must_be_known(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(difficulty="extreme"))
    assert_names(errors, tmp_path, SHORT_ID, "difficulty", "easy | medium | hard")


@pytest.mark.parametrize("week", [0, 5, "1", 1.5, True])
def test_week_must_be_1_to_4(tmp_path: Path, week: object) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(week=week))
    assert_names(errors, tmp_path, SHORT_ID, "week", "1-4")


def test_kind_must_be_known(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(kind="essay"))
    assert "kind: 'essay' is not one of choice | short | numeric | open" in str(errors[0])
    assert errors[0].question_id == SHORT_ID


def test_tags_must_be_a_list_of_lowercase_text(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(tags="regularization"))
    assert_names(errors, tmp_path, SHORT_ID, "tags", "expected a list")
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(tags=["Lasso"]))
    assert_names(errors, tmp_path, SHORT_ID, "tags[0]", "lowercase")


def test_source_must_follow_the_convention(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(source="wikipedia"))
    assert_names(errors, tmp_path, SHORT_ID, "source", "topic:<slug>")


def test_choice_needs_exactly_one_correct(tmp_path: Path) -> None:
    errors = broken(tmp_path, CHOICE_ID, lambda q: q["choices"][0].update(correct=True))
    assert_names(
        errors, tmp_path, CHOICE_ID, "choices", "exactly one choice must be correct (found 2)"
    )


def test_choice_needs_a_why(tmp_path: Path) -> None:
    errors = broken(tmp_path, CHOICE_ID, lambda q: q["choices"][1].pop("why"))
    assert_names(errors, tmp_path, CHOICE_ID, "choices[1].why", "missing")


def test_choice_needs_three_to_five_options(tmp_path: Path) -> None:
    errors = broken(tmp_path, CHOICE_ID, lambda q: q.update(choices=q["choices"][1:3]))
    assert_names(errors, tmp_path, CHOICE_ID, "choices", "3-5 choices (found 2)")


def test_choice_texts_must_differ(tmp_path: Path) -> None:
    errors = broken(tmp_path, CHOICE_ID, lambda q: q["choices"][1].update(text="weight  DECAY"))
    assert_names(errors, tmp_path, CHOICE_ID, "choices", "two choices have the same text")


def test_short_needs_answers(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q.update(answers=[]))
    assert_names(errors, tmp_path, SHORT_ID, "answers", "at least one")


def test_short_phrase_cannot_be_accepted_and_rejected(tmp_path: Path) -> None:
    errors = broken(tmp_path, SHORT_ID, lambda q: q["rejected"].append("LASSO!"))
    assert_names(errors, tmp_path, SHORT_ID, "rejected", "'LASSO!' is also accepted")


def test_numeric_answer_must_be_a_number(tmp_path: Path) -> None:
    errors = broken(tmp_path, NUMERIC_ID, lambda q: q.update(answer="a quarter"))
    assert_names(errors, tmp_path, NUMERIC_ID, "answer", "expected a number")


def test_numeric_yaml_exponent_without_dot_gets_a_hint(tmp_path: Path) -> None:
    errors = broken(tmp_path, NUMERIC_ID, lambda q: q.update(tolerance="1e-3"))
    assert_names(errors, tmp_path, NUMERIC_ID, "tolerance", "1.0e-3")


def test_numeric_tolerance_cannot_be_negative(tmp_path: Path) -> None:
    errors = broken(tmp_path, NUMERIC_ID, lambda q: q.update(tolerance=-0.1))
    assert_names(errors, tmp_path, NUMERIC_ID, "tolerance", "0 or more")


def test_numeric_percent_must_be_boolean(tmp_path: Path) -> None:
    errors = broken(tmp_path, NUMERIC_ID, lambda q: q.update(percent="yes please"))
    assert_names(errors, tmp_path, NUMERIC_ID, "percent", "true or false")


def test_open_needs_three_to_five_key_points(tmp_path: Path) -> None:
    errors = broken(tmp_path, OPEN_ID, lambda q: q.update(key_points=q["key_points"][:2]))
    assert_names(errors, tmp_path, OPEN_ID, "key_points", "3-5 key points (found 2)")


def test_open_key_point_needs_subject_phrases(tmp_path: Path) -> None:
    errors = broken(tmp_path, OPEN_ID, lambda q: q["key_points"][1].update(subject=[]))
    assert_names(errors, tmp_path, OPEN_ID, "key_points[1].subject", "at least one")


def test_open_key_points_name_two_parts_or_none(tmp_path: Path) -> None:
    errors = broken(tmp_path, OPEN_ID, lambda q: q["key_points"][0].update(part="effect"))
    assert_names(errors, tmp_path, OPEN_ID, "key_points", "names only one part ('effect')")


def test_open_key_point_part_must_be_text(tmp_path: Path) -> None:
    errors = broken(tmp_path, OPEN_ID, lambda q: q["key_points"][2].update(part=["penalty"]))
    assert_names(errors, tmp_path, OPEN_ID, "key_points[2].part", "expected text, got a list")


def test_open_misconception_has_no_part(tmp_path: Path) -> None:
    errors = broken(tmp_path, OPEN_ID, lambda q: q["misconceptions"][0].update(part="effect"))
    assert_names(
        errors, tmp_path, OPEN_ID, "misconceptions[0].part", "unknown field for a misconception"
    )


def test_open_key_point_parts_load_and_round_trip(tmp_path: Path) -> None:
    data = sample_data()
    question = next(q for q in data["questions"] if q["id"] == OPEN_ID)
    for point, part in zip(question["key_points"], ("effect", "effect", "penalty"), strict=True):
        point["part"] = part
    loaded = next(q for q in load_pack(write(tmp_path / "parts.yaml", data)) if q.id == OPEN_ID)
    assert [point.part for point in loaded.key_points] == ["effect", "effect", "penalty"]
    again = load_pack(write(tmp_path / "again.yaml", yaml.safe_load(dump_pack([loaded]))))
    assert again[0].key_points == loaded.key_points


def test_open_example_label_must_be_known(tmp_path: Path) -> None:
    errors = broken(tmp_path, OPEN_ID, lambda q: q["examples"][0].update(label="great"))
    assert any(
        e.field == "examples[0].label" and "good | partial | wrong" in str(e) for e in errors
    ), [str(e) for e in errors]


def test_open_examples_need_every_label(tmp_path: Path) -> None:
    errors = broken(
        tmp_path, OPEN_ID, lambda q: q["examples"].__setitem__(1, dict(q["examples"][2]))
    )
    assert_names(errors, tmp_path, OPEN_ID, "examples", "missing partial")


def test_every_problem_in_a_pack_is_reported(tmp_path: Path) -> None:
    data = sample_data()
    data["questions"][1].pop("prompt")
    data["questions"][3]["week"] = 9
    data["questions"].append(dict(data["questions"][2]))
    with pytest.raises(BankErrors) as caught:
        load_pack(write(tmp_path / "broken.yaml", data))
    fields = [(e.question_id, e.field) for e in caught.value.errors]
    assert fields == [(SHORT_ID, "prompt"), (NUMERIC_ID, "week"), (CHOICE_ID, "id")]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "topic: generalization\nquestions:\n  - id: x\n    tags: [a\n", encoding="utf-8"
    )
    with pytest.raises(BankErrors) as caught:
        load_pack(path)
    (error,) = caught.value.errors
    assert error.path == str(path)
    assert error.field == "line 5"
    assert "invalid YAML" in error.problem


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace("    week: 2\n", "    week: 2\n    week: 3\n")
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BankErrors, match=r"broken.yaml: line \d+: .*duplicate key 'week'"):
        load_pack(path)


def test_pack_must_be_a_mapping_with_a_slug_topic(tmp_path: Path) -> None:
    with pytest.raises(BankErrors, match="expected a mapping"):
        load_pack(write(tmp_path / "list.yaml", [1, 2]))
    data = sample_data() | {"topic": "General Stuff"}
    with pytest.raises(BankErrors, match=r"list\.yaml: topic: 'General Stuff' is not a slug"):
        load_pack(write(tmp_path / "list.yaml", data))


def test_duplicate_ids_across_packs_are_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", sample_data())
    write(tmp_path / "b.yaml", sample_data())
    with pytest.raises(BankErrors) as caught:
        load_bank(tmp_path)
    errors = caught.value.errors
    assert len(errors) == 4
    assert all(e.path == str(tmp_path / "b.yaml") and e.field == "id" for e in errors)
    assert f"also in {tmp_path / 'a.yaml'}" in errors[0].problem


def test_bank_gives_ordered_read_only_access(tmp_path: Path) -> None:
    data = sample_data()
    write(tmp_path / "b-pack.yaml", data)
    data["topic"] = "evaluation"
    for question in data["questions"]:
        question["id"] = question["id"].replace("gen-", "eval-")
    write(tmp_path / "a-pack.yaml", data)
    bank = load_bank(tmp_path)
    assert len(bank) == 8
    assert list(bank.questions)[:2] == ["eval-sample-l1-vs-l2", "eval-sample-sparse-penalty"]
    assert [q.pack for q in bank][::4] == ["a-pack", "b-pack"]
    assert bank.topics() == ("evaluation", "generalization")
    assert bank.by_topic("generalization")[0].id == OPEN_ID
    assert bank.get(SHORT_ID) is not None and bank.get("nope") is None
    assert SHORT_ID in bank
    with pytest.raises(TypeError):
        bank.questions["x"] = bank.questions[SHORT_ID]  # type: ignore[index]
    assert load_bank(tmp_path / "b-pack.yaml").packs() == ("b-pack",)


def test_scan_bank_keeps_valid_questions_of_a_broken_pack(tmp_path: Path) -> None:
    data = sample_data()
    data["questions"][1]["difficulty"] = "extreme"
    write(tmp_path / "pack.yaml", data)
    bank, errors = scan_bank(tmp_path)
    assert len(bank) == 3
    assert [e.field for e in errors] == ["difficulty"]


DISTINCT_PROMPTS = (
    "Which loss suits binary classification?",
    "What does a confusion matrix tabulate?",
    "Why scale features before kNN?",
    "When is recall more important than precision?",
    "How does bagging reduce variance?",
    "What is an eigenvector?",
    "Which split criterion do CART trees use?",
    "Why shuffle data before mini-batch gradient descent?",
)


def choice_pack(count: int) -> list[Question]:
    """`count` choice questions with distinct prompts, all correct at C."""
    base = load_pack(SAMPLE)[2]
    return [
        dataclasses.replace(base, id=f"q{i}", prompt=prompt)
        for i, prompt in enumerate(DISTINCT_PROMPTS[:count])
    ]


def test_quality_flags_near_duplicate_prompts() -> None:
    base = load_pack(SAMPLE)[1]
    twin = dataclasses.replace(
        base, id="twin", prompt=base.prompt.replace("(one term)", "(one term!)")
    )
    other = dataclasses.replace(base, id="other", prompt="What does PCA stand for?")
    problems = check_bank(Bank.of([base, twin, other]))
    assert [(p.question_id, p.field) for p in problems] == [("twin", "prompt")]
    assert f"near-duplicate of {SHORT_ID}" in problems[0].problem


def test_quality_flags_correct_letter_spread() -> None:
    problems = check_bank(Bank.of(choice_pack(8), {"sample-pack": "questions/x.yaml"}))
    assert [str(p) for p in problems] == [
        "questions/x.yaml: choices: C is correct in 8 of 8 choice questions (100%); at most 35%"
        " per letter, move some correct options (C=8)"
    ]


def test_quality_skips_letter_spread_below_eight_choice_questions() -> None:
    assert check_bank(Bank.of(choice_pack(7))) == []


def test_quality_flags_mislabelled_open_example() -> None:
    question = load_pack(SAMPLE)[0]
    relabelled = dataclasses.replace(
        question, examples=(*question.examples, Example(Verdict.GOOD, "L2 gives sparse weights"))
    )
    problems = check_bank(Bank.of([relabelled]))
    assert len(problems) == 1
    assert problems[0].field == "examples[4]"
    assert "labelled good but grades wrong" in problems[0].problem
    assert "misconceptions: Claims L2 gives sparse weights" in problems[0].problem


def test_quality_flags_missing_why_and_catch_all_options() -> None:
    question = load_pack(SAMPLE)[2]
    choices = list(question.choices)
    choices[0] = Choice("All of the above", " ")
    problems = check_bank(Bank.of([dataclasses.replace(question, choices=tuple(choices))]))
    assert [p.field for p in problems] == ["choices[0].why", "choices[0].text"]
    assert all(p.question_id == CHOICE_ID and p.path == "sample-pack.yaml" for p in problems)


def test_a_date_that_does_not_exist_is_read_as_text(tmp_path: Path) -> None:
    data = sample_data()
    next(q for q in data["questions"] if q["id"] == SHORT_ID)["answers"] = "@@DATES@@"
    path = write(tmp_path / "dates.yaml", data)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("'@@DATES@@'", "[2017-02-30, 2017-02-28]"), encoding="utf-8")
    assert "answers: [2017-02-30, 2017-02-28]" in path.read_text(encoding="utf-8")
    question = load_bank(tmp_path).get(SHORT_ID)
    assert question is not None and question.answers == ("2017-02-30", "2017-02-28")


def test_a_date_where_a_number_belongs_names_file_question_and_field(tmp_path: Path) -> None:
    data = sample_data()
    path = write(tmp_path / "dates.yaml", data)
    text = path.read_text(encoding="utf-8").replace("week: 1", "week: 2017-02-30", 1)
    path.write_text(text, encoding="utf-8")
    bank, errors = scan_bank(tmp_path)
    assert OPEN_ID not in bank
    assert [(e.path, e.question_id, e.field) for e in errors] == [(str(path), OPEN_ID, "week")]
    assert "'2017-02-30'" in errors[0].problem


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({}, "no *.yaml question packs here"),
        ({"notes.txt": "not a pack"}, "no *.yaml question packs here"),
        ({"empty.yaml": "topic: misc\nquestions: []\n"}, "invalid question bank, 1 problem"),
        ({"bad.yaml": "topic: [\n"}, "invalid question bank, 1 problem; the first is"),
    ],
)
def test_loading_an_empty_or_invalid_bank_raises_one_line_naming_the_dir(
    tmp_path: Path, files: dict[str, str], problem: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(UnusableBank) as caught:
        load_bank(tmp_path)
    line = str(caught.value)
    assert line.startswith(f"{tmp_path}: ")
    assert problem in line
    assert "\n" not in line
