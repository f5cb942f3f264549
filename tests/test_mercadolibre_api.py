"""Mercado Libre's REST API through the real ``requests`` client, against the local Mercado Libre written from
Mercado Libre's public pages (sheets_sync/testing/mercadolibre_server.py, real HTTP on 127.0.0.1).

First what the server does, page by page (so the client's tests rest on the pages, not on the client); then the
source: a failing family costs only its figures and is named, tokens are refreshed once per lifetime and never
lost, 429s are waited out as Retry-After says, settled days are cached by family and an incomplete day is read
again, secrets never show, and a Mercado Libre store alone needs no Amazon variable."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import requests
from ml_fixtures import (
    EPOCH,
    NOW,
    PERIOD,
    THROUGH,
    TODAY,
    actuals,
    ml_env,
    ml_source,
    strict_server,
    target,
    workbook,
)

from sheets_sync.config import Config, WorkbookConfig
from sheets_sync.errors import ConfigError
from sheets_sync.localize import translator
from sheets_sync.samples.mercadolibre import ADVERTISER_ID, LISTINGS, SELLER_ID, mlm_dataset
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.mercadolibre import MercadoLibreSource, open_mercadolibre_source
from sheets_sync.sources.mercadolibre_api import TOKEN_KEY, token_store
from sheets_sync.sync import open_source, sync_workbook
from sheets_sync.testing.mercadolibre_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    REFRESH_TOKEN,
    MercadoLibreServer,
)
from sheets_sync.testing.served import VirtualClock

WEEK = (dt.date(2026, 11, 20), dt.date(2026, 11, 26))


@pytest.fixture(scope="module")
def data():
    return mlm_dataset(PERIOD, THROUGH, seed=5)


@pytest.fixture
def clock():
    return VirtualClock(EPOCH)


@pytest.fixture
def server(data, clock):
    with strict_server(data, clock) as srv:
        yield srv


def _token(srv: MercadoLibreServer) -> str:
    r = requests.post(f"{srv.url}/oauth/token", data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                      "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _get(srv: MercadoLibreServer, token: str, path: str, params=None, headers=None) -> requests.Response:
    return requests.get(f"{srv.url}{path}", params=params, headers={"Authorization": f"Bearer {token}",
                                                                    **(headers or {})})


# ------------------------------------------------------------------------------- the server, from the pages
def test_order_date_filters_keep_only_the_hour(server, data):
    """gestiona-ventas: "utiliza hasta la hora y descarta la información de los minutos, segundos y
    milisegundos" — asking up to 23:59:59.999 loses the 23:00 hour."""
    token = _token(server)
    day = dt.date(2026, 11, 14)
    base = {"seller": SELLER_ID, "order.date_created.from": f"{day}T00:00:00.000-06:00", "limit": 50}
    paid = [o for o in data["orders"] if o["status"] == "paid" and o["day"] == day]

    def count(to: str) -> int:
        r = _get(server, token, "/orders/search", {**base, "order.date_created.to": to})
        assert r.status_code == 200, r.text
        return r.json()["paging"]["total"]

    last_hour = [o for o in paid if o["minute"] > 23 * 60]
    assert last_hour
    assert count(f"{day}T23:59:59.999-06:00") == len(paid) - len(last_hour)
    assert count(f"{day + dt.timedelta(days=1)}T00:00:00.000-06:00") >= len(paid)


def test_orders_search_shape_limit_and_no_cancelled_for_a_seller(server, data):
    token = _token(server)
    r = _get(server, token, "/orders/search", {"seller": SELLER_ID, "limit": 51})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    r = _get(server, token, "/orders/search", {"seller": 1, "limit": 50})
    assert r.status_code == 403 and r.json()["error"] == "caller.id.invalid"
    body = _get(server, token, "/orders/search", {"seller": SELLER_ID, "limit": 50}).json()
    assert body["paging"]["total"] == sum(o["status"] == "paid" for o in data["orders"])
    order = body["results"][0]
    assert set(order["shipping"]) == {"id"} and order["date_created"].endswith("-04:00")


