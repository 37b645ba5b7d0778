"""Loads and validates the question bank (the contract is docs/question-format.md).

Every problem in a pack is collected and raised together, so an author fixes a file in
one pass instead of one error at a time.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from rapidfuzz import fuzz, process

from bot.core.errors import BankError, BankErrors
from bot.core.kinds import registry
from bot.core.models import Difficulty, Kind, Question, Verdict

log = logging.getLogger(__name__)

# The bank ships inside the package as bot/_bank: real files in a wheel, a link to the
# top-level questions/ in a checkout (resolved, so messages name questions/...).
DEFAULT_QUESTIONS_DIR = Path(str(resources.files("bot") / "_bank")).resolve()

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SOURCE = re.compile(
    r"^(seed:(interview-questions|navigating-the-maze)|topic:[a-z0-9]+(-[a-z0-9]+)*|import:.+)$"
)

COMMON_FIELDS = frozenset(
    {"id", "topic", "tags", "difficulty", "week", "kind", "prompt", "explanation", "source"}
)
WEEKS = range(1, 5)

E = TypeVar("E", Kind, Difficulty, Verdict)


class _Loader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """A safe loader (libyaml's when present: several times faster on the whole bank)
    that rejects duplicate keys, which PyYAML would silently overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> str:
        """Dates stay the text the author wrote: `2017-02-30` is not a date, and no field
        of a pack is a date, so an answer or prompt that looks like one is text."""
        return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file; syntax errors become a BankError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BankErrors(
            [BankError(str(path), None, None, f"cannot read the file: {exc}")]
        ) from exc
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise BankErrors([BankError(str(path), None, where, f"invalid YAML: {detail}")]) from exc


def _describe(value: Any) -> str:
    """Name what YAML produced, with a hint for its surprising conversions."""
    if isinstance(value, bool):
        word = "true" if value else "false"
        return (
            f"the boolean {word} (YAML reads unquoted yes/no/on/off/true/false as booleans;"
            " put the text in quotes)"
        )
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r} (put it in quotes)"


