"""Everything the bot says, in one place, so every platform says the same thing.

Texts use only `code` spans and line breaks, which render alike on Discord, Slack and a
terminal. Adapters lay these texts out (embeds, Block Kit, plain lines) but never reword them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.kinds.inputs import Input
from bot.core.models import (
    LETTERS,
    AnswerResult,
    BoardEntry,
    ChannelSettings,
    DrillResult,
    Forgotten,
    Grade,
    Group,
    Leaderboard,
    LowBank,
    MemberData,
    MemberStats,
    Period,
    PlanStatus,
    PracticeTurn,
    Question,
    QuestionReport,
    ReportFiled,
    ReportReason,
    ReportResolved,
    ReportState,
    ReviewSummary,
    StudyPlan,
    Verdict,
)
from bot.core.scoring import MAX_FREEZES

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
# How days are written, to a member and by one (`days:mon,wed,fri`); Monday is 0.
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

USAGE = """\
Daily Drill commands:
`/quiz answer <text>`: answer today's question (a letter for multiple choice), or your \
practice question while a practice session is open
`/quiz practice [topic] [count]`: a private practice session (spaced repetition); \
`/quiz practice new` starts over, `/quiz practice stop` ends it
`/quiz goal 6-20`: your daily practice goal (default 8)
`/quiz stats [member]`: accuracy, points, rank and streak
`/quiz leaderboard [week|month|all] [group:NAME]`
`/quiz group create|join|leave NAME`, `/quiz group list`
`/quiz topics`: the topics in the bank
`/quiz remind on|off`: a private reminder an hour before close if you haven't answered
`/quiz plan`: where this channel is in the 4-week study plan
`/quiz export`: everything stored about you here, as a JSON file
`/quiz forget-me`: delete everything stored about you here
`/quiz report [reason] [text]`: report the latest question (wrong-key, ambiguous, typo, \
too-easy, too-hard, other)
`/quiz help`: this message
Admins: `/quiz setup [time:HH:MM] [tz:Area/City] [topics:a,b] [reveal:immediate|at_close] \
[close:HH:MM|none] [days:mon-fri|daily|mon,wed,fri] \
[plan:4-week|4-week-once|none] [start:YYYY-MM-DD]`
`/quiz post-now`, `/quiz close-now`, `/quiz pause`, `/quiz resume`, `/quiz skip`
`/quiz forget <member>`: delete a member's data (one who left)
`/quiz reports`: open reports; `/quiz reports resolve ID accept|reject [key:B] [note]`"""


def format_days(days: tuple[int, ...]) -> str:
    if days == tuple(range(7)):
        return "daily"
    if days == tuple(range(5)):
        return "mon-fri"
    return ",".join(DAY_NAMES[d] for d in days)


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
    else:
        head = not_quite(question)
    lines = [head, *grade_lines(question, grade)]
    if result.streak > 1:
        lines.append(f"Streak: {result.streak} days.")
    return "\n".join(lines)


def not_quite(question: Question) -> str:
    if _kind(question).answers_in_prose:
        return "Not quite."
    return f"Not quite. The answer is {sentence(answer_key(question))}"


def grade_lines(question: Question, grade: Grade) -> list[str]:
    """What an answer covered and missed, then the explanation: daily and practice alike."""
    lines: list[str] = []
    if grade.covered:
        lines.append("You covered: " + "; ".join(grade.covered))
    if grade.missed and _kind(question).lists_missed:
        lines.append("You missed: " + "; ".join(grade.missed))
    if grade.misconceptions:
        lines.append("Careful: " + "; ".join(grade.misconceptions))
    if _kind(question).answers_in_prose and grade.verdict is not Verdict.GOOD:
        lines += ["A full answer:", question.reference.strip()]
    lines.append(question.explanation.strip())
    return lines


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
        f"Streak: {stats.current_streak} (best {stats.best_streak})"
        f" · freezes: {stats.freezes} of {MAX_FREEZES}",
    ]
    if stats.reviews is not None:
        lines.append(reviews_line(stats.reviews))
    if stats.topics:
        lines.append("By topic, weakest first:")
        lines.extend(
            f"  {t.topic}: {t.correct}/{t.answered} ({t.accuracy:.0%})" for t in stats.topics
        )
    return "\n".join(lines)


PRACTICE_NOW_BUTTON = "Practice now"

# The progress chart with /quiz stats (bot/charts.py draws it).
CHART_ACCURACY = "Accuracy by topic, weakest first"
CHART_NO_ANSWERS = "No answers yet"
CHART_SENT_DM = "Your progress chart is in your direct messages with the app."
CHART_NOT_SENT = "(The progress chart could not be sent; the numbers above are complete.)"


def chart_title(name: str) -> str:
    return f"Progress for {echo(name, 40)}"


def chart_points_title(weeks: int) -> str:
    return f"Points, last {weeks} weeks"


def chart_written(path: str) -> str:
    return f"Progress chart: {path}"


def local_time(instant: datetime | None, timezone: str) -> str:
    if instant is None:
        return "not scheduled"
    return instant.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %H:%M ") + timezone


def setup_text(
    settings: ChannelSettings,
    next_post: datetime | None,
    next_close: datetime | None,
    low_bank: LowBank | None = None,
) -> str:
    topics = ", ".join(settings.topics) if settings.topics else "all topics"
    close = settings.close_time or "at the next post"
    lines = [
        "Daily Drill is set up here.",
        f"Posts at {settings.post_time} ({format_days(settings.days)}), closes {close}, "
        f"{settings.timezone}.",
        f"Topics: {topics}. Reveal: {settings.reveal.value}.",
    ]
    if settings.plan is not StudyPlan.NONE and settings.plan_start:
        lines.append(plan_setup_line(settings.plan, settings.plan_start))
    if settings.paused:
        lines.append("Posting is paused: `/quiz resume` to restart.")
    elif next_post:
        lines.append(f"Next post: {local_time(next_post, settings.timezone)}.")
        if next_close:
            lines.append(f"Next close: {local_time(next_close, settings.timezone)}.")
    if low_bank is not None:
        lines.append(low_bank_text(low_bank))
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


def delivery_failed_text(channel: str, reason: str) -> str:
    return (
        f"I couldn't post the answer or a leaderboard in {channel}: {reason}. "
        "Check that I can view and post in that channel."
    )


def post_queued_text(question_id: str) -> str:
    return (
        f"Today's question ({question_id}) is queued: it goes out as soon as the platform takes it."
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
    "LOW_BANK_WARNING": "a whole number of questions, 0 (never warn) or more (default 10)",
    "LOG_LEVEL": f"one of {', '.join(LOG_LEVELS)} (default INFO, or WARNING in the console)",
    "DATABASE_URL": (
        "sqlite:///relative/path.db, sqlite:////absolute/path.db"
        " or postgresql://user:password@host:5432/database"
    ),
    "QUESTIONS_DIR": "a directory of *.yaml question packs",
    "DATA_DIR": "a directory the bot may write to (default data)",
    "DISCORD_GUILD_ID": "a server id: the digits from Copy Server ID, or leave it unset",
    "DISCORD_SHARD_COUNT": "a whole number of shards, 1 or more, or leave it unset (no sharding)",
    "DISCORD_SHARD_IDS": "this process's shard ids, as in 0,1: each from 0 to "
    "DISCORD_SHARD_COUNT - 1, once; leave it unset for every shard",
}
SHARD_IDS_WITHOUT_COUNT = "needs DISCORD_SHARD_COUNT, the number of shards of all processes"
SHARD_ID_REPEATED = "names a shard twice"


def shard_out_of_range(count: int) -> str:
    return f"names a shard outside 0 to {count - 1}"


DATABASE_URL_PROBLEMS = {
    "not a URL": "is not a URL",
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


def database_unreadable(path: str, reason: str) -> str:
    return (
        f"Cannot read the database {path!r} (from DATABASE_URL): {reason}. "
        f"Set DATABASE_URL to the bot's database, {SETTING_RULES['DATABASE_URL']}."
    )


def database_unavailable(path: str, reason: str) -> str:
    return (
        f"Cannot open the database {path!r} (from DATABASE_URL): {reason}. "
        f"Use {SETTING_RULES['DATABASE_URL']} naming a writable SQLite file "
        "or a PostgreSQL server that accepts the login."
    )


def bad_path_setting(name: str, path: str, problem: str) -> str:
    return f"{name}={shown_setting(path, 300)} {problem}: use {SETTING_RULES[name]}."


def bad_application_id(value: str) -> str:
    return (
        f"DISCORD_APPLICATION_ID={shown_setting(value)} is not a Discord application id: "
        "use the digits from Developer Portal > your application > General Information."
    )


# Replies to the /quiz commands (bot.core.handlers) and the refusals of the use cases.
ADMINS_ONLY = "Only channel admins can do that."
CLOSED_NOW = "Closed the drill and posted the answer."
PAUSED = "Paused: no posts until `/quiz resume`. History is kept."
TOP_FIVE_TITLE = "Top 5 this week"
NOT_SET_UP = "This channel isn't set up yet: an admin can run `/quiz setup`."
CLOSE_EQUALS_POST = "The close time must differ from the post time."
QUESTION_NOT_IN_BANK = "That question is no longer in the bank."
POST_SKIPPED = "Today's post is skipped."
ALREADY_POSTED = "Today's question is already posted."
BEING_POSTED = "Today's question is being posted already."
NO_OPEN_DRILL = "There's no open question in this channel right now."
QUESTION_GONE = "That question doesn't exist any more."
DRILL_CLOSED = "This drill is closed. A new question comes with the next post."
OTHER_WORKSPACE = "That question belongs to another workspace."
CLOSED_A_MOMENT_AGO = "That drill was closed a moment ago."
DRILL_GONE = "That drill doesn't exist."
NO_MATCHING_QUESTIONS = "No questions match this channel's topics. Change them with /quiz setup."


def posted_now(question_id: str) -> str:
    return f"Posted today's question ({question_id})."


def group_created(name: str) -> str:
    return f"Created the group {name} and added you to it."


def already_in_group(name: str) -> str:
    return f"You're already in {name}."


def group_joined(name: str) -> str:
    return f"You joined {name}."


def group_left(name: str) -> str:
    return f"You left {name}."


def not_in_group(name: str) -> str:
    return f"You're not in a group called {name}."


def no_such_group(name: str) -> str:
    return f"There's no group called {name}. See `/quiz group list`."


def group_exists(name: str) -> str:
    return f"There's already a group called {name}: join it instead."


def unknown_topics(topics: list[str]) -> str:
    return f"Unknown topic {', '.join(topics)}. See `/quiz topics` for the list."


def cannot_post_on(platform: str) -> str:
    return f"I can't post on {platform} right now."


def post_refused(reason: object) -> str:
    return f"I couldn't post the question here: {reason}"


def unknown_member(name: str) -> str:
    return f"I don't know {echo(name, 60)} here yet."


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


# --- the 4-week study plan (`/quiz plan`, `/quiz setup plan:`, the low-bank warning) ------

PLAN_NAMES = {
    StudyPlan.REPEAT: "4-week (starts again after week 4)",
    StudyPlan.ONCE: "4-week-once (all topics after week 4)",
}
NO_PLAN = "No study plan is set here. An admin can start one with `/quiz setup plan:4-week`."
PLAN_RULE = "`plan` is `4-week`, `4-week-once` or `none`."
START_WITHOUT_PLAN = "`start` needs a plan: use `plan:4-week` or `plan:4-week-once` with it."
START_NEEDS_PLAN = (
    "This channel has no study plan to start: add `plan:4-week` or `plan:4-week-once`."
)


def not_a_start_date(value: str) -> str:
    return f"`{value[:40]}` is not a date: write the start as YYYY-MM-DD, like 2026-01-05."


def start_out_of_range(start: date, days: int) -> str:
    return f"The plan can start at most {days} days before or after today, not on {start}."


def day_text(day: date) -> str:
    """A date as plans show it: Mon 05 Jan 2026."""
    return f"{day:%a %d %b %Y}"


def plan_setup_line(plan: StudyPlan, start: date) -> str:
    return f"Study plan: {PLAN_NAMES[plan]}, week 1 from {day_text(start)}."


def topic_list(topics: tuple[tuple[str, int], ...]) -> str:
    listed = ", ".join(f"{topic} ({count})" for topic, count in topics)
    return listed or "no questions in this channel's topics"


def plan_text(status: PlanStatus) -> str:
    """The reply to `/quiz plan`: where the channel is and what the coming week covers."""
    position = status.position
    if status.plan is StudyPlan.NONE or position is None or status.start is None:
        return NO_PLAN
    lines = [f"Study plan: {PLAN_NAMES[status.plan]}, started {day_text(status.start)}."]
    if position.upcoming:
        lines[0] = f"Study plan: {PLAN_NAMES[status.plan]}, starts {day_text(status.start)}."
        lines.append("Until then the daily question comes from all this channel's topics.")
    elif position.finished:
        lines.append("The 4 weeks are done: the daily question comes from all topics again.")
    else:
        again = f" (round {position.round})" if position.round > 1 else ""
        lines.append(f"This channel is in week {position.week} of 4{again}, day {position.day}.")
        lines.append(f"This week covers: {topic_list(status.week_topics)}.")
    if status.next_week is not None and status.next_start is not None:
        lines.append(
            f"Next week (week {status.next_week}, from {day_text(status.next_start)}) covers: "
            f"{topic_list(status.next_topics)}."
        )
    elif status.next_start is not None:
        lines.append(f"The plan ends on {day_text(status.next_start)}; then all topics come again.")
    if status.low_bank is not None:
        lines.append(low_bank_text(status.low_bank))
    return "\n".join(lines)


def unasked_left(left: int) -> str:
    if not left:
        return "no unasked questions are"
    return f"only {left} unasked question is" if left == 1 else f"only {left} unasked questions are"


def low_bank_text(low: LowBank, *, after_today: bool = False) -> str:
    """The warning, in the setup reply, `/quiz plan` and once in the channel (there just
    before the question that leaves `left`, hence `after_today`)."""
    topics = ", ".join(low.topics) or "all topics"
    head = "Heads up: after today's question, " if after_today else "Heads up: "
    if low.week is not None:
        return (
            f"{head}{unasked_left(low.left)} left for week {low.week} of the study plan "
            f"({topics}). When they run out, the other weeks' unasked questions come first."
        )
    return (
        f"{head}{unasked_left(low.left)} left in this channel's topics ({topics}). "
        "When they run out, questions repeat, least-asked first; `/quiz setup topics:` "
        "can add topics."
    )


# Why a /quiz command could not be read (bot.core.commands; the usage follows most of them).
ANSWER_MISSING = "Tell me your answer, e.g. `/quiz answer B`."
GROUP_ACTION_MISSING = "Say what to do with groups: create, join, leave or list."
GROUP_LIST_ARGUMENTS = "`group list` takes no arguments."
GROUP_NAME_RULE = "Group names are 1-32 letters, digits, - or _, starting with a letter or digit."
TOPICS_RULE = "Give topics as a comma-separated list, like `topics:statistics,nlp`."
REVEAL_RULE = "`reveal` is `immediate` or `at_close`."
ZONE_EXAMPLE = "Use a name like Europe/Berlin or America/New_York."


def too_long(limit: int) -> str:
    return f"That's too long: keep it under {limit:,} characters."


def takes_no_arguments(verb: str) -> str:
    return f"`{verb}` takes no arguments."


def unknown_command(verb: str) -> str:
    return f"I don't know the command `{verb[:40]}`."


def not_a_board_option(arg: str) -> str:
    return f"`{arg[:40]}` is not a leaderboard option: use week, month or all."


def not_a_group_command(action: str) -> str:
    return f"`group {action[:40]}` is not a group command."


def one_group_name(action: str) -> str:
    return f"Give one group name: `/quiz group {action} NAME`."


def not_key_value(arg: str) -> str:
    return f"Setup options look like `key:value`; `{arg[:40]}` doesn't."


def given_twice(key: str) -> str:
    return f"`{key}` is given twice."


def not_a_setup_option(key: str) -> str:
    return f"`{key[:40]}` is not a setup option."


def not_a_time(value: str) -> str:
    return f"`{value[:40]}` is not a time: use 24-hour HH:MM, like 09:00."


def unknown_zone(name: str, suggestion: str | None) -> str:
    hint = f"Did you mean `{suggestion}`?" if suggestion else ZONE_EXAMPLE
    return f"I don't know the time zone `{name[:60]}`. {hint}"


def not_days(value: str) -> str:
    return f"`{value[:40]}` is not a list of days: use `daily`, `mon-fri` or `mon,wed,fri`."


def not_a_day_range(part: str) -> str:
    return f"`{part[:40]}` is not a day range: write it as `mon-fri`."


def swapped_claim(point: str) -> str:
    """An open answer gave this key point's claim to something else (bot.core.grading)."""
    return f"that claim belongs elsewhere ({point})"


