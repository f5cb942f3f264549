"""Hand-made team tabs and report batches for compute tests (expected values are computed by hand)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sheets_sync.frames import ReportBatch

SETTINGS_HEADER = ["key", "value", "notes"]
TARGETS_HEADER = ["period", "marketplace", "scope", "scope_value", "owner", "role", "kpi", "target", "weight",
                  "direction", "notes"]
PRODUCTS_HEADER = ["marketplace", "asin", "sku", "tier", "category", "owner", "unit_cost", "unit_logistics_cost",
                   "unit_fees"]
TIERS = [["min_score", "tier", "payout"], [0, "none", 0], [0.8, "base", 0.5], [1.0, "target", 1.0],
         [1.2, "stretch", 1.3]]
A1, A2, A3 = "B0AAAAAAA1", "B0AAAAAAA2", "B0AAAAAAA3"


def settings(**kv) -> list[list]:
    base = {"period": "2026-11", "base_currency": "USD", "fx.MXN": 20, "gmv_tax": "exclude", "vat.MX": 0.16}
    base.update(kv)
    return [SETTINGS_HEADER, *[[k, v, None] for k, v in base.items()]]


def products() -> list[list]:
    return [PRODUCTS_HEADER,
            ["US", A1, "US-A1", "mature", "Kitchen", "Li Na", 3.0, 1.0, 1.0],
            ["US", A2, "US-A2", "new", "Home", "Li Na", 10.0, 2.0, 3.0],
            ["MX", A1, "MX-A1", "mature", "Kitchen", "Wang Lei", 3.0, 1.0, 1.0],
            ["MX", A3, "MX-A3", "clearance", "Home", "Wang Lei", 2.0, 1.0, 1.0]]


def tables(targets: list[list], *, settings_rows=None, calendar=None, manual=None, product_rows=None) -> dict:
    return {
        "Settings": settings_rows or settings(),
        "Targets": [TARGETS_HEADER, *targets],
        "Products": product_rows or products(),
        "Manual Actuals": [["period", "marketplace", "scope", "scope_value", "kpi", "actual", "source", "notes"],
                           *(manual or [])],
        "Benchmarks": [["marketplace", "category", "kpi", "benchmark", "source"]],
        "Bonus Tiers": TIERS,
        "Calendar": [["marketplace", "event", "start", "end", "sales_multiplier"], *(calendar or [])],
    }


def days(first: int, last: int, month: int = 11) -> list[dt.date]:
    return [dt.date(2026, month, d) for d in range(first, last + 1)]


def asin_daily(source: str, marketplace: str, family: str, per_day: dict[str, dict[str, float]],
               day_list: list[dt.date], currency: str | None = None, fetched_at: float = 1.0) -> ReportBatch:
    rows = []
    for d in day_list:
        for asin, metrics in per_day.items():
            rows.append({"date": pd.Timestamp(d), "asin": asin, "sku": "", "title": f"Title {asin}",
                         "parent_asin": "", **metrics})
    return ReportBatch(source=source, kind="test", family=family, marketplace=marketplace, currency=currency,
                       start=day_list[0], end=day_list[-1], asin_rows=pd.DataFrame(rows), fetched_at=fetched_at)


def asin_span(source: str, marketplace: str, family: str, totals: dict[str, dict[str, float]],
              start: dt.date | None, end: dt.date | None, fetched_at: float = 1.0) -> ReportBatch:
    rows = [{"date": pd.NaT, "asin": a, "sku": "", "title": "", "parent_asin": "", **m} for a, m in totals.items()]
    return ReportBatch(source=source, kind="test", family=family, marketplace=marketplace, start=start, end=end,
                       asin_rows=pd.DataFrame(rows), fetched_at=fetched_at)


US_TRAFFIC = {A1: {"gmv": 100.0, "units": 10.0, "orders": 9.0, "sessions": 200.0, "page_views": 300.0,
                   "buy_box_views": 270.0},
              A2: {"gmv": 50.0, "units": 2.0, "orders": 2.0, "sessions": 100.0, "page_views": 120.0,
                   "buy_box_views": 60.0}}
MX_TRAFFIC = {A1: {"gmv": 1160.0, "units": 5.0, "orders": 5.0, "sessions": 100.0, "page_views": 150.0,
                   "buy_box_views": 150.0},
              A3: {"gmv": 580.0, "units": 2.0, "orders": 2.0, "sessions": 50.0, "page_views": 60.0,
                   "buy_box_views": 30.0}}
US_ADS = {A1: {"ad_spend": 20.0, "ad_sales": 80.0, "ad_clicks": 40.0, "ad_impressions": 4000.0, "ad_orders": 4.0,
               "ad_units": 4.0}}
MX_ADS = {A1: {"ad_spend": 200.0, "ad_sales": 580.0, "ad_clicks": 10.0, "ad_impressions": 1000.0,
               "ad_orders": 1.0, "ad_units": 1.0}}


def standard_batches(last_day: int = 10) -> list[ReportBatch]:
    d = days(1, last_day)
    return [asin_daily("US/traffic", "US", "traffic", US_TRAFFIC, d),
            asin_daily("MX/traffic", "MX", "traffic", MX_TRAFFIC, d),
            asin_daily("US/ads", "US", "ads", US_ADS, d, currency="USD"),
            asin_daily("MX/ads", "MX", "ads", MX_ADS, d, currency="MXN")]


REVIEW_DAY = dt.date(2026, 11, 11)


def tgt(mk, scope, value, owner, role, kpi, target, weight=1) -> list:
    """A Targets row (no period, direction or notes)."""
    return [None, mk, scope, value, owner, role, kpi, target, weight, None, None]


def review(targets, batches=None, today=REVIEW_DAY, benchmarks=None, **kw):
    """The review of ``targets`` over ``batches`` (default: the standard batches), as a sync would build it."""
    from sheets_sync.compute.actuals import build_facts
    from sheets_sync.compute.attainment import evaluate_all
    from sheets_sync.compute.review import Review
    from sheets_sync.inputs import read_inputs

    tabs = tables(targets, **kw)
    if benchmarks:
        tabs["Benchmarks"] = [tabs["Benchmarks"][0], *benchmarks]
    inputs = read_inputs(tabs, today=today)
    batches = standard_batches() if batches is None else batches
    facts = build_facts(batches, inputs.settings, inputs.products, today=today)
    rows, ev = evaluate_all(inputs, facts)
    return Review(inputs, facts, rows, today, batches, ev)
