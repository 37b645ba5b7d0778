"""Command line: `python -m bot run | console | migrate | migrate-data | questions ...`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from bot import questions_cli
from bot.app import freeze_start_up, open_service
from bot.config import Config, ConfigError
from bot.console_adapter.console import Console
from bot.core import messages
from bot.core.bank import UnusableBank
from bot.core.errors import BankErrors
from bot.core.service import QuizService
from bot.delivery.dispatcher import Dispatcher
from bot.scheduler import DrillScheduler
from bot.storage.database import migrate_url
from bot.storage.migrate import DatabaseTooNew
from bot.storage.sqlite import DatabaseUnavailable
from bot.storage.transfer import TransferRefused, copy_sqlite_to_postgres

log = logging.getLogger("bot")


SETTINGS_EPILOG = "Settings come from environment variables; see README.md for the list."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Daily Drill: one machine-learning interview question a day, on Discord, "
        "Slack or in this terminal.",
        epilog=SETTINGS_EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {
        "run": (
            "start every adapter whose tokens are set (else the console)",
            "Start Discord and/or Slack, whichever has its tokens set, with the scheduler; "
            "with no tokens, run the console drill instead.",
        ),
        "console": (
            "run the drill in this terminal",
            "Run a drill channel in this terminal: /quiz commands, `:as NAME`, `:quit`.",
        ),
        "migrate": (
            "apply database migrations and exit",
            "Apply any pending migrations to the DATABASE_URL database and exit.",
        ),
        "discord-invite": (
            "print the URL that adds the bot to a Discord server",
            "Print the invite URL for DISCORD_APPLICATION_ID (or the id in DISCORD_TOKEN).",
        ),
    }
    for name, (summary, description) in commands.items():
        sub.add_parser(name, help=summary, description=description, epilog=SETTINGS_EPILOG)
    copy = sub.add_parser(
        "migrate-data",
        help="copy a SQLite deployment into an empty, migrated PostgreSQL database",
        description="Copy every table of a SQLite database into a PostgreSQL database "
        "that `migrate` has set up and nothing has written to, in one transaction; the "
        "row counts are checked per table before the commit.",
        epilog=SETTINGS_EPILOG,
    )
    copy.add_argument("--from", dest="source", required=True, metavar="sqlite:///PATH")
    copy.add_argument(
        "--to", dest="target", required=True, metavar="postgresql://USER:PASS@HOST:PORT/DB"
    )
    questions = sub.add_parser(
        "questions",
        help="check, count, import or review questions",
        description="The question bank's maintenance commands for pack authors.",
    )
    questions_cli.add_commands(questions)
    return parser


@asynccontextmanager
async def delivering(service: QuizService, config: Config) -> AsyncIterator[DrillScheduler]:
    """Start the outbox dispatcher and the scheduler's tick job, in the adapters' event
    loop. Call it only once every publisher is registered: the first tick catches up on
    what is due, and the dispatcher delivers it at once."""
    dispatcher = service.delivery
    if not isinstance(dispatcher, Dispatcher):
        raise TypeError("open_service attaches the outbox dispatcher")
    freeze_start_up()  # start-up ends here
    dispatcher.start()
    scheduler = DrillScheduler(
        service, misfire_grace=timedelta(seconds=config.misfire_grace_seconds)
    )
    try:
        await scheduler.start()
        yield scheduler
    finally:
        await scheduler.shutdown()
        await dispatcher.stop()


async def run_console(config: Config) -> None:
    async with open_service(config) as service:
        console = Console(service, data_dir=config.data_dir)  # registers the console publisher
        async with delivering(service, config):
            await console.run()
            if isinstance(service.delivery, Dispatcher):
                # Print what the last commands queued (a regrade's private lines) first.
                await service.delivery.drain()


Runner = Callable[[QuizService, Config, Callable[[], None]], Coroutine[object, object, None]]


async def run_adapters(config: Config) -> None:
    if not (config.discord_enabled or config.slack_enabled):
        print(
            "No DISCORD_TOKEN or SLACK_* tokens are set: starting the console drill.\n",
            flush=True,
        )
        await run_console(config)
        return
    runners: list[Runner] = []
    if config.discord_enabled:
        from bot.discord_adapter.runner import run_discord

        runners.append(run_discord)
    if config.slack_enabled:
        from bot.slack_adapter.runner import run_slack

        runners.append(run_slack)
    async with open_service(config) as service:
        await serve_adapters(service, config, runners)


async def serve_adapters(service: QuizService, config: Config, runners: list[Runner]) -> None:
    """Start every adapter, wait until each has registered its publisher, then start the
    deliveries; a runner that stops first (a refused token) ends it all with its error."""
    ready = [asyncio.Event() for _ in runners]
    tasks = [
        asyncio.create_task(runner(service, config, event.set))
        for runner, event in zip(runners, ready, strict=True)
    ]
    try:
        all_ready = asyncio.ensure_future(asyncio.gather(*(event.wait() for event in ready)))
        watched: list[asyncio.Future[Any]] = [all_ready, *tasks]
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        all_ready.cancel()
        for task in tasks:
            if task.done():
                await task  # raises the runner's error
        async with delivering(service, config):
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_migrate(config: Config) -> None:
    applied = await migrate_url(config.database_url)
    print(f"Applied migrations: {applied}" if applied else "The database is up to date.")


def run_migrate_data(source: str, target: str) -> int:
    try:
        copied = asyncio.run(copy_sqlite_to_postgres(source, target))
    except TransferRefused as exc:
        print(exc, file=sys.stderr)
        return 2
    for table in copied:
        print(f"{table.name}: {table.rows}")
    print(messages.transfer_done(len(copied), sum(table.rows for table in copied)))
    return 0


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
    if args.command == "questions":
        return questions_cli.run(args)
    if args.command == "migrate-data":
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        return run_migrate_data(args.source, args.target)
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "discord-invite":
        from bot.discord_adapter.invite import print_invite

        return print_invite(config)
    in_terminal = args.command == "console" or (
        args.command == "run" and not (config.discord_enabled or config.slack_enabled)
    )
    logging.basicConfig(
        level=config.log_level_for(in_terminal=in_terminal),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    commands = {"run": run_adapters, "console": run_console, "migrate": run_migrate}
    try:
        asyncio.run(until_stopped(commands[args.command](config)))
    except DatabaseTooNew as exc:
        log.error("%s", exc)
        return 2
    except DatabaseUnavailable as exc:
        print(messages.database_unavailable(exc.path, exc.reason), file=sys.stderr)
        return 2
    except UnusableBank as exc:
        print(exc, file=sys.stderr)
        return 2
    except BankErrors as exc:
        log.error("the question bank has errors; fix them or run `questions check`:\n%s", exc)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
