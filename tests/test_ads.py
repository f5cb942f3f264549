"""Ads API source: the real python-amazon-ad-api client over HTTP against the local Amazon (sheets_sync/testing/amazon_server.py)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os

import pytest

from sheets_sync.errors import ConfigError, FatalError, QuotaError
from sheets_sync.sources.ads import AdsApiSource, AdsCredentials
from sheets_sync.sources.amazon import open_amazon_source
from sheets_sync.sources.amazon_common import MAX_RETRIES
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.parsing import parse_report
from sheets_sync.testing.amazon_documents import synthetic_document
from sheets_sync.testing.amazon_server import (
    ADS_CLIENT_ID,
    ADS_CLIENT_SECRET,
    ADS_PROFILES,
    ADS_REFRESH_TOKEN,
    AmazonServer,
    fresh_tokens,  # noqa: F401  (the shared fixture)
    make_config,
    utc_noon,
)

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fresh_tokens")]

TODAY = dt.date(2024, 6, 1)
NOW = utc_noon(TODAY)




@pytest.fixture
def srv():
    with AmazonServer(today=TODAY) as server:
        yield server


def d(day: int) -> dt.date:
    return dt.date(2024, 5, day)


class Recorder:
    """The source's sleeps, passed on to the server's clock."""

    def __init__(self, srv: AmazonServer) -> None:
        self.srv = srv
        self.sleeps: list[float] = []
        self.messages: list[str] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.srv.sleep(s)


def source(srv, tmp_path, rec=None, env=None, markets=("US", "MX"), **kw) -> AdsApiSource:
    """The Ads source; the request mechanics below are shown on the advertised-product report alone
    (``report_types``), the Brands and Display ad-group reports further down."""
    cfg = make_config(srv, tmp_path, env)
    rec = rec or Recorder(srv)
    kw.setdefault("report_types", ("spAdvertisedProduct",))
    return AdsApiSource(AdsCredentials.from_env(cfg.env, markets), tmp_path / "reports-cache",
                        endpoint=cfg.ads_api_endpoint, lwa_token_url=cfg.lwa_token_url, clock=lambda: NOW,
                        sleep=rec.sleep, poll_interval=5.0, **kw)


def fetch(src, start, end, rec=None, markets=("US", "MX")):
    progress = rec.messages.append if rec else (lambda m: None)
    return list(src.collect(FetchRequest(start, end, markets, progress=progress)))


def posts(srv):
    return [e for e in srv.log if e["method"] == "POST" and e["path"] == "/reporting/reports"]


def test_daily_sp_advertised_product_per_profile(srv, tmp_path):
    srv.ads_polls_to_done = 3
    rec = Recorder(srv)
    raws = fetch(source(srv, tmp_path, rec), d(25), d(31), rec)
    assert [r.marketplace_hint for r in raws] == ["US", "MX"]
    assert all(r.data[:2] == b"\x1f\x8b" for r in raws)                    # the gzip exactly as served
    sent = posts(srv)
    assert [e["headers"]["amazon-advertising-api-scope"] for e in sent] == [ADS_PROFILES["US"], ADS_PROFILES["MX"]]
    assert all(e["headers"]["amazon-advertising-api-clientid"] == ADS_CLIENT_ID for e in sent)
    body = json.loads(sent[0]["body"])
    cfg = body["configuration"]
    assert (body["startDate"], body["endDate"]) == ("2024-05-25", "2024-05-31")
    assert (cfg["reportTypeId"], cfg["timeUnit"], cfg["format"], cfg["groupBy"]) == \
        ("spAdvertisedProduct", "DAILY", "GZIP_JSON", ["advertiser"])
    assert {"date", "sales7d", "sales14d", "purchases7d", "purchases14d", "unitsSoldClicks7d", "cost"} <= set(cfg["columns"])
    downloads = [e for e in srv.log if e["path"].startswith("/ads-s3/")]
    assert downloads and all("authorization" not in e["headers"] for e in downloads)
    polls = [m for m in rec.messages if "reports ready" in m]
    assert "PENDING" in polls[0] and any("PROCESSING" in m for m in polls)
    batches = [b for r in raws for b in parse_report(r)]
    assert [(b.family, b.marketplace, b.currency) for b in batches] == [("ads", "US", "USD"), ("ads", "MX", "MXN")]
    assert all(len(b.asin_rows) == 14 and b.provisional_days == {d(29), d(30), d(31)} for b in batches)


def test_duplicate_request_425_reuses_the_existing_report(srv, tmp_path):
    fetch(source(srv, tmp_path / "a"), d(30), d(31), markets=("US",))
    rec = Recorder(srv)
    again = fetch(source(srv, tmp_path / "b", rec), d(30), d(31), rec, markets=("US",))
    assert len(again) == 1 and parse_report(again[0])[0].asin_rows is not None
    assert len(srv.ads_reports) == 1                                  # no second report was generated
    assert any("reusing it" in m for m in rec.messages)


def test_settled_ad_days_are_cached_recent_ones_refetched(srv, tmp_path):
    fetch(source(srv, tmp_path), d(1), d(31), markets=("US",))
    first = [json.loads(e["body"]) for e in posts(srv)]
    assert [(b["startDate"], b["endDate"]) for b in first] == [("2024-05-01", "2024-05-17"), ("2024-05-18", "2024-05-31")]
    n = len(posts(srv))
    raws = fetch(source(srv, tmp_path), d(1), d(31), markets=("US",))
    again = [json.loads(e["body"]) for e in posts(srv)[n:]]
    assert [(b["startDate"], b["endDate"]) for b in again] == [("2024-05-18", "2024-05-31")]   # 14-day restatement
    assert len(raws) == 2


def test_failed_report_is_a_problem_with_amazons_reason(srv, tmp_path):
    srv.ads_failed = lambda report: report["marketplace"] == "MX"
    src = source(srv, tmp_path)
    raws = fetch(src, d(31), d(31))
    assert [r.marketplace_hint for r in raws] == ["US"]
    assert len(src.problems) == 1 and "FAILED" in src.problems[0] and "internal error (TEST)" in src.problems[0]


def test_throttling_honours_retry_after_and_is_bounded(srv, tmp_path):
    srv.throttle["ads:createReport"] = 2
    srv.retry_after = "9"
    rec = Recorder(srv)
    assert len(fetch(source(srv, tmp_path, rec), d(31), d(31), rec, markets=("US",))) == 1
    assert rec.sleeps[:2] == [9.0, 9.0]
    srv.throttle["ads:getReport"] = 1000
    with pytest.raises(QuotaError):
        fetch(source(srv, tmp_path / "x", Recorder(srv)), d(30), d(30), markets=("US",))
    assert srv.throttle["ads:getReport"] == 1000 - (MAX_RETRIES + 1)


def test_missing_profile_names_the_variable(srv):
    env = {k: v for k, v in srv.env().items() if k != "ADS_PROFILE_ID_MX"}
    with pytest.raises(ConfigError, match="ADS_PROFILE_ID_MX"):
        AdsCredentials.from_env(env)
    assert AdsCredentials.from_env(env, ("US",)).profiles == {"US": ADS_PROFILES["US"]}


@pytest.mark.parametrize(("bad", "variable", "code"), [
    ({"ADS_REFRESH_TOKEN": "Atzr|expired-0000"}, "ADS_REFRESH_TOKEN", "invalid_grant"),
    ({"ADS_CLIENT_SECRET": "nope-0000"}, "ADS_CLIENT_SECRET", "invalid_client"),
], ids=["refresh-token", "client-secret"])
def test_rejected_credentials(srv, tmp_path, caplog, bad, variable, code):
    caplog.set_level(logging.INFO)
    with pytest.raises(FatalError) as info:
        fetch(source(srv, tmp_path, env={**srv.env(), **bad}), d(31), d(31), markets=("US",))
    assert variable in str(info.value) and code in str(info.value)
    for secret in (ADS_CLIENT_SECRET, ADS_REFRESH_TOKEN, *bad.values()):
        assert secret not in str(info.value) + caplog.text


def test_unknown_profile_is_fatal_and_names_the_profile_variable(srv, tmp_path):
    env = {**srv.env(), "ADS_PROFILE_ID_US": "9999999999"}
    with pytest.raises(FatalError, match="ADS_PROFILE_ID_US") as info:
        fetch(source(srv, tmp_path, env=env), d(31), d(31), markets=("US",))
    assert "HTTP 403" in str(info.value)


def test_library_environment_and_logging_side_effects_are_contained(srv, tmp_path, monkeypatch):
    monkeypatch.setenv("AD_API_CLIENT_ID", "from-env")
    monkeypatch.setenv("AD_API_CLIENT_SECRET", "from-env")
    monkeypatch.setenv("AD_API_REFRESH_TOKEN", "from-env")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    assert len(fetch(source(srv, tmp_path), d(31), d(31))) == 2
    assert list(root.handlers) == handlers and root.level == level
    assert os.environ["AD_API_CLIENT_ID"] == "from-env"


# ------------------------------------------------------------------------------------ combined source

def test_open_amazon_source_combines_both_and_counts_calls(srv, tmp_path):
    cfg = make_config(srv, tmp_path)
    src = open_amazon_source(cfg, clock=lambda: NOW, poll_interval=1.0, **srv.client_timing())
    raws = list(src.collect(FetchRequest(d(27), d(31), ("US",))))
    assert {r.name.split(":")[0] for r in raws} == {"sp-api", "ads"}
    # Data Kiosk: by date + which ASINs + one trends query; orders, returns (2 runs each), inventory, health; ads:
    # the advertised products and the Brands and Display ad groups
    assert src.create_report_calls + src.sp.create_query_calls == srv.create_report_calls == 3 + 2 + 2 + 1 + 1 + 3
    assert src.api_calls >= 6 * 3 and src.problems == []
    assert any((tmp_path / "reports-cache").rglob("*.meta.json"))


def test_ads_optional_when_no_ads_variable_is_set(srv, tmp_path):
    cfg = make_config(srv, tmp_path, srv.env(ads=False))
    src = open_amazon_source(cfg, clock=lambda: NOW, **srv.client_timing())
    raws = list(src.collect(FetchRequest(d(31), d(31), ("US",))))
    assert all(r.name.startswith("sp-api:") for r in raws)
    assert len(src.problems) == 1 and "Ads API not configured" in src.problems[0]


def test_partial_ads_configuration_is_a_config_error(srv, tmp_path):
    env = {**srv.env(ads=False), "ADS_CLIENT_ID": "x"}
    with pytest.raises(ConfigError) as info:
        open_amazon_source(make_config(srv, tmp_path, env))
    assert "ADS_CLIENT_SECRET" in str(info.value) and "ADS_PROFILE_ID_MX" in str(info.value)


def test_missing_sp_api_credentials_fail_at_open(srv, tmp_path):
    with pytest.raises(ConfigError, match="SP_API_REFRESH_TOKEN"):
        open_amazon_source(make_config(srv, tmp_path, {"LWA_APP_ID": "a", "LWA_CLIENT_SECRET": "b"}))


def test_days_older_than_the_95_the_ads_api_keeps_are_a_clear_problem_not_an_http_400(srv, tmp_path):
    src = source(srv, tmp_path)
    oldest = TODAY - dt.timedelta(days=94)                       # 2024-02-28
    raws = fetch(src, dt.date(2024, 2, 20), dt.date(2024, 3, 5), markets=("US",))
    sent = [json.loads(e["body"]) for e in posts(srv)]
    assert sent and min(b["startDate"] for b in sent) == oldest.isoformat()
    assert len(raws) == len(sent) and all(r.marketplace_hint == "US" for r in raws)
    [problem] = src.problems
    assert str(problem).startswith('Amazon Ads US: "2024-02-20..2024-02-27" — older than the 95 days')
    assert "Ads console" in str(problem)


@pytest.mark.parametrize("language, said", [
    ("es", "anteriores a los 95 días de productos anunciados de Sponsored Products que conserva la API de Ads"),
    ("zh", "早于 Ads API 保留的 95 天商品推广（推广的商品）数据"),
])
def test_the_days_too_old_line_reads_in_the_teams_language(srv, tmp_path, language, said):
    from sheets_sync.localize import Translator

    src = source(srv, tmp_path)
    fetch(src, dt.date(2024, 2, 20), dt.date(2024, 3, 5), markets=("US",))
    [problem] = src.problems
    shown = Translator(language).line(str(problem))
    assert said in shown and "older" not in shown and "missing" not in shown, shown


def _create_report(srv, start: str, end: str, configuration: dict | None = None):
    """POST a report request straight to the local Ads API (by default an advertised-product report)."""
    import requests

    body = {"startDate": start, "endDate": end,
            "configuration": configuration or {
                "reportTypeId": "spAdvertisedProduct", "format": "GZIP_JSON", "timeUnit": "DAILY",
                "adProduct": "SPONSORED_PRODUCTS", "groupBy": ["advertiser"], "columns": ["date", "advertisedAsin", "cost"]}}
    token = requests.post(srv.url + "/auth/o2/token", data={"grant_type": "refresh_token",
                                                            "refresh_token": ADS_REFRESH_TOKEN, "client_id": ADS_CLIENT_ID,
                                                            "client_secret": ADS_CLIENT_SECRET}, timeout=5).json()
    return requests.post(srv.url + "/reporting/reports", json=body, timeout=5, headers={
        "Authorization": f"Bearer {token['access_token']}", "Amazon-Advertising-API-ClientId": ADS_CLIENT_ID,
        "Amazon-Advertising-API-Scope": ADS_PROFILES["US"]})


def test_the_local_ads_server_refuses_dates_beyond_95_days_like_amazon(srv):
    res = _create_report(srv, "2024-02-01", "2024-02-02")
    assert res.status_code == 400 and "retention start date (2024-02-27)" in res.json()["detail"]


def test_the_local_ads_server_refuses_more_than_31_days_in_one_report(srv):
    res = _create_report(srv, "2024-04-01", "2024-05-02")
    assert res.status_code == 400 and "maximum of 31 days" in res.json()["detail"]


# ------------------------------------------------------------------------------------ campaigns and ad groups

def test_brands_and_display_ad_groups_are_requested_as_their_pages_say(srv, tmp_path):
    raws = fetch(source(srv, tmp_path, report_types=("spAdvertisedProduct", "sbAdGroup", "sdAdGroup")),
                 d(25), d(31), markets=("US",))
    sent = {json.loads(e["body"])["configuration"]["reportTypeId"]: json.loads(e["body"]) for e in posts(srv)}
    assert set(sent) == {"spAdvertisedProduct", "sbAdGroup", "sdAdGroup"}
    for rtype, product in (("sbAdGroup", "SPONSORED_BRANDS"), ("sdAdGroup", "SPONSORED_DISPLAY")):
        cfg = sent[rtype]["configuration"]
        assert (cfg["adProduct"], cfg["groupBy"], cfg["timeUnit"]) == (product, ["adGroup"], "DAILY")
        assert {"campaignId", "campaignName", "adGroupId", "adGroupName", "cost", "sales", "purchases"} <= set(cfg["columns"])
    assert "portfolioId" in sent["spAdvertisedProduct"]["configuration"]["columns"]
    batches = {b.kind + ":" + b.extras.get("ad_product", "SP"): b for r in raws for b in parse_report(r)}
    assert set(batches) == {"ads_sp_api_v3:SP", "ads_campaign_api_v3:SB", "ads_campaign_api_v3:SD"}
    sb = batches["ads_campaign_api_v3:SB"]
    assert sb.extras["attribution_windows"] == ["14d"] and sb.extras["campaign_level"] == "ad_group"
    assert len(sb.campaign_rows) == 7 and set(sb.campaign_rows["ad_product"]) == {"SB"}
    # the report holds what was asked for, nothing else
    assert set(sb.campaign_rows["campaign_name"]) == {"SB - Marca - Tienda"}
    sp = batches["ads_sp_api_v3:SP"]
    assert set(sp.campaign_rows["campaign_id"]) == {"123456789012345"}


def test_brands_and_display_keep_fewer_days_than_sponsored_products(srv, tmp_path):
    src = source(srv, tmp_path, report_types=("spAdvertisedProduct", "sbAdGroup", "sdAdGroup"))
    fetch(src, TODAY - dt.timedelta(days=70), TODAY - dt.timedelta(days=40), markets=("US",))
    first = {json.loads(e["body"])["configuration"]["reportTypeId"]: json.loads(e["body"])["startDate"]
             for e in posts(srv)}
    assert first == {"spAdvertisedProduct": "2024-03-23", "sbAdGroup": (TODAY - dt.timedelta(days=59)).isoformat(),
                     "sdAdGroup": (TODAY - dt.timedelta(days=64)).isoformat()}
    said = [str(p) for p in src.problems]
    assert len(said) == 2 and any("60 days of Sponsored Brands ad groups the Ads API keeps" in p for p in said)
    assert any("65 days of Sponsored Display ad groups the Ads API keeps" in p for p in said)


def test_settled_campaign_days_are_cached_per_report_type(srv, tmp_path):
    kinds = ("spAdvertisedProduct", "sbAdGroup", "sdAdGroup")
    fetch(source(srv, tmp_path, report_types=kinds), d(1), d(31), markets=("US",))
    n = len(posts(srv))
    raws = fetch(source(srv, tmp_path, report_types=kinds), d(1), d(31), markets=("US",))
    again = [json.loads(e["body"]) for e in posts(srv)[n:]]
    assert sorted((b["configuration"]["reportTypeId"], b["startDate"]) for b in again) == [
        (k, "2024-05-18") for k in sorted(kinds)]                      # only the days still restating
    assert sorted(r.name.split(":")[1] for r in raws) == sorted(kinds * 2)


def test_an_account_without_brands_or_display_is_not_marked_not_ready(tmp_path):
    """An empty ad-group report means no campaign of that ad product; only the advertised-product report's
    emptiness says "not ready"."""
    def documents(rtype, mkt, a, b):
        return b"[]" if rtype in ("sbAdGroup", "sdAdGroup") else synthetic_document(rtype, mkt, a, b)

    with AmazonServer(today=TODAY, documents=documents) as server:
        kinds = ("spAdvertisedProduct", "sbAdGroup", "sdAdGroup")
        rec = Recorder(server)
        raws = fetch(source(server, tmp_path, rec, report_types=kinds), d(1), d(31), rec, markets=("US",))
        first_provisional = {r.name.split(":")[1]: r.provisional_days for r in raws if "2024-05-18" in r.name}
        assert first_provisional["sbAdGroup"] == first_provisional["sdAdGroup"] == first_provisional[
            "spAdvertisedProduct"] == {d(29), d(30), d(31)}
        assert all(not r.provisional_days for r in raws if "2024-05-01" in r.name)
        assert not any("not ready" in m for m in rec.messages)
        n = len(posts(server))
        fetch(source(server, tmp_path, report_types=kinds), d(1), d(31), markets=("US",))
        assert len(posts(server)) - n == 3          # the settled empty documents came from the cache


@pytest.mark.parametrize("change, detail", [
    ({"reportTypeId": "spNothing"}, "configuration reportTypeId is unknown or invalid"),
    ({"adProduct": "SPONSORED_BRANDS"}, "configuration adProduct is not supported for this report type"),
    ({"groupBy": ["campaigns"]}, "configuration invalid groupBy values: (campaigns). Allowed values: (campaign, "
                                 "adGroup, campaignPlacement)"),
    ({"columns": ["date", "adGroupId", "sales"]}, "configuration columns includes invalid values: (adGroupId, sales)"),
    ({"columns": ["startDate", "endDate", "cost"]}, "configuration startDate and endDate are not supported columns "
                                                     "for DAILY time unit. Please use date instead."),
], ids=["report-type", "ad-product", "group-by", "columns", "daily-dates"])
def test_the_local_ads_server_refuses_what_the_report_pages_do_not_allow(srv, change, detail):
    valid = {"reportTypeId": "spCampaigns", "adProduct": "SPONSORED_PRODUCTS", "groupBy": ["campaign"],
             "columns": ["date", "campaignId", "cost", "sales7d"], "timeUnit": "DAILY", "format": "GZIP_JSON"}
    res = _create_report(srv, "2024-05-01", "2024-05-02", {**valid, **change})
    assert res.status_code == 400 and res.json() == {"code": "400", "detail": detail}
    both = {**valid, "groupBy": ["campaign", "adGroup"], "columns": ["date", "campaignId", "adGroupId", "cost"]}
    assert _create_report(srv, "2024-05-01", "2024-05-02", both).status_code == 200   # each groupBy's columns
