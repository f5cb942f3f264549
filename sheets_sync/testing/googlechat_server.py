"""A local Google Chat incoming webhook, written from Google's public pages, for tests.

Pages: "Build a Google Chat app as a webhook" (developers.google.com/workspace/chat/quickstart/webhooks), "Format text
in messages" (…/chat/format-messages), ``spaces.messages.create`` and the ``Message`` resource (…/chat/api/reference/
rest/v1/spaces.messages), "Usage limits" (…/chat/limits).

* ``POST /v1/spaces/<space>/messages?key=<key>&token=<token>`` with ``Content-Type: application/json; charset=UTF-8``
  and a body holding ``text`` and/or ``cardsV2`` — quickstart/webhooks. Success: HTTP 200 with the created Message
  (``name`` ``spaces/<space>/messages/<id>``, ``text``, ``createTime``) — spaces.messages.create.
* A message is at most 32,000 bytes (text and cards) — the Message resource; over it: 400 ``INVALID_ARGUMENT``.
* Errors are Google's JSON ``{"error": {"code", "message", "status"}}``. A wrong key or token: 403
  ``PERMISSION_DENIED`` — the status for this case is a **guess**; a body without text or cards: 400
  ``INVALID_ARGUMENT``.
* Quotas apply per space; past them 429 ``RESOURCE_EXHAUSTED`` ("Too many requests"), to be retried with backoff —
  limits. The rate we enforce, one message a second per space, is the per-space write quota read as 60 a minute, one
  a second (the one-a-second burst is a **guess**).
* Chat formatting: ``*bold*``, ``_italic_``, ``<url|text>`` links — format-messages; a ``<`` that starts no link is
  kept in ``warnings``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

from .robot_base import Answer, RobotServer, json_body

SPACE = "AAAAqKsJz8E"
KEY = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
TOKEN = "6xwHQmN1hPgsRgYZ8Hp2k4mV6sA0Lq1cXr2bO9dWmE8%3D"
MAX_BYTES = 32000


def _err(code: int, status: str, message: str) -> Answer:
    return Answer(code, {"error": {"code": code, "message": message, "status": status}})


class GoogleChatServer(RobotServer):
    """``with GoogleChatServer() as r:`` — ``r.url`` is the space's incoming webhook URL."""

    window = 1.0
    per_window = 1
    space = SPACE

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.path = f"/v1/spaces/{self.space}/messages"
        self.warnings: list[str] = []
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}?key={KEY}&token={TOKEN}"

    def not_found(self) -> Answer:
        return _err(404, "NOT_FOUND", "Requested entity was not found.")

    def check(self, query: dict[str, str], headers: Any, raw: bytes) -> Answer:
        if query.get("key") != KEY or query.get("token") != TOKEN.replace("%3D", "="):
            return _err(403, "PERMISSION_DENIED", "The caller does not have permission")
        if "application/json" not in (headers.get("Content-Type") or ""):
            return _err(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if len(raw) > MAX_BYTES:
            return _err(400, "INVALID_ARGUMENT", f"Message exceeds the maximum size of {MAX_BYTES} bytes.")
        body = json_body(raw)
        if not isinstance(body, dict) or not (body.get("text") or body.get("cardsV2")):
            return _err(400, "INVALID_ARGUMENT", "Message cannot be empty.")
        if self.over_rate():
            return _err(429, "RESOURCE_EXHAUSTED", "Too many requests. Please try again later.")
        if re.search(r"<(?!https?://[^<>|]+\|[^<>]*>|https?://[^<>]+>|users/)", body.get("text") or ""):
            self.warnings.append("a < that starts no link")
        self.accept(body)
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC).isoformat().replace("+00:00", "Z")
        name = self.path[len("/v1/"):]
        return Answer(200, {"name": f"{name}/{next(self._ids)}", "text": body.get("text", ""),
                            "createTime": now, "space": {"name": f"spaces/{self.space}"}})
