"""create_app: the Bolt AsyncApp for one QuizService, in the mode the settings choose.

| set                                             | mode                                   |
|-------------------------------------------------|----------------------------------------|
| SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, signing   | OAuth: many workspaces, HTTP           |
| SLACK_BOT_TOKEN and SLACK_APP_TOKEN             | Socket Mode: one workspace, no URL     |
| SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET        | HTTP: one workspace on $PORT           |

The factory also registers a SlackPublisher on the service, so the scheduler's posts go
through the same client (and the same SLACK_API_URL) as the listeners' replies.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TypedDict

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.version import __version__ as bolt_version
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Config
from bot.core import messages
from bot.core.service import QuizService
from bot.slack_adapter import actions, commands, errors, events, views
from bot.slack_adapter.admins import SlackUsers
from bot.slack_adapter.common import PLATFORM, Deps
from bot.slack_adapter.publisher import SlackPublisher
from bot.slack_adapter.verification import StrictRequestVerification
from bot.storage.connection import SqlDatabase
from bot.storage.slack_store import SqlInstallationStore, SqlOAuthStateStore

log = logging.getLogger(__name__)

COMMAND = commands.COMMAND
EVENTS = (events.HOME_OPENED, *events.UNINSTALL_EVENTS)
# Only what the app calls: commands (/quiz), chat:write (posts, updates, ephemerals and
# DMs to the app's Messages tab), users:read (users.info for admins and names), and for
# /quiz export's file in a DM: im:write (conversations.open) and files:write (the upload).
BOT_SCOPES = ("commands", "chat:write", "users:read", "im:write", "files:write")
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


class _UnusedTokenNoise(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that it goes unused when a client is
    given, though that client carries the very same token: drop that one misleading line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_UNUSED_TOKEN_NOISE = _UnusedTokenNoise()


class SlackMode(StrEnum):
    SOCKET = "socket"
    HTTP = "http"
    OAUTH = "oauth"


class _AppOptions(TypedDict):
    """What the AsyncApp of every mode is given."""

    name: str
    client: AsyncWebClient
    signing_secret: str
    request_verification_enabled: bool
    before_authorize: StrictRequestVerification | None
    process_before_response: bool


def slack_mode(config: Config) -> SlackMode:
    if config.slack_client_id and config.slack_client_secret and config.slack_signing_secret:
        return SlackMode.OAUTH
    if config.slack_bot_token and config.slack_app_token:
        return SlackMode.SOCKET
    if config.slack_bot_token and config.slack_signing_secret:
        return SlackMode.HTTP
    raise ValueError(messages.SLACK_TOKENS_MISSING)


def web_client(config: Config, token: str | None) -> AsyncWebClient:
    """SLACK_API_URL points the Web API elsewhere: a proxy, GovSlack, a test fake."""
    base_url = config.slack_api_url or AsyncWebClient.BASE_URL
    if not base_url.endswith("/"):
        base_url += "/"  # urljoin drops the last path segment without it
    return AsyncWebClient(
        token=token, base_url=base_url, user_agent_prefix=f"Bolt-Async/{bolt_version}"
    )


def create_app(
    service: QuizService,
    config: Config,
    *,
    client: AsyncWebClient | None = None,
    db: SqlDatabase | None = None,
    process_before_response: bool = False,
) -> AsyncApp:
    """The app with every listener; OAuth mode keeps its installs in `db`."""
    mode = slack_mode(config)
    oauth = mode is SlackMode.OAUTH
    logging.getLogger("slack_bolt.AsyncApp").addFilter(_UNUSED_TOKEN_NOISE)
    if client is None:
        client = web_client(config, None if oauth else config.slack_bot_token)
    common: _AppOptions = {
        "name": "daily-drill",
        "client": client,
        "signing_secret": config.slack_signing_secret,
        # Socket Mode has no HTTP endpoint to verify; every HTTP mode verifies signatures,
        # in the built-in check's place (before authorization), malformed timestamps too.
        "request_verification_enabled": False,
        "before_authorize": None
        if mode is SlackMode.SOCKET
        else StrictRequestVerification(config.slack_signing_secret),
        "process_before_response": process_before_response,
    }
    if oauth:
        if db is None:
            raise ValueError("multi-workspace Slack keeps its installations in the database")
        store = SqlInstallationStore(db, config.slack_client_id)
        app = AsyncApp(
            installation_store=store,
            oauth_settings=AsyncOAuthSettings(
                client_id=config.slack_client_id,
                client_secret=config.slack_client_secret,
                scopes=list(BOT_SCOPES),
                user_scopes=[],
                installation_store=store,
                state_store=SqlOAuthStateStore(db),
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
            ),
            **common,
        )
        publisher = SlackPublisher(client, store.bot_token)
    else:
        app = AsyncApp(**common)
        publisher = SlackPublisher(client)
    service.register_publisher(PLATFORM, publisher)
    deps = Deps(service, SlackUsers(config.slack_admin_user_ids))
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    events.register(app, deps, multi_workspace=oauth)
    errors.register(app)
    log.info("Slack app ready in %s mode", mode.value)
    return app
