"""What every Amazon Ads layout shares: one batch per file, 7/14-day windows, and the campaign grain.

An advertised-product report (console or API) gives both grains: per (date, ASIN) in ``asin_rows`` and per
(date, campaign, ad group, ASIN) in ``campaign_rows`` when its rows name their campaign. A campaign or ad-group
report (:mod:`.ads_campaigns`) gives ``campaign_rows`` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...frames import CAMPAIGN_KEY_COLUMNS, RawReport, ReportBatch
from .cells import _range_from_name

AD_METRICS = ("ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions")
CAMPAIGN_TEXT = CAMPAIGN_KEY_COLUMNS[1:]          # every key column but the date
_NO_DATE = pd.Timestamp("1900-01-01")
# "Not grouped" (classic console, 2019), "No Portfolio" (2024–2026 and the Spanish console), 未分组 / 无广告组合 (中文:
# INFERRED), "Sin cartera" (INFERRED)
NO_PORTFOLIO = {"not grouped", "no portfolio", "未分组", "无广告组合", "sin cartera", "sin portafolio"}


def _is_metric(column: str) -> bool:
    return column.startswith("ad_") and column not in CAMPAIGN_TEXT


def _windows(columns: Any) -> list[str]:
    return [w for w in ("7d", "14d") if f"ad_sales_{w}" in columns or f"ad_orders_{w}" in columns]


def _grouped(rows: pd.DataFrame, keys: list[str], first: tuple[str, ...] = ()) -> pd.DataFrame:
    """Σ of the ``ad_*`` columns per (date, *keys) (a row without a date is a span total, kept as NaT), and the
    first value of each ``first`` column."""
    metric_cols = [c for c in rows.columns if _is_metric(c)]
    if rows.empty:
        out = rows.reindex(columns=["date", *keys, *metric_cols, *first]).copy()
        return out
    day = rows["date"].astype("datetime64[ns]").fillna(_NO_DATE)
    g = rows.assign(_d=day).groupby(["_d", *keys], sort=True)
    out = g[metric_cols].sum(min_count=1).reset_index()
    for c in first:
        out[c] = g[c].first().values if c in rows else ""
    out["date"] = out.pop("_d").where(lambda x: x != _NO_DATE)
    return out


def _with_windows(grouped: pd.DataFrame, windows: list[str], notes: list[str] | None) -> pd.DataFrame:
    """The plain ``ad_sales`` / ``ad_orders`` / ``ad_units`` hold the file's first window (7d when it has it); the
    14-day columns stay beside them so compute can honour Settings ``ads_attribution``."""
    main = windows[0] if windows else None
    if main:
        for m in ("sales", "orders", "units"):
            grouped[f"ad_{m}"] = grouped.get(f"ad_{m}_{main}", np.nan)
        if main == "7d" and len(windows) == 1:
            grouped = grouped.drop(columns=[c for c in grouped.columns if c.endswith("_7d")])
    else:
        if notes is not None:
            notes.append("no attributed sales columns (7 Day / 14 Day): ad_sales, ad_orders, ad_units left empty")
        for m in ("ad_sales", "ad_orders", "ad_units"):
            grouped[m] = np.nan
    if main == "14d" and notes is not None:
        notes.append("only the 14-day attribution window is in this file: ad_sales/ad_orders/ad_units are 14-day")
    for m in ("ad_spend", "ad_clicks", "ad_impressions"):
        if m not in grouped:
            grouped[m] = np.nan
    grouped["date"] = grouped["date"].astype("datetime64[ns]")
    for c in grouped.columns:
        if _is_metric(c):
            grouped[c] = grouped[c].astype("float64")
    return grouped


def _campaign_frame(rows: pd.DataFrame, windows: list[str], ad_product: str | None) -> pd.DataFrame | None:
    """``rows`` at campaign grain: Σ per (date, ad product, campaign, ad group, portfolio, ASIN); None when no row
    names a campaign. ``ad_product`` None: the rows carry their own ("" where unknown)."""
    named = [c for c in ("campaign_id", "campaign_name") if c in rows]
    if not named or not any((rows[c].astype(str).str.strip() != "").any() for c in named):
        return None
    rows = rows.copy()
    if ad_product is not None or "ad_product" not in rows:
        rows["ad_product"] = ad_product or ""
    for c in CAMPAIGN_TEXT:
        rows[c] = rows[c].fillna("").astype(str).str.strip() if c in rows else ""
    # the console's word for "in no portfolio" is not a portfolio
    rows.loc[rows["portfolio_name"].str.casefold().isin(NO_PORTFOLIO), "portfolio_name"] = ""
    keep = rows[named].ne("").any(axis=1)
    out = _with_windows(_grouped(rows.loc[keep], list(CAMPAIGN_TEXT)), windows, None)
    order = [*CAMPAIGN_KEY_COLUMNS, *AD_METRICS]
    return out[order + [c for c in out.columns if c not in order]].reset_index(drop=True)


def _dates(raw: RawReport, start: Any, end: Any) -> tuple[Any, Any]:
    s = None if start is None or pd.isna(start) else pd.Timestamp(start).date()
    e = None if end is None or pd.isna(end) else pd.Timestamp(end).date()
    if s is None:
        s, e = _range_from_name(raw.name)
    return s, e


def _ads_batch(raw: RawReport, rows: pd.DataFrame, kind: str, marketplace: str | None, currency: str | None,
               start: Any, end: Any, notes: list[str]) -> ReportBatch:
    """An advertised-product report: Σ per (date, asin) (the 7-day window in ad_sales/ad_orders/ad_units, the
    14-day one beside it), and the same rows per campaign and ad group when they name them."""
    windows = _windows(rows.columns)
    grouped = _grouped(rows, ["asin"], first=("sku",) if "sku" in rows else ())
    if "sku" not in grouped:
        grouped["sku"] = ""
    grouped = _with_windows(grouped, windows, notes)
    grouped["title"] = ""
    grouped["parent_asin"] = ""
    order = ["date", "asin", "sku", "title", "parent_asin", *AD_METRICS]
    grouped = grouped[order + [c for c in grouped.columns if c not in order]]
    s, e = _dates(raw, start, end)
    campaigns = _campaign_frame(rows, windows, "SP")
    extras: dict[str, Any] = {"attribution_windows": windows, "ad_sales_window": windows[0] if windows else None}
    if campaigns is not None:
        extras["campaign_level"] = "ad_group" if (campaigns[["ad_group_id", "ad_group_name"]] != "").any(
            axis=None) else "campaign"
    return ReportBatch(source=raw.name, kind=kind, family="ads", marketplace=marketplace, currency=currency,
                       start=s, end=e, asin_rows=grouped.reset_index(drop=True), campaign_rows=campaigns,
                       warnings=notes, extras=extras)


def campaign_batch(raw: RawReport, rows: pd.DataFrame, kind: str, marketplace: str | None, currency: str | None,
                   start: Any, end: Any, notes: list[str], ad_product: str | None) -> ReportBatch:
    """A campaign or ad-group report (no ASINs): ``campaign_rows`` only. ``ad_product`` None: the rows carry
    their own (a Campaign Manager export lists every ad product)."""
    windows = _windows(rows.columns)
    if not windows:
        notes.append("no attributed sales columns (7 Day / 14 Day): ad_sales, ad_orders, ad_units left empty")
    elif windows == ["14d"]:
        notes.append("only the 14-day attribution window is in this file: ad_sales/ad_orders/ad_units are 14-day")
    frame = _campaign_frame(rows, windows, ad_product)
    if frame is None:
        frame = _with_windows(pd.DataFrame(columns=[*CAMPAIGN_KEY_COLUMNS]), windows, None)
        frame = frame.reindex(columns=[*CAMPAIGN_KEY_COLUMNS, *AD_METRICS])
    level = "ad_group" if len(frame) and (frame[["ad_group_id", "ad_group_name"]] != "").any(axis=None) else "campaign"
    s, e = _dates(raw, start, end)
    return ReportBatch(source=raw.name, kind=kind, family="ads", marketplace=marketplace, currency=currency,
                       start=s, end=e, campaign_rows=frame, warnings=notes,
                       extras={"attribution_windows": windows, "ad_sales_window": windows[0] if windows else None,
                               "campaign_level": level})
