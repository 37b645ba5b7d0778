"""`questions flags` end to end: answers recorded through QuizService on a real SQLite
file, then the command reading that file read-only against a copy of the test bank."""

from __future__ import annotations

import difflib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.core import commands
from bot.core.models import ChannelRef, PracticeTurn
from bot.core.service import Invocation, QuizService
from bot.questions_cli import main
from tests.conftest import TEST_BANK, member, open_drill_on
from tests.dbtools import sql
from tests.fakes import FakeClock

pytestmark = pytest.mark.every_backend

# testing-choice-l1 (medium, key B): 12 pick the L2 distractor A, 10 the key, 3 C, none D.
L1_ANSWERS = ["A"] * 12 + ["B"] * 10 + ["C"] * 3
# testing-choice-correlation (easy, key A): everyone right.
CORRELATION_ANSWERS = ["A"] * 20
# testing-numeric-precision (hard): 18 of 20 right, 90%.
PRECISION_ANSWERS = ["0.75"] * 18 + ["0.5"] * 2
# testing-short-lasso: only 5 answers, too few to judge.
LASSO_ANSWERS = ["ridge"] * 5


async def answer_all(service: QuizService, channel: str, qid: str, answers: list[str]) -> None:
    """One channel's drill on `qid`, answered once by each of len(answers) members."""
    where = ChannelRef("test", "W1", channel)
    admin = Invocation(member("admin"), where, is_admin=True)
    await service.execute(commands.parse("/quiz setup topics:testing,typed"), admin)
    drill_id = await open_drill_on(service, where, qid)
    for n, text in enumerate(answers):
        await service.submit_answer(member(f"{channel}-{n}"), drill_id, text)


@pytest.fixture
async def answered(service: QuizService) -> None:
    await answer_all(service, "C1", "testing-choice-l1", L1_ANSWERS)
    await answer_all(service, "C2", "testing-choice-correlation", CORRELATION_ANSWERS)
    await answer_all(service, "C3", "testing-numeric-precision", PRECISION_ANSWERS)
    await answer_all(service, "C4", "testing-short-lasso", LASSO_ANSWERS)


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """A copy of the test bank that --write may edit."""
    copy = tmp_path / "bank"
    shutil.copytree(TEST_BANK, copy)
    return copy


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def files(directory: Path) -> dict[str, bytes]:
    """Every file in `directory` (hidden ones too: a left-over temporary file) by name."""
    return {path.name: path.read_bytes() for path in directory.iterdir()}


