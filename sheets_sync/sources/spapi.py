"""Selling Partner API source: the Reports API (2021-06-30) through python-amazon-sp-api.

For each marketplace (US, MX; NA endpoint) and report type: ``createReport`` → poll ``getReport`` with
backoff → ``getReportDocument`` (the library downloads and decompresses it). Every document is yielded
as a :class:`~sheets_sync.frames.RawReport` holding the bytes Amazon served (decompressed) and the
charset the download said, so :func:`sheets_sync.sources.parsing.parse_report` parses API documents and
downloaded files the same way.

* ``GET_SALES_AND_TRAFFIC_REPORT``: one report per marketplace per day, ``CHILD`` granularity, so the
  by-ASIN section is a daily per-ASIN figure.
* ``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL`` and ``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA``:
  one report per run of up to 30 days (marketplace-local midnight to midnight).
* ``GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA`` and ``GET_V2_SELLER_PERFORMANCE_REPORT``: snapshots ("now"),
  fetched on every sync, never cached.

Settled days (older than the last :data:`~sheets_sync.sources.amazon_common.PROVISIONAL_DAYS`) are cached
under ``<data_dir>/reports-cache/sp-api`` and never requested again. See ``docs/amazon-api.md``.

The library is configured explicitly: our own endpoint/marketplace object, endpoint and marketplace id set
again after construction (python-amazon-sp-api lets ``SP_API_DEFAULT_MARKETPLACE`` override the argument
and ``AWS_ENV`` choose the sandbox at import time), credentials only from the dict we pass
(no environment / config-file / AWS Secrets Manager providers), and the LWA token URL through
``auth_token_client_class``.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, FatalError, QuotaError, RetriableError
from ..frames import MARKETPLACES, RawReport
from . import datakiosk as dk
from .amazon_common import (
    DOWNLOAD_CONNECT_S,
    MAX_RETRIES,
    PROVISIONAL_DAYS,
    SP_API_RATES,
    Budget,
    CachedDocument,
    Clock,
    DocumentDownloadError,
    ReportApiSource,
    ReportCache,
    ReportJob,
    Sleep,
    account_key,
    days_between,
    decode_detect,
    download_document,
    local_bounds,
    marketplace_today,
    redact,
    retry_wait,
    runs,
    settled_before,
)
from .base import FetchRequest
from .datakiosk import DATASET
from .parsing.containers import load_json

SP_API_ENDPOINT = "https://sellingpartnerapi-na.amazon.com"
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
REGION = "us-east-1"

# Environment variables holding the SP-API credentials (read from Config.env, never from os.environ here).
ENV_LWA_APP_ID = "LWA_APP_ID"
ENV_LWA_CLIENT_SECRET = "LWA_CLIENT_SECRET"
ENV_REFRESH_TOKEN = "SP_API_REFRESH_TOKEN"
SP_API_ENV = (ENV_LWA_APP_ID, ENV_LWA_CLIENT_SECRET, ENV_REFRESH_TOKEN)

# Variables python-amazon-sp-api reads by itself; hidden from it while we import/construct clients.
_LIBRARY_ENV = ("SP_API_DEFAULT_MARKETPLACE", "AWS_ENV", "SP_API_REFRESH_TOKEN", "LWA_APP_ID",
                "LWA_CLIENT_SECRET", "SP_API_AWS_SECRET_ID")
_ENV_LOCK = threading.Lock()

TERMINAL = ("DONE", "CANCELLED", "FATAL")


@dataclass(frozen=True)
class SpReport:
    """One SP-API report type and how it is requested."""

    report_type: str
    kind: str                 # "daily" (one report per day), "range" (runs of days) or "snapshot" ("now")
    fmt: str                  # "json" or "tsv"
    max_days: int = 30
    options: Mapping[str, str] | None = None
    empty_header: str = ""    # the document Amazon would serve with no rows (used for a CANCELLED report)


SALES_AND_TRAFFIC = SpReport("GET_SALES_AND_TRAFFIC_REPORT", "daily", "json", 1,
                             {"dateGranularity": "DAY", "asinGranularity": "CHILD"})
ORDERS = SpReport(
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "range", "tsv", 30,
    empty_header="\t".join((
        "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
        "fulfillment-channel", "sales-channel", "order-channel", "url", "ship-service-level", "product-name",
        "sku", "asin", "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price",
        "shipping-tax", "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount",
        "ship-city", "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "is-business-order",
        "purchase-order-number", "price-designation")) + "\n")
INVENTORY = SpReport(
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "snapshot", "tsv",
    empty_header="\t".join((
        "sku", "fnsku", "asin", "product-name", "condition", "your-price", "mfn-listing-exists",
        "mfn-fulfillable-quantity", "afn-listing-exists", "afn-warehouse-quantity", "afn-fulfillable-quantity",
        "afn-unsellable-quantity", "afn-reserved-quantity", "afn-total-quantity", "per-unit-volume",
        "afn-inbound-working-quantity", "afn-inbound-shipped-quantity", "afn-inbound-receiving-quantity")) + "\n")
RETURNS = SpReport(
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "range", "tsv", 30,
    empty_header="\t".join((
        "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity", "fulfillment-center-id",
        "detailed-disposition", "reason", "status", "license-plate-number", "customer-comments")) + "\n")
SELLER_PERFORMANCE = SpReport("GET_V2_SELLER_PERFORMANCE_REPORT", "snapshot", "json")

SP_REPORTS: tuple[SpReport, ...] = (SALES_AND_TRAFFIC, ORDERS, INVENTORY, RETURNS, SELLER_PERFORMANCE)


@dataclass(frozen=True)
class SpApiCredentials:
    lwa_app_id: str
    lwa_client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SpApiCredentials:
        missing = [name for name in SP_API_ENV if not str(env.get(name) or "").strip()]
        if missing:
            raise ConfigError(
                f"SP-API credentials missing: set {', '.join(missing)} in the environment (see .env.example "
                "and docs/amazon-api.md)")
        return cls(lwa_app_id=env[ENV_LWA_APP_ID].strip(), lwa_client_secret=env[ENV_LWA_CLIENT_SECRET].strip(),
                   refresh_token=env[ENV_REFRESH_TOKEN].strip())

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.lwa_client_secret, self.refresh_token)


@dataclass(frozen=True)
class _Marketplace:
    """Duck-typed stand-in for ``sp_api.base.Marketplaces`` so no import-time environment leaks in."""

    endpoint: str
    marketplace_id: str
    region: str = REGION


@dataclass
class _Job(ReportJob):
    spec: SpReport | None = None

    @property
    def name(self) -> str:
        return f"sp-api:{self.spec.report_type}:{self.span}"


@dataclass
class _Bundle:
    """The Data Kiosk queries of one marketplace and run of days, and what they brought back so far."""

    collected: dk.Collected
    provisional: frozenset[dt.date]
    settled_end: dt.date                 # days before it may be cached
    pending: int = 0
    failed: bool = False
    optional: bool = False               # for comparisons: refused → left for a later sync, no Reports fallback
    asins: list[str] = field(default_factory=list)

    @property
    def span(self) -> str:
        c = self.collected
        return f"{c.marketplace}:{c.start.isoformat()}..{c.end.isoformat()}"


@dataclass
class _DkJob(ReportJob):
    """One Data Kiosk query (its ``report_id`` is the queryId)."""

    kind: str = "byDate"                 # byDate | asins | trends
    query: str = ""
    token: str | None = None
    bundle: _Bundle | None = None

    @property
    def name(self) -> str:
        return f"data-kiosk:{self.kind}:{self.span}"


class _DataKioskRefused(Exception):
    """Data Kiosk said no to this app (403: the Brand Analytics role): the Reports API takes over."""


class _QueryRejected(Exception):
    """Amazon rejected a query as invalid (400): our query and Amazon's schema disagree — a bug to report,
    not something the slow Reports API should quietly make up for."""


class _Deferred(Exception):
    """Amazon refused a new query while some of ours are open (Data Kiosk's limit on non-terminal queries):
    the query waits until one of ours finishes."""


@contextlib.contextmanager
def library_env_hidden(names: tuple[str, ...]) -> Iterator[None]:
    """Hide environment variables a client library would read by itself, for the duration of the block."""
    with _ENV_LOCK:
        saved = {n: os.environ.pop(n) for n in names if n in os.environ}
        try:
            yield
        finally:
            os.environ.update(saved)


def _lwa_client_class(token_url: str) -> type:
    with library_env_hidden(_LIBRARY_ENV):
        from sp_api.auth import AccessTokenClient
    parts = urlsplit(token_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"amazon.lwa_token_url: {token_url!r} is not an http(s) URL")
    return type("SheetsSyncLwaClient", (AccessTokenClient,),
                {"scheme": f"{parts.scheme}://", "host": parts.netloc, "path": parts.path or "/auth/o2/token"})


class SpApiSource(ReportApiSource):
    """Reports API source for the US and MX marketplaces (NA endpoint)."""

    name = "sp-api"
    label = "SP-API"

    def __init__(self, credentials: SpApiCredentials, cache_dir: Path | None, *,
                 endpoint: str | None = None, lwa_token_url: str | None = None,
                 reports: tuple[SpReport, ...] = SP_REPORTS,
                 clock: Clock = time.time, sleep: Sleep = time.sleep,
                 poll_interval: float = 15.0, max_poll_interval: float = 120.0, max_wait_s: float = 4 * 3600.0,
                 provisional_days: int = PROVISIONAL_DAYS, timeout: float = 60.0,
                 data_kiosk: bool = True, budget: Budget | None = None,
                 stage_progress: Callable[[str, int, int], None] | None = None,
                 max_open_queries: int = dk.MAX_OPEN_QUERIES):
        super().__init__()
        self.credentials = credentials
        self.data_kiosk = data_kiosk and SALES_AND_TRAFFIC in reports
        self.budget = budget
        if stage_progress is not None:
            self.stage_progress = stage_progress
        self.create_query_calls = 0
        self.max_open_queries = max_open_queries
        self._dk_state()
        self.endpoint = (endpoint or SP_API_ENDPOINT).rstrip("/")
        self.lwa_token_url = lwa_token_url or LWA_TOKEN_URL
        self.reports = reports
        self.clock, self.sleep = clock, sleep
        self.poll_interval, self.max_poll_interval, self.max_wait_s = poll_interval, max_poll_interval, max_wait_s
        self.provisional_days = provisional_days
        self.timeout = timeout
        self.cache = (ReportCache(cache_dir, "sp-api", account_key(credentials.refresh_token))
                      if cache_dir is not None else None)
        self.create_report_calls = 0
        self._clients: dict[str, Any] = {}
        self._http_client: Any = None
        self._lwa_class = _lwa_client_class(self.lwa_token_url)

    def _dk_state(self) -> None:
        """Data Kiosk bookkeeping of one collect."""
        self._dk_refused: str | None = None            # 403: every bundle falls back
        self._dk_rejected: dict[str, str] = {}           # query kind → why Amazon rejected it (400)
        self._dk_open = 0                                # our queries IN_QUEUE / IN_PROGRESS at Amazon
        self._dk_limit = self.max_open_queries           # lowered when Amazon refuses one more
        self._dk_waiting: list[_DkJob] = []              # queries waiting for one of ours to finish

    # ------------------------------------------------------------------------------------ clients

    def _client(self, marketplace: str, api: str = "reports") -> Any:
        key = marketplace if api == "reports" else f"{marketplace}:{api}"
        if key not in self._clients:
            mp = _Marketplace(self.endpoint, MARKETPLACES[marketplace]["marketplace_id"])
            with library_env_hidden(_LIBRARY_ENV):
                from sp_api.api import DataKiosk, Reports
                from sp_api.base.credential_provider import FromCodeCredentialProvider
                client = (Reports if api == "reports" else DataKiosk)(
                    marketplace=mp,
                    credentials={"lwa_app_id": self.credentials.lwa_app_id,
                                 "lwa_client_secret": self.credentials.lwa_client_secret,
                                 "refresh_token": self.credentials.refresh_token},
                    credential_providers=(FromCodeCredentialProvider,),
                    auth_token_client_class=self._lwa_class,
                    timeout=self.timeout,
                    # a plain-http endpoint (a local server) has no TLS to verify; skipping the CA bundle saves
                    # ~0.2 s per httpx client, and the library builds one per document download
                    verify=not self.endpoint.startswith("http://"))
            # set again: SP_API_DEFAULT_MARKETPLACE in the environment overrides the argument in Client.__init__
            client.endpoint, client.marketplace_id, client.region = mp.endpoint, mp.marketplace_id, mp.region
            self._clients[key] = client
        return self._clients[key]

    def _http(self) -> Any:
        """The client for presigned document downloads: real timeouts (connect, then ``timeout`` between bytes)."""
        if self._http_client is None:
            import httpx

            self._http_client = httpx.Client(timeout=httpx.Timeout(self.timeout, connect=DOWNLOAD_CONNECT_S),
                                             verify=not self.endpoint.startswith("http://"))
        return self._http_client

    def close(self) -> None:
        """Close the HTTP connections (API, token and download clients); they are re-created on the next
        collect, which starts with fresh Data Kiosk bookkeeping."""
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                client.close()
            with contextlib.suppress(Exception):
                client._auth._transport.close()
        self._clients.clear()
        if self._http_client is not None:
            self._http_client.close()
            self._http_client = None
        self._dk_state()

    # ------------------------------------------------------------------------------- API call policy

    def _call(self, what: str, fn: Callable[[], Any], progress: Callable[[str], None], op: str | None = None,
              refusable: bool = False, deferrable: bool = False) -> Any:
        """Run one SP-API operation: paced by the budget, throttling and 5xx retried with bounded backoff (a 429
        waits one request's worth of the operation's published rate: Amazon sends no rate header with it), auth
        errors made fatal. ``refusable`` (createQuery): a 403 raises :class:`_DataKioskRefused`, a 400
        :class:`_QueryRejected`; ``deferrable``: a 429 raises :class:`_Deferred` instead of waiting."""
        import httpx
        from sp_api.auth.exceptions import AuthorizationError
        from sp_api.base.exceptions import (
            SellingApiException,
            SellingApiForbiddenException,
            SellingApiGatewayTimeoutException,
            SellingApiRequestThrottledException,
            SellingApiServerException,
            SellingApiTemporarilyUnavailableException,
        )

        for attempt in range(MAX_RETRIES + 1):
            if op:
                self._pace(op, progress)
            self.api_calls += 1
            try:
                return fn()
            except AuthorizationError as exc:
                if getattr(exc, "status_code", None) != 429:
                    raise FatalError(self._lwa_message(exc)) from None
                wait = retry_wait(None, attempt)
                if attempt == MAX_RETRIES:
                    raise QuotaError(f"{what}: Login with Amazon throttled the token request; gave up after "
                                     f"{MAX_RETRIES} retries — run the sync again later", retry_after=wait) from None
                progress(f"{what}: Login with Amazon throttled the token request; waiting {wait:.0f} s")
                self.sleep(wait)
            except SellingApiRequestThrottledException as exc:
                if deferrable:
                    raise _Deferred() from None
                wait = retry_wait(exc.headers, attempt, rate=SP_API_RATES.get(op or "", (0.0,))[0])
                reason = f"{what}: throttled by Amazon (HTTP 429 {_code(exc)})"
                if attempt == MAX_RETRIES:
                    raise QuotaError(f"{reason}; gave up after {MAX_RETRIES} retries — run the sync again later",
                                     retry_after=wait) from None
                progress(f"{reason}; waiting {wait:.0f} s{_rate_note(exc.headers)}")
                self.sleep(wait)
            except (SellingApiServerException, SellingApiTemporarilyUnavailableException,
                    SellingApiGatewayTimeoutException, httpx.TransportError, DocumentDownloadError) as exc:
                wait = retry_wait(getattr(exc, "headers", None), attempt)
                reason = f"{what}: Amazon is unavailable ({_describe(exc)})"
                if attempt == MAX_RETRIES:
                    raise RetriableError(f"{reason}; gave up after {MAX_RETRIES} retries", retry_after=wait) from None
                progress(f"{reason}; retrying in {wait:.0f} s")
                self.sleep(wait)
            except SellingApiForbiddenException as exc:
                if refusable:
                    raise _DataKioskRefused(self._scrub(
                        f"Amazon refused Data Kiosk (HTTP 403 {_code(exc)}: {getattr(exc, 'message', '')}); the app "
                        "needs the Brand Analytics role")) from None
                raise FatalError(self._scrub(
                    f"{what}: Amazon refused access (HTTP 403 {_code(exc)}: {getattr(exc, 'message', '')}). "
                    f"Check that {ENV_REFRESH_TOKEN} belongs to a seller who authorised this app ({ENV_LWA_APP_ID}) "
                    "with the Reports role, for this marketplace")) from None
            except SellingApiException as exc:
                if _code(exc) == "QuotaExceeded" and attempt < MAX_RETRIES:
                    wait = retry_wait(exc.headers, attempt, rate=SP_API_RATES.get(op or "", (0.0,))[0])
                    progress(f"{what}: QuotaExceeded; waiting {wait:.0f} s")
                    self.sleep(wait)
                    continue
                if refusable and exc.code == 400:
                    raise _QueryRejected(self._scrub(
                        f"Amazon rejected the query as invalid (HTTP 400 {_code(exc)}: {getattr(exc, 'message', '')})"
                    )) from None
                raise FatalError(self._scrub(
                    f"{what}: Amazon answered HTTP {exc.code} {_code(exc)}: {getattr(exc, 'message', '')}")) from None
        raise AssertionError("unreachable")

    def _lwa_message(self, exc: Any) -> str:
        code = str(getattr(exc, "error_code", "") or "")
        variables = {"invalid_grant": (ENV_REFRESH_TOKEN,), "invalid_client": (ENV_LWA_APP_ID, ENV_LWA_CLIENT_SECRET),
                     "unauthorized_client": (ENV_LWA_APP_ID, ENV_REFRESH_TOKEN)}.get(code, SP_API_ENV)
        return self._scrub(
            f"Amazon Login with Amazon rejected the SP-API credentials (HTTP {getattr(exc, 'status_code', '?')} "
            f"{code or 'error'}: {getattr(exc, 'message', '') or 'no description'}); check {', '.join(variables)}")

    def _scrub(self, text: str) -> str:
        return redact(text, self.credentials.secrets)

    # -------------------------------------------------------------------------------------- plan

    def _plan(self, request: FetchRequest, marketplace: str, snapshots: bool = True
              ) -> tuple[list[RawReport], list[_Job]]:
        today = marketplace_today(marketplace, self.clock)
        first_provisional = settled_before(today, self.provisional_days)
        end = min(request.end, today - dt.timedelta(days=1))
        start = request.start
        cached: list[RawReport] = []
        jobs: list[_Job] = []
        for spec in self.reports:
            if spec is SALES_AND_TRAFFIC and self.data_kiosk and start <= end:
                c, j = self._plan_data_kiosk(marketplace, start, end, today, first_provisional)
                cached += c
                jobs += j  # type: ignore[arg-type]   # Data Kiosk jobs poll through the same loop
                continue
            if spec.kind == "snapshot":
                if not snapshots:
                    continue
                jobs.append(_Job(marketplace, today, today, frozenset(), cacheable=False, spec=spec))
                continue
            if start > end:
                continue
            wanted = days_between(start, end)
            have: set[dt.date] = set()
            if self.cache is not None:
                docs, have = self.cache.covered(marketplace, spec.report_type, first_provisional, today)
                for doc in docs:
                    if doc.end >= start and doc.start <= end:
                        cached.append(_raw_from_cache(doc))
            settled = [d for d in wanted if d < first_provisional and d not in have]
            recent = [d for d in wanted if d >= first_provisional]
            for a, b in runs(settled, spec.max_days):
                jobs.append(_Job(marketplace, a, b, frozenset(), cacheable=True, spec=spec))
            for a, b in runs(recent, spec.max_days):
                jobs.append(_Job(marketplace, a, b, frozenset(days_between(a, b)), cacheable=False, spec=spec))
        return cached, jobs

    def _plan_data_kiosk(self, marketplace: str, start: dt.date, end: dt.date, today: dt.date,
                         first_provisional: dt.date) -> tuple[list[RawReport], list[_DkJob]]:
        """Daily sales and traffic through Data Kiosk: settled days from the cache (the same daily documents
        either path stores), the rest in runs of up to ``MAX_QUERY_DAYS`` days, two queries each to start
        (by date; which ASINs), the trends queries once the ASINs are known."""
        cached: list[RawReport] = []
        have: set[dt.date] = set()
        if self.cache is not None:
            docs, have = self.cache.covered(marketplace, SALES_AND_TRAFFIC.report_type, first_provisional, today)
            cached = [_raw_from_cache(doc) for doc in docs if doc.end >= start and doc.start <= end]
        missing = [d for d in days_between(start, end) if d >= first_provisional or d not in have]
        jobs: list[_DkJob] = []
        for a, b in runs(missing, dk.MAX_QUERY_DAYS):
            bundle = _Bundle(dk.Collected(marketplace, a, b),
                             frozenset(d for d in days_between(a, b) if d >= first_provisional), first_provisional)
            for kind, query in (("byDate", dk.by_date_query(marketplace, a, b, today)),
                                ("asins", dk.asins_query(marketplace, a, b, today))):
                jobs.append(_DkJob(marketplace, a, b, bundle.provisional, False, kind=kind, query=query,
                                   bundle=bundle))
                bundle.pending += 1
        return cached, jobs

    def _comparison_jobs(self, request: FetchRequest, created: list) -> tuple[list[RawReport], list]:
        """Last period's dated reports (Sales and Traffic, orders, returns; no snapshots), each family only when
        its requests fit in what the budget has left after this period's: nothing here waits on Amazon's
        rate limits. What does not fit is named in ``pending`` (a later sync, with this period cached, has room)."""
        a, b = request.comparison
        sub = FetchRequest(a, b, request.marketplaces)
        cached: list[RawReport] = []
        by_family: dict[str, list] = {}
        for marketplace in request.marketplaces:
            c, jobs = self._plan(sub, marketplace, snapshots=False)
            cached += c
            for job in jobs:
                if isinstance(job, _DkJob):
                    job.bundle.optional = True
                    by_family.setdefault("Sales and Traffic", []).append(job)
                else:
                    family = "Sales and Traffic" if job.spec is SALES_AND_TRAFFIC else job.spec.report_type
                    by_family.setdefault(family, []).append(job)
        # what this period still needs: one document per report, ~1 more query (trends) per Data Kiosk run
        need_docs = {"getReportDocument": sum(1 for j in created if not isinstance(j, _DkJob)),
                     "getDocument": sum(1 for j in created if isinstance(j, _DkJob)) * 3 // 2}
        later: list = []
        for family, jobs in by_family.items():
            dk_jobs = [j for j in jobs if isinstance(j, _DkJob)]
            ops = ({"createQuery": len(dk_jobs) * 3 // 2, "getDocument": len(dk_jobs) * 3 // 2} if dk_jobs
                   else {"createReport": len(jobs), "getReportDocument": len(jobs)})
            if all(self._room(op) - need_docs.get(op, 0) >= n for op, n in ops.items()):
                later += jobs
                for op, n in ops.items():
                    need_docs[op] = need_docs.get(op, 0) + n
            else:
                self.pending.append(f"{family} {a.isoformat()}..{b.isoformat()} (last period, for comparisons): "
                                    f"{len(jobs)} request(s) would wait on Amazon's rate limits — a later sync "
                                    "fetches them")
        return cached, later

    def _room(self, operation: str) -> float:
        available = getattr(self.budget, "available", None)
        return available(operation) if callable(available) else float("inf")

    # ------------------------------------------------------------------------------- Data Kiosk

    def _dk_fallback(self, bundle: _Bundle, reason: str, progress: Callable[[str], None] | None = None,
                     fallback: bool = True) -> None:
        """Fetch the bundle's days with the Reports API (one report per day) and say so in the Sync Log (or
        only in ``progress`` when it is a choice, not a failure). ``fallback=False`` (Amazon rejected our query):
        no fallback hides the mismatch — the Sync Log says the days were not fetched and why."""
        if bundle.failed:
            return
        bundle.failed = True
        if progress is not None and not bundle.optional:
            progress(f"data-kiosk {bundle.span}: {reason}; daily Reports API reports instead")
            return self._spawn_daily_reports(bundle)
        if bundle.optional:
            self.pending.append(self._scrub(
                f"Sales and Traffic {bundle.span} (last period, for comparisons) not fetched: {reason}"
                + ("; a daily Reports API fallback would wait on Amazon's rate limits — a later sync fetches it"
                   if fallback else "")))
            return
        if not fallback:
            self.problems.append(self._scrub(
                f"data-kiosk:{DATASET}:{bundle.span}: {reason}. The query and Amazon's {DATASET} schema disagree: "
                "sheets-sync needs an update (please report this line); Sales and Traffic for these days was not "
                "fetched"))
            return
        self.problems.append(self._scrub(
            f"data-kiosk:{DATASET}:{bundle.span}: {reason}; Sales and Traffic for these days is fetched with the "
            "Reports API instead (one report per day: a slower first sync)"))
        self._spawn_daily_reports(bundle)

    def _spawn_daily_reports(self, bundle: _Bundle) -> None:
        c = bundle.collected
        for d in days_between(c.start, c.end):
            self._spawn(_Job(c.marketplace, d, d, frozenset({d}) & bundle.provisional,
                             cacheable=d < bundle.settled_end, spec=SALES_AND_TRAFFIC))

    def _dk_create(self, job: _DkJob, progress: Callable[[str], None]) -> None:
        """Send one query — or keep it waiting while ``_dk_limit`` of ours are open: Data Kiosk limits the
        non-terminal queries of a seller and keeps no backlog. A 429 while some of ours are open is that limit
        (its number is not published): the query waits, and the limit becomes what Amazon held."""
        bundle = job.bundle
        if bundle.failed:
            return
        if self._dk_refused:
            return self._dk_fallback(bundle, self._dk_refused)
        if job.kind in self._dk_rejected:
            return self._dk_fallback(bundle, self._dk_rejected[job.kind], fallback=False)
        if self._dk_open >= self._dk_limit:
            job.status = "WAITING"
            self._dk_waiting.append(job)
            return
        client = self._client(job.marketplace, "datakiosk")
        self.create_query_calls += 1
        try:
            res = self._call(f"{job.name} createQuery", lambda: client.create_query(job.query, job.token), progress,
                             op="createQuery", refusable=True, deferrable=self._dk_open > 0)
        except _DataKioskRefused as exc:
            self._dk_refused = str(exc)
            return self._dk_fallback(bundle, str(exc))
        except _QueryRejected as exc:
            self._dk_rejected[job.kind] = f"the {job.kind} query: {exc}"
            return self._dk_fallback(bundle, self._dk_rejected[job.kind], fallback=False)
        except _Deferred:
            self._dk_limit = self._dk_open
            progress(f"data-kiosk: Amazon keeps {self._dk_open} of our queries open and takes no more; the others "
                     "wait their turn")
            job.status = "WAITING"
            self._dk_waiting.append(job)
            return
        job.report_id = str((res.payload or {}).get("queryId") or "")
        if job.report_id:
            self._dk_open += 1
        else:
            self._dk_fallback(bundle, "Amazon accepted createQuery but returned no queryId")

    def _unsent(self) -> list:
        return list(self._dk_waiting)

    def _dk_release(self) -> None:
        """One of ours finished: the waiting queries go to the poll loop, which sends those the limit allows
        (the rest wait again, in order)."""
        self._dk_open -= 1
        for job in self._dk_waiting:
            self._spawn(job)
        self._dk_waiting = []

    def _dk_download(self, job: _DkJob, document_id: str, progress: Callable[[str], None]) -> bytes:
        """A Data Kiosk document: ``getDocument`` for its presigned URL, then the download (gzip'd documents
        say so in ``Content-Encoding``); both again when the URL expired or the transfer broke."""
        client = self._client(job.marketplace, "datakiosk")

        def fetch() -> bytes:
            meta = client.get_document(document_id).payload or {}
            return download_document(self._http(), str(meta.get("documentUrl") or ""))[0]
        return self._call(f"{job.name} getDocument", fetch, progress, op="getDocument")

    def _dk_check(self, job: _DkJob, progress: Callable[[str], None]) -> list[RawReport] | None:
        bundle = job.bundle
        client = self._client(job.marketplace, "datakiosk")
        qid = job.report_id
        res = self._call(f"{job.name} getQuery", lambda: client.get_query(qid), progress, op="getQuery")
        st = res.payload or {}
        job.status = str(st.get("processingStatus") or "UNKNOWN")
        if job.status in ("IN_QUEUE", "IN_PROGRESS"):
            return None
        self._dk_release()
        if bundle.failed:             # polled to the end all the same: Amazon counts it open until then
            return []
        if job.status != "DONE":
            detail = "Amazon gave no error document"
            if st.get("errorDocumentId"):
                try:
                    detail = dk.error_text(self._dk_download(job, str(st["errorDocumentId"]), progress))
                except (FatalError, RetriableError) as exc:
                    detail = f"the error document could not be read ({exc})"
            self._dk_fallback(bundle, f"Amazon could not run the query ({job.status}): {detail}")
            return []
        records: list[dict[str, Any]] = []
        if st.get("dataDocumentId"):        # DONE without a document: no data for the range (not zero)
            try:
                records = dk.parse_jsonl(self._dk_download(job, str(st["dataDocumentId"]), progress))
            except dk.DocumentError as exc:
                self._dk_fallback(bundle, f"the {job.kind} document could not be read ({exc})")
                return []
        c = bundle.collected
        if job.kind == "byDate":
            c.by_date.extend(records)
        elif job.kind == "trends":
            c.by_asin.extend(records)
        else:
            bundle.asins.extend(a for a in dk.asins_of(records) if a not in bundle.asins)
        # the library lifts "pagination" out of the payload
        token = getattr(res, "next_token", None) or (st.get("pagination") or {}).get("nextToken")
        if token:                            # the next page is another createQuery with the token
            bundle.pending += 1
            self._spawn(_DkJob(job.marketplace, job.start, job.end, job.provisional, False, kind=job.kind,
                               query=str(st.get("query") or job.query), token=str(token), bundle=bundle))
        elif job.kind == "asins":
            today = marketplace_today(job.marketplace, self.clock)
            days = (c.end - c.start).days + 1
            if len(dk.chunks(bundle.asins)) > days:      # a large catalogue: daily reports cost fewer requests
                self._dk_fallback(bundle, f"{len(bundle.asins)} ASINs would take {len(dk.chunks(bundle.asins))} "
                                          f"trends queries, more than {days} daily reports", progress)
                return []
            for names in dk.chunks(bundle.asins):
                bundle.pending += 1
                self._spawn(_DkJob(job.marketplace, job.start, job.end, job.provisional, False, kind="trends",
                                   query=dk.trends_query(job.marketplace, c.start, c.end, names, today),
                                   bundle=bundle))
        bundle.pending -= 1
        return self._dk_finish(bundle, progress) if bundle.pending == 0 else []

    def _dk_finish(self, bundle: _Bundle, progress: Callable[[str], None]) -> list[RawReport]:
        c = bundle.collected
        fetched = self.clock()
        out: list[RawReport] = []
        empty_days = []
        for doc in dk.daily_documents(c):
            name = f"sp-api:data-kiosk:{c.marketplace}:{doc.day}..{doc.day}"
            if doc.empty:
                empty_days.append(doc.day)
            if self.cache is not None and doc.day < bundle.settled_end:
                self.cache.put(CachedDocument(SALES_AND_TRAFFIC.report_type, c.marketplace, doc.day, doc.day,
                                              doc.data, "utf-8", fetched, doc.empty, name), "json")
            provisional = frozenset({doc.day}) if (doc.empty or doc.day in bundle.provisional) else frozenset()
            out.append(RawReport(name=name, data=doc.data, marketplace_hint=c.marketplace, fetched_at=fetched,
                                 charset="utf-8", provisional_days=provisional))
        if empty_days:
            progress(f"data-kiosk {bundle.span}: Amazon has no data yet for {len(empty_days)} day(s) — marked not "
                     "ready")
        return out

    # ------------------------------------------------------------------------------------ collect

    def _create(self, job: _Job, progress: Callable[[str], None]) -> None:
        if isinstance(job, _DkJob):
            return self._dk_create(job, progress)
        client = self._client(job.marketplace)
        body: dict[str, Any] = {"reportType": job.spec.report_type,
                                "marketplaceIds": [MARKETPLACES[job.marketplace]["marketplace_id"]]}
        if job.spec.kind == "daily":
            body["dataStartTime"], body["dataEndTime"] = job.start.isoformat(), job.end.isoformat()
        elif job.spec.kind == "range":
            body["dataStartTime"], body["dataEndTime"] = local_bounds(job.marketplace, job.start, job.end)
        if job.spec.options:
            body["reportOptions"] = dict(job.spec.options)
        self.create_report_calls += 1
        res = self._call(f"{job.name} createReport", lambda: client.create_report(**body), progress,
                         op="createReport")
        job.report_id = str(res.payload.get("reportId") or "")
        if not job.report_id:
            self.problems.append(f"{job.name}: Amazon accepted createReport but returned no reportId")

    def _check(self, job: _Job, progress: Callable[[str], None]) -> list[RawReport] | None:
        if isinstance(job, _DkJob):
            return self._dk_check(job, progress)
        client = self._client(job.marketplace)
        rid = job.report_id
        st = self._call(f"{job.name} getReport", lambda: client.get_report(rid), progress, op="getReport").payload
        job.status = str(st.get("processingStatus") or "UNKNOWN")
        if job.status == "DONE":
            return list(self._done(job, str(st.get("reportDocumentId") or ""), progress))
        if job.status == "CANCELLED":
            return list(self._cancelled(job))
        if job.status == "FATAL":
            self._fatal(job, st.get("reportDocumentId"), progress)
            return []
        return None

    def _download(self, job: _Job, document_id: str, progress: Callable[[str], None],
                  json_doc: bool) -> tuple[bytes, str | None]:
        """A report document: ``getReportDocument`` for its presigned URL (and whether Amazon gzip'd it), then
        the download; both again when the URL expired or the transfer broke. JSON is UTF-8; a flat file has
        the charset its download named, else UTF-8 when it decodes strictly, else cp1252."""
        client = self._client(job.marketplace)

        def fetch() -> tuple[bytes, str | None]:
            meta = client.get_report_document(document_id).payload or {}
            return download_document(self._http(), str(meta.get("url") or ""),
                                     gunzip=meta.get("compressionAlgorithm") == "GZIP")
        data, said = self._call(f"{job.name} getReportDocument", fetch, progress, op="getReportDocument")
        return data, _charset("utf-8" if json_doc else (said or ""), data)

    def _done(self, job: _Job, document_id: str, progress: Callable[[str], None]) -> Iterator[RawReport]:
        data, charset = self._download(job, document_id, progress, job.spec.fmt == "json")
        fetched = self.clock()
        empty = _is_empty(job.spec, data, charset)
        provisional = frozenset(days_between(job.start, job.end)) if (empty and job.spec.kind != "snapshot") \
            else job.provisional
        if empty and job.spec.kind != "snapshot":
            progress(f"{job.name}: Amazon has no data yet for {job.start}..{job.end} — marked not ready")
        if job.cacheable and self.cache is not None:
            self.cache.put(CachedDocument(job.spec.report_type, job.marketplace, job.start, job.end, data, charset,
                                          fetched, empty, job.name), job.spec.fmt)
        yield RawReport(name=job.name, data=data, marketplace_hint=job.marketplace, fetched_at=fetched,
                        charset=charset, provisional_days=provisional)

    def _cancelled(self, job: _Job) -> Iterator[RawReport]:
        """CANCELLED = "no data for the range": an empty document whose days are *not ready*, never zero.

        Exception: the account-health snapshot always has data, so a CANCELLED one is reported as a problem."""
        if job.spec is SELLER_PERFORMANCE or job.spec.report_type == SELLER_PERFORMANCE.report_type:
            self.problems.append(f"{job.name}: Amazon cancelled the account-health report (it always has data); "
                                 "account health not updated — run the sync again later")
            return
        if job.spec.fmt == "json":
            mid = MARKETPLACES[job.marketplace]["marketplace_id"]
            data = json.dumps({"reportSpecification": {
                "reportType": job.spec.report_type, "reportOptions": dict(job.spec.options or {}),
                "dataStartTime": job.start.isoformat(), "dataEndTime": job.end.isoformat(), "marketplaceIds": [mid]},
                "salesAndTrafficByDate": [], "salesAndTrafficByAsin": []}).encode("utf-8")
        else:
            data = job.spec.empty_header.encode("utf-8")
        provisional = frozenset() if job.spec.kind == "snapshot" else frozenset(days_between(job.start, job.end))
        fetched = self.clock()
        if job.cacheable and self.cache is not None:
            self.cache.put(CachedDocument(job.spec.report_type, job.marketplace, job.start, job.end, data, "utf-8",
                                          fetched, True, job.name), job.spec.fmt)
        yield RawReport(name=job.name, data=data, marketplace_hint=job.marketplace, fetched_at=fetched,
                        charset="utf-8", provisional_days=provisional)

    def _fatal(self, job: _Job, document_id: Any, progress: Callable[[str], None]) -> None:
        detail = "Amazon gave no error document"
        if document_id:
            try:
                data, charset = self._download(job, str(document_id), progress, json_doc=True)
                detail = _error_text(data, charset)
            except (FatalError, RetriableError) as exc:
                detail = f"the error document could not be read ({exc})"
        self.problems.append(self._scrub(f"{job.name}: Amazon could not generate the report (FATAL): {detail}"))


# ------------------------------------------------------------------------------------------ helpers

def _raw_from_cache(doc: CachedDocument) -> RawReport:
    return RawReport(name=doc.name, data=doc.data, marketplace_hint=doc.marketplace, fetched_at=doc.fetched_at,
                     charset=doc.charset, provisional_days=frozenset(doc.days) if doc.empty else frozenset())


def _charset(used: str, data: bytes) -> str | None:
    """The document's charset: what the download said, normalised; when it said nothing (the library then
    falls back to iso-8859-1) or could not decode, UTF-8 if it decodes strictly, else cp1252."""
    if used:
        try:
            name = codecs.lookup(used).name
        except LookupError:
            name = ""
        if name and name not in ("latin-1", "iso8859-1"):
            return name
    return decode_detect(data)


def _is_empty(spec: SpReport, data: bytes, charset: str | None) -> bool:
    text = data.decode(charset or "utf-8", errors="replace").lstrip("\ufeff").strip()
    if not text:
        return True
    if spec.fmt == "tsv":
        return len([ln for ln in text.splitlines() if ln.strip()]) <= 1
    if spec.report_type == SALES_AND_TRAFFIC.report_type:
        try:
            doc = load_json(text)
        except ValueError:
            return False      # damaged: let the parser say so
        return isinstance(doc, dict) and not doc.get("salesAndTrafficByDate") and not doc.get("salesAndTrafficByAsin")
    return False


def _error_text(data: bytes, charset: str | None, limit: int = 600) -> str:
    text = data.decode(charset or "utf-8", errors="replace").strip()
    try:
        doc = json.loads(text)
        if isinstance(doc, dict):
            text = str(doc.get("errorDetails") or doc.get("errors") or doc)
    except ValueError:
        pass
    return (text[:limit] + "…") if len(text) > limit else (text or "empty error document")


def _code(exc: Any) -> str:
    return str(getattr(exc, "amzn_code", "") or "")


def _describe(exc: Any) -> str:
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code != 999:
        return f"HTTP {code} {_code(exc)}".strip()
    return type(exc).__name__


def _rate_note(headers: Any) -> str:
    try:
        limit = headers.get("x-amzn-RateLimit-Limit") if headers is not None else None
    except AttributeError:
        limit = None
    return f" (Amazon allows {limit} requests/s for this operation)" if limit else ""
