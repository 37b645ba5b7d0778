"""Slack's installation and OAuth state stores over the project's SQLite database."""

from __future__ import annotations

import pytest
from slack_sdk.oauth.installation_store import Installation

from bot.storage.database import migrate_database, open_database
from bot.storage.slack_store import SqlInstallationStore, SqlOAuthStateStore
from tests.conftest import db_rows

pytestmark = pytest.mark.every_backend


@pytest.fixture
async def db(db_url):
    database = await open_database(db_url)
    await migrate_database(database)
    yield database
    await database.close()


def installation(
    team: str = "T1", user: str = "U1", bot_token: str | None = "xoxb-1"
) -> Installation:
    return Installation(
        app_id="A1",
        team_id=team,
        team_name=f"Team {team}",
        bot_token=bot_token,
        bot_id="B1" if bot_token else None,
        bot_user_id="UBOT" if bot_token else None,
        bot_scopes="commands,chat:write,users:read" if bot_token else None,
        user_id=user,
        user_token=f"xoxp-{user}",
        user_scopes="identify",
        custom_values={"plan": "team"},
    )


async def test_an_installation_round_trips_with_every_field(db):
    store = SqlInstallationStore(db, "client")
    saved = installation()
    await store.async_save(saved)

    found = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert vars(found) == vars(saved)
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert (bot.bot_token, bot.bot_scopes) == ("xoxb-1", ["commands", "chat:write", "users:read"])
    assert await store.bot_token("T1") == "xoxb-1"


async def test_workspaces_and_apps_are_kept_apart(db):
    await SqlInstallationStore(db, "client").async_save(installation("T1"))
    assert await SqlInstallationStore(db, "client").bot_token("T2") is None
    assert await SqlInstallationStore(db, "other-app").bot_token("T1") is None


async def test_a_user_install_keeps_the_workspaces_bot_token(db):
    store = SqlInstallationStore(db, "client")
    await store.async_save(installation(user="U1", bot_token="xoxb-old"))
    await store.async_save(installation(user="U1", bot_token="xoxb-new"))  # a reinstall
    await store.async_save(installation(user="U2", bot_token=None))

    mine = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U2")
    assert (mine.user_id, mine.user_token, mine.bot_token) == ("U2", "xoxp-U2", "xoxb-new")
    assert await db_rows(db, "SELECT count(*) FROM slack_installations") == [(2,)]
    assert (
        await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U9") is None
    )


async def test_an_org_wide_install_is_found_from_any_team(db):
    store = SqlInstallationStore(db, "client")
    org = Installation(
        app_id="A1",
        enterprise_id="E1",
        team_id=None,
        bot_token="xoxb-org",
        bot_id="B",
        bot_user_id="UB",
        user_id="U1",
        is_enterprise_install=True,
    )
    await store.async_save(org)
    bot = await store.async_find_bot(enterprise_id="E1", team_id="T7", is_enterprise_install=True)
    assert bot.bot_token == "xoxb-org"


async def test_uninstalling_deletes_the_workspace(db):
    store = SqlInstallationStore(db, "client")
    await store.async_save(installation("T1"))
    await store.async_save(installation("T2"))

    await store.async_delete_all(enterprise_id=None, team_id="T1")

    assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert await store.bot_token("T1") is None
    assert await store.bot_token("T2") == "xoxb-1"


async def test_an_oauth_state_is_consumed_once(db):
    states = SqlOAuthStateStore(db)
    state = await states.async_issue()
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.async_consume("never-issued") is False


async def test_an_expired_oauth_state_is_refused(db):
    states = SqlOAuthStateStore(db, expiration_seconds=0)
    assert await states.async_consume(await states.async_issue()) is False
