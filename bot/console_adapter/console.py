"""A drill channel in the terminal, for trying the bot out and for scripted tests.

Lines starting with `/quiz` are commands, `:as NAME` switches who is speaking, `:quit`
ends the session, and any other text answers the open question. Standard input may be
a terminal or a pipe; output is what the bot would post, with private replies marked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.charts import progress_chart
from bot.config import DEFAULT_DATA_DIR
from bot.core import commands, messages
from bot.core.errors import QuizError
from bot.core.models import (
    ChannelRef,
    DrillPost,
    DrillResult,
    Leaderboard,
    MemberExport,
    MemberRef,
    MemberStats,
)
from bot.core.service import Invocation, QuizService

log = logging.getLogger(__name__)

PLATFORM = "console"
CHANNEL = ChannelRef(PLATFORM, "local", "drills")
_NAME = re.compile(r"^[\w .-]{1,32}$")
EXPORTS = "exports"  # /quiz export files, under DATA_DIR
CHARTS = "charts"  # /quiz stats progress charts, under DATA_DIR


def member_named(name: str) -> MemberRef:
    return MemberRef(PLATFORM, CHANNEL.workspace_id, name.casefold(), name)


class ConsolePublisher:
    """Prints posts as the channel would show them."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.posts = 0
        self.posted: dict[int, str] = {}

    def say(self, text: str) -> None:
        self.out.write(text.rstrip() + "\n\n")
        self.out.flush()

    async def post_drill(self, post: DrillPost) -> str:
        self.posts += 1
        question = post.question
        self.say(
            f"#{post.drill.channel.channel_id} · {messages.DAILY_TITLE} · "
            f"{messages.question_header(question)}\n"
            f"{messages.question_body(question)}\n{messages.answer_hint(question)}"
        )
        message_id = f"console-{post.drill.id}"
        self.posted[post.drill.id] = message_id
        return message_id

    async def find_drill_post(self, channel: ChannelRef, drill_id: int) -> str | None:
        """What this session printed: the console has no history beyond it."""
        return self.posted.get(drill_id)

    async def reveal_drill(self, result: DrillResult) -> None:
        self.say(
            f"#{result.drill.channel.channel_id} · {messages.CLOSED_TITLE}\n"
            f"{messages.reveal_text(result)}"
        )

    async def post_leaderboard(self, channel: ChannelRef, board: Leaderboard, title: str) -> None:
        self.say(f"#{channel.channel_id} · {messages.leaderboard_text(board, title)}")

    async def post_notice(self, channel: ChannelRef, text: str) -> None:
        self.say(f"#{channel.channel_id} · {text}")

    def channel_mention(self, channel: ChannelRef) -> str:
        return f"#{channel.channel_id}"

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        self.say(f"[private to {user_id}] {text}")

    async def remind(self, post: DrillPost, user_id: str, text: str) -> None:
        question = post.question
        self.say(
            f"[private to {user_id}] {text}\n{messages.question_body(question)}\n"
            f"{messages.answer_hint(question)}"
        )


class Console:
    def __init__(
        self, service: QuizService, out: TextIO = sys.stdout, data_dir: Path = DEFAULT_DATA_DIR
    ) -> None:
        self.service = service
        self.out = out
        self.data_dir = data_dir
        self.publisher = ConsolePublisher(out)
        self.member = member_named("you")
        service.register_publisher(PLATFORM, self.publisher)

    async def handle(self, line: str) -> bool:
        """Handle one input line; returns False when the session should end."""
        line = line.strip()
        if not line:
            return True
        if line in (":quit", ":q", ":exit"):
            return False
        if line in (":help", ":h"):
            self.publisher.say(messages.CONSOLE_HELP)
            return True
        verb, _, name = line.partition(" ")
        if verb == ":as":
            self.switch(name.strip())
            return True
        text = line if line.startswith("/") else f"/quiz answer {line}"
        await self.run_command(text)
        return True

    def switch(self, name: str) -> None:
        if not _NAME.match(name):
            self.publisher.say(messages.CONSOLE_NAME_RULE)
            return
        self.member = member_named(name)
        self.publisher.say(messages.speaking_as(name))

    async def run_command(self, text: str) -> None:
        inv = Invocation(self.member, CHANNEL, is_admin=True)
        try:
            if not text.lower().startswith("/quiz"):
                raise commands.usage_error(messages.only_quiz_commands(text))
            reply = await self.service.execute(commands.parse(text), inv)
            answer = reply.text
            if isinstance(reply.data, MemberExport):
                path = await asyncio.to_thread(write_export, self.data_dir, reply.data)
                answer = f"{answer}\n{messages.export_written(str(path))}"
            if isinstance(reply.data, MemberStats) and (png := await progress_chart(reply.data)):
                path = await asyncio.to_thread(write_chart, self.data_dir, reply.data, png)
                answer = f"{answer}\n{messages.chart_written(str(path))}"
        except QuizError as exc:
            answer = exc.message
        except Exception:
            log.exception("console command failed: %r as %s", text[:200], self.member.user_id)
            answer = messages.SOMETHING_WENT_WRONG
        await self.publisher.post_private(CHANNEL, self.member.name, answer)

    async def run(self, stdin: TextIO = sys.stdin) -> None:
        interactive = stdin.isatty()
        if interactive:
            self.publisher.say(messages.CONSOLE_HELP)
        lines = read_lines(stdin)
        while True:
            if interactive:
                self.out.write(f"{self.member.name}> ")
                self.out.flush()
            line = await lines.get()
            if line is None or not await self.handle(line):
                break


def write_export(data_dir: Path, export: MemberExport) -> Path:
    """/quiz export on the console: the JSON file under DATA_DIR/exports, readable by
    its owner only (a terminal has no private attachment to send it as)."""
    folder = data_dir / EXPORTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / export.filename
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(export.document)
    return path


def write_chart(data_dir: Path, stats: MemberStats, png: bytes) -> Path:
    """/quiz stats on the console: the progress chart as a PNG under DATA_DIR/charts
    (one file per member, replaced by their next /quiz stats)."""
    folder = data_dir / CHARTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"stats-{safe_name(stats.member.user_id)}.png"
    path.write_bytes(png)
    return path


def safe_name(text: str) -> str:
    """A file name part from a member's id: letters, digits, '-' and '_' only."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in text)


def read_lines(stdin: TextIO) -> asyncio.Queue[str | None]:
    """Lines from a daemon thread, so a blocked read never keeps the process from exiting
    (on Ctrl-C or SIGTERM) while the scheduler keeps running in the event loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        for line in stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    return queue
