"""The client-side rate limiter on virtual time: pacing, bursts, scopes and pauses."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from bot.core.errors import TransientFailure
from bot.delivery.ratelimit import (
    DISCORD_RULES,
    SLACK_RULES,
    RateLimiter,
    Rule,
    discord_keys,
    slack_keys,
)


class VirtualTime:
    """A monotonic clock that moves only when every task is asleep: then it jumps to the
    earliest wake-up and wakes that sleeper, so tests see exact instants."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._seq), future))
        await future

    async def run(self, awaitable: Awaitable[T]) -> T:
        task = asyncio.ensure_future(awaitable)
        while True:
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if task.done():
                return task.result()
            assert self._sleepers, "deadlock: nothing is sleeping and the task is not done"
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            future.set_result(None)


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


T = TypeVar("T")


def limiter(vt: VirtualTime, *rules: Rule) -> RateLimiter:
    return RateLimiter(rules, clock=vt.clock, sleep=vt.sleep)


async def release_times(lim: RateLimiter, vt: VirtualTime, keys_list: list[tuple[str, ...]]):
    """When each acquire returned, in virtual seconds, in the order they were started."""
    times: list[float] = [0.0] * len(keys_list)

    async def one(index: int, keys: tuple[str, ...]) -> None:
        await lim.acquire(keys)
        times[index] = vt.now

    await vt.run(asyncio.gather(*(one(i, keys) for i, keys in enumerate(keys_list))))
    return times


def most_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(
        sum(1 for t in ordered[i:] if t < start + window - 1e-9) for i, start in enumerate(ordered)
    )


async def test_requests_leave_at_the_rule_rate_in_the_order_they_asked(vt):
    lim = limiter(vt, Rule("discord", rate=10))
    times = await release_times(lim, vt, [("discord",)] * 50)
    assert times == sorted(times)
    assert times[-1] == pytest.approx(4.9)
    assert most_in_any_window(times, 1.0) == 10


async def test_the_discord_default_keeps_the_fanout_budget_and_under_50_in_any_second(vt):
    """5,000 posts to 5,000 channels: within 1.1x of 5000/50 s with room left for the
    work around each call, and never more than Discord's 50 in one second."""
    lim = limiter(vt, *DISCORD_RULES)
    times = await release_times(lim, vt, [discord_keys(f"C{n}") for n in range(5000)])
    assert times[-1] <= 1.05 * 5000 / 50
    assert most_in_any_window(times, 1.0) < 50


async def test_a_burst_goes_at_once_then_the_steady_rate_follows(vt):
    lim = limiter(vt, Rule("discord", rate=10, burst=5))
    times = await release_times(lim, vt, [("discord",)] * 15)
    assert times[:5] == [0.0] * 5
    assert times[5:] == pytest.approx([0.1 * n for n in range(1, 11)])


async def test_a_request_waits_for_every_key_it_names(vt):
    lim = limiter(vt, Rule("discord:channel:*", rate=1), Rule("discord", rate=100))
    keys = [discord_keys("A"), discord_keys("A"), discord_keys("A"), discord_keys("B")]
    times = await release_times(lim, vt, keys)
    assert times[:3] == pytest.approx([0.0, 1.0, 2.0])  # channel A at 1/s
    assert times[3] == pytest.approx(0.01)  # channel B only waits for the global slot


async def test_an_event_loop_stall_releases_one_burst_not_the_backlog(vt):
    """Slots that fell due while the loop was stalled must not all leave together."""
    lim = limiter(vt, Rule("discord", rate=10, burst=2))
    times: list[float] = []

    async def one() -> None:
        await lim.acquire(("discord",))
        times.append(vt.now)

    async def stall() -> None:
        await vt.sleep(0.05)
        vt.now += 2.0  # the loop was busy for two seconds; every timer is overdue

    await vt.run(asyncio.gather(*(one() for _ in range(30)), stall()))
    after = [t for t in times if t >= 2.05]
    assert len(after) == 28
    assert most_in_any_window(after, 0.1) <= 2
    assert most_in_any_window(times, 1.0) <= 10 + 2


