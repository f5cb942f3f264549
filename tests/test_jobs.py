"""The job queue with real huey (SQLite in tmp dirs, and a real redis-server when installed)."""
# ruff: noqa: F811  (pytest fixtures imported from webhook_fixtures)

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
from pathlib import Path

import pytest
from webhook_fixtures import (  # noqa: F401  (fixtures)
    attempts,
    queue_url,
    recording_sync,
    redis_server,
    slow_atomic_sync,
    spawn_worker,
    wait_for,
    workbook_complete,
)
from webhook_fixtures import flaky_sync as _flaky
from webhook_fixtures import make_config as _make_config

from sheets_sync.config import WorkbookConfig
from sheets_sync.errors import ConfigError
from sheets_sync.jobs import due_schedules, make_queue, parse_schedule, run_worker


def make_config(tmp_path: Path, queue_url: str = "sqlite", **env: str):
    wbs = {n: WorkbookConfig(name=n, path=tmp_path / f"{n}.xlsx") for n in ("a", "b")}
    return _make_config(tmp_path, queue_url=queue_url, workbooks=wbs, env=env)


@pytest.fixture
def worker_factory():
    handles = []

    def start(queue, workers: int = 1):
        h = run_worker(queue.config, queue=queue, workers=workers, block=False, periodic=False)
        handles.append(h)
        return h

    yield start
    for h in handles:
        h.stop(graceful=False)


def final(queue, job_id: str, timeout: float = 15):
    return wait_for(lambda: (j := queue.get(job_id)) and j.state in ("done", "failed") and j, timeout,
                    what=f"job {job_id} to finish")


# ------------------------------------------------------------------------------------ the store


def test_submit_joins_until_the_job_finishes(tmp_path, queue_url):
    q = make_queue(make_config(tmp_path, queue_url))
    job, created = q.submit("a", None, trigger="sheet", requested_by="x@example.com")
    again, created2 = q.submit("a", None, trigger="schedule: daily 07:00")
    other, created3 = q.submit("a", "2025-03")
    assert created and not created2 and created3
    assert again.id == job.id and other.id != job.id
    status, claimed, _ = q.store.claim(job.id, "w1", 30)
    assert status == "claimed" and claimed.attempts == 1
    assert q.submit("a", None)[0].id == job.id                       # joins a running job too
    assert q.store.finish(job.id, "w1", "done", summary=["ok"])
    fresh, created4 = q.submit("a", None)
    assert created4 and fresh.id != job.id                          # finished: a new request queues anew
    view = q.get(job.id).to_dict()
    assert view["state"] == "done" and view["summary"] == ["ok"] and view["duration_s"] >= 0
    assert q.get("not-a-job-id") is None


def test_concurrent_submits_make_one_job(tmp_path, queue_url):
    q = make_queue(make_config(tmp_path, queue_url))
    ids, errors = [], []
    barrier = threading.Barrier(8)

    def go():
        try:
            barrier.wait()
            for _ in range(10):
                ids.append(q.submit("b", None)[0].id)
        except Exception as exc:            # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and len(set(ids)) == 1 and len(ids) == 80
    assert q.huey.pending_count() == 1


def test_claim_respects_the_workbook_lock_and_leases(tmp_path, queue_url):
    q = make_queue(make_config(tmp_path, queue_url))
    j1 = q.submit("a", "2025-01")[0]
    j2 = q.submit("a", "2025-02")[0]
    assert q.store.claim(j1.id, "w1", 0.5)[0] == "claimed"
    assert q.store.claim(j1.id, "w2", 0.5)[0] == "gone"         # held by w1
    status, _, wait = q.store.claim(j2.id, "w2", 0.5)
    assert status == "busy" and 0 < wait <= 5                    # same workbook: wait for the lock
    wait_for(lambda: q.store.claim(j2.id, "w2", 30)[0] == "claimed", 5, what="lease of j1 to expire")
    assert q.store.reap() == [j1.id]                              # j1's lease expired: back to the queue…
    assert q.get(j1.id).state == "queued" and "lease expired" in q.get(j1.id).errors[-1]
    assert q.store.finish(j1.id, "w1", "done") is False           # …so a late w1 cannot clobber it
    assert q.store.renew(j1.id, "w1", 30) is False
    assert q.store.claim(j1.id, "w3", 30)[0] == "busy"            # …and waits for j2's lock


