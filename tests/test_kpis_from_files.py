"""Every report-fed KPI from hand-made report files in Amazon's exact formats, through the real sync.

US: two daily GET_SALES_AND_TRAFFIC_REPORT files for ASIN A1 (day 1: gmv 300, units 10, sessions 100, page
views 150, Buy Box 90 %, 1 unit refunded; day 2: gmv 200, units 5, sessions 100, page views 100, Buy Box 100 %)
and an Ads API spAdvertisedProduct file (cost 10 + 10, sales7d 40 + 20, clicks 20 + 10, impressions 1000 +
1000, purchases7d 2 + 1).
MX (MXN, fx 20): S&T for A1 (day 1: 1160 MXN, 2 units, 40 sessions; day 2: 2320 MXN, 4 units, 60 sessions), the
all-orders TSV with IVA in item-tax (160 + 320), one FBA line and one merchant line, the FBA inventory TSV
(30 fulfillable), the returns TSV (1 unit), the seller performance JSON (ODR 0.004).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from builders import A1, settings, tables

from sheets_sync.samples import amazon as samples
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import sync_workbook

NOW = dt.datetime(2026, 11, 3, 18, 0, tzinfo=dt.UTC)   # data through 2026-11-02
ORDERS_HEADER = "\t".join(samples.ORDERS_HEADER)
INVENTORY_HEADER = "\t".join(samples.INVENTORY_HEADER[:18])     # the classic 18-column layout
RETURNS_HEADER = "\t".join(samples.RETURNS_HEADER)


def st(mid, cur, day, gmv, units, sessions, pv, bb, refunded):
    sales = {"orderedProductSales": {"amount": gmv, "currencyCode": cur}, "unitsOrdered": units,
             "totalOrderItems": units, "unitsRefunded": refunded, "refundRate": 0.0}
    traffic = {"sessions": sessions, "pageViews": pv, "buyBoxPercentage": bb, "unitSessionPercentage": 0.0}
    return {"reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT", "dataStartTime": day,
                                    "dataEndTime": day, "marketplaceIds": [mid],
                                    "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"}},
            "salesAndTrafficByDate": [{"date": day, "salesByDate": sales, "trafficByDate": traffic}],
            "salesAndTrafficByAsin": [{"parentAsin": A1, "childAsin": A1,
                                       "salesByAsin": {"orderedProductSales": {"amount": gmv, "currencyCode": cur},
                                                       "unitsOrdered": units, "totalOrderItems": units},
                                       "trafficByAsin": {"sessions": sessions, "pageViews": pv,
                                                         "buyBoxPercentage": bb}}]}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    us, mx = root / "US", root / "MX"
    us.mkdir()
    mx.mkdir()
    (us / "st-1.json").write_text(json.dumps(st("ATVPDKIKX0DER", "USD", "2026-11-01", 300.0, 10, 100, 150, 90.0, 1)))
    (us / "st-2.json.gz").write_bytes(gzip.compress(json.dumps(
        st("ATVPDKIKX0DER", "USD", "2026-11-02", 200.0, 5, 100, 100, 100.0, 0)).encode()))
    ads = [{"date": f"2026-11-0{d}", "advertisedAsin": A1, "advertisedSku": "US-A1", "campaignBudgetCurrencyCode": "USD",
            "cost": 10.0, "sales7d": s, "sales14d": s, "clicks": c, "impressions": 1000, "purchases7d": p,
            "purchases14d": p, "unitsSoldClicks7d": p, "unitsSoldClicks14d": p}
           for d, s, c, p in ((1, 40.0, 20, 2), (2, 20.0, 10, 1))]
    (us / "ads.json").write_text(json.dumps(ads))
    (mx / "st-1.json").write_text(json.dumps(st("A1AM78C64UM0Y8", "MXN", "2026-11-01", 1160.0, 2, 40, 40, 100.0, 0)))
    (mx / "st-2.json").write_text(json.dumps(st("A1AM78C64UM0Y8", "MXN", "2026-11-02", 2320.0, 4, 60, 60, 100.0, 0)))
    blank = "\t" * 4
    lines = [ORDERS_HEADER,
             f"701-1\t\t2026-11-01T18:00:00+00:00\t2026-11-01T19:00:00+00:00\tShipped\tAmazon\tAmazon.com.mx\t\t\t"
             f"Standard\tLicuadora Portátil\tMX-A1\t{A1}\tShipped\t2\tMXN\t1160.00\t160.00\t0.00\t0.00{blank}"
             "MONTERREY\tNUEVO LEÓN\t64000\tMX\t\tfalse\t\t",
             f"701-2\t\t2026-11-03T04:30:00+00:00\t2026-11-03T05:00:00+00:00\tShipped\tMerchant\tAmazon.com.mx\t\t\t"
             f"Standard\tLicuadora Portátil\tMX-A1\t{A1}\tShipped\t4\tMXN\t2320.00\t320.00\t0.00\t0.00{blank}"
             "CIUDAD DE MÉXICO\tCDMX\t06600\tMX\t\tfalse\t\t"]
    (mx / "orders.tsv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    (mx / "inventory.tsv").write_text(
        INVENTORY_HEADER + f"\nMX-A1\tX001\t{A1}\tLicuadora\tNew\t580.00\tNo\t\tYes\t40\t30\t0\t10\t40\t0.1\t0\t5\t0\n")
    (mx / "returns.tsv").write_text(
        RETURNS_HEADER + f"\n2026-11-02T20:00:00+00:00\t701-1\tMX-A1\t{A1}\tX001\tLicuadora\t1\tMEX1\tSELLABLE\t"
        "NOT_COMPATIBLE\tUnit returned to inventory\tLPN1\tNo era lo que esperaba\n")
    odr = {"reportingDateRange": {"reportingDateFrom": "2026-09-01T00:00Z", "reportingDateTo": "2026-10-30T23:59Z"},
           "orderCount": 500, "orderWithDefects": {"count": 2, "status": "GOOD"}, "claims": {"count": 1},
           "chargebacks": {"count": 0}, "negativeFeedback": {"count": 1}, "rate": 0.004, "status": "GOOD",
           "targetValue": 0.01, "targetCondition": "LESS_THAN"}
    (mx / "performance.json").write_text(json.dumps({
        "accountStatuses": [{"marketplaceId": "A1AM78C64UM0Y8", "status": "NORMAL"}],
        "performanceMetrics": [{"marketplaceId": "A1AM78C64UM0Y8", "orderDefectRate": {"afn": odr}}]}))
    return root


KPIS = [("US", "gmv"), ("MX", "gmv"), ("ALL", "gmv"), ("US", "units"), ("US", "cvr"), ("US", "buy_box_pct"),
        ("US", "refund_rate"), ("US", "acos"), ("US", "roas"), ("US", "cpc"), ("US", "ctr"), ("US", "ad_cvr"),
        ("US", "tacos"), ("MX", "fba_share"), ("MX", "days_of_cover"), ("MX", "return_rate"), ("MX", "odr"),
        ("MX", "a_to_z_rate"), ("MX", "aov")]


def actuals(reports, **settings_kw):
    targets = [[None, mk, "account", None, "Li Na", "ops", kpi, 1, 1, None, None] for mk, kpi in KPIS]
    wb = MemoryWorkbook(tables(targets, settings_rows=settings(**settings_kw)))
    res = sync_workbook(wb, ReportFilesSource(reports), now=NOW)
    assert res.ok, res.problems
    return {(r["marketplace"], r["kpi"]): r["actual"] for r in wb.generated_rows("Attainment")}, res


@pytest.mark.parametrize(("tax", "refunds", "us_gmv", "mx_gmv"), [
    ("exclude", "gross", 500.0, 3000.0 / 20),           # MX: 3480 less the orders report's IVA share (480)
    ("include", "gross", 500.0, 3480.0 / 20),
    ("exclude", "net", 500.0 - 500.0 / 15, 3000.0 / 20),  # US: 1 refunded unit × ASP 500/15
    ("include", "net", 500.0 - 500.0 / 15, 3480.0 / 20),
])
def test_gmv_on_each_tax_and_refund_basis(reports, tax, refunds, us_gmv, mx_gmv):
    got, _ = actuals(reports, gmv_tax=tax, gmv_refunds=refunds)
    assert got[("US", "gmv")] == pytest.approx(us_gmv)
    assert got[("MX", "gmv")] == pytest.approx(mx_gmv)
    assert got[("ALL", "gmv")] == pytest.approx(us_gmv + mx_gmv)
    assert got[("US", "tacos")] == pytest.approx(20.0 / us_gmv)


def test_every_other_kpi(reports):
    got, res = actuals(reports)
    expected = {
        ("US", "units"): 15.0, ("US", "cvr"): 15 / 200, ("US", "buy_box_pct"): (150 * 0.9 + 100) / 250,
        ("US", "refund_rate"): 1 / 15, ("US", "acos"): 20 / 60, ("US", "roas"): 3.0, ("US", "cpc"): 20 / 30,
        ("US", "ctr"): 30 / 2000, ("US", "ad_cvr"): 3 / 30,
        ("MX", "fba_share"): 2 / 6, ("MX", "days_of_cover"): 30 / (6 / 2), ("MX", "return_rate"): 1 / 6,
        ("MX", "odr"): 0.004, ("MX", "a_to_z_rate"): 1 / 500, ("MX", "aov"): 150.0 / 6,
    }
    for key, want in expected.items():
        assert got[key] == pytest.approx(want), key


def test_sync_log_says_which_file_supplied_which_days(reports):
    wb = MemoryWorkbook(tables([[None, "US", "account", None, "Li", "ops", "gmv", 1, 1, None, None]]))
    sync_workbook(wb, ReportFilesSource(reports), now=NOW)
    messages = [r["message"] for r in wb.generated_rows("Sync Log")]
    assert any("US/st-2.json.gz" in m and "2026-11-02" in m for m in messages)
    assert any("MX/inventory.tsv" in m for m in messages)


def test_provisional_days_are_marked_in_daily_and_the_sync_log(reports):
    from sheets_sync.frames import RawReport
    from sheets_sync.sources.base import Source

    class LatestDayNotFinal(Source):
        """The file source, but the API says the last day is not final yet."""

        def collect(self, request):
            for raw in ReportFilesSource(reports).collect(request):
                yield RawReport(raw.name, raw.data, raw.marketplace_hint, raw.fetched_at,
                                provisional_days=frozenset({dt.date(2026, 11, 2)}))

    wb = MemoryWorkbook(tables([[None, "US", "account", None, "Li", "ops", "gmv", 1, 1, None, None]]))
    sync_workbook(wb, LatestDayNotFinal(), now=NOW)
    daily = {(r["marketplace"], r["date"]): r["provisional"] for r in wb.generated_rows("Daily")}
    assert daily[("US", dt.date(2026, 11, 2))] == "provisional"
    assert daily[("US", dt.date(2026, 11, 1))] == ""
    assert any("2026-11-02 provisional" in r["message"] for r in wb.generated_rows("Sync Log"))


def test_actuals_show_the_top_return_reason(reports):
    wb = MemoryWorkbook(tables([[None, "MX", "account", None, "Li", "ops", "gmv", 1, 1, None, None]]))
    sync_workbook(wb, ReportFilesSource(reports), now=NOW)
    rows = {(r["marketplace"], r["asin"]): r for r in wb.generated_rows("Actuals")}
    assert rows[("MX", A1)]["top_return_reason"] == "NOT_COMPATIBLE (1 of 1)"
    assert rows[("MX", A1)]["units_returned"] == 1
    assert rows[("MX", "ALL")]["gmv"] == pytest.approx(150.0)
