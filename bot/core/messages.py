"""Everything the bot says, in one place, so every platform says the same thing.

Texts use only `code` spans and line breaks, which render alike on Discord, Slack and a
terminal. Adapters lay these texts out (embeds, Block Kit, plain lines) but never reword them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.commands import format_days
from bot.core.kinds.inputs import Input
from bot.core.models import (
    LETTERS,
    AnswerResult,
    BoardEntry,
    ChannelSettings,
    DrillResult,
    Group,
    Leaderboard,
    MemberStats,
    Period,
    Question,
    Verdict,
)

if TYPE_CHECKING:
    from bot.core.kinds.base import QuestionKind

BAR_WIDTH = 10
ELLIPSIS = "…"
WORD_SLACK = 30  # how far back a cut may move to end on a whole word
ECHO_LIMIT = 200  # characters of a member's own text quoted back to them
# Bidi embeddings, overrides and isolates, and the invisible direction marks: echoed text
# must not reorder the reply around it (or the terminal it is printed on).
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SENTENCE_END = (".", "!", "?", "…")
MAX_SHOWN_DECIMALS = 12
GROUPED_FROM = 10_000  # whole numbers from here on get thousands separators
PERIOD_TITLES = {Period.WEEK: "This week", Period.MONTH: "This month", Period.ALL: "All time"}
VERDICT_LABELS = {Verdict.GOOD: "Correct", Verdict.PARTIAL: "Partly", Verdict.WRONG: "Wrong"}
EMPTY_ANSWER = "Type an answer first."


def _kind(question: Question) -> QuestionKind:
    """The question's kind. Imported on use: the kinds word their texts with this module,
    so importing the registry at the top would make an import cycle."""
    from bot.core.kinds import registry

    return registry.of(question)


def question_header(question: Question) -> str:
    return f"{question.topic} · {question.difficulty}"


def choice_lines(question: Question) -> list[str]:
    """`A) ...` for each choice of a lettered question (none for the typed kinds)."""
    return [f"{LETTERS[i]}) {choice.text}" for i, choice in enumerate(question.choices)]


def question_body(question: Question) -> str:
    """The prompt with its lettered choices, as every platform shows it in text."""
    choices = choice_lines(question)
    return "\n".join([question.prompt.strip(), *(["", *choices] if choices else [])])


def answer_hint(question: Question) -> str:
    wanted = _kind(question).answer_input(question)
    letters = wanted.options
    if wanted.input is Input.BUTTONS:
        return f"Answer with `/quiz answer {letters[0]}`…`{letters[-1]}`."
    if wanted.input is Input.SELECT_MANY:
        return f"Pick every right one: `/quiz answer {letters[0]} {letters[-1]}`."
    if wanted.input is Input.NUMBER:
        return "Answer with a number: `/quiz answer 0.25`."
    return "Answer in your own words: `/quiz answer <text>`."


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """A member's own text made safe to quote back: control characters (ESC and the
    like) and bidi overrides removed, whitespace runs made one space, cut with "…"."""
    visible = BIDI_CONTROLS.sub("", text)
    visible = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in visible)
    return clip(" ".join(visible.split()), limit)


def sentence(text: str) -> str:
    """`text` ended with a full stop unless it already ends a sentence."""
    text = text.rstrip()
    return text if text.endswith(SENTENCE_END) else f"{text}."


def number_text(value: float | None, tolerance: float = 0.0) -> str:
    """A numeric key as the prompt asks for it: no more decimals than the tolerance can
    tell apart (so the shown value is itself accepted), never scientific notation, and
    thousands separators for big whole numbers."""
    if value is None or not math.isfinite(value):
        return "?"
    exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    decimals = min(max(0, -int(exponent)), MAX_SHOWN_DECIMALS)
    if tolerance > 0:
        asked = max(0, math.ceil(-math.log10(2 * tolerance) - 1e-9))
        decimals = min(decimals, asked)
    rounded = round(value, decimals)
    if decimals == 0:
        whole = int(rounded)
        return f"{whole:,}" if abs(whole) >= GROUPED_FROM else str(whole)
    grouping = "," if abs(rounded) >= GROUPED_FROM else ""
    return f"{rounded:{grouping}.{decimals}f}"


def pick_letters_hint(letters: str) -> str:
    """Told when a select-all answer names something other than its letters."""
    return f"Answer with one or more of the letters {letters[0]}-{letters[-1]}, like `A C`."


def given_answer(question: Question, answer: str, normalized: str) -> str:
    """A member's answer as they are reminded of it (letters for lettered kinds)."""
    return _kind(question).given(answer, normalized)


