"""`python -m bot run` with DISCORD_TOKEN set: the bot runs until cancelled."""

from __future__ import annotations

import discord

from bot.config import Config
from bot.core import messages
from bot.core.service import QuizService
from bot.discord_adapter.bot import create_bot


async def run_discord(service: QuizService, config: Config) -> None:
    """Log in, connect and serve; closing the bot (also on cancellation) ends it."""
    bot = create_bot(service, config)
    async with bot:
        try:
            await bot.start(config.discord_token)
        except discord.LoginFailure as exc:
            raise SystemExit(messages.token_refused(exc)) from exc
