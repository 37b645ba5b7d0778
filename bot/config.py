"""Settings from the environment; nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.bank import DEFAULT_QUESTIONS_DIR
from bot.storage.sqlite import DEFAULT_URL


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_URL
    questions_dir: Path = DEFAULT_QUESTIONS_DIR
    log_level: str = ""  # empty: INFO for the platforms, WARNING in the terminal
    misfire_grace_seconds: int = 3600
    discord_token: str = ""
    discord_guild_id: str = ""
    discord_application_id: str = ""
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_api_url: str = ""
    slack_admin_user_ids: tuple[str, ...] = field(default=())
    port: int = 3000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        get = lambda name, default="": env.get(name, default).strip()  # noqa: E731
        return cls(
            database_url=get("DATABASE_URL") or DEFAULT_URL,
            questions_dir=Path(get("QUESTIONS_DIR"))
            if get("QUESTIONS_DIR")
            else DEFAULT_QUESTIONS_DIR,
            log_level=get("LOG_LEVEL").upper(),
            misfire_grace_seconds=int(get("MISFIRE_GRACE_SECONDS") or 3600),
            discord_token=get("DISCORD_TOKEN"),
            discord_guild_id=get("DISCORD_GUILD_ID"),
            discord_application_id=get("DISCORD_APPLICATION_ID"),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_client_id=get("SLACK_CLIENT_ID"),
            slack_client_secret=get("SLACK_CLIENT_SECRET"),
            slack_api_url=get("SLACK_API_URL"),
            slack_admin_user_ids=_split(get("SLACK_ADMIN_USER_IDS")),
            port=int(get("PORT") or 3000),
        )

    @property
    def discord_enabled(self) -> bool:
        return bool(self.discord_token)

    @property
    def slack_enabled(self) -> bool:
        single = self.slack_bot_token and (self.slack_app_token or self.slack_signing_secret)
        oauth = self.slack_client_id and self.slack_client_secret and self.slack_signing_secret
        return bool(single or oauth)
