"""Running a consumer (thread workers) plus the lease reaper in this process."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..config import Config
from .model import SyncFn
from .queue import JobQueue, make_queue

log = logging.getLogger("sheets_sync.jobs")


class WorkerHandle:
    """A consumer running in this process; :meth:`stop` ends it (gracefully by default)."""

    def __init__(self, queue: JobQueue, consumer: Any, reaper: threading.Thread, stop_event: threading.Event):
        self.queue, self.consumer, self._reaper, self._stop = queue, consumer, reaper, stop_event

    def stop(self, graceful: bool = True) -> None:
        self._stop.set()
        self.consumer.stop(graceful=graceful)
        self._reaper.join(timeout=5)


def _reaper_loop(queue: JobQueue, stop: threading.Event) -> None:
    while True:
        try:
            queue.reap()
        except Exception:
            log.exception("reaper: could not check leases")
        if stop.wait(queue.reap_interval_s):
            return


def run_worker(config: Config, *, queue: JobQueue | None = None, sync_fn: SyncFn | None = None,
               workers: int = 1, block: bool = True, periodic: bool = True,
               **options: Any) -> WorkerHandle | None:
    """Start a huey consumer in this process (thread workers) plus the lease reaper.

    ``block=True`` (the ``sheets-sync worker`` command) runs until SIGINT/SIGTERM; it must be called from
    the main thread. ``block=False`` returns a :class:`WorkerHandle` (tests, ``serve``'s embedded worker).
    """
    from huey.consumer import Consumer

    queue = queue or make_queue(config, sync_fn=sync_fn, **options)

    class _Consumer(Consumer):
        def _set_signal_handlers(self) -> None:
            if block:
                super()._set_signal_handlers()

    consumer = _Consumer(queue.huey, workers=workers, worker_type="thread", periodic=periodic,
                         initial_delay=0.05, max_delay=1.0, scheduler_interval=1, check_worker_health=True)
    stop = threading.Event()
    reaper = threading.Thread(target=_reaper_loop, args=(queue, stop), daemon=True, name="lease-reaper")
    reaper.start()
    log.info("worker %s: %s queue, %d thread(s)", queue.worker_id, queue.backend_kind, workers)
    if not block:
        consumer.start()
        return WorkerHandle(queue, consumer, reaper, stop)
    try:
        consumer.run()
    finally:
        stop.set()
    return None


def worker(config: Config, *, workers: int = 1) -> None:
    """``sheets-sync worker``: drain the queue and fire schedules until interrupted."""
    run_worker(config, workers=workers, block=True)
