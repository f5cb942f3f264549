"""The Amazon contract suite (sheets_sync/testing/amazon_contract.py): every check passes against the local
Amazon, a check fails where the client and Amazon disagree, and ``--live`` without credentials skips."""

from __future__ import annotations

import pytest

from sheets_sync.sources import datakiosk as dk
from sheets_sync.testing import amazon_contract
from sheets_sync.testing.amazon_contract import ADS_ENV, CHECKS, SP_ENV, SUITES, main, run_checks

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_every_check_passes_against_the_local_amazon(capsys):
    assert SUITES["amazon"] is amazon_contract.run
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f"{len(CHECKS)} passed, 0 failed, 0 skipped" in out and "the local Amazon" in out


def test_a_query_amazons_schema_refuses_fails_its_check(monkeypatch):
    monkeypatch.setattr(dk, "DATE_TRAFFIC", (*dk.DATE_TRAFFIC, "sessionsOfTheFuture"))
    results = {name: (status, detail) for name, status, detail in run_checks(live=False)}
    status, detail = results["Data Kiosk: the sync's three queries are accepted and answered (no fallback)"]
    assert status == "failed" and "sessionsOfTheFuture" in detail and "HTTP 400" in detail
    assert sum(s == "failed" for s, _ in results.values()) == 1


def test_live_without_credentials_skips_every_check_and_names_the_variables(monkeypatch, capsys):
    for name in (*SP_ENV, *ADS_ENV):
        monkeypatch.delenv(name, raising=False)
    assert main(["--live"]) == 0
    out = capsys.readouterr().out
    assert f"0 passed, 0 failed, {len(CHECKS)} skipped" in out
    assert "set LWA_APP_ID, LWA_CLIENT_SECRET, SP_API_REFRESH_TOKEN to run it" in out
    assert "local only: it would spend a seller's createReport burst" in out
