"""Google's limits: the local server enforces them with Google's bodies, and GoogleWorkbook stays inside them.

Real gspread + google-auth over HTTP against sheets_sync/testing/sheets_server.py (strict by default).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random

import gspread
import pytest

from sheets_sync.errors import RetriableError
from sheets_sync.sheets.base import GeneratedTab
from sheets_sync.sheets.google import STAGING_PREFIX, InProcessPacer
from sheets_sync.template import TEAM_TABS, load_template
from sheets_sync.testing.sheets_server import SID, FakeSheetsServer, Fault, Limits

pytest_plugins = ["google_fixtures"]

TPL = load_template()
HIST_COLS = TPL.tab("History").column_names
LOG_COLS = TPL.tab("Sync Log").column_names


def team() -> dict[str, list[list]]:
    return {"Settings": [["key", "value", "notes"], ["period", "2026-11"]],
            "Targets": [TPL.tab("Targets").column_names, ["", "MX", "account", "", "Li Na", "ops", "gmv", 1, 1]]}


def history_rows(days: range, per_day: int = 20) -> list[list]:
    out = []
    for d in days:
        day = dt.date(2026, 1, 1) + dt.timedelta(days=d)
        for k in range(per_day):
            out.append([day.strftime("%Y-%m"), day, k + 2, f"owner {k % 7}", "MX", "gmv", "asin", f"B0{k:08d}",
                        1000.0 + k, 900.5 + d, 0.9005, 1.01, "on track"])
    return out


def history(days: range, title: str = "History", per_day: int = 20) -> GeneratedTab:
    return GeneratedTab("History", HIST_COLS, history_rows(days, per_day), title=title,
                        formats={"as_of": "date", "target": "money", "actual": "money", "attainment": "percent"},
                        status_column="status")


def scorecard(n: int, title: str = "v1", seed: int = 1) -> GeneratedTab:
    rng = random.Random(seed)
    return GeneratedTab("Scorecard", ["owner", "role", "score"], [[f"owner {i}", "ops", rng.random()]
                                                                   for i in range(n)], title=title,
                        formats={"score": "percent"})


def big_actuals(n: int, seed: int = 0) -> GeneratedTab:
    rng = random.Random(seed)
    cols = ["marketplace", "asin", "sku", "title", *(f"m{i}" for i in range(12))]
    rows = [["US" if i % 2 else "MX", f"B0{i:08d}", f"SKU-{i}", f"Product title {i} — 商品 {seed}",
             *(round(rng.uniform(0, 5000), 2) for _ in range(12))] for i in range(n)]
    return GeneratedTab("Actuals", cols, rows, title=f"seed {seed}", formats={f"m{i}": "money" for i in range(12)})


def batch_bodies(server: FakeSheetsServer, start: int = 0) -> list[int]:
    return [n for what, n, _ in server.traffic[start:] if what.endswith(":batchUpdate")]


def sheet_titles(server: FakeSheetsServer) -> list[str]:
    return [s.title for s in server.books[SID].sheets]


# --------------------------------------------------------------------------------------- the strict server

def test_payload_over_google_limit_is_refused_with_googles_body(server, shared_book, sa):
    shared_book(team())
    gc = server.gspread_client(sa)
    sh = gc.open_by_key(SID)
    sid = sh.worksheet("Settings").id
    value = "x" * 40_000
    rows = [{"values": [{"userEnteredValue": {"stringValue": value}}] * 4} for _ in range(70)]   # ≈ 11.2 MB
    before = server.snapshot(SID, "Settings")
    with pytest.raises(gspread.exceptions.APIError) as err:
        sh.batch_update({"requests": [{"updateCells": {"start": {"sheetId": sid}, "rows": rows,
                                                       "fields": "userEnteredValue"}}]})
    assert err.value.response.status_code == 400
    assert err.value.response.json() == {"error": {
        "code": 400, "message": "Request payload size exceeds the limit: 10485760 bytes.",
        "status": "INVALID_ARGUMENT"}}
    assert server.snapshot(SID, "Settings") == before


def test_per_minute_quotas_per_user_and_per_project_answer_googles_429(sa):
    with FakeSheetsServer(limits=Limits(window_s=0.6, writes_per_user=3, writes_per_project=4,
                                        reads_per_user=100)) as srv:
        one, two = srv.service_account(), srv.service_account("report@kpi-project.iam.gserviceaccount.com")
        srv.add_book(SID, {"Sheet1": [["a"]]}, shared=[one["client_email"], two["client_email"]])
        sh1, sh2 = srv.gspread_client(one).open_by_key(SID), srv.gspread_client(two).open_by_key(SID)
        req = {"requests": [{"updateSheetProperties": {"properties": {"sheetId": sh1.sheet1.id, "title": "S"},
                                                       "fields": "title"}}]}
        for _ in range(3):
            sh1.batch_update(req)
        with pytest.raises(gspread.exceptions.APIError) as err:
            sh1.batch_update(req)
        body = err.value.response.json()["error"]
        assert (body["code"], body["status"]) == (429, "RESOURCE_EXHAUSTED")
        assert body["message"].startswith("Quota exceeded for quota metric 'Write requests' and limit 'Write "
                                          "requests per minute per user' of service 'sheets.googleapis.com' "
                                          "for consumer 'project_number:")
        info = body["details"][0]
        assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
        assert info["reason"] == "RATE_LIMIT_EXCEEDED"
        assert info["metadata"]["quota_limit"] == "WriteRequestsPerMinutePerUser"
        assert info["metadata"]["quota_metric"] == "sheets.googleapis.com/write_requests"
        sh2.batch_update(req)                                # the project's 4th write: allowed
        with pytest.raises(gspread.exceptions.APIError) as err:
            sh2.batch_update(req)                            # the project's 5th: per-project limit
        assert "limit 'Write requests per minute' of service" in err.value.response.json()["error"]["message"]
        import time
        time.sleep(0.65)                                     # the window passes: writes are allowed again
        sh1.batch_update(req)


def test_pacer_keeps_a_burst_of_syncs_inside_the_quota(server, shared_book, make_workbook):
    shared_book(team())
    with FakeSheetsServer(limits=Limits(window_s=0.5, reads_per_user=4, writes_per_user=2)) as srv:
        sa = srv.service_account()
        srv.add_book(SID, team(), shared=[sa["client_email"]])
        from sheets_sync.sheets.google import GoogleWorkbook, RetryPolicy

        pacer = InProcessPacer(2, 0.5)                       # the quota the server enforces
        for i in range(4):
            wb = GoogleWorkbook(SID, sa, template=TPL, adapter_factory=srv.adapter, pacer=pacer,
                                retry=RetryPolicy(max_attempts=1))
            wb.read_tabs(list(TEAM_TABS))
            wb.write_tabs([scorecard(5, title=f"run {i}")])
        assert srv.quota_refused == 0 and pacer.waited_s > 0
        assert srv.values(SID, "Scorecard")[0] == ["run 3"]


def test_quota_429_is_retried_until_the_window_passes(shared_book, clock):
    from sheets_sync.sheets.google import GoogleWorkbook, RetryPolicy

    with FakeSheetsServer(limits=Limits(window_s=0.3, writes_per_user=1)) as srv:
        sa = srv.service_account()
        srv.add_book(SID, team(), shared=[sa["client_email"]])
        policy = RetryPolicy(max_attempts=8, base_s=0.1, cap_s=0.4)        # real sleeps: the window is real
        wb = GoogleWorkbook(SID, sa, template=TPL, adapter_factory=srv.adapter, retry=policy,
                            pacer=InProcessPacer(100, 0.3))                 # a pacer that lets too much through
        wb.write_tabs([scorecard(3, title="a")])
        wb.write_tabs([scorecard(3, title="b")])
        assert srv.quota_refused >= 1
        assert srv.values(SID, "Scorecard")[0] == ["b"]


# --------------------------------------------------------------------------------------- a bounded write

def test_history_grows_by_appending_only_the_new_as_of_rows(server, shared_book, make_workbook):
    shared_book(team())
    wb = make_workbook()
    wb.write_tabs([history(range(0, 60))])                 # 1,200 rows
    full = batch_bodies(server)[-1]
    sheet_id = server.snapshot(SID, "History")["props"]["sheetId"]
    for day in range(60, 63):
        wb = make_workbook(history_max_rows=1_200)
        wb.read_tabs(["History"])
        start = len(server.traffic)
        tab = history(range(day - 59, day + 1), title=f"day {day}")   # the oldest date gone, a new one added
        wb.write_tabs([tab])
        sent = batch_bodies(server, start)
        assert len(sent) == 1 and sent[0] < full / 10, (sent, full)
        assert wb.last_write["patched"] == ["History"]
        got = server.values(SID, "History")
        assert got[0] == [f"day {day}"] and got[1] == HIST_COLS
        assert len(got) == 2 + 1_200
        serial = (dt.date(2026, 1, 1) + dt.timedelta(days=day - 59) - dt.date(1899, 12, 30)).days
        assert got[2][1] == serial and got[-1][1] == serial + 59
        assert [r[2] for r in got[2:22]] == list(range(2, 22))
    snap = server.snapshot(SID, "History")
    assert snap["props"]["sheetId"] == sheet_id and snap["props"]["gridProperties"]["rowCount"] == 1_202
    last = snap["cells"][(1_201, 8)]                        # a new row carries the column's money format
    assert last["userEnteredFormat"]["numberFormat"]["type"] == "CURRENCY"
    assert len(snap["cond"]) == 3 and len(snap["protected"]) == 1          # nothing accumulates


def test_sync_log_gets_its_new_entry_on_top_without_resending_the_rest(server, shared_book, make_workbook):
    shared_book(team())
    rows = [[f"2026-11-{d:02d}T07:00:00Z", "cli", "", "ok", 1.5, 3, 40, f"sync {d}"] for d in range(28, 0, -1)]
    make_workbook().write_tabs([GeneratedTab("Sync Log", LOG_COLS, rows, title="t")])
    wb = make_workbook()
    wb.read_tabs(["Sync Log"])
    start = len(server.traffic)
    new = [["2026-11-29T07:00:00Z", "cli", "", "ok", 1.2, 3, 40, "sync 29"], ["", "", "", "warning", None, None,
                                                                            None, "a warning line"]]
    wb.write_tabs([GeneratedTab("Sync Log", LOG_COLS, [*new, *rows[:-3]], title="t2")])
    assert wb.last_write["patched"] == ["Sync Log"]
    got = server.values(SID, "Sync Log")
    assert got[2][7] == "sync 29" and got[3][7] == "a warning line" and got[4][7] == "sync 28"
    assert got[-1][7] == "sync 4" and len(got) == 2 + 2 + 25
    assert batch_bodies(server, start)[0] < 4_000


def test_a_tab_that_did_not_change_is_not_resent(server, shared_book, make_workbook):
    shared_book(team())
    make_workbook().write_tabs([scorecard(400, title="Monday"), history(range(3))])
    wb = make_workbook()
    start = len(server.traffic)
    wb.write_tabs([scorecard(400, title="Tuesday"), history(range(3))])   # only a definitions line changed
    assert sorted(wb.last_write["unchanged"]) == ["History", "Scorecard"]
    assert batch_bodies(server, start)[0] < 1_500
    assert server.values(SID, "Scorecard")[0] == ["Tuesday"]
    assert len(server.values(SID, "Scorecard")) == 402
    wb.write_tabs([scorecard(400, title="Tuesday", seed=2)])             # content changed: rewritten
    assert wb.last_write["unchanged"] == [] and batch_bodies(server, start)[-1] > 10_000


# --------------------------------------------------------------------------------------- staging

def test_a_write_over_the_budget_is_staged_and_swapped_in_atomically(server, shared_book, make_workbook):
    shared_book(team())
    make_workbook().write_tabs([big_actuals(300, seed=0), scorecard(20)])
    ids = {t: server.snapshot(SID, t)["props"]["sheetId"] for t in ("Actuals", "Scorecard")}
    wb = make_workbook(request_budget=40_000)
    wb.read_tabs(list(TEAM_TABS))
    start = len(server.traffic)
    wb.write_tabs([big_actuals(3_000, seed=1), scorecard(20, seed=5)])
    sizes = batch_bodies(server, start)
    assert max(sizes) <= 40_000 and len(sizes) > 10
    assert wb.last_write["staged_blocks"] >= 1
    assert wb.api_calls == 2 + len(sizes)                  # 3 + the staging requests
    got = server.values(SID, "Actuals")
    want = big_actuals(3_000, seed=1)
    assert len(got) == 3_002 and got[0] == [want.title] and got[2][:4] == want.rows[0][:4]
    assert got[-1][4:] == want.rows[-1][4:]
    assert {t: server.snapshot(SID, t)["props"]["sheetId"] for t in ("Actuals", "Scorecard")} == ids
    assert not [t for t in sheet_titles(server) if t.startswith(STAGING_PREFIX)]
    snap = server.snapshot(SID, "Actuals")
    assert snap["cells"][(3_001, 5)]["userEnteredFormat"]["numberFormat"]["type"] == "CURRENCY"


BUDGET = 60_000


@pytest.mark.slow
def test_a_write_over_googles_hard_limit_goes_through_in_requests_of_at_most_2_mb(server, shared_book,
                                                                               make_workbook):
    shared_book(team())
    tab = big_actuals(20_000, seed=3)                         # ≈ 14 MB of cells: one request would be refused
    wb = make_workbook()
    wb.write_tabs([tab])
    sizes = batch_bodies(server)
    assert sum(sizes) > 10_485_760 and max(sizes) <= 2_000_000
    got = server.values(SID, "Actuals")
    assert got[0] == [tab.title] and got[1] == tab.columns and got[2:] == tab.rows
    assert not [t for t in sheet_titles(server) if t.startswith(STAGING_PREFIX)]


def _staged_steps(server, make_workbook) -> int:
    """How many batchUpdates the staged write below makes (staging requests + the final one)."""
    shared = server.books[SID]
    probe = shared.clone()
    wb = make_workbook(request_budget=BUDGET)
    wb.read_tabs(list(TEAM_TABS))
    start = len(server.traffic)
    wb.write_tabs([big_actuals(600, seed=1), scorecard(20, seed=5)])
    n = len(batch_bodies(server, start))
    server.books[SID] = probe
    return n


class Killed(BaseException):
    """The process dies mid-sync (nothing of ours can catch it)."""


class KillAt:
    """A pacer that kills the process before its n-th write request."""

    def __init__(self, n: int, inner):
        self.n, self.inner = n, inner

    def acquire(self, kind: str) -> None:
        if kind == "write":
            self.n -= 1
            if self.n < 0:
                raise Killed
        self.inner.acquire(kind)


@pytest.mark.parametrize("fault", ["500", "killed", "429", "drop_after", "timeout"])
def test_a_fault_at_any_staging_step_leaves_old_or_new_tabs_and_the_next_sync_cleans_up(
        server, shared_book, make_workbook, clock, fault):
    shared_book(team())
    old = [big_actuals(400, seed=0), scorecard(20)]
    make_workbook().write_tabs(old)
    old_values = {t.name: server.values(SID, t.name) for t in old}
    steps = _staged_steps(server, make_workbook)
    assert steps >= 4
    new = [big_actuals(600, seed=1), scorecard(20, seed=5)]
    for k in range(steps):
        kw = {}
        if fault == "500":
            server.inject(Fault(code=500, match=":batchUpdate", skip=k, times=50))
        elif fault == "429":
            server.inject(Fault(code=429, retry_after=3, match=":batchUpdate", skip=k))
        elif fault == "drop_after":
            server.inject(Fault(kind="drop_after", match=":batchUpdate", skip=k))
        elif fault == "timeout":                             # applied, answered after the client gave up
            server.inject(Fault(kind="slow", delay=0.6, match=":batchUpdate", skip=k))
            kw["timeout"] = (1.0, 0.3)
        else:
            kw["pacer"] = KillAt(k, make_workbook.pacer)
        wb = make_workbook(request_budget=BUDGET, max_attempts=3, **kw)
        wb.read_tabs(list(TEAM_TABS))
        sleeps = len(clock.sleeps)
        try:
            wb.write_tabs(new)
            finished = True
        except (RetriableError, Killed):
            finished = False
        server.faults.clear()
        now = {t.name: server.values(SID, t.name) for t in new}
        want = {t.name: None for t in new}
        if finished:
            assert fault in ("429", "drop_after", "timeout"), k
            if fault == "429":
                assert 3 in clock.sleeps[sleeps:]            # Retry-After honoured
            want = {t.name: [[t.title], t.columns] for t in new}
            assert {n: v[:2] for n, v in now.items()} == want
            assert len(now["Actuals"]) == 602
            assert not [t for t in sheet_titles(server) if t.startswith(STAGING_PREFIX)]
        else:
            assert fault in ("500", "killed"), k
            assert now == old_values, k                      # the visible tabs are the old ones, whole
            wb = make_workbook(request_budget=BUDGET)        # the next sync
            wb.read_tabs(list(TEAM_TABS))
            wb.write_tabs(new)
            assert len(server.values(SID, "Actuals")) == 602
            assert server.values(SID, "Scorecard")[2] == [new[1].rows[0][0], "ops", new[1].rows[0][2]]
            assert not [t for t in sheet_titles(server) if t.startswith(STAGING_PREFIX)]
        make_workbook().write_tabs(old)                      # back to the old tabs for the next step
        assert {t.name: server.values(SID, t.name) for t in old} == old_values


def test_a_staging_request_whose_answer_was_lost_is_not_applied_twice(server, shared_book, make_workbook, clock):
    shared_book(team())
    make_workbook().write_tabs([big_actuals(100, seed=0)])
    # the first staging request lands but its answer is lost, then the retry meets a 429
    server.inject(Fault(kind="drop_after", match=":batchUpdate"), Fault(code=429, match=":batchUpdate"))
    wb = make_workbook(request_budget=BUDGET)
    wb.write_tabs([big_actuals(600, seed=1)])
    assert wb.last_write["staged_blocks"] >= 1 and len(clock.sleeps) == 2
    assert server.values(SID, "Actuals")[2:] == big_actuals(600, seed=1).rows
    assert not [t for t in sheet_titles(server) if t.startswith(STAGING_PREFIX)]


# --------------------------------------------------------------------------------------- recovery

def test_a_sheet_whose_history_is_already_too_big_recovers_by_itself(shared_book, clock):
    """The spreadsheet is over Google's cell limit because of History: the old sync failed forever; now the sync
    trims History's oldest as-of dates to fit, says so in the Sync Log, and succeeds."""
    from sheets_sync.sheets.google import GoogleWorkbook, RetryPolicy
    from sheets_sync.sync import init_workbook, sync_workbook

    limit = 110_000                                          # Google's 10,000,000, scaled down to test data
    with FakeSheetsServer(limits=Limits(max_cells=limit, window_s=2.0)) as srv:
        sa = srv.service_account()
        srv.add_book(SID, {"Sheet1": []}, shared=[sa["client_email"]])

        def workbook(**kw) -> GoogleWorkbook:
            return GoogleWorkbook(SID, sa, template=TPL, adapter_factory=srv.adapter, max_cells=limit,
                                  pacer=InProcessPacer(60, 2.0), retry=RetryPolicy(max_attempts=2), **kw)

        init_workbook(workbook(), TPL, today=dt.date(2026, 11, 1))
        book = srv.books[SID]
        book.sheets.remove(book.by_title("History"))
        rows = history_rows(range(0, 300), per_day=25)      # 7,500 rows × 13 columns ≈ 97,500 cells
        srv.add_tab(book, "History", [["History"], HIST_COLS, *rows])
        used = sum(s.rows * s.cols for s in book.sheets)
        assert used > limit                                  # already over: every write would be refused
        result = sync_workbook(workbook(), None, now=dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
        assert result.ok, result.error
        assert sum(s.rows * s.cols for s in srv.books[SID].sheets) <= limit
        log = srv.values(SID, "Sync Log")
        notes = [r[7] for r in log[2:] if len(r) > 7 and str(r[7]).startswith("History: removed")]
        assert notes and "oldest as-of date(s) (2026-01-01 …" in notes[0]
        assert "cells per spreadsheet" in notes[0]
        hist = srv.values(SID, "History")
        kept = {r[1] for r in hist[2:]}
        assert (dt.date(2026, 1, 1) - dt.date(1899, 12, 30)).days not in kept          # oldest dates gone
        assert (dt.date(2026, 10, 27) - dt.date(1899, 12, 30)).days in kept         # newest kept
        again = sync_workbook(workbook(), None, now=dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC))
        assert again.ok, again.error


