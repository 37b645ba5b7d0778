"""run_slack: serve the Slack app until cancelled, in the mode the environment chooses.

Socket Mode connects out to Slack (no public URL); HTTP and OAuth modes serve
/slack/events (plus /slack/install and /slack/oauth_redirect for OAuth) and GET /healthz
on $PORT through Bolt's aiohttp adapter, in the caller's event loop beside Discord.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.config import Config
from bot.core.service import QuizService
from bot.slack_adapter.app import EVENTS_PATH, SlackMode, create_app, slack_mode
from bot.storage.database import open_database

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


async def run_slack(
    service: QuizService, config: Config, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve until cancelled; `on_ready` is called once the publisher is registered."""
    mode = slack_mode(config)
    # OAuth's stores get their own connection to the same database file.
    db = await open_database(config.database_url) if mode is SlackMode.OAUTH else None
    try:
        app = create_app(service, config, db=db)  # registers the Slack publisher
        if on_ready is not None:
            on_ready()
        if mode is SlackMode.SOCKET:
            await serve_socket_mode(app, config.slack_app_token)
        else:
            await serve_http(app, config.port)
    finally:
        if db is not None:
            await db.close()


async def serve_socket_mode(app: AsyncApp, app_token: str) -> None:
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()
    log.info("Slack Socket Mode connected")
    try:
        await asyncio.Event().wait()  # until cancelled
    finally:
        await handler.close_async()


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def http_app(app: AsyncApp) -> web.Application:
    """Bolt's aiohttp application (with the OAuth routes when enabled) and a health check."""
    application = app.web_app(path=EVENTS_PATH)
    application.router.add_get(HEALTH_PATH, healthz)
    return application


async def serve_http(app: AsyncApp, port: int, host: str = "0.0.0.0") -> None:
    runner = web.AppRunner(http_app(app))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("Slack HTTP mode listening on %s:%d%s", host, port, EVENTS_PATH)
        await asyncio.Event().wait()  # until cancelled
    finally:
        await runner.cleanup()
