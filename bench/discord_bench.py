"""What bench/fanout.py and bench/outage.py share: the real bot against a fake Discord.

The bot is the production wiring: `open_service` (SQLite file, the outbox dispatcher),
a logged-in `DrillBot` (discord.py, its publisher, `discord_trace` feeding Discord's
rate-limit headers to the dispatcher's limiter, as `bot.discord_adapter.runner` does)
and `DrillScheduler` with a short tick. Its clock runs at real speed from a chosen
instant, so backoffs, Retry-After, the limiter and the fake's token bucket all run on
the same time. The fake is tests/discord_fakes.py's `FakeDiscord`, here with a timeline
of every request it answered (arrival time, status, which effect a message write was)
and an optional fault hook that answers a request instead of the API.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.app import open_service  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.core import commands, messages  # noqa: E402
from bot.core.models import ChannelRef, MemberRef  # noqa: E402
from bot.core.service import Invocation, QuizService  # noqa: E402
from bot.delivery.dispatcher import Dispatcher  # noqa: E402
from bot.discord_adapter.ratelimit import discord_trace  # noqa: E402
from bot.discord_adapter.replies import PLATFORM  # noqa: E402
from bot.scheduler import DrillScheduler  # noqa: E402
from tests.discord_fakes import GUILD_ID, Call, FakeDiscord, install, running_bot  # noqa: E402

TEST_BANK = ROOT / "tests" / "bank"
ADMIN_ID = "700000000000000001"
FIRST_CHANNEL = 820000000000000000
TICK = timedelta(seconds=0.2)

# What a message write is, from its body.
POST, REVEAL, BOARD, WEEKLY, DM, OTHER = "post", "reveal", "board", "weekly", "dm", "other"


def channel(n: int) -> ChannelRef:
    return ChannelRef(PLATFORM, GUILD_ID, str(FIRST_CHANNEL + n))


class RunningClock:
    """The service's clock: `start` at construction, then moving with real time."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)

    def monotonic_at(self, instant: datetime) -> float:
        """The time.monotonic() value at which the clock shows `instant`."""
        return self.t0 + (instant - self.start).total_seconds()


def effect_of(method: str, path: str, body: Any) -> str:
    """Which delivery a request is, by what it sends (the bot's own rendering)."""
    if method == "PATCH" and "/messages/" in path:
        return REVEAL
    if method != "POST" or not path.endswith("/messages"):
        return OTHER
    if path.startswith("/channels/") and body:
        embed = (body.get("embeds") or [{}])[0]
        author = (embed.get("author") or {}).get("name")
        title = embed.get("title") or ""
        if author == messages.DAILY_TITLE:
            return POST
        if author == messages.CLOSED_TITLE:
            return REVEAL  # a reveal posted on its own (its post had no id)
        if title.startswith(messages.WEEKLY_TITLE):
            return WEEKLY
        if title.startswith(messages.TOP_FIVE_TITLE):
            return BOARD
        if body.get("content"):
            return DM
    return OTHER


@dataclass(frozen=True)
class Hit:
    """One request as the fake saw it: when it arrived (time.monotonic), what it was,
    and the status it got."""

    at: float
    method: str
    path: str
    status: int
    effect: str
    nonce: str | None

    @property
    def channel_id(self) -> str | None:
        parts = self.path.split("/")
        return parts[2] if len(parts) > 2 and parts[1] == "channels" else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# A fault hook: given the seconds since the fake started, the request and its body,
# either None (answer as the API would) or a response to send instead.
Fault = Callable[["BenchDiscord", float, web.Request, Any], "web.Response | None"]


