"""The retry policy: which failures are retried, how long to wait, when to stop."""

from __future__ import annotations

import random

import pytest

from bot.core.errors import ChannelUnavailable, TransientFailure
from bot.delivery.retry import Outcome, RetryPolicy, classify


def test_a_refused_channel_is_permanent():
    decision = RetryPolicy().decide(ChannelUnavailable("not_in_channel"), attempt=1, failing_for=0)
    assert decision.outcome is Outcome.PERMANENT
    assert decision.verdict.reason == "not_in_channel"


@pytest.mark.parametrize(
    ("exc", "maybe_delivered"),
    [
        (TransientFailure("502", maybe_delivered=True), True),
        (TransientFailure("429", retry_after=3.0), False),
        (TimeoutError(), True),
        (ConnectionResetError("reset"), True),
        (ConnectionRefusedError("refused"), False),
    ],
)
def test_outages_and_rate_limits_are_transient(exc, maybe_delivered):
    verdict = classify(exc)
    assert verdict.transient
    assert verdict.maybe_delivered is maybe_delivered
    assert not verdict.unexpected


def test_an_unknown_error_is_retried_but_flagged_as_unexpected():
    verdict = classify(KeyError("ts"))
    assert verdict.transient and verdict.unexpected and verdict.maybe_delivered


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap():
    policy = RetryPolicy(base=2, factor=2, cap=60)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (30, 60)]:
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not a fixed step


def test_the_same_seed_gives_the_same_delays():
    policy = RetryPolicy()
    first = [policy.backoff(n, random.Random(42)) for n in range(1, 8)]
    again = [policy.backoff(n, random.Random(42)) for n in range(1, 8)]
    assert first == again


def test_a_retry_never_comes_sooner_than_retry_after():
    policy = RetryPolicy(base=1, cap=2)
    failure = TransientFailure("429", retry_after=30.0)
    for seed in range(20):
        decision = policy.decide(failure, attempt=1, failing_for=0, rng=random.Random(seed))
        assert decision.outcome is Outcome.RETRY
        assert decision.delay >= 30.0


def test_a_ten_minute_outage_is_retried_through_and_the_horizon_ends_it():
    policy = RetryPolicy()
    rng = random.Random(1)
    failure = TransientFailure("503", maybe_delivered=True)
    elapsed, attempt = 0.0, 1
    while elapsed < 600:  # ten minutes of failures: never a give-up
        decision = policy.decide(failure, attempt=attempt, failing_for=elapsed, rng=rng)
        assert decision.outcome is Outcome.RETRY
        elapsed += decision.delay
        attempt += 1
    while (
        decision := policy.decide(failure, attempt=attempt, failing_for=elapsed, rng=rng)
    ).outcome is Outcome.RETRY:
        elapsed += decision.delay
        attempt += 1
    assert decision.outcome is Outcome.GIVE_UP
    assert policy.horizon - policy.cap <= elapsed <= policy.horizon


def test_a_policy_that_would_give_up_within_ten_minutes_is_refused():
    with pytest.raises(ValueError):
        RetryPolicy(horizon=300)
