"""Parse any supported Amazon report document into :class:`~sheets_sync.frames.ReportBatch` objects.

Public API::

    parse_report(raw: RawReport) -> list[ReportBatch]

The layout is recognised from the CONTENT (never the file name): gzip or plain bytes, XLSX (zip) workbooks,
JSON documents, CSV (Business Reports, Ads console) and TSV (SP-API flat files). Anything else — a truncated
gzip, an HTML error page saved as a report, an empty file, an unknown header — raises
:class:`~sheets_sync.errors.ReportFormatError` naming the file and saying what was expected.

Kinds (``ReportBatch.kind``) and families:

=============================  ===========  ==========================================================
kind                           family       layout
=============================  ===========  ==========================================================
``business_child_item``        traffic      Business Reports "Detail Page Sales and Traffic By Child Item"
``business_parent_item``       traffic      the same "By Parent Item" (``asin`` is the parent ASIN)
``business_by_date``           traffic      "Sales and Traffic by Date" (daily_rows)
``business_by_month``          traffic      "Sales and Orders by Month" (daily_rows dated the 1st; one row
                                            = one month; ``extras["granularity"] == "month"``)
``sp_api_sales_traffic``       traffic      GET_SALES_AND_TRAFFIC_REPORT JSON
``ads_sp_classic``             ads          Ads console SP "Advertised product" 2019–2024 (CSV or XLSX,
                                            English or Chinese UI, daily ``Date`` or ``Start/End Date``)
``ads_sp_console_2026``        ads          new Ads console "Advertised product" (``Date range``)
``ads_sp_api_v3``              ads          Ads API v3 ``spAdvertisedProduct`` JSON rows
``orders_flat_file``           orders       GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL TSV
``fba_inventory``              inventory    GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA TSV
``fba_returns``                returns      GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA TSV
``seller_performance``         health       GET_V2_SELLER_PERFORMANCE_REPORT JSON (one batch per marketplace)
=============================  ===========  ==========================================================

``extras`` keys:

* all tabular layouts: ``"format"`` (csv / tsv / xlsx / json), ``"column_map"`` {file header: canonical field}.
* Business Reports / Ads console: ``"language"`` (en / zh / es / ko).
* ads: ``"attribution_windows"`` (e.g. ``["7d", "14d"]``) and ``"ad_sales_window"`` (the window the plain
  ``ad_sales`` / ``ad_orders`` / ``ad_units`` columns hold: 7d when the file has it). When the file has a
  14-day window the asin_rows also carry ``ad_sales_14d``, ``ad_orders_14d``, ``ad_units_14d`` (and
  ``ad_sales_7d`` … when both windows are present), so compute can honour Settings ``ads_attribution``.
* ``business_by_month``: ``"granularity": "month"``; by-date: ``"date_order"`` (``"month_first"`` /
  ``"day_first"`` / ``"iso"``).
* inventory: ``"snapshot": True``.
* returns: ``"return_reasons"`` DataFrame(asin, reason, units).
* orders: ``"pending_lines"`` (lines counted with price 0 because Amazon had no price yet),
  ``"cancelled_lines"``, ``"non_amazon_lines"`` (MCF lines left out).
* health: ``"account_status"``, ``"ahr_status"``, ``"health_more"`` (on-time delivery, chargebacks,
  negative feedback: same {rate, count, orders, from, to} shape).

Decisions:

* ``a_to_z_rate`` = (A-to-z claims of the AFN and MFN ODR objects) / (their combined order count), the same
  counts-weighted combination as ``odr``: Amazon's own ODR page adds both fulfilment channels together.
* Orders: Pending lines (empty item-price) count their units with price 0, and a warning says how many.
  Cancelled lines (order-status or item-status ``Cancelled``) are left out of order_units / order_sales /
  order_tax / fba_units; Amazon zeroes their ``quantity``, so ``units_cancelled`` counts ``quantity`` or
  1 per cancelled line when quantity is 0 (a lower bound; said in a warning).
* Business Report dates ``a/b/yyyy``: the order (month-first vs day-first) is decided per FILE: by a value
  that only fits one order (a part > 12); else by the locale the file shows (₹ / Spanish headers → day-first,
  ``$``-English → month-first: a warning says so); else by which order gives regular spacing (consecutive
  days or first-of-month); else the file is rejected as ambiguous.
* ``$`` alone is ambiguous between US and MX: currency stays None (the folder decides).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ReportFormatError
from ..frames import MARKETPLACE_BY_ID, MARKETPLACES, RawReport, ReportBatch

__all__ = ["KINDS", "normalize_header", "parse_report"]

KINDS: dict[str, str] = {
    "business_child_item": "traffic",
    "business_parent_item": "traffic",
    "business_by_date": "traffic",
    "business_by_month": "traffic",
    "sp_api_sales_traffic": "traffic",
    "ads_sp_classic": "ads",
    "ads_sp_console_2026": "ads",
    "ads_sp_api_v3": "ads",
    "orders_flat_file": "orders",
    "fba_inventory": "inventory",
    "fba_returns": "returns",
    "seller_performance": "health",
}

EXPECTED = (
    "expected an Amazon report: a Business Report CSV (Detail Page Sales and Traffic by Child/Parent Item, "
    "Sales and Traffic by Date), an Ads console Sponsored Products 'Advertised product' CSV/XLSX, "
    "GET_SALES_AND_TRAFFIC_REPORT / GET_V2_SELLER_PERFORMANCE_REPORT / Ads API spAdvertisedProduct JSON, or an "
    "orders / FBA inventory / FBA returns flat file (TSV)"
)

CURRENCY_BY_MARKETPLACE = {mp: info["currency"] for mp, info in MARKETPLACES.items()}
MARKETPLACE_BY_CURRENCY = {v: k for k, v in CURRENCY_BY_MARKETPLACE.items()}
MARKETPLACE_BY_CHANNEL = {info["sales_channel"].casefold(): mp for mp, info in MARKETPLACES.items()}
_API_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})\s*$")


# --------------------------------------------------------------------------------------------- header helpers

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
_CURRENCY_TAG = re.compile(
    r"\s*\((?:[a-z]{0,3}[$¥€£₹₩]|usd|mxn|inr|eur|gbp|jpy|cad|brl|aud)\)\s*$")


def normalize_header(text: object) -> str:
    """NFKC, dashes → '-', strip, collapse spaces, casefold, drop a trailing ``(₹)``-style currency tag."""
    s = unicodedata.normalize("NFKC", str(text)).translate(_DASHES)
    s = s.replace("\ufeff", "").replace("\u200b", "")
    s = " ".join(s.split()).casefold()
    s = _CURRENCY_TAG.sub("", s)
    return s.strip()


def _key(text: object) -> str:
    """Matching key: the normalised header without any whitespace (so '(父)ASIN' == '(父) ASIN', '-B2B' == '- B2B')."""
    return re.sub(r"\s+", "", normalize_header(text))


def _alias_table(spec: dict[str, Iterable[str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for field_name, aliases in spec.items():
        for alias in aliases:
            table[_key(alias)] = field_name
    return table


_B2B = re.compile(r"(-|:)\s*(b2b|entre empresas)$|\bb2b$")

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

ORDERS_COLUMNS = ("purchase-date", "order-status", "item-status", "fulfillment-channel", "sales-channel", "sku",
                  "asin", "quantity", "currency", "item-price", "item-tax", "amazon-order-id")
INVENTORY_COLUMNS = ("sku", "asin", "afn-fulfillable-quantity", "afn-reserved-quantity",
                     "afn-inbound-working-quantity", "afn-inbound-shipped-quantity",
                     "afn-inbound-receiving-quantity", "afn-listing-exists")
RETURNS_COLUMNS = ("return-date", "order-id", "sku", "asin", "quantity", "reason", "detailed-disposition")

COUNTRY_TO_MARKETPLACE = {
    "united states": "US", "us": "US", "usa": "US", "美国": "US", "estados unidos": "US", "amazon.com": "US",
    "mexico": "MX", "méxico": "MX", "mx": "MX", "墨西哥": "MX", "amazon.com.mx": "MX",
}

# --------------------------------------------------------------------------------------------- value helpers

_EXCEL_GUARD = re.compile(r'^="(.*)"$|^=(.*)$', re.S)
_CURRENCY_PREFIX = re.compile(r"^\s*(US\$|MX\$|C\$|CA\$|A\$|AU\$|R\$|JP¥|CN¥|MXN|USD|INR|Rs\.?|[$¥￥€£₹])")
_SYMBOL_CURRENCY = {"US$": "USD", "USD": "USD", "MX$": "MXN", "MXN": "MXN", "₹": "INR", "INR": "INR", "RS": "INR",
                    "RS.": "INR", "JP¥": "JPY", "¥": "JPY", "￥": "JPY", "€": "EUR", "£": "GBP", "C$": "CAD",
                    "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "R$": "BRL", "CN¥": "CNY"}
_NOT_NUMBER = re.compile(r"[^0-9.eE+\-]")


def _per_unique(s: pd.Series, fn: Callable[[str], Any]) -> pd.Series:
    """Apply ``fn`` once per distinct value (ASINs, statuses, channels repeat a lot in big files)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = np.array([fn(str(u)) for u in uniques] + [fn("")], dtype=object)
    return pd.Series(mapped[codes], index=s.index, dtype=object)


