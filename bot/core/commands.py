"""The /quiz text grammar shared by Slack and the console: text in, typed command out."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.core import messages
from bot.core.errors import UsageError
from bot.core.messages import DAY_NAMES, USAGE
from bot.core.models import Period, ReportReason, RevealMode, StudyPlan
from bot.core.zones import UnknownZone, validate_zone

MAX_TEXT = 2000
GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Every spelling of a day that `days:` accepts: the name, its 3-letter form, common others.
DAY_SPELLINGS = {
    **{name: index for index, name in enumerate(DAY_NAMES)},
    **{name: index for index, name in enumerate(_FULL_DAY_NAMES)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Topics:
    pass


@dataclass(frozen=True)
class Setup:
    """Only the fields given change; `clear_close` unsets the close time."""

    time: str | None = None
    tz: str | None = None
    topics: tuple[str, ...] | None = None
    reveal: RevealMode | None = None
    close: str | None = None
    clear_close: bool = False
    days: tuple[int, ...] | None = None
    # The 4-week study plan: `start` defaults to the channel's local today.
    plan: StudyPlan | None = None
    start: date | None = None


@dataclass(frozen=True)
class PostNow:
    pass


@dataclass(frozen=True)
class CloseNow:
    pass


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Skip:
    pass


@dataclass(frozen=True)
class Answer:
    text: str


@dataclass(frozen=True)
class Stats:
    member: str | None = None


@dataclass(frozen=True)
class ShowLeaderboard:
    period: Period = Period.WEEK
    group: str | None = None


@dataclass(frozen=True)
class GroupCreate:
    name: str


@dataclass(frozen=True)
class GroupJoin:
    name: str


@dataclass(frozen=True)
class GroupLeave:
    name: str


@dataclass(frozen=True)
class GroupList:
    pass


@dataclass(frozen=True)
class Remind:
    on: bool


# --- the 4-week study plan ---------------------------------------------------------------


@dataclass(frozen=True)
class ShowPlan:
    pass


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_plan(value: str) -> StudyPlan:
    try:
        return StudyPlan(value.lower())
    except ValueError as exc:
        raise UsageError(messages.PLAN_RULE) from exc


def parse_start(value: str) -> date:
    """A real calendar date written YYYY-MM-DD (whether it is near enough to today is
    the service's check: it knows the channel's today)."""
    try:
        start = date.fromisoformat(value) if _DATE.match(value) else None
    except ValueError:  # 2026-02-30 and the like
        start = None
    if start is None:
        raise UsageError(messages.not_a_start_date(value))
    return start


# --- members' rights -----------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    pass


@dataclass(frozen=True)
class ForgetMe:
    """Without `confirm` it only says what would be deleted."""

    confirm: bool = False


@dataclass(frozen=True)
class Forget:
    """An admin's forget-me for another member (a mention, a user id or a name)."""

    member: str
    confirm: bool = False


# --- practice (FSRS spaced repetition); parsed by parse_practice at the end -------------


@dataclass(frozen=True)
class Goal:
    """`/quiz goal N` sets the daily practice goal; without N it shows it."""

    goal: int | None = None


@dataclass(frozen=True)
class Practice:
    """Start (or resume) a practice session; `restart` (`new`) stops the open one first."""

    topic: str | None = None
    count: int | None = None
    restart: bool = False


@dataclass(frozen=True)
class PracticeStop:
    pass


# --- reports and disputes; parsed by parse_report and parse_reports -------------------


@dataclass(frozen=True)
class Report:
    """A report on the channel's latest revealed or open drill, or on `drill_id` (the
    Report button's drill). Without a reason it only shows the reasons."""

    reason: ReportReason | None = None
    text: str = ""
    drill_id: int | None = None


@dataclass(frozen=True)
class ShowReports:
    pass


@dataclass(frozen=True)
class ResolveReport:
    """`key` (letters) regrades a lettered drill on accepting a wrong-key report."""

    report_id: int
    accept: bool
    key: str | None = None
    note: str = ""


