"""Ads console Sponsored Products "Advertised product" reports: classic 2019–2024 (English / 中文) and the 2026
console (CSV or XLSX)."""

from __future__ import annotations

import re

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .ads_common import _ads_batch
from .cells import (
    COUNTRY_TO_MARKETPLACE,
    MARKETPLACE_BY_CURRENCY,
    _alias_table,
    _currency_from_values,
    _key,
    _language,
    _map_columns,
    _num,
    _parse_dates_flexible,
    _shown_date,
    _strip_guard,
)
from .registry import kinds, table_layout

kinds(ads_sp_classic="ads", ads_sp_console_2026="ads")
ADS_CLASSIC_FIELDS = _alias_table({
    "date": ["Date", "日期"],
    "start_date": ["Start Date", "开始日期"],
    "end_date": ["End Date", "结束日期"],
    "currency": ["Currency", "货币"],
    "country": ["Country", "国家/地区"],
    "asin": ["Advertised ASIN", "广告ASIN"],
    "sku": ["Advertised SKU", "广告SKU"],
    "ad_impressions": ["Impressions", "展示量"],
    "ad_clicks": ["Clicks", "点击量"],
    "ad_spend": ["Spend", "花费"],
    "ad_sales_7d": ["7 Day Total Sales", "7天总销售额"],
    "ad_orders_7d": ["7 Day Total Orders (#)", "7天总订单数(#)"],
    "ad_units_7d": ["7 Day Total Units (#)", "7天总销售量(#)"],
    "ad_sales_14d": ["14 Day Total Sales", "14天总销售额"],
    "ad_orders_14d": ["14 Day Total Orders (#)", "14天总订单数(#)"],
    "ad_units_14d": ["14 Day Total Units (#)", "14天总销售量(#)"],
})

ADS_2026_FIELDS = _alias_table({
    "currency": ["Budget currency"],
    "date_range": ["Date range"],
    "date": ["Date"],
    "asin": ["Advertised product ID"],
    "sku": ["Advertised product SKU"],
    "title": ["Advertised product name"],
    "parent_asin": ["Advertised product parent ID"],
    "product_marketplace": ["Advertised product marketplace"],
    "ad_impressions": ["Impressions"],
    "ad_clicks": ["Clicks"],
    "ad_spend": ["Total cost"],
    "ad_orders_7d": ["Purchases"],
    "ad_sales_7d": ["Sales"],
    "ad_units_7d": ["Units sold"],
})

_DATE_RANGE = re.compile(r"^\s*(.+?\d{4})\s+-\s+(.+?\d{4})\s*$")


def _ads_console(raw: RawReport, df: pd.DataFrame, fmt: str, table: dict[str, str], kind: str) -> ReportBatch:
    mapping = _map_columns(df.columns, table, skip_b2b=False)
    inv = {v: k for k, v in mapping.items()}
    notes: list[str] = []
    if "asin" not in inv or "ad_spend" not in inv:
        raise ReportFormatError(raw.name, "an Ads console report without 'Advertised ASIN'/'Advertised product ID' "
                                "or 'Spend'/'Total cost'; expected the Sponsored Products Advertised product report")
    asin = _strip_guard(df[inv["asin"]]).str.upper()
    keep = asin != ""
    d = df.loc[keep]
    asin = asin[keep]
    # dates
    if "date" in inv:
        start_d = end_d = _parse_dates_flexible(d[inv["date"]])
    elif "start_date" in inv and "end_date" in inv:
        start_d = _parse_dates_flexible(d[inv["start_date"]])
        end_d = _parse_dates_flexible(d[inv["end_date"]])
    elif "date_range" in inv:
        parts = _strip_guard(d[inv["date_range"]]).str.extract(_DATE_RANGE)
        start_d = _parse_dates_flexible(parts[0].fillna(""))
        end_d = _parse_dates_flexible(parts[1].fillna(""))
    else:
        raise ReportFormatError(raw.name, "an Ads report without a Date, Start Date/End Date or Date range column; "
                                "expected the daily or summary Advertised product report")
    bad = start_d.isna() | end_d.isna()
    if bad.all() and len(d):
        raise ReportFormatError(raw.name, f"dates not recognised (e.g. {_shown_date(d.iloc[0][inv.get('date', inv.get('start_date', inv.get('date_range')))])}); "
                                "expected 'Aug 24, 2019', YYYY-MM-DD or 'Jul 06, 2026 - Jul 29, 2026'")
    if bad.any():
        notes.append(f"{int(bad.sum())} row(s) with an unreadable date left out")
    single_day = start_d == end_d
    ranges = pd.DataFrame({"s": start_d, "e": end_d}).dropna().drop_duplicates()
    if len(ranges) > 1 and not single_day.all():
        notes.append(f"rows cover {len(ranges)} different date ranges; totals are taken over "
                     f"{ranges['s'].min().date()}..{ranges['e'].max().date()}")
    rows = pd.DataFrame({"date": start_d.where(single_day), "asin": asin.values}, index=d.index)
    rows["sku"] = _strip_guard(d[inv["sku"]]) if "sku" in inv else ""
    for m in ("ad_spend", "ad_clicks", "ad_impressions", "ad_sales_7d", "ad_orders_7d", "ad_units_7d",
              "ad_sales_14d", "ad_orders_14d", "ad_units_14d"):
        if m in inv:
            rows[m] = _num(d[inv[m]])
    rows = rows.loc[~bad]
    start = start_d[~bad].min()
    end = end_d[~bad].max()
    # currency / marketplace
    currency = None
    if "currency" in inv:
        cur = _strip_guard(d[inv["currency"]]).str.upper()
        vals = sorted(set(cur[cur != ""]))
        if len(vals) == 1:
            currency = vals[0]
        elif len(vals) > 1:
            raise ReportFormatError(raw.name, f"several currencies in one Ads report ({', '.join(vals)}); expected "
                                    "one marketplace per file")
    if currency is None and "ad_spend" in inv:
        currency, _ = _currency_from_values(d[inv["ad_spend"]])
    marketplace = MARKETPLACE_BY_CURRENCY.get(currency) if currency else None
    for fld in ("country", "product_marketplace"):
        if fld in inv:
            found = {COUNTRY_TO_MARKETPLACE.get(v.strip().casefold()) for v in set(d[inv[fld]].astype(str))
                     if v.strip()}
            found.discard(None)
            if len(found) == 1:
                marketplace = found.pop()
    batch = _ads_batch(raw, rows, kind, marketplace, currency, start, end, notes)
    batch.extras.update({"format": fmt, "column_map": dict(mapping), "language": _language(df.columns)})
    return batch


@table_layout(order=10)
def recognise(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> list[ReportBatch] | None:
    keys = {_key(c) for c in df.columns}
    if _key("Advertised product ID") in keys and _key("Total cost") in keys:
        return [_ads_console(raw, df, fmt, ADS_2026_FIELDS, "ads_sp_console_2026")]
    if _key("Advertised ASIN") in keys or _key("广告ASIN") in keys:
        return [_ads_console(raw, df, fmt, ADS_CLASSIC_FIELDS, "ads_sp_classic")]
    return None
