"""`questions check | stats | import | flags`: the bank's maintenance commands for pack
authors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot import questions_flags
from bot.config import ConfigError, questions_dir_from_env
from bot.core import messages
from bot.core.bank import scan_bank
from bot.core.errors import BankErrors
from bot.core.importers import (
    FORMATS,
    clashes_with_bank,
    import_questions,
    out_path_problem,
    write_pack,
)
from bot.core.kinds import registry
from bot.core.models import Difficulty
from bot.core.quality import check_bank
from bot.storage.sqlite import DatabaseUnavailable

log = logging.getLogger(__name__)


def _shown(path: Path) -> Path:
    """The path relative to the working directory when it is under it, for short messages."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def default_dir() -> Path:
    """QUESTIONS_DIR, else the shipped bank; shown relative to the working directory when
    possible. ConfigError when QUESTIONS_DIR is not a directory."""
    return _shown(questions_dir_from_env())


class NotAPack(Exception):
    """A PATH argument is a file that is not a .yaml pack."""


def _packs_or_dirs(paths: Sequence[Path]) -> list[Path]:
    """The paths, unless one is a file other than a .yaml pack: that one is refused by name
    instead of being parsed and echoed back (`check /etc/passwd`)."""
    for path in paths:
        if path.is_file() and path.suffix not in (".yaml", ".yml"):
            raise NotAPack(messages.not_a_pack(str(path)))
    return list(paths)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


DEFAULT_DIR_HELP = "default: $QUESTIONS_DIR, else the shipped questions/ directory"


def add_commands(parser: argparse.ArgumentParser) -> None:
    """The check, stats and import subcommands, on this parser or `python -m bot questions`."""
    commands = parser.add_subparsers(dest="questions_command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate packs and run the quality checks",
        description="Validate question packs and run the quality checks; exit 1 on problems.",
    )
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help=f"pack files or directories to check ({DEFAULT_DIR_HELP})",
    )
    stats = commands.add_parser(
        "stats",
        help="count questions by topic, kind, difficulty and week",
        description="Count the questions by topic, kind, difficulty and week.",
    )
    stats.add_argument(
        "path",
        nargs="?",
        type=Path,
        metavar="PATH",
        help=f"a pack file or directory ({DEFAULT_DIR_HELP})",
    )
    imp = commands.add_parser(
        "import",
        help="convert questions from another format to a pack",
        description="Convert a file of questions (Anki, CSV, Red trivia, YAML) into a "
        "validated pack; nothing is written when any row is invalid.",
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="the file to convert")
    imp.add_argument(
        "--format", required=True, choices=FORMATS, dest="fmt", help="the format of FILE"
    )
    imp.add_argument("--topic", help="topic slug where rows name none (yaml: replaces it)")
    imp.add_argument(
        "--out",
        type=Path,
        help="the pack to write (default: imported-<stem>.yaml in the questions directory)",
    )
    imp.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    questions_flags.add_command(commands, DEFAULT_DIR_HELP)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="questions", description=__doc__)
    add_commands(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the parsed subcommand; a bad QUESTIONS_DIR or PATH is one line on stderr, exit 2."""
    try:
        if args.questions_command == "check":
            return check(_packs_or_dirs(args.paths) or [default_dir()])
        if args.questions_command == "stats":
            return stats((_packs_or_dirs([args.path]) if args.path else [default_dir()])[0])
        if args.questions_command == "flags":
            bank = (_packs_or_dirs([args.path]) if args.path else [default_dir()])[0]
            return questions_flags.run(args, bank)
        return import_file(args.file, args.fmt, args.topic, args.out, force=args.force)
    except (ConfigError, NotAPack) as exc:
        print(exc, file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(messages.database_unreadable(exc.path, exc.reason), file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the process exit code."""
    return run(_parser().parse_args(list(sys.argv[1:] if argv is None else argv)))


def check(paths: Sequence[Path]) -> int:
    """Print every problem on its own line, then a summary; 1 when anything is wrong."""
    bank, problems = scan_bank(*paths)
    problems += check_bank(bank)
    for problem in problems:
        print(problem)
    packs = len(bank.paths)
    if problems:
        print(
            f"FAILED: {_count(len(problems), 'problem')}; "
            f"{_count(len(bank), 'valid question')} in {_count(packs, 'pack')}"
        )
        return 1
    if not packs:
        print(f"FAILED: no *.yaml packs in {', '.join(map(str, paths))}")
        return 1
    print(f"OK: {_count(len(bank), 'question')} in {_count(packs, 'pack')}")
    return 0


def _table(title: str, counts: Counter[str], order: Iterable[str], total: int) -> list[str]:
    rows = [(str(key), counts[key]) for key in order if counts[key]]
    width = max([len(title), *(len(key) for key, _ in rows)])
    lines = [f"{title:<{width}}  {'count':>5}  {'share':>5}"]
    lines += [f"{key:<{width}}  {count:>5}  {count / total:>5.0%}" for key, count in rows]
    return [*lines, ""]


def stats(path: Path) -> int:
    """Print question counts by topic, kind, difficulty and week."""
    bank, problems = scan_bank(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not len(bank):
        print(f"no questions loaded from {path}")
        return 1
    total = len(bank)
    topics = Counter(question.topic for question in bank)
    kinds = Counter(question.kind.value for question in bank)
    levels = Counter(question.difficulty.value for question in bank)
    weeks = Counter(str(question.week) if question.week else "-" for question in bank)
    lines = _table("topic", topics, sorted(topics), total)
    lines += _table("kind", kinds, registry.names(), total)
    lines += _table("difficulty", levels, [level.value for level in Difficulty], total)
    lines += _table("week", weeks, ["1", "2", "3", "4", "-"], total)
    mix = ", ".join(f"{kind} {kinds[kind] / total:.0%}" for kind in registry.names())
    lines.append(
        f"total: {_count(total, 'question')} in {_count(len(bank.paths), 'pack')}, "
        f"{_count(len(topics), 'topic')}"
    )
    lines.append(f"kinds: {mix}")
    print("\n".join(lines))
    return 1 if problems else 0


def import_file(source: Path, fmt: str, topic: str | None, out: Path | None, *, force: bool) -> int:
    """Convert a file into a validated pack; never overwrites unless forced."""
    target = out or default_dir() / f"imported-{source.stem}.yaml"
    if problem := out_path_problem(target):
        print(f"--out {target}: {problem}", file=sys.stderr)
        return 2
    if target.exists() and not force:
        print(f"{target} already exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    try:
        questions = import_questions(source, fmt, topic)
        if clashes := clashes_with_bank(questions, target):
            raise BankErrors(clashes)
        write_pack(questions, target)
    except BankErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"nothing written to {target}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"--out {target}: cannot write it ({exc.strerror or exc})", file=sys.stderr)
        return 2
    print(f"wrote {len(questions)} questions to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
