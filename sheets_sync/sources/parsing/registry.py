"""Where layouts announce themselves. A layout is one module that registers a recogniser for the container it
comes in and declares its ``kind`` → family:

* ``@json_layout``  ``fn(raw, doc) -> list[ReportBatch] | None`` — a parsed JSON document (object or array);
* ``@table_layout`` ``fn(raw, df, fmt, encoding) -> list[ReportBatch] | None`` — a CSV / XLSX / tab-separated
  export read as a table of strings (``fmt``: csv / tsv / xlsx);
* ``@flat_layout``  ``fn(raw, doc) -> list[ReportBatch] | None`` — an SP-API flat file (tab-separated,
  unquoted); ``doc`` is a :class:`~.containers.TextDoc` (``doc.names``: the casefolded header names,
  ``doc.table(sep, quote_none, usecols)``: the rows, read from the bytes);
* ``@text_layout``  ``fn(raw, doc) -> list[ReportBatch] | None`` — any other text, tried first (e.g.
  line-delimited JSON); recognise it from ``doc.head`` / ``doc.first_line`` before touching ``doc.text``.

Messages never quote the document's content (a stray credentials file must not end up in the Sync Log): say
what was expected and where (line, column count), not what was there.

A recogniser returns ``None`` when the content is not its layout (the next one is tried) and raises
:class:`~sheets_sync.errors.ReportFormatError` when it is its layout but unusable. Recognisers of one
container are tried by ``order`` (lower first; ties in import order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

KINDS: dict[str, str] = {}        # kind → family (frames.FAMILIES key)

EXPECTED = (
    "expected an Amazon report: a Business Report CSV (Detail Page Sales and Traffic by Child/Parent Item, "
    "Sales and Traffic by Date), an Ads console 'Advertised product' or campaign CSV/XLSX, "
    "GET_SALES_AND_TRAFFIC_REPORT / GET_V2_SELLER_PERFORMANCE_REPORT / Ads API spAdvertisedProduct or campaign "
    "report JSON, or an "
    "orders / FBA inventory / FBA returns flat file (TSV); or a Mercado Libre Ventas, Product Ads or Full stock "
    "Excel download; or a Walmart Item Performance or Sponsored Search adItem CSV, or Walmart API JSON"
)

_LAYOUTS: dict[str, list[tuple[int, int, Callable[..., Any]]]] = {"json": [], "table": [], "flat": [], "text": []}


def kinds(**kind_family: str) -> None:
    """Declare the kinds a layout module produces: ``kinds(orders_flat_file="orders")``."""
    KINDS.update(kind_family)


def _register(container: str, order: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        entries = _LAYOUTS[container]
        entries.append((order, len(entries), fn))
        entries.sort(key=lambda e: (e[0], e[1]))
        return fn
    return deco


def json_layout(order: int = 100) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register("json", order)


def table_layout(order: int = 100) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register("table", order)


def flat_layout(order: int = 100) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register("flat", order)


def text_layout(order: int = 100) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register("text", order)


def recognisers(container: str) -> list[Callable[..., Any]]:
    return [fn for _, _, fn in _LAYOUTS[container]]
