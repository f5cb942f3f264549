"""Data Kiosk (analytics_salesAndTraffic_2024_04_24) through the real python-amazon-sp-api DataKiosk client
against the local Amazon: same figures as the Reports API, the fallback, "no document means no data",
pagination, the settled-day cache, and Amazon's rate limits (429s honoured, or never provoked when paced)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from sheets_sync.frames import RawReport
from sheets_sync.sources import datakiosk as dk
from sheets_sync.sources.amazon_common import LocalBudget
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.reports import parse_report
from sheets_sync.sources.spapi import SALES_AND_TRAFFIC, SpApiCredentials, SpApiSource
from sheets_sync.testing.amazon_documents import catalog_documents
from sheets_sync.testing.amazon_server import (
    AmazonServer,
    clear_token_caches,
    fresh_tokens,  # noqa: F401  (the shared fixture)
    make_config,
    synthetic_document,
    utc_noon,
)

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fresh_tokens")]

TODAY = dt.date(2024, 6, 1)
NOW = utc_noon(TODAY)
ST = SALES_AND_TRAFFIC.report_type


def d(day: int) -> dt.date:
    return dt.date(2024, 5, day)


def store(n_asins: int, no_data: frozenset[dt.date] = frozenset()):
    """Documents of a store with ``n_asins`` child ASINs in each marketplace; ``no_data`` days are empty."""
    return catalog_documents({m: [f"B0CHD{i:05d}" for i in range(n_asins)] for m in ("US", "MX")}, no_data)


def source(srv: AmazonServer, tmp_path, **kw) -> SpApiSource:
    """Sales and Traffic only; waits on the server's clock, paced at Amazon's rates unless ``budget=None``."""
    cfg = make_config(srv, tmp_path)
    kw = {**srv.client_timing(), **kw}
    return SpApiSource(SpApiCredentials.from_env(cfg.env), tmp_path / "reports-cache", endpoint=cfg.sp_api_endpoint,
                       lwa_token_url=cfg.lwa_token_url, clock=lambda: NOW, poll_interval=5.0,
                       reports=(SALES_AND_TRAFFIC,), **kw)


def collect(src: SpApiSource, start: dt.date, end: dt.date, markets=("US", "MX")):
    return list(src.collect(FetchRequest(start, end, markets)))


def figures(raws) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Daily account rows and per-ASIN daily rows, as the compute layer gets them; provisional days."""
    daily, asin, provisional = [], [], {}
    for raw in raws:
        for b in parse_report(raw):
            assert b.family == "traffic"
            for df, out in ((b.daily_rows, daily), (b.asin_rows, asin)):
                if df is not None and len(df):
                    out.append(df.assign(marketplace=b.marketplace))
            provisional.setdefault(b.marketplace, set()).update(b.provisional_days | raw.provisional_days)
    key_d, key_a = ["marketplace", "date"], ["marketplace", "date", "asin"]
    dd = pd.concat(daily).sort_values(key_d).reset_index(drop=True)
    aa = pd.concat(asin).sort_values(key_a).reset_index(drop=True)
    return dd[sorted(dd.columns)], aa[sorted(aa.columns)], provisional


# ------------------------------------------------------------------------------------------ queries

def test_queries_respect_the_dataset_limits():
    q = dk.trends_query("MX", d(1), d(31), [f"B0CHD{i:05d}" for i in range(30)], TODAY)
    assert q.startswith("query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficTrends(")
    assert '{marketplaceId: "A1AM78C64UM0Y8", asins: [' in q and len(q) <= dk.MAX_QUERY_CHARS
    with pytest.raises(dk.QueryError, match=r"1\.\.30 ASINs"):
        dk.trends_query("US", d(1), d(2), [f"B{i}" for i in range(31)])
    with pytest.raises(dk.QueryError, match="two years"):
        dk.by_date_query("US", dt.date(2022, 5, 1), d(1), TODAY)
    assert [len(c) for c in dk.chunks([str(i) for i in range(65)])] == [30, 30, 5]


