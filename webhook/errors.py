"""JSON errors with stable codes, for every route and every failure.

Every error response has the body ``{"error": {"code": "<code>", "message": "<words for a person>"}}``.
Clients (the Apps Script menu, scripts) branch on ``code``; the ``message`` may change wording.
The table below is the contract; ``docs/webhook.md`` repeats it and a test keeps the two in step.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("webhook")

#: code → (HTTP status, meaning). Stable: add codes, never rename or reuse one.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_json": (400, "the body is not a JSON object"),
    "workbook_required": (400, "the body names neither spreadsheet_id nor workbook"),
    "invalid_field": (400, "a field has the wrong type or an unknown value"),
    "invalid_period": (400, "period is not a valid period (2025-03, 2025-W09, 2025-Q1, 2025-03-01..2025-03-15)"),
    "auth_required": (401, "no credentials: send Authorization: Bearer <Google ID token> or X-Sheets-Sync-Signature"),
    "token_invalid": (401, "the Google ID token is malformed, badly signed, or from another issuer"),
    "token_expired": (401, "the Google ID token has expired"),
    "token_audience": (401, "the Google ID token was issued for another audience (OAuth client)"),
    "tokens_disabled": (401, "this server accepts no Google ID tokens (no audience configured)"),
    "signature_invalid": (401, "the HMAC signature header is malformed or does not match the body"),
    "signature_expired": (401, "the signature timestamp is more than 5 minutes from the server's clock"),
    "signature_replayed": (401, "this signature was already used; sign every request afresh"),
    "signatures_disabled": (401, "this server accepts no HMAC signatures (no secret configured)"),
    "email_not_verified": (403, "the Google account's email address is not verified"),
    "not_allowed": (403, "this account or domain is not on the workbook's allowlist"),
    "workbook_not_found": (404, "no workbook with that name or spreadsheet id in service.yaml"),
    # the Google Sheets add-on (webhook/addon.py, docs/addon.md)
    "addon_not_allowed": (403, "this account or domain may not set up sheets on this service (service.yaml addon.allow)"),
    "not_registered": (404, "this spreadsheet has not been set up with the service yet"),
    "registered_by_operator": (409, "this spreadsheet is configured in service.yaml; its settings are changed there"),
    "sheet_not_shared": (409, "the service account cannot open or edit the spreadsheet; share it with that email as Editor"),
    "claim_required": (428, "registering a sheet needs proof that you can edit it: the claim written into the sheet"),
    "service_misconfigured": (500, "the service lacks a setting it needs (such as the Google service-account key)"),
    "google_unavailable": (503, "Google Sheets did not answer or refused for now; try again shortly"),
    "job_not_found": (404, "no job with that id"),
    "not_found": (404, "no such route"),
    "method_not_allowed": (405, "the route does not accept this HTTP method"),
    "payload_too_large": (413, "the body is larger than 64 KiB"),
    "internal_error": (500, "an unexpected error; the server log has the details"),
    "queue_unavailable": (503, "the job queue (SQLite file or Redis) cannot be reached; try again shortly"),
}

_HTTP_CODES = {400: "invalid_json", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class ApiError(Exception):
    """Raise from a view or the auth decorator; rendered as the JSON error body."""

    def __init__(self, code: str, message: str | None = None, *, headers: dict[str, str] | None = None):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.status = ERROR_CODES[code][0]
        self.message = message or ERROR_CODES[code][1]
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")


def error_response(code: str, message: str | None = None, headers: dict[str, str] | None = None) -> Any:
    err = ApiError(code, message, headers=headers)
    resp = jsonify(error={"code": err.code, "message": err.message})
    resp.status_code = err.status
    for k, v in err.headers.items():
        resp.headers[k] = v
    return resp


def register_error_handlers(app: Flask) -> None:
    from sheets_sync.jobs import QueueUnavailable

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Any:
        return error_response(exc.code, exc.message, exc.headers)

    @app.errorhandler(QueueUnavailable)
    def _queue_down(exc: QueueUnavailable) -> Any:
        log.error("queue unavailable: %s", exc)
        return error_response("queue_unavailable", headers={"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = _HTTP_CODES.get(exc.code or 500)
        if code is None:
            code = "internal_error" if (exc.code or 500) >= 500 else "invalid_field"
        return error_response(code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error")
        return error_response("internal_error")