def test_replay_record_job_and_message_commit_together(tmp_path, queue_url):
    from sheets_sync.jobs import Replayed

    q = make_queue(make_config(tmp_path, queue_url))
    assert q.store.message is not None                        # the store writes the huey message itself
    job, created = q.submit("a", None, once=("sig:1", 60))
    assert created and q.huey.pending_count() == 1
    with pytest.raises(Replayed):                             # same key again: nothing written at all
        q.submit("b", None, once=("sig:1", 60))
    assert q.huey.pending_count() == 1 and q.submit("b", None)[1] is True      # no job of b was left behind
    joined, created = q.submit("a", None, once=("sig:2", 60))
    assert not created and joined.id == job.id and q.huey.pending_count() == 2
    assert not q.store.backend.once("sig:2", 60)              # a join records the replay key too
    message = q.huey.deserialize_task(q.huey.storage.enqueued_items()[0])    # the next to run: the first queued
    assert message.name == "sheets_sync.run_job" and message.args == (job.id,)


def test_a_failed_transaction_leaves_no_trace(tmp_path, queue_url):
    q = make_queue(make_config(tmp_path, queue_url))

    def broken(job_id: str) -> bytes:
        raise RuntimeError("serializer down")

    good = q.store.message
    q.store.message = broken
    with pytest.raises(RuntimeError):
        q.submit("a", None, once=("sig:x", 60))
    q.store.message = good
    assert q.huey.pending_count() == 0
    job, created = q.submit("a", None, once=("sig:x", 60))    # key not recorded, workbook not joined
    assert created and q.huey.pending_count() == 1 and q.get(job.id).state == "queued"


def test_reap_requeues_in_the_same_transaction(tmp_path, queue_url):
    q = make_queue(make_config(tmp_path, queue_url), queued_lease_s=0.01)
    job = q.submit("a", None)[0]
    assert q.huey.storage.dequeue() is not None               # a consumer took the message, then died
    assert q.huey.pending_count() == 0
    wait_for(lambda: q.reap() == 1, 5, what="the queued lease to expire")
    assert q.huey.pending_count() == 1 and q.get(job.id).state == "queued"


def test_status_reads_take_no_write_lock(tmp_path):
    import sqlite3

    q = make_queue(make_config(tmp_path))
    job = q.submit("a", None)[0]
    backend = q.store.backend

    class NoLock:
        def __enter__(self):
            raise AssertionError("a read took the write lock")

        def __exit__(self, *exc):
            return False

    lock, backend.write_lock = backend.write_lock, NoLock()
    other = sqlite3.connect(backend.path, isolation_level=None)
    try:
        other.execute("begin immediate")                       # another process is mid-write…
        other.execute("update job_kv set value = 'x' where key = ?", (f"job:{job.id}",))
        assert q.get(job.id).state == "queued"                 # …the read sees the last commit, unblocked
        assert q.store.backend.expired(0) == []
        q.ping()
        other.execute("rollback")
    finally:
        other.close()
        backend.write_lock = lock
    assert q.get(job.id).id == job.id


