"""A seeded Walmart US store (and, for the tests, a Walmart México one) for the demo and the tests: one data set,
two renderings.

``wm_dataset(period, through, seed, market)`` draws the store (items, orders with their lines, returns, inventory,
Sponsored Search ad rows, seller performance); ``write_wm_files(root / "WMUS", data)`` writes what a seller
downloads (the Item Performance report by day, the Sponsored Search adItem snapshot CSV) plus the returns,
inventory and seller-performance JSON as the API gives them; the local Walmart server
(:mod:`sheets_sync.testing.walmart_server`) serves the same data set through the API. So a sync from either gives
the same figures, and :func:`truth` is the hand computation both must meet.

Planted problems (US): one item out of stock (WFS and seller nodes at 0) while it sold earlier in the month; the
valid tracking rate below Walmart's standard; one item's refunds high. Some lines are cancelled (wholly or in
part), and a few orders are fulfilled by WFS.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..periods import Period

ADVERTISER_ID = 600100
SELLER_ID = "101010"
# Items: (seller SKU, Walmart item id, product name, category, tier, owner, price, unit cost USD)
ITEMS_US = [
    ("WM-BCB-02", "5100000201", "Bamboo Cutting Board Set of 3", "Kitchen", "mature", "Emily Chen", 27.99, 6.10),
    ("WM-SSS-01", "5100000101", "Stainless Steel Spatula Set", "Kitchen", "mature", "Emily Chen", 17.99, 3.40),
    ("WM-GFC-04", "5100000401", "Glass Food Containers 10-Pack", "Kitchen", "new", "Emily Chen", 34.99, 9.20),
    ("WM-LED-07", "5100000701", "LED Under Cabinet Lights", "Home", "mature", "Emily Chen", 24.99, 5.80),
    ("WM-RUG-09", "5100000901", "Washable Kitchen Rug", "Home", "clearance", "Emily Chen", 19.99, 4.90),
]
ITEMS_MX = [
    ("WMX-BCB-02", "7100000201", "Juego de Tablas de Bambú", "Kitchen", "mature", "Ana Ruiz", 549.0, 6.10),
    ("WMX-SSS-01", "7100000101", "Set de Espátulas de Acero", "Kitchen", "mature", "Ana Ruiz", 349.0, 3.40),
    ("WMX-GFC-04", "7100000401", "Contenedores de Vidrio 10 pzas", "Kitchen", "new", "Ana Ruiz", 699.0, 9.20),
]
US_TAX = 0.0725          # the sales tax the demo's buyers pay (Walmart US charges it apart from the price)
MX_IVA = 0.16            # included in Walmart México's prices
STOCKOUT_US = "WM-LED-07"
HIGH_REFUNDS_US = "WM-GFC-04"


def wm_dataset(period: Period, through: dt.date, seed: int = 11, market: str = "us") -> dict[str, Any]:
    """The store's data over ``period`` up to ``through`` (Walmart days: UTC for US, Mexico City for México)."""
    rng = np.random.default_rng(seed + (2000 if market == "us" else 3000))
    items = ITEMS_US if market == "us" else ITEMS_MX
    days = [d for d in period.days if d <= through]
    orders: list[dict[str, Any]] = []
    returns: list[dict[str, Any]] = []
    ads: list[dict[str, Any]] = []
    po = (1800000000000 if market == "us" else 900000000) + seed * 100000
    for d in days:
        mult = (2.5 if d.month == 11 and 24 <= d.day <= 30 else 1.0) * (1.15 if d.weekday() >= 5 else 1.0)
        for sku, item_id, name, _, tier, _, price, _ in items:
            lam = 2.2 * mult * (1.5 if tier == "mature" else 1.0)
            if sku == STOCKOUT_US and d >= through - dt.timedelta(days=4):
                lam = 0.0                              # out of stock at the end of the period
            for _ in range(int(rng.poisson(lam))):
                po += 1
                qty = 2 if rng.random() < 0.12 else 1
                cancelled = qty if rng.random() < 0.05 else (1 if qty == 2 and rng.random() < 0.2 else 0)
                node = "WFSFulfilled" if rng.random() < 0.35 else "SellerFulfilled"
                minute = int(rng.integers(0, 24 * 60))
                tax_rate = US_TAX if market == "us" else price * MX_IVA / (1 + MX_IVA) / price
                lines = [{"line": 1, "sku": sku, "name": name, "qty": qty, "cancelled": cancelled, "price": price,
                          "tax": round(price * qty * tax_rate, 2)}]
                if rng.random() < 0.1:                 # a second item in the same purchase order
                    other = items[int(rng.integers(0, len(items)))]
                    if other[0] != sku and not (other[0] == STOCKOUT_US and d >= through - dt.timedelta(days=4)):
                        lines.append({"line": 2, "sku": other[0], "name": other[2], "qty": 1, "cancelled": 0,
                                      "price": other[6], "tax": round(other[6] * tax_rate, 2)})
                orders.append({"po": str(po), "customer_order": str(po * 10 + 7), "day": d, "minute": minute,
                               "node": node, "lines": lines})
                kept = qty - cancelled
                refund_p = 0.12 if sku == HIGH_REFUNDS_US else 0.03
                if kept > 0 and d + dt.timedelta(days=3) <= through and rng.random() < refund_p:
                    rday = d + dt.timedelta(days=int(rng.integers(2, 4)))
                    returns.append({"id": str(po * 100 + 1), "po": str(po), "customer_order": str(po * 10 + 7),
                                    "day": rday, "minute": int(rng.integers(0, 24 * 60)), "sku": sku, "name": name,
                                    "qty": 1, "refunded": 1 if rng.random() < 0.85 else 0, "price": price})
            if tier != "clearance" and market == "us":
                clicks = int(rng.poisson(30 * mult))
                cpc = float(rng.uniform(0.45, 0.9))
                orders3 = int(rng.poisson(clicks * 0.04))
                orders14 = orders3 + int(rng.poisson(clicks * 0.015))
                orders30 = orders14 + int(rng.poisson(clicks * 0.008))
                ads.append({"date": d, "item_id": item_id, "sku": sku, "name": name,
                            "impressions": clicks * int(rng.integers(40, 80)), "clicks": clicks,
                            "spend": round(clicks * cpc, 2),
                            **{f"orders{w}": n for w, n in ((3, orders3), (14, orders14), (30, orders30))},
                            **{f"sales{w}": round(n * price, 2) for w, n in ((3, orders3), (14, orders14),
                                                                              (30, orders30))}})
    stock = {it[0]: {"seller": int(rng.integers(10, 80)), "wfs": int(rng.integers(20, 150))} for it in items}
    if market == "us":
        stock[STOCKOUT_US] = {"seller": 0, "wfs": 0}
    page_views = {(d, it[0]): int(rng.integers(60, 220)) for d in days for it in items}
    return {"market": market, "period": period.label, "through": through, "days": days, "items": items,
            "orders": orders, "returns": returns, "ads": ads, "stock": stock, "page_views": page_views,
            "performance": {"otd": (96.4, 1200, 43), "vtr": (97.1, 1200, 35), "cancellations": (1.2, 1200, 14),
                            "refunds": (3.8, 1200, 46)}}


