"""Shared fixtures: a real database per test (a SQLite file, and for the modules marked
every_backend also a PostgreSQL database), a fake clock, the small test bank."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest

from bot.app import open_service
from bot.config import Config
from bot.core.models import ChannelRef, Drill, MemberRef
from bot.core.picking import eligible
from bot.core.scoring import local_date
from bot.core.service import Invocation, QuizService
from bot.delivery.dispatcher import Dispatcher
from bot.storage.connection import SqlDatabase
from tests.discord_fakes import TOKEN as DISCORD_TOKEN
from tests.discord_fakes import FakeDiscord
from tests.discord_fakes import install as install_discord
from tests.fakes import FakeClock, RecordingPublisher
from tests.pg import PgServer, start_server
from tests.slack_fakes import ADMIN as SLACK_ADMIN
from tests.slack_fakes import FakeSlack

TEST_BANK = Path(__file__).parent / "bank"
WATCHED_LOGGERS = ("discord", "bot")


BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_error_logs: the test provokes ERROR logs on purpose")
    config.addinivalue_line(
        "markers",
        "every_backend: run the test once per database (the repository contract); "
        "the PostgreSQL run is skipped, with the reason, without the server binaries",
    )
    config.addinivalue_line(
        "markers", "sqlite_only: in an every_backend module, a test of SQLite's own files"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker
    if "backend" in metafunc.fixturenames and marked("every_backend") and not marked("sqlite_only"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def fail_on_error_logs(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> None:
    """discord.py and our handlers log exceptions instead of raising them; a broken
    handler must fail its test rather than pass silently."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_error_logs"):
        return
    errors = [
        r
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR and r.name.split(".")[0] in WATCHED_LOGGERS
    ]
    if errors:
        pytest.fail("ERROR logged: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in errors))


@pytest.fixture
def no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's SDK reads SLACK_* variables itself; tests configure it explicitly."""
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1 that records every call."""
    slack = await FakeSlack().start()
    slack.admins.add(SLACK_ADMIN)
    yield slack
    await slack.close()


@pytest.fixture
def clock() -> FakeClock:
    # A Wednesday morning in Berlin (08:00 UTC = 09:00 CET).
    return FakeClock(datetime(2025, 1, 15, 8, 0, tzinfo=UTC))


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database under test: SQLite, unless the test is marked every_backend."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_migrated_url")
    return f"sqlite:///{tmp_path / 'drill.db'}"


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Config:
    # The test bank's 8 questions would warn every channel that its bank runs low, an
    # extra message in each; the tests of that warning (test_plan.py) turn it on.
    return Config(
        database_url=db_url, questions_dir=TEST_BANK, data_dir=tmp_path, low_bank_warning=0
    )


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def service(
    config: Config, clock: FakeClock, publisher: RecordingPublisher
) -> AsyncIterator[QuizService]:
    async with open_service(config, clock) as svc:
        svc.register_publisher("test", publisher)
        yield svc
        await dispatcher_of(svc).stop()


def dispatcher_of(service: QuizService) -> Dispatcher:
    """The outbox dispatcher open_service attached (started only where a test says)."""
    assert isinstance(service.delivery, Dispatcher)
    return service.delivery


@pytest.fixture
def dispatcher(service: QuizService) -> Dispatcher:
    return dispatcher_of(service)


@pytest.fixture
def channel() -> ChannelRef:
    return ChannelRef("test", "W1", "C1")


async def db_rows(db: SqlDatabase, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """The rows of one query on the service's own database, as tuples, on either backend."""
    async with db.reading() as conn:
        return [tuple(row) for row in await conn.execute_fetchall(sql, params)]


def member(name: str, workspace: str = "W1") -> MemberRef:
    return MemberRef("test", workspace, f"U-{name}", name)


async def claim_todays_drill(
    service: QuizService, channel: ChannelRef, question_id: str | None = None
) -> Drill:
    """Claim today's drill and its post row as the scheduler does, without delivering it:
    the drill stays pending, as in a process that stops right after the claim."""
    settings = await service.settings_for(channel)
    now = service.clock.now()
    question_id = question_id or eligible(service.bank, settings.topics)[0].id
    claim = await service.repo.claim_post(
        channel, local_date(now, settings.timezone), question_id, now, None
    )
    assert claim.drill is not None
    return claim.drill


async def open_drill_on(service: QuizService, channel: ChannelRef, question_id: str) -> int:
    """Today's drill on a chosen question, claimed and delivered through the outbox."""
    drill = await claim_todays_drill(service, channel, question_id)
    [post] = await service.claim_deliveries(10, channel)
    await service.repo.finish_outbox(post.id, "message-1", service.clock.now())
    return drill.id


@pytest.fixture
def admin(channel: ChannelRef) -> Invocation:
    return Invocation(member("admin"), channel, is_admin=True)


@pytest.fixture
async def discord_fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A fake Discord REST API and gateway on 127.0.0.1, with discord.py pointed at it."""
    fake = FakeDiscord()
    await fake.start()
    install_discord(fake, monkeypatch)
    yield fake
    await fake.close()


@pytest.fixture
async def discord_client(discord_fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    """A real discord.Client logged in to the fake's REST API (no gateway), as the
    publisher uses it; it gives up on a 429 that asks for more than 30 s."""
    client = discord.Client(intents=discord.Intents.none(), max_ratelimit_timeout=30.0)
    await client.login(DISCORD_TOKEN)
    yield client
    await client.close()


PG_TEMPLATE = "drill_template"


async def _pg_admin(server: PgServer, sql: str) -> None:
    """One statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    import asyncpg

    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


async def _make_pg_template(server: PgServer) -> None:
    """A migrated database that each test's database is copied from (CREATE DATABASE ...
    TEMPLATE), so a test pays a file copy instead of the migrations."""
    import asyncpg

    from bot.storage.migrate import migrate_postgres

    await _pg_admin(server, f'CREATE DATABASE "{PG_TEMPLATE}"')
    conn = await asyncpg.connect(server.url(PG_TEMPLATE))
    try:
        await migrate_postgres(conn)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the session (tests/pg.py), with a migrated template
    database; skipped, with the reason, on a machine without the server binaries."""
    root = Path(tempfile.mkdtemp(prefix="drill-pg-"))
    try:
        server = start_server(root)
    except LookupError as missing:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(str(missing))
    try:
        asyncio.run(_make_pg_template(server))
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _pg_database(server: PgServer, template: str) -> AsyncIterator[str]:
    name = f"drill_{uuid.uuid4().hex[:12]}"
    await _pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield server.url(name)
    await _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pg_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    async for url in _pg_database(pg_server, "template0"):
        yield url


@pytest.fixture
async def pg_migrated_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh database already at the latest PostgreSQL migration, dropped after the test."""
    async for url in _pg_database(pg_server, PG_TEMPLATE):
        yield url
