"""Embeds, components and autocomplete stay inside Discord's limits, cut cleanly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import discord
import pytest

from bot.core import messages
from bot.core.models import (
    BoardEntry,
    ChannelRef,
    ChannelSettings,
    Choice,
    ChoiceCount,
    Difficulty,
    Drill,
    DrillPost,
    DrillResult,
    DrillState,
    Kind,
    Leaderboard,
    Period,
    Question,
)
from bot.discord_adapter.commands import timezone_choices, topic_choices
from bot.discord_adapter.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    clip,
    clip_lines,
    drill_embed,
    leaderboard_embed,
    private_text,
    reveal_embed,
)
from bot.discord_adapter.views import answer_modal, answer_view

CHANNEL = ChannelRef("discord", "1", "2")
NOW = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)


def huge_question() -> Question:
    return Question(
        id="huge",
        topic="t" * 300,
        kind=Kind.CHOICE,
        difficulty=Difficulty.HARD,
        prompt="Why " + "does this go on " * 700 + "?",
        explanation="Because " + "it keeps going " * 300,
        source="test",
        choices=tuple(
            Choice(text=f"choice {letter} " + "long words " * 100, why="", correct=letter == "C")
            for letter in "ABCDE"
        ),
    )


def drill(question: Question) -> Drill:
    return Drill(7, CHANNEL, date(2025, 1, 15), question.id, DrillState.OPEN, NOW, closed_at=NOW)


def within_limits(embed: discord.Embed) -> None:
    data = embed.to_dict()
    assert len(data.get("title", "")) <= TITLE_LIMIT
    assert len(data.get("description", "")) <= DESCRIPTION_LIMIT
    for field in data.get("fields", []):
        assert 0 < len(field["name"]) <= FIELD_NAME_LIMIT
        assert 0 < len(field["value"]) <= FIELD_VALUE_LIMIT
    assert len(embed) <= EMBED_TOTAL_LIMIT


def test_clip_keeps_what_fits_and_cuts_long_text_on_a_word_with_an_ellipsis():
    assert clip("short", 10) == "short"
    assert clip("x" * 10, 10) == "x" * 10
    fox = "the quick brown fox jumps over the lazy dog"
    assert clip(fox, 20) == "the quick brown fox…"
    assert clip(fox, 22) == "the quick brown fox…"
    assert len(clip("y" * 500, 80)) == 80 and clip("y" * 500, 80).endswith("…")


def test_clip_lines_drops_whole_lines_and_marks_the_cut():
    lines = [f"line {i}" for i in range(100)]
    text = clip_lines(lines, 50)
    assert len(text) <= 50
    assert text.splitlines()[-1] == "…"
    assert all(line in lines for line in text.splitlines()[:-1])
    assert clip_lines(["a", "b"], 50) == "a\nb"


def test_a_huge_question_keeps_every_choice_and_the_hint_within_the_limits():
    question = huge_question()
    settings = ChannelSettings(CHANNEL)
    embed = drill_embed(DrillPost(drill(question), question, settings))
    within_limits(embed)
    description = embed.description or ""
    assert description.startswith("Why does this go on")
    assert "…" in description.split("\nA) ")[0]
    for letter in "ABCDE":
        assert f"\n{letter}) choice {letter}" in description
    assert description.endswith(messages.answer_hint(question))


def test_the_reveal_of_a_huge_question_fits_and_keeps_its_code_block_closed():
    question = huge_question()
    result = DrillResult(
        drill=drill(question),
        question=question,
        answered=100_000,
        correct=99_999,
        distribution=tuple(ChoiceCount(x, 20_000, x == "C") for x in "ABCDE"),
        fastest=tuple(("n" * 300, 1234) for _ in range(3)),
    )
    embed = reveal_embed(result)
    within_limits(embed)
    answer, spread = embed.fields
    assert answer.value.startswith("Answer: C) choice C") and answer.value.endswith("…")
    assert spread.value.startswith("```\n") and spread.value.count("```") == 2
    assert "✅ **C) choice C" in (embed.description or "")


def test_a_crowded_leaderboard_is_cut_at_a_whole_line():
    entries = tuple(BoardEntry(i, f"U{i}", "name" * 25, 1000 - i, 5, 4) for i in range(1, 201))
    board = Leaderboard(Period.WEEK, "2025-W03", None, entries, None, 200)
    embed = leaderboard_embed(board, "Top of the week")
    within_limits(embed)
    lines = (embed.description or "").splitlines()
    assert lines[0] == messages.board_line(entries[0]) and lines[-1] == "…"


def test_private_text_fits_a_message():
    reply = private_text("\n".join(["a long line of feedback " * 10] * 50))
    assert len(reply.content) <= CONTENT_LIMIT and reply.content.endswith("…")


def test_buttons_and_the_modal_respect_component_limits():
    question = huge_question()
    view = answer_view(7, question)
    assert [item.custom_id for item in view.children] == [f"drill:7:answer:{x}" for x in "ABCDE"]
    assert all(len(item.item.label or "") <= 80 for item in view.children)
    revealed = answer_view(7, question, revealed=True)
    *letters, report = revealed.children
    assert all(item.item.disabled for item in letters)
    assert report.custom_id == "drill:7:report" and not report.item.disabled
    modal = answer_modal(7, "t" * 300)
    assert len(modal.title) == 45 and modal.title.endswith("…")
    assert modal.custom_id == "drill:7:modal"


def test_a_select_all_menu_of_long_choices_respects_component_limits():
    question = dataclasses.replace(
        huge_question(),
        kind=Kind.MULTI,
        choices=tuple(
            Choice(f"choice {x} " + "long words " * 100, why="", correct=x in "AC")
            for x in "ABCDEF"
        ),
    )
    (menu,) = answer_view(7, question).children
    data = menu.item.to_component_dict()
    assert data["custom_id"] == "drill:7:pick" and data["type"] == 3
    assert (data["min_values"], data["max_values"]) == (1, 6)
    assert [o["value"] for o in data["options"]] == list("ABCDEF")
    assert all(len(o["label"]) <= 100 and o["label"].endswith("…") for o in data["options"])
    assert len(data["placeholder"]) <= 150
    closed, report = answer_view(7, question, revealed=True).children
    assert report.item.custom_id == "drill:7:report"
    assert closed.item.disabled
    embed = drill_embed(DrillPost(drill(question), question, ChannelSettings(CHANNEL)))
    within_limits(embed)
    assert (embed.description or "").endswith(messages.answer_hint(question))
    revealed = reveal_embed(DrillResult(drill(question), question, 0, 0, (), ())).description or ""
    assert revealed.count("✅") == 2


@pytest.mark.parametrize("typed", ["", "e", "america", "zzz-no-such-zone"])
def test_timezone_autocomplete_returns_at_most_25_valid_choices(typed):
    choices = timezone_choices(typed)
    assert len(choices) <= 25
    assert all(len(c.name) <= 100 and typed.lower() in c.value.lower() for c in choices)


def test_timezone_autocomplete_puts_prefix_matches_first():
    assert timezone_choices("Europe/Ber")[0].value == "Europe/Berlin"


def test_topic_autocomplete_completes_the_last_topic_of_a_list():
    topics = ["statistics", "nlp", "trees"]
    assert [c.value for c in topic_choices("", topics)] == ["all", "statistics", "nlp", "trees"]
    assert [c.value for c in topic_choices("nlp, st", topics)] == ["nlp,statistics"]
    many = topic_choices("", [f"topic{i:03d}" for i in range(100)])
    assert len(many) == 25
    assert topic_choices("x" * 95 + ",", ["statistics"]) == []


@pytest.mark.parametrize("typed", ["local", "Factory", "posixrules", "right/", "posix/"])
def test_timezone_choices_offer_only_zones_setup_accepts(typed):
    assert [choice.value for choice in timezone_choices(typed)] == []
