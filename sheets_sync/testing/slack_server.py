"""A local Slack incoming webhook, written from Slack's public pages, for tests.

Pages: "Sending messages using incoming webhooks" (api.slack.com/messaging/webhooks, now docs.slack.dev/messaging/
sending-messages-using-incoming-webhooks; its "Handling errors" table), "Rate limits" (api.slack.com/docs/rate-limits),
Block Kit reference (api.slack.com/reference/block-kit/blocks: header, section).

* ``POST /services/T…/B…/<secret>`` with a JSON body holding ``text`` and/or ``blocks`` — messaging/webhooks. Success:
  HTTP 200 with the text body ``ok``.
* Errors are HTTP statuses with a text word — "Handling errors": a body that is not JSON, or has neither text nor
  blocks: 400 ``invalid_payload`` (no text: ``no_text``); an unknown webhook: 404 ``no_service``; an archived channel:
  410 ``channel_is_archived`` (``archived = True``); blocks Slack cannot show: 400 ``invalid_blocks``.
* Block Kit: at most 50 blocks; a ``header`` block's ``plain_text`` at most 150 characters; a ``section`` text at most
  3000 characters — block-kit reference.
* Rate: "1 per second" for incoming webhooks, "short bursts >1 allowed" — rate-limits; past it: HTTP 429 with
  ``Retry-After`` (seconds) — rate-limits. The burst we allow (1) and the 429 body ``rate_limited`` are **guesses**.
* Slack escapes ``&``, ``<`` and ``>`` in mrkdwn text ("Formatting text for app surfaces"): an unescaped ``<`` that is
  not a link, mention or date is kept in ``warnings``.
"""

from __future__ import annotations

import re
from typing import Any

from .robot_base import Answer, RobotServer, json_body

SECRET_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
_ANGLE = re.compile(r"<(?!(https?://|mailto:|@|#|!)[^<>]*>)")


def _word(status: int, word: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, word, headers, text=True)


class SlackServer(RobotServer):
    """``with SlackServer() as r:`` — ``r.url`` is the incoming webhook's URL."""

    path = SECRET_PATH
    window = 1.0
    per_window = 1
    archived = False

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.warnings: list[str] = []

    def not_found(self) -> Answer:
        return _word(404, "no_service")

    def check(self, query: dict[str, str], headers: Any, raw: bytes) -> Answer:
        body = json_body(raw)
        if not isinstance(body, dict):
            return _word(400, "invalid_payload")
        blocks = body.get("blocks")
        if not body.get("text") and not blocks:
            return _word(400, "no_text")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > 50
                                   or not all(self._block_ok(b) for b in blocks)):
            return _word(400, "invalid_blocks")
        if self.archived:
            return _word(410, "channel_is_archived")
        if self.over_rate():
            return _word(429, "rate_limited", {"Retry-After": "1"})
        for b in blocks or []:
            text = (b.get("text") or {}).get("text", "") if b.get("type") == "section" else ""
            if _ANGLE.search(text):
                self.warnings.append("an unescaped < in mrkdwn")
        self.accept(body)
        return _word(200, "ok")

    @staticmethod
    def _block_ok(b: Any) -> bool:
        if not isinstance(b, dict):
            return False
        text = b.get("text") or {}
        if b.get("type") == "header":
            return text.get("type") == "plain_text" and 0 < len(text.get("text", "")) <= 150
        if b.get("type") == "section":
            return text.get("type") in ("mrkdwn", "plain_text") and 0 < len(text.get("text", "")) <= 3000
        return b.get("type") in ("divider", "context", "actions", "image", "rich_text")
