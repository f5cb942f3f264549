"""Walmart Marketplace API documents (what :mod:`sheets_sync.sources.walmart` fetches, or the same JSON saved into
the reports folder, as Walmart answers it or as sheets-sync saves it with a small wrapper naming the market and
day):

* ``wm_api_orders`` — ``GET /v3/orders`` pages (US: ``list.elements.order``, ``list.meta.nextCursor``; México:
  ``order`` and ``meta.nextCursorMark``), or ``{"walmartOrders": {"market", "day"}, "pages": {shipNodeType:
  [pages]}}``. Per order line: units = the line quantity less the quantity whose status is ``Cancelled``;
  gmv = the line's ``PRODUCT`` charge (US: ``chargeAmount``, which excludes tax; México: ``item.unitPrice`` ×
  quantity, which includes IVA) for the units not cancelled; order_tax = that charge's tax (México: IVA); orders
  = distinct purchase orders per SKU and day; fba_units = the units of WFS orders (``shipNode.type`` =
  ``WFSFulfilled``, or the WFS order list in México). A wholly cancelled line is left out and counted in a note.
  Days: ``orderDate`` (US: epoch ms, UTC day; México: its −06:00 offset, Mexico City day). With the wrapper, only
  the rows of its ``day`` are kept (an order Walmart returned at a boundary belongs to the next day's document);
* ``wm_api_returns`` — ``GET /v3/returns`` pages (``returnOrders``) or ``{"walmartReturns": …, "pages": […]}``:
  units_returned = each return line's quantity, units_refunded = its ``refundedQty``, dated by ``returnOrderDate``;
* ``wm_api_inventory`` — ``{"walmartInventory": {"market"}, "inventories": [pages of GET /v3/inventories],
  "wfs": [pages of GET /v3/fulfillment/inventory]}`` (or one such page alone): available-to-sell units per SKU
  (fulfillable), reserved units; a snapshot;
* ``wm_api_performance`` — ``{"walmartPerformance": {"market", "reportDuration", "asOf"}, "summaries": {"otd",
  "vtr", "cancellations", "refunds"}}``: the seller performance summaries (``cumulativeRate`` in percent) as
  the store's account health over Walmart's window;
* ``wm_api_ads`` — ``{"walmartAdItemReport": {"attributionWindows": […]}, "rows": [...], "itemSkus": {itemId:
  sku}}``: the Sponsored Search ``adItem`` snapshot rows with the item ids mapped to SKUs (see
  :mod:`.wm_reports` for the rows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .registry import json_layout, kinds
from .wm_common import MARKET_OF, WMMX, WMUS, as_list, daily_batch, local_day, money, sku_key, snapshot_batch

kinds(wm_api_orders="traffic", wm_api_order_lines="orders", wm_api_returns="returns", wm_api_inventory="inventory",
      wm_api_performance="health", wm_api_ads="ads")

TRAFFIC = ["gmv", "units", "orders"]
ORDER_METRICS = ["fba_units", "order_units", "order_sales", "order_tax", "units_cancelled"]
# The seller performance summaries and the KPI each one is.
PERFORMANCE = {"otd": "wm_on_time_delivery_rate", "vtr": "wm_valid_tracking_rate",
               "cancellations": "wm_cancellation_rate", "refunds": "wm_refund_rate"}


def _qty(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("amount", value.get("measurementValue"))
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _line_rows(order: dict[str, Any], marketplace: str, wfs_default: bool) -> tuple[list[dict[str, Any]], int]:
    """One row per order line (its units not cancelled); and how many lines were wholly cancelled."""
    po = str(order.get("purchaseOrderId") or "")
    day = local_day(order.get("orderDate"), marketplace)
    node = str((order.get("shipNode") or {}).get("type") or "")
    wfs = node == "WFSFulfilled" if node else wfs_default
    rows, cancelled_lines = [], 0
    for line in as_list(order.get("orderLines"), "orderLine"):
        qty = _qty(line.get("orderLineQuantity"))
        statuses = as_list(line.get("orderLineStatuses"), "orderLineStatus") or as_list(line.get("orderLineStatus"))
        cancelled = sum(_qty(s.get("statusQuantity")) for s in statuses
                        if str(s.get("status", "")).casefold() == "cancelled")
        kept = max(qty - cancelled, 0.0)
        item = line.get("item") or {}
        product = tax = 0.0
        for ch in as_list(line.get("charges"), "charge"):
            if str(ch.get("chargeType", "")).upper() != "PRODUCT":
                continue
            amount = ch.get("chargeAmount")
            product += money(amount) if amount is not None else money(item.get("unitPrice")) * qty
            tax += sum(money(t.get("taxAmount")) for t in as_list(ch.get("tax")))
        share = kept / qty if qty > 0 else 0.0
        if kept <= 0:
            cancelled_lines += 1
        rows.append({"date": day, "asin": sku_key(item.get("sku")), "sku": str(item.get("sku") or ""),
                     "title": str(item.get("productName") or ""), "po": po, "units": kept, "gmv": product * share,
                     "order_units": kept, "order_sales": product * share, "order_tax": tax * share,
                     "fba_units": kept if wfs else 0.0, "units_cancelled": cancelled})
    return rows, cancelled_lines


def _orders(raw: RawReport, groups: dict[str, list[Any]], marketplace: str, day: dt.date | None) -> list[ReportBatch]:
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    cancelled = repeated = 0
    for node, pages in groups.items():
        for page in pages:
            orders = as_list(((page.get("list") or {}).get("elements") or {}).get("order")) or as_list(
                page.get("order"))
            for o in orders:
                key = str(o.get("purchaseOrderId"))
                if key in seen:
                    repeated += 1
                    continue
                seen.add(key)
                got, n = _line_rows(o, marketplace, wfs_default=node in ("WFSFulfilled", "WFS"))
                rows += got
                cancelled += n
    df = pd.DataFrame(rows, columns=["date", "asin", "sku", "title", "po", *TRAFFIC[:2], *ORDER_METRICS])
    if day is not None and len(df):
        outside = df["date"] != day
        df = df[~outside]
    df = df[df["date"].notna()] if len(df) else df
    live = df[df["units"] > 0] if len(df) else df
    df["orders"] = 0.0
    if len(live):
        df.loc[live.index, "orders"] = (~live.duplicated(["date", "asin", "po"])).astype(float)
    notes = []
    if cancelled:
        notes.append(f"{cancelled} cancelled order line(s) left out")
    if repeated:
        notes.append(f"{repeated} order(s) seen twice counted once")
    extras = {"format": "json"}
    sold = df[df["units"] > 0] if len(df) else df
    return [daily_batch(raw, sold, "wm_api_orders", "traffic", TRAFFIC, marketplace, notes, extras),
            daily_batch(raw, df, "wm_api_order_lines", "orders", ORDER_METRICS, marketplace, [], extras)]


def _returns(raw: RawReport, pages: list[dict[str, Any]], marketplace: str | None) -> ReportBatch:
    rows, seen = [], set()
    currency = None
    for page in pages:
        for r in as_list(page.get("returnOrders")):
            rid = str(r.get("returnOrderId"))
            if rid in seen:
                continue
            seen.add(rid)
            currency = currency or (r.get("totalRefundAmount") or {}).get("currencyUnit")
            for line in as_list(r.get("returnOrderLines")):
                item = line.get("item") or {}
                rows.append({"ts": r.get("returnOrderDate"), "asin": sku_key(item.get("sku")),
                             "sku": str(item.get("sku") or ""), "title": str(item.get("productName") or ""),
                             "units_returned": _qty(line.get("quantity")), "units_refunded": _qty(line.get("refundedQty"))})
    mk = marketplace or (WMMX if currency == "MXN" else WMUS)
    df = pd.DataFrame(rows, columns=["ts", "asin", "sku", "title", "units_returned", "units_refunded"])
    df["date"] = [local_day(t, mk) for t in df["ts"]]
    df = df[df["date"].notna()]
    return daily_batch(raw, df, "wm_api_returns", "returns", ["units_returned", "units_refunded"], mk, [],
                       {"format": "json"})


def _inventory(raw: RawReport, seller_pages: list[Any], wfs_pages: list[Any], marketplace: str | None) -> ReportBatch:
    rows = []
    for page in seller_pages:
        for inv in as_list((page.get("elements") or {}).get("inventories")):
            for node in as_list(inv.get("nodes")):
                rows.append({"asin": sku_key(inv.get("sku")), "sku": str(inv.get("sku") or ""),
                             "fulfillable_units": _qty(node.get("availToSellQty")),
                             "reserved_units": _qty(node.get("reservedQty")), "inbound_units": 0.0})
    for page in wfs_pages:
        for inv in as_list((page.get("payload") or {}).get("inventory")):
            for node in as_list(inv.get("shipNodes")):
                rows.append({"asin": sku_key(inv.get("sku")), "sku": str(inv.get("sku") or ""),
                             "fulfillable_units": _qty(node.get("availToSellQty")), "reserved_units": 0.0,
                             "inbound_units": 0.0})
    df = pd.DataFrame(rows, columns=["asin", "sku", "fulfillable_units", "inbound_units", "reserved_units"])
    return snapshot_batch(raw, df, "wm_api_inventory", marketplace or WMUS, {"wfs_skus": sum(len(as_list(
        (p.get("payload") or {}).get("inventory"))) for p in wfs_pages)})


def _performance(raw: RawReport, meta: dict[str, Any], summaries: dict[str, Any]) -> ReportBatch:
    mk = MARKET_OF.get(str(meta.get("market", "us")).lower(), WMUS)
    try:
        as_of = dt.date.fromisoformat(str(meta.get("asOf"))[:10])
    except ValueError:
        as_of = None
    days = int(meta.get("reportDuration") or 30)
    health: dict[str, dict[str, Any]] = {}
    for name, kpi in PERFORMANCE.items():
        s = summaries.get(name)
        if not isinstance(s, dict) or s.get("cumulativeRate") is None:
            continue
        health[kpi] = {"rate": float(s["cumulativeRate"]) / 100.0, "count": int(s.get("impactedOrders") or 0),
                       "orders": int(s.get("totalOrders") or 0),
                       "from": as_of - dt.timedelta(days=days - 1) if as_of else None, "to": as_of,
                       "trend": str(s.get("cumulativeRateTrend") or "")}
    if not health:
        raise ReportFormatError(raw.name, "Walmart seller performance summaries without cumulativeRate; expected "
                                "the answers of /v3/insights/performance/{otd,vtr,cancellations,refunds}/summary")
    return ReportBatch(source=raw.name, kind="wm_api_performance", family="health", marketplace=mk, health=health,
                       extras={"format": "json", "report_duration": days})


def _orders_market(page: dict[str, Any]) -> str:
    return WMUS if "list" in page else WMMX


@json_layout(order=45)
def recognise(raw: RawReport, doc: Any) -> list[ReportBatch] | None:
    if isinstance(doc, list):
        if doc and all(isinstance(d, dict) and ("list" in d or ("order" in d and "meta" in d)) for d in doc):
            return _orders(raw, {"": doc}, _orders_market(doc[0]), None)
        if doc and all(isinstance(d, dict) and "returnOrders" in d for d in doc):
            return [_returns(raw, doc, None)]
        return None
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("walmartOrders"), dict):
        meta = doc["walmartOrders"]
        mk = MARKET_OF.get(str(meta.get("market", "us")).lower(), WMUS)
        day = dt.date.fromisoformat(meta["day"]) if meta.get("day") else None
        pages = doc.get("pages")
        groups = pages if isinstance(pages, dict) else {"": as_list(pages)}
        return _orders(raw, {k: as_list(v) for k, v in groups.items()}, mk, day)
    if isinstance(doc.get("list"), dict) and "elements" in doc["list"]:
        return _orders(raw, {"": [doc]}, WMUS, None)
    if isinstance(doc.get("order"), list) and "meta" in doc and all(
            isinstance(o, dict) and "purchaseOrderId" in o for o in doc["order"]):
        return _orders(raw, {"": [doc]}, WMMX, None)
    if isinstance(doc.get("walmartReturns"), dict):
        mk = MARKET_OF.get(str(doc["walmartReturns"].get("market", "us")).lower(), WMUS)
        return [_returns(raw, as_list(doc.get("pages")), mk)]
    if isinstance(doc.get("returnOrders"), list) and "meta" in doc:
        return [_returns(raw, [doc], None)]
    if isinstance(doc.get("walmartInventory"), dict):
        mk = MARKET_OF.get(str(doc["walmartInventory"].get("market", "us")).lower(), WMUS)
        return [_inventory(raw, as_list(doc.get("inventories")), as_list(doc.get("wfs")), mk)]
    if isinstance((doc.get("elements") or {}).get("inventories") if isinstance(doc.get("elements"), dict) else None,
                  list):
        return [_inventory(raw, [doc], [], None)]
    if isinstance(doc.get("payload"), dict) and isinstance(doc["payload"].get("inventory"), list):
        return [_inventory(raw, [], [doc], None)]
    if isinstance(doc.get("walmartPerformance"), dict):
        return [_performance(raw, doc["walmartPerformance"], doc.get("summaries") or {})]
    if isinstance(doc.get("walmartAdItemReport"), dict):
        from .wm_reports import ads_batch

        meta = doc["walmartAdItemReport"]
        mk = MARKET_OF.get(str(meta.get("market", "us")).lower(), WMUS)
        df = pd.DataFrame(as_list(doc.get("rows")))
        return [ads_batch(raw, df.astype(str) if len(df) else df, "json", mk, doc.get("itemSkus") or {},
                          kind="wm_api_ads")]
    return None
