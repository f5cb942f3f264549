"""Shared API budgets (token buckets in the queue's store) and sync progress.

Budgets are tested with real processes over the real stores (the SQLite file, a real redis-server), and
through a whole sync against the local Amazon server.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
from builders import tables
from webhook_fixtures import make_config as _make_config
from webhook_fixtures import queue_url, redis_server, wait_for  # noqa: F401  (fixtures)

from sheets_sync.budget import DEFAULT_LIMITS, Budgets, Limit, limits_from_settings, shared_budgets
from sheets_sync.config import WorkbookConfig
from sheets_sync.errors import ConfigError
from sheets_sync.jobs import make_queue, run_worker
from sheets_sync.jobs.sqlite_backend import SqliteBackend
from sheets_sync.progress import STAGES, Tracker
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.amazon import open_amazon_source
from sheets_sync.sync import attach_budgets, sync_workbook
from sheets_sync.testing.amazon_server import AmazonServer, synthetic_document, utc_noon
from sheets_sync.testing.amazon_server import make_config as amazon_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


# ------------------------------------------------------------------------------------------- the bucket


def test_per_minute_quota_is_never_exceeded_in_any_minute(tmp_path):
    clock = [1000.0]
    budgets = Budgets(SqliteBackend(tmp_path / "jobs.db", checkpoint_interval_s=0),
                      {"sheets_write": Limit.per_minute(60)}, clock=lambda: clock[0],
                      sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    sent = []
    for _ in range(300):
        budgets.acquire("sheets_write", "sa@example.iam.gserviceaccount.com")
        sent.append(clock[0])
    assert max_in_window(sent, 60.0) <= 60
    assert sent[-1] - sent[0] <= 300 / 50 * 60 + 1        # and no slower than (60 − burst) a minute
    # another account has its own bucket: no wait
    assert budgets.reserve("sheets_write", "other@example.iam.gserviceaccount.com") == 0


def test_reservations_are_served_in_order(tmp_path):
    budgets = Budgets(SqliteBackend(tmp_path / "jobs.db", checkpoint_interval_s=0), {"ads": Limit(2.0, 1)},
                      clock=lambda: 50.0)
    waits = [budgets.reserve("ads", "seller") for _ in range(5)]
    assert waits == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_limits_are_settings_with_published_defaults():
    assert DEFAULT_LIMITS["spapi_createReport"] == Limit(1 / 60, 15)
    assert DEFAULT_LIMITS["spapi_getReport"] == Limit(2.0, 15)
    got = limits_from_settings({"sheets_writes_per_minute": 30, "sheets_burst": 5,
                                "spapi_create_report": {"rate_per_s": 0.5, "burst": 3}})
    assert got["sheets_write"] == Limit(25 / 60, 5) and got["sheets_read"] == Limit(55 / 60, 5)
    assert got["spapi_createReport"] == Limit(0.5, 3) and got["ads"] == DEFAULT_LIMITS["ads"]
    with pytest.raises(ConfigError, match=r"budgets\.sheet_writes: unknown"):
        limits_from_settings({"sheet_writes": 30})
    with pytest.raises(ConfigError, match=r"budgets\.spapi_get_report: .* not valid"):
        limits_from_settings({"spapi_get_report": 2})


def test_service_yaml_budgets_reach_the_config(tmp_path):
    from sheets_sync.config import load_config

    p = tmp_path / "service.yaml"
    p.write_text("budgets:\n  sheets_writes_per_minute: 12\n", encoding="utf-8")
    cfg = load_config(p, env={})
    assert cfg.budgets["sheets_write"] == Limit.per_minute(12)


# ------------------------------------------------------------------------- two processes, one bucket

DRAW = """
import json, sys, time
from sheets_sync.budget import Limit, shared_budgets
from sheets_sync.config import Config
from pathlib import Path
cfg = Config(data_dir=Path(sys.argv[1]), queue_url=sys.argv[2], budgets={"sheets_write": Limit(5.0, 2)})
b = shared_budgets(cfg)
out = []
for _ in range(int(sys.argv[3])):
    b.acquire("sheets_write", "sa@example.iam.gserviceaccount.com")
    out.append(time.time())
