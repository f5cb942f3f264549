"""Thin views: parse, call one queue function, return JSON.

=======================  =====================================================================
``POST /v1/sync``        ``{"spreadsheet_id" | "workbook", "period"?}`` → 202 ``{job_id, state, joined, …}``
``GET /v1/jobs/<id>``    → 200 state, timings, summary, errors of one job
``GET /healthz``         → 200 ``{"status": "ok", "queue": "sqlite"|"redis"}`` or 503 (no auth)
=======================  =====================================================================
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request, url_for

from sheets_sync import __version__
from sheets_sync.errors import ConfigError
from sheets_sync.jobs import Replayed
from sheets_sync.periods import parse_period

from .auth import replayed, require_auth, take_replay_key
from .errors import ApiError

bp = Blueprint("sheets_sync", __name__)


def _state() -> Any:
    return current_app.extensions["sheets_sync"]


def _body() -> dict[str, Any]:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError("invalid_json")
    return data


def _workbook_from_body() -> Any:
    data = _body()
    ident = data.get("spreadsheet_id") or data.get("spreadsheetId") or data.get("workbook")
    if ident is None:
        raise ApiError("workbook_required")
    if not isinstance(ident, str):
        raise ApiError("invalid_field", "spreadsheet_id / workbook must be a string")
    try:
        return _state().config.find_workbook(ident)
    except ConfigError:
        raise ApiError("workbook_not_found", f"no workbook named or with spreadsheet id {ident[:100]!r}") from None


def _workbook_of_job(job_id: str) -> Any:
    job = _state().queue.get(job_id)
    if job is None:
        raise ApiError("job_not_found")
    g.job = job
    wb = _state().config.workbooks.get(job.workbook)
    if wb is None:                       # workbook removed from service.yaml since
        raise ApiError("workbook_not_found", f"workbook {job.workbook!r} is no longer configured")
    return wb


@bp.post("/v1/sync")
@require_auth(resolve=_workbook_from_body, defer_replay=True)
def sync() -> Any:
    data = _body()
    period = data.get("period")
    if period is not None:
        if not isinstance(period, str):
            raise ApiError("invalid_field", "period must be a string")
        try:
            period = parse_period(period).label
        except ValueError as exc:
            raise ApiError("invalid_period", f"period {period[:40]!r}: {exc}") from None
    principal = g.principal
    if principal.kind == "google":
        trigger, requested_by = "sheet", principal.email
    else:
        who = data.get("requested_by")
        trigger, requested_by = "webhook", (who[:200] if isinstance(who, str) and who else "hmac")
    try:                                 # replay record + job record + queue message: one transaction
        job, created = _state().queue.submit(g.workbook.name, period, trigger=trigger,
                                             requested_by=requested_by, once=take_replay_key())
    except Replayed:
        raise replayed() from None
    body = {"job_id": job.id, "state": job.state, "joined": not created, "workbook": job.workbook,
            "period": job.period, "status_url": url_for(".job", job_id=job.id)}
    return body, 202, {"Location": body["status_url"]}


@bp.get("/v1/jobs/<job_id>")
@require_auth(resolve=_workbook_of_job)
def job(job_id: str) -> Any:
    return g.job.to_dict()


@bp.get("/healthz")
def healthz() -> Any:
    queue = _state().queue
    queue.ping()                         # QueueUnavailable → 503 queue_unavailable
    return {"status": "ok", "queue": queue.backend_kind, "version": __version__}
