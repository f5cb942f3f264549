"""The webhook over real HTTP: Google ID tokens (RS256, local certs server), HMAC, allowlists, JSON errors."""
# ruff: noqa: F811  (pytest fixtures imported from webhook_fixtures)

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest
from webhook_fixtures import (  # noqa: F401  (fixtures)
    CLIENT_ID,
    ROOT,
    SECRET,
    TokenMinter,
    certs_server,
    live_app,
    make_config,
    minter,
    queue_url,
    redis_server,
)

from webhook.auth import sign
from webhook.errors import ERROR_CODES


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def signed(body: dict | bytes, secret: str = SECRET, t: int | None = None) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {"X-Sheets-Sync-Signature": sign(secret, raw, t), "Content-Type": "application/json"}


def test_healthz_needs_no_auth(live_app):
    srv = live_app()
    status, body, _ = srv.request("GET", "/healthz")
    assert status == 200 and body["status"] == "ok" and body["queue"] == "sqlite"


def test_sheet_click_queues_a_job_and_reports_it(live_app, minter):
    srv = live_app()
    token = minter.mint(email="Analyst@Example.com")
    status, body, headers = srv.request("POST", "/v1/sync", {"spreadsheet_id": "SID123"}, bearer(token))
    assert status == 202, body
    assert body["state"] == "queued" and body["workbook"] == "team" and body["joined"] is False
    assert re.fullmatch(r"[0-9a-f]{32}", body["job_id"])
    assert headers["Location"] == f"/v1/jobs/{body['job_id']}"
    status, job, _ = srv.request("GET", body["status_url"], headers=bearer(token))
    assert status == 200
    assert job["job_id"] == body["job_id"] and job["state"] == "queued"
    assert job["requested_by"] == "analyst@example.com" and job["trigger"] == "sheet"
    assert job["created_at"].endswith("+00:00") and job["errors"] == [] and job["summary"] == []


def test_second_click_joins_the_queued_job(live_app, minter):
    srv = live_app()
    a = srv.request("POST", "/v1/sync", {"spreadsheet_id": "SID123"}, bearer(minter.mint()))[1]
    b = srv.request("POST", "/v1/sync", {"workbook": "team"}, bearer(minter.mint(email="boss@other.org")))[1]
    c = srv.request("POST", "/v1/sync", {"workbook": "team", "period": "2025-03"}, bearer(minter.mint()))[1]
    assert b["job_id"] == a["job_id"] and b["joined"] is True
    assert c["job_id"] != a["job_id"] and c["period"] == "2025-03"
    assert srv.queue.huey.pending_count() == 2


def _wrong_key_token() -> str:
    return TokenMinter(kid="kid-1").mint()   # same kid, different key: the signature cannot verify


def _hs256_token() -> str:
    import base64
    import hashlib
    import hmac as _h

    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    head, claims = b64({"alg": "HS256", "typ": "JWT"}), b64({"iss": "accounts.google.com", "aud": CLIENT_ID,
                                                               "email": "analyst@example.com", "exp": 2**31})
    mac = _h.new(b"k", f"{head}.{claims}".encode(), hashlib.sha256).digest()
    return f"{head}.{claims}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


