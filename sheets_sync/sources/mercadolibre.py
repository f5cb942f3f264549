"""Live Mercado Libre México (MLM) through its public REST API.

Credentials come only from environment variables (see ``.env.example``): ``MERCADOLIBRE_CLIENT_ID``,
``MERCADOLIBRE_CLIENT_SECRET``, ``MERCADOLIBRE_REFRESH_TOKEN`` (from authorising the app with the
``offline_access`` scope), optionally ``MERCADOLIBRE_ADVERTISER_ID`` (Product Ads; without it ads are not
fetched and the Sync Log says so) and ``MERCADOLIBRE_API_URL`` (default ``https://api.mercadolibre.com``).

OAuth2 refresh tokens rotate: every refresh answers a new refresh token and the old one stops working, so the
newest one is kept in ``<data_dir>/mercadolibre/token.json`` (mode 600) and used instead of the variable's
while it was issued for the same client and the same starting token. The HTTP calls go through ``requests``
with this small token refresher rather than requests-oauthlib, whose debug logging prints the refresh request
body (client secret and refresh token) — secrets never reach a log here.

What is fetched for the days of the request (Mexico City days):

* ``/users/me`` — the seller id and its ``seller_reputation`` (account health);
* ``/orders/search`` per day (50 per page, paged), each order's seller shipping cost from
  ``/shipments/{id}/costs``;
* ``/users/{id}/items/search`` (paged) and ``/items?ids=`` (20 at a time) — the listings and their Full
  inventory ids; ``/items/{id}/visits/time_window`` per listing (unit=day, ≤150 days a call);
* Product Ads metrics per listing and day (``/advertising/advertisers/{id}/product_ads/items/search``,
  DAILY, ≤90 days a call, 100 a page); ``/inventories/{id}/stock/fulfillment`` per Full listing.

Days older than :data:`SETTLE_DAYS` are settled: their documents are cached under
``<data_dir>/mercadolibre/cache/`` and never fetched again; the newer days are marked provisional (orders
may still be cancelled). Calls are paced by a token bucket (:data:`RATE`, shared through the same ``Budget``
interface as Amazon's); a 429 is retried after ``Retry-After`` or a backoff, a 401 refreshes the token once.
Every document becomes a :class:`~sheets_sync.frames.RawReport` parsed by
:mod:`sheets_sync.sources.parsing.ml_api`, the same parser a saved copy of the JSON goes through.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from ..errors import ConfigError, RetriableError, SheetsSyncError
from ..frames import RawReport
from .amazon_common import Budget, LocalBudget, redact, retry_wait
from .base import FetchRequest, Source

ML_ENV = ("MERCADOLIBRE_CLIENT_ID", "MERCADOLIBRE_CLIENT_SECRET", "MERCADOLIBRE_REFRESH_TOKEN")
DEFAULT_URL = "https://api.mercadolibre.com"
SETTLE_DAYS = 3                 # a local day this many days old or older is settled (cached)
RATE = {"mercadolibre": (10.0, 20)}   # our pacing: 10 requests a second, bursts of 20
TZ = ZoneInfo("America/Mexico_City")
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class MercadoLibreCredentials:
    client_id: str
    client_secret: str
    refresh_token: str
    advertiser_id: str | None = None

    def __repr__(self) -> str:      # never the secrets
        return f"MercadoLibreCredentials(client_id={self.client_id!r}, advertiser_id={self.advertiser_id!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MercadoLibreCredentials:
        missing = [n for n in ML_ENV if not str(env.get(n) or "").strip()]
        if missing:
            raise ConfigError(f"Mercado Libre API: environment variable(s) {', '.join(missing)} not set (see "
                              ".env.example and docs/mercado-libre.md)")
        adv = str(env.get("MERCADOLIBRE_ADVERTISER_ID") or "").strip() or None
        return cls(env["MERCADOLIBRE_CLIENT_ID"].strip(), env["MERCADOLIBRE_CLIENT_SECRET"].strip(),
                   env["MERCADOLIBRE_REFRESH_TOKEN"].strip(), adv)

    @property
    def secrets(self) -> list[str]:
        return [self.client_secret, self.refresh_token]


class MercadoLibreApi:
    """Authenticated GETs with token refresh, pacing and retries."""

    def __init__(self, creds: MercadoLibreCredentials, url: str, state_dir: Path, *, budget: Budget | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 timeout: float = 30.0):
        self.creds = creds
        self.url = url.rstrip("/")
        self.state = Path(state_dir)
        self.budget = budget or LocalBudget(RATE)
        self.sleep = sleep
        self.clock = clock
        self.timeout = timeout
        self.session = requests.Session()
        self.api_calls = 0
        self.refreshes = 0
        self._access: str | None = None
        self._expires = 0.0
        self._secrets = list(creds.secrets)

    # -- tokens -----------------------------------------------------------------------------------------
    def _token_file(self) -> Path:
        return self.state / "token.json"

    def _current_refresh(self) -> str:
        """The newest refresh token: the saved one when it descends from the variable's, else the variable's."""
        try:
            saved = json.loads(self._token_file().read_text(encoding="utf-8"))
            if saved.get("client_id") == self.creds.client_id and saved.get("origin") == _fingerprint(
                    self.creds.refresh_token):
                self._secrets.append(saved["refresh_token"])
                return saved["refresh_token"]
        except (OSError, ValueError, KeyError):
            pass
        return self.creds.refresh_token

    def refresh(self) -> None:
        refresh = self._current_refresh()
        try:
            r = self.session.post(f"{self.url}/oauth/token", timeout=self.timeout, headers={
                "Accept": "application/json"}, data={"grant_type": "refresh_token", "client_id": self.creds.client_id,
                                                     "client_secret": self.creds.client_secret,
                                                     "refresh_token": refresh})
        except requests.RequestException as exc:
            raise RetriableError(f"Mercado Libre token endpoint unreachable ({type(exc).__name__})") from None
        self.api_calls += 1
        if r.status_code >= 500:
            raise RetriableError(f"Mercado Libre token endpoint answered HTTP {r.status_code}")
        body = _json(r)
        if r.status_code != 200 or "access_token" not in body:
            err = str(body.get("error") or f"HTTP {r.status_code}")
            raise ConfigError(f"Mercado Libre refused the credentials ({err}): check MERCADOLIBRE_CLIENT_ID / "
                              "MERCADOLIBRE_CLIENT_SECRET, or authorise the app again and set a new "
                              "MERCADOLIBRE_REFRESH_TOKEN (a refresh token works once and expires after 6 months "
                              "unused)")
        self._access = body["access_token"]
        self._expires = self.clock() + float(body.get("expires_in") or 21600) - 60
        self._secrets += [body["access_token"], str(body.get("refresh_token") or "")]
        self.refreshes += 1
        if body.get("refresh_token"):
            self.state.mkdir(parents=True, exist_ok=True)
            tmp = self._token_file().with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"client_id": self.creds.client_id, "origin": _fingerprint(self.creds.refresh_token),
                           "refresh_token": body["refresh_token"]}, fh)
            os.replace(tmp, self._token_file())

    # -- calls ------------------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        refreshed = False
        for attempt in range(6):
            if self._access is None or self.clock() >= self._expires:
                self.refresh()
                refreshed = True
            wait = self.budget.reserve("mercadolibre")
            if wait > 0:
                self.sleep(wait)
            try:
                r = self.session.get(f"{self.url}{path}", params=params, timeout=self.timeout,
                                     headers={"Authorization": f"Bearer {self._access}", "Accept": "application/json"})
            except requests.RequestException as exc:
                raise RetriableError(f"Mercado Libre API unreachable ({type(exc).__name__})") from None
            self.api_calls += 1
            if r.status_code == 401 and not refreshed:      # expired before our clock said so
                self._access = None
                refreshed = True
                continue
            if r.status_code == 429 or r.status_code >= 500:
                if attempt == 5:
                    raise RetriableError(f"Mercado Libre {path}: HTTP {r.status_code} after {attempt + 1} tries; "
                                         "retry later")
                self.sleep(retry_wait(r.headers, attempt))
                continue
            body = _json(r)
            if r.status_code != 200:
                msg = redact(str(body.get("message") or body.get("error") or ""), self._secrets)[:200]
                raise SheetsSyncError(f"Mercado Libre {path}: HTTP {r.status_code} {msg}".strip())
            return body
        raise RetriableError(f"Mercado Libre {path}: gave up")

    def paged(self, path: str, params: Mapping[str, Any], limit: int, key: str = "results") -> list[Any]:
        """Every page of a ``paging`` answer (offset/limit); returns the pages."""
        pages, offset = [], 0
        while True:
            page = self.get(path, {**params, "offset": offset, "limit": limit})
            pages.append(page)
            total = int((page.get("paging") or {}).get("total") or 0)
            offset += limit
            if offset >= total or not page.get(key):
                return pages


def _fingerprint(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _json(r: requests.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"_list": body}


class MercadoLibreSource(Source):
    name = "mercadolibre"

    def __init__(self, api: MercadoLibreApi, cache_dir: Path, *, today: Callable[[], dt.date] | None = None):
        super().__init__()
        self.api = api
        self.cache = Path(cache_dir)
        self._today = today or (lambda: dt.datetime.now(TZ).date())
        self.pending: list[str] = []
        self.cached_days = 0
        self._fresh: dict[tuple[str, dt.date], Any] = {}

    @property  # type: ignore[override]
    def api_calls(self) -> int:
        return self.api.api_calls

    @api_calls.setter
    def api_calls(self, value: int) -> None:     # Source declares a class attribute
        pass

    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        if "MLM" not in request.marketplaces:
            return
        today = self._today()
        progress = request.progress
        user = self.api.get("/users/me")
        seller = str(user.get("id"))
        now = time.time()
        yield self._raw("mercadolibre:users/me", user, now)
        days = _days(request.start, min(request.end, today))
        if request.comparison:
            days = _days(*request.comparison) + days
        settled = {d for d in days if d <= today - SETTLE_DAYS * DAY}
        progress(f"Mercado Libre: orders for {len(days)} day(s)")
        for d in days:
            yield from self._cached(seller, "orders", d, d in settled, functools.partial(self._orders, seller, d),
                                    today)
        items = self._items(seller)
        missing_visits = [d for d in days if not self._has(seller, "visits", d, d in settled)]
        if missing_visits and items:
            progress(f"Mercado Libre: visits of {len(items)} listing(s)")
            self._fetch_visits(seller, [i["id"] for i in items], missing_visits, settled)
        for d in days:
            yield from self._cached(seller, "visits", d, d in settled, None, today)
        if self.api.creds.advertiser_id:
            missing_ads = [d for d in days if not self._has(seller, "ads", d, d in settled)]
            if missing_ads:
                self._fetch_ads(seller, missing_ads, settled)
            for d in days:
                yield from self._cached(seller, "ads", d, d in settled, None, today)
        else:
            self.problems.append("mercadolibre: MERCADOLIBRE_ADVERTISER_ID not set: Product Ads metrics were not "
                                 "fetched")
        full = [i for i in items if i.get("inventory_id")]
        if full:
            stock = [self.api.get(f"/inventories/{i['inventory_id']}/stock/fulfillment") for i in full]
            yield self._raw("mercadolibre:full_stock", stock, time.time())

    # -- documents --------------------------------------------------------------------------------------
    @staticmethod
    def _raw(name: str, doc: Any, fetched: float, provisional: frozenset[dt.date] = frozenset()) -> RawReport:
        return RawReport(name=name, data=json.dumps(doc, ensure_ascii=False).encode("utf-8"), marketplace_hint="MLM",
                         fetched_at=fetched, provisional_days=provisional)

    def _path(self, seller: str, kind: str, d: dt.date) -> Path:
        return self.cache / seller / kind / f"{d.isoformat()}.json"

    def _has(self, seller: str, kind: str, d: dt.date, settled: bool) -> bool:
        return settled and self._path(seller, kind, d).is_file()

    def _store(self, seller: str, kind: str, d: dt.date, doc: Any) -> None:
        p = self._path(seller, kind, d)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, p)

    def _cached(self, seller: str, kind: str, d: dt.date, settled: bool, fetch: Callable[[], Any] | None,
                today: dt.date) -> Iterator[RawReport]:
        """The day's document of ``kind`` (from the cache when settled and there); nothing for a day with no
        visits or no ad activity (an empty document is cached all the same)."""
        p = self._path(seller, kind, d)
        if settled and p.is_file():
            self.cached_days += 1
            data, fetched = p.read_bytes(), p.stat().st_mtime
            if not _empty(kind, json.loads(data)):
                yield RawReport(name=f"mercadolibre:{kind}:{d.isoformat()}", data=data, marketplace_hint="MLM",
                                fetched_at=fetched)
            return
        doc = fetch() if fetch is not None else self._fresh.pop((kind, d), _EMPTY[kind])
        if settled:
            self._store(seller, kind, d, doc)
        if not _empty(kind, doc):
            provisional = frozenset() if settled else frozenset({d})
            yield self._raw(f"mercadolibre:{kind}:{d.isoformat()}", doc, time.time(), provisional)

    def _orders(self, seller: str, d: dt.date) -> list[dict[str, Any]]:
        lo = dt.datetime.combine(d, dt.time(0), TZ).isoformat(timespec="milliseconds")
        hi = dt.datetime.combine(d, dt.time(23, 59, 59, 999000), TZ).isoformat(timespec="milliseconds")
        pages = self.api.paged("/orders/search", {"seller": seller, "order.date_created.from": lo,
                                                  "order.date_created.to": hi, "sort": "date_asc"}, 50)
        for page in pages:
            for o in page.get("results") or []:
                sid = (o.get("shipping") or {}).get("id")
                if sid and o.get("status") != "cancelled":
                    costs = self.api.get(f"/shipments/{sid}/costs")
                    o["shipping_cost_seller"] = sum(float(s.get("cost") or 0) for s in costs.get("senders") or []
                                                    if str(s.get("user_id")) == seller)
        return pages

    def _items(self, seller: str) -> list[dict[str, Any]]:
        ids = [i for p in self.api.paged(f"/users/{seller}/items/search", {}, 100) for i in p.get("results") or []]
        out = []
        for k in range(0, len(ids), 20):
            answer = self.api.get("/items", {"ids": ",".join(ids[k:k + 20])})
            for entry in answer.get("_list", []):
                if entry.get("code") == 200:
                    out.append(entry["body"])
        return out

    def _fetch_visits(self, seller: str, items: list[str], days: list[dt.date], settled: set[dt.date]) -> None:
        per_day: dict[dt.date, list[dict[str, Any]]] = {d: [] for d in days}
        for lo, hi in _spans(days, 150):
            for item in items:
                doc = self.api.get(f"/items/{item}/visits/time_window",
                                   {"last": (hi - lo).days + 1, "unit": "day", "ending": hi.isoformat()})
                for r in doc.get("results") or []:
                    d = dt.date.fromisoformat(str(r.get("date"))[:10])
                    if d in per_day:
                        per_day[d].append({"item_id": item, "total_visits": r.get("total", 0), "results": [r]})
        for d, docs in per_day.items():
            self._fresh[("visits", d)] = docs

    def _fetch_ads(self, seller: str, days: list[dt.date], settled: set[dt.date]) -> None:
        per_day: dict[dt.date, list[dict[str, Any]]] = {d: [] for d in days}
        adv = self.api.creds.advertiser_id
        metrics = "prints,clicks,cost,direct_amount,indirect_amount,direct_units_quantity,indirect_units_quantity"
        for lo, hi in _spans(days, 90):
            pages = self.api.paged(f"/advertising/advertisers/{adv}/product_ads/items/search",
                                   {"date_from": lo.isoformat(), "date_to": hi.isoformat(), "metrics": metrics,
                                    "aggregation_type": "DAILY"}, 100)
            for page in pages:
                for r in page.get("results") or []:
                    d = dt.date.fromisoformat(str(r.get("date"))[:10])
                    if d in per_day:
                        per_day[d].append(r)
        for d, rows in per_day.items():
            self._fresh[("ads", d)] = {"paging": {"total": len(rows), "offset": 0, "limit": len(rows)},
                                       "results": rows}


_EMPTY: dict[str, Any] = {"visits": [], "ads": {"paging": {"total": 0}, "results": []}}


def _empty(kind: str, doc: Any) -> bool:
    return (kind == "visits" and not doc) or (kind == "ads" and not (doc or {}).get("results"))


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + DAY * k for k in range((end - start).days + 1)] if end >= start else []


def _spans(days: list[dt.date], max_len: int) -> list[tuple[dt.date, dt.date]]:
    """Contiguous runs of ``days``, each at most ``max_len`` long."""
    out: list[tuple[dt.date, dt.date]] = []
    for d in sorted(days):
        if out and d == out[-1][1] + DAY and (d - out[-1][0]).days < max_len:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def open_mercadolibre_source(env: Mapping[str, str], data_dir: Path, *, url: str | None = None,
                             budget: Budget | None = None, sleep: Callable[[float], None] = time.sleep,
                             today: Callable[[], dt.date] | None = None) -> MercadoLibreSource:
    creds = MercadoLibreCredentials.from_env(env)
    base = url or str(env.get("MERCADOLIBRE_API_URL") or "").strip() or DEFAULT_URL
    state = Path(data_dir) / "mercadolibre"
    api = MercadoLibreApi(creds, base, state, budget=budget, sleep=sleep)
    return MercadoLibreSource(api, state / "cache", today=today)


def mercadolibre_configured(env: Mapping[str, str]) -> bool:
    return any(str(env.get(n) or "").strip() for n in ML_ENV)
