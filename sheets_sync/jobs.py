"""Job queue: one sync per workbook at a time, joined duplicates, retries, leases, schedules.

The queue is `huey <https://huey.readthedocs.io>`_:

* **embedded default** — job state and ``SqliteHuey``'s tables in one file, ``config.data_dir/jobs.db``
  (WAL, ``synchronous=NORMAL``). One machine, no other service.
* ``queue.url: redis://host:port/db`` — ``RedisHuey`` and the job state in the same Redis, for several
  workers on several machines.

Huey only carries *which job to run* (a job id). What the webhook shows — state, timings, summary,
errors, who asked — lives in the :class:`JobStore`, whose transitions are atomic (SQLite ``BEGIN
IMMEDIATE`` / Redis ``WATCH``/``MULTI``), so they hold across threads, processes and machines. The huey
message of a new or re-queued job is written **in the same transaction** as the job (a row of huey's
``task`` table / an ``LPUSH`` inside the ``MULTI``), and so is the webhook's HMAC replay record: one
commit per acknowledgement, and no job without its message or message without its job. Status reads
(``JobStore.get``) are plain reads, without the write lock.

``submit``
    creates a ``queued`` job, or **joins** the queued/running job of the same workbook and period
    (returns its id; nothing is enqueued twice).
``claim``
    ``queued`` → ``running`` with a **lease** (``lease_s``) that a heartbeat thread renews. It refuses while
    another job of the same workbook holds a live lease: that is the per-workbook lock, and the task is
    re-scheduled a little later instead of waiting in a worker.
``finish``
    ``running`` → ``done`` / ``failed`` with the summary and errors of the :class:`~sheets_sync.sync.SyncResult`.

**A worker killed mid-sync** (``kill -9``, OOM, a lost machine) stops renewing its lease. Huey has already
removed the message from its queue and does not re-deliver it, so the *lease* is what makes the job
come back: every worker runs a reaper (at start-up and every ``reap_interval_s``) that moves jobs whose
lease expired back to ``queued`` and enqueues them again (bounded by ``max_attempts``). Because the
workbook is written in one atomic step at the end of a sync, the interrupted attempt leaves the workbook
as it was. Re-enqueueing is idempotent: a duplicate message finds the job already claimed or finished
and does nothing. Queued jobs carry a lease too, so a message lost between huey's dequeue and our claim
is re-sent as well.

**Retriable errors** (``RetriableError``: 429, 5xx, a locked file) are retried with exponential backoff
(``retry_base_s`` × 2ⁿ, capped at ``retry_cap_s``, or the error's ``retry_after``) up to ``max_attempts``;
every attempt's error is kept in the job's ``errors``. Any other outcome is final.

**Schedules** come from ``WorkbookConfig.schedule`` (``daily 07:00``, ``weekdays 07:00``,
``weekly mon 07:00``, ``weekly mon,thu 07:00``, ``monthly 1 07:00``) in the workbook's time zone. A huey
periodic task runs every minute; a schedule fires if its local time fell within the last
``SCHEDULE_CATCHUP_MIN`` minutes and it has not fired yet (a once-key in the store makes that true across
several workers). A local time skipped by a DST change does not fire that day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import Config, WorkbookConfig
from .errors import ConfigError, RetriableError, SheetsSyncError

log = logging.getLogger("sheets_sync.jobs")

ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("done", "failed")
SCHEDULE_CATCHUP_MIN = 5
TASK_NAME = "sheets_sync.run_job"
SCHEDULE_TASK_NAME = "sheets_sync.check_schedules"

SyncFn = Callable[..., Any]


class QueueUnavailable(RetriableError):
    """The job store or the queue backend (SQLite file, Redis) cannot be reached."""


# --------------------------------------------------------------------------------------------- jobs


@dataclass
class Job:
    id: str
    workbook: str
    period: str | None
    trigger: str
    requested_by: str | None
    state: str = "queued"
    attempts: int = 0
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    lease_until: float = 0.0
    worker: str | None = None
    summary: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_code: str | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Job:
        return cls(**json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        """The public view served at ``GET /v1/jobs/<id>`` (no lease or worker internals)."""

        def iso(ts: float | None) -> str | None:
            return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds") if ts else None

        end = self.finished_at
        return {
            "job_id": self.id, "state": self.state, "workbook": self.workbook, "period": self.period,
            "trigger": self.trigger, "requested_by": self.requested_by, "attempts": self.attempts,
            "created_at": iso(self.created_at), "started_at": iso(self.started_at), "finished_at": iso(end),
            "queued_s": round(self.started_at - self.created_at, 3) if self.started_at else None,
            "duration_s": round(end - self.started_at, 3) if end and self.started_at else None,
            "summary": list(self.summary), "errors": list(self.errors), "error_code": self.error_code,
            "result": dict(self.result),
        }


# ------------------------------------------------------------------------------- store backends


class Tx(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def lease(self, job_id: str, until: float | None) -> None: ...   # None removes it from the lease index
    def once(self, key: str, ttl_s: float) -> bool: ...              # True the first time within ttl_s
    def enqueue(self, message: bytes) -> None: ...                   # a huey message, committed with the rest


class Backend(Protocol):
    kind: str
    #: huey's queue (SQLite ``task.queue`` value / Redis list key) that ``Tx.enqueue`` writes to; set by
    #: :func:`make_queue`. ``None``: this backend cannot enqueue inside a transaction.
    message_queue: str | None
    def transact(self, fn: Callable[[Tx], Any]) -> Any: ...
    def read(self, key: str) -> str | None: ...
    def once(self, key: str, ttl_s: float) -> bool: ...
    def expired(self, now: float, limit: int = 500) -> list[str]: ...
    def ping(self) -> None: ...


class Replayed(Exception):
    """Raised inside a transaction when its ``once`` key was already recorded; nothing was written."""


class _SqliteTx:
    def __init__(self, backend: SqliteBackend, cur: sqlite3.Cursor):
        self.backend, self.cur = backend, cur

    def get(self, key: str) -> str | None:
        row = self.cur.execute("select value from job_kv where key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        self.cur.execute("insert or replace into job_kv (key, value, expires) values (?, ?, null)", (key, value))

    def delete(self, key: str) -> None:
        self.cur.execute("delete from job_kv where key = ?", (key,))

    def lease(self, job_id: str, until: float | None) -> None:
        if until is None:
            self.cur.execute("delete from job_leases where id = ?", (job_id,))
        else:
            self.cur.execute("insert or replace into job_leases (id, until) values (?, ?)", (job_id, until))

    def once(self, key: str, ttl_s: float) -> bool:
        now = time.time()
        self.backend._calls += 1
        if self.backend._calls % self.backend._purge_every == 0:
            self.cur.execute("delete from job_kv where expires is not null and expires < ?", (now,))
        self.cur.execute("delete from job_kv where key = ? and expires is not null and expires < ?", (key, now))
        self.cur.execute("insert or ignore into job_kv (key, value, expires) values (?, '1', ?)", (key, now + ttl_s))
        return self.cur.rowcount == 1

    def enqueue(self, message: bytes) -> None:
        if self.backend.message_queue is None:
            raise RuntimeError("this job store has no huey queue to enqueue into")
        self.cur.execute("insert into task (queue, data, priority) values (?, ?, 0)",
                         (self.backend.message_queue, message))


class SqliteBackend:
    """Job state in one SQLite file (WAL). Safe across threads and processes on one machine.

    The file also holds huey's tables (``task``, ``schedule``, ``kv``, ``counter``; :func:`make_queue`
    points SqliteHuey at it), so a job record, its replay record and its queue message commit in **one**
    transaction. ``synchronous=NORMAL``: a commit is durable once it is in the WAL file, which survives a
    crash of any process; the WAL is fsynced at checkpoints, so a power loss or kernel crash can lose the
    last commits (never corrupt the file). Checkpoints run in a background thread of each process
    (``checkpoint_interval_s``), not on the commit path of a request.
    """

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str], timeout_s: float = 10.0, *,
                 checkpoint_interval_s: float = 1.0, message_queue: str | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        self.message_queue = message_queue
        self.checkpoint_interval_s = checkpoint_interval_s
        self._local = threading.local()
        # Threads of one process take turns here instead of in SQLite's busy handler, whose back-off sleeps
        # (up to 100 ms) make the latency tail; processes still arbitrate through SQLite's file lock.
        self.write_lock = threading.Lock()
        self._purge_every = 500
        self._calls = 0
        self._checkpointer_pid: int | None = None
        self._checkpointer_lock = threading.Lock()
        with self._cursor() as cur:
            tables = {r[0] for r in cur.execute("select name from sqlite_master where type = 'table'")}
            if "job_kv" not in tables and "kv" in tables and "expires" in {
                    r[1] for r in cur.execute("pragma table_info(kv)")}:
                # a jobs.db from before huey shared the file: our kv/leases become job_kv/job_leases
                cur.execute("alter table kv rename to job_kv")
                if "leases" in tables:
                    cur.execute("alter table leases rename to job_leases")
            cur.execute("create table if not exists job_kv (key text primary key, value text not null, expires real)")
            cur.execute("create table if not exists job_leases (id text primary key, until real not null)")
            cur.execute("create index if not exists job_leases_until on job_leases (until)")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute("pragma journal_mode=wal")
        conn.execute("pragma synchronous=normal")
        if self.checkpoint_interval_s > 0:
            conn.execute("pragma wal_autocheckpoint=0")      # the checkpointer thread does it, off the request path
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (one per thread and process, kept open)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():     # never share a connection across fork
            conn = self._connect()
            self._local.conn, self._local.pid, self._local.cur = conn, os.getpid(), None
            self._start_checkpointer()
        return conn

    def _start_checkpointer(self) -> None:
        if self.checkpoint_interval_s <= 0:
            return
        with self._checkpointer_lock:
            if self._checkpointer_pid == os.getpid():
                return
            self._checkpointer_pid = os.getpid()
        threading.Thread(target=self._checkpoint_loop, daemon=True, name=f"wal-checkpoint-{self.path.name}").start()

    def _checkpoint_loop(self) -> None:
        import weakref

        ref, uri, interval, timeout = weakref.ref(self), self.path.resolve().as_uri() + "?mode=rw", \
            self.checkpoint_interval_s, self.timeout_s
        del self                                  # ends with the backend: hold it only weakly
        conn = None
        while ref() is not None:
            time.sleep(interval)
            try:
                conn = conn or sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
                conn.execute("pragma wal_checkpoint(passive)")
            except sqlite3.Error as exc:            # busy, file gone: try again next time
                log.debug("checkpoint of %s: %s", uri, exc)
        if conn is not None:
            conn.close()

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self.write_lock:
            yield from self._cursor_unlocked()

    def _cursor_unlocked(self) -> Iterator[sqlite3.Cursor]:
        try:
            conn = self._conn()
            cur = conn.cursor()
            cur.execute("begin immediate")
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"job store {self.path} is not available ({exc})") from exc
        self._local.cur = cur
        try:
            yield cur
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                cur.execute("rollback")
            raise
        else:
            try:
                cur.execute("commit")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    cur.execute("rollback")
                raise QueueUnavailable(f"job store {self.path}: commit failed ({exc})") from exc
        finally:
            self._local.cur = None

    def transact(self, fn: Callable[[Tx], Any]) -> Any:
        """Run ``fn`` in one write transaction (``BEGIN IMMEDIATE``); joins this thread's open one."""
        cur = getattr(self._local, "cur", None)
        if cur is not None and self._local.pid == os.getpid():
            return fn(_SqliteTx(self, cur))
        with self._cursor() as cur:
            return fn(_SqliteTx(self, cur))

    def read(self, key: str) -> str | None:
        """One committed value, without the write lock (a WAL reader never waits for writers)."""
        try:
            row = self._conn().execute("select value from job_kv where key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"job store {self.path} is not available ({exc})") from exc
        return row[0] if row else None

    def once(self, key: str, ttl_s: float) -> bool:
        return self.transact(lambda tx: tx.once(key, ttl_s))

    def expired(self, now: float, limit: int = 500) -> list[str]:
        try:
            return [r[0] for r in self._conn().execute(
                "select id from job_leases where until < ? order by until limit ?", (now, limit))]
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"job store {self.path} is not available ({exc})") from exc

    def ping(self) -> None:
        try:
            self._conn().execute("select 1 from job_leases limit 1").fetchall()
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"job store {self.path} is not available ({exc})") from exc


