"""A local Google Sheets API v4 server for tests and benchmarks, as strict as Google: over real HTTP on
127.0.0.1, the methods sheets-sync uses, every request checked against Google's published schema first.

Real gspread and google-auth talk to it through :class:`RedirectAdapter`, which rewrites
``https://<any google host>/path`` to ``http://127.0.0.1:<port>/path`` at the transport layer.

What it follows, and where that comes from (a guess is marked as one, here and in the modules it uses):

* **Routes and parameters** come from the vendored discovery document (:mod:`.sheets_discovery`, revision
  20261019): a path no method has answers 404; a method Google has and this server does not model answers 501
  ``UNIMPLEMENTED`` (never a 400 that looks like Google's). Query parameters are checked against the method's:
  unknown names, enums, booleans (400 ``INVALID_ARGUMENT``).
* **Bodies** are checked against the request schema before anything happens (:mod:`.sheets_discovery`):
  unknown request kinds and fields, wrong types, values outside an enum, two members of a union, required
  fields → 400 with Google's message and a ``google.rpc.BadRequest`` detail. A body that is not JSON → 400.
  Nothing ever drops the connection: a bug of this server answers 500 ``INTERNAL`` (Google's "Internal error
  encountered.") and is kept in :attr:`FakeSheetsServer.internal_errors` for the tests to see.
* ``POST /v4/spreadsheets/{id}:batchUpdate``: the sub-requests in order, Google's checks after each (grid bounds,
  10,000,000 cells, 18,278 columns, protected ranges, developer metadata, 50,000 characters a cell), on a copy:
  a refused batch changes nothing (:mod:`.sheets_batch`).
* ``GET /v4/spreadsheets/{id}`` with ``fields`` masks (``a,b(c,d),e.f``); ``protectedRanges`` carry
  ``requestingUserCanEdit`` for the caller, and ``editors`` only for those who may edit them
  (:mod:`.sheets_model`).
* ``GET values:batchGet`` (ranges matched by position; ragged rows, trailing empties omitted, no ``values`` key
  for an empty range, numbers/bools/strings, dates as day serials) and ``GET/PUT /values/{range}`` (``PUT``
  needs ``valueInputOption``: "'valueInputOption' is required but not specified", googleapis/
  google-api-dotnet-client #2525).
* ``POST /token``: the service-account JWT-bearer grant. The assertion's RS256 signature is verified with the
  public key of a key made by :meth:`FakeSheetsServer.service_account`; ``aud`` must be the token URI.
* Sharing: a spreadsheet answers 403 ``PERMISSION_DENIED`` "The caller does not have permission" to a service
  account it is not shared with, 404 "Requested entity was not found." to an unknown id, 401
  ``UNAUTHENTICATED`` without a token.
* Google's limits, strict by default (:class:`~.sheets_model.Limits`): a request body over 10,485,760 bytes → 400
  ``Request payload size exceeds the limit: 10485760 bytes.``; 60 read and 60 write requests per minute per user
  (the service account) and 300 per project → 429 ``RESOURCE_EXHAUSTED`` with Google's body (``Quota exceeded for
  quota metric 'Write requests' and limit 'Write requests per minute per user' …`` and an ``ErrorInfo`` detail,
  reason ``RATE_LIMIT_EXCEEDED``, as googleapis/google-api-python-client users quote it). The quota window (60 s)
  and the numbers are settable so tests can run it fast; every request is recorded in
  :attr:`FakeSheetsServer.traffic` with its size.

Fault injection (:class:`Fault`): an HTTP status (429 with ``Retry-After``, 500, 503…), a slow response
(applied, then answered late), a dropped connection before or after applying, a batchUpdate rejected mid-way.
A protection a *person* put on a tab: :meth:`FakeSheetsServer.protect`.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import functools
import json
import random
import re
import socket
import threading
import time
import traceback
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as gexc
from google.auth import jwt
from requests.adapters import HTTPAdapter

from .sheets_batch import BatchUpdate, check_chars, guard, within
from .sheets_discovery import Validator
from .sheets_model import (
    SID,
    ApiError,
    Book,
    Limits,
    Sheet,
    Unimplemented,
    cell_from_python,
    col_letter,
    parse_a1,
    parse_field_mask,
    project,
    quote_title,
    split_range,
    values_of,
)

__all__ = ["SID", "ApiError", "FakeSheetsServer", "Fault", "Limits", "RedirectAdapter"]

PROJECT_NUMBER = "1049753172814"     # the fake project's number, as quota errors name it
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
#: the discovery methods this server serves (every other one answers 501)
SERVED = ("sheets.spreadsheets.get", "sheets.spreadsheets.batchUpdate", "sheets.spreadsheets.values.batchGet",
          "sheets.spreadsheets.values.get", "sheets.spreadsheets.values.update")


@functools.cache
def _validator() -> Validator:
    return Validator()


@functools.cache
def _routes() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(HTTP method, path pattern, method id) for every method of the discovery document: ``{spreadsheetId}``
    stops at ``/`` and ``:``, other parameters (an A1 range) at ``/``."""
    def param(g: re.Match[str]) -> str:
        return rf"(?P<{g[1]}>[^/:]+)" if g[1] == "spreadsheetId" else rf"(?P<{g[1]}>[^/]+?)"

    return tuple((m["httpMethod"], re.compile("/" + re.sub(r"\\\{(\w+)\\\}", param, re.escape(m["flatPath"]))), mid)
                 for mid, m in _validator().methods())


