"""Group commit: many small writes share one transaction; a write that fails, fails alone.

A burst of answers committed one per transaction spends most of its time on round trips
to aiosqlite's thread and on commits. Here a single writer task takes the writes waiting
in its queue (up to `max_batch`) and runs them in one `BEGIN IMMEDIATE ... COMMIT`, as
one call on the connection's thread. A write that fails on its own (a typed domain error,
a constraint) fails only its caller, and the others still commit: the batch then runs
again with each write in a SAVEPOINT, and the failed one is rolled back to its own. Any
other failure (an I/O error, a failed COMMIT, a bug) rolls the whole batch back and fails
every caller in it.

A caller's future is resolved only after COMMIT returns, so an acknowledged write is
durable; a write whose batch failed was not stored at all.

The answer path's read is batched the same way (`run_reads`): one call on the thread for
every read waiting, each read failing alone, and equal reads run once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.core.errors import QuizError

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[..., Any]
Outcomes = list[tuple[bool, Any]]

MAX_BATCH = 128
# Failures that belong to one write: its savepoint is rolled back and the batch goes on.
OWN_FAILURES = (QuizError, sqlite3.IntegrityError)


class DatabaseClosing(RuntimeError):
    """The database closed (or its queue stopped) before the call was acknowledged: a
    write that was not yet running is not stored; one that was running may be."""


@dataclass(eq=False)
class _Submission:
    work: Work
    future: asyncio.Future = field(repr=False)


def run_writes(conn: sqlite3.Connection, works: list[Work]) -> list[tuple[bool, Any]]:
    """On the connection's thread: every write in one transaction.

    The batch first runs without savepoints (two statements fewer per write). Should one
    write fail on its own, that transaction is rolled back whole and the batch runs again
    with a savepoint per write, so the failure is undone alone and fails only its caller.
    A write may therefore run twice, but only its last run is ever committed.

    Returns (ok, value or exception) per write, in order; raises (after ROLLBACK) when the
    batch as a whole failed, so that nothing of it is acknowledged."""
    outcomes = _transaction(conn, works, savepoints=False)
    if outcomes is None:
        outcomes = _transaction(conn, works, savepoints=True)
        assert outcomes is not None, "with savepoints a batch fails only as a whole"
    return outcomes


def _transaction(
    conn: sqlite3.Connection, works: list[Work], *, savepoints: bool
) -> list[tuple[bool, Any]] | None:
    """One BEGIN IMMEDIATE ... COMMIT over `works`. Without savepoints, None (after
    ROLLBACK) as soon as a write fails on its own."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcomes: list[tuple[bool, Any]] = []
        if not savepoints:
            try:
                outcomes = [(True, work(conn)) for work in works]
            except OWN_FAILURES:
                conn.execute("ROLLBACK")
                return None
        else:
            for work in works:
                conn.execute("SAVEPOINT write")
                try:
                    value = work(conn)
                except OWN_FAILURES as exc:
                    conn.execute("ROLLBACK TO write")
                    conn.execute("RELEASE write")
                    outcomes.append((False, exc))
                else:
                    conn.execute("RELEASE write")
                    outcomes.append((True, value))
        conn.execute("COMMIT")
    except BaseException:
        # Some errors (a full disk, an I/O error) end the transaction by themselves.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def run_reads(conn: sqlite3.Connection, works: list[Work]) -> list[tuple[bool, Any]]:
    """On the connection's thread: each read outside any transaction, so each sees what
    was committed when it ran (after its caller asked). Equal reads (a frozen dataclass
    with the same fields) run once per batch and share their outcome."""
    done: dict[Work, tuple[bool, Any]] = {}
    for work in works:
        if work not in done:
            try:
                done[work] = (True, work(conn))
            except Exception as exc:
                done[work] = (False, exc)
    return [done[work] for work in works]


class BatchQueue:
    """One task that takes the calls waiting in its queue and hands them to `execute` as
    one batch (on SQLite `run_writes` or `run_reads` on the connection's thread); started
    by the first call, stopped by close().

    `lock` is held around each batch: on SQLite the Database's transaction lock, so a
    batch never overlaps another coroutine's transaction on the same connection, and
    reads never see half of one."""

    def __init__(
        self,
        execute: Callable[[list[Work]], Awaitable[Outcomes]],
        lock: asyncio.Lock,
        name: str,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._execute = execute
        self._lock = lock
        self._name = name
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Submission | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0  # batches run (committed or not), for benchmarks and tests

    async def submit(self, work: Work) -> Any:
        """Run `work(conn)` in the next batch; returns its value once the batch is done
        (for writes: committed), or raises its own error or the batch's."""
        if self._closed:
            raise DatabaseClosing("the database is closing")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Submission(work, future))
        return await future

    async def close(self) -> None:
        """Refuse new calls, finish the ones already queued, then stop the task."""
        if self._closed:
            return
        self._closed = True
        if self._task is None or self._task.done():
            return
        self._queue.put_nowait(None)
        await self._task

    async def _run(self) -> None:
        batch: list[_Submission] = []
        try:
            while True:
                first = await self._queue.get()
                if first is None:
                    return
                batch = [first]
                async with self._lock:
                    # Whatever arrived while the lock was busy joins this batch.
                    stopping = False
                    while len(batch) < self._max_batch and not self._queue.empty():
                        item = self._queue.get_nowait()
                        if item is None:
                            stopping = True
                            break
                        batch.append(item)
                    await self._run_batch(batch)
                batch = []
                if stopping:
                    return
        finally:
            # Only a cancelled task (a loop shutting down) or a bug ends here with callers
            # waiting: each learns the call was not acknowledged rather than hanging.
            self._closed = True
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None:
                    batch.append(item)
            for s in batch:
                _fail(s.future, DatabaseClosing("stopped before the call was acknowledged"))

    async def _run_batch(self, batch: list[_Submission]) -> None:
        # A caller that gave up before its batch started is not run.
        live = [s for s in batch if not s.future.done()]
        if not live:
            return
        self.batches += 1
        try:
            outcomes = await self._execute([s.work for s in live])
        except Exception as exc:
            log.warning("a batch of %d calls failed as a whole: %r", len(live), exc)
            for s in live:
                _fail(s.future, exc)
            return
        for s, (ok, value) in zip(live, outcomes, strict=True):
            if s.future.done():
                continue
            if ok:
                s.future.set_result(value)
            else:
                s.future.set_exception(value)


def _fail(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
