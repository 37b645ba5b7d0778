"""Settings from the environment; nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.core import messages
from bot.core.bank import DEFAULT_QUESTIONS_DIR
from bot.core.picking import LOW_BANK
from bot.storage.sqlite import (
    DEFAULT_URL,
    POSTGRES_SCHEMES,
    BadDatabaseUrl,
    path_from_url,
    url_scheme,
)

DEFAULT_DATA_DIR = Path("data")
# With LOG_LEVEL unset: the platforms log their progress; the console drill shares the
# terminal with its logs, so only problems show there.
DEFAULT_LOG_LEVEL = "INFO"
CONSOLE_LOG_LEVEL = "WARNING"


class ConfigError(Exception):
    """A setting is invalid; the message is the one line the command line prints."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _whole_number(name: str, text: str, default: int, low: int, high: int | None) -> int:
    if not text:
        return default
    # int() would also take "٣٠٠٠" and "1_000"; a setting is plain ASCII digits.
    if not (text.isascii() and text.isdigit()) or int(text) < low or (high and int(text) > high):
        raise ConfigError(messages.bad_setting(name, text))
    return int(text)


def _server_id(text: str) -> str:
    if text and not (text.isascii() and text.isdigit() and int(text) > 0):
        raise ConfigError(messages.bad_setting("DISCORD_GUILD_ID", text))
    return text


def _shard_count(text: str) -> int | None:
    return _whole_number("DISCORD_SHARD_COUNT", text, 0, 1, None) or None


def _shard_ids(text: str, count: int | None) -> tuple[int, ...]:
    """DISCORD_SHARD_IDS: the shards this process connects, checked against the count."""
    name = "DISCORD_SHARD_IDS"
    if not text:
        return ()
    if count is None:
        raise ConfigError(messages.bad_setting(name, text, messages.SHARD_IDS_WITHOUT_COUNT))
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise ConfigError(messages.bad_setting(name, text))
    ids = tuple(int(part) for part in parts)
    if any(shard >= count for shard in ids):
        raise ConfigError(messages.bad_setting(name, text, messages.shard_out_of_range(count)))
    if len(set(ids)) != len(ids):
        raise ConfigError(messages.bad_setting(name, text, messages.SHARD_ID_REPEATED))
    return ids


def _log_level(text: str) -> str:
    level = text.upper()
    if level and level not in messages.LOG_LEVELS:
        raise ConfigError(messages.bad_setting("LOG_LEVEL", text))
    return level


def _database_url(text: str) -> str:
    url = text or DEFAULT_URL
    if url_scheme(url) in POSTGRES_SCHEMES:
        return url  # the server checks the rest when the bot connects
    try:
        path_from_url(url)
    except BadDatabaseUrl as exc:
        # Only the scheme of a non-SQLite URL is shown: the rest may hold a password.
        scheme = url_scheme(url)
        shown = f"{scheme}://..." if scheme and scheme != "sqlite" else messages.shown_setting(url)
        raise ConfigError(messages.bad_database_url(shown, exc.problem.value)) from exc
    return url


def database_url_from_env(env: Mapping[str, str] | None = None) -> str:
    """DATABASE_URL, or the default `run` uses; ConfigError when it names no SQLite file."""
    env = os.environ if env is None else env
    return _database_url(env.get("DATABASE_URL", "").strip())


def questions_dir_from_env(env: Mapping[str, str] | None = None) -> Path:
    """QUESTIONS_DIR, or the shipped bank; ConfigError unless it is a directory."""
    env = os.environ if env is None else env
    text = env.get("QUESTIONS_DIR", "").strip()
    if not text:
        return DEFAULT_QUESTIONS_DIR
    path = Path(text)
    if not path.exists():
        raise ConfigError(messages.bad_path_setting("QUESTIONS_DIR", text, messages.PATH_MISSING))
    if not path.is_dir():
        raise ConfigError(
            messages.bad_path_setting("QUESTIONS_DIR", text, messages.NOT_A_DIRECTORY)
        )
    return path


def _data_dir(text: str) -> Path:
    path = Path(text) if text else DEFAULT_DATA_DIR
    if path.exists() and not path.is_dir():
        raise ConfigError(messages.bad_path_setting("DATA_DIR", text, messages.NOT_A_DIRECTORY))
    return path


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_URL
    questions_dir: Path = DEFAULT_QUESTIONS_DIR
    data_dir: Path = DEFAULT_DATA_DIR  # deployment state such as the Discord sync hash
    log_level: str = ""  # empty: DEFAULT_LOG_LEVEL, or CONSOLE_LOG_LEVEL in the terminal
    misfire_grace_seconds: int = 3600
    discord_token: str = ""
    discord_guild_id: str = ""
    discord_application_id: str = ""
    # Sharding across processes: every process gets the same count and its own ids
    # (none: this process connects every shard; no count: no sharding at all).
    discord_shard_count: int | None = None
    discord_shard_ids: tuple[int, ...] = field(default=())
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_api_url: str = ""
    slack_admin_user_ids: tuple[str, ...] = field(default=())
    port: int = 3000
    # Warn a channel once when fewer unasked questions than this are left (0: never).
    low_bank_warning: int = LOW_BANK

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Every setting checked; ConfigError names the first bad one and what it allows."""
        env = os.environ if env is None else env
        get = lambda name, default="": env.get(name, default).strip()  # noqa: E731
        shard_count = _shard_count(get("DISCORD_SHARD_COUNT"))
        return cls(
            database_url=_database_url(get("DATABASE_URL")),
            questions_dir=questions_dir_from_env(env),
            data_dir=_data_dir(get("DATA_DIR")),
            log_level=_log_level(get("LOG_LEVEL")),
            misfire_grace_seconds=_whole_number(
                "MISFIRE_GRACE_SECONDS", get("MISFIRE_GRACE_SECONDS"), 3600, 1, None
            ),
            discord_token=get("DISCORD_TOKEN"),
            discord_guild_id=_server_id(get("DISCORD_GUILD_ID")),
            discord_application_id=get("DISCORD_APPLICATION_ID"),
            discord_shard_count=shard_count,
            discord_shard_ids=_shard_ids(get("DISCORD_SHARD_IDS"), shard_count),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_client_id=get("SLACK_CLIENT_ID"),
            slack_client_secret=get("SLACK_CLIENT_SECRET"),
            slack_api_url=get("SLACK_API_URL"),
            slack_admin_user_ids=_split(get("SLACK_ADMIN_USER_IDS")),
            port=_whole_number("PORT", get("PORT"), 3000, 1, 65535),
            low_bank_warning=_whole_number(
                "LOW_BANK_WARNING", get("LOW_BANK_WARNING"), LOW_BANK, 0, None
            ),
        )

    def log_level_for(self, *, in_terminal: bool) -> str:
        """LOG_LEVEL, else the default for where the logs go."""
        return self.log_level or (CONSOLE_LOG_LEVEL if in_terminal else DEFAULT_LOG_LEVEL)

    @property
    def database_label(self) -> str:
        """DATABASE_URL without its password, for logs."""
        parts = urlsplit(self.database_url)
        if parts.password is None:
            return self.database_url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))

    @property
    def discord_enabled(self) -> bool:
        return bool(self.discord_token)

    @property
    def slack_enabled(self) -> bool:
        single = self.slack_bot_token and (self.slack_app_token or self.slack_signing_secret)
        oauth = self.slack_client_id and self.slack_client_secret and self.slack_signing_secret
        return bool(single or oauth)
