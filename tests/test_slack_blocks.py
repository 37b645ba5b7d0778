"""Block Kit builders: pure layouts within Slack's limits, whatever the content."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import DividerBlock

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
    MemberRef,
    MemberStats,
    Period,
    Question,
    TopicStat,
)
from bot.slack_adapter import blocks

CHANNEL = ChannelRef("slack", "T1", "C1")
LONG = "word " * 2000  # 10,000 characters


def question(
    kind: Kind = Kind.CHOICE, prompt: str = "Which is right?", choice: str = "x"
) -> Question:
    choices = tuple(Choice(f"{choice} {n}", "why", correct=n == 2) for n in range(4))
    return Question(
        id="q-1",
        topic="statistics",
        kind=kind,
        difficulty=Difficulty.MEDIUM,
        prompt=prompt,
        explanation="Because.",
        source="topic:statistics",
        choices=choices if kind is Kind.CHOICE else (),
        answers=("lasso",) if kind is Kind.SHORT else (),
    )


def post_of(q: Question) -> DrillPost:
    drill = Drill(
        7, CHANNEL, date(2025, 1, 15), q.id, DrillState.OPEN, datetime(2025, 1, 15, tzinfo=UTC)
    )
    return DrillPost(drill, q, ChannelSettings(CHANNEL))


def check_limits(layout: list, max_blocks: int = blocks.MAX_BLOCKS) -> list[dict]:
    """Every block serialises (slack_sdk validates its own limits) and obeys Slack's."""
    dicts = [block.to_dict() for block in layout]
    assert len(dicts) <= max_blocks
    for block in dicts:
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= blocks.MAX_SECTION
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= blocks.MAX_HEADER
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= blocks.MAX_BUTTON
                assert len(element["value"]) <= blocks.MAX_VALUE
    return dicts


# --- text helpers -----------------------------------------------------------------------------


def test_clip_keeps_short_text_and_cuts_long_text_at_a_word():
    assert blocks.clip("short", 10) == "short"
    assert blocks.clip("one two three four", 12) == "one two…"
    assert len(blocks.clip("x" * 500, 75)) == 75


def test_clip_never_leaves_half_an_escape():
    clipped = blocks.clip(blocks.escape("a" * 8 + "<b"), 11)
    assert clipped == "aaaaaaaa…"


@given(st.text(min_size=0, max_size=400), st.integers(min_value=2, max_value=300))
def test_clip_always_fits(text, limit):
    clipped = blocks.clip(text, limit)
    assert len(clipped) <= limit
    assert clipped == text or clipped.endswith(blocks.ELLIPSIS)


def test_escape_and_unescape_are_inverse_and_defuse_mentions():
    raw = "x < y & <!channel> <@U1>"
    assert blocks.escape(raw) == "x &lt; y &amp; &lt;!channel&gt; &lt;@U1&gt;"
    assert blocks.unescape(blocks.escape(raw)) == raw


def test_sections_split_long_text_on_line_boundaries():
    lines = [f"line {n} " + "y" * 90 for n in range(80)]
    layout = blocks.sections("\n".join(lines))
    dicts = check_limits(layout)
    assert len(dicts) == 3
    assert "\n".join(d["text"]["text"] for d in dicts) == "\n".join(lines)


def test_a_single_overlong_line_is_clipped():
    [section] = blocks.sections("z" * 5000)
    assert len(section.text.text) == blocks.MAX_SECTION and section.text.text.endswith("…")


def test_fit_keeps_fifty_blocks_and_the_last_one():
    layout = [*[DividerBlock(block_id=f"d{n}") for n in range(60)], DividerBlock(block_id="last")]
    fitted = blocks.fit(layout)
    assert len(fitted) == 50 and fitted[-1].block_id == "last" and fitted[0].block_id == "d0"


def test_button_values_round_trip():
    assert blocks.parse_answer_value(blocks.answer_value(12, "C")) == (12, "C")
    assert blocks.parse_modal_value(blocks.modal_value(12, "stats-q:1")) == (12, "stats-q:1")
    with pytest.raises(ValueError):
        blocks.parse_answer_value("12")


# --- the post, the modal and the reveal -------------------------------------------------------


def test_an_enormous_question_still_posts_within_every_limit():
    q = question(prompt=LONG, choice="c" * 2000)
    dicts = check_limits(blocks.drill_post_blocks(post_of(q)))
    assert dicts[0]["type"] == "header" and dicts[-1]["type"] == "actions"
    assert [b["value"] for b in dicts[-1]["elements"]] == ["7:A", "7:B", "7:C", "7:D"]
    assert len(blocks.drill_post_text(post_of(q))) <= blocks.MAX_TEXT


