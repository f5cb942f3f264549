"""Routes of the Google Sheets add-on (``sheet_templates/addon/``): set up a sheet, its settings, its progress.

=============================  ==========================================================================
``POST /v1/addon/setup``       ``{spreadsheet_id}`` → 201 (registered) / 200 (already): template tabs added
``GET /v1/addon/settings``     ``?spreadsheet_id=`` → the registration, its settings and the choices
``PUT /v1/addon/settings``     ``{spreadsheet_id, source?, reports?, amazon_credentials?, marketplaces?,
                               timezone?, schedule?, allow_emails?, allow_domains?}`` → 200 the registration
``GET /v1/addon/status``       ``?spreadsheet_id=&job_id=`` → the job (with its ``stage`` when the job store
                               records one) and, once it is over, the review's result read from the sheet
=============================  ==========================================================================

Syncing is ``POST /v1/sync`` (routes.py) with the spreadsheet id: registered sheets resolve there like
``service.yaml`` ones (:mod:`sheets_sync.registry`). Every route here takes a Google ID token (the add-on's
``ScriptApp.getIdentityToken()``); setting up a sheet needs one whose verified email is in the operator's
``addon.allow``. The webhook's rule that it never imports gspread at start-up holds: the Google adapter is
imported when a sheet is set up or a result is read.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, g, request

from sheets_sync.config import SOURCES, Config, WorkbookConfig
from sheets_sync.errors import ConfigError, RetriableError, SheetsSyncError
from sheets_sync.frames import MARKETPLACES
from sheets_sync.registry import (
    CLAIM_METADATA_KEY,
    SHEET_ID_RE,
    Registration,
    SettingsError,
    WorkbooksWithRegistered,
    apply_settings,
    claim_ok,
    make_claim,
    open_registry,
    with_registered,
)

from .auth import Principal, allowed, authenticate
from .errors import ApiError

log = logging.getLogger("webhook.addon")
bp = Blueprint("sheets_sync_addon", __name__)

GENERATED_HEADER_ROW = 2          # generated tabs: definitions on row 1, header on row 2, data from row 3
THROUGH_RE = re.compile(r"(?:data through|数据截至|datos hasta) (.+?)(?:[;；]|\s·\s|$)")   # en, zh, es


#: Google calls made while a user waits (setup, reading the result): short timeouts, a small retry budget
REQUEST_TIMEOUT = (5.0, 15.0)
REQUEST_RETRY_BUDGET_S = 12.0


def _default_open_workbook(config: Config, wbc: WorkbookConfig) -> Any:
    """The workbook, opened for a request: gspread is imported here, not at start-up."""
    if wbc.backend != "google":
        from sheets_sync.sync import open_workbook

        return open_workbook(config, wbc)
    from sheets_sync.sheets.google import RetryPolicy, open_google_workbook
    from sheets_sync.template import load_template

    return open_google_workbook(wbc.sheet_id, config, load_template(), timeout=REQUEST_TIMEOUT,
                                retry=RetryPolicy(max_attempts=3, max_total_s=REQUEST_RETRY_BUDGET_S))


@dataclass
class AddonState:
    #: ``open_workbook(config, workbook_config) -> Workbook``; tests point it at the local Sheets server
    open_workbook: Callable[[Config, WorkbookConfig], Any] = _default_open_workbook


def init_addon(app: Flask) -> None:
    """Register the blueprint; when the add-on is enabled, make sure the config resolves registered sheets."""
    state = app.extensions["sheets_sync"]
    if state.config.addon.enabled and not isinstance(state.config.workbooks, WorkbooksWithRegistered):
        state.config = with_registered(state.config)
        queue_cfg = getattr(state.queue, "config", None)
        if queue_cfg is not None and not isinstance(queue_cfg.workbooks, WorkbooksWithRegistered):
            state.queue.config = with_registered(queue_cfg)
    app.extensions["sheets_sync_addon"] = AddonState()
    app.register_blueprint(bp)


def _state() -> Any:
    return current_app.extensions["sheets_sync"]


def _registry() -> Any:
    return open_registry(_state().config)


def _body() -> dict[str, Any]:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError("invalid_json")
    return data


def _sheet_id(data: dict[str, Any]) -> str:
    sid = data.get("spreadsheet_id") or data.get("spreadsheetId")
    if sid is None:
        raise ApiError("workbook_required", "the request names no spreadsheet_id")
    if not isinstance(sid, str) or not SHEET_ID_RE.fullmatch(sid):
        raise ApiError("invalid_field", "spreadsheet_id is not a Google spreadsheet id (the part of the sheet's "
                                        "URL between /d/ and /edit)")
    return sid


def _google_user() -> Principal:
    """An ID-token caller with a verified email (HMAC callers hold the service secret: they use the CLI)."""
    principal = authenticate()
    if principal.kind != "google":
        raise ApiError("addon_not_allowed", "the add-on's routes take a Google sign-in (an ID token); operators "
                                            "manage registrations with `sheets-sync registrations`")
    if not principal.email_verified:
        raise ApiError("email_not_verified")
    g.principal = principal
    return principal


def _service_account() -> str | None:
    path = _state().config.google_credentials
    if not path:
        return None
    try:
        info = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    email = info.get("client_email") if isinstance(info, dict) else None
    return str(email) if email else None


def _static(sid: str) -> WorkbookConfig | None:
    workbooks = _state().config.workbooks
    static = getattr(workbooks, "static", workbooks)
    return next((w for w in static.values() if w.sheet_id == sid), None)


def _registered(sid: str, principal: Principal) -> tuple[Registration, WorkbookConfig]:
    """The registration of ``sid`` that ``principal`` may use, else 409 / 404 / 403."""
    config = _state().config
    managed = _static(sid)
    if managed is not None:
        raise ApiError("registered_by_operator", f"this spreadsheet is the workbook {managed.name!r} of the "
                       "service's configuration; use Sync now, and ask the operator to change its settings")
    reg = _registry().get(sid)
    if reg is None:
        raise ApiError("not_registered", "this spreadsheet is not set up yet: open KPI sync → Set up this sheet")
    wbc = reg.workbook(config.addon)
    if not allowed(principal, wbc):
        log.warning("addon refused: %s not allowed on registered sheet %s", principal.name, sid)
        raise ApiError("not_allowed", f"{principal.name} may not use this sheet's sync; ask {reg.owner} to add "
                       "you under Settings → Who else may sync")
    return reg, wbc


def _open(wbc: WorkbookConfig) -> Any:
    state = current_app.extensions["sheets_sync_addon"]
    return state.open_workbook(_state().config, wbc)


class AddonError(ApiError):
    """An :class:`ApiError` whose body carries extra fields beside code and message (e.g. the service-account
    email to share the sheet with, or the settings field at fault), so the add-on can say it in the user's
    language."""

    def __init__(self, code: str, message: str | None = None, **extra: Any):
        headers = extra.pop("headers", None)
        super().__init__(code, message, headers=headers)
        self.extra = {k: v for k, v in extra.items() if v is not None}


@bp.errorhandler(AddonError)
def _addon_error(exc: AddonError) -> Any:
    return {"error": {"code": exc.code, "message": exc.message, **exc.extra}}, exc.status, exc.headers


def _sheet_errors(exc: SheetsSyncError, sa: str | None) -> ApiError:
    if isinstance(exc, RetriableError):
        return ApiError("google_unavailable", f"Google Sheets did not answer: {exc}", headers={"Retry-After": "30"})
    if isinstance(exc, ConfigError) and sa is None:
        log.error("addon setup: %s", exc)
        return ApiError("service_misconfigured", "the service has no Google service-account key configured; "
                                                 "ask the operator (SHEETS_SYNC_GOOGLE_CREDENTIALS)")
    who = sa or "the service account"
    return AddonError("sheet_not_shared", f"The service cannot open this spreadsheet. Share it (Share → add "
                      f"{who} → Editor) and try again. ({exc})", service_account=sa)


# ------------------------------------------------------------------------------------------ routes


@bp.post("/v1/addon/setup")
def setup() -> Any:
    principal = _google_user()
    data = _body()
    sid = _sheet_id(data)
    config = _state().config
    addon = config.addon
    if not addon.allows(principal.email):
        log.warning("addon setup refused: %s is not in addon.allow", principal.name)
        why = "no one may set up sheets here yet (addon.allow is empty)" if not addon.enabled else \
            f"{principal.email} is not in the domains or emails this service allows"
        raise ApiError("addon_not_allowed", f"{why}; ask the operator")
    managed = _static(sid)
    if managed is not None:
        raise ApiError("registered_by_operator", f"this spreadsheet is already the workbook {managed.name!r} of the "
                       "service's configuration; use Sync now")
    registry = _registry()
    existing = registry.get(sid)
    if existing is not None and not allowed(principal, existing.workbook(addon)):
        raise ApiError("not_allowed", f"this sheet was set up by {existing.owner}; ask them to add you under "
                       "Settings → Who else may sync")
    sa = _service_account()
    now = time.time()
    email = str(principal.email)
    draft = existing or Registration(spreadsheet_id=sid, owner=email, created_at=now, updated_at=now,
                                     updated_by=email, **_default_source(config))
    try:
        from sheets_sync.sync import init_workbook

        wb = _open(draft.workbook(addon))
        if existing is None:                     # a new registration: the user must show they can edit the sheet
            secret = registry.secret()
            written = wb.developer_metadata().get(CLAIM_METADATA_KEY.removeprefix("sheets_sync_"))
            if not claim_ok(secret, written, sid, email):
                raise AddonError("claim_required", "show that you can edit this sheet: write the claim into it as "
                                 f"developer metadata {CLAIM_METADATA_KEY} (the add-on does this) and set it up again",
                                 claim=make_claim(secret, sid, email), metadata_key=CLAIM_METADATA_KEY)
        created_tabs = init_workbook(wb)         # the template, from the backend: only missing tabs are added
    except SheetsSyncError as exc:
        raise _sheet_errors(exc, sa) from None
    reg, created = (existing, False) if existing is not None else registry.add(draft)
    if not created and not allowed(principal, reg.workbook(addon)):    # registered by someone else meanwhile
        raise ApiError("not_allowed", f"this sheet was set up by {reg.owner}; ask them to add you under "
                       "Settings → Who else may sync")
    log.info("addon setup: sheet %s %s by %s (%d tab(s) added)", sid, "registered" if created else "already set up",
             principal.name, len(created_tabs))
    body = {"created": created, "tabs_created": created_tabs, "service_account": sa, **_view(reg)}
    return body, 201 if created else 200


def _default_source(config: Config) -> dict[str, Any]:
    addon = config.addon
    if addon.reports_root is None and len(addon.amazon_credentials) == 1:
        return {"source": "amazon", "amazon_credentials": next(iter(addon.amazon_credentials))}
    return {"source": "files"}


def _view(reg: Registration) -> dict[str, Any]:
    addon = _state().config.addon
    return {"registration": reg.public(), "choices": {
        "sources": list(SOURCES), "marketplaces": list(MARKETPLACES),
        "amazon_credentials": sorted(addon.amazon_credentials), "reports_folder": addon.reports_root is not None,
        "default_reports": reg.spreadsheet_id}}


@bp.get("/v1/addon/settings")
def get_settings() -> Any:
    principal = _google_user()
    reg, _ = _registered(_sheet_id(dict(request.args)), principal)
    return {**_view(reg), "service_account": _service_account()}


@bp.put("/v1/addon/settings")
def put_settings() -> Any:
    principal = _google_user()
    data = _body()
    reg, _ = _registered(_sheet_id(data), principal)
    try:
        new = apply_settings(reg, data, _state().config.addon, by=str(principal.email))
    except SettingsError as exc:
        raise AddonError("invalid_field", str(exc), field=exc.field, detail=exc.message) from None
    _registry().put(new)
    log.info("addon settings of %s changed by %s", new.spreadsheet_id, principal.name)
    return _view(new)


@bp.get("/v1/addon/status")
def status() -> Any:
    principal = _google_user()
    args = dict(request.args)
    sid = _sheet_id(args)
    managed = _static(sid)
    if managed is not None:
        if not allowed(principal, managed):
            raise ApiError("not_allowed", f"{principal.name} may not sync workbook {managed.name}")
        wbc = managed
    else:
        _, wbc = _registered(sid, principal)
    job_id = args.get("job_id")
    if not job_id:
        raise ApiError("invalid_field", "job_id is required (the id POST /v1/sync answered)")
    job = _state().queue.get(str(job_id))
    if job is None or job.workbook != wbc.name:
        raise ApiError("job_not_found")
    view = job.to_dict()
    out: dict[str, Any] = {"job": view, "stage": _stage(view), "result": None}
    if view.get("state") in ("done", "failed"):
        try:
            out["result"] = read_result(_open(wbc))
        except SheetsSyncError as exc:
            out["result_error"] = str(exc)
    return out


def _stage(job: dict[str, Any]) -> str | None:
    """The job's stage as the job store records it (``stage``, or a ``progress`` text / mapping), if any."""
    stage = job.get("stage")
    if isinstance(stage, str) and stage:
        return stage
    progress = job.get("progress")
    if isinstance(progress, str) and progress:
        return progress
    if isinstance(progress, dict):
        for key in ("stage", "message", "text"):
            if isinstance(progress.get(key), str) and progress[key]:
                return progress[key]
    return None


