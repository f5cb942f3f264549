"""A year of daily syncs of a realistic team workbook against the strict local Sheets server.

The workbook: 50 targets, 300 ASINs × 2 marketplaces (Products 600 rows), the template's other team tabs.
Day 1 is a real sync (``sync_workbook``: Sales and Traffic, orders, inventory and returns reports for October
from ``write_large_workload``). Days 2…365 reuse day 1's computed tabs with the as-of date advancing: numbers
move a little every day, History gets one row per target (50) for the new as-of date on top of what the sync
reads back, the Sync Log a new entry on top. Each day runs the real write path: ``read_tabs`` (metadata +
values:batchGet, History and Sync Log read back), ``fit_tabs``, ``write_tabs``, against the server with
Google's limits (10,485,760-byte requests, 10,000,000 cells, 60 writes and 60 reads per user per window; the
window is shortened from 60 s to ``--window`` so the year runs in minutes, and the pacer uses the same window).

Last line::

    sheets_year: syncs=365 failed=0 max_request_bytes=… p95_request_bytes=… calls_per_sync_max=…

(request bytes are write-request bodies; calls per sync count metadata GET + values:batchGet + writes).

Usage: python benchmarks/sheets_year.py [--days 365] [--window 1.0] [--budget 2000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HTTPS_PROXY", "http://127.0.0.1:9")      # nothing may leave 127.0.0.1

from sheets_sync import render as T
from sheets_sync.samples.amazon import write_large_workload
from sheets_sync.sheets.base import GeneratedTab
from sheets_sync.sheets.google import GoogleWorkbook, InProcessPacer, RetryPolicy
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import init_workbook, sync_workbook
from sheets_sync.template import TEAM_TABS, load_template
from sheets_sync.testing.sheets_server import SID, FakeSheetsServer, Limits

ASINS, MARKETS, TARGETS = 300, ("US", "MX"), 50
START = dt.date(2026, 10, 1)         # the reports' first day
DAY1 = dt.date(2026, 10, 31)         # the real sync's as-of date; the simulated days follow it


class RecordingWorkbook(GoogleWorkbook):
    """The real adapter; remembers the tabs of its last write (day 1's computed tabs)."""

    last_tabs: list[GeneratedTab]

    def write_tabs(self, tabs):  # type: ignore[override]
        self.last_tabs = list(tabs)
        return super().write_tabs(tabs)


def team_tabs(tpl) -> dict[str, list[list]]:
    seeds = {s.name: [s.columns, *s.rows] for s in tpl.seeds(START)}
    products = [seeds["Products"][0]]
    for mp in MARKETS:
        for k in range(ASINS):
            products.append([mp, f"B0{mp}{k:06d}", f"{mp}-SKU-{k:06d}", ("new", "mature", "clearance")[k % 3],
                             f"Cat{k % 20}", f"Owner {k % 12}", 5.0, 1.5, 3.0])
    seeds["Products"] = products
    targets = seeds["Targets"][:1] + [r for r in seeds["Targets"][1:] if r[2] != "asin"]
    k = 0
    while len(targets) < TARGETS + 1:
        mp = MARKETS[k % 2]
        kpi = ("gmv", "units", "cvr", "sessions")[k % 4]
        targets.append([None, mp, "asin", f"B0{mp}{k:06d}", f"Owner {k % 12}", "ops", kpi,
                        0.1 if kpi == "cvr" else 100, 1, None, None])
        k += 1
    seeds["Targets"] = targets
    seeds["Settings"] = [r for r in seeds["Settings"] if not (len(r) > 1 and r[0] == "period")]
    return seeds


def day_tabs(base: list[GeneratedTab], tables: dict, day: int, rng: random.Random, tpl) -> list[GeneratedTab]:
    """Day 1's tabs as of ``START + day``: numbers drift, History and Sync Log grow as a sync makes them."""
    as_of = DAY1 + dt.timedelta(days=day)
    first = DAY1.isoformat()
    out = []
    for t in base:
        title = t.title.replace(first, as_of.isoformat())
        if t.name == "History":
            hist_today = [r for r in t.rows if r[1] == t.rows[-1][1]]
            period = as_of.strftime("%Y-%m")
            new = [[period, as_of, *r[2:9], _drift(r[9], day, rng), *r[10:]] for r in hist_today]
            kept = [list(r) + [None] * (len(t.columns) - len(r)) for r in (tables.get("History") or [])[2:]]
            kept = [r for r in kept if not (r[0] == period and r[1] == as_of)]
            rows = sorted(kept + new, key=lambda r: (str(r[0]), _iso(r[1]), r[2] if isinstance(r[2], int) else 0))
            out.append(GeneratedTab(**{**t.__dict__, "rows": rows, "title": title}))
        elif t.name == "Sync Log":
            entry = [f"{as_of.isoformat()}T12:00:00Z", "schedule", "", "ok", round(rng.uniform(1, 3), 3), 3, 700,
                     t.rows[0][7]]
            detail = [r for r in t.rows[1:] if not r[0]]
            previous = (tables.get("Sync Log") or [])[2:]
            out.append(T.sync_log_tab(tpl, None, entry, detail, previous, title))
        else:
            rows = [[_drift(v, day, rng) for v in r] for r in t.rows]
            out.append(GeneratedTab(**{**t.__dict__, "rows": rows, "title": title}))
    return out


def _drift(v, day: int, rng: random.Random):
    if isinstance(v, float) and not isinstance(v, bool) and math.isfinite(v):
        return round(v * (1 + day / 1000) + rng.uniform(-1, 1) * 0.01 * abs(v), 4)
    return v


def _iso(d) -> str:
    return d.isoformat() if isinstance(d, dt.date) else str(d or "")


def p95(values: list[int]) -> int:
    s = sorted(values)
    return s[min(len(s) - 1, math.ceil(0.95 * len(s)) - 1)] if s else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--window", type=float, default=1.0, help="quota window in seconds (Google: 60)")
    ap.add_argument("--budget", type=int, default=2_000_000)
    args = ap.parse_args()
    tpl = load_template()
    rng = random.Random(365)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sheets-year-") as tmp:
        reports = Path(tmp) / "reports"
        write_large_workload(reports, asins=ASINS, days=31, order_lines=20_000, start=START)
        with FakeSheetsServer(limits=Limits(window_s=args.window)) as server:
            sa = server.service_account()
            server.add_book(SID, team_tabs(tpl), shared=[sa["client_email"]])
            pacer = InProcessPacer(60, args.window)

            def workbook(cls=GoogleWorkbook) -> GoogleWorkbook:
                return cls(SID, sa, template=tpl, adapter_factory=server.adapter, pacer=pacer,
                           request_budget=args.budget, retry=RetryPolicy(max_attempts=6, base_s=0.2, cap_s=2.0))

            init_workbook(workbook(), tpl, today=START)
            failed, calls, sizes, per_day = 0, [], [], []
            wb = workbook(RecordingWorkbook)
            start = len(server.traffic)
            res = sync_workbook(wb, ReportFilesSource(reports), now=dt.datetime(2026, 10, 31, 23, tzinfo=dt.UTC))
            if not res.ok:
                raise SystemExit(f"day 1 sync failed: {res.error} {res.problems[:3]}")
            base = wb.last_tabs
            calls.append(wb.api_calls)
            day_sizes = [n for what, n, _ in server.traffic[start:] if what.endswith(":batchUpdate")]
            sizes += day_sizes
            per_day.append(sum(day_sizes))
            print(f"day 1: real sync, {len(res.scorecard)} owners, {res.api_calls} calls, "
                  f"{sum(day_sizes):,} bytes written, {time.perf_counter() - t0:.0f} s", flush=True)
            for day in range(1, args.days):
                wb = workbook()
                start = len(server.traffic)
                try:
                    tables = wb.read_tabs([*TEAM_TABS, "History", "Sync Log"])
                    tabs = day_tabs(base, tables, day, rng, tpl)
                    notes = wb.fit_tabs(tabs)
                    if notes:
                        print(f"day {day + 1}: {notes}")
                    wb.write_tabs(tabs)
                except Exception as exc:     # a benchmark reports failures, it does not stop at the first
                    failed += 1
                    print(f"day {day + 1}: FAILED {type(exc).__name__}: {str(exc)[:300]}", flush=True)
                calls.append(wb.api_calls)
                day_sizes = [n for what, n, _ in server.traffic[start:] if what.endswith(":batchUpdate")]
                sizes += day_sizes
                per_day.append(sum(day_sizes))
                if day + 1 in (2, 30, 100, 200, 300, args.days) or (day + 1) % 50 == 0:
                    hist = len(server.values(SID, "History") or []) - 2
                    print(f"day {day + 1}: {wb.api_calls} calls, {sum(day_sizes):,} bytes written "
                          f"(largest request {max(day_sizes, default=0):,}), History {hist:,} rows, "
                          f"patched {wb.last_write.get('patched')}, unchanged {wb.last_write.get('unchanged')}, "
                          f"{time.perf_counter() - t0:.0f} s", flush=True)
            cells = sum(s.rows * s.cols for s in server.books[SID].sheets)
            leftovers = [s.title for s in server.books[SID].sheets if s.title.startswith("sheets-sync staging")]
            print(f"spreadsheet after {args.days} syncs: {cells:,} cells, staging tabs left {len(leftovers)}, "
                  f"quota 429s answered {server.quota_refused}, pacer waited {pacer.waited_s:.1f} s, "
                  f"{time.perf_counter() - t0:.0f} s in all")
            print(f"bytes written per sync: day 1 {per_day[0]:,}, day 30 {per_day[min(29, len(per_day) - 1)]:,}, "
                  f"day {len(per_day)} {per_day[-1]:,}")
    print(f"sheets_year: syncs={len(calls)} failed={failed} max_request_bytes={max(sizes)} "
          f"p95_request_bytes={p95(sizes)} calls_per_sync_max={max(calls)}")


if __name__ == "__main__":
    main()
