"""SP-API source: the real python-amazon-sp-api client over HTTP against the local Amazon (sheets_sync/testing/amazon_server.py)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from sheets_sync.errors import ConfigError, FatalError, QuotaError
from sheets_sync.sources.amazon_common import MAX_WAIT_S, retry_wait
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.parsing import parse_report
from sheets_sync.sources.spapi import (
    ORDERS,
    SALES_AND_TRAFFIC,
    SELLER_PERFORMANCE,
    SP_REPORTS,
    SpApiCredentials,
    SpApiSource,
)
from sheets_sync.testing.amazon_server import (
    SP_CLIENT_SECRET,
    SP_REFRESH_TOKEN,
    AmazonServer,
    fresh_tokens,  # noqa: F401  (the shared fixture)
    make_config,
    utc_noon,
)

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fresh_tokens")]

TODAY = dt.date(2024, 6, 1)
NOW = utc_noon(TODAY)
SECRETS = (SP_CLIENT_SECRET, SP_REFRESH_TOKEN)




@pytest.fixture
def srv():
    with AmazonServer(today=TODAY) as server:
        yield server


class Recorder:
    """The source's sleeps, passed on to the server's clock (Amazon's buckets refill while the source waits)."""

    def __init__(self, srv: AmazonServer) -> None:
        self.srv = srv
        self.sleeps: list[float] = []
        self.messages: list[str] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.srv.sleep(s)


def source(srv: AmazonServer, tmp_path, rec: Recorder | None = None, env=None, **kw) -> SpApiSource:
    """The Reports API path (tests/test_datakiosk.py covers Data Kiosk and the fallback between them)."""
    cfg = make_config(srv, tmp_path, env)
    rec = rec or Recorder(srv)
    kw.setdefault("data_kiosk", False)
    return SpApiSource(SpApiCredentials.from_env(cfg.env), tmp_path / "reports-cache", endpoint=cfg.sp_api_endpoint,
                       lwa_token_url=cfg.lwa_token_url, clock=lambda: NOW, sleep=rec.sleep, poll_interval=5.0, **kw)


def fetch(src: SpApiSource, start: dt.date, end: dt.date, rec: Recorder | None = None, markets=("US", "MX")):
    progress = rec.messages.append if rec else (lambda m: None)
    return list(src.collect(FetchRequest(start, end, markets, progress=progress)))


def d(day: int) -> dt.date:
    return dt.date(2024, 5, day)


def creates(srv: AmazonServer) -> list[dict]:
    """The createReport bodies Amazon accepted (a throttled one is sent again)."""
    return [json.loads(e["body"]) for e in srv.log
            if e["method"] == "POST" and e["path"].startswith("/reports/") and e["status"] == 202]


# ------------------------------------------------------------------------------------------ the flow

def test_every_report_type_for_both_marketplaces_parses(srv, tmp_path):
    raws = fetch(source(srv, tmp_path), d(27), d(31))
    kinds = {(r.name.split(":")[1], r.marketplace_hint) for r in raws}
    assert kinds == {(s.report_type, m) for s in SP_REPORTS for m in ("US", "MX")}
    families = {}
    for raw in raws:
        for batch in parse_report(raw):
            families.setdefault((batch.family, raw.marketplace_hint), []).append(batch)
    assert set(families) == {(f, m) for f in ("traffic", "orders", "inventory", "returns", "health") for m in ("US", "MX")}
    traffic = families[("traffic", "MX")]
    assert [b.start for b in traffic] == [d(i) for i in range(27, 32)]        # one report per day
    assert all(b.currency == "MXN" and len(b.asin_rows) == 2 for b in traffic)   # per-ASIN daily figures


def test_requests_are_explicit_about_marketplace_granularity_and_local_days(srv, tmp_path):
    fetch(source(srv, tmp_path), d(30), d(31))
    bodies = creates(srv)
    assert all(len(b["marketplaceIds"]) == 1 for b in bodies)
    st = [b for b in bodies if b["reportType"] == SALES_AND_TRAFFIC.report_type]
    assert {(b["marketplaceIds"][0], b["dataStartTime"], b["dataEndTime"]) for b in st} == {
        (mid, day, day) for mid in ("ATVPDKIKX0DER", "A1AM78C64UM0Y8") for day in ("2024-05-30", "2024-05-31")}
    assert all(b["reportOptions"] == {"dateGranularity": "DAY", "asinGranularity": "CHILD"} for b in st)
    orders = {b["marketplaceIds"][0]: b for b in bodies if b["reportType"] == ORDERS.report_type}
    assert orders["ATVPDKIKX0DER"]["dataStartTime"] == "2024-05-30T00:00:00-07:00"       # US Pacific midnight
    assert orders["A1AM78C64UM0Y8"]["dataEndTime"] == "2024-05-31T23:59:59-06:00"        # Mexico City
    s3 = [e for e in srv.log if e["path"].startswith("/s3/")]
    assert s3 and all("x-amz-access-token" not in e["headers"] for e in s3)              # presigned: no auth


def test_charsets_from_the_download_and_cp1252_detection(srv, tmp_path):
    raws = {(r.name.split(":")[1], r.marketplace_hint): r for r in fetch(source(srv, tmp_path), d(30), d(31))
            if "2024-05-30" in r.name or "2024-06-01" in r.name}
    mx_orders = raws[(ORDERS.report_type, "MX")]
    assert mx_orders.charset == "cp1252" and "Nuevo León" in mx_orders.data.decode(mx_orders.charset)
    returns = raws[("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "MX")]       # UTF-8, no charset header
    assert returns.charset == "utf-8" and "pequeña" in returns.data.decode("utf-8")
    inventory = raws[("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "US")]       # cp1252, no charset header
    assert inventory.charset == "cp1252" and "Niño" in inventory.data.decode("cp1252")
    assert len(parse_report(inventory)[0].asin_rows) == 2


# ---------------------------------------------------------------------------------- cache, provisional

def test_resync_of_unchanged_period_requests_only_the_last_3_days(srv, tmp_path):
    first = fetch(source(srv, tmp_path), d(20), d(31))
    n_first = srv.create_report_calls
    assert srv.created[(SALES_AND_TRAFFIC.report_type, "US")] == 12
    second_src = source(srv, tmp_path)
    second = fetch(second_src, d(20), d(31))
    new = creates(srv)[n_first:]
    st_days = sorted({b["dataStartTime"] for b in new if b["reportType"] == SALES_AND_TRAFFIC.report_type})
    assert st_days == ["2024-05-29", "2024-05-30", "2024-05-31"]       # settled days never requested again
    ranged = [b for b in new if b["reportType"] in (ORDERS.report_type, "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA")]
    assert all(b["dataStartTime"].startswith("2024-05-29") for b in ranged) and len(ranged) == 4
    assert srv.create_report_calls - n_first == 2 * (3 + 1 + 1 + 2)       # 3 S&T days, orders, returns, 2 snapshots
    # the cached settled documents are the same bytes as first downloaded
    by_name = {r.name: r.data for r in first}
    cached = [r for r in second if r.name in by_name and not r.provisional_days and "2024-06-01" not in r.name]
    assert len(cached) == 2 * (9 + 1 + 1) and all(r.data == by_name[r.name] for r in cached)


def test_last_three_days_are_provisional(srv, tmp_path):
    raws = fetch(source(srv, tmp_path), d(25), d(31), markets=("US",))
    st = {r.name.split(":")[-1]: r.provisional_days for r in raws if SALES_AND_TRAFFIC.report_type in r.name}
    assert {k for k, v in st.items() if v} == {"2024-05-29..2024-05-29", "2024-05-30..2024-05-30",
                                               "2024-05-31..2024-05-31"}
    batches = [b for r in raws for b in parse_report(r) if b.family == "traffic"]
    assert set().union(*(b.provisional_days for b in batches)) == {d(29), d(30), d(31)}


def test_end_after_yesterday_is_clipped(srv, tmp_path):
    fetch(source(srv, tmp_path), d(31), TODAY, markets=("US",))
    st = [b for b in creates(srv) if b["reportType"] == SALES_AND_TRAFFIC.report_type]
    assert [b["dataStartTime"] for b in st] == ["2024-05-31"]


def test_cancelled_day_is_not_ready_not_zero_and_is_asked_again(srv, tmp_path):
    srv.outcome = lambda r: "CANCELLED" if r["reportType"] == SALES_AND_TRAFFIC.report_type and r["start"] == d(20) \
        else "DONE"
    raws = fetch(source(srv, tmp_path), d(20), d(21), markets=("US",))
    day20 = next(r for r in raws if r.name.endswith("2024-05-20..2024-05-20"))
    assert day20.provisional_days == {d(20)}
    [batch] = parse_report(day20)
    assert batch.provisional_days == {d(20)} and len(batch.asin_rows) == 0       # no rows, never zero sales
    srv.outcome = lambda r: "DONE"
    n = srv.create_report_calls
    again = fetch(source(srv, tmp_path), d(20), d(21), markets=("US",))
    st = [b["dataStartTime"] for b in creates(srv)[n:] if b["reportType"] == SALES_AND_TRAFFIC.report_type]
    assert st == ["2024-05-20"]                                         # the empty day is re-checked, 21st is cached
    assert not next(r for r in again if r.name.endswith("2024-05-20..2024-05-20")).provisional_days


def test_cancelled_account_health_contradicts_and_is_a_problem(srv, tmp_path):
    srv.outcome = lambda r: "CANCELLED" if r["reportType"] == SELLER_PERFORMANCE.report_type else "DONE"
    src = source(srv, tmp_path)
    raws = fetch(src, d(31), d(31), markets=("US",))
    assert not [r for r in raws if SELLER_PERFORMANCE.report_type in r.name]
    assert len(src.problems) == 1 and "account-health" in src.problems[0] and "cancelled" in src.problems[0]


def test_fatal_report_shows_the_error_document_and_the_rest_goes_on(srv, tmp_path):
    srv.outcome = lambda r: "FATAL" if r["reportType"] == ORDERS.report_type else "DONE"
    src = source(srv, tmp_path)
    raws = fetch(src, d(31), d(31), markets=("US",))
    assert len(src.problems) == 1
    assert "FATAL" in src.problems[0] and "exceeds the data retention period (error 4xx-TEST)" in src.problems[0]
    assert ORDERS.report_type in src.problems[0]
    assert len(raws) == len(SP_REPORTS) - 1


# -------------------------------------------------------------------------------- polling, throttling

def test_slow_generation_polls_with_backoff_and_reports_progress(srv, tmp_path):
    srv.polls_to_done = 4
    rec = Recorder(srv)
    raws = fetch(source(srv, tmp_path, rec, max_poll_interval=10.0), d(31), d(31), rec, markets=("US",))
    assert len(raws) == len(SP_REPORTS)
    assert rec.sleeps == [5.0, 7.5, 10.0, 10.0]                     # grows, then capped
    polls = [m for m in rec.messages if "reports ready" in m]
    assert "IN_QUEUE" in polls[0] and any("IN_PROGRESS" in m for m in polls)
    assert polls[0].startswith("SP-API: 0/5 reports ready")


def test_report_never_ready_becomes_a_problem_not_a_hang(srv, tmp_path):
    srv.polls_to_done = 1000
    src = source(srv, tmp_path, max_wait_s=20.0)
    assert fetch(src, d(31), d(31), markets=("US",)) == []
    assert len(src.problems) == len(SP_REPORTS) and all("run the sync again later" in p for p in src.problems)


@pytest.mark.parametrize(("op", "expected_waits"), [
    ("createReport", [1 / 0.0167] * 2),          # one request's worth of 0.0167/s
    ("getReport", [1.0, 2.0]),                   # 2/s: half a second is less than the backoff
    ("getReportDocument", [1 / 0.0167] * 2),
])
def test_a_throttled_call_waits_one_request_of_the_published_rate(srv, tmp_path, op, expected_waits):
    """Amazon's 429 names no rate and no Retry-After: the source waits at the operation's published rate."""
    srv.throttle[op] = 2
    rec = Recorder(srv)
    raws = fetch(source(srv, tmp_path, rec), d(31), d(31), rec, markets=("US",))
    assert len(raws) == len(SP_REPORTS)
    assert rec.sleeps[:2] == pytest.approx(expected_waits)
    assert sum("throttled" in m and "QuotaExceeded" in m for m in rec.messages) == 2
    refused = [e for e in srv.log if e["status"] == 429]
    assert len(refused) == 2 and all("x-amzn-ratelimit-limit" not in e for e in refused)


def test_throttling_is_bounded_then_quota_error(srv, tmp_path):
    srv.throttle["createReport"] = 1000
    rec = Recorder(srv)
    with pytest.raises(QuotaError) as info:
        fetch(source(srv, tmp_path, rec), d(31), d(31), rec, markets=("US",))
    assert info.value.retry_after >= 1 / 0.0167
    assert rec.sleeps == pytest.approx([1 / 0.0167] * 6)
    assert "createReport" in str(info.value) and "run the sync again later" in str(info.value)


def test_retry_wait_rules():
    assert retry_wait({"x-amzn-RateLimit-Limit": "0.5"}, 0) == 2.0
    assert retry_wait({"Retry-After": "3"}, 4) == 3.0
    assert retry_wait({"x-amzn-RateLimit-Limit": "garbage"}, 2) == 4.0
    assert retry_wait({"Retry-After": "soon"}, 0, rate=0.5) == 2.0       # the published rate when no header
    assert retry_wait({}, 0, rate=0.0001) == MAX_WAIT_S                   # capped
    assert retry_wait(None, 10) == MAX_WAIT_S


# ----------------------------------------------------------------------------------------- credentials

def test_missing_credentials_name_the_variables(srv):
    with pytest.raises(ConfigError) as info:
        SpApiCredentials.from_env({"LWA_APP_ID": "x", "LWA_CLIENT_SECRET": " "})
    assert "LWA_CLIENT_SECRET" in str(info.value) and "SP_API_REFRESH_TOKEN" in str(info.value)
    assert "LWA_APP_ID," not in str(info.value)


@pytest.mark.parametrize(("bad", "variables", "code"), [
    ({"SP_API_REFRESH_TOKEN": "Atzr|revoked-token-0000"}, ["SP_API_REFRESH_TOKEN"], "invalid_grant"),
    ({"LWA_CLIENT_SECRET": "wrong-secret-0000"}, ["LWA_APP_ID", "LWA_CLIENT_SECRET"], "invalid_client"),
], ids=["refresh-token", "client-secret"])
def test_rejected_credentials_say_which_variable_and_what_amazon_said(srv, tmp_path, caplog, bad, variables, code):
    env = {**srv.env(ads=False), **bad}
    rec = Recorder(srv)
    caplog.set_level(logging.INFO)
    with pytest.raises(FatalError) as info:
        fetch(source(srv, tmp_path, rec, env=env), d(31), d(31), rec, markets=("US",))
    msg = str(info.value)
    assert all(v in msg for v in variables) and code in msg and "HTTP 40" in msg
    everything = msg + "\n".join(rec.messages) + caplog.text
    for secret in (*SECRETS, *bad.values()):
        assert secret not in everything


def test_forbidden_seller_is_fatal_and_names_the_refresh_token(srv, tmp_path):
    src = source(srv, tmp_path)
    srv.tokens.clear()                                 # tokens revoked on Amazon's side → 403 Unauthorized
    src._client("US")._auth.get_auth()                  # prime a token the server no longer knows
    srv.tokens.clear()
    with pytest.raises(FatalError) as info:
        fetch(src, d(31), d(31), markets=("US",))
    assert "403 Unauthorized" in str(info.value) and "SP_API_REFRESH_TOKEN" in str(info.value)


def test_library_environment_variables_do_not_redirect_the_client(srv, tmp_path, monkeypatch):
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "UK")
    monkeypatch.setenv("AWS_ENV", "SANDBOX")
    monkeypatch.setenv("SP_API_REFRESH_TOKEN", "Atzr|from-process-env")
    monkeypatch.setenv("LWA_APP_ID", "amzn1.application-oa2-client.from-env")
    raws = fetch(source(srv, tmp_path), d(31), d(31), markets=("MX",))
    assert len(raws) == len(SP_REPORTS)
    assert {b["marketplaceIds"][0] for b in creates(srv)} == {"A1AM78C64UM0Y8"}
    gets = [e["path"] for e in srv.log if e["path"].startswith("/reports/2021-06-30/reports/")]
    assert gets and all("MarketplaceId=A1AM78C64UM0Y8" in p for p in gets)
    import os
    assert os.environ["SP_API_DEFAULT_MARKETPLACE"] == "UK"        # restored after construction


def test_credentials_repr_hides_secrets():
    creds = SpApiCredentials("app", "the-secret", "Atzr|the-token")
    assert "the-secret" not in repr(creds) and "the-token" not in repr(creds)


def test_an_empty_sales_and_traffic_document_is_told_from_one_with_rows():
    """A DONE report with no rows is provisional (asked again), never zero sales; a damaged document is left
    for the parser to name; Amazon's NaN (which orjson refuses) is still read."""
    from sheets_sync.sources.spapi import _is_empty

    empty = b'{"reportSpecification": {}, "salesAndTrafficByDate": [], "salesAndTrafficByAsin": []}'
    rows = b'{"salesAndTrafficByDate": [{"date": "2024-05-20", "trafficByDate": {"sessions": NaN}}]}'
    assert _is_empty(SALES_AND_TRAFFIC, empty, "utf-8") and _is_empty(SALES_AND_TRAFFIC, b"\xef\xbb\xbf ", None)
    assert not _is_empty(SALES_AND_TRAFFIC, rows, "utf-8")
    assert not _is_empty(SALES_AND_TRAFFIC, b'{"salesAndTrafficByAsin": [', "utf-8")
    assert _is_empty(ORDERS, b"amazon-order-id\tpurchase-date\n", "utf-8")


# ------------------------------------------------------------------------------------------- downloads

def test_an_expired_document_url_is_asked_for_again(srv, tmp_path):
    """A presigned URL lives 5 minutes (S3 then answers 403 "Request has expired"): the source asks
    getReportDocument for a fresh one instead of failing the report."""
    srv.throttle["expired-url"] = 1
    rec = Recorder(srv)
    raws = fetch(source(srv, tmp_path, rec), d(31), d(31), rec, markets=("US",))
    assert len(raws) == len(SP_REPORTS)
    expired = [e for e in srv.log if e["status"] == 403 and e["path"].startswith("/s3/")]
    documents = [e for e in srv.log if e["path"].startswith("/reports/2021-06-30/documents/")]
    assert len(expired) == 1 and len(documents) == len(SP_REPORTS) + 1
    assert any("HTTP 403" in m and "getReportDocument" in m for m in rec.messages)


def test_a_document_url_older_than_five_minutes_is_refused_by_the_local_s3(srv):
    import httpx

    doc_id = srv.store_document(b"a\tb\n", "text/plain", None)
    url = srv.presigned_url(doc_id)
    with httpx.Client() as http:
        fresh = http.get(url)
        srv.sleep(301)
        stale = http.get(url)
    assert fresh.status_code == 200 and fresh.content == b"a\tb\n"
    assert stale.status_code == 403 and b"Request has expired" in stale.content


def test_downloads_stream_through_a_bounded_buffer_and_check_the_gzip(srv, monkeypatch):
    """Streamed in chunks into a temporary file that spills to disk past SPOOL_BYTES (tiny here), gunzipped on
    the way (several gzip members too); a cut-off gzip is an error, not a short document."""
    import gzip

    import httpx

    from sheets_sync.sources import amazon_common

    monkeypatch.setattr(amazon_common, "SPOOL_BYTES", 1024)
    text = "".join(f"line {i}\tñ\n" for i in range(20_000)).encode("utf-8")
    whole = srv.store_document(text, "text/plain; charset=UTF-8", "GZIP")
    members = srv.store_document(text, "text/plain", None)
    srv.docs[members].body = gzip.compress(text[:1000]) + gzip.compress(text[1000:])
    cut = srv.store_document(gzip.compress(text)[:5000], "text/plain", None)
    with httpx.Client() as http:
        assert amazon_common.download_document(http, srv.presigned_url(whole), gunzip=True) == (text, "utf-8")
        assert amazon_common.download_document(http, srv.presigned_url(members), gunzip=True) == (text, None)
        with pytest.raises(amazon_common.DocumentDownloadError, match="ends early"):
            amazon_common.download_document(http, srv.presigned_url(cut), gunzip=True)


def test_downloads_have_real_timeouts(srv, tmp_path):
    """Not httpx's 5 s default: a large document may take a while between bytes."""
    src = source(srv, tmp_path, timeout=90.0)
    timeout = src._http().timeout
    assert (timeout.connect, timeout.read) == (10.0, 90.0)
    src.close()


def test_a_throttled_token_request_is_waited_for_not_taken_for_bad_credentials(srv, tmp_path):
    srv.throttle["token"] = 2
    rec = Recorder(srv)
    raws = fetch(source(srv, tmp_path, rec), d(31), d(31), rec, markets=("US",))
    assert len(raws) == len(SP_REPORTS)
    assert sum("Login with Amazon throttled" in m for m in rec.messages) == 2


# ------------------------------------------------------------------------------------ the local Amazon

def test_the_local_amazon_is_strict_unless_a_test_says_why_not(srv):
    """Every operation has Amazon's published rate (or says it guesses); turning limits off needs a reason."""
    from sheets_sync.budget import DEFAULT_LIMITS
    from sheets_sync.sources.amazon_common import ADS_RATE, SP_API_RATES, LocalBudget
    from sheets_sync.testing.amazon_server import OPERATIONS

    assert srv.limiter is not None and srv.unlimited_because is None
    assert all(op.source for op in OPERATIONS.values())
    assert all(OPERATIONS[name].rate == rate and OPERATIONS[name].burst == burst
               for name, (rate, burst) in SP_API_RATES.items())       # the client paces at the same figures
    # the Ads API's report calls (create and poll) share one bucket that stays within each of the server's guesses,
    # in one process and in the queue's shared budget alike
    ads = [op for name, op in OPERATIONS.items() if name.startswith("ads:")]
    assert ads and all(ADS_RATE[0] <= op.rate and ADS_RATE[1] <= op.burst for op in ads)
    assert LocalBudget().rates["ads"] == ADS_RATE == (DEFAULT_LIMITS["ads"].rate_per_s, DEFAULT_LIMITS["ads"].burst)
    with pytest.raises(ValueError, match="say why"):
        srv.no_rate_limits(because=" ")
    srv.no_rate_limits(because="this test sends 100 createReport calls in a row on purpose")
    assert srv.limiter is None and "on purpose" in srv.unlimited_because


def test_a_report_type_amazon_does_not_know_is_refused(srv, tmp_path):
    from sheets_sync.sources.spapi import SpReport

    src = source(srv, tmp_path, reports=(SpReport("GET_NO_SUCH_REPORT", "range", "tsv"),))
    with pytest.raises(FatalError, match=r"HTTP 400 InvalidInput.*GET_NO_SUCH_REPORT"):
        fetch(src, d(30), d(31), markets=("US",))
