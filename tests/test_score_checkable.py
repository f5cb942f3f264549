"""A score a manager can recompute by hand: full precision, capped attainment and contributions that add up
to the Scorecard score, the tier from the same stored value (119.95 % is not stretch, and reads 119.95 %), the
distance to the next tier, last period's figures, and History's period-end rows — on both backends."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from builders import A1, asin_daily, days, standard_batches, tables

from sheets_sync import render
from sheets_sync.compute.actuals import build_facts
from sheets_sync.compute.attainment import evaluate_all, score_owners
from sheets_sync.inputs import read_inputs
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sync import init_workbook
from sheets_sync.template import load_template
from sheets_sync.testing.sheets_server import SID

pytest_plugins = ["google_fixtures"]

TODAY = dt.date(2026, 12, 2)          # November is over: data through 11-30, the tier is on the final score
UNITS_TARGET = 360 / 1.199            # US units 30 × (10 + 2) = 360 → attainment 1.199 exactly


def tgt(mk, scope, value, owner, role, kpi, target, weight=1):
    return [None, mk, scope, value, owner, role, kpi, target, weight, None, None]


TARGETS = [tgt("US", "account", None, "Li Na", "ops", "gmv", 3750, 0.5),          # 4500 / 3750 = 1.2
           tgt("US", "account", None, "Li Na", "ops", "units", UNITS_TARGET, 0.5),  # 1.199
           tgt("US", "account", None, "Sofía", "ads", "ad_spend", 1200, 1),        # lower: 1200 / 600 = 2 → cap 1.5
           tgt("US", "account", None, "Sofía", "ads", "acos", 0.25, 3)]            # 0.25 / (600 / 2400) = 1


def october():
    return [asin_daily("US/st-oct", "US", "traffic", {A1: {"gmv": 100.0, "units": 8.0, "sessions": 200.0}},
                       days(1, 31, month=10)),
            asin_daily("US/ads-oct", "US", "ads", {A1: {"ad_spend": 30.0, "ad_sales": 90.0}}, days(1, 31, month=10),
                       currency="USD")]


def build(history=None, batches=None):
    tabs = tables(TARGETS)
    if history is not None:
        tabs["History"] = history
    inputs = read_inputs(tabs, today=TODAY)
    batches = [*standard_batches(last_day=30), *october()] if batches is None else batches
    facts = build_facts(batches, inputs.settings, inputs.products, today=TODAY)
    rows, ev = evaluate_all(inputs, facts)
    scores = score_owners(rows, inputs.tiers, inputs.settings, True)
    review = render.build_review(inputs, facts, rows, TODAY, batches, ev, tabs)
    last = review.last_period()
    t = load_template()
    out = [render.scorecard_tab(t, scores, "title", inputs.settings, last),
           render.attainment_tab(t, rows, "title", inputs.settings, last),
           *render.review_tabs(t, inputs, facts, rows, scores, tabs, TODAY, "title", batches, ev, review=review)]
    return {x.name: x for x in out}


def by(tab, key="owner"):
    c = tab.columns
    return {r[c.index(key)]: dict(zip(c, r, strict=False)) for r in tab.rows}


def test_hand_computed_score_contributions_cap_and_tier_boundary():
    tabs = build()
    sc = by(tabs["Scorecard"])
    li, sofia = sc["Li Na"], sc["Sofía"]
    # Li Na: 0.5 × 1.2 + 0.5 × 1.199 = 1.1995 → 119.95 %, below stretch (1.2): tier target, 0.05 pp to go
    assert li["score"] == pytest.approx(1.1995, abs=1e-12) and li["score"] < 1.2
    assert li["tier"] == "target" and li["next_tier"] == "stretch" and li["tier_on"] == "score"
    assert li["to_next_tier"] == pytest.approx(0.0005, abs=1e-12)
    # Sofía: ad_spend attainment 2.0 is capped at 1.5: (1 × 1.5 + 3 × 1.0) / 4 = 1.125
    assert sofia["score"] == pytest.approx(1.125, abs=1e-12) and sofia["tier"] == "target"
    att = by(tabs["Attainment"], "kpi")
    assert att["ad_spend"]["attainment"] == pytest.approx(2.0) and att["ad_spend"]["capped_attainment"] == 1.5
    assert att["ad_spend"]["contribution"] == pytest.approx(1.5 / 4) and att["acos"]["contribution"] == pytest.approx(0.75)
    assert att["units"]["attainment"] == pytest.approx(1.199, abs=1e-12)   # stored unrounded
    for owner in ("Li Na", "Sofía"):
        parts = [r["contribution"] for r in by(tabs["Attainment"], "target_row").values() if r["owner"] == owner]
        assert sum(parts) == pytest.approx(sc[owner]["score"], abs=1e-12)


def test_values_are_stored_unrounded():
    tabs = build()
    att = by(tabs["Attainment"], "kpi")
    # units target 300.2502085...: not cut to 4 decimals anywhere
    assert att["units"]["target"] == UNITS_TARGET
    assert att["units"]["attainment"] == 360 / UNITS_TARGET


def test_mid_period_tier_says_it_is_projected():
    tabs = tables(TARGETS)
    inputs = read_inputs(tabs, today=dt.date(2026, 11, 11))
    facts = build_facts(standard_batches(), inputs.settings, inputs.products, today=dt.date(2026, 11, 11))
    rows, _ = evaluate_all(inputs, facts)
    scores = {s.owner: s for s in score_owners(rows, inputs.tiers, inputs.settings, False)}
    assert scores["Li Na"].tier_on == "projected_score"
    assert "tier on projected score" in scores["Li Na"].flags


def test_last_period_from_dated_reports_and_history_period_end_rows():
    tabs = build()
    att = by(tabs["Attainment"], "kpi")
    # October: gmv 31 × 100 = 3100 against this row's 3750; units 31 × 8 = 248
    assert att["gmv"]["last_period"] == "2026-10"
    assert att["gmv"]["last_actual"] == pytest.approx(3100) and att["gmv"]["last_attainment"] == pytest.approx(3100 / 3750)
    assert att["units"]["last_actual"] == pytest.approx(248)
    li = by(tabs["Scorecard"])["Li Na"]
    assert li["last_score"] == pytest.approx(0.5 * 3100 / 3750 + 0.5 * 248 / UNITS_TARGET)
    hist = tabs["History"]
    c = hist.columns
    oct_rows = [r for r in hist.rows if r[0] == "2026-10"]
    assert {r[c.index("kpi")] for r in oct_rows} == {"gmv", "units", "ad_spend", "acos"}
    assert all(r[c.index("as_of")] == dt.date(2026, 10, 31) and r[c.index("row_kind")] == "period_end"
               for r in oct_rows)
    nov = [r for r in hist.rows if r[0] == "2026-11"]
    assert nov and all(r[c.index("row_kind")] == "period_end" for r in nov)   # November is complete


def test_last_period_prefers_what_history_recorded():
    head = [["defs"], load_template().tab("History").column_names]
    old = [["2026-10", dt.date(2026, 10, 20), 2, "Li Na", "US", "gmv", "account", None, 3000, 2000, 0.66, 0.9,
            "at risk", None],
           ["2026-10", dt.date(2026, 10, 31), 2, "Li Na", "US", "gmv", "account", None, 3000, 2900, 2900 / 3000,
            2900 / 3000, "at risk", "period_end"]]
    tabs = build(history=head + old)
    att = by(tabs["Attainment"], "kpi")
    assert att["gmv"]["last_actual"] == 2900 and att["gmv"]["last_attainment"] == pytest.approx(2900 / 3000)
    # History has October: no rows are made up for it from the reports
    assert [r for r in tabs["History"].rows if r[0] == "2026-10"] == [[*o] for o in old]


def _check_sheet_values(values, formats, read):
    header = values[1]
    rows = {r[header.index("owner")]: r for r in values[2:]}
    assert rows["Li Na"][header.index("score")] == pytest.approx(1.1995, abs=1e-12)
    assert rows["Li Na"][header.index("tier")] == "target"
    assert rows["Li Na"][header.index("last_score")] == pytest.approx(0.5 * 3100 / 3750 + 0.5 * 248 / UNITS_TARGET)
    assert formats["score"] == "0.00%" and formats["to_next_tier"] == "0.00%"
    # month over month in Attainment, period-end rows in History, next period's target in Target Suggestions
    att = _records(read["Attainment"])
    gmv = next(r for r in att if r["kpi"] == "gmv")
    assert gmv["last_actual"] == pytest.approx(3100) and gmv["last_attainment"] == pytest.approx(3100 / 3750)
    hist = _records(read["History"])
    assert {(str(r["period"]), r["row_kind"]) for r in hist} == {("2026-10", "period_end"), ("2026-11", "period_end")}
    sugg = _records(read["Target Suggestions"])
    acct = next(r for r in sugg if r["kpi"] == "gmv" and r["scope"] == "account")
    assert acct["suggested_target"] == pytest.approx((3100 + 4500) / 61 * 31 * 1.1) and acct["for_period"] == "2026-12"


def _records(table):
    return [dict(zip(table[1], r, strict=False)) for r in table[2:]]


READ = ["Scorecard", "Attainment", "History", "Target Suggestions"]


def test_xlsx_holds_full_precision_and_shows_two_decimals(tmp_path):
    path = tmp_path / "w.xlsx"
    wb = XlsxWorkbook(path)
    init_workbook(wb, today=TODAY)
    tabs = build()
    wb.write_tabs(list(tabs.values()))
    read = XlsxWorkbook(path).read_tabs(READ)
    ws = openpyxl.load_workbook(path)["Scorecard"]
    header = [c.value for c in ws[2]]
    formats = {h: ws.cell(row=3, column=i + 1).number_format for i, h in enumerate(header)}
    _check_sheet_values(read["Scorecard"], formats, read)
    book = openpyxl.load_workbook(path)
    att = book["Attainment"]
    ah = [c.value for c in att[2]]
    assert att.cell(row=3, column=ah.index("contribution") + 1).number_format == "0.00%"
    sg = book["Target Suggestions"]
    sh = [c.value for c in sg[2]]
    assert sg.cell(row=3, column=sh.index("suggested_target") + 1).number_format.startswith('"$"')   # money


def test_google_holds_full_precision_and_shows_two_decimals(server, shared_book, make_workbook):
    shared_book({"Settings": [["key", "value"], ["period", "2026-11"]]})
    wb = make_workbook()
    wb.read_tabs(["Settings"])
    tabs = build()
    wb.write_tabs(list(tabs.values()))
    read = wb.read_tabs(READ)
    values = read["Scorecard"]
    snap = server.snapshot(SID, "Scorecard")
    header = values[1]
    formats = {h: snap["cells"].get((2, j), {}).get("userEnteredFormat", {}).get("numberFormat", {}).get("pattern")
               for j, h in enumerate(header)}
    _check_sheet_values(values, formats, read)
    sg = server.snapshot(SID, "Target Suggestions")
    j = read["Target Suggestions"][1].index("suggested_target")
    assert sg["cells"][(2, j)]["userEnteredFormat"]["numberFormat"]["type"] == "CURRENCY"


def test_history_budget_drops_snapshots_before_period_end_rows(monkeypatch):
    import sheets_sync.compute.review.history as history

    monkeypatch.setattr(history, "HISTORY_MAX_ROWS", 3)
    cols = load_template().tab("History").column_names
    old = [["2026-09", dt.date(2026, 9, 30), 2, "Li Na", "US", "gmv", "account", None, 1, 1, 1, 1, "on track",
            "period_end"],
           ["2026-10", dt.date(2026, 10, 5), 2, "Li Na", "US", "gmv", "account", None, 1, 1, 1, 1, "on track", None],
           ["2026-10", dt.date(2026, 10, 6), 2, "Li Na", "US", "gmv", "account", None, 1, 1, 1, 1, "on track", None]]
    tabs = tables(TARGETS[:1])
    inputs = read_inputs(tabs, today=TODAY)
    facts = build_facts(standard_batches(last_day=30), inputs.settings, inputs.products, today=TODAY)
    rows, _ = evaluate_all(inputs, facts)
    out = history.history_rows([["defs"], cols, *old], rows, "2026-11", TODAY, len(cols), complete=True)
    # 4 rows for a budget of 3: one goes — the oldest snapshot, not September's older period-end row
    kept = {(str(r[0]), r[1]) for r in out}
    assert ("2026-09", dt.date(2026, 9, 30)) in kept                  # the older period-end row stays
    assert ("2026-10", dt.date(2026, 10, 5)) not in kept              # the oldest snapshot went first
    assert ("2026-11", TODAY) in kept and len(out) == 3