def truth(data: dict[str, Any]) -> dict[str, float]:
    """The hand computation: totals in the store's currency (US: tax excluded; México: IVA included)."""
    gmv = units = orders = wfs = order_units = 0.0
    for o in data["orders"]:
        per_sku: set[str] = set()
        for ln in o["lines"]:
            kept = ln["qty"] - ln["cancelled"]
            if kept <= 0:
                continue
            gmv += ln["price"] * kept
            units += kept
            order_units += kept
            wfs += kept if o["node"] == "WFSFulfilled" else 0.0
            per_sku.add(ln["sku"])
        orders += len(per_sku)              # purchase orders per SKU and day (Walmart's order lines)
    refunded = float(sum(r["refunded"] for r in data["returns"]))
    a = data["ads"]
    return {"gmv": gmv, "units": units, "orders": orders, "aov": gmv / orders if orders else 0.0,
            "units_refunded": refunded, "refund_rate": refunded / units if units else 0.0,
            "wfs_share": wfs / order_units if order_units else 0.0,
            "tax": sum(ln["tax"] * (ln["qty"] - ln["cancelled"]) / ln["qty"] for o in data["orders"]
                       for ln in o["lines"]),
            "ad_spend": sum(x["spend"] for x in a), "ad_sales_14d": sum(x["sales14"] for x in a),
            "ad_sales_3d": sum(x["sales3"] for x in a), "ad_sales_30d": sum(x["sales30"] for x in a),
            "roas_14d": sum(x["sales14"] for x in a) / sum(x["spend"] for x in a) if a else 0.0,
            "page_views": float(sum(data["page_views"].values())),
            "fulfillable_units": float(sum(s["seller"] + s["wfs"] for s in data["stock"].values()))}


