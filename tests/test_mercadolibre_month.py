"""A month of a Mercado Libre México store three ways — through the API (against the local Mercado Libre written
from Mercado Libre's pages: hour truncation on, ``api-version`` required, legacy Product Ads routes gone, access
tokens that live a minute), from the seller centre's downloads (Ventas, Product Ads, Full stock), and computed
here by hand from the same orders — gives the same Attainment actuals to 1e-6, for the store and for every
listing."""

from __future__ import annotations

import datetime as dt

import pytest
from ml_fixtures import (
    FX,
    NOW,
    PERIOD,
    THROUGH,
    actuals,
    ml_source,
    strict_server,
    target,
    workbook,
)

from sheets_sync.samples.mercadolibre import LISTINGS, mlm_dataset, write_mlm_files
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import sync_workbook
from sheets_sync.testing.served import VirtualClock

VAT = 0.16
LISTING_KPIS = ("gmv", "orders", "units", "visits", "visit_conversion", "aov", "ad_spend", "ad_sales", "acos", "roas",
                "full_share")
STORE_KPIS = (*LISTING_KPIS, "ml_claims_rate", "ml_cancellations_rate", "ml_delayed_handling_rate",
              "ml_reputation_level", "mercadolider_level")


def by_hand(data: dict, kpi: str, listing: str | None = None) -> float | None:
    """The KPI from the data set's own orders, visits, ads and reputation (USD; GMV without IVA)."""
    def mine(item: str) -> bool:
        return listing is None or item == listing

    paid = [o for o in data["orders"] if o["status"] == "paid" and mine(o["item"])]
    gmv = sum(o["price"] * o["qty"] for o in paid) / (1 + VAT) / FX
    orders, units = float(len(paid)), float(sum(o["qty"] for o in paid))
    full = float(sum(o["qty"] for o in paid if o["logistic"] == "fulfillment"))
    visits = float(sum(v for item, per in data["visits"].items() if mine(item) for v in per.values()))
    ads = [a for a in data["ads"] if mine(a["item"])]
    spend = sum(a["cost"] for a in ads) / FX
    sales = sum(a["direct_amount"] + a["indirect_amount"] for a in ads) / FX
    rep = data["reputation"]

    def ratio(n: float, d: float) -> float | None:
        return n / d if d else None

    return {"gmv": gmv, "orders": orders, "units": units, "visits": visits, "visit_conversion": ratio(orders, visits),
            "aov": ratio(gmv, orders), "ad_spend": spend, "ad_sales": sales, "acos": ratio(spend, sales),
            "roas": ratio(sales, spend), "full_share": ratio(full, units),
            "ml_claims_rate": rep["claims"], "ml_cancellations_rate": rep["cancellations"],
            "ml_delayed_handling_rate": rep["delayed_handling_time"], "ml_reputation_level": 3.0,
            "mercadolider_level": 1.0}[kpi]


TARGETS = [target(k) for k in STORE_KPIS] + [target(k, "asin", lst[0]) for lst in LISTINGS for k in LISTING_KPIS]


@pytest.fixture(scope="module")
def month():
    """The data set, and the Attainment of a sync from the API and of a sync from the downloads."""
    import tempfile
    from pathlib import Path

    data = mlm_dataset(PERIOD, THROUGH, seed=5)
    tmp = Path(tempfile.mkdtemp(prefix="ml-month-"))
    write_mlm_files(tmp / "reports" / "MLM", data)
    from_files = workbook(TARGETS)
    res = sync_workbook(from_files, ReportFilesSource(tmp / "reports"), now=NOW)
    assert res.ok, res.error
    clock = VirtualClock(1_800_000_000.0)
    with strict_server(data, clock) as srv:
        source = ml_source(srv, clock, tmp / "data")
        from_api = workbook(TARGETS)
        res = sync_workbook(from_api, source, now=NOW)
        assert res.ok, res.error
        served = {"refreshes": srv.refreshes, "calls": dict(srv.calls), "log": list(srv.log), "seconds": clock.now}
    return data, actuals(from_files), actuals(from_api), res, served


@pytest.mark.parametrize("kpi", STORE_KPIS)
def test_store_actuals_match_the_download_and_the_hand_computation(month, kpi):
    data, files, api, _, _ = month
    expected = by_hand(data, kpi)
    assert expected is not None
    assert api[(kpi, "account", "")] == pytest.approx(expected, abs=1e-6)
    assert files[(kpi, "account", "")] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("listing", [lst[0] for lst in LISTINGS])
def test_listing_actuals_match_the_download_and_the_hand_computation(month, listing):
    data, files, api, _, _ = month
    for kpi in LISTING_KPIS:
        expected = by_hand(data, kpi, listing)
        key = (kpi, "asin", listing)
        if expected is None:        # a listing without ads has no ACoS / ROAS (0 ÷ 0), in all three
            assert api[key] is None and files[key] is None, key
            continue
        assert api[key] == pytest.approx(expected, abs=1e-6), key
        assert files[key] == pytest.approx(expected, abs=1e-6), key


def test_a_listing_without_ads_spent_zero_not_blank(month):
    data, files, api, _, _ = month
    clearance = next(lst[0] for lst in LISTINGS if lst[3] == "clearance")
    assert not [a for a in data["ads"] if a["item"] == clearance]
    assert api[("ad_spend", "asin", clearance)] == 0.0 and files[("ad_spend", "asin", clearance)] == 0.0


def test_the_full_share_is_the_shipments_not_the_listing(month):
    """Every listing offers Full (the items answer says ``fulfillment``), yet some sales ship from the seller's
    own stock: the share follows each shipment's logistic type."""
    data, _, api, _, _ = month
    share = api[("full_share", "account", "")]
    assert 0.5 < share < 0.9
    out_of_full = "MLM2100000005"
    assert api[("full_share", "asin", out_of_full)] == 0.0


def test_the_strict_server_was_used_as_its_pages_say(month):
    """Hour-aligned order filters (nothing lost to the truncation), the v2 Product Ads routes with their
    api-version, a few token refreshes over the month (not one per call, not zero), no refused call."""
    data, _, _, res, served = month
    assert not [p for p in res.problems if "Mercado Libre" in p]
    assert [s for _, _, s in served["log"] if s != 200] == []
    assert served["calls"]["ads"] >= 4
    minutes = (served["seconds"] - 1_800_000_000.0) / 60
    assert 1 <= served["refreshes"] <= minutes + 2, served
    paid = [o for o in data["orders"] if o["status"] == "paid"]
    late = [o for o in paid if o["minute"] >= 23 * 60]
    assert late, "the data set has sales in the last hour of a day"
    # one call per shipment detail and one per its costs: a shipment per paid order of November (October has none)
    assert served["calls"]["shipments"] == 2 * len(paid)


def test_days_are_mexico_city_days_though_answers_carry_minus_four(month):
    """The server answers date_created with −04:00: a sale at 23:30 in Mexico City is 01:30 the next day there,
    and must still count on its Mexico City day."""
    data, _, _, res, _ = month
    from sheets_sync.testing.mercadolibre_server import MercadoLibreServer

    late = next(o for o in data["orders"] if o["status"] == "paid" and o["minute"] >= 22 * 60 + 1)
    stamp = MercadoLibreServer._stamp(late["day"], late["minute"])
    assert stamp.endswith("-04:00") and dt.date.fromisoformat(stamp[:10]) == late["day"] + dt.timedelta(days=1)
    assert res.ok
