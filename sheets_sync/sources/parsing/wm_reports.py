"""Walmart's report files (CSV), recognised by their headers:

* ``wm_item_performance`` — the Item Performance report (Seller Center → Analytics, or the on-request report
  ``ITEM_PERFORMANCE`` of the Reports API). Walmart documents its columns ("Request an item performance report",
  developer.walmart.com): ``Product Name``, ``Item ID``, ``SKU ID``, ``Super Department``, ``Department``,
  ``Category``, ``Sub Category``, ``Brand``, ``GMV`` (authorized sales − canceled sales − refunded sales),
  ``Commission``, ``GMV-Commission``, ``AUR``… The page defines GMV and AUR from authorized, canceled and refunded
  sales and units; the names of those columns, of page views, orders and of the day of a daily (v3) report are
  **inferred** from those definitions (the aliases below are accepted), and a file without them is read from
  ``GMV`` alone with a warning. gmv = authorized − canceled sales (refunds are a separate figure, as on every
  store); units = authorized − canceled units; page_views; orders. Its refunded units are not used: refunds come
  from the Returns API (dated by the return, as on Amazon), and the two together would count them twice.
* ``wm_ads_item`` — the Walmart Connect Sponsored Search ``adItem`` snapshot report (CSV, gzip or not): per day
  and item, ``adSpend``, ``numAdsShown`` (impressions), ``numAdsClicks`` and the attributed sales, orders and
  units of the 3-, 14- and 30-day click windows (``attributedSales3days`` …; element names follow Walmart's
  "Definition of Various Parameters Generated Across the Snapshot Reports" page, whose ``…3days`` / ``…14days``
  / ``…30days`` pattern we read there; the exact sales/orders/units names are inferred). Walmart keys ad rows by
  its item id: a row whose SKU is known (the API source maps item ids to SKUs with ``GET /v3/items/{id}?
  productIdType=ITEM_ID``; a ``sku`` column works too) is joined to the listing, others count for the store only.
"""

from __future__ import annotations

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .cells import _alias_table, _key, _map_columns, _num, _parse_dates_flexible, _strip_guard
from .registry import kinds, table_layout
from .wm_common import WMUS, daily_batch, sku_key

kinds(wm_item_performance="traffic", wm_item_page_views="views", wm_ads_item="ads")

ITEM_PERFORMANCE = _alias_table({
    "title": ["Product Name"],
    "item_id": ["Item ID"],
    "sku": ["SKU ID", "SKU"],
    "gmv_net": ["GMV"],
    "auth_sales": ["Authorized Sales", "Auth Sales", "Authorized Sales Amount"],
    "cancel_sales": ["Canceled Sales", "Cancelled Sales"],
    "refund_sales": ["Refunded Sales"],
    "auth_units": ["Authorized Units", "Auth Units", "Units Sold", "Authorized Unit Count"],
    "cancel_units": ["Canceled Units", "Cancelled Units"],
    "refund_units": ["Refunded Units"],
    "orders": ["Authorized Orders", "Orders", "Order Count"],
    "page_views": ["Page Views", "Total Page Views", "Item Page Views"],
    "date": ["Date", "Report Date", "Day"],
})
DOCUMENTED = ("Product Name", "Item ID", "SKU ID", "GMV")
ADS = _alias_table({
    "date": ["date"], "item_id": ["itemId"], "title": ["itemName"], "sku": ["sku"],
    "ad_spend": ["adSpend"], "ad_impressions": ["numAdsShown"], "ad_clicks": ["numAdsClicks"],
    **{f"{m}_{w}d": [f"{name}{w}days"] for w in (3, 14, 30)
       for m, name in (("ad_sales", "attributedSales"), ("ad_orders", "attributedOrders"),
                       ("ad_units", "attributedUnits"))},
})
WINDOWS = ("3d", "14d", "30d")
DEFAULT_WINDOW = "14d"
AD_METRICS = ["ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions",
              *(f"{m}_{w}" for w in WINDOWS for m in ("ad_sales", "ad_orders", "ad_units"))]


