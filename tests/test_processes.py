"""Several bot processes on one PostgreSQL database (bench/crash.py's harness): each runs
the real service, outbox dispatcher and scheduler as `python -m bot run` does, against a
fake platform on 127.0.0.1 that records every message. Every channel must get its post,
reveal and weekly board once, whichever process wins each claim."""

from __future__ import annotations

import pytest

from bench.crash import run

# Real processes and real time: about a minute each on a quiet machine, more under load.
pytestmark = pytest.mark.timeout(300)


async def test_four_processes_racing_over_200_channels_post_reveal_and_board_once(
    pg_migrated_url,
):
    result = await run(200, 0, 7, 0.0, processes=4, db_url=pg_migrated_url)
    assert result.count("post") == [1] * 200
    assert result.count("reveal") == [1] * 200
    assert result.count("Top 5 this week") == [1] * 200
    assert result.count("Weekly leaderboard") == [1] * 200
    assert (result.undelivered, result.ghosts) == (0, 0)


async def test_processes_killed_and_restarted_around_the_post_time_lose_and_double_nothing(
    pg_migrated_url,
):
    """SIGKILLs in every phase, with 10% of calls answered 502 after the platform took
    them: posts are looked up before a resend, so each channel has exactly one; boards
    have no lookup, so a kill right after one was taken may repeat it (documented)."""
    result = await run(40, 12, 11, 0.1, processes=4, db_url=pg_migrated_url)
    assert result.kills == 12
    assert result.count("post") == [1] * 40
    assert min(result.count("reveal")) >= 1
    assert min(result.count("Weekly leaderboard")) >= 1
    assert min(result.count("Top 5 this week")) >= 1
    assert (result.undelivered, result.ghosts) == (0, 0)
