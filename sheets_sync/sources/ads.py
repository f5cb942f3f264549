"""Amazon Ads API source: v3 reports through python-amazon-ad-api — Sponsored Products ``spAdvertisedProduct``
(per ASIN, each row naming its campaign, ad group and portfolio) and the ad-group reports of Sponsored Brands
(``sbAdGroup``) and Sponsored Display (``sdAdGroup``), whose rows name their campaign too (:data:`REPORTS`).

One advertising profile per marketplace (``ADS_PROFILE_ID_US`` / ``ADS_PROFILE_ID_MX``), DAILY rows,
``GZIP_JSON``; one report per type and run of up to 31 days. The gzip document is yielded exactly as served
(:class:`~sheets_sync.frames.RawReport`; the parser accepts gzip), charset UTF-8.

Amazon's reporting pages (advertising.amazon.com/API/docs/en-us/guides/reporting/v3/report-types/…) give each
type its ``groupBy``, columns and data retention: ``spAdvertisedProduct`` groupBy ``advertiser``, 95 days;
``sbAdGroup`` groupBy ``adGroup``, 60 days; ``sdAdGroup`` groupBy ``adGroup``, 65 days. Brands and Display have
no Sponsored Products campaign report to stand in for them; Sponsored Products' campaigns are already in the
advertised-product rows, so ``spCampaigns`` is not requested (the parser reads it when a team saves one).

Ad-attributed sales keep arriving for the attribution window (7/14 days), so Ads days are cached only
once they are older than :data:`ADS_RESTATEMENT_DAYS`; the last 3 days are marked provisional like the
SP-API ones. A 425 "duplicate request" answer reuses the report Amazon names.

The library is configured explicitly: credentials from the dict we pass (its ``AD_API_*`` environment
variables are hidden while a client is built and the credentials set again afterwards), endpoint set
after construction, and the LWA token URL through our own ``AccessTokenClient`` subclass.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import logging
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, FatalError, Problem, QuotaError, RetriableError
from ..frames import RawReport
from ..localize import say
from .amazon_common import (
    MAX_RETRIES,
    PROVISIONAL_DAYS,
    CachedDocument,
    Clock,
    ReportApiSource,
    ReportCache,
    ReportJob,
    Sleep,
    account_key,
    days_between,
    duplicate_report_id,
    marketplace_today,
    redact,
    retry_wait,
    runs,
    settled_before,
)
from .base import FetchRequest
from .parsing.containers import load_json
from .spapi import library_env_hidden

ADS_API_ENDPOINT = "https://advertising-api.amazon.com"
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
ADS_RESTATEMENT_DAYS = 14     # ad-attributed sales (7d/14d windows) are re-fetched this long
MAX_REPORT_DAYS = 31
ADS_RETENTION_DAYS = 95      # the Ads API serves Sponsored Products reports for the last 95 days (older: HTTP 400)
REPORT_TYPE = "spAdvertisedProduct"

ENV_CLIENT_ID = "ADS_CLIENT_ID"
ENV_CLIENT_SECRET = "ADS_CLIENT_SECRET"
ENV_REFRESH_TOKEN = "ADS_REFRESH_TOKEN"
ENV_PROFILE = {"US": "ADS_PROFILE_ID_US", "MX": "ADS_PROFILE_ID_MX"}
ADS_ENV = (ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_REFRESH_TOKEN, *ENV_PROFILE.values())

_LIBRARY_ENV = ("AD_API_CLIENT_ID", "AD_API_CLIENT_SECRET", "AD_API_REFRESH_TOKEN", "AD_API_PROFILE_ID",
                "AD_API_DEFAULT_MARKETPLACE")

COLUMNS: tuple[str, ...] = (
    "date", "campaignId", "campaignName", "adGroupId", "adGroupName", "adId", "portfolioId", "advertisedAsin",
    "advertisedSku", "impressions", "clicks", "clickThroughRate", "costPerClick", "cost", "spend",
    "campaignBudgetCurrencyCode", "purchases7d", "purchases14d", "unitsSoldClicks7d", "unitsSoldClicks14d", "sales7d",
    "sales14d", "purchasesSameSku7d", "unitsSoldSameSku7d", "attributedSalesSameSku7d", "salesOtherSku7d",
    "unitsSoldOtherSku7d", "acosClicks7d", "acosClicks14d", "roasClicks7d", "roasClicks14d",
)
# Brands and Display ad groups: the base metrics Amazon's ad-group page lists for both ("sales", "purchases",
# "unitsSold": 14 days of a click or view; the "…Clicks" twins: of a click)
AD_GROUP_COLUMNS: tuple[str, ...] = (
    "date", "campaignId", "campaignName", "adGroupId", "adGroupName", "campaignBudgetCurrencyCode", "impressions",
    "clicks", "cost", "sales", "purchases", "unitsSold", "salesClicks", "purchasesClicks", "unitsSoldClicks",
)


@dataclass(frozen=True)
class AdsReport:
    """One v3 report type as the source requests it."""

    ad_product: str            # configuration.adProduct
    group_by: tuple[str, ...]
    columns: tuple[str, ...]
    retention_days: int        # "Data retention" on the report type's page
    what: str                  # what the Sync Log calls it: a labels catalogue key
    # its rows are the account's ads figures, so an empty document means "not ready yet"; for the others it
    # means the profile has no campaign of that ad product (an account without Sponsored Brands)
    account: bool = False


REPORTS: dict[str, AdsReport] = {
    REPORT_TYPE: AdsReport("SPONSORED_PRODUCTS", ("advertiser",), COLUMNS, ADS_RETENTION_DAYS,
                           "ads.report_sp", account=True),
    "sbAdGroup": AdsReport("SPONSORED_BRANDS", ("adGroup",), AD_GROUP_COLUMNS, 60, "ads.report_sb"),
    "sdAdGroup": AdsReport("SPONSORED_DISPLAY", ("adGroup",), AD_GROUP_COLUMNS, 65, "ads.report_sd"),
}


@dataclass(frozen=True)
class AdsCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    profiles: Mapping[str, str] = field(default_factory=dict)    # marketplace → profile id

    @classmethod
    def from_env(cls, env: Mapping[str, str], marketplaces: tuple[str, ...] = ("US", "MX")) -> AdsCredentials:
        names = (ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_REFRESH_TOKEN,
                 *(ENV_PROFILE[m] for m in marketplaces if m in ENV_PROFILE))
        missing = [n for n in names if not str(env.get(n) or "").strip()]
        if missing:
            raise ConfigError(f"Amazon Ads credentials missing: set {', '.join(missing)} in the environment "
                              "(see .env.example and docs/amazon-api.md)")
        return cls(client_id=env[ENV_CLIENT_ID].strip(), client_secret=env[ENV_CLIENT_SECRET].strip(),
                   refresh_token=env[ENV_REFRESH_TOKEN].strip(),
                   profiles={m: env[ENV_PROFILE[m]].strip() for m in marketplaces if m in ENV_PROFILE})

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.client_secret, self.refresh_token)


@dataclass
class _Job(ReportJob):
    report_type: str = REPORT_TYPE

    @property
    def name(self) -> str:
        return f"ads:{self.report_type}:{self.span}"

    def body(self) -> dict[str, Any]:
        kind = REPORTS[self.report_type]
        return {
            "name": f"sheets-sync {self.report_type} {self.marketplace} {self.start.isoformat()}..{self.end.isoformat()}",
            "startDate": self.start.isoformat(), "endDate": self.end.isoformat(),
            "configuration": {"adProduct": kind.ad_product, "groupBy": list(kind.group_by),
                              "columns": list(kind.columns), "reportTypeId": self.report_type, "timeUnit": "DAILY",
                              "format": "GZIP_JSON"}}


@contextlib.contextmanager
def _quiet_import() -> Iterator[None]:
    """python-amazon-ad-api calls ``logging.basicConfig(level=INFO)`` when imported; undo that side effect."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)