def _item_performance(raw: RawReport, df: pd.DataFrame, fmt: str) -> list[ReportBatch]:
    mapping = _map_columns(df.columns, ITEM_PERFORMANCE, skip_b2b=False)
    inv = {v: k for k, v in mapping.items()}

    def col(f: str) -> pd.Series:
        return _num(df[inv[f]]).fillna(0.0) if f in inv else pd.Series(0.0, index=df.index)

    notes: list[str] = []
    if "auth_sales" in inv:
        gmv = col("auth_sales") - col("cancel_sales")
    else:
        gmv = col("gmv_net") + col("refund_sales")
        if "refund_sales" not in inv:
            notes.append("no authorized / refunded sales columns: GMV taken as Walmart's GMV, which is net of "
                         "refunds")
    units = col("auth_units") - col("cancel_units")
    rows = pd.DataFrame({"asin": _strip_guard(df[inv["sku"]]).map(sku_key), "sku": _strip_guard(df[inv["sku"]]),
                         "title": _strip_guard(df[inv["title"]]), "gmv": gmv, "units": units,
                         "orders": col("orders"), "page_views": col("page_views")})
    metrics = ["gmv", "units", "orders"]
    missing = [m for m, f in (("units", "auth_units"), ("orders", "orders"), ("page_views", "page_views"))
               if f not in inv]
    for m in missing:
        rows[m] = float("nan")
    extras = {"format": fmt, "column_map": dict(mapping),
              "item_skus": dict(zip(_strip_guard(df[inv["item_id"]]), rows["sku"], strict=True))}
    if "date" not in inv:
        raise ReportFormatError(raw.name, "an Item Performance report without a day column: request it with daily "
                                "granularity (v3, dateGranularity DAILY, at most 15 days a file) so each day's "
                                "figures can be paced")
    rows["date"] = _parse_dates_flexible(df[inv["date"]])
    bad = rows["date"].isna()
    if bad.any():
        notes.append(f"{int(bad.sum())} row(s) with an unreadable day left out")
    rows = rows[~bad]
    # page views in a family of their own: the API's orders may supply the same days' sales, never page views
    return [daily_batch(raw, rows, "wm_item_performance", "traffic", metrics, WMUS, notes, extras),
            daily_batch(raw, rows, "wm_item_page_views", "views", ["page_views"], WMUS, [], {"format": fmt})]


def ads_batch(raw: RawReport, df: pd.DataFrame, fmt: str, marketplace: str, item_skus: dict[str, str],
              kind: str = "wm_ads_item") -> ReportBatch:
    """Sponsored Search ``adItem`` rows → the ads batch (plain ad_sales/orders/units on the 14-day window; the
    3/14/30-day columns beside them for Settings ``walmart_ads_attribution``)."""
    mapping = _map_columns(df.columns, ADS, skip_b2b=False)
    inv = {v: k for k, v in mapping.items()}
    if "item_id" not in inv or "ad_spend" not in inv or "date" not in inv:
        raise ReportFormatError(raw.name, "a Walmart Connect report without date, itemId and adSpend; expected the "
                                "Sponsored Search adItem snapshot report")

    def col(f: str) -> pd.Series:
        return _num(df[inv[f]]).fillna(0.0) if f in inv else pd.Series(float("nan"), index=df.index)

    item = _strip_guard(df[inv["item_id"]])
    given = _strip_guard(df[inv["sku"]]) if "sku" in inv else pd.Series("", index=df.index)
    sku = given.where(given != "", item.map(lambda i: str(item_skus.get(i, ""))))
    unmatched = sku == ""
    rows = pd.DataFrame({"asin": sku.map(sku_key).where(~unmatched, "ITEM " + item), "sku": sku,
                         "title": _strip_guard(df[inv["title"]]) if "title" in inv else "",
                         "ad_spend": col("ad_spend"), "ad_clicks": col("ad_clicks"),
                         "ad_impressions": col("ad_impressions")})
    windows = [w for w in WINDOWS if f"ad_sales_{w}" in inv]
    for w in WINDOWS:
        for m in ("ad_sales", "ad_orders", "ad_units"):
            rows[f"{m}_{w}"] = col(f"{m}_{w}")
    for m in ("ad_sales", "ad_orders", "ad_units"):
        rows[m] = rows[f"{m}_{DEFAULT_WINDOW}"]
    rows["date"] = _parse_dates_flexible(df[inv["date"]])
    notes: list[str] = []      # rows still keyed by item id are named by compute, after the Item Performance join
    extras = {"format": fmt, "column_map": dict(mapping), "attribution_windows": windows,
              "ad_sales_window": DEFAULT_WINDOW, "store": "walmart"}
    return daily_batch(raw, rows[rows["date"].notna()], kind, "ads", AD_METRICS, marketplace, notes, extras)


@table_layout(order=25)
def recognise(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> list[ReportBatch] | None:
    keys = {_key(c) for c in df.columns}
    if {_key(c) for c in DOCUMENTED} <= keys:
        return _item_performance(raw, df, fmt)
    if {_key("itemId"), _key("adSpend")} <= keys:
        return [ads_batch(raw, df, fmt, WMUS, {})]
    return None
