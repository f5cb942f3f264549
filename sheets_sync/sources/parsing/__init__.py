"""Parse any supported Amazon (or Mercado Libre México) report document into :class:`~sheets_sync.frames.ReportBatch` objects.

One module per layout (``business_reports``, ``ads_console``, ``ads_api``, ``sales_traffic``,
``seller_performance``, ``orders``, ``fba_inventory``, ``fba_returns``); ``containers`` turns bytes into text,
tables or JSON, ``cells`` cleans values, ``registry`` is how a layout module makes itself known. A new layout
is one module here that registers a recogniser (see :mod:`.registry`) and is imported below.

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
``ads_campaign_console``       ads          Ads console campaign / ad-group downloads (Campaign Manager
                                            export, Reports page campaign reports of SP / SB / SD, 2026
                                            console; English, 中文, Español): ``campaign_rows`` only
``ads_campaign_api_v3``        ads          Ads API v3 ``spCampaigns`` / ``sbCampaigns`` / ``sbAdGroup`` /
                                            ``sdCampaigns`` / ``sdAdGroup`` JSON rows: ``campaign_rows`` only
``orders_flat_file``           orders       GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL TSV
``fba_inventory``              inventory    GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA TSV
``fba_returns``                returns      GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA TSV
``seller_performance``         health       GET_V2_SELLER_PERFORMANCE_REPORT JSON (one batch per marketplace)
``ml_ventas``                  traffic      Mercado Libre "Ventas" sales report (Excel; MLM)
``ml_product_ads``             ads          Mercado Libre Product Ads report by listing (Excel; MLM)
``ml_full_stock``              inventory    Mercado Libre Full stock (Excel; MLM)
``ml_api_orders``              traffic      Mercado Libre API /orders/search pages (JSON)
``ml_api_visits``              visits       Mercado Libre API item visits per day (JSON)
``ml_api_product_ads``         ads          Mercado Libre API Product Ads metrics per listing and day
``ml_api_reputation``          health       Mercado Libre API /users/{id} seller_reputation
``ml_api_full_stock``          inventory    Mercado Libre API Full stock per inventory id
``wm_item_performance``        traffic      Walmart Item Performance report (CSV; WMUS)
``wm_item_page_views``         views        the same report's page views (a family of their own)
``wm_ads_item``                ads          Walmart Connect Sponsored Search adItem snapshot (CSV)
``wm_api_orders``              traffic      Walmart API GET /v3/orders pages (JSON; US or México)
``wm_api_order_lines``         orders       the same pages: WFS units, cancelled units, tax (JSON)
``wm_api_returns``             returns      Walmart API GET /v3/returns pages (JSON)
``wm_api_inventory``           inventory    Walmart API inventories + WFS inventory (JSON)
``wm_api_performance``         health       Walmart API seller performance summaries (JSON)
``wm_api_ads``                 ads          the adItem snapshot rows as the API source saves them (JSON)
=============================  ===========  ==========================================================

``extras`` keys:

* all tabular layouts: ``"format"`` (csv / tsv / xlsx / json), ``"column_map"`` {file header: canonical field}.
* Business Reports / Ads console: ``"language"`` (en / zh / es / ko).
* ads with ``campaign_rows``: ``"campaign_level"`` (``ad_group`` or ``campaign``); the API campaign reports
  ``"ad_product"`` (SP / SB / SD, "" when neither the name nor the columns say).
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

import dataclasses
import json
import re
from typing import Any

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from ...gc_pause import paused_gc
from . import (  # noqa: F401  (each layout module registers itself on import)
    ads_api,
    ads_console,
    business_reports,
    fba_inventory,
    fba_returns,
    ml_api,
    ml_full_stock,
    ml_product_ads,
    ml_ventas,
    orders,
    sales_traffic,
    seller_performance,
    wm_api,
    wm_reports,
)
from .cells import normalize_header
from .containers import (
    DEFAULT_LIMITS,
    Limits,
    TextDoc,
    _decompress,
    _parse_xlsx,
    load_json,
    open_zip,
    zip_members,
)
from .registry import EXPECTED, KINDS, recognisers

__all__ = ["DEFAULT_LIMITS", "EXPECTED", "KINDS", "Limits", "normalize_header", "parse_report"]


def parse_report(raw: RawReport, limits: Limits | None = None) -> list[ReportBatch]:
    """Parse one report document; always returns a list (the seller-performance JSON and an orders file with
    both marketplaces give one batch per marketplace, a .zip one or more per report inside). Raises
    ReportFormatError naming ``raw.name``; its reason never quotes the document's content."""
    with paused_gc():
        return _parse(raw, limits or DEFAULT_LIMITS, nested=False)


