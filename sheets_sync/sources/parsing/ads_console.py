"""Ads console Sponsored Products "Advertised product" reports: classic 2019–2024 (English / 中文 / Español) and the
2026 console (CSV or XLSX).

Each row names its campaign and ad group (classic: ``Campaign Name`` / ``Ad Group Name`` / ``Portfolio name``, no
ids; 2026: ``Campaign ID`` / ``Campaign name`` / ``Ad group ID`` / ``Ad group name`` / ``Portfolio ID`` /
``Portfolio name``), so the batch also carries ``campaign_rows``.

Spanish headers: the Ads console's Spanish UI as a public parser copied it from a real amazon.es download of
August 2026 (``Fecha de inicio``, ``Nombre de la cartera``, ``Divisa``, ``Nombre de campaña``, ``Nombre del grupo de
anuncios``, ``Impresiones``, ``Clics``, ``Gasto``, ``Ventas totales de 7 días``, ``Pedidos totales de 7 días (#)``,
``Unidades totales de 7 días (#)``; dates like ``ago 20, 2026``). Whether amazon.com.mx's Spanish console uses the
same words is INFERRED, and ``ASIN anunciado`` / ``SKU anunciado`` for the advertised product are INFERRED too: no
public copy of a Spanish advertised-product download was found.
"""

from __future__ import annotations

import re

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .ads_common import _ads_batch, campaign_batch
from .cells import (
    CAMPAIGN_FIELDS,
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

kinds(ads_sp_classic="ads", ads_sp_console_2026="ads", ads_campaign_console="ads")
# What the classic console's reports share (advertised product, campaign): dates, currency, traffic, the
# attributed figures per window.
CONSOLE_FIELDS: dict[str, list[str]] = {
    "date": ["Date", "日期", "Fecha"],
    "start_date": ["Start Date", "开始日期", "Fecha de inicio"],
    "end_date": ["End Date", "结束日期", "Fecha de finalización", "Fecha de fin"],
    "currency": ["Currency", "货币", "Divisa", "Moneda"],
    "country": ["Country", "国家/地区", "País"],
    "ad_impressions": ["Impressions", "展示量", "Impresiones"],
    "ad_clicks": ["Clicks", "点击量", "Clics"],
    "ad_spend": ["Spend", "花费", "Gasto"],
    "ad_sales_7d": ["7 Day Total Sales", "7天总销售额", "Ventas totales de 7 días"],
    "ad_orders_7d": ["7 Day Total Orders (#)", "7天总订单数(#)", "Pedidos totales de 7 días (#)"],
    "ad_units_7d": ["7 Day Total Units (#)", "7天总销售量(#)", "Unidades totales de 7 días (#)"],
    "ad_sales_14d": ["14 Day Total Sales", "14天总销售额", "Ventas totales de 14 días"],
    "ad_orders_14d": ["14 Day Total Orders (#)", "14天总订单数(#)", "Pedidos totales de 14 días (#)"],
    "ad_units_14d": ["14 Day Total Units (#)", "14天总销售量(#)", "Unidades totales de 14 días (#)"],
    **CAMPAIGN_FIELDS,
}
ADS_CLASSIC_FIELDS = _alias_table({
    **CONSOLE_FIELDS,
    "asin": ["Advertised ASIN", "广告ASIN", "ASIN anunciado"],
    "sku": ["Advertised SKU", "广告SKU", "SKU anunciado"],
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
    **CAMPAIGN_FIELDS,
})

_DATE_RANGE = re.compile(r"^\s*(.+?\d{4})\s+-\s+(.+?\d{4})\s*$")


def _console_rows(raw: RawReport, d: pd.DataFrame, inv: dict[str, str], notes: list[str],
                  what: str) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """The rows of a console download with their day (NaT for a row that is a total over a range), the
    campaign columns and the metrics; and the first and last day the file covers. ``what`` names the report in
    messages."""
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
                                f"expected the daily or summary {what}")
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
    rows = pd.DataFrame({"date": start_d.where(single_day)}, index=d.index)
    for f in CAMPAIGN_FIELDS:
        if f in inv:
            rows[f] = _strip_guard(d[inv[f]])
    for m in ("ad_spend", "ad_clicks", "ad_impressions", "ad_sales_7d", "ad_orders_7d", "ad_units_7d",
              "ad_sales_14d", "ad_orders_14d", "ad_units_14d"):
        if m in inv:
            rows[m] = _num(d[inv[m]])
    for m in ("sales", "orders", "units"):
        if f"ad_{m}_console" in inv and f"ad_{m}_7d" not in inv and f"ad_{m}_14d" not in inv:
            rows[f"ad_{m}_7d"] = rows[f"ad_{m}_14d"] = _num(d[inv[f"ad_{m}_console"]])
    return rows.loc[~bad], start_d[~bad].min(), end_d[~bad].max()


