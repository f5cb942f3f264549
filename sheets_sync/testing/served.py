"""What the local servers share: served from a daemon thread on 127.0.0.1 while used as a context manager."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any


class ServedInThread:
    """A local server (``self.httpd``) served by a daemon thread inside ``with``; stopped and closed on exit."""

    httpd: ThreadingHTTPServer
    _thread: threading.Thread | None = None

    def __enter__(self) -> Any:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