async def test_keys_without_a_rule_are_not_limited(vt):
    lim = limiter(vt, Rule("discord", rate=1))
    times = await release_times(lim, vt, [("slack:T1:chat.update",)] * 20)
    assert times == [0.0] * 20


async def test_pause_holds_the_key_for_retry_after_then_resumes_one_at_a_time(vt):
    lim = limiter(vt, Rule("discord", rate=10, burst=5))
    lim.pause("discord", 2.5)
    times = await release_times(lim, vt, [("discord",)] * 5)
    assert times[0] == pytest.approx(2.5)
    assert times[1:] == pytest.approx([2.6, 2.7, 2.8, 2.9])  # no burst right after a 429


async def test_a_pause_that_arrives_while_waiting_moves_the_waiters(vt):
    lim = limiter(vt, Rule("discord", rate=10))
    times: list[float] = []

    async def one() -> None:
        await lim.acquire(("discord",))
        times.append(vt.now)

    async def pause_soon() -> None:
        await vt.sleep(0.05)  # after all three reserved 0.0, 0.1 and 0.2
        lim.pause("discord", 3.0)

    await vt.run(asyncio.gather(one(), one(), one(), pause_soon()))
    assert times[0] == 0.0
    assert min(times[1:]) >= 3.05


async def test_pausing_an_unknown_key_still_holds_it(vt):
    lim = limiter(vt)
    lim.pause("slack:channel:C1", 4.0)
    times = await release_times(lim, vt, [slack_keys("T1", "chat.postMessage", "C1")])
    assert times == [pytest.approx(4.0)]


async def test_slot_pauses_the_platform_on_a_global_limit(vt):
    lim = limiter(vt, *DISCORD_RULES)
    with pytest.raises(TransientFailure):
        async with lim.slot(*discord_keys("A")):
            raise TransientFailure("429", retry_after=2.0, global_limit=True)
    times = await release_times(lim, vt, [discord_keys("B")])
    assert times[0] >= 2.0


async def test_slot_pauses_only_the_route_on_a_route_limit(vt):
    lim = limiter(vt, *DISCORD_RULES)
    with pytest.raises(TransientFailure):
        async with lim.slot(*discord_keys("A")):
            raise TransientFailure("429", retry_after=2.0)
    other, same = await release_times(lim, vt, [discord_keys("B"), discord_keys("A")])
    assert other < 1.0
    assert same >= 2.0


async def test_slot_lets_other_errors_through_without_pausing(vt):
    lim = limiter(vt, Rule("discord", rate=1, burst=2))
    with pytest.raises(KeyError):
        async with lim.slot("discord"):
            raise KeyError("bug")
    assert await release_times(lim, vt, [("discord",)]) == [0.0]


async def test_an_exhausted_bucket_learned_from_headers_waits_for_its_reset(vt):
    lim = limiter(vt)
    lim.learn("discord:route:abc", remaining=3, reset_after=9.0)
    assert await release_times(lim, vt, [("discord:route:abc",)]) == [0.0]
    lim.learn("discord:route:abc", remaining=0, reset_after=1.5)
    assert await release_times(lim, vt, [("discord:route:abc",)]) == [pytest.approx(1.5)]


async def test_slack_posts_pace_each_channel_at_one_per_second(vt):
    lim = limiter(vt, *SLACK_RULES)
    keys = [slack_keys("T1", "chat.postMessage", "C1")] * 3 + [
        slack_keys("T1", "chat.postMessage", "C2")
    ]
    times = await release_times(lim, vt, keys)
    assert times[:3] == pytest.approx([0.0, 1.0, 2.0])
    assert times[3] < 1.0


async def test_slack_updates_follow_tier_three(vt):
    lim = limiter(vt, *SLACK_RULES)
    times = await release_times(lim, vt, [slack_keys("T1", "chat.update", "C1")] * 70)
    assert most_in_any_window(times, 60.0) <= 50 + 10  # 50 a minute after a burst of 10


def test_a_rule_needs_a_positive_rate_and_burst():
    with pytest.raises(ValueError):
        Rule("discord", rate=0)
    with pytest.raises(ValueError):
        Rule("discord", rate=1, burst=0)
