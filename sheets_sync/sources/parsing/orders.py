"""GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL (TSV; Seller Central downloads it as .txt)."""

from __future__ import annotations

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .cells import (
    CURRENCY_BY_MARKETPLACE,
    MARKETPLACE_BY_CHANNEL,
    MARKETPLACE_BY_CURRENCY,
    _clean_text,
    _local_days,
    _lower_cols,
    _num,
    _per_unique,
    _range_from_name,
)
from .containers import TextDoc
from .registry import flat_layout, kinds

kinds(orders_flat_file="orders")

ORDERS_COLUMNS = ("purchase-date", "order-status", "item-status", "fulfillment-channel", "sales-channel", "sku",
                  "asin", "quantity", "currency", "item-price", "item-tax", "amazon-order-id")
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


@flat_layout(order=10)
def recognise(raw: RawReport, doc: TextDoc) -> list[ReportBatch] | None:
    names = doc.names
    if not {"amazon-order-id", "purchase-date", "asin"} <= names:
        return None
    want = {c for c in ORDERS_COLUMNS if c in names}
    df = doc.table("\t", True, usecols=lambda c: c.strip().casefold() in want)
    return _orders(raw, _lower_cols(df), doc.encoding)