def _console_market(raw: RawReport, d: pd.DataFrame, inv: dict[str, str]) -> tuple[str | None, str | None]:
    """(marketplace, currency) from the Currency column, the money cells' symbol, or a country column."""
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
    return marketplace, currency


def _ads_console(raw: RawReport, df: pd.DataFrame, fmt: str, table: dict[str, str], kind: str) -> ReportBatch:
    mapping = _map_columns(df.columns, table, skip_b2b=False)
    inv = {v: k for k, v in mapping.items()}
    notes: list[str] = []
    if "asin" not in inv or "ad_spend" not in inv:
        raise ReportFormatError(raw.name, "an Ads console report without 'Advertised ASIN'/'Advertised product ID' "
                                "or 'Spend'/'Total cost'; expected the Sponsored Products Advertised product report")
    asin = _strip_guard(df[inv["asin"]]).str.upper()
    d = df.loc[asin != ""]
    rows, start, end = _console_rows(raw, d, inv, notes, "Advertised product report")
    rows["asin"] = asin.loc[rows.index]
    rows["sku"] = _strip_guard(d.loc[rows.index, inv["sku"]]) if "sku" in inv else ""
    marketplace, currency = _console_market(raw, d, inv)
    batch = _ads_batch(raw, rows, kind, marketplace, currency, start, end, notes)
    batch.extras.update({"format": fmt, "column_map": dict(mapping), "language": _language(df.columns)})
    return batch


# -- campaign reports ----------------------------------------------------------------------------------------
# The console's campaign-level downloads. Evidence, header by header:
# * Campaign Manager export, 2019 (VERIFIED, a real file in a public repository): ``Date, Start Date, End Date,
#   Portfolio name, Campaign Type, Campaign Name, Status, Currency, Budget, Targeting Type, Bidding strategy,
#   Impressions, Clicks, Click-Thru Rate (CTR), Spend, Cost Per Click (CPC), 7 Day Total Orders (#), Total
#   Advertising Cost of Sales (ACoS) , 7 Day Total Sales `` — ``Start Date`` / ``End Date`` are the campaign's own
#   dates there, not the report's: ``Date`` wins when both are present.
# * Campaign Manager export, 2026 (a public parser's test built from a real export): ``Date, Portfolio name,
#   Program Type, Campaign Name, Retailer, Country, Status, Currency, Budget Amount, Targeting Type, Bidding
#   strategy, Impressions, Last Year Impressions, Clicks, …, Spend, Last Year Spend, …, 7 Day Total Orders (#),
#   Total Advertising Cost of Sales (ACOS) , Total Return on Advertising Spend (ROAS), 7 Day Total Sales ``; the
#   ``Campaign Type`` / ``Program Type`` column names the ad product of each row.
# * Reports page "Campaign" report of Sponsored Brands / Display: ``14 Day Total Sales``, ``14 Day Total Orders (#)``,
#   ``14 Day Total Units (#)`` (the strings CORROBORATED by several public parsers; the column order INFERRED).
# * The 2026 console's campaign and ad-group exports: INFERRED from its verified advertised-product export (the same
#   ``Campaign ID`` / ``Campaign name`` / ``Ad group ID`` / ``Ad group name`` / ``Portfolio ID`` / ``Total cost`` /
#   ``Purchases`` / ``Sales`` / ``Units sold`` columns, without the product block).
# * 中文 and Español: the same labels as the advertised-product report (see the module docstring); INFERRED here.
CAMPAIGN_REPORT_FIELDS = _alias_table({
    **CONSOLE_FIELDS,
    "date_range": ["Date range", "日期范围", "Rango de fechas"],
    "currency": ["Currency", "Budget currency", "货币", "预算货币", "Divisa", "Moneda"],
    "ad_product": ["Campaign Type", "Program Type", "Ad product", "Ad type", "广告活动类型", "广告类型",
                   "Tipo de campaña", "Tipo de programa", "Producto publicitario"],
    "ad_spend": ["Spend", "Total cost", "花费", "总成本", "Gasto", "Costo total", "Coste total"],
    # the 2026 console names no window: its figures are the console's own, whichever setting is in force
    "ad_sales_console": ["Sales", "销售额", "Ventas"],
    "ad_orders_console": ["Purchases", "购买次数", "Compras"],
    "ad_units_console": ["Units sold", "已售商品数量", "Unidades vendidas"],
    **CAMPAIGN_FIELDS,
})
# A campaign report has none of these: they are the other console reports (a row per keyword, search term,
# placement or product), not one per campaign or ad group.
_NOT_CAMPAIGN = {_key(c) for c in ("Targeting", "Match Type", "Customer Search Term", "Search term", "Keyword",
                                   "Placement", "Advertised ASIN", "Advertised product ID", "Purchased ASIN",
                                   "Segmentación", "Tipo de coincidencia", "Término de búsqueda de cliente",
                                   "投放", "匹配类型", "客户搜索词", "广告位")}
