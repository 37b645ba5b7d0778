"""Block Kit layouts: pure functions from core results to slack_sdk blocks and views.

The words come from bot.core.messages and are never reworded here; these functions lay
them out and keep every piece inside Slack's limits, cutting long text at a word with an
ellipsis (never inside an HTML entity) and splitting long texts into several sections.
Text that Slack reads as mrkdwn is escaped (&, <, >), so a prompt like "x < y" shows as
written and an answer like "<!channel>" never pings anyone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core import commands, messages
from bot.core.kinds import registry
from bot.core.kinds.inputs import Input
from bot.core.messages import ELLIPSIS
from bot.core.models import (
    DrillPost,
    DrillResult,
    Leaderboard,
    MemberStats,
    Question,
)

MAX_BLOCKS = 50  # in a message
MAX_VIEW_BLOCKS = 100  # in a modal or the Home tab
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_OPTION = 75  # a checkbox option's text
MAX_VALUE = 2000
MAX_TITLE = 24  # a modal's title, submit and close labels
MAX_LABEL = 2000
MAX_TEXT = 4000  # a message's top-level `text`, what notifications show

ANSWER_ACTION = "drill_answer"  # action_id f"drill_answer:{letter}", value f"{drill_id}:{letter}"
OPEN_MODAL_ACTION = "drill_answer_open"  # value f"{drill_id}:{question_id}"
PRACTICE_NOW_ACTION = "practice_now"  # the App Home's button: a practice session in the DM
MODAL_CALLBACK = "drill_answer_modal"  # private_metadata {"drill": id, "channel": channel_id}
ANSWER_BLOCK = "answer"
ANSWER_INPUT = "text"  # the typed answer, or the ticked letters of a select-all question

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo the escaping Slack applies to command text, so answers are graded as typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int) -> str:
    """The shared clip, never leaving half an escape (`&l`) before the ellipsis."""
    clipped = messages.clip(text, limit)
    if clipped == text:
        return text
    return _PARTIAL_ENTITY.sub("", clipped[: -len(ELLIPSIS)]).rstrip() + ELLIPSIS


def plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def sections(text: str, limit: int = MAX_SECTION) -> list[SectionBlock]:
    """Lay out a mrkdwn text as sections of whole lines, each within the section limit."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        line = clip(line, limit)
        if current and size + 1 + len(line) > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
        size += len(line) + (1 if current else 0)
        current.append(line)
    chunks.append("\n".join(current))
    return [SectionBlock(text=MarkdownTextObject(text=c)) for c in chunks if c.strip()]


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, MAX_SECTION))])


def fit(blocks: Sequence[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """Keep within the block limit; the last block (the buttons, say) always survives."""
    blocks = list(blocks)
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], blocks[-1]]


def as_dicts(blocks: Sequence[Block]) -> list[dict]:
    """Blocks as JSON, checked against slack_sdk's own limits on the way."""
    return [block.to_dict() for block in blocks]


def titled(text: str, limit: int = MAX_BLOCKS) -> list[Block]:
    """A messages text whose first line is its title: a header, then the rest as sections."""
    title, _, body = text.partition("\n")
    return fit([HeaderBlock(text=plain(title, MAX_HEADER)), *sections(escape(body))], limit)


def fallback(text: str) -> str:
    """The top-level `text` of a message: what notifications and screen readers show."""
    return clip(escape(text), MAX_TEXT)


# --- the daily post ---------------------------------------------------------------------------


def answer_value(drill_id: int, letter: str) -> str:
    return f"{drill_id}:{letter}"


def parse_answer_value(value: str) -> tuple[int, str]:
    drill_id, _, letter = value.partition(":")
    if not letter:
        raise ValueError(f"not a drill answer value: {value[:40]!r}")
    return int(drill_id), letter


def modal_value(drill_id: int, question_id: str) -> str:
    return f"{drill_id}:{question_id}"


def parse_modal_value(value: str) -> tuple[int, str]:
    drill_id, _, question_id = value.partition(":")
    if not question_id:
        raise ValueError(f"not a drill modal value: {value[:40]!r}")
    return int(drill_id), question_id