def _match(method: str, raw_path: str) -> tuple[str, dict[str, str]]:
    """The discovery method a request is for, and its path parameters (404 when there is none)."""
    for http, pattern, mid in _routes():
        m = pattern.fullmatch(raw_path)
        if m and http == method:
            return mid, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
    raise ApiError(404, f"The requested URL {urllib.parse.unquote(raw_path)} was not found on this server.",
                   "NOT_FOUND")


def quota_error(kind: str, scope: str, limit: int) -> dict[str, Any]:
    """Google's 429 body for an exhausted per-minute quota (``kind`` read/write, ``scope`` user/project)."""
    metric = "Read requests" if kind == "read" else "Write requests"
    name = f"{metric} per minute" + (" per user" if scope == "user" else "")
    camel = ("ReadRequests" if kind == "read" else "WriteRequests") + "PerMinutePer" + scope.capitalize()
    return {"error": {
        "code": 429,
        "message": f"Quota exceeded for quota metric '{metric}' and limit '{name}' of service "
                   f"'sheets.googleapis.com' for consumer 'project_number:{PROJECT_NUMBER}'.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
             "domain": "googleapis.com",
             "metadata": {"quota_limit": camel, "quota_limit_value": str(limit),
                          "quota_unit": "1/min/{project}" + ("/{user}" if scope == "user" else ""),
                          "quota_location": "global", "consumer": f"projects/{PROJECT_NUMBER}",
                          "service": "sheets.googleapis.com",
                          "quota_metric": f"sheets.googleapis.com/{kind}_requests"}},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [
                {"description": "Request a higher quota limit.",
                 "url": "https://cloud.google.com/docs/quotas/help/request_increase"}]}]}}


class RedirectAdapter(HTTPAdapter):
    """Rewrite ``https://<google host>/...`` → ``<base>/...`` at the transport layer (nothing leaves 127.0.0.1)."""

    def __init__(self, base: str, **kw: Any):
        self.base = base
        super().__init__(**kw)

    def send(self, request, **kw):  # type: ignore[override]
        u = urllib.parse.urlsplit(request.url)
        request.url = self.base + u.path + (("?" + u.query) if u.query else "")
        return super().send(request, **kw)



@dataclass
class Fault:
    """One injected fault. ``kind``: ``status`` (answer ``code``), ``slow`` (apply, then answer after
    ``delay`` s), ``drop`` (close the connection before doing anything), ``drop_after`` (apply, then close
    without an answer), ``reject`` (a batchUpdate fails validation at request ``at``; nothing applied).
    ``match`` is a substring of ``METHOD path`` (e.g. ``":batchUpdate"``, ``"values:batchGet"``); ``skip`` lets
    that many matching calls through first (a fault at the n-th staging request)."""

    kind: str = "status"
    code: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    at: int | None = None
    match: str = ""
    times: int = 1
    skip: int = 0


