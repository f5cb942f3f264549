"""The embedded default backend: an .xlsx workbook on disk.

Reading uses python-calamine and the values saved in the file (a formula reads as its cached value). Writing
never re-saves the workbook: the generated tabs are built with openpyxl in a scratch workbook and their parts
put into a copy of the team's package in which every other part is copied byte for byte
(:mod:`.xlsx_package`); the copy is a temporary file in the same folder renamed over the original
(``os.replace``, atomic on one file system): a crash leaves either the old or the new workbook, never half of
one. ``init`` (:meth:`XlsxWorkbook.create_tabs`) still saves through openpyxl.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import openpyxl
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.axis import ChartLines
from openpyxl.chart.series import SeriesLabel
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineError, CalamineWorkbook

from ..errors import FatalError, Problem, WorkbookLockedError
from .base import (
    CHART_ROW_STEP,
    CHART_WIDTH_CM,
    GENERATED_HEADER_ROW,
    GeneratedTab,
    Table,
    TeamTabSeed,
    Workbook,
    WriteStats,
    chart_blocks,
    colour_rules,
    display_width,
)
from .xlsx_package import PackageError, replace_tabs, sheets_of, workbook_part
from .xlsx_stream import KEEP, RowPlan

HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")
TEAM_HEADER_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(italic=True, color="555555")
CURRENCY_FORMATS = {"USD": '"$"#,##0.00', "MXN": '"MX$"#,##0.00', "EUR": '#,##0.00 "€"'}
NUMBER_FORMATS = {"int": "#,##0", "number": "#,##0.00##", "percent": "0.0%", "score": "0.00%", "date": "yyyy-mm-dd",
                  "datetime": "yyyy-mm-dd hh:mm"}
META_SHEET = "_sheets_sync"
HEADER_MAX_WIDTH = 16     # a header longer than this wraps onto two lines
WRAP_WIDTH = 40           # text columns at least this wide wrap their cells
WIDE_CHAR = 1.15         # average width of a character of wrapped text, in column-width units (CJK is wider)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
LANDING_TAB = "Scorecard"  # the tab a manager lands on when the workbook opens


def _cell_value(v: Any) -> Any:
    if isinstance(v, str):       # most cells: text or a number, tested first
        return v or None
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if isinstance(v, dt.datetime) and v.time() == dt.time(0):
        return v.date()
    return v


_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_ANY_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)\b[^>]*>(.+?)</(?:\w+:)?(?:v|is)>", re.S)


def uncalculated_formulas(path: Path, names: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Per tab, the cells holding a formula saved without a cached value: ``(A1 ref, formula text)``."""
    out: dict[str, list[tuple[str, str]]] = {}
    with zipfile.ZipFile(path) as z:
        zn = set(z.namelist())
        book = workbook_part(z, zn)
        for sheet in sheets_of(z, zn, book):
            if sheet.name not in names or sheet.part not in zn:
                continue
            data = z.read(sheet.part)
            if not _ANY_FORMULA.search(data):
                continue
            for m in _CELL.finditer(data):
                inner = m.group(2)
                if not inner:
                    continue
                f = _FORMULA.search(inner)
                if f is None or _VALUE.search(inner):
                    continue
                ref = _REF.search(m.group(1))
                if ref:
                    text = html.unescape((f.group(1) or b"").decode("utf-8"))
                    out.setdefault(sheet.name, []).append((ref.group(1).decode(), text))
    return out


def _format_for(kind: str, currency: str) -> str | None:
    if kind == "money":
        return CURRENCY_FORMATS.get(currency, f'#,##0.00 "{currency}"')
    return NUMBER_FORMATS.get(kind)


def _append(ws, row: Sequence[Any]) -> None:
    """Append a row; text that looks like a formula (``=…``) or an error (``#REF!``) is stored as text."""
    values = list(row)
    ws.append(values)
    if any(isinstance(v, str) and (v.startswith("=") or v.startswith("#")) for v in values):
        for cell in ws[ws.max_row]:
            if cell.data_type in ("f", "e"):   # "#N/A" typed as a name is text, not an error value
                cell.data_type = "s"


