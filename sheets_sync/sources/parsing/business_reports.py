"""Seller Central Business Reports: Detail Page Sales and Traffic By Child / Parent Item, Sales and Traffic by
Date, Sales and Orders by Month (CSV or XLSX, English / 中文 / Español / 한국어 UI)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .cells import (
    _ASIN_RE,
    _B2B,
    MARKETPLACE_BY_CURRENCY,
    _alias_table,
    _currency_from_values,
    _language,
    _map_columns,
    _num,
    _range_from_name,
    _shown_date,
    _strip_guard,
    normalize_header,
)
from .registry import kinds, table_layout

kinds(business_child_item="traffic", business_parent_item="traffic", business_by_date="traffic",
      business_by_month="traffic")

# Business Reports (child / parent item and by date). Only the fields we use, plus the traps we must NOT use.
BUSINESS_FIELDS = _alias_table({
    "parent_asin": ["(Parent) ASIN", "(父)ASIN", "(父) ASIN", "ASIN (parent)", "ASIN (principal)", "ASIN (padre)",
                    "ASIN principal", "(상위) ASIN", "Parent ASIN"],
    "asin": ["(Child) ASIN", "(子)ASIN", "(子) ASIN", "ASIN (child)", "ASIN (secundario)", "ASIN (hijo)",
             "ASIN secundario", "(하위) ASIN", "Child ASIN"],
    "title": ["Title", "标题", "商品名称", "Título", "Titulo", "제목"],
    "sku": ["SKU"],
    "date": ["Date", "日期", "Fecha", "날짜"],
    "sessions": ["Sessions", "Sessions - Total", "会话数 - 总计", "会话次数 - 总计", "买家访问次数", "Total de sesiones",
                 "Sesiones - Total", "Sesiones", "세션 - 총계"],
    "page_views": ["Page Views", "Page Views - Total", "页面浏览量 - 总计", "页面浏览量", "页面浏览次数",
                   "Total de visualizaciones de página", "Vistas de página - Total", "Vistas de página",
                   "페이지 조회수 - 총계"],
    "buy_box_pct": ["Buy Box Percentage", "Featured Offer (Buy Box) Percentage", "Featured Offer Percentage",
                    "推荐报价(推荐报价展示位)百分比", "推荐报价百分比", "购买按钮赢得率", "购物车赢得率",
                    "Porcentaje de oferta destacada (Buy Box)", "Porcentaje de la oferta destacada",
                    "Porcentaje de Buy Box", "주요 오퍼(바이 박스) 백분율"],
    "units": ["Units Ordered", "已订购商品数量", "Unidades pedidas", "Unidades ordenadas", "상품 주문량"],
    "gmv": ["Ordered Product Sales", "Gross Product Sales", "已订购商品销售额", "Ventas de productos pedidos",
            "Ventas de productos ordenados", "주문한 상품 판매량"],
    "orders": ["Total Order Items", "Orders Placed", "订单商品总数", "Total de artículos del pedido",
               "Total de artículos pedidos", "Total de articulos pedidos", "총 주문 아이템"],
    "units_refunded": ["Units Refunded", "已退款商品数量", "Unidades reembolsadas", "환불된 상품 수"],
    # The Chinese UI labels "Session Percentage - Total" as 转化率 - 总计 ("conversion rate"): it is NOT conversion.
    "session_pct": ["Session Percentage", "Session Percentage - Total", "转化率 - 总计", "会话百分比 - 总计",
                    "会话百分比"],
    "unit_session_pct": ["Unit Session Percentage", "商品会话百分比", "订单商品数量转化率", "상품 세션 비율"],
    "page_views_pct": ["Page Views Percentage", "Page Views Percentage - Total", "页面浏览量百分比 - 总计"],
    "shipped_sales": ["Shipped Product Sales"],
    "units_shipped": ["Units Shipped"],
    "orders_shipped": ["Orders Shipped"],
})


_SPANISH_KEYWORDS = (
    (re.compile(r"porcentaje|%"), None),
    (re.compile(r"sesiones"), "sessions"),
    (re.compile(r"visualizaciones|vistas de p"), "page_views"),
    (re.compile(r"ventas de productos"), "gmv"),
    (re.compile(r"art[ií]culos"), "orders"),
    (re.compile(r"unidades"), "units"),
    (re.compile(r"oferta destacada|buy box"), "buy_box_pct"),
)
_G3_POSITIONS = {0: "parent_asin", 1: "asin", 2: "title", 3: "sku", 4: "sessions", 8: "page_views",
                 12: "buy_box_pct", 14: "units", 18: "gmv", 20: "orders"}

def _spanish_fallback(cols: list[str], mapping: dict[str, str], df: pd.DataFrame) -> dict[str, str] | None:
    """Headers in a wording we do not know yet (MX Spanish UI changes often): keywords, then the G3 positions
    when the file has the 22 G3 columns and ASIN-looking first two columns."""
    out = dict(mapping)
    taken = set(out.values())
    for col in cols:
        norm = normalize_header(col)
        if col in out or _B2B.search(norm):
            continue
        for rx, field_name in _SPANISH_KEYWORDS:
            if rx.search(norm):
                if field_name and field_name not in taken:
                    out[col] = field_name
                    taken.add(field_name)
                break
    if taken & {"asin", "parent_asin"} and taken & {"sessions", "units", "gmv"}:
        return out
    if len(cols) == 22 and len(df):
        first = df.iloc[:20, :2].apply(lambda c: c.astype(str).str.strip().str.upper().str.match(_ASIN_RE))
        if bool(first.all().all()):
            return {cols[i]: f for i, f in _G3_POSITIONS.items()}
    return None



def _business_item(raw: RawReport, df: pd.DataFrame, mapping: dict[str, str], fmt: str) -> ReportBatch:
    inv = {v: k for k, v in mapping.items()}
    parent_only = "asin" not in inv
    kind = "business_parent_item" if parent_only else "business_child_item"
    asin_col = inv["parent_asin"] if parent_only else inv["asin"]
    asin = _strip_guard(df[asin_col]).str.upper()
    keep = asin.str.match(_ASIN_RE)
    warnings_: list[str] = []
    dropped = int((~keep & (asin != "")).sum())
    if dropped:
        warnings_.append(f"{dropped} row(s) without a valid ASIN (e.g. a totals row) left out")
    d = df.loc[keep]
    out = pd.DataFrame({"date": pd.Series(pd.NaT, index=d.index, dtype="datetime64[ns]"),
                        "asin": asin[keep]})
    out["sku"] = _strip_guard(d[inv["sku"]]) if "sku" in inv else ""
    out["title"] = d[inv["title"]].astype(str).str.strip() if "title" in inv else ""
    out["parent_asin"] = (_strip_guard(d[inv["parent_asin"]]).str.upper() if "parent_asin" in inv else "")
    for m in ("gmv", "units", "orders", "sessions", "page_views"):
        out[m] = _num(d[inv[m]]) if m in inv else np.nan
    if "buy_box_pct" in inv and "page_views" in inv:
        out["buy_box_views"] = out["page_views"] * _num(d[inv["buy_box_pct"]], pct=True)
    else:
        out["buy_box_views"] = np.nan
        warnings_.append("no Buy Box percentage column: buy_box_views left empty")
    if parent_only:
        warnings_.append("a By Parent Item report: asin_rows are parent ASINs")
    currency, bare_dollar = _currency_from_values(df[inv["gmv"]] if "gmv" in inv else None)
    if bare_dollar:
        warnings_.append("money shown with a bare '$' (US or MX): the currency comes from the folder")
    marketplace = MARKETPLACE_BY_CURRENCY.get(currency) if currency else None
    start, end = _range_from_name(raw.name)
    if start is not None and start == end:
        out["date"] = pd.Timestamp(start)
    return ReportBatch(source=raw.name, kind=kind, family="traffic", marketplace=marketplace or None,
                       currency=currency, start=start, end=end, asin_rows=out.reset_index(drop=True),
                       extras={"format": fmt, "column_map": dict(mapping), "language": _language(df.columns)},
                       warnings=warnings_)


_SLASH_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\s*$")


def _business_dates(name: str, s: pd.Series, locale_hint: str | None) -> tuple[pd.Series, str, list[str]]:
    """Business Report dates → (days, order, warnings); the month/day order is decided per file."""
    t = _strip_guard(s)
    iso = pd.to_datetime(t, format="%Y-%m-%d", errors="coerce")
    if iso.notna().all():
        return iso.astype("datetime64[ns]"), "iso", []
    parts = t.str.extract(_SLASH_DATE)
    ok = parts.notna().all(axis=1)
    if not ok.any():
        named = pd.to_datetime(t, format="%b %d, %Y", errors="coerce")
        if named.notna().any():
            return named.astype("datetime64[ns]"), "named", []
        raise ReportFormatError(name, f"dates not recognised (e.g. {_shown_date(t.iloc[0])}); expected M/D/YYYY, DD/MM/YY or "
                                "YYYY-MM-DD")
    a = pd.to_numeric(parts[0], errors="coerce")
    b = pd.to_numeric(parts[1], errors="coerce")
    y = pd.to_numeric(parts[2], errors="coerce")
    y = y.where(y >= 100, y + 2000)

    def build(month: pd.Series, day: pd.Series) -> pd.Series:
        frame = pd.DataFrame({"year": y, "month": month, "day": day})
        return pd.to_datetime(frame.where(ok), errors="coerce").astype("datetime64[ns]")

    mdy, dmy = build(a, b), build(b, a)
    notes: list[str] = []
    a_big, b_big = bool((a[ok] > 12).any()), bool((b[ok] > 12).any())
    if a_big and b_big:
        raise ReportFormatError(name, "dates mix day-first and month-first values (e.g. 13/01 and 01/13); "
                                "expected one date format per file")
    if a_big:
        order = "day_first"
    elif b_big:
        order = "month_first"
    elif locale_hint:
        order = locale_hint
        notes.append(f"dates like {t[ok].iloc[0]!r} fit both day-first and month-first; read as "
                     f"{order.replace('_', '-')} because of the file's locale (currency/language)")
    else:
        def regular(x: pd.Series) -> bool:
            x = x.dropna().sort_values()
            if len(x) < 2:
                return False
            diffs = x.diff().dropna().dt.days
            return bool((diffs == 1).all()) or bool((x.dt.day == 1).all() and diffs.between(28, 31).all())
        reg_m, reg_d = regular(mdy), regular(dmy)
        if reg_m != reg_d:
            order = "month_first" if reg_m else "day_first"
            notes.append(f"dates like {t[ok].iloc[0]!r} fit both orders; read as {order.replace('_', '-')} "
                         "because that gives evenly spaced dates")
        else:
            raise ReportFormatError(name, f"dates like {t[ok].iloc[0]!r} are ambiguous (day-first or month-first?) "
                                    "and nothing in the file decides; expected a file with a day > 12, a currency "
                                    "symbol, or ISO dates (YYYY-MM-DD)")
    return (mdy if order == "month_first" else dmy), order, notes


def _business_by_date(raw: RawReport, df: pd.DataFrame, mapping: dict[str, str], fmt: str) -> ReportBatch:
    inv = {v: k for k, v in mapping.items()}
    money_col = df[inv["gmv"]] if "gmv" in inv else None
    currency, bare_dollar = _currency_from_values(money_col)
    lang = _language(df.columns)
    hint = None
    if currency == "INR" or lang == "es":
        hint = "day_first"
    elif currency in ("USD", "JPY", "CNY") or (bare_dollar and lang in ("en", "zh")):
        hint = "month_first"
    raw_dates = df[inv["date"]]
    nonempty = _strip_guard(raw_dates) != ""
    d = df.loc[nonempty]
    days, order, notes = _business_dates(raw.name, d[inv["date"]], hint)
    bad = int(days.isna().sum())
    if bad == len(days):
        raise ReportFormatError(raw.name, "no row has a valid date; expected M/D/YYYY, DD/MM/YY or YYYY-MM-DD")
    if bad:
        notes.append(f"{bad} row(s) with an invalid date left out")
    keep = days.notna()
    d, days = d.loc[keep], days[keep]
    out = pd.DataFrame({"date": days.values})
    for m in ("gmv", "units", "orders", "sessions", "page_views", "units_refunded"):
        if m in inv:
            out[m] = _num(d[inv[m]]).values
    if "buy_box_pct" in inv and "page_views" in inv:
        out["buy_box_views"] = out["page_views"] * _num(d[inv["buy_box_pct"]], pct=True).values
    extras: dict[str, Any] = {"format": fmt, "column_map": dict(mapping), "language": lang, "date_order": order}
    monthly = len(out) > 0 and bool((out["date"].dt.day == 1).all()) and (
        (len(out) == 1 and ("shipped_sales" in inv and "sessions" not in inv))
        or (len(out) > 1 and bool(out["date"].sort_values().diff().dropna().dt.days.between(28, 31).all())))
    start = out["date"].min().date()
    end = out["date"].max().date()
    kind = "business_by_date"
    if monthly:
        kind = "business_by_month"
        extras["granularity"] = "month"
        end = (pd.Timestamp(end) + pd.offsets.MonthEnd(0)).date()
        notes.append("monthly rows (Sales and Orders by Month): each row is a whole month dated on its 1st")
    if bare_dollar:
        notes.append("money shown with a bare '$' (US or MX): the currency comes from the folder")
    marketplace = MARKETPLACE_BY_CURRENCY.get(currency) if currency else None
    return ReportBatch(source=raw.name, kind=kind, family="traffic", marketplace=marketplace, currency=currency,
                       start=start, end=end, daily_rows=out.sort_values("date").reset_index(drop=True),
                       extras=extras, warnings=notes)


@table_layout(order=50)
def recognise(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> list[ReportBatch] | None:
    cols = list(df.columns)
    biz = _map_columns(cols, BUSINESS_FIELDS)
    fields = set(biz.values())
    if not fields & {"asin", "parent_asin", "date"} or not fields & {"sessions", "units", "gmv", "page_views"}:
        fallback = _spanish_fallback(cols, biz, df)
        if fallback:
            biz, fields = fallback, set(fallback.values())
            by_position = set(fallback) == {cols[i] for i in _G3_POSITIONS} and len(cols) == 22
            if fields & {"asin", "parent_asin"}:
                batch = _business_item(raw, df, biz, fmt)
                batch.warnings.append(
                    "header wording not recognised: columns read by their position in the 22-column Business "
                    "Report layout" if by_position else
                    "header wording not recognised exactly: columns matched by keywords (sesiones, ventas, …)")
                return [batch]
    if fields & {"asin", "parent_asin"} and fields & {"sessions", "units", "gmv", "page_views"}:
        return [_business_item(raw, df, biz, fmt)]
    if "date" in fields and fields & {"gmv", "units", "sessions"}:
        return [_business_by_date(raw, df, biz, fmt)]
    return None
