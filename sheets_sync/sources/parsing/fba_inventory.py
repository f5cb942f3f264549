"""GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA (TSV): an inventory snapshot."""

from __future__ import annotations

import pandas as pd

from ...frames import RawReport, ReportBatch
from .cells import _clean_text, _lower_cols, _num
from .containers import TextDoc
from .registry import flat_layout, kinds

kinds(fba_inventory="inventory")

INVENTORY_COLUMNS = ("sku", "asin", "afn-fulfillable-quantity", "afn-reserved-quantity",
                     "afn-inbound-working-quantity", "afn-inbound-shipped-quantity",
                     "afn-inbound-receiving-quantity", "afn-listing-exists", "product-name")
def _inventory(raw: RawReport, df: pd.DataFrame) -> ReportBatch:
    get = lambda c: df[c] if c in df else pd.Series("", index=df.index, dtype=str)  # noqa: E731
    asin = _clean_text(get("asin"), upper=True)
    frame = pd.DataFrame({
        "asin": asin, "sku": _clean_text(get("sku")), "title": _clean_text(get("product-name")),
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
    rows["title"] = g["title"].first().values      # product-name: the title Actuals and findings show
    rows["parent_asin"] = ""
    rows = rows[["date", "asin", "sku", "title", "parent_asin", "fulfillable_units", "inbound_units",
                 "reserved_units"]]
    return ReportBatch(source=raw.name, kind="fba_inventory", family="inventory", marketplace=None, currency=None,
                       start=None, end=None, asin_rows=rows, warnings=notes,
                       extras={"format": "tsv", "snapshot": True})


@flat_layout(order=20)
def recognise(raw: RawReport, doc: TextDoc) -> list[ReportBatch] | None:
    names = doc.names
    if not ("asin" in names and "afn-fulfillable-quantity" in names):
        return None
    df = doc.table("\t", True, usecols=lambda c: c.strip().casefold() in INVENTORY_COLUMNS)
    return [_inventory(raw, _lower_cols(df))]
