"""Render the demo's Scorecard, Attainment and Commentary in English, 中文 and Español to PNG (docs/img/).

Runs the demo (sample reports, ``init --example``, one sync per language), builds each tab exactly as the xlsx
backend writes it, prints it with headless LibreOffice to PDF and rasterises the first page with poppler,
cropped to the printed content. Needs::

    apt-get install -y libreoffice-calc-nogui fonts-noto-cjk fonts-crosextra-carlito poppler-utils
    python docs/render_pngs.py            # writes docs/img/{scorecard,attainment,commentary}_{en,zh,es}.png
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl

from sheets_sync.cli import demo_period
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.sheets.base import GeneratedTab, Workbook, WriteStats
from sheets_sync.sheets.xlsx import XlsxWorkbook, _render_generated
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import init_workbook, sync_workbook

TABS = ("Scorecard", "Attainment", "Commentary")
LANGUAGES = ("en", "zh", "es")
OUT = Path(__file__).parent / "img"


class Capture(Workbook):
    """The xlsx workbook, keeping the tabs a sync writes (as the reader sees them: translated, coloured)."""

    def __init__(self, inner: XlsxWorkbook):
        self.inner, self.tabs = inner, {}

    def read_tabs(self, names):
        return self.inner.read_tabs(names)

    def write_tabs(self, tabs: Sequence[GeneratedTab]) -> WriteStats:
        self.tabs = {t.name: t for t in tabs}
        return self.inner.write_tabs(tabs)

    def create_tabs(self, seeds, generated, metadata):
        return self.inner.create_tabs(seeds, generated, metadata)


def review(language: str, reports: Path, work: Path) -> dict[str, GeneratedTab]:
    period = demo_period(dt.date(2026, 12, 1))
    wb = Capture(XlsxWorkbook(work / f"demo-{language}.xlsx"))
    init_workbook(wb, today=period.start, examples=True, language=language)
    res = sync_workbook(wb, ReportFilesSource(reports), period=period.label,
                        now=dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC))
    if not res.ok:
        sys.exit(f"the demo sync failed: {res.error}")
    return wb.tabs


def render(tab: GeneratedTab, png: Path, work: Path, dpi: int) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = tab.name
    _render_generated(ws, tab)
    ws.page_setup.paperSize = ws.PAPERSIZE_A3
    xlsx = work / f"{png.stem}.xlsx"
    book.save(xlsx)
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(xlsx)],
                   check=True, capture_output=True, timeout=180)
    pdf = xlsx.with_suffix(".pdf")
    # The printed content's extent, from the words' boxes (chart titles and axis labels are words too).
    html = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    boxes = [tuple(float(v) for v in m) for m in re.findall(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', html)]
    x0, y0 = min(b[0] for b in boxes) - 6, min(b[1] for b in boxes) - 6
    x1, y1 = max(b[2] for b in boxes) + 10, max(b[3] for b in boxes) + 10
    scale = dpi / 72
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile",
                    "-x", str(int(x0 * scale)), "-y", str(int(y0 * scale)), "-W", str(int((x1 - x0) * scale)),
                    "-H", str(int((y1 - y0) * scale)), str(pdf), str(png.with_suffix(""))],
                   check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--dpi", type=int, default=80)
    ap.add_argument("--languages", nargs="*", default=list(LANGUAGES))
    args = ap.parse_args(argv)
    if not shutil.which("soffice") or not shutil.which("pdftoppm"):
        sys.exit("needs LibreOffice and poppler: apt-get install -y libreoffice-calc-nogui fonts-noto-cjk "
                 "fonts-crosextra-carlito "
                 "poppler-utils")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        reports = work / "reports"
        period = demo_period(dt.date(2026, 12, 1))
        prior = period.previous(1)
        write_demo_reports(reports, prior, {"US": prior.end, "MX": prior.end}, seed=8)
        write_demo_reports(reports, period, {"US": dt.date(2026, 11, 29), "MX": dt.date(2026, 11, 29)}, seed=7)
        for lang in args.languages:
            tabs = review(lang, reports, work)
            for name in TABS:
                png = args.out / f"{name.lower()}_{lang}.png"
                render(tabs[name], png, work, args.dpi)
                print(f"{png} ({png.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