async def test_flags_table_lists_flagged_questions_most_severe_first(
    answered: None, env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flags", str(bank)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["question", "topic", "kind", "answers", "correct", "flags"]
    assert lines[1].split("  ")[0] == "testing-choice-l1"
    assert "25" in lines[1] and "40%" in lines[1]
    assert "distractor A picked 12 > key 10; unpicked choice D" in lines[1]
    assert lines[2].startswith("testing-choice-correlation")
    assert "100%" in lines[2]
    assert lines[2].endswith(
        "unpicked choice B; unpicked choice C; unpicked choice D; too easy (> 95%)"
    )
    assert lines[3] == ""
    assert lines[4] == "2 flagged of 4 answered questions (share rules from 20 answers)"
    assert len(lines) == 5


async def test_flags_json_gives_every_figure(
    answered: None, env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flags", str(bank), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["answered_questions"] == 4 and doc["not_in_bank"] == 0
    first, second = doc["flagged"]
    assert first["id"] == "testing-choice-l1"
    assert (first["answers"], first["correct"], first["share_correct"]) == (25, 10, 0.4)
    assert first["picks"] == {"A": 12, "B": 10, "C": 3, "D": 0}
    assert first["flags"] == [
        {"flag": "distractor beats key", "letter": "A", "picks": 12, "key_picks": 10},
        {"flag": "unpicked choice", "letter": "D"},
    ]
    assert second["id"] == "testing-choice-correlation"
    assert second["flags"][-1] == {"flag": "too easy"}


async def test_thresholds_and_min_answers_are_options(
    answered: None, env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["flags", str(bank), "--json", "--too-easy", "85%", "--min-answers", "5"]
    assert main(args) == 0
    flagged = {item["id"]: item["flags"] for item in json.loads(capsys.readouterr().out)["flagged"]}
    assert flagged["testing-numeric-precision"] == [{"flag": "too easy"}]
    assert flagged["testing-short-lasso"] == [{"flag": "too hard"}]


async def test_open_reports_are_counted_per_reason(
    answered: None, env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = [row[0] for row in sql(env, "SELECT id FROM members ORDER BY id")]
    stamp = "2025-01-15T08:00:00+00:00"
    for report in (  # reports as /quiz report stores them
        ("testing-open-l1-l2", members[0], "wrong-key", stamp, "open"),
        ("testing-open-l1-l2", members[1], "wrong-key", stamp, "open"),
        ("testing-open-l1-l2", members[2], "typo", stamp, "open"),
        ("testing-open-l1-l2", members[3], "ambiguous", stamp, "rejected"),
        ("testing-choice-recall", members[0], "typo", stamp, "accepted"),
    ):
        sql(
            env,
            """INSERT INTO question_reports (question_id, member_id, reason, created_at, state)
               VALUES (?, ?, ?, ?, ?)""",
            *report,
        )
    assert main(["flags", str(bank)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("testing-open-l1-l2")
    assert lines[1].endswith("reported: wrong-key x2; reported: typo x1")
    assert not any("testing-choice-recall" in line for line in lines)
    assert lines[-1] == "3 flagged of 4 answered questions (share rules from 20 answers)"


async def test_calibrate_proposes_and_writes_nothing_without_write(
    answered: None, env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files(bank)
    assert main(["flags", str(bank), "--calibrate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "question", "topic", "kind", "answers", "correct", "difficulty", "proposed"
    ]  # fmt: skip
    assert lines[1].split() == [
        "testing-choice-l1",
        "testing",
        "choice",
        "25",
        "40%",
        "medium",
        "hard",
    ]
    assert lines[2].split() == [
        "testing-numeric-precision", "typed", "numeric", "20", "90%", "hard", "easy"
    ]  # fmt: skip
    assert lines[3].split() == [
        "testing-choice-correlation", "testing", "choice", "20", "100%", "easy", "="
    ]  # fmt: skip
    assert lines[-2:] == [
        "2 of 3 calibrated questions would change difficulty",
        "pass --write to rewrite them in their pack files",
    ]
    assert files(bank) == before


async def test_calibrate_write_changes_exactly_the_difficulty_lines(
    answered: None, env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = bank / "mini.yaml"
    old = pack.read_text(encoding="utf-8").splitlines(keepends=True)
    untouched = (bank / "select.yaml").read_bytes()
    assert main(["flags", str(bank), "--calibrate", "--write"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        f"{pack}: testing-choice-l1: difficulty medium -> hard",
        f"{pack}: testing-numeric-precision: difficulty hard -> easy",
    ]
    new = pack.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = [line for line in difflib.unified_diff(old, new, n=0) if line[0] in "+-"]
    assert changed == [
        "--- \n",
        "+++ \n",
        "-    difficulty: medium\n",
        "+    difficulty: hard\n",
        "-    difficulty: hard\n",
        "+    difficulty: easy\n",
    ]
    assert (bank / "select.yaml").read_bytes() == untouched
    assert sorted(files(bank)) == ["mini.yaml", "select.yaml"]
    assert main(["check", str(bank)]) == 0
    capsys.readouterr()
    assert main(["flags", str(bank), "--calibrate", "--write"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "0 of 3 calibrated questions would change difficulty",
        "nothing to write",
    ]


async def test_an_empty_database_says_so_and_exits_0(
    service: QuizService, env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flags", str(bank)]) == 0
    assert capsys.readouterr().out == "no answers recorded in the database yet: nothing to review\n"


def test_a_never_migrated_database_counts_as_empty(
    tmp_path: Path, bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite3.connect(tmp_path / "blank.db").close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'blank.db'}")
    assert main(["flags", str(bank)]) == 0
    assert "no answers recorded" in capsys.readouterr().out


def test_a_missing_database_is_one_line_and_exit_2_and_is_not_created(
    tmp_path: Path, bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope" / "drill.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    assert main(["flags", str(bank)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"Cannot read the database '{missing}' (from DATABASE_URL): no such file. Set "
        "DATABASE_URL to the bot's database, sqlite:///relative/path.db, "
        "sqlite:////absolute/path.db or postgresql://user:password@host:5432/database.\n"
    )
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    ("url", "shown"),
    [("mysql://user:secret@host/db", "mysql://..."), ("mysql:///x.db", "mysql://...")],
)
def test_a_bad_database_url_is_one_line_and_exit_2(
    url: str,
    shown: str,
    bank: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["flags", str(bank)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"DATABASE_URL={shown} ")
    assert "secret" not in err


def test_a_file_that_is_not_sqlite_is_one_line_and_exit_2(
    tmp_path: Path, bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.db").write_text("not a database\n" * 100, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'notes.db'}")
    assert main(["flags", str(bank)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "file is not a database" in err


def test_write_without_calibrate_is_refused(
    env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flags", str(bank), "--write"]) == 2
    assert capsys.readouterr().err == "--write only goes with --calibrate\n"


def test_help_names_the_options_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["flags", "--help"])
    assert stopped.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "flag a share correct above this (default 95%)" in out
    assert "flag a share correct below this (default 15%)" in out
    assert ">= 80% is easy, <= 40% is hard, else medium" in out


async def test_practice_counts_first_answers_but_not_reviews(
    service: QuizService, clock: FakeClock, env: str, bank: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = Invocation(member("alice"), ChannelRef("test", "W1", "C1"))

    async def practice(text: str) -> PracticeTurn:
        reply = await service.execute(commands.parse(text), alice)
        assert isinstance(reply.data, PracticeTurn) and reply.data.question is not None
        return reply.data

    turn = await practice("/quiz practice testing 2")
    assert turn.question is not None
    missed = turn.question
    turn = await practice(
        "/quiz answer " + next(c for c in missed.letters if c not in missed.correct_letters)
    )
    assert turn.question is not None
    await service.execute(commands.parse("/quiz answer " + turn.question.correct_letter), alice)
    clock.advance(hours=1)
    again = await practice("/quiz practice testing 2")
    assert again.question is not None and again.question.id == missed.id
    assert again.session.items[0].review  # the card was due: a review, not a first look
    await service.execute(commands.parse("/quiz answer " + missed.correct_letter), alice)
    assert main(["flags", str(bank), "--calibrate", "--json", "--min-answers", "1"]) == 0
    counted = {
        item["id"]: (item["answers"], item["correct"])
        for item in json.loads(capsys.readouterr().out)["calibrated"]
    }
    assert counted == {missed.id: (1, 0), turn.question.id: (1, 1)}