# Why an answer cannot be graded as given (bot.core.grading).
SHORT_ANSWER_EMPTY = "Type a word or a short phrase."
OPEN_ANSWER_EMPTY = "Write a sentence or two in your own words."


def choose_a_letter(first: str, last: str) -> str:
    return f"Answer with one of the letters {first}-{last}."


def not_a_number(percent: bool) -> str:
    example = "0.25, 1/4, 2.5e-1, 1,000" + (" or 25%" if percent else "")
    return f"Answer with a number, for example {example}."


# The console adapter's own lines (a terminal, so the words for its colon commands).
CONSOLE_HELP = """\
Console drill: type `/quiz help` for the commands.
  :as NAME   speak as another member (everyone is an admin here)
  :quit      leave (end of input works too)
Any other text answers the open question (your practice question while a session is open)."""
CONSOLE_NAME_RULE = "Give a name: `:as alice` (letters, digits, spaces, . - _)."


def speaking_as(name: str) -> str:
    return f"(now speaking as {name})"


# Reminders (`/quiz remind on|off`) and the reminder itself.
REMINDER_ON = (
    "Reminders on: if you haven't answered, I'll message you privately an hour before "
    "the question closes."
)
REMINDER_ALREADY_ON = "Your reminders are already on here."
REMINDER_OFF = "Reminders off for this channel."
REMINDER_ALREADY_OFF = "You have no reminders on here."
REMIND_SWITCH = "Use `/quiz remind on` or `/quiz remind off`."


