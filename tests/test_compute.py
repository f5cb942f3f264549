"""Every formula on hand-made data with hand-computed expected values (US, MX, ALL; each scope).

The standard data set (tests/builders.py), period 2026-11 (30 days), data through 2026-11-10:
US A1 per day gmv 100 units 10 sessions 200; US A2 gmv 50 units 2 sessions 100;
MX A1 per day gmv 1160 MXN (IVA incl.) units 5 sessions 100; MX A3 gmv 580 MXN units 2 sessions 50;
fx.MXN 20, vat.MX 0.16 → MX A1 = 1160/1.16/20 = 50 USD a day, MX A3 = 25 USD a day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from builders import A1, A2, A3, asin_daily, asin_span, days, settings, standard_batches, tables

from sheets_sync.compute.actuals import build_facts
from sheets_sync.compute.attainment import evaluate_all, score_owners
from sheets_sync.compute.values import clean, clean_column
from sheets_sync.inputs import read_inputs

TODAY = dt.date(2026, 11, 11)


def run(targets, batches=None, **kw):
    inputs = read_inputs(tables(targets, **kw), today=TODAY)
    facts = build_facts(standard_batches() if batches is None else batches, inputs.settings, inputs.products,
                        today=TODAY)
    rows, ev = evaluate_all(inputs, facts)
    return inputs, facts, rows


def one(target, **kw):
    inputs, facts, rows = run([target], **kw)
    assert len(rows) == 1, inputs.problems
    return rows[0]


T = [None]  # period column placeholder (blank = Settings period)


@pytest.mark.parametrize(
    ("marketplace", "scope", "value", "kpi", "expected"),
    [
        ("US", "account", None, "gmv", 1500.0),                    # (100 + 50) × 10
        ("MX", "account", None, "gmv", 750.0),                     # (50 + 25) × 10 after IVA and FX
        ("ALL", "account", None, "gmv", 2250.0),
        ("US", "account", None, "units", 120.0),
        ("US", "account", None, "orders", 110.0),
        ("US", "account", None, "aov", 1500.0 / 110.0),
        ("US", "account", None, "sessions", 3000.0),
        ("US", "account", None, "cvr", 120.0 / 3000.0),            # ratio of sums, not mean of ratios
        ("ALL", "account", None, "cvr", (120.0 + 70.0) / (3000.0 + 1500.0)),
        ("US", "account", None, "buy_box_pct", 3300.0 / 4200.0),
        ("US", "tier", "new", "gmv", 500.0),
        ("MX", "tier", "clearance", "units", 20.0),
        ("US", "category", "Kitchen", "gmv", 1000.0),
        ("ALL", "category", "kitchen", "gmv", 1500.0),              # case-insensitive; US 1000 + MX 500
        ("MX", "owner", "Wang Lei", "units", 70.0),
        ("US", "asin", A1, "cvr", 0.05),
        ("MX", "sku", "MX-A3", "gmv", 250.0),
        ("US", "account", None, "ad_spend", 200.0),
        ("MX", "account", None, "ad_spend", 100.0),                 # 200 MXN × 10 / 20
        ("ALL", "account", None, "ad_sales", 800.0 + 290.0),       # ad sales not IVA-adjusted, only converted
        ("ALL", "account", None, "acos", 300.0 / 1090.0),
        ("ALL", "account", None, "roas", 1090.0 / 300.0),
        ("US", "account", None, "tacos", 200.0 / 1500.0),
        ("ALL", "account", None, "tacos", 300.0 / 2250.0),
        ("US", "account", None, "cpc", 200.0 / 400.0),
        ("US", "account", None, "ctr", 400.0 / 40000.0),
        ("ALL", "account", None, "ad_impressions", 50000.0),
        ("US", "account", None, "ad_cvr", 40.0 / 400.0),
    ],
)
def test_actual(marketplace, scope, value, kpi, expected):
    row = one([*T, marketplace, scope, value, "Li Na", "ops", kpi, 1, 1, None, None])
    assert row.actual == pytest.approx(expected), row.notes


def test_attainment_pace_status_higher():
    # US gmv 1500 of 3000; 10 of 30 days elapsed → projected 4500, projected attainment 1.5.
    row = one([*T, "US", "account", None, "Li Na", "ops", "gmv", 3000, 1, None, None])
    assert row.attainment == pytest.approx(0.5)
    assert row.projected_actual == pytest.approx(4500.0)
    assert row.projected_attainment == pytest.approx(1.5)
    assert row.status == "on track"
    assert row.data_through == dt.date(2026, 11, 10)


def test_ratio_kpis_are_not_paced_and_status_thresholds():
    row = one([*T, "US", "account", None, "Li Na", "ops", "cvr", "5%", 1, None, None])
    assert row.actual == pytest.approx(0.04)
    assert row.projected_actual == pytest.approx(0.04)
    assert row.attainment == pytest.approx(0.8)
    assert row.status == "off track"       # 0.8 < at_risk 0.9


def test_lower_is_better_attainment_and_at_risk():
    row = one([*T, "ALL", "account", None, "Sofía", "ads", "acos", 0.25, 1, None, None])
    assert row.attainment == pytest.approx(0.25 / (300.0 / 1090.0))   # 0.908…
    assert row.status == "at risk"


def test_lower_with_zero_actual_gets_the_cap():
    row = one([*T, "US", "asin", A2, "Li Na", "ads", "ad_spend", 50, 1, None, None])
    assert row.actual is None                      # A2 has no ads rows at all: no data, not zero
    inputs, facts, rows = run([[*T, "US", "asin", A2, "Li Na", "ads", "ad_spend", 50, 1, None, None]],
                              batches=[*standard_batches(), asin_daily("US/ads2", "US", "ads",
                                                                       {A2: {"ad_spend": 0.0, "ad_sales": 0.0}},
                                                                       days(1, 10), currency="USD")])
    assert rows[0].actual == 0.0
    assert rows[0].attainment == pytest.approx(1.5)


def test_all_projection_is_the_sum_of_marketplace_projections_with_calendar_weights():
    # MX has a 3× event on Nov 11–13 (still ahead): MX share = 10 / (27 + 9) = 10/36; US share = 10/30.
    cal = [["MX", "Buen Fin", dt.date(2026, 11, 11), dt.date(2026, 11, 13), 3]]
    row = one([*T, "ALL", "account", None, "Chen", "manager", "gmv", 9000, 1, None, None], calendar=cal)
    assert row.actual == pytest.approx(2250.0)
    assert row.projected_actual == pytest.approx(1500.0 * 3 + 750.0 * 3.6)
    mx = one([*T, "MX", "owner", "Wang Lei", "Wang Lei", "ops", "units", 100, 1, None, None], calendar=cal)
    assert mx.projected_actual == pytest.approx(70.0 * 3.6)


def test_calendar_event_for_all_marketplaces_applies_to_each():
    cal = [["ALL", "Sale", dt.date(2026, 11, 1), dt.date(2026, 11, 10), 2]]
    row = one([*T, "US", "account", None, "Li", "ops", "gmv", 3000, 1, None, None], calendar=cal)
    # elapsed weight 20 of 20 + 20 = 40 → share 0.5
    assert row.projected_actual == pytest.approx(3000.0)


def test_complete_period_projects_actual():
    inputs2 = read_inputs(tables([[*T, "US", "account", None, "Li", "ops", "gmv", 3000, 1, None, None]]),
                          today=dt.date(2026, 12, 2))
    facts2 = build_facts(standard_batches(last_day=30), inputs2.settings, inputs2.products,
                         today=dt.date(2026, 12, 2))
    rows2, _ = evaluate_all(inputs2, facts2)
    assert rows2[0].actual == pytest.approx(4500.0)
    assert rows2[0].projected_actual == pytest.approx(4500.0)


def test_target_zero_for_higher_gives_blank_attainment_with_note():
    row = one([*T, "US", "account", None, "Li", "ops", "gmv", 0, 1, None, None])
    assert row.attainment is None
    assert "target ≤ 0" in row.note


def test_missing_actual_gives_blank_attainment_with_note():
    row = one([*T, "US", "account", None, "Li", "cs", "return_rate", 0.02, 1, None, None])
    assert row.actual is None and row.attainment is None
    assert "returns" in row.note


def test_score_weights_cap_and_bonus_tier():
    targets = [
        [*T, "US", "account", None, "Li Na", "ops", "gmv", 3000, 2, None, None],      # att 0.5, proj 1.5
        [*T, "US", "account", None, "Li Na", "ops", "cvr", 0.05, 1, None, None],      # att 0.8, proj 0.8
        [*T, "US", "tier", "new", "Li Na", "ops", "gmv", 400, 1, None, None],          # att 1.25, proj 3.75
        [*T, "US", "account", None, "Li Na", "ops", "return_rate", 0.02, 5, None, None],  # no actual: ignored
    ]
    inputs, facts, rows = run(targets, settings_rows=settings(attainment_cap=1.2))
    scores = score_owners(rows, inputs.tiers, inputs.settings, period_complete=False)
    (li,) = scores
    assert li.score == pytest.approx((2 * 0.5 + 0.8 + 1.2) / 4)
    assert li.projected_score == pytest.approx((2 * 1.2 + 0.8 + 1.2) / 4)   # 1.1 → tier "target"
    assert (li.tier, li.payout) == ("target", 1.0)
    assert li.kpis == 4 and li.outcome_kpis == 2 and li.process_kpis == 2
    assert any("without attainment" in f for f in li.flags)


def test_direction_override():
    row = one([*T, "US", "account", None, "Li", "ops", "units", 60, 1, "lower", None])
    assert row.attainment == pytest.approx(60 / 120)


def test_same_day_downloaded_twice_is_counted_once():
    d = days(1, 10)
    batches = [*standard_batches(), asin_daily("US/traffic-again", "US", "traffic",
                                               {A1: {"gmv": 100.0, "units": 10.0, "sessions": 200.0}},
                                               d[:3], fetched_at=5.0)]
    inputs, facts, rows = run([[*T, "US", "asin", A1, "Li", "ops", "gmv", 1, 1, None, None]], batches=batches)
    assert rows[0].actual == pytest.approx(1000.0)
    assert any("not counted twice" in c for c in facts.coverage)


def test_span_total_over_daily_files_is_not_double_counted():
    span = asin_span("US/month.csv", "US", "traffic", {A1: {"gmv": 99999.0, "units": 1.0}},
                     dt.date(2026, 11, 1), dt.date(2026, 11, 10))
    inputs, facts, rows = run([[*T, "US", "account", None, "Li", "ops", "gmv", 1, 1, None, None]],
                              batches=[*standard_batches(), span])
    assert rows[0].actual == pytest.approx(1500.0)
    assert any("US/month.csv" in c and "not used" in c for c in facts.coverage)


def test_undated_business_report_covers_the_period():
    span = asin_span("US/BusinessReport.csv", "US", "traffic",
                     {A1: {"gmv": 700.0, "units": 7.0, "sessions": 70.0}}, None, None)
    inputs, facts, rows = run([[*T, "US", "asin", A1, "Li", "ops", "gmv", 1400, 1, None, None]], batches=[span])
    assert rows[0].actual == pytest.approx(700.0)
    assert facts.data_through["US"] == dt.date(2026, 11, 10)     # yesterday
    assert any("no dates" in c for c in facts.coverage)


def test_span_reaching_outside_the_period_is_skipped_with_a_problem():
    span = asin_span("US/oct-nov.json", "US", "traffic", {A1: {"gmv": 1.0}}, dt.date(2026, 10, 20),
                     dt.date(2026, 11, 5))
    inputs, facts, rows = run([[*T, "US", "account", None, "Li", "ops", "gmv", 1, 1, None, None]],
                              batches=[span])
    assert any(p.where == "US/oct-nov.json" for p in facts.problems)


def test_gmv_tax_include_keeps_iva_and_missing_fx_is_reported():
    row = one([*T, "MX", "account", None, "Wang", "ops", "gmv", 1, 1, None, None],
              settings_rows=settings(gmv_tax="include"))
    assert row.actual == pytest.approx(870.0)        # (1160 + 580) × 10 / 20
    inputs = read_inputs(tables([]), today=TODAY)
    s = settings()
    s = [r for r in s if r[0] != "fx.MXN"]
    inputs = read_inputs(tables([[*T, "MX", "account", None, "W", "ops", "gmv", 1, 1, None, None]],
                                settings_rows=s), today=TODAY)
    facts = build_facts(standard_batches(), inputs.settings, inputs.products, today=TODAY)
    assert any(p.value == "fx.MXN" for p in facts.problems)
    rows, _ = evaluate_all(inputs, facts)
    assert rows[0].actual is None


def test_orders_report_tax_share_is_used_when_present():
    d = days(1, 10)
    orders = asin_daily("MX/orders.tsv", "MX", "orders",
                        {A1: {"order_sales": 1000.0, "order_tax": 100.0, "order_units": 5.0, "fba_units": 4.0}}, d,
                        currency="MXN")
    inputs, facts, rows = run([[*T, "MX", "asin", A1, "W", "ops", "gmv", 1, 1, None, None],
                               [*T, "MX", "asin", A1, "W", "warehouse", "fba_share", 0.9, 1, None, None]],
                              batches=[*standard_batches(), orders])
    assert rows[0].actual == pytest.approx(1160.0 * 0.9 * 10 / 20)   # 10 % tax share from the orders report
    assert rows[1].actual == pytest.approx(0.8)


def test_manual_actual_overrides_report_value_and_says_so():
    inputs, facts, rows = run(
        [[*T, "US", "account", None, "Li", "ops", "gmv", 3000, 1, None, None],
         [*T, "US", "account", None, "Li", "ops", "listing_update_rate", "95%", 1, None, None]],
        manual=[[None, "US", "account", None, "gmv", 2000, "finance", None],
                [None, "US", "account", None, "listing_update_rate", "90%", "tracker", None]])
    assert rows[0].actual == 2000 and rows[0].manual
    assert "overrides the report value 1500" in rows[0].note
    assert rows[1].actual == pytest.approx(0.9)
    assert rows[1].attainment == pytest.approx(0.9 / 0.95)


def test_account_only_kpi_on_asin_scope_is_a_cell_error():
    inputs = read_inputs(tables([[*T, "US", "asin", A1, "Carlos", "cs", "odr", 0.01, 1, None, None]]),
                         today=TODAY)
    assert inputs.targets == []
    assert any(p.where == "Targets!C2" and "account-health" in p.expected for p in inputs.problems)


def test_health_kpi_from_report():
    from sheets_sync.frames import ReportBatch

    h = ReportBatch(source="MX/perf.json", kind="test", family="health", marketplace="MX",
                    health={"odr": {"rate": 0.005, "count": 1, "orders": 200, "from": "2026-09-01",
                                    "to": "2026-10-30"}})
    row = one([*T, "MX", "account", None, "Carlos", "cs", "odr", 0.01, 1, None, None],
              batches=[*standard_batches(), h])
    assert row.actual == pytest.approx(0.005)
    assert row.attainment == pytest.approx(2.0)


def test_inventory_kpis():
    inv = asin_span("US/inv.tsv", "US", "inventory", {A1: {"fulfillable_units": 300.0}, A2: {"fulfillable_units": 0.0}},
                    None, None)
    inv.extras["snapshot"] = True
    batches = [*standard_batches(), inv]
    inputs, facts, rows = run([[*T, "US", "account", None, "Zhang", "warehouse", "days_of_cover", 45, 1, None, None],
                               [*T, "US", "account", None, "Zhang", "warehouse", "stockout_asins", 0, 1, None, None],
                               [*T, "US", "account", None, "Zhang", "warehouse", "inventory_turnover", 12, 1, None,
                                None]], batches=batches)
    # 120 units over 10 elapsed days = 12 a day; 300 fulfillable → 25 days; A2 sold with 0 fulfillable
    assert rows[0].actual == pytest.approx(25.0)
    assert rows[1].actual == 1.0 and A2 in rows[1].note
    assert rows[2].actual == pytest.approx(12 * 365 / 300)


def test_net_margin_and_unit_logistics_cost():
    inputs, facts, rows = run([[*T, "US", "account", None, "Chen", "manager", "net_margin", 0.1, 1, None, None],
                               [*T, "US", "account", None, "Zhang", "warehouse", "unit_logistics_cost", 2, 1, None,
                                None]])
    # G = 1500 (US excludes tax, no refunds); costs: A1 100 × (3+1+1) = 500, A2 20 × (10+2+3) = 300; ads 200
    assert rows[0].actual == pytest.approx((1500 - 500 - 300 - 200) / 1500)
    assert rows[1].actual == pytest.approx((100 * 1.0 + 20 * 2.0) / 120)


def test_unassigned_asins_are_tier_unassigned():
    extra = asin_daily("US/x", "US", "traffic", {"B0ZZZZZZZ9": {"gmv": 1.0, "units": 1.0}}, days(1, 10),
                       fetched_at=9)
    inputs, facts, rows = run([[*T, "US", "tier", "unassigned", "Li", "ops", "gmv", 1, 1, None, None]],
                              batches=[*standard_batches(), extra])
    assert rows[0].actual == pytest.approx(10.0)
    assert A3 not in facts.asin.loc["US"].index


def test_report_for_marketplace_not_in_settings_is_skipped():
    batches = standard_batches()
    inputs = read_inputs(tables([[*T, "US", "account", None, "Li", "ops", "gmv", 1, 1, None, None]],
                                settings_rows=settings(marketplaces="US")), today=TODAY)
    facts = build_facts(batches, inputs.settings, inputs.products, today=TODAY)
    assert any(p.where == "MX/traffic" and "not in Settings" in p.expected for p in facts.problems)


def test_by_month_report_is_skipped_with_a_reason():
    import pandas as pd

    from sheets_sync.frames import ReportBatch

    monthly = ReportBatch(source="US/by-month.csv", kind="business_by_month", family="traffic", marketplace="US",
                          daily_rows=pd.DataFrame({"date": [pd.Timestamp("2026-11-01")], "gmv": [9999.0]}),
                          extras={"granularity": "month"})
    inputs, facts, rows = run([[*T, "US", "account", None, "Li", "ops", "gmv", 1, 1, None, None]],
                              batches=[*standard_batches(), monthly])
    assert rows[0].actual == pytest.approx(1500.0)
    assert any(p.where == "US/by-month.csv" and "by Date" in p.expected for p in facts.problems)


def test_per_asin_facts_sum_each_family_then_across_families():
    """Traffic and ads rows of one ASIN land in one facts row; a metric no report has stays blank (NaN, not 0);
    the sku and title are the first non-empty ones in report order; an ASIN only one family has keeps the
    other family's metrics blank."""
    d = days(1, 2)
    traffic = asin_daily("US/traffic", "US", "traffic", {A1: {"gmv": 10.0, "units": 1.0}, A2: {"gmv": 4.0}}, d)
    traffic.asin_rows.loc[traffic.asin_rows["asin"] == A1, "title"] = ["", "Second title"]
    ads = asin_daily("US/ads", "US", "ads", {A1: {"ad_spend": 2.5, "ad_sales": float("nan")},
                                             A3: {"ad_spend": 1.0, "ad_sales": 3.0}}, d)
    ads.asin_rows["sku"] = "ADS-SKU"
    inputs = read_inputs(tables([], product_rows=[["marketplace", "asin", "sku"]]), today=TODAY)
    facts = build_facts([traffic, ads], inputs.settings, inputs.products, today=TODAY)
    a = facts.asin
    assert a.loc[("US", A1), "gmv"] == pytest.approx(20.0)
    assert a.loc[("US", A1), "ad_spend"] == pytest.approx(5.0)
    assert a.loc[("US", A1), "ad_sales"] != a.loc[("US", A1), "ad_sales"]          # all NaN → NaN
    assert a.loc[("US", A2), "ad_spend"] != a.loc[("US", A2), "ad_spend"]          # no ads rows → NaN
    assert a.loc[("US", A3), "gmv"] != a.loc[("US", A3), "gmv"]
    assert a.loc[("US", A3), "ad_sales"] == pytest.approx(6.0)
    assert a.loc[("US", A1), "title"] == "Second title"        # the first non-empty, traffic before ads
    assert a.loc[("US", A1), "sku"] == "ADS-SKU"               # traffic had none
    assert list(a.index.get_level_values(1)) == sorted([A1, A2, A3])


def test_clean_column_is_clean_of_every_value():
    floats = np.array([1.5, np.nan, np.inf, -np.inf, 0.0, -2.25])
    ints = np.array([3, 4], dtype=np.int64)
    objs = np.array(["a", None, np.float64("nan"), 7], dtype=object)
    for col in (floats, ints, objs, np.array([], dtype=float)):
        got = clean_column(col)
        assert got == [clean(v) for v in col]
        assert [type(v) for v in got] == [type(clean(v)) for v in col]
    assert clean_column(floats) == [1.5, None, None, None, 0.0, -2.25]
