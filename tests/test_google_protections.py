"""A team protects a generated tab (not warning-only) to keep people out. Google then refuses the service
account's write unless it is an editor of that protection: the sync sees it before writing, says what to change
and writes nothing; once the service account is an editor, the sync writes and keeps the team's protection.

Real gspread + google-auth against the strict local server (sheets_sync/testing/sheets_server.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.errors import FatalError
from sheets_sync.sync import init_workbook, sync_workbook
from sheets_sync.template import load_template
from sheets_sync.testing.sheets_server import SID

pytest_plugins = ["google_fixtures"]

TPL = load_template()
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def writes(server) -> int:
    return sum(1 for what, _, _ in server.traffic if what.endswith(":batchUpdate"))


def test_a_protected_generated_tab_fails_the_sync_before_writing_and_says_what_to_change(
        server, shared_book, make_workbook, sa):
    shared_book({"Sheet1": []})
    init_workbook(make_workbook(), TPL, today=dt.date(2026, 11, 1))
    assert sync_workbook(make_workbook(), None, now=NOW).ok
    server.protect(SID, "Attainment", description="Solo gerentes")
    server.protect(SID, "Scorecard", description="Managers only", grid={"startRowIndex": 0, "endRowIndex": 1})
    before = {t: server.snapshot(SID, t) for t in ("Attainment", "Scorecard", "Sync Log")}
    sent = writes(server)
    result = sync_workbook(make_workbook(), None, now=NOW + dt.timedelta(days=1))
    assert result.status == "failed" and result.error_code == "fatal"
    assert 'Attainment (protection "Solo gerentes")' in result.error
    assert 'Scorecard (protection "Managers only")' in result.error
    assert sa["client_email"] in result.error and "nothing was written" in result.error
    assert "Data → Protect sheets and ranges" in result.error and "Show a warning when editing this range" in result.error
    assert writes(server) == sent                                # detected from the metadata: nothing sent
    assert {t: server.snapshot(SID, t) for t in before} == before


def test_the_check_names_the_protection_even_when_it_appears_after_the_read(server, shared_book, make_workbook):
    shared_book({"Sheet1": []})
    init_workbook(make_workbook(), TPL, today=dt.date(2026, 11, 1))
    wb = make_workbook()
    wb.read_tabs(["Settings"])
    server.protect(SID, "Attainment", description="locked meanwhile")   # between the read and the write
    from sheets_sync.sheets.base import GeneratedTab

    tab = GeneratedTab("Attainment", TPL.tab("Attainment").column_names, [], title="t")
    with pytest.raises(FatalError, match='Attainment \\(protection "locked meanwhile"\\)'):
        wb.write_tabs([tab])                                     # Google's 400, then the fresh metadata explains it


def test_a_protection_the_service_account_may_edit_is_written_through_and_kept(server, shared_book, make_workbook,
                                                                                  sa):
    shared_book({"Sheet1": []})
    init_workbook(make_workbook(), TPL, today=dt.date(2026, 11, 1))
    theirs = server.protect(SID, "Attainment", description="Solo gerentes", editors=[sa["client_email"]])
    warn = server.protect(SID, "Scorecard", description="careful", warning_only=True)
    result = sync_workbook(make_workbook(), None, now=NOW)
    assert result.ok, result.error
    assert len(server.values(SID, "Attainment")) > 2
    kept = server.snapshot(SID, "Attainment")["protected"]
    assert theirs in kept                                        # the team's protection, untouched
    assert [p["description"] for p in kept if p is not theirs and p != theirs] == [
        "sheets-sync: generated tab, replaced on every sync (edits are overwritten)"]
    assert warn in server.snapshot(SID, "Scorecard")["protected"]
    again = sync_workbook(make_workbook(), None, now=NOW + dt.timedelta(days=1))
    assert again.ok and server.snapshot(SID, "Attainment")["protected"].count(theirs) == 1
