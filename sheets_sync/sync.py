"""The one orchestrator: read team tabs → fetch actuals → compute → write generated tabs.

Only this module sees every port (workbook, source, compute). Callers (CLI, job queue) use
:func:`run_sync` and get a :class:`SyncResult`; nothing here prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SyncResult:
    status: str                         # "ok", "ok with warnings", "failed"
    started_at: dt.datetime
    duration_s: float
    workbook: str                       # a path or "google:<id>"; never a secret
    period: str | None = None
    api_calls: int = 0
    rows_read: int = 0
    warnings: int = 0
    summary: list[str] = field(default_factory=list)       # short lines for the console / job status
    problems: list[str] = field(default_factory=list)      # every addressed problem, as shown in the Sync Log
    scorecard: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None            # set when status == "failed"
    error_code: str | None = None       # stable code, e.g. "retriable", "fatal", "config", "input"

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "started_at": self.started_at.isoformat(), "duration_s": self.duration_s,
                "workbook": self.workbook, "period": self.period, "api_calls": self.api_calls,
                "rows_read": self.rows_read, "warnings": self.warnings, "summary": self.summary,
                "problems": self.problems, "scorecard": self.scorecard, "error": self.error,
                "error_code": self.error_code}
