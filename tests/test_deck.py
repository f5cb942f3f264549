"""The review deck and the BI export of the demo workbook: the deck opens with python-pptx and carries the demo's own
figures; the Chinese PDF shows Chinese (its text extracts, its font is embedded); the export reloads with pandas to
the numbers the workbook holds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from sheets_sync.cli import main
from sheets_sync.readback import generated_rows
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.template import load_template


@pytest.fixture(scope="module")
def demo_zh(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    assert main(["demo", "--out", str(out), "--language", "zh"]) == 0
    return out


def _tab(path: Path, name: str) -> list[dict]:
    return generated_rows(XlsxWorkbook(path).read_tabs([name])[name], load_template(), name)


def test_pptx_has_the_slides_with_the_demo_figures(demo_zh, tmp_path, capsys):
    from pptx import Presentation

    out = tmp_path / "review.pptx"
    assert main(["deck", "--workbook", str(demo_zh), "--out", str(out)]) == 0
    prs = Presentation(str(out))
    score = _tab(demo_zh, "Scorecard")
    attain = _tab(demo_zh, "Attainment")
    slides = list(prs.slides)
    assert len(slides) == 2 + len(score) + 2        # title, scorecard, one per owner, findings, suggestions

    def texts(slide) -> str:
        parts = []
        for sh in slide.shapes:
            if sh.has_text_frame:
                parts.append(sh.text_frame.text)
            if sh.has_table:
                parts += [c.text for row in sh.table.rows for c in row.cells]
        return "\n".join(parts)

    period = attain[0]["period"]
    assert f"{period} KPI 复盘" in texts(slides[0]) and "数据口径" in texts(slides[0])
    chart = next(sh.chart for sh in slides[1].shapes if sh.has_chart)
    assert list(chart.plots[0].categories) == [s["owner"] for s in score]
    assert list(chart.plots[0].series[0].values) == pytest.approx([s["score"] for s in score])
    for s, slide in zip(score, slides[2:-2], strict=True):
        body = texts(slide)
        assert s["owner"] in body and f"{s['score']:.1%}" in body and s["tier"] in body
        mine = [r for r in attain if r["owner"] == s["owner"]]
        table = next(sh.table for sh in slide.shapes if sh.has_table)
        assert len(table.rows) - 1 == min(len(mine), 12)
        assert [table.cell(i + 1, 4).text for i in range(len(table.rows) - 1)] == [
            "—" if r["attainment"] in (None, "") else f"{r['attainment']:.1%}" for r in mine[:12]]
    comments = _tab(demo_zh, "Commentary")
    assert comments[0]["finding"].split("。")[0][:40] in texts(slides[-2])
    assert "下期建议目标" in texts(slides[-1])


def test_pdf_of_a_chinese_workbook_shows_chinese(demo_zh, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "review.pdf"
    assert main(["deck", "--workbook", str(demo_zh), "--out", str(out)]) == 0
    reader = PdfReader(str(out))
    score = _tab(demo_zh, "Scorecard")
    assert len(reader.pages) >= 2 + len(score) + 2
    text = "\n".join(p.extract_text() for p in reader.pages)
    for word in ("KPI 复盘", "数据口径", "绩效总览", "复盘发现", "下期建议目标", "负责人", "达成率"):
        assert word in text, word
    assert all(s["owner"] in text for s in score)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = [f.get_object()["/FontDescriptor"].get_object() for f in fonts.values()
                if "/FontDescriptor" in f.get_object()]
    assert embedded and all("/FontFile2" in d for d in embedded)       # the glyphs travel with the file
    if shutil.which("pdftoppm"):     # and a renderer draws them (Debian's poppler-utils; not needed to pass)
        subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", "-png", str(out), str(tmp_path / "p")],
                       check=True, timeout=60)
        assert (tmp_path / "p-01.png").stat().st_size > 2000 or (tmp_path / "p-1.png").exists()


def test_spanish_deck_reads_in_spanish(tmp_path):
    book = tmp_path / "es.xlsx"
    assert main(["demo", "--out", str(book), "--language", "es"]) == 0
    out = tmp_path / "revision.pdf"
    assert main(["deck", "--workbook", str(book), "--out", str(out)]) == 0
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(str(out)).pages)
    assert "Revisión de KPI" in text and "Tablero de resultados" in text and "Cumplimiento" in text


def test_deck_of_a_workbook_never_synced_says_so(tmp_path, capsys):
    from sheets_sync.sync import init_workbook

    init_workbook(XlsxWorkbook(tmp_path / "new.xlsx"))
    assert main(["deck", "--workbook", str(tmp_path / "new.xlsx"), "--out", str(tmp_path / "r.pptx")]) == 1
    assert "run sheets-sync sync first" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_reloads_to_the_workbooks_numbers(demo_zh, tmp_path, fmt):
    out = tmp_path / "bi"
    assert main(["export", "--workbook", str(demo_zh), "--out", str(out), "--format", fmt]) == 0
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    score = read(out / f"scorecard.{fmt}")
    attain = read(out / f"attainment.{fmt}")
    daily = read(out / f"daily.{fmt}")
    actuals = read(out / f"asin_actuals.{fmt}")
    history = read(out / f"history.{fmt}")
    book_score = _tab(demo_zh, "Scorecard")
    assert list(score["owner"]) == [s["owner"] for s in book_score]
    assert score["score"].tolist() == pytest.approx([s["score"] for s in book_score], rel=1e-12)
    book_attain = _tab(demo_zh, "Attainment")
    assert attain["actual"].tolist() == pytest.approx([r["actual"] for r in book_attain], rel=1e-12, nan_ok=True)
    assert set(attain["status"].dropna()) <= {"on track", "at risk", "off track"}     # canonical, not 中文
    assert set(attain["kpi"]) <= {r for r in attain["kpi"] if r.isascii()}
    book_daily = _tab(demo_zh, "Daily")
    for mk in {r["marketplace"] for r in book_daily}:
        want = sum(r["gmv"] or 0 for r in book_daily if r["marketplace"] == mk)
        assert daily.loc[daily["marketplace"] == mk, "gmv"].sum() == pytest.approx(want, rel=1e-12)
    book_actuals = [r for r in _tab(demo_zh, "Actuals") if r["asin"] != "ALL"]
    assert actuals["gmv"].sum() == pytest.approx(sum(r["gmv"] or 0 for r in book_actuals), rel=1e-12)
    assert len(history) == len(_tab(demo_zh, "History")) and (attain["period"] == book_attain[0]["period"]).all()