def test_history_over_its_cap_drops_the_oldest_whole_as_of_dates(server, shared_book, make_workbook):
    shared_book(team())
    wb = make_workbook(history_max_rows=1_000)
    tab = history(range(0, 70))                               # 1,400 rows
    notes = wb.fit_tabs([tab])
    assert len(tab.rows) == 1_000 and {r[1] for r in tab.rows} == {
        dt.date(2026, 1, 1) + dt.timedelta(days=d) for d in range(20, 70)}
    assert notes == ["History: removed 400 rows of the 20 oldest as-of date(s) (2026-01-01 … 2026-01-20) "
                     "because History keeps at most 1,000 rows; 1,000 rows kept"]
    assert wb.fit_tabs([history(range(0, 40))]) == []


def test_request_budget_must_stay_below_googles_hard_limit(sa, server):
    from sheets_sync.errors import ConfigError
    from sheets_sync.sheets.google import GoogleWorkbook

    with pytest.raises(ConfigError, match="10,485,759"):
        GoogleWorkbook(SID, sa, request_budget=10_485_760)
    assert json.dumps(Limits().__dict__)                     # the defaults are Google's
    assert Limits().max_request_bytes == 10_485_760 and Limits().writes_per_user == 60


def test_rows_are_kept_only_when_the_sheet_would_hold_the_same_cells():
    from sheets_sync.sheets.google.planner import align, same_row

    day = dt.date(2026, 11, 2)
    serial = (day - dt.date(1899, 12, 30)).days
    assert same_row(["a", day, 2.0, None, "x"], ["a", serial, 2, "", "x"])      # as read back vs as computed
    assert same_row(["a", ""], ["a"])                                             # trailing empties
    assert not same_row(["a", 1], ["a", True])                                   # a number is not a boolean
    assert not same_row(["a", "1"], ["a", 1])
    old = [["x", 1], ["y", 2], ["z", 3]]
    assert align(old, [["y", 2], ["z", 3], ["w", 4]]) == (1, 0, 2)               # dropped at the top, appended
    assert align(old, [["new", 0], ["x", 1], ["y", 2]]) == (0, 1, 2)             # inserted at the top
    assert align(old, [["x", True], ["y", 2]]) == (0, 0, 0)     # no run starts at the top: rewritten whole
    assert align(old, [["q", 9]]) == (0, 0, 0)