# -- downloads ---------------------------------------------------------------------------------------------------
ITEM_PERFORMANCE_HEADER = ["Date", "Product Name", "Item ID", "SKU ID", "Super Department", "Department", "Category",
                           "Sub Category", "Brand", "GMV", "Commission", "GMV-Commission", "AUR", "Authorized Sales",
                           "Canceled Sales", "Refunded Sales", "Authorized Units", "Canceled Units", "Refunded Units",
                           "Authorized Orders", "Page Views"]


def item_performance_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The Item Performance report by day (v3, DAILY): one row per item and day."""
    per: dict[tuple[dt.date, str], dict[str, float]] = {}
    for o in data["orders"]:
        seen: set[str] = set()
        for ln in o["lines"]:
            acc = per.setdefault((o["day"], ln["sku"]), dict.fromkeys(
                ("auth", "cancel", "units", "cunits", "orders", "refund", "runits"), 0.0))
            acc["auth"] += ln["price"] * ln["qty"]
            acc["cancel"] += ln["price"] * ln["cancelled"]
            acc["units"] += ln["qty"]
            acc["cunits"] += ln["cancelled"]
            if ln["qty"] - ln["cancelled"] > 0 and ln["sku"] not in seen:
                acc["orders"] += 1
                seen.add(ln["sku"])
    for r in data["returns"]:
        acc = per.setdefault((r["day"], r["sku"]), dict.fromkeys(
            ("auth", "cancel", "units", "cunits", "orders", "refund", "runits"), 0.0))
        acc["refund"] += r["price"] * r["refunded"]
        acc["runits"] += r["refunded"]
    rows = []
    for d in data["days"]:
        for sku, item_id, name, category, *_ in data["items"]:
            acc = per.get((d, sku), dict.fromkeys(("auth", "cancel", "units", "cunits", "orders", "refund",
                                                   "runits"), 0.0))
            gmv = acc["auth"] - acc["cancel"] - acc["refund"]
            kept = acc["units"] - acc["cunits"]
            rows.append([d.isoformat(), name, item_id, sku, "Home", category, category, category, "DemoBrand",
                         round(gmv, 2), round(gmv * 0.15, 2), round(gmv * 0.85, 2),
                         round((acc["auth"] - acc["cancel"]) / kept, 2) if kept else 0,
                         round(acc["auth"], 2), round(acc["cancel"], 2), round(acc["refund"], 2), acc["units"],
                         acc["cunits"], acc["runits"], acc["orders"], data["page_views"][(d, sku)]])
    return rows


AD_HEADER = ["date", "campaignId", "adGroupId", "itemId", "itemName", "numAdsShown", "numAdsClicks", "adSpend",
             *(f"{m}{w}days" for w in (3, 14, 30) for m in ("attributedSales", "attributedOrders",
                                                            "attributedUnits"))]


def ad_rows(data: dict[str, Any], start: dt.date | None = None, end: dt.date | None = None) -> list[dict[str, Any]]:
    """The Sponsored Search adItem snapshot rows over start..end."""
    out = []
    for a in data["ads"]:
        if (start and a["date"] < start) or (end and a["date"] > end):
            continue
        row = {"date": a["date"].isoformat(), "campaignId": "31001", "adGroupId": "41001", "itemId": a["item_id"],
               "itemName": a["name"], "numAdsShown": a["impressions"], "numAdsClicks": a["clicks"],
               "adSpend": a["spend"]}
        for w in (3, 14, 30):
            row.update({f"attributedSales{w}days": a[f"sales{w}"], f"attributedOrders{w}days": a[f"orders{w}"],
                        f"attributedUnits{w}days": a[f"orders{w}"]})
        out.append(row)
    return out


def ad_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=AD_HEADER, lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write_wm_files(folder: Path, data: dict[str, Any], api_orders: bool = False) -> list[Path]:
    """What a seller downloads for Walmart US (Item Performance by day in files of at most 15 days, the adItem
    snapshot CSV) and, where Walmart has no download, the API's JSON (returns, inventory, seller performance;
    with ``api_orders`` the orders too, which the WFS share needs)."""
    from ..testing.walmart_server import (
        inventories_page,
        orders_page,
        performance_summary,
        return_order,
        wfs_inventory_page,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    days = data["days"]
    rows = item_performance_rows(data)
    for k in range(0, len(days), 15):
        chunk = {d.isoformat() for d in days[k:k + 15]}
        path = folder / f"ItemPerformance_{days[k]:%Y%m%d}_{days[min(k + 14, len(days) - 1)]:%Y%m%d}.csv"
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(ITEM_PERFORMANCE_HEADER)
        w.writerows(r for r in rows if r[0] in chunk)
        path.write_text(buf.getvalue(), encoding="utf-8")
        out.append(path)
    if data["ads"]:
        path = folder / f"sponsored_search_adItem_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.csv"
        path.write_text(ad_csv(ad_rows(data)), encoding="utf-8")
        out.append(path)
    if api_orders:
        path = folder / f"orders_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.json"
        path.write_text(json.dumps(orders_page(data), indent=1), encoding="utf-8")
        out.append(path)
    path = folder / f"returns_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.json"
    path.write_text(json.dumps({"meta": {"totalCount": len(data["returns"]), "limit": 200},
                                "returnOrders": [return_order(r) for r in data["returns"]]}, indent=1),
                    encoding="utf-8")
    out.append(path)
    path = folder / "inventories.json"
    path.write_text(json.dumps({"walmartInventory": {"market": data["market"]},
                                "inventories": [inventories_page(data, 0, len(data["items"]))],
                                "wfs": [wfs_inventory_page(data, 0, len(data["items"]))]}, indent=1), encoding="utf-8")
    out.append(path)
    path = folder / "seller_performance.json"
    path.write_text(json.dumps({"walmartPerformance": {"market": data["market"], "reportDuration": 30,
                                                       "asOf": data["through"].isoformat()},
                                "summaries": {k: performance_summary(data, k, 30) for k in data["performance"]}},
                               indent=1), encoding="utf-8")
    out.append(path)
    return out


def demo_team_rows() -> dict[str, list[list[Any]]]:
    """Rows the demo adds for the Walmart US store (what a team would type)."""
    products = [["WMUS", sku, sku, tier, category, owner, cost, None, None]
                for sku, _, _, category, tier, owner, _, cost in ITEMS_US]
    targets = [
        [None, "WMUS", "account", None, "Emily Chen", "ops", "gmv", 16000, 0.3, None, "Walmart US monthly sales"],
        [None, "WMUS", "account", None, "Emily Chen", "ops", "page_view_conversion", 0.12, 0.15, None, None],
        [None, "WMUS", "account", None, "Emily Chen", "ads", "roas", 4, 0.15, None, "14-day window"],
        [None, "WMUS", "account", None, "Emily Chen", "warehouse", "wfs_share", 0.5, 0.1, None, None],
        [None, "WMUS", "account", None, "Emily Chen", "cs", "refund_rate", 0.03, 0.1, None, None],
        [None, "WMUS", "account", None, "Emily Chen", "warehouse", "wm_valid_tracking_rate", 0.99, 0.1, None, None],
        [None, "WMUS", "account", None, "Emily Chen", "warehouse", "stockout_asins", 0, 0.1, None, None],
        [None, "US-ALL", "account", None, "Wang Lei", "manager", "gmv", 90000, 0.2, None, "US, Amazon + Walmart"],
    ]
    return {"Products": products, "Targets": targets}


def add_demo_rows(path: Path, marketplaces: str) -> None:
    """Add the Walmart US store to the demo .xlsx: Settings ``marketplaces`` and the :func:`demo_team_rows`."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Settings"]
    for row in ws.iter_rows(min_row=2):
        if str(row[0].value or "").strip() == "marketplaces":
            row[1].value = marketplaces
    for tab, rows in demo_team_rows().items():
        ws = wb[tab]
        for r in rows:
            ws.append(r)
    wb.save(path)
