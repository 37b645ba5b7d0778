"""`python -m bot migrate-data`: a SQLite deployment built through the real service,
copied into a freshly migrated PostgreSQL, then read back through the PostgreSQL
repository with the same stats and boards."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from typing import Any

from bot.app import open_service
from bot.config import Config
from bot.core import commands, messages
from bot.core.models import ChannelRef, Period
from bot.core.service import Invocation, QuizService
from bot.storage.slack_store import SqlInstallationStore, SqlOAuthStateStore
from bot.storage.sqlite import path_from_url
from tests.conftest import dispatcher_of, member
from tests.dbtools import sql
from tests.fakes import FakeClock, RecordingPublisher
from tests.test_cli import run_bot
from tests.test_slack_store import installation

CHANNELS = (ChannelRef("test", "W1", "C1"), ChannelRef("test", "W1", "C2"))
MEMBERS = tuple(member(name) for name in ("ann", "ben", "cy", "dee", "eli"))
DAYS = 3


async def answer_round(service: QuizService, publisher: RecordingPublisher, day: int) -> None:
    """Each channel's drill of the day: posted, answered by every member (right or wrong
    by a pattern that differs per day), closed and delivered."""
    for channel in CHANNELS:
        drill = await service.post_daily(channel, forced=True)
        await dispatcher_of(service).drain()
        right = publisher.posts[-1].question.correct_letter
        wrong = next(letter for letter in "ABCD" if letter != right)
        for index, who in enumerate(MEMBERS):
            await service.submit_answer(who, drill.id, right if (index + day) % 3 else wrong)
        await service.close_now(channel)
    await dispatcher_of(service).drain()


async def build_deployment(config: Config, clock: FakeClock) -> None:
    """A SQLite deployment with drills, attempts, boards, groups, outbox rows (delivered
    ones) and a Slack installation with a pending OAuth state."""
    publisher = RecordingPublisher()
    async with open_service(config, clock) as service:
        service.register_publisher("test", publisher)
        for channel in CHANNELS:
            admin = Invocation(member("admin"), channel, is_admin=True)
            await service.execute(
                commands.parse("/quiz setup tz:Europe/Berlin topics:testing days:daily"), admin
            )
        for who in MEMBERS[:3]:
            verb = "create" if who is MEMBERS[0] else "join"
            await service.execute(
                commands.parse(f"/quiz group {verb} crew"), Invocation(who, CHANNELS[0])
            )
        for day in range(DAYS):
            await answer_round(service, publisher, day)
            clock.advance(days=1)
        db = service.repo.db  # type: ignore[attr-defined]
        await SqlInstallationStore(db, "client").async_save(installation())
        await SqlOAuthStateStore(db).async_issue()


async def snapshot(service: QuizService) -> dict[str, Any]:
    """What members see: every member's stats and every board of both channels."""
    seen: dict[str, Any] = {}
    for channel in CHANNELS:
        for who in MEMBERS:
            stats = await service.member_stats(who, channel)
            seen[f"stats {channel.channel_id} {who.name}"] = stats
        for period in Period:
            board = await service.leaderboard(MEMBERS[0], channel, period, None)
            seen[f"board {channel.channel_id} {period.value}"] = board
        seen[f"group {channel.channel_id}"] = await service.leaderboard(
            MEMBERS[0], channel, Period.ALL, "crew"
        )
    return seen


def sqlite_counts(path: str) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
            )
        ]
        count = lambda name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: E731
        return {name: count(name) for name in names}


def test_bad_urls_and_a_missing_file_are_one_line_refusals(tmp_path):
    cases = [
        (["--from", "garbage", "--to", "postgresql://x@127.0.0.1:1/db"], "--from 'garbage'"),
        (
            ["--from", f"sqlite:///{tmp_path / 'none.db'}", "--to", "postgresql://x@h/db"],
            "does not exist",
        ),
        (
            ["--from", f"sqlite:///{tmp_path / 'x.db'}", "--to", "mysql://root:hunter2@h/db"],
            "is not a PostgreSQL URL",
        ),
    ]
    (tmp_path / "x.db").touch()
    for args, words in cases:
        done = run_bot("migrate-data", *args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [done.stderr.strip()]
        assert words in done.stderr and "hunter2" not in done.stderr


def test_the_messages_name_the_table_and_the_fix():
    assert "table 'attempts' has rows" in messages.transfer_target_not_empty("attempts")
    assert "python -m bot migrate" in messages.TRANSFER_TARGET_NOT_MIGRATED
    assert messages.transfer_done(2, 7) == (
        "Copied 7 rows in 2 tables; every table's row count matches."
    )


async def test_a_sqlite_deployment_moves_to_postgres_with_every_row_and_the_same_boards(
    config, clock, pg_migrated_url
):
    await build_deployment(config, clock)
    async with open_service(config, clock) as service:
        before = await snapshot(service)

    done = run_bot("migrate-data", "--from", config.database_url, "--to", pg_migrated_url)
    assert done.returncode == 0, done.stderr
    counts = sqlite_counts(path_from_url(config.database_url))
    assert all(counts[t] for t in ("attempts", "score_totals", "outbox", "slack_installations"))
    for table, rows in counts.items():
        assert f"{table}: {rows}" in done.stdout.splitlines()
        assert sql(pg_migrated_url, f'SELECT count(*) FROM "{table}"') == [(rows,)]

    # ANALYZEd: the planner knows the copied rows (-1 means never analysed).
    estimate = sql(pg_migrated_url, "SELECT reltuples FROM pg_class WHERE relname = 'attempts'")
    assert estimate == [(counts["attempts"],)]

    moved = replace(config, database_url=pg_migrated_url)
    async with open_service(moved, clock) as service:
        assert await snapshot(service) == before
        # New rows get fresh ids after the copied ones (the sequences were reset).
        publisher = RecordingPublisher()
        service.register_publisher("test", publisher)
        await answer_round(service, publisher, DAYS)
        assert len(publisher.reveals) == len(CHANNELS)

    again = run_bot("migrate-data", "--from", config.database_url, "--to", pg_migrated_url)
    assert again.returncode == 2 and "has rows" in again.stderr
