"""A team workbook really saved by a spreadsheet program (LibreOffice), with what teams put in team tabs.

:func:`build_source` makes the workbook with openpyxl from the template (``init``) and adds, in team tabs: a
target typed as a formula (``Targets!H2 = 100000+50000``), an image, a chart, comments, data-validation
drop-downs, conditional formatting, frozen panes, a hidden column and a defined name. :func:`save_with_libreoffice`
opens and saves it with headless LibreOffice, which calculates the formula and stores its value, as Excel does.

``python tests/libreoffice_book.py`` rebuilds the committed copy ``tests/fixtures/team_libreoffice.xlsx`` (used
when LibreOffice is not installed).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import openpyxl
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

FIXTURE = Path(__file__).parent / "fixtures" / "team_libreoffice.xlsx"
FORMULA_CELL, FORMULA, FORMULA_VALUE = "H2", "=100000+50000", 150000


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

    def __init__(self, data: bytes, width: int, height: int):   # noqa: D107 - Image.__init__ needs Pillow
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


_UNO_SAVE = r"""
import subprocess, sys, time, uno
from com.sun.star.beans import PropertyValue

exe, profile, pipe, src, dst = sys.argv[1:6]


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


proc = subprocess.Popen([exe, f"-env:UserInstallation={profile}", "--headless", "--invisible", "--norestore",
                         "--nologo", f"--accept=pipe,name={pipe};urp;"])
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(600):
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except Exception:
            time.sleep(0.1)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, (prop("Hidden", True),))
    ctrl = doc.getCurrentController()
    for name, (col, row) in (("Targets", (1, 1)), ("Products", (0, 1)), ("Settings", (0, 1))):
        ctrl.setActiveSheet(doc.Sheets.getByName(name))
        ctrl.freezeAtPosition(col, row)            # frozen panes, as a person sets them in the menu
    ctrl.setActiveSheet(doc.Sheets.getByName("Scorecard"))
    doc.storeToURL(uno.systemPathToFileUrl(dst), (prop("FilterName", "Calc MS Excel 2007 XML"),))
    doc.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
"""


def uno_python() -> str | None:
    """A Python that can drive LibreOffice (python3-uno), or None."""
    for exe in ("/usr/bin/python3", shutil.which("python3")):
        if exe and subprocess.run([exe, "-c", "import uno"], capture_output=True).returncode == 0:
            return exe
    return None


def save_with_libreoffice(src: Path, dst: Path, timeout: float = 240) -> None:
    """Open ``src`` in headless LibreOffice and save it as .xlsx at ``dst`` (a private profile: several may run).

    With python3-uno the document is opened in a (hidden) view, the team tabs' panes are frozen there as a
    person does it, and the file is saved; a plain ``--convert-to`` keeps no view settings (no frozen panes)."""
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        py = uno_python()
        if py is not None:
            subprocess.run([py, "-c", _UNO_SAVE, exe, f"file://{tmp}/profile", f"sheets-sync-{os.getpid()}-"
                            f"{Path(tmp).name}", str(src.resolve()), str(dst.resolve())],
                           check=True, capture_output=True, timeout=timeout)
            return
        out = Path(tmp) / "out"
        subprocess.run([exe, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore",
                        "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(src)],
                       check=True, capture_output=True, timeout=timeout)
        shutil.move(str(out / (src.stem + ".xlsx")), dst)


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
