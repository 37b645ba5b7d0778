"""Delivery through the real slack_sdk client against the fake Slack: pacing under a
rate limit, no SDK retries of a post, error translation, finding a post."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import TransientFailure
from bot.core.models import ChannelRef
from bot.delivery.ratelimit import RateLimiter, Rule, slack_keys
from bot.slack_adapter.publisher import SlackPublisher
from tests.fakes import FakeRateLimit, drill_post
from tests.slack_fakes import FakeSlack

CHANNEL = ChannelRef("slack", "T1", "C1")
OTHER = ChannelRef("slack", "T1", "C2")
POSTS = 200


@pytest.fixture
def client(fake: FakeSlack, no_slack_env) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.api_url)


@pytest.fixture
def publisher(client: AsyncWebClient) -> SlackPublisher:
    return SlackPublisher(client)


def channel(n: int) -> ChannelRef:
    return ChannelRef("slack", "T1", f"C{n:04d}")


def posted(fake: FakeSlack) -> int:
    return sum(len(messages) for messages in fake.posted.values())


async def test_a_burst_of_posts_through_the_limiter_draws_almost_no_429s(fake, publisher):
    fake.rate_limit = FakeRateLimit(rate=200, burst=40)
    limiter = RateLimiter([Rule("slack:*:chat.postMessage", rate=150)])

    async def post(n: int) -> str:
        target = channel(n)
        async with limiter.slot(*slack_keys("T1", "chat.postMessage", target.channel_id)):
            return await publisher.post_drill(drill_post(target, n))

    ids = await asyncio.gather(*(post(n) for n in range(POSTS)))
    assert len(set(ids)) == POSTS
    assert posted(fake) == POSTS
    assert fake.rate_limited <= 2, fake.rate_limited
    assert fake.duplicates() == 0


async def test_the_same_burst_without_the_limiter_is_rate_limited(fake, publisher):
    """The control: the fake really limits, so the test above proves the limiter."""
    fake.rate_limit = FakeRateLimit(rate=200, burst=40)
    outcomes = await asyncio.gather(
        *(publisher.post_drill(drill_post(channel(n), n)) for n in range(POSTS)),
        return_exceptions=True,
    )
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == fake.rate_limited >= POSTS // 4
    assert all(isinstance(o, TransientFailure) and o.retry_after for o in failed)


async def test_a_429_is_a_transient_failure_that_pauses_the_limiter_for_retry_after(
    fake, publisher
):
    fake.rate_limit = FakeRateLimit(rate=0.001, burst=0)
    clock = [100.0]
    limiter = RateLimiter([Rule("slack:*:chat.postMessage", rate=10)], clock=lambda: clock[0])
    keys = slack_keys("T1", "chat.postMessage", "C1")
    with pytest.raises(TransientFailure) as caught:
        async with limiter.slot(*keys):
            await publisher.post_drill(drill_post(CHANNEL, 5))
    assert caught.value.retry_after == 1000  # the fake's Retry-After, in whole seconds
    assert not caught.value.maybe_delivered
    assert len(fake.calls_to("chat.postMessage")) == 1  # the SDK did not retry it
    assert limiter.paused_for(keys[-1]) == pytest.approx(1000.0)
    assert limiter.paused_for(keys[0]) == 0.0


async def test_a_5xx_after_slack_accepted_the_post_is_transient_and_not_retried(fake, publisher):
    fake.accept_then_fail = 1
    with pytest.raises(TransientFailure) as caught:
        await publisher.post_drill(drill_post(CHANNEL, 5))
    assert caught.value.maybe_delivered
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert posted(fake) == 1
    # The dispatcher looks before posting again, and finds it.
    assert await publisher.find_drill_post(CHANNEL, 5) == fake.posted["C1"][0]["ts"]


async def test_a_slack_server_error_before_accepting_is_transient(fake, publisher):
    fake.fail_posts, fake.fail_status = 1, 503
    with pytest.raises(TransientFailure, match="503"):
        await publisher.post_drill(drill_post(CHANNEL, 5))
    assert posted(fake) == 0
    assert await publisher.find_drill_post(CHANNEL, 5) is None


async def test_a_connection_lost_after_accepting_is_not_reposted_by_the_sdk(
    fake, client, publisher
):
    fake.drop_after_accept = 1
    with pytest.raises(TransientFailure) as caught:
        await publisher.post_drill(drill_post(CHANNEL, 5))
    assert caught.value.maybe_delivered
    assert posted(fake) == 1
    assert fake.duplicates() == 0


async def test_the_sdks_default_client_would_post_twice_after_a_lost_connection(fake, client):
    """Why the publisher posts without the SDK's retry handlers."""
    fake.drop_after_accept = 1
    await client.chat_postMessage(channel="C1", text="hello")
    assert posted(fake) == 2
    assert fake.duplicates() == 1


async def test_find_drill_post_finds_the_drills_message_among_recent_bot_messages(fake, publisher):
    five = await publisher.post_drill(drill_post(CHANNEL, 5))
    await publisher.post_drill(drill_post(CHANNEL, 6))
    await publisher.post_drill(drill_post(OTHER, 7))
    assert await publisher.find_drill_post(CHANNEL, 5) == five
    assert await publisher.find_drill_post(CHANNEL, 7) is None
    assert await publisher.find_drill_post(CHANNEL, 55) is None
    assert fake.calls_to("conversations.history")[0].args["channel"] == "C1"


async def test_find_drill_post_ignores_a_message_not_posted_by_a_bot(fake, publisher):
    await publisher.post_drill(drill_post(CHANNEL, 9))
    fake.posted["C1"][0].pop("bot_id")
    assert await publisher.find_drill_post(CHANNEL, 9) is None
