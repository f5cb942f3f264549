"""Parse any supported Amazon report document into :class:`~sheets_sync.frames.ReportBatch` objects.

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

import json
import zipfile
from typing import Any

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from . import (  # noqa: F401  (each layout module registers itself on import)
    ads_api,
    ads_console,
    business_reports,
    fba_inventory,
    fba_returns,
    orders,
    sales_traffic,
    seller_performance,
)
from .cells import _first_line, normalize_header
from .containers import _decode, _decompress, _parse_xlsx, _read_table
from .registry import EXPECTED, KINDS, recognisers

__all__ = ["EXPECTED", "KINDS", "normalize_header", "parse_report"]


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
    for fn in recognisers("text"):
        out = fn(raw, text, encoding, data)
        if out is not None:
            return out
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


def _parse_zip(raw: RawReport, data: bytes) -> list[ReportBatch]:
    import io

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReportFormatError(raw.name, f"damaged ZIP/XLSX file ({exc}); expected a complete .xlsx download "
                                "or a CSV") from None
    if "xl/workbook.xml" not in names:
        raise ReportFormatError(raw.name, "a ZIP archive, not a report: expected an .xlsx workbook or the CSV/TSV "
                                "itself (unzip it into the reports folder)")
    return _dispatch_table(raw, _parse_xlsx(raw, data), fmt="xlsx")


def _parse_csv(raw: RawReport, text: str, encoding: str) -> list[ReportBatch]:
    first_line = _first_line(text)
    sep = ";" if first_line.count(";") > first_line.count(",") else ","
    df = _read_table(raw.name, text, sep, quote_none=False)
    return _dispatch_table(raw, df, fmt="csv", encoding=encoding)


def _dispatch_table(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None = None) -> list[ReportBatch]:
    cols = [str(c) for c in df.columns]
    df.columns = cols
    for fn in recognisers("table"):
        out = fn(raw, df, fmt, encoding)
        if out is not None:
            return out
    shown = ", ".join(repr(c.strip()) for c in cols[:6]) + (", …" if len(cols) > 6 else "")
    raise ReportFormatError(raw.name, f"unknown header ({len(cols)} columns: {shown}); {EXPECTED}")


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
            raise ReportFormatError(raw.name, f"an API error response, not a report ({str(doc['errors'])[:160]}); "
                                    f"{EXPECTED}")
        raise ReportFormatError(raw.name, f"JSON with keys {sorted(doc)[:6]} is not a known report; expected "
                                "GET_SALES_AND_TRAFFIC_REPORT (salesAndTrafficByDate/ByAsin), "
                                "GET_V2_SELLER_PERFORMANCE_REPORT (performanceMetrics) or an Ads API "
                                "spAdvertisedProduct array")
    raise ReportFormatError(raw.name, f"JSON {type(doc).__name__} is not a known report; expected an Ads API "
                            "spAdvertisedProduct array (advertisedAsin, cost, sales7d, …) or a SP-API report object")


def _parse_tsv(raw: RawReport, text: str, encoding: str, data: bytes | None = None) -> list[ReportBatch]:
    header = _first_line(text)
    names = {h.strip().casefold() for h in header.split("\t")}
    for fn in recognisers("flat"):
        out = fn(raw, names, text, encoding, data)
        if out is not None:
            return out
    # Business Reports / Ads exported as TSV ("Unicode text" from Excel)
    df = _read_table(raw.name, text, "\t", quote_none=False)
    try:
        return _dispatch_table(raw, df, fmt="tsv", encoding=encoding)
    except ReportFormatError:
        shown = ", ".join(repr(c) for c in header.split("\t")[:6])
        raise ReportFormatError(raw.name, f"unknown tab-separated header ({shown}, …); expected an orders "
                                "(amazon-order-id, purchase-date, …), FBA inventory (afn-fulfillable-quantity) or "
                                "FBA returns (return-date) flat file") from None
