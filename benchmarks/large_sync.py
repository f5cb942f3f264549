"""The large workload: 2 marketplaces × 5,000 ASINs × 31 daily Sales and Traffic reports, 300,000 order lines,
20,000 target rows, on the xlsx backend.

Prints the sync's wall time and peak memory as a ratio to a floor measured in the same run: just reading the
same input files (the reports with json / pandas, the workbook's team tabs with pandas). Each side runs in its
own fresh Python process so peak RSS is comparable. Last line:

    large_sync: ratio=… seconds=… peak_rss_mb=…

Usage: python benchmarks/large_sync.py [--asins 5000] [--days 31] [--targets 20000] [--keep DIR]
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
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
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
    args = ap.parse_args()
    from sheets_sync.sources.samples import write_large_workload

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sheets-sync-bench-"))
    reports, workbook = root / "reports", root / "team.xlsx"
    t0 = time.perf_counter()
    if not reports.exists():
        write_large_workload(reports, asins=args.asins, days=args.days, order_lines=args.orders,
                             start=dt.date(2026, 10, 1))
    if not workbook.exists():
        build_workbook(workbook, args.asins, ("US", "MX"), args.targets)
    print(f"workload ready in {time.perf_counter() - t0:.1f}s: {root}", flush=True)
    pristine = workbook.read_bytes()
    floor = run_child(FLOOR, str(reports), str(workbook))
    print(f"floor (read inputs with pandas/json): {floor['seconds']:.2f}s, {floor['peak_rss_mb']:.0f} MB, "
          f"{floor['rows']} rows", flush=True)
    sync = run_child(SYNC, str(reports), str(workbook), "2026-10")
    workbook.write_bytes(pristine)
    print(f"sync: {sync['seconds']:.2f}s, {sync['peak_rss_mb']:.0f} MB, status {sync['status']}, "
          f"{sync['summary']}", flush=True)
    print(f"memory ratio: {sync['peak_rss_mb'] / floor['peak_rss_mb']:.2f}")
    print(f"large_sync: ratio={sync['seconds'] / floor['seconds']:.2f} seconds={sync['seconds']:.2f} "
          f"peak_rss_mb={sync['peak_rss_mb']:.0f}")


if __name__ == "__main__":
    main()
