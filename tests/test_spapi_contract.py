"""Contract: the API sources return exactly what the report-file source returns for the same data.

The same documents are written as downloaded report files (``US/``, ``MX/``) and served by the local Amazon;
``parse_report`` over both paths must give the same batches (layout, family, marketplace, currency, rows,
health KPIs). Only the bookkeeping differs (document name, fetch time, which decoder read the bytes).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from sheets_sync.frames import ReportBatch
from sheets_sync.sources.ads import REPORTS as ADS_REPORTS
from sheets_sync.sources.amazon import open_amazon_source
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sources.parsing import parse_report
from sheets_sync.sources.spapi import SP_REPORTS
from sheets_sync.testing.amazon_server import (
    AmazonServer,
    fresh_tokens,  # noqa: F401  (the shared fixture)
    make_config,
    synthetic_document,
    utc_noon,
)

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fresh_tokens")]

TODAY = dt.date(2024, 6, 1)
START, END = dt.date(2024, 5, 20), dt.date(2024, 5, 24)       # settled: one document per report
ENCODING = {("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "MX"): "cp1252",
            ("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "US"): "cp1252",
            ("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "MX"): "cp1252"}


def _write_downloads(root: Path) -> dict[tuple[str, str, dt.date, dt.date], bytes]:
    """The documents as a seller would save them, keyed by what the API would be asked for."""
    docs: dict[tuple[str, str, dt.date, dt.date], bytes] = {}
    for mkt in ("US", "MX"):
        folder = root / mkt
        folder.mkdir(parents=True)
        for spec in SP_REPORTS:
            ranges = ([(day, day) for day in pd.date_range(START, END).date] if spec.kind == "daily"
                      else [(START, END)] if spec.kind == "range" else [(TODAY, TODAY)])
            for a, b in ranges:
                content = synthetic_document(spec.report_type, mkt, a, b)
                data = content.encode(ENCODING.get((spec.report_type, mkt), "utf-8")) if isinstance(content, str) \
                    else content
                ext = "json" if spec.fmt == "json" else "tsv"
                (folder / f"{spec.report_type}_{a:%Y%m%d}-{b:%Y%m%d}.{ext}").write_bytes(data)
                docs[(spec.report_type, mkt, a, b)] = data
        for report_type in ADS_REPORTS:          # saved from the Ads API: gzip JSON named after the report type
            data = synthetic_document(report_type, mkt, START, END)
            (folder / f"{report_type}_{START:%Y%m%d}-{END:%Y%m%d}.json.gz").write_bytes(gzip.compress(data))
            docs[(report_type, mkt, START, END)] = data
    return docs


def _signature(batch: ReportBatch) -> tuple:
    def frame(df: pd.DataFrame | None) -> str:
        if df is None:
            return "None"
        df = df.reindex(sorted(df.columns), axis=1)
        return df.sort_values(list(df.columns)).reset_index(drop=True).to_csv(index=False)

    return (batch.kind, batch.family, batch.marketplace, batch.currency, frame(batch.asin_rows),
            frame(batch.daily_rows), repr(sorted(batch.health.items())), repr(sorted((k, v) for k, v in batch.extras.items() if k != "encoding")))   # how it was decoded




def test_api_and_file_sources_give_the_same_batches(tmp_path):
    docs = _write_downloads(tmp_path / "reports")
    request = FetchRequest(START, END, ("US", "MX"))
    from_files = [b for raw in ReportFilesSource(tmp_path / "reports").collect(request) for b in parse_report(raw)]

    with AmazonServer(documents=lambda t, m, a, b: docs[(t, m, a, b)], today=TODAY) as srv:
        src = open_amazon_source(make_config(srv, tmp_path / "data"), clock=lambda: utc_noon(TODAY),
                                 **srv.client_timing())
        raws = list(src.collect(request))
        assert src.problems == []
    from_api = [b for raw in raws for b in parse_report(raw)]

    assert len(from_api) == len(from_files) == 2 * (5 + 1 + 1 + 1 + 1 + 3)
    assert sorted(map(_signature, from_api)) == sorted(map(_signature, from_files))
    # the API path also knows the range it asked for
    assert all(b.start is not None for b in from_api if b.family in ("traffic", "orders", "returns", "ads"))


def test_cached_documents_parse_the_same_as_fresh_ones(tmp_path):
    docs = _write_downloads(tmp_path / "reports")
    request = FetchRequest(START, END, ("US", "MX"))
    with AmazonServer(documents=lambda t, m, a, b: docs[(t, m, a, b)], today=TODAY) as srv:
        cfg = make_config(srv, tmp_path / "data")
        fresh = list(open_amazon_source(cfg, clock=lambda: utc_noon(TODAY), **srv.client_timing()).collect(request))
        n = srv.create_report_calls
        cached = list(open_amazon_source(cfg, clock=lambda: utc_noon(TODAY), **srv.client_timing()).collect(request))
        assert srv.create_report_calls - n == 2 * (2 + 3)      # snapshots (inventory, health) and Ads (restating)
    sig = sorted(_signature(b) for raw in fresh for b in parse_report(raw))
    assert sorted(_signature(b) for raw in cached for b in parse_report(raw)) == sig


def test_demo_sample_reports_served_by_the_api_parse_the_same(tmp_path):
    """The shared demo data set (sheets_sync.samples.amazon), served document by document by the local Amazon."""
    from sheets_sync.periods import parse_period
    from sheets_sync.samples.amazon import write_demo_reports

    start, end, today = dt.date(2024, 5, 1), dt.date(2024, 5, 28), dt.date(2024, 6, 20)   # all days settled
    root = tmp_path / "reports"
    write_demo_reports(root, parse_period(f"{start}..{end}"), {"US": end, "MX": end})

    def read(path: Path) -> bytes:
        data = path.read_bytes()
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data

    def serve(rtype: str, mkt: str, a: dt.date, b: dt.date) -> bytes:
        folder = root / mkt
        if rtype == "GET_SALES_AND_TRAFFIC_REPORT":
            [path] = folder.glob(f"{rtype}_{a.isoformat()}.json*")
        elif rtype in ("sbAdGroup", "sdAdGroup"):      # the demo advertises with Sponsored Products only
            return b"[]"
        elif rtype == "spAdvertisedProduct":    # US demo ads are a console CSV, not an API document; MX's are in two
            rows = [r for p in sorted(folder.glob("spAdvertisedProduct_*.json.gz"))   # (a campaign renamed)
                    for r in json.loads(read(p)) if a.isoformat() <= r["date"] <= b.isoformat()]
            return json.dumps(rows).encode()
        else:
            [path] = [p for p in folder.glob(f"{rtype}*") if p.name[len(rtype):len(rtype) + 1] in ("_", ".")]
        return read(path)

    def keep(batch: ReportBatch) -> bool:
        return not (batch.family == "ads" and batch.marketplace != "MX")   # US: served empty, not comparable

    request = FetchRequest(start, end, ("US", "MX"))
    from_files = [b for raw in ReportFilesSource(root).collect(request) for b in parse_report(raw) if keep(b)]
    with AmazonServer(documents=serve, today=today) as srv:
        srv.encodings[("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "MX")] = ("cp1252", "Cp1252")
        src = open_amazon_source(make_config(srv, tmp_path / "data"), clock=lambda: utc_noon(today),
                                 **srv.client_timing())
        from_api = [b for raw in src.collect(request) for b in parse_report(raw) if keep(b)]
    def ads(batches: list[ReportBatch], rows: str) -> str:   # the files split MX's ads in two (a campaign renamed)
        df = pd.concat([getattr(b, rows) for b in batches if b.family == "ads"], ignore_index=True)
        df = df.reindex(sorted(df.columns), axis=1)
        return df.sort_values(list(df.columns)).reset_index(drop=True).to_csv(index=False)

    assert ads(from_api, "asin_rows") == ads(from_files, "asin_rows")
    assert ads(from_api, "campaign_rows") == ads(from_files, "campaign_rows")
    from_api = [b for b in from_api if b.family != "ads"]
    from_files = [b for b in from_files if b.family != "ads"]
    assert len(from_api) == len(from_files) > 2 * 28
    assert sorted(map(_signature, from_api)) == sorted(map(_signature, from_files))
