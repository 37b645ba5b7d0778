"""Command line: `python -m bot run | console | migrate | questions ...`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.app import open_service
from bot.config import Config
from bot.console_adapter.console import Console
from bot.core.bank import UnusableBank
from bot.core.service import QuizService
from bot.scheduler import DrillScheduler
from bot.storage.migrate import DatabaseTooNew, migrate
from bot.storage.sqlite import Database

log = logging.getLogger("bot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Daily Drill bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start every adapter whose tokens are set (else the console)")
    sub.add_parser("console", help="run the drill in this terminal")
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("discord-invite", help="print the URL that adds the bot to a Discord server")
    questions = sub.add_parser("questions", help="check, count or import questions")
    questions.add_argument("args", nargs=argparse.REMAINDER)
    return parser


@asynccontextmanager
async def scheduled(service: QuizService, config: Config) -> AsyncIterator[DrillScheduler]:
    """Run the channel jobs beside the adapters, in the same event loop."""
    scheduler = DrillScheduler(
        service, misfire_grace=timedelta(seconds=config.misfire_grace_seconds)
    )
    await scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown()


async def run_console(config: Config) -> None:
    async with open_service(config) as service:
        console = Console(service)
        async with scheduled(service, config):
            await console.run()


async def run_adapters(config: Config) -> None:
    if not (config.discord_enabled or config.slack_enabled):
        print(
            "No DISCORD_TOKEN or SLACK_* tokens are set: starting the console drill.\n",
            flush=True,
        )
        await run_console(config)
        return
    async with open_service(config) as service:
        runners = []
        if config.discord_enabled:
            from bot.discord_adapter.runner import run_discord

            runners.append(run_discord(service, config))
        if config.slack_enabled:
            from bot.slack_adapter.runner import run_slack

            runners.append(run_slack(service, config))
        async with scheduled(service, config):
            await asyncio.gather(*runners)


async def run_migrate(config: Config) -> None:
    db = await Database.open(config.database_url)
    try:
        applied = await migrate(db)
    finally:
        await db.close()
    print(f"Applied migrations: {applied}" if applied else "The database is up to date.")


async def until_stopped(work: Coroutine[object, object, None]) -> None:
    """Run `work` until it ends or the process is asked to stop (SIGTERM from a process
    manager, SIGINT from Ctrl-C); either way the adapters and scheduler shut down cleanly."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "discord-invite":
        from bot.discord_adapter.invite import print_invite

        return print_invite(Config.from_env())
    if args.command == "questions":
        from bot.questions_cli import main as questions_main

        return questions_main(args.args)
    config = Config.from_env()
    in_terminal = args.command == "console" or (
        args.command == "run" and not (config.discord_enabled or config.slack_enabled)
    )
    logging.basicConfig(
        # The console drill shares the terminal with its logs: only problems show there.
        level=config.log_level or ("WARNING" if in_terminal else "INFO"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    commands = {"run": run_adapters, "console": run_console, "migrate": run_migrate}
    try:
        asyncio.run(until_stopped(commands[args.command](config)))
    except DatabaseTooNew as exc:
        log.error("%s", exc)
        return 2
    except UnusableBank as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
