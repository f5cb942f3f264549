"""Every file the demo generator writes parses back to the generator's own ground truth; the benchmark workload
parses fast."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from sheets_sync.frames import FAMILIES, RawReport
from sheets_sync.periods import parse_period, seeded_events
from sheets_sync.samples.amazon import load_products, write_demo_reports, write_large_workload
from sheets_sync.sources.parsing import parse_report

PERIOD = parse_period("2026-11")
THROUGH = {"US": dt.date(2026, 11, 30), "MX": dt.date(2026, 11, 28)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    summary = write_demo_reports(root, PERIOD, THROUGH, seed=7)
    batches = {mp: [b for f in files for b in parse_report(RawReport(f, (root / f).read_bytes(), marketplace_hint=mp))]
               for mp, files in summary["files"].items()}
    return root, summary, batches


def totals(batches) -> dict[str, float]:
    out: dict[str, float] = {}
    for b in batches:
        if b.asin_rows is not None:
            for c in b.asin_rows.columns:
                if b.asin_rows[c].dtype == "float64":
                    out[c] = out.get(c, 0.0) + float(b.asin_rows[c].sum())
        if b.daily_rows is not None and "units_refunded" in b.daily_rows:
            out["units_refunded"] = out.get("units_refunded", 0.0) + float(b.daily_rows["units_refunded"].sum())
    return out


def test_generator_writes_both_folders(demo):
    root, summary, _ = demo
    for mp in ("US", "MX"):
        assert summary["files"][mp]
        assert all((root / f).is_file() and f.startswith(f"{mp}/") for f in summary["files"][mp])


@pytest.mark.parametrize("mp", ["US", "MX"])
def test_every_file_parses_back_to_the_ground_truth(demo, mp):
    _, summary, batches = demo
    got = totals(batches[mp])
    truth = summary["truth"][mp]
    for metric, value in truth.items():
        assert got.get(metric, 0.0) == pytest.approx(value, rel=1e-9, abs=1e-6), metric
    assert truth["gmv"] > 0 and truth["ad_spend"] > 0 and truth["order_units"] == truth["units"]


@pytest.mark.parametrize("mp", ["US", "MX"])
def test_batches_agree_with_the_folder_and_cover_every_family(demo, mp):
    _, summary, batches = demo
    assert {b.marketplace for b in batches[mp]} <= {mp, None}
    # visits: Mercado Libre only; views: Walmart's page views apart from its sales
    assert {b.family for b in batches[mp]} == set(FAMILIES) - {"visits", "views"}
    for b in batches[mp]:
        if b.currency is not None:
            assert b.currency == summary["currency"][mp]
    days = summary["days"][mp]
    daily = [b for b in batches[mp] if b.kind == "sp_api_sales_traffic"]
    assert len(daily) == (days[1] - days[0]).days + 1
    assert all(b.start == b.end and (b.asin_rows["date"] == pd.Timestamp(b.start)).all() for b in daily)


def test_kinds_exercised(demo):
    _, _, batches = demo
    kinds = {mp: {b.kind for b in bs} for mp, bs in batches.items()}
    common = {"sp_api_sales_traffic", "orders_flat_file", "fba_inventory", "fba_returns", "seller_performance"}
    assert kinds["US"] == common | {"ads_sp_classic"}
    assert kinds["MX"] == common | {"ads_sp_api_v3"}


def test_formats_gzip_and_cp1252(demo):
    root, summary, batches = demo
    assert any(f.endswith(".gz") for f in summary["files"]["MX"])
    assert any(f.endswith(".json.gz") and "SALES_AND_TRAFFIC" in f for f in summary["files"]["US"])
    orders_mx = next(f for f in summary["files"]["MX"] if "ORDERS" in f)
    data = (root / orders_mx).read_bytes()
    assert "NUEVO LEÓN".encode("cp1252") in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    ads_us = next(f for f in summary["files"]["US"] if "Advertised" in f)
    header = (root / ads_us).read_text("utf-8-sig").splitlines()[0]
    assert "7 Day Total Sales ," in header
    mx_ads = [b for b in batches["MX"] if b.family == "ads"]      # two documents: a campaign renamed mid-period
    assert len(mx_ads) == 2 and all(b.extras["attribution_windows"] == ["7d", "14d"] for b in mx_ads)
    assert sum(b.asin_rows["ad_sales_14d"].sum() for b in mx_ads) == pytest.approx(
        summary["truth"]["MX"]["ad_sales_14d"])


def test_health_matches(demo):
    _, summary, batches = demo
    for mp in ("US", "MX"):
        h = next(b for b in batches[mp] if b.family == "health").health
        for kpi, want in summary["health"][mp].items():
            assert h[kpi]["count"] == want["count"] and h[kpi]["orders"] == want["orders"], kpi
            assert h[kpi]["rate"] == pytest.approx(want["rate"]), kpi


def test_scenario(demo):
    _, summary, batches = demo
    assert 140_000 <= summary["truth"]["US"]["gmv"] <= 170_000
    mx_days = (THROUGH["MX"] - PERIOD.start).days + 1
    assert 1_100_000 <= summary["truth"]["MX"]["gmv"] * 30 / mx_days <= 1_300_000
    # Buen Fin spike in MX
    bf0, bf1 = seeded_events(2026)["buen_fin"]
    mx_daily = pd.concat([b.daily_rows for b in batches["MX"] if b.kind == "sp_api_sales_traffic"])
    inside = mx_daily["date"].between(pd.Timestamp(bf0), pd.Timestamp(bf1))
    assert mx_daily.loc[inside, "gmv"].mean() > 2.2 * mx_daily.loc[~inside, "gmv"].mean()
    for mp in ("US", "MX"):
        st = pd.concat([b.asin_rows for b in batches[mp] if b.kind == "sp_api_sales_traffic"])
        out = summary["stockout"][mp]
        last6 = st["date"] > pd.Timestamp(summary["days"][mp][1]) - pd.Timedelta(days=6)
        assert st.loc[last6 & (st["asin"] == out), "units"].sum() == 0
        assert st.loc[~last6 & (st["asin"] == out), "units"].sum() > 0
        inv = next(b for b in batches[mp] if b.family == "inventory").asin_rows.set_index("asin")
        assert inv.loc[out, "fulfillable_units"] == 0
        ads = next(b for b in batches[mp] if b.family == "ads").asin_rows.groupby("asin")[["ad_spend", "ad_sales"]].sum()
        acos = ads["ad_spend"] / ads["ad_sales"]
        assert 0.5 <= acos[summary["ad_heavy"][mp]] <= 0.7
        assert acos.median() < 0.4
        products = set(load_products().query("marketplace == @mp")["asin"])
        assert set(summary["unassigned"][mp]).isdisjoint(products)
        assert set(summary["unassigned"][mp]) <= set(st["asin"])


def test_deterministic(tmp_path):
    a = write_demo_reports(tmp_path / "a", PERIOD, THROUGH, seed=3)
    b = write_demo_reports(tmp_path / "b", PERIOD, THROUGH, seed=3)
    assert a["truth"] == b["truth"]
    f = a["files"]["MX"][0]
    one, two = (tmp_path / "a" / f).read_bytes(), (tmp_path / "b" / f).read_bytes()
    if f.endswith(".gz"):
        one, two = gzip.decompress(one), gzip.decompress(two)
    assert json.loads(one) == json.loads(two)


def test_large_workload_small_scale_round_trip(tmp_path):
    out = write_large_workload(tmp_path, asins=300, days=3, order_lines=4000)
    for mp, files in out["files"].items():
        got = totals([b for f in files for b in parse_report(RawReport(str(f), Path(f).read_bytes(),
                                                                        marketplace_hint=mp))])
        for metric, value in out["truth"][mp].items():
            assert got[metric] == pytest.approx(value), (mp, metric)