def answer_buttons(drill_id: int, question: Question) -> list[ButtonElement]:
    """One button per letter, or one "Answer" button that opens the answer modal."""
    wanted = registry.answer_input(question)
    if wanted.input is Input.BUTTONS:
        return [
            ButtonElement(
                text=plain(letter, MAX_BUTTON),
                action_id=f"{ANSWER_ACTION}:{letter}",
                value=answer_value(drill_id, letter),
            )
            for letter in wanted.options
        ]
    return [
        ButtonElement(
            text=plain(messages.ANSWER_BUTTON, MAX_BUTTON),
            action_id=OPEN_MODAL_ACTION,
            value=modal_value(drill_id, question.id),
            style="primary",
        )
    ]


def drill_post_blocks(post: DrillPost) -> list[Block]:
    question = post.question
    return fit(
        [
            HeaderBlock(text=plain(messages.DAILY_TITLE, MAX_HEADER)),
            *sections(escape(messages.question_body(question))),
            context(escape(messages.question_header(question))),
            ActionsBlock(
                block_id=f"drill:{post.drill.id}",
                elements=answer_buttons(post.drill.id, question),
            ),
        ]
    )


def drill_post_text(post: DrillPost) -> str:
    question = post.question
    return fallback(
        f"{messages.DAILY_TITLE} · {messages.question_header(question)}\n"
        f"{messages.question_body(question)}"
    )


def answer_element(question: Question) -> CheckboxesElement | PlainTextInputElement:
    """Checkboxes for a question that takes several letters, else a text input."""
    wanted = registry.answer_input(question)
    if wanted.input is Input.SELECT_MANY:
        lines = dict(zip(question.letters, messages.choice_lines(question), strict=True))
        return CheckboxesElement(
            action_id=ANSWER_INPUT,
            options=[
                Option(value=letter, text=plain(lines[letter], MAX_OPTION))
                for letter in wanted.options
            ],
        )
    return PlainTextInputElement(
        action_id=ANSWER_INPUT,
        multiline=True,
        max_length=commands.MAX_TEXT,
    )


def submitted_answer(state: dict) -> str:
    """The answer in a modal's input state: the typed text, or the ticked letters."""
    if "selected_options" in state:
        return " ".join(option["value"] for option in state["selected_options"] or [])
    return state.get("value") or ""


def answer_modal(drill_id: int, channel_id: str, question: Question) -> View:
    return View(
        type="modal",
        callback_id=MODAL_CALLBACK,
        title=plain(messages.APP_NAME, MAX_TITLE),
        submit=plain(messages.SUBMIT_LABEL, MAX_TITLE),
        close=plain(messages.CANCEL_LABEL, MAX_TITLE),
        private_metadata=json.dumps({"drill": drill_id, "channel": channel_id}),
        blocks=fit(
            [
                *sections(escape(question.prompt.strip())),
                context(escape(messages.question_header(question))),
                InputBlock(
                    block_id=ANSWER_BLOCK,
                    label=plain(messages.ANSWER_LABEL, MAX_LABEL),
                    element=answer_element(question),
                ),
            ],
            MAX_VIEW_BLOCKS,
        ),
    )


def parse_modal_metadata(metadata: str) -> tuple[int, str]:
    data = json.loads(metadata)
    return int(data["drill"]), str(data["channel"])


# --- the reveal -------------------------------------------------------------------------------


def revealed_question(question: Question) -> str:
    """The prompt with its choices, the correct one in bold with a check mark."""
    choices = [
        f"*{escape(line)}* ✓" if choice.correct else escape(line)
        for choice, line in zip(question.choices, messages.choice_lines(question), strict=False)
    ]
    return "\n".join([escape(question.prompt.strip()), *(["", *choices] if choices else [])])


def reveal_blocks(result: DrillResult) -> list[Block]:
    """The closed post: the answer, explanation, distribution and fastest, and a Report
    button (the answer buttons are gone)."""
    question = result.question
    blocks: list[Block] = [
        HeaderBlock(text=plain(messages.CLOSED_TITLE, MAX_HEADER)),
        *sections(revealed_question(question)),
        context(escape(messages.question_header(question))),
        DividerBlock(),
        *sections(escape(f"{messages.answer_line(question)}\n{question.explanation.strip()}")),
    ]
    summary = escape(messages.reveal_summary(result))
    if result.answered:
        bars = escape("\n".join(messages.distribution_lines(result)))
        summary = f"{summary}\n```{bars}```"
    blocks.extend(sections(summary))
    if fastest := messages.fastest_line(result):
        blocks.append(context(escape(fastest)))
    return [*fit(blocks, MAX_BLOCKS - 1), report_actions(result.drill.id)]


