"""Walmart through the real ``requests`` client against the local Walmart (sheets_sync/testing/walmart_server.py,
real HTTP on 127.0.0.1, written from Walmart's public pages): a month of a Walmart US store and a Walmart México
one synced through the API, and the US one through its downloads, give the figures computed by hand from the same
orders, to 1e-6; client-credentials tokens (401 → a new token), headers, 429 waited out, the 180-day window,
settled days cached, one family failing costs only that family, signed Sponsored Search requests."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import PRODUCTS_HEADER, TARGETS_HEADER, settings, tables
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sheets_sync.errors import ConfigError
from sheets_sync.periods import parse_period
from sheets_sync.samples.walmart import ITEMS_MX, ITEMS_US, truth, wm_dataset, write_wm_files
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.amazon_common import LocalBudget
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sources.walmart import RATES, open_walmart_source
from sheets_sync.sync import sync_workbook
from sheets_sync.testing.walmart_server import (
    ADS_CONSUMER_ID,
    ADS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    MX_CLIENT_ID,
    MX_CLIENT_SECRET,
    WalmartServer,
)

PERIOD = parse_period("2026-11")
NOW = dt.datetime(2026, 11, 21, 18, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 21)
THROUGH = dt.date(2026, 11, 20)
FX = 18.3
US_KPIS = ["gmv", "units", "orders", "aov", "refund_rate", "wfs_share", "ad_spend", "ad_sales", "roas", "acos"]
MX_KPIS = ["gmv", "units", "orders", "aov", "wfs_share"]


class Clock:
    """One clock for the client (pacing, token expiry) and the server (buckets, token expiry): sleeping moves it."""

    def __init__(self) -> None:
        self.t = NOW.timestamp()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


@pytest.fixture(scope="module")
def key():
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode()
    return pem, k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def us():
    return wm_dataset(PERIOD, THROUGH, seed=5)


@pytest.fixture(scope="module")
def mx():
    return wm_dataset(PERIOD, THROUGH, seed=5, market="mx")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(us, mx, key, clock):
    with WalmartServer(us, mx, public_key=key[1], clock=clock) as srv:
        yield srv


def env(key, **kw):
    return {"WALMART_CLIENT_ID": CLIENT_ID, "WALMART_CLIENT_SECRET": CLIENT_SECRET, "WALMART_MX_CLIENT_ID": MX_CLIENT_ID,
            "WALMART_MX_CLIENT_SECRET": MX_CLIENT_SECRET, "WALMART_ADS_CONSUMER_ID": ADS_CONSUMER_ID,
            "WALMART_ADS_TOKEN": ADS_TOKEN, "WALMART_ADS_ADVERTISER_ID": "600100", "WALMART_ADS_PRIVATE_KEY": key[0],
            **kw}


def source(srv, clock, tmp_path, key, **kw):
    return open_walmart_source(kw.pop("env", None) or env(key), tmp_path / "data", url=srv.url, ads_url=srv.ads_url,
                               sleep=clock.sleep, clock=clock, budget=LocalBudget(RATES, clock=clock),
                               today=lambda mk: TODAY, **kw)


def workbook(markets="WMUS, WMMX", targets=None):
    kpis = [(mk, k) for mk, ks in (("WMUS", US_KPIS), ("WMMX", MX_KPIS)) if mk in markets for k in ks]
    rows = targets or [[None, mk, "account", None, "Emily", "ops", k, 1, 1, None, None] for mk, k in kpis]
    products = [PRODUCTS_HEADER, *[["WMUS", sku, sku, tier, cat, owner, cost, None, None]
                                   for sku, _, _, cat, tier, owner, _, cost in ITEMS_US],
                *[["WMMX", sku, sku, tier, cat, owner, cost, None, None] for sku, _, _, cat, tier, owner, _, cost
                  in ITEMS_MX]]
    t = tables([], settings_rows=settings(marketplaces=markets, **{"fx.MXN": FX}), product_rows=products)
    t["Targets"] = [TARGETS_HEADER, *rows]
    return MemoryWorkbook(t)


def actuals(wb):
    return {(r["marketplace"], r["kpi"]): r["actual"] for r in wb.generated_rows("Attainment")}


def by_hand(data, mk):
    """The figures computed by hand from the same orders, on the Settings basis (tax excluded, base USD)."""
    t = truth(data)
    # México's prices include IVA: GMV without the IVA Walmart lists on each line, in USD
    gmv = (t["gmv"] - t["tax"]) / FX if mk == "WMMX" else t["gmv"]
    out = {"gmv": gmv, "units": t["units"], "orders": t["orders"], "aov": gmv / t["orders"],
           "wfs_share": t["wfs_share"]}
    if mk == "WMUS":
        out.update(refund_rate=t["refund_rate"], ad_spend=t["ad_spend"], ad_sales=t["ad_sales_14d"],
                   roas=t["ad_sales_14d"] / t["ad_spend"], acos=t["ad_spend"] / t["ad_sales_14d"])
    return out


def test_a_month_through_the_api_gives_the_hand_computed_figures(us, mx, server, clock, tmp_path, key):
    wb = workbook()
    res = sync_workbook(wb, source(server, clock, tmp_path, key), now=NOW)
    assert res.ok, res.error
    got = actuals(wb)
    for mk, data in (("WMUS", us), ("WMMX", mx)):
        for kpi, value in by_hand(data, mk).items():
            assert got[(mk, kpi)] == pytest.approx(value, abs=1e-6), (mk, kpi)
    # the cancelled lines really were there, and left out
    assert any(ln["cancelled"] for o in us["orders"] for ln in o["lines"])
    assert server.calls["POST /v3/token"] == 2          # one 15-minute token per market for the whole month
    assert server.calls["GET /wpa/v2/snapshot"] >= 2     # the snapshot was polled until done


def test_the_downloads_give_the_same_figures(us, server, clock, tmp_path, key):
    write_wm_files(tmp_path / "reports" / "WMUS", us)
    from_files = workbook("WMUS")
    res = sync_workbook(from_files, ReportFilesSource(tmp_path / "reports"), now=NOW)
    assert res.ok, res.error
    files = actuals(from_files)
    hand = by_hand(us, "WMUS")
    for kpi in ("gmv", "units", "orders", "aov", "refund_rate", "ad_spend", "ad_sales", "roas", "acos"):
        assert files[("WMUS", kpi)] == pytest.approx(hand[kpi], abs=1e-6), kpi
    # the Item Performance report has no fulfilment column: WFS share needs the API (said on the row)
    row = next(r for r in from_files.generated_rows("Attainment") if r["kpi"] == "wfs_share")
    assert row["actual"] is None and "no data for WMUS" in row["note"]
    from_api = workbook("WMUS")
    assert sync_workbook(from_api, source(server, clock, tmp_path, key), now=NOW).ok
    api = actuals(from_api)
    for k, v in files.items():
        if v is not None:
            assert api[k] == pytest.approx(v, abs=1e-6), k


def test_walmart_ads_show_the_window_they_use(us, server, clock, tmp_path, key):
    wb = workbook("WMUS", targets=[[None, "WMUS", "account", None, "Emily", "ads", "ad_sales", 1, 1, None, None]])
    wb.tabs["Settings"].append(["walmart_ads_attribution", "30d", None])
    assert sync_workbook(wb, source(server, clock, tmp_path, key), now=NOW).ok
    assert actuals(wb)[("WMUS", "ad_sales")] == pytest.approx(truth(us)["ad_sales_30d"], abs=1e-6)
    assert "Walmart ads 30d" in wb.written["Attainment"].title


def test_tokens_are_client_credentials_and_a_401_means_a_new_token(server, clock, tmp_path, key):
    src = source(server, clock, tmp_path, key)
    api = src.apis["us"]
    api.token()
    server.expire_tokens()           # Walmart revoked it before our clock said so
    api.get("/v3/inventories", {"limit": 50}, operation="wm_inventory")
    assert api.tokens_issued == 2
    clock.t += 900                    # 15 minutes later the token has expired by our own clock too
    api.get("/v3/inventories", {"limit": 50}, operation="wm_inventory")
    assert api.tokens_issued == 3
    assert not any("refresh" in str(c) for c in server.calls)


def test_wrong_keys_are_a_configuration_error_that_shows_no_secret(server, clock, tmp_path, key):
    bad = env(key, WALMART_CLIENT_SECRET="wrong-secret-value-123")
    src = source(server, clock, tmp_path, key, env=bad)
    with pytest.raises(ConfigError) as exc:
        src.apis["us"].token()
    assert "WALMART_CLIENT_ID" in str(exc.value) and "wrong-secret-value-123" not in str(exc.value)


def test_the_rate_limit_is_met_with_waiting_not_errors(server, clock, tmp_path, key):
    server.throttle = 3              # Walmart answers the next three calls 429
    src = source(server, clock, tmp_path, key)
    docs = list(src.collect(FetchRequest(PERIOD.start, dt.date(2026, 11, 3), ("WMUS",))))
    assert docs and not [p for p in src.problems if "orders" in str(p)]
    assert [s for s in server.log if s[2] == 429]
    assert clock.slept                # waited for x-next-replenishment-time


def test_the_summaries_limit_of_one_call_a_minute_is_real(server, clock, tmp_path, key):
    src = source(server, clock, tmp_path, key)
    api = src.apis["us"]
    api.get("/v3/insights/performance/otd/summary", {"reportDuration": 30}, operation="wm_insights")
    before = clock.t
    api.get("/v3/insights/performance/otd/summary", {"reportDuration": 30}, operation="wm_insights")
    assert clock.t - before >= 59    # the budget waited a minute instead of meeting a 429


def test_one_family_failing_costs_only_that_family(us, server, clock, tmp_path, key):
    server.fail["returns"] = 403
    wb = workbook("WMUS")
    res = sync_workbook(wb, source(server, clock, tmp_path, key), now=NOW)
    assert res.ok, res.error
    got = actuals(wb)
    assert got[("WMUS", "gmv")] == pytest.approx(truth(us)["gmv"], abs=1e-6)
    assert got[("WMUS", "refund_rate")] is None
    log = " ".join(str(r.get("message")) for r in wb.generated_rows("Sync Log"))
    assert "returns" in log and "HTTP 403" in log


def test_settled_days_are_cached_and_recent_days_provisional(server, clock, tmp_path, key):
    src = source(server, clock, tmp_path, key)
    docs = list(src.collect(FetchRequest(PERIOD.start, THROUGH, ("WMUS",))))
    assert any(d.provisional_days for d in docs)
    first = server.calls["GET /v3/orders"]
    again = source(server, clock, tmp_path, key)
    list(again.collect(FetchRequest(PERIOD.start, THROUGH, ("WMUS",))))
    assert again.cached_days >= 17
    # only the three provisional days (× three ship-node types) are asked again
    assert server.calls["GET /v3/orders"] - first == 9


def test_days_older_than_walmart_keeps_are_not_asked_for(server, clock, tmp_path, key):
    src = source(server, clock, tmp_path, key)
    list(src.collect(FetchRequest(dt.date(2026, 5, 1), dt.date(2026, 5, 31), ("WMUS",))))
    assert not [s for s in server.log if s[2] == 400]
    assert any("180 days" in str(p) for p in src.problems)


def test_a_bad_ads_signature_is_refused(server, clock, tmp_path, key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    src = source(server, clock, tmp_path, key, env=env(key, WALMART_ADS_PRIVATE_KEY=other))
    docs = list(src.collect(FetchRequest(PERIOD.start, dt.date(2026, 11, 2), ("WMUS",))))
    assert ("POST", "/wpa/v2/snapshot/report", 401) in server.log
    assert any("ads" in str(p) and "WALMART_ADS_CONSUMER_ID" in str(p) for p in src.problems)
    assert docs                       # the orders still came
