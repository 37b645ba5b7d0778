"""Test doubles for the core's ports (clock, publisher); platform fakes live beside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.models import ChannelRef, DrillPost, DrillResult, Leaderboard


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
    fail_posts: int = 0

    async def post_drill(self, post: DrillPost) -> str:
        if self.fail_posts:
            self.fail_posts -= 1
            raise ConnectionError("platform unavailable")
        self.posts.append(post)
        return f"msg-{post.drill.id}"

    async def reveal_drill(self, result: DrillResult) -> None:
        self.reveals.append(result)

    async def post_leaderboard(self, channel: ChannelRef, board: Leaderboard, title: str) -> None:
        self.boards.append((channel, board, title))

    def channel_mention(self, channel: ChannelRef) -> str:
        return f"#{channel.channel_id}"

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        self.private.append((channel, user_id, text))
