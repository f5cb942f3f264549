"""Mercado Libre Full stock (Full → Inventario → Descargar, Excel): one row per listing stored in Mercado
Libre's warehouses, a snapshot like Amazon's FBA inventory.

Headers (Spanish): ``# de publicación`` (or ``Número de publicación``), ``SKU``, ``Título``, ``Disponibles``
(``Unidades disponibles``: sellable now → fulfillable_units), ``No disponibles`` (damaged, being checked,
reserved → reserved_units), ``En camino`` (``Entrada pendiente``: on the way into Full → inbound_units).
"""

from __future__ import annotations

import pandas as pd

from ...frames import RawReport, ReportBatch
from .cells import _alias_table, _map_columns, _num, _strip_guard
from .ml_common import MLM, header_at, item_ids, listing_totals
from .registry import kinds, table_layout

kinds(ml_full_stock="inventory")

FIELDS = _alias_table({
    "item": ["# de publicación", "Número de publicación", "ID de publicación", "Código de publicación"],
    "sku": ["SKU"],
    "title": ["Título", "Título de la publicación", "Producto"],
    "fulfillable_units": ["Disponibles", "Unidades disponibles", "Disponibles para vender"],
    "reserved_units": ["No disponibles", "Unidades no disponibles"],
    "inbound_units": ["En camino", "Entrada pendiente", "En camino a Full"],
})
SNAPSHOT = ["fulfillable_units", "inbound_units", "reserved_units"]


def _stock(raw: RawReport, df: pd.DataFrame, fmt: str) -> ReportBatch:
    mapping = _map_columns(df.columns, FIELDS, skip_b2b=False)
    inv = {v: k for k, v in mapping.items()}
    rows = pd.DataFrame({"asin": item_ids(df[inv["item"]]),
                         "sku": _strip_guard(df[inv["sku"]]) if "sku" in inv else "",
                         "title": _strip_guard(df[inv["title"]]) if "title" in inv else ""})
    for m in SNAPSHOT:
        rows[m] = _num(df[inv[m]]).fillna(0.0) if m in inv else 0.0
    notes = []
    if (rows["asin"] == "").any():
        notes.append(f"{int((rows['asin'] == '').sum())} row(s) without a listing number left out")
    out = listing_totals(rows, SNAPSHOT)
    out = out[["date", "asin", "sku", "title", "parent_asin", *SNAPSHOT]]
    return ReportBatch(source=raw.name, kind="ml_full_stock", family="inventory", marketplace=MLM, currency=None,
                       asin_rows=out, warnings=notes, extras={"format": fmt, "snapshot": True,
                                                              "column_map": dict(mapping)})


@table_layout(order=32)
def recognise(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> list[ReportBatch] | None:
    for item in ("# de publicación", "Número de publicación", "ID de publicación", "Código de publicación"):
        for avail in ("Disponibles", "Unidades disponibles", "Disponibles para vender"):
            table = header_at(df, (item, avail))
            if table is not None and header_at(table.iloc[0:0], ("# de venta",)) is None:
                return [_stock(raw, table, fmt)]
    return None
