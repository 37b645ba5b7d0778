"""Fan-out, run by hand: `python bench/fanout.py [--channels 1000] [--with-yesterday]`.

N Discord channels, all due at 09:00 on the same day, delivered by the real scheduler
tick, outbox dispatcher and discord.py client against a fake Discord API on 127.0.0.1
(its own process) that holds every request to 50 per second: a token bucket, and past
it a global 429 with Retry-After, X-RateLimit-Global and X-RateLimit-Scope, as Discord
answers. The design's budget: every post out within 1.1x of N/50 s after the due
minute, under 1% of requests answered 429, no channel missing and none posted twice.

`--with-yesterday`: every channel still has yesterday's drill open (posted with an id,
closing at the next post), so each needs three requests: the reveal (an edit of
yesterday's post), the short board, then the new question. Every reveal and board must
arrive, both before the channel's new question, and all within 1.1x of 3N/50 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.discord_bench import (  # noqa: E402
    BOARD,
    POST,
    REVEAL,
    Hit,
    RunningClock,
    channel,
    fake_discord,
    message_effect,
    outbox_states,
    quiet_logs,
    rate_by_decile,
    row,
    running,
    seed_channels,
    seed_open_drills,
    settled,
)

DUE = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)  # a Wednesday; the channels keep UTC
SETUP = "/quiz setup tz:UTC time:09:00 topics:testing close:none"
API_RATE = 50.0  # Discord's global limit, requests per second
SLACK = 1.1  # the budget: within 1.1x of the bound
LEAD = 1.0  # seconds the bot runs before the due minute


def first_accepted(hits: list[Hit]) -> dict[tuple[str, str], float]:
    """(channel id, effect) -> arrival of its first accepted request."""
    first: dict[tuple[str, str], float] = {}
    for hit in hits:
        if hit.ok and hit.channel_id is not None:
            first.setdefault((hit.channel_id, hit.effect), hit.at)
    return first


async def run(channels: int, with_yesterday: bool, burst: float) -> bool:
    per_channel = 3 if with_yesterday else 1
    bound = per_channel * channels / API_RATE
    print(
        f"Fan-out: {channels:,} Discord channels due at the same minute"
        f"{', each with yesterday’s drill open (reveal + board + post)' if with_yesterday else ''};"
        f" fake API held to {API_RATE:g} requests/s (bucket of {burst:g})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'fanout.db'}"
        started = time.perf_counter()
        seed_day = DUE - timedelta(days=1) if with_yesterday else DUE
        await seed_channels(
            db_url, RunningClock(seed_day - timedelta(minutes=2)), range(channels), SETUP
        )
        if with_yesterday:
            opened = await seed_open_drills(db_url, seed_day)
            assert opened == channels, f"{opened} of {channels} drills open yesterday"
        print(f"  (seeded in {time.perf_counter() - started:.1f} s)")

        async with fake_discord(rate=API_RATE, burst=burst) as fake:
            async with running(db_url, Path(tmp), DUE - timedelta(seconds=LEAD), fake) as bench:
                due_at = bench.clock.monotonic_at(DUE)
                cpu = time.process_time()
                done = await settled(db_url, per_channel * channels, within=3 * bound + 60)
                wall = time.monotonic() - due_at
                cpu = time.process_time() - cpu
                await asyncio.sleep(1.0)  # anything still on its way counts too
            seen = await fake.state()
        states = outbox_states(db_url)

    hits = [h for h in seen.timeline if h.at >= due_at]
    limited = sum(h.status == 429 for h in hits)
    posts = [h for h in hits if h.effect == POST and h.ok]
    last_post = max((h.at for h in posts), default=due_at) - due_at
    first_request = min((h.at for h in hits), default=due_at) - due_at
    by_channel: dict[str, Counter[str]] = {}
    for message in seen.messages:
        by_channel.setdefault(message["channel_id"], Counter())[message_effect(message)] += 1
    ids = [channel(n).channel_id for n in range(channels)]
    count = {c: by_channel.get(c, Counter()) for c in ids}
    missing = sum(count[c][POST] == 0 for c in ids)
    twice = sum(max(count[c][POST] - 1, 0) for c in ids) + seen.duplicates
    undelivered = sum(n for (_, state), n in states.items() if state != "done")

    ok = row("settled (every outbox row done)", "yes" if done else "NO", "yes", done)
    ok &= row(
        "due minute to the last new question",
        f"{last_post:.1f} s",
        f"<= {SLACK * bound:.1f} s",
        last_post <= SLACK * bound,
    )
    row("  the bound, at 50 requests/s", f"{bound:.1f} s")
    row("  ratio to the bound", f"{last_post / bound:.3f}", f"<= {SLACK}")
    row("  due minute to the first request", f"{first_request:.2f} s")
    row("  accepted requests/s by tenth of the run", rate_by_decile(hits, due_at))
    row("  bot CPU (this process) per delivery", f"{1000 * cpu / len(hits or [0]):.1f} ms")
    row("  bot CPU share of the wall time", f"{cpu / wall:.0%}")
    row("requests after the due minute", f"{len(hits):,}", f"{per_channel * channels:,}")
    share = limited / max(len(hits), 1)
    ok &= row("answered 429", f"{limited} ({share:.2%})", "< 1%", share < 0.01)
    ok &= row("channels missing their question", f"{missing}", "0", missing == 0)
    ok &= row("duplicate messages", f"{twice}", "0", twice == 0)
    ok &= row("outbox rows not done", f"{undelivered}", "0", undelivered == 0)
    if with_yesterday:
        first = first_accepted(hits)
        reveals = sum((c, REVEAL) in first for c in ids)
        boards = sum(count[c][BOARD] >= 1 for c in ids)
        out_of_order = sum(
            (c, POST) in first
            and (
                first.get((c, REVEAL), float("inf")) > first[(c, POST)]
                or first.get((c, BOARD), float("inf")) > first[(c, POST)]
            )
            for c in ids
        )
        ok &= row("reveals delivered", f"{reveals:,}", f"{channels:,}", reveals == channels)
        ok &= row("boards delivered", f"{boards:,}", f"{channels:,}", boards == channels)
        ok &= row(
            "channels whose question beat its reveal or board",
            f"{out_of_order}",
            "0",
            out_of_order == 0,
        )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--with-yesterday", action="store_true")
    parser.add_argument(
        "--burst", type=float, default=API_RATE, help="the fake's bucket size (requests)"
    )
    args = parser.parse_args()
    quiet_logs()
    ok = asyncio.run(run(args.channels, args.with_yesterday, args.burst))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