def test_jsonl_documents_and_whole_answers_both_parse():
    line = {"startDate": "2024-05-01", "endDate": "2024-05-01", "childAsin": "B0X", "sales": {"unitsOrdered": 2}}
    wrapped = {"data": {dk.DATASET: {"salesAndTrafficTrends": [line, line]}}}
    assert dk.parse_jsonl((json.dumps(line) + "\n\n" + json.dumps(line) + "\n").encode()) == [line, line]
    assert dk.parse_jsonl(json.dumps(wrapped)) == [line, line]
    with pytest.raises(dk.DocumentError, match="line 2"):
        dk.parse_jsonl(b'{"a": 1}\n<html>')


# ------------------------------------------------------------------------------------- same figures

def test_data_kiosk_and_reports_api_give_the_same_figures(tmp_path):
    """35 ASINs (two trends queries per marketplace), a month: every daily and per-ASIN daily figure equal."""
    with AmazonServer(documents=store(35), today=TODAY) as srv:
        via_dk = collect(source(srv, tmp_path / "a"), d(1), d(31))
        queries = srv.create_report_calls
        via_reports = collect(source(srv, tmp_path / "b", data_kiosk=False), d(1), d(31))
        reports = srv.create_report_calls - queries
        trends = [q for q in srv.data_kiosk.log if q["field"] == "salesAndTrafficTrends"]
    assert queries == 2 * (1 + 1 + 2)                     # by date, which ASINs, 2 × trends (30 + 5 ASINs)
    assert reports == 2 * 31                              # one Sales and Traffic report per day
    assert sorted(len(q["asins"]) for q in trends) == [5, 5, 30, 30]
    dk_daily, dk_asin, dk_prov = figures(via_dk)
    rp_daily, rp_asin, rp_prov = figures(via_reports)
    assert len(dk_asin) > 31 * 30 and dk_asin["gmv"].sum() > 0
    pd.testing.assert_frame_equal(dk_daily, rp_daily)
    pd.testing.assert_frame_equal(dk_asin, rp_asin)
    assert dk_prov == rp_prov == {"US": {d(29), d(30), d(31)}, "MX": {d(29), d(30), d(31)}}


def test_pages_of_a_large_answer_are_all_fetched(tmp_path):
    with AmazonServer(documents=store(12), today=TODAY) as srv:
        srv.data_kiosk.page_size = 50                     # 12 ASINs × 10 days = 120 trends records: 3 pages
        paged = collect(source(srv, tmp_path / "a"), d(1), d(10), ("US",))
        assert srv.create_report_calls == 1 + 1 + 3
        srv.data_kiosk.page_size = 100_000
        whole = collect(source(srv, tmp_path / "b"), d(1), d(10), ("US",))
    for a, b in zip(figures(paged)[:2], figures(whole)[:2], strict=True):
        pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------- no data

def test_no_document_means_no_data_not_zero_sales(tmp_path):
    empty = frozenset({d(3), d(4)})
    with AmazonServer(documents=store(3, no_data=empty), today=TODAY) as srv:
        srv.data_kiosk.fatal = lambda q: None
        raws = collect(source(srv, tmp_path), d(3), d(5), ("US",))
        # a range with no data at all: DONE without any document
        none = collect(source(srv, tmp_path / "other"), d(3), d(4), ("US",))
    daily, _asin, provisional = figures(raws)
    assert list(daily["date"].dt.date) == [d(5)]          # no zero rows for the empty days
    assert provisional["US"] >= empty
    assert {r.name for r in none} == {"sp-api:data-kiosk:US:2024-05-03..2024-05-03",
                                      "sp-api:data-kiosk:US:2024-05-04..2024-05-04"}
    assert all(r.provisional_days for r in none)


# ---------------------------------------------------------------------------------------- fallback

