"""Live Mercado Libre México (MLM) through its public REST API (docs/mercado-libre.md cites the pages).

Set-up: ``MERCADOLIBRE_CLIENT_ID`` and ``MERCADOLIBRE_CLIENT_SECRET`` (the application), and the seller's
connection — made once with ``sheets-sync connect mercadolibre`` (stored under ``<data_dir>/tokens``), or seeded
from ``MERCADOLIBRE_REFRESH_TOKEN``. Tokens go through :mod:`sheets_sync.tokens` (see
:mod:`.mercadolibre_api`). Nothing here needs Amazon's variables.

What one sync reads, family by family (Mexico City days). A family that fails costs only its own figures and is
named in the Sync Log; the others are written:

* ``/users/me`` — the seller id and ``seller_reputation`` (account health). Everything else needs the seller
  id, so this one call failing ends the source;
* **orders** — ``/orders/search`` per day, 50 a page. Its date filters keep only the hour, so a day is asked as
  [00:00, next day 00:00] in Mexico City time and the client drops the orders that are not of that day (the end is
  inclusive); answers carry their own offsets (−04:00) and are put on Mexico City days. Each order's shipment
  (``/shipments/{id}`` with ``x-format-new`` for its ``logistic.type`` — Full is ``fulfillment`` — and
  ``/shipments/{id}/costs`` for what the seller paid) is read in parallel within the rate limit;
* **listings** — ``/users/{id}/items/search`` (100 a page) and ``/items?ids=`` (20 at a time): the listings for
  visits and their Full ``inventory_id``;
* **visits** — ``/items/{id}/visits/time_window?unit=day`` per listing, ≤ 150 days a call; ``ending`` is
  exclusive, so it is the day after the last day wanted;
* **ads** — Product Ads v2: ``/advertising/advertisers?product_id=PADS`` (``Api-Version: 1``) gives the
  advertiser for MLM, then per run of ≤ 90 days (Product Ads keeps 90 days back):
  ``/advertising/MLM/advertisers/{adv}/product_ads/campaigns/search``, ``.../ads/search?filters[campaign_id]=``
  (the listings a campaign advertised in the range) and ``.../ads/search?filters[item_id]=&aggregation_type=DAILY``
  (each advertised listing's days), all with ``api-version: 2``, 50 a page;
* **stock** — ``/inventories/{id}/stock/fulfillment`` per Full listing (a snapshot, never cached).

Days older than :data:`SETTLE_DAYS` are settled: ``<data_dir>/mercadolibre/days/<seller>/<day>.json`` keeps, per
day, the families whose fetch was complete (a day whose shipments could not all be read is not kept, so the next
sync reads it again); newer days are provisional. Each document becomes a
:class:`~sheets_sync.frames.RawReport` parsed by :mod:`sheets_sync.sources.parsing.ml_api`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import ConfigError, Problem, SheetsSyncError
from ..frames import RawReport
from ..localize import say
from ..tokens import TokenLockTimeout
from .amazon_common import Budget, LocalBudget, runs
from .base import FetchRequest, Source
from .mercadolibre_api import (
    RATE,
    TOKEN_KEY,
    MercadoLibreApi,
    MercadoLibreApp,
    MercadoLibreForbidden,
    MercadoLibreHttpError,
    adopt_legacy_token,
    token_store,
)

SETTLE_DAYS = 3                 # a local day this many days old or older is settled (cached)
ADS_DAYS_BACK = 90              # Product Ads answers metrics for the last 90 days only
VISITS_SPAN = 150               # days one visits call may cover
SHIPMENTS_KEPT = 120            # days a read shipment is remembered (so provisional days re-read cost little)
WORKERS = 4                     # shipments read at once (pacing is shared, so this only hides latency)
TZ = ZoneInfo("America/Mexico_City")
DAY = dt.timedelta(days=1)
ADS_V2 = {"api-version": "2"}
ADS_METRICS = "clicks,prints,cost,direct_amount,indirect_amount,direct_units_quantity,indirect_units_quantity"
WHERE = "Mercado Libre API"


def lost(family: str) -> str:
    """What a failed family costs, as the Sync Log says it (``ml.lost_*`` of sheets_sync/i18n/labels_*.yaml)."""
    return say(f"ml.lost_{family}", "en")


def cause_of(exc: Exception) -> str:
    """The Sync Log's words for why a family failed (each a line of the catalogs, translated with the tab)."""
    if isinstance(exc, MercadoLibreForbidden):
        return say("ml.refused", "en", reason=exc.code)
    if isinstance(exc, MercadoLibreHttpError) and exc.status == 404 and "No permissions found" in exc.message:
        return say("ml.no_ads", "en")
    if isinstance(exc, MercadoLibreHttpError):
        return say("ml.http", "en", reason=f"{exc.status} {exc.code}".strip(), what=exc.path)
    return str(exc)


