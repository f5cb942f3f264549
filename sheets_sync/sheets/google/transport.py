"""Transport: one service account's HTTP requests to one spreadsheet, paced, translated and retried.

gspread's plain ``HTTPClient`` over a google-auth ``AuthorizedSession`` (service-account credentials). Every
request waits for the :class:`RequestPacer` (60 reads and 60 writes a minute per service account by default).
Retries are ours (gspread's ``BackOffHTTPClient`` retries forever): exponential backoff with jitter on 429,
5xx, timeouts and dropped connections, honouring ``Retry-After``, bounded in attempts and in total time
(:class:`RetryPolicy`). Errors leave as our own tree (:mod:`sheets_sync.errors`), ``raise ... from`` the gspread /
requests / google-auth exception; messages name the spreadsheet id and the service-account email, never a key
or a token.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import google.auth.exceptions
import google.auth.transport.requests as gtr
import gspread
import requests
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL, SPREADSHEET_URL, SPREADSHEET_VALUES_BATCH_URL

from ...errors import (
    ConfigError,
    FatalError,
    InputDataError,
    Problem,
    QuotaError,
    RetriableError,
    SheetsSyncError,
    TemplateError,
)
from .limits import MAX_REQUEST_BYTES

log = logging.getLogger(__name__)
T = TypeVar("T")

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
_TOKEN_RE = re.compile(r"(Bearer\s+)[\w.\-~+/=]+|ya29\.[\w.\-]+", re.IGNORECASE)


# --------------------------------------------------------------------------------------------- retry policy

@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    The n-th wait (n = 0, 1, …) is ``min(cap_s, base_s * 2**n)`` scaled by a random factor in [0.5, 1), or the
    server's ``Retry-After`` when that is longer. We stop after ``max_attempts`` attempts, or earlier when the
    next wait would take the whole call past ``max_total_s``. ``sleep``, ``clock`` and ``jitter`` are
    injectable so tests run in milliseconds.
    """

    max_attempts: int = 6
    max_total_s: float = 120.0
    base_s: float = 1.0
    cap_s: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        wait = min(self.cap_s, self.base_s * (2 ** retry_number)) * (0.5 + 0.5 * self.jitter())
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


# ------------------------------------------------------------------------------------------------ pacing

class RequestPacer(Protocol):
    """Waits, before each Sheets API request, until the request fits the quotas. ``kind``: ``read`` or
    ``write``. The default is :class:`InProcessPacer`; a pacer shared between processes (kept in the job store)
    can be passed to :class:`~sheets_sync.sheets.google.GoogleWorkbook` instead."""

    def acquire(self, kind: str) -> None: ...


