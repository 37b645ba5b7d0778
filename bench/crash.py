"""Crash test, run by hand: `python bench/crash.py [--channels 20] [--kills 24]
[--processes 4] [--database-url postgresql://...]`; tests/test_processes.py runs it with
4 processes on PostgreSQL.

A fake platform (an aiohttp server on 127.0.0.1, in this process, so it outlives every
kill) records what the bot sends. The bot runs in `--processes` child processes (one by
default): the real service, outbox dispatcher and scheduler tick, as `python -m bot run`
starts them, over one database (a temporary SQLite file, or `--database-url`), with a
publisher that talks to the fake over HTTP. The children's clock is a file this process
moves: Friday 09:00 (the posts), 17:00 (the closes: reveals and short boards), 17:05
(the weekly boards). Each phase lasts PHASE_SECONDS, and then as long as its work takes
(the simulated time running on, short of the next phase), so that a loaded machine does
not push posts past the close. A random child is SIGKILLed at random moments in every
phase, `--kills` times in all, and restarted at once. The fake answers slowly at random, and
(`--bad-gateway`, 10% by default) 502 after it took a message, so kills land before,
during and after calls.

Afterwards every channel must show one post, one reveal and one weekly board, and no
drill whose post is out may refuse answers (a "ghost post"). Short boards and weekly
boards have no lookup before a resend, so a kill right after the platform took one can
repeat it: those repeats are counted and reported (the documented duplicate).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession, web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import report  # noqa: E402
from bot.core.errors import TransientFailure  # noqa: E402
from bot.core.models import ChannelRef, DrillPost, DrillResult, Leaderboard  # noqa: E402
from tests.dbtools import sql  # noqa: E402

TEST_BANK = ROOT / "tests" / "bank"
FRIDAY = datetime(2025, 1, 17, tzinfo=UTC)  # Berlin is UTC+1 in January
PHASES = (
    FRIDAY + timedelta(hours=8),  # 09:00 Berlin: the posts
    FRIDAY + timedelta(hours=16),  # 17:00: the closes, reveals and short boards
    FRIDAY + timedelta(hours=16, minutes=5),  # 17:05: the weekly boards
)
PHASE_SECONDS = 6.0  # real seconds per phase
SETTLE_SECONDS = 60.0  # at most, after the last phase, for what is still due
SIM_STEP = timedelta(seconds=15)  # simulated time per real 0.1 s (rows left 'sending'
# by a kill are stale after 2 simulated minutes, 0.8 s here)


class FilePlatform:
    """The fake platform: remembers every message, answers slowly, sometimes 502s."""

    def __init__(self, rng: random.Random, bad_gateway: float) -> None:
        self.rng = rng
        self.bad_gateway = bad_gateway
        self.log: list[dict] = []
        self.posts: dict[tuple[str, int], str] = {}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        kind = request.match_info["kind"]
        await asyncio.sleep(self.rng.uniform(0, 0.03))
        if kind == "find":
            found = self.posts.get((body["channel"], body["drill"]))
            return web.json_response({"id": found})
        self.log.append({"kind": kind, **body})
        message_id = f"m{len(self.log)}"
        if kind == "post":
            self.posts[(body["channel"], body["drill"])] = message_id
        await asyncio.sleep(self.rng.uniform(0, 0.03))
        if self.rng.random() < self.bad_gateway:
            return web.json_response({"error": "bad gateway"}, status=502)
        return web.json_response({"id": message_id})


class HttpPublisher:
    """The child's publisher: every call is one request to the fake platform."""

    def __init__(self, url: str, session: ClientSession) -> None:
        self.url = url
        self.session = session

    async def _call(self, kind: str, **body: object) -> str | None:
        async with self.session.post(f"{self.url}/{kind}", json=body) as response:
            if response.status >= 500:
                raise TransientFailure(f"platform answered {response.status}", maybe_delivered=True)
            return (await response.json())["id"]

    async def post_drill(self, post: DrillPost) -> str:
        found = await self._call("post", channel=post.drill.channel.channel_id, drill=post.drill.id)
        assert found is not None
        return found

    async def find_drill_post(self, channel: ChannelRef, drill_id: int) -> str | None:
        return await self._call("find", channel=channel.channel_id, drill=drill_id)

    async def reveal_drill(self, result: DrillResult) -> None:
        await self._call("reveal", channel=result.drill.channel.channel_id, drill=result.drill.id)

    async def post_leaderboard(self, channel: ChannelRef, board: Leaderboard, title: str) -> None:
        await self._call("board", channel=channel.channel_id, title=title)

    async def post_private(self, channel: ChannelRef, user_id: str, text: str) -> None:
        await self._call("dm", channel=channel.channel_id, user=user_id)

    async def remind(self, post: DrillPost, user_id: str, text: str) -> None:
        await self._call("remind", channel=post.drill.channel.channel_id, user=user_id)

    def channel_mention(self, channel: ChannelRef) -> str:
        return f"#{channel.channel_id}"


