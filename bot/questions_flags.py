"""`questions flags`: the questions to review, from how members answered them.

Reads the DATABASE_URL database read-only (bot/storage/answer_stats.py) and the bank
(PATH, default QUESTIONS_DIR); the rules are bot/core/flags.py. With `--calibrate` it
proposes difficulties instead, and `--write` edits those `difficulty:` lines in place.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.config import database_url_from_env
from bot.core import flags
from bot.core.bank import Bank, scan_bank
from bot.core.errors import BankErrors
from bot.core.flags import Bands, Calibration, Finding, Flag, Review, Tally, Thresholds
from bot.core.kinds import registry
from bot.core.kinds.lettered import Lettered
from bot.core.models import Difficulty
from bot.core.pack_edit import rewrite_difficulties
from bot.storage.answer_stats import open_stats

COLUMNS = ("question", "topic", "kind", "answers", "correct", "flags")


def share(text: str) -> float:
    """A share as `0.95` or `95%`."""
    value = text.strip()
    try:
        number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share such as 0.95 or 95%") from None
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 1 (0% and 100%)")
    return number


def count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _help_pct(value: float) -> str:
    """A percentage in an argparse help string, where a bare % starts a format."""
    return f"{value:.0%}".replace("%", "%%")


def add_command(commands: Any, dir_help: str) -> None:
    """The `flags` subcommand on the `questions` subparsers."""
    parser = commands.add_parser(
        "flags",
        help="list questions to review from how members answered them",
        description="List the questions to review, from the answers in the DATABASE_URL "
        "database (read-only): too easy, too hard, a distractor picked more often than the "
        "key, a choice nobody picks, open reports. Most severe first.",
        epilog="Counted: daily-drill answers and practice answers to new questions; "
        "'correct' is a good verdict (partial is not). With --calibrate: share correct "
        f">= {flags.EASY_FROM:.0%} is easy, <= {flags.HARD_UP_TO:.0%} is hard, else medium.",
    )
    parser.add_argument(
        "path", nargs="?", type=Path, metavar="PATH", help=f"a pack or directory ({dir_help})"
    )
    parser.add_argument(
        "--too-easy",
        type=share,
        default=flags.TOO_EASY,
        metavar="SHARE",
        help=f"flag a share correct above this (default {_help_pct(flags.TOO_EASY)})",
    )
    parser.add_argument(
        "--too-hard",
        type=share,
        default=flags.TOO_HARD,
        metavar="SHARE",
        help=f"flag a share correct below this (default {_help_pct(flags.TOO_HARD)})",
    )
    parser.add_argument(
        "--min-answers",
        type=count,
        default=flags.MIN_ANSWERS,
        metavar="N",
        help=f"judge answers only from N answers on (default {flags.MIN_ANSWERS})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="propose a difficulty per question from its share correct",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="with --calibrate: rewrite the proposed difficulty lines in the pack files",
    )


def _percent(tally: Tally) -> str:
    return "-" if tally.share is None else f"{tally.share:.0%}"


def describe(finding: Finding, tally: Tally, thresholds: Thresholds) -> str:
    """One flag in a few words, with the figures behind it."""
    if finding.flag is Flag.REPORTED:
        return f"reported: {finding.reason} x{finding.count}"
    if finding.flag is Flag.DISTRACTOR:
        return f"distractor {finding.choice} picked {finding.picks} > key {finding.key_picks}"
    if finding.flag is Flag.UNPICKED:
        return f"unpicked choice {finding.choice}"
    if finding.flag is Flag.TOO_HARD:
        return f"too hard (< {thresholds.too_hard:.0%})"
    return f"too easy (> {thresholds.too_easy:.0%})"


def _table(rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    last = len(widths) - 1
    return [
        "  ".join(
            cell if i == last else cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def review_all(
    bank: Bank,
    tallies: Mapping[str, Tally],
    counts: Mapping[str, Sequence[Any]],
    reports: Mapping[str, Mapping[str, int]],
    thresholds: Thresholds,
) -> list[Review]:
    ids = sorted((set(tallies) | set(reports)) & set(bank.questions))
    return flags.by_severity(
        [
            flags.review(
                bank.questions[qid],
                tallies.get(qid, Tally(qid, 0, 0)),
                counts.get(qid, ()),
                reports.get(qid),
                thresholds,
            )
            for qid in ids
        ]
    )


def _review_json(item: Review) -> dict[str, Any]:
    return {
        "id": item.question.id,
        "topic": item.question.topic,
        "kind": item.question.kind.value,
        "difficulty": item.question.difficulty.value,
        "answers": item.tally.answers,
        "correct": item.tally.correct,
        "share_correct": item.tally.share,
        "flags": [
            {"flag": f.flag.value}
            | ({"letter": f.choice} if f.choice else {})
            | ({"picks": f.picks, "key_picks": f.key_picks} if f.flag is Flag.DISTRACTOR else {})
            | ({"reason": f.reason, "count": f.count} if f.flag is Flag.REPORTED else {})
            for f in item.findings
        ],
        "picks": {pick.label: pick.count for pick in item.picks},
        "open_reports": dict(item.reports),
    }


def print_flags(
    reviews: Sequence[Review], answered: int, outside: int, thresholds: Thresholds, as_json: bool
) -> None:
    if as_json:
        doc = {
            "thresholds": {
                "too_easy": thresholds.too_easy,
                "too_hard": thresholds.too_hard,
                "min_answers": thresholds.min_answers,
            },
            "answered_questions": answered,
            "not_in_bank": outside,
            "flagged": [_review_json(item) for item in reviews],
        }
        print(json.dumps(doc, indent=2))
        return
    if reviews:
        rows = [list(COLUMNS)]
        rows += [
            [
                item.question.id,
                item.question.topic,
                item.question.kind.value,
                str(item.tally.answers),
                _percent(item.tally),
                "; ".join(describe(f, item.tally, thresholds) for f in item.findings),
            ]
            for item in reviews
        ]
        print("\n".join(_table(rows, right={3, 4})))
        print()
    print(
        f"{len(reviews)} flagged of {answered} answered questions "
        f"(share rules from {thresholds.min_answers} answers)"
    )
    if outside:
        print(f"{outside} answered or reported questions are not in the bank: left out")


def calibrations(bank: Bank, tallies: Mapping[str, Tally], bands: Bands) -> list[Calibration]:
    found = [
        calibration
        for qid, tally in tallies.items()
        if (question := bank.get(qid)) and (calibration := flags.calibrate(question, tally, bands))
    ]
    return sorted(found, key=lambda c: (not c.changes, c.question.id))


def write_calibrations(bank: Bank, found: Sequence[Calibration], lines: list[str]) -> list[str]:
    """Rewrite each changed difficulty in its pack, adding to `lines` what changed as
    each pack is written (so a failure on a later pack still tells what was written)."""
    by_path: dict[str, dict[str, Difficulty]] = defaultdict(dict)
    for item in found:
        if item.changes:
            by_path[bank.path_of(item.question)][item.question.id] = item.proposed
    for path, changes in sorted(by_path.items()):
        rewrite_difficulties(Path(path), changes)
        lines += [
            f"{path}: {qid}: difficulty {bank.questions[qid].difficulty.value} -> {level.value}"
            for qid, level in sorted(changes.items())
        ]
    return lines


def print_calibrations(found: Sequence[Calibration], written: Sequence[str] | None) -> None:
    rows = [["question", "topic", "kind", "answers", "correct", "difficulty", "proposed"]]
    rows += [
        [
            c.question.id,
            c.question.topic,
            c.question.kind.value,
            str(c.tally.answers),
            _percent(c.tally),
            c.question.difficulty.value,
            c.proposed.value if c.changes else "=",
        ]
        for c in found
    ]
    if found:
        print("\n".join(_table(rows, right={3, 4})))
        print()
    changing = sum(c.changes for c in found)
    print(f"{changing} of {len(found)} calibrated questions would change difficulty")
    if written is not None:
        print("\n".join(written) if written else "nothing to write")
    elif changing:
        print("pass --write to rewrite them in their pack files")


def _calibration_json(found: Sequence[Calibration], written: Sequence[str] | None) -> str:
    doc: dict[str, Any] = {
        "bands": {"easy_from": flags.EASY_FROM, "hard_up_to": flags.HARD_UP_TO},
        "calibrated": [
            {
                "id": c.question.id,
                "topic": c.question.topic,
                "kind": c.question.kind.value,
                "answers": c.tally.answers,
                "correct": c.tally.correct,
                "share_correct": c.tally.share,
                "difficulty": c.question.difficulty.value,
                "proposed": c.proposed.value,
                "changes": c.changes,
            }
            for c in found
        ],
    }
    if written is not None:
        doc["written"] = list(written)
    return json.dumps(doc, indent=2)


def run(args: argparse.Namespace, bank_path: Path) -> int:
    """The flags command; bad settings and databases are one line on stderr and exit 2
    (ConfigError, BadDatabaseUrl, DatabaseUnavailable are the caller's to print)."""
    if args.write and not args.calibrate:
        print("--write only goes with --calibrate", file=sys.stderr)
        return 2
    if args.too_hard >= args.too_easy:
        print("--too-hard must be below --too-easy", file=sys.stderr)
        return 2
    url = database_url_from_env()
    bank, problems = scan_bank(bank_path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.write and problems:
        print("nothing written: fix the bank first (`questions check`)", file=sys.stderr)
        return 1
    lettered = [q.id for q in bank if isinstance(registry.of(q), Lettered)]
    with open_stats(url) as stats:
        tallies = stats.tallies()
        counts = stats.answer_counts(lettered)
        reports = stats.open_reports() or {}
    if not tallies and not any(reports.values()):
        print("no answers recorded in the database yet: nothing to review")
        return 0
    if args.calibrate:
        found = calibrations(bank, tallies, Bands(min_answers=args.min_answers))
        written: list[str] | None = [] if args.write else None
        try:
            if written is not None:
                write_calibrations(bank, found, written)
        except (BankErrors, OSError) as exc:
            for line in written or []:
                print(line)
            print(f"nothing more written: {exc}", file=sys.stderr)
            return 1
        if args.json:
            print(_calibration_json(found, written))
        else:
            print_calibrations(found, written)
        return 0
    thresholds = Thresholds(args.too_easy, args.too_hard, args.min_answers)
    reviews = review_all(bank, tallies, counts, reports, thresholds)
    everything = set(tallies) | {qid for qid, by in reports.items() if by}
    answered = len(set(tallies) & set(bank.questions))
    print_flags(reviews, answered, len(everything - set(bank.questions)), thresholds, args.json)
    return 0
