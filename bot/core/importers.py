"""Converts question lists from other tools into validated packs.

Every converted row goes through the same validation as a pack entry, and a bad row is
reported by its line in the source file, so nothing half-converted is ever written.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from bot.core.bank import (
    SLUG,
    Bank,
    dump_pack,
    load_pack,
    pack_paths,
    parse_pack,
    question_from_data,
    read_yaml,
    scan_bank,
)
from bot.core.errors import BankError, BankErrors
from bot.core.grading import normalize
from bot.core.kinds import registry
from bot.core.kinds.base import Imported
from bot.core.models import LETTERS, Difficulty, Question
from bot.core.quality import near_duplicates

log = logging.getLogger(__name__)

FORMATS = ("yaml", "csv", "anki", "red-trivia")
CSV_COLUMNS = frozenset({"prompt", "answer", "choices", "topic", "difficulty"})
RED_SKIPPED_KEYS = frozenset({"AUTHOR", "CONFIG", "DESCRIPTION"})
ANKI_SPECIAL_COLUMNS = frozenset({"guid", "notetype", "deck", "tags"})
ANKI_LEGACY_TAGS_COLUMN = 3
ANKI_SEPARATORS = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
DEFAULT_WHY = "Imported without an explanation."
MAX_ID_LENGTH = 60


@dataclass(frozen=True)
class Row:
    """One source record: its line, its own topic if any, and the pack fields it maps to."""

    line: int
    fields: dict[str, Any]
    topic: str | None = None
    problems: tuple[str, ...] = field(default=())


def import_questions(path: Path, fmt: str, topic: str | None = None) -> list[Question]:
    """Read `path` in format `fmt`; `topic` applies where the source names none."""
    if fmt == "yaml":
        questions = load_pack(path)
        return [dataclasses.replace(q, topic=topic) for q in questions] if topic else questions
    readers: dict[str, Callable[[Path], Iterator[Row]]] = {
        "csv": _csv_rows,
        "anki": _anki_rows,
        "red-trivia": _red_rows,
    }
    if fmt not in readers:
        raise BankErrors([BankError(str(path), None, None, f"unknown format {fmt!r}")])
    default_topic = topic or _slug(path.stem) or "imported"
    if not SLUG.match(default_topic):
        raise BankErrors([BankError(str(path), None, "topic", f"{default_topic!r} is not a slug")])
    try:
        rows = list(readers[fmt](path))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BankErrors([BankError(str(path), None, None, f"cannot read: {exc}")]) from exc
    return _build(path, rows, default_topic)


def _build(path: Path, rows: Sequence[Row], default_topic: str) -> list[Question]:
    """Complete each row into a question, validate it and give it a unique id."""
    errors: list[BankError] = []
    questions: list[Question] = []
    used: set[str] = set()
    for row in rows:
        where = f"line {row.line}"
        errors += [BankError(str(path), None, where, problem) for problem in row.problems]
        if row.problems:
            continue
        topic = row.topic or default_topic
        qid = _unique_id(f"{topic}-{_slug(str(row.fields.get('prompt', '')))}", used)
        data = {
            "id": qid,
            "topic": topic,
            "tags": [topic],
            "difficulty": Difficulty.MEDIUM.value,
            "explanation": f"Imported from {path.name}.",
            "source": f"import:{path.name}",
        } | row.fields
        try:
            questions.append(question_from_data(data, path=str(path), pack="", topic=topic))
        except BankErrors as exc:
            errors += [
                BankError(
                    str(path), qid, where, f"{e.field}: {e.problem}" if e.field else e.problem
                )
                for e in exc.errors
            ]
    if errors:
        raise BankErrors(errors)
    if not questions:
        raise BankErrors([BankError(str(path), None, None, "no questions found")])
    log.info("imported %d questions from %s", len(questions), path)
    return questions


def _slug(text: str) -> str:
    """Leading words of `text` as an id slug, cut at a word boundary."""
    slug = ""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    for word in re.sub(r"[^a-z0-9]+", " ", ascii_text).split():
        candidate = f"{slug}-{word}" if slug else word[:MAX_ID_LENGTH]
        if len(candidate) > MAX_ID_LENGTH:
            break
        slug = candidate
    return slug


def _unique_id(base: str, used: set[str]) -> str:
    base = base.strip("-") or "question"
    qid, number = base, 2
    while qid in used:
        qid, number = f"{base}-{number}", number + 1
    used.add(qid)
    return qid


# --- csv -----------------------------------------------------------------------------


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        missing = sorted({"prompt", "answer"} - columns)
        unknown = sorted(columns - CSV_COLUMNS)
        problems = [f"missing column {name!r}" for name in missing]
        problems += [
            f"unknown column {name!r} (allowed: {', '.join(sorted(CSV_COLUMNS))})"
            for name in unknown
        ]
        if problems:
            yield Row(1, {}, problems=tuple(problems))
            return
        end = reader.line_num
        for record in reader:
            line, end = end + 1, reader.line_num
            yield _csv_row(
                line, {key: (value or "").strip() for key, value in record.items() if key}
            )


def _csv_row(line: int, record: dict[str, str]) -> Row:
    fields: dict[str, Any] = {"prompt": record["prompt"]}
    if record.get("difficulty"):
        fields["difficulty"] = record["difficulty"].lower()
    topic = record.get("topic") or None
    answer = record["answer"]
    options = [option.strip() for option in record.get("choices", "").split("|") if option.strip()]
    if not options:
        answers = tuple(part.strip() for part in answer.split("|") if part.strip())
        return _typed_row(line, fields, answers, topic)
    # Several right options ("A|C") make a select-all question.
    named = [part.strip() for part in answer.split("|")] if "|" in answer else [answer]
    correct = [_correct_index(options, part) for part in named]
    if None in correct:
        letters = LETTERS[: len(options)]
        problem = (
            f"answer {answer!r} is neither a letter {letters[0]}-{letters[-1]} nor a choice's text"
        )
        return Row(line, fields, topic, (problem,))
    right = tuple(sorted({index for index in correct if index is not None}))
    imported = Imported(options=tuple(options), correct=right, why=DEFAULT_WHY)
    return Row(line, fields | registry.import_fields(imported), topic)


def _typed_row(line: int, fields: dict[str, Any], answers: Sequence[str], topic: str | None) -> Row:
    """A record answered in words: the kind that holds typed answers takes it."""
    return Row(line, fields | registry.import_fields(Imported(answers=tuple(answers))), topic)


def _correct_index(options: Sequence[str], answer: str) -> int | None:
    """The correct option named by a letter ("B", "b)") or by its text."""
    letter = answer.strip().strip("().").upper()
    if len(letter) == 1 and letter in LETTERS[: len(options)]:
        return LETTERS.index(letter)
    texts = [normalize(option) for option in options]
    return texts.index(normalize(answer)) if answer and normalize(answer) in texts else None


# --- anki ----------------------------------------------------------------------------


class _Text(HTMLParser):
    """Collects the text of an HTML fragment; line breaks and blocks become spaces."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "div", "p", "li", "tr"}:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(text: str) -> str:
    parser = _Text()
    parser.feed(re.sub(r"\[sound:[^\]]*\]", " ", text))
    parser.close()
    return " ".join("".join(parser.parts).split())