class InProcessPacer:
    """At most ``per_window`` requests of each kind in any ``window_s`` seconds (a sliding window), in this
    process. Google's quotas are per minute: 60 reads and 60 writes per user (service account), 300 per project."""

    def __init__(self, per_window: int = 60, window_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if per_window < 1 or window_s <= 0:
            raise ValueError("a pacer needs per_window >= 1 and window_s > 0")
        self.per_window, self.window_s, self.clock, self.sleep = per_window, window_s, clock, sleep
        self._sent: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def acquire(self, kind: str) -> None:
        while True:
            with self._lock:
                now = self.clock()
                sent = self._sent.setdefault(kind, collections.deque())
                while sent and sent[0] <= now - self.window_s:
                    sent.popleft()
                if len(sent) < self.per_window:
                    sent.append(now)
                    return
                wait = sent[0] + self.window_s - now
            self.waited_s += wait
            self.sleep(max(wait, 0.001))


_PACERS: dict[tuple[str, str], InProcessPacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(email: str, token_uri: str = "") -> InProcessPacer:
    """The in-process pacer of one service account (every GoogleWorkbook of that account in this process)."""
    with _PACERS_LOCK:
        return _PACERS.setdefault((email, token_uri), InProcessPacer())


# ------------------------------------------------------------------------------------------------ outcomes

class Ambiguous:
    """Marker mixin: the request may or may not have been applied (5xx, timeout, dropped connection)."""


class AmbiguousRetriable(RetriableError, Ambiguous):
    pass


class Rejected(TemplateError):
    """HTTP 400: Google refused the request as invalid; nothing was applied."""


class Stale(RetriableError):
    """A write built on cached metadata was rejected: read the metadata again and rebuild, at once."""


# ------------------------------------------------------------------------------------------------ transport

class Transport:
    """The HTTP side of one spreadsheet: ``get`` / ``batch_get`` / ``batch_update`` (one request each, translated
    into our errors) and :meth:`with_retries` (an attempt function run under the :class:`RetryPolicy`).

    Counts what it sends: ``api_calls``, ``bytes_sent``, ``bytes_received`` and ``request_sizes`` (body bytes of
    every write request)."""

    def __init__(self, spreadsheet_id: str, info: Mapping[str, Any], *, timeout: float | tuple[float, float],
                 retry: RetryPolicy, pacer: RequestPacer | None,
                 adapter_factory: Callable[[], requests.adapters.BaseAdapter] | None):
        self.spreadsheet_id = spreadsheet_id
        self.retry = retry
        self.api_calls = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.request_sizes: list[int] = []
        self.service_account_email = str(info.get("client_email", "the service account"))
        self.pacer: RequestPacer = pacer or shared_pacer(self.service_account_email, str(info.get("token_uri", "")))
        try:
            creds = service_account.Credentials.from_service_account_info(dict(info), scopes=list(SCOPES))
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"the service-account key for {self.service_account_email} is not usable "
                              f"({type(exc).__name__}); download a new JSON key") from None
        auth_session = requests.Session()
        session = gtr.AuthorizedSession(creds, auth_request=gtr.Request(auth_session))
        if adapter_factory is not None:
            auth_session.mount("https://", adapter_factory())
            session.mount("https://", adapter_factory())
        self._client = gspread.Client(auth=None, session=session, http_client=gspread.HTTPClient)
        self._client.set_timeout(timeout)
        self._http = self._client.http_client

    def describe(self) -> str:
        return f"google:{self.spreadsheet_id}"

    @property
    def timeout(self) -> Any:
        """The (connect, read) timeout gspread's client sends every request with."""
        return self._http.timeout

    # one request each
    def get(self, params: dict[str, Any]) -> Any:
        return self.send("get", SPREADSHEET_URL % self.spreadsheet_id, params=params)

    def batch_get(self, params: dict[str, Any]) -> Any:
        return self.send("get", SPREADSHEET_VALUES_BATCH_URL % self.spreadsheet_id, params=params)

    def batch_update(self, requests_: list[dict[str, Any]]) -> Any:
        return self.send("post", SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id,
                         json_body={"requests": requests_, "includeSpreadsheetInResponse": False})

    def send(self, method: str, url: str, *, params: dict[str, Any] | None = None,
             json_body: dict[str, Any] | None = None) -> Any:
        """One HTTP request, translated: returns the JSON body or raises from our error tree."""
        data = headers = None
        if json_body is not None:       # compact JSON: the write can be megabytes
            data = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
            if len(data) >= MAX_REQUEST_BYTES:
                raise InputDataError([Problem(self.describe(), f"{len(data):,} bytes", f"Google Sheets refuses "
                                              f"requests over {MAX_REQUEST_BYTES:,} bytes", "nothing was sent")])
            self.request_sizes.append(len(data))
        self.pacer.acquire("read" if method == "get" else "write")
        self.api_calls += 1
        try:
            resp = self._http.request(method, url, params=params, data=data, headers=headers)
        except APIError as exc:
            self._count(exc.response)
            raise self._translate(exc) from exc
        except requests.Timeout as exc:
            raise AmbiguousRetriable(f"Google Sheets did not answer in time ({self.describe()}); "
                                     "will retry") from exc
        except requests.ConnectionError as exc:
            raise AmbiguousRetriable(f"the connection to Google Sheets failed ({type(exc).__name__}) "
                                     f"for {self.describe()}") from exc
        except google.auth.exceptions.RefreshError as exc:
            if getattr(exc, "retryable", False):
                raise RetriableError("Google's token endpoint failed temporarily; will retry") from exc
            raise FatalError(f"Google rejected the service-account credentials of {self.service_account_email} "
                             "(the key may be deleted or disabled): create a new key and point "
                             "SHEETS_SYNC_GOOGLE_CREDENTIALS at it") from exc
        except google.auth.exceptions.TransportError as exc:
            raise AmbiguousRetriable("could not reach Google's token endpoint; will retry") from exc
        self._count(resp)
        try:
            return resp.json()
        except ValueError as exc:
            raise AmbiguousRetriable(f"Google Sheets sent a response that is not JSON for "
                                     f"{self.describe()}") from exc

    def _count(self, resp: requests.Response | None) -> None:
        if resp is None:
            return
        body = resp.request.body if resp.request is not None else None
        self.bytes_sent += len(body) if body else 0
        self.bytes_received += len(resp.content or b"")

    def _translate(self, exc: APIError) -> SheetsSyncError:
        code = int(exc.code)
        error = exc.error if isinstance(exc.error, Mapping) else {}
        status = str(error.get("status", ""))
        said = _scrub(str(error.get("message", "")))[:300]
        sid = self.spreadsheet_id
        email_ = self.service_account_email
        if code == 429 or status == "RESOURCE_EXHAUSTED" or ("quota" in said.lower() and code in (403, 429)):
            return QuotaError(f"Google Sheets quota exceeded for {email_} ({said}); retry later",
                              retry_after=_retry_after(exc.response))
        if code == 408 or code >= 500:
            return AmbiguousRetriable(f"Google Sheets failed with HTTP {code} for spreadsheet {sid} ({said})",
                                      retry_after=_retry_after(exc.response))
        if code == 401:
            return FatalError(f"Google did not accept the credentials of {email_} (HTTP 401: {said})")
        if code == 403:
            if "has not been used" in said or "is disabled" in said or status == "SERVICE_DISABLED":
                return FatalError(f"the Google Sheets API is not enabled for the project of {email_}: enable it "
                                  f"in the Google Cloud console ({said})")
            return FatalError(f"no access to spreadsheet {sid}: share the sheet with {email_} as Editor "
                              "(Share → add that email → Editor)")
        if code == 404:
            return FatalError(f"spreadsheet {sid} was not found: check the id (the part of the sheet's URL "
                              "between /d/ and /edit) and that the sheet was not deleted")
        if code == 400:
            return Rejected(f"Google Sheets rejected the request for spreadsheet {sid} and changed nothing: "
                            f"{said}")
        return FatalError(f"Google Sheets answered HTTP {code} for spreadsheet {sid}: {said}")

    def with_retries(self, what: str, attempt: Callable[[int, SheetsSyncError | None], T]) -> T:
        """``attempt(n, last_error)`` until it returns, retrying RetriableError under the policy."""
        policy = self.retry
        start = policy.clock()
        last: SheetsSyncError | None = None
        for n in range(policy.max_attempts):
            try:
                return attempt(n, last)
            except RetriableError as exc:
                last = exc
                if n + 1 >= policy.max_attempts:
                    break
                wait = 0.0 if isinstance(exc, Stale) else policy.delay(n, exc.retry_after)
                if policy.clock() - start + wait > policy.max_total_s:
                    break
                log.warning("%s: %s; retry %d of %d in %.1f s", self.describe(), exc, n + 1,
                            policy.max_attempts - 1, wait)
                if wait:
                    policy.sleep(wait)
        assert last is not None
        elapsed = policy.clock() - start
        msg = f"could not {what} of {self.describe()} after {n + 1} attempt(s) in {elapsed:.0f} s: {last}"
        kind = QuotaError if isinstance(last, QuotaError) else RetriableError
        raise kind(msg, retry_after=getattr(last, "retry_after", None)) from last


def _retry_after(resp: requests.Response | None) -> float | None:
    value = resp.headers.get("Retry-After") if resp is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _scrub(text: str) -> str:
    return _TOKEN_RE.sub(lambda m: (m.group(1) or "") + "[redacted]", text)


def load_key(credentials: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """The service-account key, from a dict or a JSON file, checked for what google-auth needs."""
    if isinstance(credentials, Mapping):
        info = dict(credentials)
    else:
        path = Path(credentials).expanduser()
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: the service-account key file does not exist (set "
                              "SHEETS_SYNC_GOOGLE_CREDENTIALS or GOOGLE_APPLICATION_CREDENTIALS to its path)") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read the service-account key file as JSON "
                              f"({type(exc).__name__})") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError("the Google credentials are not a service-account key (expected a JSON file with "
                          '"type": "service_account"; create one under IAM → Service accounts → Keys)')
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise ConfigError(f"the service-account key lacks {', '.join(missing)}; download a new JSON key")
    return info