print(json.dumps(out))
"""


def test_two_worker_processes_never_exceed_a_shared_budget(tmp_path, queue_url):  # noqa: F811
    n = 10
    procs = [subprocess.Popen([sys.executable, "-c", DRAW, str(tmp_path), queue_url, str(n)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    stamps = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        stamps += json.loads(out)
    assert len(stamps) == 2 * n
    # burst 2 + 5 a second: any window of w seconds holds at most 2 + 5·w calls (50 ms of clock slack). The
    # stamps are taken after each wait: on a loaded machine one process may wake late, next to the other's
    # on-time call, so one call of slack; two unshared buckets would allow 4 + 10·w and still fail here.
    for w in (0.5, 1.0, 2.0):
        assert max_in_window(stamps, w - 0.05) <= 2 + 5 * w + 1, w
    assert max(stamps) - min(stamps) >= (2 * n - 2) / 5 - 0.2      # the processes did wait for each other


# ------------------------------------------------------------------------------- a sync on the budget

TODAY = dt.date(2026, 11, 6)


def test_a_sync_reports_its_stages_in_order_and_draws_from_the_budget(tmp_path):
    from sheets_sync.testing.amazon_server import clear_token_caches

    clear_token_caches()
    targets = [[None, "US", "account", None, "Li Na", "ops", "gmv", 1, 1, None, None]]
    wb = MemoryWorkbook(tables(targets))
    seen: list[tuple] = []
    with AmazonServer(documents=synthetic_document, today=TODAY) as srv:
        fast = {**DEFAULT_LIMITS, "spapi_createReport": Limit(50.0, 15), "spapi_getReportDocument": Limit(50.0, 15)}
        cfg = replace(amazon_config(srv, tmp_path / "data"), budgets=fast)
        source = open_amazon_source(cfg, clock=lambda: utc_noon(TODAY), **srv.client_timing())
        track = Tracker(lambda *a: seen.append(a))
        attach_budgets(cfg, wb, source, track)
        assert source.sp.pacer is not None
        res = sync_workbook(wb, source, now=dt.datetime.fromtimestamp(utc_noon(TODAY), dt.UTC), progress=track)
    assert res.ok, res.problems
    stages = [s for s, *_ in seen]
    order = [STAGES.index(s) for s in stages]
    assert order == sorted(order), stages                       # never goes back
    assert {"reading", "fetching", "computing", "writing"} <= set(stages)
    fetching = [(d, t) for s, d, t, _ in seen if s == "fetching" and t]
    assert fetching and fetching[-1][0] == fetching[-1][1] > 1, fetching      # n/m, ending at m/m
    # the createReport calls were drawn from the seller account's bucket in the queue's store
    store = shared_budgets(cfg).backend
    keys = [k for (k,) in store._conn().execute("select key from job_kv where key like 'budget:%'")]
    assert any(k.startswith("budget:spapi_createReport:") for k in keys), keys
    assert all(srv.env()["SP_API_REFRESH_TOKEN"] not in k for k in keys)     # the token is never a key


# ------------------------------------------------------------------------------- progress in the job


def test_a_running_job_shows_its_stage(tmp_path, queue_url):  # noqa: F811
    wbs = {"a": WorkbookConfig(name="a", path=tmp_path / "a.xlsx")}
    cfg = _make_config(tmp_path, queue_url=queue_url, workbooks=wbs, env={})
    release = threading.Event()

    def staged_sync(config, workbook=None, *, progress, **kw):
        progress("reading")
        progress("fetching", 3, 8, "SP-API: requesting 8 report(s)")
        release.wait(10)
        progress("writing")
        from types import SimpleNamespace

        return SimpleNamespace(ok=True, summary=["ok"], problems=[])

    q = make_queue(cfg, sync_fn=staged_sync)
    handle = run_worker(cfg, queue=q, block=False, periodic=False)
    try:
        job, _ = q.submit("a")
        view = wait_for(lambda: (v := q.get(job.id).to_dict())["progress"] and v["progress"]["stage"] == "fetching"
                        and v, 10, what="the fetching stage")
        assert view["state"] == "running"
        assert view["progress"]["label"] == "fetching reports 3/8"
        assert view["progress"]["done"] == 3 and view["progress"]["detail"].startswith("SP-API")
        release.set()
        done = wait_for(lambda: (j := q.get(job.id)) and j.state == "done" and j, 10, what="the job")
        assert done.to_dict()["progress"]["stage"] == "writing"
    finally:
        release.set()
        handle.stop(graceful=False)


def test_progress_callback_failures_never_fail_the_sync():
    def broken(*a):
        raise RuntimeError("status store down")

    t = Tracker(broken)
    t("reading")
    t.note("still fine")
    assert t.stage == "reading"


def test_terminal_bar_draws_the_stage():
    import io

    from sheets_sync.progress import TerminalBar

    buf = io.StringIO()
    bar = TerminalBar(buf, width=10)
    bar("fetching", 2, 4, "SP-API: requesting 4 report(s)")
    assert "[###·······] fetching reports 2/4 — SP-API" in buf.getvalue()
    bar.close()
    assert buf.getvalue().endswith("\r\x1b[2K")


# --------------------------------------------------------------- the Google adapter on a quota'd server


def test_google_reads_wait_for_the_budget_instead_of_hitting_the_quota(tmp_path):
    from sheets_sync.budget import GooglePacer
    from sheets_sync.sheets.google import GoogleWorkbook, RetryPolicy
    from sheets_sync.template import TEAM_TABS, load_template
    from sheets_sync.testing.sheets_server import SID, FakeSheetsServer

    minute_s, quota = 2.0, 6
    with FakeSheetsServer() as server:
        sa = server.service_account()
        server.add_book(SID, {"Settings": [["key", "value"]]}, shared=[sa["client_email"]])
        server.set_quota(quota, quota, minute_s=minute_s)

        def workbook(pacer):
            wb = GoogleWorkbook(SID, sa, template=load_template(), adapter_factory=server.adapter,
                                retry=RetryPolicy(max_attempts=1))
            wb.pacer = pacer
            return wb

        per = Limit.per_minute(quota)
        budgets = Budgets(SqliteBackend(tmp_path / "jobs.db", checkpoint_interval_s=0),
                          {"sheets_read": Limit(per.rate_per_s * 60 / minute_s, per.burst)})
        paced = workbook(GooglePacer(budgets, sa["client_email"]))
        for _ in range(8):                          # 16 reads: more than two minutes' worth
            paced.read_tabs(list(TEAM_TABS))
        assert server.quota_rejected == 0 and server.quota_accepted["read"] == 16
        # the same reads without the budget run into Google's 429 (RESOURCE_EXHAUSTED)
        from sheets_sync.errors import RetriableError

        class NoPacing:                              # a pacer that never waits
            def acquire(self, kind: str, n: int = 1) -> float:
                return 0.0

        bare = workbook(NoPacing())
        with pytest.raises(RetriableError, match="quota"):
            for _ in range(8):
                bare.read_tabs(list(TEAM_TABS))
        assert server.quota_rejected >= 1


OPEN = """
import sys, time
from pathlib import Path
from sheets_sync.jobs.sqlite_backend import SqliteBackend
start = float(sys.argv[2])
while time.time() < start:
    pass
SqliteBackend(Path(sys.argv[1]) / "jobs.db", checkpoint_interval_s=0).transact(lambda tx: tx.set("k", "v"))
"""


def test_processes_opening_a_new_queue_file_at_once_all_get_in(tmp_path):
    """Two workers starting together on a fresh data folder: switching the new jobs.db to WAL must not fail
    with "database is locked" in one of them (SQLite does not wait on that lock by itself)."""
    for round_ in range(5):
        folder = tmp_path / str(round_)
        folder.mkdir()
        start = time.time() + 0.5
        procs = [subprocess.Popen([sys.executable, "-c", OPEN, str(folder), str(start)], stderr=subprocess.PIPE,
                                  text=True) for _ in range(6)]
        for p in procs:
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
