"""Slack's multi-workspace install state in our database (tables from 0002_slack_oauth).

slack_sdk defaults to files on local disk, which a redeploy loses and a second process
never sees; these stores keep installations, bot tokens and OAuth states in SQL instead.
Rows hold slack_sdk's own objects as JSON (their attributes are their constructor
arguments), so a newer slack_sdk field survives the round trip without a migration.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime, timedelta

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.storage.connection import Connection, SqlDatabase

log = logging.getLogger(__name__)


def _keys(enterprise_id: str | None, team_id: str | None, org_wide: bool | None) -> tuple[str, str]:
    """Lookup keys as stored: '' for no org, and for the team of an org-wide install."""
    return enterprise_id or "", "" if org_wide else team_id or ""


def _stamp(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


class SqlInstallationStore(AsyncInstallationStore):
    """Bolt's installation store: one row per installing user, one bot token per workspace."""

    def __init__(self, db: SqlDatabase, client_id: str) -> None:
        self.db = db
        self.client_id = client_id

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        enterprise, team = _keys(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        async with self.db.transaction() as conn:
            await conn.execute(
                """INSERT INTO slack_installations (client_id, enterprise_id, team_id, user_id,
                                                    data, installed_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (client_id, enterprise_id, team_id, user_id) DO UPDATE SET
                       data = excluded.data, installed_at = excluded.installed_at""",
                (
                    self.client_id,
                    enterprise,
                    team,
                    installation.user_id or "",
                    json.dumps(vars(installation)),
                    _stamp(installation.installed_at),
                ),
            )
            if installation.bot_token:
                await self._save_bot(conn, installation.to_bot())
        log.info(
            "saved the Slack installation of %s by %s", team or enterprise, installation.user_id
        )

    async def async_save_bot(self, bot: Bot) -> None:
        async with self.db.transaction() as conn:
            await self._save_bot(conn, bot)

    async def _save_bot(self, conn: Connection, bot: Bot) -> None:
        enterprise, team = _keys(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        await conn.execute(
            """INSERT INTO slack_bots (client_id, enterprise_id, team_id, data, installed_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (client_id, enterprise_id, team_id) DO UPDATE SET
                   data = excluded.data, installed_at = excluded.installed_at""",
            (self.client_id, enterprise, team, json.dumps(vars(bot)), _stamp(bot.installed_at)),
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        enterprise, team = _keys(enterprise_id, team_id, is_enterprise_install)
        async with self.db.reading() as conn:
            rows = await conn.execute_fetchall(
                """SELECT data FROM slack_bots
                   WHERE client_id = ? AND enterprise_id = ? AND team_id = ?""",
                (self.client_id, enterprise, team),
            )
        row = next(iter(rows), None)
        return Bot(**json.loads(row[0])) if row else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The user's installation, or the workspace's latest one without a user; the bot
        fields always come from the workspace's current bot token."""
        enterprise, team = _keys(enterprise_id, team_id, is_enterprise_install)
        where = "client_id = ? AND enterprise_id = ? AND team_id = ?"
        params: list[str] = [self.client_id, enterprise, team]
        if user_id is not None:
            where += " AND user_id = ?"
            params.append(user_id)
        async with self.db.reading() as conn:
            rows = await conn.execute_fetchall(
                f"""SELECT data FROM slack_installations WHERE {where}
                    ORDER BY installed_at DESC LIMIT 1""",
                params,
            )
        row = next(iter(rows), None)
        if row is None:
            return None
        installation = Installation(**json.loads(row[0]))
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is not None:
            installation.bot_token = bot.bot_token
            installation.bot_id = bot.bot_id
            installation.bot_user_id = bot.bot_user_id
            installation.bot_scopes = bot.bot_scopes
            installation.bot_refresh_token = bot.bot_refresh_token
            installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        enterprise, team = _keys(enterprise_id, team_id, org_wide=False)
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM slack_bots WHERE client_id = ? AND enterprise_id = ? AND team_id = ?",
                (self.client_id, enterprise, team),
            )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        enterprise, team = _keys(enterprise_id, team_id, org_wide=False)
        where = "client_id = ? AND enterprise_id = ? AND team_id = ?"
        params: list[str] = [self.client_id, enterprise, team]
        if user_id is not None:
            where += " AND user_id = ?"
            params.append(user_id)
        async with self.db.transaction() as conn:
            await conn.execute(f"DELETE FROM slack_installations WHERE {where}", params)

    async def bot_token(self, team_id: str) -> str | None:
        """The token the bot posts with in a workspace, or None if it isn't installed there."""
        bot = await self.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot else None


class SqlOAuthStateStore(AsyncOAuthStateStore):
    """One-time OAuth `state` values: issued with the install link, consumed by the callback."""

    def __init__(self, db: SqlDatabase, expiration_seconds: int = 600) -> None:
        self.db = db
        self.expiration = timedelta(seconds=expiration_seconds)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM slack_oauth_states WHERE expires_at <= ?", (now.isoformat(),)
            )
            await conn.execute(
                "INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)",
                (state, (now + self.expiration).isoformat()),
            )
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for a state that was issued and has not expired; False ever after."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM slack_oauth_states WHERE state = ? AND expires_at > ?",
                (state, datetime.now(UTC).isoformat()),
            )
            return cursor.rowcount == 1
