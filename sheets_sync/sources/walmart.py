"""Live Walmart US (WMUS) and Walmart México (WMMX) through Walmart's public Marketplace APIs, and Walmart
Connect's Sponsored Search API for ads. docs/walmart.md cites the page behind each behaviour.

Credentials, environment first (see ``.env.example``), then the connection ``sheets-sync connect walmart`` saved
(:mod:`sheets_sync.connections`; never printed):

* ``WALMART_CLIENT_ID`` / ``WALMART_CLIENT_SECRET`` — Walmart US (Developer Portal → API Keys);
  ``WALMART_MX_CLIENT_ID`` / ``WALMART_MX_CLIENT_SECRET`` — Walmart México (a separate seller account);
* ``WALMART_ADS_CONSUMER_ID``, ``WALMART_ADS_PRIVATE_KEY`` (PEM, or ``WALMART_ADS_PRIVATE_KEY_FILE``),
  ``WALMART_ADS_KEY_VERSION`` (default 1), ``WALMART_ADS_TOKEN`` (the bearer token Walmart Connect issues at
  onboarding), ``WALMART_ADS_ADVERTISER_ID`` — Sponsored Search; without them ads are not fetched (Sync Log);
* ``WALMART_API_URL`` (default ``https://marketplace.walmartapis.com``) and ``WALMART_ADS_API_URL`` (default
  :data:`DEFAULT_ADS_URL`), like ``MERCADOLIBRE_API_URL``.

Tokens: ``POST /v3/token`` with ``grant_type=client_credentials`` and HTTP Basic client id:secret answers an
access token for 15 minutes and **no refresh token**; it is kept in memory, replaced a minute before it expires,
and a 401 means a new token (asked once per call). Every call carries ``WM_SEC.ACCESS_TOKEN``, ``WM_SVC.NAME``,
a fresh ``WM_QOS.CORRELATION_ID`` and, for Mexico, ``WM_MARKET: mx``.

What is fetched, per marketplace day (WMUS days are UTC days, WMMX days Mexico City days):

* orders — US ``GET /v3/orders`` once per ship-node type (SellerFulfilled, WFSFulfilled, 3PLFulfilled: Walmart
  answers seller-fulfilled orders unless asked), ``limit`` ≤ 200, then ``nextCursor``; México ``GET
  /v3/orders/cursor`` per status (``statusCodeFilter`` is required) with ``cursorMark``, and the WFS orders of
  ``GET /v3/orders/wfsorders``. Walmart keeps 180 days of orders: older days are not asked for (named in the
  Sync Log; the cache and saved copies still serve them);
* returns — ``GET /v3/returns`` by return creation day, ``limit`` ≤ 200, ``nextCursor`` (US);
* inventory — ``GET /v3/inventories`` (≤ 50 a page, ``nextCursor``) and the WFS stock of ``GET
  /v3/fulfillment/inventory`` (≤ 300 a page, ``offset``) (US);
* seller performance — ``GET /v3/insights/performance/{otd,vtr,cancellations,refunds}/summary`` (US; one call a
  minute each; Walmart refreshes them daily, so they are fetched once a day and cached);
* ads — Sponsored Search ``POST /v2/snapshot/report`` (``reportType`` adItem) for the days missing, polled with
  ``GET /v2/snapshot`` until ``jobStatus`` is done, then the file at ``details`` is downloaded; requests are
  signed (RSA-SHA256 over consumer id, timestamp and key version). Ad item ids are mapped to SKUs with ``GET
  /v3/items/{id}?productIdType=ITEM_ID``.

Calls are paced per operation by token buckets at Walmart's published rates (:data:`RATES`, the same
``Budget`` interface as Amazon's); a 429 is waited out (``x-next-replenishment-time`` or backoff) and retried.
A family that fails (an error, a refusal, a 429 that does not end) costs only that family: it is named in the Sync
Log and the others are written. Days three or more days old are settled: their documents are cached
(:class:`~sheets_sync.sources.amazon_common.ReportCache`, the SP-API's settled-day cache) and never fetched again.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from ..errors import ConfigError, Problem, RetriableError, SheetsSyncError
from ..frames import MARKETPLACES, RawReport
from .amazon_common import (
    Budget,
    CachedDocument,
    LocalBudget,
    ReportCache,
    account_key,
    days_between,
    redact,
    retry_wait,
    runs,
    settled_before,
)
from .base import FetchRequest, Source

DEFAULT_URL = "https://marketplace.walmartapis.com"
DEFAULT_ADS_URL = "https://developer.api.walmart.com/api-proxy/service/WPA/Api"
SERVICE_NAME = "Walmart Marketplace"
SETTLE_DAYS = 3
ORDER_DAYS = 180                 # "Only orders created in last 180 days … can be fetched"
TOKEN_MARGIN_S = 60.0
MAX_TRIES = 6
MARKET = {"WMUS": "us", "WMMX": "mx"}
SHIP_NODES = ("SellerFulfilled", "WFSFulfilled", "3PLFulfilled")
MX_STATUSES = ("Created", "Acknowledged", "Shipped", "Delivered", "Cancelled", "OnHold")
PERFORMANCE = ("otd", "vtr", "cancellations", "refunds")
# Requests per second and burst, per operation. Walmart's rate-limiting page publishes per-minute limits per API
# (orders 5,000, returns 50, inventory 200, items 300 a minute as we read them); a burst of a sixth of the minute's
# quota is our choice. The seller-performance summaries allow one call a minute.
RATES: dict[str, tuple[float, int]] = {
    "wm_orders": (5000 / 60, 500), "wm_returns": (50 / 60, 8), "wm_inventory": (200 / 60, 33),
    "wm_items": (300 / 60, 50), "wm_insights": (1 / 60, 1), "wm_ads": (1.0, 5), "wm_token": (30 / 60, 5),
}
# The family words of the Sync Log lines (sheets_sync/i18n/labels_*.yaml shows them in the team's language).
FAMILY_WORDS = {"orders": "orders", "returns": "returns", "inventory": "inventory", "performance": "seller performance",
                "ads": "ads"}
AD_METRICS = ["date", "itemId", "itemName", "adSpend", "numAdsShown", "numAdsClicks",
              *(f"{m}{w}days" for w in (3, 14, 30) for m in ("attributedSales", "attributedOrders",
                                                             "attributedUnits"))]


@dataclass(frozen=True)
class WalmartCredentials:
    """One seller account's API keys (a market each)."""

    market: str                 # "us" / "mx"
    client_id: str
    client_secret: str

    def __repr__(self) -> str:      # never the secret
        return f"WalmartCredentials(market={self.market!r}, client_id={self.client_id!r})"