def _auth_level(exc: Exception) -> bool:
    """Failures every family shares (the connection itself): they end the source."""
    return isinstance(exc, ConfigError | TokenLockTimeout)


class DayCache:
    """Settled days: one JSON file per (seller, day) holding the families whose fetch was complete."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, seller: str, day: dt.date) -> Path:
        return self.root / seller / f"{day.isoformat()}.json"

    def load(self, seller: str, day: dt.date) -> dict[str, Any]:
        try:
            raw = json.loads(self._path(seller, day).read_text(encoding="utf-8"))
            return dict(raw.get("families") or {})
        except (OSError, ValueError, AttributeError):
            return {}

    def put(self, seller: str, day: dt.date, family: str, doc: Any) -> None:
        families = self.load(seller, day)
        families[family] = doc
        _write(self._path(seller, day), {"version": 2, "day": day.isoformat(), "families": families})

    def shipments(self, seller: str) -> dict[str, dict[str, Any]]:
        """Shipments read before (a shipment's logistic type and cost do not change): the provisional days a
        sync reads again cost only their new shipments."""
        try:
            return dict(json.loads((self.root / seller / "shipments.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return {}

    def keep_shipments(self, seller: str, read: dict[str, dict[str, Any]], since: dt.date) -> None:
        """Add ``read`` (each with its order's ``day``) and forget shipments of days before ``since``."""
        known = {**self.shipments(seller), **read}
        _write(self.root / seller / "shipments.json",
               {sid: v for sid, v in known.items() if str(v.get("day", "")) >= since.isoformat()})


def _write(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + DAY * k for k in range((end - start).days + 1)] if end >= start else []


def _local_day(stamp: Any) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(TZ).date()
    except ValueError:
        return None


def _span(days: Iterable[dt.date]) -> str:
    ds = sorted(days)
    return ds[0].isoformat() if len(ds) == 1 else f"{ds[0].isoformat()}..{ds[-1].isoformat()}"


class MercadoLibreSource(Source):
    name = "mercadolibre"

    def __init__(self, api: MercadoLibreApi, cache_dir: Path, *, today: Callable[[], dt.date] | None = None,
                 workers: int = WORKERS):
        super().__init__()
        self.api = api
        self.cache = DayCache(cache_dir)
        self.workers = max(1, workers)
        self._today = today or (lambda: dt.datetime.now(TZ).date())
        self.pending: list[str] = []
        self.cached_days = 0

    @property  # type: ignore[override]
    def api_calls(self) -> int:
        return self.api.api_calls

    @api_calls.setter
    def api_calls(self, value: int) -> None:     # Source declares a class attribute
        pass

    def _failed(self, family: str, exc: Exception, days: Iterable[dt.date] = ()) -> None:
        if _auth_level(exc):
            raise exc
        ds = list(days)
        self.problems.append(Problem(WHERE, _span(ds) if ds else None, cause_of(exc), lost(family), "error"))

    # ------------------------------------------------------------------------------------------- collect
    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        """The store's documents; what cannot be read is named in ``problems`` and the rest still comes (the
        connection itself failing stops here, without taking another store's sync with it)."""
        if "MLM" not in request.marketplaces:
            return
        try:
            yield from self._collect(request)
        except SheetsSyncError as exc:
            self.problems.append(Problem(WHERE, None, cause_of(exc), lost("all"), "error"))

    def _collect(self, request: FetchRequest) -> Iterator[RawReport]:
        today = self._today()
        user = self.api.get("/users/me")
        seller = str(user.get("id"))
        yield self._raw("mercadolibre:users/me", user)
        period = _days(request.start, min(request.end, today))
        # last period's days, for comparisons: their orders without shipments (GMV, units and orders are what a
        # comparison reads; the shipments are the costly part of a day)
        compare = sorted(set(_days(*request.comparison)) - set(period)) if request.comparison else []
        days = sorted({*period, *compare})
        settled = {d for d in days if d <= today - SETTLE_DAYS * DAY}
        cached = {d: self.cache.load(seller, d) for d in sorted(settled)}
        self.cached_days = sum(len(f) for f in cached.values())

        def fresh(family: str, among: list[dt.date], *also: str) -> list[dt.date]:
            return [d for d in among if not {family, *also} & set(cached.get(d, {}))]

        def documents(family: str, among: list[dt.date], new: Mapping[dt.date, Any], complete: set[dt.date],
                      name: str | None = None) -> Iterator[RawReport]:
            for d in among:
                have = cached.get(d, {})
                doc = have.get(family, have.get(name or family))
                if doc is None and d in new:
                    doc = new[d]
                    if d in settled and d in complete:
                        self.cache.put(seller, d, family, doc)
                if doc and (family != "ads" or doc["results"]):     # nothing to read on a day without ads
                    yield self._raw(f"mercadolibre:{name or family}:{d.isoformat()}", doc,
                                    frozenset() if d in settled else frozenset({d}))

        request.progress(say("ml.progress_orders", "en", n=len(fresh("orders", period))))
        orders, complete = self._orders(seller, fresh("orders", period))
        yield from documents("orders", period, orders, complete)
        lite, complete = self._orders(seller, fresh("orders_lite", compare, "orders"), shipments=False)
        yield from documents("orders_lite", compare, lite, complete, name="orders")
        items = self._listings(seller)
        if items is not None:
            visits, complete = self._visits([i["id"] for i in items], fresh("visits", days))
            yield from documents("visits", days, visits, complete)
        ads, complete = self._ads(fresh("ads", days), today)
        yield from documents("ads", days, ads, complete)
        if items is not None:
            stock = self._stock([i["inventory_id"] for i in items if i.get("inventory_id")])
            if stock is not None:
                yield self._raw("mercadolibre:full_stock", stock)

    @staticmethod
    def _raw(name: str, doc: Any, provisional: frozenset[dt.date] = frozenset()) -> RawReport:
        return RawReport(name=name, data=json.dumps(doc, ensure_ascii=False).encode("utf-8"), marketplace_hint="MLM",
                         fetched_at=time.time(), provisional_days=provisional)

    # -------------------------------------------------------------------------------------------- orders
    def _orders(self, seller: str, days: list[dt.date], shipments: bool = True
                ) -> tuple[dict[dt.date, Any], set[dt.date]]:
        """Each day's ``/orders/search`` pages, their shipments attached under ``"shipments"`` (unless not
        wanted); the days whose orders and shipments were all read."""
        pages: dict[dt.date, list[dict[str, Any]]] = {}
        failed: dict[str, tuple[Exception, list[dt.date]]] = {}     # cause → (error, days)
        for d in days:
            lo = dt.datetime.combine(d, dt.time(0), TZ)
            hi = dt.datetime.combine(d + DAY, dt.time(0), TZ)
            try:
                got = self.api.paged("/orders/search", {
                    "seller": seller, "order.date_created.from": lo.isoformat(timespec="milliseconds"),
                    "order.date_created.to": hi.isoformat(timespec="milliseconds"), "sort": "date_asc"}, 50)
            except SheetsSyncError as exc:
                if _auth_level(exc):
                    raise
                failed.setdefault(cause_of(exc), (exc, []))[1].append(d)
                continue
            for page in got:        # the end is inclusive to the hour: the next day's first orders come too
                page["results"] = [o for o in page.get("results") or [] if _local_day(o.get("date_created")) == d]
            pages[d] = got
        for error, ds in failed.values():
            self._failed("orders", error, ds)
        if not shipments:
            return pages, set(pages)
        day_of = {str(o["shipping"]["id"]): d.isoformat() for d, p in pages.items() for page in p
                  for o in page["results"] if (o.get("shipping") or {}).get("id")}
        sids = sorted(day_of)
        known = self.cache.shipments(seller)
        fresh = {sid: {**info, "day": day_of[sid]}
                 for sid, info in self._shipments(seller, [s for s in sids if s not in known]).items()}
        read = {**{sid: known[sid] for sid in sids if sid in known}, **fresh}
        if fresh:
            self.cache.keep_shipments(seller, fresh, min(pages) - SHIPMENTS_KEPT * DAY)
        complete: set[dt.date] = set()
        short: list[dt.date] = []
        for d, got in pages.items():
            ok = True
            for page in got:
                ids = {str((o.get("shipping") or {}).get("id")) for o in page["results"]} - {"None"}
                page["shipments"] = {sid: read[sid] for sid in sorted(ids) if sid in read}
                ok &= len(page["shipments"]) == len(ids)
            (complete.add(d) if ok else short.append(d))
        if short:
            missing = len(set(sids) - set(read))
            self.problems.append(Problem(WHERE, _span(short), say("ml.shipments", "en", n=missing),
                                         lost("shipments"), "warning"))
        return pages, complete

    def _shipments(self, seller: str, sids: list[str]) -> dict[str, dict[str, Any]]:
        """``{shipment id: {logistic_type, mode, seller_cost}}`` of the shipments that could be read."""
        def one(sid: str) -> dict[str, Any]:
            ship = self.api.get(f"/shipments/{sid}", headers={"x-format-new": "true"})
            costs = self.api.get(f"/shipments/{sid}/costs", headers={"x-format-new": "true"})
            logistic = ship.get("logistic") or {}
            return {"logistic_type": logistic.get("type") or ship.get("logistic_type"),
                    "mode": logistic.get("mode") or ship.get("mode"),
                    "seller_cost": sum(float(s.get("cost") or 0) for s in costs.get("senders") or []
                                       if str(s.get("user_id")) == seller)}

        out: dict[str, dict[str, Any]] = {}
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for sid, future in [(sid, pool.submit(one, sid)) for sid in sids]:
                try:
                    out[sid] = future.result()
                except SheetsSyncError as exc:
                    if _auth_level(exc):
                        raise
        return out

    # ------------------------------------------------------------------------------------ listings, stock
    def _listings(self, seller: str) -> list[dict[str, Any]] | None:
        try:
            ids = [i for p in self.api.paged(f"/users/{seller}/items/search", {}, 100) for i in p.get("results") or []]
            out = []
            for k in range(0, len(ids), 20):
                answer = self.api.get("/items", {"ids": ",".join(ids[k:k + 20]),
                                                 "attributes": "id,title,seller_custom_field,inventory_id,status"})
                out += [entry["body"] for entry in answer.get("_list", []) if entry.get("code") == 200]
            return out
        except SheetsSyncError as exc:
            self._failed("listings", exc)
            return None

    def _stock(self, inventories: list[str]) -> list[Any] | None:
        try:
            return [self.api.get(f"/inventories/{inv}/stock/fulfillment") for inv in inventories]
        except SheetsSyncError as exc:
            self._failed("stock", exc)
            return None

    # -------------------------------------------------------------------------------------------- visits
    def _visits(self, items: list[str], days: list[dt.date]) -> tuple[dict[dt.date, Any], set[dt.date]]:
        per_day: dict[dt.date, list[dict[str, Any]]] = {}
        for lo, hi in runs(days, VISITS_SPAN):
            got: dict[dt.date, list[dict[str, Any]]] = {d: [] for d in _days(lo, hi)}
            try:
                for item in items:      # ending is exclusive: the day after the last day wanted
                    doc = self.api.get(f"/items/{item}/visits/time_window",
                                       {"last": (hi - lo).days + 1, "unit": "day", "ending": (hi + DAY).isoformat()})
                    for r in doc.get("results") or []:
                        d = dt.date.fromisoformat(str(r.get("date"))[:10])
                        if d in got:
                            got[d].append({"item_id": item, "total_visits": r.get("total", 0), "results": [r]})
            except SheetsSyncError as exc:
                self._failed("visits", exc, got)
                continue
            per_day.update(got)
        return per_day, set(per_day)

    # ---------------------------------------------------------------------------------------- Product Ads
    def _advertiser(self) -> str | None:
        answer = self.api.get("/advertising/advertisers", {"product_id": "PADS"}, {"Api-Version": "1"})
        return next((str(a["advertiser_id"]) for a in answer.get("advertisers") or [] if a.get("site_id") == "MLM"),
                    None)

    def _ads(self, days: list[dt.date], today: dt.date) -> tuple[dict[dt.date, Any], set[dt.date]]:
        """Each day's Product Ads metrics per listing: ``{advertiser_id, site_id, date, results: [{item_id,
        date, metrics}]}`` (an empty ``results`` is a day without ads, not a missing day)."""
        if not days:
            return {}, set()
        oldest = today - ADS_DAYS_BACK * DAY
        old = [d for d in days if d < oldest]
        if old:
            self.problems.append(Problem(WHERE, _span(old), say("ml.ads_old", "en"), lost("ads"), "warning"))
        days = [d for d in days if d >= oldest]
        if not days:
            return {}, set()
        try:
            adv = self._advertiser()
        except SheetsSyncError as exc:
            self._failed("ads", exc, days)
            return {}, set()
        if adv is None:
            self._failed("ads", MercadoLibreHttpError(404, "/advertising/advertisers", "not_found",
                                                      "No permissions found for user_id (no MLM advertiser)"), days)
            return {}, set()
        base = f"/advertising/MLM/advertisers/{adv}/product_ads"
        out: dict[dt.date, Any] = {}
        for lo, hi in runs(days, ADS_DAYS_BACK):
            span = {"date_from": lo.isoformat(), "date_to": hi.isoformat()}
            got: dict[dt.date, dict[str, Any]] = {
                d: {"advertiser_id": adv, "site_id": "MLM", "date": d.isoformat(), "results": []}
                for d in _days(lo, hi)}
            try:
                campaigns = [c["id"] for p in self.api.paged(f"{base}/campaigns/search", {**span, "metrics": "cost"},
                                                             50, ADS_V2) for c in p.get("results") or []]
                advertised: set[str] = set()
                for c in campaigns:
                    for p in self.api.paged(f"{base}/ads/search", {**span, "filters[campaign_id]": c,
                                                                  "metrics": "cost,prints,clicks"}, 50, ADS_V2):
                        advertised |= {str(a["item_id"]) for a in p.get("results") or []
                                       if any(float(v or 0) for v in (a.get("metrics") or {}).values())}
                for item in sorted(advertised):
                    for p in self.api.paged(f"{base}/ads/search", {**span, "filters[item_id]": item,
                                                                  "aggregation_type": "DAILY",
                                                                  "metrics": ADS_METRICS}, 50, ADS_V2):
                        for row in p.get("results") or []:
                            d = dt.date.fromisoformat(str(row.get("date"))[:10])
                            if d in got:
                                got[d]["results"].append({"item_id": item, "date": d.isoformat(), "metrics": {
                                    k: v for k, v in row.items() if k != "date"}})
            except SheetsSyncError as exc:
                self._failed("ads", exc, got)
                continue
            out.update(got)
        return out, set(out)


def pacing(env: Mapping[str, str]) -> tuple[float, int]:
    """(calls a second, burst): ``MERCADOLIBRE_REQUESTS_PER_SECOND`` when the operator's quota was raised (Mercado
    Libre raises it per application on request), else :data:`~.mercadolibre_api.RATE`."""
    raw = str(env.get("MERCADOLIBRE_REQUESTS_PER_SECOND") or "").strip()
    if not raw:
        return RATE["mercadolibre"]
    try:
        rate = float(raw)
        if not 0 < rate <= 1000:
            raise ValueError
    except ValueError:
        raise ConfigError(say("ml.rate", "en", raw=raw)) from None
    return rate, max(1, int(rate))


def mercadolibre_configured(env: Mapping[str, str]) -> bool:
    """The operator set up Mercado Libre (its application's id)."""
    return bool(str(env.get("MERCADOLIBRE_CLIENT_ID") or "").strip())


def open_mercadolibre_source(env: Mapping[str, str], data_dir: Path, *, budget: Budget | None = None,
                             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                             today: Callable[[], dt.date] | None = None, workers: int = WORKERS,
                             store: Any = None, key: str = TOKEN_KEY) -> MercadoLibreSource:
    """The Mercado Libre source of ``env``'s application and the connection in ``store`` (default: the
    operator's, ``<data_dir>/tokens``). Raises :class:`~sheets_sync.errors.ConfigError` naming what is missing."""
    app = MercadoLibreApp.from_env(env)
    seed = str(env.get("MERCADOLIBRE_REFRESH_TOKEN") or "").strip() or None
    state_dir = Path(data_dir) / "mercadolibre"
    if store is None:
        store = token_store(data_dir)
        adopt_legacy_token(store, key, app, state_dir / "token.json")
        if seed is None and store.load(key) is None:
            raise ConfigError(say("ml.not_connected", "en"))
    if budget is None:
        budget = LocalBudget({"mercadolibre": pacing(env)})
    api = MercadoLibreApi(app, store, key=key, seed=seed, budget=budget, sleep=sleep, clock=clock)
    return MercadoLibreSource(api, state_dir / "days", today=today, workers=workers)


__all__ = ["MercadoLibreSource", "cause_of", "mercadolibre_configured", "open_mercadolibre_source"]