def reminder_text(channel_mention: str, closes_at: datetime | None, timezone: str) -> str:
    """The line above the question in a reminder."""
    when = f" at {local_clock(closes_at, timezone)}" if closes_at else " soon"
    return f"Reminder: today's question in {channel_mention} closes{when}. Answer here:"


def local_clock(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).strftime("%H:%M ") + timezone


def only_quiz_commands(text: str) -> str:
    return f"I only know `/quiz` commands, not `{echo(text, 40)}`."


# Discord's slash-command picker: each command's description, keyed by its path under /quiz.
SLASH_DESCRIPTIONS = {
    "quiz": "Daily ML interview drills",
    "group": "Study groups with their own leaderboard",
    "help": "What the /quiz commands do",
    "topics": "The topics in the question bank",
    "stats": "Accuracy per topic, points, rank and streak",
    "leaderboard": "The top 10 and your own rank",
    "answer": "Answer the open question (no text: opens a form)",
    "group create": "Start a study group and join it",
    "group join": "Join a study group",
    "group leave": "Leave a study group",
    "group list": "The study groups here and which you're in",
    "setup": "Admins: set up this channel's daily drill",
    "post-now": "Admins: post today's question now",
    "close-now": "Admins: close the open question and reveal it",
    "pause": "Admins: stop posting (history is kept)",
    "resume": "Admins: start posting again",
    "skip": "Admins: skip the next post",
    "remind": "A private reminder an hour before close, if you haven't answered",
    "plan": "Where this channel is in the 4-week study plan",
    "export": "Everything stored about you here, as a JSON file",
    "forget-me": "Delete everything stored about you here",
    "forget": "Admins: delete a member's data (one who left)",
}
# The hint under each option of those commands.
SLASH_OPTIONS = {
    "stats": {"member": "Whose stats to show (you if left out)"},
    "leaderboard": {
        "period": "Which scores to count (this week if left out)",
        "group": "Only this study group's members",
    },
    "answer": {
        "text": "Your answer: a letter, or several (A C) for select-all, else your own words"
    },
    "remind": {"switch": "on: remind me in this channel; off: stop"},
    "group create": {"name": "1-32 letters, digits, - or _"},
    "group join": {"name": "The group's name"},
    "group leave": {"name": "The group's name"},
    "setup": {
        "time": "Post time, 24-hour HH:MM (e.g. 09:00)",
        "tz": "Time zone, Area/City (e.g. Europe/Berlin)",
        "topics": "Comma-separated topics, or all",
        "reveal": "When members see whether they were right",
        "close": "Close time HH:MM, or none to close at the next post",
        "days": "Posting days: mon-fri, daily, or a list like mon,wed,fri",
        "plan": "Follow the 4-week interview study plan, once or repeating, or none",
        "start": "The plan's first day, YYYY-MM-DD (today if left out)",
    },
    "forget-me": {"confirm": "True deletes now; left out, you see what would go first"},
    "forget": {
        "member": "Whose data to delete (someone who left: paste their user id)",
        "confirm": "True deletes now; left out, you see what would go first",
    },
}
# The study plans as the setup picker lists them.
PLAN_CHOICES = {
    "4-week": "4-week: weeks 1-4 of the study plan, repeating",
    "4-week-once": "4-week-once: weeks 1-4, then all topics",
    "none": "none: no plan, all the channel's topics",
}
# The reveal modes as the setup picker lists them.
REVEAL_CHOICES = {
    "immediate": "immediate: feedback right after each answer",
    "at_close": "at_close: only 'locked in' until the reveal",
}