def test_visits_ending_is_exclusive_and_windows_are_at_most_150_days(server):
    """recurso-de-visitas: ``last=2&ending=2021-08-06`` answers 08-04 and 08-05."""
    token = _token(server)
    item = LISTINGS[0][0]
    doc = _get(server, token, f"/items/{item}/visits/time_window",
               {"last": 2, "unit": "day", "ending": "2026-11-06"}).json()
    assert [r["date"][:10] for r in doc["results"]] == ["2026-11-04", "2026-11-05"]
    assert doc["date_to"] == "2026-11-06T00:00:00Z"
    r = _get(server, token, f"/items/{item}/visits/time_window", {"last": 151, "unit": "day", "ending": "2026-11-06"})
    assert r.status_code == 400 and "150 days" in r.json()["message"]
    r = _get(server, token, f"/items/{item}/visits/time_window", {"last": 2, "unit": "day", "ending": "06/11/2026"})
    assert r.status_code == 400 and "ending" in r.json()["message"]


@pytest.mark.parametrize("path", [
    f"/advertising/advertisers/{ADVERTISER_ID}/product_ads/items/search",
    f"/advertising/advertisers/{ADVERTISER_ID}/product_ads/items",
    f"/advertising/MLM/advertisers/{ADVERTISER_ID}/product_ads/items/search",
    "/advertising/product_ads/items/MLM2100000001",
    "/advertising/product_ads/ads/search",
    "/advertising/product_ads/campaigns/351000001/metrics",
])
def test_retired_product_ads_routes_answer_404(server, path):
    token = _token(server)
    r = _get(server, token, path, {"date_from": "2026-11-01", "date_to": "2026-11-02"}, {"api-version": "2"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_product_ads_v2_as_the_page_describes_it(server):
    token = _token(server)
    assert _get(server, token, "/advertising/advertisers", {"product_id": "PADS"}).status_code == 400
    adv = _get(server, token, "/advertising/advertisers", {"product_id": "PADS"}, {"Api-Version": "1"}).json()
    assert adv["advertisers"][0] == {"advertiser_id": ADVERTISER_ID, "site_id": "MLM", "advertiser_name": "DEMO.TIENDA",
                                     "account_name": "MLM - DEMO.TIENDA"}
    base = f"/advertising/MLM/advertisers/{ADVERTISER_ID}/product_ads"
    span = {"date_from": "2026-11-01", "date_to": "2026-11-30", "metrics": "cost,clicks"}
    v2 = {"api-version": "2"}
    assert _get(server, token, f"{base}/campaigns/search", span).status_code == 400          # no api-version
    assert _get(server, token, f"{base}/campaigns/search", span, v2).status_code == 200
    assert _get(server, token, f"{base}/ads/search", {**span, "limit": 51}, v2).status_code == 400
    assert _get(server, token, f"{base}/ads/search", {"metrics": "cost"}, v2).status_code == 400   # no dates
    old = {"date_from": str(TODAY - dt.timedelta(days=91)), "date_to": str(TODAY), "metrics": "cost"}
    assert _get(server, token, f"{base}/ads/search", old, v2).status_code == 400               # > 90 days back
    daily = _get(server, token, f"{base}/ads/search", {**span, "aggregation_type": "DAILY",
                                                      "filters[item_id]": LISTINGS[0][0]}, v2).json()
    assert daily["results"] and all(set(r) == {"date", "cost", "clicks"} for r in daily["results"])


def test_multiget_takes_at_most_20(server):
    token = _token(server)
    r = _get(server, token, "/items", {"ids": ",".join(f"MLM{2100000001 + k}" for k in range(21))})
    assert r.status_code == 400
    r = _get(server, token, "/items", {"ids": "MLM2100000001,MLM9"})
    assert [e["code"] for e in r.json()] == [200, 404]


def test_refresh_tokens_work_once_and_only_the_newest(server):
    """autenticacion-y-autorizacion: single use, and only the last one generated is accepted."""
    def refresh(token, secret=CLIENT_SECRET):
        return requests.post(f"{server.url}/oauth/token", data={
            "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": secret, "refresh_token": token})

    first = refresh(REFRESH_TOKEN).json()
    assert first["token_type"] == "bearer" and first["user_id"] == SELLER_ID and first["expires_in"] == 60
    again = refresh(REFRESH_TOKEN)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert "already used" in again.json()["error_description"]
    assert refresh(first["refresh_token"]).status_code == 200
    assert refresh(first["refresh_token"]).status_code == 400          # rotated: the old one is dead
    assert refresh("whatever", secret="wrong").json()["error"] == "invalid_client"


def test_expired_tokens_are_401_and_403_on_visits(server, clock):
    token = _token(server)
    clock.sleep(61)
    assert _get(server, token, "/users/me").status_code == 401
    r = _get(server, token, f"/items/{LISTINGS[0][0]}/visits/time_window", {"last": 1, "ending": "2026-11-02"})
    assert r.status_code == 403 and r.json()["error"] == "PA_UNAUTHORIZED_RESULT_FROM_POLICIES"


def test_429_says_when_to_come_back(server):
    token = _token(server)
    server.throttle = 1
    r = _get(server, token, "/users/me")
    assert r.status_code == 429 and r.json()["error"] == "local_rate_limited" and int(r.headers["Retry-After"]) >= 1


def test_the_authorization_code_grant(server):
    """The seller authorises at /authorization and comes back with ?code=&state=; the code works once, with the
    application's exact redirect URI."""
    q = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s1"}
    r = requests.get(f"{server.url}/authorization", params=q, allow_redirects=False)
    assert r.status_code == 302
    back = requests.utils.urlparse(r.headers["Location"])
    assert back.geturl().startswith(REDIRECT_URI) and "state=s1" in back.query
    code = dict(p.split("=") for p in back.query.split("&"))["code"]
    form = {"grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code,
            "redirect_uri": REDIRECT_URI}
    body = requests.post(f"{server.url}/oauth/token", data=form).json()
    assert body["refresh_token"].startswith("TG-") and body["scope"] == "offline_access read write"
    assert requests.post(f"{server.url}/oauth/token", data=form).json()["error"] == "invalid_grant"   # used
    wrong = requests.get(f"{server.url}/authorization", params={**q, "redirect_uri": "https://elsewhere/cb"},
                         allow_redirects=False)
    assert wrong.status_code == 400


# ------------------------------------------------------------------------------------------------ the source
def _collect(src: MercadoLibreSource, start=WEEK[0], end=WEEK[1]):
    return list(src.collect(FetchRequest(start, end, ("MLM",))))


def _sync(src, *kpis):
    wb = workbook([target(k) for k in kpis])
    res = sync_workbook(wb, src, now=NOW)
    return wb, res


def test_a_failing_ads_route_costs_only_the_ads_figures_and_is_named(server, clock, tmp_path):
    server.fail["ads"] = 404
    wb, res = _sync(ml_source(server, clock, tmp_path), "gmv", "visits", "full_share", "ad_spend", "acos")
    assert res.ok, res.error
    got = actuals(wb)
    assert got[("gmv", "account", "")] > 0 and got[("visits", "account", "")] > 0
    assert got[("full_share", "account", "")] > 0
    assert got[("ad_spend", "account", "")] is None and got[("acos", "account", "")] is None
    lines = [p for p in res.problems if p.startswith("Mercado Libre API")]
    assert len(lines) == 1 and "404" in lines[0] and "Product Ads not read" in lines[0], res.problems
    # the same line in the team's language, nothing of it left in English
    es = translator("es").line(lines[0])
    assert "No se leyó Product Ads" in es and "not read" not in es
    zh = translator("zh").line(lines[0])
    assert "未能读取美客多 Product Ads" in zh and "not read" not in zh


def test_a_permission_refusal_says_how_to_fix_it(server, clock, tmp_path):
    server.deny.add("visits")
    src = ml_source(server, clock, tmp_path)
    docs = _collect(src)
    assert not [r for r in docs if ":visits:" in r.name] and [r for r in docs if ":orders:" in r.name]
    [problem] = [str(p) for p in src.problems]
    assert "PA_UNAUTHORIZED_RESULT_FROM_POLICIES" in problem and "sheets-sync connect mercadolibre" in problem
    assert "visits and visit conversion of MLM are blank" in problem
    assert src.api.refreshes == 2          # the first token, and one more in case the refusal meant "expired"


def test_429_waits_what_retry_after_says(server, clock, tmp_path):
    src = ml_source(server, clock, tmp_path)
    src.api.get("/users/me")
    server.throttle = 3
    before = clock.now
    assert src.api.get("/users/me")["id"] == SELLER_ID
    assert [s for _, _, s in server.log].count(429) == 3
    assert clock.now - before >= 3          # Retry-After ≥ 1 s each time, on the virtual clock


def test_429_for_too_long_costs_the_family_not_the_sync(server, clock, tmp_path):
    src = ml_source(server, clock, tmp_path)
    server.fail["stock"] = 429
    docs = _collect(src)
    assert not [r for r in docs if r.name == "mercadolibre:full_stock"]
    [problem] = [str(p) for p in src.problems]
    assert "the next sync tries again" in problem and "Full stock not read" in problem


def test_an_expired_token_is_refreshed_once_and_the_rotated_one_kept(server, clock, tmp_path):
    src = ml_source(server, clock, tmp_path)
    src.api.get("/users/me")
    server.expire_tokens()
    assert src.api.get("/users/me")["id"] == SELLER_ID
    assert src.api.refreshes == 2
    stored = token_store(tmp_path).load(TOKEN_KEY)
    assert stored.refresh_token == server.latest_refresh[CLIENT_ID]
    # a later process with the same (now used) variable keeps working from the stored chain
    again = ml_source(server, clock, tmp_path)
    assert again.api.get("/users/me")["id"] == SELLER_ID and again.api.refreshes == 0


def test_short_lived_tokens_are_refreshed_once_per_lifetime(server, clock, tmp_path):
    src = ml_source(server, clock, tmp_path)
    for _ in range(300):        # 300 calls at 10 a second: 30 s of the virtual clock, tokens live 60 s
        src.api.get("/users/me")
    assert src.api.refreshes == 1
    clock.sleep(55)             # within a tenth of the lifetime of the end: refreshed before it expires
    src.api.get("/users/me")
    assert src.api.refreshes == 2 and 401 not in [s for _, _, s in server.log]


def test_settled_days_are_cached_by_family_and_an_incomplete_day_is_read_again(server, clock, tmp_path, data):
    day = dt.date(2026, 11, 21)
    sid = next(o["shipment"] for o in data["orders"] if o["day"] == day and o["status"] == "paid")
    server.fail[f"/shipments/{sid}/costs"] = 500
    src = ml_source(server, clock, tmp_path)
    first = _collect(src)
    assert any(f"mercadolibre:orders:{day}" == r.name for r in first)        # its sales are still there
    [problem] = [str(p) for p in src.problems]
    assert str(day) in problem and "shipments that could not be read: 1" in problem
    cached = json.loads((tmp_path / "mercadolibre" / "days" / str(SELLER_ID) / f"{day}.json").read_text())
    assert set(cached["families"]) == {"visits", "ads"}                       # orders incomplete: not kept
    neighbour = json.loads((tmp_path / "mercadolibre" / "days" / str(SELLER_ID) / f"{day - dt.timedelta(days=1)}"
                                                                                ".json").read_text())
    assert set(neighbour["families"]) == {"orders", "visits", "ads"}
    del server.fail[f"/shipments/{sid}/costs"]
    server.calls.clear()
    again = ml_source(server, clock, tmp_path)
    second = _collect(again)
    assert again.problems == []
    assert server.calls["shipments"] == 2           # its orders read again, and only the shipment missing
    assert server.calls["orders"] == 1
    assert sorted(r.name for r in first) == sorted(r.name for r in second)


def test_the_comparison_period_reads_orders_without_shipments(server, clock, tmp_path):
    src = ml_source(server, clock, tmp_path)
    request = FetchRequest(WEEK[0], WEEK[1], ("MLM",), comparison=(dt.date(2026, 11, 1), dt.date(2026, 11, 7)))
    docs = list(src.collect(request))
    names = {r.name for r in docs}
    assert "mercadolibre:orders:2026-11-03" in names and "mercadolibre:orders:2026-11-22" in names
    shipped = {r.name for r in docs if ":orders:" in r.name and json.loads(r.data)[0].get("shipments")}
    assert "mercadolibre:orders:2026-11-22" in shipped and "mercadolibre:orders:2026-11-03" not in shipped


def test_credentials_come_from_the_environment_and_are_never_shown(server, clock, tmp_path, caplog):
    with pytest.raises(ConfigError) as err:
        open_mercadolibre_source({"MERCADOLIBRE_REFRESH_TOKEN": REFRESH_TOKEN}, tmp_path)
    assert "MERCADOLIBRE_CLIENT_ID" in str(err.value) and "MERCADOLIBRE_CLIENT_SECRET" in str(err.value)
    caplog.set_level(logging.DEBUG)
    bad = ml_env(server, MERCADOLIBRE_CLIENT_SECRET="wrong-secret-value-123")
    src = ml_source(server, clock, tmp_path, env=bad)
    with pytest.raises(ConfigError) as err:
        src.api.get("/users/me")
    text = str(err.value) + caplog.text + repr(src.api.app)
    assert "invalid_client" in str(err.value)
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, "wrong-secret-value-123"):
        assert secret not in text
    # and a refused connection ends only this store's reading, named, in a sync
    src = ml_source(server, clock, tmp_path / "other", env=bad)
    list(src.collect(FetchRequest(*WEEK, ("MLM",))))
    assert any("invalid_client" in str(p) for p in src.problems)


def test_not_connected_says_how_to_connect(tmp_path, server):
    env = {k: v for k, v in ml_env(server).items() if k != "MERCADOLIBRE_REFRESH_TOKEN"}
    with pytest.raises(ConfigError, match="sheets-sync connect mercadolibre"):
        open_mercadolibre_source(env, tmp_path)


def test_a_token_kept_by_earlier_versions_is_adopted(server, clock, tmp_path):
    """Before this store, the newest refresh token lived in <data_dir>/mercadolibre/token.json."""
    from sheets_sync.tokens import fingerprint

    rotated = requests.post(f"{server.url}/oauth/token", data={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN}).json()["refresh_token"]
    legacy = tmp_path / "mercadolibre" / "token.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({"client_id": CLIENT_ID, "origin": fingerprint(REFRESH_TOKEN),
                                  "refresh_token": rotated}))
    src = ml_source(server, clock, tmp_path)          # the variable still holds the used seed
    assert src.api.get("/users/me")["id"] == SELLER_ID