@functools.cache
def _private_key() -> rsa.RSAPrivateKey:
    """One throwaway RSA key per test process (generating one takes ~0.1 s)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeSheetsServer:
    """The fake. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, *, seed: int = 0, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.quota_used: dict[tuple[str, str], collections.deque[float]] = {}   # (user or "project", kind) → times
        self.quota_refused = 0                        # 429s answered for an exhausted quota
        self.books: dict[str, Book] = {}
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.random_faults: tuple[float, list[Fault]] | None = None
        self.rng = random.Random(seed)
        self.log: list[tuple[str, str]] = []          # (METHOD, path) of every API call (token calls too)
        self.traffic: list[tuple[str, int, int]] = []  # (METHOD path, request bytes, response bytes)
        self.public_keys: dict[str, str] = {}         # key id → public key PEM
        self.emails: dict[str, str] = {}              # client_email → key id
        self.tokens: dict[str, str] = {}              # access token → client_email
        self.httpd: ThreadingHTTPServer | None = None
        self.quota_accepted = {"read": 0, "write": 0}  # requests counted against the quotas
        self.internal_errors: list[str] = []          # tracebacks of requests this server failed on (answered 500)

    @property
    def quota_rejected(self) -> int:     # the benchmarks' name for quota_refused
        return self.quota_refused

    def set_quota(self, reads_per_minute: int | None, writes_per_minute: int | None,
                  minute_s: float = 60.0) -> None:
        """Set the per-user (per service account) read and write quotas per minute (None: Google's 60) and the
        length of the quota window (``minute_s``: shorter for benchmarks); counters start again."""
        with self.lock:
            self.limits = dataclasses.replace(self.limits, reads_per_user=reads_per_minute or 60,
                                              writes_per_user=writes_per_minute or 60, window_s=minute_s)
            self.quota_used.clear()
            self.quota_refused, self.quota_accepted = 0, {"read": 0, "write": 0}

    # lifecycle
    def start(self) -> FakeSheetsServer:
        server = self

        class Handler(_Handler):
            fake = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self) -> FakeSheetsServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self.httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def adapter(self) -> RedirectAdapter:
        return RedirectAdapter(self.base_url)

    def session(self, sa: dict[str, Any], scopes: Iterable[str] = SCOPES) -> Any:
        """google-auth's AuthorizedSession for the key ``sa``, its every request (token refresh included) sent
        to this server: the HTTP a Google client library makes, without one."""
        import google.auth.transport.requests as gtr
        import requests
        from google.oauth2 import service_account

        creds = service_account.Credentials.from_service_account_info(sa, scopes=list(scopes))
        auth_s = requests.Session()
        auth_s.mount("https://", self.adapter())
        session = gtr.AuthorizedSession(creds, auth_request=gtr.Request(auth_s))
        session.mount("https://", self.adapter())
        return session

    def gspread_client(self, sa: dict[str, Any]) -> Any:
        """A plain gspread client (no sheets-sync code) whose every Google request goes to this server."""
        import gspread

        return gspread.Client(auth=None, session=self.session(sa, gspread.auth.DEFAULT_SCOPES))

    # accounts and books
    def service_account(self, email: str = "sync@kpi-project.iam.gserviceaccount.com") -> dict[str, Any]:
        """A throwaway service-account key whose token_uri is this server (registered for JWT verification)."""
        key = _private_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        kid = f"kid-{len(self.public_keys) + 1}"
        self.public_keys[kid] = pub
        self.emails[email] = kid
        return {"type": "service_account", "project_id": "kpi-project", "private_key_id": kid, "private_key": pem,
                "client_email": email, "client_id": "1", "token_uri": f"{self.base_url}/token"}

    def add_book(self, sid: str, tabs: dict[str, list[list[Any]]] | None = None, *, shared: Iterable[str] = (),
                 title: str = "KPI review", owner: str = "owner@team.example") -> Book:
        """A spreadsheet ``owner`` made, with ``tabs`` (title → rows of Python values), shared as an editor with
        the ``shared`` accounts."""
        book = Book(sid, title, [], set(shared), owner=owner)
        for name, table in (tabs or {"Sheet1": []}).items():
            self.add_tab(book, name, table)
        with self.lock:
            self.books[sid] = book
        return book

    def add_tab(self, book: Book, name: str, table: list[list[Any]], rows: int | None = None,
                cols: int | None = None) -> Sheet:
        n_rows = max(rows or 0, len(table), 1)
        n_cols = max(cols or 0, max((len(r) for r in table), default=0), 1)
        sheet = Sheet({"sheetId": book.new_id(), "title": name, "index": len(book.sheets), "sheetType": "GRID",
                       "gridProperties": {"rowCount": n_rows, "columnCount": n_cols}})
        for r, row in enumerate(table):
            for c, v in enumerate(row):
                cell = cell_from_python(v)
                if cell:
                    sheet.cells[(r, c)] = cell
        book.sheets.append(sheet)
        return sheet

    def protect(self, sid: str, title: str, *, editors: Iterable[str] = (), warning_only: bool = False,
                description: str = "Only managers edit this tab", grid: dict[str, int] | None = None,
                unprotected: Iterable[dict[str, int]] = ()) -> dict[str, Any]:
        """A protection a person puts on tab ``title`` in the Sheets editor (Data → Protect sheets and ranges):
        the whole tab, or the rows and columns of ``grid`` (a GridRange without sheetId). The owner may always
        edit it; ``editors`` are the others who may. Returns the ProtectedRange as stored."""
        with self.lock:
            book = self.books[sid]
            sheet = book.by_title(title)
            assert sheet is not None, title
            pr: dict[str, Any] = {"protectedRangeId": book.new_id(), "range": {"sheetId": sheet.id, **(grid or {})},
                                  "description": description, "warningOnly": warning_only}
            if not warning_only:
                pr["editors"] = {"users": [book.owner, *editors]}
            if unprotected:
                pr["unprotectedRanges"] = [{"sheetId": sheet.id, **u} for u in unprotected]
            sheet.protected.append(pr)
            return copy.deepcopy(pr)

    def values(self, sid: str, title: str) -> list[list[Any]] | None:
        """A tab's values as values.get renders them with UNFORMATTED_VALUE (ragged, trailing empties gone)."""
        with self.lock:
            sheet = self.books[sid].by_title(title)
            return None if sheet is None else values_of(sheet, 0, sheet.rows, 0, sheet.cols, "UNFORMATTED_VALUE",
                                                         "SERIAL_NUMBER")

    def snapshot(self, sid: str, title: str) -> dict[str, Any] | None:
        """Everything about one tab (properties, cells, formats, rules, charts, protections), for equality checks."""
        with self.lock:
            sheet = self.books[sid].by_title(title)
            if sheet is None:
                return None
            return copy.deepcopy({"props": sheet.props, "cells": sheet.cells, "protected": sheet.protected,
                                  "cond": sheet.cond, "charts": sheet.charts, "col_px": sheet.col_px})

    def request_sizes(self, match: str = "/v4/") -> list[int]:
        """Body sizes in bytes of the API requests so far (``match`` filters on ``METHOD path``)."""
        with self.lock:
            return [n for what, n, _ in self.traffic if match in what]

    def _quota(self, email: str, method: str) -> dict[str, Any] | None:
        """Count one API request against the per-minute quotas; Google's 429 body when one is exhausted."""
        kind = "read" if method == "GET" else "write"
        lim = self.limits
        now = time.monotonic()
        with self.lock:
            for scope, key, limit in (("user", email, lim.reads_per_user if kind == "read" else lim.writes_per_user),
                                      ("project", "project",
                                       lim.reads_per_project if kind == "read" else lim.writes_per_project)):
                used = self.quota_used.setdefault((key, kind), collections.deque())
                while used and used[0] <= now - lim.window_s:
                    used.popleft()
                if len(used) >= limit:
                    self.quota_refused += 1
                    return quota_error(kind, scope, limit)
            for key in (email, "project"):
                self.quota_used[(key, kind)].append(now)
            self.quota_accepted[kind] += 1
        return None

    def calls(self, match: str = "/v4/") -> int:
        return sum(1 for m, p in self.log if match in f"{m} {p}")

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def set_random_faults(self, rate: float, menu: list[Fault]) -> None:
        """Each API call fails with probability ``rate`` with a fault drawn from ``menu``."""
        self.random_faults = (rate, menu) if rate > 0 else None

    def _next_fault(self, method: str, path: str) -> Fault | None:
        """Faults hit Sheets API calls; the token endpoint only when a fault's ``match`` names it."""
        with self.lock:
            for f in self.faults:
                if f.match in f"{method} {path}" and (path.startswith("/v4/") or "/token" in f.match):
                    if f.skip > 0:
                        f.skip -= 1
                        continue
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
            if self.random_faults and self.rng.random() < self.random_faults[0]:
                candidates = [f for f in self.random_faults[1] if f.match in f"{method} {path}"
                              and (path.startswith("/v4/") or "/token" in f.match)]
                if candidates:
                    return self.rng.choice(candidates)
        return None




