"""Walmart's KPIs mapped honestly, US-ALL and MX-ALL across every store, Walmart's downloads recognised by content,
the review in en/zh/es naming Walmart items by listing name, and `connect walmart`."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import stat

import pytest
from builders import PRODUCTS_HEADER, TARGETS_HEADER, settings, tables

from sheets_sync.cli import main
from sheets_sync.connections import load_connection
from sheets_sync.frames import RawReport
from sheets_sync.inputs import read_inputs
from sheets_sync.periods import parse_period
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.samples.walmart import (
    ITEMS_MX,
    ITEMS_US,
    STOCKOUT_US,
    ad_csv,
    ad_rows,
    truth,
    wm_dataset,
    write_wm_files,
)
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sources.parsing import parse_report
from sheets_sync.stores import available, members, refusal
from sheets_sync.sync import sync_workbook
from sheets_sync.testing.walmart_server import mx_orders_page

PERIOD = parse_period("2026-11")
THROUGH = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 21, 18, 0, tzinfo=dt.UTC)
FX = 20.0       # builders.settings' fx.MXN


@pytest.mark.parametrize(("kpi", "code", "fragment"), [
    ("sessions", "WMUS", "on Walmart US use page_views"),
    ("cvr", "WMUS", "page_view_conversion"),
    ("fba_share", "WMUS", "use wfs_share"),
    ("wfs_share", "US", "exists only on Walmart"),
    ("wfs_share", "US-ALL", "use WMUS for wfs_share"),
    ("cancel_rate", "WMUS", "use wm_cancellation_rate"),
    ("wm_valid_tracking_rate", "WMMX", "exists only on Walmart US"),
    ("page_views", "WMMX", "Walmart MX does not report it"),
    ("visits", "WMUS", "exists only on Mercado Libre"),
])
def test_a_kpi_a_walmart_store_cannot_have_is_refused_with_what_to_use(kpi, code, fragment):
    why = refusal(kpi, code, ["US", "MX", "MLM", "WMUS", "WMMX"])
    assert why is not None and fragment in why


def test_what_walmart_has():
    for kpi in ("gmv", "units", "orders", "aov", "refund_rate", "wfs_share", "roas", "acos", "page_views",
                "stockout_asins", "wm_on_time_delivery_rate"):
        assert available(kpi, "WMUS"), kpi
    assert members("US-ALL", ["US", "MX", "WMUS"]) == ["US", "WMUS"]
    assert members("MX-ALL", ["US", "MX", "MLM", "WMUS", "WMMX"]) == ["MX", "MLM", "WMMX"]


def _mx_files(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"walmartOrders": {"market": "mx"}, "pages": {"SellerFulfilled": [mx_orders_page(data, False)],
                                                          "WFS": [mx_orders_page(data, True)]}}
    (folder / "pedidos_walmart.json").write_text(json.dumps(doc), encoding="utf-8")


def _products():
    return [PRODUCTS_HEADER, *[["WMUS", sku, sku, tier, cat, owner, cost, None, None]
                               for sku, _, _, cat, tier, owner, _, cost in ITEMS_US],
            *[["WMMX", sku, sku, tier, cat, owner, cost, None, None] for sku, _, _, cat, tier, owner, _, cost in
              ITEMS_MX]]


def test_us_all_and_mx_all_include_walmart(tmp_path):
    reports = tmp_path / "reports"
    summary = write_demo_reports(reports, PERIOD, {"US": THROUGH, "MX": THROUGH}, seed=3)
    us, mx = wm_dataset(PERIOD, THROUGH, seed=3), wm_dataset(PERIOD, THROUGH, seed=3, market="mx")
    write_wm_files(reports / "WMUS", us, api_orders=True)
    _mx_files(reports / "WMMX", mx)
    rows = [[None, m, "account", None, "Wang", "manager", "gmv", 1, 1, None, None]
            for m in ("US", "MX", "WMUS", "WMMX", "US-ALL", "MX-ALL", "ALL")]
    rows.append([None, "US-ALL", "account", None, "Wang", "ops", "units", 1, 1, None, None])
    t = tables([], settings_rows=settings(marketplaces="US, MX, WMUS, WMMX"), product_rows=_products())
    t["Targets"] = [TARGETS_HEADER, *rows]
    wb = MemoryWorkbook(t)
    res = sync_workbook(wb, ReportFilesSource(reports), now=NOW)
    assert res.ok, res.error
    got = {(r["marketplace"], r["kpi"]): r for r in wb.generated_rows("Attainment")}
    gmv = {m: got[(m, "gmv")]["actual"] for m in ("US", "MX", "WMUS", "WMMX", "US-ALL", "MX-ALL", "ALL")}
    assert gmv["WMUS"] == pytest.approx(truth(us)["gmv"], abs=1e-6)
    assert gmv["WMMX"] == pytest.approx((truth(mx)["gmv"] - truth(mx)["tax"]) / FX, abs=1e-6)
    assert gmv["US-ALL"] == pytest.approx(gmv["US"] + gmv["WMUS"], abs=1e-6)
    assert gmv["MX-ALL"] == pytest.approx(gmv["MX"] + gmv["WMMX"], abs=1e-6)
    assert gmv["ALL"] == pytest.approx(gmv["US-ALL"] + gmv["MX-ALL"], abs=1e-6)
    assert got[("US-ALL", "units")]["actual"] == pytest.approx(
        summary["truth"]["US"]["units"] + truth(us)["units"], abs=1e-6)
    assert "covers Amazon US + Walmart US" in got[("US-ALL", "gmv")]["note"]
    title = wb.written["Attainment"].title
    assert "Walmart US days: UTC" in title and "Walmart ads 14d attribution" in title


@pytest.mark.parametrize("name", ["ItemPerformance.csv", "report.txt", "download", "item_perf.csv.gz"])
def test_the_item_performance_report_is_recognised_by_content(tmp_path, name):
    data = wm_dataset(PERIOD, THROUGH, seed=2)
    files = write_wm_files(tmp_path, data)
    raw = files[0].read_bytes()
    raw = gzip.compress(raw) if name.endswith(".gz") else raw
    batches = parse_report(RawReport(name=name, data=raw, marketplace_hint="WMUS"))
    kinds = {b.kind for b in batches}
    assert kinds == {"wm_item_performance", "wm_item_page_views"}
    traffic = next(b for b in batches if b.family == "traffic")
    assert traffic.extras["item_skus"]["5100000201"] == "WM-BCB-02"     # Item ID ↔ SKU ID, for the ads


def test_an_item_performance_report_without_days_is_refused_with_what_to_download():
    text = "Product Name,Item ID,SKU ID,GMV\r\nBamboo,5100000201,WM-BCB-02,12.5\r\n"
    with pytest.raises(Exception, match="daily"):
        parse_report(RawReport(name="ip.csv", data=text.encode(), marketplace_hint="WMUS"))


def test_ad_rows_join_their_listing_through_the_item_performance_report(tmp_path):
    data = wm_dataset(PERIOD, THROUGH, seed=2)
    folder = tmp_path / "reports" / "WMUS"
    folder.mkdir(parents=True)
    (folder / "snapshot.csv.gz").write_bytes(gzip.compress(ad_csv(ad_rows(data)).encode()))
    t = tables([[None, "WMUS", "asin", "WM-BCB-02", "Emily", "ads", "ad_spend", 1, 1, None, None]],
               settings_rows=settings(marketplaces="WMUS"), product_rows=_products())
    alone = MemoryWorkbook(t)
    assert sync_workbook(alone, ReportFilesSource(tmp_path / "reports"), now=NOW).ok
    assert next(iter(alone.generated_rows("Attainment")))["actual"] is None      # item ids only: not joined
    write_wm_files(folder, data)
    joined = MemoryWorkbook(t)
    assert sync_workbook(joined, ReportFilesSource(tmp_path / "reports"), now=NOW).ok
    want = sum(a["spend"] for a in data["ads"] if a["sku"] == "WM-BCB-02")
    assert next(iter(joined.generated_rows("Attainment")))["actual"] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("lang", ["en", "zh", "es"])
def test_the_review_names_walmart_items_by_listing_in_every_language(tmp_path, lang):
    data = wm_dataset(PERIOD, THROUGH, seed=4)
    write_wm_files(tmp_path / "reports" / "WMUS", data, api_orders=True)
    targets = [[None, "WMUS", "account", None, "Emily", "warehouse", "stockout_asins", 0, 1, None, None],
               [None, "WMUS", "account", None, "Emily", "cs", "wm_valid_tracking_rate", 0.99, 1, None, None]]
    t = tables(targets, settings_rows=settings(marketplaces="US, WMUS", language=lang), product_rows=_products())
    wb = MemoryWorkbook(t)
    assert sync_workbook(wb, ReportFilesSource(tmp_path / "reports"), now=NOW).ok
    name = next(it[2] for it in ITEMS_US if it[0] == STOCKOUT_US)
    cells = [str(c) for tab in ("Attainment", "Commentary") for row in wb.tabs[tab] for c in row if c]
    assert any(name in c for c in cells)                    # the listing name, not a bare SKU
    assert not any(f"{STOCKOUT_US} “" in c for c in cells)  # never "SKU “title”" (the ASIN style)
    title = wb.written["Commentary"].title       # the review's definitions line, in the Settings language
    store = {"en": "Walmart US", "zh": "沃尔玛美国站", "es": "Walmart Estados Unidos"}[lang]
    window = {"en": "14d", "zh": "14 天", "es": "14 días"}[lang]
    assert store in title and window in title
    if lang != "en":
        commentary = " ".join(cells)
        assert "What to do" not in commentary and "as reported by Walmart" not in commentary


def test_a_failed_family_reads_in_the_teams_language():
    from sheets_sync.localize import translator

    line = ("WMUS: Walmart could not give its returns figures: Walmart /v3/returns: HTTP 403 FORBIDDEN; "
            "left blank, the other Walmart figures written")
    zh, es = translator("zh").line(line), translator("es").line(line)
    assert "沃尔玛未能提供退货数据" in zh and "已写入" in zh
    assert "devoluciones" in es and "se escribieron" in es


def test_walmart_ids_are_accepted_in_products_and_targets():
    t = tables([[None, "WMUS", "asin", "wm-bcb-02", "Emily", "ops", "units", 1, 1, None, None]],
               settings_rows=settings(marketplaces="WMUS"), product_rows=_products())
    inputs = read_inputs(t, today=dt.date(2026, 11, 21))
    assert not [p for p in inputs.problems if p.severity == "error"], [str(p) for p in inputs.problems]
    assert inputs.targets[0].scope_value == "WM-BCB-02"


def test_connect_walmart_stores_the_keys_privately_and_never_prints_them(tmp_path, monkeypatch, capsys):
    import io

    monkeypatch.setenv("SHEETS_SYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("sys.stdin", io.StringIO("the-secret-value-0987\n"))
    assert main(["connect", "walmart", "--client-id", "cid-123456", "--no-check"]) == 0
    out = capsys.readouterr()
    assert "the-secret-value-0987" not in out.out + out.err
    path = tmp_path / "data" / "connections" / "walmart.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_connection(tmp_path / "data", "walmart")["us"]["client_secret"] == "the-secret-value-0987"

    from sheets_sync.sources.walmart import credentials_from

    stored = load_connection(tmp_path / "data", "walmart")
    assert credentials_from({}, stored)["us"].client_id == "cid-123456"
    env = {"WALMART_CLIENT_ID": "from-env", "WALMART_CLIENT_SECRET": "s-from-env"}
    assert credentials_from(env, stored)["us"].client_id == "from-env"       # the environment wins
    assert "the-secret" not in repr(credentials_from({}, stored)["us"])


def test_walmart_alone_needs_no_amazon_variables(tmp_path):
    from sheets_sync.config import Config, WorkbookConfig
    from sheets_sync.sources.walmart import WalmartSource
    from sheets_sync.sync import open_source

    cfg = Config(data_dir=tmp_path, env={"WALMART_CLIENT_ID": "a", "WALMART_CLIENT_SECRET": "b"})
    src = open_source(cfg, WorkbookConfig(name="w", backend="xlsx", path=tmp_path / "w.xlsx", source="amazon"))
    assert isinstance(src, WalmartSource)