def answer_key(question: Question) -> str:
    """The answer key as a member should read it in a reveal."""
    return _kind(question).answer_key(question)


def answer_feedback(result: AnswerResult) -> str:
    """The private reply to an answer: locked in, or the verdict with the explanation."""
    attempt, question = result.attempt, result.question
    given = given_answer(question, attempt.answer, attempt.grade.normalized)
    if not result.reveal_now:
        return f"Locked in: {sentence(given)} The answer is revealed when the drill closes."
    grade = attempt.grade
    if grade.verdict is Verdict.GOOD:
        head = f"Correct, +{attempt.points} points!"
    elif grade.verdict is Verdict.PARTIAL:
        head = f"Partly right, +{attempt.points} points."
    elif _kind(question).answers_in_prose:
        head = "Not quite."
    else:
        head = f"Not quite. The answer is {sentence(answer_key(question))}"
    lines = [head]
    if grade.covered:
        lines.append("You covered: " + "; ".join(grade.covered))
    if grade.missed and _kind(question).lists_missed:
        lines.append("You missed: " + "; ".join(grade.missed))
    if grade.misconceptions:
        lines.append("Careful: " + "; ".join(grade.misconceptions))
    if _kind(question).answers_in_prose and grade.verdict is not Verdict.GOOD:
        lines += ["A full answer:", question.reference.strip()]
    lines.append(question.explanation.strip())
    if result.streak > 1:
        lines.append(f"Streak: {result.streak} days.")
    return "\n".join(lines)


def already_answered(previous: str) -> str:
    return f"You've already answered; your answer {echo(previous)} stands."


def distribution_lines(result: DrillResult) -> list[str]:
    total = max(1, result.answered)
    lines = []
    for row in result.distribution:
        filled = round(BAR_WIDTH * row.count / total)
        mark = " ✓" if row.correct else ""
        bar = "█" * filled + "░" * (BAR_WIDTH - filled)
        lines.append(f"{row.label:<7} {bar} {row.count}{mark}")
    return lines


def reveal_summary(result: DrillResult) -> str:
    if not result.answered:
        return "Nobody answered this one."
    share = round(100 * result.correct / result.answered)
    people = "person" if result.answered == 1 else "people"
    return f"{result.answered} {people} answered; {result.correct} got it right ({share}%)."


def fastest_line(result: DrillResult) -> str:
    if not result.fastest:
        return ""
    names = ", ".join(f"{name} ({ms / 1000:.1f}s)" for name, ms in result.fastest)
    return f"Fastest correct: {names}"


def answer_line(question: Question) -> str:
    return f"Answer: {answer_key(question)}"


def reveal_text(result: DrillResult) -> str:
    question = result.question
    lines = [
        answer_line(question),
        question.explanation.strip(),
        "",
        reveal_summary(result),
        *distribution_lines(result),
    ]
    if fastest := fastest_line(result):
        lines.append(fastest)
    return "\n".join(lines)


def board_title(board: Leaderboard) -> str:
    title = f"Leaderboard: {PERIOD_TITLES[board.period].lower()}"
    return f"{title} · group {board.group}" if board.group else title


def board_line(entry: BoardEntry) -> str:
    return (
        f"{entry.rank}. {entry.display_name}: {entry.points} pts ({entry.correct}/{entry.answered})"
    )


