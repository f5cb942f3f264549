"""The job record, its states and the queue's errors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import RetriableError

ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("done", "failed")
SCHEDULE_CATCHUP_MIN = 5
#: how far back a worker coming back looks for schedules missed while every worker was down
SCHEDULE_MISSED_MAX_DAYS = 7
TASK_NAME = "sheets_sync.run_job"
SCHEDULE_TASK_NAME = "sheets_sync.check_schedules"

SyncFn = Callable[..., Any]


class QueueUnavailable(RetriableError):
    """The job store or the queue backend (SQLite file, Redis) cannot be reached."""


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
    #: the running sync's last stage: ``{"stage", "done", "total", "detail", "at"}`` (see sheets_sync.progress)
    progress: dict[str, Any] = field(default_factory=dict)

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
            "result": dict(self.result), "progress": self.progress_view(),
        }

    def progress_view(self) -> dict[str, Any] | None:
        """The stage a running job is in (``label``: "fetching reports 3/8"); None before it starts."""
        if not self.progress:
            return None
        from ..progress import describe

        p = dict(self.progress)
        p["label"] = describe(p.get("stage"), p.get("done"), p.get("total"))
        if p.get("at"):
            p["at"] = dt.datetime.fromtimestamp(p["at"], dt.UTC).isoformat(timespec="milliseconds")
        return p


class Replayed(Exception):
    """Raised inside a transaction when its ``once`` key was already recorded; nothing was written."""
