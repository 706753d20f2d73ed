"""Recording usage rows without ever slowing down or failing the call they describe.

:meth:`UsageRecorder.record` only puts the row on a bounded in-memory queue (no I/O, no lock held
across I/O, safe on an event loop and from any thread). One daemon thread takes rows off in batches
(up to :data:`BATCH_ROWS`, or what arrived within :data:`BATCH_WAIT_S`) and appends each batch to
the store; a batch the store refuses is retried once, then counted as lost. The first failure is
logged (on ``promptship.ops.usage``, without row contents), later ones only counted, and a recovery is
logged once. A full queue (the store is far behind) drops the newest rows and counts them.
At interpreter exit every recorder still running is closed (its queued rows written, waiting at most
:data:`EXIT_FLUSH_S`), so a script that never calls ``Client.close()`` keeps its rows.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .stores import open_usage_store, usage_store_url
from .usage import UsageRow, UsageStore

logger = logging.getLogger("promptship.ops.usage")

BATCH_ROWS = 500
BATCH_WAIT_S = 0.2
QUEUE_ROWS = 100_000
RETRY_WAIT_S = 0.5


@dataclass(frozen=True)
class RecorderStats:
    """Rows written to the store, rows lost (store failures, full queue), failed store calls."""

    written: int
    lost: int
    failures: int


class UsageRecorder:
    """Rows → ``store``, batched on a background thread.

    ``store`` may also be a zero-argument factory, called on the writer thread at the first row (so
    opening a store that is down never delays start-up, and a store that cannot be opened counts as
    a failure like any other). :meth:`flush` waits until what was recorded so far is written;
    :meth:`close` flushes, stops the thread and closes the store.
    """

    def __init__(
        self,
        store: UsageStore | Callable[[], UsageStore],
        *,
        max_queue: int = QUEUE_ROWS,
        batch_rows: int = BATCH_ROWS,
        batch_wait_s: float = BATCH_WAIT_S,
    ) -> None:
        self._store: UsageStore | None = None
        self._factory: Callable[[], UsageStore] | None = None
        if hasattr(store, "append"):
            self._store = cast(UsageStore, store)
        else:
            self._factory = store
        self._queue: queue.Queue[UsageRow | None] = queue.Queue(max_queue)
        self._batch_rows = batch_rows
        self._batch_wait_s = batch_wait_s
        self._lock = threading.Lock()
        self._written = self._lost = self._failures = 0
        self._failing = False
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def location(self) -> str:
        return self._store.location if self._store is not None else "(not opened yet)"

    def record(self, row: UsageRow) -> None:
        """Queue ``row``; never blocks, never raises."""
        with self._lock:
            if self._closed:
                self._lost += 1
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="promptship-usage", daemon=True)
                self._thread.start()
                _LIVE.add(self)  # written out at interpreter exit even if nobody calls close()
            self._pending += 1
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            with self._lock:
                self._pending -= 1
                self._lost += 1
                first = not self._failing
                self._failing = True
            if first:
                logger.warning("usage rows are being dropped: the store at %s is too slow", self.location)

    def stats(self) -> RecorderStats:
        with self._lock:
            return RecorderStats(self._written, self._lost, self._failures)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every row recorded so far is written or counted lost; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued (waiting at most ``timeout_s``), then close the store."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout_s)
        if self._store is not None:
            try:
                self._store.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                logger.debug("closing the usage store failed", exc_info=True)
        stats = self.stats()
        if stats.lost:
            logger.warning("%d usage row(s) could not be recorded (%d store failure(s))", stats.lost, stats.failures)

    # -- writer thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            deadline = time.monotonic() + self._batch_wait_s
            while len(batch) < self._batch_rows:
                try:
                    row = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if row is None:
                    stopping = True
                    break
                batch.append(row)
            self._write(batch)
        # Rows recorded after the stop sentinel (none normally) are counted as lost.
        leftover = 0
        while True:
            try:
                if self._queue.get_nowait() is not None:
                    leftover += 1
            except queue.Empty:
                break
        if leftover:
            self._settle(0, leftover)

    def _write(self, batch: list[UsageRow]) -> None:
        for attempt in range(2):
            try:
                store = self._opened()
                store.append(batch)
            except Exception as exc:  # noqa: BLE001 - any store failure: count it, never raise
                self._failed(exc)
                if attempt == 0:
                    time.sleep(RETRY_WAIT_S)
                continue
            self._settle(len(batch), 0)
            return
        self._settle(0, len(batch))

    def _opened(self) -> UsageStore:
        if self._store is None:
            assert self._factory is not None
            self._store = self._factory()
        return self._store

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._failures += 1
            first = not self._failing
            self._failing = True
        if first:
            where = self._store.location if self._store is not None else "(could not be opened)"
            logger.error(
                "recording usage failed (%s: %s) at %s; calls go on, lost rows are counted",
                type(exc).__name__,
                str(exc)[:200],
                where,
            )

    def _settle(self, written: int, lost: int) -> None:
        recovered = False
        with self._idle:
            self._written += written
            self._lost += lost
            self._pending -= written + lost
            if written and self._failing:
                self._failing, recovered = False, True
            self._idle.notify_all()
        if recovered:
            logger.warning("recording usage works again (%d row(s) lost meanwhile)", self._lost)


def recorder_for(env: Mapping[str, str], root: Path) -> UsageRecorder | None:
    """A recorder into the store :func:`~promptship.ops.usage.usage_store_url` picks for ``env`` and
    ``root`` (opened on the writer thread at the first row), or ``None`` when recording is off."""
    url = usage_store_url(env, root)
    if url is None:
        return None
    settings = dict(env)
    return UsageRecorder(lambda: open_usage_store(url, settings))


#: Recorders whose writer thread runs: a script that ends without ``Client.close()`` would lose the rows
#: still queued (the writer is a daemon thread, stopped mid-batch at exit).
_LIVE: weakref.WeakSet[UsageRecorder] = weakref.WeakSet()
#: How long interpreter exit waits for each recorder's queued rows.
EXIT_FLUSH_S = 5.0


@atexit.register
def _close_at_exit() -> None:
    for recorder in list(_LIVE):
        recorder.close(EXIT_FLUSH_S)