@dataclass(frozen=True)
class WalmartAdsCredentials:
    consumer_id: str
    private_key: str            # PEM
    token: str
    advertiser_id: str
    key_version: str = "1"

    def __repr__(self) -> str:
        return f"WalmartAdsCredentials(consumer_id={self.consumer_id!r}, advertiser_id={self.advertiser_id!r})"


ENV_NAMES = {"us": ("WALMART_CLIENT_ID", "WALMART_CLIENT_SECRET"),
             "mx": ("WALMART_MX_CLIENT_ID", "WALMART_MX_CLIENT_SECRET")}
ADS_ENV = ("WALMART_ADS_CONSUMER_ID", "WALMART_ADS_TOKEN", "WALMART_ADS_ADVERTISER_ID")


def _env(env: Mapping[str, str], name: str) -> str:
    return str(env.get(name) or "").strip()


def credentials_from(env: Mapping[str, str], stored: Mapping[str, Any] | None = None) -> dict[str, WalmartCredentials]:
    """The markets with keys: from the environment, else from the stored connection."""
    out: dict[str, WalmartCredentials] = {}
    for market, (cid, secret) in ENV_NAMES.items():
        if _env(env, cid) or _env(env, secret):
            if not (_env(env, cid) and _env(env, secret)):
                missing = [n for n in (cid, secret) if not _env(env, n)]
                raise ConfigError(f"Walmart API: environment variable(s) {', '.join(missing)} not set (see "
                                  ".env.example and docs/walmart.md)")
            out[market] = WalmartCredentials(market, _env(env, cid), _env(env, secret))
        elif stored and isinstance(stored.get(market), dict) and stored[market].get("client_id"):
            s = stored[market]
            out[market] = WalmartCredentials(market, str(s["client_id"]), str(s.get("client_secret") or ""))
    return out


