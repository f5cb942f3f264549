"""The large workload: 2 marketplaces × 5,000 ASINs × 31 daily Sales and Traffic reports, 300,000 order lines,
20,000 target rows, on the xlsx backend.

Prints the sync's wall time and peak memory as a ratio to a floor measured in the same run: just reading the
same input files (the reports with json / pandas, the workbook's team tabs with pandas). Each side runs in its
own fresh Python process so peak RSS is comparable. The pair is run ``--repeat`` times (3), floor and sync in
turn, each run printed; the last line takes each side's fastest run (a shared machine's neighbours only ever
slow a run down, as ``timeit`` reasons) and the largest peak memory of the sync's runs:

    large_sync: ratio=… seconds=… peak_rss_mb=…

Usage: python benchmarks/large_sync.py [--asins 5000] [--days 31] [--targets 20000] [--repeat 3] [--keep DIR]

``--google`` syncs the same workload into a Google Sheet on the strict local Sheets server instead (Google's
limits, quota window shortened to 2 s) and checks that every request stays within the 2 MB budget and that
every visible generated tab is complete; last line
``large_sync_google: status=… calls=… staged_blocks=… max_request_bytes=… bytes=… seconds=…``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FLOOR = r"""
import gzip, json, resource, sys, time
from pathlib import Path
import pandas as pd
root, workbook = Path(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
rows = 0
for p in sorted(root.rglob("*")):
    if not p.is_file():
        continue
    data = p.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if p.suffix in (".json", ".gz"):
        doc = json.loads(data)
        rows += len(doc.get("salesAndTrafficByAsin", [])) if isinstance(doc, dict) else len(doc)
    else:
        import io
        rows += len(pd.read_csv(io.BytesIO(data), sep="\t", dtype=str, keep_default_na=False))
for sheet in ("Settings", "Targets", "Products", "Manual Actuals", "Benchmarks", "Bonus Tiers", "Calendar"):
    rows += len(pd.read_excel(workbook, sheet_name=sheet))
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": rows,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SYNC = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import sync_workbook
root, workbook, period = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
res = sync_workbook(XlsxWorkbook(workbook), ReportFilesSource(root), period=period,
                    now=dt.datetime(2026, 11, 15, tzinfo=dt.UTC))
print(json.dumps({"seconds": time.perf_counter() - t0, "status": res.status, "targets": len(res.scorecard),
                  "problems": len(res.problems), "summary": res.summary,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "helper_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def build_workbook(path: Path, asins: int, markets: tuple[str, ...], n_targets: int) -> None:
    """A template workbook whose Products list every benchmark ASIN and whose Targets have n_targets rows."""
    import openpyxl

    from sheets_sync.sheets.xlsx import XlsxWorkbook
    from sheets_sync.sync import init_workbook

    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 10, 1))
    wb = openpyxl.load_workbook(path)
    ws = wb["Products"]
    ws.delete_rows(2, ws.max_row)
    for mp in markets:
        for k in range(asins):
            ws.append([mp, f"B0{mp}{k:06d}", f"{mp}-SKU-{k:06d}", ("new", "mature", "clearance")[k % 3],
                       f"Cat{k % 20}", f"Owner {k % 50}", 5.0, 1.5, 3.0])
    ws = wb["Targets"]
    kpis = ("gmv", "units", "cvr", "sessions")
    n = 0
    while n < n_targets:
        mp = markets[n % len(markets)]
        k = (n // len(markets)) % asins
        kpi = kpis[(n // (len(markets) * asins)) % len(kpis)]
        ws.append([None, mp, "asin", f"B0{mp}{k:06d}", f"Owner {k % 50}", "ops", kpi,
                   0.1 if kpi == "cvr" else 100, 1, None, None])
        n += 1
    wb.save(path)


def google_sync(reports: Path, asins: int, markets: tuple[str, ...], n_targets: int) -> None:
    """The workload synced into a Google Sheet on the strict local server (the real adapter, staged writes)."""
    import os

    os.environ.setdefault("HTTPS_PROXY", "http://127.0.0.1:9")      # nothing may leave 127.0.0.1
    from sheets_sync.sheets.google import REQUEST_BUDGET, GoogleWorkbook, InProcessPacer, RetryPolicy
    from sheets_sync.sources.files import ReportFilesSource
    from sheets_sync.sync import init_workbook, sync_workbook
    from sheets_sync.template import load_template
    from sheets_sync.testing.sheets_server import SID, FakeSheetsServer, Limits

    tpl = load_template()
    seeds = {s.name: [s.columns, *s.rows] for s in tpl.seeds(dt.date(2026, 10, 1))}
    seeds["Products"] = seeds["Products"][:1] + [
        [mp, f"B0{mp}{k:06d}", f"{mp}-SKU-{k:06d}", ("new", "mature", "clearance")[k % 3], f"Cat{k % 20}",
         f"Owner {k % 50}", 5.0, 1.5, 3.0] for mp in markets for k in range(asins)]
    kpis = ("gmv", "units", "cvr", "sessions")
    targets = seeds["Targets"][:1]
    for n in range(n_targets):
        mp, k = markets[n % len(markets)], (n // len(markets)) % asins
        kpi = kpis[(n // (len(markets) * asins)) % len(kpis)]
        targets.append([None, mp, "asin", f"B0{mp}{k:06d}", f"Owner {k % 50}", "ops", kpi,
                        0.1 if kpi == "cvr" else 100, 1, None, None])
    seeds["Targets"] = targets
    written: list = []

    class Recording(GoogleWorkbook):
        def write_tabs(self, tabs):  # type: ignore[override]
            written[:] = list(tabs)
            return super().write_tabs(tabs)

    with FakeSheetsServer(limits=Limits(window_s=2.0)) as server:
        sa = server.service_account()
        server.add_book(SID, seeds, shared=[sa["client_email"]])
        pacer = InProcessPacer(60, 2.0)

        def workbook(cls=GoogleWorkbook):
            return cls(SID, sa, template=tpl, adapter_factory=server.adapter, pacer=pacer,
                       retry=RetryPolicy(max_attempts=6, base_s=0.5, cap_s=4.0))

        init_workbook(workbook(), tpl, today=dt.date(2026, 10, 1))
        start = len(server.traffic)
        t0 = time.perf_counter()
        wb = workbook(Recording)
        res = sync_workbook(wb, ReportFilesSource(reports), period="2026-10",
                            now=dt.datetime(2026, 11, 15, tzinfo=dt.UTC))
        seconds = time.perf_counter() - t0
        sizes = [n for what, n, _ in server.traffic[start:] if "/v4/" in what]
        incomplete = []
        for t in written:
            got = server.values(SID, t.name) or []
            want = len(t.rows)
            while want and all(v in (None, "") for v in t.rows[want - 1]):
                want -= 1
            if len(got) - 2 != want or (want and got[0] != [t.title]):
                incomplete.append(f"{t.name}: {len(got) - 2} rows on the sheet, {want} written")
        leftovers = [s.title for s in server.books[SID].sheets if s.title.startswith("sheets-sync staging")]
        cells = sum(s.rows * s.cols for s in server.books[SID].sheets)
    print(f"google sync: {res.status}, {res.summary[0] if res.summary else res.error}", flush=True)
    print(f"tabs: {', '.join(f'{t.name} {len(t.rows):,} rows' for t in written)}; spreadsheet {cells:,} cells; "
          f"incomplete tabs: {incomplete or 'none'}; staging tabs left: {len(leftovers)}")
    print(f"requests: {len(sizes)}, largest {max(sizes):,} bytes (budget {REQUEST_BUDGET:,}), "
          f"{sum(sizes) / 1e6:.1f} MB in all; quota 429s answered {server.quota_refused}")
    status = res.status if not incomplete and not leftovers else "incomplete"
    print(f"large_sync_google: status={status} calls={res.api_calls} staged_blocks={wb.last_write['staged_blocks']} "
          f"max_request_bytes={max(sizes)} bytes={sum(sizes)} seconds={seconds:.1f}")


def run_child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--asins", type=int, default=5000)
    ap.add_argument("--days", type=int, default=31)
    ap.add_argument("--orders", type=int, default=300_000)
    ap.add_argument("--targets", type=int, default=20_000)
    ap.add_argument("--keep", help="reuse/keep the workload in this folder")
    ap.add_argument("--repeat", type=int, default=3, help="runs of floor and sync (the fastest of each counts)")
    ap.add_argument("--google", action="store_true", help="sync into a Google Sheet on the strict local server")
    args = ap.parse_args()
    from sheets_sync.samples.amazon import write_large_workload

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sheets-sync-bench-"))
    reports, workbook = root / "reports", root / "team.xlsx"
    t0 = time.perf_counter()
    if not reports.exists():
        write_large_workload(reports, asins=args.asins, days=args.days, order_lines=args.orders,
                             start=dt.date(2026, 10, 1))
    if not workbook.exists():
        build_workbook(workbook, args.asins, ("US", "MX"), args.targets)
    print(f"workload ready in {time.perf_counter() - t0:.1f}s: {root}", flush=True)
    if args.google:
        google_sync(reports, args.asins, ("US", "MX"), args.targets)
        return
    pristine = workbook.read_bytes()
    floors, syncs = [], []
    for n in range(1, max(1, args.repeat) + 1):
        floor = run_child(FLOOR, str(reports), str(workbook))
        print(f"run {n} floor (read inputs with pandas/json): {floor['seconds']:.2f}s, {floor['peak_rss_mb']:.0f} MB, "
              f"{floor['rows']} rows", flush=True)
        sync = run_child(SYNC, str(reports), str(workbook), "2026-10")
        workbook.write_bytes(pristine)
        print(f"run {n} sync: {sync['seconds']:.2f}s ({sync['seconds'] / floor['seconds']:.2f}× this run's floor), "
              f"{sync['peak_rss_mb']:.0f} MB, helper {sync['helper_peak_rss_mb']:.0f} MB, status {sync['status']}, "
              f"{sync['summary']}", flush=True)
        floors.append(floor)
        syncs.append(sync)
    best_floor = min(f["seconds"] for f in floors)
    best = min(s["seconds"] for s in syncs)
    peak = max(s["peak_rss_mb"] for s in syncs)
    runs = ", ".join(f"{s['seconds']:.2f}" for s in syncs)
    print(f"fastest floor {best_floor:.2f}s, fastest sync {best:.2f}s (sync runs: {runs}); memory ratio "
          f"{peak / max(f['peak_rss_mb'] for f in floors):.2f}; the largest report-parsing helper process peaked at "
          f"{max(s['helper_peak_rss_mb'] for s in syncs):.0f} MB")
    print(f"large_sync: ratio={best / best_floor:.2f} seconds={best:.2f} peak_rss_mb={peak:.0f}")

if __name__ == "__main__":
    main()
