"""The demo as a manager reads it: its planted ad-heavy ASIN is named in Commentary, and every off-track (or
at-risk) row of Attainment has a finding that explains it."""

from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.cli import demo_period
from sheets_sync.kpis import label
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import init_workbook, sync_workbook

NOW = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    period = demo_period(NOW.date())
    prior = period.previous(1)
    write_demo_reports(root / "reports", prior, {"US": prior.end, "MX": prior.end}, seed=8)
    truth = write_demo_reports(root / "reports", period, {"US": period.end, "MX": period.end}, seed=7)
    wb = XlsxWorkbook(root / "demo.xlsx")
    init_workbook(wb, today=period.start)
    res = sync_workbook(wb, ReportFilesSource(root / "reports"), period=period.label, now=NOW)
    assert res.ok, res.error
    tabs = XlsxWorkbook(root / "demo.xlsx").read_tabs(["Commentary", "Attainment", "Actuals"])
    return truth, tabs


def _records(table):
    head = table[1]
    return [dict(zip(head, r, strict=False)) for r in table[2:]]


def test_demo_names_its_ad_heavy_asin_in_commentary(demo):
    truth, tabs = demo
    heavy = truth["ad_heavy"]["US"]
    acos = [c for c in _records(tabs["Commentary"]) if c["kpi"] == label("acos", "en") and heavy in c["finding"]]
    assert acos, f"{heavy} is not named by the ACoS finding"
    # named first: it moves the account's ACoS more than any other ASIN
    assert acos[0]["finding"].index(heavy) < acos[0]["finding"].index("all other ASINs")
    actuals = {r["asin"]: r for r in _records(tabs["Actuals"]) if r["marketplace"] == "US"}
    assert actuals[heavy]["acos"] == pytest.approx(0.6, abs=0.05) and actuals[heavy]["title"]


def test_every_off_track_row_of_the_demo_has_a_finding(demo):
    _, tabs = demo
    findings = _records(tabs["Commentary"])
    off = [r for r in _records(tabs["Attainment"]) if r["status"] in ("off track", "at risk")]
    assert len(off) >= 8
    for r in off:
        scope = (f"{r['scope']} “{r['scope_value']}”" if r["scope"] in ("portfolio", "campaign", "ad_group")
                 else f"{r['scope']} {r['scope_value'] or ''}".strip())     # a campaign's name is quoted
        kpi = label(r["kpi"], "en")
        hits = [f for f in findings if f["owner"] == r["owner"] and f["marketplace"] == r["marketplace"]
                and kpi in (f["kpi"] or "") and (f["scope"] or "") == scope and f["severity"] in ("high", "medium")]
        assert hits, f"Targets row {r['target_row']} ({r['kpi']} {r['marketplace']}, {r['status']}) has no finding"