def leaderboard_text(board: Leaderboard, title: str | None = None) -> str:
    lines = [title or board_title(board)]
    if not board.entries:
        lines.append("No points yet. Answer today's question to get on the board!")
    lines.extend(board_line(entry) for entry in board.entries)
    if board.caller and board.caller not in board.entries:
        lines.append(f"You: {board_line(board.caller)}")
    if board.groups:
        lines.append("Study groups:")
        lines.extend(f"  {g.name}: {g.points} pts ({g.members})" for g in board.groups)
    if board.most_improved:
        name, gain = board.most_improved
        lines.append(f"Most improved: {name} (+{gain} pts on last week)")
    return "\n".join(lines)


def stats_text(stats: MemberStats) -> str:
    rank = f"#{stats.rank} of {stats.ranked_members}" if stats.rank else "unranked"
    lines = [
        f"Stats for {stats.member.name}",
        f"Answered: {stats.answered} · correct: {stats.correct} ({stats.accuracy:.0%})",
        f"Points: {stats.points} · rank: {rank}",
        f"Streak: {stats.current_streak} (best {stats.best_streak})",
    ]
    if stats.topics:
        lines.append("By topic, weakest first:")
        lines.extend(
            f"  {t.topic}: {t.correct}/{t.answered} ({t.accuracy:.0%})" for t in stats.topics
        )
    return "\n".join(lines)


def local_time(instant: datetime | None, timezone: str) -> str:
    if instant is None:
        return "not scheduled"
    return instant.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %H:%M ") + timezone


def setup_text(
    settings: ChannelSettings, next_post: datetime | None, next_close: datetime | None
) -> str:
    topics = ", ".join(settings.topics) if settings.topics else "all topics"
    close = settings.close_time or "at the next post"
    lines = [
        "Daily Drill is set up here.",
        f"Posts at {settings.post_time} ({format_days(settings.days)}), closes {close}, "
        f"{settings.timezone}.",
        f"Topics: {topics}. Reveal: {settings.reveal.value}.",
    ]
    if settings.paused:
        lines.append("Posting is paused: `/quiz resume` to restart.")
    elif next_post:
        lines.append(f"Next post: {local_time(next_post, settings.timezone)}.")
        if next_close:
            lines.append(f"Next close: {local_time(next_close, settings.timezone)}.")
    return "\n".join(lines)


def groups_text(groups: list[Group], mine: list[str]) -> str:
    if not groups:
        return "No study groups yet. Start one with `/quiz group create NAME`."
    lines = ["Study groups:"]
    for group in groups:
        you = " (you're in it)" if group.name in mine else ""
        noun = "member" if group.members == 1 else "members"
        lines.append(f"  {group.name}: {group.members} {noun}{you}")
    return "\n".join(lines)


def topics_text(counts: dict[str, int]) -> str:
    lines = ["Topics in the bank:"]
    lines.extend(f"  {topic}: {count} questions" for topic, count in counts.items())
    lines.append("Pick some with `/quiz setup topics:a,b`.")
    return "\n".join(lines)


WEEKLY_TITLE = "Weekly leaderboard"
SOMETHING_WENT_WRONG = "Something went wrong; try again."

# Labels chat platforms put on posts, buttons and forms.
APP_NAME = "Daily Drill"
DAILY_TITLE = "Daily question"
CLOSED_TITLE = "Drill closed"
ANSWER_BUTTON = "Answer"
ANSWER_LABEL = "Your answer"
PICK_PLACEHOLDER = "Pick every right answer"
SUBMIT_LABEL = "Submit"
CANCEL_LABEL = "Cancel"


def post_failed_text(channel: str, reason: str) -> str:
    return (
        f"I couldn't post today's question in {channel}: {reason}. "
        "Check that I can view and post in that channel, then run `/quiz post-now`."
    )