class _RedisTx:
    def __init__(self, pipe: Any, prefix: str, message_queue: str | None):
        self.pipe, self.prefix, self.message_queue = pipe, prefix, message_queue
        self.ops: list[tuple[str, Any, Any]] = []

    def get(self, key: str) -> str | None:
        k = self.prefix + key
        self.pipe.watch(k)
        v = self.pipe.get(k)
        return v.decode() if isinstance(v, bytes) else v

    def set(self, key: str, value: str) -> None:
        self.ops.append(("set", key, value))

    def delete(self, key: str) -> None:
        self.ops.append(("del", key, None))

    def lease(self, job_id: str, until: float | None) -> None:
        self.ops.append(("lease", job_id, until))

    def once(self, key: str, ttl_s: float) -> bool:
        k = self.prefix + "once:" + key
        self.pipe.watch(k)                       # a concurrent first use aborts this transaction (retried)
        if self.pipe.exists(k):
            return False
        self.ops.append(("once", k, max(1, int(ttl_s * 1000))))
        return True

    def enqueue(self, message: bytes) -> None:
        if self.message_queue is None:
            raise RuntimeError("this job store has no huey queue to enqueue into")
        self.ops.append(("lpush", self.message_queue, message))   # what RedisStorage.enqueue does


class RedisBackend:
    """Job state in Redis (``<prefix>kv…`` strings, ``<prefix>leases`` sorted set), for several machines.

    ``Tx.enqueue`` pushes the huey message in the same ``MULTI``/``EXEC`` as the job record.
    """

    kind = "redis"

    def __init__(self, url: str, prefix: str = "sheets-sync:", *, message_queue: str | None = None):
        import redis  # optional dependency: pip install sheets-sync[redis]

        self._redis = redis
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self.message_queue = message_queue

    def _unavailable(self, exc: Exception) -> QueueUnavailable:
        return QueueUnavailable(f"Redis job store is not available ({type(exc).__name__})")

    def transact(self, fn: Callable[[Tx], Any]) -> Any:
        r = self._redis
        for _ in range(100):
            try:
                with self.client.pipeline() as pipe:
                    tx = _RedisTx(pipe, self.prefix, self.message_queue)
                    result = fn(tx)
                    if not tx.ops:
                        return result            # read-only: nothing to commit
                    pipe.multi()
                    for op, key, value in tx.ops:
                        if op == "set":
                            pipe.set(self.prefix + key, value)
                        elif op == "del":
                            pipe.delete(self.prefix + key)
                        elif op == "once":
                            pipe.set(key, "1", px=value)
                        elif op == "lpush":
                            pipe.lpush(key, value)
                        elif value is None:
                            pipe.zrem(self.prefix + "leases", key)
                        else:
                            pipe.zadd(self.prefix + "leases", {key: value})
                    pipe.execute()
                    return result
            except r.WatchError:
                continue
            except (r.ConnectionError, r.TimeoutError) as exc:
                raise self._unavailable(exc) from exc
        raise QueueUnavailable("Redis job store: too much contention, try again")

    def read(self, key: str) -> str | None:
        try:
            v = self.client.get(self.prefix + key)
        except (self._redis.ConnectionError, self._redis.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        return v.decode() if isinstance(v, bytes) else v

    def once(self, key: str, ttl_s: float) -> bool:
        try:
            return bool(self.client.set(self.prefix + "once:" + key, "1", nx=True, px=max(1, int(ttl_s * 1000))))
        except (self._redis.ConnectionError, self._redis.TimeoutError) as exc:
            raise self._unavailable(exc) from exc

    def expired(self, now: float, limit: int = 500) -> list[str]:
        try:
            ids = self.client.zrangebyscore(self.prefix + "leases", "-inf", f"({now}", start=0, num=limit)
        except (self._redis.ConnectionError, self._redis.TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        return [i.decode() if isinstance(i, bytes) else i for i in ids]

    def ping(self) -> None:
        try:
            self.client.ping()
        except (self._redis.ConnectionError, self._redis.TimeoutError) as exc:
            raise self._unavailable(exc) from exc


# ----------------------------------------------------------------------------------- job store


def _active_key(workbook: str, period: str | None) -> str:
    return f"active:{workbook}|{period or ''}"


def _running(tx: Tx, job_id: str, worker: str) -> Job | None:
    """The job if it is running on this worker (a lease that has been reaped belongs to nobody)."""
    raw = tx.get(f"job:{job_id}")
    job = Job.from_json(raw) if raw else None
    return job if job is not None and job.state == "running" and job.worker == worker else None


def _lock_key(workbook: str) -> str:
    return f"lock:{workbook}"


class JobStore:
    """Job records and their atomic transitions, over a :class:`Backend`."""

    def __init__(self, backend: Backend, *, queued_lease_s: float = 600.0, max_attempts: int = 5,
                 lock_poll_s: float = 2.0, message: Callable[[str], bytes] | None = None):
        self.backend = backend
        self.lock_poll_s = lock_poll_s
        self.queued_lease_s = queued_lease_s
        self.max_attempts = max_attempts
        #: ``message(job_id)`` → the huey message that runs the job. When set (by :class:`JobQueue`, if the
        #: backend can), :meth:`submit` and :meth:`reap` enqueue it in their own transaction.
        self.message = message

    # -- reads
    def get(self, job_id: str) -> Job | None:
        if not re.fullmatch(r"[0-9a-f]{32}", job_id or ""):
            return None
        raw = self.backend.read(f"job:{job_id}")
        return Job.from_json(raw) if raw else None

    # -- transitions
    def submit(self, workbook: str, period: str | None, trigger: str,
               requested_by: str | None, *, once: tuple[str, float] | None = None) -> tuple[Job, bool]:
        """Create a queued job, or join the queued/running one of the same workbook and period.

        ``once=(key, ttl_s)`` records a replay key in the same transaction and raises :class:`Replayed`
        (writing nothing) when it was already recorded. With :attr:`message` set, a created job's queue
        message is written in that transaction too: one commit per acknowledgement.
        """
        now = time.time()
        new = Job(id=uuid.uuid4().hex, workbook=workbook, period=period, trigger=trigger,
                  requested_by=requested_by, created_at=now, lease_until=now + self.queued_lease_s)
        message = self.message(new.id) if self.message else None

        def fn(tx: Tx) -> tuple[Job, bool]:
            if once is not None and not tx.once(*once):
                raise Replayed(once[0])
            current = tx.get(_active_key(workbook, period))
            if current:
                raw = tx.get(f"job:{current}")
                if raw:
                    job = Job.from_json(raw)
                    if job.state in ACTIVE_STATES:
                        return job, False
            tx.set(f"job:{new.id}", new.to_json())
            tx.set(_active_key(workbook, period), new.id)
            tx.lease(new.id, new.lease_until)
            if message is not None:
                tx.enqueue(message)
            return new, True

        return self.backend.transact(fn)

    def claim(self, job_id: str, worker: str, lease_s: float) -> tuple[str, Job | None, float]:
        """``("claimed", job, 0)``, ``("busy", job, wait_s)`` (workbook locked by another job) or ``("gone", job, 0)``."""
        now = time.time()

        def fn(tx: Tx) -> tuple[str, Job | None, float]:
            raw = tx.get(f"job:{job_id}")
            if not raw:
                return "gone", None, 0.0
            job = Job.from_json(raw)
            if job.state in FINAL_STATES:
                return "gone", job, 0.0
            if job.state == "running" and job.lease_until > now:
                return "gone", job, 0.0          # another worker holds it
            lock = tx.get(_lock_key(job.workbook))
            if lock:
                holder, until = lock.split("|")
                if holder != job_id and float(until) > now:
                    wait = min(max(float(until) - now, 0.1), self.lock_poll_s)
                    job.lease_until = now + wait + self.queued_lease_s
                    tx.set(f"job:{job_id}", job.to_json())
                    tx.lease(job_id, job.lease_until)
                    return "busy", job, wait
            job.state, job.worker = "running", worker
            job.attempts += 1
            job.started_at = now
            job.finished_at = None
            job.lease_until = now + lease_s
            tx.set(f"job:{job_id}", job.to_json())
            tx.set(_lock_key(job.workbook), f"{job_id}|{job.lease_until}")
            tx.lease(job_id, job.lease_until)
            return "claimed", job, 0.0

        return self.backend.transact(fn)

    def renew(self, job_id: str, worker: str, lease_s: float) -> bool:
        now = time.time()

        def fn(tx: Tx) -> bool:
            job = _running(tx, job_id, worker)
            if job is None:
                return False
            job.lease_until = now + lease_s
            tx.set(f"job:{job_id}", job.to_json())
            tx.set(_lock_key(job.workbook), f"{job_id}|{job.lease_until}")
            tx.lease(job_id, job.lease_until)
            return True

        return self.backend.transact(fn)

    def _release(self, tx: Tx, job: Job) -> None:
        lock = tx.get(_lock_key(job.workbook))
        if lock and lock.split("|")[0] == job.id:
            tx.delete(_lock_key(job.workbook))

    def retry_later(self, job_id: str, worker: str, error: str, delay_s: float) -> bool:
        """``running`` → ``queued`` after a retriable error; the caller re-schedules the task."""
        now = time.time()

        def fn(tx: Tx) -> bool:
            job = _running(tx, job_id, worker)
            if job is None:
                return False
            job.state, job.worker = "queued", None
            job.errors.append(f"attempt {job.attempts}: {error}; retrying in {delay_s:.3g} s")
            job.lease_until = now + delay_s + self.queued_lease_s
            self._release(tx, job)
            tx.set(f"job:{job_id}", job.to_json())
            tx.lease(job_id, job.lease_until)
            return True

        return self.backend.transact(fn)

    def finish(self, job_id: str, worker: str, state: str, *, summary: list[str] | None = None,
               errors: list[str] | None = None, error_code: str | None = None,
               result: dict[str, Any] | None = None) -> bool:
        assert state in FINAL_STATES
        now = time.time()

        def fn(tx: Tx) -> bool:
            job = _running(tx, job_id, worker)
            if job is None:
                return False                      # lease lost: another attempt owns the job now
            job.state, job.finished_at = state, now
            job.summary = list(summary or [])
            job.errors = job.errors + list(errors or [])
            job.error_code, job.result = error_code, dict(result or {})
            self._release(tx, job)
            tx.set(f"job:{job_id}", job.to_json())
            tx.lease(job_id, None)
            return True

        return self.backend.transact(fn)

    def reap(self, now: float | None = None) -> list[str]:
        """Jobs whose lease expired: back to ``queued`` (ids returned; enqueued again here when
        :attr:`message` is set, else by the caller) or ``failed``."""
        now = time.time() if now is None else now
        out: list[str] = []
        for job_id in self.backend.expired(now):
            def fn(tx: Tx, job_id: str = job_id) -> bool:
                raw = tx.get(f"job:{job_id}")
                job = Job.from_json(raw) if raw else None
                if job is None or job.state in FINAL_STATES:
                    tx.lease(job_id, None)
                    return False
                if job.lease_until >= now:
                    return False
                if job.state == "running":
                    self._release(tx, job)
                    if job.attempts >= self.max_attempts:
                        job.state, job.finished_at, job.error_code = "failed", now, "worker_lost"
                        job.errors.append(f"attempt {job.attempts}: the worker stopped before finishing; "
                                          f"giving up after {job.attempts} attempts")
                        tx.set(f"job:{job_id}", job.to_json())
                        tx.lease(job_id, None)
                        return False
                    job.errors.append(f"attempt {job.attempts}: the worker stopped before finishing "
                                      "(lease expired); retrying")
                    job.state, job.worker = "queued", None
                job.lease_until = now + self.queued_lease_s
                tx.set(f"job:{job_id}", job.to_json())
                tx.lease(job_id, job.lease_until)
                if self.message is not None:
                    tx.enqueue(self.message(job_id))
                return True

            if self.backend.transact(fn):
                out.append(job_id)
        return out


# ------------------------------------------------------------------------------------- schedules

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCHEDULE_HELP = ("'daily HH:MM', 'weekdays HH:MM', 'weekly mon HH:MM' (or mon,thu), "
                 "'monthly D HH:MM' (D = 1..28)")


@dataclass(frozen=True)
class Schedule:
    text: str
    weekdays: frozenset[int]          # 0 = Monday; empty = any day
    monthday: int | None
    hour: int
    minute: int

    def matches(self, local: dt.datetime) -> bool:
        if (local.hour, local.minute) != (self.hour, self.minute):
            return False
        if self.monthday is not None and local.day != self.monthday:
            return False
        return not self.weekdays or local.weekday() in self.weekdays


def parse_schedule(text: str) -> Schedule:
    """Parse one ``WorkbookConfig.schedule`` string; :class:`ConfigError` says what would be valid."""
    s = " ".join(str(text).lower().split())
    m = re.fullmatch(r"(daily|weekdays|weekly ([a-z,]+)|monthly (\d{1,2})) (\d{1,2}):(\d{2})", s)
    if not m:
        raise ConfigError(f"schedule {text!r}: expected {SCHEDULE_HELP}")
    hour, minute = int(m[4]), int(m[5])
    if hour > 23 or minute > 59:
        raise ConfigError(f"schedule {text!r}: {hour:02d}:{minute:02d} is not a time of day")
    weekdays: frozenset[int] = frozenset()
    monthday = None
    if m[1] == "weekdays":
        weekdays = frozenset(range(5))
    elif m[2]:
        names = m[2].split(",")
        bad = [n for n in names if n[:3] not in _DAYS or not n]
        if bad:
            raise ConfigError(f"schedule {text!r}: {', '.join(bad)} is not a day; use {', '.join(_DAYS)}")
        weekdays = frozenset(_DAYS.index(n[:3]) for n in names)
    elif m[3]:
        monthday = int(m[3])
        if not 1 <= monthday <= 28:
            raise ConfigError(f"schedule {text!r}: day of month must be 1..28 so it exists every month")
    return Schedule(s, weekdays, monthday, hour, minute)


def _zone(wb: WorkbookConfig) -> ZoneInfo:
    try:
        return ZoneInfo(wb.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"workbook {wb.name}: unknown time zone {wb.timezone!r}") from None


def due_schedules(config: Config, now: dt.datetime,
                  catchup_min: int = SCHEDULE_CATCHUP_MIN) -> list[tuple[WorkbookConfig, Schedule, str]]:
    """Schedules whose local time fell in ``(now - catchup_min, now]``, with a key naming that occurrence."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.replace(second=0, microsecond=0)
    out = []
    for wb in config.workbooks.values():
        if not wb.schedule:
            continue
        tz = _zone(wb)
        for text in wb.schedule:
            sched = parse_schedule(text)
            for back in range(catchup_min):
                local = (now - dt.timedelta(minutes=back)).astimezone(tz)
                if sched.matches(local):
                    out.append((wb, sched, f"{wb.name}|{sched.text}|{local.strftime('%Y-%m-%dT%H:%M')}"))
                    break
    return out


# ----------------------------------------------------------------------------------------- queue


def _default_sync(config: Config, workbook: str | None = None, **kwargs: Any) -> Any:
    from .sync import run_sync  # lazily: the webhook process never needs the sync machinery

    return run_sync(config, workbook, **kwargs)


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

        @huey.task(name=TASK_NAME)
        def run_job(job_id: str) -> None:
            self.execute(job_id)

        @huey.periodic_task(crontab(), name=SCHEDULE_TASK_NAME)
        def check_schedules() -> None:
            self.fire_schedules()

        self.task = run_job
        self.schedule_task = check_schedules
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
        now = now or dt.datetime.now(dt.UTC)
        fired = []
        for wb, sched, key in due_schedules(self.config, now):
            if self.store.backend.once(f"schedule:{key}", ttl_s=2 * 86400):
                job, _ = self.submit(wb.name, None, trigger=f"schedule: {sched.text}", requested_by=None)
                log.info("schedule %r fired for workbook %s: job %s", sched.text, wb.name, job.id)
                fired.append(job)
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
                result = self.sync_fn(self.config, job.workbook, period=job.period, trigger=job.trigger,
                                      requested_by=job.requested_by)
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


# ---------------------------------------------------------------------------------------- worker


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


def with_defaults(config: Config) -> Config:
    """The embedded defaults when nothing is configured: the demo workbook ``./sheets-sync-demo.xlsx`` with
    the sample reports ``sheets-sync demo`` writes next to it (``./sheets-sync-demo-reports``)."""
    if config.workbooks:
        return config
    demo = WorkbookConfig(name="demo", backend="xlsx", path=Path.cwd() / "sheets-sync-demo.xlsx",
                          reports=Path.cwd() / "sheets-sync-demo-reports")
    return replace(config, workbooks={"demo": demo}, default_workbook="demo")
