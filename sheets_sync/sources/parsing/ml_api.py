"""Mercado Libre's public REST API documents (what :mod:`sheets_sync.sources.mercadolibre` fetches, or the same
JSON saved into the reports folder):

* ``ml_api_orders`` — ``/orders/search`` pages (``results`` of orders with ``order_items``, ``paging``):
  gmv = Σ unit_price × quantity, units, orders, ml_fees = Σ sale_fee × quantity; days from ``date_created``
  (which carries its offset) in Mexico City; cancelled orders left out; an order seen twice (two pages, two
  files) counts once. sheets-sync adds to each page ``"shipments": {id: {"logistic_type", "mode",
  "seller_cost"}}`` from ``/shipments/{id}`` and ``/shipments/{id}/costs``: ml_shipping_cost = the seller's cost
  of the order's shipment (spread over its items by amount), full_units = the units of orders whose shipment's
  logistic type is ``fulfillment`` (Full). A page saved without them gives no full_units (unknown, not 0);
* ``ml_api_visits`` — ``/items/{id}/visits/time_window`` answers (one per listing, or a list): visits per day;
* ``ml_api_product_ads`` — Product Ads metrics per listing and day (``results`` of ``{item_id, date, metrics:
  {prints, clicks, cost, direct_amount, indirect_amount, direct_units_quantity, indirect_units_quantity}}``); the
  day documents sheets-sync composes also carry ``advertiser_id`` and ``date`` (one without ``results`` is a day
  without ad activity);
* ``ml_api_reputation`` — ``/users/{id}`` (``seller_reputation``): claims, cancellations and delayed handling
  rates of its window, colour level (``5_green`` → 5 … ``1_red`` → 1) and MercadoLíder status (platinum 3,
  gold 2, silver 1, none 0), as the store's account health;
* ``ml_api_full_stock`` — ``/inventories/{id}/stock/fulfillment`` answers (a list, each with its listing in
  ``external_references``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .ml_common import MLM, daily_batch, local_days_from_api
from .registry import json_layout, kinds

kinds(ml_api_orders="traffic", ml_api_visits="visits", ml_api_product_ads="ads", ml_api_reputation="health",
      ml_api_full_stock="inventory")

LEVELS = {"5_green": 5.0, "4_light_green": 4.0, "3_yellow": 3.0, "2_orange": 2.0, "1_red": 1.0}
LIDER = {"platinum": 3.0, "gold": 2.0, "silver": 1.0}


def _orders(raw: RawReport, pages: list[dict[str, Any]]) -> ReportBatch:
    seen: set[str] = set()
    rows = []
    cancelled = repeated = unknown = 0
    shipments = {str(k): v for page in pages for k, v in (page.get("shipments") or {}).items()}
    for page in pages:
        for o in page.get("results") or []:
            oid = str(o.get("id"))
            if oid in seen:
                repeated += 1
                continue
            seen.add(oid)
            if str(o.get("status", "")).casefold() == "cancelled":
                cancelled += 1
                continue
            items = o.get("order_items") or []
            total = sum(float(i.get("unit_price") or 0) * float(i.get("quantity") or 0) for i in items) or 1.0
            shipment = shipments.get(str((o.get("shipping") or {}).get("id")))
            ship = float(shipment["seller_cost"] if shipment else o.get("shipping_cost_seller") or 0.0)
            full = None if shipment is None else shipment.get("logistic_type") == "fulfillment"
            unknown += full is None
            for i in items:
                q = float(i.get("quantity") or 0)
                amount = float(i.get("unit_price") or 0) * q
                item = i.get("item") or {}
                rows.append({"ts": o.get("date_created"), "asin": str(item.get("id", "")).upper(),
                             "sku": str(item.get("seller_sku") or ""), "title": str(item.get("title") or ""),
                             "sale": oid, "gmv": amount, "units": q,
                             "ml_fees": float(i.get("sale_fee") or 0) * q, "ml_shipping_cost": ship * amount / total,
                             "full_units": np.nan if full is None else q * full})
    df = pd.DataFrame(rows, columns=["ts", "asin", "sku", "title", "sale", "gmv", "units", "ml_fees",
                                     "ml_shipping_cost", "full_units"])
    df["date"] = local_days_from_api(df["ts"]) if len(df) else pd.Series(dtype="datetime64[ns]")
    df["orders"] = (~df.duplicated(["date", "asin", "sale"])).astype(float)
    notes = []
    if cancelled:
        notes.append(f"{cancelled} cancelled order(s) left out")
    if repeated:
        notes.append(f"{repeated} order(s) seen twice counted once")
    if unknown and shipments:
        notes.append(f"orders without their shipment, left out of the Full share: {unknown}")
    return daily_batch(raw, df, "ml_api_orders", "traffic", ["gmv", "units", "orders", "ml_fees", "ml_shipping_cost",
                                                             "full_units"], notes, {"format": "json"})


def _visits(raw: RawReport, docs: list[dict[str, Any]]) -> ReportBatch:
    rows = []
    for d in docs:
        for r in d.get("results") or []:
            rows.append({"date": str(r.get("date", ""))[:10], "asin": str(d.get("item_id", "")).upper(),
                         "visits": float(r.get("total") or 0)})
    df = pd.DataFrame(rows, columns=["date", "asin", "visits"])
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce")
    return daily_batch(raw, df[df["date"].notna()], "ml_api_visits", "visits", ["visits"], [], {"format": "json"})


def _product_ads(raw: RawReport, doc: dict[str, Any]) -> ReportBatch:
    rows = []
    for r in doc.get("results") or []:
        m = r.get("metrics") or {}
        orders = float(m.get("direct_units_quantity") or 0) + float(m.get("indirect_units_quantity") or 0)
        rows.append({"date": str(r.get("date", ""))[:10], "asin": str(r.get("item_id", "")).upper(),
                     "ad_spend": float(m.get("cost") or 0),
                     "ad_sales": float(m.get("direct_amount") or 0) + float(m.get("indirect_amount") or 0),
                     "ad_orders": orders, "ad_units": orders, "ad_clicks": float(m.get("clicks") or 0),
                     "ad_impressions": float(m.get("prints") or 0)})
    df = pd.DataFrame(rows, columns=["date", "asin", "ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks",
                                     "ad_impressions"])
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce")
    return daily_batch(raw, df[df["date"].notna()], "ml_api_product_ads", "ads",
                       ["ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions"], [],
                       {"format": "json", "attribution_windows": [], "ad_sales_window": "mercadolibre"})


def _window(period: Any, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """'60 days' → the 60 days up to today (Mercado Libre's reputation windows end at the moment of the call)."""
    try:
        n = int(str(period).split()[0])
    except (ValueError, IndexError):
        return None, None
    return today - dt.timedelta(days=n - 1), today


def _reputation(raw: RawReport, doc: dict[str, Any]) -> ReportBatch:
    rep = doc.get("seller_reputation") or {}
    metrics = rep.get("metrics") or {}
    today = dt.datetime.fromtimestamp(raw.fetched_at or 0, dt.UTC).date() if raw.fetched_at else None
    health: dict[str, dict[str, Any]] = {}
    for key, name in (("claims", "ml_claims_rate"), ("cancellations", "ml_cancellations_rate"),
                      ("delayed_handling_time", "ml_delayed_handling_rate")):
        m = metrics.get(key) or {}
        if m.get("rate") is None:
            continue
        start, end = _window(m.get("period"), today) if today else (None, None)
        health[name] = {"rate": float(m["rate"]), "count": int(m.get("value") or 0),
                        "orders": int((metrics.get("sales") or {}).get("completed") or 0), "from": start, "to": end}
    if rep.get("level_id") in LEVELS:
        health["ml_reputation_level"] = {"rate": LEVELS[rep["level_id"]], "count": 0, "orders": 0,
                                         "from": None, "to": None}
    health["mercadolider_level"] = {"rate": LIDER.get(str(rep.get("power_seller_status") or "").casefold(), 0.0),
                                    "count": 0, "orders": 0, "from": None, "to": None}
    if not rep:
        raise ReportFormatError(raw.name, "a Mercado Libre user without seller_reputation; expected /users/{id} "
                                "of the selling account")
    return ReportBatch(source=raw.name, kind="ml_api_reputation", family="health", marketplace=MLM, health=health,
                       extras={"format": "json", "level_id": rep.get("level_id"),
                               "power_seller_status": rep.get("power_seller_status")})


def _full_stock(raw: RawReport, docs: list[dict[str, Any]]) -> ReportBatch:
    rows = []
    for d in docs:
        refs = [r for r in d.get("external_references") or [] if r.get("type") == "item"]
        item = str(refs[0].get("id", "")).upper() if refs else ""
        rows.append({"asin": item, "sku": "", "title": "",
                     "fulfillable_units": float(d.get("available_quantity") or 0),
                     "reserved_units": float(d.get("not_available_quantity") or 0), "inbound_units": 0.0})
    df = pd.DataFrame(rows, columns=["asin", "sku", "title", "fulfillable_units", "inbound_units", "reserved_units"])
    df = df[df["asin"] != ""]
    g = df.groupby("asin", sort=True)
    out = g[["fulfillable_units", "inbound_units", "reserved_units"]].sum().reset_index()
    out.insert(0, "date", pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]"))
    out["sku"], out["title"], out["parent_asin"] = "", "", ""
    out = out[["date", "asin", "sku", "title", "parent_asin", "fulfillable_units", "inbound_units", "reserved_units"]]
    return ReportBatch(source=raw.name, kind="ml_api_full_stock", family="inventory", marketplace=MLM,
                       asin_rows=out, extras={"format": "json", "snapshot": True})


def _is_order_page(d: Any) -> bool:
    """An /orders/search page: orders with order_items, or an empty page (it still has its sort options)."""
    res = d.get("results")
    if not isinstance(res, list) or "paging" not in d:
        return False
    if not res:
        return "available_sorts" in d or "sort" in d
    return all(isinstance(o, dict) and "order_items" in o for o in res)


@json_layout(order=40)
def recognise(raw: RawReport, doc: Any) -> list[ReportBatch] | None:
    docs = doc if isinstance(doc, list) else [doc]
    if not docs or not all(isinstance(d, dict) for d in docs):
        return None
    first = docs[0]
    if all(_is_order_page(d) for d in docs):
        return [_orders(raw, docs)]
    if all("item_id" in d and isinstance(d.get("results"), list) and "total_visits" in d for d in docs):
        return [_visits(raw, docs)]
    if len(docs) == 1 and isinstance(first.get("results"), list) and (first["results"] or "advertiser_id" in first) \
            and all(isinstance(r, dict) and "item_id" in r and "metrics" in r for r in first["results"]):
        return [_product_ads(raw, first)]
    if len(docs) == 1 and "seller_reputation" in first:
        return [_reputation(raw, first)]
    if all("inventory_id" in d and "available_quantity" in d for d in docs):
        return [_full_stock(raw, docs)]
    return None
