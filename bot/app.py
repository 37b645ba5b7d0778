"""Builds the running core: database, migrations, bank and service, for every entry point."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Config
from bot.core.bank import load_bank
from bot.core.ports import Clock, SystemClock
from bot.core.service import QuizService
from bot.delivery.dispatcher import Dispatcher
from bot.storage.database import migrate_database, open_database
from bot.storage.repository import SqlRepository

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_service(config: Config, clock: Clock | None = None) -> AsyncIterator[QuizService]:
    """A migrated database and a loaded bank behind a ready QuizService, with its
    outbox dispatcher attached (not started: see bot.__main__)."""
    bank = load_bank(config.questions_dir)
    db = await open_database(config.database_url)
    try:
        await migrate_database(db)
        service = QuizService(
            SqlRepository(db), bank, clock or SystemClock(), low_bank=config.low_bank_warning
        )
        Dispatcher(service)  # its background task starts once the publishers exist
        await service.start()
        log.info("loaded %d questions; database %s", len(bank), config.database_label)
        yield service
    finally:
        await db.close()
