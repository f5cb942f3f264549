"""What a sync guarantees about team tabs on the xlsx backend, on a workbook saved by a real spreadsheet program.

The workbook is saved by headless LibreOffice (made live when ``soffice`` is installed, the committed copy
``tests/fixtures/team_libreoffice.xlsx`` otherwise) and holds, in team tabs: a target typed as a formula, an
image, a chart, comments, a data-validation drop-down, conditional formatting, frozen panes, a hidden column and
a defined name. After three syncs every part of the package that belongs to a team tab must be byte for byte
what LibreOffice saved, formulas must read as the values LibreOffice stored, and LibreOffice must still open
the file and see the formula's target in Attainment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import openpyxl
import pytest
from libreoffice_book import FIXTURE, FORMULA, FORMULA_CELL, FORMULA_VALUE, convert, libreoffice_book, soffice
from test_xlsx_sync import _st_report
from webhook_fixtures import make_config, wait_for

from sheets_sync.config import WorkbookConfig
from sheets_sync.locking import WorkbookBusyError, lock_path, workbook_lock
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sheets.xlsx_package import read_rels, sheets_of, workbook_part
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import sync_workbook
from sheets_sync.template import GENERATED_TABS, TEAM_TABS

NOW = dt.datetime(2026, 11, 11, 15, 0, tzinfo=dt.UTC)
US_ASIN = "B0WK1DEGZD"


def write_reports(folder: Path) -> Path:
    """Ten days of US Sales and Traffic for the Targets' US account: gmv 10 × 5,000."""
    (folder / "US").mkdir(parents=True)
    for d in range(1, 11):
        day = f"2026-11-{d:02d}"
        (folder / "US" / f"st-{day}.json").write_text(
            json.dumps(_st_report("ATVPDKIKX0DER", day, [(US_ASIN, 5000.0, 50, 1000)], "USD")), encoding="utf-8")
    return folder