class XlsxWorkbook(Workbook):
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.api_calls = 0
        self.read_problems: list[Problem] = []   # problems found while reading (see read_tabs)

    def describe(self) -> str:
        return str(self.path)

    # -- reading -----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _opening(self, unreadable: tuple[type[BaseException], ...]) -> Iterator[None]:
        """Opening the file with a reader: a permission error says the file may be open elsewhere; any of
        ``unreadable`` (the reader's own) says the file is not an .xlsx workbook."""
        try:
            yield
        except PermissionError as exc:
            raise WorkbookLockedError(f"{self.path}: cannot be opened ({exc.strerror}); is it open in "
                                      "another program, or not readable by this user?") from exc
        except unreadable as exc:
            raise FatalError(f"{self.path}: not a readable .xlsx workbook ({type(exc).__name__}); "
                             "save it as Excel Workbook (.xlsx)") from exc

    def _open(self, read_only: bool) -> openpyxl.Workbook:
        if not self.path.exists():
            raise FatalError(f"{self.path}: workbook not found; create it with "
                             f"`sheets-sync init --workbook {self.path}`")
        with self._opening((InvalidFileException, zipfile.BadZipFile, KeyError, OSError)):
            return openpyxl.load_workbook(self.path, read_only=read_only, data_only=read_only)

    def _check_readable(self) -> None:
        if not self.path.exists():
            raise FatalError(f"{self.path}: workbook not found; create it with "
                             f"`sheets-sync init --workbook {self.path}`")
        if not os.access(self.path, os.R_OK):
            raise WorkbookLockedError(f"{self.path}: cannot be opened (permission denied); is it open in "
                                      "another program, or not readable by this user?")

    def read_tabs(self, names: Sequence[str]) -> dict[str, Table | None]:
        """Each tab's cells by their saved values (python-calamine): a formula cell reads as the value the
        spreadsheet program stored with it. A formula saved without a value (a file written by a program that
        does not calculate) reads as empty and is reported in :attr:`read_problems` with its address."""
        self._check_readable()
        self.read_problems = []
        with self._opening((CalamineError, zipfile.BadZipFile, OSError, ValueError)):
            book = CalamineWorkbook.from_path(str(self.path))
        try:
            out: dict[str, Table | None] = {}
            for name in names:
                if name not in book.sheet_names:
                    out[name] = None
                    continue
                try:
                    raw = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                except CalamineError as exc:
                    raise FatalError(f"{self.path}: the tab {name!r} cannot be read ({exc}); open the workbook "
                                     "in Excel or LibreOffice and save it again") from exc
                rows = [[_cell_value(v) for v in row] for row in raw]
                while rows and all(v is None for v in rows[-1]):
                    rows.pop()
                out[name] = rows
        finally:
            book.close()
        self._blank_uncalculated([n for n in names if out.get(n) is not None], out)
        return out

    def _blank_uncalculated(self, names: Sequence[str], out: dict[str, Table | None]) -> None:
        """Formulas saved without a value: blank them (calamine may return the formula's text) and report them."""
        try:
            found = uncalculated_formulas(self.path, names)
        except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError):
            return
        for name, cells in found.items():
            table = out[name]
            for ref, formula in cells:
                col, row = coordinate_to_tuple(ref)[1] - 1, coordinate_to_tuple(ref)[0] - 1
                if table is not None and row < len(table) and col < len(table[row]):
                    table[row][col] = None
                self.read_problems.append(Problem(
                    f"{name}!{ref}", f"={formula}",
                    "a formula saved without its value (the file was written by a program that does not "
                    "calculate formulas); open the workbook in Excel or LibreOffice, save it, and sync again",
                    "read as empty"))

    # -- writing -----------------------------------------------------------------------------------------
    def _check_writable(self) -> None:
        folder = self.path.parent
        for lock in (folder / f".~lock.{self.path.name}#", folder / f"~${self.path.name}"):
            if lock.exists():
                raise WorkbookLockedError(
                    f"{self.path}: the workbook is open in another program (lock file {lock.name}); close it "
                    "and sync again — nothing was written")
        if not os.access(folder, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            raise WorkbookLockedError(f"{self.path}: not writable by this user; nothing was written")

    def _temp_file(self) -> str:
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.sync-", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        return tmp

    def remove_stale_temps(self) -> list[str]:
        """Remove temporary files a killed sync of this workbook left next to it (call while holding the
        workbook's sync lock, so no running sync's file is removed). Returns the names removed."""
        removed: list[str] = []
        pattern = re.compile(re.escape(f".{self.path.name}.sync-") + r"[a-z0-9_]+\.tmp"
                             + "|" + re.escape(f".{self.path.stem}.") + r"[a-z0-9_]{8}\.xlsx\.tmp")
        try:
            entries = list(os.scandir(self.path.parent))
        except OSError:
            return removed
        for entry in entries:
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed.append(entry.name)
                except OSError:
                    pass
        return removed

    def _replace_with(self, tmp: str) -> None:
        if self.path.exists():
            os.chmod(tmp, self.path.stat().st_mode & 0o777)
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def _replacing(self) -> Iterator[str]:
        """A temporary file next to the workbook for the caller to write; renamed over the workbook when the
        block ends without an error, removed in any case."""
        tmp = self._temp_file()
        try:
            yield tmp
            self._replace_with(tmp)
        except PermissionError as exc:
            raise WorkbookLockedError(f"{self.path}: could not be replaced ({exc.strerror}); is it open in "
                                      "another program? Nothing was written") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _save_atomically(self, wb: openpyxl.Workbook) -> None:
        """Save to a temporary file next to the workbook and rename it over the original (``init``)."""
        with self._replacing() as tmp:
            wb.save(tmp)

    def _epoch(self) -> dt.datetime | None:
        try:
            with zipfile.ZipFile(self.path) as z:
                head = z.read(workbook_part(z, set(z.namelist())))[:4096]
        except (zipfile.BadZipFile, KeyError, OSError, PackageError):
            return None
        return CALENDAR_MAC_1904 if re.search(rb'date1904="(?:1|true)"', head) else None

    def write_tabs(self, tabs: Sequence[GeneratedTab]) -> WriteStats:
        """Replace the generated tabs' parts in the package; every other part is copied byte for byte
        (:mod:`.xlsx_package`). One temporary file, renamed over the workbook."""
        self._check_writable()
        self._check_readable()
        stats = WriteStats()
        last: dict[str, GeneratedTab] = {}
        for tab in tabs:   # the same tab twice: the last one wins
            last[tab.name] = tab
        scratch = openpyxl.Workbook()
        scratch.remove(scratch.active)
        epoch = self._epoch()
        if epoch is not None:
            scratch.epoch = epoch
        plans: dict[str, RowPlan] = {}
        for name, tab in last.items():
            ws = scratch.create_sheet(name)
            ws.sheet_view.tabSelected = False
            plan = _render_generated(ws, tab, stream=True)
            if plan is not None:
                plans[name] = plan
            stats.cells += tab.cell_count()
        buf = io.BytesIO()
        scratch.save(buf)
        with self._replacing() as tmp:
            try:
                replace_tabs(str(self.path), tmp, buf.getvalue(), list(last), plans, LANDING_TAB)
            except (zipfile.BadZipFile, KeyError, ET.ParseError, PackageError, UnicodeDecodeError) as exc:
                raise FatalError(f"{self.path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
                                 "open it in Excel or LibreOffice and save it as Excel Workbook (.xlsx). "
                                 "Nothing was written") from exc
        return stats

    def create_tabs(self, seeds: Sequence[TeamTabSeed], generated: Sequence[GeneratedTab],
                    metadata: dict[str, str]) -> list[str]:
        if self.path.exists():
            self._check_writable()
            wb = self._open(read_only=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            wb = openpyxl.Workbook()
            wb.remove(wb.active)
        created: list[str] = []
        for seed in seeds:
            if seed.name not in wb.sheetnames:
                _render_seed(wb.create_sheet(seed.name), seed)
                created.append(seed.name)
        for tab in generated:
            if tab.name not in wb.sheetnames:
                _render_generated(wb.create_sheet(tab.name), tab)
                created.append(tab.name)
        if META_SHEET in wb.sheetnames:   # the drop-downs' lists: last, hidden
            wb.move_sheet(META_SHEET, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(META_SHEET))
        if created:
            _land_on(wb, LANDING_TAB)
        if created or metadata:
            props = wb.custom_doc_props
            for key, value in metadata.items():
                if key in props.names:
                    props[key].value = value
                else:
                    props.append(StringProperty(name=key, value=value))
            self._save_atomically(wb)
        return created


def _land_on(wb: openpyxl.Workbook, name: str) -> None:
    """Open the workbook on ``name`` (tab order is left alone: team tabs are never moved)."""
    if name not in wb.sheetnames:
        return
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws.title == name
    wb.active = wb.sheetnames.index(name)


def _widths(ws, columns: Sequence[str], widths: dict[str, int]) -> None:
    for i, name in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(6, widths.get(name, max(10, len(name) + 2)))


def _render_seed(ws, seed: TeamTabSeed) -> None:
    ws.append(list(seed.columns))
    for row in seed.rows:
        _append(ws, row)
    for i, name in enumerate(seed.columns, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = HEADER_FONT
        cell.fill = TEAM_HEADER_FILL
        if name in seed.notes:
            cell.comment = Comment(seed.notes[name], "sheets-sync")
        fmt = _format_for(seed.formats.get(name, "text"), "USD")
        if fmt:
            for r in range(2, len(seed.rows) + 2):
                c = ws.cell(row=r, column=i)
                if isinstance(c.value, int | float | dt.date):
                    c.number_format = fmt
    for i, name, kind in seed.cell_formats:
        if name in seed.columns and (fmt := _format_for(kind, "USD")):
            ws.cell(row=i + 2, column=seed.columns.index(name) + 1).number_format = fmt
    ws.freeze_panes = "A2"
    _widths(ws, seed.columns, seed.widths)
    _add_validations(ws, seed)


TEAM_VALIDATION_ROWS = 1000   # rows of a team tab that get its drop-downs


def _add_validations(ws, seed: TeamTabSeed) -> None:
    """Drop-downs (list data validation) on the enumerated columns and Settings rows. Another word is accepted
    with a warning (errorStyle warning): the sync also reads the values in zh / es (转化率, cuenta)."""
    def rule(values: Sequence[str], note: str) -> DataValidation:
        dv = DataValidation(type="list", formula1=_list_formula(ws.parent, values), allow_blank=True,
                            showErrorMessage=True, errorStyle="warning", errorTitle="sheets-sync",
                            error=("Not one of the listed values; the sync will say if it cannot read it")[:225])
        if note:
            dv.showInputMessage, dv.prompt = True, note[:250]
        ws.add_data_validation(dv)
        return dv

    for name, values in seed.validations.items():
        if name in seed.columns and values:
            col = get_column_letter(seed.columns.index(name) + 1)
            rule(values, seed.notes.get(name, "")).add(f"{col}2:{col}{TEAM_VALIDATION_ROWS}")
    for i, name, values in seed.cell_validations:
        if name in seed.columns and values:
            rule(values, "").add(f"{get_column_letter(seed.columns.index(name) + 1)}{i + 2}")


def _list_formula(wb: openpyxl.Workbook, values: Sequence[str]) -> str:
    """A short list inline (``"a,b"``); a long one, or one with commas in a value, from a column of the hidden
    META_SHEET (Excel limits an inline list to 255 characters)."""
    inline = ",".join(values)
    if len(inline) <= 250 and not any("," in v or '"' in v for v in values):
        return f'"{inline}"'
    if META_SHEET in wb.sheetnames:
        meta = wb[META_SHEET]
    else:
        meta = wb.create_sheet(META_SHEET)
        meta.sheet_state = "hidden"
    col = 1
    while meta.cell(row=1, column=col).value is not None:
        if [meta.cell(row=r + 1, column=col).value for r in range(len(values) + 1)] == [*values, None]:
            break
        col += 1
    for r, v in enumerate(values, start=1):
        meta.cell(row=r, column=col, value=v)
    letter = get_column_letter(col)
    return f"'{META_SHEET}'!${letter}$1:${letter}${len(values)}"


def _render_generated(ws, tab: GeneratedTab, stream: bool = False) -> RowPlan | None:
    """Build a generated sheet. With ``stream`` (and values of types :mod:`.xlsx_stream` writes), the data rows
    are not added as openpyxl cells: the returned plan writes them into the sheet part (``xlsx_stream.write_sheet``);
    the sheet gets everything else (title, header, widths, frozen panes, charts, formats, protection)."""
    ws.append([tab.title])
    ws.append(list(tab.columns))
    types = RowPlan.value_types(tab.rows) if stream else set()      # one pass: decides, then styles
    plan_rows = stream and bool(tab.rows) and RowPlan.supported(types)
    if not plan_rows:
        for row in tab.rows:
            _append(ws, row)
    ws["A1"].font = TITLE_FONT
    for i in range(1, len(tab.columns) + 1):
        c = ws.cell(row=GENERATED_HEADER_ROW, column=i)
        c.font = HEADER_FONT
        c.fill = HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
    first, last = GENERATED_HEADER_ROW + 1, GENERATED_HEADER_ROW + len(tab.rows)
    col_formats = [_format_for(tab.formats.get(name, "text"), tab.currency) for name in tab.columns]
    if not plan_rows:
        for i, name in enumerate(tab.columns, start=1):
            fmt = col_formats[i - 1]
            per_row = tab.row_formats.get(name)
            if (fmt or per_row) and tab.rows:
                for n, (cell,) in enumerate(ws.iter_rows(min_row=first, max_row=last, min_col=i, max_col=i)):
                    kind = per_row[n] if per_row and n < len(per_row) else None
                    f = _format_for(kind, tab.currency) if kind else fmt
                    if f:
                        cell.number_format = f
    ws.freeze_panes = ws.cell(row=GENERATED_HEADER_ROW + 1, column=1)
    # Headers are contract names (snake_case): give each column room for its name, wrap long ones over two
    # lines, and wrap long text columns (findings, notes, bases) instead of letting them run off the page.
    widths = {name: max(tab.widths.get(name, 10), min(len(name) + 2, HEADER_MAX_WIDTH)) for name in tab.columns}
    _widths(ws, tab.columns, widths)
    ws.row_dimensions[GENERATED_HEADER_ROW].height = 30
    wrap = [tab.formats.get(name, "text") == "text" and widths[name] >= WRAP_WIDTH and bool(tab.rows)
            for name in tab.columns]
    lines = [1] * len(tab.rows)
    for i, name in enumerate(tab.columns):
        if wrap[i]:
            width = widths[name]
            if plan_rows:   # the value as openpyxl would keep it (text is cut at 32,767 characters)
                values = [(v[:32767] if isinstance(v, str) else v) for v in
                          (row[i] if i < len(row) else None for row in tab.rows)]
            else:
                values = [ws.cell(row=first + n, column=i + 1).value for n in range(len(tab.rows))]
            for n, value in enumerate(values):
                if not value:       # an empty cell: one line
                    continue
                text = value if isinstance(value, str) else str(value)
                k = math.ceil(display_width(text) * WIDE_CHAR / width)
                if k > lines[n]:
                    lines[n] = k
    plan = None
    if plan_rows:
        row_formats: list[list[Any] | None] = []
        for name in tab.columns:
            per_row = tab.row_formats.get(name)
            row_formats.append([_format_for(k, tab.currency) if k else KEEP for k in per_row[:len(tab.rows)]]
                               if per_row else None)
        for key in [k for k in ws._cells if k[0] >= first]:   # e.g. A3 made by freeze_panes: rows are streamed
            cell = ws._cells[key]
            if cell.value is not None or cell.has_style:
                raise RuntimeError(f"{tab.name}!{cell.coordinate} set before streaming the data rows")
            del ws._cells[key]
        plan = RowPlan(ws, tab.rows, first, col_formats, row_formats, wrap, lines, types)
    else:
        for i in range(1, len(tab.columns) + 1):
            if wrap[i - 1]:
                for (cell,) in ws.iter_rows(min_row=first, max_row=last, min_col=i, max_col=i):
                    cell.alignment = WRAP
        for n, k in enumerate(lines):
            if k > 1:   # viewers do not grow rows for wrapped text written by a program: size them here
                ws.row_dimensions[first + n].height = 15 * min(k, 12)
                for j in range(1, len(tab.columns) + 1):   # ws[row] would rescan the whole sheet per row
                    cell = ws.cell(row=first + n, column=j)
                    if not cell.alignment.wrap_text:
                        cell.alignment = TOP
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = f"{GENERATED_HEADER_ROW}:{GENERATED_HEADER_ROW}"
    if tab.status_column and tab.status_column in tab.columns and tab.rows:
        col = get_column_letter(tab.columns.index(tab.status_column) + 1)
        rng = f"{col}{first}:{col}{last}"
        for status, colour in colour_rules(tab.status_column, tab.colours).items():
            ws.conditional_formatting.add(rng, CellIsRule(operator="equal", formula=[f'"{status}"'],
                                                          fill=PatternFill("solid", bgColor=colour)))
    if tab.rows:
        slot = 0
        for chart in tab.charts:
            slot = _add_chart(ws, tab, chart, first, last, slot)
    if tab.protected:
        ws.protection.sheet = True
        ws.protection.autoFilter = False
        ws.protection.sort = False
        ws.protection.formatColumns = False
    return plan


def _add_chart(ws, tab: GeneratedTab, chart, first: int, last: int, slot: int) -> int:
    """Add the chart(s) of one intent; returns the next free slot. Small tables (≤ 25 rows, e.g. Scorecard)
    get their charts under the table, where a manager sees them without scrolling; long ones to the right."""
    below = len(tab.rows) <= 25
    cat_idx = tab.columns.index(chart.category) + 1
    for mk, b0, b1 in chart_blocks(tab, chart):
        r0, r1 = first + b0, first + b1
        c = BarChart() if chart.kind == "bar" else LineChart()
        c.title = f"{chart.title} — {mk}" if mk else chart.title
        c.height, c.width = 7.5, 16 if below else 18
        for s in chart.series:
            idx = tab.columns.index(s) + 1
            c.add_data(Reference(ws, min_col=idx, min_row=r0, max_row=r1), titles_from_data=False)
            c.series[-1].tx = SeriesLabel(v=s)
            if chart.kind == "line":   # straight segments (smoothing invents dips) with a dot on each point
                c.series[-1].smooth = False
                c.series[-1].marker.symbol = "circle"
                c.series[-1].marker.size = 4
        c.set_categories(Reference(ws, min_col=cat_idx, min_row=r0, max_row=r1))
        fmt = _format_for(tab.formats.get(chart.series[0], "number"), tab.currency) if chart.series else None
        c.y_axis.number_format = {"percent": "0%", "score": "0%"}.get(tab.formats.get(chart.series[0], ""), fmt or "General")
        c.y_axis.majorGridlines = ChartLines()
        c.x_axis.delete = False
        c.y_axis.delete = False
        c.legend.position = "b"
        if chart.category == "date":
            c.x_axis.number_format = "mm-dd"
        if chart.anchor_column:   # a column of the table (0-based), charts stacked from the first data row
            c.width = CHART_WIDTH_CM    # the same cell and size as on Google Sheets
            anchor = f"{get_column_letter(chart.anchor_column + 1)}{GENERATED_HEADER_ROW + 1 + slot * CHART_ROW_STEP}"
        elif below:
            anchor = f"{get_column_letter(1 + (slot % 2) * 9)}{last + 3 + (slot // 2) * 16}"
        else:
            anchor = f"{get_column_letter(len(tab.columns) + 2)}{3 + slot * 16}"
        ws.add_chart(c, anchor)
        slot += 1
    return slot
