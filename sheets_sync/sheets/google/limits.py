"""Google's limits, and how a write stays inside them or recovers from being over them.

* 10,000,000 cells per spreadsheet, every tab's grid counted (empty cells too): :func:`check_cells` refuses a
  write whose result would not fit, naming each tab; :func:`fit_history` trims History's oldest whole as-of
  dates (never the newest) when History is what makes it not fit.
* 50,000 characters per cell: :func:`truncate` cuts longer text with a marker and a warning.
* 10,485,760 bytes per request body (Google's hard limit; 2 MB recommended): the request budget.
* A protected range that is not warning-only stops every account that is not one of its editors, the service
  account too (being an editor of the file is not enough): :func:`check_protections` refuses, before anything is
  sent, to write a generated tab someone protected that way, and says what to change.

Google checks the cell limit after *each* request of a batchUpdate and refuses the whole batch when a request
adds cells and leaves the spreadsheet over the limit (``Invalid requests[3].updateSheetProperties: This action
would increase the number of cells in the workbook above the limit of …``); within one
``updateSheetProperties`` the new row count is applied before the new column count. :func:`first_refusal`
walks a batch the same way, so a write is ordered (every tab's removals first, see
:class:`~.build.TabWrite`) and checked before it is sent.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ...errors import FatalError, InputDataError, Problem
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


def check_protections(tabs: Sequence[GeneratedTab], meta: Meta, account: str) -> None:
    """Raise FatalError when a tab of ``tabs`` carries a protection ``account`` may not edit: Google would refuse
    the write ("You are trying to edit a protected cell or object"). The message says what to change."""
    locked = [(t.name, meta.sheets[t.name].locked_by) for t in tabs
              if t.name in meta.sheets and meta.sheets[t.name].locked_by]
    if not locked:
        return
    which = "; ".join(f"{name} (protection " + ", ".join(f'"{d}"' for d in by) + ")" for name, by in locked)
    raise FatalError(
        f"sheets-sync writes these tabs, and they are protected so that only some people may edit them: {which}. "
        f"Google Sheets refuses the write unless the service account {account} is one of the editors of each "
        "protection, so nothing was written. In the sheet: Data → Protect sheets and ranges → click the "
        f"protection → Set permissions → Custom → add {account} (or choose \"Show a warning when editing this "
        "range\", which keeps people warned and lets the sync write), then sync again.")


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


def cell_steps(sizes: Mapping[int, tuple[int, int]], requests: Sequence[dict[str, Any]]
               ) -> Iterator[tuple[int, int, int]]:
    """(request index, cells before, cells after) for every change a batch makes to the grid sizes, in Google's
    order (``sizes``: sheet id → (rows, columns) before the batch)."""
    grid = dict(sizes)
    total = sum(r * c for r, c in grid.values())

    def resize(k: int, sid: int, rows: int, cols: int) -> Iterator[tuple[int, int, int]]:
        nonlocal total
        old = grid.get(sid, (0, 0))
        grid[sid] = (rows, cols)
        before, total = total, total - old[0] * old[1] + rows * cols
        yield k, before, total

    for k, req in enumerate(requests):
        for kind, body in req.items():
            if kind == "addSheet":
                p = body.get("properties", {})
                g = p.get("gridProperties", {})
                yield from resize(k, p["sheetId"], g.get("rowCount", 1000), g.get("columnCount", 26))
            elif kind == "deleteSheet":
                yield from resize(k, body["sheetId"], 0, 0)
                grid.pop(body["sheetId"], None)
            elif kind == "updateSheetProperties":
                p, fields = body.get("properties", {}), body.get("fields", "")
                sid, g = p.get("sheetId"), p.get("gridProperties", {})
                rows, cols = grid.get(sid, (0, 0))
                if "gridProperties.rowCount" in fields:            # rows first, then columns
                    rows = g.get("rowCount", rows)
                    yield from resize(k, sid, rows, cols)
                if "gridProperties.columnCount" in fields:
                    yield from resize(k, sid, rows, g.get("columnCount", cols))
            elif kind in ("insertDimension", "deleteDimension") and body["range"].get("dimension") == "ROWS":
                rng = body["range"]
                rows, cols = grid.get(rng["sheetId"], (0, 0))
                n = rng["endIndex"] - rng["startIndex"]
                yield from resize(k, rng["sheetId"], rows + (n if kind == "insertDimension" else -n), cols)


def first_refusal(sizes: Mapping[int, tuple[int, int]], requests: Sequence[dict[str, Any]],
                  max_cells: int) -> tuple[int, int] | None:
    """The first request of a batch that Google would refuse for the cell limit (it adds cells and leaves more
    than ``max_cells``), with the cells it would make; None when the batch stays inside the limit."""
    for k, before, after in cell_steps(sizes, requests):
        if after > before and after > max_cells:
            return k, after
    return None
