"""What bench/fanout.py and bench/outage.py share: the real bot against a fake Discord.

The bot is the production wiring: `open_service` (SQLite file, the outbox dispatcher),
a logged-in `DrillBot` (discord.py, its publisher, `discord_trace` feeding Discord's
rate-limit headers to the dispatcher's limiter, as `bot.discord_adapter.runner` does)
and `DrillScheduler` with a short tick. Its clock runs at real speed from a chosen
instant, so backoffs, Retry-After, the limiter and the fake's token bucket all run on
the same time.

The fake is tests/discord_fakes.py's `FakeDiscord` in a process of its own on
127.0.0.1 (Discord does not share the bot's CPU, so neither does the fake), with a
timeline of every request (arrival on the system-wide monotonic clock, status, which
effect a message write was), Discord's nonce window, an optional outage, and two
endpoints of its own for the bench: POST /_bench/outage starts the outage, GET
/_bench/state returns the timeline and the messages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yarl
from aiohttp import web
from aiohttp.test_utils import TestServer

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
from tests.discord_fakes import (  # noqa: E402
    API_PREFIX,
    GUILD_ID,
    Call,
    FakeDiscord,
    _json,
    install,
    running_bot,
)
from tests.fakes import FakeRateLimit, retry_after_header  # noqa: E402

TEST_BANK = ROOT / "tests" / "bank"
ADMIN_ID = "700000000000000001"
FIRST_CHANNEL = 820000000000000000
TICK = timedelta(seconds=0.2)

# What a request or a stored message is.
POST, REVEAL, BOARD, WEEKLY, DM, OTHER = "post", "reveal", "board", "weekly", "dm", "other"
FAULTS = ("500", "503", "429", "502 after accept")


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


def message_effect(message: dict[str, Any]) -> str:
    """Which delivery a message body (or a stored message, as it is now) is."""
    embed = (message.get("embeds") or [{}])[0]
    author = (embed.get("author") or {}).get("name")
    title = embed.get("title") or ""
    if author == messages.DAILY_TITLE:
        return POST
    if author == messages.CLOSED_TITLE:
        return REVEAL
    if title.startswith(messages.WEEKLY_TITLE):
        return WEEKLY
    if title.startswith(messages.TOP_FIVE_TITLE):
        return BOARD
    return DM if message.get("content") else OTHER


def effect_of(method: str, path: str, body: Any) -> str:
    if method == "PATCH" and path.startswith("/channels/") and "/messages/" in path:
        return REVEAL
    if method == "POST" and path.endswith("/messages") and isinstance(body, dict):
        return message_effect(body)
    return OTHER


@dataclass(frozen=True)
class Hit:
    """One request as the fake saw it: when it arrived (time.monotonic, the same clock
    in every process), what it was, and the status it got."""

    at: float
    method: str
    path: str
    status: int
    effect: str

    @property
    def channel_id(self) -> str | None:
        parts = self.path.split("/")
        return parts[2] if len(parts) > 2 and parts[1] == "channels" else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# --- the fake's process ---------------------------------------------------------------------


class Outage:
    """For `seconds` from `start()`, a `share` of requests (at random) gets one of FAULTS
    instead of the API's answer: 500 (discord.py retries it itself), 503 (it does not),
    a global 429 with Retry-After, or 502 after the message was taken."""

    def __init__(self, seconds: float, share: float, rng: random.Random) -> None:
        self.seconds = seconds
        self.share = share
        self.rng = rng
        self.begins: float | None = None
        self.dealt: Counter[str] = Counter()

    def start(self) -> None:
        self.begins = time.monotonic()

    def answer(self, fake: BenchDiscord, request: web.Request, body: Any) -> web.Response | None:
        if self.begins is None or not 0 <= time.monotonic() - self.begins < self.seconds:
            return None
        if self.rng.random() >= self.share:
            return None
        fault = self.rng.choice(FAULTS)
        self.dealt[fault] += 1
        if fault == "429":
            wait = self.rng.uniform(0.5, 5.0)
            body_429 = {"message": "You are being rate limited.", "retry_after": round(wait, 3)}
            return _json(
                body_429 | {"global": True, "code": 0},
                status=429,
                headers={
                    "Retry-After": retry_after_header(wait),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Via": "1.1 google",  # discord.py takes a 429 without it for a ban
                },
            )
        path = "/" + request.match_info["tail"]
        writes = path.startswith("/channels/") or path == "/users/@me/channels"
        if fault == "502 after accept" and request.method in ("POST", "PATCH") and writes:
            fake._answer(request.method, path, body)  # taken, then the gateway fails
        status = 502 if fault == "502 after accept" else int(fault)
        return _json({"message": "Server error", "code": 0}, status=status)


@dataclass
class BenchDiscord(FakeDiscord):
    """FakeDiscord with a timeline, an outage, and Discord's nonce window: a repeat of a
    nonce is folded into its first message only within `nonce_window` seconds (None:
    for ever, as FakeDiscord does)."""

    timeline: list[Hit] = field(default_factory=list)
    outage: Outage | None = None
    nonce_window: float | None = None
    nonce_expired: int = 0  # repeats that came after their nonce's window
    _nonce_first: dict[tuple[str, str], float] = field(default_factory=dict)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/_bench/state", self._state)
        app.router.add_post("/_bench/outage", self._start_outage)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self.server = TestServer(app, host="127.0.0.1", port=0)
        await self.server.start_server()

    async def _rest(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        body = await request.json() if request.body_exists else None
        path = "/" + request.match_info["tail"]
        response = self.outage.answer(self, request, body) if self.outage else None
        if response is None:
            response = await super()._rest(request)
        else:
            self.calls.append(Call(request.method, path, body, True, None, response.status))
        effect = effect_of(request.method, path, body)
        self.timeline.append(Hit(at, request.method, path, response.status, effect))
        return response

    def _answer(self, method: str, path: str, body: Any, query: Any = None) -> Any:
        nonce = body.get("nonce") if isinstance(body, dict) else None
        if method == "POST" and nonce and body.get("enforce_nonce"):
            now, first = time.monotonic(), self._nonce_first.get((path, nonce))
            if first is None:
                self._nonce_first[(path, nonce)] = now
            elif self.nonce_window is not None and now - first > self.nonce_window:
                body = {k: v for k, v in body.items() if k != "enforce_nonce"}
                self.nonce_expired += 1
                self._nonce_first[(path, nonce)] = now
        return super()._answer(method, path, body, query)

    async def _start_outage(self, request: web.Request) -> web.Response:
        assert self.outage is not None
        self.outage.start()
        return web.json_response({"begins": self.outage.begins})

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "timeline": [list(vars(hit).values()) for hit in self.timeline],
                "messages": list(self.messages.values()),
                "duplicates": self.duplicates(),
                "nonce_expired": self.nonce_expired,
                "outage": {
                    "begins": self.outage.begins if self.outage else None,
                    "seconds": self.outage.seconds if self.outage else 0,
                    "dealt": dict(self.outage.dealt) if self.outage else {},
                },
            }
        )


async def serve(args: argparse.Namespace) -> None:
    outage = Outage(args.outage, args.fail_share, random.Random(args.seed)) if args.outage else None
    fake = BenchDiscord(
        rate_limit=FakeRateLimit(args.rate, args.burst),
        outage=outage,
        nonce_window=args.nonce_window,
    )
    await fake.start()
    assert fake.server is not None
    print(fake.server.port, flush=True)
    # Runs until the bench closes our stdin (or dies), at most --lifetime seconds.
    stdin = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stdin.read(), args.lifetime)
    await fake.close()


@dataclass
class FakeState:
    """What the fake saw, fetched once the run is over."""

    timeline: list[Hit]
    messages: list[dict[str, Any]]
    duplicates: int
    nonce_expired: int
    outage_begins: float | None
    outage_seconds: float
    dealt: dict[str, int]


class FakeProcess:
    """The parent's handle on the fake's process."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.base = yarl.URL(f"http://127.0.0.1:{port}")

    @property
    def api_base(self) -> str:
        return str(self.base / API_PREFIX.lstrip("/"))

    @property
    def gateway_url(self) -> yarl.URL:
        return self.base.with_scheme("ws") / "gateway"

    async def _call(self, method: str, path: str) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, str(self.base / path)) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def start_outage(self) -> float:
        return (await self._call("POST", "_bench/outage"))["begins"]

    async def state(self) -> FakeState:
        data = await self._call("GET", "_bench/state")
        return FakeState(
            [Hit(*entry) for entry in data["timeline"]],
            data["messages"],
            data["duplicates"],
            data["nonce_expired"],
            data["outage"]["begins"],
            data["outage"]["seconds"],
            data["outage"]["dealt"],
        )