def test_calls_are_paced_by_the_budget(server, clock, tmp_path):
    from sheets_sync.sources.amazon_common import LocalBudget

    src = ml_source(server, clock, tmp_path)
    src.api.budget = LocalBudget({"mercadolibre": (1.0, 2)}, clock=clock)
    start = clock.now
    for _ in range(5):
        src.api.get("/users/me")
    assert clock.now - start == pytest.approx(3.0, abs=0.05)
    assert 429 not in [s for _, _, s in server.log]


def test_mercado_libre_alone_needs_no_amazon_variable(server, clock, tmp_path):
    env = {k: v for k, v in ml_env(server).items()}
    assert not [k for k in env if k.startswith(("LWA_", "SP_API", "ADS_"))]
    config = Config(env=env, data_dir=tmp_path)
    src = open_source(config, WorkbookConfig(name="t", source="api", marketplaces=("MLM",)))
    assert isinstance(src, MercadoLibreSource)
    src.api.budget.clock, src.api.sleep, src.api.clock = clock, clock.sleep, clock     # the virtual clock
    src._today = lambda: TODAY
    wb, res = _sync(src, "gmv", "full_share")
    assert res.ok and actuals(wb)[("gmv", "account", "")] > 0
    assert not [p for p in res.problems if "LWA" in p or "Amazon" in p]


