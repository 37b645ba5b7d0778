"""Discord sharding across processes: DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS, checked
at start-up, and the real discord.py AutoShardedClient identifying with exactly this
process's shards on the fake gateway."""

from __future__ import annotations

from dataclasses import replace

import discord
import pytest

from bot.config import Config, ConfigError
from bot.core import messages
from bot.discord_adapter.bot import DrillBot, ShardedDrillBot
from tests.discord_fakes import CHANNEL_ID, person, running_bot, slash

ADMIN = person("ada", admin=True)
POSTS = rf"/channels/{CHANNEL_ID}/messages"


def test_shard_settings_are_parsed_into_the_count_and_this_process_ids():
    config = Config.from_env({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": " 1, 3 "})
    assert (config.discord_shard_count, config.discord_shard_ids) == (4, (1, 3))
    every_shard = Config.from_env({"DISCORD_SHARD_COUNT": "2"})
    assert (every_shard.discord_shard_count, every_shard.discord_shard_ids) == (2, ())
    unsharded = Config.from_env({})
    assert (unsharded.discord_shard_count, unsharded.discord_shard_ids) == (None, ())


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DISCORD_SHARD_COUNT": "two"}, messages.bad_setting("DISCORD_SHARD_COUNT", "two")),
        ({"DISCORD_SHARD_COUNT": "0"}, messages.bad_setting("DISCORD_SHARD_COUNT", "0")),
        (
            {"DISCORD_SHARD_IDS": "0"},
            messages.bad_setting("DISCORD_SHARD_IDS", "0", messages.SHARD_IDS_WITHOUT_COUNT),
        ),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0;1"},
            messages.bad_setting("DISCORD_SHARD_IDS", "0;1"),
        ),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,,1"},
            messages.bad_setting("DISCORD_SHARD_IDS", "0,,1"),
        ),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "1,2"},
            messages.bad_setting("DISCORD_SHARD_IDS", "1,2", messages.shard_out_of_range(2)),
        ),
        (
            {"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "3,3"},
            messages.bad_setting("DISCORD_SHARD_IDS", "3,3", messages.SHARD_ID_REPEATED),
        ),
    ],
)
def test_a_bad_shard_setting_names_it_and_what_it_allows(env, expected):
    with pytest.raises(ConfigError) as caught:
        Config.from_env(env)
    assert str(caught.value) == expected


def test_the_shard_messages_say_what_to_set():
    assert messages.bad_setting("DISCORD_SHARD_IDS", "1,2", messages.shard_out_of_range(2)) == (
        "DISCORD_SHARD_IDS='1,2' names a shard outside 0 to 1: use this process's shard ids, "
        "as in 0,1: each from 0 to DISCORD_SHARD_COUNT - 1, once; leave it unset for every shard."
    )


@pytest.fixture
def quick_identify(monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py waits 5 s before each IDENTIFY after a process's first, Discord's
    identify rate limit; the fake has none."""

    async def no_wait(self: discord.AutoShardedClient, shard_id: int | None, **_: object) -> None:
        return None

    monkeypatch.setattr(discord.AutoShardedClient, "before_identify_hook", no_wait)


async def test_a_sharded_process_identifies_with_only_its_shards_and_posts(
    service, config, discord_fake, quick_identify
):
    sharded = replace(config, discord_shard_count=4, discord_shard_ids=(1, 3))
    async with running_bot(service, sharded) as bot:
        assert isinstance(bot, ShardedDrillBot)
        assert (bot.shard_count, sorted(bot.shards)) == (4, [1, 3])
        assert sorted(discord_fake.identified_shards) == [[1, 4], [3, 4]]
        setup = await discord_fake.interact(slash("setup", ADMIN, tz="UTC", topics="testing"))
        assert setup["data"]["content"].startswith("Daily Drill is set up here.")
        reply = await discord_fake.interact(slash("post-now", ADMIN))
        assert reply["data"]["content"].startswith("Posted today's question")
        [post] = await discord_fake.wait_for("POST", POSTS)
        assert post.status == 200 and post.response["embeds"]


async def test_a_shard_count_without_ids_connects_every_shard(
    service, config, discord_fake, quick_identify
):
    async with running_bot(service, replace(config, discord_shard_count=2)) as bot:
        assert (bot.shard_count, sorted(bot.shards)) == (2, [0, 1])
    assert sorted(discord_fake.identified_shards) == [[0, 2], [1, 2]]


async def test_without_a_shard_count_the_bot_is_one_unsharded_connection(
    service, config, discord_fake
):
    async with running_bot(service, config) as bot:
        assert type(bot) is DrillBot
    assert discord_fake.identified_shards == [None]