# Start-up refusals of the platform settings (one line on stderr, exit code 2).
def bad_guild_id(guild: str) -> str:
    return f"DISCORD_GUILD_ID must be a server id (digits), not {guild!r}"


def token_refused(reason: object) -> str:
    return f"Discord refused DISCORD_TOKEN: {reason}"


NO_APPLICATION_ID = (
    "Set DISCORD_APPLICATION_ID (Developer Portal > your application > General "
    "Information > Application ID), or DISCORD_TOKEN."
)
SLACK_TOKENS_MISSING = (
    "Slack needs SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or with "
    "SLACK_SIGNING_SECRET (HTTP), or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and "
    "SLACK_SIGNING_SECRET (multi-workspace install)"
)


# Why a path setting is refused (the `problem` of bad_path_setting).
PATH_MISSING = "does not exist"
NOT_A_DIRECTORY = "is not a directory"


def not_installed(workspace_id: str) -> str:
    """Why a Slack post failed, as told to the channel's admin."""
    return f"the app is not installed in workspace {workspace_id}"


# --- members' rights: /quiz export, /quiz forget-me and /quiz forget ---------------------

CONFIRM_WORD = "confirm"
FORGET_BUTTON = "Delete it all"
NOTHING_STORED = "Nothing is stored about you in this workspace."
NOTHING_TO_FORGET = "Nothing is stored about you in this workspace: there is nothing to delete."
FORGET_WHO = "Say whose data to delete: `/quiz forget @member`."
EXPORT_ATTACHED = "The JSON file is attached; only you can see it."
EXPORT_SENT_DM = "I sent you the JSON file in a direct message (the app's Messages tab)."
EXPORT_UPLOAD_FAILED = (
    "I couldn't send you the file: the app may lack the files:write and im:write scopes. "
    "Ask an admin to reinstall it."
)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _stored_summary(data: MemberData) -> str:
    """What is stored, counted: answers, topics, streaks, groups, and other records."""
    parts = [
        _count(len(data.attempts), "answer"),
        f"stats in {_count(len(data.topics), 'topic')}",
        _count(len(data.streaks), "streak"),
        _count(len(data.groups), "study group membership"),
    ]
    if data.setup_channels:
        parts.append(f"the admin contact of {_count(len(data.setup_channels), 'channel')}")
    others = sum(len(extra.rows) for extra in data.extra) + len(data.slack_installs)
    if others:
        parts.append(_count(others, "other record"))
    return ", ".join(parts)


