"""The bank and the migrations are package data (bot/_bank, bot/_migrations), which in a
checkout are links to the top-level questions/ and migrations/; .ci/wheel-check proves
the same for an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from bot.config import Config
from bot.core.bank import DEFAULT_QUESTIONS_DIR
from bot.storage.migrate import MIGRATIONS_DIR, discover

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_data_in_a_checkout_is_the_top_level_bank_and_migrations():
    assert (resources.files("bot") / "_bank").is_dir()
    assert (ROOT / "questions").resolve() == DEFAULT_QUESTIONS_DIR
    assert (ROOT / "migrations").resolve() == MIGRATIONS_DIR
    assert sorted(DEFAULT_QUESTIONS_DIR.glob("*.yaml"))
    assert [m.version for m in discover()] == list(range(1, len(discover()) + 1))


def test_questions_dir_still_overrides_the_shipped_bank(tmp_path):
    assert Config.from_env({}).questions_dir == DEFAULT_QUESTIONS_DIR
    assert Config.from_env({"QUESTIONS_DIR": str(tmp_path)}).questions_dir == tmp_path
