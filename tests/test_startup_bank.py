"""`python -m bot run | console` refuse to start on an empty or invalid question bank."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import freeze_start_up
from bot.core.bank import load_bank
from tests.conftest import TEST_BANK


@pytest.mark.parametrize("command", ["run", "console"])
@pytest.mark.parametrize(
    ("pack", "problem"),
    [(None, "no *.yaml question packs here"), ("topic: [\n", "invalid question bank")],
)
def test_start_on_an_empty_or_invalid_bank_prints_one_line_and_exits_2(
    tmp_path: Path, command: str, pack: str | None, problem: str
) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    if pack is not None:
        (bank / "broken.yaml").write_text(pack, encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DISCORD_", "SLACK_"))
    } | {"QUESTIONS_DIR": str(bank), "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", command],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == done.stderr.strip().splitlines()[0]
    assert done.stderr.startswith(f"{bank}: ")
    assert problem in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "bot.db").exists()


def test_start_up_leaves_the_loaded_bank_out_of_later_full_collections() -> None:
    question = next(iter(load_bank(TEST_BANK).questions.values()))
    try:
        freeze_start_up()
        # A frozen object is in no generation: no collection walks it again.
        assert not any(tracked is question for tracked in gc.get_objects())
    finally:
        gc.unfreeze()
