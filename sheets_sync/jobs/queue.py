"""The queue: huey plus the job store plus the task that runs a sync; :func:`make_queue` builds it."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import Config, WorkbookConfig
from ..errors import ConfigError, RetriableError, SheetsSyncError
from .backend import Backend
from .model import (
    SCHEDULE_CATCHUP_MIN,
    SCHEDULE_MISSED_MAX_DAYS,
    SCHEDULE_TASK_NAME,
    TASK_NAME,
    Job,
    QueueUnavailable,
    SyncFn,
)
from .redis_backend import RedisBackend
from .schedule import _zone, due_occurrences, parse_schedule
from .sqlite_backend import SqliteBackend
from .store import JobStore

log = logging.getLogger("sheets_sync.jobs")
SCHEDULES_CHECKED_KEY = "schedules:checked"


def _default_sync(config: Config, workbook: str | None = None, **kwargs: Any) -> Any:
    from ..sync import run_sync  # lazily: the webhook process never needs the sync machinery

    return run_sync(config, workbook, **kwargs)


def _takes_progress(fn: Any) -> bool:
    """Whether a sync function accepts ``progress=`` (run_sync does; simple test stand-ins may not)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "progress" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _result_fields(result: Any) -> tuple[str, list[str], list[str], str | None, dict[str, Any]]:
    """(state, summary, errors, error_code, result) from a SyncResult (or anything shaped like one)."""
    ok = bool(getattr(result, "ok", True))
    summary = list(getattr(result, "summary", []) or [])
    errors = [str(p) for p in (getattr(result, "problems", []) or [])]
    err = getattr(result, "error", None)
    if err:
        errors.insert(0, str(err))
    info = {k: getattr(result, k) for k in ("status", "workbook", "period", "api_calls", "rows_read", "warnings")
            if hasattr(result, k)}
    return ("done" if ok else "failed"), summary, errors, getattr(result, "error_code", None), info