def test_api_source_with_amazon_too_combines_both(tmp_path):
    from sheets_sync.sources.combined import CombinedSource

    env = {"MERCADOLIBRE_CLIENT_ID": CLIENT_ID, "MERCADOLIBRE_CLIENT_SECRET": CLIENT_SECRET,
           "MERCADOLIBRE_REFRESH_TOKEN": REFRESH_TOKEN, "LWA_APP_ID": "x", "LWA_CLIENT_SECRET": "y",
           "SP_API_REFRESH_TOKEN": "z"}
    src = open_source(dataclasses.replace(Config(env=env, data_dir=tmp_path)), WorkbookConfig(name="t", source="api"))
    assert isinstance(src, CombinedSource) and [s.name for s in src.sources] == ["amazon", "mercadolibre"]


# ------------------------------------------------------------------------------- a killed process, `connect`
_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sheets_sync.sources.mercadolibre import open_mercadolibre_source
    from sheets_sync.sources.mercadolibre_api import MercadoLibreHttpError
    env = {"MERCADOLIBRE_CLIENT_ID": sys.argv[2], "MERCADOLIBRE_CLIENT_SECRET": sys.argv[3],
           "MERCADOLIBRE_REFRESH_TOKEN": sys.argv[4], "MERCADOLIBRE_API_URL": sys.argv[1]}
    src = open_mercadolibre_source(env, Path(sys.argv[5]))
    print("ready", flush=True)
    while True:
        try:
            src.api.get("/users/me")
        except MercadoLibreHttpError:     # a token that died between two calls (they live half a second)
            pass                          # — but a refused refresh (TokenRefused) ends the process: exit 1
