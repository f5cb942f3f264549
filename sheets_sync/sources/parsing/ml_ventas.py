"""Mercado Libre's sales report ("Ventas", seller centre → Ventas → Descargar Excel): one row per sale line.

Headers (Spanish, money columns tagged ``(MXN)``): ``# de venta``, ``Fecha de venta``, ``Estado``,
``Paquete de varios productos``, ``Unidades``, ``Ingresos por productos (MXN)``, ``Cargo por venta e impuestos
(MXN)``, ``Ingresos por envío (MXN)``, ``Costos de envío (MXN)``, ``Anulaciones y reembolsos (MXN)``,
``Total (MXN)``, ``SKU``, ``# de publicación``, ``Título de la publicación``… A few lines of introduction come
before the header row.

* gmv = ``Ingresos por productos`` (prices include IVA, like Amazon MX); units = ``Unidades``; orders = distinct
  ``# de venta`` per listing and day;
* ml_fees = −``Cargo por venta e impuestos``; ml_shipping_cost = −(``Costos de envío`` + ``Ingresos por envío``)
  (what shipping cost the seller after what the buyer paid for it);
* cancelled sales (``Estado`` mentions cancel…) are left out and counted in a note;
* a package of several products: its header row (no ``# de publicación``) carries the charges, which are spread
  over the package's product rows below it by their income;
* the same sale line twice (a file saved twice into one) counts once;
* full_units = the units of sales whose ``Forma de entrega`` says Full ("Mercado Envíos Full"); without that
  column the Full share is unknown (not 0). The column's name and values are inferred, like the Product Ads and
  Full stock headers (docs/mercado-libre.md).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .cells import _alias_table, _map_columns, _num, _strip_guard
from .ml_common import daily_batch, header_at, item_ids, spanish_days
from .registry import kinds, table_layout

kinds(ml_ventas="traffic")

FIELDS = _alias_table({
    "sale": ["# de venta", "Nº de venta", "N.º de venta", "Número de venta"],
    "date": ["Fecha de venta"],
    "status": ["Estado"],
    "units": ["Unidades"],
    "gmv": ["Ingresos por productos (MXN)", "Ingresos por productos"],
    "fees": ["Cargo por venta e impuestos (MXN)", "Cargo por venta e impuestos"],
    "ship_income": ["Ingresos por envío (MXN)", "Ingresos por envío"],
    "ship_cost": ["Costos de envío (MXN)", "Costos de envío"],
    "sku": ["SKU"],
    "item": ["# de publicación", "Nº de publicación", "Número de publicación"],
    "title": ["Título de la publicación"],
    "delivery": ["Forma de entrega"],
})
REQUIRED = ("# de venta", "Fecha de venta", "Unidades")


def _ventas(raw: RawReport, df: pd.DataFrame, fmt: str) -> ReportBatch:
    mapping = _map_columns(df.columns, FIELDS, skip_b2b=False)
    inv = {v: k for k, v in mapping.items()}
    for need, label in (("gmv", "Ingresos por productos (MXN)"), ("item", "# de publicación")):
        if need not in inv:
            raise ReportFormatError(raw.name, f"a Mercado Libre sales report without '{label}'; expected the "
                                    "Ventas download from the seller centre (Excel)")
    col = lambda f: df[inv[f]] if f in inv else pd.Series("", index=df.index, dtype=str)  # noqa: E731
    sale = _strip_guard(col("sale"))
    keep = sale != ""
    notes: list[str] = []
    d = df.loc[keep]
    sale = sale[keep]
    item = item_ids(col("item")[keep])
    status = _strip_guard(col("status")[keep]).str.casefold()
    fees = -_num(col("fees")[keep]).fillna(0.0)
    ship = -(_num(col("ship_cost")[keep]).fillna(0.0) + _num(col("ship_income")[keep]).fillna(0.0))
    gmv = _num(col("gmv")[keep])
    # Packages: a header row without a listing carries the package's charges; spread them over its products.
    is_pack = (item == "") & status.str.startswith("paquete")
    pack_of = pd.Series(np.nan, index=d.index)
    current, left = None, 0
    for idx, head in zip(d.index, is_pack, strict=True):
        if head:       # "Paquete de 2 productos": the next 2 product rows are its products
            n = re.search(r"\d+", status[idx])
            current, left = idx, int(n.group()) if n else 10 ** 9
        elif item[idx] == "" or left <= 0:
            current = None
        elif current is not None:
            pack_of[idx] = current
            left -= 1
    if is_pack.any():
        share = gmv.fillna(0.0) / gmv.fillna(0.0).groupby(pack_of).transform("sum").replace(0, np.nan)
        members = pack_of.notna()
        fees[members] += share[members].fillna(0.0) * fees.reindex(pack_of[members].to_numpy()).to_numpy()
        ship[members] += share[members].fillna(0.0) * ship.reindex(pack_of[members].to_numpy()).to_numpy()
        notes.append(f"{int(is_pack.sum())} package(s) of several products: their charges spread over their "
                     "products by income")
    rows = pd.DataFrame({"date": spanish_days(col("date")[keep]), "asin": item, "sku": _strip_guard(col("sku")[keep]),
                         "title": _strip_guard(col("title")[keep]), "sale": sale, "units": _num(col("units")[keep]),
                         "gmv": gmv, "ml_fees": fees, "ml_shipping_cost": ship, "cancelled": status.str.contains("cancel")})
    if "delivery" in inv:       # Full or not is the shipment's, so it is said per sale
        full = _strip_guard(col("delivery")[keep]).str.casefold().str.contains("full")
        rows["full_units"] = rows["units"].where(full.reindex(rows.index, fill_value=False), 0.0)
    else:
        rows["full_units"] = np.nan
    rows = rows[rows["asin"] != ""]
    bad = rows["date"].isna()
    if bad.all() and len(rows):
        raise ReportFormatError(raw.name, "'Fecha de venta' not recognised; expected '15 de noviembre de 2026 "
                                "14:32 hs.', 15/11/2026 or a date cell")
    if bad.any():
        notes.append(f"{int(bad.sum())} row(s) with an unreadable 'Fecha de venta' left out")
    rows = rows[~bad]
    dup = rows.duplicated(["sale", "asin", "sku"])
    if dup.any():
        notes.append(f"{int(dup.sum())} repeated sale line(s) counted once")
        rows = rows[~dup]
    cancelled = rows["cancelled"]
    if cancelled.any():
        notes.append(f"{int(cancelled.sum())} cancelled sale(s) left out")
    rows = rows[~cancelled]
    # orders: distinct sales per listing and day
    rows = rows.assign(orders=(~rows.duplicated(["date", "asin", "sale"])).astype(float))
    batch = daily_batch(raw, rows, "ml_ventas", "traffic", ["gmv", "units", "orders", "ml_fees", "ml_shipping_cost",
                                                            "full_units"],
                        notes, {"format": fmt, "column_map": dict(mapping), "language": "es",
                                "units_cancelled": float(cancelled.sum())})
    return batch


@table_layout(order=30)
def recognise(raw: RawReport, df: pd.DataFrame, fmt: str, encoding: str | None) -> list[ReportBatch] | None:
    table = header_at(df, REQUIRED)
    if table is None:
        return None
    return [_ventas(raw, table, fmt)]
