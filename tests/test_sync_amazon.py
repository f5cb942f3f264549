"""`sync --source amazon`: the whole sync with the SP-API + Ads sources over HTTP to the local Amazon server."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import tables

from sheets_sync.cli import main
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.amazon import open_amazon_source
from sheets_sync.sync import sync_workbook
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
                                    sleep=lambda s: None)
        res = sync_workbook(wb, source, now=dt.datetime.fromtimestamp(utc_noon(TODAY), dt.UTC))
    assert res.ok, res.problems
    att = {(r["marketplace"], r["kpi"]): r for r in wb.generated_rows("Attainment")}
    missing = [k for k, r in att.items() if r["actual"] is None]
    assert not missing, [(k, att[k]["note"]) for k in missing]
    daily = [r for r in wb.generated_rows("Daily") if r["marketplace"] == "US"]
    assert daily[-1]["date"] == TODAY - dt.timedelta(days=1)
    assert daily[-1]["provisional"] == "provisional" and daily[0]["provisional"] == ""
    assert res.api_calls > 0


def test_cli_source_amazon_without_credentials_names_the_variables(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for var in ("LWA_APP_ID", "LWA_CLIENT_SECRET", "SP_API_REFRESH_TOKEN", "SHEETS_SYNC_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    assert main(["init", "--workbook", "team.xlsx"]) == 0
    code = main(["sync", "--workbook", "team.xlsx", "--source", "amazon"])
    err = capsys.readouterr().err
    assert code == 2
    assert "LWA_APP_ID" in err and "SP_API_REFRESH_TOKEN" in err
