"""Sheets API calls and bytes per sync, GoogleWorkbook vs the naive gspread approach, on the large workload.

Both run against the local Sheets v4 server (sheets_sync/testing/sheets_server.py) over real HTTP with real gspread and
google-auth. The workload: team tabs as ``init`` seeds them plus 2 × 5,000 ASINs in Products; generated tabs
Actuals (2 × 5,000 ASINs + 2 ALL rows), Daily (2 marketplaces × 30 days), Attainment (20,000 rows),
Scorecard (200 owners), Commentary (500 findings), History (20,000 rows), Sync Log (200 rows).

* ours: ``read_tabs`` (metadata GET + one values:batchGet) + ``write_tabs``. Every tab's content differs from
  the previous sync's (the worst case: nothing can be skipped or patched), about 40 MB of cells, so the write is
  staged in hidden tabs over several requests of at most 2 MB and swapped in by one final batchUpdate.
* naive: ``open_by_key`` + ``worksheets()``, one ``get_all_values`` per team tab, then per generated tab one
  values update (``ws.update``) and one format/structure ``batchUpdate`` (the same format requests ours sends).

Both run against the strict server (Google's limits; the quota window shortened to 2 s, our pacer matched).

Run: ``python benchmarks/sheets_calls.py``. The last line is
``sheets_calls: calls=… naive_calls=… ratio=… bytes=… naive_bytes=… max_request_bytes=… naive_max_request_bytes=…``
(ratio = naive_calls / calls; bytes = request bodies sent by one sync).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HTTPS_PROXY", "http://127.0.0.1:9")      # nothing may leave 127.0.0.1

from sheets_sync.sheets.base import ChartIntent, GeneratedTab  # noqa: E402
from sheets_sync.sheets.google import GoogleWorkbook, InProcessPacer, RetryPolicy  # noqa: E402
from sheets_sync.sheets.google.build import content_requests, grid_size  # noqa: E402
from sheets_sync.template import TEAM_TABS, load_template  # noqa: E402
from sheets_sync.testing.sheets_server import SID, FakeSheetsServer, Limits  # noqa: E402

WINDOW_S = 2.0

TODAY = dt.date(2026, 11, 23)


def workload(rng: random.Random) -> tuple[dict[str, list[list]], list[GeneratedTab]]:
    tpl = load_template()
    seeds = {s.name: [s.columns, *s.rows] for s in tpl.seeds(TODAY)}
    products = seeds["Products"][:1]
    for m in ("US", "MX"):
        for i in range(5000):
            products.append([m, f"B0{m}{i:06d}", f"SKU-{m}-{i}", rng.choice(["new", "mature", "clearance"]),
                             f"cat {i % 40}", f"owner {i % 200}", round(rng.uniform(2, 40), 2), 1.5, 3.2])
    seeds["Products"] = products

    def tab(name: str, rows: list[list], **kw) -> GeneratedTab:
        spec = tpl.tab(name)
        return GeneratedTab(name=name, columns=spec.column_names, rows=rows, title="Period 2026-11 · USD · FX MXN 18.30",
                            formats={c.name: {"money": "money", "percent": "percent", "int": "int",
                                              "number": "number", "date": "date"}.get(c.type, "text")
                                     for c in spec.columns},
                            widths={c.name: c.width for c in spec.columns}, **kw)

    def numbers(spec_name: str, key: list) -> list:
        n = len(tpl.tab(spec_name).columns) - len(key)
        return key + [round(rng.uniform(0, 5000), 2) for _ in range(n)]

    actuals = [numbers("Actuals", [m, f"B0{m}{i:06d}", f"SKU-{m}-{i}", f"Product title {i}", "mature",
                                   f"owner {i % 200}"]) for m in ("US", "MX") for i in range(5000)]
    actuals += [numbers("Actuals", [m, "ALL", "", "", "", ""]) for m in ("US", "MX")]
    daily = [numbers("Daily", [m, TODAY - dt.timedelta(days=d)]) for m in ("US", "MX") for d in range(30)]
    att_cols = tpl.tab("Attainment").column_names
    attainment = []
    for i in range(20000):
        row = [i + 2, "2026-11", rng.choice(["US", "MX"]), "asin", f"B0US{i:06d}", f"owner {i % 200}", "ops",
               "gmv", "higher", 1000.0, 900.0, 0.9, 1100.0, 1.1, rng.choice(["on track", "at risk", "off track"]),
               1.0, TODAY, ""]
        attainment.append(row[:len(att_cols)])
    status = "status" if "status" in att_cols else None
    history = [numbers("History", ["2026-11", TODAY - dt.timedelta(days=i % 30)]) for i in range(20000)]
    tabs = [
        tab("Scorecard", [numbers("Scorecard", [f"owner {i}", "ops"]) for i in range(200)]),
        tab("Attainment", attainment, status_column=status,
            charts=[ChartIntent("bar", "Attainment by owner", "owner", ("attainment",))]),
        tab("Commentary", [["medium", "MX", f"owner {i}", "gmv", "asin", f"Finding {i}: GMV is behind pace",
                            "actual 900 vs pace 1,000"] for i in range(500)]),
        tab("Actuals", actuals),
        tab("Daily", daily, charts=[ChartIntent("line", "GMV per day", "date", ("gmv",))]),
        tab("History", history),
        tab("Sync Log", [numbers("Sync Log", ["2026-11-23T07:00:00Z", "cli", "", "ok"]) for _ in range(200)]),
    ]
    return seeds, tabs


def traffic(server: FakeSheetsServer, start: int) -> tuple[int, int, int, int]:
    rows = [t for t in server.traffic[start:] if " /v4/" in t[0]]
    return len(rows), sum(t[1] for t in rows), sum(t[2] for t in rows), max((t[1] for t in rows), default=0)


def naive_sync(server: FakeSheetsServer, sa: dict, tabs: list[GeneratedTab]) -> None:
    gc = server.gspread_client(sa)
    sh = gc.open_by_key(SID)
    sheets = {ws.title: ws for ws in sh.worksheets()}
    for name in TEAM_TABS:
        sheets[name].get_all_values()
    for t in tabs:
        ws = sheets[t.name]
        rows, _ = grid_size(t)
        fmt = [r for r in content_requests(t, ws.id, rows) if "updateCells" not in r]
        sh.batch_update({"requests": [{"updateSheetProperties": {
            "properties": {"sheetId": ws.id, "gridProperties": {"rowCount": rows, "columnCount": len(t.columns) + 2}},
            "fields": "gridProperties.rowCount,gridProperties.columnCount"}}, *fmt]})
        values = [[t.title], t.columns, *[[v.isoformat() if isinstance(v, dt.date) else v for v in r]
                                           for r in t.rows]]
        ws.update(values, "A1", raw=True)


def main() -> None:
    rng = random.Random(2026)
    seeds, previous = workload(rng)
    _, tabs = workload(rng)                    # this sync: the same shape, other numbers
    cells = sum(len(t.rows) * len(t.columns) for t in tabs)
    with FakeSheetsServer(limits=Limits(window_s=WINDOW_S)) as server:
        sa = server.service_account()
        server.add_book(SID, seeds, shared=[sa["client_email"]])
        wb = GoogleWorkbook(SID, sa, template=load_template(), adapter_factory=server.adapter,
                            retry=RetryPolicy(max_attempts=3), pacer=InProcessPacer(60, WINDOW_S))
        wb.create_tabs([], load_template().empty_generated(), {"template_version": "1"})
        wb.write_tabs(previous)                # a previous sync: the tabs, charts and rules exist
        time.sleep(WINDOW_S)                   # a fresh quota window for the measured sync
        start = len(server.traffic)
        t0 = time.perf_counter()
        wb.read_tabs([*TEAM_TABS, "History", "Sync Log"])
        wb.write_tabs(tabs)
        ours_s = time.perf_counter() - t0
        calls, sent, received, biggest = traffic(server, start)
        staged = wb.last_write["staged_blocks"]
        time.sleep(WINDOW_S)
        start = len(server.traffic)
        t0 = time.perf_counter()
        naive_sync(server, sa, tabs)
        naive_s = time.perf_counter() - t0
        n_calls, n_sent, n_received, n_biggest = traffic(server, start)
        total_cells = sum(s.rows * s.cols for s in server.books[SID].sheets)
    print(f"workload: {len(tabs)} generated tabs, {cells:,} data cells; Products 10,000 rows; "
          f"spreadsheet grid after sync: {total_cells:,} cells (limit 10,000,000)")
    print(f"ours : {calls} calls, {sent / 1e6:.1f} MB sent, {received / 1e6:.1f} MB received, {ours_s:.1f} s "
          f"(metadata GET + values:batchGet + {calls - 3} staging requests + one atomic batchUpdate; "
          f"{staged} blocks staged; largest request {biggest:,} bytes)")
    print(f"naive: {n_calls} calls, {n_sent / 1e6:.1f} MB sent, {n_received / 1e6:.1f} MB received, {naive_s:.1f} s "
          "(open + worksheets + get_all_values per team tab + values update and format call per generated tab; "
          "not atomic)")
    print(f"bytes per sync: ours={sent + received:,} naive={n_sent + n_received:,}")
    print(f"sheets_calls: calls={calls} naive_calls={n_calls} ratio={n_calls / calls:.1f} bytes={sent} "
          f"naive_bytes={n_sent} max_request_bytes={biggest} naive_max_request_bytes={n_biggest}")


if __name__ == "__main__":
    main()
