"""Request building: generated tabs and team-tab seeds as Sheets v4 ``batchUpdate`` requests.

Pure functions from :mod:`sheets_sync.sheets.base` intents (GeneratedTab, TeamTabSeed) to request dicts: cells
(``CellData``; strings are always ``stringValue``, so '=1+1' stays text), number formats by column range, widths,
status colours (conditional formats), charts and the warning-only protection. Nothing here sends anything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import TemplateError
from ..base import (
    CHART_ROW_STEP,
    GENERATED_HEADER_ROW,
    TEAM_HEADER_ROW,
    GeneratedTab,
    TeamTabSeed,
    chart_blocks,
    colour_rules,
)
from .metadata import OUR_PROTECTION_PREFIX, Meta

PROTECTION_DESCRIPTION = OUR_PROTECTION_PREFIX + " generated tab, replaced on every sync (edits are overwritten)"
EPOCH = dt.date(1899, 12, 30)     # Sheets' day 0
TEAM_TAB_ROWS = 200               # grid rows given to a new team tab (people add rows)
TEAM_TAB_SPARE_COLUMNS = 4
CHART_WIDTH_PX, CHART_HEIGHT_PX = 640, 320
NUMBER_FORMATS = {
    "int": {"type": "NUMBER", "pattern": "#,##0"},
    "number": {"type": "NUMBER", "pattern": "#,##0.00"},
    "percent": {"type": "PERCENT", "pattern": "0.0%"},
    "score": {"type": "PERCENT", "pattern": "0.00%"},
    "date": {"type": "DATE", "pattern": "yyyy-mm-dd"},
    "datetime": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"},
}
CURRENCY_SYMBOLS = {"USD": '"$"', "MXN": '"MX$"', "EUR": '"€"', "GBP": '"£"', "CAD": '"CA$"'}
CHART_TYPES = {"bar": "COLUMN", "column": "COLUMN", "line": "LINE"}



def grid_size(tab: GeneratedTab) -> tuple[int, int]:
    rows = max(len(tab.rows) + GENERATED_HEADER_ROW, GENERATED_HEADER_ROW + 1)   # never freeze every row
    cols = max(len(tab.columns), max((len(r) for r in tab.rows), default=0), 1)
    slots = 0
    for ch in tab.charts:
        cols = max(cols, (ch.anchor_column or len(tab.columns) + 1) + 1)
        slots += len(chart_blocks(tab, ch))
    if slots:   # every chart's anchor cell must lie inside the grid
        rows = max(rows, GENERATED_HEADER_ROW + (slots - 1) * CHART_ROW_STEP + 1)
    return rows, cols


def content_requests(tab: GeneratedTab, sid: int, n_rows: int) -> list[dict[str, Any]]:
    reqs: list[dict[str, Any]] = []
    bold = {"textFormat": {"bold": True}, "backgroundColor": rgb("EFEFEF")}
    rows = [{"values": [cell_data(tab.title, {"textFormat": {"italic": True}})]},
            {"values": [cell_data(c, bold) for c in tab.columns]}]
    per_row = [(j, tab.row_formats[c], tab.formats.get(c, "text")) for j, c in enumerate(tab.columns)
               if tab.row_formats.get(c)]
    # Date columns get their format from one repeatCell below: their cells need not carry it (smaller request).
    dated = {j for j, c in enumerate(tab.columns)
             if tab.formats.get(c) in ("date", "datetime") and not tab.row_formats.get(c)}
    for n, r in enumerate(tab.rows):
        cells = [cell_data(v, date_format=j not in dated) for j, v in enumerate(r)]
        for j, kinds, column_kind in per_row:      # a row without its own format takes the column's
            kind = (kinds[n] if n < len(kinds) else None) or column_kind
            fmt = number_format(kind, tab.currency)
            if fmt is not None and j < len(cells) and "userEnteredValue" in cells[j]:
                cells[j]["userEnteredFormat"] = {**cells[j].get("userEnteredFormat", {}), "numberFormat": fmt}
        rows.append({"values": cells})
    reqs.append({"updateCells": {"start": {"sheetId": sid, "rowIndex": 0, "columnIndex": 0}, "rows": rows,
                                 "fields": "userEnteredValue,userEnteredFormat"}})
    for j, col in enumerate(tab.columns):
        fmt = number_format(tab.formats.get(col, "text"), tab.currency)
        if fmt is not None and not tab.row_formats.get(col):   # per-row formats are on the cells already
            reqs.append({"repeatCell": {"range": grid_range(sid, GENERATED_HEADER_ROW, n_rows, j, j + 1),
                                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                                        "fields": "userEnteredFormat.numberFormat"}})
    reqs.extend(width_requests(sid, tab.columns, tab.widths))
    if tab.status_column:
        j = tab.columns.index(tab.status_column)
        for i, (text, colour) in enumerate(colour_rules(tab.status_column, tab.colours).items()):
            reqs.append({"addConditionalFormatRule": {"index": i, "rule": {
                "ranges": [grid_range(sid, GENERATED_HEADER_ROW, n_rows, j, j + 1)],
                "booleanRule": {"condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
                                "format": {"backgroundColor": rgb(colour)}}}}})
    slot = 0
    for ch in tab.charts:
        cat = tab.columns.index(ch.category)
        anchor = ch.anchor_column or len(tab.columns) + 1
        for label, b0, b1 in chart_blocks(tab, ch):
            # A whole-table chart includes the header row (series names); a per-block chart covers its rows only.
            r0 = GENERATED_HEADER_ROW - 1 if not label else GENERATED_HEADER_ROW + b0
            r1 = GENERATED_HEADER_ROW + b1 + 1

            def rng(col: int, r0: int = r0, r1: int = r1) -> dict[str, Any]:
                return {"sourceRange": {"sources": [grid_range(sid, r0, r1, col, col + 1)]}}

            reqs.append({"addChart": {"chart": {
                "spec": {"title": f"{ch.title} — {label}" if label else ch.title, "basicChart": {
                    "chartType": CHART_TYPES[ch.kind], "legendPosition": "BOTTOM_LEGEND",
                    "headerCount": 0 if label else 1,
                    "axis": [{"position": "BOTTOM_AXIS", "title": ch.category}, {"position": "LEFT_AXIS"}],
                    "domains": [{"domain": rng(cat)}],
                    "series": [{"series": rng(tab.columns.index(s)), "targetAxis": "LEFT_AXIS",
                                **({"pointStyle": {"shape": "CIRCLE", "size": 4}} if ch.kind == "line" else {})}
                               for s in ch.series]}},
                "position": {"overlayPosition": {
                    "anchorCell": {"sheetId": sid, "rowIndex": (GENERATED_HEADER_ROW if ch.anchor_column else
                                                                GENERATED_HEADER_ROW - 1) + slot * CHART_ROW_STEP,
                                   "columnIndex": anchor},
                    "widthPixels": CHART_WIDTH_PX, "heightPixels": CHART_HEIGHT_PX}}}}})
            slot += 1
    return reqs


def seed_requests(seed: TeamTabSeed, sid: int) -> list[dict[str, Any]]:
    n_rows = max(TEAM_TAB_ROWS, len(seed.rows) + 1)
    n_cols = len(seed.columns) + TEAM_TAB_SPARE_COLUMNS
    bold = {"textFormat": {"bold": True}, "backgroundColor": rgb("DDEBF7")}
    header = []
    for c in seed.columns:
        cell = cell_data(c, bold)
        if seed.notes.get(c):
            cell["note"] = seed.notes[c]
        header.append(cell)
    rows = [{"values": header}, *({"values": [cell_data(v) for v in r]} for r in seed.rows)]
    reqs: list[dict[str, Any]] = [
        {"addSheet": {"properties": {"sheetId": sid, "title": seed.name, "sheetType": "GRID", "gridProperties": {
            "rowCount": n_rows, "columnCount": n_cols, "frozenRowCount": TEAM_HEADER_ROW}}}}]
    for j, col in enumerate(seed.columns):
        fmt = number_format(seed.formats.get(col, "text"), "USD")
        if fmt is not None:
            reqs.append({"repeatCell": {"range": grid_range(sid, TEAM_HEADER_ROW, n_rows, j, j + 1),
                                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                                        "fields": "userEnteredFormat.numberFormat"}})
    reqs.append({"updateCells": {"start": {"sheetId": sid, "rowIndex": 0, "columnIndex": 0}, "rows": rows,
                                 "fields": "userEnteredValue,userEnteredFormat.textFormat,"
                                           "userEnteredFormat.backgroundColor,note"}})
    reqs.extend(width_requests(sid, seed.columns, seed.widths))
    for i, name, kind in seed.cell_formats:    # e.g. a rate target shown as 12 %
        fmt = number_format(kind, "USD")
        if name in seed.columns and fmt is not None:
            j, row = seed.columns.index(name), TEAM_HEADER_ROW + i
            reqs.append({"repeatCell": {"range": grid_range(sid, row, row + 1, j, j + 1),
                                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                                        "fields": "userEnteredFormat.numberFormat"}})
    reqs.extend(validation_requests(seed, sid, n_rows))
    return reqs


def validation_requests(seed: TeamTabSeed, sid: int, n_rows: int) -> list[dict[str, Any]]:
    """Drop-downs (ONE_OF_LIST) on the enumerated columns and Settings rows; not strict: another word gets a
    warning mark, not a rejection (the sync also reads zh / es words such as 转化率)."""
    def rule(values: Sequence[str], note: str) -> dict[str, Any]:
        r: dict[str, Any] = {"condition": {"type": "ONE_OF_LIST",
                                           "values": [{"userEnteredValue": v} for v in values]},
                             "strict": False, "showCustomUi": True}
        if note:
            r["inputMessage"] = note
        return r

    reqs = []
    for name, values in seed.validations.items():
        if name in seed.columns and values:
            j = seed.columns.index(name)
            reqs.append({"setDataValidation": {"range": grid_range(sid, TEAM_HEADER_ROW, n_rows, j, j + 1),
                                               "rule": rule(values, seed.notes.get(name, ""))}})
    for i, name, values in seed.cell_validations:
        if name in seed.columns and values:
            j = seed.columns.index(name)
            row = TEAM_HEADER_ROW + i
            reqs.append({"setDataValidation": {"range": grid_range(sid, row, row + 1, j, j + 1), "rule": rule(values, "")}})
    return reqs


def width_requests(sid: int, columns: Sequence[str], widths: Mapping[str, int]) -> list[dict[str, Any]]:
    return [{"updateDimensionProperties": {
        "range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": j, "endIndex": j + 1},
        "properties": {"pixelSize": int(widths[c]) * 7 + 16}, "fields": "pixelSize"}}
        for j, c in enumerate(columns) if widths.get(c)]


def number_format(intent: str, currency: str) -> dict[str, str] | None:
    if intent == "money":
        symbol = CURRENCY_SYMBOLS.get(currency.upper())
        pattern = f"{symbol}#,##0.00" if symbol else f'#,##0.00 "{currency.upper()}"'
        return {"type": "CURRENCY", "pattern": pattern}
    return NUMBER_FORMATS.get(intent)


def cell_data(v: Any, fmt: dict[str, Any] | None = None, date_format: bool = True) -> dict[str, Any]:
    """A CellData for a Python value. Strings are always ``stringValue``: '=1+1' stays text, never a formula."""
    cell: dict[str, Any] = {}
    if hasattr(v, "item") and not isinstance(v, str | bytes):          # numpy scalars
        with contextlib.suppress(TypeError, ValueError):
            v = v.item()
    number_format = None
    if v is None:
        pass
    elif isinstance(v, bool):
        cell["userEnteredValue"] = {"boolValue": v}
    elif isinstance(v, dt.datetime):
        if v == v:                                                     # NaT is a datetime and is not equal to itself
            cell["userEnteredValue"] = {"numberValue": to_serial(v)}
            number_format = NUMBER_FORMATS["datetime"] if date_format else None
    elif isinstance(v, dt.date):
        cell["userEnteredValue"] = {"numberValue": to_serial(v)}
        number_format = NUMBER_FORMATS["date"] if date_format else None
    elif isinstance(v, int):
        cell["userEnteredValue"] = {"numberValue": v}
    elif isinstance(v, float | decimal.Decimal):
        f = float(v)
        if f == f and f not in (float("inf"), float("-inf")):
            cell["userEnteredValue"] = {"numberValue": f}
    elif isinstance(v, str):
        if v:
            cell["userEnteredValue"] = {"stringValue": v}
    else:
        text = str(v)
        if text not in ("", "nan", "NaT", "<NA>", "None"):
            cell["userEnteredValue"] = {"stringValue": text}
    if fmt is not None or number_format is not None:
        cell["userEnteredFormat"] = {**(fmt or {}), **({"numberFormat": number_format} if number_format else {})}
    return cell


def grid_range(sid: int, r0: int, r1: int, c0: int, c1: int) -> dict[str, int]:
    return {"sheetId": sid, "startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0, "endColumnIndex": c1}


def rgb(hex_colour: str) -> dict[str, float]:
    return {k: round(int(hex_colour[i:i + 2], 16) / 255, 4) for k, i in (("red", 0), ("green", 2), ("blue", 4))}


def quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def new_sheet_id(name: str, used: set[int]) -> int:
    """A stable sheet id for a new tab (derived from its name), unused in the spreadsheet."""
    sid = zlib.crc32(name.encode("utf-8")) & 0x3FFFFFFF or 1
    while sid in used:
        sid = (sid * 1103515245 + 12345) & 0x3FFFFFFF or 1
    used.add(sid)
    return sid


def to_serial(value: dt.date | dt.datetime) -> float | int:
    """A Sheets day serial (days since 1899-12-30) for a date or a (naive or aware → UTC) datetime."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        delta = value - dt.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return (value - EPOCH).days


