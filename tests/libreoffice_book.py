"""A team workbook really saved by a spreadsheet program (LibreOffice), with what teams put in team tabs.

:func:`build_source` makes the workbook with openpyxl from the template (``init``) and adds, in team tabs: a
target typed as a formula (``Targets!H2 = 100000+50000``), an image, a chart, comments, data-validation
drop-downs, conditional formatting, frozen panes, a hidden column and a defined name. :func:`save_with_libreoffice`
opens and saves it with headless LibreOffice, which calculates the formula and stores its value, as Excel does
(frozen panes are then added as LibreOffice writes them: see :func:`freeze_panes`).

``python tests/libreoffice_book.py`` rebuilds the committed copy ``tests/fixtures/team_libreoffice.xlsx`` (used
when LibreOffice is not installed).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from pathlib import Path

import openpyxl
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

FIXTURE = Path(__file__).parent / "fixtures" / "team_libreoffice.xlsx"
FORMULA_CELL, FORMULA, FORMULA_VALUE = "H2", "=100000+50000", 150000
FROZEN = {"Targets": "B2", "Products": "A2"}


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _png(width: int = 24, height: int = 16) -> bytes:
    """A small red-and-white PNG, made without an imaging library."""
    raw = b"".join(b"\x00" + b"".join(b"\xff\x00\x00" if (x // 4 + y // 4) % 2 else b"\xff\xff\xff"
                                      for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class _PngImage(Image):
    """openpyxl's Image without Pillow: the bytes and size are known."""

    def __init__(self, data: bytes, width: int, height: int):   # Image.__init__ needs Pillow
        self.ref, self.width, self.height, self.format = data, width, height, "png"

    def _data(self) -> bytes:
        return self.ref


def build_source(path: Path) -> None:
    from sheets_sync.sheets.xlsx import XlsxWorkbook
    from sheets_sync.sync import init_workbook

    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 11, 1))
    wb = openpyxl.load_workbook(path)
    ws = wb["Targets"]
    ws[FORMULA_CELL] = FORMULA                     # a target the team computes
    ws["L1"] = "our notes"
    ws["L2"] = "kept by the team"
    ws["L2"].comment = Comment("Agreed with Li Na on Nov 1", "team")
    ws.column_dimensions["L"].hidden = True        # a hidden column
    dv = DataValidation(type="list", formula1='"gmv,units,cvr,sessions,acos"', allow_blank=True)
    dv.add("G2:G200")                              # a drop-down on the kpi column
    ws.add_data_validation(dv)
    ws.conditional_formatting.add("H2:H200", CellIsRule(operator="greaterThan", formula=["100000"],
                                                        fill=PatternFill("solid", bgColor="C6EFCE")))
    chart = BarChart()
    chart.title = "Targets"
    chart.add_data(Reference(ws, min_col=8, min_row=1, max_row=6), titles_from_data=True)
    ws.add_chart(chart, "N2")
    st = wb["Settings"]
    st.add_image(_PngImage(_png(), 24, 16), "E2")  # a logo
    st["E1"] = "logo"
    wb.defined_names["TeamTargets"] = DefinedName("TeamTargets", attr_text="Targets!$H$2:$H$200")
    wb.save(path)


def save_with_libreoffice(src: Path, dst: Path, timeout: float = 240) -> None:
    """Open ``src`` in headless LibreOffice and save it as .xlsx at ``dst`` (a private profile: several may run),
    then freeze the team tabs' panes (see :func:`freeze_panes`)."""
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        out = Path(tmp) / "out"
        subprocess.run([exe, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore",
                        "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(src)],
                       check=True, capture_output=True, timeout=timeout)
        freeze_panes(out / (src.stem + ".xlsx"), dst, FROZEN)


def freeze_panes(src: Path, dst: Path, panes: dict[str, str]) -> None:
    """Headless LibreOffice has no window, so it saves no view settings (frozen panes are view settings; its
    ``freezeAtPosition`` does nothing without a window). Put in each tab's ``<sheetView>`` the frozen pane exactly
    as LibreOffice writes one when a person freezes rows and columns; every other byte stays as LibreOffice
    saved it."""
    with zipfile.ZipFile(src) as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
        rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        parts = {}
        for name, cell in panes.items():
            rid = re.search(rf'<sheet name="{re.escape(name)}" sheetId="\d+" state="visible" r:id="(rId\d+)"', book)
            target = re.search(rf'Id="{rid.group(1)}" Type="[^"]+" Target="([^"]+)"', rels).group(1)
            parts["xl/" + target] = cell
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
            for info in z.infolist():
                data = z.read(info)
                if info.filename in parts:
                    cell = parts[info.filename]
                    row, col = (n - 1 for n in coordinate_to_tuple(cell))
                    xsplit = f'xSplit="{col}" ' if col else ""
                    pane = "bottomRight" if col else "bottomLeft"
                    split = f'{xsplit}ySplit="{row}" topLeftCell="{cell}" activePane="{pane}" state="frozen"'
                    text = data.decode("utf-8")
                    text = re.sub(r'(<sheetView\b[^>]*>)<selection pane="topLeft"',
                                  rf'\1<pane {split}/><selection pane="topLeft"', text, count=1)
                    data = text.encode("utf-8")
                out.writestr(info, data)


def convert(src: Path, fmt: str, outdir: Path, timeout: float = 180) -> Path:
    """LibreOffice opens ``src`` and writes it as ``fmt`` (``csv``, ``pdf``); returns the file written."""
    exe = soffice()
    assert exe is not None
    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        subprocess.run([exe, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore",
                        "--convert-to", fmt, "--outdir", str(outdir), str(src)],
                       check=True, capture_output=True, timeout=timeout)
    return outdir / f"{src.stem}.{fmt.split(':')[0]}"


def libreoffice_book(path: Path) -> str:
    """Put a LibreOffice-saved team workbook at ``path``: made live when LibreOffice is installed, else the
    committed fixture. Returns ``"live"`` or ``"fixture"``."""
    if soffice() is None:
        shutil.copyfile(FIXTURE, path)
        return "fixture"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "team-src.xlsx"
        build_source(src)
        save_with_libreoffice(src, path)
    return "live"


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "team-src.xlsx"
        build_source(src)
        save_with_libreoffice(src, FIXTURE)
    print(FIXTURE)