class JobQueue:
    """Huey plus the job store plus the task that runs a sync. Build it with :func:`make_queue`."""

    def __init__(self, config: Config, huey: Any, store: JobStore, *, sync_fn: SyncFn | None = None,
                 lease_s: float = 60.0, retry_base_s: float = 30.0, retry_cap_s: float = 900.0,
                 reap_interval_s: float | None = None):
        self.config = config
        self.huey = huey
        self.store = store
        self.sync_fn = sync_fn or _default_sync
        self.lease_s = lease_s
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.reap_interval_s = reap_interval_s if reap_interval_s is not None else max(lease_s / 3, 0.2)
        self.worker_id = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        from huey import crontab
        from huey.exceptions import RetryTask

        self._RetryTask = RetryTask

        def run_job(job_id: str) -> None:
            self.execute(job_id)

        def check_schedules() -> None:
            self.fire_schedules()

        # huey names a task after its function's module: keep the names messages in existing queues carry
        # ("sheets_sync.jobs.sheets_sync.run_job", from when the queue was one module)
        run_job.__module__ = check_schedules.__module__ = "sheets_sync.jobs"
        self.task = huey.task(name=TASK_NAME)(run_job)
        self.schedule_task = huey.periodic_task(crontab(), name=SCHEDULE_TASK_NAME)(check_schedules)
        if getattr(store.backend, "message_queue", None) and not getattr(huey, "immediate", False):
            # the job store writes the message in the transaction that creates (or re-queues) the job
            store.message = self._message

    @property
    def backend_kind(self) -> str:
        return self.store.backend.kind

    # -- producer side (webhook, CLI, scheduler)
    def submit(self, workbook: str, period: str | None = None, *, trigger: str = "cli",
               requested_by: str | None = None, once: tuple[str, float] | None = None) -> tuple[Job, bool]:
        """Queue a sync of ``workbook`` (a name from service.yaml); joins an active job. Returns ``(job, created)``.

        ``once=(key, ttl_s)``: also record a replay key in the same transaction (:class:`Replayed` if it
        was recorded before; then nothing is queued).
        """
        job, created = self.store.submit(workbook, period, trigger, requested_by, once=once)
        if created and self.store.message is None:
            self._enqueue(job.id)
        return job, created

    def _message(self, job_id: str) -> bytes:
        """The huey message that runs ``job_id`` (what ``self.task(job_id)`` would enqueue)."""
        return self.huey.serialize_task(self.task.s(job_id))

    def _enqueue(self, job_id: str) -> None:
        try:
            self.task(job_id)
        except Exception as exc:     # huey storage down: the queued lease re-sends it later
            raise QueueUnavailable(f"could not enqueue job {job_id} ({type(exc).__name__})") from exc

    def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def ping(self) -> None:
        self.store.backend.ping()

    def reap(self) -> int:
        ids = self.store.reap()
        for job_id in ids:
            log.warning("job %s: lease expired, enqueued again", job_id)
            if self.store.message is None:
                self._enqueue(job_id)
        return len(ids)

    def fire_schedules(self, now: dt.datetime | None = None) -> list[Job]:
        """Submit the schedules that are due. When every worker was down past a schedule's time (the last
        check, kept in the store, is older than the catch-up window), the latest missed occurrence of each
        schedule runs once, marked "missed … run late" in the trigger."""
        now = now or dt.datetime.now(dt.UTC)
        checked = self.store.backend.read(SCHEDULES_CHECKED_KEY)
        since = dt.datetime.fromtimestamp(float(checked), dt.UTC) if checked else None
        fired = []
        late_before = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=SCHEDULE_CATCHUP_MIN)
        for wb, sched, key, at in due_occurrences(self.config, now, since=since):
            if self.store.backend.once(f"schedule:{key}", ttl_s=(SCHEDULE_MISSED_MAX_DAYS + 2) * 86400):
                trigger = f"schedule: {sched.text}"
                if at <= late_before:
                    trigger += f" (missed at {key.rsplit('|', 1)[-1].replace('T', ' ')}, run late)"
                job, _ = self.submit(wb.name, None, trigger=trigger, requested_by=None)
                log.info("schedule %r fired for workbook %s: job %s (%s)", sched.text, wb.name, job.id, trigger)
                fired.append(job)
        stamp = now.timestamp()

        def mark(tx: Any) -> None:
            old = tx.get(SCHEDULES_CHECKED_KEY)
            if old is None or float(old) < stamp:
                tx.set(SCHEDULES_CHECKED_KEY, repr(stamp))

        self.store.backend.transact(mark)
        return fired

    # -- consumer side
    def _backoff(self, attempts: int, exc: RetriableError) -> float:
        if exc.retry_after:
            return min(float(exc.retry_after), self.retry_cap_s)
        return min(self.retry_cap_s, self.retry_base_s * 2 ** max(attempts - 1, 0))

    def execute(self, job_id: str) -> None:
        """Run one job (the body of the huey task)."""
        worker = self.worker_id
        status, job, wait = self.store.claim(job_id, worker, self.lease_s)
        if status == "busy":
            log.info("job %s: workbook %s is being synced by another job; trying again in %.1f s",
                     job_id, job.workbook if job else "?", wait)
            raise self._RetryTask(delay=wait)
        if status != "claimed" or job is None:
            return
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job_id, worker, stop), daemon=True,
                                name=f"lease-{job_id[:8]}")
        beat.start()
        try:
            try:
                extra = {"progress": self._progress(job_id, worker)} if _takes_progress(self.sync_fn) else {}
                result = self.sync_fn(self.config, job.workbook, period=job.period, trigger=job.trigger,
                                      requested_by=job.requested_by, **extra)
            except RetriableError as exc:
                if job.attempts < self.store.max_attempts:
                    delay = self._backoff(job.attempts, exc)
                    if self.store.retry_later(job_id, worker, str(exc), delay):
                        log.warning("job %s attempt %d: %s; retrying in %.1f s", job_id, job.attempts, exc, delay)
                        raise self._RetryTask(delay=delay) from None
                    return
                self.store.finish(job_id, worker, "failed", errors=[f"attempt {job.attempts}: {exc}",
                                  f"gave up after {job.attempts} attempts"], error_code="retriable")
            except SheetsSyncError as exc:
                code = {"ConfigError": "config", "TemplateError": "template", "InputDataError": "input",
                        "ReportFormatError": "input"}.get(type(exc).__name__, "fatal")
                self.store.finish(job_id, worker, "failed", errors=[str(exc)], error_code=code)
            except Exception as exc:
                log.exception("job %s: unexpected error", job_id)
                self.store.finish(job_id, worker, "failed", errors=[f"internal error ({type(exc).__name__})"],
                                  error_code="internal")
            else:
                state, summary, errors, code, info = _result_fields(result)
                self.store.finish(job_id, worker, state, summary=summary, errors=errors, error_code=code,
                                  result=info)
        finally:
            stop.set()
            beat.join(timeout=5)

    def _progress(self, job_id: str, worker: str, min_interval_s: float = 1.0) -> Callable[..., None]:
        """The sync's ``progress`` callback: a new stage is stored at once, counts at most every second."""
        last: dict[str, Any] = {"stage": None, "at": 0.0}

        def progress(stage: str, done: int | None = None, total: int | None = None,
                     detail: str | None = None) -> None:
            now = time.monotonic()
            if stage == last["stage"] and now - float(last["at"] or 0.0) < min_interval_s and done != total:
                return
            last["stage"], last["at"] = stage, now
            try:
                self.store.set_progress(job_id, worker, stage, done, total, detail)
            except QueueUnavailable as exc:
                log.warning("job %s: could not record progress (%s)", job_id, exc)

        return progress

    def _heartbeat(self, job_id: str, worker: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease_s / 3):
            try:
                if not self.store.renew(job_id, worker, self.lease_s):
                    log.error("job %s: lease lost to another worker", job_id)
                    return
            except QueueUnavailable as exc:
                log.warning("job %s: could not renew lease (%s)", job_id, exc)


