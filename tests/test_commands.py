"""The /quiz grammar: typed commands from text, the usage for anything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import commands, messages
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
    assert messages.USAGE in caught.value.message


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


@pytest.mark.parametrize(
    "zone",
    [
        "Europe",
        "America",
        "Asia",
        "Etc",
        "America/Argentina",
        "Europe/" + "x" * 300,
        "x" * 300,
        "localtime",
        "Factory",
        "posixrules",
        "right/UTC",
        "posix/Europe/Berlin",
        "../../etc/passwd",
        "/etc/localtime",
    ],
)
def test_setup_refuses_zone_directories_and_host_specific_names(zone):
    with pytest.raises(UsageError) as caught:
        parse(f"/quiz setup tz:{zone}")
    first_line = caught.value.message.splitlines()[0]
    assert f"I don't know the time zone `{zone[:60]}`" in first_line


def test_setup_accepts_canonical_zones_in_any_case():
    assert parse("/quiz setup tz:europe/berlin") == Setup(tz="Europe/Berlin")
    assert parse("/quiz setup tz:America/New_York") == Setup(tz="America/New_York")
    assert parse("/quiz setup tz:UTC") == Setup(tz="UTC")


@pytest.mark.parametrize(
    ("zone", "suggestion"),
    [("Europe/Berlim", "Europe/Berlin"), ("Kolkata", "Asia/Kolkata"), ("Europe", "Europe/")],
)
def test_an_unknown_zone_suggests_the_closest_one(zone, suggestion):
    with pytest.raises(UsageError) as caught:
        parse(f"/quiz setup tz:{zone}")
    assert f"Did you mean `{suggestion}" in caught.value.message


@pytest.mark.parametrize(
    "days", ["monkey", "frisbee", "sunny", "mon-friday-ish", "tuesdays", "m", "mon,", "-fri"]
)
def test_setup_refuses_words_that_only_start_like_a_day(days):
    with pytest.raises(UsageError) as caught:
        parse(f"/quiz setup days:{days}")
    assert "not a list of days" in caught.value.message


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("monday", (0,)),
        ("Monday-Friday", (0, 1, 2, 3, 4)),
        ("tues,thurs", (1, 3)),
        ("sat-sun", (5, 6)),
        ("mon,wed-fri", (0, 2, 3, 4)),
    ],
)
def test_setup_accepts_day_names_abbreviations_and_ranges(days, expected):
    assert parse(f"/quiz setup days:{days}") == Setup(days=expected)


def test_the_length_limit_counts_the_answer_not_the_command_prefix():
    answer = "x" * commands.MAX_TEXT
    assert parse(f"/quiz answer {answer}") == Answer(answer)
    assert parse(f"answer {answer}") == Answer(answer)
    with pytest.raises(UsageError, match="too long"):
        parse(f"/quiz answer {answer}x")


_OPTION_WORDS = st.sampled_from(
    [
        *("setup", "answer", "group", "leaderboard", "stats", "days:", "tz:", "time:", "close:"),
        *("tz:Europe", "tz:America/Argentina", "tz:" + "Z" * 300, "tz:right/UTC", "tz:../etc"),
    ]
)
_FUZZ_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.one_of(
            _OPTION_WORDS,
            st.text(max_size=12),
            st.builds(lambda key, value: f"{key}:{value}", st.text(max_size=8), st.text()),
        ),
        max_size=8,
    ).map(" ".join),
    st.builds(lambda word, n: f"/quiz {word} " + "é" * n, _OPTION_WORDS, st.integers(0, 6000)),
)


@settings(max_examples=3000, deadline=None)
@given(
    st.builds(
        lambda prefix, body: prefix + body, st.sampled_from(["", "/quiz ", "/QUIZ"]), _FUZZ_TEXT
    )
)
def test_fuzzed_commands_raise_only_usage_errors(text):
    try:
        parse(text)
    except UsageError as exc:
        assert exc.message
