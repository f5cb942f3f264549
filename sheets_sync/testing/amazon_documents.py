"""What the local Amazon serves: synthetic report documents in Amazon's formats and the one table of report
types (:data:`REPORT_TYPES`) the server knows — adding a report type is adding one entry.

The figures are derived from the day (so every path that asks for the same day gets the same numbers); the
formats are Amazon's: ``GET_SALES_AND_TRAFFIC_REPORT`` and ``GET_V2_SELLER_PERFORMANCE_REPORT`` JSON, the
orders / returns / inventory flat files (TSV, with the charset each marketplace's download announces or not),
and the Ads API v3 ``spAdvertisedProduct`` rows (served as ``GZIP_JSON``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.samples import amazon as samples

MARKETPLACE_IDS = {"ATVPDKIKX0DER": "US", "A1AM78C64UM0Y8": "MX"}
CURRENCY = {"US": "USD", "MX": "MXN"}

ORDERS_HEADER = "\t".join(samples.ORDERS_HEADER)
RETURNS_HEADER = "\t".join(samples.RETURNS_HEADER)
INVENTORY_HEADER = "\t".join(samples.INVENTORY_HEADER[:18])     # the classic 18-column layout
ASINS = (("B0PARENT01", "B0CHILD001", "KPI-TEE-BLK-M", "Camiseta Niño Negra M"),
         ("B0PARENT01", "B0CHILD002", "KPI-TEE-BLK-L", "Camiseta Niño Negra L"))


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def money(amount: float, mkt: str) -> dict[str, Any]:
    return {"amount": round(amount, 2), "currencyCode": CURRENCY[mkt]}


def sales_and_traffic(mkt: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """A CHILD-granularity GET_SALES_AND_TRAFFIC_REPORT document; figures derived from the day."""
    by_date, by_asin = [], []
    for day in days(start, end):
        units = 10 + day.day
        by_date.append({"date": day.isoformat(),
                        "salesByDate": {"orderedProductSales": money(units * 19.99, mkt), "unitsOrdered": units,
                                        "totalOrderItems": units - 1, "unitsRefunded": 1, "refundRate": 2.5,
                                        "averageSalesPerOrderItem": money(20.5, mkt), "averageUnitsPerOrderItem": 1.1,
                                        "averageSellingPrice": money(19.99, mkt), "claimsGranted": 0,
                                        "claimsAmount": money(0, mkt), "shippedProductSales": money(units * 18, mkt),
                                        "unitsShipped": units, "ordersShipped": units - 1},
                        "trafficByDate": {"browserPageViews": 300, "mobileAppPageViews": 200, "pageViews": 500,
                                          "browserSessions": 150, "mobileAppSessions": 100, "sessions": 250,
                                          "buyBoxPercentage": 97.5, "orderItemSessionPercentage": 4.0,
                                          "unitSessionPercentage": 4.4, "averageOfferCount": 3,
                                          "averageParentItems": 1, "feedbackReceived": 0,
                                          "negativeFeedbackReceived": 0, "receivedNegativeFeedbackRate": 0.0}})
    n = len(days(start, end))
    for i, (parent, child, _sku, _title) in enumerate(ASINS):
        units = sum(10 + d.day for d in days(start, end)) // 2 + i
        by_asin.append({"parentAsin": parent, "childAsin": child,
                        "salesByAsin": {"unitsOrdered": units, "orderedProductSales": money(units * 19.99, mkt),
                                        "totalOrderItems": units},
                        "trafficByAsin": {"browserSessions": 70 * n, "mobileAppSessions": 50 * n, "sessions": 120 * n,
                                          "browserSessionPercentage": 48.0, "mobileAppSessionPercentage": 52.0,
                                          "sessionPercentage": 48.0, "browserPageViews": 150 * n,
                                          "mobileAppPageViews": 100 * n, "pageViews": 250 * n,
                                          "browserPageViewsPercentage": 50.0, "mobileAppPageViewsPercentage": 50.0,
                                          "pageViewsPercentage": 50.0, "buyBoxPercentage": 97.5,
                                          "unitSessionPercentage": 4.4}})
    return {"reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                                    "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
                                    "dataStartTime": start.isoformat(), "dataEndTime": end.isoformat(),
                                    "marketplaceIds": [k for k, v in MARKETPLACE_IDS.items() if v == mkt]},
            "salesAndTrafficByDate": by_date, "salesAndTrafficByAsin": by_asin}


def seller_performance(mkt: str) -> dict[str, Any]:
    mid = next(k for k, v in MARKETPLACE_IDS.items() if v == mkt)
    window = {"reportingDateFrom": "2024-04-01T00:00Z", "reportingDateTo": "2024-05-30T23:59Z"}
    return {"accountStatuses": [{"marketplaceId": mid, "status": "NORMAL"}],
            "performanceMetrics": [{
                "marketplaceId": mid,
                "orderDefectRate": {"afn": {"reportingDateRange": window, "status": "GOOD", "targetValue": 0.01,
                                            "targetCondition": "LESS_THAN", "rate": 0.004, "orderCount": 500,
                                            "orderWithDefects": {"count": 2, "status": "GOOD"},
                                            "claims": {"count": 1, "status": "GOOD"},
                                            "chargebacks": {"count": 0, "status": "GOOD"},
                                            "negativeFeedback": {"count": 1, "status": "GOOD"},
                                            "fulfillmentType": "afn"}},
                "lateShipmentRate": {"reportingDateRange": window, "status": "GOOD", "targetValue": 0.04,
                                     "targetCondition": "LESS_THAN", "rate": 0.01, "orderCount": 100,
                                     "lateShipmentCount": 1},
                "preFulfillmentCancellationRate": {"reportingDateRange": window, "status": "GOOD", "targetValue": 0.025,
                                                   "targetCondition": "LESS_THAN", "rate": 0.0, "orderCount": 100,
                                                   "cancellationCount": 0},
                "validTrackingRate": {"reportingDateRange": window, "status": "GOOD", "targetValue": 0.95,
                                      "targetCondition": "GREATER_THAN", "rate": 0.99, "shipmentCount": 100,
                                      "validTrackingCount": 99},
                "accountHealthRating": {"ahrStatus": "GREAT", "reportingDateRange": window},
                "warningStates": []}]}


def orders_tsv(mkt: str, start: dt.date, end: dt.date) -> str:
    lines = [ORDERS_HEADER]
    city = {"US": ("AUSTIN", "TX", "78701", "US"), "MX": ("MONTERREY", "Nuevo León", "64000", "MX")}[mkt]
    channel = {"US": "Amazon.com", "MX": "Amazon.com.mx"}[mkt]
    for n, day in enumerate(days(start, end), 1):
        for i, (_parent, child, sku, title) in enumerate(ASINS):
            qty = 1 + (day.day + i) % 3
            price = qty * (499.0 if mkt == "MX" else 22.99)
            tax = round(price * 0.16 / 1.16, 2) if mkt == "MX" else round(price * 0.08, 2)
            lines.append("\t".join((
                f"{'702' if mkt == 'MX' else '113'}-{day:%Y%m%d}-{n:03d}{i}", "", f"{day.isoformat()}T18:0{i}:00+00:00",
                f"{day.isoformat()}T20:00:00+00:00", "Shipped", "Amazon", channel, "", "", "Standard", title, sku,
                child, "Shipped", str(qty), CURRENCY[mkt], f"{price:.2f}", f"{tax:.2f}", "0.00", "0.00", "", "",
                "", "", *city, "", "false", "", "")))
    return "\n".join(lines) + "\n"


def returns_tsv(mkt: str, start: dt.date, end: dt.date) -> str:
    lines = [RETURNS_HEADER]
    for day in days(start, end):
        if day.day % 2:
            continue
        _p, child, sku, title = ASINS[0]
        lines.append("\t".join((f"{day.isoformat()}T15:31:40+00:00", f"113-{day:%Y%m%d}-0000", sku, child,
                                "X00ABC1234", title, "1", "PHX7", "SELLABLE", "APPAREL_TOO_SMALL",
                                "Unit returned to inventory", "LPNRR123", "Talla pequeña, devolución")))
    return "\n".join(lines) + "\n"


def inventory_tsv(mkt: str) -> str:
    lines = [INVENTORY_HEADER]
    for i, (_p, child, sku, title) in enumerate(ASINS):
        lines.append("\t".join((sku, f"X00FNSKU{i}", child, title, "New", "22.99" if mkt == "US" else "499.00",
                                "No", "", "Yes", str(40 + i), str(30 + i), "1", str(5 + i), str(36 + 2 * i),
                                "0.05", "0", str(10 + i), "0")))
    return "\n".join(lines) + "\n"


def ads_rows(mkt: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    rows = []
    for day in days(start, end):
        for i, (_p, child, sku, _title) in enumerate(ASINS):
            clicks = 20 + day.day + i
            rows.append({"date": day.isoformat(), "campaignId": 123456789012345, "campaignName": "SP - Tee - Auto",
                         "adGroupId": 223456789012345, "adGroupName": "Auto", "adId": 323456789012345 + i,
                         "advertisedAsin": child, "advertisedSku": sku, "impressions": clicks * 60, "clicks": clicks,
                         "clickThroughRate": round(1 / 60, 4), "costPerClick": 0.8, "cost": round(clicks * 0.8, 2),
                         "spend": round(clicks * 0.8, 2), "campaignBudgetCurrencyCode": CURRENCY[mkt],
                         "purchases7d": 3 + i, "purchases14d": 4 + i, "unitsSoldClicks7d": 3 + i,
                         "unitsSoldClicks14d": 4 + i, "sales7d": round((3 + i) * 22.99, 2),
                         "sales14d": round((4 + i) * 22.99, 2), "purchasesSameSku7d": 3 + i,
                         "unitsSoldSameSku7d": 3 + i, "attributedSalesSameSku7d": round((3 + i) * 22.99, 2),
                         "salesOtherSku7d": 0, "unitsSoldOtherSku7d": 0, "acosClicks7d": 20.1,
                         "acosClicks14d": 18.2, "roasClicks7d": 4.9, "roasClicks14d": 5.4})
    return rows


def catalog_documents(asins: Mapping[str, Sequence[str]], no_data: frozenset[dt.date] = frozenset()
                      ) -> Callable[[str, str, dt.date, dt.date], bytes | str]:
    """``documents`` for a store selling ``asins[marketplace]`` (child ASINs; parents group them by three): the
    Sales and Traffic figures differ per ASIN and day (some ASIN-days sell nothing); ``no_data`` days are empty
    (Amazon has nothing yet). Other report types are the synthetic ones."""
    def documents(report_type: str, mkt: str, start: dt.date, end: dt.date) -> bytes | str:
        if report_type != "GET_SALES_AND_TRAFFIC_REPORT":
            return synthetic_document(report_type, mkt, start, end)
        doc = sales_and_traffic(mkt, start, end)
        if start == end and start in no_data:
            doc["salesAndTrafficByDate"], doc["salesAndTrafficByAsin"] = [], []
            return _json(doc)
        template, rows = doc["salesAndTrafficByAsin"][0], []
        for i, asin in enumerate(asins.get(mkt, ())):
            units = (start.day * 7 + i * 3) % 11
            row = json.loads(json.dumps(template))
            row["parentAsin"], row["childAsin"] = f"B0PAR{i // 3:05d}", asin
            row["salesByAsin"].update(unitsOrdered=units, totalOrderItems=units,
                                      orderedProductSales=money(units * (9.99 + i), mkt))
            row["trafficByAsin"].update(sessions=40 + i + start.day, pageViews=60 + 2 * i + start.day,
                                        buyBoxPercentage=90.0 + (i % 10))
            rows.append(row)
        doc["salesAndTrafficByAsin"] = rows
        return _json(doc)
    return documents


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class ReportType:
    """One report type the local Amazon generates."""

    api: str                                                    # "sp" (Reports 2021-06-30) or "ads" (Ads v3)
    json: bool                                                  # a JSON document (else a TSV flat file)
    synthetic: Callable[[str, dt.date, dt.date], bytes | str]   # (marketplace, start, end) → document
    # marketplace → (codec the text is encoded with, charset the download's Content-Type names or None)
    charsets: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)

    def charset(self, marketplace: str) -> tuple[str, str | None]:
        return self.charsets.get(marketplace, ("utf-8", None))


REPORT_TYPES: dict[str, ReportType] = {
    "GET_SALES_AND_TRAFFIC_REPORT": ReportType("sp", True, lambda m, a, b: _json(sales_and_traffic(m, a, b))),
    "GET_V2_SELLER_PERFORMANCE_REPORT": ReportType("sp", True, lambda m, a, b: _json(seller_performance(m))),
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL": ReportType(
        "sp", False, orders_tsv, {"US": ("utf-8", "UTF-8"), "MX": ("cp1252", "Cp1252")}),
    # UTF-8, and the download names no charset
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": ReportType("sp", False, returns_tsv),
    # cp1252, and the download names no charset
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA": ReportType(
        "sp", False, lambda m, a, b: inventory_tsv(m), {"US": ("cp1252", None), "MX": ("cp1252", None)}),
    "spAdvertisedProduct": ReportType("ads", True, lambda m, a, b: _json(ads_rows(m, a, b))),
}


def synthetic_document(report_type: str, mkt: str, start: dt.date, end: dt.date) -> bytes | str:
    return REPORT_TYPES[report_type].synthetic(mkt, start, end)
