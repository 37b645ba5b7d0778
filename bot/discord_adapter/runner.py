"""`python -m bot run` with DISCORD_TOKEN set: the bot runs until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import discord

from bot.config import Config
from bot.core import messages
from bot.core.service import QuizService
from bot.delivery.dispatcher import Dispatcher
from bot.discord_adapter.bot import create_bot
from bot.discord_adapter.ratelimit import discord_trace
from bot.discord_adapter.replies import PLATFORM


async def run_discord(
    service: QuizService, config: Config, on_ready: Callable[[], None] | None = None
) -> None:
    """Log in, connect and serve; closing the bot (also on cancellation) ends it.

    `on_ready` is called once the publisher is registered (setup_hook, after login) and
    the gateway is ready, so deliveries started then can post."""
    limiter = (
        service.delivery.limiter(PLATFORM) if isinstance(service.delivery, Dispatcher) else None
    )
    # Discord's rate-limit headers and global 429s pause the deliveries' limiter too.
    bot = create_bot(service, config, http_trace=discord_trace(limiter) if limiter else None)
    async with bot:
        notify = asyncio.create_task(_when_ready(bot, on_ready)) if on_ready else None
        try:
            await bot.start(config.discord_token)
        except discord.LoginFailure as exc:
            raise SystemExit(messages.token_refused(exc)) from exc
        finally:
            if notify is not None:
                notify.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await notify


async def _when_ready(bot: discord.Client, on_ready: Callable[[], None]) -> None:
    await bot.wait_until_ready()
    on_ready()
