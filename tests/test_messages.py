"""What members read after answering and at the reveal, rendered on every platform."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.core import messages
from bot.core.bank import load_pack
from bot.core.kinds import registry
from bot.core.kinds.registry import grade
from bot.core.models import (
    AnswerCount,
    AnswerResult,
    Attempt,
    ChannelRef,
    Drill,
    DrillResult,
    DrillState,
    MemberRef,
    Question,
    Verdict,
)
from bot.discord_adapter.render import reveal_embed
from bot.slack_adapter import blocks

PACK = {q.id: q for q in load_pack(Path(__file__).parent / "data" / "sample-pack.yaml")}
OPEN, SHORT = PACK["gen-sample-l1-vs-l2"], PACK["gen-sample-sparse-penalty"]
NUMERIC = PACK["gen-sample-fold-share"]
NOW = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
ALICE = MemberRef("test", "W1", "U-alice", "alice")


def feedback(question: Question, answer: str, *, reveal_now: bool = True) -> str:
    attempt = Attempt(ALICE, question.id, answer, grade(question, answer), 0, NOW, 10)
    return messages.answer_feedback(AnswerResult(attempt, question, reveal_now, 0))


def reveal(question: Question) -> DrillResult:
    drill = Drill(
        1, ChannelRef("test", "W1", "C1"), date(2025, 1, 15), question.id, DrillState.OPEN, NOW
    )
    answers = (AnswerCount("x", Verdict.GOOD, 1), AnswerCount("y", Verdict.WRONG, 1))
    counts = registry.of(question).distribution(question, answers)
    return DrillResult(drill, question, 2, 1, counts, ())


def test_a_wrong_open_answer_names_what_was_missed_and_gives_the_reference_on_its_own_line():
    text = feedback(OPEN, "They both just make the model train faster.")
    lines = text.splitlines()
    assert lines[0] == "Not quite."
    assert any(line.startswith("You missed: ") for line in lines)
    assert OPEN.reference.strip() in lines
    assert OPEN.reference.strip() not in lines[0]
    assert ".." not in text


def test_a_wrong_short_answer_ending_in_a_full_stop_is_not_doubled():
    question = dataclasses.replace(SHORT, answers=("L1 regularization.", "L1"))
    text = feedback(question, "L2")
    assert text.startswith("Not quite. The answer is L1 regularization.\n")
    assert ".." not in text
    assert ".." not in feedback(SHORT, "L2.", reveal_now=False)


def test_echoed_member_text_drops_control_and_bidi_characters_and_marks_a_cut():
    sneaky = "\x1b[2J\x1b]0;owned\x07" + "abc\u202edef\u2066g\u2069 " + "long " * 100
    echoed = messages.echo(sneaky)
    assert not any(ch in echoed for ch in "\x1b\x07\u202e\u2066\u2069")
    assert echoed.startswith("[2J ]0;owned abcdefg long")
    assert len(echoed) <= messages.ECHO_LIMIT and echoed.endswith("…")
    locked = feedback(SHORT, sneaky, reveal_now=False)
    assert "\x1b" not in locked and "\u202e" not in locked and "…" in locked
    again = messages.already_answered(sneaky)
    assert "\x1b" not in again and "\u202e" not in again and "…" in again
    assert messages.echo("B") == "B"


@pytest.mark.parametrize(
    ("answer", "tolerance", "shown"),
    [
        (0.6415, 0.005, "0.64"),
        (0.6415, 0.0, "0.6415"),
        (1e8, 0.0, "100,000,000"),
        (123456.789, 0.05, "123,456.8"),
        (0.25, 0.005, "0.25"),
        (2024, 0.0, "2024"),
        (-3.5, 0.5, "-4"),
        (1e-5, 0.0, "0.00001"),
    ],
)
def test_numeric_keys_show_the_precision_the_tolerance_asks_for(answer, tolerance, shown):
    question = dataclasses.replace(NUMERIC, answer=answer, tolerance=tolerance, percent=False)
    assert messages.answer_line(question) == f"Answer: {shown}"
    assert "e+" not in shown and "e-" not in shown
    assert grade(question, shown.replace(",", "")).verdict is Verdict.GOOD


def test_the_partly_row_shows_only_where_a_kind_can_be_partly_right():
    for question in (SHORT, NUMERIC):
        assert not any(
            line.startswith("Partly") for line in messages.distribution_lines(reveal(question))
        )
        assert "Partly" not in str(reveal_embed(reveal(question)).to_dict())
        assert "Partly" not in str(blocks.reveal_blocks(reveal(question)))
    assert any(line.startswith("Partly") for line in messages.distribution_lines(reveal(OPEN)))
    assert "Partly" in str(reveal_embed(reveal(OPEN)).to_dict())
    assert "Partly" in str(blocks.reveal_blocks(reveal(OPEN)))