def _clean_text(s: pd.Series, upper: bool = False, casefold: bool = False) -> pd.Series:
    """Strip (and upper-case / casefold) a text column, vectorised over its distinct values."""
    def fn(v: str) -> str:
        v = v.strip()
        if v.startswith("="):
            m = _EXCEL_GUARD.match(v)
            if m:
                v = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        return v.upper() if upper else v.casefold() if casefold else v
    return _per_unique(s, fn)


def _strip_guard(s: pd.Series) -> pd.Series:
    """Remove Excel ``="…"`` guards and surrounding whitespace (vectorised)."""
    s = s.astype(str).str.strip()
    if s.str.startswith("=").any():
        s = s.str.replace(_EXCEL_GUARD, lambda m: m.group(1) if m.group(1) is not None else m.group(2),
                          regex=True).str.strip()
    return s


def _num(s: pd.Series | None, pct: bool = False) -> pd.Series:
    """Formatted numbers → float64: ``"12,131"``, ``"$12,905.25"``, ``US$``/``MX$``/``MXN``/``₹`` prefixes, lakh
    grouping, ``="…"`` guards, ``(123.45)`` negatives; empty → NaN. With ``pct``: ``12.02%`` → 0.1202 (values
    without ``%`` that are above 1 are taken as percentages too; fractions stay)."""
    if s is None:
        return pd.Series(dtype="float64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        out = s.astype("float64")
        if pct:
            out = out.where(~(out > 1.0), out / 100.0)
        return out
    # fast path: plain numbers (flat files) parse in C; only the other cells go through the cleaning below
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    todo = out.isna().to_numpy() & (s != "").to_numpy()
    has_pct = np.zeros(len(s), dtype=bool)
    if todo.any():
        t = _strip_guard(s[todo])
        neg = (t.str.startswith("(") & t.str.endswith(")")).to_numpy()
        pct_cells = t.str.endswith("%").to_numpy()
        v = pd.to_numeric(t.str.replace(_NOT_NUMBER, "", regex=True), errors="coerce").astype("float64").to_numpy()
        v = np.where(neg, -np.abs(v), v)
        v = np.where(pct_cells, v / 100.0, v)
        vals = out.to_numpy(copy=True)
        vals[todo] = v
        has_pct[todo] = pct_cells
        out = pd.Series(vals, index=s.index, dtype="float64")
    if pct:
        out = out.where(has_pct | ~(out > 1.0), out / 100.0)
    return out


def _currency_from_values(s: pd.Series | None) -> tuple[str | None, bool]:
    """ISO currency from the money cells' symbol; (None, True) when only a bare ``$`` was seen (US or MX)."""
    if s is None or not len(s):
        return None, False
    sample = _strip_guard(s.head(200))
    prefixes = sample.str.extract(_CURRENCY_PREFIX, expand=False).dropna()
    suffix = sample.str.extract(r"(MXN|USD|INR)\s*$", expand=False).dropna()
    found = {str(p).upper() for p in pd.concat([prefixes, suffix])}
    isos = {_SYMBOL_CURRENCY[p] for p in found if p in _SYMBOL_CURRENCY}
    if len(isos) == 1:
        return isos.pop(), False
    return None, "$" in found


def _as_day(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").dt.normalize().astype("datetime64[ns]")


_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _parse_dates_flexible(s: pd.Series) -> pd.Series:
    """Ads console dates: ISO, ``Aug 24, 2019``, ``M/D/YYYY`` (US console), Excel serials (XLSX)."""
    t = _strip_guard(s)
    out = pd.to_datetime(t, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S"):
        if not out.isna().any():
            break
        out = out.fillna(pd.to_datetime(t, format=fmt, errors="coerce"))
    if out.isna().any():
        serial = pd.to_numeric(t, errors="coerce")
        serial = serial.where((serial > 20000) & (serial < 80000))
        out = out.fillna(_EXCEL_EPOCH + pd.to_timedelta(serial.round(), unit="D"))
    if out.isna().any():     # e.g. "2024-05-01T00:00:00+00:00"
        iso = pd.to_datetime(t.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        out = out.fillna(iso)
    return out.dt.normalize().astype("datetime64[ns]")


def _date_or_none(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _float(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("amount")
    if value is None or isinstance(value, bool):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


# --------------------------------------------------------------------------------------------- decoding

def _decompress(raw: RawReport) -> bytes:
    data = raw.data
    if data is None:
        raise ReportFormatError(raw.name, f"no content; {EXPECTED}")
    if isinstance(data, str):
        data = data.encode("utf-8")
    rounds = 0
    while data[:2] == b"\x1f\x8b" and rounds < 3:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReportFormatError(
                raw.name, f"gzip data is truncated or damaged ({exc}); expected a complete .gz report "
                "(download it again)") from None
        rounds += 1
    return data


def _decode(raw: RawReport, data: bytes) -> tuple[str, str]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    candidates: list[str] = []
    if raw.charset:
        candidates.append(raw.charset.strip().strip('"'))
    candidates += ["utf-8-sig", "cp1252"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.lstrip("\ufeff"), enc
    return data.decode("latin-1"), "latin-1"


def _range_from_name(name: str) -> tuple[dt.date | None, dt.date | None]:
    """API documents are named ``sp-api:<type>:<mp>:<start>..<end>``: their requested range, when there."""
    m = _API_NAME.search(name or "")
    if not m:
        return None, None
    try:
        return dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
    except ValueError:
        return None, None


# --------------------------------------------------------------------------------------------- entry point

def parse_report(raw: RawReport) -> list[ReportBatch]:
    """Parse one report document; always returns a list (the seller-performance JSON and an orders file with
    both marketplaces give one batch per marketplace). Raises ReportFormatError naming ``raw.name``."""
    name = raw.name
    data = _decompress(raw)
    if not data[:65536].strip() and not data.strip():
        raise ReportFormatError(name, f"the file is empty; {EXPECTED}")
    try:
        peek = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
        doc: Any = None
        if peek[:1] in (b"{", b"["):
            try:            # JSON straight from the bytes (no decode + copy of a big document)
                doc = json.loads(data[3:] if data[:3] == b"\xef\xbb\xbf" else data)
            except ValueError:      # incl. UnicodeDecodeError: the text path reports it
                doc = None
        if doc is not None:
            batches = _parse_json(raw, doc)
        elif data[:4] == b"PK\x03\x04":
            batches = _parse_zip(raw, data)
        else:
            text, encoding = _decode(raw, data)
            batches = _parse_text(raw, text, encoding, data)
    except ReportFormatError:
        raise
    except Exception as exc:
        raise ReportFormatError(name, f"could not be read ({type(exc).__name__}: {exc}); {EXPECTED}") from exc
    for b in batches:
        b.fetched_at = raw.fetched_at
        if raw.provisional_days:
            b.provisional_days = frozenset(b.provisional_days) | raw.provisional_days
    return batches


def _first_line(text: str) -> str:
    """The first non-empty line, without copying the rest of a big file."""
    start = 0
    while start < len(text) and text[start] in "\r\n":
        start += 1
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end].rstrip("\r")


def _parse_text(raw: RawReport, text: str, encoding: str, data: bytes | None = None) -> list[ReportBatch]:
    name = raw.name
    head = text.lstrip()[:2048]
    if "\x00" in head:
        raise ReportFormatError(name, f"binary content (not a text report); {EXPECTED}")
    low = head[:512].casefold()
    if low.startswith("<") or "<html" in low or "<!doctype" in low:
        raise ReportFormatError(
            name, "this is an HTML page (an error or sign-in page saved instead of the report); "
            f"{EXPECTED}. Download the report again")
    if head[:1] in "{[":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ReportFormatError(name, f"JSON is damaged or truncated ({exc}); expected a complete "
                                    "GET_SALES_AND_TRAFFIC_REPORT, GET_V2_SELLER_PERFORMANCE_REPORT or Ads API "
                                    "spAdvertisedProduct document") from None
        return _parse_json(raw, doc)
    first_line = _first_line(text)
    if "\t" in first_line:
        return _parse_tsv(raw, text, encoding, data)
    if "," in first_line or ";" in first_line:
        return _parse_csv(raw, text, encoding)
    raise ReportFormatError(name, f"no CSV/TSV header and not JSON (first line: {first_line[:80]!r}); {EXPECTED}")


def _read_table(name: str, text: str, sep: str, quote_none: bool,
                usecols: Callable[[str], bool] | None = None, data: bytes | None = None,
                encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV/TSV with every cell as a string. Big flat files are read from their bytes (faster than text)."""
    kwargs: dict[str, Any] = dict(sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                                  skip_blank_lines=True, engine="c", index_col=False)
    if quote_none:
        kwargs["quoting"] = csv.QUOTE_NONE
    if usecols is not None:
        kwargs["usecols"] = usecols
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", pd.errors.ParserWarning)   # rows longer than the header
            if data is not None and encoding and not encoding.lower().startswith("utf-16"):
                df = pd.read_csv(io.BytesIO(data), encoding=encoding, **kwargs)
            else:
                df = pd.read_csv(io.StringIO(text), **kwargs)
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError, ValueError,
            csv.Error, UnicodeError) as exc:
        msg = str(exc).strip().split(". This leads")[0][:160]
        raise ReportFormatError(name, f"the table is malformed ({msg}); expected every row to have the header's "
                                "columns (a complete, unedited download)") from None
    if any(df[c].hasnans for c in df.columns):
        df = df.fillna("")
    return df


# --------------------------------------------------------------------------------------------- CSV / XLSX

def _parse_zip(raw: RawReport, data: bytes) -> list[ReportBatch]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReportFormatError(raw.name, f"damaged ZIP/XLSX file ({exc}); expected a complete .xlsx download "
                                "or a CSV") from None
    if "xl/workbook.xml" not in names:
        raise ReportFormatError(raw.name, "a ZIP archive, not a report: expected an .xlsx workbook or the CSV/TSV "
                                "itself (unzip it into the reports folder)")
    return _parse_xlsx(raw, data)


def _parse_xlsx(raw: RawReport, data: bytes) -> list[ReportBatch]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise ReportFormatError(raw.name, f"damaged .xlsx workbook ({type(exc).__name__}); expected an Ads console "
                                "or Business Report download") from None
    try:
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    if not rows:
        raise ReportFormatError(raw.name, f"the workbook's first sheet is empty; {EXPECTED}")
    width = max(len(r) for r in rows)

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, dt.datetime):
            return v.date().isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float):
            return repr(v)
        return str(v)

    header = [cell(v) for v in rows[0]] + [""] * (width - len(rows[0]))
    body = [[cell(v) for v in r] + [""] * (width - len(r)) for r in rows[1:]]
    df = pd.DataFrame(body, columns=_dedupe(header), dtype=object).astype(str)
    return _dispatch_table(raw, df, fmt="xlsx")


def _dedupe(cols: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        n = seen.get(c, 0)
        seen[c] = n + 1
        out.append(c if n == 0 else f"{c}.{n}")
    return out


def _parse_csv(raw: RawReport, text: str, encoding: str) -> list[ReportBatch]:
    first_line = _first_line(text)
    sep = ";" if first_line.count(";") > first_line.count(",") else ","
    df = _read_table(raw.name, text, sep, quote_none=False)
    return _dispatch_table(raw, df, fmt="csv", encoding=encoding)


def _map_columns(columns: Iterable[str], table: dict[str, str], skip_b2b: bool = True) -> dict[str, str]:
    """{file column: canonical field} for the first file column of each field."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        norm = normalize_header(col)
        if skip_b2b and _B2B.search(norm):
            continue
        field_name = table.get(_key(col))
        if field_name and field_name not in taken:
            mapping[col] = field_name
            taken.add(field_name)
    return mapping


def _dispatch_table(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None = None) -> list[ReportBatch]:
    cols = [str(c) for c in df.columns]
    df.columns = cols
    keys = {_key(c) for c in cols}
    # Ads console 2026
    if _key("Advertised product ID") in keys and _key("Total cost") in keys:
        return [_ads_console(raw, df, fmt, ADS_2026_FIELDS, "ads_sp_console_2026")]
    # Ads console classic (English or Chinese)
    if _key("Advertised ASIN") in keys or _key("广告ASIN") in keys:
        return [_ads_console(raw, df, fmt, ADS_CLASSIC_FIELDS, "ads_sp_classic")]
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
    shown = ", ".join(repr(c.strip()) for c in cols[:6]) + (", …" if len(cols) > 6 else "")
    raise ReportFormatError(raw.name, f"unknown header ({len(cols)} columns: {shown}); {EXPECTED}")


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
_ASIN_RE = re.compile(r"^[A-Z0-9]{10}$")


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


def _language(cols: Iterable[str]) -> str:
    text = " ".join(cols)
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    if re.search(r"[\uac00-\ud7af]", text):
        return "ko"
    if re.search(r"sesiones|ventas|art[ií]culos|pedid|unidades|fecha", text, re.I):
        return "es"
    return "en"


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
        raise ReportFormatError(name, f"dates not recognised (e.g. {t.iloc[0]!r}); expected M/D/YYYY, DD/MM/YY or "
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


# --------------------------------------------------------------------------------------------- ads console

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
        raise ReportFormatError(raw.name, f"dates not recognised (e.g. {d.iloc[0][inv.get('date', inv.get('start_date', inv.get('date_range')))]!r}); "
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


# --------------------------------------------------------------------------------------------- JSON

def _parse_json(raw: RawReport, doc: Any) -> list[ReportBatch]:
    if isinstance(doc, dict):
        if "salesAndTrafficByDate" in doc or "salesAndTrafficByAsin" in doc or (
                isinstance(doc.get("reportSpecification"), dict)
                and doc["reportSpecification"].get("reportType") == "GET_SALES_AND_TRAFFIC_REPORT"):
            return [_sales_traffic(raw, doc)]
        if "performanceMetrics" in doc:
            return _seller_performance(raw, doc)
        for key in ("rows", "data", "report"):     # a wrapped Ads API array
            if isinstance(doc.get(key), list):
                return _parse_json(raw, doc[key])
        if "errors" in doc:
            raise ReportFormatError(raw.name, f"an API error response, not a report ({str(doc['errors'])[:160]}); "
                                    f"{EXPECTED}")
        raise ReportFormatError(raw.name, f"JSON with keys {sorted(doc)[:6]} is not a known report; expected "
                                "GET_SALES_AND_TRAFFIC_REPORT (salesAndTrafficByDate/ByAsin), "
                                "GET_V2_SELLER_PERFORMANCE_REPORT (performanceMetrics) or an Ads API "
                                "spAdvertisedProduct array")
    if isinstance(doc, list):
        if not doc:
            start, end = _range_from_name(raw.name)
            batch = _ads_batch(raw, pd.DataFrame(columns=["date", "asin", "sku"]), "ads_sp_api_v3", None, None,
                               start, end, ["an empty Ads API report: no rows (no spend, or not ready yet)"])
            batch.extras["format"] = "json"
            return [batch]
        if all(isinstance(r, dict) for r in doc) and any(
                ("advertisedAsin" in r) for r in doc[:50]):
            return [_ads_api(raw, doc)]
    raise ReportFormatError(raw.name, f"JSON {type(doc).__name__} is not a known report; expected an Ads API "
                            "spAdvertisedProduct array (advertisedAsin, cost, sales7d, …) or a SP-API report object")


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
        notes.append(f"marketplaceIds {ids} not US/MX (or several): the folder decides")
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

    try:        # fast path: every key present (what Amazon sends); 5,000 ASINs a day add up
        rows = [(a["childAsin"], a.get("sku", ""), a["parentAsin"],
                 (s := a["salesByAsin"])["orderedProductSales"]["amount"], s["unitsOrdered"], s["totalOrderItems"],
                 (t := a["trafficByAsin"])["sessions"], t["pageViews"], t["buyBoxPercentage"]) for a in by_asin]
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

    one_day = start is not None and start == end
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
    granularity = (spec.get("reportOptions") or {}).get("asinGranularity") if isinstance(
        spec.get("reportOptions"), dict) else None
    return ReportBatch(source=raw.name, kind="sp_api_sales_traffic", family="traffic", marketplace=marketplace,
                       currency=currency, start=start, end=end, asin_rows=asin_df, daily_rows=daily.reset_index(drop=True),
                       warnings=notes, provisional_days=provisional,
                       extras={"format": "json", "asin_granularity": granularity})


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


def _seller_performance(raw: RawReport, doc: dict) -> list[ReportBatch]:
    metrics = doc.get("performanceMetrics")
    if not isinstance(metrics, list) or not metrics:
        raise ReportFormatError(raw.name, "GET_V2_SELLER_PERFORMANCE_REPORT without performanceMetrics entries; "
                                "expected one object per marketplace")
    statuses = {str(s.get("marketplaceId")): s.get("status") for s in doc.get("accountStatuses") or []
                if isinstance(s, dict)}
    out = []
    for pm in metrics:
        if not isinstance(pm, dict):
            continue
        mp_id = str(pm.get("marketplaceId", ""))
        marketplace = MARKETPLACE_BY_ID.get(mp_id)
        notes: list[str] = []
        if marketplace is None:
            notes.append(f"marketplaceId {mp_id!r} is not US/MX")
        health, more = _health_of(pm, notes)
        froms = [v["from"] for v in health.values() if v.get("from")]
        tos = [v["to"] for v in health.values() if v.get("to")]
        ahr = pm.get("accountHealthRating") or {}
        extras = {"format": "json", "marketplace_id": mp_id, "account_status": statuses.get(mp_id),
                  "ahr_status": ahr.get("ahrStatus", ahr.get("accountHealthRatingStatus")) if isinstance(ahr, dict)
                  else None, "health_more": more}
        out.append(ReportBatch(source=raw.name, kind="seller_performance", family="health", marketplace=marketplace,
                               currency=None, start=min(froms) if froms else None, end=max(tos) if tos else None,
                               health=health, extras=extras, warnings=notes))
    if not out:
        raise ReportFormatError(raw.name, "performanceMetrics has no objects; expected one per marketplace")
    return out


def _window(obj: dict) -> tuple[dt.date | None, dt.date | None]:
    r = obj.get("reportingDateRange") or {}
    if not isinstance(r, dict):
        return None, None
    return _date_or_none(r.get("reportingDateFrom")), _date_or_none(r.get("reportingDateTo"))


def _rate_entry(rate: Any, count: Any, orders: Any, start: Any, end: Any, notes: list[str], label: str) -> dict:
    r, c, n = _float(rate), _float(count), _float(orders)
    if np.isnan(r) and not np.isnan(c) and not np.isnan(n) and n > 0:
        r = c / n
    if not np.isnan(r) and r > 1.0:
        notes.append(f"{label}: rate {r} above 1 read as a percentage")
        r = r / 100.0
    return {"rate": None if np.isnan(r) else float(r), "count": None if np.isnan(c) else int(c),
            "orders": None if np.isnan(n) else int(n), "from": start, "to": end}


def _health_of(pm: dict, notes: list[str]) -> tuple[dict, dict]:
    health: dict[str, dict] = {}
    more: dict[str, dict] = {}
    odr = pm.get("orderDefectRate") or {}
    parts = [odr[k] for k in ("afn", "mfn") if isinstance(odr, dict) and isinstance(odr.get(k), dict)]
    if parts:
        orders = sum(_float(p.get("orderCount")) if not np.isnan(_float(p.get("orderCount"))) else 0.0 for p in parts)

        def total(key: str) -> float:
            return sum(_float((p.get(key) or {}).get("count")) if isinstance(p.get(key), dict)
                       and not np.isnan(_float(p[key].get("count"))) else 0.0 for p in parts)

        wins = [_window(p) for p in parts]
        start = min((w[0] for w in wins if w[0]), default=None)
        end = max((w[1] for w in wins if w[1]), default=None)
        if orders > 0:
            odr_rate: Any = total("orderWithDefects") / orders
        else:      # no counts: the reported rates, averaged
            rates = [_float(p.get("rate")) for p in parts if not np.isnan(_float(p.get("rate")))]
            odr_rate = sum(rates) / len(rates) if rates else None
        health["odr"] = _rate_entry(odr_rate, total("orderWithDefects"), orders, start, end, notes, "odr")
        health["a_to_z_rate"] = _rate_entry(total("claims") / orders if orders > 0 else None, total("claims"), orders,
                                            start, end, notes, "a_to_z_rate")
        more["chargeback_rate"] = _rate_entry(total("chargebacks") / orders if orders > 0 else None,
                                              total("chargebacks"), orders, start, end, notes, "chargeback_rate")
        more["negative_feedback_rate"] = _rate_entry(
            total("negativeFeedback") / orders if orders > 0 else None, total("negativeFeedback"), orders, start, end,
            notes, "negative_feedback_rate")
    specs = (
        ("late_shipment_rate", ("lateShipmentRate",), "lateShipmentCount", "orderCount", health),
        ("cancel_rate", ("preFulfillmentCancellationRate", "prefulfillmentCancelRate"), "cancellationCount",
         "orderCount", health),
        ("valid_tracking_rate", ("validTrackingRate",), "validTrackingCount", "shipmentCount", health),
        ("on_time_delivery_rate", ("onTimeDeliveryRate",), "onTimeDeliveryCount", "shipmentCountWithValidTracking",
         more),
        ("invoice_defect_rate", ("invoiceDefectRate",), None, "orderCount", more),
    )
    for label, keys, count_key, orders_key, target in specs:
        obj = next((pm[k] for k in keys if isinstance(pm.get(k), dict)), None)
        if obj is None:
            continue
        start, end = _window(obj)
        count = obj.get(count_key) if count_key else None
        if label == "invoice_defect_rate" and isinstance(obj.get("invoiceDefect"), dict):
            count = obj["invoiceDefect"].get("count")
        target[label] = _rate_entry(obj.get("rate"), count, obj.get(orders_key), start, end, notes, label)
    missing = [k for k in ("odr", "late_shipment_rate", "cancel_rate", "valid_tracking_rate") if k not in health]
    if missing:
        notes.append(f"not in the report: {', '.join(missing)}")
    return health, more


# --------------------------------------------------------------------------------------------- TSV flat files

def _parse_tsv(raw: RawReport, text: str, encoding: str, data: bytes | None = None) -> list[ReportBatch]:
    header = _first_line(text)
    names = {h.strip().casefold() for h in header.split("\t")}
    if {"amazon-order-id", "purchase-date", "asin"} <= names:
        want = {c for c in ORDERS_COLUMNS if c in names}
        df = _read_table(raw.name, text, "\t", True, usecols=lambda c: c.strip().casefold() in want, data=data,
                         encoding=encoding)
        return _orders(raw, _lower_cols(df), encoding)
    if "asin" in names and "afn-fulfillable-quantity" in names:
        df = _read_table(raw.name, text, "\t", True,
                         usecols=lambda c: c.strip().casefold() in INVENTORY_COLUMNS)
        return [_inventory(raw, _lower_cols(df))]
    if {"return-date", "asin", "quantity"} <= names:
        df = _read_table(raw.name, text, "\t", True, usecols=lambda c: c.strip().casefold() in RETURNS_COLUMNS)
        return [_returns(raw, _lower_cols(df))]
    # Business Reports / Ads exported as TSV ("Unicode text" from Excel)
    df = _read_table(raw.name, text, "\t", quote_none=False)
    try:
        return _dispatch_table(raw, df, fmt="tsv", encoding=encoding)
    except ReportFormatError:
        shown = ", ".join(repr(c) for c in header.split("\t")[:6])
        raise ReportFormatError(raw.name, f"unknown tab-separated header ({shown}, …); expected an orders "
                                "(amazon-order-id, purchase-date, …), FBA inventory (afn-fulfillable-quantity) or "
                                "FBA returns (return-date) flat file") from None


def _lower_cols(df: pd.DataFrame) -> pd.DataFrame:
    df.columns = [str(c).strip().casefold() for c in df.columns]
    return df


def _local_days(ts: pd.Series, marketplace: str | None) -> pd.Series:
    utc = pd.to_datetime(ts, format="ISO8601", utc=True, errors="coerce")
    if marketplace in MARKETPLACES:
        utc = utc.dt.tz_convert(MARKETPLACES[marketplace]["tz"])
    return utc.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")


def _orders(raw: RawReport, df: pd.DataFrame, encoding: str) -> list[ReportBatch]:
    n = len(df)
    get = lambda c: df[c] if c in df else pd.Series("", index=df.index, dtype=str)  # noqa: E731
    channel = _clean_text(get("sales-channel"), casefold=True)
    currency = _clean_text(get("currency"), upper=True)
    mp = channel.map(MARKETPLACE_BY_CHANNEL)
    mp = mp.fillna(currency.map(MARKETPLACE_BY_CURRENCY))
    non_amazon = _per_unique(channel, lambda v: v.startswith("non-amazon")).astype(bool)
    notes_common: list[str] = []
    if raw.marketplace_hint:
        mp = mp.fillna(raw.marketplace_hint)
    unknown = mp.isna() & ~non_amazon
    if unknown.any():
        if unknown.all():
            raise ReportFormatError(raw.name, "orders file whose sales-channel/currency say neither Amazon.com "
                                    "nor Amazon.com.mx and no US/ or MX/ folder; expected a US or MX orders report")
        notes_common.append(f"{int(unknown.sum())} line(s) from other marketplaces/channels left out")
    asin = _clean_text(get("asin"), upper=True)
    status = _clean_text(get("order-status"), casefold=True)
    item_status = _clean_text(get("item-status"), casefold=True)
    cancelled = (status == "cancelled") | (item_status == "cancelled")
    qty = _num(get("quantity")).fillna(0.0)
    price_raw = get("item-price")
    price = _num(price_raw)
    tax = _num(get("item-tax"))
    pending_empty = ~cancelled & (price_raw.str.strip() == "") if price.isna().any() else \
        pd.Series(False, index=df.index)
    live = ~cancelled
    frame = pd.DataFrame({
        "mp": mp, "asin": asin, "sku": _clean_text(get("sku")),
        "order_units": qty.where(live, 0.0),
        "order_sales": price.fillna(0.0).where(live, 0.0),
        "order_tax": tax.fillna(0.0).where(live, 0.0),
        "fba_units": qty.where(live & (_clean_text(get("fulfillment-channel"), casefold=True) == "amazon"), 0.0),
        "units_cancelled": qty.where(qty > 0, 1.0).where(cancelled, 0.0),
    })
    ok = frame["mp"].notna() & ~non_amazon & (asin != "")
    if int((asin == "").sum()):
        notes_common.append(f"{int((asin == '').sum())} line(s) without an ASIN left out")
    if int(non_amazon.sum()):
        notes_common.append(f"{int(non_amazon.sum())} Non-Amazon (Multi-Channel Fulfillment) line(s) left out")
    dates = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    purchase = get("purchase-date")
    for m in frame.loc[ok, "mp"].unique():
        sel = ok & (frame["mp"] == m)
        dates.loc[sel] = _local_days(purchase[sel], m)
    bad_date = ok & dates.isna()
    if bad_date.all() and n:
        raise ReportFormatError(raw.name, "no valid purchase-date; expected ISO-8601 timestamps like "
                                "2024-05-01T15:04:11+00:00")
    if bad_date.any():
        notes_common.append(f"{int(bad_date.sum())} line(s) with an unreadable purchase-date left out")
    frame["date"] = dates
    frame = frame.loc[ok & ~bad_date]
    batches = []
    range_start, range_end = _range_from_name(raw.name)
    metrics = ["fba_units", "order_units", "order_sales", "order_tax", "units_cancelled"]
    mps = sorted(frame["mp"].unique()) or ([raw.marketplace_hint] if raw.marketplace_hint else [None])
    for m in mps:
        part = frame.loc[frame["mp"] == m] if m is not None else frame
        sel = (ok & ~bad_date & (mp == m)) if m is not None else (ok & ~bad_date)
        pending = int((pending_empty & sel).sum())
        n_cancel = int((cancelled & sel).sum())
        zero_cancel = int((cancelled & sel & (qty <= 0)).sum())
        notes = list(notes_common)
        if pending:
            notes.append(f"{pending} Pending line(s) with no item-price yet: units counted, sales 0 (revised later)")
        if zero_cancel:
            notes.append(f"{zero_cancel} cancelled line(s) show quantity 0: counted as 1 unit cancelled each")
        g = part.groupby(["date", "asin"], sort=True)
        rows = g[metrics].sum().reset_index()
        rows["sku"] = g["sku"].first().values
        rows["title"] = ""
        rows["parent_asin"] = ""
        rows = rows[["date", "asin", "sku", "title", "parent_asin", *metrics]]
        for c in metrics:
            rows[c] = rows[c].astype("float64")
        rows["date"] = rows["date"].astype("datetime64[ns]")
        cur_vals = currency[sel & (currency != "")].unique()
        cur = cur_vals[0] if len(cur_vals) == 1 else (CURRENCY_BY_MARKETPLACE.get(m) if m else None)
        start = range_start or (rows["date"].min().date() if len(rows) else None)
        end = range_end or (rows["date"].max().date() if len(rows) else None)
        batches.append(ReportBatch(
            source=raw.name, kind="orders_flat_file", family="orders", marketplace=m, currency=cur, start=start,
            end=end, asin_rows=rows, warnings=notes,
            extras={"format": "tsv", "encoding": encoding, "pending_lines": pending, "cancelled_lines": n_cancel,
                    "non_amazon_lines": int(non_amazon.sum())}))
    return batches


def _inventory(raw: RawReport, df: pd.DataFrame) -> ReportBatch:
    get = lambda c: df[c] if c in df else pd.Series("", index=df.index, dtype=str)  # noqa: E731
    asin = _clean_text(get("asin"), upper=True)
    frame = pd.DataFrame({
        "asin": asin, "sku": _clean_text(get("sku")),
        "fulfillable_units": _num(get("afn-fulfillable-quantity")).fillna(0.0),
        "inbound_units": (_num(get("afn-inbound-working-quantity")).fillna(0.0)
                          + _num(get("afn-inbound-shipped-quantity")).fillna(0.0)
                          + _num(get("afn-inbound-receiving-quantity")).fillna(0.0)),
        "reserved_units": _num(get("afn-reserved-quantity")).fillna(0.0),
    })
    notes = []
    if (asin == "").any():
        notes.append(f"{int((asin == '').sum())} SKU row(s) without an ASIN left out")
    frame = frame.loc[asin != ""]
    g = frame.groupby("asin", sort=True)
    rows = g[["fulfillable_units", "inbound_units", "reserved_units"]].sum().reset_index()
    rows["sku"] = g["sku"].first().values
    rows.insert(0, "date", pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns]"))
    rows["title"] = ""
    rows["parent_asin"] = ""
    rows = rows[["date", "asin", "sku", "title", "parent_asin", "fulfillable_units", "inbound_units",
                 "reserved_units"]]
    return ReportBatch(source=raw.name, kind="fba_inventory", family="inventory", marketplace=None, currency=None,
                       start=None, end=None, asin_rows=rows, warnings=notes,
                       extras={"format": "tsv", "snapshot": True})


def _returns(raw: RawReport, df: pd.DataFrame) -> ReportBatch:
    get = lambda c: df[c] if c in df else pd.Series("", index=df.index, dtype=str)  # noqa: E731
    notes: list[str] = []
    tz_mp = raw.marketplace_hint
    if tz_mp is None:
        prefix = _clean_text(get("order-id")).str.slice(0, 1)
        guess = set(prefix[prefix != ""].map({"1": "US", "7": "MX"}).dropna())
        if len(guess) == 1:
            tz_mp = guess.pop()
            notes.append(f"no folder: return dates read in {tz_mp} local time (from the order-id prefixes)")
        else:
            notes.append("no folder and no marketplace in the content: return dates are UTC days")
    asin = _clean_text(get("asin"), upper=True)
    days = _local_days(get("return-date"), tz_mp)
    units = _num(get("quantity")).fillna(0.0)
    ok = (asin != "") & days.notna()
    if not ok.any() and len(df):
        raise ReportFormatError(raw.name, "no return line with an ASIN and a valid return-date; expected "
                                "ISO-8601 dates like 2025-06-05T15:31:40+00:00")
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} return line(s) without an ASIN or a valid return-date left out")
    frame = pd.DataFrame({"date": days, "asin": asin, "sku": _clean_text(get("sku")), "units_returned": units,
                          "reason": _clean_text(get("reason")).replace("", "UNKNOWN")}).loc[ok]
    g = frame.groupby(["date", "asin"], sort=True)
    rows = g[["units_returned"]].sum().reset_index()
    rows["sku"] = g["sku"].first().values
    rows["title"] = ""
    rows["parent_asin"] = ""
    rows = rows[["date", "asin", "sku", "title", "parent_asin", "units_returned"]]
    rows["date"] = rows["date"].astype("datetime64[ns]")
    rows["units_returned"] = rows["units_returned"].astype("float64")
    reasons = (frame.groupby(["asin", "reason"], sort=True)["units_returned"].sum().rename("units").reset_index())
    reasons["units"] = reasons["units"].astype("float64")
    start, end = _range_from_name(raw.name)
    if start is None and len(rows):
        start, end = rows["date"].min().date(), rows["date"].max().date()
    return ReportBatch(source=raw.name, kind="fba_returns", family="returns", marketplace=None, currency=None,
                       start=start, end=end, asin_rows=rows, warnings=notes,
                       extras={"format": "tsv", "return_reasons": reasons, "timezone_marketplace": tz_mp})
