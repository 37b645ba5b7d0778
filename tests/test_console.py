"""The console drill, run as a user would: a subprocess fed by a pipe."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import yaml

from bot.console_adapter.console import CHANNEL, ConsolePublisher
from bot.core import messages
from tests.conftest import TEST_BANK
from tests.fakes import drill_post

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """\
/quiz setup time:09:00 tz:Europe/Berlin topics:testing
/quiz post-now
:as alice
/quiz answer A
:as bob
/quiz answer B
/quiz answer C
:as carol
/quiz answer C
/quiz close-now
:as bob
/quiz stats
/quiz leaderboard week
/quiz dance
"""


def run_console(tmp_path: Path, script: str, bank: Path = TEST_BANK) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}",
        "QUESTIONS_DIR": str(bank),
        "DATA_DIR": str(tmp_path / "data"),
    }
    for name in list(env):
        if name.startswith(("DISCORD_", "SLACK_")):
            del env[name]
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input=script,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_a_scripted_console_session_runs_end_to_end(tmp_path):
    out = run_console(tmp_path, SCRIPT)
    assert "Daily question" in out and "\nA) " in out and "\nD) " in out
    for name in ("alice", "bob", "carol"):
        assert f"[private to {name}]" in out
    assert "[private to bob] You've already answered; your answer B stands." in out
    assert "3 people answered" in out
    assert "Stats for bob\nAnswered: 1" in out
    assert "Leaderboard: this week" in out
    assert "I don't know the command `dance`" in out
    assert "Traceback" not in out


def test_the_console_keeps_its_data_between_sessions(tmp_path):
    run_console(tmp_path, SCRIPT)
    out = run_console(tmp_path, ":as bob\n/quiz stats\n")
    assert "Stats for bob\nAnswered: 1" in out


def test_as_is_a_whole_word_so_other_text_answers(tmp_path):
    out = run_console(
        tmp_path,
        "/quiz setup time:09:00 tz:Europe/Berlin topics:testing\n/quiz post-now\n"
        ":ask me\n:as\n:as bob\n",
    )
    assert "now speaking as k me" not in out
    # `:ask me` is an answer from the current member, graded as one.
    assert "[private to you] Answer with one of the letters A-D." in out
    assert "Give a name: `:as alice`" in out
    assert "(now speaking as bob)" in out


MULTI_SCRIPT = """\
/quiz setup time:09:00 tz:Europe/Berlin topics:select
/quiz post-now
:as alice
/quiz answer A C
:as bob
/quiz answer A
/quiz answer A C
:as carol
/quiz answer a, b
:as dave
/quiz answer CA
:as erin
/quiz answer A Z
/quiz close-now
:as bob
/quiz stats
"""


def test_a_multi_question_is_answered_with_several_letters_on_the_console(tmp_path):
    # One select-all question only (right: A and C), so the day's pick is known.
    data = yaml.safe_load((TEST_BANK / "select.yaml").read_text(encoding="utf-8"))
    data["questions"] = [q for q in data["questions"] if q["id"] == "select-multi-overfitting"]
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "select.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

    out = run_console(tmp_path, MULTI_SCRIPT, bank)
    assert "Pick every right one: `/quiz answer A D`." in out
    assert "[private to alice] Correct, +25 points!" in out
    assert "[private to bob] Partly right, +10 points." in out
    assert "You missed: C) Weight decay" in out
    assert "[private to bob] You've already answered; your answer A stands." in out
    assert "[private to carol] Not quite. The answer is A) Dropout; C) Weight decay." in out
    assert "[private to dave] Correct, +25 points!" in out
    assert "[private to erin] Answer with one or more of the letters A-D, like `A C`." in out
    assert "4 people answered; 2 got it right (50%)." in out
    for line in ("A       ██████████ 4 ✓", "B       ██░░░░░░░░ 1", "C       █████░░░░░ 2 ✓"):
        assert line in out
    assert "D       ░░░░░░░░░░ 0" in out
    assert "Stats for bob\nAnswered: 1 · correct: 0 (0%)\nPoints: 10" in out
    assert "Traceback" not in out


async def test_the_console_publisher_finds_only_the_drills_it_posted():
    publisher = ConsolePublisher(io.StringIO())
    message_id = await publisher.post_drill(drill_post(CHANNEL, 3))
    assert await publisher.find_drill_post(CHANNEL, 3) == message_id
    assert await publisher.find_drill_post(CHANNEL, 4) is None


def test_remind_on_and_off_on_the_console(tmp_path):
    out = run_console(
        tmp_path,
        "/quiz setup tz:Europe/Berlin\n:as alice\n/quiz remind on\n/quiz remind on\n"
        "/quiz remind off\n/quiz remind soon\n",
    )
    assert f"[private to alice] {messages.REMINDER_ON}" in out
    assert f"[private to alice] {messages.REMINDER_ALREADY_ON}" in out
    assert f"[private to alice] {messages.REMINDER_OFF}" in out
    assert messages.REMIND_SWITCH in out


async def test_a_console_reminder_shows_the_question_privately():
    out = io.StringIO()
    publisher = ConsolePublisher(out)
    post = drill_post(CHANNEL, 5)
    await publisher.remind(post, "alice", "Reminder: closes soon.")
    text = out.getvalue()
    assert text.startswith("[private to alice] Reminder: closes soon.\n")
    assert "Question 5: which choice is right?" in text and "\nB) " in text


RIGHTS_SCRIPT = """\
/quiz setup time:09:00 tz:Europe/Berlin topics:testing
/quiz post-now
:as alice
/quiz answer A
:as bob
/quiz answer B
/quiz close-now
:as alice
/quiz group create nlp
/quiz export
/quiz forget-me
/quiz forget-me confirm
/quiz forget-me confirm
:as bob
/quiz forget alice confirm
/quiz leaderboard all
"""


def test_export_writes_a_private_json_file_and_forget_me_deletes_the_member(tmp_path):
    out = run_console(tmp_path, RIGHTS_SCRIPT)

    (path,) = (tmp_path / "data" / "exports").glob("daily-drill-console-local-alice-*.json")
    assert "[private to alice] Everything Daily Drill stores about you in this workspace: " in out
    assert f"The JSON file is at `{path}`; only you should read it." in out
    assert path.stat().st_mode & 0o777 == 0o600
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["member"]["user_id"] == "alice"
    assert [a["answer"] for a in doc["attempts"]] == ["A"]
    assert doc["groups"][0]["name"] == "nlp"
    assert "To go ahead: `/quiz forget-me confirm`" in out
    assert (
        "[private to alice] Done: everything stored about you in this workspace is deleted" in out
    )
    assert f"[private to alice] {messages.NOTHING_TO_FORGET}" in out
    # Everyone is an admin on the console: forgetting her again finds nothing.
    assert "[private to bob] Nothing is stored about alice in this workspace." in out
    board = out[out.rindex("Leaderboard: all time") :]
    assert "bob" in board and "alice" not in board
    with closing(sqlite3.connect(tmp_path / "console.db")) as conn:
        users = [row[0] for row in conn.execute("SELECT user_id FROM members")]
        groups = conn.execute("SELECT count(*) FROM study_groups").fetchone()
    assert users == ["bob"] and groups == (0,)
    assert "Traceback" not in out


def test_stats_on_the_console_write_the_progress_chart_to_a_png(tmp_path):
    out = run_console(tmp_path, SCRIPT)
    (path,) = (tmp_path / "data" / "charts").glob("*.png")
    assert path.name == "stats-bob.png"
    assert "[private to bob] Stats for bob" in out
    assert messages.chart_written(str(path)) in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


ONE_QUESTION_KEYED_C = """\
topic: testing
questions:
  - id: testing-choice-dropout
    tags: [regularization]
    difficulty: easy
    week: 1
    kind: choice
    prompt: What does dropout zero during training?
    choices:
      - text: Weights, permanently
        why: Dropout leaves the weights in place; it masks activations.
      - text: Gradients of the last layer
        why: Gradients still flow through the units that were kept.
      - text: Random activations, afresh at each step
        correct: true
        why: Each step samples a new mask over the units.
      - text: Whole training examples
        why: Dropping examples is subsampling, not dropout.
    explanation: Dropout masks a random subset of activations at every training step.
    source: topic:testing