@functools.cache
def _shared_sqlite_storage() -> type:
    from huey.storage import SqliteStorage

    class SharedSqliteStorage(SqliteStorage):
        """huey's SQLite storage in the job store's file, with the job store's durability (WAL, NORMAL)."""

        def _create_connection(self) -> sqlite3.Connection:
            conn = super()._create_connection()
            conn.execute("pragma synchronous=normal")
            return conn

    return SharedSqliteStorage


def make_queue(config: Config, *, sync_fn: SyncFn | None = None, name: str = "sheets-sync",
               **options: Any) -> JobQueue:
    """The queue for ``config``: SqliteHuey in ``data_dir`` or, for ``redis://…``, RedisHuey.

    ``sync_fn`` replaces :func:`sheets_sync.sync.run_sync` (tests, benchmarks). ``options`` go to
    :class:`JobQueue` (``lease_s``, ``retry_base_s``, ``retry_cap_s``, ``reap_interval_s``) and
    :class:`JobStore` (``max_attempts``, ``queued_lease_s``, ``lock_poll_s``).
    """
    from huey import RedisHuey, SqliteHuey

    for wb in config.workbooks.values():           # fail at start-up, not at 07:00
        for text in wb.schedule:
            parse_schedule(text)
        if wb.schedule:
            _zone(wb)
    store_opts = {k: options.pop(k) for k in ("max_attempts", "queued_lease_s", "lock_poll_s") if k in options}
    url = config.queue_url or "sqlite"
    if url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey(name, url=url, results=False, utc=True)
        backend: Backend = RedisBackend(url, prefix=f"{name}:", message_queue=huey.storage.queue_key)
    elif url in ("sqlite", "") or url.startswith("sqlite"):
        data = Path(config.data_dir).expanduser()
        data.mkdir(parents=True, exist_ok=True)
        # one file for the job store and huey's tables: a job and its message commit together
        backend = SqliteBackend(data / "jobs.db", message_queue=name)
        huey = SqliteHuey(name, filename=str(backend.path), results=False, utc=True,
                          storage_class=_shared_sqlite_storage(), timeout=backend.timeout_s)
    else:
        raise ConfigError(f"queue.url {url!r}: expected 'sqlite' or 'redis://host:port/db'")
    return JobQueue(config, huey, JobStore(backend, **store_opts), sync_fn=sync_fn, **options)


def make_huey(config: Config, *, sync_fn: SyncFn | None = None, **options: Any) -> Any:
    """The bare huey instance with the sync task registered (for ``huey_consumer``-style tooling)."""
    return make_queue(config, sync_fn=sync_fn, **options).huey


def with_defaults(config: Config) -> Config:
    """The embedded defaults when nothing is configured: the demo workbook ``./sheets-sync-demo.xlsx`` with
    the sample reports ``sheets-sync demo`` writes next to it (``./sheets-sync-demo-reports``)."""
    if config.workbooks:
        return config
    demo = WorkbookConfig(name="demo", backend="xlsx", path=Path.cwd() / "sheets-sync-demo.xlsx",
                          reports=Path.cwd() / "sheets-sync-demo-reports")
    return replace(config, workbooks={"demo": demo}, default_workbook="demo")
