"""Test doubles for the core's ports (clock, publisher); platform fakes live beside them."""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.core.models import (
    ChannelRef,
    ChannelSettings,
    Choice,
    Difficulty,
    Drill,
    DrillPost,
    DrillResult,
    DrillState,
    Kind,
    Leaderboard,
    Question,
)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, now: datetime) -> None:
        self.current = now


@dataclass
class RecordingPublisher:
    """Records every outbound post, in order; `fail_posts` makes post_drill raise."""

    posts: list[DrillPost] = field(default_factory=list)
    reveals: list[DrillResult] = field(default_factory=list)
    boards: list[tuple[ChannelRef, Leaderboard, str]] = field(default_factory=list)
    private: list[tuple[ChannelRef, str, str]] = field(default_factory=list)
    reminders: list[tuple[DrillPost, str, str]] = field(default_factory=list)
    notices: list[tuple[ChannelRef, str]] = field(default_factory=list)
    fail_posts: int = 0

    async def post_drill(self, post: DrillPost) -> str:
        if self.fail_posts:
            self.fail_posts -= 1
            raise ConnectionRefusedError("platform unavailable")
        self.posts.append(post)
        return f"msg-{post.drill.id}"

    async def find_drill_post(self, channel: ChannelRef, drill_id: int) -> str | None:
        return next(
            (
                f"msg-{post.drill.id}"
                for post in self.posts
                if post.drill.id == drill_id and post.drill.channel == channel
            ),
            None,
        )

    async def reveal_drill(self, result: DrillResult) -> None:
        self.reveals.append(result)

    async def post_leaderboard(self, channel: ChannelRef, board: Leaderboard, title: str) -> None:
        self.boards.append((channel, board, title))

    async def post_notice(self, channel: ChannelRef, text: str) -> None:
        self.notices.append((channel, text))

    def channel_mention(self, channel: ChannelRef) -> str:
        return f"#{channel.channel_id}"

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        self.private.append((channel, user_id, text))

    async def remind(self, post: DrillPost, user_id: str, text: str) -> None:
        self.reminders.append((post, user_id, text))


class FakeRateLimit:
    """A platform's rate limit as its servers enforce it: a token bucket of `rate`
    requests per second holding up to `burst` (one second's worth by default)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = rate if burst is None else burst
        self.tokens = self.burst
        self.updated = time.monotonic()

    def take(self) -> float | None:
        """None if a request may pass now (and counts it), else the seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


def retry_after_header(wait: float) -> str:
    """Retry-After is whole seconds on the wire; never 0, or clients would not wait."""
    return str(max(1, math.ceil(wait)))


def drill_post(channel: ChannelRef, drill_id: int) -> DrillPost:
    """A small multiple-choice drill, ready to post, for publisher tests."""
    question = Question(
        id=f"q-{drill_id}",
        topic="testing",
        kind=Kind.CHOICE,
        difficulty=Difficulty.EASY,
        prompt=f"Question {drill_id}: which choice is right?",
        explanation="Because.",
        source="test",
        choices=tuple(Choice(f"choice {n}", "why", correct=n == 1) for n in range(3)),
    )
    opened = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
    drill = Drill(drill_id, channel, date(2025, 1, 15), question.id, DrillState.POSTING, opened)
    return DrillPost(drill, question, ChannelSettings(channel))


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, for a server a test starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
