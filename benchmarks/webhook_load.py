"""Ack latency of ``POST /v1/sync`` and how fast one worker drains the queue.

1. Two gunicorn servers on 127.0.0.1, started the same way (``gthread``, 1 worker, 8 threads, no access
   log): the real webhook (HMAC auth + replay check + durable enqueue into SQLite, a new job per request —
   each request names another workbook, so none is joined) and a bare Flask route that only parses the JSON
   body. Each gets ``--rate`` requests/s for ``--duration`` s from an open-loop client (requests are sent
   on a fixed schedule; latency counts from the scheduled time, so a stalled server cannot hide its queue).
2. One worker (one consumer thread, this process) drains real xlsx syncs of copies of the demo workbook
   (``sheets-sync demo`` data) for at most ``--drain`` seconds: jobs/minute. ``--stand-in`` replaces the
   real sync by a 100 KB atomic file write, for machines without the demo data's dependencies.

Last line: ``webhook_load: p99_ms=… ratio=… jobs_per_min=…`` (ratio = webhook p99 / bare p99).
Loopback only; every loop is bounded by the duration or a request count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = "benchmark-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------- servers


def bench_config(data_dir: Path, n: int):
    from sheets_sync.config import Config, WorkbookConfig

    wbs = {f"wb{i:05d}": WorkbookConfig(name=f"wb{i:05d}", path=data_dir / f"wb{i:05d}.xlsx") for i in range(n)}
    return Config(data_dir=data_dir, workbooks=wbs, hmac_secret=SECRET, queue_url="sqlite")


def run_server(kind: str, port: int, data_dir: Path, n: int) -> None:
    from flask import Flask, request

    from webhook.serve import _App

    if kind == "bare":
        def factory():
            app = Flask("bare")

            @app.post("/v1/sync")
            def bare():
                data = request.get_json(force=True, silent=True)
                return {"ok": isinstance(data, dict)}, 202

            return app
    else:
        def factory():
            from webhook import create_app

            return create_app(bench_config(data_dir, n))

    opts = {"bind": f"127.0.0.1:{port}", "workers": 1, "worker_class": "gthread", "threads": 8,
            "timeout": 60, "loglevel": "warning", "keepalive": 30}
    _App(factory, opts).run()


def start_server(kind: str, data_dir: Path, n: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port), "--data-dir",
                             str(data_dir), "--workbooks", str(n)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


# -------------------------------------------------------------------------------------- client


def load(port: int, rate: float, duration: float, body_for, headers_for, threads: int = 16) -> list[float]:
    """Open-loop load: request i is due at t0 + i/rate; returns latencies (s) from the due time."""
    total = int(rate * duration)
    jobs: queue.Queue = queue.Queue()
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            item = jobs.get()
            if item is None:
                conn.close()
                return
            i, due = item
            body = body_for(i)
            try:
                conn.request("POST", "/v1/sync", body=body, headers=headers_for(body))
                resp = conn.getresponse()
                resp.read()
                end = time.perf_counter()
                if resp.status != 202:
                    errors.append(str(resp.status))
            except (OSError, http.client.HTTPException) as exc:
                errors.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            with lock:
                lat.append(end - due)

    workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    t0 = time.perf_counter() + 0.2
    for i in range(total):
        due = t0 + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        jobs.put((i, due))
    for _ in workers:
        jobs.put(None)
    for w in workers:
        w.join(timeout=60)
    if errors:
        print(f"  {len(errors)} failed requests, e.g. {errors[:3]}", file=sys.stderr)
    return lat


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000


# --------------------------------------------------------------------------------------- drain


def stand_in_sync(config, workbook=None, **kw):
    from sheets_sync.sync import SyncResult

    target = Path(config.data_dir) / f"{workbook}.out"
    tmp = target.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(os.urandom(100_000))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return SyncResult(status="ok", started_at=dt.datetime.now(dt.UTC), duration_s=0.0, workbook=str(target))


def drain(tmp: Path, seconds: float, jobs: int, stand_in: bool) -> tuple[float, int, str]:
    from sheets_sync.config import Config, WorkbookConfig
    from sheets_sync.jobs import make_queue, run_worker

    data = tmp / "drain"
    data.mkdir()
    period = None
    if stand_in:
        wbs = {f"d{i}": WorkbookConfig(name=f"d{i}", path=data / f"d{i}.xlsx") for i in range(jobs)}
        sync_fn, what = stand_in_sync, "stand-in: 100 KB atomic write"
    else:
        from sheets_sync.cli import demo_period
        from sheets_sync.samples.amazon import write_demo_reports
        from sheets_sync.sync import init_workbook, open_workbook

        p = demo_period(dt.date.today())
        period = p.label
        reports = data / "reports"
        write_demo_reports(reports, p, {"US": p.end, "MX": p.end})
        first = WorkbookConfig(name="d0", path=data / "d0.xlsx", reports=reports)
        init_workbook(open_workbook(Config(data_dir=data), first), today=p.start)
        wbs = {}
        for i in range(jobs):
            path = data / f"d{i}.xlsx"
            if i:
                shutil.copyfile(first.path, path)
            wbs[f"d{i}"] = WorkbookConfig(name=f"d{i}", path=path, reports=reports)
        sync_fn, what = None, f"real xlsx sync of the demo workbook, period {period}"
    cfg = Config(data_dir=data, workbooks=wbs)
    q = make_queue(cfg, sync_fn=sync_fn)
    ids = [q.submit(name, period, trigger="benchmark")[0].id for name in wbs]
    t0 = time.perf_counter()
    handle = run_worker(cfg, queue=q, workers=1, block=False, periodic=False)
    done = 0
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        done = sum(1 for i in ids if q.get(i).state in ("done", "failed"))
        if done == len(ids):
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    handle.stop(graceful=True)          # let a running sync finish before its directory goes away
    states = [q.get(i) for i in ids]
    failed = [j for j in states if j.state == "failed"]
    if failed:
        print(f"  {len(failed)} drained jobs failed, e.g. {failed[0].errors[:2]}", file=sys.stderr)
    return done / elapsed * 60, done, what


# ---------------------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--drain", type=float, default=30.0, help="seconds the worker may drain")
    ap.add_argument("--drain-jobs", type=int, default=40)
    ap.add_argument("--stand-in", action="store_true", help="drain a stand-in job instead of the real xlsx sync")
    ap.add_argument("--serve", choices=["bare", "sync"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help=argparse.SUPPRESS)
    ap.add_argument("--workbooks", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        run_server(args.serve, args.port, Path(args.data_dir), args.workbooks)
        return 0

    from webhook.auth import sign

    n = int(args.rate * (args.duration + 1)) + 10

    def body(i: int) -> bytes:
        return json.dumps({"workbook": f"wb{i:05d}"}).encode()

    def headers(raw: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Sheets-Sync-Signature": sign(SECRET, raw)}
    with tempfile.TemporaryDirectory(prefix="webhook-load-", ignore_cleanup_errors=True) as tmp_s:
        tmp = Path(tmp_s)
        (tmp / "q").mkdir()
        results = {}
        for kind in ("bare", "sync"):
            proc, port = start_server(kind, tmp / "q", n)
            try:
                load(port, args.rate, 1.0, lambda i: body(n - 1 - i), headers)     # warm-up: other workbooks
                lat = load(port, args.rate, args.duration, body, headers)
            finally:
                proc.terminate()
                proc.wait(20)
            results[kind] = lat
            print(f"{kind:5s}: {len(lat)} requests at {args.rate:.0f}/s: p50={pct(lat, 50):.2f} ms "
                  f"p99={pct(lat, 99):.2f} ms max={max(lat) * 1000:.1f} ms mean={statistics.mean(lat) * 1000:.2f} ms")
        from sheets_sync.jobs import make_queue

        queued = make_queue(bench_config(tmp / "q", 0)).huey.pending_count()
        print(f"jobs durably queued by the webhook run: {queued}")
        per_min, done, what = drain(tmp, args.drain, args.drain_jobs, args.stand_in)
        print(f"drain: {done} jobs in ≤{args.drain:.0f} s by one worker ({what}): {per_min:.1f} jobs/min")
    p99 = pct(results["sync"], 99)
    ratio = p99 / pct(results["bare"], 99)
    print(f"webhook_load: p99_ms={p99:.2f} ratio={ratio:.2f} jobs_per_min={per_min:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