def _parse(raw: RawReport, limits: Limits, nested: bool) -> list[ReportBatch]:
    name = raw.name
    data = _decompress(raw, limits)
    if not data[:65536].strip() and not data.strip():
        raise ReportFormatError(name, f"the file is empty; {EXPECTED}")
    try:
        peek = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
        doc: Any = None
        if peek[:1] in (b"{", b"["):
            try:            # JSON straight from the bytes (no decode + copy of a big document)
                doc = load_json(data[3:] if data[:3] == b"\xef\xbb\xbf" else data)
            except ValueError:      # incl. UnicodeDecodeError: the text path reports it
                doc = None
        if doc is not None:
            batches = _parse_json(raw, doc)
        elif data[:4] == b"PK\x03\x04":
            batches = _parse_zip(raw, data, limits, nested)
        else:
            batches = _parse_text(raw, TextDoc(raw, data))
    except ReportFormatError:
        raise
    except Exception as exc:
        raise ReportFormatError(name, f"could not be read ({type(exc).__name__}); {EXPECTED}") from exc
    for b in batches:
        b.fetched_at = raw.fetched_at
        if raw.provisional_days:
            b.provisional_days = frozenset(b.provisional_days) | raw.provisional_days
    return batches


def _parse_text(raw: RawReport, doc: TextDoc) -> list[ReportBatch]:
    name = raw.name
    head = doc.head.lstrip()[:2048]
    if "\x00" in head:
        raise ReportFormatError(name, f"binary content (not a text report); {EXPECTED}")
    low = head[:512].casefold()
    if low.startswith("<") or "<html" in low or "<!doctype" in low:
        raise ReportFormatError(
            name, "this is an HTML page (an error or sign-in page saved instead of the report); "
            f"{EXPECTED}. Download the report again")
    for fn in recognisers("text"):
        out = fn(raw, doc)
        if out is not None:
            return out
    if head[:1] in "{[":
        try:
            parsed = load_json(doc.text)
        except ValueError as exc:
            where = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            raise ReportFormatError(name, f"JSON is damaged or truncated ({where}); expected a complete "
                                    "GET_SALES_AND_TRAFFIC_REPORT, GET_V2_SELLER_PERFORMANCE_REPORT or Ads API "
                                    "spAdvertisedProduct document") from None
        return _parse_json(raw, parsed)
    first_line = doc.first_line
    if "\t" in first_line:
        return _parse_tsv(raw, doc)
    if "," in first_line or ";" in first_line:
        sep = ";" if first_line.count(";") > first_line.count(",") else ","
        return _parse_table_text(raw, doc, sep, "csv")
    raise ReportFormatError(name, f"not a report: no CSV/TSV header line and not JSON; {EXPECTED}")


def _parse_zip(raw: RawReport, data: bytes, limits: Limits, nested: bool) -> list[ReportBatch]:
    zf = open_zip(raw, data, limits)
    names = zf.namelist()
    if "xl/workbook.xml" in names:
        return _dispatch_table(raw, _parse_xlsx(raw, data), fmt="xlsx")
    if nested:
        raise ReportFormatError(raw.name, "a ZIP inside a ZIP is not opened; expected the reports themselves "
                                "in the archive")
    batches: list[ReportBatch] = []
    failed: list[ReportFormatError] = []
    for member, content in zip_members(raw, zf, limits):
        if isinstance(content, ReportFormatError):
            failed.append(content)
            continue
        inner = dataclasses.replace(raw, name=f"{raw.name}/{member}", data=content)
        try:
            batches.extend(_parse(inner, limits, nested=True))
        except ReportFormatError as exc:
            failed.append(exc)
    if not batches:
        if not failed:
            raise ReportFormatError(raw.name, f"an empty ZIP archive; {EXPECTED}")
        reasons = "; ".join(f"{e.source}: {e.reason}" for e in failed[:5])
        raise ReportFormatError(raw.name, f"a ZIP archive with no usable report ({reasons})")
    for e in failed:
        batches[0].warnings.append(f"{e.source} (inside the ZIP) skipped: {e.reason}")
    return batches


