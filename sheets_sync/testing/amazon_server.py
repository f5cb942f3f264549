"""A local Amazon for tests and benchmarks: the LWA token endpoint, SP-API Reports 2021-06-30, Data Kiosk
2023-11-15 (:mod:`.amazon_datakiosk`), Amazon Ads API v3 reporting and the presigned "S3" downloads, on
127.0.0.1 (``ThreadingHTTPServer``). Documents come from :mod:`.amazon_documents` (one table of report types).

It is as strict as Amazon **by default**. What it follows, and where Amazon publishes it:

* **Rate limits** — a token bucket per operation with Amazon's published rate and burst (:data:`OPERATIONS`,
  each entry names its source; Amazon's "Usage Plans and Rate Limits" page: token bucket, rate per second,
  burst = bucket size). The clock is a :class:`VirtualClock` that the client's ``sleep`` advances (pass
  :meth:`AmazonServer.client_timing` to a source), so a sync meets Amazon's minutes without waiting them.
  A test that wants no limits calls :meth:`AmazonServer.no_rate_limits` with its reason.
* **SP-API answers** (reports_2021-06-30.json, dataKiosk_2023-11-15.json): ``x-amzn-RequestId`` on every
  answer; ``x-amzn-RateLimit-Limit`` (the operation's rate) on 2xx, 400 and 404 only — the models say that for
  401, 415, 429, 500 and 503 "the rate limit header is deprecated and no longer returned", and list none for
  403. A throttled call answers 429 with the models' ``ErrorList``: ``QuotaExceeded`` / "You exceeded your quota
  for the requested resource." (the message Amazon sends, as quoted in amzn/selling-partner-api-docs#1624).
  SP-API sends no ``Retry-After``.
* **Amazon Ads** (advertising.amazon.com "Rate limiting"): limits are dynamic (for reporting, set per region by
  the report queue's size) and a throttled call answers 429 with ``Retry-After`` (seconds). No rate is
  published: the buckets here are a **guess**, and so is the 429 body. Duplicate report requests answer 425
  "duplicate of : <id>"; ``startDate`` older than the type's data retention (95 days for Sponsored Products, 60
  for Brands, 65 for Display: each report type's page) and a range over 31 days are refused (400; the Amazon Ads
  team in amzn/ads-advanced-tools-docs#157); reports are ``GZIP_JSON``. A request is checked against its type's
  page (:class:`~.amazon_documents.AdsSpec`) and refused with the 400 bodies Amazon sends, as quoted in the Ads
  docs' issues: an unknown ``reportTypeId`` ("configuration reportTypeId is unknown or invalid", #375), another
  ``adProduct`` ("configuration adProduct is not supported for this report type", #231), a ``groupBy`` value the
  type does not have ("configuration invalid groupBy values: (…). Allowed values: (…)", #175), a column the
  groupBys do not allow ("configuration columns includes invalid values: (…)", #278), and ``startDate`` /
  ``endDate`` columns with ``timeUnit`` DAILY (the wording a public client quotes: **secondary**). A report holds
  the requested columns only (a row without a value for one leaves it out).
* **Login with Amazon**: access tokens live 3,600 s (``expires_in``; LWA "Access Token" page). Amazon
  publishes no rate for the token endpoint: its bucket is a **guess**. Token expiry is not enforced (the
  client library times its cache on the wall clock, which the virtual clock does not move).
* **Reports** (reports_2021-06-30.json): ``IN_QUEUE`` → ``IN_PROGRESS`` → ``DONE`` | ``CANCELLED`` | ``FATAL``;
  a FATAL report's ``reportDocumentId`` is its error document. ``getReportDocument`` gives a presigned ``url``
  ("expires after 5 minutes") and ``compressionAlgorithm: GZIP`` when "the report document contents have been
  compressed" — documents are gzip'd by default (``gzip_documents``). Amazon documents no limit on how many
  reports may be open: a report "may be waiting for another IN_PROGRESS report" (``IN_QUEUE``), which
  ``polls_to_done`` / ``generation_s`` model.
* **Presigned downloads**: expire 300 s (server clock) after ``getReportDocument`` / ``getDocument`` gave them —
  then S3's 403 ``AccessDenied`` "Request has expired"; they refuse requests that carry credentials (S3's 400
  "Only one auth mechanism allowed").

Every request is in ``log`` (method, path, body, headers and the status it got). Fault knobs:
``throttle[operation] = n`` (the next n calls answer 429 as Amazon would), ``retry_after`` (the
``Retry-After`` of forced Ads throttles), ``throttle["expired-url"] = n`` (the next n downloads find their
presigned URL expired), ``outcome(report) -> "DONE" | "CANCELLED" | "FATAL"``,
``polls_to_done`` (IN_QUEUE, then IN_PROGRESS, that many polls), ``ads_polls_to_done`` (PENDING → PROCESSING),
``ads_failed(report)``, ``generation_s`` (a report / query takes that long on the server clock),
``documents(report_type, marketplace, start, end)`` (replaces the synthetic documents; text is encoded with
``encodings``), ``data_kiosk`` (:class:`~.amazon_datakiosk.DataKioskFake` knobs).
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .amazon_datakiosk import PREFIX as DK_PREFIX
from .amazon_datakiosk import DataKioskFake
from .amazon_documents import (
    CURRENCY,
    MARKETPLACE_IDS,
    REPORT_TYPES,
    AdsSpec,
    ReportType,
    sales_and_traffic,
    synthetic_document,
)
from .served import RateLimiter, ServedInThread, VirtualClock

__all__ = ["CURRENCY", "MARKETPLACE_IDS", "REPORT_TYPES", "AmazonServer", "ReportType", "VirtualClock",
           "clear_token_caches", "make_config", "sales_and_traffic", "synthetic_document", "utc_noon"]

SP_CLIENT_ID = "amzn1.application-oa2-client.sp-test"
SP_CLIENT_SECRET = "sp-secret-DO-NOT-LOG-1234"
SP_REFRESH_TOKEN = "Atzr|sp-refresh-DO-NOT-LOG-5678"
ADS_CLIENT_ID = "amzn1.application-oa2-client.ads-test"
ADS_CLIENT_SECRET = "ads-secret-DO-NOT-LOG-9012"
ADS_REFRESH_TOKEN = "Atzr|ads-refresh-DO-NOT-LOG-3456"
ADS_PROFILES = {"US": "1111111111", "MX": "2222222222"}

PRESIGNED_URL_S = 300           # "This URL expires after 5 minutes" (both models)
ADS_MAX_REPORT_DAYS = 31        # "each report request can only have a maximum of 31 days" (amzn/ads-advanced-tools-docs#157)


# ------------------------------------------------------------------------------------ rate limits

@dataclass(frozen=True)
class Operation:
    rate: float            # requests per second added to the bucket
    burst: int             # the bucket's size
    api: str               # "sp" | "ads" | "lwa": how a throttled answer looks
    source: str            # where Amazon publishes the rate (or "guess: …")


_REPORTS = "reports_2021-06-30.json, the operation's Usage Plan"
_DK = "dataKiosk_2023-11-15.json, the operation's Usage Plan"
_ADS = "guess: Amazon Ads publishes no rate (\"Rate limiting\": dynamic, 429 + Retry-After)"

OPERATIONS: dict[str, Operation] = {
    "createReport": Operation(0.0167, 15, "sp", _REPORTS),
    "getReport": Operation(2.0, 15, "sp", _REPORTS),
    "getReportDocument": Operation(0.0167, 15, "sp", _REPORTS),
    "createQuery": Operation(0.0167, 15, "sp", _DK),
    "getQuery": Operation(2.0, 15, "sp", _DK),
    "cancelQuery": Operation(0.0222, 10, "sp", _DK),
    "getDocument": Operation(0.0167, 15, "sp", _DK),
    "ads:createReport": Operation(1.0, 10, "ads", _ADS),
    "ads:getReport": Operation(1.0, 10, "ads", _ADS),
    "token": Operation(1.0, 10, "lwa", "guess: Login with Amazon publishes no rate for its token endpoint"),
}
RATE_LIMITS: dict[str, tuple[float, int]] = {op: (o.rate, o.burst) for op, o in OPERATIONS.items()}


# ------------------------------------------------------------------------------------------ server

@dataclass
class Document:
    body: bytes
    ctype: str
    compression: str | None        # None | "GZIP" (compressionAlgorithm) | "content-encoding"


_ROUTES: list[tuple[str, re.Pattern[str], str | None, str]] = [
    (method, re.compile(f"^{path}$"), op, handler) for method, path, op, handler in (
        ("POST", "/auth/o2/token", "token", "_token"),
        ("POST", "/reports/2021-06-30/reports", "createReport", "_sp_create"),
        ("GET", "/reports/2021-06-30/reports/([^/]+)", "getReport", "_sp_get"),
        ("GET", "/reports/2021-06-30/documents/([^/]+)", "getReportDocument", "_sp_document"),
        ("POST", DK_PREFIX + "/queries", "createQuery", "_dk_create"),
        ("GET", DK_PREFIX + "/queries/([^/]+)", "getQuery", "_dk_get"),
        ("DELETE", DK_PREFIX + "/queries/([^/]+)", "cancelQuery", "_dk_cancel"),
        ("GET", DK_PREFIX + "/documents/([^/]+)", "getDocument", "_dk_document"),
        ("POST", "/reporting/reports", "ads:createReport", "_ads_create"),
        ("GET", "/reporting/reports/([^/]+)", "ads:getReport", "_ads_get"),
        ("GET", "/s3/([^/]+)", None, "_s3"),
        ("GET", "/ads-s3/([^/]+)", None, "_ads_s3"),
    )]


def _sp_error(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def _date(value: Any, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return default


class AmazonServer(ServedInThread):
    """Start with ``with AmazonServer() as srv:``; ``srv.url`` is the base URL for every endpoint."""

    def __init__(self, documents: Callable[[str, str, dt.date, dt.date], bytes | str] | None = None,
                 today: dt.date | None = None, clock: Callable[[], float] | None = None):
        self.documents = documents or synthetic_document
        self.today = today or dt.date.today()
        self.lock = threading.RLock()
        self.ids = itertools.count(1)
        self.reports: dict[str, dict[str, Any]] = {}
        self.docs: dict[str, Document] = {}
        self.ads_reports: dict[str, dict[str, Any]] = {}
        self.ads_by_body: dict[str, str] = {}
        self.log: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self.created: Counter[tuple[str, str]] = Counter()        # (report type, marketplace) → create calls
        self.throttle: Counter[str] = Counter()
        self.retry_after: str | None = None
        self.polls_to_done = 0
        self.ads_polls_to_done = 1
        self.outcome: Callable[[dict[str, Any]], str] = lambda report: "DONE"
        self.ads_failed: Callable[[dict[str, Any]], bool] = lambda report: False
        self.encodings = {(rtype, mkt): kind.charset(mkt) for rtype, kind in REPORT_TYPES.items()
                          for mkt in CURRENCY}
        self.gzip_documents = True
        self.sp_credentials = (SP_CLIENT_ID, SP_CLIENT_SECRET, SP_REFRESH_TOKEN)
        self.ads_credentials = (ADS_CLIENT_ID, ADS_CLIENT_SECRET, ADS_REFRESH_TOKEN)
        self.tokens: dict[str, str] = {}      # access token → "sp" | "ads"
        self.clock: Callable[[], float] = clock or VirtualClock()
        self.limiter: RateLimiter | None = RateLimiter(RATE_LIMITS, self.clock)
        self.unlimited_because: str | None = None
        self.generation_s = 0.0
        self.data_kiosk = DataKioskFake(self)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    # ------------------------------------------------------------------------------ strictness

    def no_rate_limits(self, because: str) -> None:
        """Serve without rate limits; ``because`` says why the test needs that (it is kept in
        ``unlimited_because``)."""
        if not because.strip():
            raise ValueError("say why the test turns Amazon's rate limits off")
        self.limiter = None
        self.unlimited_because = because

    def set_rate(self, operation: str, rate: float, burst: int) -> None:
        """Another usage plan for one operation (Amazon grants some sellers more; tests may want less)."""
        if self.limiter is None:
            raise RuntimeError("rate limits are off")
        self.limiter.rates[operation] = (rate, burst)

    @property
    def sleep(self) -> Callable[[float], None]:
        """What a client sleeps with so that the server's clock sees its waits."""
        return getattr(self.clock, "sleep", time.sleep)

    def client_timing(self) -> dict[str, Any]:
        """``sleep`` and a ``budget`` on this server's clock, for ``open_amazon_source`` / ``SpApiSource``."""
        from sheets_sync.sources.amazon_common import LocalBudget

        return {"sleep": self.sleep, "budget": LocalBudget(clock=self.clock)}

    # ------------------------------------------------------------------------------ state

    @property
    def create_report_calls(self) -> int:
        return sum(self.created.values())

    def generated(self, item: dict[str, Any]) -> bool:
        """Has ``generation_s`` (server clock) passed since the report / query was created?"""
        return not self.generation_s or self.clock() - item.get("created_at", 0.0) >= self.generation_s

    @property
    def dk_access(self) -> bool:
        return self.data_kiosk.access

    @dk_access.setter
    def dk_access(self, value: bool) -> None:
        self.data_kiosk.access = value

    def env(self, ads: bool = True) -> dict[str, str]:
        env = {"LWA_APP_ID": SP_CLIENT_ID, "LWA_CLIENT_SECRET": SP_CLIENT_SECRET, "SP_API_REFRESH_TOKEN": SP_REFRESH_TOKEN}
        if ads:
            env.update({"ADS_CLIENT_ID": ADS_CLIENT_ID, "ADS_CLIENT_SECRET": ADS_CLIENT_SECRET,
                        "ADS_REFRESH_TOKEN": ADS_REFRESH_TOKEN, "ADS_PROFILE_ID_US": ADS_PROFILES["US"],
                        "ADS_PROFILE_ID_MX": ADS_PROFILES["MX"]})
        return env

    def store_document(self, body: bytes, ctype: str, compression: str | None, prefix: str = "amzn1.tortuga.doc"
                       ) -> str:
        doc_id = f"{prefix}.{next(self.ids)}"
        with self.lock:
            self.docs[doc_id] = Document(body, ctype, compression)
        return doc_id

    def presigned_url(self, doc_id: str) -> str:
        return f"{self.url}/s3/{doc_id}?X-Amz-Date={self.clock():.3f}&X-Amz-Expires={PRESIGNED_URL_S}"

    def _take_throttle(self, op: str) -> bool:
        with self.lock:
            if self.throttle[op] > 0:
                self.throttle[op] -= 1
                return True
            return False

    def _store_report(self, content: bytes | str, encoding: tuple[str, str | None], json_doc: bool) -> str:
        codec, charset = encoding
        body = content.encode(codec) if isinstance(content, str) else content
        ctype = ("application/json" if json_doc else "text/plain") + (f"; charset={charset}" if charset else "")
        return self.store_document(body, ctype, "GZIP" if self.gzip_documents else None)

    def _finish(self, report: dict[str, Any], outcome: str) -> None:
        report["processingStatus"] = outcome
        rtype, mkt = report["reportType"], report["marketplace"]
        if outcome == "DONE":
            content = self.documents(rtype, mkt, report["start"], report["end"])
            report["reportDocumentId"] = self._store_report(content, self.encodings.get((rtype, mkt), ("utf-8", None)),
                                                            REPORT_TYPES[rtype].json)
        elif outcome == "FATAL":
            error = json.dumps({"errorDetails": f"Report generation failed for {rtype}: the requested date range "
                                                "exceeds the data retention period (error 4xx-TEST)"})
            report["reportDocumentId"] = self._store_report(error, ("utf-8", "UTF-8"), True)
        report["processingEndTime"] = dt.datetime.now(dt.UTC).isoformat()

    # -------------------------------------------------------------------------------- handler

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            op: str | None = None
            entry: dict[str, Any]          # this request in the server's log (with the status it got)

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: bytes | dict[str, Any] | list[Any], ctype: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if isinstance(body, dict | list) else body
                self.entry["status"] = code
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                operation = OPERATIONS.get(self.op or "")
                if operation is not None and operation.api == "sp":
                    self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                    if code in (200, 202, 400, 404):
                        self.send_header("x-amzn-RateLimit-Limit", str(operation.rate))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _route(self, method: str) -> None:
                body = self._body()
                self.entry = {"method": method, "path": self.path, "body": body.decode("utf-8", "replace"),
                              "headers": {k.lower(): v for k, v in self.headers.items()}, "status": None}
                with server.lock:
                    server.log.append(self.entry)
                parts = urlsplit(self.path)
                for verb, pattern, op, handler in _ROUTES:
                    m = pattern.match(parts.path)
                    if verb == method and m:
                        self.op = op
                        return getattr(self, handler)(*m.groups(), body=body, query=parse_qs(parts.query))
                self.op = None
                self._send(404, _sp_error("NotFound", parts.path))

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

            def _throttled(self) -> bool:
                """Answer 429 as Amazon would when this call's bucket is empty (or a test forces it)."""
                op = self.op or ""
                wait = server.limiter.take(op) if server.limiter is not None else 0.0
                if not wait and not server._take_throttle(op):
                    return False
                server.calls[f"429:{op}"] += 1
                api = OPERATIONS[op].api
                if api == "sp":
                    self._send(429, _sp_error("QuotaExceeded", "You exceeded your quota for the requested resource."))
                elif api == "ads":
                    after = server.retry_after or str(max(1, round(wait or 1)))
                    self._send(429, {"code": "429", "detail": "Too Many Requests"}, headers={"Retry-After": after})
                else:   # guess: Login with Amazon's throttled answer is not published
                    self._send(429, {"error": "slow_down", "error_description": "Too many requests"})
                return True

            # ---------------------------------------------------------------------------- LWA

            def _token(self, body: bytes, query: Any) -> None:
                if self._throttled():
                    return
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                server.calls["token"] += 1
                pair = (form.get("client_id"), form.get("client_secret"))
                for kind, (cid, secret, refresh) in (("sp", server.sp_credentials), ("ads", server.ads_credentials)):
                    if pair == (cid, secret):
                        if form.get("refresh_token") != refresh:
                            return self._send(400, {"error": "invalid_grant", "error_description":
                                                    "The request has an invalid grant parameter : refresh_token"})
                        token = f"Atza|{kind}-{next(server.ids)}"
                        server.tokens[token] = kind
                        return self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600,
                                                "refresh_token": refresh})
                self._send(401, {"error": "invalid_client", "error_description": "Client authentication failed"})

            # ------------------------------------------------------------------------- SP-API

            def _sp_ok(self) -> bool:
                """Authorised (else 403 like Amazon) and not throttled (else 429)."""
                if server.tokens.get(self.headers.get("x-amz-access-token") or "") != "sp":
                    self._send(403, _sp_error("Unauthorized", "Access to requested resource is denied.",
                                              "The access token you provided is revoked, malformed or invalid."))
                    return False
                return not self._throttled()

            def _sp_create(self, body: bytes, query: Any) -> None:
                if not self._sp_ok():
                    return
                req = json.loads(body or b"{}")
                mids = req.get("marketplaceIds") or []
                rtype = req.get("reportType")
                if len(mids) != 1 or mids[0] not in MARKETPLACE_IDS:
                    return self._send(400, _sp_error("InvalidInput", f"bad marketplaceIds {mids}"))
                if rtype not in REPORT_TYPES or REPORT_TYPES[rtype].api != "sp":
                    return self._send(400, _sp_error("InvalidInput", f"Invalid reportType: {rtype}"))
                rid = str(next(server.ids))
                mkt = MARKETPLACE_IDS[mids[0]]
                report = {"reportId": rid, "reportType": rtype, "marketplace": mkt,
                          "marketplaceIds": mids, "request": req, "polls": 0, "processingStatus": "IN_QUEUE",
                          "start": _date(req.get("dataStartTime"), server.today),
                          "end": _date(req.get("dataEndTime"), server.today),
                          "createdTime": dt.datetime.now(dt.UTC).isoformat(), "created_at": server.clock()}
                with server.lock:
                    server.reports[rid] = report
                    server.created[(rtype, mkt)] += 1
                self._send(202, {"reportId": rid})

            def _sp_get(self, rid: str, body: bytes, query: Any) -> None:
                if not self._sp_ok():
                    return
                report = server.reports.get(rid)
                if report is None:
                    return self._send(404, _sp_error("NotFound", f"report {rid}"))
                with server.lock:
                    report["polls"] += 1
                    if report["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS"):
                        if report["polls"] > server.polls_to_done and server.generated(report):
                            server._finish(report, server.outcome(report))
                        elif report["polls"] > server.polls_to_done // 2:
                            report["processingStatus"] = "IN_PROGRESS"
                out = {k: v for k, v in report.items()
                       if k in ("reportId", "reportType", "marketplaceIds", "processingStatus", "reportDocumentId",
                                "createdTime", "processingEndTime")}
                out["dataStartTime"] = report["request"].get("dataStartTime")
                out["dataEndTime"] = report["request"].get("dataEndTime")
                self._send(200, out)

            def _sp_document(self, doc_id: str, body: bytes, query: Any) -> None:
                if not self._sp_ok():
                    return
                doc = server.docs.get(doc_id)
                if doc is None:
                    return self._send(404, _sp_error("NotFound", doc_id))
                out = {"reportDocumentId": doc_id, "url": server.presigned_url(doc_id)}
                if doc.compression == "GZIP":
                    out["compressionAlgorithm"] = "GZIP"
                self._send(200, out)

            def _s3(self, doc_id: str, body: bytes, query: dict[str, list[str]]) -> None:
                server.calls["s3"] += 1
                if self.headers.get("x-amz-access-token") or self.headers.get("Authorization"):
                    return self._send(400, b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism "
                                           b"allowed</Message></Error>", ctype="application/xml")
                doc = server.docs.get(doc_id)
                if doc is None:
                    return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
                try:
                    issued = float(query["X-Amz-Date"][0])
                except (KeyError, ValueError):
                    issued = -1e18
                if server.clock() - issued > PRESIGNED_URL_S or server._take_throttle("expired-url"):
                    return self._send(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired"
                                           b"</Message></Error>", ctype="application/xml")
                if doc.compression == "content-encoding":
                    return self._send(200, gzip.compress(doc.body), ctype=doc.ctype,
                                      headers={"Content-Encoding": "gzip"})
                self._send(200, gzip.compress(doc.body) if doc.compression == "GZIP" else doc.body, ctype=doc.ctype)

            # ------------------------------------------------------------------ Data Kiosk

            def _dk(self, answer: Callable[[], tuple[int, dict[str, Any]]]) -> None:
                if self._sp_ok():
                    self._send(*answer())

            def _dk_create(self, body: bytes, query: Any) -> None:
                self._dk(lambda: server.data_kiosk.create(json.loads(body or b"{}")))

            def _dk_get(self, qid: str, body: bytes, query: Any) -> None:
                self._dk(lambda: server.data_kiosk.get(qid))

            def _dk_cancel(self, qid: str, body: bytes, query: Any) -> None:
                self._dk(lambda: server.data_kiosk.cancel(qid))

            def _dk_document(self, doc_id: str, body: bytes, query: Any) -> None:
                self._dk(lambda: server.data_kiosk.document(doc_id))

            # ------------------------------------------------------------------------- Ads

            def _ads_ok(self) -> str | None:
                """The profile's marketplace when authorised (401 / 403 like Amazon) and not throttled."""
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if server.tokens.get(token) != "ads" or self.headers.get("Amazon-Advertising-API-ClientId") != \
                        server.ads_credentials[0]:
                    self._send(401, {"code": "UNAUTHORIZED", "details": "Not authorized to access this advertiser"})
                    return None
                scope = self.headers.get("Amazon-Advertising-API-Scope") or ""
                mkt = next((m for m, p in ADS_PROFILES.items() if p == scope), None)
                if mkt is None:
                    self._send(403, {"code": "403", "details": f"Profile {scope} not found for this advertiser"})
                    return None
                return None if self._throttled() else mkt

            def _ads_create(self, body: bytes, query: Any) -> None:
                mkt = self._ads_ok()
                if mkt is None:
                    return
                req = json.loads(body or b"{}")
                conf = req.get("configuration") or {}
                rtype = conf.get("reportTypeId")
                spec = REPORT_TYPES[rtype].ads if rtype in REPORT_TYPES else None
                if spec is None:
                    return self._send(400, {"code": "400", "detail": "configuration reportTypeId is unknown or invalid"})
                refused = _ads_config_problem(spec, conf)
                if refused:
                    return self._send(400, {"code": "400", "detail": refused})
                retention = server.today - dt.timedelta(days=spec.retention_days)
                start, end = _date(req.get("startDate"), server.today), _date(req.get("endDate"), server.today)
                if (end - start).days + 1 > ADS_MAX_REPORT_DAYS:
                    return self._send(400, {"code": "400", "detail": f"The date range ({start}..{end}) exceeds the "
                                            f"maximum of {ADS_MAX_REPORT_DAYS} days"})
                if start < retention:
                    return self._send(400, {"code": "400", "detail": f"startDate ({req.get('startDate')}) must be "
                                            "equal to or after report type data retention start date "
                                            f"({retention.isoformat()})"})
                key = f"{mkt}:{json.dumps(req, sort_keys=True)}"
                with server.lock:
                    server.created[(rtype, mkt)] += 1
                    if key in server.ads_by_body:
                        return self._send(425, {"code": "425", "detail": "The Request is a duplicate of : "
                                                                          f"{server.ads_by_body[key]}"})
                    rid = f"ads-{next(server.ids):04d}-0000-4000-8000-000000000000"
                    server.ads_by_body[key] = rid
                    server.ads_reports[rid] = {"reportId": rid, "reportType": rtype, "marketplace": mkt,
                                               "request": req, "polls": 0, "status": "PENDING",
                                               "start": _date(req.get("startDate"), server.today),
                                               "end": _date(req.get("endDate"), server.today)}
                self._send(200, {"reportId": rid, "status": "PENDING", "name": req.get("name")})

            def _ads_get(self, rid: str, body: bytes, query: Any) -> None:
                mkt = self._ads_ok()
                if mkt is None:
                    return
                report = server.ads_reports.get(rid)
                if report is None or report["marketplace"] != mkt:
                    return self._send(404, {"code": "404", "details": f"report {rid} not found"})
                with server.lock:
                    report["polls"] += 1
                    if report["status"] in ("PENDING", "PROCESSING"):
                        if report["polls"] > server.ads_polls_to_done:
                            if server.ads_failed(report):
                                report["status"] = "FAILED"
                                report["failureReason"] = "Report generation failed: internal error (TEST)"
                            else:
                                report["status"] = "COMPLETED"
                                report["url"] = f"{server.url}/ads-s3/{rid}.json.gz"
                        elif report["polls"] > 1:
                            report["status"] = "PROCESSING"
                out = {k: report.get(k) for k in ("reportId", "status", "url", "failureReason")}
                out["fileSize"] = 1000
                self._send(200, out)

            def _ads_s3(self, name: str, body: bytes, query: Any) -> None:
                server.calls["ads_s3"] += 1
                if self.headers.get("Authorization"):
                    return self._send(400, b"<Error><Code>InvalidArgument</Code></Error>", ctype="application/xml")
                report = server.ads_reports.get(name.split(".", 1)[0])
                if report is None or report["status"] != "COMPLETED":
                    return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
                content = server.documents(report["reportType"], report["marketplace"], report["start"], report["end"])
                data = content.encode("utf-8") if isinstance(content, str) else content
                wanted = (report["request"].get("configuration") or {}).get("columns")
                if wanted:     # the report holds the requested columns only
                    data = json.dumps([{k: v for k, v in r.items() if k in wanted} for r in json.loads(data)]).encode()
                self._send(200, gzip.compress(data), ctype="application/octet-stream")

        return Handler