def reveal_fallback(result: DrillResult) -> str:
    return fallback(f"{messages.CLOSED_TITLE}\n{messages.reveal_text(result)}")


# --- reports and disputes: the Report button on a reveal and its modal ------------------------

REPORT_ACTION = "drill_report"  # value f"{drill_id}"
REPORT_CALLBACK = "drill_report_modal"  # private_metadata as the answer modal's
REPORT_REASON_BLOCK = "reason"
REPORT_REASON_INPUT = "reason"
# The optional text sits in the block the error path shows refusals under (errors.py).
REPORT_TEXT_BLOCK = ANSWER_BLOCK
REPORT_TEXT_INPUT = "text"


def report_actions(drill_id: int) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"report:{drill_id}",
        elements=[
            ButtonElement(
                text=plain(messages.REPORT_BUTTON, MAX_BUTTON),
                action_id=REPORT_ACTION,
                value=str(drill_id),
            )
        ],
    )


def report_modal(drill_id: int, channel_id: str, question: Question) -> View:
    """A reason (a static select, required) and optional text up to 500 characters."""
    return View(
        type="modal",
        callback_id=REPORT_CALLBACK,
        title=plain(messages.REPORT_BUTTON, MAX_TITLE),
        submit=plain(messages.SUBMIT_LABEL, MAX_TITLE),
        close=plain(messages.CANCEL_LABEL, MAX_TITLE),
        private_metadata=json.dumps({"drill": drill_id, "channel": channel_id}),
        blocks=[
            context(escape(f"{question.id} · {messages.question_header(question)}")),
            InputBlock(
                block_id=REPORT_REASON_BLOCK,
                label=plain(messages.REPORT_REASON_LABEL, MAX_LABEL),
                element=StaticSelectElement(
                    action_id=REPORT_REASON_INPUT,
                    placeholder=plain(messages.REPORT_PLACEHOLDER, MAX_OPTION),
                    options=[
                        Option(value=reason.value, text=plain(label, MAX_OPTION))
                        for reason, label in messages.REPORT_REASON_LABELS.items()
                    ],
                ),
            ),
            InputBlock(
                block_id=REPORT_TEXT_BLOCK,
                label=plain(messages.REPORT_TEXT_LABEL, MAX_LABEL),
                optional=True,
                element=PlainTextInputElement(
                    action_id=REPORT_TEXT_INPUT,
                    multiline=True,
                    max_length=messages.REPORT_TEXT_LIMIT,
                ),
            ),
        ],
    )


def submitted_report(values: dict) -> tuple[str, str]:
    """The picked reason and the typed text of a report modal's state."""
    picked = values[REPORT_REASON_BLOCK][REPORT_REASON_INPUT].get("selected_option") or {}
    text = values.get(REPORT_TEXT_BLOCK, {}).get(REPORT_TEXT_INPUT, {}).get("value") or ""
    return str(picked.get("value", "")), text


# --- boards, stats and the Home tab -----------------------------------------------------------


def leaderboard_blocks(board: Leaderboard, title: str | None = None) -> list[Block]:
    return titled(messages.leaderboard_text(board, title))


def stats_blocks(stats: MemberStats, limit: int = MAX_BLOCKS) -> list[Block]:
    return titled(messages.stats_text(stats), limit)


def reply_blocks(text: str, data: object) -> list[Block] | None:
    """Richer layout for the replies that are tables (stats, leaderboards); else None."""
    if isinstance(data, MemberStats | Leaderboard):
        return titled(text)
    return None


def home_view(stats: MemberStats) -> View:
    practice = ButtonElement(
        text=plain(messages.PRACTICE_NOW_BUTTON, MAX_BUTTON),
        action_id=PRACTICE_NOW_ACTION,
        value="start",
        style="primary",
    )
    blocks = [
        *stats_blocks(stats, MAX_VIEW_BLOCKS - 3),
        ActionsBlock(elements=[practice]),
        DividerBlock(),
        *sections(escape(messages.USAGE)),
    ]
    return View(type="home", blocks=fit(blocks, MAX_VIEW_BLOCKS))


def home_error_view() -> View:
    return View(type="home", blocks=sections(escape(messages.SOMETHING_WENT_WRONG)))