def _parse_table_text(raw: RawReport, doc: TextDoc, sep: str, fmt: str) -> list[ReportBatch]:
    """A CSV (or a tab-separated export of one): the header is recognised on the first lines before the whole
    file is read, so an unknown 200 MB table costs no more than its first lines."""
    if not doc.complete:
        try:
            sample = doc.table(sep, quote_none=False, head=True)
        except ReportFormatError:
            sample = None
        if sample is not None and not _recognised(raw, sample, fmt, doc.encoding):
            raise _unknown_header(raw, sample, fmt)
    df = _read_text_table(raw, doc, sep)
    return _dispatch_table(raw, df, fmt=fmt, encoding=doc.encoding)


def _read_text_table(raw: RawReport, doc: TextDoc, sep: str) -> pd.DataFrame:
    from .containers import _read_table

    return _read_table(raw.name, doc.text, sep, quote_none=False)


def _recognised(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> bool:
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    for fn in recognisers("table"):
        try:
            if fn(raw, df, fmt, encoding) is not None:
                return True
        except ReportFormatError:
            return True          # its layout, with a problem the full read will report
    return False


def _unknown_header(raw: RawReport, df: pd.DataFrame, fmt: str) -> ReportFormatError:
    n = len(df.columns)
    what = {"csv": "comma-separated", "tsv": "tab-separated", "xlsx": "spreadsheet"}.get(fmt, fmt)
    return ReportFormatError(raw.name, f"unknown header ({n} {what} column{'s' if n != 1 else ''}, none "
                             f"matching a known report); {EXPECTED}")


def _dispatch_table(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None = None) -> list[ReportBatch]:
    cols = [str(c) for c in df.columns]
    df.columns = cols
    for fn in recognisers("table"):
        out = fn(raw, df, fmt, encoding)
        if out is not None:
            return out
    raise _unknown_header(raw, df, fmt)


_ERROR_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,60}$")


def _parse_json(raw: RawReport, doc: Any) -> list[ReportBatch]:
    for fn in recognisers("json"):
        out = fn(raw, doc)
        if out is not None:
            return out
    if isinstance(doc, dict):
        for key in ("rows", "data", "report"):     # a wrapped array (Ads API)
            if isinstance(doc.get(key), list):
                return _parse_json(raw, doc[key])
        if "errors" in doc:
            errs = doc["errors"] if isinstance(doc["errors"], list) else [doc["errors"]]
            codes = sorted({str(e.get("code")) for e in errs if isinstance(e, dict)
                            and _ERROR_CODE.match(str(e.get("code", "")))})
            shown = f" (code {', '.join(codes[:3])})" if codes else ""
            raise ReportFormatError(raw.name, f"an API error response, not a report{shown}; {EXPECTED}")
        raise ReportFormatError(raw.name, f"JSON object with {len(doc)} key(s) is not a known report; expected "
                                "GET_SALES_AND_TRAFFIC_REPORT (salesAndTrafficByDate/ByAsin), "
                                "GET_V2_SELLER_PERFORMANCE_REPORT (performanceMetrics) or an Ads API "
                                "spAdvertisedProduct array")
    raise ReportFormatError(raw.name, f"JSON {type(doc).__name__} is not a known report; expected an Ads API "
                            "spAdvertisedProduct array (advertisedAsin, cost, sales7d, …) or a SP-API report object")


def _parse_tsv(raw: RawReport, doc: TextDoc) -> list[ReportBatch]:
    for fn in recognisers("flat"):
        out = fn(raw, doc)
        if out is not None:
            return out
    # Business Reports / Ads exported as TSV ("Unicode text" from Excel)
    try:
        return _parse_table_text(raw, doc, "\t", "tsv")
    except ReportFormatError as exc:
        if "header" not in exc.reason:
            raise
        n = len(doc.first_line.split("\t"))
        raise ReportFormatError(raw.name, f"unknown tab-separated header ({n} columns, none matching a known "
                                "report); expected an orders (amazon-order-id, purchase-date, …), FBA inventory "
                                "(afn-fulfillable-quantity) or FBA returns (return-date) flat file, or a Business "
                                "Report / Ads report saved as tab-separated text") from None