def not_confirm(word: str, command: str) -> str:
    return f"`{echo(word, 40)}` isn't `{CONFIRM_WORD}`: `/quiz {command} {CONFIRM_WORD}` deletes."


def export_summary(data: MemberData) -> str:
    return f"Everything Daily Drill stores about you in this workspace: {_stored_summary(data)}."


def export_written(path: str) -> str:
    return f"The JSON file is at `{path}`; only you should read it."


def forget_me_confirm(data: MemberData) -> str:
    return (
        f"This deletes everything stored about you in this workspace: "
        f"{_stored_summary(data)}. Leaderboards, ranks and weekly boards are recomputed "
        f"without you. It can't be undone: run `/quiz export` first for a copy.\n"
        f"To go ahead: `/quiz forget-me {CONFIRM_WORD}`"
    )


def forgot_you(result: Forgotten) -> str:
    return (
        f"Done: everything stored about you in this workspace is deleted "
        f"({_count(result.attempts, 'answer')}, "
        f"{_count(result.groups, 'study group membership')}). "
        f"If you answer again, a new record starts."
    )


def forget_confirm(data: MemberData) -> str:
    who = data.member
    name = echo(who.display_name or who.user_id, 60)
    return (
        f"This deletes everything stored about {name} (`{who.user_id}`) in this workspace: "
        f"{_stored_summary(data)}. Leaderboards, ranks and weekly boards are recomputed "
        f"without them. It can't be undone.\n"
        f"To go ahead: `/quiz forget {who.user_id} {CONFIRM_WORD}`"
    )


