"""What the Mercado Libre México layouts share: header rows below an introduction, Spanish dates, listing ids,
and per-(day, listing) batches. Mercado Libre's downloads show times in the seller's time zone (Mexico City for
MLM), so their dates are already local days; the API's timestamps carry an offset and are converted."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from ...frames import MARKETPLACES, RawReport, ReportBatch
from .cells import _dedupe, _key, _strip_guard

MLM = "MLM"
TZ = MARKETPLACES[MLM]["tz"]
_MONTHS = {"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
           "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12}
_ES_DATE = re.compile(r"^\s*(\d{1,2})\s+de\s+([a-záéíóú]+)\s+(?:de\s+)?(\d{4})", re.I)
_DMY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})")
_ITEM = re.compile(r"^(MLM)?-?(\d{6,12})$")


def header_at(df: pd.DataFrame, required: Iterable[str], scan: int = 15) -> pd.DataFrame | None:
    """The table whose header holds every ``required`` name: the first row already, or one of the next
    ``scan`` rows (Mercado Libre puts a few lines of introduction above the header). None when absent."""
    need = {_key(r) for r in required}
    if need <= {_key(c) for c in df.columns}:
        return df
    for i in range(min(scan, len(df))):
        row = [str(v) for v in df.iloc[i].tolist()]
        if need <= {_key(v) for v in row}:
            out = df.iloc[i + 1:].copy()
            out.columns = _dedupe(row)
            return out.reset_index(drop=True)
    return None


def spanish_days(s: pd.Series) -> pd.Series:
    """'15 de noviembre de 2026 14:32 hs.', '15/11/2026 14:32' (day first) or ISO / a date cell → the day."""
    def one(v: str):
        v = v.strip()
        m = _ES_DATE.match(v.casefold())
        if m and m.group(2) in _MONTHS:
            return pd.Timestamp(int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1)))
        m = _DMY.match(v)
        if m:
            return pd.Timestamp(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        t = pd.to_datetime(v[:10], format="%Y-%m-%d", errors="coerce")
        return t if not pd.isna(t) else pd.NaT
    t = _strip_guard(s)
    uniq = {u: one(u) for u in t.unique()}
    return pd.to_datetime(t.map(uniq)).astype("datetime64[ns]")


def item_ids(s: pd.Series) -> pd.Series:
    """'MLM1234567890' / '1234567890' / 'MLM-1234567890' → 'MLM1234567890'; anything else → ''."""
    def one(v: str) -> str:
        m = _ITEM.match(v.strip().upper().replace(" ", ""))
        return f"MLM{m.group(2)}" if m else ""
    t = _strip_guard(s)
    uniq = {u: one(u) for u in t.unique()}
    return t.map(uniq)


def local_days_from_api(ts: pd.Series) -> pd.Series:
    """API timestamps with an offset ('2026-11-05T23:30:00.000-04:00') → Mexico City days."""
    t = pd.to_datetime(ts, utc=True, errors="coerce", format="ISO8601")
    return t.dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")


def daily_batch(raw: RawReport, rows: pd.DataFrame, kind: str, family: str, metrics: list[str],
                notes: list[str], extras: dict | None = None) -> ReportBatch:
    """Sum ``metrics`` per (day, listing); one batch for MLM in MXN covering the days the rows have."""
    rows = rows[rows["asin"] != ""]
    if "sku" not in rows:
        rows = rows.assign(sku="")
    if "title" not in rows:
        rows = rows.assign(title="")
    g = rows.groupby(["date", "asin"], sort=True)
    out = g[metrics].sum(min_count=1).reset_index()
    out["sku"] = g["sku"].first().values if len(out) else pd.Series(dtype=str)
    out["title"] = g["title"].first().values if len(out) else pd.Series(dtype=str)
    out["parent_asin"] = ""
    out["date"] = out["date"].astype("datetime64[ns]")
    for m in metrics:
        out[m] = out[m].astype("float64")
    out = out[["date", "asin", "sku", "title", "parent_asin", *metrics]]
    start = out["date"].min().date() if len(out) else None
    end = out["date"].max().date() if len(out) else None
    return ReportBatch(source=raw.name, kind=kind, family=family, marketplace=MLM, currency="MXN", start=start,
                       end=end, asin_rows=out, warnings=notes, extras=dict(extras or {}))


def listing_totals(rows: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per-listing totals of ``metrics`` (rows with a listing number only) in the asin-rows layout: no date
    (a snapshot or a range total), the listing's first SKU and title, no parent."""
    rows = rows[rows["asin"] != ""]
    g = rows.groupby("asin", sort=True)
    out = g[metrics].sum().reset_index()
    out.insert(0, "date", pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]"))
    out["sku"] = g["sku"].first().values
    out["title"] = g["title"].first().values
    out["parent_asin"] = ""
    return out
