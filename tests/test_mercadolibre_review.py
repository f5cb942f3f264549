"""The review covers both Mexican stores: a miss in Mexico says how each store moved and which SKUs moved from
one store to the other (hand-computed), Mercado Libre's reputation reads as Mercado Libre's, Buen Fin weighs
both stores — in English, Spanish and Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import A1, PRODUCTS_HEADER, asin_daily, days, settings, tables

from sheets_sync.cli import demo_period
from sheets_sync.compute.actuals import build_facts
from sheets_sync.compute.attainment import evaluate_all
from sheets_sync.compute.review import Review
from sheets_sync.inputs import read_inputs
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.samples.mercadolibre import add_demo_rows, mlm_dataset, write_mlm_files
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import init_workbook, sync_workbook
from sheets_sync.template import load_template

M1 = "MLM1000000001"
TODAY = dt.date(2026, 11, 11)


def _review(targets, lang="en"):
    products = [PRODUCTS_HEADER, ["MX", A1, "MX-A1", "mature", "Kitchen", "Wang", 3.0, 1.0, 1.0],
                ["MLM", M1, "MX-A1", "mature", "Kitchen", "Ana", 3.0, None, None]]
    oct_days, nov_days = days(1, 10, month=10), days(1, 10)
    batches = [
        asin_daily("MX/oct", "MX", "traffic", {A1: {"gmv": 1160.0, "units": 5.0, "orders": 5.0, "sessions": 50.0}},
                   oct_days, currency="MXN"),
        asin_daily("MX/nov", "MX", "traffic", {A1: {"gmv": 464.0, "units": 2.0, "orders": 2.0, "sessions": 50.0}},
                   nov_days, currency="MXN"),
        asin_daily("MLM/oct", "MLM", "traffic", {M1: {"gmv": 232.0, "units": 1.0, "orders": 1.0}}, oct_days,
                   currency="MXN"),
        asin_daily("MLM/nov", "MLM", "traffic", {M1: {"gmv": 928.0, "units": 4.0, "orders": 4.0}}, nov_days,
                   currency="MXN"),
    ]
    inputs = read_inputs(tables(targets, settings_rows=settings(marketplaces="US, MX, MLM", language=lang),
                                product_rows=products), today=TODAY)
    facts = build_facts(batches, inputs.settings, inputs.products, today=TODAY)
    rows, ev = evaluate_all(inputs, facts)
    return rows, Review(inputs, facts, rows, TODAY, batches, ev).findings()


@pytest.mark.parametrize(("lang", "fragments"), [
    ("en", ["Amazon MX changed −30 and Mercado Libre +30", "SKU MX-A1: 30 from Amazon MX to Mercado Libre"]),
    ("es", ["Amazon México cambió −30 y Mercado Libre +30", "SKU MX-A1: 30 de Amazon México a Mercado Libre"]),
    ("zh", ["亚马逊墨西哥站变化 −30，美客多变化 +30", "SKU MX-A1：30 从亚马逊墨西哥站转到美客多"]),
])
def test_a_miss_in_mexico_names_the_units_that_moved_to_mercado_libre(lang, fragments):
    # Amazon MX sold 5 a day in October and 2 in November (−30 over 10 days); the same SKU on Mercado Libre
    # went from 1 to 4 a day (+30): 30 units moved from Amazon MX to Mercado Libre
    rows, findings = _review([[None, "MX", "account", None, "Wang", "ops", "units", 100, 1, None, None],
                              [None, "MX-ALL", "account", None, "Wang", "manager", "units", 300, 1, None, None]],
                             lang)
    assert [r.status for r in rows] == ["off track", "off track"]
    shift = [f for f in findings if f.key == "store_shift"]
    assert [f.marketplace for f in shift] == ["MX", "MX-ALL"]
    for f in shift:
        for frag in fragments:
            assert frag in f.finding, f.finding


def test_no_comparison_when_the_stores_did_not_trade_places():
    rows, findings = _review([[None, "MX", "account", None, "Wang", "ops", "units", 10, 1, None, None]])
    assert rows[0].status == "on track"
    assert not [f for f in findings if f.key == "store_shift"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    now = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)
    period = demo_period(now.date())
    prior = period.previous(1)
    write_demo_reports(root / "reports", prior, {"US": prior.end, "MX": prior.end}, seed=8)
    write_demo_reports(root / "reports", period, {"US": period.end, "MX": period.end}, seed=7)
    write_mlm_files(root / "reports" / "MLM", mlm_dataset(prior, prior.end, seed=8))
    write_mlm_files(root / "reports" / "MLM", mlm_dataset(period, period.end, seed=7))
    out = {}
    for lang in ("en", "es", "zh"):
        path = root / f"demo-{lang}.xlsx"
        init_workbook(XlsxWorkbook(path), today=period.start)
        add_demo_rows(path)
        import openpyxl

        wb = openpyxl.load_workbook(path)
        wb["Settings"].append(["language", lang, None])
        wb.save(path)
        res = sync_workbook(XlsxWorkbook(path), ReportFilesSource(root / "reports"), period=period.label, now=now)
        assert res.ok, res.error
        table = XlsxWorkbook(path).read_tabs(["Commentary"])["Commentary"]
        head = load_template().tab("Commentary").column_names      # headers are in the Settings language
        out[lang] = [dict(zip(head, r, strict=False)) for r in table[2:]]
    return out


@pytest.mark.parametrize(("lang", "moved", "reputation", "buen_fin"), [
    ("en", "was out of stock on Amazon MX (6 days), the same SKU MX-IT2-03 sold", "as reported by Mercado Libre",
     "Buen Fin"),
    ("es", "estuvo agotado en Amazon México (6 días), el mismo SKU MX-IT2-03 vendió", "según Mercado Libre",
     "Buen Fin"),
    ("zh", "在亚马逊墨西哥站断货期间（6 天），同一 SKU MX-IT2-03 在美客多比平时多卖了", "美客多报告", "Buen Fin"),
])
def test_the_demo_review_reads_right_across_both_stores(demo, lang, moved, reputation, buen_fin):
    rows = demo[lang]
    # the planted Amazon MX stockout: its buyers bought the same SKU on Mercado Libre
    assert [r for r in rows if r["marketplace"] == "MX-ALL" and moved in r["finding"]]
    # Mercado Libre's own planted problems: yellow reputation, a listing out of Full
    mlm = [r for r in rows if r["marketplace"] == "MLM"]
    assert any(reputation in (r["evidence"] or "") for r in mlm)
    assert not any("Amazon" in (r["evidence"] or "") for r in mlm if reputation in (r["evidence"] or ""))
    assert any("MLM2100000005" in r["finding"] for r in mlm)
    # Buen Fin weighs Mercado Libre's days too
    assert any(buen_fin in r["finding"] for r in mlm)
