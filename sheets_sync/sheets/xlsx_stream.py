"""Fast writing of generated tabs: the data rows are streamed as XML into the generated sheet parts.

openpyxl builds each generated sheet (in a scratch workbook) with everything but its data rows (title, header,
widths, frozen panes, conditional formats, charts, print setup, protection) and registers every cell style the
data rows need. When the package is written (:mod:`.xlsx_package`), :func:`write_sheet` puts the data rows at the
end of the sheet's ``<sheetData>`` as plain strings, as openpyxl would write them (``t="n"`` numbers as
``%.16g``, dates as serials with their date style, booleans, the same ``s`` style ids) except that text is always
an inline string: text that looks like a formula or an error value (``#N/A``) stays text. The ``<dimension>`` is
updated.

What a cell looks like is decided by :class:`RowPlan` from the tab's format intents; the rules mirror
``xlsx._render_generated`` for openpyxl-built cells (tests compare both).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, get_time_format
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.exceptions import IllegalCharacterError

#: value types written here; a tab holding any other type is built by openpyxl cell by cell
STREAMED_TYPES = frozenset({str, int, float, bool, type(None), dt.date, dt.datetime})
WRAP, TOP, NONE = "wrap", "top", ""
_ALIGNMENTS = {WRAP: Alignment(wrap_text=True, vertical="top"), TOP: Alignment(vertical="top"), NONE: None}
_BATCH = 2000          # rows per string handed to the zip stream
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"\s*/>')
_MAX_STRING = 32767    # openpyxl truncates longer text
KEEP = object()        # a per-row format entry that keeps the column's format


def _escape(s: str) -> str:
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    return s


def _string_tail(s: str) -> str:
    """The rest of a ``<c …`` element for a text value: always an inline string, never a formula nor an error
    value (text such as ``#N/A`` typed as a name stays text)."""
    s = s[:_MAX_STRING]
    if not s:
        return ' t="inlineStr"/>'
    if (s[0].isspace() or s[-1].isspace()) and s.strip():
        return f' t="inlineStr"><is><t xml:space="preserve">{_escape(s)}</t></is></c>'
    return f' t="inlineStr"><is><t>{_escape(s)}</t></is></c>'


def _number(v: float | int) -> str:
    if v != v or v in (float("inf"), float("-inf")):
        return ""
    return f"{v:.16g}"


class RowPlan:
    """The data rows of one generated sheet and how each cell is styled.

    ``col_formats[j]``: the column's number format (None = General); ``row_formats[j]``: per-row formats that
    override it where not :data:`KEEP` (an override may be None: General); ``wrap[j]``: the column wraps its text;
    ``lines[n]``: the number of text lines of data row n (> 1: a tall row, its other cells align to the top);
    ``types``: the :meth:`value_types` of ``rows`` (gathered once by the caller, which also decides with them).
    """

    def __init__(self, ws, rows: Sequence[Sequence[Any]], first_row: int, col_formats: list[str | None],
                 row_formats: list[list[Any] | None], wrap: list[bool], lines: list[int], types: set[type]):
        self.rows = rows
        self.first_row = first_row
        self.ncols = len(col_formats)
        self.col_formats = col_formats
        self.row_formats = row_formats
        self.wrap = wrap
        self.lines = lines
        self.epoch = ws.parent.epoch
        width = max([self.ncols, 1, *(len(r) for r in rows)])
        self.letters = [get_column_letter(j + 1) for j in range(width)]
        self.styles = self._register_styles(ws, width, types)
        formatted = any(f for f in col_formats) or any(r for r in row_formats) or any(wrap)
        last = max((n for n, r in enumerate(rows) if len(r) or formatted or lines[n] > 1), default=-1)
        self.last_row = first_row + last if last >= 0 else first_row - 1
        self.last_col = width

    @staticmethod
    def value_types(rows: Sequence[Sequence[Any]]) -> set[type]:
        """The types of the tab's values (one pass over the tab)."""
        types: set[type] = set()
        for r in rows:
            types.update(map(type, r))
        return types

    @staticmethod
    def supported(types: set[type]) -> bool:
        """True when every value (of these :meth:`value_types`) is of a type written here (otherwise openpyxl
        builds the tab)."""
        return types <= STREAMED_TYPES

    def _register_styles(self, ws, width: int, types: set[type]) -> dict[tuple[str | None, str], str]:
        """Every (number format, alignment) a data cell can have → its `` s="N"`` attribute ('' = no style).
        openpyxl writes all registered cell styles into styles.xml, so the ids stay valid in the saved file.
        A date style is registered for every General column of a tab holding dates (unused, it costs nothing)."""
        tall = any(k > 1 for k in self.lines)
        combos: set[tuple[str | None, str]] = set()
        dated = {get_time_format(t) for t in types if t in (dt.date, dt.datetime)}
        for j in range(width):
            if j < self.ncols:
                fmts: set[str | None] = set()
                per_row = self.row_formats[j]
                if per_row:
                    fmts.update(set(per_row[:len(self.rows)]) - {KEEP})
                if not per_row or len(per_row) < len(self.rows) or KEEP in per_row[:len(self.rows)]:
                    fmts.add(self.col_formats[j])
                aligns = {WRAP} if self.wrap[j] else ({NONE, TOP} if tall else {NONE})
            else:
                fmts, aligns = {None}, {NONE}
            if None in fmts:
                fmts |= dated
            combos.update((f, a) for f in fmts for a in aligns)
        out: dict[tuple[str | None, str], str] = {}
        for f, a in combos:   # a fresh cell each: openpyxl keeps the very StyleArray a cell registers
            scratch = Cell(ws, row=self.first_row, column=1)
            scratch.number_format = f or "General"
            if a:
                scratch.alignment = _ALIGNMENTS[a]
            out[(f, a)] = f' s="{scratch.style_id}"' if scratch.has_style else ""
        return out

    def dimension(self) -> str:
        return f"A1:{get_column_letter(self.last_col)}{max(self.last_row, 2)}"

    def chunks(self) -> Iterator[str]:
        """The ``<row>`` elements of the data rows, a batch of rows per string."""
        rows, lines, letters, styles = self.rows, self.lines, self.letters, self.styles
        ncols, col_formats, row_formats, wrap = self.ncols, self.col_formats, self.row_formats, self.wrap
        strings: dict[str, str] = {}
        numbers: dict[Any, str] = {}
        serials: dict[Any, str] = {}
        epoch = self.epoch
        formatted = any(f for f in col_formats) or any(r for r in row_formats) or any(wrap)
        illegal = ILLEGAL_CHARACTERS_RE.search
        # A column without per-row formats has one style per row kind (ordinary / tall): look it up once.
        # None = decided cell by cell (per-row formats). Dates in a General column get their date style below.
        width = len(self.letters)
        plain: list[str | None] = []
        tall_rows: list[str | None] = []
        for j in range(width):
            if j >= ncols:
                plain.append(styles[(None, NONE)])
                tall_rows.append(styles[(None, NONE)])
            elif row_formats[j]:
                plain.append(None)
                tall_rows.append(None)
            else:
                f = col_formats[j]
                plain.append(styles.get((f, WRAP if wrap[j] else NONE)))
                tall_rows.append(styles.get((f, WRAP if wrap[j] else TOP)))
        out: list[str] = []
        append = out.append
        for n, row in enumerate(rows):
            r = str(self.first_row + n)
            k = lines[n]
            if k > 1:
                append(f'<row r="{r}" ht="{15 * min(k, 12)}" customHeight="1">')
                tall, fixed = TOP, tall_rows
            elif len(row) or formatted:
                append(f'<row r="{r}">')
                tall, fixed = NONE, plain
            else:
                continue
            n_values = len(row)
            for j in range(max(n_values, ncols)):
                v = row[j] if j < n_values else None
                s = fixed[j]
                if s is None:
                    f = col_formats[j]
                    per_row = row_formats[j]
                    if n < len(per_row):
                        kind = per_row[n]
                        if kind is not KEEP:
                            f = kind
                    align = WRAP if wrap[j] else tall
                    s = styles[(f, align)]
                t = type(v)
                if t is float or t is int:
                    tail = numbers.get(v)
                    if tail is None:
                        tail = f' t="n"><v>{_number(v)}</v></c>'
                        if v == v:   # NaN is never a key
                            numbers[v] = tail
                elif t is str:
                    tail = strings.get(v)
                    if tail is None:
                        bad = illegal(v)   # only text can hold characters a worksheet cannot
                        if bad:
                            raise IllegalCharacterError(f"{bad.group()!r} cannot be used in worksheets.")
                        tail = strings[v] = _string_tail(v)
                elif v is None:
                    if not s:
                        continue
                    tail = ' t="n"/>'   # a styled empty cell, as openpyxl writes it
                elif t is bool:
                    tail = ' t="b"><v>1</v></c>' if v else ' t="b"><v>0</v></c>'
                else:   # date / datetime: a General cell gets the date style
                    if j < ncols:
                        f = col_formats[j]
                        per_row = row_formats[j]
                        if per_row and n < len(per_row) and per_row[n] is not KEEP:
                            f = per_row[n]
                        align = WRAP if wrap[j] else tall
                    else:
                        f, align = None, NONE
                    if f is None:
                        s = styles[(get_time_format(t), align)]
                    tail = serials.get(v)
                    if tail is None:
                        if getattr(v, "tzinfo", None) is not None:
                            raise TypeError("Excel does not support timezones in datetimes. "
                                            "The tzinfo in the datetime/time object must be set to None.")
                        tail = serials[v] = f' t="n"><v>{_number(to_excel(v, epoch))}</v></c>'
                append(f'<c r="{letters[j]}{r}"{s}{tail}')
            append("</row>")
            if len(out) > _BATCH * 8:
                yield "".join(out)
                out = []
                append = out.append
        if out:
            yield "".join(out)


def write_sheet(data: bytes, plan: RowPlan | None, fh, name: str = "sheet") -> None:
    """Write the sheet part ``data`` (as openpyxl saved it) to ``fh`` with the plan's data rows at the end of its
    ``<sheetData>`` and its ``<dimension>`` updated."""
    if plan is None:
        fh.write(data)
        return
    end = data.find(b"</sheetData>")
    if end < 0:
        m = re.search(rb"<sheetData\s*/>", data)
        if m is None:
            raise ValueError(f"{name}: no <sheetData> in the sheet openpyxl wrote")
        head, tail = data[:m.start()] + b"<sheetData>", b"</sheetData>" + data[m.end():]
    else:
        head, tail = data[:end], data[end:]
    head, found = _DIMENSION.subn(f'<dimension ref="{plan.dimension()}"/>'.encode(), head, count=1)
    if not found:
        raise ValueError(f"{name}: no <dimension> in the sheet openpyxl wrote")
    fh.write(head)
    for chunk in plan.chunks():
        fh.write(chunk.encode("utf-8"))
    fh.write(tail)
