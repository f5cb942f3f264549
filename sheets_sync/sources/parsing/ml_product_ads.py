"""Mercado Libre Product Ads report (Publicidad → Product Ads → Descargar reporte, Excel), one row per ad
(listing), daily (``Fecha``) or over the report's range (``Desde`` / ``Hasta``).

Headers (Spanish): ``Número de publicación``, ``Impresiones``, ``Clics``, ``Inversión (MXN)``, ``Ingresos
directos (MXN)``, ``Ingresos indirectos (MXN)``, ``Ventas directas``, ``Ventas indirectas``. Ad sales = direct +
indirect income (what Mercado Libre's ACoS divides by), ad orders = direct + indirect sales; spend and sales
are as Mercado Libre reports them (only converted), so ACoS and ROAS match its console. A by-range report is a
span total (used only for days no daily file covers, like Amazon's).
"""

from __future__ import annotations

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .cells import _alias_table, _map_columns, _num, _strip_guard
from .ml_common import MLM, daily_batch, header_at, item_ids, listing_totals, spanish_days
from .registry import kinds, table_layout

kinds(ml_product_ads="ads")

FIELDS = _alias_table({
    "date": ["Fecha", "Día"],
    "from": ["Desde", "Fecha de inicio"],
    "to": ["Hasta", "Fecha de fin"],
    "item": ["Número de publicación", "# de publicación", "ID de publicación", "Código de publicación"],
    "title": ["Título", "Título de la publicación", "Anuncio"],
    "sku": ["SKU"],
    "ad_impressions": ["Impresiones"],
    "ad_clicks": ["Clics"],
    "ad_spend": ["Inversión (MXN)", "Inversión"],
    "direct_amount": ["Ingresos directos (MXN)", "Ingresos directos"],
    "indirect_amount": ["Ingresos indirectos (MXN)", "Ingresos indirectos"],
    "direct_units": ["Ventas directas"],
    "indirect_units": ["Ventas indirectas"],
})
METRICS = ["ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions"]


def _ads(raw: RawReport, df: pd.DataFrame, fmt: str) -> ReportBatch:
    mapping = _map_columns(df.columns, FIELDS, skip_b2b=False)
    inv = {v: k for k, v in mapping.items()}
    col = lambda f: _num(df[inv[f]]).fillna(0.0) if f in inv else pd.Series(0.0, index=df.index)  # noqa: E731
    item = item_ids(df[inv["item"]])
    orders = col("direct_units") + col("indirect_units")
    rows = pd.DataFrame({"asin": item, "sku": _strip_guard(df[inv["sku"]]) if "sku" in inv else "",
                         "title": _strip_guard(df[inv["title"]]) if "title" in inv else "",
                         "ad_spend": col("ad_spend"), "ad_sales": col("direct_amount") + col("indirect_amount"),
                         "ad_orders": orders, "ad_units": orders, "ad_clicks": col("ad_clicks"),
                         "ad_impressions": col("ad_impressions")})
    notes: list[str] = []
    extras = {"format": fmt, "column_map": dict(mapping), "language": "es", "attribution_windows": [],
              "ad_sales_window": "mercadolibre"}
    if "date" in inv:
        rows["date"] = spanish_days(df[inv["date"]])
        bad = rows["date"].isna() & (rows["asin"] != "")
        if bad.any():
            notes.append(f"{int(bad.sum())} row(s) with an unreadable 'Fecha' left out")
        return daily_batch(raw, rows[rows["date"].notna()], "ml_product_ads", "ads", METRICS, notes, extras)
    if "from" not in inv or "to" not in inv:
        raise ReportFormatError(raw.name, "a Product Ads report without 'Fecha' or 'Desde'/'Hasta'; expected the "
                                "Product Ads report by listing")
    start, end = spanish_days(df[inv["from"]]).min(), spanish_days(df[inv["to"]]).max()
    if pd.isna(start) or pd.isna(end):
        raise ReportFormatError(raw.name, "'Desde'/'Hasta' not recognised; expected dates such as 01/11/2026")
    out = listing_totals(rows, METRICS)
    return ReportBatch(source=raw.name, kind="ml_product_ads", family="ads", marketplace=MLM, currency="MXN",
                       start=start.date(), end=end.date(), asin_rows=out, warnings=notes, extras=extras)


@table_layout(order=31)
def recognise(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> list[ReportBatch] | None:
    for item in ("Número de publicación", "# de publicación", "ID de publicación", "Código de publicación"):
        table = header_at(df, (item, "Impresiones", "Clics"))
        if table is not None:
            return [_ads(raw, table, fmt)]
    return None