@dataclass
class BenchDiscord(FakeDiscord):
    """FakeDiscord with a timeline, a fault hook, and Discord's nonce window (a repeat of
    a nonce is folded only within `nonce_window` seconds of its first message; None
    folds it for ever, as FakeDiscord does)."""

    timeline: list[Hit] = field(default_factory=list)
    fault: Fault | None = None
    nonce_window: float | None = None
    started: float = field(default_factory=time.monotonic)
    _nonce_first: dict[tuple[str, str], float] = field(default_factory=dict)

    async def _rest(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        body = await request.json() if request.body_exists else None
        path = "/" + request.match_info["tail"]
        nonce = (body or {}).get("nonce") if isinstance(body, dict) else None
        response = self.fault(self, at - self.started, request, body) if self.fault else None
        if response is None:
            response = await super()._rest(request)
        else:
            self.calls.append(Call(request.method, path, body, True, None, response.status))
        self.timeline.append(
            Hit(
                at,
                request.method,
                path,
                response.status,
                effect_of(request.method, path, body),
                nonce,
            )
        )
        return response

    def _answer(self, method: str, path: str, body: Any, query: Any = None) -> Any:
        nonce = (body or {}).get("nonce") if isinstance(body, dict) else None
        if method == "POST" and nonce and path.startswith("/channels/"):
            first = self._nonce_first.setdefault((path, nonce), time.monotonic())
            if self.nonce_window is not None and time.monotonic() - first > self.nonce_window:
                body = {k: v for k, v in body.items() if k != "enforce_nonce"}
        return super()._answer(method, path, body, query)

    def accept(self, method: str, path: str, body: Any) -> Any:
        """What the API does with a request (a 5xx-after-accept keeps the message)."""
        return self._answer(method, path, body)


@dataclass
class Bench:
    service: QuizService
    dispatcher: Dispatcher
    scheduler: DrillScheduler
    fake: BenchDiscord
    clock: RunningClock


def sqlite_path(db_url: str) -> Path:
    return Path(db_url.removeprefix("sqlite:///"))


async def seed_channels(db_url: str, clock: RunningClock, count: int, setup: str) -> None:
    """`count` channels configured by an admin with `/quiz setup ...` (the real command)."""
    config = Config(database_url=db_url, questions_dir=TEST_BANK)
    async with open_service(config, clock) as service:
        command = commands.parse(setup)
        for n in range(count):
            admin = Invocation(MemberRef(PLATFORM, GUILD_ID, ADMIN_ID, "admin"), channel(n), True)
            await service.execute(command, admin)


class SnowflakePublisher:
    """Yesterday's posts, made before the measured run: ids only, no requests."""

    def __init__(self) -> None:
        self.next_id = 960000000000000000

    async def post_drill(self, post: Any) -> str:
        self.next_id += 1
        return str(self.next_id)

    async def find_drill_post(self, channel: ChannelRef, drill_id: int) -> str | None:
        return None

    async def reveal_drill(self, result: Any) -> None:
        raise AssertionError("nothing is revealed while seeding")

    async def post_leaderboard(self, channel: ChannelRef, board: Any, title: str) -> None:
        raise AssertionError("no board is posted while seeding")

    def channel_mention(self, channel: ChannelRef) -> str:
        return f"<#{channel.channel_id}>"

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        raise AssertionError("no DM is sent while seeding")


async def seed_open_drills(db_url: str, at: datetime) -> int:
    """Every channel's drill of `at`'s day, posted (with a message id) and still open:
    the scheduler's own tick at `at` and the dispatcher, with an id-only publisher."""
    config = Config(database_url=db_url, questions_dir=TEST_BANK)
    async with open_service(config, RunningClock(at)) as service:
        service.register_publisher(PLATFORM, SnowflakePublisher())
        dispatcher = service.delivery
        assert isinstance(dispatcher, Dispatcher)
        dispatcher.limiters = {}
        scheduler = DrillScheduler(service, tick=TICK)
        await scheduler.tick()
        await dispatcher.drain()
    with sqlite3.connect(sqlite_path(db_url)) as conn:
        return conn.execute("SELECT count(*) FROM drills WHERE state = 'open'").fetchone()[0]


@asynccontextmanager
async def running(
    db_url: str, data_dir: Path, start: datetime, fake: BenchDiscord, **bot_options: Any
) -> AsyncIterator[Bench]:
    """The bot logged in to `fake`, its dispatcher and scheduler running on a clock
    that starts at `start` (the first tick fires what is due then)."""
    clock = RunningClock(start)
    config = Config(database_url=db_url, questions_dir=TEST_BANK, data_dir=data_dir)
    with pytest.MonkeyPatch.context() as patch:
        install(fake, patch)
        async with open_service(config, clock) as service:
            dispatcher = service.delivery
            assert isinstance(dispatcher, Dispatcher)
            limiter = dispatcher.limiter(PLATFORM)
            assert limiter is not None
            async with running_bot(
                service, config, http_trace=discord_trace(limiter), **bot_options
            ):
                scheduler = DrillScheduler(service, tick=TICK)
                dispatcher.idle_poll = 0.5
                dispatcher.start()
                await scheduler.start()
                try:
                    yield Bench(service, dispatcher, scheduler, fake, clock)
                finally:
                    scheduler.shutdown()
                    await dispatcher.stop()


def outbox_states(db_url: str) -> dict[tuple[str, str], int]:
    """(kind, state) -> rows, read straight from the database file."""
    with sqlite3.connect(sqlite_path(db_url)) as conn:
        rows = conn.execute("SELECT kind, state, count(*) FROM outbox GROUP BY kind, state")
        return {(kind, state): n for kind, state, n in rows}


async def settled(db_url: str, expected: int, within: float, step: float = 0.2) -> bool:
    """Wait until `expected` outbox rows exist and none is pending or sending."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = outbox_states(db_url)
        total = sum(states.values())
        open_rows = sum(n for (_, state), n in states.items() if state in ("pending", "sending"))
        if total >= expected and open_rows == 0:
            return True
        await asyncio.sleep(step)
    return False


def quiet_logs() -> None:
    """Warnings of retries and 429s are the point of the run; errors still show."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


def row(name: str, value: str, target: str, ok: bool | None) -> bool:
    """One line of the report; `ok` None for a figure with no target."""
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    print(f"  {name:<52} {value:>14}   target {target:<16} {verdict}")
    return ok is not False
