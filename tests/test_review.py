"""The design review (Commentary), Target Suggestions and History on hand-made data.

Every finding of the design review (docs/review.md) has a case that triggers it and one that must not. The standard
data set is tests/builders.py: period 2026-11, data through 2026-11-10 (10 of 30 days); US A1 (mature) per day
gmv 100, units 10, sessions 200; US A2 (new) gmv 50, units 2, sessions 100; MX A1 50 USD, MX A3 (clearance) 25 USD.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest
from builders import A1, A2, A3, asin_daily, asin_span, days, review, settings, standard_batches, tables, tgt

from sheets_sync.compute.actuals import build_facts
from sheets_sync.compute.attainment import evaluate_all, score_owners
from sheets_sync.compute.review import Review, history_rows
from sheets_sync.inputs import read_inputs
from sheets_sync.render import review_tabs
from sheets_sync.template import load_template

TODAY = dt.date(2026, 11, 11)
T = [None]


def keys(rv: Review) -> list[str]:
    return [f.key for f in rv.findings()]


def found(rv: Review, key: str):
    return [f for f in rv.findings() if f.key == key]


# -- 1. outcome only ---------------------------------------------------------------------------------------
def test_outcome_only_owner_is_flagged_with_weights():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000, 0.6),
                 tgt("US", "account", None, "Li Na", "ops", "units", 300, 0.4)])
    (f,) = found(rv, "outcome_only")
    assert f.owner == "Li Na" and f.severity == "medium"
    assert "gmv 60%" in f.evidence and "units 40%" in f.evidence


def test_owner_with_a_process_kpi_is_not_outcome_only():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000, 0.6),
                 tgt("US", "account", None, "Li Na", "ops", "cvr", 0.04, 0.4)])
    assert "outcome_only" not in keys(rv)


# -- 2. conflicting KPIs -----------------------------------------------------------------------------------
def test_reach_and_cost_both_weighted_conflict():
    rv = review([tgt("US", "account", None, "Sofía", "ads", "ad_impressions", 1000, 0.5),
                 tgt("US", "account", None, "Sofía", "ads", "acos", 0.2, 0.5)])
    (f,) = found(rv, "conflict_reach_cost")
    assert f.severity == "high" and f.owner == "Sofía"
    assert "50% of weight" in f.evidence


def test_reach_with_a_light_cost_weight_is_no_conflict():
    rv = review([tgt("US", "account", None, "Sofía", "ads", "ad_impressions", 1000, 0.9),
                 tgt("US", "account", None, "Sofía", "ads", "acos", 0.2, 0.1)])   # 10 % < 20 %
    assert "conflict_reach_cost" not in keys(rv)


def test_gmv_growth_and_margin_on_clearance_conflict():
    rv = review([tgt("MX", "tier", "clearance", "Wang Lei", "ops", "gmv", 500),
                 tgt("MX", "tier", "clearance", "Chen", "manager", "net_margin", 0.2)])
    (f,) = found(rv, "conflict_clearance")
    assert f.owner == "Wang Lei, Chen" and A3 in f.finding


def test_margin_alone_on_clearance_is_no_conflict():
    rv = review([tgt("MX", "tier", "clearance", "Chen", "manager", "net_margin", 0.2),
                 tgt("MX", "tier", "mature", "Wang Lei", "ops", "gmv", 500)])
    assert "conflict_clearance" not in keys(rv)


def _inventory(a1_stock=0.0, a2_stock=50.0):
    return asin_span("US/inv", "US", "inventory", {A1: {"fulfillable_units": a1_stock},
                                                   A2: {"fulfillable_units": a2_stock}}, None, None)


def test_low_cover_with_zero_stockouts_conflicts_and_names_the_asin():
    rv = review([tgt("US", "account", None, "Zhang", "warehouse", "days_of_cover", 20),
                 tgt("US", "account", None, "Zhang", "warehouse", "stockout_asins", 0)],
                batches=[*standard_batches(), _inventory()])
    (f,) = found(rv, "conflict_cover_stockout")
    assert f"US {A1}" in f.evidence


def test_cover_with_a_tolerated_stockout_is_no_conflict():
    rv = review([tgt("US", "account", None, "Zhang", "warehouse", "days_of_cover", 20),
                 tgt("US", "account", None, "Zhang", "warehouse", "stockout_asins", 1)])
    assert "conflict_cover_stockout" not in keys(rv)


# -- 3. not controllable -----------------------------------------------------------------------------------
def test_kpi_assigned_outside_its_controls():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "odr", 0.01)])
    (f,) = found(rv, "not_controllable")
    assert f.owner == "Li Na" and "cs" in f.finding


def test_kpi_assigned_to_its_role_is_controllable():
    rv = review([tgt("US", "account", None, "Carlos", "cs", "odr", 0.01)])
    assert not {"not_controllable", "not_controllable_fba"} & set(keys(rv))


def _orders(fba: float, total: float):
    return asin_daily("US/orders", "US", "orders", {A1: {"fba_units": fba, "order_units": total}}, days(1, 10))


def test_late_shipment_on_an_fba_account_is_not_controllable_and_says_fba():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "late_shipment_rate", 0.04)],
                batches=[*standard_batches(), _orders(9.5, 10)])
    (f,) = found(rv, "not_controllable_fba")
    assert "95.0%" in f.finding and "FBA" in f.finding
    assert "95 FBA units of 100" in f.evidence


def test_late_shipment_on_a_merchant_fulfilled_account_owned_by_warehouse_is_fine():
    rv = review([tgt("US", "account", None, "Zhang", "warehouse", "late_shipment_rate", 0.04)],
                batches=[*standard_batches(), _orders(1, 10)])
    assert not {"not_controllable", "not_controllable_fba"} & set(keys(rv))


# -- 4. unrealistic ----------------------------------------------------------------------------------------
BENCH = [["US", None, "acos", 0.25, "Ads console"]]


def test_target_much_stricter_than_the_benchmark():
    rv = review([tgt("US", "account", None, "Sofía", "ads", "acos", 0.15)], benchmarks=BENCH)
    (f,) = found(rv, "unrealistic_benchmark")
    assert "40%" in f.finding and "25.0%" in f.finding and "Ads console" in f.evidence


def test_target_near_the_benchmark_is_realistic():
    rv = review([tgt("US", "account", None, "Sofía", "ads", "acos", 0.20)], benchmarks=BENCH)   # 20 % stricter
    assert "unrealistic_benchmark" not in keys(rv)


def _october(gmv_a1=100.0, units_a1=10.0, sessions_a1=200.0):
    """October 2026 (31 days) of US traffic."""
    return [asin_daily("US/oct", "US", "traffic",
                       {A1: {"gmv": gmv_a1, "units": units_a1, "orders": units_a1, "sessions": sessions_a1},
                        A2: {"gmv": 50.0, "units": 2.0, "orders": 2.0, "sessions": 100.0}}, days(1, 31, 10))]


def test_target_much_above_the_last_periods_best():
    # October: 150 a day × 31 = 4650 → 4500 for November's 30 days; 6000 is 33 % above
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 6000)], batches=[*standard_batches(), *_october()])
    (f,) = found(rv, "unrealistic_history_one")       # one earlier period: "last period's actual", not
    assert "4,500 USD" in f.finding and "2026-10" in f.evidence   # "the best of the last 1 periods"
    assert "last period" in f.finding and "1 periods" not in f.finding and "1 periods" not in f.evidence


def test_target_close_to_the_last_periods_best_is_realistic():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 5000)], batches=[*standard_batches(), *_october()])
    assert not {"unrealistic_history", "unrealistic_history_one"} & set(keys(rv))


def test_no_history_means_no_history_finding():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 60000)])
    assert "unrealistic_history" not in keys(rv)


# -- 5. no tiering -----------------------------------------------------------------------------------------
def test_growth_target_on_clearance_asins():
    rv = review([tgt("MX", "tier", "clearance", "Wang Lei", "ops", "gmv", 500)])
    (f,) = found(rv, "clearance_growth")
    assert A3 in f.evidence


def test_margin_target_on_clearance_is_not_a_growth_target():
    rv = review([tgt("MX", "asin", A3, "Wang Lei", "ops", "net_margin", 0.05)])
    assert "clearance_growth" not in keys(rv)


def test_the_same_target_for_new_and_mature():
    rv = review([tgt("US", "tier", "new", "Li Na", "ops", "cvr", 0.05),
                 tgt("US", "tier", "mature", "Li Na", "ops", "cvr", 0.05)])
    (f,) = found(rv, "one_target_same")
    assert "rows 2, 3" in f.evidence


def test_different_targets_for_new_and_mature_are_tiered():
    rv = review([tgt("US", "tier", "new", "Li Na", "ops", "cvr", 0.03),
                 tgt("US", "tier", "mature", "Li Na", "ops", "cvr", 0.05)])
    assert not {"one_target_same", "one_target_gap"} & set(keys(rv))


def test_one_ratio_target_over_tiers_that_run_apart():
    # US cvr: new A2 2/100 = 2 %, mature A1 10/200 = 5 %: 60 % apart
    rv = review([tgt("US", "account", None, "Li Na", "ops", "cvr", 0.04)])
    (f,) = found(rv, "one_target_gap")
    assert "2.0%" in f.evidence and "5.0%" in f.evidence and "60%" in f.evidence


def test_one_ratio_target_over_tiers_that_run_alike():
    # MX cvr: A1 (mature) 5/100 = 5 %, A3 (clearance) only: no new ASIN in MX
    rv = review([tgt("MX", "account", None, "Wang Lei", "ops", "cvr", 0.04)])
    assert "one_target_gap" not in keys(rv)


# -- 6. no customer-experience KPI ---------------------------------------------------------------------------
def test_nobody_owns_a_cx_kpi():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)])
    (f,) = found(rv, "no_cx")
    assert "outcome 1" in f.evidence


def test_a_weighted_cx_kpi_is_enough():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000),
                 tgt("US", "account", None, "Carlos", "cs", "refund_rate", 0.05)])
    assert "no_cx" not in keys(rv)


# -- 7. attribution of a GMV miss ----------------------------------------------------------------------------
def _effects(evidence: str) -> tuple[float, float, float, float]:
    part = evidence.split("effects ")[1].split(" USD")[0]
    lhs, gap = part.split(" = ")
    es, ec, ep = (float(x.replace(",", "")) for x in lhs.split(" + "))
    return es, ec, ep, float(gap.replace(",", ""))


def test_gmv_miss_is_split_and_the_effects_add_up_to_the_gap():
    # US actual 1500 after 10 of 30 days; target 6000 → paced 2000; gap −500
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 6000)])
    (f,) = found(rv, "miss")
    assert f.severity == "high"               # projected 4500 / 6000 = 75 % → off track
    es, ec, ep, gap = _effects(f.evidence)
    assert gap == pytest.approx(-500.0)
    assert es + ec + ep == pytest.approx(gap, abs=1e-9)
    assert "−500 USD" in f.finding


def test_gmv_on_pace_is_not_a_miss():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 4000)])   # projected 4500
    assert "miss" not in keys(rv)


def test_miss_against_last_period_mix_names_conversion_as_the_driver():
    # October: same sessions, A1 converts at 15 units / 200 and sells at 10 a unit (gmv 150);
    # November A1 converts 10 / 200 at 10 a unit: the conversion drop drives the miss.
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 6000)],
                batches=[*standard_batches(), *_october(gmv_a1=150.0, units_a1=15.0)])
    (f,) = found(rv, "miss")
    es, ec, ep, gap = _effects(f.evidence)
    assert ec < 0 and ec < es and ec < ep
    assert es + ec + ep == pytest.approx(gap, abs=1e-9)
    assert "Biggest driver: conversion (CVR)" in f.finding
    assert "same days of 2026-10" in f.evidence
    # CVR: Oct (150 + 20) / (2000 + 1000) vs Nov 120 / 3000
    assert "5.7%" in f.evidence and "4.0%" in f.evidence


def test_miss_estimates_sales_lost_on_stockout_days():
    # A1 sells 10 units a day on days 1–7, then nothing on 8–10 with 0 fulfillable units:
    # lost ≈ 10 units × 3 days × 10 USD = 300 USD.
    before = asin_daily("US/t1", "US", "traffic", {A1: {"gmv": 100.0, "units": 10.0, "orders": 10.0,
                                                        "sessions": 200.0},
                                                   A2: {"gmv": 50.0, "units": 2.0, "orders": 2.0, "sessions": 100.0}},
                        days(1, 7))
    after = asin_daily("US/t2", "US", "traffic", {A1: {"gmv": 0.0, "units": 0.0, "orders": 0.0, "sessions": 50.0},
                                                  A2: {"gmv": 50.0, "units": 2.0, "orders": 2.0, "sessions": 100.0}},
                       days(8, 10))
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 6000)], batches=[before, after, _inventory()])
    (f,) = found(rv, "miss")
    assert f"{A1} out 3 day(s), ≈ 300 USD" in f.finding


# -- 8. data lag -------------------------------------------------------------------------------------------
def test_data_more_than_two_days_behind_today():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)], today=dt.date(2026, 11, 14))
    lag = found(rv, "data_lag")
    assert {f.marketplace for f in lag} == {"US", "MX"}
    assert "2026-11-10" in lag[0].finding and "4 days" in lag[0].finding


def test_data_through_yesterday_is_not_late():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)])
    assert "data_lag" not in keys(rv)


def test_a_missing_source_family_for_a_marketplace():
    batches = [b for b in standard_batches() if b.source != "MX/ads"]
    rv = review([tgt("MX", "account", None, "Sofía", "ads", "acos", 0.3)], batches=batches)
    (f,) = found(rv, "source_missing")
    assert f.marketplace == "MX" and "Sponsored Products" in f.finding


def test_every_needed_source_present_is_quiet():
    rv = review([tgt("MX", "account", None, "Sofía", "ads", "acos", 0.3)])
    assert "source_missing" not in keys(rv)


# -- 9. calendar -------------------------------------------------------------------------------------------
def test_an_event_inside_the_period_says_the_pace_accounts_for_it():
    cal = [["MX", "Buen Fin", dt.date(2026, 11, 13), dt.date(2026, 11, 16), 3]]
    rv = review([tgt("MX", "account", None, "Wang Lei", "ops", "gmv", 3000)], calendar=cal)
    (f,) = found(rv, "calendar_ahead")
    assert f.severity == "info" and "Buen Fin" in f.finding and f.owner == "Wang Lei"
    # 10 of 30 days, 4 days weighted ×3: 10 / 38
    assert f"{10 / 38:.1%}" in f.evidence and f"{10 / 30:.1%}" in f.evidence


def test_an_event_outside_the_period_is_not_mentioned():
    cal = [["US", "Prime Day", dt.date(2026, 7, 14), dt.date(2026, 7, 17), 3]]
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)], calendar=cal)
    assert not {"calendar_ahead", "calendar_done"} & set(keys(rv))


# -- ordering ----------------------------------------------------------------------------------------------
def test_findings_are_sorted_most_severe_first():
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 6000),
                 tgt("US", "account", None, "Li Na", "ops", "odr", 0.01)],
                calendar=[["US", "BFCM", dt.date(2026, 11, 27), dt.date(2026, 11, 30), 3]])
    sev = [f.severity for f in rv.findings()]
    order = {"high": 0, "medium": 1, "info": 2}
    assert sev == sorted(sev, key=order.get) and {"high", "medium", "info"} <= set(sev)


# -- Target Suggestions ------------------------------------------------------------------------------------
def _tabs(targets, batches=None, today=TODAY, previous_history=None, **kw):
    tabs = tables(targets, **kw)
    inputs = read_inputs(tabs, today=today)
    batches = standard_batches() if batches is None else batches
    facts = build_facts(batches, inputs.settings, inputs.products, today=today)
    rows, _ = evaluate_all(inputs, facts)
    scores = score_owners(rows, inputs.tiers, inputs.settings, False)
    if previous_history is not None:
        tabs["History"] = previous_history
    out = review_tabs(load_template(), inputs, facts, rows, scores, tabs, today, "title", batches)
    return {t.name: t for t in out}


def _by(tab, scope, kpi="gmv"):
    c = tab.columns
    return {r[c.index("scope_value")]: r for r in tab.rows if r[c.index("scope")] == scope and r[c.index("kpi")] == kpi}


def test_suggestions_split_by_current_share_when_there_is_no_history_and_clearance_gets_no_growth():
    tab = _tabs([tgt("MX", "account", None, "Wang Lei", "ops", "gmv", 1000)])["Target Suggestions"]
    c = tab.columns
    # next period (December, 31 days): MX runs 75 USD a day (750 in 10 days, projected 2,250 over 30 days)
    # → 75 × 31 × 1.1 = 2,557.50, stated once on the account row
    (acct,) = [r for r in tab.rows if r[c.index("scope")] == "account"]
    goal = 75 * 31 * 1.1
    assert acct[c.index("suggested_target")] == pytest.approx(goal) and acct[c.index("for_period")] == "2026-12"
    assert "2026-12" in acct[c.index("basis")]
    tiers = _by(tab, "tier")
    # MX A1 mature 500 × 1.1 = 550, A3 clearance 250 × 1 → shares 550/800 and 250/800 of next period's target
    assert tiers["mature"][c.index("share")] == pytest.approx(550 / 800)
    assert tiers["clearance"][c.index("suggested_target")] == pytest.approx(goal * 250 / 800)
    assert "no earlier period" in tiers["mature"][c.index("basis")]
    assert "clearance: no growth" in tiers["clearance"][c.index("basis")]
    # clearance also gets margin and sell-through rows
    kpis = [r[c.index("kpi")] for r in tab.rows if r[c.index("scope_value")] == "clearance"]
    assert "net_margin" in kpis and any(k.startswith("sell-through") for k in kpis)
    asins = _by(tab, "asin")
    assert sum(r[c.index("suggested_target")] for r in asins.values()) == pytest.approx(goal)
    # the basis is stated once per group, not on every row
    owner_bases = [r[c.index("basis")] for r in tab.rows if r[c.index("scope")] == "owner"]
    assert owner_bases[0] and all(not b for b in owner_bases[1:])
    assert tab.row_formats["suggested_target"][0] == "money"


def test_suggestions_use_the_last_periods_share():
    # October: A1 150 a day, A2 50 a day → 75 % / 25 % (November so far is 2/3 vs 1/3)
    tab = _tabs([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)],
                batches=[*standard_batches(), *_october(gmv_a1=150.0)])["Target Suggestions"]
    c = tab.columns
    # next period: (October 6,200 + November projected 4,500) / (31 + 30) days × 31 × 1.1
    goal = (6200 + 4500) / 61 * 31 * 1.1
    (acct,) = [r for r in tab.rows if r[c.index("scope")] == "account"]
    assert acct[c.index("suggested_target")] == pytest.approx(goal)
    asins = _by(tab, "asin")
    assert asins[A1][c.index("share")] == pytest.approx(0.75)
    assert asins[A2][c.index("suggested_target")] == pytest.approx(goal * 0.25)
    assert "2026-10" in asins[A1][c.index("basis")] and "2026-10" in acct[c.index("basis")]


def test_next_period_target_follows_the_calendar():
    # a 3× event on December 1–2 in the US: next period has 31 + 4 = 35 weighted days
    cal = [["US", "Promo", dt.date(2026, 12, 1), dt.date(2026, 12, 2), 3]]
    tab = _tabs([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)], calendar=cal)["Target Suggestions"]
    c = tab.columns
    (acct,) = [r for r in tab.rows if r[c.index("scope")] == "account"]
    assert acct[c.index("suggested_target")] == pytest.approx(150 * 35 * 1.1)      # US runs 150 USD a day


def test_ratio_targets_get_no_split():
    tab = _tabs([tgt("US", "account", None, "Li Na", "ops", "cvr", 0.05)])["Target Suggestions"]
    assert tab.rows == []


# -- History -----------------------------------------------------------------------------------------------
def test_history_keeps_other_dates_replaces_its_own_and_sorts():
    head = [["defs"], ["period", "as_of", "target_row", "owner", "marketplace", "kpi", "scope", "scope_value",
                       "target", "actual", "attainment", "projected_attainment", "status"]]
    old = [["2026-11", dt.datetime(2026, 11, 4), 2, "Li Na", "US", "gmv", "account", None, 3000, 600, 0.2, 0.9,
            "at risk"],
           ["2026-11", TODAY, 2, "Li Na", "US", "gmv", "account", None, 3000, 1, 0.0, 0.0, "off track"],
           ["2026-10", "2026-10-20", 2, "Li Na", "US", "gmv", "account", None, 3000, 2000, 0.66, 1.0, "on track"]]
    tab = _tabs([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)], previous_history=head + old)["History"]
    assert tab.status_column == "status"
    dates = [(r[0], r[1]) for r in tab.rows]
    assert dates == [("2026-10", dt.date(2026, 10, 20)), ("2026-11", dt.date(2026, 11, 4)), ("2026-11", TODAY)]
    today_row = tab.rows[-1]
    assert today_row[9] == pytest.approx(1500.0)          # this sync's actual, not the stale 1


def test_history_rows_ignore_blank_and_short_rows():
    out = history_rows([["d"], ["h"], [], [None, None], ["2026-11", "2026-11-01", 3]], [], "2026-11", TODAY, 13)
    assert out == [["2026-11", dt.date(2026, 11, 1), 3, *([None] * 10)]]


# -- the tabs as a whole -----------------------------------------------------------------------------------
def test_review_tabs_carry_the_definitions_line_in_the_settings_language():
    for lang, word in (("en", "Period 2026-11"), ("zh", "周期 2026-11"), ("es", "Periodo 2026-11")):
        tabs = _tabs([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)],
                     settings_rows=settings(language=lang))
        for t in tabs.values():
            assert t.title.startswith(word), (lang, t.name)


def test_english_definitions_match_the_other_tabs():
    inputs = read_inputs(tables([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)]), today=TODAY)
    from sheets_sync.compute.review import definitions

    through = {"US": dt.date(2026, 11, 10), "MX": None}
    assert definitions(inputs.settings, through) == inputs.settings.definitions(through)


def test_review_is_pure_and_repeatable():
    batches = standard_batches()
    snapshot = [dataclasses.replace(b) for b in batches]
    a = _tabs([tgt("US", "account", None, "Li Na", "ops", "gmv", 6000)], batches=batches)
    b = _tabs([tgt("US", "account", None, "Li Na", "ops", "gmv", 6000)], batches=batches)
    assert a["Commentary"].rows == b["Commentary"].rows
    for x, y in zip(batches, snapshot, strict=True):
        assert x.asin_rows is y.asin_rows and x.asin_rows.equals(y.asin_rows)
    assert not any(isinstance(v, float) and math.isnan(v) for r in a["Commentary"].rows for v in r)


# -- earlier periods come only from dated reports ------------------------------------------------------------

def test_earlier_periods_ignore_undated_files_and_snapshots():
    undated = asin_span("US/BusinessReport.csv", "US", "traffic", {A1: {"gmv": 5000.0, "units": 50.0}}, None, None)
    inv = asin_span("US/inventory.tsv", "US", "inventory", {A1: {"fulfillable_units": 10.0}}, None, None)
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)], batches=[*standard_batches(), undated, inv])
    assert rv.prior(1) is None            # nothing dated in October: no made-up history
    october = asin_daily("US/st-oct.json", "US", "traffic", {A1: {"gmv": 80.0, "units": 8.0, "sessions": 100.0}},
                         days(1, 31, month=10))
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000)],
                batches=[*standard_batches(), undated, inv, october])
    prior = rv.prior(1)
    assert prior is not None and prior.account["US"]["gmv"] == pytest.approx(80.0 * 31)
    assert rv.prior_evaluator(1) is rv.prior_evaluator(1)


def test_history_drops_the_oldest_as_of_dates_beyond_its_row_budget(monkeypatch):
    import sheets_sync.compute.review.history as review_mod

    monkeypatch.setattr(review_mod, "HISTORY_MAX_ROWS", 5)
    rv = review([tgt("US", "account", None, "Li Na", "ops", "gmv", 3000),
                 tgt("US", "account", None, "Li Na", "ops", "units", 300)])
    previous = [["defs"], ["period", "as_of"]] + [["2026-11", dt.date(2026, 11, d), t, "Li Na"]
                                                  for d in (1, 2, 3) for t in (2, 3)]
    rows = history_rows(previous, rv.rows, "2026-11", TODAY, 13)
    dates = [r[1] for r in rows]
    # 8 rows for a budget of 5: Nov 1 (2 rows) and Nov 2 (2 rows) go, whole dates, oldest first
    assert dates == [dt.date(2026, 11, 3), dt.date(2026, 11, 3), TODAY, TODAY]