def forgot_member(result: Forgotten) -> str:
    who = result.member
    name = echo(who.display_name or who.user_id, 60)
    return (
        f"Deleted everything stored about {name} (`{who.user_id}`) in this workspace "
        f"({_count(result.attempts, 'answer')}, "
        f"{_count(result.groups, 'study group membership')})."
    )


def nothing_stored_about(name: str) -> str:
    return f"Nothing is stored about {echo(name, 60)} in this workspace."


# --- practice and spaced repetition (/quiz practice, /quiz goal) ------------------------

GOAL_RULE = "Your daily practice goal is a whole number from 6 to 20, like `/quiz goal 10`."
PRACTICE_STOP_ALONE = "`practice stop` takes no other options."
NOTHING_TO_PRACTICE = "There's nothing to practise on that topic right now."
NO_PRACTICE = "You have no practice session open: start one with `/quiz practice`."
PRACTICE_ALREADY_ANSWERED = (
    "You've already answered that practice question. `/quiz practice` shows where you are."
)
PRACTICE_FORM_STALE = "That practice session has ended: `/quiz practice` starts a new one."
PRACTICE_STOPPED = "Practice stopped. `/quiz answer` answers the daily question again."
NO_PRACTICE_TO_STOP = "You have no practice session open."
PRACTICE_TITLE = "Practice"
HEADS = {Verdict.GOOD: "Correct!", Verdict.PARTIAL: "Partly right."}


def not_a_goal(value: str) -> str:
    return f"`{value[:40]}` is not a goal. {GOAL_RULE}"


def not_a_practice_count(value: str) -> str:
    return f"`{value[:40]}` is not a number of questions: use 1 to 30."


def one_practice_topic(word: str) -> str:
    return f"Give one topic at most; `{word[:40]}` is a second one. See `/quiz topics`."


def goal_text(goal: int, changed: bool) -> str:
    if changed:
        return f"Your daily practice goal is now {goal} questions."
    return f"Your daily practice goal is {goal} questions. Change it with `/quiz goal 6-20`."


def short_date(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).strftime("%a %d %b")


def reviews_line(reviews: ReviewSummary) -> str:
    if reviews.due_today == 0 and reviews.next_due is None:
        return "Reviews: none yet. Missed questions come back in `/quiz practice`."
    line = f"Reviews due today: {reviews.due_today}"
    if reviews.next_due is not None:
        line += f" · next: {short_date(reviews.next_due, reviews.timezone)}"
    return line


