"""parse_report on the shared sample files: one test per layout, expected values computed by hand from the rows."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

import pandas as pd
import pytest

from sheets_sync.errors import ReportFormatError
from sheets_sync.frames import FAMILIES, RawReport
from sheets_sync.sources.parsing import KINDS, normalize_header, parse_report

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "fixtures" / "amazon-reports"


def load(rel: str, hint: str | None = None, gz: bool = False, **kw) -> list:
    data = (SAMPLES / rel).read_bytes()
    if gz:
        data = gzip.compress(data)
    return parse_report(RawReport(name=rel, data=data, marketplace_hint=hint, **kw))


def one(rel: str, **kw):
    batches = load(rel, **kw)
    assert len(batches) == 1
    b = batches[0]
    assert KINDS[b.kind] == b.family and b.family in FAMILIES
    return b


def row(df: pd.DataFrame, asin: str, date: str | None = None) -> pd.Series:
    sel = df["asin"] == asin
    if date is not None:
        sel &= df["date"] == pd.Timestamp(date)
    assert sel.sum() == 1, df
    return df.loc[sel].iloc[0]


def check_contract(b) -> None:
    for frame in (b.asin_rows, b.daily_rows):
        if frame is None:
            continue
        assert str(frame["date"].dtype).startswith("datetime64")
        for m in FAMILIES[b.family]:
            if m in frame:
                assert frame[m].dtype == "float64", m
    if b.asin_rows is not None and len(b.asin_rows):
        a = b.asin_rows["asin"]
        assert (a == a.str.strip().str.upper()).all()


# ------------------------------------------------------------------------------------------ business reports

def test_header_normalisation():
    assert normalize_header(" 会话次数 – 总计 ") == "会话次数 - 总计"
    assert normalize_header("（父）ASIN") == "(父)asin"
    assert normalize_header("7 Day Total Sales (₹)") == "7 day total sales"
    assert normalize_header("7 Day Total Orders (#)") == "7 day total orders (#)"
    assert normalize_header("Total Advertising Cost of Sales (ACoS) ") == "total advertising cost of sales (acos)"


def test_business_child_g3_real_row():
    b = one("ui/en_us_business_child_item_current.csv")
    assert b.kind == "business_child_item" and b.family == "traffic"
    assert b.start is None and b.end is None
    assert b.currency is None and b.marketplace is None   # bare "$": the folder decides
    check_contract(b)
    r = row(b.asin_rows, "B096MCMDPL")
    assert pd.isna(r["date"])
    assert r["sessions"] == 12131
    assert r["page_views"] == 17004
    assert r["buy_box_views"] == pytest.approx(17004 * 0.998)
    assert r["gmv"] == pytest.approx(12905.25)        # the total, B2B ($94.50) not added
    assert r["units"] == 683 and r["orders"] == 668
    assert r["sku"] == "5K-SC4U-PO06" and r["parent_asin"] == "B0CKPQNSHN"
    assert b.asin_rows["gmv"].sum() == pytest.approx(12905.25 + 2110.04 + 449.91)


def test_business_child_2019_gen1_bom_quote_all():
    b = one("ui/en_us_business_child_item_2019_gen1.csv")
    r = row(b.asin_rows, "B07JJC4NTT")
    assert r["sessions"] == 3395 and r["page_views"] == 4488
    assert r["buy_box_views"] == pytest.approx(4488 * 0.99)    # old gen "99%"
    assert r["gmv"] == pytest.approx(5216.29) and r["orders"] == 107
    assert '31" x 19"' in r["title"]


def test_business_parent_item():
    b = one("ui/en_us_business_parent_item_current_INFERRED.csv")
    assert b.kind == "business_parent_item"
    r = row(b.asin_rows, "B0CKPQNSHN")
    assert r["sessions"] == 14539 and r["gmv"] == pytest.approx(15015.29)
    assert r["buy_box_views"] == pytest.approx(20315 * 0.9983)


def test_business_chinese_ui_and_conversion_trap():
    b = one("ui/zh_ui_us_business_child_item_current.csv")
    assert b.kind == "business_child_item" and b.extras["language"] == "zh"
    assert b.currency == "USD" and b.marketplace == "US"     # US$ is unambiguous
    cmap = b.extras["column_map"]
    assert cmap["转化率 - 总计"] == "session_pct"                 # NOT conversion
    assert cmap["商品会话百分比"] == "unit_session_pct"
    r = row(b.asin_rows, "B0FK1T49NS")
    assert r["sessions"] == 1034 and r["page_views"] == 1364
    assert r["gmv"] == pytest.approx(1100.15) and r["units"] == 85
    r2 = row(b.asin_rows, "B0FK1T7QWE")
    assert r2["buy_box_views"] == pytest.approx(790 * 0.995)


def test_business_chinese_old_generation_en_dash():
    text = ("（父）ASIN,（子）ASIN,商品名称,SKU,会话次数 – 总计,页面浏览量 – 总计,购买按钮赢得率,已订购商品数量,"
            "已订购商品销售额,订单商品总数\n"
            'B0PARENT01,B0CHILD001,杯子,SKU-1,"1,200","1,500",98%,30,"US$1,234.50",29\n')
    b = parse_report(RawReport("old_zh.csv", text.encode("utf-8")))[0]
    r = row(b.asin_rows, "B0CHILD001")
    assert r["sessions"] == 1200 and r["page_views"] == 1500
    assert r["buy_box_views"] == pytest.approx(1470) and r["gmv"] == pytest.approx(1234.5)


def test_business_spanish_mx_both_wordings():
    b = one("ui/es_mx_business_child_item_PARTIAL_INFERRED.csv")
    assert b.extras["language"] == "es"
    r = row(b.asin_rows, "B0C8XK0B3R")
    assert r["sessions"] == 2031 and r["page_views"] == 2977
    assert r["gmv"] == pytest.approx(26312.0)     # ": entre empresas" (299.00) not added
    assert r["orders"] == 86                        # ": B2B" column not added
    assert r["units"] == 88
    old = ("ASIN (principal),ASIN (secundario),Título,SKU,Sesiones - Total,Vistas de página - Total,"
           "Unidades pedidas,Ventas de productos pedidos,Ventas de productos pedidos - B2B,"
           "Total de artículos del pedido,Total de artículos del pedido -B2B\n"
           'B0C8XK2M1P,B0C8XJZ7QD,Licuadora,INV-1,"1,245","1,802",57,"MX$17,043.00",MX$0.00,55,0\n')
    b2 = parse_report(RawReport("MX/old.csv", old.encode("cp1252")))[0]
    r2 = row(b2.asin_rows, "B0C8XJZ7QD")
    assert (r2["sessions"], r2["page_views"], r2["orders"]) == (1245, 1802, 55)
    assert r2["gmv"] == pytest.approx(17043.0)
    assert b2.currency == "MXN" and b2.marketplace == "MX"


def test_business_values_formats():
    text = ("(Parent) ASIN,(Child) ASIN,Title,SKU,Sessions - Total,Page Views - Total,"
            "Featured Offer Percentage,Units Ordered,Ordered Product Sales,Total Order Items\n"
            '="B0PARENT01",="b0child001 ",T,S,"1,08,218",12,50.00%,,"₹1,08,218.36",3\n')
    b = parse_report(RawReport("in.csv", text.encode("utf-8")))[0]
    r = row(b.asin_rows, "B0CHILD001")
    assert r["sessions"] == 108218 and r["gmv"] == pytest.approx(108218.36)
    assert pd.isna(r["units"]) and r["buy_box_views"] == pytest.approx(6.0)
    assert b.currency == "INR" and r["parent_asin"] == "B0PARENT01"


def test_business_by_date_us_month_first():
    b = one("ui/en_us_sales_traffic_by_date_current.csv")
    assert b.kind == "business_by_date"
    assert (b.start, b.end) == (dt.date(2026, 7, 1), dt.date(2026, 7, 3))
    d = b.daily_rows.set_index("date")
    assert d.loc["2026-07-01", "gmv"] == pytest.approx(4412.10)       # B2B 31.80 not added
    assert d.loc["2026-07-03", "sessions"] == 4305
    assert d["units"].sum() == 221 + 198 + 251
    assert b.extras["date_order"] == "month_first"
    check_contract(b)


def test_business_by_date_india_day_first_lakh():
    b = one("ui/en_in_sales_traffic_by_date_current.csv")
    assert (b.start, b.end) == (dt.date(2026, 4, 1), dt.date(2026, 4, 3))
    assert b.currency == "INR" and b.extras["date_order"] == "day_first"
    assert b.daily_rows.set_index("date").loc["2026-04-02", "gmv"] == pytest.approx(108218.36)
    assert any("day-first" in w for w in b.warnings)


def test_business_by_date_order_decided_by_values_and_ambiguity():
    hdr = "Date,Ordered Product Sales,Units Ordered,Total Order Items,Sessions - Total,Units Refunded\n"
    dmy = hdr + "13/04/2026,10.00,1,1,5,1\n14/04/2026,20.00,2,2,6,0\n"
    b = parse_report(RawReport("a.csv", dmy.encode()))[0]
    assert b.extras["date_order"] == "day_first" and b.start == dt.date(2026, 4, 13)
    assert b.daily_rows["units_refunded"].sum() == 1
    mixed = hdr + "13/04/2026,1,1,1,1,0\n04/13/2026,1,1,1,1,0\n"
    with pytest.raises(ReportFormatError, match="mix"):
        parse_report(RawReport("mixed.csv", mixed.encode()))
    ambiguous = hdr + "01/02/2026,1,1,1,1,0\n"
    with pytest.raises(ReportFormatError, match="ambiguous"):
        parse_report(RawReport("amb.csv", ambiguous.encode()))
    iso = hdr + "2026-11-15,1,1,1,1,0\n"
    assert parse_report(RawReport("iso.csv", iso.encode()))[0].start == dt.date(2026, 11, 15)


def test_sales_orders_by_month():
    b = one("ui/en_us_sales_orders_by_month_2019.csv")
    assert b.kind == "business_by_month" and b.extras["granularity"] == "month"
    assert (b.start, b.end) == (dt.date(2019, 9, 1), dt.date(2019, 11, 30))
    assert b.daily_rows["gmv"].sum() == pytest.approx(3022.91 + 3370.18 + 3194.23)


# ------------------------------------------------------------------------------------------ SP-API JSON

def test_sales_and_traffic_json_us():
    b = one("GET_SALES_AND_TRAFFIC_REPORT.json")
    assert (b.kind, b.marketplace, b.currency) == ("sp_api_sales_traffic", "US", "USD")
    assert (b.start, b.end) == (dt.date(2024, 5, 1), dt.date(2024, 5, 3))
    check_contract(b)
    d = b.daily_rows.set_index("date")
    assert d.loc["2024-05-01", "gmv"] == pytest.approx(1238.44)
    assert d.loc["2024-05-01", "buy_box_views"] == pytest.approx(1658 * 0.9654)
    assert d["units_refunded"].sum() == 2
    a = row(b.asin_rows, "B0CHILD001")
    assert pd.isna(a["date"])                       # a total over 05-01..05-03
    assert a["gmv"] == pytest.approx(1172.49) and a["sessions"] == 1218
    assert a["buy_box_views"] == pytest.approx(2061 * 0.971)
    assert a["parent_asin"] == "B0PARENT01" and a["sku"] == "KPI-TEE-BLK-M"


def test_sales_and_traffic_json_mx_gzip_single_day_and_typo():
    b = one("GET_SALES_AND_TRAFFIC_REPORT.MX.json", gz=True)
    assert (b.marketplace, b.currency) == ("MX", "MXN")
    doc = {"reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT", "dataStartTime": "2026-11-14",
                                   "dataEndTime": "2026-11-14", "marketplaceIds": ["A1AM78C64UM0Y8"]},
           "salesAndTrafficByDate": [{"date": "2026-11-14", "salesByDate": {"unitsOrdered": 3},
                                      "trafficByDate": {"browerPageViews": 7, "mobileAppPageViews": 3}}],
           "salesAndTrafficByAsin": [{"parentAsin": "B0P", "childAsin": "b0c1",
                                      "salesByAsin": {"orderedProductSales": {"amount": 998, "currencyCode": "MXN"}},
                                      "trafficByAsin": {"browerPageViews": 4, "buyBoxPercentage": 50}}]}
    import json
    b2 = parse_report(RawReport("x", json.dumps(doc).encode()))[0]
    assert b2.daily_rows["page_views"].iloc[0] == 10
    a = b2.asin_rows.iloc[0]
    assert a["date"] == pd.Timestamp("2026-11-14") and a["asin"] == "B0C1"
    assert a["page_views"] == 4 and a["buy_box_views"] == 2 and a["gmv"] == 998
    assert pd.isna(a["units"])


def test_seller_performance():
    batches = load("GET_V2_SELLER_PERFORMANCE_REPORT.json")
    assert len(batches) == 1
    b = batches[0]
    assert (b.kind, b.family, b.marketplace) == ("seller_performance", "health", "US")
    h = b.health
    assert h["odr"]["count"] == 5 and h["odr"]["orders"] == 412 + 2890
    assert h["odr"]["rate"] == pytest.approx(5 / 3302)
    assert h["a_to_z_rate"]["count"] == 1 and h["a_to_z_rate"]["rate"] == pytest.approx(1 / 3302)
    assert h["late_shipment_rate"]["rate"] == pytest.approx(0.014)
    assert h["cancel_rate"]["orders"] == 61
    assert h["valid_tracking_rate"]["rate"] == pytest.approx(0.9904)
    assert h["odr"]["from"] == dt.date(2024, 3, 3) and h["odr"]["to"] == dt.date(2024, 5, 1)
    assert b.extras["ahr_status"] == "GREAT"


def test_seller_performance_two_marketplaces_and_alt_spelling():
    import json
    doc = json.loads((SAMPLES / "GET_V2_SELLER_PERFORMANCE_REPORT.json").read_text())
    mx = json.loads(json.dumps(doc["performanceMetrics"][0]))
    mx["marketplaceId"] = "A1AM78C64UM0Y8"
    mx["prefulfillmentCancelRate"] = mx.pop("preFulfillmentCancellationRate")
    mx["prefulfillmentCancelRate"].update(rate=0.05, cancellationCount=3, orderCount=60)
    doc["performanceMetrics"].append(mx)
    batches = parse_report(RawReport("perf.json", json.dumps(doc).encode()))
    assert [b.marketplace for b in batches] == ["US", "MX"]
    assert batches[1].health["cancel_rate"]["rate"] == pytest.approx(0.05)
    assert batches[1].health["cancel_rate"]["count"] == 3


# ------------------------------------------------------------------------------------------ ads

def test_ads_api_v3_both_windows():
    b = one("spAdvertisedProduct.json", gz=True)
    assert (b.kind, b.family, b.currency, b.marketplace) == ("ads_sp_api_v3", "ads", "USD", "US")
    check_contract(b)
    r = row(b.asin_rows, "B0CHILD002", "2024-05-01")
    assert r["ad_spend"] == pytest.approx(5.92) and r["ad_sales"] == 0.0        # 7d default
    assert r["ad_sales_14d"] == pytest.approx(24.99) and r["ad_orders_14d"] == 1
    assert r["ad_clicks"] == 8 and r["ad_impressions"] == 911
    assert b.extras["attribution_windows"] == ["7d", "14d"]
    assert b.asin_rows["ad_spend"].sum() == pytest.approx(21.87 + 5.92)


def test_ads_classic_daily_2019():
    b = one("ui/ads_sp_advertised_product_classic_2019.csv")
    assert b.kind == "ads_sp_classic" and b.currency == "USD"
    assert (b.start, b.end) == (dt.date(2019, 8, 24), dt.date(2019, 8, 25))
    r = row(b.asin_rows, "B07JHVFFP8", "2019-08-25")
    assert (r["ad_spend"], r["ad_sales"], r["ad_orders"], r["ad_units"]) == (1.39, 45.98, 1, 1)
    assert (r["ad_clicks"], r["ad_impressions"]) == (2, 504)


def test_ads_classic_summary_with_retailer_country():
    b = one("ui/ads_sp_advertised_product_classic_2024_summary_INFERRED_ORDER.csv")
    assert (b.start, b.end) == (dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    r = row(b.asin_rows, "B0GWCDX3HY")          # two campaigns summed
    assert pd.isna(r["date"])
    assert r["ad_spend"] == pytest.approx(108.61 + 7.23)
    assert r["ad_sales"] == pytest.approx(180.90 + 15.90)
    assert r["ad_orders"] == 12 and r["ad_clicks"] == 111


def test_ads_console_2026():
    b = one("ui/ads_new_console_2026_advertised_product.csv")
    assert b.kind == "ads_sp_console_2026" and b.currency == "USD" and b.marketplace == "US"
    assert (b.start, b.end) == (dt.date(2026, 7, 1), dt.date(2026, 7, 30))
    r = row(b.asin_rows, "B0GWCDX3HY")
    assert r["ad_spend"] == pytest.approx(108.61 + 7.23)
    assert r["ad_sales"] == pytest.approx(180.90 + 15.90)
    assert r["ad_units"] == 12 and r["ad_impressions"] == 9582 + 1595


def test_ads_chinese_ui():
    b = one("ui/zh_ui_ads_sp_advertised_product_daily_INFERRED_ORDER.csv")
    assert b.kind == "ads_sp_classic" and b.extras["language"] == "zh" and b.marketplace == "US"
    r = row(b.asin_rows, "B0FK1T49NS", "2026-03-17")
    assert (r["ad_spend"], r["ad_sales"], r["ad_orders"], r["ad_clicks"]) == (19.68, 77.85, 6, 24)


def test_ads_classic_14_day_and_india_currency_tag():
    text = ("Date,Currency,Advertised SKU,Advertised ASIN,Impressions,Clicks,Spend (₹),14 Day Total Sales (₹) ,"
            "14 Day Total Orders (#),14 Day Total Units (#)\n"
            '"Nov 16, 2025",INR,S1,B0X0000001,100,4,₹40.50,"₹1,200.00",2,3\n')
    b = parse_report(RawReport("in.csv", text.encode()))[0]
    r = b.asin_rows.iloc[0]
    assert r["ad_spend"] == 40.5 and r["ad_sales"] == 1200 and r["ad_sales_14d"] == 1200
    assert b.extras["ad_sales_window"] == "14d" and any("14-day" in w for w in b.warnings)


def test_ads_xlsx_serial_dates_and_fraction_rates():
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Date", "Portfolio name", "Currency", "Campaign Name", "Ad Group Name", "Advertised SKU",
               "Advertised ASIN", "Impressions", "Clicks", "Click-Thru Rate (CTR)", "Cost Per Click (CPC)", "Spend",
               "7 Day Total Sales ", "Total Advertising Cost of Sales (ACoS) ", "7 Day Total Orders (#)",
               "7 Day Total Units (#)"])
    ws.append([43701, "Not grouped", "MXN", "c", "g", "sku1", "B07JHVFFP8", 362, 1, 0.00276, 0.71, 0.71, 0, None, 0, 0])
    ws.append([dt.datetime(2019, 8, 25), "Not grouped", "MXN", "c", "g", "sku1", "B07JHVFFP8", 504, 2, 0.00397, 0.7,
               1.39, 45.98, 0.0302, 1, 1])
    buf = io.BytesIO()
    wb.save(buf)
    b = parse_report(RawReport("ads.xlsx", buf.getvalue()))[0]
    assert b.kind == "ads_sp_classic" and b.extras["format"] == "xlsx"
    assert b.currency == "MXN" and b.marketplace == "MX"
    assert (b.start, b.end) == (dt.date(2019, 8, 24), dt.date(2019, 8, 25))
    r = row(b.asin_rows, "B07JHVFFP8", "2019-08-25")
    assert r["ad_spend"] == pytest.approx(1.39) and r["ad_sales"] == pytest.approx(45.98)


# ------------------------------------------------------------------------------------------ flat files

def test_orders_us_pending_cancelled_local_dates():
    b = one("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.tsv")
    assert (b.kind, b.family, b.marketplace, b.currency) == ("orders_flat_file", "orders", "US", "USD")
    check_contract(b)
    rows = b.asin_rows
    # 2024-05-02T02:10:55Z is 2024-05-01 19:10 in Los Angeles: the cancelled line belongs to 05-01.
    r = row(rows, "B0CHILD001", "2024-05-01")
    assert (r["order_units"], r["order_sales"], r["order_tax"], r["fba_units"]) == (2, 45.98, 3.68, 2)
    assert r["units_cancelled"] == 1
    pending = row(rows, "B0CHILD002", "2024-05-01")
    assert pending["order_units"] == 1 and pending["order_sales"] == 0
    assert b.extras["pending_lines"] == 1 and any("Pending" in w for w in b.warnings)
    r4 = row(rows, "B0CHILD002", "2024-05-02")
    assert r4["order_sales"] == pytest.approx(24.99)
    assert rows["order_units"].sum() == 4


def test_orders_mx_cp1252():
    b = one("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.MX.cp1252.tsv")
    assert (b.marketplace, b.currency, b.extras["encoding"]) == ("MX", "MXN", "cp1252")
    rows = b.asin_rows
    # 2024-05-02T01:05:47Z is 2024-05-01 19:05 in Mexico City.
    assert row(rows, "B0CHILD002", "2024-05-01")["order_units"] == 2
    r = row(rows, "B0CHILD001", "2024-05-02")
    assert r["order_sales"] == 499.0 and r["fba_units"] == 0        # Merchant-fulfilled
    assert rows["order_tax"].sum() == pytest.approx(2 * 68.83)


def test_orders_cp1252_text_survives_and_charset_used():
    data = (SAMPLES / "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.MX.cp1252.tsv").read_bytes()
    assert "NUEVO LEÓN".encode("cp1252") in data
    b = parse_report(RawReport("x.tsv", data, charset="Cp1252"))[0]
    assert b.extras["encoding"] == "Cp1252"
    b2 = parse_report(RawReport("x.tsv", data, charset="utf-8"))[0]     # a wrong charset falls back
    assert b2.extras["encoding"] == "cp1252"


def test_orders_newer_34_column_layout():
    src = (SAMPLES / "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.tsv").read_text("utf-8").splitlines()
    out = []
    for i, line in enumerate(src):
        cells = line.split("\t")
        del cells[8]                                        # url gone
        cells.insert(5, "order-item-id" if i == 0 else f"{i:014d}")
        cells.insert(cells.index("promotion-ids") + 1 if i == 0 else 30, "cpf" if i == 0 else "")
        cells.append("signature-confirmation-recommended" if i == 0 else "false")
        out.append("\t".join(cells))
    assert len(out[0].split("\t")) == 34
    b = parse_report(RawReport("new.tsv", ("\n".join(out) + "\n").encode()))[0]
    assert b.asin_rows["order_units"].sum() == 4
    assert b.asin_rows["order_sales"].sum() == pytest.approx(45.98 + 24.99)


def test_inventory_sums_skus():
    b = one("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA.tsv", hint="US")
    assert (b.kind, b.family, b.start, b.end) == ("fba_inventory", "inventory", None, None)
    assert b.extras["snapshot"] is True
    check_contract(b)
    r = row(b.asin_rows, "B0CHILD001")
    assert (r["fulfillable_units"], r["inbound_units"], r["reserved_units"]) == (120, 20, 17)
    assert row(b.asin_rows, "B0CHILD002")["inbound_units"] == 48
    text = (SAMPLES / "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA.tsv").read_text()
    text += text.splitlines()[1].replace("KPI-TEE-BLK-M", "KPI-TEE-BLK-M-2") + "\n"
    b2 = parse_report(RawReport("inv.tsv", text.encode()))[0]
    assert row(b2.asin_rows, "B0CHILD001")["fulfillable_units"] == 240


def test_returns_and_reasons():
    b = one("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA.tsv", hint="US")
    assert (b.kind, b.family) == ("fba_returns", "returns")
    check_contract(b)
    assert b.asin_rows["units_returned"].sum() == 3
    assert row(b.asin_rows, "B0CHILD001", "2024-05-03")["units_returned"] == 1
    reasons = b.extras["return_reasons"]
    assert set(reasons.columns) == {"asin", "reason", "units"}
    assert reasons.loc[reasons["reason"] == "DEFECTIVE", "units"].sum() == 1
    # 2024-05-05T19:35:02Z: still 05-05 in LA; 2024-05-03T02:00Z would be 05-02
    text = (SAMPLES / "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA.tsv").read_text().replace(
        "2024-05-03T14:22:10+00:00", "2024-05-03T02:00:00+00:00")
    b2 = parse_report(RawReport("r.tsv", text.encode(), marketplace_hint="US"))[0]
    assert row(b2.asin_rows, "B0CHILD001", "2024-05-02")["units_returned"] == 1


def test_business_unknown_wording_positional_and_device_split():
    g3 = (SAMPLES / "ui/en_us_business_child_item_current.csv").read_text("utf-8").splitlines()
    header = ",".join(f"Columna {i}" for i in range(22))
    b = parse_report(RawReport("MX/nuevo.csv", ("\n".join([header, *g3[1:]]) + "\n").encode()))[0]
    r = row(b.asin_rows, "B096MCMDPL")
    assert (r["sessions"], r["page_views"], r["orders"]) == (12131, 17004, 668)
    assert r["gmv"] == pytest.approx(12905.25)
    assert any("position" in w for w in b.warnings)
    split = ("(Parent) ASIN,(Child) ASIN,Title,Sessions - Mobile App,Sessions - Mobile APP - B2B,Sessions - Browser,"
             "Sessions - Total,Sessions - Total - B2B,Page Views - Mobile App,Page Views - Total,"
             "Featured Offer (Buy Box) Percentage,Units Ordered,Ordered Product Sales,Total Order Items\n"
             'B0P,B0CHILD001,T,10,1,20,30,2,15,45,100.00%,3,$30.00,3\n')
    b2 = parse_report(RawReport("US/split.csv", split.encode()))[0]
    r2 = b2.asin_rows.iloc[0]
    assert (r2["sessions"], r2["page_views"], r2["buy_box_views"]) == (30, 45, 45)


def test_orders_file_with_both_marketplaces_gives_two_batches():
    us = (SAMPLES / "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.tsv").read_text("utf-8").splitlines()
    mx = (SAMPLES / "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.MX.cp1252.tsv").read_bytes().decode(
        "cp1252").splitlines()
    data = ("\n".join(us + mx[1:]) + "\n").encode("utf-8")
    batches = parse_report(RawReport("both.tsv", data))
    assert [(b.marketplace, b.currency) for b in batches] == [("MX", "MXN"), ("US", "USD")]
    assert batches[0].asin_rows["order_units"].sum() == 4 and batches[1].asin_rows["order_units"].sum() == 4
    assert batches[0].extras["pending_lines"] == 1 and batches[1].extras["cancelled_lines"] == 1


def test_utf16_tab_separated_excel_export_and_crlf():
    text = (SAMPLES / "ui/en_us_business_child_item_current.csv").read_text("utf-8")
    import csv as _csv

    rows = list(_csv.reader(io.StringIO(text)))
    tsv = "\r\n".join("\t".join(r) for r in rows) + "\r\n"
    b = parse_report(RawReport("US/unicode.txt", tsv.encode("utf-16")))[0]
    assert b.kind == "business_child_item" and b.extras["format"] == "tsv"
    assert row(b.asin_rows, "B096MCMDPL")["gmv"] == pytest.approx(12905.25)