TOKEN_CASES = [
    # id, claims or builder, expected status, expected code
    ("ok-domain", {}, 202, None),
    ("ok-email", {"email": "boss@other.org"}, 202, None),
    ("wrong-audience", {"aud": "someone-else.apps.googleusercontent.com"}, 401, "token_audience"),
    ("expired", {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, 401, "token_expired"),
    ("bad-issuer", {"iss": "https://evil.example.com"}, 401, "token_invalid"),
    ("issued-in-future", {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, 401, "token_invalid"),
    ("wrong-key", _wrong_key_token, 401, "token_invalid"),
    ("hs256", _hs256_token, 401, "token_invalid"),
    ("garbage", lambda: "not-a-jwt", 401, "token_invalid"),
    ("email-unverified", {"email_verified": False}, 403, "email_not_verified"),
    ("not-on-allowlist", {"email": "intruder@elsewhere.com"}, 403, "not_allowed"),
    ("lookalike-domain", {"email": "x@notexample.com"}, 403, "not_allowed"),
    ("no-email", {"email": None}, 403, "not_allowed"),
]


@pytest.mark.parametrize(("claims", "status", "code"), [c[1:] for c in TOKEN_CASES],
                         ids=[c[0] for c in TOKEN_CASES])
def test_id_token_checks(live_app, minter, claims, status, code, caplog):
    srv = live_app()
    token = claims() if callable(claims) else minter.mint(**claims)
    caplog.set_level(logging.DEBUG)
    got, body, _ = srv.request("POST", "/v1/sync", {"spreadsheet_id": "SID123"}, bearer(token))
    assert got == status, body
    if code:
        assert body["error"]["code"] == code and ERROR_CODES[code][0] == status
        assert token not in json.dumps(body)
    assert token not in caplog.text and token.split(".")[-1] not in caplog.text


def test_empty_allowlist_allows_no_token_user(live_app, minter):
    srv = live_app()
    status, body, _ = srv.request("POST", "/v1/sync", {"workbook": "closed"}, bearer(minter.mint()))
    assert (status, body["error"]["code"]) == (403, "not_allowed")


def test_tokens_disabled_without_audience(live_app, minter, tmp_path):
    srv = live_app(make_config(tmp_path, audience=None))
    status, body, _ = srv.request("POST", "/v1/sync", {"workbook": "team"}, bearer(minter.mint()))
    assert (status, body["error"]["code"]) == (401, "tokens_disabled")


def test_several_audiences_and_cached_certs(live_app, minter, certs_server, tmp_path):
    srv = live_app(make_config(tmp_path, audience=f"other-client, {CLIENT_ID}"))
    before = certs_server.hits
    for _ in range(5):
        status, body, _ = srv.request("POST", "/v1/sync", {"workbook": "team"}, bearer(minter.mint()))
        assert status == 202, body
    assert certs_server.hits - before == 1          # fetched once, then cached for max-age


def test_rotated_key_refetches_certs(minter, certs_server, tmp_path):
    from webhook_fixtures import LiveServer

    from sheets_sync.jobs import make_queue
    from webhook import create_app
    from webhook.auth import GoogleIdTokenVerifier

    cfg = make_config(tmp_path)
    verifier = GoogleIdTokenVerifier(CLIENT_ID, certs_url=certs_server.url, min_refresh_s=0)
    srv = LiveServer(create_app(cfg, queue=make_queue(cfg), verifier=verifier))
    new = TokenMinter(kid="kid-rotated")
    try:
        assert srv.request("POST", "/v1/sync", {"workbook": "team"}, bearer(minter.mint()))[0] == 202
        assert verifier.fetches == 1
        certs_server.certs[new.kid] = new.cert_pem            # Google rotates its keys
        status, body, _ = srv.request("POST", "/v1/sync", {"workbook": "team"}, bearer(new.mint()))
        assert status == 202, body
        assert verifier.fetches == 2                          # unknown kid → one refetch
    finally:
        certs_server.certs.pop(new.kid, None)
        srv.close()


def test_hmac_signed_request(live_app):
    srv = live_app()
    raw, headers = signed({"workbook": "closed", "period": "2025-W09", "requested_by": "cron@ops"})
    status, body, _ = srv.request("POST", "/v1/sync", raw, headers)
    assert status == 202 and body["period"] == "2025-W09", body      # HMAC callers may sync any workbook
    job = srv.queue.get(body["job_id"])
    assert (job.trigger, job.requested_by) == ("webhook", "cron@ops")
    # a status poll is signed too (empty body), each poll afresh
    _, h1 = signed(b"")
    status, job_view, _ = srv.request("GET", f"/v1/jobs/{body['job_id']}", headers=h1)
    assert status == 200 and job_view["state"] == "queued"


def test_hmac_replay_is_refused(live_app):
    srv = live_app()
    raw, headers = signed({"workbook": "team"})
    assert srv.request("POST", "/v1/sync", raw, headers)[0] == 202
    status, body, _ = srv.request("POST", "/v1/sync", raw, headers)
    assert (status, body["error"]["code"]) == (401, "signature_replayed")


def test_hmac_replay_is_refused_by_another_app_process_sharing_the_store(live_app, tmp_path):
    """Two app instances (as two gunicorn workers) share the job store, so a replay to the other fails."""
    cfg = make_config(tmp_path)
    a, b = live_app(cfg), live_app(cfg)
    raw, headers = signed({"workbook": "team"})
    assert a.request("POST", "/v1/sync", raw, headers)[0] == 202
    status, body, _ = b.request("POST", "/v1/sync", raw, headers)
    assert (status, body["error"]["code"]) == (401, "signature_replayed")


def test_concurrent_replays_queue_one_job(live_app, tmp_path, queue_url):
    """The replay record commits with the job and its message: of N copies of one signed request sent at
    once, exactly one is acknowledged and exactly one message is queued."""
    import threading

    srv = live_app(make_config(tmp_path, queue_url=queue_url))
    raw, headers = signed({"workbook": "team", "requested_by": "cron@ops"})
    results: list[tuple[int, dict]] = []
    barrier = threading.Barrier(6)

    def go() -> None:
        barrier.wait()
        status, body, _ = srv.request("POST", "/v1/sync", raw, headers)
        results.append((status, body))

    threads = [threading.Thread(target=go) for _ in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(s for s, _ in results) == [202] + [401] * 5, results
    assert {b["error"]["code"] for s, b in results if s == 401} == {"signature_replayed"}
    assert srv.queue.huey.pending_count() == 1


def test_replay_of_a_refused_request_is_still_a_replay(live_app):
    srv = live_app()
    raw, headers = signed({"workbook": "team", "period": "March"})
    assert srv.request("POST", "/v1/sync", raw, headers)[1]["error"]["code"] == "invalid_period"
    status, body, _ = srv.request("POST", "/v1/sync", raw, headers)
    assert (status, body["error"]["code"]) == (401, "signature_replayed")
    _, poll = signed(b"")
    assert srv.request("GET", "/v1/jobs/" + "0" * 32, headers=poll)[1]["error"]["code"] == "job_not_found"
    assert srv.request("GET", "/v1/jobs/" + "0" * 32, headers=poll)[1]["error"]["code"] == "signature_replayed"


def test_a_request_the_queue_could_not_take_may_be_resent(live_app):
    from sheets_sync.jobs import QueueUnavailable

    srv = live_app()
    store = srv.queue.store
    good = store.message

    def down(job_id: str) -> bytes:
        raise QueueUnavailable("disk full")

    store.message = down
    raw, headers = signed({"workbook": "team"})
    status, body, _ = srv.request("POST", "/v1/sync", raw, headers)
    assert (status, body["error"]["code"]) == (503, "queue_unavailable")
    store.message = good
    status, body, _ = srv.request("POST", "/v1/sync", raw, headers)    # nothing was recorded: accepted now
    assert status == 202 and srv.queue.huey.pending_count() == 1, body
    assert srv.request("POST", "/v1/sync", raw, headers)[1]["error"]["code"] == "signature_replayed"


HMAC_CASES = [
    ("stale", lambda raw: {"X-Sheets-Sync-Signature": sign(SECRET, raw, int(time.time()) - 301)}, "signature_expired"),
    ("future", lambda raw: {"X-Sheets-Sync-Signature": sign(SECRET, raw, int(time.time()) + 301)}, "signature_expired"),
    ("wrong-secret", lambda raw: {"X-Sheets-Sync-Signature": sign("other", raw)}, "signature_invalid"),
    ("other-body", lambda raw: {"X-Sheets-Sync-Signature": sign(SECRET, raw + b" ")}, "signature_invalid"),
    ("malformed", lambda raw: {"X-Sheets-Sync-Signature": "sha256=abc"}, "signature_invalid"),
    ("no-v1", lambda raw: {"X-Sheets-Sync-Signature": f"t={int(time.time())}"}, "signature_invalid"),
    ("basic-auth", lambda raw: {"Authorization": "Basic dXNlcjpwYXNz"}, "auth_required"),
    ("nothing", lambda raw: {}, "auth_required"),
]


@pytest.mark.parametrize(("make_headers", "code"), [c[1:] for c in HMAC_CASES], ids=[c[0] for c in HMAC_CASES])
def test_hmac_rejections(live_app, make_headers, code, caplog):
    srv = live_app()
    raw = json.dumps({"workbook": "team"}).encode()
    headers = make_headers(raw)
    caplog.set_level(logging.DEBUG)
    status, body, _ = srv.request("POST", "/v1/sync", raw, headers)
    assert (status, body["error"]["code"]) == (401, code)
    assert SECRET not in caplog.text
    for v in headers.values():
        if "v1=" in v:
            assert v.split("v1=")[1] not in caplog.text


def test_signatures_disabled_without_secret(live_app, tmp_path):
    srv = live_app(make_config(tmp_path, hmac_secret=None))
    raw, headers = signed({"workbook": "team"})
    status, body, _ = srv.request("POST", "/v1/sync", raw, headers)
    assert (status, body["error"]["code"]) == (401, "signatures_disabled")


BAD_REQUESTS = [
    ("not-json", b"{nope", "invalid_json", 400),
    ("json-list", b"[1, 2]", "invalid_json", 400),
    ("no-workbook", b'{"period": "2025-03"}', "workbook_required", 400),
    ("workbook-number", b'{"workbook": 7}', "invalid_field", 400),
    ("unknown-workbook", b'{"spreadsheet_id": "nope"}', "workbook_not_found", 404),
    ("bad-period", b'{"workbook": "team", "period": "March"}', "invalid_period", 400),
    ("period-number", b'{"workbook": "team", "period": 202503}', "invalid_field", 400),
]


@pytest.mark.parametrize(("raw", "code", "status"), [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_json_errors(live_app, raw, code, status):
    srv = live_app()
    got, body, headers = srv.request("POST", "/v1/sync", raw, signed(raw)[1])
    assert (got, body["error"]["code"]) == (status, code)
    assert headers["Content-Type"] == "application/json" and body["error"]["message"]


def test_routing_errors_are_json(live_app, minter):
    srv = live_app()
    assert srv.request("GET", "/nope")[1]["error"]["code"] == "not_found"
    status, body, _ = srv.request("GET", "/v1/sync")
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    big = json.dumps({"workbook": "team", "pad": "x" * 70_000}).encode()
    status, body, _ = srv.request("POST", "/v1/sync", big, signed(big)[1])
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    status, body, _ = srv.request("GET", "/v1/jobs/" + "0" * 32, headers=bearer(minter.mint()))
    assert (status, body["error"]["code"]) == (404, "job_not_found")
    status, body, _ = srv.request("GET", "/v1/jobs/../etc", headers=bearer(minter.mint()))
    assert body["error"]["code"] in ("job_not_found", "not_found")


def test_job_status_respects_the_allowlist(live_app, minter):
    srv = live_app()
    raw, headers = signed({"workbook": "closed"})
    job_id = srv.request("POST", "/v1/sync", raw, headers)[1]["job_id"]
    status, body, _ = srv.request("GET", f"/v1/jobs/{job_id}", headers=bearer(minter.mint()))
    assert (status, body["error"]["code"]) == (403, "not_allowed")
    status, body, _ = srv.request("GET", f"/v1/jobs/{job_id}")
    assert (status, body["error"]["code"]) == (401, "auth_required")


def test_queue_down_is_503(live_app, tmp_path, minter):
    from webhook_fixtures import free_port

    srv = live_app(make_config(tmp_path, queue_url=f"redis://127.0.0.1:{free_port()}/0"))
    status, body, headers = srv.request("GET", "/healthz")
    assert (status, body["error"]["code"]) == (503, "queue_unavailable") and headers["Retry-After"] == "5"
    status, body, _ = srv.request("POST", "/v1/sync", {"workbook": "team"}, bearer(minter.mint()))
    assert (status, body["error"]["code"]) == (503, "queue_unavailable")


def test_redis_queue_behind_the_webhook(live_app, tmp_path, minter, redis_server):
    redis_server.flush()
    cfg = make_config(tmp_path, queue_url=redis_server.url)
    a, b = live_app(cfg), live_app(cfg)     # two app instances, as on two machines
    first = a.request("POST", "/v1/sync", {"workbook": "team"}, bearer(minter.mint()))[1]
    second = b.request("POST", "/v1/sync", {"workbook": "team"}, bearer(minter.mint()))[1]
    assert second["job_id"] == first["job_id"] and second["joined"] is True
    assert b.request("GET", "/healthz")[1]["queue"] == "redis"
    raw, headers = signed({"workbook": "team"})
    assert a.request("POST", "/v1/sync", raw, headers)[0] == 202
    assert b.request("POST", "/v1/sync", raw, headers)[1]["error"]["code"] == "signature_replayed"


def test_docs_list_every_route_and_error_code():
    doc = (ROOT / "docs" / "webhook.md").read_text()
    for code in ERROR_CODES:
        assert f"`{code}`" in doc, f"docs/webhook.md does not document error code {code}"
    for route in ("POST /v1/sync", "GET /v1/jobs/<id>", "GET /healthz"):
        assert route in doc
    for header in ("X-Sheets-Sync-Signature", "openssl dgst -sha256 -hmac"):
        assert header in doc


def test_webhook_never_imports_gspread_or_amazon():
    import subprocess
    import sys

    code = ("import sys, webhook, webhook.routes, webhook.auth, webhook.serve; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('gspread', 'sp_api', 'ad_api', 'openpyxl')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_wsgi_module_builds_the_app_from_the_environment(tmp_path: Path):
    import subprocess
    import sys

    env = {"SHEETS_SYNC_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    code = "from webhook.wsgi import app; print(sorted(app.extensions['sheets_sync'].config.workbooks))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['demo']"


@pytest.mark.slow
def test_serve_starts_on_embedded_defaults_and_runs_a_job(tmp_path: Path):
    """`sheets-sync serve` with no configuration: gunicorn, SQLite queue, demo workbook, embedded worker,
    and a local HMAC secret so the documented signed curl works."""
    import subprocess
    import sys

    from webhook_fixtures import free_port, http, wait_for

    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    code = (f"from sheets_sync.config import load_config; from webhook.serve import serve; "
            f"serve(load_config(), host='127.0.0.1', port={port}, workers=1)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy():
            try:
                return http("GET", url + "/healthz", timeout=1)[0] == 200
            except OSError:
                return False

        wait_for(healthy, 30, 0.2, "gunicorn to answer /healthz")
        secret = (tmp_path / ".sheets-sync" / "webhook_secret").read_text().strip()
        assert oct((tmp_path / ".sheets-sync" / "webhook_secret").stat().st_mode & 0o777) == "0o600"
        raw = b'{"workbook": "demo"}'
        status, body, _ = http("POST", url + "/v1/sync", raw, {"X-Sheets-Sync-Signature": sign(secret, raw)})
        assert status == 202 and body["workbook"] == "demo", body
        job = wait_for(lambda: (j := http("GET", url + body["status_url"], None,
                                          {"X-Sheets-Sync-Signature": sign(secret, b"")})[1])
                       .get("state") in ("done", "failed") and j, 30, 0.3, "the embedded worker to run the job")
        # no demo workbook was created in this empty directory, so the sync fails — in words
        assert job["state"] == "failed" and job["errors"], job
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert secret not in out
    assert "webhook_secret" in out