def _ad_api() -> SimpleNamespace:
    """The parts of python-amazon-ad-api we use, imported with its environment and logging side effects contained."""
    with library_env_hidden(_LIBRARY_ENV), _quiet_import():
        from ad_api.api import Reports  # first: ad_api.auth imported alone is a circular import
        from ad_api.auth import AccessTokenClient
        from ad_api.auth.exceptions import AuthorizationError
        from ad_api.base import Marketplaces
        from ad_api.base.exceptions import AdvertisingApiException
    return SimpleNamespace(Reports=Reports, AccessTokenClient=AccessTokenClient, Marketplaces=Marketplaces,
                           AuthorizationError=AuthorizationError, AdvertisingApiException=AdvertisingApiException)


class AdsApiSource(ReportApiSource):
    """The :data:`REPORTS` per marketplace profile (``report_types``: which of them)."""

    name = "ads-api"
    label = "Ads API"
    pace_kinds = ("ads", "ads")

    def __init__(self, credentials: AdsCredentials, cache_dir: Path | None, *,
                 endpoint: str | None = None, lwa_token_url: str | None = None,
                 clock: Clock = time.time, sleep: Sleep = time.sleep,
                 poll_interval: float = 15.0, max_poll_interval: float = 120.0, max_wait_s: float = 4 * 3600.0,
                 provisional_days: int = PROVISIONAL_DAYS, restatement_days: int = ADS_RESTATEMENT_DAYS,
                 timeout: float = 60.0, report_types: tuple[str, ...] = tuple(REPORTS)):
        super().__init__()
        self.credentials = credentials
        self.endpoint = (endpoint or ADS_API_ENDPOINT).rstrip("/")
        self.lwa_token_url = lwa_token_url or LWA_TOKEN_URL
        parts = urlsplit(self.lwa_token_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"amazon.lwa_token_url: {self.lwa_token_url!r} is not an http(s) URL")
        self.clock, self.sleep = clock, sleep
        self.poll_interval, self.max_poll_interval, self.max_wait_s = poll_interval, max_poll_interval, max_wait_s
        self.provisional_days = provisional_days
        self.restatement_days = max(restatement_days, provisional_days)
        self.timeout = timeout
        unknown = [r for r in report_types if r not in REPORTS]
        if unknown:
            raise ConfigError(f"Amazon Ads: unknown report type(s) {', '.join(unknown)}; known: {', '.join(REPORTS)}")
        self.report_types = tuple(report_types)
        self.cache_dir = cache_dir
        self.create_report_calls = 0
        self._clients: dict[str, Any] = {}

    def _cache(self, marketplace: str) -> ReportCache | None:
        if self.cache_dir is None:
            return None
        return ReportCache(self.cache_dir, "ads", account_key(self.credentials.profiles[marketplace]))

    def _client(self, marketplace: str) -> Any:
        if marketplace not in self._clients:
            if marketplace not in self.credentials.profiles:
                raise ConfigError(f"Amazon Ads: no advertising profile for {marketplace}: set {ENV_PROFILE[marketplace]}")
            lib = _ad_api()
            parts = urlsplit(self.lwa_token_url)
            lwa_class = type("SheetsSyncAdsLwaClient", (lib.AccessTokenClient,),
                             {"scheme": f"{parts.scheme}://", "host": parts.netloc,
                              "path": parts.path or "/auth/o2/token"})
            creds = {"refresh_token": self.credentials.refresh_token, "client_id": self.credentials.client_id,
                     "client_secret": self.credentials.client_secret,
                     "profile_id": self.credentials.profiles[marketplace]}
            with library_env_hidden(_LIBRARY_ENV), _quiet_import():
                client = lib.Reports(credentials=dict(creds), marketplace=lib.Marketplaces.NA, timeout=self.timeout)
            client.credentials = dict(creds)     # never what the library found elsewhere
            client._auth = lwa_class(credentials=dict(creds), proxies=client.proxies, verify=client.verify,
                                     timeout=self.timeout)
            client.endpoint = self.endpoint
            self._clients[marketplace] = client
        return self._clients[marketplace]

    # ------------------------------------------------------------------------------- API call policy

    def _scrub(self, text: str) -> str:
        return redact(text, self.credentials.secrets)

    def _call(self, what: str, marketplace: str, fn: Callable[[], Any], progress: Callable[[str], None]) -> Any:
        import requests

        lib = _ad_api()
        AuthorizationError, AdvertisingApiException = lib.AuthorizationError, lib.AdvertisingApiException

        for attempt in range(MAX_RETRIES + 1):
            self.api_calls += 1
            try:
                return fn()
            except AuthorizationError as exc:
                code = str(getattr(exc, "error_code", "") or "")
                variables = {"invalid_grant": (ENV_REFRESH_TOKEN,),
                             "invalid_client": (ENV_CLIENT_ID, ENV_CLIENT_SECRET)}.get(
                                 code, (ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_REFRESH_TOKEN))
                raise FatalError(self._scrub(
                    f"Amazon Login with Amazon rejected the Ads API credentials (HTTP "
                    f"{getattr(exc, 'status_code', '?')} {code or 'error'}: "
                    f"{getattr(exc, 'message', '') or 'no description'}); check {', '.join(variables)}")) from None
            except AdvertisingApiException as exc:
                status = _status(exc)
                detail = _detail(exc)
                if status == 425:
                    raise                      # handled by the caller (duplicate → reuse the report id)
                if status == 429 or status >= 500:
                    wait = retry_wait(getattr(exc, "headers", None), attempt)
                    reason = f"{what}: {'throttled by Amazon (HTTP 429)' if status == 429 else f'HTTP {status}'}"
                    if attempt == MAX_RETRIES:
                        cls = QuotaError if status == 429 else RetriableError
                        raise cls(f"{reason}; gave up after {MAX_RETRIES} retries — run the sync again later",
                                  retry_after=wait) from None
                    progress(f"{reason}; waiting {wait:.0f} s")
                    self.sleep(wait)
                    continue
                if status == 401:
                    raise FatalError(self._scrub(
                        f"{what}: Amazon Ads refused the access token (HTTP 401: {detail}); check {ENV_CLIENT_ID} "
                        f"and {ENV_REFRESH_TOKEN}")) from None
                if status == 403:
                    raise FatalError(self._scrub(
                        f"{what}: Amazon Ads refused access to profile {self.credentials.profiles.get(marketplace)} "
                        f"(HTTP 403: {detail}); check {ENV_PROFILE.get(marketplace, 'the profile id')}")) from None
                raise FatalError(self._scrub(f"{what}: Amazon Ads answered HTTP {status}: {detail}")) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                wait = retry_wait(None, attempt)
                if attempt == MAX_RETRIES:
                    raise RetriableError(f"{what}: Amazon Ads unreachable ({type(exc).__name__})",
                                         retry_after=wait) from None
                progress(f"{what}: Amazon Ads unreachable ({type(exc).__name__}); retrying in {wait:.0f} s")
                self.sleep(wait)
        raise AssertionError("unreachable")

    # -------------------------------------------------------------------------------------- plan

    def _plan(self, request: FetchRequest, marketplace: str) -> tuple[list[RawReport], list[_Job]]:
        cached: list[RawReport] = []
        jobs: list[_Job] = []
        for report_type in self.report_types:
            docs, todo = self._plan_type(request, marketplace, report_type)
            cached += docs
            jobs += todo
        return cached, jobs

    def _plan_type(self, request: FetchRequest, marketplace: str, report_type: str) -> tuple[list[RawReport],
                                                                                         list[_Job]]:
        kind = REPORTS[report_type]
        today = marketplace_today(marketplace, self.clock)
        first_provisional = settled_before(today, self.provisional_days)
        first_unsettled = settled_before(today, self.restatement_days)
        end = min(request.end, today - dt.timedelta(days=1))
        if request.start > end:
            return [], []
        wanted = days_between(request.start, end)
        cached: list[RawReport] = []
        have: set[dt.date] = set()
        cache = self._cache(marketplace)
        if cache is not None:
            docs, have = cache.covered(marketplace, report_type, first_unsettled, today)
            for doc in docs:
                if doc.end >= request.start and doc.start <= end:
                    cached.append(RawReport(
                        name=doc.name, data=doc.data, marketplace_hint=marketplace, fetched_at=doc.fetched_at,
                        charset=doc.charset, provisional_days=frozenset(doc.days) if doc.empty else frozenset()))
        # One day of margin: Amazon counts its retention from its own (UTC) today.
        oldest = today - dt.timedelta(days=kind.retention_days - 1)
        gone = [d for d in wanted if d < oldest and d not in have]
        if gone:
            self.problems.append(Problem(
                f"Amazon Ads {marketplace}", ", ".join(a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}"
                                                       for a, b in runs(gone, len(gone))),
                say("ads.too_old", "en", n=kind.retention_days, ad_report=say(kind.what, "en"),
                    start=oldest.isoformat()), say("ads.days_missing", "en"), "warning"))
            wanted = [d for d in wanted if d >= oldest or d in have]
        settled = [d for d in wanted if d < first_unsettled and d not in have]
        recent = [d for d in wanted if d >= first_unsettled]
        jobs = [_Job(marketplace, a, b, frozenset(), True, report_type=report_type)
                for a, b in runs(settled, MAX_REPORT_DAYS)]
        jobs += [_Job(marketplace, a, b, frozenset(d for d in days_between(a, b) if d >= first_provisional), False,
                      report_type=report_type) for a, b in runs(recent, MAX_REPORT_DAYS)]
        return cached, jobs

    # ------------------------------------------------------------------------------------ collect

    def _check_marketplace(self, marketplace: str) -> None:
        super()._check_marketplace(marketplace)
        if marketplace not in self.credentials.profiles:
            raise ConfigError(f"Amazon Ads: no advertising profile for {marketplace}: set {ENV_PROFILE[marketplace]}")

    def _create(self, job: _Job, progress: Callable[[str], None]) -> None:
        client = self._client(job.marketplace)
        AdvertisingApiException = _ad_api().AdvertisingApiException
        self.create_report_calls += 1
        try:
            res = self._call(f"{job.name} createReport", job.marketplace,
                             lambda: client.post_report(body=json.dumps(job.body())), progress)
            job.report_id = str((res.payload or {}).get("reportId") or "")
        except AdvertisingApiException as exc:     # only 425 gets here
            rid = duplicate_report_id(_detail(exc))
            if not rid:
                raise FatalError(self._scrub(
                    f"{job.name}: Amazon Ads says the request is a duplicate (HTTP 425) but names no report: "
                    f"{_detail(exc)}")) from None
            progress(f"{job.name}: Amazon already has this report ({rid}); reusing it")
            job.report_id = rid
        if not job.report_id:
            self.problems.append(f"{job.name}: Amazon Ads accepted the report request but returned no reportId")

    def _check(self, job: _Job, progress: Callable[[str], None]) -> list[RawReport] | None:
        client = self._client(job.marketplace)
        rid = job.report_id
        st = self._call(f"{job.name} getReport", job.marketplace,
                        lambda: client.get_report(reportId=rid), progress).payload or {}
        job.status = str(st.get("status") or "UNKNOWN")
        if job.status == "COMPLETED":
            return [self._download(job, str(st.get("url") or ""), progress)]
        if job.status == "FAILED":
            self.problems.append(self._scrub(
                f"{job.name}: Amazon Ads could not generate the report (FAILED): "
                f"{st.get('failureReason') or 'no reason given'}"))
            return []
        return None

    def _download(self, job: _Job, url: str, progress: Callable[[str], None]) -> RawReport:
        client = self._client(job.marketplace)
        res = self._call(f"{job.name} download", job.marketplace,
                         lambda: client.download_report(url=url, format="raw"), progress)
        data = res.payload
        if not isinstance(data, bytes | bytearray):
            raise RetriableError(f"{job.name}: the report file could not be downloaded ({_payload_error(data)})")
        data = bytes(data)
        fetched = self.clock()
        kind = REPORTS[job.report_type]
        not_ready = kind.account and _rows(data) == 0
        provisional = frozenset(days_between(job.start, job.end)) if not_ready else job.provisional
        if not_ready:
            progress(f"{job.name}: no {say(kind.what, 'en')} rows yet for {job.start}..{job.end} — marked not ready")
        cache = self._cache(job.marketplace)
        if job.cacheable and cache is not None:
            cache.put(CachedDocument(job.report_type, job.marketplace, job.start, job.end, data, "utf-8", fetched,
                                     not_ready, job.name), "json.gz" if data[:2] == b"\x1f\x8b" else "json")
        return RawReport(name=job.name, data=data, marketplace_hint=job.marketplace, fetched_at=fetched,
                         charset="utf-8", provisional_days=provisional)


def _status(exc: Any) -> int:
    code = getattr(exc, "code", None)
    try:
        return int(code)
    except (TypeError, ValueError):
        return 0


def _detail(exc: Any) -> str:
    err = getattr(exc, "error", None)
    if isinstance(err, dict):
        return str(err.get("detail") or err.get("details") or err.get("message") or err)
    if isinstance(err, bytes | bytearray):
        return bytes(err[:300]).decode("utf-8", errors="replace")
    return str(err or "")


def _payload_error(payload: Any) -> str:
    if isinstance(payload, dict):
        return str(payload.get("response") or payload.get("code") or payload)
    return type(payload).__name__


def _rows(data: bytes) -> int:
    try:
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        doc = load_json(raw.decode("utf-8-sig") or "[]")
    except (OSError, EOFError, zlib.error, ValueError):
        return -1      # damaged: the parser reports it
    return len(doc) if isinstance(doc, list) else -1
