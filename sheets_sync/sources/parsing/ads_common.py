"""What every Sponsored Products advertised-product layout shares: one batch per file, 7/14-day windows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...frames import RawReport, ReportBatch
from .cells import _range_from_name


def _ads_batch(raw: RawReport, rows: pd.DataFrame, kind: str, marketplace: str | None, currency: str | None,
               start: Any, end: Any, notes: list[str]) -> ReportBatch:
    """Sum per (date, asin); put the 7-day window in ad_sales/ad_orders/ad_units and keep the 14-day one too."""
    windows = [w for w in ("7d", "14d") if f"ad_sales_{w}" in rows.columns or f"ad_orders_{w}" in rows.columns]
    metric_cols = [c for c in rows.columns if c.startswith("ad_")]
    if rows.empty:
        grouped = rows[["date", "asin", *metric_cols]].copy()
        grouped["sku"] = pd.Series(dtype=str)
    else:
        keys = rows["date"].fillna(pd.Timestamp("1900-01-01"))
        g = rows.assign(_d=keys).groupby(["_d", "asin"], sort=True)
        grouped = g[metric_cols].sum(min_count=1).reset_index()
        grouped["sku"] = g["sku"].first().values if "sku" in rows else ""
        grouped["date"] = grouped.pop("_d").where(lambda x: x != pd.Timestamp("1900-01-01"))
    main = windows[0] if windows else None
    if main:
        for m in ("sales", "orders", "units"):
            col = f"ad_{m}_{main}"
            grouped[f"ad_{m}"] = grouped.get(col, np.nan)
        if main == "7d":
            grouped = grouped.drop(columns=[c for c in grouped.columns if c.endswith("_7d")]) \
                if len(windows) == 1 else grouped
    else:
        notes.append("no attributed sales columns (7 Day / 14 Day): ad_sales, ad_orders, ad_units left empty")
        for m in ("ad_sales", "ad_orders", "ad_units"):
            grouped[m] = np.nan
    if main == "14d":
        notes.append("only the 14-day attribution window is in this file: ad_sales/ad_orders/ad_units are 14-day")
    for m in ("ad_spend", "ad_clicks", "ad_impressions"):
        if m not in grouped:
            grouped[m] = np.nan
    grouped["title"] = ""
    grouped["parent_asin"] = ""
    grouped["date"] = grouped["date"].astype("datetime64[ns]")
    for c in grouped.columns:
        if c.startswith("ad_"):
            grouped[c] = grouped[c].astype("float64")
    order = ["date", "asin", "sku", "title", "parent_asin", "ad_spend", "ad_sales", "ad_orders", "ad_units",
             "ad_clicks", "ad_impressions"]
    grouped = grouped[order + [c for c in grouped.columns if c not in order]]
    s = None if pd.isna(start) else pd.Timestamp(start).date()
    e = None if pd.isna(end) else pd.Timestamp(end).date()
    if s is None:
        s, e = _range_from_name(raw.name)
    return ReportBatch(source=raw.name, kind=kind, family="ads", marketplace=marketplace, currency=currency,
                       start=s, end=e, asin_rows=grouped.reset_index(drop=True), warnings=notes,
                       extras={"attribution_windows": windows, "ad_sales_window": main})
