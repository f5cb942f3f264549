"""Ads API v3 ``spAdvertisedProduct`` JSON rows (a bare array, or wrapped in rows/data/report)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .ads_common import _ads_batch
from .cells import MARKETPLACE_BY_CURRENCY, _parse_dates_flexible, _range_from_name
from .registry import json_layout, kinds

kinds(ads_sp_api_v3="ads")
def _ads_api(raw: RawReport, doc: list) -> ReportBatch:
    df = pd.DataFrame.from_records(doc)
    notes: list[str] = []
    if "date" in df:
        start_d = end_d = _parse_dates_flexible(df["date"].astype(str))
    elif "startDate" in df and "endDate" in df:
        start_d = _parse_dates_flexible(df["startDate"].astype(str))
        end_d = _parse_dates_flexible(df["endDate"].astype(str))
    else:
        start_d = end_d = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
        notes.append("no date/startDate/endDate column: rows are a total over the requested range")
    rows = pd.DataFrame({"date": start_d.where(start_d == end_d),
                         "asin": df["advertisedAsin"].fillna("").astype(str).str.strip().str.upper()})
    rows["sku"] = df["advertisedSku"].fillna("").astype(str).str.strip() if "advertisedSku" in df else ""

    def col(*names: str) -> pd.Series | None:
        for n in names:
            if n in df:
                return pd.to_numeric(df[n], errors="coerce").astype("float64")
        return None

    spend = col("cost", "spend")
    if spend is None:
        raise ReportFormatError(raw.name, "an Ads API advertised-product report without 'cost'/'spend'; expected "
                                "spAdvertisedProduct columns (cost, sales7d, purchases7d, clicks, impressions)")
    rows["ad_spend"] = spend
    for name, alias in (("ad_clicks", ("clicks",)), ("ad_impressions", ("impressions",))):
        rows[name] = col(*alias) if col(*alias) is not None else np.nan
    for w in ("7d", "14d"):
        for m, src in (("sales", f"sales{w}"), ("orders", f"purchases{w}"), ("units", f"unitsSoldClicks{w}")):
            v = col(src)
            if v is not None:
                rows[f"ad_{m}_{w}"] = v
    rows = rows.loc[rows["asin"] != ""]
    currency = None
    if "campaignBudgetCurrencyCode" in df:
        vals = sorted({str(v).upper() for v in df["campaignBudgetCurrencyCode"].dropna() if str(v).strip()})
        if len(vals) == 1:
            currency = vals[0]
        elif len(vals) > 1:
            raise ReportFormatError(raw.name, f"several currencies in one Ads report ({', '.join(vals)}); expected "
                                    "one advertising profile per file")
    start = start_d.min() if start_d.notna().any() else None
    end = end_d.max() if end_d.notna().any() else None
    marketplace = MARKETPLACE_BY_CURRENCY.get(currency) if currency else None
    batch = _ads_batch(raw, rows, "ads_sp_api_v3", marketplace, currency, start, end, notes)
    batch.extras.update({"format": "json"})
    return batch


@json_layout(order=80)
def recognise(raw: RawReport, doc: Any) -> list[ReportBatch] | None:
    if not isinstance(doc, list):
        return None
    if not doc:
        start, end = _range_from_name(raw.name)
        batch = _ads_batch(raw, pd.DataFrame(columns=["date", "asin", "sku"]), "ads_sp_api_v3", None, None,
                           start, end, ["an empty Ads API report: no rows (no spend, or not ready yet)"])
        batch.extras["format"] = "json"
        return [batch]
    if all(isinstance(r, dict) for r in doc) and any(("advertisedAsin" in r) for r in doc[:50]):
        return [_ads_api(raw, doc)]
    return None
