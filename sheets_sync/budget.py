"""Shared API budgets: token buckets kept in the queue's store, drawn from by every worker on every machine.

Google and Amazon limit calls per *account*, not per process: the Sheets API allows a service account 60
read and 60 write requests a minute; the SP-API gives each seller account a bucket per operation
(``createReport`` 1 a minute after a burst of 15, ``getReport`` 2 a second, ``getReportDocument`` 1 a
minute after 15). Workers that each back off on their own 429s collide again and again. Here a call first
**reserves** a token from a bucket shared through the job store (the same SQLite file on one machine, the
same Redis on many) and sleeps until its turn; 429s are still honoured by the adapters' retries.

A bucket holds at most ``burst`` tokens and gains ``rate_per_s``. A reservation takes a token even when
the bucket is empty (it goes negative): each caller learns at once how long to wait, callers are served in
the order they asked (fair), and nothing polls. A "per minute" quota of Q with a burst of B refills at
(Q − B) a minute, so no 60-second window ever holds more than Q calls.

Adapters see only a *pacer*: an object with ``acquire(kind)`` (Google: ``"read"`` / ``"write"``; Amazon:
``"createReport"``, ``"getReport"``, ``"getReportDocument"``, ``"ads"``) that blocks until the call may go
out. Limits are settings (``budgets:`` in service.yaml; :data:`DEFAULT_LIMITS` are the published ones).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import ConfigError

log = logging.getLogger("sheets_sync.budget")


class Pacer(Protocol):
    """What an adapter calls before each API request: blocks until the request may be sent."""

    def acquire(self, kind: str, n: int = 1) -> float: ...   # seconds waited


@dataclass(frozen=True)
class Limit:
    rate_per_s: float
    burst: float

    @classmethod
    def per_minute(cls, quota: float, burst: float | None = None) -> Limit:
        """A Google-style "Q per minute" quota: never more than ``quota`` calls in any 60 s."""
        if quota <= 0:
            raise ConfigError(f"budgets: a per-minute quota must be > 0 (got {quota})")
        b = max(1.0, min(quota / 6 if burst is None else float(burst), quota / 2))
        return cls(rate_per_s=max(quota - b, quota / 2) / 60.0, burst=b)

#: Published defaults. Google Sheets API: 60 read and 60 write requests per minute per user (a service
#: account is a user). SP-API Reports API v2021-06-30: createReport 0.0167/s burst 15, getReport 2/s
#: burst 15, getReportDocument 0.0167/s burst 15. Amazon Ads publishes no fixed rate (it throttles
#: dynamically with 429 + Retry-After): a cautious 1/s with a burst of 5.
DEFAULT_LIMITS: dict[str, Limit] = {
    "sheets_read": Limit.per_minute(60),
    "sheets_write": Limit.per_minute(60),
    "spapi_createReport": Limit(1 / 60, 15),
    "spapi_getReport": Limit(2.0, 15),
    "spapi_getReportDocument": Limit(1 / 60, 15),
    # Data Kiosk 2023-11-15: createQuery 0.0167/s burst 15, getQuery 2/s burst 15, getDocument 0.0167/s burst 15
    "spapi_createQuery": Limit(1 / 60, 15),
    "spapi_getQuery": Limit(2.0, 15),
    "spapi_getDocument": Limit(1 / 60, 15),
    "ads": Limit(1.0, 5),       # sources.amazon_common.ADS_RATE, the same bucket a single process paces with
}

#: service.yaml ``budgets:`` keys → (bucket, how the value is read)
SETTINGS = {
    "sheets_reads_per_minute": "sheets_read",
    "sheets_writes_per_minute": "sheets_write",
    "spapi_create_report": "spapi_createReport",
    "spapi_get_report": "spapi_getReport",
    "spapi_get_report_document": "spapi_getReportDocument",
    "ads": "ads",
}


def limits_from_settings(raw: Mapping[str, Any] | None) -> dict[str, Limit]:
    """``budgets:`` of service.yaml → limits (defaults for what is not set). ``*_per_minute`` take a number
    (optionally with ``sheets_burst``); the others ``{rate_per_s: R, burst: B}``."""
    out = dict(DEFAULT_LIMITS)
    raw = dict(raw or {})
    burst = raw.pop("sheets_burst", None)
    for key, value in raw.items():
        bucket = SETTINGS.get(str(key))
        if bucket is None:
            raise ConfigError(f"service.yaml budgets.{key}: unknown; expected one of {', '.join([*SETTINGS, 'sheets_burst'])}")
        try:
            if key.endswith("_per_minute"):
                out[bucket] = Limit.per_minute(float(value), None if burst is None else float(burst))
            else:
                if not isinstance(value, Mapping):
                    raise TypeError
                out[bucket] = Limit(float(value["rate_per_s"]), float(value["burst"]))
        except (TypeError, ValueError, KeyError):
            raise ConfigError(f"service.yaml budgets.{key}: {value!r} is not valid; expected "
                              + ("a number of requests per minute" if key.endswith("_per_minute")
                                 else "{rate_per_s: 0.0167, burst: 15}")) from None
        if out[bucket].rate_per_s <= 0 or out[bucket].burst < 1:
            raise ConfigError(f"service.yaml budgets.{key}: rate must be > 0 and burst ≥ 1")
    if burst is not None and "sheets_reads_per_minute" not in raw:
        out["sheets_read"] = Limit.per_minute(60, float(burst))
    if burst is not None and "sheets_writes_per_minute" not in raw:
        out["sheets_write"] = Limit.per_minute(60, float(burst))
    return out


def account_key(secret_or_id: str) -> str:
    """A stable, non-secret name for an account (a short hash when given a token)."""
    return hashlib.sha256(secret_or_id.encode()).hexdigest()[:16]


class Budgets:
    """Token buckets in a job-store backend (:class:`~sheets_sync.jobs.backend.Backend`).

    ``backend`` may be a callable returning one (opened on first use, so a sync that calls no API never
    touches the store). ``on_wait(bucket, seconds)`` is told about every wait of a second or more.
    """

    def __init__(self, backend: Any, limits: Mapping[str, Limit] | None = None, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self._backend = backend
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.clock, self.sleep = clock, sleep
        self.waited_s = 0.0

    @property
    def backend(self) -> Any:
        if callable(self._backend) and not hasattr(self._backend, "transact"):
            self._backend = self._backend()
        return self._backend

    def reserve(self, bucket: str, account: str, n: int = 1) -> float:
        """Take ``n`` tokens of ``bucket`` for ``account`` now; returns how long to wait before using them."""
        limit = self.limits.get(bucket)
        if limit is None:
            return 0.0
        key = f"budget:{bucket}:{account}"

        def fn(tx: Any) -> float:
            now = self.clock()
            raw = tx.get(key)
            if raw:
                tokens_s, stamp_s = raw.split("|")
                tokens, stamp = float(tokens_s), float(stamp_s)
                tokens = min(limit.burst, tokens + max(0.0, now - stamp) * limit.rate_per_s)
            else:
                tokens = limit.burst
            tokens -= n
            tx.set(key, f"{tokens!r}|{now!r}")
            return 0.0 if tokens >= 0 else -tokens / limit.rate_per_s

        return float(self.backend.transact(fn))

    def acquire(self, bucket: str, account: str, n: int = 1, *,
                on_wait: Callable[[str, float], None] | None = None) -> float:
        """Reserve and sleep until the tokens are ours; ``on_wait(bucket, s)`` hears of waits ≥ 1 s."""
        wait = self.reserve(bucket, account, n)
        if wait > 0:
            if wait >= 1 and on_wait is not None:
                on_wait(bucket, wait)
            self.sleep(wait)
            self.waited_s += wait
        return wait

    def google(self, service_account: str, on_wait: Callable[[str, float], None] | None = None) -> GooglePacer:
        return GooglePacer(self, service_account, on_wait)

    def amazon(self, seller_account: str, on_wait: Callable[[str, float], None] | None = None) -> AmazonPacer:
        return AmazonPacer(self, seller_account, on_wait)


class GooglePacer:
    """Sheets reads and writes of one service account."""

    def __init__(self, budgets: Budgets, service_account: str,
                 on_wait: Callable[[str, float], None] | None = None):
        self.budgets, self.account, self.on_wait = budgets, service_account, on_wait

    def acquire(self, kind: str, n: int = 1) -> float:
        return self.budgets.acquire("sheets_write" if kind == "write" else "sheets_read", self.account, n,
                                    on_wait=self.on_wait)


class AmazonPacer:
    """SP-API operations and Ads API calls of one seller account."""

    def __init__(self, budgets: Budgets, seller_account: str,
                 on_wait: Callable[[str, float], None] | None = None):
        self.budgets, self.account, self.on_wait = budgets, seller_account, on_wait

    def acquire(self, kind: str, n: int = 1) -> float:
        return self.budgets.acquire("ads" if kind == "ads" else f"spapi_{kind}", self.account, n,
                                    on_wait=self.on_wait)


_SHARED: dict[tuple[str, str], Budgets] = {}
_SHARED_LOCK = threading.Lock()


def shared_budgets(config: Any) -> Budgets:
    """This process's :class:`Budgets` for ``config``'s queue store (SQLite ``jobs.db`` or Redis)."""
    url = str(getattr(config, "queue_url", "sqlite") or "sqlite")
    data_dir = str(getattr(config, "data_dir", "."))
    limits = getattr(config, "budgets", None) or DEFAULT_LIMITS
    with _SHARED_LOCK:
        found = _SHARED.get((url, data_dir))
        if found is None or found.limits != dict(limits):
            def open_backend() -> Any:
                if url.startswith(("redis://", "rediss://", "unix://")):
                    from .jobs.redis_backend import RedisBackend

                    return RedisBackend(url, prefix="sheets-sync:")
                from .jobs.sqlite_backend import SqliteBackend

                return SqliteBackend(Path(data_dir).expanduser() / "jobs.db")

            found = _SHARED[(url, data_dir)] = Budgets(open_backend, limits)
        return found
