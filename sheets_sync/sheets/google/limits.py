"""Google's limits, and how a write stays inside them or recovers from being over them.

* 10,000,000 cells per spreadsheet, every tab's grid counted (empty cells too): :func:`check_cells` refuses a
  write whose result would not fit, naming each tab; :func:`fit_history` trims History's oldest whole as-of
  dates (never the newest) when History is what makes it not fit.
* 50,000 characters per cell: :func:`truncate` cuts longer text with a marker and a warning.
* 10,485,760 bytes per request body (Google's hard limit; 2 MB recommended): the request budget.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...errors import InputDataError, Problem
from ..base import GENERATED_HEADER_ROW, GeneratedTab, col_letter
from .build import from_serial, grid_size
from .metadata import Meta

MAX_CELLS = 10_000_000            # per spreadsheet, every tab's grid counted (empty cells too)
MAX_CELL_CHARS = 50_000           # per cell
MAX_REQUEST_BYTES = 10_485_760    # Google refuses larger request bodies ("Request payload size exceeds the limit")
REQUEST_BUDGET = 2_000_000        # bytes per request we aim for (Google's guidance: at most 2 MB)
MIN_REQUEST_BUDGET = 20_000
HISTORY_MAX_ROWS = 200_000        # History keeps at most this many rows; the oldest whole as-of dates go first
LOG_ROOM_CELLS = 50 * 10          # room kept for the Sync Log lines a History trim adds


def truncate(tab: GeneratedTab, warnings: list[str]) -> GeneratedTab:
    """``tab`` with cells longer than Google's 50,000 characters cut, with a marker saying so (a warning per cut
    cell is appended to ``warnings``). The same tab when nothing is too long."""
    def cut(v: Any, where: str) -> Any:
        if isinstance(v, str) and len(v) > MAX_CELL_CHARS:
            marker = f" … [cut by sheets-sync: {len(v):,} characters; Google Sheets keeps at most {MAX_CELL_CHARS:,}]"
            warnings.append(f"{where}: text of {len(v):,} characters cut to {MAX_CELL_CHARS:,} "
                            "(Google Sheets' limit per cell)")
            return v[:MAX_CELL_CHARS - len(marker)] + marker
        return v

    long_rows = [i for i, r in enumerate(tab.rows) if any(isinstance(v, str) and len(v) > MAX_CELL_CHARS
                                                        for v in r)]
    title = cut(tab.title, f"{tab.name}!A1")
    if not long_rows and title is tab.title:
        return tab
    rows = list(tab.rows)
    for i in long_rows:
        rows[i] = [cut(v, f"{tab.name}!{col_letter(j)}{i + GENERATED_HEADER_ROW + 1}") for j, v in enumerate(rows[i])]
    return replace(tab, rows=rows, title=title)


def check_cells(tabs: Sequence[GeneratedTab], meta: Meta, max_cells: int, extra: int = 0) -> None:
    """Raise InputDataError (every tab, its size, what to do) when the spreadsheet would hold more than
    ``max_cells`` cells once ``tabs`` are written (``extra``: cells of other tabs the same write adds)."""
    names = {t.name for t in tabs} | set(meta.staging())
    after = meta.total_cells(excluding=names) + extra + sum(r * c for r, c in map(grid_size, tabs))
    if after <= max_cells:
        return
    problems = [Problem(t.name, f"{r * c:,} cells ({r:,} rows × {c} columns)",
                        f"Google Sheets allows {max_cells:,} cells per spreadsheet and this write would make "
                        f"{after:,}; sync fewer marketplaces or ASINs into this sheet, delete unused tabs or "
                        "columns, or use the xlsx backend", "nothing was written")
                for t in tabs for r, c in [grid_size(t)]]
    raise InputDataError(problems)


def fit_history(tabs: list[GeneratedTab], meta: Meta, max_cells: int, history_max_rows: int) -> list[str]:
    """History keeps at most ``history_max_rows`` rows, and the spreadsheet at most ``max_cells`` cells once
    ``tabs`` are written. Only History (which sheets-sync owns) is trimmed, in place, by whole oldest as-of
    dates, never the newest. Returns a sentence per trim for the Sync Log (empty when nothing was cut)."""
    hist = next((t for t in tabs if t.name == "History"), None)
    if hist is None or not hist.rows:
        return []
    if "as_of" in hist.columns:
        j = hist.columns.index("as_of")
    else:                   # headers in the Settings language: the column keeps its template position
        from ...template import load_template

        j = load_template().tab("History").column_names.index("as_of")
    notes: list[str] = []
    others = meta.total_cells(excluding={t.name for t in tabs} | set(meta.staging()))
    others += sum(r * c for r, c in map(grid_size, (t for t in tabs if t is not hist)))
    others += LOG_ROOM_CELLS
    width = grid_size(hist)[1]
    cell_room = (max_cells - others) // width - GENERATED_HEADER_ROW
    for limit, why in ((history_max_rows, f"History keeps at most {history_max_rows:,} rows"),
                       (cell_room, f"Google Sheets allows {max_cells:,} cells per spreadsheet and the "
                                   "other tabs use " + f"{others:,}")):
        if len(hist.rows) <= limit:
            continue
        by_date: dict[Any, int] = collections.Counter(date_key(r[j] if j < len(r) else None) for r in hist.rows)
        dates = sorted(by_date)
        drop: set[Any] = set()
        excess = len(hist.rows) - max(limit, 0)
        for d in dates[:-1]:                           # never the newest as-of date
            if excess <= 0:
                break
            drop.add(d)
            excess -= by_date[d]
        if not drop:
            continue
        before = len(hist.rows)
        hist.rows = [r for r in hist.rows if date_key(r[j] if j < len(r) else None) not in drop]
        first, last = min(drop), max(drop)
        notes.append(f"History: removed {before - len(hist.rows):,} rows of the {len(drop)} oldest as-of "
                     f"date(s) ({first} … {last}) because {why}; {len(hist.rows):,} rows kept")
    return notes


def date_key(v: Any) -> str:
    """An as-of value (date, datetime, day serial or text) as an ISO date, for grouping History rows."""
    if isinstance(v, dt.datetime):
        v = v.date()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return from_serial(v).isoformat()
    return str(v or "")
