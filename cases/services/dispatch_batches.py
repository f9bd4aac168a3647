"""Batched dispatch of outbox notices from a web process (``OUTBOX_DISPATCH_LINGER_MS``).

Why: publishing a Celery message costs a web process about as much CPU as a small SQL
statement (message headers, serialisation, the broker round trip), and intake publishes
one acknowledgement per complaint. With a linger of a few milliseconds the notices that
commit in that time leave in one ``send_notices_task`` message (at most
``OUTBOX_DISPATCH_BATCH`` ids), published by a background thread of the process.

What stays true: the outbox row, written in the complaint's transaction, is the source of
truth. A batch lost on the way (the process exits within the linger, the broker is down)
leaves its rows ``queued``, and the redispatch sweep sends them after
``OUTBOX_REDISPATCH_AFTER_SECONDS``, as for any lost message. The worker sends each notice
through the same claim as ``send_notice_task`` (never twice) and retries each one on its own.
Off (0) by default, so tests, the development server and the embedded default publish at
once as before; production settings turn it on.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterable

from django.conf import settings

logger = logging.getLogger(__name__)


class DispatchBatcher:
    """Collects notice ids after commit; a daemon thread publishes them in batches."""

    def __init__(self, *, linger_seconds: float, batch_size: int) -> None:
        self.linger_seconds = linger_seconds
        self.batch_size = max(1, batch_size)
        self._pending: list[int] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def add(self, notice_ids: Iterable[int]) -> None:
        with self._lock:
            self._pending.extend(notice_ids)
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                # First use in this process (or a forked child: threads do not survive fork).
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="outbox-dispatch",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def flush(self) -> int:
        """Publish what is pending now (the thread, process exit and tests call it)."""
        with self._lock:
            ids, self._pending = self._pending, []
            self._wake.clear()
        return publish_batches(ids, self.batch_size)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            # Let the notices committing meanwhile join this batch.
            time.sleep(self.linger_seconds)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must survive; the sweep recovers
                logger.exception("outbox batch dispatch failed; the redispatch sweep will "
                                 "send those notices")


def publish_batches(notice_ids: list[int], batch_size: int) -> int:
    """One ``send_notices_task`` message per ``batch_size`` ids; returns the ids published.
    A broker that is down leaves the rest queued for the redispatch sweep."""
    from kombu.exceptions import OperationalError

    from cases.tasks import send_notices_task

    published = 0
    for start in range(0, len(notice_ids), batch_size):
        chunk = notice_ids[start:start + batch_size]
        try:
            send_notices_task.delay(chunk)
        except (OperationalError, ConnectionError, OSError) as exc:
            logger.warning("broker unavailable, %d notices left for the redispatch sweep: %s",
                           len(notice_ids) - published, type(exc).__name__)
            break
        published += len(chunk)
    return published


_batcher: DispatchBatcher | None = None
_batcher_lock = threading.Lock()


def batcher() -> DispatchBatcher | None:
    """The process's batcher, or None when batching is off (``OUTBOX_DISPATCH_LINGER_MS``)."""
    global _batcher
    linger_ms = int(getattr(settings, "OUTBOX_DISPATCH_LINGER_MS", 0) or 0)
    if linger_ms <= 0:
        return None
    if _batcher is None:
        with _batcher_lock:
            if _batcher is None:
                _batcher = DispatchBatcher(
                    linger_seconds=linger_ms / 1000,
                    batch_size=int(getattr(settings, "OUTBOX_DISPATCH_BATCH", 50)),
                )
                atexit.register(_flush_at_exit)
    return _batcher


def _flush_at_exit() -> None:
    if _batcher is not None:
        try:
            _batcher.flush()
        except Exception:  # noqa: BLE001 - exiting anyway; the sweep recovers
            logger.warning("outbox batch not dispatched at exit; the sweep will send it")