AD_PRODUCT_WORDS = {"sponsored products": "SP", "sponsoredproducts": "SP", "商品推广": "SP", "productos patrocinados": "SP",
                    "sp": "SP", "sponsored brands": "SB", "sponsored brands video": "SB", "品牌推广": "SB",
                    "marcas patrocinadas": "SB", "sb": "SB", "sponsored display": "SD", "展示型推广": "SD",
                    "display patrocinado": "SD", "sd": "SD"}


def _ad_products(raw: RawReport, d: pd.DataFrame, inv: dict[str, str], windows: set[str],
                 notes: list[str]) -> pd.Series | str:
    """Each row's ad product: the Campaign Type / Program Type column; else the attribution window (Amazon
    reports Sponsored Products on 7 days for sellers, Brands and Display on 14); else the file name says it
    ('Sponsored_Brands_Campaign_report.csv'); else "" and a note."""
    if "ad_product" in inv:
        words = d[inv["ad_product"]].astype(str).str.strip().str.casefold()
        return words.map(lambda w: AD_PRODUCT_WORDS.get(w, "")).astype(object)
    if "7d" in windows:
        return "SP"
    name = re.sub(r"[\s_\-]+", " ", raw.name.casefold())
    for word, product in (("sponsored brands", "SB"), ("sponsored display", "SD"), ("sponsored products", "SP")):
        if word in name:
            return product
    notes.append("the file does not say whether its campaigns are Sponsored Brands or Sponsored Display (no "
                 "Campaign Type column, 14-day sales): they are reviewed without their ad product")
    return ""


def _campaign_console(raw: RawReport, df: pd.DataFrame, fmt: str) -> ReportBatch:
    mapping = _map_columns(df.columns, CAMPAIGN_REPORT_FIELDS, skip_b2b=False)
    inv = {v: k for k, v in mapping.items()}
    notes: list[str] = []
    named = [inv[f] for f in ("campaign_id", "campaign_name") if f in inv]
    d = df.loc[df[named].apply(lambda c: _strip_guard(c) != "").any(axis=1)] if named else df.iloc[0:0]
    d = d.loc[~d[named[0]].astype(str).str.strip().str.casefold().isin(("total", "totales", "总计", "合计"))] \
        if named else d
    rows, start, end = _console_rows(raw, d, inv, notes, "Campaign report")
    windows = {w for w in ("7d", "14d") if f"ad_sales_{w}" in inv}
    products = _ad_products(raw, d, inv, windows, notes)
    rows["ad_product"] = products.loc[rows.index] if isinstance(products, pd.Series) else products
    marketplace, currency = _console_market(raw, d, inv)
    batch = campaign_batch(raw, rows, "ads_campaign_console", marketplace, currency, start, end, notes,
                           ad_product=None)
    batch.extras.update({"format": fmt, "column_map": dict(mapping), "language": _language(df.columns)})
    return batch


@table_layout(order=10)
def recognise(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> list[ReportBatch] | None:
    keys = {_key(c) for c in df.columns}
    if _key("Advertised product ID") in keys and _key("Total cost") in keys:
        return [_ads_console(raw, df, fmt, ADS_2026_FIELDS, "ads_sp_console_2026")]
    if _key("Advertised ASIN") in keys or _key("广告ASIN") in keys or _key("ASIN anunciado") in keys:
        return [_ads_console(raw, df, fmt, ADS_CLASSIC_FIELDS, "ads_sp_classic")]
    return None


@table_layout(order=11)
def recognise_campaigns(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> list[ReportBatch] | None:
    """A campaign or ad-group download: a campaign column, spend, and none of the other reports' row columns."""
    keys = {_key(c) for c in df.columns}
    fields = {CAMPAIGN_REPORT_FIELDS[k] for k in keys if k in CAMPAIGN_REPORT_FIELDS}
    if keys & _NOT_CAMPAIGN or "ad_spend" not in fields or not fields & {"campaign_id", "campaign_name"}:
        return None
    return [_campaign_console(raw, df, fmt)]