# ------------------------------------------------------------------------------- reading the result


def _rows(table: list[list[Any]] | None, tab: str) -> tuple[str, list[str], list[list[Any]]]:
    """A generated tab read back, in the canonical words whatever the Settings language it was written in:
    headers by the template's labels, values (statuses, severities, tiers) by the label catalogues."""
    if not table:
        return "", [], []
    from sheets_sync.localize import translator
    from sheets_sync.template import load_template

    names = {c.label(lang): c.name for c in load_template().tab(tab).columns for lang in ("zh", "es", "en")}
    words = {dst: src for lang in ("zh", "es") for src, dst in translator(lang).values.items()}
    title = str(table[0][0]) if table[0] else ""
    header = [names.get(str(c), str(c)) for c in table[1]] if len(table) > 1 else []
    rows = [[words.get(v, v) if isinstance(v, str) else v for v in r] for r in table[GENERATED_HEADER_ROW:]]
    return title, header, rows


def _cell(row: list[Any], header: list[str], name: str) -> Any:
    i = header.index(name) if name in header else -1
    return row[i] if 0 <= i < len(row) and row[i] != "" else None


def read_result(wb: Any) -> dict[str, Any]:
    """The last sync's result as the sheet shows it: score per owner (Scorecard), the data-through dates, and
    the problems of the newest Sync Log entry with their row numbers."""
    tabs = wb.read_tabs(["Scorecard", "Sync Log"])
    title, header, rows = _rows(tabs.get("Scorecard"), "Scorecard")
    scores = [{"owner": _cell(r, header, "owner"), "role": _cell(r, header, "role"),
               "score": _cell(r, header, "score"), "projected_score": _cell(r, header, "projected_score"),
               "tier": _cell(r, header, "tier")} for r in rows if _cell(r, header, "owner") is not None]
    _, log_header, log_rows = _rows(tabs.get("Sync Log"), "Sync Log")
    entry: dict[str, Any] | None = None
    problems: list[dict[str, Any]] = []
    for i, r in enumerate(log_rows):
        started = _cell(r, log_header, "started_at")
        if started is not None:
            if entry is not None:
                break                                   # the previous sync's entry: stop
            entry = {"row": GENERATED_HEADER_ROW + i + 1, "started_at": started,
                     "status": _cell(r, log_header, "status"), "message": _cell(r, log_header, "message")}
            continue
        severity = _cell(r, log_header, "status")
        if entry is not None and severity in ("error", "warning"):
            problems.append({"row": GENERATED_HEADER_ROW + i + 1, "severity": severity,
                             "text": str(_cell(r, log_header, "message") or "")})
    m = THROUGH_RE.search(title) or THROUGH_RE.search(str((entry or {}).get("message") or ""))
    through: dict[str, str | None] = {}
    if m:
        for part in re.split(r"[,，、]", m.group(1)):
            market, _, day = part.strip().partition(" ")
            if market:
                through[market] = day if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else None   # "no data" in any language
    return {"scorecard": scores, "data_through": through, "problems": problems, "sync": entry,
            "definitions": title}