def _grow_targets(srv: FakeSheetsServer, n: int) -> None:
    """The team adds ``n`` target rows (as people type them into the Targets tab)."""
    book = srv.books[SID]
    table = srv.values(SID, "Targets")
    extra = [[*table[1][:4], f"Nueva dueña {k}", *table[1][5:]] for k in range(n)]
    sheet = book.by_title("Targets")
    book.sheets.remove(sheet)
    srv.add_tab(book, "Targets", [*table, *extra])


def test_targets_added_near_the_cell_limit_trim_history_in_the_same_write(clock):
    """A sheet near Google's cell limit: the team adds targets, so Attainment grows and History must shrink. Google
    checks the limit after each request of the batch, so the write removes rows before it adds any."""
    from sheets_sync.sheets.google import GoogleWorkbook, RetryPolicy
    from sheets_sync.sync import init_workbook, sync_workbook

    with FakeSheetsServer(limits=Limits(window_s=2.0)) as srv:
        sa = srv.service_account()
        srv.add_book(SID, {"Sheet1": []}, shared=[sa["client_email"]])
        limit = [Limits().max_cells]

        def workbook() -> GoogleWorkbook:
            return GoogleWorkbook(SID, sa, template=TPL, adapter_factory=srv.adapter, max_cells=limit[0],
                                  pacer=InProcessPacer(60, 2.0), retry=RetryPolicy(max_attempts=1))

        init_workbook(workbook(), TPL, today=dt.date(2026, 11, 1))
        book = srv.books[SID]
        book.sheets.remove(book.by_title("History"))
        srv.add_tab(book, "History", [["History"], HIST_COLS, *history_rows(range(0, 200), per_day=25)])
        assert sync_workbook(workbook(), None, now=dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)).ok
        used = srv.books[SID].total_cells()
        limit[0] = used + 300                                  # the sheet is now 300 cells from the limit
        srv.limits = dataclasses.replace(srv.limits, max_cells=limit[0])
        hist_before = len(srv.values(SID, "History"))
        att_before = len(srv.values(SID, "Attainment"))
        _grow_targets(srv, 120)                                # Attainment grows by 120 rows × its columns
        writes = len(batch_bodies(srv))
        result = sync_workbook(workbook(), None, now=dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC))
        assert result.ok, result.error
        assert len(batch_bodies(srv)) == writes + 1            # one batchUpdate, not two steps
        assert srv.books[SID].total_cells() <= limit[0]
        assert len(srv.values(SID, "Attainment")) >= att_before + 120
        assert len(srv.values(SID, "History")) < hist_before
        assert any("Nueva dueña 119" in str(r) for r in srv.values(SID, "Attainment"))
        assert any(str(r[7]).startswith("History: removed") for r in srv.values(SID, "Sync Log")[2:] if len(r) > 7)