def from_serial(serial: float, kind: str = "date") -> dt.date | dt.datetime:
    if kind == "datetime":
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=float(serial))
    return EPOCH + dt.timedelta(days=int(serial // 1))


def check_writable(tabs: Sequence[GeneratedTab], spec: Callable[[str], Any]) -> None:
    """Refuse a write sheets-sync must never send: a team tab, a tab listed twice, a colour or chart column the
    tab does not have, an unknown chart kind. ``spec(name)``: the template's tab spec, or None."""
    seen: set[str] = set()
    for t in tabs:
        spec_ = spec(t.name)
        if spec_ is not None and spec_.kind == "team":
            raise TemplateError(f"{t.name!r} is a team tab: a sync never writes team tabs")
        if t.name in seen:
            raise TemplateError(f"the generated tab {t.name!r} is listed twice in one write")
        seen.add(t.name)
        for col in [t.status_column or "", *(c for ch in t.charts for c in (ch.category, *ch.series))]:
            if col and col not in t.columns:
                raise TemplateError(f"{t.name}: the column {col!r} used for colours or a chart is not one of "
                                    f"the tab's columns ({', '.join(t.columns)})")
        for ch in t.charts:
            if ch.kind not in CHART_TYPES:
                raise TemplateError(f"{t.name}: chart kind {ch.kind!r} is not one of {', '.join(CHART_TYPES)}")


@dataclass
class TabWrite:
    """The requests that make one generated tab what it should be, in two parts.

    ``prepare`` only removes: sheets-sync's rules, charts and protection, the old cells, and the rows and columns
    the tab no longer needs. ``fill`` only adds: the tab (when missing) or its new rows and columns, then cells,
    formats, widths, colours, charts and protection. A write sends every tab's ``prepare`` before any tab's
    ``fill``, so mid-way the spreadsheet never holds more cells than before or after the write: Google checks
    the cell limit after each request of a batchUpdate, not only at its end."""

    sheet_id: int
    prepare: list[dict[str, Any]]
    fill: list[dict[str, Any]]


def tab_requests(tab: GeneratedTab, meta: Meta, used_ids: set[int] | None = None) -> TabWrite:
    """The :class:`TabWrite` of ``tab``: added when missing, else cleared (our rules, charts and protection
    deleted) and resized; then its cells, formats, widths, colours, charts and protection."""
    existing = meta.sheets.get(tab.name)
    if existing is None and (other := meta.similar(tab.name)):
        raise TemplateError(f"a tab named {other!r} exists where sheets-sync writes {tab.name!r}: rename it "
                            f"to {tab.name!r} (or delete it) and sync again")
    if existing is not None and not existing.grid:
        raise TemplateError(f"{tab.name!r} is not a grid tab (a chart sheet?); delete it so sheets-sync can "
                            "recreate it")
    n_rows, n_cols = grid_size(tab)
    H = GENERATED_HEADER_ROW
    prepare: list[dict[str, Any]] = []
    fill: list[dict[str, Any]] = []
    if existing is None:
        used = used_ids if used_ids is not None else {s.sheet_id for s in meta.sheets.values()}
        sid = new_sheet_id(tab.name, used)
        fill.append({"addSheet": {"properties": {
            "sheetId": sid, "title": tab.name, "sheetType": "GRID",
            "gridProperties": {"rowCount": n_rows, "columnCount": n_cols, "frozenRowCount": H}}}})
    else:
        sid = existing.sheet_id
        prepare.extend({"deleteProtectedRange": {"protectedRangeId": p}} for p in existing.our_protections)
        prepare.extend({"deleteEmbeddedObject": {"objectId": c}} for c in existing.charts)
        prepare.extend({"deleteConditionalFormatRule": {"sheetId": sid, "index": 0}}
                       for _ in range(existing.conditional_formats))
        prepare.append({"unmergeCells": {"range": {"sheetId": sid}}})
        prepare.append({"updateCells": {"range": {"sheetId": sid}, "fields": "*"}})     # values, formats, notes
        rows, cols = min(n_rows, existing.rows), min(n_cols, existing.cols)
        if (rows, cols) != (existing.rows, existing.cols):
            prepare.append(resize_request(sid, rows, cols, frozen=rows > H))
        fill.append(resize_request(sid, n_rows, n_cols, frozen=True))
    fill.extend(content_requests(tab, sid, n_rows))
    if tab.protected:
        fill.append({"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": sid}, "description": PROTECTION_DESCRIPTION, "warningOnly": True}}})
    return TabWrite(sid, prepare, fill)


def resize_request(sid: int, rows: int, cols: int, *, frozen: bool) -> dict[str, Any]:
    """A tab's grid to rows × cols (and, with ``frozen``, the header rows frozen, no frozen column)."""
    grid: dict[str, int] = {"rowCount": rows, "columnCount": cols}
    fields = "gridProperties.rowCount,gridProperties.columnCount"
    if frozen:
        grid.update(frozenRowCount=GENERATED_HEADER_ROW, frozenColumnCount=0)
        fields += ",gridProperties.frozenRowCount,gridProperties.frozenColumnCount"
    return {"updateSheetProperties": {"properties": {"sheetId": sid, "gridProperties": grid}, "fields": fields}}
