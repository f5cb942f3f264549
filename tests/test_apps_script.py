"""Code.gs under Node (node:test with fake Apps Script services), and its contract with the live webhook."""
# ruff: noqa: F811  (pytest fixtures imported from webhook_fixtures)

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from webhook_fixtures import ROOT, certs_server, live_app, minter  # noqa: F401

HARNESS = ROOT / "tests" / "apps_script" / "harness.test.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed; the Apps Script harness needs Node >= 18")


def run_node(env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([NODE, "--test", str(HARNESS)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_apps_script_harness_passes_under_node():
    proc = run_node()
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 17" in proc.stdout


def test_apps_script_request_is_accepted_by_the_real_webhook(live_app, minter, tmp_path: Path):
    """The request Code.gs builds (with a real RS256 ID token) is what the webhook accepts, and the
    webhook's real answer becomes the toast the user sees."""
    srv = live_app()
    contract = tmp_path / "contract"
    contract.mkdir()
    (contract / "token.txt").write_text(minter.mint(email="analyst@example.com"))
    (contract / "url.txt").write_text(srv.url + "/")
    env = {"SHEETS_SYNC_CONTRACT_DIR": str(contract)}
    proc = run_node(env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    req = json.loads((contract / "request.json").read_text())
    opts = req["options"]
    headers = {**opts["headers"], "Content-Type": opts["contentType"]}
    from webhook_fixtures import http

    status, body, _ = http(opts["method"].upper(), req["url"], opts["payload"].encode(), headers)
    assert status == 202, body
    assert body["workbook"] == "team" and srv.queue.get(body["job_id"]).requested_by == "analyst@example.com"
    (contract / "response.json").write_text(json.dumps({"status": status, "body": body}))
    assert run_node(env).returncode == 0
    shown = json.loads((contract / "shown.json").read_text())
    assert shown["toasts"][0][0] == "Sync queued." and shown["alerts"] == []
    # and a refusal from the real server reads as words
    (contract / "token.txt").write_text(minter.mint(email="intruder@elsewhere.com"))
    run_node(env)
    req = json.loads((contract / "request.json").read_text())
    status, body, _ = http("POST", req["url"], req["options"]["payload"].encode(),
                           {**req["options"]["headers"], "Content-Type": "application/json"})
    (contract / "response.json").write_text(json.dumps({"status": status, "body": body}))
    run_node(env)
    shown = json.loads((contract / "shown.json").read_text())
    assert "not allowed to sync this workbook" in shown["alerts"][0][1] and "HTTP 403" in shown["alerts"][0][1]
