"""Builds the running core: database, migrations, bank and service, for every entry point."""

from __future__ import annotations

import gc
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


def freeze_start_up() -> None:
    """Move what start-up made (modules, the question bank, the service, the clients) out
    of the garbage collector's generations, for the life of the process: a full collection
    during a burst of answers then walks only what was made since, where it otherwise
    walks the bank too and stalls the event loop 12-25 ms (with 100 answers in flight,
    one such stall is the p99). Garbage is collected first, so that none is kept."""
    gc.collect()
    gc.freeze()


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