def comes_back(seconds: float) -> str:
    """When a reviewed question is due again, as a member reads it."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"Next review: in {minutes} minute{'s' if minutes != 1 else ''}."
    hours = round(minutes / 60)
    if hours < 24:
        return f"Next review: in {hours} hour{'s' if hours != 1 else ''}."
    days = round(hours / 24)
    return f"Next review: in {days} day{'s' if days != 1 else ''}."


def practice_text(turn: PracticeTurn) -> str:
    """A practice reply: feedback on the answer, then the next question or the summary."""
    session = turn.session
    lines: list[str] = []
    if (answered := turn.answered) is not None:
        grade = answered.grade
        lines += [HEADS.get(grade.verdict) or not_quite(answered.question)]
        lines += grade_lines(answered.question, grade)
        lines += [comes_back(answered.comes_back_in.total_seconds()), ""]
    if turn.resumed:
        lines += [
            f"Resuming your practice session at question {session.answered + 1} of "
            f"{len(session.items)}. `/quiz practice new` starts over, "
            "`/quiz practice stop` ends it.",
            "",
        ]
    if turn.question is not None and session.current is not None:
        question = turn.question
        review = " · review" if session.current.review else ""
        lines += [
            f"{PRACTICE_TITLE} {session.current.position}/{len(session.items)} · "
            f"{question_header(question)}{review}",
            question_body(question),
            answer_hint(question),
        ]
        return "\n".join(lines)
    right, partly = session.count(Verdict.GOOD), session.count(Verdict.PARTIAL)
    summary = f"Practice done: {right} of {session.answered} right"
    lines.append(summary + (f", {partly} partly." if partly else "."))
    met = " Goal met!" if turn.practised_today >= turn.goal else ""
    lines.append(f"Today: {turn.practised_today} of your goal of {turn.goal}.{met}")
    if turn.reviews is not None:
        lines.append(reviews_line(turn.reviews))
    lines.append("Practice again with `/quiz practice`; it never changes leaderboard points.")
    return "\n".join(lines)


SLASH_DESCRIPTIONS |= {
    "practice": "A private practice session: due reviews, then your weakest topics",
    "goal": "Your daily practice goal (6-20 questions)",
}
SLASH_OPTIONS |= {
    "practice": {
        "topic": "Only this topic (every topic if left out)",
        "count": "How many questions (your daily goal if left out)",
        "action": "resume (default), new to start over, or stop",
    },
    "goal": {"questions": "6 to 20 (shows your goal if left out)"},
}
PRACTICE_ACTIONS = {
    "resume": "resume the open session (or start one)",
    "new": "new: stop the open session and start over",
    "stop": "stop: end the open session",
}


# --- reports and disputes: /quiz report, /quiz reports (admins) -------------------------

REPORT_TEXT_LIMIT = 500
REPORT_REASON_LABELS = {
    ReportReason.WRONG_KEY: "wrong-key: the answer key is wrong",
    ReportReason.AMBIGUOUS: "ambiguous: more than one answer fits",
    ReportReason.TYPO: "typo: a mistake in the wording",
    ReportReason.TOO_EASY: "too-easy",
    ReportReason.TOO_HARD: "too-hard",
    ReportReason.OTHER: "other: say why in the text",
}
REPORT_BUTTON = "Report"
REPORT_PLACEHOLDER = "Why report this question?"
REPORT_TEXT_LABEL = "Anything to add? (optional)"
REPORT_REASON_LABEL = "Reason"
NOTHING_TO_REPORT = "There is no question to report in this channel yet."
NO_OPEN_REPORTS = "No open reports in this channel."
REPORTS_USAGE = (
    "Use `/quiz reports` to list open reports, or "
    "`/quiz reports resolve ID accept|reject [key:B] [note]` to resolve one."
)
REPORT_NOT_FOUND = "There is no such report in this channel: see `/quiz reports`."
KEY_ONLY_FOR_WRONG_KEY = "`key:` goes only with accepting a wrong-key report."
KEY_NOT_LETTERED = (
    "This question has no lettered choices: accepting voids the drill (every answer "
    "counts as right), so leave out `key:`."
)
CLOSE_BEFORE_REGRADE = (
    "That drill is still open: close it first (`/quiz close-now`), then accept the report."
)
SLASH_DESCRIPTIONS |= {
    "report": "Report the latest question (a wrong key, a typo...)",
    "reports": "Admins: open reports on this channel's questions",
    "resolve-report": "Admins: accept or reject a report",
}
SLASH_OPTIONS |= {
    "report": {
        "reason": "What is wrong with the question",
        "text": f"Anything to add (up to {REPORT_TEXT_LIMIT} characters)",
    },
    "resolve-report": {
        "report": "The report's number (see /quiz reports)",
        "decision": "accept or reject",
        "key": "Accepting wrong-key on a lettered question: the right letters, e.g. B",
        "note": "Why (kept with the report)",
    },
}


def report_reasons_text(question_id: str) -> str:
    reasons = "\n".join(f"`{label}`" for label in REPORT_REASON_LABELS.values())
    return (
        f"Report `{question_id}`: `/quiz report <reason> [text]` with one of these reasons:"
        f"\n{reasons}"
    )


def not_a_report_reason(value: str) -> str:
    reasons = ", ".join(f"`{reason.value}`" for reason in ReportReason)
    return f"`{echo(value, 40)}` is not a reason: use one of {reasons}."


def report_text_too_long(limit: int = REPORT_TEXT_LIMIT) -> str:
    return f"Keep a report's text to {limit} characters."


def report_filed(filed: ReportFiled) -> str:
    if not filed.created:
        return (
            f"You have reported `{filed.question_id}` already ({filed.reason.value}, "
            f"report #{filed.report_id}); that report stands and nothing changed."
        )
    return (
        f"Thanks: report #{filed.report_id} on `{filed.question_id}` ({filed.reason.value}) "
        "is in. An admin will look at it."
    )


def not_a_report_id(value: str) -> str:
    return f"`{echo(value, 40)}` is not a report number: see `/quiz reports`."


def not_a_decision(value: str) -> str:
    return f"`{echo(value, 40)}` is neither `accept` nor `reject`."


def report_already_resolved(report: QuestionReport) -> str:
    return f"Report #{report.id} was {report.state.value} already; nothing changed."


def key_needed(letters: str) -> str:
    return (
        f"Accepting a wrong-key report regrades the drill: give the right letters, "
        f"e.g. `key:{letters[0]}` (choices {letters[0]}-{letters[-1]})."
    )


def not_a_key(value: str, letters: str, one: bool) -> str:
    wanted = "one letter" if one else "one or more letters"
    return f"`key:{echo(value, 20)}` is not {wanted} of {letters[0]}-{letters[-1]}."


def reports_text(reports: list[QuestionReport]) -> str:
    """Open reports grouped by question: counts per reason, then each report."""
    if not reports:
        return NO_OPEN_REPORTS
    by_question: dict[str, list[QuestionReport]] = {}
    for report in reports:
        by_question.setdefault(report.question_id, []).append(report)
    lines = [f"Open reports: {len(reports)} on {len(by_question)} question(s)"]
    for question_id, group in by_question.items():
        counts: dict[str, int] = {}
        for report in group:
            counts[report.reason.value] = counts.get(report.reason.value, 0) + 1
        tally = ", ".join(f"{reason} ×{count}" for reason, count in counts.items())
        lines.append(f"`{question_id}`: {tally}")
        for report in group:
            day = f" ({report.local_date.isoformat()})" if report.local_date else ""
            said = f": {echo(report.text, 120)}" if report.text else ""
            lines.append(f"  #{report.id} {report.reason.value}{day} by {report.reporter}{said}")
    lines.append("Resolve one with `/quiz reports resolve ID accept|reject [key:B] [note]`.")
    return "\n".join(lines)


def report_resolved(result: ReportResolved) -> str:
    report = result.report
    if result.state is ReportState.REJECTED:
        return f"Rejected report #{report.id} on `{report.question_id}`; nothing else changed."
    line = f"Accepted report #{report.id} on `{report.question_id}`."
    if result.voided:
        return (
            f"{line} The drill is void: every answer counts as right; "
            f"{result.regraded} attempt(s) changed and their members are told privately."
        )
    if result.key is not None:
        return (
            f"{line} Regraded with key {result.key}: {result.regraded} attempt(s) changed "
            "and their members are told privately."
        )
    return line


def regraded_text(
    question_id: str,
    day: date,
    voided: bool,
    verdict: Verdict,
    points_before: int,
    points: int,
) -> str:
    """The private message to a member whose attempt an accepted report changed."""
    what = (
        "was voided: every answer counts as right"
        if voided
        else f"was regraded with a corrected key: your answer is now {VERDICT_LABELS[verdict]}"
    )
    return (
        f"After a report, the {day.isoformat()} question `{question_id}` {what}. "
        f"Your points for it: {points_before} → {points}."
    )


# `python -m bot migrate-data`: its one-line refusals (stderr, exit code 2) and report.
MIGRATE_DATA_USAGE = "sqlite:///path/to/daily-drill.db"
TRANSFER_TARGET_NOT_MIGRATED = (
    "The target PostgreSQL database has no schema yet: run "
    "`DATABASE_URL=postgresql://... python -m bot migrate` first."
)


def transfer_bad_source(shown: str) -> str:
    return f"--from {shown} is not a SQLite URL: use {MIGRATE_DATA_USAGE}."


def transfer_missing_source(path: str) -> str:
    return f"--from names no SQLite file: {path!r} does not exist."


def transfer_unreadable_source(path: str, reason: str) -> str:
    return f"Cannot read the SQLite database {path!r}: {reason}."


def transfer_bad_target(shown: str) -> str:
    return f"--to {shown} is not a PostgreSQL URL: use postgresql://user:password@host:port/db."


def transfer_cannot_connect(reason: str) -> str:
    return f"Cannot connect to the --to PostgreSQL database: {reason}."


def transfer_versions_differ(source: int, target: int) -> str:
    return (
        f"The SQLite database is at migration {source} and the PostgreSQL one at {target}: "
        "run `python -m bot migrate` on both with this release first."
    )


def transfer_missing_table(table: str) -> str:
    return f"The PostgreSQL database has no table {table!r}, which the SQLite one has."


def transfer_missing_column(table: str, column: str) -> str:
    return f"The PostgreSQL table {table!r} has no column {column!r}, which the SQLite one has."


def transfer_target_not_empty(table: str) -> str:
    return (
        f"The PostgreSQL database is not empty (table {table!r} has rows): migrate-data "
        "copies only into a freshly migrated database, nothing was copied."
    )


def transfer_failed(table: str, reason: str) -> str:
    return f"Copying table {table!r} failed, nothing was copied: {reason}."


def transfer_count_differs(table: str, expected: int, copied: int) -> str:
    return (
        f"Table {table!r}: {copied} rows arrived of {expected}; nothing was copied "
        "(the transaction was rolled back)."
    )


def transfer_done(tables: int, rows: int) -> str:
    return f"Copied {rows} rows in {tables} tables; every table's row count matches."
