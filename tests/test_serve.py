"""``sheets-sync serve`` (gunicorn + the embedded worker) starts, answers, and stops in seconds without a
traceback when interrupted (Ctrl-C reaches the whole process group) or terminated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from webhook_fixtures import free_port, wait_for


@pytest.mark.parametrize(("how", "settle_s"), [("ctrl-c", 0.0), ("ctrl-c", 4.0), ("sigterm", 4.0)])
def test_serve_stops_cleanly(tmp_path, how, settle_s):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_")}
    env["SHEETS_SYNC_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-m", "sheets_sync.cli", "serve", "--port", str(port), "--workers", "2"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                    return resp.status == 200
            except OSError:
                return False

        wait_for(healthy, 30, what="serve to answer /healthz")
        # settle_s = 0: stop it while the embedded worker may still be starting, which must be clean too
        time.sleep(settle_s)
        t0 = time.monotonic()
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    text = err.decode(errors="replace")
    assert proc.returncode == 0, text[-2000:]
    assert took < 12, took
    assert "Traceback" not in text and "AssertionError" not in text, text[-3000:]
    assert "exited with code" not in text, text[-3000:]
    # nothing left behind: the embedded worker (same session) is gone too
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
    assert left.stdout.strip() == "", left.stdout


def test_a_ctrl_c_while_a_worker_builds_the_app_waits_until_it_is_built():
    """Ctrl-C may reach a gunicorn worker while it builds the app (which starts threads): the signal is
    handled once the app is built, not inside it (where it broke a lock and failed the worker's boot)."""
    import threading

    from webhook.serve import _App

    events: list[str] = []

    def factory():
        os.kill(os.getpid(), signal.SIGINT)          # arrives while the app is being built
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        time.sleep(0.05)
        events.append("built")
        return object()

    before = signal.signal(signal.SIGINT, lambda *a: events.append("ctrl-c"))
    try:
        _App(factory, {}).load()
        time.sleep(0.05)
    finally:
        signal.signal(signal.SIGINT, before)
    assert events == ["built", "ctrl-c"]
