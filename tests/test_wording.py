"""Every sentence a member reads comes from bot/core/messages.py.

An AST scan of bot/ (messages.py aside): a literal that reads like a sentence, passed to a
QuizError, to a Reply, or to a call that sends text to a member, fails the test. A new
reply must name its wording in messages.py instead.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import bot
from bot.core import messages
from bot.core.errors import GroupExists, NotSetUp, UnknownGroup
from tests.conftest import member

PACKAGE = Path(bot.__file__).parent
WORDING = PACKAGE / "core" / "messages.py"
ERRORS = PACKAGE / "core" / "errors.py"
# Functions and methods that put their text arguments in front of a member.
SENDING = {
    "Reply",
    "PrivateReply",
    "usage_error",
    "respond",
    "say",
    "send",
    "send_message",
    "send_private",
    "chat_postMessage",
    "chat_postEphemeral",
    "chat_update",
    "post_private",
    "post_leaderboard",
    "post_notice",
    "reply_privately",
    "private_reply",
    "fail_post",
    # Discord's command picker shows these descriptions, option hints and choice names.
    "command",
    "Group",
    "describe",
    "Choice",
    # A start-up refusal, printed as the one line on stderr.
    "SystemExit",
}
# Sentences that are not wording, each with why. (path relative to bot/, the literal)
ALLOWED: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Sentence:
    path: str
    line: int
    callee: str
    text: str


def literal_text(node: ast.AST) -> str | None:
    """A string literal's text, an f-string's with `{}` for each placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


def reads_as_sentence(text: str) -> bool:
    """Three words or more, and a capital letter or a full stop: what a member would read."""
    words = text.split()
    if len(words) < 3:
        return False
    stripped = text.strip()
    return stripped[:1].isupper() or stripped.endswith((".", "!", "?")) or ". " in stripped


def error_classes(tree_by_path: dict[Path, ast.Module]) -> set[str]:
    """QuizError and every class in bot/ derived from it, found by name."""
    names = {"QuizError"}
    classes = [
        node
        for tree in tree_by_path.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]
    grew = True
    while grew:
        grew = False
        for node in classes:
            bases = {base.id for base in node.bases if isinstance(base, ast.Name)}
            if node.name not in names and bases & names:
                names.add(node.name)
                grew = True
    return names


def callee_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def sentences_sent(tree_by_path: dict[Path, ast.Module]) -> list[Sentence]:
    sinks = SENDING | error_classes(tree_by_path)
    found = []
    for path, tree in tree_by_path.items():
        if path == WORDING:
            continue
        relative = path.relative_to(PACKAGE).as_posix()
        constants = module_sentences(tree)
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or callee_name(call) not in sinks:
                continue
            for node in argument_nodes(call):
                text = literal_text(node)
                if isinstance(node, ast.Name):
                    text = constants.get(node.id)
                if text is not None and reads_as_sentence(text) and (relative, text) not in ALLOWED:
                    found.append(Sentence(relative, node.lineno, callee_name(call) or "", text))
    return sorted(found, key=lambda sentence: (sentence.path, sentence.line))


def argument_nodes(call: ast.Call) -> list[ast.AST]:
    """Every node in the call's arguments, an f-string counted once (not its parts)."""
    nodes: list[ast.AST] = []
    parts: set[int] = set()
    for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
        for node in ast.walk(argument):
            if isinstance(node, ast.JoinedStr):
                parts.update(id(part) for part in node.values)
            if id(node) not in parts:
                nodes.append(node)
    return nodes


def module_sentences(tree: ast.Module) -> dict[str, str]:
    """Every `name = "a sentence"` in the module (at any level), so that a sentence put in
    a name first and sent by that name is caught too."""
    found = {}
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        text = literal_text(value)
        if isinstance(target, ast.Name) and text is not None:
            found[target.id] = text
    return found


def parse_package() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


def test_no_sentence_is_sent_from_outside_messages():
    found = sentences_sent(parse_package())
    assert found == [], "\n".join(
        f"{s.path}:{s.line}: {s.callee}({s.text!r}) belongs in bot/core/messages.py" for s in found
    )


def test_the_scan_catches_a_sentence_in_an_error_a_reply_and_a_send():
    source = """
class GroupGone(NotFound):
    pass

async def handler(respond, name):
    raise GroupGone(f"There's no group called {name}.")
    await respond(text="Something broke, try again")
    return Reply("Created the group.")

HINT = "Join a study group"

@quiz.command(name="join", description=HINT)
@app_commands.describe(name="The group's name, as listed.")
async def join(interaction):
    hint = "Give a name, like `maths`."
    interaction.response.send_message(hint)
"""
    path = PACKAGE / "adapter_under_test.py"
    found = sentences_sent({path: ast.parse(source), ERRORS: ast.parse(ERRORS.read_text())})
    assert [(s.line, s.callee) for s in found] == [
        (6, "GroupGone"),
        (7, "respond"),
        (8, "Reply"),
        (12, "command"),
        (13, "describe"),
        (16, "send_message"),
    ]


def test_the_scan_lets_identifiers_log_lines_and_wording_names_through():
    source = """
async def handler(respond, name):
    log.warning("Slack refused the reply for %s", name)
    await respond(text=messages.group_joined(name), response_type="ephemeral")
    raise NotFound(messages.NO_OPEN_DRILL)
"""
    path = PACKAGE / "adapter_under_test.py"
    assert sentences_sent({path: ast.parse(source), ERRORS: ast.parse(ERRORS.read_text())}) == []


async def test_storage_raises_typed_errors_whose_wording_comes_from_messages(service, channel):
    repo, now = service.repo, service.clock.now()
    ann = member("ann")
    await repo.create_group(ann, "Readers", now)
    with pytest.raises(GroupExists) as exists:
        await repo.create_group(member("bo"), "readers", now)
    assert (exists.value.name, exists.value.message) == (
        "readers",
        messages.group_exists("readers"),
    )
    with pytest.raises(UnknownGroup) as unknown:
        await repo.join_group(ann, "writers", now)
    assert unknown.value.name == "writers"
    assert unknown.value.message == "There's no group called writers. See `/quiz group list`."
    with pytest.raises(NotSetUp) as not_set_up:
        await repo.claim_post(channel, now.date(), "q", now, None)
    assert not_set_up.value.message == messages.NOT_SET_UP
