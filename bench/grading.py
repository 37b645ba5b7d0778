"""How far the grader agrees with labelled answers, and how fast it is: `python bench/grading.py`.

The labelled sets live in bench/data/ (written from the prompts alone, see their headers).
tests/test_grading.py runs `measure()` and asserts the accuracy targets; the timings are
only printed here, because they depend on the machine. `--skip open_probe4` leaves a set
out (one kept unseen while tuning: with -v its misses would be listed).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.core.bank import Bank, load_bank  # noqa: E402
from bot.core.errors import InvalidAnswer  # noqa: E402
from bot.core.grading import normalize  # noqa: E402
from bot.core.kinds.registry import grade  # noqa: E402
from bot.core.models import Grade, Kind, Question, Verdict  # noqa: E402

DATA = ROOT / "bench" / "data"
SHORT_LABELS = DATA / "short_labels.yaml"
OPEN_HELDOUT = DATA / "open_heldout.yaml"
# The first held-out set, a fresh one written for questions the first does not cover, and
# probes written after the grader work; open_probe3 was held out until its misses were
# used to tune key points. open_probe4 and open_probe5 (together every open question)
# are kept unseen: measured, never tuned on (see each file's header).
OPEN_SETS = (
    OPEN_HELDOUT,
    DATA / "open_heldout_fresh.yaml",
    DATA / "open_probe.yaml",
    DATA / "open_probe2.yaml",
    DATA / "open_probe3.yaml",
    DATA / "open_probe4.yaml",
    DATA / "open_probe5.yaml",
)
RANK = {Verdict.WRONG: 0, Verdict.PARTIAL: 1, Verdict.GOOD: 2}
# How a member might negate a short answer; every form must be graded wrong.
SHORT_NEGATIONS = ("not {}", "non-{}", "it's not {}", "no {}", "not {}, I think")
_CONTRAST = re.compile(r"(,\s*(?:but|however))\s+", re.IGNORECASE)
# Sentence ends, but not the dot of "e.g." or "i.e." inside a sentence.
_SENTENCE = re.compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.!?])\s+", re.IGNORECASE)

# Targets from issue 10: (name, ceiling or floor, True when higher is better).
TARGETS = {
    "open_agreement": 0.90,
    "open_ordering": 0.97,
    "short_false_accepts": 0.01,
    "short_false_rejects": 0.02,
    "negated_accepted": 0.02,
    "open_negated_accepted": 0.02,
}


@dataclass
class OpenFigures:
    """One labelled open set: verdicts agreeing with the label, and score-ordered pairs."""

    agree: int = 0
    total: int = 0
    pairs_right: int = 0
    pairs_total: int = 0
    disagreements: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass
class Measures:
    """Counts behind each figure, plus the grading time of every answer (nanoseconds)."""

    open_sets: dict[str, OpenFigures] = field(default_factory=dict)
    pack_agree: int = 0
    pack_total: int = 0
    false_accepts: list[tuple[str, str]] = field(default_factory=list)
    wrong_total: int = 0
    false_rejects: list[tuple[str, str]] = field(default_factory=list)
    right_total: int = 0
    negated_accepted: list[tuple[str, str]] = field(default_factory=list)
    negated_total: int = 0
    open_negated_accepted: list[tuple[str, str]] = field(default_factory=list)
    open_negated_total: int = 0
    times_ns: list[int] = field(default_factory=list)
    repeat: int = 1

    def open_set(self, name: str | None = None) -> OpenFigures:
        """The figures of one labelled open set by file stem, or of all of them pooled."""
        if name is not None:
            return self.open_sets[name]
        pooled = OpenFigures()
        for figures in self.open_sets.values():
            pooled.agree += figures.agree
            pooled.total += figures.total
            pooled.pairs_right += figures.pairs_right
            pooled.pairs_total += figures.pairs_total
            pooled.disagreements += figures.disagreements
        return pooled

    def rate(self, name: str, open_set: str | None = None) -> float:
        figures = self.open_set(open_set)
        counts = {
            "open_agreement": (figures.agree, figures.total),
            "open_ordering": (figures.pairs_right, figures.pairs_total),
            "pack_agreement": (self.pack_agree, self.pack_total),
            "short_false_accepts": (len(self.false_accepts), self.wrong_total),
            "short_false_rejects": (len(self.false_rejects), self.right_total),
            "negated_accepted": (len(self.negated_accepted), self.negated_total),
            "open_negated_accepted": (len(self.open_negated_accepted), self.open_negated_total),
        }
        part, whole = counts[name]
        return part / whole if whole else 0.0

    def meets(self, name: str, open_set: str | None = None) -> bool:
        higher_is_better = name in {"open_agreement", "open_ordering"}
        value = self.rate(name, open_set)
        return value >= TARGETS[name] if higher_is_better else value <= TARGETS[name]


def timed(measures: Measures, question: Question, answer: str) -> Grade | None:
    """Grade one answer, recording its time; None when the grader asks to re-answer.

    The time kept is the best of `measures.repeat` runs, as timeit does, so that another
    process taking the CPU for a moment does not count as grading time.
    """
    best = None
    result: Grade | None = None
    for _ in range(measures.repeat):
        start = time.perf_counter_ns()
        try:
            result = grade(question, answer)
        except InvalidAnswer:
            result = None
        elapsed = time.perf_counter_ns() - start
        best = elapsed if best is None else min(best, elapsed)
    measures.times_ns.append(best or 0)
    return result


def negated_sentences(answer: str) -> str:
    """Every sentence of an answer prefixed with "It is not true that", and every ", but"
    contrast inside one too: "It is not true that X, but Y" still asserts Y."""
    out = []
    for sentence in _SENTENCE.split(answer.strip()):
        sentence = _CONTRAST.sub(r"\1 it is not true that ", sentence)
        opener, _, rest = sentence.partition(" ")
        if opener.lower().strip(",") in {"but", "and", "so", "however", "then"} and rest:
            out.append(f"{opener} it is not true that {rest}")
        elif sentence:
            out.append(f"It is not true that {sentence[0].lower()}{sentence[1:]}")
    return " ".join(out)


def load_labels(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def measure_short(bank: Bank, measures: Measures) -> None:
    for qid, labels in load_labels(SHORT_LABELS).items():
        question = bank.questions[qid]
        for answer in labels["right"]:
            measures.right_total += 1
            result = timed(measures, question, answer)
            if result is None or not result.correct:
                measures.false_rejects.append((qid, answer))
        for answer in labels["wrong"]:
            measures.wrong_total += 1
            result = timed(measures, question, answer)
            if result is not None and result.correct:
                measures.false_accepts.append((qid, answer))
        for phrase in (*question.answers, *labels["right"]):
            for form in SHORT_NEGATIONS:
                negated = form.format(phrase.rstrip("."))
                measures.negated_total += 1
                result = timed(measures, question, negated)
                if result is not None and result.correct:
                    measures.negated_accepted.append((qid, negated))


def cross_accepts(bank: Bank) -> tuple[int, int]:
    """Every short question's accepted answers graded against every other short question
    (skipping a term both accept): (accepted, tried). Each acceptance is a wrong concept."""
    shorts = [q for q in bank.questions.values() if q.kind is Kind.SHORT]
    accepted = tried = 0
    for source in shorts:
        for target in shorts:
            shared = {normalize(phrase) for phrase in target.answers}
            for answer in source.answers if source is not target else ():
                if normalize(answer) not in shared:
                    tried += 1
                    accepted += grade(target, answer).correct
    return accepted, tried


def _open_answers(bank: Bank, path: Path) -> Iterator[tuple[Question, Verdict, str]]:
    for qid, rows in load_labels(path)["answers"].items():
        for label, answer in rows:
            yield bank.questions[qid], Verdict(label), answer


def measure_open_set(bank: Bank, measures: Measures, path: Path) -> None:
    """Grade one labelled open set into `measures.open_sets[path.stem]`."""
    figures = measures.open_sets.setdefault(path.stem, OpenFigures())
    scored: dict[str, list[tuple[Verdict, float]]] = {}
    for question, label, answer in _open_answers(bank, path):
        result = timed(measures, question, answer)
        verdict = result.verdict if result else Verdict.WRONG
        figures.total += 1
        if verdict is label:
            figures.agree += 1
        else:
            figures.disagreements.append((question.id, label.value, verdict.value, answer))
        scored.setdefault(question.id, []).append((label, result.score if result else 0.0))
        if label is Verdict.GOOD:
            measures.open_negated_total += 1
            negated = timed(measures, question, negated_sentences(answer))
            if negated is not None and negated.verdict is not Verdict.WRONG:
                measures.open_negated_accepted.append((question.id, negated_sentences(answer)))
    for rows in scored.values():
        for better_label, better in rows:
            for worse_label, worse in rows:
                if RANK[better_label] > RANK[worse_label]:
                    figures.pairs_total += 1
                    figures.pairs_right += better > worse


def measure_open(bank: Bank, measures: Measures, sets: Sequence[Path] = OPEN_SETS) -> None:
    for path in sets:
        measure_open_set(bank, measures, path)
    for question in bank.questions.values():
        if question.kind is not Kind.OPEN:
            continue
        for example in question.examples:
            result = timed(measures, question, example.answer)
            measures.pack_total += 1
            measures.pack_agree += result is not None and result.verdict is example.label
            if example.label is Verdict.GOOD:
                measures.open_negated_total += 1
                negated = timed(measures, question, negated_sentences(example.answer))
                if negated is not None and negated.verdict is not Verdict.WRONG:
                    text = negated_sentences(example.answer)
                    measures.open_negated_accepted.append((question.id, text))


def measure(
    bank: Bank | None = None, repeat: int = 1, sets: Sequence[Path] = OPEN_SETS
) -> Measures:
    """Grade every labelled answer (after one warm-up pass) and count the outcomes."""
    bank = bank or load_bank()
    measure_short(bank, Measures())  # warm caches so the timings are steady-state
    measure_open(bank, Measures(), sets)
    measures = Measures(repeat=repeat)
    measure_short(bank, measures)
    measure_open(bank, measures, sets)
    return measures


def main(show: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bank", type=Path, help="questions directory (default: the repo's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    parser.add_argument("--repeat", type=int, default=5, help="runs per answer, best kept")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="SET",
        help="leave out a labelled open set by file stem (a held-out set kept unseen)",
    )
    args = parser.parse_args()
    sets = [path for path in OPEN_SETS if path.stem not in args.skip]
    bank = load_bank(args.bank) if args.bank else None
    measures = measure(bank, repeat=max(1, args.repeat), sets=sets)
    show(f"grading against bench/data (issue 10 targets), bank {args.bank or 'questions/'}")
    for path in sets:
        figures = measures.open_set(path.stem)
        show(f"  {path.name}: {figures.total} answers, {figures.pairs_total} ordered pairs")
        for title, name in (
            ("open exact agreement", "open_agreement"),
            ("open ordering right > partly > wrong", "open_ordering"),
        ):
            verdict = "ok" if measures.meets(name, path.stem) else "MISSED"
            rate = measures.rate(name, path.stem)
            show(f"    {title:<38} {rate:7.1%}   target >= {TARGETS[name]:.0%}  {verdict}")
    rows = [
        ("open exact agreement (all sets)", "open_agreement", ">="),
        ("open ordering (all sets)", "open_ordering", ">="),
        ("short false accepts", "short_false_accepts", "<="),
        ("short false rejects", "short_false_rejects", "<="),
        ("short negated forms accepted", "negated_accepted", "<="),
        ("open answers denied sentence by sentence", "open_negated_accepted", "<="),
    ]
    for title, name, sign in rows:
        verdict = "ok" if measures.meets(name) else "MISSED"
        target = f"{sign} {TARGETS[name]:.0%}"
        show(f"  {title:<40} {measures.rate(name):7.1%}   target {target}  {verdict}")
    show(f"  {'pack open examples graded as labelled':<40} {measures.rate('pack_agreement'):7.1%}")
    crossed, tried = cross_accepts(load_bank(args.bank) if args.bank else load_bank())
    show(f"  {'short: other questions answers accepted':<40} {crossed:>7} of {tried}")
    show(
        f"  counts: open {measures.open_set().total}, pairs {measures.open_set().pairs_total}, "
        f"short right "
        f"{measures.right_total}, short wrong {measures.wrong_total}, short negated "
        f"{measures.negated_total}, open negated {measures.open_negated_total}"
    )
    times = sorted(measures.times_ns)
    p99 = times[int(0.99 * (len(times) - 1))]
    show(
        f"  grading time per answer over {len(times)} answers (best of {measures.repeat}): mean "
        f"{statistics.fmean(times) / 1e6:.3f} ms, p99 {p99 / 1e6:.3f} ms, "
        f"max {times[-1] / 1e6:.3f} ms (target < 5 ms)"
    )
    if args.verbose:
        for path in sets:
            for qid, label, verdict, answer in measures.open_set(path.stem).disagreements:
                show(f"  OPEN {path.stem} {qid}: labelled {label}, graded {verdict}: {answer}")
        for qid, answer in measures.false_accepts:
            show(f"  FALSE ACCEPT {qid}: {answer}")
        for qid, answer in measures.false_rejects:
            show(f"  FALSE REJECT {qid}: {answer}")
        for qid, answer in [*measures.negated_accepted, *measures.open_negated_accepted]:
            show(f"  NEGATED ACCEPTED {qid}: {answer}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
