"""History rows: earlier as-of dates kept, this sync's replaced, within a row budget."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ..attainment import Row
from ..values import _round


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


def history_rows(previous: list[list[Any]] | None, rows: list[Row], period: str, today: dt.date,
                 width: int, header_rows: int = 2) -> list[list[Any]]:
    """Earlier History rows kept, this (period, as-of date)'s replaced by this sync's, sorted. ``previous`` is the
    tab as read back, its first ``header_rows`` rows being the definitions line and the header."""
    kept = []
    for raw in (previous or [])[header_rows:]:
        row = [*list(raw)[:width], *([None] * max(0, width - len(raw)))]
        if all(v in (None, "") for v in row):
            continue
        row[1] = _as_date(row[1])
        if str(row[0]) == period and row[1] == today:
            continue
        kept.append(row)
    new = [[period, today, r.target.row, r.target.owner, r.target.marketplace, r.target.kpi, r.target.scope,
            r.target.scope_value or None, _round(r.target.target), _round(r.actual), _round(r.attainment, 4),
            _round(r.projected_attainment, 4), r.status] for r in rows]

    def key(row: list[Any]) -> tuple:
        d = row[1]
        return (str(row[0] or ""), d.isoformat() if isinstance(d, dt.date) else str(d or ""),
                row[2] if isinstance(row[2], int | float) else math.inf)

    out = sorted(kept + new, key=key)
    if len(out) <= HISTORY_MAX_ROWS:
        return out
    # Too long for a spreadsheet: drop the oldest as-of dates whole (never this sync's rows).
    by_date: dict[Any, int] = {}
    for row in kept:
        by_date[row[1]] = by_date.get(row[1], 0) + 1
    drop, excess = set(), len(out) - HISTORY_MAX_ROWS
    for d in sorted(by_date, key=lambda d: d.isoformat() if isinstance(d, dt.date) else str(d or "")):
        if excess <= 0:
            break
        drop.add(d)
        excess -= by_date[d]
    return [row for row in out if row[1] not in drop or (str(row[0]) == period and row[1] == today)]
