"""Fixtures for the Google adapter tests: a local Sheets v4 server, a throwaway service account, workbooks.

Test modules load them with ``pytest_plugins = ["google_fixtures"]`` (tests/conftest.py belongs to another part
of the suite).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sheets_sync.sheets.google import GoogleWorkbook, InProcessPacer, RetryPolicy
from sheets_sync.template import load_template
from sheets_sync.testing.sheets_server import SID, FakeSheetsServer, Limits

#: Google's limits, with the per-minute quota window shortened so quota tests and long runs stay fast
QUOTA_WINDOW_S = 2.0


class FakeClock:
    """A clock and a sleep that advance together: backoff waits cost no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything that escapes the redirect adapter goes to a dead local port and fails loudly."""
    for var in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)


@pytest.fixture
def server() -> Iterator[FakeSheetsServer]:
    with FakeSheetsServer(seed=7, limits=Limits(window_s=QUOTA_WINDOW_S)) as srv:
        yield srv


@pytest.fixture
def sa(server: FakeSheetsServer) -> dict[str, Any]:
    return server.service_account()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_workbook(server: FakeSheetsServer, sa: dict[str, Any], clock: FakeClock
                  ) -> Callable[..., GoogleWorkbook]:
    pacer = InProcessPacer(60, QUOTA_WINDOW_S)       # the server's window: one pacer per test, like per account

    def make(sid: str = SID, *, credentials: Any = None, max_attempts: int = 5, max_total_s: float = 60.0,
             timeout: Any = (2.0, 5.0), **kw: Any) -> GoogleWorkbook:
        policy = RetryPolicy(max_attempts=max_attempts, max_total_s=max_total_s, base_s=0.5, cap_s=8.0,
                             sleep=clock.sleep, clock=clock, jitter=lambda: 0.5)
        kw.setdefault("pacer", pacer)
        return GoogleWorkbook(sid, credentials if credentials is not None else sa, template=load_template(),
                              timeout=timeout, retry=policy, adapter_factory=server.adapter, **kw)
    make.pacer = pacer  # type: ignore[attr-defined]
    return make


@pytest.fixture
def shared_book(server: FakeSheetsServer, sa: dict[str, Any]) -> Callable[..., Any]:
    """Create a spreadsheet shared with the service account: ``shared_book({"Tab": [[...], ...]})``."""
    def make(tabs: dict[str, list[list[Any]]] | None = None, sid: str = SID) -> Any:
        return server.add_book(sid, tabs, shared=[sa["client_email"]])
    return make