@asynccontextmanager
async def fake_discord(
    *,
    rate: float = 50.0,
    burst: float = 50.0,
    outage: float = 0.0,
    fail_share: float = 1.0,
    seed: int = 16,
    nonce_window: float | None = None,
) -> AsyncIterator[FakeProcess]:
    argv = ["--rate", str(rate), "--burst", str(burst), "--outage", str(outage)]
    argv += ["--fail-share", str(fail_share), "--seed", str(seed)]
    if nonce_window is not None:
        argv += ["--nonce-window", str(nonce_window)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        yield FakeProcess(proc, int(line))
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# --- the bot's process ------------------------------------------------------------------------


@dataclass
class Bench:
    service: QuizService
    dispatcher: Dispatcher
    scheduler: DrillScheduler
    clock: RunningClock


def sqlite_path(db_url: str) -> Path:
    return Path(db_url.removeprefix("sqlite:///"))


async def seed_channels(db_url: str, clock: RunningClock, numbers: range, setup: str) -> None:
    """Channels `numbers` configured by an admin with `/quiz setup ...` (the real command)."""
    config = Config(database_url=db_url, questions_dir=TEST_BANK, low_bank_warning=0)
    async with open_service(config, clock) as service:
        command = commands.parse(setup)
        for n in numbers:
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
    config = Config(database_url=db_url, questions_dir=TEST_BANK, low_bank_warning=0)
    async with open_service(config, RunningClock(at)) as service:
        service.register_publisher(PLATFORM, SnowflakePublisher())
        dispatcher = service.delivery
        assert isinstance(dispatcher, Dispatcher)
        dispatcher.limiters = {}
        await DrillScheduler(service, tick=TICK).tick()
        await dispatcher.drain()
    with sqlite3.connect(sqlite_path(db_url)) as conn:
        return conn.execute("SELECT count(*) FROM drills WHERE state = 'open'").fetchone()[0]


@asynccontextmanager
async def running(
    db_url: str,
    data_dir: Path,
    start: datetime,
    fake: FakeProcess,
    on_ready: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIterator[Bench]:
    """The bot logged in to `fake`, its dispatcher and scheduler running on a clock
    that starts at `start` (the first tick fires what is due then); `on_ready` is
    awaited once the bot has logged in, before the first tick."""
    clock = RunningClock(start)
    config = Config(
        database_url=db_url, questions_dir=TEST_BANK, data_dir=data_dir, low_bank_warning=0
    )
    with pytest.MonkeyPatch.context() as patch:
        install(fake, patch)  # type: ignore[arg-type]  # it has api_base and gateway_url
        async with open_service(config, clock) as service:
            dispatcher = service.delivery
            assert isinstance(dispatcher, Dispatcher)
            limiter = dispatcher.limiter(PLATFORM)
            assert limiter is not None
            async with running_bot(service, config, http_trace=discord_trace(limiter)):
                if on_ready is not None:
                    await on_ready()
                scheduler = DrillScheduler(service, tick=TICK)
                dispatcher.start()
                await scheduler.start()
                try:
                    yield Bench(service, dispatcher, scheduler, clock)
                finally:
                    scheduler.shutdown()
                    # shutdown() does not wait for a tick in flight: let it finish
                    # before the database closes under it.
                    await asyncio.sleep(5 * TICK.total_seconds())
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


def row(name: str, value: str, target: str = "", ok: bool | None = None) -> bool:
    """One line of the report; `ok` None for a figure with no target."""
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    print(f"  {name:<50} {value:>16}   {f'target {target}' if target else '':<18} {verdict}")
    return ok is not False


def rate_by_decile(hits: list[Hit], since: float) -> str:
    """Accepted requests per second in each tenth of the run: a flat line is the limiter,
    a falling one is work that grows with the run."""
    accepted = [h.at - since for h in hits if h.ok]
    if not accepted:
        return "-"
    span = max(accepted) / 10 or 1.0
    counts = Counter(min(int(t / span), 9) for t in accepted)
    return " ".join(f"{counts[i] / span:.0f}" for i in range(10))


def main() -> None:
    """The fake's process: `python bench/discord_bench.py --rate 50 ...`."""
    parser = argparse.ArgumentParser(description="the fake Discord for the benches")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--burst", type=float, default=50.0)
    parser.add_argument("--outage", type=float, default=0.0)
    parser.add_argument("--fail-share", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--nonce-window", type=float, default=None)
    parser.add_argument("--lifetime", type=float, default=3600.0, help="seconds at most")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
