"""End to end on the embedded default: init → report files → sync → an .xlsx the team can open.

The team-tab test compares every cell's value and style, column widths, comments, freeze panes and merged
ranges before and after, so it fails if a sync writes, clears, reorders or reformats a single team cell.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import openpyxl
import pytest

from sheets_sync.sheets import xlsx_package
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import init_workbook, sync_workbook
from sheets_sync.template import GENERATED_TABS, TEAM_TABS, load_template

NOW = dt.datetime(2026, 11, 11, 15, 0, tzinfo=dt.UTC)


def _st_report(marketplace_id: str, day: str, asins: list[tuple[str, float, int, int]], currency: str) -> dict:
    return {
        "reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                                "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
                                "dataStartTime": day, "dataEndTime": day, "marketplaceIds": [marketplace_id]},
        "salesAndTrafficByDate": [],
        "salesAndTrafficByAsin": [
            {"parentAsin": a, "childAsin": a,
             "salesByAsin": {"unitsOrdered": u, "orderedProductSales": {"amount": g, "currencyCode": currency},
                             "totalOrderItems": u},
             "trafficByAsin": {"sessions": s, "pageViews": s, "buyBoxPercentage": 100.0, "unitSessionPercentage": 1.0,
                               "browserSessions": s, "mobileAppSessions": 0, "browserPageViews": s,
                               "mobileAppPageViews": 0, "sessionPercentage": 1.0, "browserSessionPercentage": 1.0,
                               "mobileAppSessionPercentage": 0.0, "pageViewsPercentage": 1.0,
                               "browserPageViewsPercentage": 1.0, "mobileAppPageViewsPercentage": 0.0}}
            for a, g, u, s in asins],
    }


@pytest.fixture
def team(tmp_path):
    """A workbook from the template and ten days of US + MX reports for two of its products."""
    path = tmp_path / "team.xlsx"
    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 11, 1))
    products = [r for r in load_template().tab("Products").examples]
    us = next(r[1] for r in products if r[0] == "US")
    mx = next(r[1] for r in products if r[0] == "MX")
    for mk, mid, cur, asin, gmv in (("US", "ATVPDKIKX0DER", "USD", us, 5000.0), ("MX", "A1AM78C64UM0Y8", "MXN", mx,
                                                                                   46400.0)):
        (tmp_path / "reports" / mk).mkdir(parents=True)
        for d in range(1, 11):
            day = f"2026-11-{d:02d}"
            (tmp_path / "reports" / mk / f"st-{day}.json").write_text(
                json.dumps(_st_report(mid, day, [(asin, gmv, 50, 1000)], cur)), encoding="utf-8")
    return path, tmp_path / "reports"


def snapshot(path, tabs=TEAM_TABS):
    wb = openpyxl.load_workbook(path)
    out = {}
    for name in tabs:
        ws = wb[name]
        cells = []
        for row in ws.iter_rows():
            for c in row:
                cells.append((c.coordinate, c.value, c.number_format, repr(c.font), repr(c.fill), repr(c.border),
                              repr(c.alignment), repr(c.protection), c.comment.text if c.comment else None))
        out[name] = {"cells": cells, "widths": {k: v.width for k, v in ws.column_dimensions.items()},
                     "freeze": ws.freeze_panes, "merged": sorted(str(m) for m in ws.merged_cells.ranges),
                     "dims": ws.dimensions, "index": wb.sheetnames.index(name)}
    return out


def run(path, reports, **kw):
    return sync_workbook(XlsxWorkbook(path), ReportFilesSource(reports), now=NOW, **kw)


def test_a_tab_new_in_this_version_is_added_to_a_workbook_saved_by_openpyxl(team):
    """openpyxl declares the relationships namespace on each <sheet>, not on <workbook>: a tab the workbook does
    not have yet (one a newer version generates) declares it on its own entry, and the file stays readable."""
    path, reports = team
    wb = openpyxl.load_workbook(path)
    del wb["Campaigns"]
    wb.save(path)
    assert run(path, reports).status in ("ok", "ok with warnings")
    assert "Campaigns" in openpyxl.load_workbook(path).sheetnames


def test_sync_writes_generated_tabs_and_never_touches_team_tabs(team):
    path, reports = team
    # a person edits a team tab by hand, with their own formatting, before the sync
    wb = openpyxl.load_workbook(path)
    ws = wb["Targets"]
    ws["L1"] = "our own column"
    ws["L2"] = "keep me"
    ws["L2"].font = openpyxl.styles.Font(bold=True, color="FF0000")
    ws.merge_cells("M1:N1")
    wb.save(path)
    before = snapshot(path)
    res = run(path, reports)
    assert res.status in ("ok", "ok with warnings"), res.error
    after = snapshot(path)
    for name in TEAM_TABS:
        assert after[name] == before[name], name
    wb = openpyxl.load_workbook(path)
    assert set(GENERATED_TABS) <= set(wb.sheetnames)
    att = wb["Attainment"]
    assert att["A2"].value == "target_row"
    assert att.freeze_panes == "A3"
    assert "Period 2026-11" in att["A1"].value
    assert att.protection.sheet
    # the US gmv target (Targets row 2) has its actual: 10 days × 5000
    row = next(r for r in att.iter_rows(min_row=3, values_only=True) if r[0] == 2)
    assert row[10] == pytest.approx(50000.0)


def test_second_sync_is_stable_and_keeps_team_tabs(team):
    path, reports = team
    run(path, reports)
    before = snapshot(path)
    run(path, reports)
    assert snapshot(path) == before


def test_sync_log_keeps_history_newest_first(team):
    path, reports = team
    run(path, reports, requested_by="first")
    run(path, reports, requested_by="second")
    log = openpyxl.load_workbook(path)["Sync Log"]
    entries = [r for r in log.iter_rows(min_row=3, values_only=True) if r[0]]
    assert [e[2] for e in entries] == ["second", "first"]


def test_crash_while_saving_leaves_the_original_untouched(team, monkeypatch):
    path, reports = team
    run(path, reports)
    original = path.read_bytes()

    def boom(data, plan, fh, name="sheet"):   # the disk fills up halfway through a generated tab
        fh.write(data[:100])
        raise OSError("disk full")

    monkeypatch.setattr(xlsx_package, "write_sheet", boom)
    with pytest.raises(OSError):
        run(path, reports)
    assert path.read_bytes() == original
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_crash_while_copying_a_team_part_leaves_the_original_untouched(team, monkeypatch):
    """The disk fills up while a team part is copied into the new package: the sync raises, the workbook is
    untouched and no temp file stays."""
    path, reports = team
    run(path, reports)
    original = path.read_bytes()
    copy = xlsx_package._copy
    copied = []

    def boom(z, out, info):
        if copied:
            raise OSError("disk full")
        copied.append(info.filename)
        copy(z, out, info)

    monkeypatch.setattr(xlsx_package, "_copy", boom)
    with pytest.raises(OSError, match="disk full"):
        run(path, reports)
    assert copied and path.read_bytes() == original
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_workbook_open_in_another_program(team):
    path, reports = team
    original = path.read_bytes()
    lock = path.parent / f".~lock.{path.name}#"
    lock.write_text("someone,host,2026")
    res = run(path, reports)          # a write refused by the OS is a failed sync, not an exception
    assert (res.status, res.error_code) == ("failed", "fatal") and "open in another program" in res.error
    assert path.read_bytes() == original


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only folders")
def test_unwritable_workbook(team):
    path, reports = team
    original = path.read_bytes()
    path.parent.chmod(0o555)
    try:
        res = run(path, reports)          # a write refused by the OS is a failed sync, not an exception
        assert (res.status, res.error_code) == ("failed", "fatal") and "not writable" in res.error
    finally:
        path.parent.chmod(0o755)
    assert path.read_bytes() == original


def test_garbage_report_file_is_named_and_the_sync_goes_on(team):
    path, reports = team
    (reports / "US" / "error-page.csv").write_text("<html><body>Sign in</body></html>", encoding="utf-8")
    res = run(path, reports)
    assert res.ok
    assert any("error-page.csv" in p for p in res.problems)
    log = openpyxl.load_workbook(path)["Sync Log"]
    assert any("error-page.csv" in str(r[7]) for r in log.iter_rows(min_row=3, values_only=True))


def test_nothing_to_compute_fails_but_still_logs(tmp_path):
    path = tmp_path / "empty.xlsx"
    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 11, 1))
    (tmp_path / "r").mkdir()
    wb = openpyxl.load_workbook(path)
    for row in wb["Manual Actuals"].iter_rows(min_row=2):
        for c in row:
            c.value = None
    wb.save(path)
    res = sync_workbook(XlsxWorkbook(path), ReportFilesSource(tmp_path / "r"), now=NOW)
    assert res.status == "failed" and not res.ok
    log = openpyxl.load_workbook(path)["Sync Log"]
    assert "nothing could be computed" in log["H3"].value


def test_replace_refused_by_the_os(team, monkeypatch):
    path, reports = team
    original = path.read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    res = run(path, reports)          # a write refused by the OS is a failed sync, not an exception
    assert (res.status, res.error_code) == ("failed", "fatal") and "could not be replaced" in res.error
    assert path.read_bytes() == original


def test_attainment_numbers_are_formatted_by_the_kpi_unit(team):
    path, reports = team
    run(path, reports)
    ws = openpyxl.load_workbook(path)["Attainment"]
    by_kpi = {}
    for row in ws.iter_rows(min_row=3):
        by_kpi.setdefault(row[7].value, row)
    assert by_kpi["gmv"][9].number_format.startswith('"$"')          # target in base-currency money
    assert by_kpi["cvr"][9].number_format == "0.0%"
    assert by_kpi["sessions"][9].number_format == "#,##0"