def test_typed_kinds_get_one_answer_button_that_names_the_question():
    [actions] = [
        b for b in blocks.drill_post_blocks(post_of(question(Kind.SHORT))) if b.type == "actions"
    ]
    [button] = actions.to_dict()["elements"]
    assert (button["text"]["text"], button["action_id"], button["value"]) == (
        messages.ANSWER_BUTTON,
        blocks.OPEN_MODAL_ACTION,
        "7:q-1",
    )


def test_the_modal_carries_the_drill_and_channel_and_fits():
    view = blocks.answer_modal(7, "C1", question(Kind.SHORT, prompt=LONG)).to_dict()
    assert blocks.parse_modal_metadata(view["private_metadata"]) == (7, "C1")
    assert len(view["blocks"]) <= blocks.MAX_VIEW_BLOCKS
    assert len(view["title"]["text"]) <= blocks.MAX_TITLE
    assert view["blocks"][-1]["type"] == "input"


def test_a_select_all_question_opens_a_modal_of_checkboxes_that_fits():
    long_choices = tuple(
        Choice(f"<{n}> " + "long words " * 50, "why", correct=n < 2) for n in range(6)
    )
    q = dataclasses.replace(question(prompt=LONG), kind=Kind.MULTI, choices=long_choices)
    (button,) = blocks.answer_buttons(7, q)
    assert button.action_id == blocks.OPEN_MODAL_ACTION
    view = blocks.answer_modal(7, "C1", q).to_dict()
    assert len(view["blocks"]) <= blocks.MAX_VIEW_BLOCKS
    boxes = view["blocks"][-1]["element"]
    assert boxes["type"] == "checkboxes" and boxes["action_id"] == blocks.ANSWER_INPUT
    assert [o["value"] for o in boxes["options"]] == list("ABCDEF")
    assert all(len(o["text"]["text"]) <= blocks.MAX_OPTION for o in boxes["options"])
    assert boxes["options"][0]["text"]["text"].startswith("A) <0> long")  # plain text: as written
    ticked = {"type": "checkboxes", "selected_options": boxes["options"][:2]}
    assert blocks.submitted_answer(ticked) == "A B"
    assert blocks.submitted_answer({"type": "plain_text_input", "value": "lasso"}) == "lasso"


def test_the_reveal_marks_the_answer_and_swaps_the_buttons_for_report():
    q = question(choice="<b>")
    drill = post_of(q).drill
    result = DrillResult(
        drill,
        q,
        answered=3,
        correct=2,
        distribution=tuple(
            ChoiceCount(letter, 2 if letter == "C" else 0, letter == "C") for letter in "ABCD"
        ),
        fastest=(("ada", 1500), ("bob", 4200)),
    )
    dicts = check_limits(blocks.reveal_blocks(result))
    text = json.dumps(dicts, ensure_ascii=False)
    actions = [b for b in dicts if b["type"] == "actions"]
    assert [[e["action_id"] for e in b["elements"]] for b in actions] == [["drill_report"]]
    assert "*C) &lt;b&gt; 2* ✓" in text
    assert "Fastest correct: ada (1.5s), bob (4.2s)" in text
    assert "```" in text and "<b>" not in text


# --- boards, stats and Home -------------------------------------------------------------------


def test_a_board_with_long_names_keeps_the_header_within_150():
    entries = tuple(BoardEntry(n, f"U{n}", "n" * 300, 10, 1, 1) for n in range(1, 11))
    board = Leaderboard(Period.WEEK, "2025-W03", None, entries, None, 10)
    dicts = check_limits(blocks.leaderboard_blocks(board, "t" * 400))
    assert dicts[0]["text"]["text"].endswith("…")


def test_the_home_tab_fits_a_member_with_hundreds_of_topics():
    topics = tuple(TopicStat(f"topic-{n}-" + "t" * 60, 10, n % 10) for n in range(400))
    stats = MemberStats(
        MemberRef("slack", "T1", "U1", "Ada"), 4000, 1800, 9000, 3, 40, 5, 9, topics
    )
    view = blocks.home_view(stats).to_dict()
    assert view["type"] == "home"
    assert len(view["blocks"]) <= blocks.MAX_VIEW_BLOCKS
    assert view["blocks"][0]["text"]["text"] == "Stats for Ada"
    check_limits(blocks.home_view(stats).blocks, blocks.MAX_VIEW_BLOCKS)