""")


def test_a_killed_process_never_loses_the_rotated_refresh_token(data, tmp_path):
    """Three processes that refresh all the time (tokens live half a second) are killed with SIGKILL at random
    moments, four times; each time new processes go on from what was stored — never with a used refresh token.
    And on every call Mercado Libre sees, the refresh token that came with the caller's access token is already
    on disk: it is saved before it is used.

    The kills wait until no refresh is between Mercado Libre and the disk (the provider has rotated, the answer
    is on its way or being saved): a process killed there loses the token, as any client would — the provider
    already made the old one invalid. That is the one moment no client can protect."""
    import random

    rng = random.Random(26)
    store = token_store(tmp_path)
    with MercadoLibreServer(data, access_ttl=0.5, rates=None) as srv:
        issued: dict[str, str] = {}              # access token → the refresh token issued with it
        order: list[str] = [REFRESH_TOKEN]       # refresh tokens, oldest first
        used_before_saved: list[str] = []
        token, route = srv._token, srv.route

        def watched_token(form):
            answer = token(form)
            if answer[0] == 200:
                issued[answer[1]["access_token"]] = answer[1]["refresh_token"]
                order.append(answer[1]["refresh_token"])
            return answer

        def watched_route(method, path, q, form, headers):
            access = headers.get("authorization", "")[7:]
            if access in issued:
                stored = store.load(TOKEN_KEY)
                if stored is None or order.index(stored.refresh_token) < order.index(issued[access]):
                    used_before_saved.append(path)
            return route(method, path, q, form, headers)

        srv._token, srv.route = watched_token, watched_route
        args = [sys.executable, "-c", _CHILD, srv.url, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, str(tmp_path)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        for _ in range(4):
            before = srv.refreshes
            procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                     for _ in range(3)]
            for p in procs:
                assert p.stdout.readline().strip() == "ready", p.stderr.read()
            deadline = time.monotonic() + 20
            while srv.refreshes < before + 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.random() * 0.3)
            while True:            # no rotation can start while the server's lock is held
                with srv.lock:
                    saved = store.load(TOKEN_KEY)
                    if saved is not None and saved.refresh_token == srv.latest_refresh[CLIENT_ID]:
                        for p in procs:
                            p.send_signal(signal.SIGKILL)
                        break
                time.sleep(0.001)
            for p in procs:
                _, err = p.communicate(timeout=10)
                assert p.returncode == -signal.SIGKILL, err
            assert srv.refreshes >= before + 3
        refused = [e for e in srv.log if e[1] == "/oauth/token" and e[2] != 200]
        assert refused == []                      # no process ever presented a used refresh token
        assert used_before_saved == []
        assert store.load(TOKEN_KEY).refresh_token == srv.latest_refresh[CLIENT_ID]


def test_connect_stores_the_first_refresh_token(data, tmp_path):
    """`sheets-sync connect mercadolibre` prints the authorization link; the operator signs in (here: the local
    Mercado Libre consents at once) and pastes where the browser landed; the connection is stored and a sync
    works with no MERCADOLIBRE_REFRESH_TOKEN at all."""
    with MercadoLibreServer(data, rates=None, pkce_required=True) as srv:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MERCADOLIBRE_", "LWA_", "SP_API", "ADS_"))}
        env.update({k: v for k, v in ml_env(srv).items() if k != "MERCADOLIBRE_REFRESH_TOKEN"},
                   SHEETS_SYNC_DATA_DIR=str(tmp_path), PYTHONPATH=os.pathsep.join(sys.path))
        p = subprocess.Popen([sys.executable, "-m", "sheets_sync.cli", "connect", "mercadolibre", "--language", "es"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             cwd=tmp_path)
        assert "Abra este enlace" in p.stdout.readline()
        link = p.stdout.readline().strip()
        assert link.startswith(f"{srv.url}/authorization?") and "code_challenge=" in link
        landed = requests.get(link, allow_redirects=False).headers["Location"]
        out, err = p.communicate(landed + "\n", timeout=30)
        assert p.returncode == 0, err
        assert f"Vendedor de Mercado Libre {SELLER_ID} conectado" in out
        stored = token_store(tmp_path).load(TOKEN_KEY)
        assert stored is not None and stored.refresh_token == srv.latest_refresh[CLIENT_ID]
        assert stored.refresh_token not in out + err
        src = open_mercadolibre_source({k: v for k, v in env.items() if k.startswith("MERCADOLIBRE_")}, tmp_path)
        assert src.api.get("/users/me")["id"] == SELLER_ID
