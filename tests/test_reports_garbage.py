"""Damaged or foreign files raise ReportFormatError naming the file; random input never raises anything else."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheets_sync.errors import ReportFormatError
from sheets_sync.frames import RawReport
from sheets_sync.sources.parsing import parse_report

G3_HEADER = ("(Parent) ASIN,(Child) ASIN,Title,SKU,Sessions - Total,Sessions - Total - B2B,Session Percentage - Total,"
             "Session Percentage - Total - B2B,Page Views - Total,Page Views - Total - B2B,Page Views Percentage - Total,"
             "Page Views Percentage - Total - B2B,Featured Offer (Buy Box) Percentage,"
             "Featured Offer (Buy Box) Percentage - B2B,Units Ordered,Units Ordered - B2B,Unit Session Percentage,"
             "Unit Session Percentage - B2B,Ordered Product Sales,Ordered Product Sales - B2B,Total Order Items,"
             "Total Order Items - B2B")
ORDERS_HEADER = ("amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\t"
                 "sales-channel\tsku\tasin\titem-status\tquantity\tcurrency\titem-price\titem-tax")


def expect_error(name: str, data: bytes, match: str, **kw) -> ReportFormatError:
    with pytest.raises(ReportFormatError) as info:
        parse_report(RawReport(name=name, data=data, **kw))
    err = info.value
    assert err.source == name and name in str(err)
    assert match.casefold() in err.reason.casefold(), err.reason
    assert "expected" in err.reason.casefold() or "download" in err.reason.casefold(), err.reason
    return err


def test_empty_and_blank_files():
    expect_error("US/empty.csv", b"", "empty")
    expect_error("US/blank.csv", b" \r\n\n", "empty")
    expect_error("US/empty.gz", gzip.compress(b""), "empty")


def test_truncated_gzip():
    data = gzip.compress(b'{"salesAndTrafficByDate": []}' * 50)
    expect_error("MX/report.json.gz", data[: len(data) // 2], "gzip")
    expect_error("MX/bad.gz", b"\x1f\x8b\x08\x00garbage", "gzip")


def test_html_error_page():
    page = b"<!DOCTYPE html>\n<html><head><title>Amazon Sign-In</title></head><body>Session expired</body></html>"
    expect_error("US/BusinessReport.csv", page, "HTML")
    expect_error("US/x.csv", b"\xef\xbb\xbf  <html><body>503</body></html>", "HTML")


def test_unknown_headers():
    expect_error("US/other.csv", b"Name,Age\nBob,3\n", "unknown header")
    expect_error("US/other.tsv", b"colA\tcolB\n1\t2\n", "unknown")
    expect_error("US/one.txt", b"just some words\n", "no CSV/TSV header")


def test_damaged_json_and_foreign_json():
    expect_error("US/st.json", b'{"reportSpecification": {"reportType": "GET_SALES', "JSON")
    expect_error("US/x.json", json.dumps({"foo": 1}).encode(), "not a known report")
    expect_error("US/x.json", json.dumps([1, 2, 3]).encode(), "not a known report")
    expect_error("US/err.json", json.dumps({"errors": [{"code": "QuotaExceeded"}]}).encode(), "error")


def test_zip_and_damaged_xlsx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("report.csv", "a,b\n1,2\n")
    expect_error("US/reports.zip", buf.getvalue(), "ZIP")
    expect_error("US/ads.xlsx", b"PK\x03\x04" + b"\x00" * 40, "ZIP")


def test_binary_garbage():
    expect_error("US/img.csv", bytes(range(256)) * 4, "binary")


def test_malformed_rows_are_a_format_error():
    text = G3_HEADER + "\nB0P,B0C,T,S," + ",".join(["1"] * 40) + "\n"
    expect_error("US/broken.csv", text.encode(), "malformed")


def test_orders_without_marketplace():
    text = ORDERS_HEADER + "\n1\t\t2024-05-01T00:00:00+00:00\t\tShipped\tAmazon\t\tS\tB0X\tShipped\t1\t\t1.00\t0\n"
    expect_error("orders.tsv", text.encode(), "neither")
    # the folder decides
    b = parse_report(RawReport("US/orders.tsv", text.encode(), marketplace_hint="US"))[0]
    assert b.marketplace == "US" and b.asin_rows["order_units"].sum() == 1


def test_unreadable_dates():
    hdr = "Date,Ordered Product Sales,Units Ordered,Total Order Items,Sessions - Total\n"
    expect_error("US/d.csv", (hdr + "yesterday,1,1,1,1\n").encode(), "dates not recognised")


# ------------------------------------------------------------------------------------------ property tests

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_only_raise_report_format_error(data):
    try:
        batches = parse_report(RawReport("US/random.bin", data))
    except ReportFormatError as err:
        assert err.source == "US/random.bin"
    else:
        assert isinstance(batches, list)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_gzip_payload_only_raises_report_format_error(data):
    with contextlib.suppress(ReportFormatError):
        parse_report(RawReport("MX/random.gz", gzip.compress(data)))


cell = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"\$?[0-9]{1,3}(,[0-9]{3})?(\.[0-9]{2})?%?", fullmatch=True),
    st.sampled_from(["", "=\"B0X\"", "N/A", "--", "1/2/2026", "13/13/2026", "2026-02-30", "$", "%", "\"", "MX$1,2,3"]),
)
HEADERS = {
    "biz": G3_HEADER.split(","),
    "bydate": ["Date", "Ordered Product Sales", "Units Ordered", "Total Order Items", "Sessions - Total",
               "Units Refunded"],
    "ads": ["Date", "Currency", "Advertised SKU", "Advertised ASIN", "Impressions", "Clicks", "Spend",
            "7 Day Total Sales ", "7 Day Total Orders (#)", "7 Day Total Units (#)"],
    "ads2026": ["Budget currency", "Date range", "Advertised product ID", "Advertised product SKU", "Impressions",
                "Clicks", "Total cost", "Purchases", "Sales", "Units sold"],
}


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow((r + [""] * len(header))[: len(header)])
    return buf.getvalue().encode("utf-8", "surrogatepass")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(HEADERS)), rows=st.lists(st.lists(cell, min_size=1, max_size=25), max_size=6))
def test_random_csv_cells_only_raise_report_format_error(kind, rows):
    try:
        data = _csv(HEADERS[kind], rows)
    except UnicodeEncodeError:
        return
    try:
        batches = parse_report(RawReport("US/cells.csv", data))
    except ReportFormatError:
        return
    for b in batches:
        for frame in (b.asin_rows, b.daily_rows):
            if frame is not None:
                metric_cols = [c for c in frame.columns if c not in ("date", "asin", "sku", "title", "parent_asin")]
                assert all(frame[c].dtype == "float64" for c in metric_cols)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(st.text(alphabet=st.characters(blacklist_characters="\t\r\n"), max_size=30),
                              min_size=1, max_size=16), max_size=5))
def test_random_orders_cells_only_raise_report_format_error(rows):
    header = ORDERS_HEADER.split("\t")
    lines = ["\t".join(header)] + ["\t".join((r + [""] * len(header))[: len(header)]) for r in rows]
    try:
        data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    except UnicodeEncodeError:
        return
    with contextlib.suppress(ReportFormatError):
        parse_report(RawReport("US/orders.tsv", data, marketplace_hint="US"))


@settings(max_examples=100, deadline=None)
@given(doc=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                            st.sampled_from(["salesAndTrafficByDate", "salesAndTrafficByAsin", "reportSpecification",
                                             "performanceMetrics", "advertisedAsin", "cost", "date", "salesByDate",
                                             "trafficByDate", "orderDefectRate", "afn", "rate", "orderCount",
                                             "marketplaceIds", "sessions", "x"]), inner, max_size=5),
                        max_leaves=25))
def test_random_json_only_raises_report_format_error(doc):
    with contextlib.suppress(ReportFormatError):
        parse_report(RawReport("US/r.json", json.dumps(doc).encode()))


def _sales_traffic_doc(sessions: str) -> bytes:
    return ('{"reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT", "dataStartTime": "2026-10-01",'
            ' "dataEndTime": "2026-10-01", "marketplaceIds": ["ATVPDKIKX0DER"]}, "salesAndTrafficByDate": [],'
            ' "salesAndTrafficByAsin": [{"parentAsin": "B0PARENT01", "childAsin": "B0CHILD001", "sku": "S-1",'
            ' "salesByAsin": {"unitsOrdered": 2, "orderedProductSales": {"amount": 30.5, "currencyCode": "USD"},'
            ' "totalOrderItems": 2}, "trafficByAsin": {"sessions": ' + sessions + ', "pageViews": 12,'
            ' "buyBoxPercentage": 100.0}}]}').encode()


def test_json_the_fast_parser_refuses_is_read_as_the_standard_library_reads_it():
    """orjson reads reports; what it refuses but the standard library accepts (NaN) is read by the standard
    library; a 23-digit integer gives the same figure either way; a damaged document still names its line."""
    (plain,) = parse_report(RawReport(name="US/st.json", data=_sales_traffic_doc("9")))
    (nan,) = parse_report(RawReport(name="US/st-nan.json", data=_sales_traffic_doc("NaN")))
    (big,) = parse_report(RawReport(name="US/st-big.json", data=_sales_traffic_doc("12345678901234567890123")))
    assert plain.asin_rows["sessions"].tolist() == [9.0]
    assert nan.asin_rows["sessions"].isna().tolist() == [True]
    assert big.asin_rows["sessions"].tolist() == [1.2345678901234568e22]
    for frame in (nan, big):
        assert frame.asin_rows["gmv"].tolist() == plain.asin_rows["gmv"].tolist() == [30.5]
    damaged = ('\n\n' + _sales_traffic_doc("9").decode()[:-40]).encode("utf-16")
    err = expect_error("US/st16.json", damaged, "damaged")
    assert "line 3" in err.reason