class FileClock:
    """The simulated time, as the parent last wrote it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


def set_clock(path: Path, instant: datetime) -> None:
    """Written beside the clock and renamed over it: a child never reads half a time."""
    staged = path.with_suffix(".next")
    staged.write_text(instant.isoformat())
    os.replace(staged, path)


def child(db_url: str, clock_file: str, platform_url: str) -> None:
    from bot.app import open_service
    from bot.config import Config
    from bot.delivery.dispatcher import Dispatcher
    from bot.scheduler import DrillScheduler

    async def main() -> None:
        config = Config(database_url=db_url, questions_dir=TEST_BANK, low_bank_warning=0)
        async with (
            ClientSession() as session,
            open_service(config, FileClock(Path(clock_file))) as service,
        ):
            service.register_publisher("bench", HttpPublisher(platform_url, session))
            dispatcher = service.delivery
            assert isinstance(dispatcher, Dispatcher)
            dispatcher.idle_poll = 0.1
            dispatcher.start()
            scheduler = DrillScheduler(service, tick=timedelta(seconds=0.1))
            await scheduler.start()
            await asyncio.Event().wait()

    asyncio.run(main())


async def seed(db_url: str, clock_file: Path, channels: int) -> None:
    from bot.app import open_service
    from bot.config import Config
    from bot.core import commands
    from bot.core.models import MemberRef
    from bot.core.service import Invocation

    set_clock(clock_file, PHASES[0] - timedelta(minutes=1))
    config = Config(database_url=db_url, questions_dir=TEST_BANK, low_bank_warning=0)
    async with open_service(config, FileClock(clock_file)) as service:
        for i in range(channels):
            admin = Invocation(
                MemberRef("bench", "W1", "admin"), ChannelRef("bench", "W1", f"C{i}"), True
            )
            await service.execute(
                commands.parse("/quiz setup tz:Europe/Berlin topics:testing close:17:00"), admin
            )


@dataclass(frozen=True)
class CrashResult:
    """What the platform received per channel, and what the database kept."""

    channels: int
    kills: int
    by_channel: dict[str, Counter[str]]
    states: Counter[str]
    ghosts: int

    def count(self, label: str) -> list[int]:
        return [received[label] for received in self.by_channel.values()]

    @property
    def undelivered(self) -> int:
        return self.states["pending"] + self.states["sending"]


GHOSTS = """SELECT count(*) FROM drills WHERE state NOT IN ('open', 'closed')
            AND id IN (SELECT drill_id FROM outbox WHERE kind = 'post'
                       AND (state = 'done' OR CAST(unsure AS integer) = 1))"""


# Ghost posts, drills whose post is out, drills not yet closed, weekly boards claimed.
COUNTS = {
    "ghosts": GHOSTS,
    "posted": "SELECT count(*) FROM drills WHERE message_id IS NOT NULL",
    "live": "SELECT count(*) FROM drills WHERE state IN ('pending', 'posting', 'open')",
    "weekly": "SELECT count(*) FROM weekly_boards",
}


def _facts(db_url: str) -> tuple[Counter[str], dict[str, int]]:
    states = Counter(row[0] for row in sql(db_url, "SELECT state FROM outbox"))
    return states, {name: sql(db_url, query)[0][0] for name, query in COUNTS.items()}


async def database_facts(db_url: str) -> tuple[Counter[str], dict[str, int]]:
    """The outbox's states and the COUNTS, from SQLite or PostgreSQL (tests/dbtools), off
    the event loop that serves the fake platform."""
    return await asyncio.to_thread(_facts, db_url)


def phase_done(phase: int, channels: int, counts: dict[str, int]) -> bool:
    """Every channel's post out (phase 0), every drill closed (1), every weekly board
    claimed (2)."""
    if phase == 0:
        return counts["posted"] == channels
    if phase == 1:
        return counts["live"] == 0
    return counts["weekly"] == channels


async def finish_phase(
    db_url: str, clock_file: Path, sim: datetime, until: datetime, phase: int, channels: int
) -> datetime:
    """Let the simulated time run on, but not to `until` (the next phase's time), until
    the phase's work is done and no outbox row is pending or sending for 5 polls in a row,
    or SETTLE_SECONDS: a loaded machine takes longer than a quiet one. Returns the time."""
    calm = 0
    with contextlib.suppress(TimeoutError):  # what is left shows in the result
        async with asyncio.timeout(SETTLE_SECONDS):
            while calm < 5:
                sim = min(sim + SIM_STEP, until - SIM_STEP)
                set_clock(clock_file, sim)
                await asyncio.sleep(0.2)
                states, counts = await database_facts(db_url)
                idle = states["pending"] + states["sending"] == 0
                calm = calm + 1 if idle and phase_done(phase, channels, counts) else 0
    return sim


async def run(
    channels: int,
    kills: int,
    seed_value: int,
    bad_gateway: float,
    *,
    processes: int = 1,
    db_url: str | None = None,
    kill_phases: tuple[int, ...] = (0, 1, 2),
) -> CrashResult:
    """`processes` children over one database (a temporary SQLite file unless `db_url`
    names an empty one), `kills` SIGKILLs of a random child spread over `kill_phases`,
    each child restarted at once."""
    rng = random.Random(seed_value)
    platform = FilePlatform(rng, bad_gateway)
    app = web.Application()
    app.router.add_post("/{kind}", platform.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        db_url = db_url or f"sqlite:///{Path(tmp) / 'crash.db'}"
        clock_file = Path(tmp) / "clock"
        await seed(db_url, clock_file, channels)

        async def spawn() -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--child",
                db_url,
                str(clock_file),
                url,
                stderr=asyncio.subprocess.DEVNULL,
            )

        done_kills = 0
        per_phase = [0] * len(PHASES)
        for i in range(kills):
            per_phase[kill_phases[i % len(kill_phases)]] += 1
        procs = [await spawn() for _ in range(processes)]
        ends = (*PHASES[1:], PHASES[-1] + timedelta(hours=1))
        for index, (phase, phase_kills) in enumerate(zip(PHASES, per_phase, strict=True)):
            sim = phase
            kill_at = sorted(rng.uniform(0.1, PHASE_SECONDS - 0.5) for _ in range(phase_kills))
            elapsed = 0.0
            while elapsed < PHASE_SECONDS:
                set_clock(clock_file, sim)
                await asyncio.sleep(0.1)
                elapsed += 0.1
                sim += SIM_STEP
                while kill_at and kill_at[0] <= elapsed:
                    kill_at.pop(0)
                    victim = rng.randrange(processes)
                    os.kill(procs[victim].pid, signal.SIGKILL)
                    await procs[victim].wait()
                    done_kills += 1
                    procs[victim] = await spawn()
            sim = await finish_phase(db_url, clock_file, sim, ends[index], index, channels)
        for proc in procs:
            os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            await proc.wait()
        states, counts = await database_facts(db_url)
    await runner.cleanup()

    by_channel: dict[str, Counter[str]] = {f"C{i}": Counter() for i in range(channels)}
    for entry in platform.log:
        label = entry["kind"] if entry["kind"] != "board" else entry["title"]
        by_channel[entry["channel"]][label] += 1
    return CrashResult(channels, done_kills, by_channel, states, counts["ghosts"])


def print_report(result: CrashResult, processes: int, bad_gateway: float) -> None:
    channels = result.channels
    posts, reveals = result.count("post"), result.count("reveal")
    weekly, short = result.count("Weekly leaderboard"), result.count("Top 5 this week")
    print(
        f"Crash test: {channels} channels, {processes} processes, {result.kills} SIGKILLs,"
        f" {bad_gateway:.0%} of calls answered 502 after the platform took them;"
        f" outbox {dict(result.states)}"
    )
    report(
        "channels with exactly one post",
        f"{posts.count(1)}",
        f"{channels}",
        posts.count(1) == channels,
    )
    report(
        "channels with a reveal (an edit; repeats harmless)",
        f"{sum(r >= 1 for r in reveals)}",
        f"{channels}",
        all(r >= 1 for r in reveals),
    )
    report(
        "channels with one weekly board",
        f"{weekly.count(1)}",
        f"{channels}",
        weekly.count(1) == channels,
    )
    report("weekly boards missing", f"{weekly.count(0)}", "0", weekly.count(0) == 0)
    report("short boards missing", f"{short.count(0)}", "0", short.count(0) == 0)
    report(
        "board repeats after a kill (documented)",
        f"{sum(max(n - 1, 0) for n in short + weekly)}",
        "few",
        True,
    )
    report("ghost posts (out, answers refused)", f"{result.ghosts}", "0", result.ghosts == 0)
    report("rows not delivered", f"{result.undelivered}", "0", result.undelivered == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--bad-gateway", type=float, default=0.1, help="share of calls answered 502 after"
    )
    parser.add_argument("--processes", type=int, default=1, help="children on one database")
    parser.add_argument(
        "--database-url",
        default=None,
        help="an empty, migrated database (postgresql://...); default a temporary SQLite file",
    )
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.channels,
            args.kills,
            args.seed,
            args.bad_gateway,
            processes=args.processes,
            db_url=args.database_url,
        )
    )
    print_report(result, args.processes, args.bad_gateway)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