def test_without_the_brand_analytics_role_the_reports_api_takes_over(tmp_path):
    with AmazonServer(documents=store(4), today=TODAY) as srv:
        srv.dk_access = False
        src = source(srv, tmp_path / "a")
        fallback = collect(src, d(1), d(5))
        assert srv.created[(ST, "US")] == srv.created[(ST, "MX")] == 5
        assert srv.created[("dataKiosk", "US")] == 0 and src.create_query_calls == 1   # refused once, not per run
        srv.dk_access = True
        direct = collect(source(srv, tmp_path / "b"), d(1), d(5))
    assert len(src.problems) == 2
    assert all("Brand Analytics role" in p and "Reports API instead" in p for p in src.problems)
    assert src.problems[0].startswith("data-kiosk:analytics_salesAndTraffic_2024_04_24:US:2024-05-01..2024-05-05")
    for a, b in zip(figures(fallback), figures(direct), strict=True):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)


def test_a_dataset_error_falls_back_with_amazons_message(tmp_path):
    with AmazonServer(documents=store(4), today=TODAY) as srv:
        srv.data_kiosk.fatal = lambda q: ("The dataset analytics_salesAndTraffic_2024_04_24 is not available"
                                          if "A1AM78C64UM0Y8" in q["query"] else None)
        src = source(srv, tmp_path)
        raws = collect(src, d(1), d(5))
        assert srv.created[(ST, "MX")] == 5 and srv.created[(ST, "US")] == 0
    assert len(src.problems) == 1
    assert "(FATAL): The dataset analytics_salesAndTraffic_2024_04_24 is not available" in src.problems[0]
    assert "Reports API instead" in src.problems[0] and ":MX:" in src.problems[0]
    daily, _a, _p = figures(raws)
    assert sorted(daily.groupby("marketplace").size().items()) == [("MX", 5), ("US", 5)]


# ------------------------------------------------------------------------------------------- cache

def test_a_resync_asks_data_kiosk_for_no_settled_day(tmp_path):
    stages: list[tuple[str, int, int]] = []
    with AmazonServer(documents=store(5), today=TODAY) as srv:
        first = collect(source(srv, tmp_path, stage_progress=lambda *a: stages.append(a)), d(1), d(31))
        assert stages[-1] == ("SP-API: reports ready", 6, 6)        # 2 × (by date, ASINs, trends)
        assert ("SP-API: requesting", 4, 4) in stages
        n = len(srv.data_kiosk.log)
        again = collect(source(srv, tmp_path), d(1), d(31))
        asked = srv.data_kiosk.log[n:]
        # the Reports API path reads the same cached days
        reports = collect(source(srv, tmp_path, data_kiosk=False), d(1), d(31))
    assert asked and all(q["start"] >= d(29) for q in asked)          # only the 3 provisional days
    assert srv.created[(ST, "US")] == 3
    for a, b, c in zip(figures(first)[:2], figures(again)[:2], figures(reports)[:2], strict=True):
        pd.testing.assert_frame_equal(a, b)
        pd.testing.assert_frame_equal(a, c)


# -------------------------------------------------------------------------------------- rate limits

