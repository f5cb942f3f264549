"""GET_SALES_AND_TRAFFIC_REPORT JSON (SP-API)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ReportFormatError
from ...frames import MARKETPLACE_BY_ID, RawReport, ReportBatch
from .cells import CURRENCY_BY_MARKETPLACE, _clean_text, _date_or_none, _float
from .registry import json_layout, kinds

kinds(sp_api_sales_traffic="traffic")
def _sales_traffic(raw: RawReport, doc: dict) -> ReportBatch:
    spec = doc.get("reportSpecification") or {}
    if not isinstance(spec, dict):
        spec = {}
    notes: list[str] = []
    ids = spec.get("marketplaceIds") or []
    if isinstance(ids, str):
        ids = [ids]
    mps = {MARKETPLACE_BY_ID.get(str(i)) for i in ids}
    marketplace = next(iter(mps)) if len(mps) == 1 else None
    if mps and marketplace is None:
        notes.append(f"{len(ids)} marketplaceId(s), not one of US/MX: the folder decides")
    start = _date_or_none(spec.get("dataStartTime"))
    end = _date_or_none(spec.get("dataEndTime"))
    by_date = doc.get("salesAndTrafficByDate") or []
    by_asin = doc.get("salesAndTrafficByAsin") or []
    if not isinstance(by_date, list) or not isinstance(by_asin, list):
        raise ReportFormatError(raw.name, "salesAndTrafficByDate / salesAndTrafficByAsin must be arrays")
    currency = None

    def pv(t: dict) -> Any:
        v = t.get("pageViews")
        if v is None:
            b = t.get("browserPageViews", t.get("browerPageViews"))
            m = t.get("mobileAppPageViews")
            v = None if b is None and m is None else _float(b or 0) + _float(m or 0)
        return v

    drows = []
    for item in by_date:
        s = item.get("salesByDate") or {}
        t = item.get("trafficByDate") or {}
        ops = s.get("orderedProductSales")
        if currency is None and isinstance(ops, dict) and ops.get("currencyCode"):
            currency = str(ops["currencyCode"]).upper()
        drows.append((item.get("date"), _float(ops), _float(s.get("unitsOrdered")), _float(s.get("totalOrderItems")),
                      _float(t.get("sessions")), _float(pv(t)), _float(t.get("buyBoxPercentage")),
                      _float(s.get("unitsRefunded"))))
    daily = pd.DataFrame.from_records(drows, columns=["date", "gmv", "units", "orders", "sessions", "page_views",
                                                      "bb_pct", "units_refunded"])
    daily["date"] = pd.to_datetime(daily["date"].astype(str).str.slice(0, 10), format="%Y-%m-%d",
                                   errors="coerce").astype("datetime64[ns]")
    if daily["date"].isna().any():
        notes.append(f"{int(daily['date'].isna().sum())} by-date row(s) without a valid date left out")
        daily = daily.loc[daily["date"].notna()]
    daily["buy_box_views"] = daily["page_views"] * daily.pop("bb_pct") / 100.0
    daily = daily[["date", "gmv", "units", "orders", "sessions", "page_views", "buy_box_views", "units_refunded"]]

    def amount(x: Any) -> Any:
        return x.get("amount") if isinstance(x, dict) else x

    children: np.ndarray | None = None     # which rows have a childAsin (None: look at each row)
    try:        # fast path: every key present (what Amazon sends); 5,000 ASINs a day add up
        rows = [(a["childAsin"], a.get("sku", ""), a["parentAsin"],
                 (s := a["salesByAsin"])["orderedProductSales"]["amount"], s["unitsOrdered"], s["totalOrderItems"],
                 (t := a["trafficByAsin"])["sessions"], t["pageViews"], t["buyBoxPercentage"]) for a in by_asin]
        children = np.fromiter(map(bool, (r[0] for r in rows)), dtype=bool, count=len(rows))
    except (KeyError, TypeError, IndexError, AttributeError):
        rows = [(a.get("childAsin") or a.get("parentAsin") or "", a.get("sku") or "", a.get("parentAsin") or "",
                 amount((s := a.get("salesByAsin") or {}).get("orderedProductSales")), s.get("unitsOrdered"),
                 s.get("totalOrderItems"), (t := a.get("trafficByAsin") or {}).get("sessions"), pv(t),
                 t.get("buyBoxPercentage")) for a in by_asin]
    table = np.empty((len(rows), 9), dtype=object)
    if rows:
        table[:] = rows
    if currency is None:
        first = next((a["salesByAsin"]["orderedProductSales"] for a in by_asin[:5]
                      if isinstance(a.get("salesByAsin"), dict)
                      and isinstance(a["salesByAsin"].get("orderedProductSales"), dict)), None)
        if first and first.get("currencyCode"):
            currency = str(first["currencyCode"]).upper()
    try:
        arr = table[:, 3:].astype("float64")
    except (TypeError, ValueError):          # None, a string or an object where a number belongs
        arr = pd.DataFrame(table[:, 3:]).apply(pd.to_numeric, errors="coerce").to_numpy("float64")
    key_arr = table[:, :3]
    for c in (0, 1, 2):
        try:
            joined = ",".join(key_arr[:, c].tolist())
            clean = joined == joined.upper() and len(joined.split()) <= 1
        except TypeError:                    # None or a number where a string belongs
            clean = False
        if not clean:
            col = pd.Series([("" if v is None else str(v)) for v in key_arr[:, c]], dtype=object)
            key_arr[:, c] = _clean_text(col, upper=c != 1).to_numpy()
    asin_df = pd.DataFrame({
        "asin": key_arr[:, 0], "sku": key_arr[:, 1], "parent_asin": key_arr[:, 2],
        "gmv": arr[:, 0], "units": arr[:, 1], "orders": arr[:, 2], "sessions": arr[:, 3], "page_views": arr[:, 4],
        "buy_box_views": arr[:, 4] * arr[:, 5] / 100.0,
    })

    opts = spec.get("reportOptions") if isinstance(spec.get("reportOptions"), dict) else {}
    date_grain = str(opts.get("dateGranularity") or "DAY").strip().upper()
    asin_grain = str(opts.get("asinGranularity") or "").strip().upper()
    if asin_grain not in ("PARENT", "CHILD", "SKU"):     # not said: what the rows hold
        asin_grain = "CHILD" if any(isinstance(a, dict) and a.get("childAsin") for a in by_asin[:50]) or \
            not by_asin else "PARENT"
    asin_df = _asin_grain(asin_df, by_asin, asin_grain, notes, children)
    if date_grain in ("WEEK", "MONTH"):
        start, end, daily = _period_totals(start, end, daily, date_grain, notes)

    one_day = start is not None and start == end and date_grain == "DAY"
    asin_df.insert(0, "date", pd.Series(pd.Timestamp(start) if one_day else pd.NaT, index=asin_df.index,
                                        dtype="datetime64[ns]"))
    asin_df.insert(3, "title", "")
    if start is None and len(daily):
        start, end = daily["date"].min().date(), daily["date"].max().date()
        notes.append("no dataStartTime/dataEndTime: the range comes from the by-date rows")
    if currency is None and marketplace:
        currency = CURRENCY_BY_MARKETPLACE[marketplace]
    provisional: frozenset[dt.date] = frozenset()
    if not by_date and not by_asin:
        notes.append("an empty Sales and Traffic report: Amazon may not have the data ready yet (not zero sales)")
        if start and end and (end - start).days < 400:
            provisional = frozenset(start + dt.timedelta(days=i) for i in range((end - start).days + 1))
    return ReportBatch(source=raw.name, kind="sp_api_sales_traffic", family="traffic", marketplace=marketplace,
                       currency=currency, start=start, end=end, asin_rows=asin_df, daily_rows=daily.reset_index(drop=True),
                       warnings=notes, provisional_days=provisional,
                       extras={"format": "json", "asin_granularity": asin_grain,
                               "date_granularity": date_grain})


_METRICS = ["gmv", "units", "orders", "sessions", "page_views", "buy_box_views"]


def _asin_grain(asin_df: pd.DataFrame, by_asin: list, grain: str, notes: list[str],
                children: np.ndarray | None = None) -> pd.DataFrame:
    """Per-ASIN rows are child ASINs: PARENT totals are not used as such; SKU rows are added up per child.
    ``children``: which rows have a childAsin, when the caller knows (else each row is looked at)."""
    if not len(asin_df):
        return asin_df
    if grain == "PARENT":
        notes.append(f"asinGranularity PARENT: {len(asin_df)} parent-ASIN total(s) are not per child ASIN and are "
                     "not used (request CHILD or SKU for per-ASIN figures); the by-date account totals are used")
        return asin_df.iloc[0:0]
    child = children if children is not None else np.fromiter(
        (isinstance(a, dict) and bool(a.get("childAsin")) for a in by_asin), dtype=bool, count=len(by_asin))
    if not child.all():
        notes.append(f"{int((~child).sum())} per-ASIN row(s) without a childAsin (parent totals) left out")
        asin_df = asin_df.loc[child].reset_index(drop=True)
    if grain == "SKU" and asin_df["asin"].duplicated().any():
        n = len(asin_df)
        g = asin_df.groupby("asin", sort=False)
        summed = g[_METRICS].sum(min_count=1)
        summed["sku"] = g["sku"].first()
        summed["parent_asin"] = g["parent_asin"].first()
        asin_df = summed.reset_index()[["asin", "sku", "parent_asin", *_METRICS]]
        notes.append(f"asinGranularity SKU: {n} SKU rows added up into {len(asin_df)} child ASIN(s)")
    return asin_df


def _period_totals(start: dt.date | None, end: dt.date | None, daily: pd.DataFrame, grain: str,
                   notes: list[str]) -> tuple[dt.date | None, dt.date | None, pd.DataFrame]:
    """WEEK (Sunday..Saturday) and MONTH rows are totals over their week or month: they cannot be split by day.
    The by-date rows are left out with a reason; the per-ASIN rows are a range total over the whole weeks or
    months the request expanded to (used like any range total: only when it fits in the period)."""
    def first(d: dt.date) -> dt.date:
        return d - dt.timedelta(days=(d.weekday() + 1) % 7) if grain == "WEEK" else d.replace(day=1)

    def last(d: dt.date) -> dt.date:
        if grain == "WEEK":
            return first(d) + dt.timedelta(days=6)
        return (pd.Timestamp(d) + pd.offsets.MonthEnd(0)).date()

    days = [d.date() for d in daily["date"]] if len(daily) else []
    lo = min([*days, *([start] if start else [])], default=None)
    hi = max([*days, *([end] if end else [])], default=None)
    new_start = first(lo) if lo else None
    new_end = last(hi) if hi else None
    word = "week" if grain == "WEEK" else "month"
    if len(daily):
        notes.append(f"dateGranularity {grain}: {len(daily)} by-date row(s) are {word}ly totals, which cannot be "
                     f"split by day; not used (request DAY for daily figures)")
    if new_start and start and end and (new_start, new_end) != (start, end):
        notes.append(f"dateGranularity {grain}: the report covers whole {word}s, {new_start.isoformat()}.."
                     f"{new_end.isoformat()}, not only the requested {start}..{end}")
    return new_start, new_end, daily.iloc[0:0]


@json_layout(order=10)
def recognise(raw: RawReport, doc: Any) -> list[ReportBatch] | None:
    if isinstance(doc, dict) and ("salesAndTrafficByDate" in doc or "salesAndTrafficByAsin" in doc or (
            isinstance(doc.get("reportSpecification"), dict)
            and doc["reportSpecification"].get("reportType") == "GET_SALES_AND_TRAFFIC_REPORT")):
        return [_sales_traffic(raw, doc)]
    return None