class _Handler(BaseHTTPRequestHandler):
    fake: FakeSheetsServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK cost ~40 ms per call
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _send(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj).encode()
        with self.fake.lock:
            self.fake.traffic.append((f"{self.command} {urllib.parse.urlsplit(self.path).path}",
                                      int(self.headers.get("Content-Length") or 0), len(body)))
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str, status: str, headers: dict[str, str] | None = None) -> None:
        self._send(code, {"error": {"code": code, "message": message, "status": status}}, headers)

    def _handle(self, method: str) -> None:
        fake = self.fake
        u = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        path = urllib.parse.unquote(u.path)
        with fake.lock:
            fake.log.append((method, path))
        if n > fake.limits.max_request_bytes and path.startswith("/v4/"):
            return self._error(400, f"Request payload size exceeds the limit: {fake.limits.max_request_bytes} bytes.",
                               "INVALID_ARGUMENT")
        if path.endswith("/allowedLocations"):          # google-auth's Regional Access Boundary lookup
            return self._send(200, {"locations": [], "encodedLocations": "0x0"})
        fault = fake._next_fault(method, path)
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            status = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 500: "INTERNAL"}.get(fault.code, "UNKNOWN")
            self.close_connection = False
            return self._error(fault.code, "Fault injected by the fake Sheets server", status, headers)
        try:
            code, obj = self._route(method, u.path, query, raw, fault)
        except ApiError as exc:
            code, obj = exc.code, exc.body()
        except Exception:                            # a bug of this server: answered, recorded, never a hang-up
            with fake.lock:
                fake.internal_errors.append(traceback.format_exc())
            code, obj = 500, {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}
        if fault is not None and fault.kind == "drop_after":
            self.close_connection = True
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        try:
            self._send(code, obj)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, method: str, raw_path: str, query: dict[str, list[str]], raw: bytes,
               fault: Fault | None) -> tuple[int, Any]:
        fake = self.fake
        if raw_path == "/token" and method == "POST":
            return self._token(raw)
        mid, args = _match(method, raw_path)
        auth = self.headers.get("Authorization", "")
        email = fake.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if email is None:
            raise ApiError(401, "Request is missing required authentication credential. Expected OAuth 2 access "
                                "token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")
        refused = fake._quota(email, method)
        if refused is not None:
            return 429, refused
        checked = _validator().check_query(mid, query)
        if checked.violations:
            raise ApiError(400, checked.message(), details=checked.error()["error"]["details"])
        if mid not in SERVED:
            raise Unimplemented(f"the {mid} method")
        with fake.lock:
            book = fake.books.get(args["spreadsheetId"])
            if book is None:
                raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
            if email not in book.shared:
                raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
            if mid == "sheets.spreadsheets.get":
                res = book.resource(email)
                if query.get("fields"):
                    res = project(res, parse_field_mask(query["fields"][0]))
                return 200, res
            if mid == "sheets.spreadsheets.batchUpdate":
                return self._batch_update(book, email, raw, fault)
            if mid == "sheets.spreadsheets.values.batchGet":
                return 200, {"spreadsheetId": book.id, "valueRanges": [
                    self._value_range(book, r, query) for r in query.get("ranges", [])]}
            if mid == "sheets.spreadsheets.values.get":
                return 200, self._value_range(book, args["range"], query)
            return self._values_update(book, email, args["range"], query, raw)

    def _token(self, raw: bytes) -> tuple[int, Any]:
        fake = self.fake
        form = urllib.parse.parse_qs(raw.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        assertion = (form.get("assertion") or [""])[0]
        try:
            # google-auth 2.6x signs aud = Google's token endpoint even when token_uri points elsewhere
            claims = jwt.decode(assertion, certs=fake.public_keys,
                                audience=[f"{fake.base_url}/token", "https://oauth2.googleapis.com/token"])
        except (gexc.GoogleAuthError, ValueError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        if claims.get("iss") not in fake.emails or "spreadsheets" not in str(claims.get("scope", "")):
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant: account not found"}
        token = f"fake-token-{len(fake.tokens) + 1}-{random.random():.8f}"
        with fake.lock:
            fake.tokens[token] = claims["iss"]
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    @staticmethod
    def _json(raw: bytes, schema: str) -> Any:
        """The body as ``schema``, checked against the discovery document (400 with every violation)."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received. Unexpected token.") from None
        checked = _validator().check_body(body, schema)
        if checked.violations:
            raise ApiError(400, checked.message(), details=checked.error()["error"]["details"])
        return checked.value

    def _batch_update(self, book: Book, email: str, raw: bytes, fault: Fault | None) -> tuple[int, Any]:
        body = self._json(raw, "BatchUpdateSpreadsheetRequest")
        reqs = body.get("requests") or []
        reject_at = None
        if fault is not None and fault.kind == "reject" and reqs:
            reject_at = len(reqs) // 2 if fault.at is None else min(fault.at, len(reqs) - 1)
        work = book.clone()
        replies = BatchUpdate(work, email, self.fake.limits, reject_at).run(reqs)   # raises before the swap
        self.fake.books[book.id] = work
        out: dict[str, Any] = {"spreadsheetId": book.id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            out["updatedSpreadsheet"] = work.resource(email)
        return 200, out

    def _value_range(self, book: Book, rng: str, query: dict[str, list[str]]) -> dict[str, Any]:
        title, a1 = split_range(rng)
        sheet = book.by_title(title)
        if sheet is None:
            raise ApiError(400, f"Unable to parse range: {rng}")
        r0, r1, c0, c1 = parse_a1(a1, sheet.rows, sheet.cols)
        vopt = (query.get("valueRenderOption") or ["FORMATTED_VALUE"])[0]
        dopt = (query.get("dateTimeRenderOption") or ["SERIAL_NUMBER"])[0]
        out: dict[str, Any] = {
            "range": f"{quote_title(title)}!{col_letter(c0)}{r0 + 1}:{col_letter(max(c1 - 1, 0))}{max(r1, 1)}",
            "majorDimension": "ROWS"}
        values = values_of(sheet, r0, r1, c0, c1, vopt, dopt)
        if values:
            out["values"] = values
        return out

    def _values_update(self, book: Book, email: str, rng: str, query: dict[str, list[str]],
                       raw: bytes) -> tuple[int, Any]:
        if not query.get("valueInputOption"):
            raise ApiError(400, "'valueInputOption' is required but not specified")
        body = self._json(raw, "ValueRange")
        title, a1 = split_range(rng)
        work = book.clone()
        sheet = work.by_title(title)
        if sheet is None:
            raise ApiError(400, f"Unable to parse range: {rng}")
        values = body.get("values") or []
        r0, _, c0, _ = parse_a1(a1, sheet.rows, sheet.cols)
        width = max((len(r) for r in values), default=0)
        within(sheet, r0, r0 + len(values), c0, c0 + width, "values.update")
        guard(work, sheet, email, r0, r0 + len(values), c0, c0 + width)
        raw_input = query["valueInputOption"][0] == "RAW"
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                cell = {} if v in (None, "") else {"userEnteredValue": (
                    {"stringValue": v} if isinstance(v, str) and (raw_input or not v.startswith("="))
                    else cell_from_python(v).get("userEnteredValue", {}))}
                check_chars(cell, "values.update", self.fake.limits.max_cell_chars)
                old = sheet.cells.get((r0 + i, c0 + j), {})
                new = {**old, **cell} if cell else {k: x for k, x in old.items() if k != "userEnteredValue"}
                if new:
                    sheet.cells[(r0 + i, c0 + j)] = new
                else:
                    sheet.cells.pop((r0 + i, c0 + j), None)
        self.fake.books[book.id] = work
        return 200, {"spreadsheetId": book.id, "updatedRange": f"{quote_title(title)}!{a1}",
                     "updatedRows": len(values), "updatedColumns": width,
                     "updatedCells": sum(len(r) for r in values)}
