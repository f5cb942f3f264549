"""A reports folder as people really have it: Seller Central's `.txt` names, Excel's UTF-16 "Unicode text", a
weekly Sales and Traffic document, a zip, a header-only Ads export — and hostile files: a link to a system file,
a stray credentials file, a gzip bomb. Every file is used or named with a reason, nothing of a skipped file's
content reaches the Sync Log, and the sync's peak memory stays under 1 GB (measured in a subprocess)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from sheets_sync.frames import RawReport
from sheets_sync.periods import parse_period
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sources.parsing import Limits, parse_report
from sheets_sync.sync import init_workbook, sync_workbook

MODELS = Path(__file__).resolve().parent / "fixtures" / "amazon-models"
NOW = dt.datetime(2026, 11, 12, 15, 0, tzinfo=dt.UTC)
THROUGH = dt.date(2026, 11, 10)
SECRET_ROW = "AKIAQ3EGT5EXAMPLE7XZ,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GIB = 1 << 30


def gzip_bomb(path: Path, size: int = GIB) -> None:
    """~1 MB on disk, ``size`` bytes of zeros once expanded (an honest gzip trailer)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zero = bytes(1 << 20)
    with path.open("wb") as fh:
        for _ in range(size >> 20):
            fh.write(comp.compress(zero))
        fh.write(comp.flush())


