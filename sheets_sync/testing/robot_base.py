"""What the local chat receivers share (WeCom, DingTalk, Feishu, Slack, Google Chat): a ThreadingHTTPServer on
127.0.0.1 that accepts ``POST`` of a JSON body at the webhook path, hands it to the platform's ``check``, and keeps
what it accepted (``messages``) and every request it answered (``log``: status and the platform's code, never a key,
token or secret).

Rate limits are on by default, as the platforms have them: ``window`` (seconds) and ``per_window`` (messages), plus
``per_second`` where the platform also limits bursts; ``penalty_s`` keeps refusing for that long once the limit was
passed (DingTalk's ten minutes). ``clock`` may be replaced so a test can move time instead of waiting.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .served import ServedInThread

MAX_BODY = 1 << 20      # read at most this much of a request (every platform's own limit is lower)


class Answer:
    """What the receiver answers: HTTP status, a JSON body or a text body, headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None, text: bool = False):
        self.status, self.body, self.headers, self.text = status, body, headers or {}, text


class RobotServer(ServedInThread):
    """``with Receiver() as r:``; ``r.url`` is the webhook URL to configure, ``r.messages`` what was accepted."""

    path = "/hook"
    window = 60.0
    per_window: int | None = None
    per_second: int | None = None
    penalty_s = 0.0

    def __init__(self, *, clock: Callable[[], float] = time.time, **settings: Any):
        for k, v in settings.items():
            if not hasattr(self, k):
                raise TypeError(f"{type(self).__name__} has no setting {k!r}")
            setattr(self, k, v)
        self.clock = clock
        self.lock = threading.RLock()
        self.messages: list[dict[str, Any]] = []
        self.log: list[tuple[int, Any]] = []
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return self.base + self.path

    # -- to override --------------------------------------------------------------------------------------------
    def check(self, query: dict[str, str], headers: Any, raw: bytes) -> Answer:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------------------
    def over_rate(self) -> bool:
        """Count one message against the limits; True when it is over them (and must be refused)."""
        now = self.clock()
        with self.lock:
            if now < self._blocked_until:
                return True
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            recent = sum(1 for t in self._sent if t > now - 1.0)
            if (self.per_window is not None and len(self._sent) >= self.per_window) or (
                    self.per_second is not None and recent >= self.per_second):
                self._blocked_until = now + self.penalty_s
                return True
            self._sent.append(now)
            return False

    def accept(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append(message)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, ans: Answer) -> None:
                if ans.text:
                    raw = str(ans.body).encode("utf-8")
                    ctype = "text/html" if srv.path.startswith("/services") else "text/plain; charset=utf-8"
                else:
                    raw = json.dumps(ans.body, ensure_ascii=False).encode("utf-8")
                    ctype = "application/json; charset=utf-8"
                self.send_response(ans.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                for k, v in ans.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(n, MAX_BODY))
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                ans = srv.not_found() if parts.path != srv.path else srv.check(query, self.headers, raw)
                with srv.lock:
                    code = ans.body if ans.text else (ans.body.get("errcode", ans.body.get("code"))
                                                      if isinstance(ans.body, dict) else None)
                    srv.log.append((ans.status, code))
                self._answer(ans)

            def do_GET(self) -> None:
                self._answer(Answer(405, {"error": "method not allowed"}))

        return Handler

    def not_found(self) -> Answer:
        return Answer(404, {"error": "not found"})


def json_body(raw: bytes) -> Any:
    """The request body as JSON, or None when it is not (UTF-8 JSON is what every platform asks for)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