# --- every command ------------------------------------------------------------------------


Command = (
    Help
    | Topics
    | Setup
    | PostNow
    | CloseNow
    | Pause
    | Resume
    | Skip
    | Answer
    | Stats
    | ShowLeaderboard
    | GroupCreate
    | GroupJoin
    | GroupLeave
    | GroupList
    | Remind
    | ShowPlan
    | Export
    | ForgetMe
    | Forget
    | Goal
    | Practice
    | PracticeStop
    | Report
    | ShowReports
    | ResolveReport
)
_NO_ARGS: dict[str, Callable[[], Command]] = {
    "help": Help,
    "topics": Topics,
    "post-now": PostNow,
    "close-now": CloseNow,
    "pause": Pause,
    "resume": Resume,
    "skip": Skip,
    "plan": ShowPlan,
    "export": Export,
}
_PERIODS = {"week": Period.WEEK, "month": Period.MONTH, "all": Period.ALL, "all-time": Period.ALL}


def usage_error(problem: str) -> UsageError:
    return UsageError(f"{problem}\n\n{USAGE}")


def check_length(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise UsageError(messages.too_long(MAX_TEXT))


def parse(text: str) -> Command:
    """Parse `/quiz ...` text (the `/quiz` prefix is optional) into a typed command.

    The length limit applies to what the member wrote (the answer itself, or the command
    after `/quiz`), so an answer may use all of it on every platform."""
    body = text.strip()
    if body.lower().startswith("/quiz"):
        body = body[len("/quiz") :].strip()
    if not body:
        return Help()
    verb, _, rest = body.partition(" ")
    verb = verb.lower()
    rest = rest.strip()
    check_length(rest if verb == "answer" else body)
    if verb in _NO_ARGS:
        if rest:
            raise usage_error(messages.takes_no_arguments(verb))
        return _NO_ARGS[verb]()
    if verb == "answer":
        if not rest:
            raise usage_error(messages.ANSWER_MISSING)
        return Answer(rest)
    if verb == "stats":
        return Stats(rest or None)
    if verb in ("leaderboard", "board", "lb"):
        return _parse_leaderboard(rest.split())
    if verb == "group":
        return _parse_group(rest.split())
    if verb == "setup":
        return parse_setup(rest.split())
    if verb == "remind":
        return parse_remind(rest)
    if verb == "forget-me":
        return ForgetMe(parse_confirm(rest, verb))
    if verb == "forget":
        return parse_forget(rest)
    if verb in PRACTICE_VERBS:
        return parse_practice(verb, rest.split())
    if verb == "report":
        reason, _, text = rest.partition(" ")
        return parse_report(reason or None, text)
    if verb == "reports":
        return parse_reports(rest)
    raise usage_error(messages.unknown_command(verb))


def _parse_leaderboard(args: list[str]) -> ShowLeaderboard:
    period, group = Period.WEEK, None
    for arg in args:
        if arg.lower() in _PERIODS:
            period = _PERIODS[arg.lower()]
        elif arg.lower().startswith("group:"):
            group = parse_group_name(arg[len("group:") :])
        else:
            raise usage_error(messages.not_a_board_option(arg))
    return ShowLeaderboard(period, group)


def _parse_group(args: list[str]) -> Command:
    if not args:
        raise usage_error(messages.GROUP_ACTION_MISSING)
    action = args[0].lower()
    if action == "list":
        if len(args) > 1:
            raise usage_error(messages.GROUP_LIST_ARGUMENTS)
        return GroupList()
    makers: dict[str, Callable[[str], Command]] = {
        "create": GroupCreate,
        "join": GroupJoin,
        "leave": GroupLeave,
    }
    if action not in makers:
        raise usage_error(messages.not_a_group_command(action))
    if len(args) != 2:
        raise usage_error(messages.one_group_name(action))
    return makers[action](parse_group_name(args[1]))


def parse_remind(switch: str) -> Remind:
    if switch.lower() not in ("on", "off"):
        raise UsageError(messages.REMIND_SWITCH)
    return Remind(on=switch.lower() == "on")


def parse_group_name(name: str) -> str:
    if not GROUP_NAME.match(name):
        raise UsageError(messages.GROUP_NAME_RULE)
    return name


def parse_setup(args: list[str]) -> Setup:
    """Parse `key:value` setup options; each is validated here so errors are specific."""
    values: dict[str, object] = {}
    for arg in args:
        key, sep, value = arg.partition(":")
        key = key.lower()
        if not sep or not value:
            raise usage_error(messages.not_key_value(arg))
        if key in values or (key == "close" and "clear_close" in values):
            raise usage_error(messages.given_twice(key))
        if key == "time":
            values["time"] = parse_time(value)
        elif key == "tz":
            values["tz"] = parse_timezone(value)
        elif key == "topics":
            values["topics"] = parse_topics(value)
        elif key == "reveal":
            values["reveal"] = parse_reveal(value)
        elif key == "close":
            if value.lower() in ("none", "off"):
                values["clear_close"] = True
            else:
                values["close"] = parse_time(value)
        elif key == "days":
            values["days"] = parse_days(value)
        elif key == "plan":
            values["plan"] = parse_plan(value)
        elif key == "start":
            values["start"] = parse_start(value)
        else:
            raise usage_error(messages.not_a_setup_option(key))
    if values.get("plan") is StudyPlan.NONE and "start" in values:
        raise UsageError(messages.START_WITHOUT_PLAN)
    return Setup(**values)  # type: ignore[arg-type]


def parse_time(value: str) -> str:
    match = _TIME.match(value.strip())
    if not match:
        raise UsageError(messages.not_a_time(value))
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_timezone(value: str) -> str:
    """A canonical IANA zone name (see bot.core.zones), or a hint at the closest one."""
    try:
        return validate_zone(value)
    except UnknownZone as exc:
        raise UsageError(messages.unknown_zone(exc.name, exc.suggestion)) from exc


def parse_topics(value: str) -> tuple[str, ...]:
    if value.lower() in ("all", "any"):
        return ()
    topics = tuple(dict.fromkeys(t.strip().lower() for t in value.split(",") if t.strip()))
    if not topics:
        raise UsageError(messages.TOPICS_RULE)
    return topics


def parse_reveal(value: str) -> RevealMode:
    try:
        return RevealMode(value.lower().replace("-", "_"))
    except ValueError as exc:
        raise UsageError(messages.REVEAL_RULE) from exc


def parse_days(value: str) -> tuple[int, ...]:
    """`daily`, `weekdays`/`mon-fri`, or a list of days and ranges such as `mon,wed,fri`."""
    text = value.lower()
    if text in ("daily", "every-day", "all"):
        return tuple(range(7))
    if text in ("weekdays", "mon-fri"):
        return tuple(range(5))
    days: set[int] = set()
    for part in text.split(","):
        start, dash, end = part.strip().partition("-")
        first = DAY_SPELLINGS.get(start.strip())
        last = DAY_SPELLINGS.get(end.strip()) if dash else first
        if first is None or last is None:
            raise UsageError(messages.not_days(value))
        if last < first:
            raise UsageError(messages.not_a_day_range(part))
        days.update(range(first, last + 1))
    return tuple(sorted(days))


def parse_confirm(text: str, verb: str) -> bool:
    """Nothing (ask first) or the word `confirm` (go ahead); anything else is refused."""
    if not text:
        return False
    if text.lower() == messages.CONFIRM_WORD:
        return True
    raise usage_error(messages.not_confirm(text, verb))


def parse_forget(text: str) -> Forget:
    """`<member> [confirm]`: the member as `/quiz stats` takes it (a name may have spaces)."""
    who, _, last = text.rpartition(" ")
    if last.lower() != messages.CONFIRM_WORD:
        who, last = text, ""
    if not who.strip():
        raise usage_error(messages.FORGET_WHO)
    return Forget(who.strip(), bool(last))


# --- practice (FSRS spaced repetition) ------------------------------------------------

DEFAULT_GOAL = 8
GOAL_RANGE = range(6, 21)
PRACTICE_COUNT = range(1, 31)
PRACTICE_VERBS = ("practice", "goal")


def parse_practice(verb: str, args: list[str]) -> Goal | Practice | PracticeStop:
    """`goal [N]`, `practice [new] [topic] [count]` (any order) and `practice stop`."""
    if verb == "goal":
        if not args:
            return Goal()
        if len(args) > 1:
            raise usage_error(messages.GOAL_RULE)
        return Goal(parse_goal(args[0]))
    words = [arg.lower() for arg in args]
    if "stop" in words:
        if len(words) > 1:
            raise usage_error(messages.PRACTICE_STOP_ALONE)
        return PracticeStop()
    topic: str | None = None
    count: int | None = None
    restart = False
    for word in words:
        if word == "new":
            if restart:
                raise usage_error(messages.given_twice("new"))
            restart = True
        elif word.isdigit() or word.lstrip("-+").isdigit():
            if count is not None:
                raise usage_error(messages.given_twice("count"))
            count = parse_practice_count(word)
        elif topic is None:
            topic = word
        else:
            raise usage_error(messages.one_practice_topic(word))
    return Practice(topic, count, restart)


def parse_goal(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) not in GOAL_RANGE:
        raise UsageError(messages.not_a_goal(text))
    return int(text)


def parse_practice_count(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) not in PRACTICE_COUNT:
        raise UsageError(messages.not_a_practice_count(text))
    return int(text)


# --- reports and disputes ----------------------------------------------------------------


def parse_report_reason(value: str) -> ReportReason:
    try:
        return ReportReason(value.strip().lower())
    except ValueError as exc:
        raise UsageError(messages.not_a_report_reason(value)) from exc


def parse_report(reason: str | None, text: str = "", drill_id: int | None = None) -> Report:
    """`report [reason] [text]`: a reason of ReportReason, text up to 500 characters."""
    text = text.strip()
    if reason is None or not reason.strip():
        if text:
            raise UsageError(messages.not_a_report_reason(text.split()[0]))
        return Report(drill_id=drill_id)
    if len(text) > messages.REPORT_TEXT_LIMIT:
        raise UsageError(messages.report_text_too_long())
    return Report(parse_report_reason(reason), text, drill_id)


def parse_reports(text: str) -> ShowReports | ResolveReport:
    """`reports`, or `reports resolve ID accept|reject [key:LETTERS] [note]`."""
    words = text.split()
    if not words:
        return ShowReports()
    if words[0].lower() != "resolve" or len(words) < 3:
        raise UsageError(messages.REPORTS_USAGE)
    key: str | None = None
    rest = words[3:]
    if rest and rest[0].lower().startswith("key:"):
        key = rest[0][len("key:") :]
        rest = rest[1:]
    return parse_resolve(words[1], words[2], key, " ".join(rest))


def parse_resolve(report: str, decision: str, key: str | None, note: str) -> ResolveReport:
    text = report.strip().removeprefix("#")
    if not text.isdigit():
        raise UsageError(messages.not_a_report_id(report))
    if decision.strip().lower() not in ("accept", "reject"):
        raise UsageError(messages.not_a_decision(decision))
    accept = decision.strip().lower() == "accept"
    if key is not None and not accept:
        raise UsageError(messages.KEY_ONLY_FOR_WRONG_KEY)
    if len(note.strip()) > messages.REPORT_TEXT_LIMIT:
        raise UsageError(messages.report_text_too_long())
    return ResolveReport(int(text), accept, key.strip().upper() if key else None, note.strip())