class _Reader:
    """Reads typed fields of one YAML mapping, recording problems instead of raising."""

    def __init__(
        self, errors: list[BankError], path: str, qid: str | None, data: dict[Any, Any], at: str
    ) -> None:
        self.errors = errors
        self.path = path
        self.qid = qid
        self.data = data
        self.at = at

    def name(self, key: str) -> str:
        return f"{self.at}.{key}" if self.at else key

    def problem(self, key: str | None, problem: str) -> None:
        self.errors.append(
            BankError(self.path, self.qid, self.name(key) if key else self.at, problem)
        )

    def unknown(self, allowed: Iterable[str], what: str) -> None:
        for key in self.data:
            if key not in allowed:
                shown = key if isinstance(key, str) else repr(key)
                near = process.extractOne(
                    shown, sorted(allowed), scorer=fuzz.ratio, score_cutoff=70
                )
                hint = (
                    f"did you mean {near[0]!r}?"
                    if near
                    else f"allowed: {', '.join(sorted(allowed))}"
                )
                self.problem(shown, f"unknown field for {what} ({hint})")

    def text(self, key: str, *, required: bool = True) -> str:
        if key not in self.data:
            if required:
                self.problem(key, "missing")
            return ""
        value = self.data[key]
        if not isinstance(value, str):
            self.problem(key, f"expected text, got {_describe(value)}")
            return ""
        if not value.strip():
            self.problem(key, "must not be empty")
        return value.strip()

    def number(self, key: str, *, required: bool = True) -> float | None:
        if key not in self.data:
            if required:
                self.problem(key, "missing")
            return None
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = ""
            if isinstance(value, str) and re.fullmatch(r"[-+]?\d+[eE][-+]?\d+", value.strip()):
                hint = " (YAML needs a dot in scientific notation: write 1.0e-3, not 1e-3)"
            self.problem(key, f"expected a number, got {_describe(value)}{hint}")
            return None
        if not math.isfinite(value):
            self.problem(key, f"expected a finite number, got {value!r}")
            return None
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, got {_describe(value)}")
            return False
        return value

    def texts(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        """A list of non-empty strings; `required` also means at least one."""
        if key not in self.data:
            if required:
                self.problem(key, "missing")
            return ()
        value = self.data[key]
        if not isinstance(value, list):
            self.problem(key, f"expected a list of text, got {_describe(value)}")
            return ()
        if required and not value:
            self.problem(key, "must list at least one entry")
        items: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.problem(f"{key}[{index}]", f"expected text, got {_describe(item)}")
            elif not item.strip():
                self.problem(f"{key}[{index}]", "must not be empty")
            else:
                items.append(item.strip())
        return tuple(items)

    def mappings(self, key: str, *, required: bool = True) -> list[tuple[str, dict[Any, Any]]]:
        """A list of mappings, each paired with its field name (`choices[2]`)."""
        if key not in self.data:
            if required:
                self.problem(key, "missing")
            return []
        value = self.data[key]
        if not isinstance(value, list):
            self.problem(key, f"expected a list, got {_describe(value)}")
            return []
        found = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                found.append((f"{key}[{index}]", item))
            else:
                self.problem(f"{key}[{index}]", f"expected a mapping, got {_describe(item)}")
        return found

    def child(self, at: str, data: dict[Any, Any]) -> _Reader:
        return _Reader(self.errors, self.path, self.qid, data, self.name(at))

    def enum(self, key: str, enum: type[E]) -> E | None:
        return _enum(self, key, enum)


def load_pack(path: Path) -> list[Question]:
    """Parse and validate one pack; raises BankErrors listing every problem found."""
    questions = parse_pack(read_yaml(path), str(path), path.stem)
    log.debug("loaded %d questions from %s", len(questions), path)
    return questions


def parse_pack(data: Any, path: str, pack: str) -> list[Question]:
    """Validate a pack already read from YAML; `path` is only used in messages."""
    questions, errors = _parse_pack(data, path, pack)
    if errors:
        raise BankErrors(errors)
    return questions


def _parse_pack(data: Any, path: str, pack: str) -> tuple[list[Question], list[BankError]]:
    """The pack's valid questions and the problems with the rest."""
    errors: list[BankError] = []
    if not isinstance(data, dict):
        return [], [BankError(path, None, None, f"expected a mapping, got {_describe(data)}")]
    fields = _Reader(errors, path, None, data, "")
    fields.unknown({"topic", "questions"}, "a pack")
    topic = fields.text("topic")
    if topic and not SLUG.match(topic):
        fields.problem("topic", f"{topic!r} is not a slug (lowercase letters, digits, hyphens)")
    entries = fields.mappings("questions")
    if "questions" in data and not entries and not errors:
        fields.problem("questions", "a pack needs at least one question")
    questions: list[Question] = []
    seen: dict[str, str] = {}
    for at, entry in entries:
        question = _question(errors, path, pack, topic, at, entry)
        if question is None:
            continue
        if question.id in seen:
            errors.append(
                BankError(path, question.id, "id", f"duplicate id (also {seen[question.id]})")
            )
            continue
        seen[question.id] = at
        questions.append(question)
    return questions, errors


def question_from_data(data: Mapping[str, Any], *, path: str, pack: str, topic: str) -> Question:
    """Validate one question mapping exactly as a pack entry; raises BankErrors."""
    errors: list[BankError] = []
    question = _question(errors, path, pack, topic, "", dict(data))
    if question is None:
        raise BankErrors(errors)
    return question


def question_to_data(question: Question, topic: str) -> dict[str, Any]:
    """The pack entry for a question (inverse of loading), fields in the documented order."""
    data: dict[str, Any] = {"id": question.id}
    if question.topic != topic:
        data["topic"] = question.topic
    data["tags"] = list(question.tags)
    data["difficulty"] = question.difficulty.value
    if question.week is not None:
        data["week"] = question.week
    data |= {
        "kind": question.kind.value,
        "prompt": question.prompt,
        "explanation": question.explanation,
        "source": question.source,
    }
    return data | registry.of(question).to_data(question)


def dump_pack(questions: Sequence[Question]) -> str:
    """YAML text of a pack; its topic is the one most of the questions share."""
    topic = Counter(question.topic for question in questions).most_common(1)[0][0]
    data = {"topic": topic, "questions": [question_to_data(q, topic) for q in questions]}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _question(
    errors: list[BankError], path: str, pack: str, topic: str, at: str, data: dict[Any, Any]
) -> Question | None:
    """Validate one question mapping; returns None when anything is wrong with it."""
    before = len(errors)
    raw_id = data.get("id")
    qid = raw_id.strip() if isinstance(raw_id, str) and raw_id.strip() else at
    fields = _Reader(errors, path, qid, data, "")
    if "id" not in data:
        fields.problem("id", "missing")
    elif not isinstance(raw_id, str):
        fields.problem("id", f"expected text, got {_describe(raw_id)}")
    elif not SLUG.match(raw_id.strip()):
        fields.problem("id", "must be a slug of lowercase letters, digits and single hyphens")

    kind = _enum(fields, "kind", Kind)
    difficulty = _enum(fields, "difficulty", Difficulty)
    allowed = COMMON_FIELDS | (registry.get(kind).fields if kind else registry.ALL_FIELDS)
    fields.unknown(allowed, f"a {kind} question" if kind else "a question")

    own_topic = fields.text("topic", required=False) or topic
    if "topic" in data and own_topic and not SLUG.match(own_topic):
        fields.problem("topic", f"{own_topic!r} is not a slug (lowercase letters, digits, hyphens)")
    tags = fields.texts("tags")
    for index, tag in enumerate(tags):
        if tag != tag.lower():
            fields.problem(f"tags[{index}]", f"tags are lowercase ({tag!r})")
    if len(set(tags)) != len(tags):
        fields.problem("tags", "lists a tag twice")
    prompt = fields.text("prompt")
    explanation = fields.text("explanation")
    source = fields.text("source")
    if source and not SOURCE.match(source):
        fields.problem(
            "source",
            f"{source!r} is not seed:interview-questions, seed:navigating-the-maze,"
            " topic:<slug> or import:<file>",
        )
    week = _week(fields, required=not source.startswith("import:"))

    extra = registry.get(kind).read(fields) if kind else {}
    if len(errors) > before or kind is None or difficulty is None:
        return None
    return Question(
        id=qid,
        topic=own_topic,
        kind=kind,
        difficulty=difficulty,
        prompt=prompt,
        explanation=explanation,
        source=source,
        tags=tags,
        week=week,
        pack=pack,
        **extra,
    )


def _enum(fields: _Reader, key: str, enum: type[E]) -> E | None:
    if key not in fields.data:
        fields.problem(key, "missing")
        return None
    value = fields.data[key]
    options = " | ".join(member.value for member in enum)
    if not isinstance(value, str):
        fields.problem(key, f"expected one of {options}, got {_describe(value)}")
        return None
    try:
        return enum(value.strip())
    except ValueError:
        fields.problem(key, f"{value!r} is not one of {options}")
        return None


def _week(fields: _Reader, *, required: bool) -> int | None:
    if "week" not in fields.data:
        if required:
            fields.problem("week", "missing (1-4)")
        return None
    value = fields.data["week"]
    if isinstance(value, bool) or not isinstance(value, int) or value not in WEEKS:
        fields.problem("week", f"expected a whole number 1-4, got {_describe(value)}")
        return None
    return value


@dataclass(frozen=True)
class Bank:
    """Every loaded question by id, in pack order; read-only once built."""

    questions: Mapping[str, Question]
    paths: Mapping[str, str] = field(default_factory=dict)  # pack name -> file it came from

    def __post_init__(self) -> None:
        object.__setattr__(self, "questions", MappingProxyType(dict(self.questions)))
        object.__setattr__(self, "paths", MappingProxyType(dict(self.paths)))

    @classmethod
    def of(cls, questions: Iterable[Question], paths: Mapping[str, str] | None = None) -> Bank:
        """Build a bank from questions already checked for duplicate ids."""
        return cls({question.id: question for question in questions}, paths or {})

    def get(self, qid: str) -> Question | None:
        return self.questions.get(qid)

    def topics(self) -> tuple[str, ...]:
        return tuple(sorted({question.topic for question in self.questions.values()}))

    def packs(self) -> tuple[str, ...]:
        return tuple(sorted({question.pack for question in self.questions.values()}))

    def by_topic(self, topic: str) -> tuple[Question, ...]:
        return tuple(question for question in self.questions.values() if question.topic == topic)

    def path_of(self, question: Question) -> str:
        """The file a question came from, for messages."""
        return self.paths.get(question.pack, f"{question.pack}.yaml")

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions.values())

    def __contains__(self, qid: object) -> bool:
        return qid in self.questions