@dataclass
class _AnkiLayout:
    """What an export's `#key:value` header lines say about its columns (1-based)."""

    separator: str = "\t"
    html: bool = False
    columns: tuple[str, ...] = ()
    special: dict[str, int] = field(default_factory=dict)  # guid, notetype, deck, tags

    def read_header(self, key: str, value: str) -> None:
        if key == "separator":
            self.separator = ANKI_SEPARATORS.get(value.lower(), value[:1] or "\t")
        elif key == "html":
            self.html = value.lower() == "true"
        elif key == "columns":
            self.columns = tuple(name.strip().casefold() for name in value.split(self.separator))
        elif (name := key.removesuffix(" column")) in ANKI_SPECIAL_COLUMNS and value.isdigit():
            self.special[name] = int(value)

    def tags_column(self) -> int | None:
        """Where the tags are: as the header says, a column named tags, or (older exports
        with no column headers at all) the third column."""
        if "tags" in self.special:
            return self.special["tags"]
        if "tags" in self.columns:
            return self.columns.index("tags") + 1
        return None if self.special else ANKI_LEGACY_TAGS_COLUMN

    def split(self, cells: Sequence[str]) -> tuple[list[str], str]:
        """The note's fields in order (front, back, ...) and its tags cell."""
        tags = self.tags_column()
        taken = set(self.special.values()) | ({tags} if tags else set())
        fields = [cell for number, cell in enumerate(cells, start=1) if number not in taken]
        return fields, cells[tags - 1] if tags and 0 < tags <= len(cells) else ""


