"""Delivery through the real discord.py client against the fake Discord: pacing under
the global limit, the library's own retries, error translation, finding a post."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiohttp
import discord
import pytest

from bot.core.errors import ChannelUnavailable, TransientFailure
from bot.core.models import ChannelRef, DrillResult, DrillState, Leaderboard, Period
from bot.delivery.ratelimit import RateLimiter, Rule, discord_keys
from bot.discord_adapter.publisher import DiscordPublisher
from bot.discord_adapter.ratelimit import discord_trace
from tests.discord_fakes import GUILD_ID, TOKEN, FakeDiscord, snowflake, user_payload
from tests.fakes import FakeRateLimit, drill_post

CHANNEL = ChannelRef("discord", GUILD_ID, "810000000000000001")
OTHER = ChannelRef("discord", GUILD_ID, "810000000000000002")
POSTS = 200


def channel(n: int) -> ChannelRef:
    return ChannelRef("discord", GUILD_ID, str(820000000000000000 + n))


def board() -> Leaderboard:
    return Leaderboard(Period.WEEK, "2025-W03", None, (), None, 0)


@pytest.fixture
def publisher(discord_client) -> DiscordPublisher:
    return DiscordPublisher(discord_client)


async def test_a_burst_of_posts_through_the_limiter_draws_almost_no_429s(
    discord_fake: FakeDiscord, publisher
):
    # Headroom for scheduling jitter on a busy machine: requests paced at 120/s may
    # bunch on the way, and 40 at once still pass; 200 unpaced ones would not.
    discord_fake.rate_limit = FakeRateLimit(rate=200, burst=40)
    limiter = RateLimiter([Rule("discord", rate=120)])

    async def post(n: int) -> str:
        async with limiter.slot(*discord_keys(channel(n).channel_id)):
            return await publisher.post_drill(drill_post(channel(n), n))

    ids = await asyncio.gather(*(post(n) for n in range(POSTS)))
    assert len(set(ids)) == POSTS
    assert len(discord_fake.messages) == POSTS
    assert discord_fake.rate_limited <= 2, discord_fake.rate_limited
    assert discord_fake.duplicates() == 0


async def test_the_same_burst_without_the_limiter_draws_many_429s(
    discord_fake: FakeDiscord, publisher
):
    """The control: the fake really limits, so the test above proves the limiter. Its
    rate is low enough that a burst floods it however slowly a busy machine sends."""
    discord_fake.rate_limit = FakeRateLimit(rate=20, burst=40)
    outcomes = await asyncio.gather(
        *(publisher.post_drill(drill_post(channel(n), n)) for n in range(POSTS)),
        return_exceptions=True,
    )
    assert discord_fake.rate_limited >= POSTS // 2
    # discord.py waits out each 429 but gives up after 5 tries: those posts fail, as
    # transient failures with the platform's wait.
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, TransientFailure) and o.retry_after for o in failed), failed
    assert len(discord_fake.messages) == POSTS - len(failed)


async def test_the_fake_answers_an_unpaced_burst_with_global_429s(discord_fake: FakeDiscord):
    discord_fake.rate_limit = FakeRateLimit(rate=1, burst=10)  # floods however slow the machine
    url = f"{discord_fake.api_base}/users/@me"
    async with aiohttp.ClientSession() as session:

        async def get() -> tuple[int, dict, dict]:
            async with session.get(url, headers={"Authorization": f"Bot {TOKEN}"}) as response:
                return response.status, dict(response.headers), await response.json()

        answers = await asyncio.gather(*(get() for _ in range(60)))
    limited = [(headers, body) for status, headers, body in answers if status == 429]
    assert len(limited) >= 40
    assert discord_fake.rate_limited == len(limited)
    headers, body = limited[0]
    assert headers["X-RateLimit-Global"] == "true"
    assert int(headers["Retry-After"]) >= 1
    assert body["global"] is True and body["retry_after"] > 0


async def test_a_5xx_after_discord_accepted_the_post_is_not_posted_twice(
    discord_fake: FakeDiscord, publisher
):
    """discord.py retries the 502 itself; the nonce makes Discord return the first post."""
    discord_fake.accept_then_fail = 1
    message_id = await publisher.post_drill(drill_post(CHANNEL, 5))
    creates = discord_fake.find("POST", rf"/channels/{CHANNEL.channel_id}/messages")
    assert [call.status for call in creates] == [502, 200]
    assert creates[0].body["nonce"] == creates[1].body["nonce"] == "drill-5"
    assert creates[0].body["enforce_nonce"] is True
    assert list(discord_fake.messages) == [message_id]
    assert discord_fake.duplicates() == 0


async def test_a_leaderboard_retried_by_discord_py_is_posted_once(
    discord_fake: FakeDiscord, publisher
):
    discord_fake.accept_then_fail = 1
    await publisher.post_leaderboard(CHANNEL, board(), "This week")
    assert len(discord_fake.messages) == 1
    assert len(discord_fake.find("POST", rf"/channels/{CHANNEL.channel_id}/messages")) == 2


async def test_a_discord_server_error_becomes_a_transient_failure(
    discord_fake: FakeDiscord, publisher
):
    discord_fake.fail_messages, discord_fake.fail_status = 1, 503
    with pytest.raises(TransientFailure) as caught:
        await publisher.post_drill(drill_post(CHANNEL, 5))
    assert caught.value.maybe_delivered
    assert caught.value.retry_after is None


async def test_a_long_discord_rate_limit_becomes_a_transient_failure_with_its_wait(
    discord_fake: FakeDiscord, publisher
):
    discord_fake.rate_limit = FakeRateLimit(rate=0.001, burst=0)
    with pytest.raises(TransientFailure) as caught:
        await publisher.post_drill(drill_post(CHANNEL, 5))
    assert caught.value.retry_after is not None and caught.value.retry_after > 30
    # A rate-limited post is looked up before it is sent again (see the next test).
    assert caught.value.maybe_delivered
    assert discord_fake.messages == {}


async def test_a_post_taken_then_rate_limited_is_looked_up_before_a_resend(
    discord_fake: FakeDiscord, publisher
):
    """discord.py's own retry of a 502 that Discord had taken ends in a 429: the post is
    out, so the failure must say it may have been delivered."""
    discord_fake.accept_then_fail = 1
    discord_fake.rate_limit = FakeRateLimit(rate=0.001, burst=1)
    with pytest.raises(TransientFailure) as caught:
        await publisher.post_drill(drill_post(CHANNEL, 5))
    assert len(discord_fake.messages) == 1
    assert caught.value.maybe_delivered


async def test_a_reveal_of_a_deleted_post_is_channel_unavailable(
    discord_fake: FakeDiscord, publisher
):
    post = drill_post(CHANNEL, 5)
    message_id = await publisher.post_drill(post)
    discord_fake.refuse(
        "PATCH",
        f"/channels/{CHANNEL.channel_id}/messages/{message_id}",
        404,
        10008,
        "Unknown Message",
    )
    drill = replace(post.drill, state=DrillState.CLOSED, message_id=message_id)
    result = DrillResult(drill, post.question, 0, 0, (), ())
    with pytest.raises(ChannelUnavailable, match="Unknown Message"):
        await publisher.reveal_drill(result)


async def test_find_drill_post_finds_the_drills_message_among_recent_bot_messages(
    discord_fake: FakeDiscord, publisher
):
    five = await publisher.post_drill(drill_post(CHANNEL, 5))
    await publisher.post_drill(drill_post(CHANNEL, 6))
    await publisher.post_leaderboard(CHANNEL, board(), "This week")
    await publisher.post_drill(drill_post(OTHER, 7))
    assert await publisher.find_drill_post(CHANNEL, 5) == five
    assert await publisher.find_drill_post(CHANNEL, 7) is None
    assert await publisher.find_drill_post(CHANNEL, 55) is None  # not a prefix match
    reads = discord_fake.find("GET", rf"/channels/{CHANNEL.channel_id}/messages")
    assert reads


async def test_find_drill_post_ignores_a_message_by_someone_else(
    discord_fake: FakeDiscord, publisher
):
    copied = await publisher.post_drill(drill_post(CHANNEL, 9))
    impostor = dict(discord_fake.messages[copied], id=snowflake())
    impostor["author"] = user_payload("123", "someone")
    discord_fake.messages.pop(copied)
    discord_fake.messages[impostor["id"]] = impostor
    assert await publisher.find_drill_post(CHANNEL, 9) is None


async def test_a_global_429_seen_by_discord_py_pauses_the_limiter(discord_fake: FakeDiscord):
    limiter = RateLimiter([Rule("discord", rate=45)])
    client = discord.Client(
        intents=discord.Intents.none(),
        max_ratelimit_timeout=30.0,
        http_trace=discord_trace(limiter),
    )
    await client.login(TOKEN)
    try:
        discord_fake.rate_limit = FakeRateLimit(rate=0.001, burst=0)
        with pytest.raises(TransientFailure):
            await DiscordPublisher(client).post_drill(drill_post(CHANNEL, 5))
    finally:
        await client.close()
    assert limiter.paused_for("discord") > 900  # the fake asked for about 1000 s


async def test_an_empty_channel_bucket_reported_by_discord_holds_that_channel(
    discord_fake: FakeDiscord,
):
    # A frozen clock: discord.py itself sleeps out the empty bucket before returning.
    limiter = RateLimiter([Rule("discord", rate=45)], clock=lambda: 50.0)
    client = discord.Client(intents=discord.Intents.none(), http_trace=discord_trace(limiter))
    await client.login(TOKEN)
    discord_fake.bucket_headers = {
        "X-RateLimit-Bucket": "abc",
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": "0.2",
    }
    try:
        await DiscordPublisher(client).post_drill(drill_post(CHANNEL, 5))
    finally:
        await client.close()
    channel_key = discord_keys(CHANNEL.channel_id)[1]
    assert limiter.paused_for(channel_key) == pytest.approx(0.2)
    assert limiter.paused_for(discord_keys(OTHER.channel_id)[1]) == 0.0
    assert limiter.paused_for("discord") == 0.0
