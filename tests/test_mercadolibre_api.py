"""Mercado Libre's REST API through the real ``requests`` client against the local Mercado Libre
(sheets_sync/testing/mercadolibre_server.py, real HTTP on 127.0.0.1): OAuth2 refresh-token rotation, token
expiry (401), 429, paging limits, settled days cached, secrets never shown — and a whole sync from the API gives
the same figures as a sync from the downloaded files."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from builders import PRODUCTS_HEADER, TARGETS_HEADER, settings, tables

from sheets_sync.errors import ConfigError
from sheets_sync.periods import parse_period
from sheets_sync.samples.mercadolibre import ADVERTISER_ID, LISTINGS, mlm_dataset, write_mlm_files
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sources.mercadolibre import open_mercadolibre_source
from sheets_sync.sync import sync_workbook
from sheets_sync.testing.mercadolibre_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    MercadoLibreServer,
)

PERIOD = parse_period("2026-11")
NOW = dt.datetime(2026, 11, 21, 18, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 21)
THROUGH = dt.date(2026, 11, 20)
ENV = {"MERCADOLIBRE_CLIENT_ID": CLIENT_ID, "MERCADOLIBRE_CLIENT_SECRET": CLIENT_SECRET,
       "MERCADOLIBRE_REFRESH_TOKEN": REFRESH_TOKEN, "MERCADOLIBRE_ADVERTISER_ID": str(ADVERTISER_ID)}
KPIS = ["gmv", "units", "orders", "aov", "avg_price", "visits", "visit_conversion", "ad_spend", "ad_sales", "acos",
        "roas", "ctr", "cpc", "days_of_cover", "stockout_asins", "net_margin", "ml_claims_rate",
        "ml_cancellations_rate", "ml_delayed_handling_rate", "ml_reputation_level", "mercadolider_level"]


@pytest.fixture(scope="module")
def data():
    return mlm_dataset(PERIOD, THROUGH, seed=5)


@pytest.fixture
def server(data):
    with MercadoLibreServer(data) as srv:
        yield srv


def _source(srv, tmp_path, **kw):
    waits: list[float] = []
    src = open_mercadolibre_source(ENV, tmp_path / "data", url=srv.url, sleep=waits.append, today=lambda: TODAY, **kw)
    return src, waits


def _collect(src, start=PERIOD.start, end=TODAY):
    return list(src.collect(FetchRequest(start, end, ("MLM",))))


def _workbook():
    rows = [[None, "MLM", "account", None, "Ana", "ops", k, 1, 1, None, None] for k in KPIS]
    rows.append([None, "MLM", "asin", LISTINGS[0][0], "Ana", "ops", "units", 1, 1, None, None])
    products = [PRODUCTS_HEADER, *[["MLM", n, sku, tier, cat, owner, cost, None, None]
                                   for n, sku, cat, tier, owner, _, cost in LISTINGS]]
    t = tables([], settings_rows=settings(marketplaces="MLM", **{"fx.MXN": 18.3}), product_rows=products)
    t["Targets"] = [TARGETS_HEADER, *rows]
    return MemoryWorkbook(t)


def _actuals(wb):
    return {(r["kpi"], r["scope"]): r["actual"] for r in wb.generated_rows("Attainment")}


def test_a_sync_from_the_api_gives_the_figures_of_a_sync_from_the_downloads(data, server, tmp_path):
    write_mlm_files(tmp_path / "reports" / "MLM", data)
    from_files = _workbook()
    res = sync_workbook(from_files, ReportFilesSource(tmp_path / "reports"), now=NOW)
    assert res.ok, res.error
    src, _ = _source(server, tmp_path)
    from_api = _workbook()
    res = sync_workbook(from_api, src, now=NOW)
    assert res.ok, res.error
    files, api = _actuals(from_files), _actuals(from_api)
    assert set(files) == set(api) and len(files) == len(KPIS) + 1
    for key, value in files.items():
        assert value is not None, key
        assert api[key] == pytest.approx(value, rel=1e-9), key
    assert server.calls["orders"] > 21      # Buen Fin days have more than one page of 50 orders
    # the Actuals tab shows Mercado Libre's own measures (visits, fees, shipping) the same from both
    for wb in (from_files, from_api):
        total = next(r for r in wb.generated_rows("Actuals") if r["marketplace"] == "MLM" and r["asin"] == "ALL")
        assert total["visits"] == sum(sum(v.values()) for v in data["visits"].values())
        assert total["ml_fees"] == pytest.approx(
            sum(o["fee"] * o["qty"] for o in data["orders"] if o["status"] == "paid") / 18.3)


def test_refresh_tokens_rotate_and_the_newest_is_kept(server, tmp_path):
    src, _ = _source(server, tmp_path)
    src.api.get("/users/me")
    assert REFRESH_TOKEN not in server.refresh_tokens          # used once, then refused by Mercado Libre
    # a new process with the same environment: the saved (rotated) token is used, not the dead variable
    again, _ = _source(server, tmp_path)
    assert again.api.get("/users/me")["site_id"] == "MLM"
    token_file = tmp_path / "data" / "mercadolibre" / "token.json"
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    # another machine (no saved token) with the dead variable: a clear configuration error naming variables
    other, _ = _source(server, tmp_path / "elsewhere")
    with pytest.raises(ConfigError) as err:
        other.api.get("/users/me")
    assert "MERCADOLIBRE_REFRESH_TOKEN" in str(err.value) and REFRESH_TOKEN not in str(err.value)


def test_an_expired_token_is_refreshed_once_and_429_is_waited_out(server, tmp_path):
    src, waits = _source(server, tmp_path)
    src.api.get("/users/me")
    server.expire_tokens()
    assert src.api.get("/users/me")["id"]
    assert src.api.refreshes == 2
    server.throttle = 2
    assert src.api.get("/users/me")["id"]
    assert len(waits) == 2 and all(w > 0 for w in waits)
    assert [s for _, _, s in server.log].count(429) == 2


def test_paging_limits_are_the_real_ones(server, tmp_path):
    src, _ = _source(server, tmp_path)
    with pytest.raises(Exception, match="limit must be between 1 and 50"):
        src.api.get("/orders/search", {"seller": "123456789", "order.date_created.from": "2026-11-01T00:00:00.000-06:00",
                                       "order.date_created.to": "2026-11-02T00:00:00.000-06:00", "limit": 51})


def test_settled_days_are_cached_and_recent_days_provisional(server, tmp_path):
    src, _ = _source(server, tmp_path)
    first = _collect(src)
    calls = src.api_calls
    again, _ = _source(server, tmp_path)
    second = _collect(again)
    assert again.api_calls < calls / 3, (again.api_calls, calls)
    assert again.cached_days >= 3 * 18          # orders, visits and ads of 2026-11-01..18
    assert [r.name for r in first] == [r.name for r in second]
    recent = {d for r in second for d in r.provisional_days}
    assert TODAY - dt.timedelta(days=1) in recent
    assert all(d > TODAY - dt.timedelta(days=3) for d in recent)


def test_credentials_come_from_the_environment_and_are_never_shown(server, tmp_path, caplog):
    with pytest.raises(ConfigError) as err:
        open_mercadolibre_source({"MERCADOLIBRE_CLIENT_ID": CLIENT_ID}, tmp_path)
    assert "MERCADOLIBRE_CLIENT_SECRET" in str(err.value) and "MERCADOLIBRE_REFRESH_TOKEN" in str(err.value)
    caplog.set_level(logging.DEBUG)
    bad = dict(ENV, MERCADOLIBRE_CLIENT_SECRET="wrong-secret-value-123")
    src = open_mercadolibre_source(bad, tmp_path, url=server.url, sleep=lambda s: None)
    with pytest.raises(ConfigError) as err:
        src.api.get("/users/me")
    text = str(err.value) + caplog.text + repr(src.api.creds)
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, "wrong-secret-value-123"):
        assert secret not in text


def test_without_an_advertiser_id_ads_are_named_as_not_fetched(server, tmp_path):
    env = {k: v for k, v in ENV.items() if k != "MERCADOLIBRE_ADVERTISER_ID"}
    src = open_mercadolibre_source(env, tmp_path, url=server.url, sleep=lambda s: None, today=lambda: TODAY)
    docs = list(src.collect(FetchRequest(dt.date(2026, 11, 18), TODAY, ("MLM",))))
    assert not any(":ads:" in r.name for r in docs)
    assert any("MERCADOLIBRE_ADVERTISER_ID" in str(p) for p in src.problems)
    assert list(src.collect(FetchRequest(dt.date(2026, 11, 18), TODAY, ("US", "MX")))) == []   # not its stores


def test_calls_are_paced_by_the_shared_budget(server, tmp_path):
    """The source asks its Budget before every call (the interface Amazon's shared budgets use): at 1 call a
    second with a burst of 2, five calls wait three times about a second on the budget's clock."""
    from sheets_sync.sources.amazon_common import LocalBudget

    now = [0.0]
    budget = LocalBudget({"mercadolibre": (1.0, 2)}, clock=lambda: now[0])
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    src = open_mercadolibre_source(ENV, tmp_path, url=server.url, budget=budget, sleep=sleep, today=lambda: TODAY)
    for _ in range(5):
        src.api.get("/users/me")
    assert len(waits) == 3 and all(w == pytest.approx(1.0, abs=0.02) for w in waits)
    assert 429 not in [s for _, _, s in server.log]
