"""`sync --source amazon`: the whole sync with the SP-API + Ads sources over HTTP to the local Amazon server."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import tables

from sheets_sync.cli import main
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.amazon import open_amazon_source
from sheets_sync.sources.datakiosk import MAX_OPEN_QUERIES
from sheets_sync.sync import sync_workbook
from sheets_sync.testing.amazon_documents import catalog_documents
from sheets_sync.testing.amazon_server import (
    AmazonServer,
    fresh_tokens,  # noqa: F401  (the shared fixture)
    make_config,
    synthetic_document,
    utc_noon,
)

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fresh_tokens")]
TODAY = dt.date(2026, 11, 6)




def test_sync_from_the_api_fills_attainment_and_marks_recent_days(tmp_path):
    targets = [[None, m, "account", None, "Li Na", "ops", k, 1, 1, None, None]
               for m in ("US", "MX") for k in ("gmv", "acos", "fba_share", "days_of_cover", "odr")]
    wb = MemoryWorkbook(tables(targets))
    with AmazonServer(documents=synthetic_document, today=TODAY) as srv:
        source = open_amazon_source(make_config(srv, tmp_path / "data"), clock=lambda: utc_noon(TODAY),
                                    **srv.client_timing())
        res = sync_workbook(wb, source, now=dt.datetime.fromtimestamp(utc_noon(TODAY), dt.UTC))
    assert res.ok, res.problems
    att = {(r["marketplace"], r["kpi"]): r for r in wb.generated_rows("Attainment")}
    missing = [k for k, r in att.items() if r["actual"] is None]
    assert not missing, [(k, att[k]["note"]) for k in missing]
    daily = [r for r in wb.generated_rows("Daily") if r["marketplace"] == "US"]
    assert daily[-1]["date"] == TODAY - dt.timedelta(days=1)
    assert daily[-1]["provisional"] == "provisional" and daily[0]["provisional"] == ""
    assert res.api_calls > 0


def test_first_sync_and_resync_at_amazons_limits_make_no_call_amazon_refuses(tmp_path):
    """The whole sync against the strict local Amazon: both marketplaces, every report, Ads, 65 ASINs a
    marketplace (three trends queries each), last month for comparisons — 20 Data Kiosk queries, more than Data
    Kiosk keeps open at once — every report and query a minute to generate. One worker runs the first sync and, at once, a re-sync (one budget, as the job queue's shared one):
    Amazon never answers 429 nor any other error — but the Ads API's 425 "duplicate of : <id>" to the re-sync's
    identical Ads requests, its documented way of handing back the report it is already making — and the
    re-sync asks for no settled day."""
    today = dt.date(2026, 11, 11)
    targets = [[None, m, "account", None, "Li Na", "ops", k, 1, 1, None, None]
               for m in ("US", "MX") for k in ("gmv", "acos", "sessions", "odr")]
    wb = MemoryWorkbook(tables(targets))
    asins = {m: [f"B0{m}{i:06d}" for i in range(65)] for m in ("US", "MX")}
    now = dt.datetime.fromtimestamp(utc_noon(today), dt.UTC)
    with AmazonServer(documents=catalog_documents(asins), today=today) as srv:
        srv.generation_s = 60.0
        timing = srv.client_timing()
        results, asked = [], []
        for _ in range(2):
            n = len(srv.data_kiosk.log)
            source = open_amazon_source(make_config(srv, tmp_path / "data"), clock=lambda: utc_noon(today), **timing)
            results.append(sync_workbook(wb, source, now=now))
            asked.append(srv.data_kiosk.log[n:])
        refused = [(e["method"], e["path"].split("?")[0], e["status"]) for e in srv.log if e["status"] >= 400]
        most_open = srv.data_kiosk.most_open
    assert all(r.ok for r in results), [r.problems for r in results]
    assert refused == [("POST", "/reporting/reports", 425)] * 2 * 3     # per marketplace and Ads report type
    assert most_open == MAX_OPEN_QUERIES                           # queries waited for a free place
    first, resync = asked
    assert {q["field"] for q in first} == {"salesAndTrafficByDate", "salesAndTrafficByAsin", "salesAndTrafficTrends"}
    assert resync and all(q["start"] >= today - dt.timedelta(days=3) for q in resync)


def test_the_ads_api_reports_are_paced_so_a_first_sync_draws_no_429(tmp_path):
    """Twelve Ads reports at once (two marketplaces × three report types × a settled and a recent span) go
    through the same budget as the SP-API calls, at the Ads API's cautious rate: the local Amazon's Ads buckets
    never answer 429 (they did when the Ads source was given no budget)."""
    from sheets_sync.sources.amazon_common import LocalBudget
    from sheets_sync.sources.base import FetchRequest

    today = dt.date(2024, 6, 1)
    asins = {m: [f"B0{m}{i:06d}" for i in range(20)] for m in ("US", "MX")}
    with AmazonServer(documents=catalog_documents(asins), today=today) as srv:
        srv.generation_s = 60.0
        source = open_amazon_source(make_config(srv, tmp_path / "data"), clock=lambda: utc_noon(today),
                                    sleep=srv.sleep, budget=LocalBudget(clock=srv.clock))
        assert source.ads is not None and source.ads.budget is source.sp.budget
        docs = list(source.collect(FetchRequest(dt.date(2024, 5, 1), dt.date(2024, 5, 31), marketplaces=("US", "MX"))))
        ads = [e for e in srv.log if e["path"].startswith("/reporting/")]
    assert docs and len([e for e in ads if e["method"] == "POST"]) >= 12
    assert [e["status"] for e in ads if e["status"] >= 400] == []


def test_cli_source_amazon_without_credentials_names_the_variables(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for var in ("LWA_APP_ID", "LWA_CLIENT_SECRET", "SP_API_REFRESH_TOKEN", "SHEETS_SYNC_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    assert main(["init", "--workbook", "team.xlsx"]) == 0
    code = main(["sync", "--workbook", "team.xlsx", "--source", "amazon"])
    err = capsys.readouterr().err
    assert code == 2
    assert "LWA_APP_ID" in err and "SP_API_REFRESH_TOKEN" in err
