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
several workers). A local time skipped by a DST change does not fire that day. **Missed schedules**: the
time of the last check is kept in the store; a worker that comes back after every worker was down runs
the latest missed occurrence of each schedule once (up to ``SCHEDULE_MISSED_MAX_DAYS`` back).

Modules: :mod:`.model` (the job record), :mod:`.backend` (what a store backend provides),
:mod:`.sqlite_backend`, :mod:`.redis_backend`, :mod:`.store` (atomic transitions), :mod:`.schedule`,
:mod:`.queue` (huey + store + the sync task), :mod:`.worker` (a consumer in this process).
"""

from __future__ import annotations

from .backend import Backend, Tx
from .model import (
    ACTIVE_STATES,
    FINAL_STATES,
    SCHEDULE_CATCHUP_MIN,
    SCHEDULE_TASK_NAME,
    TASK_NAME,
    Job,
    QueueUnavailable,
    Replayed,
    SyncFn,
)
from .queue import JobQueue, make_huey, make_queue, with_defaults
from .redis_backend import RedisBackend
from .schedule import SCHEDULE_HELP, Schedule, due_occurrences, due_schedules, parse_schedule
from .sqlite_backend import SqliteBackend
from .store import JobStore
from .worker import WorkerHandle, run_worker, worker

__all__ = [
    "ACTIVE_STATES", "FINAL_STATES", "SCHEDULE_CATCHUP_MIN", "SCHEDULE_HELP", "SCHEDULE_TASK_NAME", "TASK_NAME",
    "Backend", "Job", "JobQueue", "JobStore", "QueueUnavailable", "RedisBackend", "Replayed", "Schedule",
    "SqliteBackend", "SyncFn", "Tx", "WorkerHandle", "due_occurrences", "due_schedules", "make_huey", "make_queue", "parse_schedule",
    "run_worker", "with_defaults", "worker",
]
