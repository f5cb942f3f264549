"""Mercado Libre México (MLM) beside Amazon: every KPI per scope, computed by hand.

Data: the standard Amazon set (tests/builders.py: US, MX, days 1–10 of 2026-11) plus an MLM store, fx.MXN 20,
IVA 16 % (vat.MX and vat.MLM), per day on days 1–10:

* M1: gmv 580 MXN (IVA incl.) → 580/1.16/20 = 25 USD, units 2, orders 2, visits 100, cargo por venta 87 MXN
  (4.35 USD), envío 58 MXN (2.90 USD); Product Ads spend 40 MXN (2 USD), ad sales 160 MXN (8 USD),
  clicks 20, impressions 1000, 4 ad sales;
* M2: gmv 232 MXN → 10 USD, units 1, orders 1, visits 50, cargo 34.8 MXN (1.74 USD), envío 0;
* Full stock: M1 60 available, M2 0; reputation: claims 1 %, cancellations 0.5 %, delayed 8 %, level 5 (green),
  MercadoLíder 3 (platinum).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from builders import PRODUCTS_HEADER, asin_daily, days, products, settings, standard_batches, tables

from sheets_sync.compute.actuals import build_facts
from sheets_sync.compute.attainment import day_weights, evaluate_all
from sheets_sync.frames import ReportBatch
from sheets_sync.inputs import CalendarEvent, read_inputs

TODAY = dt.date(2026, 11, 11)
M1, M2 = "MLM1000000001", "MLM1000000002"
T = [None]
MLM_SALES = {M1: {"gmv": 580.0, "units": 2.0, "orders": 2.0, "ml_fees": 87.0, "ml_shipping_cost": 58.0},
             M2: {"gmv": 232.0, "units": 1.0, "orders": 1.0, "ml_fees": 34.8, "ml_shipping_cost": 0.0}}
MLM_VISITS = {M1: {"visits": 100.0}, M2: {"visits": 50.0}}
MLM_ADS = {M1: {"ad_spend": 40.0, "ad_sales": 160.0, "ad_clicks": 20.0, "ad_impressions": 1000.0, "ad_orders": 4.0}}


def mlm_settings(**kv):
    return settings(**{"marketplaces": "US, MX, MLM", "vat.MLM": 0.16, **kv})


def mlm_products():
    # unit_logistics_cost / unit_fees typed for MLM are replaced by the fees and shipping Mercado Libre reports
    return [*products(), ["MLM", M1, "ML-1", "mature", "Kitchen", "Ana", 5.0, 9.0, 9.0],
            ["MLM", M2, "ML-2", "new", "Home", "Ana", 2.0, 9.0, 9.0]]


def mlm_batches() -> list[ReportBatch]:
    d = days(1, 10)
    inv = pd.DataFrame([{"asin": M1, "sku": "ML-1", "title": "", "fulfillable_units": 60.0},
                        {"asin": M2, "sku": "ML-2", "title": "", "fulfillable_units": 0.0}])
    health = {"ml_claims_rate": {"rate": 0.01}, "ml_cancellations_rate": {"rate": 0.005},
              "ml_delayed_handling_rate": {"rate": 0.08}, "ml_reputation_level": {"rate": 5.0},
              "mercadolider_level": {"rate": 3.0}}
    return [*standard_batches(),
            asin_daily("MLM/ventas", "MLM", "traffic", MLM_SALES, d, currency="MXN"),
            asin_daily("MLM/visits", "MLM", "visits", MLM_VISITS, d),
            asin_daily("MLM/ads", "MLM", "ads", MLM_ADS, d, currency="MXN"),
            ReportBatch("MLM/full", "ml_full_stock", "inventory", "MLM", "MXN", asin_rows=inv, fetched_at=1.0),
            ReportBatch("MLM/reputation", "ml_reputation", "health", "MLM", health=health, fetched_at=1.0)]


def run(targets, **kw):
    inputs = read_inputs(tables(targets, settings_rows=kw.pop("settings_rows", mlm_settings()),
                                product_rows=mlm_products(), **kw), today=TODAY)
    facts = build_facts(mlm_batches(), inputs.settings, inputs.products, today=TODAY)
    rows, _ = evaluate_all(inputs, facts)
    return inputs, facts, rows


def actual(marketplace, kpi, scope="account", value=None):
    inputs, _, rows = run([[*T, marketplace, scope, value, "Ana", "ops", kpi, 1, 1, None, None]])
    assert len(rows) == 1, [str(p) for p in inputs.problems]
    return rows[0]


@pytest.mark.parametrize(("marketplace", "kpi", "expected"), [
    ("MLM", "gmv", 350.0),                       # (25 + 10) × 10
    ("MX-ALL", "gmv", 1100.0),                   # Amazon MX (50 + 25) × 10 + 350
    ("ALL", "gmv", 2600.0),                      # US (100 + 50) × 10 + 750 + 350
    ("MX", "gmv", 750.0),                        # Amazon MX alone: unchanged by the second store
    ("MLM", "units", 30.0),
    ("MX-ALL", "units", 100.0),                  # (5 + 2) × 10 + 30
    ("MLM", "orders", 30.0),
    ("MX-ALL", "orders", 100.0),
    ("MLM", "visits", 1500.0),
    ("MLM", "visit_conversion", 30 / 1500),      # orders ÷ visits
    ("MLM", "avg_price", 350 / 30),
    ("MX-ALL", "avg_price", 1100 / 100),
    ("MLM", "aov", 350 / 30),
    ("MLM", "ad_spend", 20.0),                   # 40 MXN / 20 × 10
    ("MLM", "ad_sales", 80.0),
    ("MLM", "acos", 0.25),
    ("MLM", "roas", 4.0),
    ("MX-ALL", "acos", (100 + 20) / (290 + 80)),  # Amazon MX 200 MXN spend, 580 MXN sales a day
    ("MX-ALL", "roas", (290 + 80) / (100 + 20)),
    ("MLM", "tacos", 20 / 350),
    ("MLM", "ctr", 200 / 10000),
    ("MLM", "cpc", 20 / 200),
    ("MLM", "days_of_cover", 60 / (30 / 10)),    # 60 available ÷ 3 units a day
    ("MLM", "stockout_asins", 1.0),              # M2 sold with 0 in Full
    ("MLM", "inventory_turnover", 3 * 365 / 60),
    ("MLM", "ad_cvr", 40 / 200),                 # Product Ads sales (direct + indirect) ÷ clicks
    ("MX-ALL", "ad_cvr", (40 + 10) / (200 + 100)),   # Amazon MX: 1 order, 10 clicks a day
    ("MLM", "ml_claims_rate", 0.01),
    ("MLM", "ml_cancellations_rate", 0.005),
    ("MLM", "ml_delayed_handling_rate", 0.08),
    ("MLM", "ml_reputation_level", 5.0),
    ("MLM", "mercadolider_level", 3.0),
])
def test_kpi_per_store_and_scope(marketplace, kpi, expected):
    row = actual(marketplace, kpi)
    assert row.actual == pytest.approx(expected), row.note


def test_scopes_below_account_on_mercado_libre():
    assert actual("MLM", "gmv", "asin", M1).actual == pytest.approx(250.0)
    assert actual("MLM", "units", "owner", "Ana").actual == pytest.approx(30.0)
    assert actual("MX-ALL", "gmv", "category", "Kitchen").actual == pytest.approx(500.0 + 250.0)   # MX A1 + M1
    assert actual("MX-ALL", "gmv", "tier", "new").actual == pytest.approx(100.0)                  # M2 only


def test_net_margin_uses_mercado_libre_fees_and_shipping():
    # G = 350 ex IVA; M1: 20 × 5 + 43.5 fees + 29 shipping; M2: 10 × 2 + 17.4 fees; ads 20 (Products' 9 + 9
    # per unit are replaced by what Mercado Libre charged)
    cost = 20 * 5 + 43.5 + 29 + 10 * 2 + 17.4
    assert actual("MLM", "net_margin").actual == pytest.approx((350 - cost - 20) / 350)


def test_mx_all_notes_which_stores_it_covers_and_paces_each_store():
    row = actual("MX-ALL", "gmv")
    assert "covers Amazon MX + Mercado Libre MX" in row.note
    # 10 of 30 plain days (no Calendar rows) in both stores
    assert row.projected_actual == pytest.approx(1100 * 3)


@pytest.mark.parametrize(("marketplace", "kpi", "fragment"), [
    ("MLM", "sessions", "use visits"),
    ("MLM", "cvr", "visit_conversion"),
    ("MLM", "buy_box_pct", "exists only on Amazon"),
    ("MLM", "fba_share", "exists only on Amazon"),
    ("MX", "visits", "exists only on Mercado Libre"),
    ("US", "visit_conversion", "cvr"),
    ("MX-ALL", "sessions", "use MX for sessions"),
    ("MX-ALL", "visits", "use MLM for visits"),
    ("ALL", "cvr", "includes Mercado Libre MX"),
])
def test_kpis_a_store_cannot_have_are_refused_with_their_address(marketplace, kpi, fragment):
    inputs, _, rows = run([[*T, marketplace, "account", None, "Ana", "ops", kpi, 1, 1, None, None]])
    assert rows == []          # never shown as zero
    problems = {p.where: str(p) for p in inputs.problems}
    assert "Targets!G2" in problems, problems
    assert fragment in problems["Targets!G2"]


def test_reputation_is_per_store_only():
    inputs, _, rows = run([[*T, "MX-ALL", "account", None, "Ana", "cs", "ml_claims_rate", 0.02, 1, None, None],
                           [*T, "MX", "account", None, "Ana", "cs", "ml_claims_rate", 0.02, 1, None, None]])
    assert rows == []
    problems = {p.where: str(p) for p in inputs.problems}
    assert "reported per marketplace" in problems["Targets!B2"]
    assert "exists only on Mercado Libre" in problems["Targets!G3"]


def test_existing_workbooks_are_unchanged():
    """No MLM in Settings: ALL means US + MX as before, an ALL sessions target is fine."""
    inputs, _, rows = run([[*T, "ALL", "account", None, "Li", "ops", "sessions", 1, 1, None, None],
                           [*T, "ALL", "account", None, "Li", "ops", "gmv", 1, 1, None, None],
                           [*T, "MX-ALL", "account", None, "Li", "ops", "gmv", 1, 1, None, None]],
                          settings_rows=settings())
    assert [r.actual for r in rows[:2]] == [pytest.approx(4500.0), pytest.approx(2250.0)]
    assert "covers" not in rows[1].note
    assert inputs.settings.definitions({}).count("stores") == 0
    assert len(rows) == 3      # MX-ALL covers Amazon MX alone here
    assert rows[2].actual == pytest.approx(750.0)


def test_definitions_line_names_the_stores():
    inputs, facts, _ = run([])
    line = inputs.settings.definitions(facts.data_through)
    assert "stores Amazon US + Amazon MX + Mercado Libre MX" in line


def test_products_take_mercado_libre_listing_ids():
    rows = [PRODUCTS_HEADER, ["MLM", "MLM1234567890", "S", "new", "", "", 1, None, None],
            ["MLM", "B0AAAAAAA1", "S", "new", "", "", 1, None, None]]
    inputs = read_inputs(tables([], settings_rows=mlm_settings(), product_rows=rows), today=TODAY)
    assert [p.asin for p in inputs.products] == ["MLM1234567890"]
    assert any(p.where == "Products!B3" and "MLM1234567890" in str(p) for p in inputs.problems)


def test_buen_fin_and_hot_sale_weigh_both_mexican_stores():
    period = [dt.date(2026, 11, d) for d in range(1, 31)]
    events = [CalendarEvent("MX", "Buen Fin", dt.date(2026, 11, 13), dt.date(2026, 11, 16), 3.0),
              CalendarEvent("MX", "Black Friday–Cyber Monday", dt.date(2026, 11, 27), dt.date(2026, 11, 30), 1.8),
              CalendarEvent("MLM", "Cyber Monday MLM", dt.date(2026, 11, 30), dt.date(2026, 11, 30), 2.0)]
    mlm, mx = day_weights(period, events, "MLM"), day_weights(period, events, "MX")
    assert mlm[12:16].tolist() == [3.0] * 4 and mx[12:16].tolist() == [3.0] * 4
    assert mlm[26] == 1.0 and mx[26] == 1.8            # an Amazon event stays Amazon's
    assert mlm[29] == 2.0 and mx[29] == 1.8
    hot = [CalendarEvent("MX-ALL", "Hot Sale", dt.date(2026, 11, 2), dt.date(2026, 11, 2), 2.0)]
    assert day_weights(period, hot, "MLM")[1] == 2.0 and day_weights(period, hot, "US")[1] == 1.0


def test_mx_all_paces_each_store_on_its_own_calendar_with_buen_fin_in_both():
    # data through day 10 of 30; Buen Fin (MX row) 13–16 × 3 weighs both stores: Σ weights 26 + 12 = 38,
    # elapsed 10 → projected = actual × 38 / 10 per store; MX-ALL adds the stores' projections
    cal = [["MX", "Buen Fin", dt.date(2026, 11, 13), dt.date(2026, 11, 16), 3]]
    _, _, rows = run([[*T, "MLM", "account", None, "Ana", "ops", "gmv", 1, 1, None, None],
                      [*T, "MX-ALL", "account", None, "Ana", "ops", "gmv", 1, 1, None, None]], calendar=cal)
    assert rows[0].projected_actual == pytest.approx(350 * 38 / 10)
    assert rows[1].projected_actual == pytest.approx((750 + 350) * 38 / 10)