def test_429s_are_honoured_at_amazons_rates(tmp_path):
    """Real rates, virtual time: 20 daily reports per marketplace overflow createReport's burst of 15. Without
    pacing Amazon answers 429 and the source waits one request's worth of the published rate (the 429 names
    none); with the budget it waits before asking and Amazon never refuses."""
    results = {}
    for paced in (False, True):
        clear_token_caches()        # a new server knows no token of the last one
        with AmazonServer(documents=store(2), today=TODAY) as srv:
            src = source(srv, tmp_path / str(paced), data_kiosk=False,
                         budget=LocalBudget(clock=srv.clock) if paced else None)
            raws = collect(src, d(1), d(10))
            results[paced] = (srv.calls["429:createReport"], srv.clock(), figures(raws)[:2], src.problems)
    throttled, waited, got, problems = results[False]
    assert throttled >= 5 and problems == []
    assert waited >= (20 - 15) * 59                       # at least one request's worth of time per refused one
    throttled, waited_paced, got_paced, problems = results[True]
    assert throttled == 0 and problems == []
    assert waited_paced <= waited * 1.02                  # no slower (the budget keeps a 1 % margin)
    for a, b in zip(got, got_paced, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_throttled_answers_carry_amazons_headers_and_body(tmp_path):
    import httpx

    """The models: x-amzn-RequestId always, x-amzn-RateLimit-Limit on 2xx/400/404 but "no longer returned" with a
    429, whose body is an ErrorList with Amazon's QuotaExceeded message."""
    with AmazonServer(today=TODAY) as srv:
        srv.set_rate("getQuery", 2.0, 1)
        srv.tokens["Atza|t"] = "sp"
        h = {"x-amz-access-token": "Atza|t"}
        first = httpx.get(f"{srv.url}/dataKiosk/2023-11-15/queries/1", headers=h)
        r = httpx.get(f"{srv.url}/dataKiosk/2023-11-15/queries/1", headers=h)
        srv.sleep(0.5)
        after = httpx.get(f"{srv.url}/dataKiosk/2023-11-15/queries/1", headers=h)
    assert first.status_code == 404 and first.headers["x-amzn-RateLimit-Limit"] == "2.0"
    assert r.status_code == 429 and "x-amzn-RateLimit-Limit" not in r.headers and r.headers["x-amzn-RequestId"]
    assert "Retry-After" not in r.headers
    assert r.json() == {"errors": [{"code": "QuotaExceeded",
                                    "message": "You exceeded your quota for the requested resource.", "details": ""}]}
    assert after.status_code == 404                       # half a second later a token is back


def test_an_invalid_query_is_refused_like_amazon(tmp_path):
    import httpx

    with AmazonServer(today=TODAY) as srv:
        srv.tokens["Atza|t"] = "sp"
        bad = "query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate(aggregateBy: DAY) { nope } } }"
        r = httpx.post(f"{srv.url}/dataKiosk/2023-11-15/queries", json={"query": bad},
                       headers={"x-amz-access-token": "Atza|t"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput"


# ------------------------------------------------------------------------------------ order of work

def test_this_period_first_last_period_after_and_what_waits_is_named(tmp_path):
    """First sync of June with May for comparisons, at Amazon's rates: June's requests all go before May's;
    May's Sales and Traffic (3 Data Kiosk queries a marketplace) and orders fit in the bursts, May's returns
    would wait on createReport's rate and are left, named, for the next sync, which fetches them."""
    from sheets_sync.sources.spapi import ORDERS, RETURNS

    with AmazonServer(documents=store(4), today=dt.date(2024, 7, 1)) as srv:
        cfg = make_config(srv, tmp_path)
        budget = LocalBudget(clock=srv.clock)      # one worker: its budget remembers what the first sync spent
        runs = []
        for _ in range(2):
            src = SpApiSource(SpApiCredentials.from_env(cfg.env), tmp_path / "cache", endpoint=cfg.sp_api_endpoint,
                              lwa_token_url=cfg.lwa_token_url, clock=lambda: utc_noon(dt.date(2024, 7, 1)),
                              sleep=srv.sleep, poll_interval=5.0, reports=(SALES_AND_TRAFFIC, ORDERS, RETURNS),
                              budget=budget)
            n = len(srv.log)
            raws = list(src.collect(FetchRequest(dt.date(2024, 6, 1), dt.date(2024, 6, 30), ("US", "MX"),
                                                 comparison=(d(1), d(31)))))
            asked = [e for e in srv.log[n:] if e["method"] == "POST" and "/s3/" not in e["path"]
                     and not e["path"].startswith("/auth")]
            runs.append((raws, list(src.pending), asked, src.problems))
            srv.sleep(3600)
    (raws, pending, asked, problems), (raws2, pending2, asked2, problems2) = runs
    assert problems == problems2 == []
    # the first requests (trends queries follow once ASINs are known, so they interleave): June's, then May's
    first = [e for e in asked if "salesAndTrafficTrends" not in e["body"]]
    months = ["2024-05" if "2024-05-" in e["body"] else "2024-06" for e in first]
    k = months.index("2024-05")
    assert k >= 4 and months == ["2024-06"] * k + ["2024-05"] * (len(months) - k)
    may = {r.name.split(":")[2] for r in raws if ":2024-05-" in r.name}
    assert any("data-kiosk" in r.name and ":2024-05-" in r.name for r in raws)             # May's S&T came
    # createReport's burst of 15: June's 8 (orders, returns: 2 runs × 2 marketplaces), May's orders 4, and
    # May's returns (4 more) would wait
    assert [p.split(" ")[0] for p in pending] == [RETURNS.report_type]
    assert "2024-05-01..2024-05-31 (last period, for comparisons): 4 request(s) would wait" in pending[0]
    assert any(ORDERS.report_type in r.name and ":2024-05-" in r.name for r in raws)
    assert "US" in may or "MX" in may
    # the next sync: June's settled days come from the cache, May's orders and returns fit now
    assert pending2 == []
    assert any(RETURNS.report_type in r.name and ":2024-05-" in r.name for r in raws2)


def test_the_sync_log_says_which_comparisons_are_pending(tmp_path):
    from builders import tables

    from sheets_sync.sheets.memory import MemoryWorkbook
    from sheets_sync.sources.amazon import open_amazon_source
    from sheets_sync.sync import sync_workbook

    today = dt.date(2026, 11, 6)
    targets = [[None, "US", "account", None, "Li Na", "ops", "gmv", 1, 1, None, None]]
    wb = MemoryWorkbook(tables(targets))
    with AmazonServer(documents=synthetic_document, today=today) as srv:
        source = open_amazon_source(make_config(srv, tmp_path / "data", srv.env(ads=False)),
                                    clock=lambda: utc_noon(today), **srv.client_timing())
        res = sync_workbook(wb, source, now=dt.datetime.fromtimestamp(utc_noon(today), dt.UTC))
    assert res.ok, res.problems
    log = [r for r in wb.generated_rows("Sync Log") if "comparisons pending" in str(r)]
    assert log and any("2026-10-01..2026-10-31" in str(r) for r in log)


def test_ads_reporting_throttled_by_its_bucket_is_retried_after_retry_after(tmp_path):
    """The Ads API publishes no fixed rate; the local bucket (an assumption) answers 429 with Retry-After."""
    from sheets_sync.sources.ads import AdsApiSource, AdsCredentials

    with AmazonServer(today=TODAY) as srv:
        srv.set_rate("ads:getReport", 0.5, 2)
        srv.ads_polls_to_done = 4
        cfg = make_config(srv, tmp_path)
        src = AdsApiSource(AdsCredentials.from_env(cfg.env, ("US",)), tmp_path / "cache",
                           endpoint=cfg.ads_api_endpoint, lwa_token_url=cfg.lwa_token_url, clock=lambda: NOW,
                           sleep=srv.sleep, poll_interval=0.1, max_poll_interval=0.1,
                           report_types=("spAdvertisedProduct",))     # one report's polls are enough here
        raws = list(src.collect(FetchRequest(d(31), d(31), ("US",))))
        throttled = srv.calls["429:ads:getReport"]
        refused = [e for e in srv.log if e["status"] == 429]
    assert len(raws) == 1 and src.problems == []
    assert throttled >= 1 and srv.clock() >= 2.0      # waited what Retry-After said (2 s at 0.5/s)
    assert len(refused) == throttled


def test_when_trends_queries_would_outnumber_daily_reports_the_reports_api_is_chosen(tmp_path):
    with AmazonServer(documents=store(35), today=TODAY) as srv:
        src = source(srv, tmp_path)
        messages: list[str] = []
        raws = list(src.collect(FetchRequest(d(20), d(20), ("US",), progress=messages.append)))
        assert srv.created[(ST, "US")] == 1 and srv.created[("dataKiosk", "US")] == 2   # no trends query
    assert src.problems == []                                # a choice, not a failure: progress only
    assert any("35 ASINs would take 2 trends queries, more than 1 daily reports" in m for m in messages)
    assert len(figures(raws)[1]) == 35


# ------------------------------------------------------------------------------------ schema, fields

def _leaf_paths(query: str) -> list[tuple[str, ...]]:
    """Every leaf field a query selects, as a path below the queried list (("sales", "unitsOrdered"), …)."""
    from graphql import FieldNode, parse

    out: list[tuple[str, ...]] = []

    def walk(node, path):
        for sel in node.selection_set.selections:
            assert isinstance(sel, FieldNode)
            if sel.selection_set is None:
                out.append((*path, sel.name.value))
            else:
                walk(sel, (*path, sel.name.value))
    dataset = parse(query).definitions[0].selection_set.selections[0]
    walk(dataset.selection_set.selections[0], ())
    return out


def _without(record: dict, path: tuple[str, ...]) -> dict:
    out = json.loads(json.dumps(record))
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


@pytest.mark.parametrize("kind", ["byDate", "trends"])
def test_the_queries_select_only_what_the_parser_reads(tmp_path, kind):
    """Every field a query selects changes what the parser gives when it is missing: nothing is asked for
    that the sync does not use (each field is one more a schema revision or a seller's access can refuse)."""
    with AmazonServer(documents=store(3), today=TODAY) as srv:
        raws = collect(source(srv, tmp_path), d(20), d(21), ("US",))
        records: dict[str, list[dict]] = {"byDate": [], "trends": []}
        for q in srv.data_kiosk.queries.values():
            for name, key in (("salesAndTrafficByDate", "byDate"), ("salesAndTrafficTrends", "trends")):
                if name in q["query"]:
                    records[key] += q["records"]
    query = dk.by_date_query("US", d(20), d(21)) if kind == "byDate" else dk.trends_query("US", d(20), d(21), ["B0X"])

    def parsed(rows: list[dict]) -> list[tuple]:
        """What the parser gives for this query's records alone (currency, daily and per-ASIN rows)."""
        c = dk.Collected("US", d(20), d(21), rows if kind == "byDate" else [], rows if kind == "trends" else [])
        batches = [b for doc in dk.daily_documents(c)
                   for b in parse_report(RawReport(name=f"x:{doc.day}", data=doc.data, marketplace_hint="US"))]
        return [(b.currency, *(None if f is None else f.to_csv() for f in (b.daily_rows, b.asin_rows)))
                for b in batches]

    # an unusual currency, so that the code Amazon gives visibly wins over the marketplace's own
    records = {k: [json.loads(json.dumps(r).replace('"USD"', '"EUR"')) for r in rows] for k, rows in records.items()}
    base = parsed(records[kind])
    assert records[kind] and {row[0] for row in base} == {"EUR"}
    for path in _leaf_paths(query):
        try:
            changed = parsed([_without(r, path) for r in records[kind]])
        except (AssertionError, ValueError, KeyError, TypeError):
            continue                                                # nothing parses without it: it is read
        assert changed != base, f"the {kind} query selects {'.'.join(path)}, which the parser never reads"
    assert figures(raws)[1]["gmv"].sum() > 0                      # and the real sync got per-ASIN figures


def test_our_queries_hold_on_every_schema_revision_and_2026_fields_would_not():
    """The dataset gained fields in 2026 (refunds and shipped figures by ASIN, B2B twins); the queries name none
    of them, so they are valid on every revision — a query naming one is refused where it is not yet served."""
    from graphql import build_schema, parse, validate

    from sheets_sync.testing.amazon_datakiosk import schema_sdl

    queries = [dk.by_date_query("MX", d(1), d(31)), dk.asins_query("MX", d(1), d(31)),
               dk.trends_query("MX", d(1), d(31), ["B0CHD00001"])]
    for revision in ("2024-04-24", "2026-01-28", "2026-02-25"):
        schema = build_schema(schema_sdl(revision))
        assert all(validate(schema, parse(q)) == [] for q in queries), revision
    newer = queries[2].replace("totalOrderItems", "totalOrderItems unitsShipped")
    assert validate(build_schema(schema_sdl("2026-02-25")), parse(newer)) == []
    assert validate(build_schema(schema_sdl("2026-01-28")), parse(newer))


def test_a_query_amazon_rejects_is_reported_not_swapped_for_the_reports_api(tmp_path, monkeypatch):
    """A 400 on our query means it and Amazon's schema disagree (here: a field from 2026 on a schema that does
    not serve it yet): the Sync Log says so, with Amazon's message, and no daily-report fallback hides it."""
    monkeypatch.setattr(dk, "ASIN_SALES", (*dk.ASIN_SALES, "unitsShipped"))
    with AmazonServer(documents=store(4), today=TODAY) as srv:
        srv.data_kiosk.schema_revision = "2026-01-28"
        src = source(srv, tmp_path)
        raws = collect(src, d(1), d(5))
        assert srv.created[(ST, "US")] == srv.created[(ST, "MX")] == 0
        rejected = [e for e in srv.log if e["status"] == 400]
    assert len(rejected) == 1                                # asked once, remembered for the other marketplace
    assert raws == [] and len(src.problems) == 2
    assert all("HTTP 400 InvalidInput" in p and "unitsShipped" in p and "schema disagree" in p
               and "not fetched" in p and "Reports API" not in p for p in src.problems)


# ---------------------------------------------------------------------------- outcomes, documents, limits

def test_a_cancelled_query_falls_back_like_a_fatal_one(tmp_path):
    with AmazonServer(documents=store(4), today=TODAY) as srv:
        srv.data_kiosk.cancelled = lambda q: "salesAndTrafficByDate" in q["query"] and "A1AM78C64UM0Y8" in q["query"]
        src = source(srv, tmp_path)
        raws = collect(src, d(1), d(5))
        assert srv.created[(ST, "MX")] == 5 and srv.created[(ST, "US")] == 0
    [problem] = src.problems
    assert "(CANCELLED): Amazon gave no error document" in problem and ":MX:" in problem
    assert sorted(figures(raws)[0].groupby("marketplace").size().items()) == [("MX", 5), ("US", 5)]


@pytest.mark.parametrize("compress", [True, False], ids=["content-encoding-gzip", "plain"])
def test_documents_are_read_compressed_or_not_and_get_document_sends_no_stray_parameter(tmp_path, compress):
    import httpx

    with AmazonServer(documents=store(3), today=TODAY) as srv:
        srv.data_kiosk.compress = compress
        raws = collect(source(srv, tmp_path), d(20), d(22), ("US",))
        gets = [e["path"] for e in srv.log if "/dataKiosk/2023-11-15/documents/" in e["path"]]
        doc_id = gets[0].rsplit("/", 1)[1]
        with httpx.Client() as http:
            raw = http.get(srv.presigned_url(doc_id))
    assert gets and all("?" not in p for p in gets)            # no client option leaks into the query string
    assert (raw.headers.get("Content-Encoding") == "gzip") is compress
    assert len(figures(raws)[1]) == 3 * 3


def test_more_queries_than_data_kiosk_keeps_open_wait_for_a_free_place(tmp_path):
    """Amazon refuses a query beyond its (unpublished) limit on open ones: the query waits for one of ours to
    finish, the limit learned from the refusal holds for the rest of the sync, and the figures are complete."""
    with AmazonServer(documents=store(35), today=TODAY) as srv:       # 8 queries: 2 × (by date, ASINs, 2 trends)
        srv.generation_s = 60.0
        srv.data_kiosk.max_open = 3
        src = source(srv, tmp_path / "a")
        raws = collect(src, d(1), d(10))
        refused = [e for e in srv.log if e["status"] == 429]
        most_open = srv.data_kiosk.most_open
        srv.data_kiosk.max_open = 100
        whole = collect(source(srv, tmp_path / "b"), d(1), d(10))
    assert src.problems == [] and len(refused) == 1 and most_open == 3
    for a, b in zip(figures(raws)[:2], figures(whole)[:2], strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_our_own_limit_on_open_queries_keeps_amazon_from_refusing(tmp_path):
    with AmazonServer(documents=store(35), today=TODAY) as srv:
        srv.generation_s = 60.0
        src = source(srv, tmp_path, max_open_queries=2)
        raws = collect(src, d(1), d(10))
        assert [e for e in srv.log if e["status"] == 429] == [] and srv.data_kiosk.most_open == 2
    assert src.problems == [] and len(figures(raws)[1]) > 10 * 2 * 30
