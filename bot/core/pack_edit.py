"""Edit one field of questions in a pack file in place, leaving every other byte alone.

Re-dumping the YAML would reflow the author's text, drop comments and reorder keys; here
the value's span comes from the YAML parser's marks and only that span is replaced. The
result must load back as the same questions with only the new difficulties, and it is
written atomically, so a pack is never half-written or silently changed elsewhere.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from bot.core.bank import load_pack, parse_pack, read_yaml
from bot.core.errors import BankError, BankErrors
from bot.core.models import Difficulty

log = logging.getLogger(__name__)


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _difficulty_nodes(text: str, path: str) -> dict[str, yaml.ScalarNode]:
    """Each question id's `difficulty:` value node."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    questions = None
    if isinstance(root, yaml.MappingNode):
        questions = next((v for k, v in root.value if _scalar(k) == "questions"), None)
    if not isinstance(questions, yaml.SequenceNode):
        raise BankErrors([BankError(path, None, "questions", "not a list of questions")])
    found: dict[str, yaml.ScalarNode] = {}
    for item in questions.value:
        if not isinstance(item, yaml.MappingNode):
            continue
        fields = {_scalar(key): value for key, value in item.value}
        qid, node = _scalar(fields.get("id")), fields.get("difficulty")
        if qid is not None and isinstance(node, yaml.ScalarNode):
            found[qid] = node
    return found


def set_difficulties(text: str, changes: Mapping[str, Difficulty], path: str = "") -> str:
    """`text` with the `difficulty:` value of each question in `changes` replaced (in
    the value's own quoting style); BankErrors naming any id that has no such value."""
    nodes = _difficulty_nodes(text, path)
    missing = sorted(set(changes) - set(nodes))
    if missing:
        raise BankErrors(
            [BankError(path, qid, "difficulty", "no difficulty value to edit") for qid in missing]
        )
    spans = sorted(
        (nodes[qid].start_mark.index, nodes[qid].end_mark.index, nodes[qid].style, level)
        for qid, level in changes.items()
    )
    pieces, at = [], 0
    for start, end, style, level in spans:
        quote = style if style in ("'", '"') else ""
        pieces += [text[at:start], f"{quote}{level.value}{quote}"]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def rewrite_difficulties(path: Path, changes: Mapping[str, Difficulty]) -> None:
    """Rewrite the pack at `path` with new difficulties; atomically, and only when the
    edited pack loads back as the old one with just those difficulties changed."""
    text = path.read_bytes().decode("utf-8")  # bytes: CRLF line ends stay as they are
    before = load_pack(path)
    expected = [
        dataclasses.replace(q, difficulty=changes[q.id]) if q.id in changes else q for q in before
    ]
    edited = set_difficulties(text, changes, str(path)).encode("utf-8")
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(edited)
            handle.flush()
            os.fsync(handle.fileno())
        after = parse_pack(read_yaml(Path(temp)), str(path), path.stem)
        if after != expected:
            raise BankErrors(
                [BankError(str(path), None, "difficulty", "the edit would change more")]
            )
        os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    log.info("rewrote %d difficulties in %s", len(changes), path)
