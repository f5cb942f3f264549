"""``sheets-sync serve``: the webhook under gunicorn, started from Python.

With no configuration at all it starts on the embedded defaults: the SQLite queue in the data directory,
the demo workbook ``./sheets-sync-demo.xlsx``, an embedded worker process draining the queue, and —
because the Apps Script cannot reach a laptop — a local HMAC secret generated once into
``<data_dir>/webhook_secret`` (mode 0600) so the signed ``curl`` in docs/webhook.md works. The secret's
*path* is logged, never its value.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import secrets
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from sheets_sync.config import Config
from sheets_sync.jobs import run_worker, with_defaults

log = logging.getLogger("webhook.serve")


class _App(BaseApplication):
    def __init__(self, factory: Any, options: dict[str, Any]):
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app in a gunicorn worker with Ctrl-C and the master's quit signal held back until it is
        built. Building starts threads (the job store's checkpointer); a quit handler's ``sys.exit`` raised
        inside a lock's bookkeeping surfaced as ``RuntimeError: release unlocked lock``, gunicorn took the worker
        for one that cannot boot (exit 3) and the whole server stopped with an error. Meanwhile such a signal is
        only noted; once the app is built it is raised again for the worker's own handler (which exits 0).
        (Noted by a Python handler, not blocked: a blocked signal would go to a native thread numpy started.)"""
        noted: list[int] = []
        held = {sig: signal.signal(sig, lambda n, _frame: noted.append(n)) for sig in (signal.SIGINT, signal.SIGQUIT)}
        try:
            return self._factory()
        finally:
            for sig, handler in held.items():
                signal.signal(sig, handler)
            for sig in dict.fromkeys(noted):
                signal.raise_signal(sig)


def dev_secret(config: Config) -> Config:
    """When neither an audience nor an HMAC secret is configured, use (and create) ``<data_dir>/webhook_secret``."""
    if config.audience or config.hmac_secret:
        return config
    path = Path(config.data_dir).expanduser() / "webhook_secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    log.warning("no webhook auth configured: HMAC secret for local use is in %s", path)
    return replace(config, hmac_secret=path.read_text().strip())


def _worker_main(config: Config) -> None:
    run_worker(config, block=True)


def _worker_from_stdin() -> None:
    """Entry of the embedded worker process: the pickled Config arrives on stdin (never in argv)."""
    import sys

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
    config = pickle.loads(sys.stdin.buffer.read())
    with contextlib.suppress(KeyboardInterrupt):
        _worker_main(config)


def _start_worker(config: Config) -> subprocess.Popen[bytes]:
    """The embedded worker as a plain child process (not ``multiprocessing``: gunicorn forks this process
    afterwards, and every forked worker would then try to join a child that is not its own on exit)."""
    # Ctrl-C reaches the whole process group: the worker ignores it until its consumer installs its own
    # handlers (a Ctrl-C while it is still importing would otherwise print a KeyboardInterrupt traceback);
    # the master stops it with SIGTERM in any case.
    code = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "from webhook.serve import _worker_from_stdin; _worker_from_stdin()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(pickle.dumps(config))
    proc.stdin.close()
    return proc


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080, workers: int = 2, *,
          embedded_worker: bool | None = None, threads: int = 4,
          gunicorn_options: dict[str, Any] | None = None) -> None:
    """Run the webhook under gunicorn (``gthread`` workers) until interrupted.

    ``embedded_worker`` (default: on with the SQLite queue, off with Redis) also starts one job worker
    process next to gunicorn, so a single ``sheets-sync serve`` both acknowledges and runs syncs. With
    Redis, run ``sheets-sync worker`` on as many machines as you like instead.
    """
    config = dev_secret(with_defaults(config))
    if embedded_worker is None:
        embedded_worker = not str(config.queue_url).startswith(("redis://", "rediss://", "unix://"))

    def factory() -> Any:
        from . import create_app

        return create_app(config)

    options = {"bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": threads,
               "timeout": 30, "graceful_timeout": 10, "accesslog": "-", "keepalive": 5,
               **(gunicorn_options or {})}
    proc = None
    master = os.getpid()
    if embedded_worker:
        proc = _start_worker(config)
        log.info("embedded job worker started (pid %s)", proc.pid)
    try:
        _App(factory, options).run()
    finally:
        # gunicorn's forked workers unwind through here too: only the process that started the worker stops it
        if proc is not None and os.getpid() == master and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
