"""`python -m bot` as a user runs it: bad settings are one line on stderr and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import build_parser
from bot.config import Config, ConfigError
from bot.storage.migrate import POSTGRES_MIGRATIONS_DIR, discover
from tests.fakes import free_port

ROOT = Path(__file__).resolve().parents[1]


def run_bot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DISCORD_", "SLACK_", "DATABASE_URL", "QUESTIONS_DIR"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **(env or {})},
        input="",
        timeout=30,
        check=False,
    )


def assert_one_line_refusal(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("PORT", "abc", "1 to 65535"),
        ("PORT", "0", "1 to 65535"),
        ("PORT", "70000", "1 to 65535"),
        ("PORT", "٣٠٠٠", "1 to 65535"),
        ("MISFIRE_GRACE_SECONDS", "abc", "1 or more"),
        ("MISFIRE_GRACE_SECONDS", "0", "1 or more"),
        ("MISFIRE_GRACE_SECONDS", "-5", "1 or more"),
        ("LOG_LEVEL", "bogus", "DEBUG, INFO, WARNING"),
        ("DATABASE_URL", "garbage", "sqlite:///"),
        ("DATABASE_URL", "sqlite://relative.db", "three slashes"),
        ("DATABASE_URL", "sqlite:///", "temporary"),
        ("DATABASE_URL", "mysql://localhost/db", "sqlite:///"),
        ("QUESTIONS_DIR", "/etc/passwd", "not a directory"),
        ("DATA_DIR", "/etc/passwd", "not a directory"),
        ("DISCORD_GUILD_ID", "my-server", "server id"),
        ("DISCORD_SHARD_IDS", "0", "needs DISCORD_SHARD_COUNT"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it_and_exit_2(name, value, allowed):
    for command in ("migrate", "run"):
        done = run_bot(command, env={name: value})
        assert_one_line_refusal(done, name, allowed)


def test_an_unreachable_postgres_server_is_one_line_without_echoing_the_password():
    url = f"postgresql://drill:hunter2@127.0.0.1:{free_port()}/drill"  # nothing listens
    done = run_bot("migrate", env={"DATABASE_URL": url})
    assert_one_line_refusal(done, "Cannot open the database", "127.0.0.1", "PostgreSQL server")
    assert "hunter2" not in done.stderr


def test_migrate_brings_a_postgres_database_up_to_date_once(pg_url):
    first = run_bot("migrate", env={"DATABASE_URL": pg_url})
    assert first.returncode == 0, first.stderr
    versions = [m.version for m in discover(POSTGRES_MIGRATIONS_DIR)]
    assert f"Applied migrations: {versions}" in first.stdout
    again = run_bot("migrate", env={"DATABASE_URL": pg_url})
    assert again.returncode == 0 and "The database is up to date." in again.stdout


def test_a_database_path_that_cannot_be_opened_is_one_line_and_no_hang(tmp_path):
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello, not a database\n")
    folder = tmp_path / "folder.db"
    folder.mkdir()
    for path, problem in [
        (not_sqlite, "not a database"),
        (folder, "is a directory"),
        (not_sqlite / "inside.db", "is a file"),
    ]:
        for command in ("migrate", "console"):
            done = run_bot(command, env={"DATABASE_URL": f"sqlite:///{path}"})
            assert_one_line_refusal(done, "DATABASE_URL", str(path), problem)
    assert not_sqlite.read_text() == "hello, not a database\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_database_where_nobody_may_create_files_is_one_line():
    # /proc refuses new files even to root, so this runs wherever the tests run.
    done = run_bot("migrate", env={"DATABASE_URL": "sqlite:////proc/drill.db"})
    assert_one_line_refusal(done, "DATABASE_URL", "/proc/drill.db", "unable to open")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_database_in_a_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        done = run_bot("migrate", env={"DATABASE_URL": f"sqlite:///{folder / 'drill.db'}"})
    finally:
        folder.chmod(0o755)
    assert_one_line_refusal(done, "DATABASE_URL", str(folder / "drill.db"))


def test_good_settings_parse_with_their_defaults():
    config = Config.from_env({})
    assert (config.port, config.misfire_grace_seconds, config.log_level) == (3000, 3600, "")
    config = Config.from_env({"PORT": "8080", "LOG_LEVEL": "debug", "MISFIRE_GRACE_SECONDS": "5"})
    assert (config.port, config.misfire_grace_seconds, config.log_level) == (8080, 5, "DEBUG")
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        Config.from_env({"LOG_LEVEL": "verbose"})


def help_text(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*args, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_every_command_and_subcommand_has_help(capsys):
    top = help_text(capsys=capsys)
    for command in ("run", "console", "migrate", "discord-invite", "questions"):
        assert command in top
    questions = help_text("questions", capsys=capsys)
    assert "args" not in questions
    assert "check" in questions and "stats" in questions and "import" in questions
    assert "validate packs" in questions
    for args, phrase in [
        (("run",), "Start Discord"),
        (("console",), "terminal"),
        (("migrate",), "migrations"),
        (("discord-invite",), "invite URL"),
        (("questions", "check"), "QUESTIONS_DIR"),
        (("questions", "stats"), "QUESTIONS_DIR"),
        (("questions", "import"), "--format"),
    ]:
        assert phrase in help_text(*args, capsys=capsys)
    assert "the format of FILE" in help_text("questions", "import", capsys=capsys)


def test_questions_help_runs_from_the_command_line():
    done = run_bot("questions", "--help")
    assert done.returncode == 0
    assert "check" in done.stdout and "import" in done.stdout and "args" not in done.stdout


def test_the_database_label_for_logs_hides_a_password():
    config = Config(database_url="postgresql://drill:hunter2@db.example:5432/drill")
    assert config.database_label == "postgresql://drill:***@db.example:5432/drill"
    assert Config(database_url="sqlite:///data/x.db").database_label == "sqlite:///data/x.db"
