"""Parsing cost of the large workload against just reading the same files with json / pandas, same run.

2 marketplaces × 5,000 ASINs × 31 daily GET_SALES_AND_TRAFFIC_REPORT files and 300,000 order lines. Each side
is timed twice and the faster run kept. Last line: ``parse_reports: ratio=… seconds=… floor_seconds=…``.

Before it, ``hostile_files: peak_rss_mb=… added_by_parsing_mb=…``: child processes parse a 1 GiB gzip bomb
(an honest trailer), 1 GiB in 16 gzip members (a trailer that understates) and a 200 MB tab-separated file of
no known layout; each is skipped with a reason. Peak RSS includes the file itself; what parsing adds should stay
small whatever the files' sizes (aim: peak far below 1 GB).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from sheets_sync.frames import RawReport
from sheets_sync.samples.amazon import write_large_workload
from sheets_sync.sources.parsing import parse_report


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


HOSTILE = """
import gzip, resource, sys, zlib
from sheets_sync.errors import ReportFormatError
from sheets_sync.frames import RawReport
from sheets_sync.sources.parsing import parse_report
case = sys.argv[1]
if case == "bomb":            # 1 GiB of zeros in ~1 MB, an honest gzip trailer
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zero = bytes(1 << 20)
    data = b"".join(comp.compress(zero) for _ in range(1024)) + comp.flush()
elif case == "members":       # 16 gzip members of 64 MiB: the trailer announces 64 MiB, the data holds 1 GiB
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = b"".join(comp.compress(bytes(1 << 20)) for _ in range(64)) + comp.flush()
    data = member * 16
else:                         # 200 MB of a tab-separated table no report has
    data = bytearray(("\\t".join(f"col{i}" for i in range(12)) + "\\n").encode())
    row = b"x\\ty\\tz\\t1\\t2\\t3\\t4\\t5\\t6\\t7\\t8\\t9\\n"
    data += row * (200_000_000 // len(row))
    data = bytes(data)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
try:
    parse_report(RawReport(case, data))
    sys.exit(case + " was not refused")
except ReportFormatError as exc:
    print(f"{case} ({len(data) >> 20} MB): {exc.reason[:60]}…", file=sys.stderr)
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def hostile_peak_mb() -> tuple[int, int]:
    """(peak RSS while parsing, the part of it the parser added) over the three cases, in MB."""
    peak = added = 0
    for case in ("bomb", "members", "unknown"):
        out = subprocess.run([sys.executable, "-c", HOSTILE, case], capture_output=True, text=True, check=True)
        print(out.stderr.strip())
        before, after = map(int, out.stdout.split())
        peak, added = max(peak, after), max(added, after - before)
    return peak, added


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
    peak, added = hostile_peak_mb()
    print(f"hostile_files: peak_rss_mb={peak} added_by_parsing_mb={added}")
    print(f"parse_reports: ratio={ours / floor:.2f} seconds={ours:.2f} floor_seconds={floor:.2f}")


if __name__ == "__main__":
    main()
