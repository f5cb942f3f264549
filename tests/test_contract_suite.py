"""The contract-suite command: a registry of suites by name, run against the local server, and --live."""

from __future__ import annotations

import os
import subprocess
import sys

from sheets_sync.testing import contract_suite


def test_suites_register_themselves_and_are_listed(capsys):
    suites = contract_suite.discover()
    assert suites["sheets"].module == "sheets_sync.testing.sheets_contract"
    assert contract_suite.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "\nsheets: Google Sheets API v4" in "\n" + out
    assert "--live needs: SHEETS_SYNC_LIVE_GOOGLE_CREDENTIALS, SHEETS_SYNC_LIVE_SPREADSHEET_ID" in out
    assert "--live also uses: SHEETS_SYNC_LIVE_OWNER_CREDENTIALS" in out


def test_the_command_runs_a_suite_and_live_without_credentials_is_skipped_with_the_reason(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_LIVE_")}
    env["HTTPS_PROXY"] = "http://127.0.0.1:9"                   # nothing may leave 127.0.0.1
    run = subprocess.run([sys.executable, "-m", "sheets_sync.testing.contract_suite", "sheets", "--live", "--",
                          "-k", "unknown_request_kind"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout
    assert "--live needs SHEETS_SYNC_LIVE_GOOGLE_CREDENTIALS, SHEETS_SYNC_LIVE_SPREADSHEET_ID" in run.stdout
    assert "SHEETS_SYNC_LIVE_GOOGLE_CREDENTIALS" in run.stderr     # said up front too
