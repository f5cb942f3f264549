"""What the Walmart layouts share: Walmart days, SKUs as item keys, per-(day, SKU) batches.

Walmart names an item by the seller's SKU in its orders, returns and inventory, so a Walmart row's ``asin`` column
holds the SKU in upper case (the ``sku`` column keeps it as Walmart wrote it) and ``title`` the product name.
Days: Walmart US's Orders API gives ``orderDate`` in epoch milliseconds, UTC, and names no seller time zone, so a
WMUS day is a UTC day; Walmart México's answers carry Mexico City's offset (``-06:00``), so a WMMX day is a Mexico
City day (docs/walmart.md, "Days").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ...frames import MARKETPLACES, RawReport, ReportBatch

WMUS, WMMX = "WMUS", "WMMX"
MARKET_OF = {"us": WMUS, "mx": WMMX}


def sku_key(value: Any) -> str:
    return str(value or "").strip().upper()


def local_day(value: Any, marketplace: str) -> dt.date | None:
    """A Walmart timestamp (epoch milliseconds, or ISO 8601 with ``Z`` or an offset) → the marketplace's day."""
    if value is None or value == "":
        return None
    tz = MARKETPLACES[marketplace]["tz"]
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
            t = pd.Timestamp(int(float(value)), unit="ms", tz="UTC")
        else:
            t = pd.Timestamp(str(value).replace("Z", "+00:00"))
            t = t.tz_localize("UTC") if t.tzinfo is None else t
    except (ValueError, OverflowError):
        return None
    return t.tz_convert(tz).date()


def money(value: Any) -> float:
    """``{"amount": 9.99}`` / ``{"currencyAmount": 9.99}`` / a number / a numeric string → float (0 when absent)."""
    if isinstance(value, dict):
        value = value.get("amount", value.get("currencyAmount"))
    try:
        x = float(value)
    except (TypeError, ValueError):
        return 0.0
    return x if np.isfinite(x) else 0.0


def as_list(value: Any, key: str | None = None) -> list[Any]:
    """Walmart wraps lists in objects in some APIs (``{"orderLine": [...]}``) and not in others."""
    if isinstance(value, dict) and key is not None:
        value = value.get(key)
    if isinstance(value, dict):
        return [value]
    return list(value) if isinstance(value, list) else []


def daily_batch(raw: RawReport, rows: pd.DataFrame, kind: str, family: str, metrics: list[str], marketplace: str,
                notes: list[str], extras: dict | None = None) -> ReportBatch:
    """Sum ``metrics`` per (day, SKU); one batch of ``marketplace`` in its currency over the days the rows have."""
    if len(rows):
        rows = rows[rows["asin"] != ""]
    for c in ("sku", "title"):
        if c not in rows:
            rows = rows.assign(**{c: ""})
    g = rows.groupby(["date", "asin"], sort=True)
    out = g[metrics].sum(min_count=1).reset_index()
    out["sku"] = g["sku"].first().values if len(out) else pd.Series(dtype=str)
    out["title"] = g["title"].first().values if len(out) else pd.Series(dtype=str)
    out["parent_asin"] = ""
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    for m in metrics:
        out[m] = out[m].astype("float64")
    out = out[["date", "asin", "sku", "title", "parent_asin", *metrics]]
    start = out["date"].min().date() if len(out) else None
    end = out["date"].max().date() if len(out) else None
    return ReportBatch(source=raw.name, kind=kind, family=family, marketplace=marketplace,
                       currency=MARKETPLACES[marketplace]["currency"], start=start, end=end, asin_rows=out,
                       warnings=notes, extras=dict(extras or {}))


def snapshot_batch(raw: RawReport, rows: pd.DataFrame, kind: str, marketplace: str, extras: dict) -> ReportBatch:
    """An inventory snapshot: per-SKU sums, no date."""
    metrics = ["fulfillable_units", "inbound_units", "reserved_units"]
    rows = rows[rows["asin"] != ""] if len(rows) else rows
    g = rows.groupby("asin", sort=True)
    out = g[metrics].sum().reset_index()
    out.insert(0, "date", pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]"))
    out["sku"] = g["sku"].first().values if len(out) else pd.Series(dtype=str)
    out["title"] = ""
    out["parent_asin"] = ""
    out = out[["date", "asin", "sku", "title", "parent_asin", *metrics]]
    return ReportBatch(source=raw.name, kind=kind, family="inventory", marketplace=marketplace, asin_rows=out,
                       extras={"format": "json", "snapshot": True, **extras})