"""


def test_report_and_resolve_on_the_console(tmp_path):
    """Reports and disputes: one report per member and question, the admins' list, and
    an accepted wrong-key report regrading the drill with a private line per member."""
    # One question keyed C, so the drill does not depend on the day: alice's A is wrong
    # under either key, bob's B turns right when the key moves to B.
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "one.yaml").write_text(ONE_QUESTION_KEYED_C)
    out = run_console(
        tmp_path,
        "/quiz setup tz:Europe/Berlin topics:testing\n/quiz post-now\n"
        ":as alice\n/quiz answer A\n:as bob\n/quiz answer B\n/quiz close-now\n"
        "/quiz report wrong-key B is right\n/quiz report typo\n/quiz report sideways\n"
        "/quiz reports\n/quiz reports resolve 1 accept key:B\n",
        bank=bank,
    )
    with closing(sqlite3.connect(tmp_path / "console.db")) as conn:
        ((question,),) = conn.execute("SELECT question_id FROM drills").fetchall()
        reports = conn.execute("SELECT reason, text, state FROM question_reports").fetchall()
        graded = dict(
            conn.execute(
                "SELECT m.user_id, a.verdict FROM attempts a JOIN members m ON m.id = a.member_id"
            ).fetchall()
        )
    assert f"[private to bob] Thanks: report #1 on `{question}` (wrong-key)" in out
    assert f"You have reported `{question}` already (wrong-key, report #1)" in out
    assert messages.not_a_report_reason("sideways") in out
    assert f"`{question}`: wrong-key ×1" in out
    assert f"Accepted report #1 on `{question}`. Regraded with key B" in out
    assert reports == [("wrong-key", "B is right", "accepted")]
    assert graded == {"alice": "wrong", "bob": "good"}
    assert out.count("After a report") == 1  # alice stays wrong: only bob changed