def team_parts(path: Path) -> dict[str, bytes]:
    """Every part reachable from a team tab (sheet XML, its rels, drawings, images, charts, comments, VML),
    plus the shared strings and the custom properties, by name → bytes."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        book = workbook_part(z, names)
        todo = [s.part for s in sheets_of(z, names, book) if s.name in TEAM_TABS]
        assert len(todo) == len(TEAM_TABS)
        seen: set[str] = set()
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            for r in read_rels(z, names, p):
                if r.part:
                    todo.append(r.part)
        rels = {f"{os.path.dirname(p)}/_rels/{os.path.basename(p)}.rels" for p in seen} & names
        parts = seen | rels | {"xl/sharedStrings.xml", "docProps/custom.xml"}
        return {p: z.read(p) for p in sorted(parts & names)}


def defined_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        text = z.read("xl/workbook.xml").decode("utf-8")
    return sorted(m for m in re.findall(r"<definedName\b[^>]*>.*?</definedName>", text)
                  if "_xlnm.Print_Titles" not in m)


@pytest.fixture(params=["fixture", "live"])
def saved_book(request, tmp_path):
    path = tmp_path / "team.xlsx"
    if request.param == "live":
        if soffice() is None:
            pytest.skip("LibreOffice (soffice) is not installed; the committed fixture is tested instead")
        assert libreoffice_book(path) == "live"
    else:
        path.write_bytes(FIXTURE.read_bytes())
    return path, write_reports(tmp_path / "reports")


def test_the_fixture_is_a_libreoffice_file_with_everything_teams_add(saved_book):
    path, _ = saved_book
    with zipfile.ZipFile(path) as z:
        assert b'appName="Calc"' in z.read("xl/workbook.xml")     # saved by LibreOffice, not openpyxl
        names = z.namelist()
    assert any(n.startswith("xl/media/") for n in names) and any(n.startswith("xl/charts/") for n in names)
    wb = openpyxl.load_workbook(path)
    ws = wb["Targets"]
    assert ws[FORMULA_CELL].value == "=100000+50000"
    assert ws.data_validations.dataValidation and ws.conditional_formatting
    assert ws.freeze_panes == "B2" and ws.column_dimensions["L"].hidden
    assert ws["L2"].comment is not None
    assert "TeamTargets" in wb.defined_names
    assert wb["Settings"]._images or any(n.startswith("xl/media/") for n in names)


def test_three_syncs_keep_every_team_part_byte_for_byte(saved_book, tmp_path):
    path, reports = saved_book
    before = team_parts(path)
    names_before = defined_names(path)
    read_before = XlsxWorkbook(path).read_tabs(TEAM_TABS)
    assert read_before["Targets"][1][7] == FORMULA_VALUE          # the formula read by its saved value
    styles = []
    for _ in range(3):
        res = sync_workbook(XlsxWorkbook(path), ReportFilesSource(reports), now=NOW)
        assert res.ok, res.error
        assert not [p for p in res.problems if "Targets!H2" in p], res.problems
        with zipfile.ZipFile(path) as z:
            styles.append(z.read("xl/styles.xml"))
    after = team_parts(path)
    assert after.keys() == before.keys()
    changed = [p for p in before if before[p] != after[p]]
    assert not changed, changed
    assert defined_names(path) == names_before
    assert styles[1] == styles[2]                                   # styles are appended once, then reused
    assert XlsxWorkbook(path).read_tabs(TEAM_TABS) == read_before
    # the formula's target is in Attainment with its actual
    wb = openpyxl.load_workbook(path)
    assert set(GENERATED_TABS) <= set(wb.sheetnames)
    assert wb.sheetnames[:len(TEAM_TABS)] == list(TEAM_TABS)
    att = wb["Attainment"]
    header = [c.value for c in att[2]]
    row = next(r for r in att.iter_rows(min_row=3, values_only=True) if r[0] == 2)
    assert row[header.index("target")] == FORMULA_VALUE
    assert row[header.index("actual")] == pytest.approx(50000.0)
    log = [r for r in wb["Sync Log"].iter_rows(min_row=3, values_only=True) if r[0]]
    assert len(log) == 3
    assert wb.active.title == "Scorecard"
    # what openpyxl sees of the team tab is as LibreOffice saved it
    ws = wb["Targets"]
    assert ws.freeze_panes == "B2" and ws.column_dimensions["L"].hidden and ws.data_validations.dataValidation


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_still_opens_the_synced_file(saved_book, tmp_path):
    path, reports = saved_book
    for _ in range(3):
        assert sync_workbook(XlsxWorkbook(path), ReportFilesSource(reports), now=NOW).ok
    out = tmp_path / "lo"
    pdf = convert(path, "pdf", out)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    again = convert(path, "ods", out)          # LibreOffice reads every tab and writes them again
    assert again.stat().st_size > 5_000
    back = convert(again, "xlsx", tmp_path / "lo2")
    wb = openpyxl.load_workbook(back, data_only=True)
    att = wb["Attainment"]
    header = [c.value for c in att[2]]
    row = next(r for r in att.iter_rows(min_row=3, values_only=True) if r[0] == 2)
    assert row[header.index("target")] == FORMULA_VALUE
    assert wb["Targets"][FORMULA_CELL].value == FORMULA_VALUE


def test_a_formula_saved_without_its_value_is_reported_with_what_to_do(tmp_path):
    path = tmp_path / "team.xlsx"
    path.write_bytes(FIXTURE.read_bytes())
    wb = openpyxl.load_workbook(path)    # openpyxl writes formulas without values: as a script would
    wb.save(path)
    res = sync_workbook(XlsxWorkbook(path), ReportFilesSource(write_reports(tmp_path / "r")), now=NOW)
    hits = [p for p in res.problems if p.startswith("Targets!H2")]
    assert hits == ['Targets!H2: "=100000+50000" — a formula saved without its value (the file was written by a '
                    "program that does not calculate formulas); open the workbook in Excel or LibreOffice, save "
                    "it, and sync again; read as empty"]
    log = openpyxl.load_workbook(path)["Sync Log"]
    assert any(str(r[7]).startswith("Targets!H2: \"=100000+50000\"") for r in log.iter_rows(min_row=3, values_only=True))


def test_error_looking_text_typed_as_a_name_is_written_back_as_text(tmp_path):
    path = tmp_path / "team.xlsx"
    path.write_bytes(FIXTURE.read_bytes())
    wb = openpyxl.load_workbook(path)   # (openpyxl drops H2's saved value: that row is not the point here)
    wb["Targets"]["E3"] = "#REF!"
    wb["Targets"]["E3"].data_type = "s"
    wb["Targets"]["E4"] = "#N/A"
    wb["Targets"]["E4"].data_type = "s"
    wb.save(path)
    assert sync_workbook(XlsxWorkbook(path), ReportFilesSource(write_reports(tmp_path / "r")), now=NOW).ok
    att = openpyxl.load_workbook(path)["Attainment"]
    header = [c.value for c in att[2]]
    owners = {r[0].value: r for r in att.iter_rows(min_row=3)}
    for target_row, text in ((3, "#REF!"), (4, "#N/A")):
        cell = owners[target_row][header.index("owner")]
        assert (cell.value, cell.data_type) == (text, "s")
    with zipfile.ZipFile(path) as z:
        assert b' t="e"' not in z.read(_part(path, "Attainment"))


def _part(path: Path, tab: str) -> str:
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        return next(s.part for s in sheets_of(z, names, workbook_part(z, names)) if s.name == tab)


def test_a_killed_syncs_temporary_file_is_removed_by_the_next_sync(tmp_path):
    path = tmp_path / "team.xlsx"
    path.write_bytes(FIXTURE.read_bytes())
    left = tmp_path / ".team.xlsx.sync-k1ll3d_x.tmp"          # what a sync killed mid-write leaves
    legacy = tmp_path / ".team.ab12cd34.xlsx.tmp"             # the same, from an earlier version
    other = tmp_path / ".other.xlsx.sync-k1ll3d_x.tmp"        # another workbook's: not ours to remove
    for p in (left, legacy, other):
        p.write_bytes(b"PK\x03\x04 half")
    assert sync_workbook(XlsxWorkbook(path), ReportFilesSource(write_reports(tmp_path / "r")), now=NOW).ok
    assert not left.exists() and not legacy.exists() and other.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".team.xlsx.sync-")]


def test_a_second_sync_waits_then_gives_up_with_a_retriable_error(tmp_path):
    path = tmp_path / "team.xlsx"
    path.write_bytes(FIXTURE.read_bytes())
    original = path.read_bytes()
    with workbook_lock(XlsxWorkbook(path)):
        with pytest.raises(WorkbookBusyError, match="another sync of this workbook is still running"):
            sync_workbook(XlsxWorkbook(path), None, now=NOW, lock_wait_s=0.3)
        env = {**os.environ, "SHEETS_SYNC_LOCK_WAIT_S": "0.5"}
        cli = subprocess.run([sys.executable, "-m", "sheets_sync.cli", "sync", "--workbook", str(path), "--reports",
                              str(write_reports(tmp_path / "r"))],
                             capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert cli.returncode == 75, cli.stderr
    assert "another sync of this workbook is still running" in cli.stderr
    assert path.read_bytes() == original
    assert lock_path(XlsxWorkbook(tmp_path / "." / "team.xlsx")) == lock_path(XlsxWorkbook(path))


def test_two_cli_syncs_and_a_worker_job_at_once_keep_every_sync_log_entry(tmp_path):
    from sheets_sync.jobs import make_queue, run_worker

    path = tmp_path / "team.xlsx"
    path.write_bytes(FIXTURE.read_bytes())
    reports = write_reports(tmp_path / "reports")
    cfg = make_config(tmp_path, workbooks={"team": WorkbookConfig(name="team", backend="xlsx", path=path,
                                                                  reports=reports)})
    queue = make_queue(cfg)
    worker = run_worker(cfg, queue=queue, workers=1, block=False, periodic=False)
    try:
        results: dict[str, subprocess.CompletedProcess] = {}

        def cli(who: str) -> None:
            results[who] = subprocess.run(
                [sys.executable, "-m", "sheets_sync.cli", "sync", "--workbook", str(path), "--reports", str(reports),
                 "--requested-by", who], capture_output=True, text=True, timeout=300, cwd=tmp_path)

        threads = [threading.Thread(target=cli, args=(w,)) for w in ("cli-one", "cli-two")]
        for t in threads:
            t.start()
        job, _ = queue.submit("team", None, trigger="sheet", requested_by="worker-job")
        for t in threads:
            t.join()
        done = wait_for(lambda: (j := queue.get(job.id)) and j.state in ("done", "failed") and j, 300,
                        what="the worker's job")
    finally:
        worker.stop(graceful=False)
    for who, out in results.items():
        assert out.returncode == 0, (who, out.stderr)
    assert done.state == "done", done.to_dict()
    log = openpyxl.load_workbook(path)["Sync Log"]
    who = sorted(r[2] for r in log.iter_rows(min_row=3, values_only=True) if r[0])
    assert who == ["cli-one", "cli-two", "worker-job"]


def test_dates_in_generated_tabs_follow_a_1904_workbook(tmp_path):
    """A workbook saved with the 1904 date system (older Mac Excel): generated dates use it too."""
    src, path = tmp_path / "src.xlsx", tmp_path / "team.xlsx"
    src.write_bytes(FIXTURE.read_bytes())
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b'date1904="false"', b'date1904="true"')
                assert b'date1904="true"' in data
            out.writestr(info, data)
    assert sync_workbook(XlsxWorkbook(path), ReportFilesSource(write_reports(tmp_path / "r")), now=NOW).ok
    wb = openpyxl.load_workbook(path)
    assert wb.epoch.year == 1904
    daily = wb["Daily"]
    header = [c.value for c in daily[2]]
    days = [r[header.index("date")] for r in daily.iter_rows(min_row=3, values_only=True) if r[0]]
    assert dt.datetime(2026, 11, 1) in days and dt.datetime(2026, 11, 10) in days
    assert XlsxWorkbook(path).read_tabs(["Targets"])["Targets"][1][7] == FORMULA_VALUE


def test_a_team_tab_left_selected_stays_the_one_the_workbook_opens_on(tmp_path):
    """Opening on Scorecard would mean editing the selected team tab (or grouping two selected tabs)."""
    src, path = tmp_path / "src.xlsx", tmp_path / "team.xlsx"
    src.write_bytes(FIXTURE.read_bytes())
    targets, scorecard = _part(src, "Targets"), _part(src, "Scorecard")
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == targets:
                data = data.replace(b'tabSelected="false"', b'tabSelected="true"', 1)
            elif info.filename == scorecard:
                data = data.replace(b'tabSelected="true"', b'tabSelected="false"', 1)
            elif info.filename == "xl/workbook.xml":
                data = re.sub(rb'activeTab="\d+"', b'activeTab="1"', data)
            out.writestr(info, data)
    before = team_parts(path)
    assert sync_workbook(XlsxWorkbook(path), ReportFilesSource(write_reports(tmp_path / "r")), now=NOW).ok
    assert team_parts(path) == before
    wb = openpyxl.load_workbook(path)
    assert wb.active.title == "Targets"
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == ["Targets"]


def _with_calc_chain(src: Path, dst: Path, chain: bytes) -> None:
    """``src`` plus an Excel calculation chain (Excel saves one listing every formula cell)."""
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", f'<Override PartName="/xl/calcChain.xml" ContentType="{ct}"/>'
                                    f"</Types>".encode())
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", f'<Relationship Id="rId99" Type="{rel}" '
                                    f'Target="calcChain.xml"/></Relationships>'.encode())
            out.writestr(info, data)
        out.writestr("xl/calcChain.xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain '
                     b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + chain + b"</calcChain>")


@pytest.mark.parametrize(("chain", "kept"), [
    (b'<c r="H2" i="2"/>', True),                          # Targets (sheetId 2): a team formula
    (b'<c r="H2" i="2"/><c r="B5" i="9"/>', False),        # also a cell of Attainment (sheetId 9): replaced tab
])
def test_calc_chain_is_kept_unless_it_lists_a_replaced_tab(tmp_path, chain, kept):
    path = tmp_path / "team.xlsx"
    _with_calc_chain(FIXTURE, path, chain)
    assert sync_workbook(XlsxWorkbook(path), ReportFilesSource(write_reports(tmp_path / "r")), now=NOW).ok
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        ct, rels = z.read("[Content_Types].xml"), z.read("xl/_rels/workbook.xml.rels")
        assert ("xl/calcChain.xml" in names) == kept
        assert (b"calcChain" in ct) == kept and (b"calcChain" in rels) == kept
        if kept:
            assert chain in z.read("xl/calcChain.xml")
    assert openpyxl.load_workbook(path)["Targets"][FORMULA_CELL].value == FORMULA