def test_a_write_google_refuses_is_a_failed_sync_with_its_reason(shared_book, clock):
    from sheets_sync.sheets.google import GoogleWorkbook, RetryPolicy
    from sheets_sync.sync import init_workbook, sync_workbook

    with FakeSheetsServer(limits=Limits(window_s=2.0)) as srv:
        sa = srv.service_account()
        srv.add_book(SID, {"Sheet1": []}, shared=[sa["client_email"]])
        wb = GoogleWorkbook(SID, sa, template=TPL, adapter_factory=srv.adapter, pacer=InProcessPacer(60, 2.0),
                            retry=RetryPolicy(max_attempts=1))
        init_workbook(wb, TPL, today=dt.date(2026, 11, 1))
        before = srv.books[SID].clone()
        srv.inject(Fault(kind="reject", match=":batchUpdate", times=2))     # the write and its rebuilt retry
        result = sync_workbook(wb, None, now=dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
        assert result.status == "failed" and result.error_code == "template"
        assert "Google Sheets rejected the request" in result.error and "changed nothing" in result.error
        assert "rejected by fault injection" in result.error
        assert [s.title for s in srv.books[SID].sheets] == [s.title for s in before.sheets]
        after = srv.books[SID]
        assert all(a.cells == b.cells and a.props == b.props for a, b in zip(after.sheets, before.sheets,
                                                                             strict=True))
