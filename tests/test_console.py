"""The console drill, run as a user would: a subprocess fed by a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.console_adapter.console import CHANNEL, ConsolePublisher
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


def run_console(tmp_path: Path, script: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}",
        "QUESTIONS_DIR": str(TEST_BANK),
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


async def test_the_console_publisher_finds_only_the_drills_it_posted():
    publisher = ConsolePublisher(io.StringIO())
    message_id = await publisher.post_drill(drill_post(CHANNEL, 3))
    assert await publisher.find_drill_post(CHANNEL, 3) == message_id
    assert await publisher.find_drill_post(CHANNEL, 4) is None