def pack_paths(root: Path) -> list[Path]:
    """The pack files under `root` (sorted), or `root` itself when it is a file."""
    if root.is_dir():
        return sorted(root.glob("*.yaml"))
    if root.is_file():
        return [root]
    raise BankErrors([BankError(str(root), None, None, "no such file or directory")])


def scan_bank(*roots: Path) -> tuple[Bank, list[BankError]]:
    """Load what loads and report the rest, so a check sees every problem in every pack."""
    errors: list[BankError] = []
    questions: list[Question] = []
    paths: dict[str, str] = {}
    owner: dict[str, str] = {}
    for root in roots:
        try:
            files = pack_paths(root)
        except BankErrors as exc:
            errors.extend(exc.errors)
            continue
        for path in files:
            try:
                data = read_yaml(path)
            except BankErrors as exc:
                errors.extend(exc.errors)
                continue
            pack, problems = _parse_pack(data, str(path), path.stem)
            errors.extend(problems)
            paths[path.stem] = str(path)
            for question in pack:
                if question.id in owner:
                    errors.append(
                        BankError(
                            str(path),
                            question.id,
                            "id",
                            f"duplicate id (also in {owner[question.id]})",
                        )
                    )
                    continue
                owner[question.id] = str(path)
                questions.append(question)
    return Bank.of(questions, paths), errors


