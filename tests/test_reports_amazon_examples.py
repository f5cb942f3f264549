"""Amazon's own published documents (selling-partner-api-models, in tests/fixtures/amazon-models/): the example
reports parse with their granularity honoured, and the demo's generated documents validate against Amazon's
JSON schemas."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import jsonschema
import pytest

from sheets_sync.frames import RawReport
from sheets_sync.periods import parse_period
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.sources.parsing import parse_report

MODELS = Path(__file__).resolve().parent / "fixtures" / "amazon-models"


def parse(name: str) -> list:
    return parse_report(RawReport(name=name, data=(MODELS / name).read_bytes()))


def test_day_sku_example_gives_child_asin_totals_and_daily_account_rows():
    [b] = parse("GET_SALES_AND_TRAFFIC_REPORT.example-DAY-SKU.json")
    assert (b.marketplace, b.currency, b.start, b.end) == ("US", "USD", dt.date(2021, 6, 11), dt.date(2021, 6, 14))
    assert b.extras["asin_granularity"] == "SKU" and b.extras["date_granularity"] == "DAY"
    assert list(b.daily_rows["date"].dt.date) == [dt.date(2021, 6, 11) + dt.timedelta(days=i) for i in range(4)]
    assert b.daily_rows["gmv"].iloc[0] == pytest.approx(238.44)
    assert b.asin_rows["date"].isna().all()            # totals over 06-11..06-14
    assert set(b.asin_rows["asin"]) == {"B123456789", "B234567890", "B345678901"}


def test_sku_rows_of_one_child_asin_are_added_up():
    doc = json.loads((MODELS / "GET_SALES_AND_TRAFFIC_REPORT.example-DAY-SKU.json").read_text())
    twin = json.loads(json.dumps(doc["salesAndTrafficByAsin"][0]))
    twin["sku"] = "AB-OTHER-SKU"
    doc["salesAndTrafficByAsin"].append(twin)
    first = doc["salesAndTrafficByAsin"][0]
    [b] = parse_report(RawReport("x.json", json.dumps(doc).encode()))
    row = b.asin_rows.set_index("asin").loc[first["childAsin"]]
    assert row["units"] == 2 * first["salesByAsin"]["unitsOrdered"]
    assert len(b.asin_rows) == 3 and any("SKU rows added up" in w for w in b.warnings)


def test_week_example_is_a_range_total_over_whole_weeks_not_daily_rows():
    [b] = parse("GET_SALES_AND_TRAFFIC_REPORT.example-WEEK-CHILD.json")
    # requested 2021-06-11 (Fri) .. 06-14 (Mon); weeks run Sunday..Saturday: 06-06 .. 06-19
    assert (b.start, b.end) == (dt.date(2021, 6, 6), dt.date(2021, 6, 19))
    assert b.daily_rows.empty                            # two weekly totals are not days
    assert b.asin_rows["date"].isna().all() and len(b.asin_rows) == 3
    assert any("weekly totals" in w and "not used" in w for w in b.warnings)


def test_month_parent_example_keeps_no_parent_rows_as_child_asins():
    [b] = parse("GET_SALES_AND_TRAFFIC_REPORT.example-MONTH-PARENT.json")
    assert (b.start, b.end) == (dt.date(2021, 6, 1), dt.date(2021, 6, 30))
    assert b.asin_rows.empty and b.daily_rows.empty
    assert any("PARENT" in w and "not used" in w for w in b.warnings)
    assert any("monthly totals" in w for w in b.warnings)


def test_parent_rows_in_a_child_report_are_left_out():
    doc = json.loads((MODELS / "GET_SALES_AND_TRAFFIC_REPORT.example-WEEK-CHILD.json").read_text())
    doc["reportSpecification"]["reportOptions"]["dateGranularity"] = "DAY"
    del doc["salesAndTrafficByAsin"][0]["childAsin"]
    [b] = parse_report(RawReport("x.json", json.dumps(doc).encode()))
    assert len(b.asin_rows) == 2 and not (b.asin_rows["asin"] == doc["salesAndTrafficByAsin"][0]["parentAsin"]).any()


def test_seller_performance_example():
    [b] = parse("GET_V2_SELLER_PERFORMANCE_REPORT.example.json")
    assert (b.kind, b.marketplace) == ("seller_performance", "US")
    assert b.health["odr"]["orders"] > 0 and 0 <= b.health["odr"]["rate"] <= 1
    assert b.health["late_shipment_rate"]["rate"] is not None
    assert b.extras["account_status"] == "AT_RISK"


@pytest.fixture(scope="module")
def demo_documents(tmp_path_factory) -> list[tuple[str, dict]]:
    root = tmp_path_factory.mktemp("demo")
    period = parse_period("2026-11")
    write_demo_reports(root, period, {"US": dt.date(2026, 11, 3), "MX": dt.date(2026, 11, 3)})
    docs = []
    for f in sorted(root.rglob("*.json*")):
        data = f.read_bytes()
        doc = json.loads(gzip.decompress(data) if f.suffix == ".gz" else data)
        if isinstance(doc, dict):
            docs.append((f.name, doc))
    return docs


def test_demo_documents_validate_against_amazons_schemas(demo_documents):
    schemas = {"GET_SALES_AND_TRAFFIC": "sellerSalesAndTrafficReport.json",
               "GET_V2_SELLER_PERFORMANCE": "accountHealthReport-2020-11-18.json"}
    checked = {k: 0 for k in schemas}
    for name, doc in demo_documents:
        key = next(k for k in schemas if name.startswith(k))
        validator = jsonschema.Draft7Validator(json.loads((MODELS / schemas[key]).read_text()))
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, f"{name}: {errors[:3]}"
        checked[key] += 1
    assert checked["GET_SALES_AND_TRAFFIC"] >= 6 and checked["GET_V2_SELLER_PERFORMANCE"] == 2


def test_schema_check_can_fail(demo_documents):
    validator = jsonschema.Draft7Validator(json.loads((MODELS / "sellerSalesAndTrafficReport.json").read_text()))
    name, doc = next(d for d in demo_documents if d[0].startswith("GET_SALES_AND_TRAFFIC"))
    broken = json.loads(json.dumps(doc))
    del broken["salesAndTrafficByDate"][0]["salesByDate"]["unitsShipped"]
    assert list(validator.iter_errors(broken))
