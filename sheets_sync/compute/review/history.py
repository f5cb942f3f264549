"""History rows: earlier as-of dates kept, this sync's replaced, within a row budget."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ..attainment import Row
from ..values import clean
from .mom import LastPeriod


def _as_date(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip()[:10])
        except ValueError:
            return v
    return v


HISTORY_MAX_ROWS = 200_000   # ≈ 2.6 M cells: well inside Google's 10 M per spreadsheet with the other tabs
PERIOD_END = "period_end"    # row_kind of a period's final figures (kept first, for the 12-month trend)
KIND_COLUMN = 13             # row_kind, at the right end of the History columns


def history_rows(previous: list[list[Any]] | None, rows: list[Row], period: str, today: dt.date,
                 width: int, header_rows: int = 2, complete: bool = False,
                 last: LastPeriod | None = None) -> list[list[Any]]:
    """Earlier History rows kept, this (period, as-of date)'s replaced by this sync's, sorted. ``previous`` is the
    tab as read back, its first ``header_rows`` rows being the definitions line and the header.

    This sync's rows are ``period_end`` rows when the period is complete (data through its last day). When
    History has no row of the previous period and the reports cover it whole (``last``), its final figures are
    added as ``period_end`` rows dated the previous period's last day, so a trend exists from the first sync.
    Over the row budget, the oldest as-of snapshots go first; ``period_end`` rows go only after them."""
    kept = []
    for raw in (previous or [])[header_rows:]:
        row = [*list(raw)[:width], *([None] * max(0, width - len(raw)))]
        if all(v in (None, "") for v in row):
            continue
        row[1] = _as_date(row[1])
        if str(row[0]) == period and row[1] == today:
            continue
        kept.append(row)
    kind = PERIOD_END if complete else None
    new = [[period, today, r.target.row, r.target.owner, r.target.marketplace, r.target.kpi, r.target.scope,
            r.target.scope_value or None, clean(r.target.target), clean(r.actual), clean(r.attainment),
            clean(r.projected_attainment), r.status, kind][:width] for r in rows]
    if last is not None and not any(str(row[0]) == last.period for row in kept):
        for r in rows:
            lr = last.for_row(r)
            if lr is None or lr.source != "reports":
                continue
            new.append([last.period, last.end, r.target.row, r.target.owner, r.target.marketplace, r.target.kpi,
                        r.target.scope, r.target.scope_value or None, clean(r.target.target), clean(lr.actual),
                        clean(lr.attainment), clean(lr.attainment), lr.status, PERIOD_END][:width])

    def key(row: list[Any]) -> tuple:
        d = row[1]
        return (str(row[0] or ""), d.isoformat() if isinstance(d, dt.date) else str(d or ""),
                row[2] if isinstance(row[2], int | float) else math.inf)

    out = sorted(kept + new, key=key)
    if len(out) <= HISTORY_MAX_ROWS:
        return out
    # Too long for a spreadsheet: drop the oldest as-of dates whole (never this sync's rows), snapshots before
    # period-end rows.
    def is_end(row: list[Any]) -> bool:
        return len(row) > KIND_COLUMN and row[KIND_COLUMN] == PERIOD_END

    by_date: dict[tuple[bool, Any], int] = {}
    for row in kept:
        k = (is_end(row), row[1])
        by_date[k] = by_date.get(k, 0) + 1
    drop, excess = set(), len(out) - HISTORY_MAX_ROWS
    for k in sorted(by_date, key=lambda k: (k[0], k[1].isoformat() if isinstance(k[1], dt.date) else str(k[1] or ""))):
        if excess <= 0:
            break
        drop.add(k)
        excess -= by_date[k]
    return [row for row in out
            if (is_end(row), row[1]) not in drop or (str(row[0]) == period and row[1] == today)]