def _anki_rows(path: Path) -> Iterator[Row]:
    """Anki's "Notes in Plain Text" export: `#key:value` headers (separator, html,
    columns, and the guid, notetype, deck and tags columns), then one note per line."""
    layout = _AnkiLayout()
    for line, text in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if text.startswith("#"):
            key, _, value = text[1:].partition(":")
            layout.read_header(key.strip().lower(), value.strip())
            continue
        if not text.strip():
            continue
        cells = next(csv.reader([text], delimiter=layout.separator))
        fields, tags_cell = layout.split(cells)
        if layout.html:
            fields, tags_cell = [strip_html(cell) for cell in fields], strip_html(tags_cell)
        fields = [cell.strip() for cell in fields]
        if len(fields) < 2 or not fields[0] or not fields[1]:
            yield Row(
                line, {}, problems=("expected a front and a back separated by the separator",)
            )
            continue
        row: dict[str, Any] = {"prompt": fields[0]}
        row |= registry.import_fields(Imported(answers=(fields[1],)))
        tags = [_slug(tag.replace("::", " ")) for tag in tags_cell.split()]
        if any(tags):
            row["tags"] = list(dict.fromkeys(tag for tag in tags if tag))
        yield Row(line, row)


# --- Red-DiscordBot trivia -----------------------------------------------------------


def _red_rows(path: Path) -> Iterator[Row]:
    """A Red trivia list: `question: [answers]`, read as plain text so "Yes" stays "Yes"."""
    read_yaml(path)  # syntax errors, reported with their line
    root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    if not isinstance(root, yaml.MappingNode):
        yield Row(1, {}, problems=("expected a mapping of question: [answers]",))
        return
    for key, value in root.value:
        line = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode):
            yield Row(line, {}, problems=("a question must be text",))
            continue
        if key.value in RED_SKIPPED_KEYS:
            continue
        answers = (
            [item.value for item in value.value if isinstance(item, yaml.ScalarNode)]
            if isinstance(value, yaml.SequenceNode)
            else []
        )
        if not answers or len(answers) != len(value.value):
            yield Row(line, {}, problems=(f"{key.value!r}: expected a list of answers",))
            continue
        yield _typed_row(line, {"prompt": key.value}, answers, None)


# --- fitting into the bank ----------------------------------------------------------


def out_path_problem(out_path: Path) -> str | None:
    """Why a pack cannot be written at `out_path`, or None when it can."""
    if out_path.is_dir():
        return "is a directory; give the pack file to write, such as imported.yaml"
    if out_path.suffix != ".yaml":
        return "must end in .yaml, or the bank will not load it"
    if not out_path.parent.is_dir():
        return f"its folder {out_path.parent} does not exist"
    return None


def clashes_with_bank(questions: Sequence[Question], out_path: Path) -> list[BankError]:
    """Ids and near-duplicate prompts that the new pack shares with the packs beside it
    (the bank it joins), so an import never leaves a bank that refuses to load."""
    others = [path for path in pack_paths(out_path.parent) if path.resolve() != out_path.resolve()]
    existing, _ = scan_bank(*others) if others else (Bank.of([]), [])
    pack = out_path.stem
    errors = [
        BankError(
            str(out_path),
            q.id,
            "id",
            f"already used in {existing.path_of(existing.questions[q.id])}",
        )
        for q in questions
        if q.id in existing
    ]
    if errors:
        return errors
    new = [dataclasses.replace(q, pack=pack) for q in questions]
    combined = Bank.of([*existing, *new], {**existing.paths, pack: str(out_path)})
    new_ids = {q.id for q in new}
    return [problem for problem in near_duplicates(combined) if problem.question_id in new_ids]


# --- writing -------------------------------------------------------------------------


def write_pack(questions: Sequence[Question], out_path: Path) -> None:
    """Write a pack only if it loads back unchanged; atomically, so never half-written."""
    if not questions:
        raise BankErrors([BankError(str(out_path), None, None, "no questions to write")])
    expected = [dataclasses.replace(q, pack=out_path.stem) for q in questions]
    text = dump_pack(expected)
    loaded = parse_pack(yaml.load(text, Loader=yaml.SafeLoader), str(out_path), out_path.stem)
    changed = [q.id for q, back in zip(expected, loaded, strict=True) if q != back]
    if changed:
        raise BankErrors(
            [BankError(str(out_path), qid, None, "does not load back unchanged") for qid in changed]
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, out_path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    log.info("wrote %d questions to %s", len(questions), out_path)