def _ads_config_problem(spec: AdsSpec, conf: dict[str, Any]) -> str | None:
    """Amazon's 400 detail for a configuration its report type's page does not allow; None when it is valid."""
    if conf.get("format") != "GZIP_JSON":
        return f"configuration format {conf.get('format')} is not supported for this report type"    # guess
    if conf.get("adProduct") != spec.ad_product:
        return "configuration adProduct is not supported for this report type"
    group_by = list(conf.get("groupBy") or [])
    bad = [g for g in group_by if g not in spec.group_by]
    if bad or not group_by:
        return (f"configuration invalid groupBy values: ({', '.join(bad)}). Allowed values: "
                f"({', '.join(spec.group_by)})")
    columns = list(conf.get("columns") or [])
    bad = [c for c in columns if c not in spec.columns(group_by)]
    if bad:
        return f"configuration columns includes invalid values: ({', '.join(bad)})"
    if conf.get("timeUnit") == "DAILY" and {"startDate", "endDate"} & set(columns):
        return ("configuration startDate and endDate are not supported columns for DAILY time unit. Please use "
                "date instead.")
    return None


# ------------------------------------------------------------------------------------- test helpers

def make_config(srv: AmazonServer, data_dir: Any, env: dict[str, str] | None = None) -> Any:
    """A Config pointing every Amazon endpoint at ``srv``."""
    from sheets_sync.config import Config

    return Config(data_dir=data_dir, sp_api_endpoint=srv.url, ads_api_endpoint=srv.url,
                  lwa_token_url=f"{srv.url}/auth/o2/token", env=srv.env() if env is None else env)


@pytest.fixture
def fresh_tokens():
    """Clear the libraries' module-global token caches around a test (modules opt in with usefixtures)."""
    clear_token_caches()
    yield
    clear_token_caches()


def clear_token_caches() -> None:
    """python-amazon-sp-api and python-amazon-ad-api cache LWA tokens in module globals."""
    import sp_api.auth.access_token_client as sp_atc

    sp_atc.cache.clear()
    sp_atc.grantless_cache.clear()
    from sheets_sync.sources.ads import _ad_api

    _ad_api()
    import ad_api.auth.access_token_client as ad_atc

    ad_atc.cache.clear()


def utc_noon(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(19, 0), tzinfo=dt.UTC).timestamp()   # noon in US Pacific (PDT)
