"""Generated tabs whose data rows are streamed into the saved package (sheets_sync.sheets.xlsx_stream).

The streamed workbook must be the one openpyxl would have built cell by cell: every cell's value, type,
number format and style, row heights, dimensions, charts and conditional formats are compared with a
reference written the old way, and read back in both openpyxl modes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import zipfile

import openpyxl
import pytest
from openpyxl.utils.exceptions import IllegalCharacterError

from sheets_sync.sheets import xlsx
from sheets_sync.sheets.base import ChartIntent, GeneratedTab, display_width
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.template import load_template
from sheets_sync.testing.contract import TODAY

COLUMNS = ["row", "owner", "kpi", "target", "actual", "attainment", "status", "as_of", "at", "flag", "note"]
KINDS = ("money", "int", "percent", None, "number", "text")
LONG = "Ventas por debajo del objetivo en México; revisar precios y anuncios — 销售额低于目标，请检查价格与广告投放。"


def _rows(n: int) -> list[list]:
    rows = []
    for i in range(n):
        row = [i + 2, f"Dueño {i % 50} 李娜", ("gmv", "units", "cvr")[i % 3], 1000.0 + i / 7, i * 3,
               (i % 130) / 100, ("on track", "at risk", "off track")[i % 3], dt.date(2026, 11, 1 + i % 28),
               dt.datetime(2026, 11, 2, 8, i % 60), bool(i % 2), LONG * (i % 4)]
        if i % 97 == 0:
            row[1] = "=SUM(A1:A2)"            # text that looks like a formula stays text
        if i % 89 == 0:
            row[10] = "  espacios & <etiquetas> > \"comillas\"  "
        if i % 83 == 0:
            row[4] = None
        if i % 71 == 0:
            row = row[:6]                     # ragged
        if i % 67 == 0:
            row = [*row, "extra", dt.date(2026, 1, 1)]   # beyond the columns
        if i % 61 == 0:
            row[2] = "#N/A"
        rows.append(row)
    return rows


def _tab(rows: list[list], name: str = "Attainment") -> GeneratedTab:
    return GeneratedTab(
        name=name, columns=COLUMNS, rows=rows, title="Period 2026-11 · año fiscal · 期间",
        formats={"row": "int", "target": "number", "actual": "number", "attainment": "percent", "as_of": "date"},
        row_formats={"target": [KINDS[i % len(KINDS)] for i in range(len(rows) - 3)],
                     "note": ["percent" if i == 5 else None for i in range(len(rows))]},
        widths={"note": 60, "owner": 15}, status_column="status",
        charts=[ChartIntent("bar", "Attainment", "owner", ("attainment",))], currency="MXN")


def _workbook(path):
    t = load_template()
    wb = XlsxWorkbook(path)
    wb.create_tabs(t.seeds(TODAY), t.empty_generated(), {"sheets_sync_template_version": "1"})
    return wb


def _write_cell_by_cell(monkeypatch, wb: XlsxWorkbook, tabs) -> None:
    """The reference: every tab built by openpyxl cell by cell (the path used before streaming)."""
    render = xlsx._render_generated
    with monkeypatch.context() as m:
        m.setattr(xlsx, "_render_generated", lambda ws, tab, stream=False: render(ws, tab, False))
        wb.write_tabs(tabs)


def _cells(ws) -> dict:
    return {key: (c.value, c.data_type, c.number_format, repr(c.font), repr(c.fill), repr(c.alignment),
                  repr(c.border), repr(c.protection), c.has_style) for key, c in ws._cells.items()}


def _assert_same_sheet(a, b) -> None:
    assert a.dimensions == b.dimensions
    assert a.freeze_panes == b.freeze_panes
    assert {k: (v.height, v.customHeight) for k, v in a.row_dimensions.items()} == \
        {k: (v.height, v.customHeight) for k, v in b.row_dimensions.items()}
    assert {k: v.width for k, v in a.column_dimensions.items()} == {k: v.width for k, v in b.column_dimensions.items()}
    assert _cells(a) == _cells(b)
    assert [(str(cf.sqref), [r.formula for r in cf.rules]) for cf in a.conditional_formatting] == \
        [(str(cf.sqref), [r.formula for r in cf.rules]) for cf in b.conditional_formatting]
    assert len(a._charts) == len(b._charts)
    assert a.protection.sheet == b.protection.sheet
    assert a.page_setup.orientation == b.page_setup.orientation
    assert a.page_setup.fitToWidth == b.page_setup.fitToWidth


@pytest.fixture
def pair(tmp_path, monkeypatch):
    """The same tabs written streamed (``new``) and cell by cell (``old``)."""
    def write(tabs):
        new, old = _workbook(tmp_path / "new.xlsx"), _workbook(tmp_path / "old.xlsx")
        new.write_tabs(tabs)
        _write_cell_by_cell(monkeypatch, old, tabs)
        return new.path, old.path
    return write


def test_5000_rows_match_the_cell_by_cell_workbook(pair):
    rows = _rows(5000)
    tabs = [_tab(rows), GeneratedTab(name="Scorecard", columns=["owner", "score"], rows=[["Li Na", 0.9]],
                                     formats={"score": "percent"},
                                     charts=[ChartIntent("bar", "Score", "owner", ("score",))])]
    new, old = pair(tabs)
    a, b = openpyxl.load_workbook(new), openpyxl.load_workbook(old)
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        _assert_same_sheet(a[name], b[name])
    ra, rb = openpyxl.load_workbook(new, read_only=True), openpyxl.load_workbook(old, read_only=True)
    try:
        for name in ("Attainment", "Scorecard"):
            assert list(ra[name].iter_rows(values_only=True)) == list(rb[name].iter_rows(values_only=True))
    finally:
        ra.close()
        rb.close()


def test_streamed_values_and_formats_read_back(tmp_path):
    rows = _rows(5000)
    wb = _workbook(tmp_path / "team.xlsx")
    wb.write_tabs([_tab(rows)])
    ws = openpyxl.load_workbook(wb.path)["Attainment"]
    assert ws.max_row == 5002
    assert ws["A1"].value == "Period 2026-11 · año fiscal · 期间"
    assert [c.value for c in ws[2]] == [*COLUMNS, None, None]   # two rows run past the columns
    for n in (0, 1, 2, 3, 4, 5, 97, 194, 4999):
        r = n + 3
        want = rows[n]
        assert ws.cell(r, 1).value == want[0] and ws.cell(r, 1).number_format == "#,##0"
        assert ws.cell(r, 2).value == want[1] and ws.cell(r, 2).data_type == "s"
        kind = KINDS[n % len(KINDS)] if n < len(rows) - 3 else None
        fmt = {"money": '"MX$"#,##0.00', "int": "#,##0", "percent": "0.0%", "number": "#,##0.00##",
               None: "#,##0.00##", "text": "General"}[kind]
        assert ws.cell(r, 4).number_format == fmt, (n, kind)
        assert ws.cell(r, 4).value == pytest.approx(want[3])
        if len(want) >= len(COLUMNS):
            assert ws.cell(r, 8).value == dt.datetime.combine(want[7], dt.time())
            assert ws.cell(r, 8).number_format == "yyyy-mm-dd"
            assert ws.cell(r, 9).value == want[8] and ws.cell(r, 9).number_format == "yyyy-mm-dd h:mm:ss"
            assert ws.cell(r, 10).value is want[9]
            assert ws.cell(r, 11).alignment.wrap_text
    assert ws["B3"].value == "=SUM(A1:A2)" and ws["B3"].data_type == "s"     # row 0: text, not a formula
    assert ws["K8"].number_format == "0.0%"                                  # per-row format on a text column
    assert ws["K92"].value == rows[89][10]                                   # whitespace, & < > "
    assert ws.row_dimensions[6].height == 15 * math.ceil(display_width(LONG * 3) * 1.15 / 60)   # wrapped (CJK double)
    assert ws["A6"].alignment.vertical == "top" and not ws["A6"].alignment.wrap_text
    assert ws.row_dimensions[3].height is None
    assert ws["L70"].value == "extra" and ws["M70"].number_format == "yyyy-mm-dd"
    assert ws.conditional_formatting and ws.freeze_panes == "A3" and ws.protection.sheet
    table = wb.read_tabs(["Attainment"])["Attainment"]
    assert table[2][1] == "=SUM(A1:A2)"
    assert table[3][1] == "Dueño 1 李娜"
    assert table[3][7] == dt.date(2026, 11, 2)
    assert table[3][10] == LONG


def test_sheet_xml_has_no_formula_and_an_exact_dimension(tmp_path):
    wb = _workbook(tmp_path / "team.xlsx")
    wb.write_tabs([_tab(_rows(300))])
    book = openpyxl.load_workbook(wb.path)
    assert book["Attainment"].calculate_dimension() == "A1:M302"
    with zipfile.ZipFile(wb.path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        xml = b"".join(z.read(n) for n in sheets)
    assert b"<f>" not in xml and b"<f " not in xml
    assert xml.count(b'<dimension ref="A1:M302"') == 1


def test_rewrite_keeps_other_generated_and_team_tabs(tmp_path):
    wb = _workbook(tmp_path / "team.xlsx")
    wb.write_tabs([_tab(_rows(50)), _tab(_rows(20), name="History")])
    before = wb.read_tabs(["History", "Targets", "Settings"])
    wb.write_tabs([_tab(_rows(7))])
    after = wb.read_tabs(["Attainment", "History", "Targets", "Settings"])
    assert {k: after[k] for k in before} == before
    assert len(after["Attainment"]) == 9


def test_values_openpyxl_alone_handles_fall_back_to_cell_by_cell(tmp_path):
    wb = _workbook(tmp_path / "team.xlsx")
    rows = [[1, "a", decimal.Decimal("2.5"), 1, 0.5, 0.5, "on track", dt.date(2026, 11, 1), None, True, ""]]
    wb.write_tabs([_tab(rows)])
    table = wb.read_tabs(["Attainment"])["Attainment"]
    assert table[2][:3] == [1, "a", 2.5]


def test_illegal_character_fails_and_leaves_the_workbook(tmp_path):
    wb = _workbook(tmp_path / "team.xlsx")
    original = wb.path.read_bytes()
    rows = _rows(10)
    rows[7][10] = "bell \x07"
    with pytest.raises(IllegalCharacterError):
        wb.write_tabs([_tab(rows)])
    assert wb.path.read_bytes() == original
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_empty_and_header_only_tabs(pair):
    tabs = [GeneratedTab(name="Attainment", columns=COLUMNS, rows=[]),
            GeneratedTab(name="History", columns=["a", "b"], rows=[[], [None, None], ["x"]])]
    new, old = pair(tabs)
    a, b = openpyxl.load_workbook(new), openpyxl.load_workbook(old)
    for name in ("Attainment", "History"):
        _assert_same_sheet(a[name], b[name])


def test_the_same_tab_twice_keeps_the_last(tmp_path):
    wb = _workbook(tmp_path / "team.xlsx")
    wb.write_tabs([_tab(_rows(40)), _tab(_rows(3))])
    table = wb.read_tabs(["Attainment"])["Attainment"]
    assert len(table) == 5
    assert openpyxl.load_workbook(wb.path)["Attainment"].calculate_dimension() == "A1:K5"