def test_an_acknowledged_job_survives_a_killed_process(tmp_path):
    """WAL with synchronous=NORMAL: once submit returned, the job and its message outlive kill -9."""
    import subprocess
    import sys

    from webhook_fixtures import ROOT, TESTS

    code = ("import os, signal, sys; from pathlib import Path; import test_jobs as t; "
            "from sheets_sync.jobs import make_queue; "
            "q = make_queue(t.make_config(Path(sys.argv[1]))); "
            "print(q.submit('a', None, once=('sig:k', 60))[0].id, flush=True); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    job_id = proc.stdout.strip()
    q = make_queue(make_config(tmp_path))
    assert q.get(job_id).state == "queued" and q.huey.pending_count() == 1
    assert not q.store.backend.once("sig:k", 60)


def test_a_jobs_db_from_before_the_shared_file_is_adopted(tmp_path):
    import sqlite3

    from sheets_sync.jobs import Job

    old = Job(id="ab" * 16, workbook="a", period=None, trigger="cli", requested_by=None, created_at=1.0,
              lease_until=5.0)
    con = sqlite3.connect(tmp_path / "jobs.db")
    con.execute("create table kv (key text primary key, value text not null, expires real)")
    con.execute("create table leases (id text primary key, until real not null)")
    con.execute("insert into kv values (?, ?, null)", (f"job:{old.id}", old.to_json()))
    con.execute("insert into kv values (?, ?, null)", ("active:a|", old.id))
    con.execute("insert into leases values (?, ?)", (old.id, old.lease_until))
    con.commit()
    con.close()
    q = make_queue(make_config(tmp_path))
    assert q.get(old.id).workbook == "a" and q.submit("a", None)[0].id == old.id     # still joinable
    assert q.reap() == 1 and q.huey.pending_count() == 1      # its lease brings its message back


# ------------------------------------------------------------------------------------ the worker


def test_worker_runs_a_job_with_the_injected_sync(tmp_path, queue_url, worker_factory):
    q = make_queue(make_config(tmp_path, queue_url), sync_fn=recording_sync)
    worker_factory(q)
    job = q.submit("a", "2025-03", trigger="sheet", requested_by="analyst@example.com")[0]
    done = final(q, job.id).to_dict()
    assert done["state"] == "done" and done["attempts"] == 1 and done["errors"] == []
    assert done["summary"] == ["synced a 2025-03 for analyst@example.com via sheet"]
    assert done["queued_s"] >= 0 and done["duration_s"] >= 0.2


def test_retriable_errors_are_retried_with_backoff(tmp_path, worker_factory):
    q = make_queue(make_config(tmp_path, FAIL_TIMES="2"), sync_fn=_flaky, retry_base_s=0.2, max_attempts=4)
    worker_factory(q)
    job = final(q, q.submit("a")[0].id)
    assert job.state == "done" and job.attempts == 3 and job.summary == ["ok after retries"]
    assert [e.split(":")[0] for e in job.errors] == ["attempt 1", "attempt 2"]
    assert "503" in job.errors[0] and "retrying in" in job.errors[0]
    assert "retrying in 0.2 s" in job.errors[0] and "retrying in 0.4 s" in job.errors[1]   # exponential
    starts = [float(a[0]) for a in attempts(tmp_path)]
    assert starts[1] - starts[0] >= 0.2 and starts[2] - starts[1] >= 0.4   # huey's scheduler ticks each second


def test_retries_are_bounded(tmp_path, worker_factory):
    q = make_queue(make_config(tmp_path, FAIL_TIMES="99"), sync_fn=_flaky, retry_base_s=0.05, max_attempts=3)
    worker_factory(q)
    job = final(q, q.submit("a")[0].id)
    assert job.state == "failed" and job.attempts == 3 and job.error_code == "retriable"
    assert job.errors[-1] == "gave up after 3 attempts" and len(attempts(tmp_path)) == 3


def test_failures_are_reported_not_retried(tmp_path, worker_factory):
    from webhook_fixtures import FakeResult

    from sheets_sync.errors import TemplateError

    def broken(config, workbook, **kw):
        if workbook == "a":
            raise TemplateError("tab Targets is missing column SKU")
        return FakeResult("failed", error="Targets!H12: 'abc' is not a number")

    q = make_queue(make_config(tmp_path), sync_fn=broken)
    worker_factory(q)
    a, b = final(q, q.submit("a")[0].id), final(q, q.submit("b")[0].id)
    assert (a.state, a.error_code, a.attempts) == ("failed", "template", 1)
    assert a.errors == ["tab Targets is missing column SKU"]
    assert (b.state, b.errors) == ("failed", ["Targets!H12: 'abc' is not a number"])


def test_one_sync_per_workbook_at_a_time(tmp_path, queue_url, worker_factory):
    q = make_queue(make_config(tmp_path, queue_url, SYNC_SLEEP="0.3"), sync_fn=recording_sync, lock_poll_s=0.2)
    worker_factory(q, workers=3)
    jobs = [q.submit("a", p)[0] for p in ("2025-01", "2025-02")] + [q.submit("b", "2025-01")[0]]
    for j in jobs:
        assert final(q, j.id).state == "done"
    spans: dict[str, list[tuple[float, float]]] = {}
    open_: dict[tuple[str, str], float] = {}
    for ts, pid, wb, what in attempts(tmp_path):
        if what == "start":
            open_[(pid, wb)] = float(ts)
        else:
            spans.setdefault(wb, []).append((open_.pop((pid, wb)), float(ts)))
    (s1, e1), (s2, e2) = sorted(spans["a"])
    assert s2 >= e1, "two syncs of workbook a overlapped"
    assert any(s < e2 and sb < e for s, e in spans["a"] for sb, _ in spans["b"]), \
        "workbook b should have run alongside a (the lock is per workbook)"


# --------------------------------------------------------------------------------- kill -9


@pytest.mark.slow
def test_worker_killed_mid_sync_is_retried_and_workbook_never_half_written(tmp_path):
    target = tmp_path / "a.xlsx"
    target.write_bytes(b"previous good workbook")
    spec = {"data_dir": str(tmp_path), "workbooks": {"a": str(target)}, "sync_fn": "slow_atomic_sync",
            "env": {"SYNC_SLEEP": "0.05"}, "options": {"lease_s": 1.5, "reap_interval_s": 0.3}}
    q = make_queue(make_config(tmp_path), lease_s=1.5)
    job = q.submit("a", None, trigger="sheet", requested_by="analyst@example.com")[0]
    w1 = spawn_worker(spec, tmp_path / "w1.log")
    try:
        wait_for(lambda: any(p.name.endswith(".tmp") and p.stat().st_size > 20_000 for p in tmp_path.iterdir()),
                 20, what="the first attempt to be half-way through writing")
        os.kill(w1.pid, signal.SIGKILL)
        w1.wait(10)
        assert target.read_bytes() == b"previous good workbook"     # the old workbook, untouched
        assert q.get(job.id).state == "running"                     # …until its lease runs out
        w2 = spawn_worker(spec, tmp_path / "w2.log")
        try:
            done = final(q, job.id, timeout=30)
        finally:
            w2.send_signal(signal.SIGINT)
            w2.wait(15)
    finally:
        if w1.poll() is None:
            w1.kill()
    assert done.state == "done" and done.attempts == 2, (done, (tmp_path / "w2.log").read_text())
    assert "worker stopped before finishing" in done.errors[0]
    assert workbook_complete(target)
    assert [a[3] for a in attempts(tmp_path)] == ["start", "start", "end"]


# ------------------------------------------------------------------------------------ schedules

SCHEDULES = [
    ("daily 07:00", frozenset(), None, 7, 0),
    ("Daily  7:05", frozenset(), None, 7, 5),
    ("weekdays 18:30", frozenset(range(5)), None, 18, 30),
    ("weekly mon 07:00", frozenset({0}), None, 7, 0),
    ("weekly mon,thu 06:45", frozenset({0, 3}), None, 6, 45),
    ("monthly 1 08:00", frozenset(), 1, 8, 0),
]


@pytest.mark.parametrize(("text", "days", "monthday", "hour", "minute"), SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_parse_schedule(text, days, monthday, hour, minute):
    s = parse_schedule(text)
    assert (s.weekdays, s.monthday, s.hour, s.minute) == (days, monthday, hour, minute)


@pytest.mark.parametrize("text", ["hourly", "daily 25:00", "daily 7am", "weekly funday 07:00",
                                  "monthly 31 07:00", "weekly 07:00", ""])
def test_bad_schedules_say_what_is_valid(text):
    with pytest.raises(ConfigError, match=r"schedule|day"):
        parse_schedule(text)


def test_bad_schedule_fails_at_startup(tmp_path):
    cfg = _make_config(tmp_path, workbooks={"a": WorkbookConfig(name="a", path=tmp_path / "a.xlsx",
                                                                schedule=("daily 7",))})
    with pytest.raises(ConfigError, match="daily 7"):
        make_queue(cfg)


def _sched_config(tmp_path, queue_url="sqlite"):
    wbs = {
        "mx": WorkbookConfig(name="mx", path=tmp_path / "mx.xlsx", timezone="America/Mexico_City",
                             schedule=("daily 07:00", "weekly mon 08:00")),
        "ny": WorkbookConfig(name="ny", path=tmp_path / "ny.xlsx", timezone="America/New_York",
                             schedule=("daily 07:00",)),
    }
    return _make_config(tmp_path, queue_url=queue_url, workbooks=wbs)


def at(utc: str) -> dt.datetime:
    return dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)


def test_schedules_use_the_workbook_time_zone(tmp_path):
    cfg = _sched_config(tmp_path)
    # Monday 2025-03-10: Mexico City is UTC-6 (no DST since 2022); New York is UTC-4 (DST began 2025-03-09)
    assert [(w.name, s.text) for w, s, _ in due_schedules(cfg, at("2025-03-10T11:00"))] == [("ny", "daily 07:00")]
    assert [(w.name, s.text) for w, s, _ in due_schedules(cfg, at("2025-03-10T13:00"))] == [("mx", "daily 07:00")]
    assert [(w.name, s.text) for w, s, _ in due_schedules(cfg, at("2025-03-10T14:02"))] == [("mx", "weekly mon 08:00")]
    assert due_schedules(cfg, at("2025-03-11T14:00")) == []          # Tuesday: no weekly
    assert due_schedules(cfg, at("2025-03-10T13:05")) == []          # past the catch-up window
    # the week before, New York was still UTC-5
    assert [w.name for w, _, _ in due_schedules(cfg, at("2025-03-07T12:00"))] == ["ny"]


def test_schedule_fires_once_across_workers(tmp_path):
    cfg = _sched_config(tmp_path)
    q1, q2 = make_queue(cfg, sync_fn=recording_sync), make_queue(cfg, sync_fn=recording_sync)
    fired = q1.fire_schedules(at("2025-03-10T13:00")) + q2.fire_schedules(at("2025-03-10T13:01"))
    fired += q1.fire_schedules(at("2025-03-10T13:03"))
    assert len(fired) == 1 and fired[0].workbook == "mx" and fired[0].trigger == "schedule: daily 07:00"
    q1.store.claim(fired[0].id, "w", 30)
    q1.store.finish(fired[0].id, "w", "done")
    assert q1.fire_schedules(at("2025-03-11T13:00"))[0].id != fired[0].id      # the next day fires again


def test_a_missed_schedule_runs_once_when_a_worker_comes_back(tmp_path, queue_url):
    cfg = _sched_config(tmp_path, queue_url)
    fresh = make_queue(cfg, sync_fn=recording_sync)
    assert fresh.fire_schedules(at("2025-03-10T20:00")) == []      # a new deployment does not replay the past
    # every worker down from Monday evening to Wednesday 15:30: mx "daily 07:00" (13:00 UTC) missed twice
    back, other = make_queue(cfg, sync_fn=recording_sync), make_queue(cfg, sync_fn=recording_sync)
    fired = back.fire_schedules(at("2025-03-12T15:30")) + other.fire_schedules(at("2025-03-12T15:31"))
    fired += back.fire_schedules(at("2025-03-12T15:32"))
    assert sorted(j.workbook for j in fired) == ["mx", "ny"]       # once each: not per missed day or worker
    by = {j.workbook: j.trigger for j in fired}
    assert by["mx"] == "schedule: daily 07:00 (missed at 2025-03-12 07:00, run late)"
    assert by["ny"] == "schedule: daily 07:00 (missed at 2025-03-12 07:00, run late)"
    # Monday's weekly 08:00 had run before the last check (Monday 20:00): it is not replayed
    for j in fired:
        back.store.claim(j.id, "w", 30)
        back.store.finish(j.id, "w", "done")
    assert back.fire_schedules(at("2025-03-13T13:00"))[0].trigger == "schedule: daily 07:00"   # back to normal


def test_periodic_task_is_registered_every_minute(tmp_path):
    q = make_queue(_sched_config(tmp_path))
    from huey.api import PeriodicTask

    periodic = [t for t in q.huey._registry._registry.values() if issubclass(t, PeriodicTask)]
    assert len(periodic) == 1
    task = periodic[0]()
    minutes = [dt.datetime(2025, 3, 10, 0, m) for m in range(60)]
    assert all(task.validate_datetime(m) for m in minutes)


def test_job_json_roundtrip(tmp_path):
    q = make_queue(make_config(tmp_path))
    job = q.submit("a", "2025-Q1", trigger="sheet", requested_by="x@example.com")[0]
    view = q.get(job.id).to_dict()
    assert json.loads(json.dumps(view)) == view
    assert set(view) >= {"job_id", "state", "created_at", "started_at", "finished_at", "duration_s", "summary",
                         "errors", "requested_by", "trigger", "attempts"}


# ------------------------------------------------------------------------- the real xlsx sync


def make_demo_workbook(tmp_path: Path, name: str = "demo") -> tuple[WorkbookConfig, str]:
    """A demo workbook (team tabs seeded) and its sample reports, as ``sheets-sync demo`` makes them."""
    from sheets_sync.cli import demo_period
    from sheets_sync.samples.amazon import write_demo_reports
    from sheets_sync.sync import init_workbook, open_workbook

    period = demo_period(dt.date.today())
    reports = tmp_path / "reports"
    if not reports.exists():
        write_demo_reports(reports, period, {"US": period.end, "MX": period.end})
    wbc = WorkbookConfig(name=name, backend="xlsx", path=tmp_path / f"{name}.xlsx", reports=reports)
    init_workbook(open_workbook(_make_config(tmp_path), wbc), today=period.start)
    return wbc, period.label


def test_real_xlsx_sync_through_the_queue(tmp_path, worker_factory):
    assert callable(pytest.importorskip("sheets_sync.sync").run_sync)   # the lead's orchestrator (493bbba)
    wbc, period = make_demo_workbook(tmp_path)
    cfg = _make_config(tmp_path, workbooks={"demo": wbc})
    q = make_queue(cfg)                                  # the default job: sheets_sync.sync.run_sync
    worker_factory(q)
    job = final(q, q.submit("demo", period, trigger="sheet", requested_by="analyst@example.com")[0].id, 60)
    view = job.to_dict()
    assert view["state"] == "done", view
    assert view["result"]["status"].startswith("ok") and view["result"]["period"] == period
    assert view["summary"] and view["attempts"] == 1
    import openpyxl

    book = openpyxl.load_workbook(wbc.path, read_only=True)
    assert "Scorecard" in book.sheetnames
    book.close()
