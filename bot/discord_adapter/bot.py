"""The discord.py client: intents, the command tree, the buttons and the publisher."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import discord

from bot.config import Config
from bot.core import messages
from bot.core.service import QuizService
from bot.discord_adapter.commands import QuizTree, quiz_group
from bot.discord_adapter.forget import ForgetButton
from bot.discord_adapter.practice import PRACTICE_ITEMS, submit_practice_modal
from bot.discord_adapter.publisher import DiscordPublisher
from bot.discord_adapter.replies import NO_MENTIONS, PLATFORM, REPLY_BUDGET
from bot.discord_adapter.report import ReportButton, ReportReasonSelect
from bot.discord_adapter.sync import hash_file_for, sync_commands
from bot.discord_adapter.views import AnswerButton, AnswerModalButton, AnswerSelect, submit_modal

log = logging.getLogger(__name__)


class DrillBot(discord.Client):
    """Default intents only: slash commands and components need no privileged intent."""

    def __init__(
        self,
        service: QuizService,
        *,
        dev_guild_id: int | None = None,
        hash_file: Path | None = None,
        reply_budget: float = REPLY_BUDGET,
        **options: Any,
    ) -> None:
        super().__init__(intents=discord.Intents.default(), allowed_mentions=NO_MENTIONS, **options)
        self.service = service
        self.dev_guild = discord.Object(dev_guild_id) if dev_guild_id else None
        self.hash_file = hash_file
        self.reply_budget = reply_budget
        self.tree = QuizTree(self)
        self.tree.add_command(quiz_group())
        self.publisher = DiscordPublisher(self)

    async def setup_hook(self) -> None:
        """Runs once after login, before the gateway connects: the buttons of every post,
        old or new, are live before the first click can arrive."""
        self.add_dynamic_items(
            AnswerButton,
            AnswerModalButton,
            AnswerSelect,
            ForgetButton,
            ReportButton,
            ReportReasonSelect,
            *PRACTICE_ITEMS,
        )
        self.service.register_publisher(PLATFORM, self.publisher)
        drills = [d for d in await self.service.open_drills() if d.channel.platform == PLATFORM]
        log.info("answer buttons are live for %d open Discord drills", len(drills))
        await sync_commands(self.tree, guild=self.dev_guild, hash_file=self.hash_file)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await submit_modal(interaction)
        await submit_practice_modal(interaction)


class ShardedDrillBot(DrillBot, discord.AutoShardedClient):
    """The same bot on discord.py's AutoShardedClient: one gateway connection per shard
    of DISCORD_SHARD_IDS (all of DISCORD_SHARD_COUNT when unset) in this process.

    Sharding splits the gateway only, not the schedule: every process runs the full
    scheduler tick and dispatcher, and all of them race on the database's claims (one
    compare-and-set per post, close and board, unique outbox claims; see bot.scheduler),
    rather than each scheduling only the channels of its guilds (guild_id >> 22 %
    shard_count). The race is already exact, and it keeps what filtering would lose:
    a channel still gets its drill while its shard's process is down or restarting
    (a deploy, a crash), and Slack channels, which have no shard, need no owner.
    Posting to a channel of a guild another process's gateway holds works all the
    same, since the publisher addresses channels by id over REST. Only interactions
    are per shard: Discord sends a guild's clicks and commands to the connection of
    its shard, and that process answers them from the shared database.
    """


def create_bot(
    service: QuizService, config: Config, *, reply_budget: float = REPLY_BUDGET, **options: Any
) -> DrillBot:
    """The bot for `config`, sharded when DISCORD_SHARD_COUNT is set; `options` go to
    discord.Client (tests lower timeouts)."""
    guild = config.discord_guild_id
    if guild and not guild.isdigit():
        raise ValueError(messages.bad_guild_id(guild))
    if config.discord_shard_count is not None:
        options["shard_count"] = config.discord_shard_count
        options["shard_ids"] = list(config.discord_shard_ids) or None
    bot_class = DrillBot if config.discord_shard_count is None else ShardedDrillBot
    return bot_class(
        service,
        dev_guild_id=int(guild) if guild else None,
        hash_file=hash_file_for(config.data_dir),
        reply_budget=reply_budget,
        **options,
    )
