"""`questions check | stats | import`: the bank's maintenance commands for pack authors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.core.bank import DEFAULT_QUESTIONS_DIR, scan_bank
from bot.core.errors import BankErrors
from bot.core.importers import FORMATS, import_questions, write_pack
from bot.core.kinds import registry
from bot.core.models import Difficulty
from bot.core.quality import check_bank

log = logging.getLogger(__name__)


def _shown(path: Path) -> Path:
    """The path relative to the working directory when it is under it, for short messages."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def default_dir() -> Path:
    """The shipped bank, shown relative to the working directory when possible."""
    return _shown(DEFAULT_QUESTIONS_DIR)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="questions", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate packs and run the quality checks")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="pack files or dirs")
    stats = commands.add_parser("stats", help="count questions by topic, kind, difficulty, week")
    stats.add_argument("path", nargs="?", type=Path, metavar="PATH", help="pack file or dir")
    imp = commands.add_parser("import", help="convert questions from another format to a pack")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
    imp.add_argument("--topic", help="topic slug where rows name none (yaml: replaces it)")
    imp.add_argument(
        "--out", type=Path, help="pack to write (default questions/imported-<stem>.yaml)"
    )
    imp.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the process exit code."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command == "check":
        return check(args.paths or [default_dir()])
    if args.command == "stats":
        return stats(args.path or default_dir())
    return import_file(args.file, args.fmt, args.topic, args.out, force=args.force)


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
    if target.exists() and not force:
        print(f"{target} already exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    try:
        questions = import_questions(source, fmt, topic)
        write_pack(questions, target)
    except BankErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"nothing written to {target}", file=sys.stderr)
        return 1
    print(f"wrote {len(questions)} questions to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
