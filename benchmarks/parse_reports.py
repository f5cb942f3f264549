"""Parsing cost of the large workload against just reading the same files with json / pandas, same run.

2 marketplaces × 5,000 ASINs × 31 daily GET_SALES_AND_TRAFFIC_REPORT files and 300,000 order lines. Each side
is timed twice and the faster run kept. Last line: ``parse_reports: ratio=… seconds=… floor_seconds=…``.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from sheets_sync.frames import RawReport
from sheets_sync.sources.parsing import parse_report
from sheets_sync.sources.samples import write_large_workload


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--asins", type=int, default=5000)
    ap.add_argument("--days", type=int, default=31)
    ap.add_argument("--orders", type=int, default=300_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = write_large_workload(Path(tmp), asins=args.asins, days=args.days, order_lines=args.orders)
        blobs = [(mp, Path(f), Path(f).read_bytes()) for mp, fs in out["files"].items() for f in fs]

    def plain():
        for _, f, data in blobs:
            if f.suffix == ".json":
                json.loads(data)
            else:
                pd.read_csv(io.BytesIO(data), sep="\t", dtype=str)

    def parsed():
        for mp, f, data in blobs:
            parse_report(RawReport(str(f), data, marketplace_hint=mp))

    floor = min(timed(plain) for _ in range(2))
    ours = min(timed(parsed) for _ in range(2))
    print(f"{len(blobs)} files, {sum(len(b) for _, _, b in blobs) / 1e6:.0f} MB")
    print(f"parse_reports: ratio={ours / floor:.2f} seconds={ours:.2f} floor_seconds={floor:.2f}")


if __name__ == "__main__":
    main()
