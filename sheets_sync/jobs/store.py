"""Job records and their atomic transitions (submit, claim, renew, retry, finish, reap)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from .backend import Backend, Tx
from .model import ACTIVE_STATES, FINAL_STATES, Job, Replayed


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
            job.progress = {}
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

    def set_progress(self, job_id: str, worker: str, stage: str, done: int | None = None,
                     total: int | None = None, detail: str | None = None) -> bool:
        """Record the running job's stage (only by the worker that runs it)."""
        now = time.time()

        def fn(tx: Tx) -> bool:
            job = _running(tx, job_id, worker)
            if job is None:
                return False
            job.progress = {"stage": stage, "done": done, "total": total, "detail": detail, "at": now}
            tx.set(f"job:{job_id}", job.to_json())
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