def hostile_folder(root: Path) -> dict[str, str]:
    """The demo's November files, reshaped as people have them; returns {file: what must become of it}."""
    write_demo_reports(root, parse_period("2026-11"), {"US": THROUGH, "MX": THROUGH})
    expect: dict[str, str] = {}
    for mk in ("US", "MX"):
        orders = next((root / mk).glob("GET_FLAT_FILE_ALL_ORDERS*"))
        txt = root / mk / f"{(31 if mk == 'US' else 32)}5550170{mk == 'US':d}.txt"     # as Seller Central names it
        orders.rename(txt)
        expect[str(txt.relative_to(root))] = f"{mk} orders (per ASIN) 2026-11-01..2026-11-10"
    ads = next((root / "US").glob("Sponsored_Products_*.csv"))
    text = ads.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    tsv = "\r\n".join("\t".join(r) for r in rows) + "\r\n"
    (root / "US" / "ads unicode.txt").write_bytes(tsv.encode("utf-16"))                  # Excel "Unicode text"
    ads.unlink()
    expect["US/ads unicode.txt"] = "US ads (per ASIN) 2026-11-01..2026-11-10"
    (root / "US" / "ads-empty.csv").write_text(text.splitlines()[0] + "\n", encoding="utf-8")   # header only
    expect["US/ads-empty.csv"] = "not used: no rows"
    week = json.loads((MODELS / "GET_SALES_AND_TRAFFIC_REPORT.example-WEEK-CHILD.json").read_text())
    spec = week["reportSpecification"]
    spec["dataStartTime"], spec["dataEndTime"] = "2026-11-02", "2026-11-07"
    for row, day in zip(week["salesAndTrafficByDate"], ("2026-11-01", "2026-11-08"), strict=True):
        row["date"] = day
    (root / "US" / "weekly").write_text(json.dumps(week), encoding="utf-8")                # no extension
    expect["US/weekly"] = "weekly totals, which cannot be split by day"
    inv = next((root / "MX").glob("GET_FBA_MYI*"))
    with zipfile.ZipFile(root / "MX" / "inventory.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(inv, "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA.txt")
    inv.unlink()
    expect["MX/inventory.zip/GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA.txt"] = "MX inventory snapshot"
    os.symlink("/etc/passwd", root / "US" / "passwd.csv")
    expect["US/passwd.csv"] = "a link to a file outside the reports folder; not followed"
    (root / "US" / "credentials.csv").write_text("aws_access_key_id,aws_secret_access_key\n" + SECRET_ROW + "\n")
    expect["US/credentials.csv"] = "unknown header (2 comma-separated columns"
    gzip_bomb(root / "MX" / "report.json.gz")
    expect["MX/report.json.gz"] = "expands to more than allowed"
    (root / "US" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    expect["US/.DS_Store"] = "not a report, not read"
    return expect


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("folder")
    reports = tmp / "reports"
    expect = hostile_folder(reports)
    book = tmp / "team.xlsx"
    init_workbook(XlsxWorkbook(book), today=dt.date(2026, 11, 1))
    res = sync_workbook(XlsxWorkbook(book), ReportFilesSource(reports), now=NOW)
    log = [str(r[7]) for r in openpyxl.load_workbook(book)["Sync Log"].iter_rows(min_row=3, values_only=True)]
    return res, log, expect, reports, book


def test_every_file_is_used_or_named_with_its_reason(synced):
    res, log, expect, reports, _ = synced
    assert res.ok, res.error
    for name, why in expect.items():
        lines = [line for line in log if line.startswith(f"{name}:")]
        assert lines, f"{name} is not named in the Sync Log"
        assert any(why.casefold() in line.casefold() for line in lines), (name, lines)
    named = {line.split(":", 1)[0] for line in log}
    for path in reports.rglob("*"):
        if path.is_file() or path.is_symlink():
            rel = str(path.relative_to(reports))
            assert rel in named or any(n.startswith(rel + "/") for n in named), f"{rel} not in the Sync Log"


def test_txt_orders_files_feed_the_orders_kpis(synced):
    _, log, _, _, book = synced
    assert any(line.startswith("US/31") and ".txt: US orders" in line and "2026-11-01..2026-11-10" in line
               for line in log), [line for line in log if ".txt" in line]
    actuals = openpyxl.load_workbook(book)["Actuals"]
    header = [c.value for c in actuals[2]]
    col = header.index("fba_units") if "fba_units" in header else None
    assert col is not None and any(r[col] not in (None, "", 0) for r in actuals.iter_rows(min_row=3, values_only=True))


def test_nothing_of_a_skipped_file_reaches_the_sync_log(synced):
    res, log, *_ = synced
    text = "\n".join(log + res.problems)
    for leaked in ("root:", "/bin/", "nologin", "AKIA", "wJalr", "aws_secret", "aws_access", "/etc/passwd"):
        assert leaked not in text


def test_peak_memory_of_the_sync_stays_under_1_gb(tmp_path):
    reports = tmp_path / "reports"
    hostile_folder(reports)
    code = f"""
import datetime as dt, resource
from pathlib import Path
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sync import init_workbook, sync_workbook
wb = MemoryWorkbook()
init_workbook(wb, today=dt.date(2026, 11, 1))
res = sync_workbook(wb, ReportFilesSource(Path({str(reports)!r})), now=dt.datetime(2026, 11, 12, 15, tzinfo=dt.UTC))
assert res.ok, res.error
assert any("report.json.gz" in p and "more than allowed" in p for p in res.problems), res.problems
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    peak_kb = int(out.stdout.strip().splitlines()[-1])
    assert peak_kb < 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"


# ---------------------------------------------------------------------------------------------- parser-level

def test_limits_are_enforced_on_read_and_on_decompression(tmp_path):
    data = gzip.compress(b"x" * 3_000_000)
    with pytest.raises(Exception, match="more than allowed"):
        parse_report(RawReport("a.gz", data), Limits(file_bytes=10 << 20, unpacked_bytes=1 << 20))
    # a lying trailer (several gzip members): the output is counted as it comes
    members = gzip.compress(b"y" * 800_000) * 3
    with pytest.raises(Exception, match="more than allowed"):
        parse_report(RawReport("b.gz", members), Limits(unpacked_bytes=2_000_000))
    with pytest.raises(Exception, match="larger than allowed"):
        parse_report(RawReport("c.csv", b"a,b\n" * 1000), Limits(file_bytes=100))
    (tmp_path / "US").mkdir()
    (tmp_path / "US" / "big.tsv").write_bytes(b"a\tb\n" * 1000)
    src = ReportFilesSource(tmp_path, Limits(file_bytes=100))
    from sheets_sync.sources.base import FetchRequest
    assert list(src.collect(FetchRequest(dt.date(2026, 11, 1), dt.date(2026, 11, 2)))) == []
    assert src.problems and "US/big.tsv" in src.problems[0] and "larger than allowed" in src.problems[0]


def test_utf16_without_bom_and_zip_of_reports():
    orders = (Path(__file__).parent / "fixtures" / "amazon-reports" /
              "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.tsv").read_bytes()
    [b] = parse_report(RawReport("o.txt", orders.decode("utf-8").encode("utf-16-le")))
    assert b.kind == "orders_flat_file" and b.extras["encoding"] == "utf-16-le"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/orders.txt", orders)
        zf.writestr("notes.txt", "call Bob about the password hunter2")
    batches = parse_report(RawReport("x.zip", buf.getvalue()))
    assert [b.source for b in batches] == ["x.zip/a/orders.txt"]
    assert any("x.zip/notes.txt" in w for w in batches[0].warnings)
    assert not any("hunter2" in w or "Bob" in w for w in batches[0].warnings)


def test_links_inside_the_folder_are_read_and_links_to_folders_outside_are_not(tmp_path):
    from sheets_sync.sources.base import FetchRequest
    (tmp_path / "r" / "US").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "o.tsv").write_text("x")
    (tmp_path / "r" / "US" / "real.csv").write_text("a,b\n1,2\n")
    os.symlink(tmp_path / "r" / "US" / "real.csv", tmp_path / "r" / "US" / "alias.csv")
    os.symlink(tmp_path / "outside", tmp_path / "r" / "MX")
    src = ReportFilesSource(tmp_path / "r")
    names = [r.name for r in src.collect(FetchRequest(dt.date(2026, 11, 1), dt.date(2026, 11, 2)))]
    assert names == ["US/alias.csv", "US/real.csv"]
    assert any(p.startswith("MX:") and "not followed" in p for p in src.problems)