class UnusableBank(BankErrors):
    """The bank cannot run a drill (no packs, no questions, or invalid packs); its text is
    one line naming the directory and the problem, the details stay in `errors`."""

    def __init__(self, root: Path, problem: str, errors: list[BankError] | None = None):
        super().__init__(errors or [BankError(str(root), None, None, problem)])
        self.root = root
        self.problem = problem
        self.line = f"{root}: {problem}"

    def __str__(self) -> str:
        return self.line


def load_bank(root: Path = DEFAULT_QUESTIONS_DIR) -> Bank:
    """Load every pack under `root` (or the one file); raises UnusableBank when any pack
    is invalid or nothing loads, so the bot never starts (and retires questions) on it."""
    bank, errors = scan_bank(root)
    if errors:
        first = " ".join(str(errors[0]).split())
        count = f"{len(errors)} problem{'' if len(errors) == 1 else 's'}"
        raise UnusableBank(
            root,
            f"invalid question bank, {count}; the first is {first}"
            " (run `python -m bot questions check` for all)",
            errors,
        )
    if not bank.paths:
        raise UnusableBank(root, "no *.yaml question packs here")
    if not len(bank):
        raise UnusableBank(root, "the packs here hold no questions")
    log.info("loaded %d questions in %d packs from %s", len(bank), len(bank.paths), root)
    return bank
