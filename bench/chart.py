"""How long the /quiz stats progress chart takes to draw (target: under 300 ms).

    python bench/chart.py [--runs 30]

Draws the chart for a member with answers in 18 topics and 8 weeks of points, once to
warm up (matplotlib's import and font cache), then `--runs` times, and prints the mean,
p50, p95 and max, and the PNG's size.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.charts import progress_png
from bot.core.models import MemberRef, MemberStats, TopicStat, WeekPoints

TARGET_MS = 300


def sample_stats() -> MemberStats:
    topics = tuple(TopicStat(f"topic-{n:02d}", 10 + n, n % 9) for n in range(18))
    weeks = tuple(WeekPoints(f"2025-W{n:02d}", 25 * n) for n in range(1, 9))
    return MemberStats(
        member=MemberRef("bench", "W1", "U1", "ann"),
        answered=sum(t.answered for t in topics),
        correct=sum(t.correct for t in topics),
        points=sum(w.points for w in weeks),
        rank=3,
        ranked_members=40,
        current_streak=6,
        best_streak=11,
        topics=topics,
        freezes=1,
        weeks=weeks,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    stats = sample_stats()
    started = time.perf_counter()
    png = progress_png(stats)
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        png = progress_png(stats)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    width, height = struct.unpack(">II", png[16:24])
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"first draw (imports, font cache): {first:.0f} ms")
    print(
        f"{args.runs} draws: mean {statistics.mean(times):.0f} ms, "
        f"p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms"
    )
    print(f"PNG {width}x{height}, {len(png):,} bytes; target p95 < {TARGET_MS} ms")
    return 0 if p95 < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