def ads_credentials_from(env: Mapping[str, str], stored: Mapping[str, Any] | None = None
                         ) -> WalmartAdsCredentials | None:
    values = {n: _env(env, n) for n in ADS_ENV}
    key = _env(env, "WALMART_ADS_PRIVATE_KEY").replace("\\n", "\n")
    if not key and _env(env, "WALMART_ADS_PRIVATE_KEY_FILE"):
        try:
            key = Path(_env(env, "WALMART_ADS_PRIVATE_KEY_FILE")).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"WALMART_ADS_PRIVATE_KEY_FILE: cannot be read ({type(exc).__name__})") from None
    if not any(values.values()) and not key:
        ads = (stored or {}).get("ads")
        if isinstance(ads, dict) and ads.get("consumer_id"):
            return WalmartAdsCredentials(str(ads["consumer_id"]), str(ads.get("private_key") or ""),
                                         str(ads.get("token") or ""), str(ads.get("advertiser_id") or ""),
                                         str(ads.get("key_version") or "1"))
        return None
    missing = [n for n, v in values.items() if not v] + ([] if key else ["WALMART_ADS_PRIVATE_KEY"])
    if missing:
        raise ConfigError(f"Walmart Connect ads: environment variable(s) {', '.join(missing)} not set (see "
                          "docs/walmart.md)")
    return WalmartAdsCredentials(values["WALMART_ADS_CONSUMER_ID"], key, values["WALMART_ADS_TOKEN"],
                                 values["WALMART_ADS_ADVERTISER_ID"], _env(env, "WALMART_ADS_KEY_VERSION") or "1")


def walmart_configured(env: Mapping[str, str], data_dir: Path | None = None) -> bool:
    if any(_env(env, n) for names in ENV_NAMES.values() for n in names):
        return True
    if data_dir is None:
        return False
    from ..connections import load_connection

    return bool(load_connection(data_dir, "walmart"))


class WalmartFamilyError(SheetsSyncError):
    """One family's calls failed for a reason that retrying now will not mend (4xx other than 401/429)."""


def _json(r: requests.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return {}


def _error_text(body: Any) -> str:
    """Walmart's error body ``{"errors": [{"code", "description"|"message"}]}`` → 'CODE: text'."""
    errs = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errs, dict):
        errs = errs.get("error")
    if isinstance(errs, list) and errs and isinstance(errs[0], dict):
        e = errs[0]
        return f"{e.get('code', '')}: {e.get('description') or e.get('message') or ''}".strip(": ")
    return ""


def replenish_wait(headers: Mapping[str, str], attempt: int, clock: Callable[[], float]) -> float:
    """Seconds until Walmart's bucket refills: ``x-next-replenishment-time`` (epoch ms or ISO), else the usual
    backoff (:func:`retry_wait`)."""
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    value = lower.get("x-next-replenishment-time") or lower.get("x-next-replenish-time")
    if value:
        try:
            stamp = float(value)
            stamp = stamp / 1000.0 if stamp > 1e11 else stamp
        except ValueError:
            try:
                stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                stamp = None
        if stamp is not None and 0 < stamp - clock() < 300:
            return stamp - clock() + 0.05
    return retry_wait(headers, attempt)


def send_with_retries(send: Callable[[], requests.Response], *, what: str, pace: Callable[[], None],
                      sleep: Callable[[float], None], clock: Callable[[], float],
                      counted: Callable[[], None]) -> requests.Response:
    """One request, paced, with Walmart's 429s and 5xx answers waited out (``x-next-replenishment-time``, else
    backoff) and retried up to :data:`MAX_TRIES` times; the answer of any other status is returned."""
    for attempt in range(MAX_TRIES):
        pace()
        try:
            r = send()
        except requests.RequestException as exc:
            raise RetriableError(f"{what} unreachable ({type(exc).__name__})") from None
        counted()
        if r.status_code != 429 and r.status_code < 500:
            return r
        if attempt == MAX_TRIES - 1:
            raise RetriableError(f"{what}: HTTP {r.status_code} after {attempt + 1} tries; retry later")
        sleep(replenish_wait(r.headers, attempt, clock))
    raise RetriableError(f"{what}: gave up")


