"""The /quiz grammar: typed commands from text, the usage for anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import commands
from bot.core.commands import (
    Answer,
    GroupCreate,
    GroupList,
    Help,
    PostNow,
    Setup,
    ShowLeaderboard,
    Stats,
    parse,
)
from bot.core.errors import QuizError, UsageError
from bot.core.models import Period, RevealMode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/quiz", Help()),
        ("/quiz help", Help()),
        ("help", Help()),
        ("/quiz post-now", PostNow()),
        ("/quiz answer  B ", Answer("B")),
        ("/quiz answer L1 and L2 differ", Answer("L1 and L2 differ")),
        ("/quiz stats", Stats(None)),
        ("/quiz stats <@U123|bob>", Stats("<@U123|bob>")),
        ("/quiz leaderboard", ShowLeaderboard(Period.WEEK, None)),
        ("/quiz leaderboard all group:nlp", ShowLeaderboard(Period.ALL, "nlp")),
        ("/quiz group create ml-crew", GroupCreate("ml-crew")),
        ("/quiz group list", GroupList()),
    ],
)
def test_parse_builds_typed_commands(text, expected):
    assert parse(text) == expected


def test_setup_parses_every_option():
    setup = parse(
        "/quiz setup time:9:05 tz:Asia/Kolkata topics:nlp,statistics reveal:at-close "
        "close:17:30 days:mon,wed-fri"
    )
    assert setup == Setup(
        time="09:05",
        tz="Asia/Kolkata",
        topics=("nlp", "statistics"),
        reveal=RevealMode.AT_CLOSE,
        close="17:30",
        days=(0, 2, 3, 4),
    )
    assert parse("/quiz setup close:none days:daily") == Setup(
        clear_close=True, days=tuple(range(7))
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/quiz frobnicate", "I don't know the command `frobnicate`"),
        ("/quiz setup tz:Mars/Base", "Europe/Berlin"),
        ("/quiz setup time:25:00", "24-hour HH:MM"),
        ("/quiz setup colour:blue", "`colour` is not a setup option"),
        ("/quiz setup time:09:00 time:10:00", "given twice"),
        ("/quiz setup days:someday", "not a list of days"),
        ("/quiz setup days:fri-mon", "not a day range"),
        ("/quiz answer", "Tell me your answer"),
        ("/quiz leaderboard yearly", "not a leaderboard option"),
        ("/quiz group create two words", "Give one group name"),
        ("/quiz group create -bad", "Group names are"),
        ("/quiz pause now", "takes no arguments"),
        ("/quiz answer " + "x" * 2001, "too long"),
    ],
)
def test_bad_input_gets_a_clear_message(text, message):
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert message in caught.value.message


def test_unknown_commands_answer_with_the_usage():
    with pytest.raises(UsageError) as caught:
        parse("/quiz dance")
    assert commands.USAGE in caught.value.message


@given(st.text(max_size=300))
def test_no_text_raises_anything_but_quiz_error(text):
    try:
        parse(text)
    except QuizError as exc:
        assert exc.message


@given(
    st.lists(
        st.sampled_from(
            ["setup", "time:", "tz:", "topics:", "days:", "close:", "reveal:", "group", "x", ":"]
        ).flatmap(lambda word: st.text(max_size=8).map(lambda tail: word + tail)),
        max_size=6,
    )
)
def test_setup_like_text_never_raises_anything_but_quiz_error(words):
    try:
        parse("/quiz setup " + " ".join(words))
    except QuizError as exc:
        assert exc.message
