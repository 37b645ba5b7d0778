"""Discord outage, run by hand: `python bench/outage.py [--channels 100] [--outage 60]`.

100 Discord channels come due on a Friday: Friday's question (09:00, overdue when the
bot starts at 09:04:40) and the weekly board (09:05, 20 s later). Half of them
(`--with-yesterday`) still have Thursday's drill open, so the reveal of Thursday's drill
and its short board go first; in the other half the question is the first row, so
posts meet the outage from its start. The bot is the
real one (scheduler tick, outbox dispatcher, discord.py client); from the moment it has
logged in, the fake Discord API answers `--fail-share` of the requests (80% by default)
for `--outage` seconds with one of, at random: 500 (discord.py retries it itself), 503
(it does not), a global 429 with Retry-After, or 502 after it took the message ("5xx
after accept": the message is out, the bot is told it failed). Then it recovers (held
to 50 requests/s). With a share of 1, only each channel's first row (the reveal) meets
the outage: a channel's rows go out in order, so nothing behind it is tried.

Afterwards every channel must show each effect once: lost is 0 for every kind, and
duplicates only where documented as unavoidable. Every message carries a nonce, which
Discord folds into the first message within its window ("a few minutes"); past
`--nonce-window` (30 s by default, so that the bench reaches past it) the fake takes a
repeat as a new message. A post whose outcome is unknown is looked up in the channel's
history before it is sent again, so it must never repeat; a board has no lookup
(bot/delivery/dispatcher.py says so), so a board's repeat past its nonce window is the
documented duplicate, counted apart; any other duplicate misses the target.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.discord_bench import (  # noqa: E402
    BOARD,
    FAULTS,
    POST,
    REVEAL,
    WEEKLY,
    RunningClock,
    channel,
    fake_discord,
    message_effect,
    outbox_states,
    quiet_logs,
    row,
    running,
    seed_channels,
    seed_open_drills,
    settled,
)

FRIDAY = datetime(2025, 1, 17, tzinfo=UTC)
POST_AT = FRIDAY + timedelta(hours=9)
START = POST_AT + timedelta(minutes=4, seconds=40)  # the weekly boards follow at 09:05
SETUP = "/quiz setup tz:UTC time:09:00 topics:testing close:none"
EFFECTS = (POST, REVEAL, BOARD, WEEKLY)


async def run(
    channels: int, yesterday: int, outage: float, share: float, nonce_window: float, seed: int
) -> bool:
    print(
        f"Outage: {channels} Discord channels due ({yesterday} with yesterday's drill open)"
        f" while the API fails {share:.0%} of requests for {outage:g} s"
        f" ({', '.join(FAULTS)}), then recovers; nonce window {nonce_window:g} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'outage.db'}"
        thursday = POST_AT - timedelta(days=1)
        early = RunningClock(thursday - timedelta(minutes=2))
        await seed_channels(db_url, early, range(yesterday), SETUP)
        opened = await seed_open_drills(db_url, thursday)
        assert opened == yesterday, f"{opened} of {yesterday} drills open on Thursday"
        later = RunningClock(POST_AT - timedelta(minutes=2))
        await seed_channels(db_url, later, range(yesterday, channels), SETUP)

        async with fake_discord(
            outage=outage, fail_share=share, seed=seed, nonce_window=nonce_window
        ) as fake:
            # The outage begins once the bot has logged in, before its first tick.
            async with running(db_url, Path(tmp), START, fake, fake.start_outage) as bench:
                weekly_due = bench.clock.monotonic_at(POST_AT + timedelta(minutes=5))
                rows = 2 * channels + 3 * yesterday  # Thursday's posts are rows too
                done = await settled(db_url, rows, within=outage + 600)
                await asyncio.sleep(1.0)  # anything still on its way counts too
            seen = await fake.state()
        states = outbox_states(db_url)

    assert seen.outage_begins is not None
    ends = seen.outage_begins + seen.outage_seconds
    ids = [channel(n).channel_id for n in range(channels)]
    expected = {POST: ids, WEEKLY: ids, REVEAL: ids[:yesterday], BOARD: ids[:yesterday]}
    counts: dict[str, Counter[str]] = {effect: Counter() for effect in EFFECTS}
    for message in seen.messages:
        if (effect := message_effect(message)) in counts:
            counts[effect][message["channel_id"]] += 1
    hits = [h for h in seen.timeline if h.at >= seen.outage_begins]
    accepted = [h for h in hits if h.ok and h.effect in EFFECTS]
    last = max((h.at for h in accepted), default=ends)

    ok = row("settled (no outbox row pending or sending)", "yes" if done else "NO", "yes", done)
    kept = Counter(h.effect for h in hits if h.status == 502 and h.effect in EFFECTS)
    failed = Counter(h.effect for h in hits if not h.ok)
    during = Counter(h.effect for h in hits if h.ok and h.at < ends)
    print(
        f"  {'effect':<8} {'once':>5} {'lost':>5} {'dupl.':>6} {'failed':>7} {'502 kept':>9}"
        f" {'ok in outage':>13}   outbox rows (Thursday's posts too)"
    )
    board_repeats = 0
    for effect in EFFECTS:
        once = sum(counts[effect][c] == 1 for c in expected[effect])
        lost = sum(counts[effect][c] == 0 for c in expected[effect])
        twice = sum(max(counts[effect][c] - 1, 0) for c in ids)
        rows = {state: n for (kind, state), n in states.items() if kind == effect}
        print(
            f"  {effect:<8} {once:>5} {lost:>5} {twice:>6} {failed[effect]:>7}"
            f" {kept[effect]:>9} {during[effect]:>13}   {rows}"
        )
        ok &= lost == 0 and all(state == "done" for state in rows)
        if effect in (BOARD, WEEKLY):
            board_repeats += twice
        else:
            ok &= twice == 0  # a post is looked up before a resend; a reveal is an edit
    documented = min(seen.nonce_expired, board_repeats)
    row("lost (every kind)", "see above", "0")
    row("post and reveal duplicates", "see above", "0")
    row("board repeats past the nonce window", f"{documented}", "documented")
    ok &= row(
        "board repeats within the nonce window",
        f"{board_repeats - documented}",
        "0",
        board_repeats == documented,
    )
    dms = sum(n for (kind, _), n in states.items() if kind == "dm")
    ok &= row("admin DMs (a delivery given up)", f"{dms}", "0", dms == 0)
    row("outage end to the last delivery", f"{last - ends:.1f} s")
    row("requests during the outage", f"{sum(seen.dealt.values())}")
    row("  by fault", ", ".join(f"{k}: {v}" for k, v in sorted(seen.dealt.items())))
    row("requests after it", f"{sum(h.at >= ends for h in hits)}")
    # Each channel's weekly board is due 20 s in, and may go once the channel's post is
    # done: how long it then waited shows whether other channels' slow calls held it.
    posted: dict[str, float] = {}
    weekly_tried: dict[str, float] = {}
    for h in hits:
        if h.effect == POST and h.ok and h.channel_id:
            posted.setdefault(h.channel_id, h.at)
        if h.effect == WEEKLY and h.channel_id:
            weekly_tried.setdefault(h.channel_id, h.at)
    waits = sorted(
        weekly_tried[c] - max(posted[c], weekly_due)
        for c in ids
        if c in posted and c in weekly_tried and posted[c] < ends
    )
    if waits:
        row(
            "weekly board's wait once it could go (median, max)",
            f"{waits[len(waits) // 2]:.1f} s, {waits[-1]:.1f} s",
        )
        row("  for channels posted during the outage", f"{len(waits)}")
    for c in ids:
        if counts[POST][c] > 1:  # what the channel's post requests were answered, in order
            statuses = [str(h.status) for h in hits if h.channel_id == c and h.effect == POST]
            row(f"  channel {c}: post answers", " ".join(statuses))
    lookups = [h for h in hits if h.method == "GET" and h.path.endswith("/messages")]
    row("history lookups before a resend (accepted)", f"{sum(h.ok for h in lookups)}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument(
        "--with-yesterday", type=int, default=50, help="channels with Thursday's drill open"
    )
    parser.add_argument("--outage", type=float, default=60.0, help="seconds of failures")
    parser.add_argument("--fail-share", type=float, default=0.8, help="of requests, 0-1")
    parser.add_argument("--nonce-window", type=float, default=30.0, help="seconds")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    quiet_logs()
    ok = asyncio.run(
        run(
            args.channels,
            min(args.with_yesterday, args.channels),
            args.outage,
            args.fail_share,
            args.nonce_window,
            args.seed,
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