class WalmartApi:
    """Authenticated Marketplace API calls of one seller account (one market)."""

    def __init__(self, creds: WalmartCredentials, url: str, *, budget: Budget | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 timeout: float = 60.0):
        self.creds = creds
        self.url = url.rstrip("/")
        self.budget = budget or LocalBudget(RATES)
        self.sleep = sleep
        self.clock = clock
        self.timeout = timeout
        self.session = requests.Session()
        self.api_calls = 0
        self.tokens_issued = 0
        self._access: str | None = None
        self._expires = 0.0
        self._secrets = [creds.client_secret]

    def _base_headers(self) -> dict[str, str]:
        h = {"WM_SVC.NAME": SERVICE_NAME, "WM_QOS.CORRELATION_ID": str(uuid.uuid4()), "Accept": "application/json"}
        if self.creds.market != "us":
            h["WM_MARKET"] = self.creds.market
        return h

    def _pace(self, operation: str) -> None:
        wait = self.budget.reserve(operation)
        if wait > 0:
            self.sleep(wait)

    def token(self) -> str:
        if self._access is None or self.clock() >= self._expires:
            self._new_token()
        assert self._access is not None
        return self._access

    def _count(self) -> None:
        self.api_calls += 1

    def _new_token(self) -> None:
        basic = base64.b64encode(f"{self.creds.client_id}:{self.creds.client_secret}".encode()).decode()
        r = send_with_retries(
            lambda: self.session.post(f"{self.url}/v3/token", data={"grant_type": "client_credentials"},
                                      timeout=self.timeout,
                                      headers={**self._base_headers(), "Authorization": f"Basic {basic}"}),
            what="Walmart token endpoint", pace=lambda: self._pace("wm_token"), sleep=self.sleep, clock=self.clock,
            counted=self._count)
        body = _json(r)
        if r.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            why = redact(_error_text(body) or f"HTTP {r.status_code}", self._secrets)
            raise ConfigError(f"Walmart refused the API keys of {self.creds.market.upper()} ({why}): check "
                              f"{' / '.join(ENV_NAMES[self.creds.market])} (Developer Portal → API Keys), or run "
                              "`sheets-sync connect walmart` again")
        self._access = str(body["access_token"])
        self._secrets.append(self._access)
        self._expires = self.clock() + float(body.get("expires_in") or 900) - TOKEN_MARGIN_S
        self.tokens_issued += 1

    def get(self, path: str, params: Mapping[str, Any] | None = None, operation: str = "wm_orders") -> Any:
        """GET ``path`` (which may carry Walmart's ``nextCursor`` query string) as JSON; a 401 asks a new token
        once (client credentials have no refresh token)."""
        what = f"Walmart {urlsplit(path).path}"
        for renewed in (False, True):
            token = self.token()
            r = send_with_retries(
                lambda t=token: self.session.get(f"{self.url}{path}", params=params, timeout=self.timeout,  # type: ignore[misc]
                                                 headers={**self._base_headers(), "WM_SEC.ACCESS_TOKEN": t}),
                what=what, pace=lambda: self._pace(operation), sleep=self.sleep, clock=self.clock,
                counted=self._count)
            if r.status_code == 401 and not renewed:       # expired or revoked: a new token, once
                self._access = None
                continue
            body = _json(r)
            if r.status_code != 200:
                why = redact(_error_text(body), self._secrets)[:200]
                raise WalmartFamilyError(f"{what}: HTTP {r.status_code} {why}".strip())
            return body
        raise WalmartFamilyError(f"{what}: HTTP 401 after a new token")


