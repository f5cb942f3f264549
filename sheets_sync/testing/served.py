"""What the local servers share: served from a daemon thread on 127.0.0.1 while used as a context manager, and the
token buckets (on a real or a virtual clock) that give them their providers' rate limits."""

from __future__ import annotations

import threading
from collections.abc import Callable
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


class RateLimiter:
    """One token bucket per operation: ``burst`` tokens, refilled at ``rate`` per second of ``clock``."""

    def __init__(self, rates: dict[str, tuple[float, int]], clock: Callable[[], float]):
        self.rates = dict(rates)
        self.clock = clock
        self.lock = threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}       # op → (tokens, stamp)

    def take(self, op: str) -> float:
        """Take a token of ``op``: 0 when there was one, else the seconds of ``clock`` until there will be one
        (what a ``Retry-After`` says); nothing is taken then."""
        if op not in self.rates:
            return 0.0
        rate, burst = self.rates[op]
        with self.lock:
            now = self.clock()
            tokens, stamp = self.buckets.get(op, (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, now - stamp) * rate)
            if tokens >= 1.0 - 1e-9:
                self.buckets[op] = (tokens - 1.0, now)
                return 0.0
            self.buckets[op] = (tokens, now)
            return (1.0 - tokens) / rate


class VirtualClock:
    """The provider's time for benchmarks and tests: ``sleep`` advances it instantly (pass ``clock.sleep`` as the
    source's sleep and the clock itself to the server's rate limits, e.g. :meth:`AmazonServer.amazon_rates`)."""

    def __init__(self, start: float = 0.0):
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += max(0.0, float(seconds))