def missing_permissions_text(permissions: list[str]) -> str:
    """Told to the admin who runs setup where the bot cannot post yet."""
    return (
        f"Heads up: I'm missing {', '.join(permissions)} in this channel, "
        "so the daily question can't be posted here yet."
    )


def clip(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut on a nearby word boundary and
    ended with an ellipsis, so every platform shortens long text the same way."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    if head and not text[len(head)].isspace():
        start = max(0, len(head) - WORD_SLACK)
        boundary = max(head.rfind(" ", start), head.rfind("\n", start))
        if boundary > 0:
            head = head[:boundary]
    return head.rstrip() + ELLIPSIS


# The command line's one-line refusals of a bad setting (stderr, exit code 2).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SETTING_RULES = {
    "PORT": "a whole number from 1 to 65535 (default 3000)",
    "MISFIRE_GRACE_SECONDS": "a whole number of seconds, 1 or more (default 3600)",
    "LOG_LEVEL": f"one of {', '.join(LOG_LEVELS)} (default INFO, or WARNING in the console)",
    "DATABASE_URL": "sqlite:///relative/path.db or sqlite:////absolute/path.db",
    "QUESTIONS_DIR": "a directory of *.yaml question packs",
    "DATA_DIR": "a directory the bot may write to (default data)",
    "DISCORD_GUILD_ID": "a server id: the digits from Copy Server ID, or leave it unset",
}
DATABASE_URL_PROBLEMS = {
    "not a URL": "is not a URL",
    "PostgreSQL": "uses PostgreSQL, which is not supported yet",
    "unknown scheme": "is not a sqlite:// URL",
    "no path": "names no database file (SQLite would use a temporary one)",
    "not sqlite:///": "needs three slashes, as in sqlite:///",
}


def shown_setting(value: str, limit: int = 60) -> str:
    """A setting's value as the error line shows it: quoted, cut, control characters escaped."""
    return repr(clip(value, limit))


def bad_setting(name: str, value: str, problem: str = "is not valid") -> str:
    return f"{name}={shown_setting(value)} {problem}: use {SETTING_RULES[name]}."


def bad_database_url(shown: str, problem: str) -> str:
    rule = SETTING_RULES["DATABASE_URL"]
    return f"DATABASE_URL={shown} {DATABASE_URL_PROBLEMS[problem]}: use {rule}."


def not_a_pack(path: str) -> str:
    return f"{path} is not a .yaml question pack or a directory of them"


def database_unavailable(path: str, reason: str) -> str:
    return (
        f"Cannot open the database {path!r} (from DATABASE_URL): {reason}. "
        f"Use {SETTING_RULES['DATABASE_URL']} naming a writable SQLite file."
    )


def bad_path_setting(name: str, path: str, problem: str) -> str:
    return f"{name}={shown_setting(path, 300)} {problem}: use {SETTING_RULES[name]}."


def bad_application_id(value: str) -> str:
    return (
        f"DISCORD_APPLICATION_ID={shown_setting(value)} is not a Discord application id: "
        "use the digits from Developer Portal > your application > General Information."
    )


# --- the day's life cycle (skip, resume, a bank that lost a live drill's question) ---------


def skip_text(post_at: datetime, paused: bool) -> str:
    """The reply to `/quiz skip`: the day that will really not post, and a pause if any."""
    text = f"Skipping the post on {post_at:%a %d %b}."
    if paused:
        text += " Posting is paused anyway: nothing posts until `/quiz resume`."
    return text


def resumed_text(post_at: datetime | None) -> str:
    if post_at is None:
        return "Resumed, but no post day is coming up: check `/quiz setup days:`."
    return f"Resumed: the next question comes on {post_at:%a %d %b} at {post_at:%H:%M}."


NO_POST_DAY = "No post day is coming up to skip: check `/quiz setup days:`."


# Start-up refuses a bank without a question that a drill still open asks (see the service).
LIVE_QUESTION_GONE = "a drill still open asks this question; put it back so it can be revealed"