class WalmartAdsApi:
    """Walmart Connect Sponsored Search: signed requests (``WM_SEC.AUTH_SIGNATURE`` = base64 RSA-SHA256 of
    ``consumer id\\ntimestamp\\nkey version\\n``, the timestamp in epoch milliseconds)."""

    def __init__(self, creds: WalmartAdsCredentials, url: str, *, budget: Budget | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 timeout: float = 60.0):
        from cryptography.hazmat.primitives import serialization

        self.creds = creds
        self.url = url.rstrip("/")
        self.budget = budget or LocalBudget(RATES)
        self.sleep, self.clock, self.timeout = sleep, clock, timeout
        self.session = requests.Session()
        self.api_calls = 0
        try:
            self._key = serialization.load_pem_private_key(creds.private_key.encode(), password=None)
        except (ValueError, TypeError):
            raise ConfigError("WALMART_ADS_PRIVATE_KEY is not a PEM private key (the key whose public half Walmart "
                              "Connect has)") from None

    def headers(self) -> dict[str, str]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        stamp = str(int(self.clock() * 1000))
        data = f"{self.creds.consumer_id}\n{stamp}\n{self.creds.key_version}\n".encode()
        if not isinstance(self._key, rsa.RSAPrivateKey):
            raise ConfigError("WALMART_ADS_PRIVATE_KEY must be an RSA key")
        sig = base64.b64encode(self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()
        return {"Authorization": f"Bearer {self.creds.token}", "WM_CONSUMER.ID": self.creds.consumer_id,
                "WM_SEC.KEY_VERSION": self.creds.key_version, "WM_CONSUMER.intimestamp": stamp,
                "WM_SEC.AUTH_SIGNATURE": sig, "Accept": "application/json"}

    def _count(self) -> None:
        self.api_calls += 1

    def _pace(self) -> None:
        wait = self.budget.reserve("wm_ads")
        if wait > 0:
            self.sleep(wait)

    def call(self, method: str, path_or_url: str, *, params: Mapping[str, Any] | None = None,
             body: Any = None, raw: bool = False) -> Any:
        url = path_or_url if path_or_url.startswith("http") else f"{self.url}{path_or_url}"
        r = send_with_retries(lambda: self.session.request(method, url, params=params, json=body, timeout=self.timeout,
                                                           headers=self.headers()),
                              what="Walmart Connect", pace=self._pace, sleep=self.sleep, clock=self.clock,
                              counted=self._count)
        if r.status_code in (401, 403):
            raise ConfigError(f"Walmart Connect refused the request (HTTP {r.status_code}): check "
                              "WALMART_ADS_CONSUMER_ID, WALMART_ADS_TOKEN, the key version and that the private "
                              "key matches the public key Walmart Connect has")
        if r.status_code != 200:
            raise WalmartFamilyError(f"Walmart Connect {urlsplit(url).path}: HTTP {r.status_code} "
                                     f"{redact(_error_text(_json(r)), [self.creds.token])[:200]}".strip())
        return r.content if raw else _json(r)


class WalmartSource(Source):
    name = "walmart"

    def __init__(self, apis: Mapping[str, WalmartApi], cache_root: Path, *, ads: WalmartAdsApi | None = None,
                 today: Callable[[str], dt.date] | None = None, poll_interval: float = 30.0,
                 max_wait_s: float = 1800.0):
        super().__init__()
        self.apis = dict(apis)             # market → api
        self.ads = ads
        self.cache_root = Path(cache_root)
        self._today = today or (lambda mk: dt.datetime.now(dt.UTC).astimezone(
            __import__("zoneinfo").ZoneInfo(MARKETPLACES[mk]["tz"])).date())
        self.poll_interval, self.max_wait_s = poll_interval, max_wait_s
        self.cached_days = 0
        self.pending: list[str] = []

    @property  # type: ignore[override]
    def api_calls(self) -> int:
        return sum(a.api_calls for a in self.apis.values()) + (self.ads.api_calls if self.ads else 0)

    @api_calls.setter
    def api_calls(self, value: int) -> None:
        pass

    def _cache(self, api: WalmartApi) -> ReportCache:
        return ReportCache(self.cache_root, "walmart", account_key(api.creds.client_id))

    def _family(self, name: str, mk: str, fn: Callable[..., Iterator[RawReport]], *args: Any) -> Iterator[RawReport]:
        """One family's documents (``fn(*args)``); its failure is named in the Sync Log and costs only it."""
        try:
            yield from fn(*args)
        except ConfigError as exc:
            if name != "ads":          # the marketplace keys themselves: nothing of this store can be fetched
                raise
            self._failed(mk, name, exc)
        except (WalmartFamilyError, RetriableError) as exc:
            self._failed(mk, name, exc)

    def _failed(self, mk: str, family: str, exc: Exception) -> None:
        self.problems.append(Problem(mk, None, f"Walmart could not give its {FAMILY_WORDS[family]} figures: {exc}",
                                     "left blank, the other Walmart figures written", "warning"))

    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        for mk in (m for m in request.marketplaces if m in MARKET):
            api = self.apis.get(MARKET[mk])
            if api is None:
                self.problems.append(Problem(mk, None, "no Walmart API keys for this store (WALMART_CLIENT_ID and "
                                             "WALMART_CLIENT_SECRET, or sheets-sync connect walmart)", "not fetched",
                                             "warning"))
                continue
            today = self._today(mk)
            days = days_between(request.start, min(request.end, today - dt.timedelta(days=1)))
            if request.comparison:
                days = sorted(set(days_between(*request.comparison)) | set(days))
            request.progress(f"Walmart {mk}: orders for {len(days)} day(s)")
            yield from self._family("orders", mk, self._days, api, mk, "orders", days, today, self._orders)
            if mk == "WMUS":
                yield from self._family("returns", mk, self._days, api, mk, "returns", days, today, self._returns)
                yield from self._family("inventory", mk, self._inventory, api, mk)
                yield from self._family("performance", mk, self._performance, api, mk, today)
                if self.ads is not None:
                    yield from self._family("ads", mk, self._ads, api, mk, days, today)
                else:
                    self.problems.append(Problem(mk, None, "Walmart Connect is not configured (the WALMART_ADS_* "
                                                 "variables)", "ad spend and ad sales left blank", "warning"))
            else:
                self.problems.append(Problem(mk, None, "Walmart's pages describe returns, inventory, seller "
                                             "performance and Sponsored Search for Walmart US only",
                                             "orders, units and WFS share fetched", "info"))

    # -- settled-day documents --------------------------------------------------------------------------
    def _days(self, api: WalmartApi, mk: str, family: str, days: list[dt.date], today: dt.date,
              fetch: Callable[[WalmartApi, dt.date], Any]) -> Iterator[RawReport]:
        cache = self._cache(api)
        settled_end = settled_before(today, SETTLE_DAYS)
        cached, covered = cache.covered(mk, family, settled_end, today)
        for doc in cached:
            if doc.start in days:
                self.cached_days += 1
                if not doc.empty:
                    yield RawReport(name=doc.name, data=doc.data, marketplace_hint=mk, fetched_at=doc.fetched_at)
        oldest = today - dt.timedelta(days=ORDER_DAYS - 1)
        too_old = [d for d in days if d not in covered and d < oldest]
        if too_old:
            self.problems.append(Problem(mk, None, f"Walmart keeps {ORDER_DAYS} days of {FAMILY_WORDS[family]}: "
                                         f"{too_old[0].isoformat()}..{too_old[-1].isoformat()} not asked for",
                                         "the cache or a saved copy serves older days", "warning"))
        for d in days:
            if d in covered or d < oldest:
                continue
            doc, empty = fetch(api, d)
            name = f"walmart:{MARKET[mk]}:{family}:{d.isoformat()}"
            data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
            now = time.time()
            if d < settled_end:
                cache.put(CachedDocument(report=family, marketplace=mk, start=d, end=d, data=data, charset="utf-8",
                                         fetched_at=now, empty=empty, name=name), "json")
            if not empty:
                yield RawReport(name=name, data=data, marketplace_hint=mk, fetched_at=now,
                                provisional_days=frozenset() if d < settled_end else frozenset({d}))

    def _orders(self, api: WalmartApi, d: dt.date) -> tuple[Any, bool]:
        mk = "WMUS" if api.creds.market == "us" else "WMMX"
        pages: dict[str, list[Any]] = {}
        if mk == "WMUS":
            lo = dt.datetime.combine(d, dt.time(0), dt.UTC)
            hi = lo + dt.timedelta(days=1) - dt.timedelta(milliseconds=1)
            for node in SHIP_NODES:
                params: dict[str, Any] | None = {
                    "createdStartDate": lo.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "createdEndDate": hi.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "limit": 200, "shipNodeType": node}
                path = "/v3/orders"
                got = []
                while True:
                    page = api.get(path, params)
                    got.append(page)
                    cursor = ((page.get("list") or {}).get("meta") or {}).get("nextCursor")
                    if not cursor:
                        break
                    path, params = f"/v3/orders{cursor}", None
                pages[node] = got
        else:
            tz = __import__("zoneinfo").ZoneInfo(MARKETPLACES[mk]["tz"])
            lo = dt.datetime.combine(d, dt.time(0), tz)
            hi = lo + dt.timedelta(days=1) - dt.timedelta(milliseconds=1)
            span = {"createdStartDate": lo.isoformat(timespec="milliseconds"),
                    "createdEndDate": hi.isoformat(timespec="milliseconds")}
            got = []
            for status in MX_STATUSES:
                mark = "*"
                while True:
                    page = api.get("/v3/orders/cursor", {**span, "limit": 100, "cursorMark": mark,
                                                         "statusCodeFilter": status})
                    got.append(page)
                    nxt = (page.get("meta") or {}).get("nextCursorMark")
                    if not nxt or nxt == mark or not page.get("order"):
                        break
                    mark = nxt
            pages["SellerFulfilled"] = got
            wfs, offset = [], 0
            epoch = {"createdStartDate": str(int(lo.timestamp())), "createdEndDate": str(int(hi.timestamp()))}
            while True:
                page = api.get("/v3/orders/wfsorders", {**epoch, "limit": 200, "offset": offset})
                wfs.append(page)
                total = int((page.get("meta") or {}).get("totalCount") or 0)
                offset += 200
                if offset >= total or not page.get("order"):
                    break
            pages["WFS"] = wfs
        empty = not any(((p.get("list") or {}).get("elements") or {}).get("order") or p.get("order")
                        for ps in pages.values() for p in ps)
        return {"walmartOrders": {"market": api.creds.market, "day": d.isoformat()}, "pages": pages}, empty

    def _returns(self, api: WalmartApi, d: dt.date) -> tuple[Any, bool]:
        lo = dt.datetime.combine(d, dt.time(0), dt.UTC)
        hi = lo + dt.timedelta(days=1) - dt.timedelta(milliseconds=1)
        params: dict[str, Any] | None = {
            "returnCreationStartDate": lo.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "returnCreationEndDate": hi.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "limit": 200}
        path, pages = "/v3/returns", []
        while True:
            page = api.get(path, params, operation="wm_returns")
            pages.append(page)
            cursor = (page.get("meta") or {}).get("nextCursor")
            if not cursor or not page.get("returnOrders"):
                break
            path, params = f"/v3/returns{cursor}", None
        empty = not any(p.get("returnOrders") for p in pages)
        return {"walmartReturns": {"market": api.creds.market, "day": d.isoformat()}, "pages": pages}, empty

    def _inventory(self, api: WalmartApi, mk: str) -> Iterator[RawReport]:
        seller, cursor = [], None
        while True:
            page = api.get("/v3/inventories", {"limit": 50, **({"nextCursor": cursor} if cursor else {})},
                           operation="wm_inventory")
            seller.append(page)
            cursor = (page.get("meta") or {}).get("nextCursor")
            if not cursor or not ((page.get("elements") or {}).get("inventories")):
                break
        wfs, offset = [], 0
        while True:
            page = api.get("/v3/fulfillment/inventory", {"limit": 300, "offset": offset}, operation="wm_inventory")
            wfs.append(page)
            total = int((page.get("headers") or {}).get("totalCount") or 0)
            offset += 300
            if offset >= total:
                break
        doc = {"walmartInventory": {"market": api.creds.market}, "inventories": seller, "wfs": wfs}
        yield RawReport(name=f"walmart:{MARKET[mk]}:inventory", data=json.dumps(doc).encode(), marketplace_hint=mk,
                        fetched_at=time.time())

    def _performance(self, api: WalmartApi, mk: str, today: dt.date) -> Iterator[RawReport]:
        """The seller performance summaries, once a day (Walmart refreshes them every 24 hours)."""
        cache = self._cache(api)
        usable = [c for c in cache.documents(mk, "performance") if c.start == today]
        if usable:
            c = usable[0]
            yield RawReport(name=c.name, data=c.data, marketplace_hint=mk, fetched_at=c.fetched_at)
            return
        summaries = {name: api.get(f"/v3/insights/performance/{name}/summary", {"reportDuration": 30},
                                   operation="wm_insights") for name in PERFORMANCE}
        doc = {"walmartPerformance": {"market": api.creds.market, "reportDuration": 30, "asOf": today.isoformat()},
               "summaries": summaries}
        data, now = json.dumps(doc).encode(), time.time()
        name = f"walmart:{MARKET[mk]}:performance:{today.isoformat()}"
        cache.put(CachedDocument(report="performance", marketplace=mk, start=today, end=today, data=data,
                                 charset="utf-8", fetched_at=now, empty=False, name=name), "json")
        yield RawReport(name=name, data=data, marketplace_hint=mk, fetched_at=now)

    def _ads(self, api: WalmartApi, mk: str, days: list[dt.date], today: dt.date) -> Iterator[RawReport]:
        assert self.ads is not None
        ads = self.ads
        cache = self._cache(api)
        settled_end = settled_before(today, SETTLE_DAYS)
        cached, covered = cache.covered(mk, "ads", settled_end, today)
        for doc in cached:
            if set(doc.days) & set(days):
                self.cached_days += len(doc.days)
                if not doc.empty:
                    yield RawReport(name=doc.name, data=doc.data, marketplace_hint=mk, fetched_at=doc.fetched_at)
        missing = [d for d in days if d not in covered]
        skus: dict[str, str] = {}
        for lo, hi in runs(missing, 31):
            snap = ads.call("POST", "/v2/snapshot/report", body={
                "advertiserId": int(ads.creds.advertiser_id), "startDate": lo.isoformat(), "endDate": hi.isoformat(),
                "reportType": "adItem", "reportMetrics": AD_METRICS, "format": "gzip"})
            sid = snap.get("snapshotId")
            waited = 0.0
            while True:
                status = ads.call("GET", "/v2/snapshot", params={"advertiserId": ads.creds.advertiser_id,
                                                                  "snapshotId": sid})
                job = str(status.get("jobStatus") or "")
                if job == "done":
                    break
                if job in ("failed", "expired"):
                    raise WalmartFamilyError(f"Walmart Connect snapshot {job} for {lo}..{hi}")
                if waited >= self.max_wait_s:
                    self.pending.append(f"Walmart Connect ads {lo}..{hi}: snapshot still {job}")
                    return
                ads.sleep(self.poll_interval)
                waited += self.poll_interval
            content = ads.call("GET", str(status.get("details")), raw=True)
            rows = _snapshot_rows(content)
            for item in sorted({str(r.get("itemId")) for r in rows} - set(skus)):
                got = api.get(f"/v3/items/{item}", {"productIdType": "ITEM_ID"}, operation="wm_items")
                found = (got.get("ItemResponse") or [{}]) if isinstance(got, dict) else [{}]
                sku = (found[0] if isinstance(found, list) and found else {}).get("sku")
                if sku:
                    skus[item] = str(sku)
            ids = {str(r.get("itemId")) for r in rows}
            report: dict[str, Any] = {
                "walmartAdItemReport": {"market": api.creds.market, "start": lo.isoformat(), "end": hi.isoformat(),
                                        "attributionWindows": ["3d", "14d", "30d"]},
                "rows": rows, "itemSkus": {k: v for k, v in skus.items() if k in ids}}
            name = f"walmart:{MARKET[mk]}:ads:{lo.isoformat()}..{hi.isoformat()}"
            data, now = json.dumps(report, ensure_ascii=False).encode(), time.time()
            if hi < settled_end:
                cache.put(CachedDocument(report="ads", marketplace=mk, start=lo, end=hi, data=data, charset="utf-8",
                                         fetched_at=now, empty=not rows, name=name), "json")
            prov = frozenset(d for d in days_between(lo, hi) if d >= settled_end)
            if rows:
                yield RawReport(name=name, data=data, marketplace_hint=mk, fetched_at=now, provisional_days=prov)


def _snapshot_rows(content: bytes) -> list[dict[str, str]]:
    """The snapshot file's rows (CSV, gzipped or not; or a JSON array)."""
    import csv
    import gzip
    import io

    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    text = content.decode("utf-8-sig")
    if text.lstrip()[:1] == "[":
        return [dict(r) for r in json.loads(text)]
    return [dict(r) for r in csv.DictReader(io.StringIO(text))]


def open_walmart_source(env: Mapping[str, str], data_dir: Path, *, url: str | None = None,
                        ads_url: str | None = None, budget: Budget | None = None,
                        sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                        today: Callable[[str], dt.date] | None = None, poll_interval: float = 30.0) -> WalmartSource:
    """The Walmart source from the environment (then the stored connection). Raises ConfigError when neither names
    any API keys."""
    from ..connections import load_connection

    stored = load_connection(Path(data_dir), "walmart")
    creds = credentials_from(env, stored)
    if not creds:
        raise ConfigError("Walmart API: no API keys (set WALMART_CLIENT_ID and WALMART_CLIENT_SECRET, or run "
                          "`sheets-sync connect walmart`; see docs/walmart.md)")
    base = url or _env(env, "WALMART_API_URL") or DEFAULT_URL
    shared = budget or LocalBudget(RATES)
    apis = {m: WalmartApi(c, base, budget=shared, sleep=sleep, clock=clock) for m, c in creds.items()}
    ads_creds = ads_credentials_from(env, stored)
    ads = None
    if ads_creds is not None:
        ads = WalmartAdsApi(ads_creds, ads_url or _env(env, "WALMART_ADS_API_URL") or DEFAULT_ADS_URL,
                            budget=shared, sleep=sleep, clock=clock)
    return WalmartSource(apis, Path(data_dir) / "walmart-cache", ads=ads, today=today, poll_interval=poll_interval)
