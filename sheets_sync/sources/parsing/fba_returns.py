"""GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA (TSV)."""

from __future__ import annotations

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .cells import _clean_text, _local_days, _lower_cols, _num, _range_from_name
from .containers import TextDoc
from .registry import flat_layout, kinds

kinds(fba_returns="returns")

RETURNS_COLUMNS = ("return-date", "order-id", "sku", "asin", "quantity", "reason", "detailed-disposition")
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


@flat_layout(order=30)
def recognise(raw: RawReport, doc: TextDoc) -> list[ReportBatch] | None:
    names = doc.names
    if not {"return-date", "asin", "quantity"} <= names:
        return None
    df = doc.table("\t", True, usecols=lambda c: c.strip().casefold() in RETURNS_COLUMNS)
    return [_returns(raw, _lower_cols(df))]
