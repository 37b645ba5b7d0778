"""Importing questions from other formats, and writing packs atomically."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.core.bank import Bank, load_pack
from bot.core.errors import BankErrors
from bot.core.importers import DEFAULT_WHY, import_questions, strip_html, write_pack
from bot.core.kinds.registry import grade
from bot.core.models import Difficulty, Kind, Verdict
from bot.core.quality import check_bank

DATA = Path(__file__).parent / "data"


def test_csv_rows_become_choice_and_short_questions() -> None:
    questions = import_questions(DATA / "sample.csv", "csv", None)
    assert [q.kind for q in questions] == [Kind.CHOICE, Kind.SHORT, Kind.SHORT, Kind.CHOICE]
    penalty, pca, f1, kmeans = questions
    assert penalty.id == "generalization-which-penalty-drives-some-weights-exactly-to-zero"
    assert penalty.correct_letter == "B"
    assert [c.text for c in penalty.choices] == ["L2", "L1", "Dropout", "Early stopping"]
    assert all(c.why == DEFAULT_WHY for c in penalty.choices)
    assert penalty.difficulty is Difficulty.EASY
    assert pca.topic == "linear-algebra"
    assert pca.answers == ("principal component analysis", "PCA")
    assert pca.difficulty is Difficulty.MEDIUM
    assert f1.explanation == "Imported from sample.csv."
    assert f1.source == "import:sample.csv"
    assert f1.week is None
    assert kmeans.correct_letter == "B"  # named by its text, not its letter
    assert grade(kmeans, "k-means").verdict is Verdict.GOOD


def test_csv_topic_option_fills_rows_without_a_topic(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("prompt,answer\nWhat does SVD stand for?,singular value decomposition\n")
    (question,) = import_questions(path, "csv", "linear-algebra")
    assert question.topic == "linear-algebra"
    assert question.id == "linear-algebra-what-does-svd-stand-for"
    assert question.tags == ("linear-algebra",)


def test_csv_bad_rows_name_their_lines() -> None:
    with pytest.raises(BankErrors) as caught:
        import_questions(DATA / "sample-bad.csv", "csv", None)
    errors = caught.value.errors
    assert [(e.path, e.field) for e in errors] == [
        (str(DATA / "sample-bad.csv"), "line 3"),
        (str(DATA / "sample-bad.csv"), "line 4"),
    ]
    assert "answer 'L3' is neither a letter A-C nor a choice's text" in errors[0].problem
    assert "difficulty: 'extreme' is not one of easy | medium | hard" in errors[1].problem


def test_csv_unknown_column_is_reported_on_line_1(tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text("promt,answer\nx,y\n")
    with pytest.raises(BankErrors) as caught:
        import_questions(path, "csv", "misc")
    assert [e.field for e in caught.value.errors] == ["line 1", "line 1"]
    assert "missing column 'prompt'" in str(caught.value)


def test_anki_export_strips_html_and_reads_tags() -> None:
    sgd, relu = import_questions(DATA / "sample-anki.txt", "anki", "optimization")
    assert sgd.kind is Kind.SHORT
    assert sgd.prompt == "What does SGD stand for?"
    assert sgd.answers == ("stochastic gradient descent",)
    assert sgd.tags == ("optimization", "deep-basics")
    assert sgd.id == "optimization-what-does-sgd-stand-for"
    assert relu.prompt == "Which activation computes max(0, x)?"
    assert relu.answers == ("ReLU",)
    assert relu.tags == ("optimization",)


def test_anki_row_without_back_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deck.txt"
    path.write_text("#separator:tab\n#html:false\nfront\tback\nonly a front\n")
    with pytest.raises(BankErrors) as caught:
        import_questions(path, "anki", "misc")
    assert [e.field for e in caught.value.errors] == ["line 4"]


def test_strip_html_keeps_text_and_entities() -> None:
    assert strip_html("<div>a&nbsp;<b>b</b><br>c [sound:x.mp3]</div>") == "a b c"


def test_red_trivia_skips_author_and_config_and_keeps_answer_text() -> None:
    questions = import_questions(DATA / "sample-red.yaml", "red-trivia", "deep-learning")
    assert [q.prompt for q in questions] == [
        "What does CNN stand for?",
        "Is ReLU linear for positive inputs?",
        "In which year was backpropagation popularised by Rumelhart, Hinton and Williams?",
    ]
    assert questions[0].answers == ("convolutional neural network", "CNN")
    assert questions[1].answers == ("Yes",)  # not the boolean YAML would make of it
    assert questions[2].answers == ("1986",)
    assert {q.kind for q in questions} == {Kind.SHORT}


def test_red_trivia_question_without_list_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "red.yaml"
    path.write_text("AUTHOR: me\nGood?:\n- yes\nBad?: just text\n")
    with pytest.raises(BankErrors) as caught:
        import_questions(path, "red-trivia", "misc")
    assert [e.field for e in caught.value.errors] == ["line 4"]


def test_yaml_import_keeps_the_pack_and_can_retopic() -> None:
    same = import_questions(DATA / "sample-pack.yaml", "yaml", None)
    assert same == load_pack(DATA / "sample-pack.yaml")
    moved = import_questions(DATA / "sample-pack.yaml", "yaml", "evaluation")
    assert {q.topic for q in moved} == {"evaluation"}


def test_generated_ids_are_unique(tmp_path: Path) -> None:
    path = tmp_path / "dupes.csv"
    path.write_text("prompt,answer\nWhat is PCA?,pca\nWhat is PCA?,principal components\n")
    questions = import_questions(path, "csv", "linear-algebra")
    assert [q.id for q in questions] == [
        "linear-algebra-what-is-pca",
        "linear-algebra-what-is-pca-2",
    ]


def test_write_pack_round_trips(tmp_path: Path) -> None:
    questions = import_questions(DATA / "sample.csv", "csv", None)
    out = tmp_path / "nested" / "imported.yaml"
    write_pack(questions, out)
    loaded = load_pack(out)
    assert [q.id for q in loaded] == [q.id for q in questions]
    assert loaded[1].topic == "linear-algebra"
    assert {q.pack for q in loaded} == {"imported"}
    assert list(out.parent.iterdir()) == [out]  # no temp file left behind


def test_write_pack_writes_nothing_for_an_invalid_question(tmp_path: Path) -> None:
    (question, *_) = import_questions(DATA / "sample.csv", "csv", None)
    out = tmp_path / "out.yaml"
    broken = [question, question]  # duplicate ids
    with pytest.raises(BankErrors, match="duplicate id"):
        write_pack(broken, out)
    assert list(tmp_path.iterdir()) == []


def test_red_trivia_list_with_description_imports_and_passes_the_quality_check() -> None:
    questions = import_questions(DATA / "red-worldcapitals.yaml", "red-trivia", "geography")
    assert [q.answers[0] for q in questions] == ["Dodoma", "Taipei", "Canberra", "Vienna", "Oslo"]
    assert questions[1].answers == ("Taipei", "Taipei City")
    assert check_bank(Bank.of(questions)) == []


def test_near_duplicates_that_name_the_same_things_are_still_reported() -> None:
    (original,) = import_questions(DATA / "sample-red.yaml", "red-trivia", "deep-learning")[:1]
    reworded = dataclasses.replace(
        original, id="deep-learning-cnn-again", prompt="What does CNN stand for, then?"
    )
    problems = check_bank(Bank.of([original, reworded]))
    assert [(p.question_id, p.field) for p in problems] == [("deep-learning-cnn-again", "prompt")]
    assert f"near-duplicate of {original.id}" in problems[0].problem


def test_anki_export_with_guid_notetype_and_deck_columns_reads_the_note_fields() -> None:
    sgd, rmsprop = import_questions(DATA / "anki-export-guid.txt", "anki", "optimization")
    assert sgd.prompt == "What does SGD stand for?"
    assert sgd.answers == ("stochastic gradient descent",)
    assert sgd.tags == ("optimisation", "deep-basics")
    assert rmsprop.prompt == "Which optimiser keeps a running average of squared gradients?"
    assert rmsprop.answers == ("RMSProp",)
    assert rmsprop.tags == ("optimization",)


def test_anki_columns_header_names_the_tags_column() -> None:
    (pca,) = import_questions(DATA / "anki-export-columns.txt", "anki", "misc")
    assert pca.prompt == "What does PCA stand for?"
    assert pca.answers == ("principal component analysis",)
    assert pca.tags == ("linear-algebra",)


def test_a_csv_row_naming_several_right_choices_becomes_a_multi_question(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text(
        "prompt,answer,choices\n"
        "Which of these are ensembles?,A|gradient boosting,"
        "Random forest|Logistic regression|Gradient boosting|k-means\n"
    )
    (question,) = import_questions(path, "csv", "trees-ensembles")
    assert question.kind is Kind.MULTI
    assert question.correct_letters == "AC"  # by letter and by text
    assert grade(question, "A C").verdict is Verdict.GOOD


def test_a_csv_select_all_row_is_checked_like_a_multi_pack_entry(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text("prompt,answer,choices\nWhich are unsupervised?,A|C,k-means|SVM|DBSCAN\n")
    with pytest.raises(BankErrors) as caught:
        import_questions(path, "csv", "clustering")
    (error,) = caught.value.errors
    assert str(error).endswith("line 2: choices: needs 4-6 choices (found 3)")
