"""The embedded backend: job state (and huey's tables) in one SQLite file."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .backend import Tx
from .model import QueueUnavailable

log = logging.getLogger("sheets_sync.jobs")


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
        # Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is locked" at once
        # (no busy wait) when another process is opening the same new file: retry within the timeout.
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                conn.execute("pragma journal_mode=wal")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
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
