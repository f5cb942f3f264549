"""A local Amazon for tests: LWA token endpoint, SP-API Reports 2021-06-30, Ads API v3 reporting and the
presigned "S3" downloads, on 127.0.0.1 (``ThreadingHTTPServer``).

Documents are served in Amazon's formats (gzip, TSV with varied charset headers, JSON). Fault knobs:

* ``throttle[op] = n``   the next n calls of ``op`` answer 429 (``QuotaExceeded``) with ``x-amzn-RateLimit-Limit``
  (and ``Retry-After`` when ``retry_after`` is set). ops: create, get, document, ads_create, ads_get.
* ``outcome(report) -> "DONE" | "CANCELLED" | "FATAL"``; FATAL reports carry an error document.
* ``polls_to_done``      getReport answers IN_QUEUE then IN_PROGRESS that many times before the terminal state.
* ``ads_polls_to_done``  the same for Ads (PENDING → PROCESSING → COMPLETED).
* ``ads_failed``         predicate on an Ads report: FAILED with a failureReason.
* identical Ads report requests answer 425 "duplicate of : <id>" while the first exists.
* ``documents(report_type, marketplace, start, end) -> bytes`` replaces the synthetic documents
  (JSON / text; the server encodes text with ``encodings`` and gzips it).

Amazon's rate limits (off by default; ``srv.amazon_rates(clock=..., time_scale=...)`` turns them on): every
operation has a token bucket with Amazon's published rate and burst (:data:`RATE_LIMITS`); an empty bucket
answers 429 ``QuotaExceeded`` with ``x-amzn-RateLimit-Limit`` and ``x-amzn-RequestId`` like Amazon. The
clock is the server's (``time.monotonic() * time_scale``, or a :class:`VirtualClock` that the client's
``sleep`` advances, so a benchmark measures Amazon minutes without waiting them). ``generation_s`` makes a
report / query take that long (server clock) to finish, on top of ``polls_to_done``.

Data Kiosk 2023-11-15 (``/dataKiosk/2023-11-15/...``): queries are validated against the
``analytics_salesAndTraffic_2024_04_24`` schema (graphql-core; an invalid query is a 400 InvalidInput) and
answered from the same Sales and Traffic figures the Reports API serves (``documents``), as JSONL, one record
per line. Knobs: ``dk_access`` (False → 403 on createQuery, the app lacks the Brand Analytics role),
``dk_fatal(query) -> message | None`` (FATAL with an error document), ``dk_page_size`` (pagination), and
"DONE without a document" when a query has no records.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sheets_sync.samples import amazon as samples

from .served import RateLimiter, ServedInThread, VirtualClock  # noqa: F401  (VirtualClock: re-exported for tests)

MARKETPLACE_IDS = {"ATVPDKIKX0DER": "US", "A1AM78C64UM0Y8": "MX"}
CURRENCY = {"US": "USD", "MX": "MXN"}

SP_CLIENT_ID = "amzn1.application-oa2-client.sp-test"
SP_CLIENT_SECRET = "sp-secret-DO-NOT-LOG-1234"
SP_REFRESH_TOKEN = "Atzr|sp-refresh-DO-NOT-LOG-5678"
ADS_CLIENT_ID = "amzn1.application-oa2-client.ads-test"
ADS_CLIENT_SECRET = "ads-secret-DO-NOT-LOG-9012"
ADS_REFRESH_TOKEN = "Atzr|ads-refresh-DO-NOT-LOG-3456"
ADS_PROFILES = {"US": "1111111111", "MX": "2222222222"}

# (codec used to encode the document, charset in the S3 Content-Type or None)
DEFAULT_ENCODINGS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "US"): ("utf-8", "UTF-8"),
    ("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL", "MX"): ("cp1252", "Cp1252"),
    ("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "US"): ("utf-8", None),
    ("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "MX"): ("utf-8", None),     # UTF-8 but no charset said
    ("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "US"): ("cp1252", None),
    ("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "MX"): ("cp1252", None),      # cp1252 and no charset said
}

ORDERS_HEADER = "\t".join(samples.ORDERS_HEADER)
RETURNS_HEADER = "\t".join(samples.RETURNS_HEADER)
INVENTORY_HEADER = "\t".join(samples.INVENTORY_HEADER[:18])     # the classic 18-column layout
ASINS = (("B0PARENT01", "B0CHILD001", "KPI-TEE-BLK-M", "Camiseta Niño Negra M"),
         ("B0PARENT01", "B0CHILD002", "KPI-TEE-BLK-L", "Camiseta Niño Negra L"))


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _money(amount: float, mkt: str) -> dict[str, Any]:
    return {"amount": round(amount, 2), "currencyCode": CURRENCY[mkt]}


def sales_and_traffic(mkt: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """A CHILD-granularity GET_SALES_AND_TRAFFIC_REPORT document; figures derived from the day."""
    by_date, by_asin = [], []
    for day in _days(start, end):
        units = 10 + day.day
        by_date.append({"date": day.isoformat(),
                        "salesByDate": {"orderedProductSales": _money(units * 19.99, mkt), "unitsOrdered": units,
                                        "totalOrderItems": units - 1, "unitsRefunded": 1, "refundRate": 2.5,
                                        "averageSalesPerOrderItem": _money(20.5, mkt), "averageUnitsPerOrderItem": 1.1,
                                        "averageSellingPrice": _money(19.99, mkt), "claimsGranted": 0,
                                        "claimsAmount": _money(0, mkt), "shippedProductSales": _money(units * 18, mkt),
                                        "unitsShipped": units, "ordersShipped": units - 1},
                        "trafficByDate": {"browserPageViews": 300, "mobileAppPageViews": 200, "pageViews": 500,
                                          "browserSessions": 150, "mobileAppSessions": 100, "sessions": 250,
                                          "buyBoxPercentage": 97.5, "orderItemSessionPercentage": 4.0,
                                          "unitSessionPercentage": 4.4, "averageOfferCount": 3,
                                          "averageParentItems": 1, "feedbackReceived": 0,
                                          "negativeFeedbackReceived": 0, "receivedNegativeFeedbackRate": 0.0}})
    n = len(_days(start, end))
    for i, (parent, child, _sku, _title) in enumerate(ASINS):
        units = sum(10 + d.day for d in _days(start, end)) // 2 + i
        by_asin.append({"parentAsin": parent, "childAsin": child,
                        "salesByAsin": {"unitsOrdered": units, "orderedProductSales": _money(units * 19.99, mkt),
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
    for n, day in enumerate(_days(start, end), 1):
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
    for day in _days(start, end):
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
    for day in _days(start, end):
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


def synthetic_document(report_type: str, mkt: str, start: dt.date, end: dt.date) -> bytes | str:
    if report_type == "GET_SALES_AND_TRAFFIC_REPORT":
        return json.dumps(sales_and_traffic(mkt, start, end), ensure_ascii=False).encode("utf-8")
    if report_type == "GET_V2_SELLER_PERFORMANCE_REPORT":
        return json.dumps(seller_performance(mkt)).encode("utf-8")
    if report_type == "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL":
        return orders_tsv(mkt, start, end)
    if report_type == "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA":
        return returns_tsv(mkt, start, end)
    if report_type == "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA":
        return inventory_tsv(mkt)
    if report_type == "spAdvertisedProduct":
        return json.dumps(ads_rows(mkt, start, end)).encode("utf-8")
    raise KeyError(report_type)


def _date(value: Any, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return default


# ------------------------------------------------------------------------------------ rate limits

# Amazon's published default usage plans (requests per second, burst), from the operation descriptions in
# Amazon's SP-API models (reports_2021-06-30.json, dataKiosk_2023-11-15.json). The Ads API publishes no fixed
# rates (it throttles dynamically and answers 429 with Retry-After); the Ads values are an assumption.
RATE_LIMITS: dict[str, tuple[float, int]] = {
    "create": (0.0167, 15), "get": (2.0, 15), "document": (0.0167, 15),                # Reports 2021-06-30
    "dk_create": (0.0167, 15), "dk_get": (2.0, 15), "dk_document": (0.0167, 15),       # Data Kiosk 2023-11-15
    "ads_create": (1.0, 10), "ads_get": (1.0, 10),                                     # Ads v3 (assumed)
}


# -------------------------------------------------------------------------------------- Data Kiosk

DK_PREFIX = "/dataKiosk/2023-11-15"
DK_DATASET = "analytics_salesAndTraffic_2024_04_24"

# The part of Amazon's analytics_salesAndTraffic_2024_04_24 schema this server answers (B2B twins and the
# @resultRetention directives left out). Queries naming anything else fail validation, as they would at Amazon.
DK_SCHEMA_SDL = """
scalar Date
scalar Long
enum AsinGranularity { CHILD PARENT SKU }
enum DateGranularity { DAY MONTH WEEK }
type Amount { amount: Float! currencyCode: String! }
type ByAsinSales { orderedProductSales: Amount! ordersShipped: Long! refundRate: Float!
  shippedProductSales: Amount! totalOrderItems: Long! unitsOrdered: Long! unitsRefunded: Long! unitsShipped: Long! }
type ByAsinTraffic { browserPageViews: Long! browserPageViewsPercentage: Float! browserSessionPercentage: Float!
  browserSessions: Long! buyBoxPercentage: Float! mobileAppPageViews: Long! mobileAppPageViewsPercentage: Float!
  mobileAppSessionPercentage: Float! mobileAppSessions: Long! pageViews: Long! pageViewsPercentage: Float!
  sessionPercentage: Float! sessions: Long! unitSessionPercentage: Float! }
type ByDateSales { averageSalesPerOrderItem: Amount! averageSellingPrice: Amount! averageUnitsPerOrderItem: Float!
  claimsAmount: Amount! claimsGranted: Long! orderedProductSales: Amount! ordersShipped: Long! refundRate: Float!
  shippedProductSales: Amount! totalOrderItems: Long! unitsOrdered: Long! unitsRefunded: Long! unitsShipped: Long! }
type ByDateTraffic { averageOfferCount: Long! averageParentItems: Long! browserPageViews: Long! browserSessions: Long!
  buyBoxPercentage: Float! feedbackReceived: Long! mobileAppPageViews: Long! mobileAppSessions: Long!
  negativeFeedbackReceived: Long! orderItemSessionPercentage: Float! pageViews: Long!
  receivedNegativeFeedbackRate: Float! sessions: Long! unitSessionPercentage: Float! }
type SalesAndTrafficByAsin { childAsin: String endDate: Date! marketplaceId: String! parentAsin: String!
  sales: ByAsinSales! sku: String startDate: Date! traffic: ByAsinTraffic! }
type SalesAndTrafficByDate { endDate: Date! marketplaceId: String! sales: ByDateSales! startDate: Date!
  traffic: ByDateTraffic! }
type SalesAndTrafficTrends { asinAggregation: AsinGranularity! childAsin: String endDate: Date!
  marketplaceId: String! parentAsin: String! sales: ByAsinSales! sku: String startDate: Date! traffic: ByAsinTraffic! }
input MarketplaceAsinFilter { asins: [String!]! marketplaceId: String! }
type Analytics_SalesAndTraffic_2024_04_24 {
  salesAndTrafficByAsin(aggregateBy: AsinGranularity!, endDate: Date!, marketplaceIds: [String!]!,
                        startDate: Date!): [SalesAndTrafficByAsin]
  salesAndTrafficByDate(aggregateBy: DateGranularity!, endDate: Date!, marketplaceIds: [String!]!,
                        startDate: Date!): [SalesAndTrafficByDate]
  salesAndTrafficTrends(asinAggregation: AsinGranularity!, dateAggregation: DateGranularity!, endDate: Date!,
                        filters: [MarketplaceAsinFilter!]!, startDate: Date!): [SalesAndTrafficTrends]
}
type Query { analytics_salesAndTraffic_2024_04_24: Analytics_SalesAndTraffic_2024_04_24 }
"""


class DkQueryFailed(Exception):
    """Processing a query failed: FATAL with this message in the error document."""


class DataKioskFake:
    """Data Kiosk queries of one ``AmazonServer``, answered from its Sales and Traffic documents."""

    def __init__(self, server: AmazonServer):
        from graphql import build_schema

        self.server = server
        self.schema = build_schema(DK_SCHEMA_SDL)
        self.queries: dict[str, dict[str, Any]] = {}
        self.access = True
        self.fatal: Callable[[dict[str, Any]], str | None] = lambda query: None
        self.page_size = 100_000
        self.polls_to_done: int | None = None      # None: the server's polls_to_done
        self.log: list[dict[str, Any]] = []         # every accepted query: field, marketplace, start, end, asins

    # ------------------------------------------------------------------------------- operations

    def create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        from graphql import parse, validate
        from graphql.error import GraphQLError

        if not self.access:
            return 403, {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                     "details": "The application is not authorised for this resource (role)."}]}
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            return 400, {"errors": [{"code": "InvalidInput", "message": "query is required", "details": ""}]}
        if len(" ".join(text.split())) > 8000:
            return 400, {"errors": [{"code": "InvalidInput", "message": "The query exceeds 8000 characters.",
                                     "details": ""}]}
        try:
            errors = validate(self.schema, parse(text))
        except GraphQLError as exc:
            errors = [exc]
        if errors:
            return 400, {"errors": [{"code": "InvalidInput", "message": f"Invalid query: {errors[0].message}",
                                     "details": ""}]}
        server = self.server
        token = body.get("paginationToken")
        with server.lock:
            qid = str(next(server.ids))
            query = {"queryId": qid, "query": text, "processingStatus": "IN_QUEUE", "polls": 0,
                     "createdTime": dt.datetime.now(dt.UTC).isoformat(), "created_at": server.clock(),
                     "token": token}
            self.queries[qid] = query
            server.created[("dataKiosk", self._marketplace_of(text))] += 1
        return 202, {"queryId": qid}

    def get(self, qid: str) -> tuple[int, dict[str, Any]]:
        query = self.queries.get(qid)
        if query is None:
            return 404, {"errors": [{"code": "NotFound", "message": f"query {qid}", "details": ""}]}
        server = self.server
        polls = server.polls_to_done if self.polls_to_done is None else self.polls_to_done
        with server.lock:
            query["polls"] += 1
            if query["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS"):
                if query["polls"] > polls and server.generated(query):
                    self._finish(query)
                elif query["polls"] > polls // 2:
                    query["processingStatus"] = "IN_PROGRESS"
        out: dict[str, Any] = {k: query[k] for k in ("queryId", "query", "createdTime", "processingStatus", "dataDocumentId",
                                     "errorDocumentId", "processingEndTime", "pagination") if k in query}
        return 200, out

    # --------------------------------------------------------------------------------- answers

    @staticmethod
    def _marketplace_of(text: str) -> str:
        return next((m for mid, m in MARKETPLACE_IDS.items() if mid in text), "?")

    def _finish(self, query: dict[str, Any]) -> None:
        server = self.server
        query["processingEndTime"] = dt.datetime.now(dt.UTC).isoformat()
        try:
            if query["token"]:
                prev_id, _, offset = str(query["token"]).partition(":")
                records = self.queries[prev_id]["records"]
                start = int(offset)
            else:
                message = self.fatal(query)
                if message:
                    raise DkQueryFailed(message)
                records = self._execute(query["query"])
                start = 0
        except (DkQueryFailed, KeyError, ValueError) as exc:
            query["processingStatus"] = "FATAL"
            error = json.dumps({"errorDetails": str(exc.args[0] if exc.args else exc)})
            query["errorDocumentId"] = f"amzn1.tortuga.dk.{next(server.ids)}"
            server.docs[query["errorDocumentId"]] = (error.encode("utf-8"), "application/json", False)
            return
        query["records"] = records
        query["processingStatus"] = "DONE"
        page = records[start:start + self.page_size]
        if page:           # no records: DONE with neither dataDocumentId nor errorDocumentId
            body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in page).encode("utf-8")
            doc_id = f"amzn1.tortuga.dk.{next(server.ids)}"
            server.docs[doc_id] = (body, "application/x-ndjson", False)
            query["dataDocumentId"] = doc_id
        if start + self.page_size < len(records):
            query["pagination"] = {"nextToken": f"{query['queryId']}:{start + self.page_size}"}

    def _execute(self, text: str) -> list[dict[str, Any]]:
        from graphql import graphql_sync

        found: dict[str, Any] = {}

        def field(name: str) -> Callable[..., list[dict[str, Any]]]:
            def resolve(info: Any, **args: Any) -> list[dict[str, Any]]:
                found["field"] = name
                return getattr(self, f"_{name}")(**args)
            return resolve

        root = {DK_DATASET: {n: field(n) for n in ("salesAndTrafficByDate", "salesAndTrafficByAsin",
                                                   "salesAndTrafficTrends")}}
        result = graphql_sync(self.schema, text, root_value=root)
        if result.errors:
            raise DkQueryFailed(f"Query failed: {result.errors[0].message}")
        rows: list[dict[str, Any]] = []
        for ds in (result.data or {}).values():
            for value in (ds or {}).values():
                rows.extend(value or [])
        return rows

    def _range(self, startDate: str, endDate: str) -> tuple[dt.date, dt.date]:
        start, end = dt.date.fromisoformat(startDate), dt.date.fromisoformat(endDate)
        if (self.server.today - start).days > 730:
            raise DkQueryFailed(f"startDate {start} must be no more than two years ago")
        if end < start:
            raise DkQueryFailed(f"endDate {end} is before startDate {start}")
        return start, end

    def _day_report(self, mkt: str, day: dt.date) -> dict[str, Any]:
        content = self.server.documents("GET_SALES_AND_TRAFFIC_REPORT", mkt, day, day)
        return json.loads(content)

    def _marketplaces(self, ids: list[str]) -> list[str]:
        unknown = [i for i in ids if i not in MARKETPLACE_IDS]
        if unknown:
            raise DkQueryFailed(f"unknown marketplaceIds {unknown}")
        return [MARKETPLACE_IDS[i] for i in ids]

    def _salesAndTrafficByDate(self, aggregateBy: str, startDate: str, endDate: str,
                               marketplaceIds: list[str]) -> list[dict[str, Any]]:
        if aggregateBy != "DAY":
            raise DkQueryFailed("this local server answers DAY aggregation only")
        start, end = self._range(startDate, endDate)
        out = []
        for mkt in self._marketplaces(marketplaceIds):
            self.log.append({"field": "salesAndTrafficByDate", "marketplace": mkt, "start": start, "end": end})
            for day in _days(start, end):
                for row in self._day_report(mkt, day).get("salesAndTrafficByDate") or []:
                    out.append({"startDate": row["date"], "endDate": row["date"], "marketplaceId": marketplaceIds[0],
                                "sales": row.get("salesByDate") or {}, "traffic": row.get("trafficByDate") or {}})
        return out

    @staticmethod
    def _asin_figures(row: dict[str, Any], mkt: str) -> tuple[dict[str, Any], dict[str, Any]]:
        sales = dict(row.get("salesByAsin") or {})
        ops = sales.get("orderedProductSales") or _money(0, mkt)
        sales.setdefault("unitsRefunded", 0)
        sales.setdefault("refundRate", 0.0)
        sales.setdefault("unitsShipped", sales.get("unitsOrdered", 0))
        sales.setdefault("ordersShipped", sales.get("totalOrderItems", 0))
        sales.setdefault("shippedProductSales", ops)
        return sales, dict(row.get("trafficByAsin") or {})

    def _salesAndTrafficByAsin(self, aggregateBy: str, startDate: str, endDate: str,
                               marketplaceIds: list[str]) -> list[dict[str, Any]]:
        start, end = self._range(startDate, endDate)
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for mkt in self._marketplaces(marketplaceIds):
            self.log.append({"field": "salesAndTrafficByAsin", "marketplace": mkt, "start": start, "end": end})
            for day in _days(start, end):
                for row in self._day_report(mkt, day).get("salesAndTrafficByAsin") or []:
                    key = (mkt, row.get("childAsin") or row.get("parentAsin"))
                    sales, traffic = self._asin_figures(row, mkt)
                    if key not in out:      # range totals are not needed by anyone here: first day's figures
                        out[key] = {"startDate": start.isoformat(), "endDate": end.isoformat(),
                                    "marketplaceId": marketplaceIds[0], "parentAsin": row.get("parentAsin"),
                                    "childAsin": row.get("childAsin"), "sales": sales, "traffic": traffic}
        return list(out.values())

    def _salesAndTrafficTrends(self, asinAggregation: str, dateAggregation: str, startDate: str, endDate: str,
                               filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if asinAggregation != "CHILD":
            raise DkQueryFailed("asinAggregation: only CHILD is supported")
        if dateAggregation != "DAY":
            raise DkQueryFailed("this local server answers DAY aggregation only")
        start, end = self._range(startDate, endDate)
        out = []
        for f in filters:
            asins = list(f.get("asins") or [])
            if len(asins) > 30:
                raise DkQueryFailed(f"a filter may name at most 30 ASINs, not {len(asins)}")
            mkt = self._marketplaces([f.get("marketplaceId")])[0]
            self.log.append({"field": "salesAndTrafficTrends", "marketplace": mkt, "start": start, "end": end,
                             "asins": asins})
            wanted = set(asins)
            for day in _days(start, end):
                for row in self._day_report(mkt, day).get("salesAndTrafficByAsin") or []:
                    if row.get("childAsin") in wanted:
                        sales, traffic = self._asin_figures(row, mkt)
                        out.append({"asinAggregation": "CHILD", "startDate": day.isoformat(),
                                    "endDate": day.isoformat(), "marketplaceId": f["marketplaceId"],
                                    "parentAsin": row.get("parentAsin"), "childAsin": row.get("childAsin"),
                                    "sales": sales, "traffic": traffic})
        return out


class AmazonServer(ServedInThread):
    """Start with ``with AmazonServer() as srv:``; ``srv.url`` is the base URL for every endpoint."""

    def __init__(self, documents: Callable[[str, str, dt.date, dt.date], bytes | str] | None = None,
                 today: dt.date | None = None):
        self.documents = documents or synthetic_document
        self.today = today or dt.date.today()
        self.lock = threading.RLock()
        self.ids = itertools.count(1)
        self.reports: dict[str, dict[str, Any]] = {}
        self.docs: dict[str, tuple[bytes, str, bool]] = {}       # id → (body, content-type, gzip)
        self.ads_reports: dict[str, dict[str, Any]] = {}
        self.ads_by_body: dict[str, str] = {}
        self.log: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self.created: Counter[tuple[str, str]] = Counter()        # (report type, marketplace) → createReport calls
        self.throttle: Counter[str] = Counter()
        self.rate_limit = "0.0167"
        self.retry_after: str | None = None
        self.polls_to_done = 0
        self.ads_polls_to_done = 1
        self.outcome: Callable[[dict[str, Any]], str] = lambda report: "DONE"
        self.ads_failed: Callable[[dict[str, Any]], bool] = lambda report: False
        self.encodings = dict(DEFAULT_ENCODINGS)
        self.gzip_documents = True
        self.sp_credentials = (SP_CLIENT_ID, SP_CLIENT_SECRET, SP_REFRESH_TOKEN)
        self.ads_credentials = (ADS_CLIENT_ID, ADS_CLIENT_SECRET, ADS_REFRESH_TOKEN)
        self.tokens: dict[str, str] = {}      # access token → "sp" | "ads"
        self.clock: Callable[[], float] = time.monotonic
        self.limiter: RateLimiter | None = None
        self.generation_s = 0.0
        self.data_kiosk = DataKioskFake(self)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def create_report_calls(self) -> int:
        return sum(self.created.values())

    def amazon_rates(self, clock: Callable[[], float] | None = None, time_scale: float = 1.0,
                     rates: dict[str, tuple[float, int]] | None = None) -> None:
        """Throttle every operation at Amazon's published rate and burst, on ``clock`` (default: real time
        × ``time_scale``)."""
        self.clock = clock or (lambda: time.monotonic() * time_scale)
        self.limiter = RateLimiter(rates or RATE_LIMITS, self.clock)

    def generated(self, item: dict[str, Any]) -> bool:
        """Has ``generation_s`` (server clock) passed since the report / query was created?"""
        return not self.generation_s or self.clock() - item.get("created_at", 0.0) >= self.generation_s

    @property
    def dk_access(self) -> bool:
        return self.data_kiosk.access

    @dk_access.setter
    def dk_access(self, value: bool) -> None:
        self.data_kiosk.access = value

    def env(self, ads: bool = True) -> dict[str, str]:
        env = {"LWA_APP_ID": SP_CLIENT_ID, "LWA_CLIENT_SECRET": SP_CLIENT_SECRET, "SP_API_REFRESH_TOKEN": SP_REFRESH_TOKEN}
        if ads:
            env.update({"ADS_CLIENT_ID": ADS_CLIENT_ID, "ADS_CLIENT_SECRET": ADS_CLIENT_SECRET,
                        "ADS_REFRESH_TOKEN": ADS_REFRESH_TOKEN, "ADS_PROFILE_ID_US": ADS_PROFILES["US"],
                        "ADS_PROFILE_ID_MX": ADS_PROFILES["MX"]})
        return env

    # -------------------------------------------------------------------------------- helpers

    def _take_throttle(self, op: str) -> bool:
        with self.lock:
            if self.throttle[op] > 0:
                self.throttle[op] -= 1
                return True
            return False

    def _store_doc(self, content: bytes | str, encoding: tuple[str, str | None], json_doc: bool) -> str:
        codec, charset = encoding
        body = content.encode(codec) if isinstance(content, str) else content
        ctype = ("application/json" if json_doc else "text/plain") + (f"; charset={charset}" if charset else "")
        doc_id = f"amzn1.tortuga.doc.{next(self.ids)}"
        with self.lock:
            self.docs[doc_id] = (body, ctype, self.gzip_documents)
        return doc_id

    def _finish(self, report: dict[str, Any], outcome: str) -> None:
        report["processingStatus"] = outcome
        rtype, mkt = report["reportType"], report["marketplace"]
        if outcome == "DONE":
            content = self.documents(rtype, mkt, report["start"], report["end"])
            json_doc = rtype in ("GET_SALES_AND_TRAFFIC_REPORT", "GET_V2_SELLER_PERFORMANCE_REPORT")
            report["reportDocumentId"] = self._store_doc(content, self.encodings.get((rtype, mkt), ("utf-8", None)),
                                                         json_doc)
        elif outcome == "FATAL":
            error = json.dumps({"errorDetails": f"Report generation failed for {rtype}: the requested date range "
                                                "exceeds the data retention period (error 4xx-TEST)"})
            report["reportDocumentId"] = self._store_doc(error, ("utf-8", "UTF-8"), True)
        report["processingEndTime"] = dt.datetime.now(dt.UTC).isoformat()

    # -------------------------------------------------------------------------------- handler

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: bytes | dict[str, Any] | list[Any], ctype: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if isinstance(body, dict | list) else body
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _record(self, body: bytes) -> None:
                with server.lock:
                    server.log.append({"method": self.command, "path": self.path, "body": body.decode("utf-8", "replace"),
                                       "headers": {k.lower(): v for k, v in self.headers.items()}})

            def _throttled(self, op: str) -> bool:
                limited = server.limiter is not None and not server.limiter.take(op)
                if limited:
                    server.calls[f"429:{op}"] += 1
                if not limited and not server._take_throttle(op):
                    return False
                rate = server.limiter.rates[op][0] if limited else server.rate_limit
                headers = {"x-amzn-RateLimit-Limit": str(rate), "x-amzn-RequestId": str(uuid.uuid4())}
                if server.retry_after is not None:
                    headers["Retry-After"] = server.retry_after
                elif limited and op.startswith("ads"):      # the Ads API says when to come back
                    headers["Retry-After"] = str(max(1, round(1 / float(rate))))
                if op.startswith("ads"):
                    self._send(429, {"code": "429", "details": "Too Many Requests"}, headers=headers)
                else:
                    self._send(429, {"errors": [{"code": "QuotaExceeded",
                                                 "message": "You exceeded your quota for the requested resource.",
                                                 "details": ""}]},
                               headers=headers)
                return True

            # ---------------------------------------------------------------------- routes

            def do_POST(self) -> None:
                body = self._body()
                self._record(body)
                path = urlsplit(self.path).path
                if path == "/auth/o2/token":
                    return self._token(body)
                if path == "/reports/2021-06-30/reports":
                    return self._sp_create(body)
                if path == "/reporting/reports":
                    return self._ads_create(body)
                if path == DK_PREFIX + "/queries":
                    return self._dk_create(body)
                self._send(404, {"errors": [{"code": "NotFound", "message": path}]})

            def do_GET(self) -> None:
                self._record(b"")
                parts = urlsplit(self.path)
                path = parts.path
                if path.startswith("/reports/2021-06-30/reports/"):
                    return self._sp_get(path.rsplit("/", 1)[1], parse_qs(parts.query))
                if path.startswith("/reports/2021-06-30/documents/"):
                    return self._sp_document(path.rsplit("/", 1)[1])
                if path.startswith("/s3/"):
                    return self._s3(path[4:])
                if path.startswith("/reporting/reports/"):
                    return self._ads_get(path.rsplit("/", 1)[1])
                if path.startswith("/ads-s3/"):
                    return self._ads_s3(path[len("/ads-s3/"):])
                if path.startswith(DK_PREFIX + "/queries/"):
                    return self._dk_get(path.rsplit("/", 1)[1])
                if path.startswith(DK_PREFIX + "/documents/"):
                    return self._dk_document(path.rsplit("/", 1)[1])
                self._send(404, {"errors": [{"code": "NotFound", "message": path}]})

            def _token(self, body: bytes) -> None:
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                server.calls["token"] += 1
                pair = (form.get("client_id"), form.get("client_secret"))
                for kind, (cid, secret, refresh) in (("sp", server.sp_credentials), ("ads", server.ads_credentials)):
                    if pair == (cid, secret):
                        if form.get("refresh_token") != refresh:
                            return self._send(400, {"error": "invalid_grant", "error_description":
                                                    "The request has an invalid grant parameter : refresh_token"})
                        token = f"Atza|{kind}-{next(server.ids)}"
                        server.tokens[token] = kind
                        return self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600,
                                                "refresh_token": refresh})
                self._send(401, {"error": "invalid_client", "error_description": "Client authentication failed"})

            def _sp_auth(self) -> bool:
                if server.tokens.get(self.headers.get("x-amz-access-token") or "") == "sp":
                    return True
                self._send(403, {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                             "details": "The access token you provided is revoked, malformed or invalid."}]})
                return False

            def _sp_create(self, body: bytes) -> None:
                if not self._sp_auth() or self._throttled("create"):
                    return
                req = json.loads(body or b"{}")
                mids = req.get("marketplaceIds") or []
                if len(mids) != 1 or mids[0] not in MARKETPLACE_IDS:
                    return self._send(400, {"errors": [{"code": "InvalidInput",
                                                        "message": f"bad marketplaceIds {mids}"}]})
                rid = str(next(server.ids))
                mkt = MARKETPLACE_IDS[mids[0]]
                report = {"reportId": rid, "reportType": req.get("reportType"), "marketplace": mkt,
                          "marketplaceIds": mids, "request": req, "polls": 0, "processingStatus": "IN_QUEUE",
                          "start": _date(req.get("dataStartTime"), server.today),
                          "end": _date(req.get("dataEndTime"), server.today),
                          "createdTime": dt.datetime.now(dt.UTC).isoformat(), "created_at": server.clock()}
                with server.lock:
                    server.reports[rid] = report
                    server.created[(report["reportType"], mkt)] += 1
                self._send(202, {"reportId": rid})

            def _sp_get(self, rid: str, query: dict[str, list[str]]) -> None:
                if not self._sp_auth() or self._throttled("get"):
                    return
                report = server.reports.get(rid)
                if report is None:
                    return self._send(404, {"errors": [{"code": "NotFound", "message": f"report {rid}"}]})
                with server.lock:
                    report["polls"] += 1
                    if report["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS"):
                        if report["polls"] > server.polls_to_done and server.generated(report):
                            server._finish(report, server.outcome(report))
                        elif report["polls"] > server.polls_to_done // 2:
                            report["processingStatus"] = "IN_PROGRESS"
                out = {k: v for k, v in report.items()
                       if k in ("reportId", "reportType", "marketplaceIds", "processingStatus", "reportDocumentId",
                                "createdTime", "processingEndTime")}
                out["dataStartTime"] = report["request"].get("dataStartTime")
                out["dataEndTime"] = report["request"].get("dataEndTime")
                self._send(200, out)

            def _sp_document(self, doc_id: str) -> None:
                if not self._sp_auth() or self._throttled("document"):
                    return
                if doc_id not in server.docs:
                    return self._send(404, {"errors": [{"code": "NotFound", "message": doc_id}]})
                out = {"reportDocumentId": doc_id, "url": f"{server.url}/s3/{doc_id}"}
                if server.docs[doc_id][2]:
                    out["compressionAlgorithm"] = "GZIP"
                self._send(200, out)

            def _s3(self, doc_id: str) -> None:
                server.calls["s3"] += 1
                if self.headers.get("x-amz-access-token") or self.headers.get("Authorization"):
                    return self._send(400, b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism "
                                           b"allowed</Message></Error>", ctype="application/xml")
                if doc_id not in server.docs:
                    return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
                body, ctype, gz = server.docs[doc_id]
                self._send(200, gzip.compress(body) if gz else body, ctype=ctype)

            # ------------------------------------------------------------------ Data Kiosk

            def _dk_create(self, body: bytes) -> None:
                if not self._sp_auth() or self._throttled("dk_create"):
                    return
                code, payload = server.data_kiosk.create(json.loads(body or b"{}"))
                self._send(code, payload)

            def _dk_get(self, qid: str) -> None:
                if not self._sp_auth() or self._throttled("dk_get"):
                    return
                code, payload = server.data_kiosk.get(qid)
                self._send(code, payload)

            def _dk_document(self, doc_id: str) -> None:
                if not self._sp_auth() or self._throttled("dk_document"):
                    return
                if doc_id not in server.docs:
                    return self._send(404, {"errors": [{"code": "NotFound", "message": doc_id, "details": ""}]})
                self._send(200, {"documentId": doc_id, "documentUrl": f"{server.url}/s3/{doc_id}"})

            # ------------------------------------------------------------------------- Ads

            def _ads_auth(self) -> str | None:
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if server.tokens.get(token) != "ads" or self.headers.get("Amazon-Advertising-API-ClientId") != \
                        server.ads_credentials[0]:
                    self._send(401, {"code": "UNAUTHORIZED", "details": "Not authorized to access this advertiser"})
                    return None
                scope = self.headers.get("Amazon-Advertising-API-Scope") or ""
                mkt = next((m for m, p in ADS_PROFILES.items() if p == scope), None)
                if mkt is None:
                    self._send(403, {"code": "403", "details": f"Profile {scope} not found for this advertiser"})
                    return None
                return mkt

            def _ads_create(self, body: bytes) -> None:
                mkt = self._ads_auth()
                if mkt is None or self._throttled("ads_create"):
                    return
                req = json.loads(body or b"{}")
                retention = server.today - dt.timedelta(days=95)       # the real API keeps 95 days
                if _date(req.get("startDate"), server.today) < retention:
                    return self._send(400, {"code": "400", "detail": f"startDate ({req.get('startDate')}) must be "
                                            "equal to or after report type data retention start date "
                                            f"({retention.isoformat()})"})
                key = f"{mkt}:{json.dumps(req, sort_keys=True)}"
                with server.lock:
                    server.created[("spAdvertisedProduct", mkt)] += 1
                    if key in server.ads_by_body:
                        return self._send(425, {"code": "425", "detail": "The Request is a duplicate of : "
                                                                          f"{server.ads_by_body[key]}"})
                    rid = f"ads-{next(server.ids):04d}-0000-4000-8000-000000000000"
                    server.ads_by_body[key] = rid
                    server.ads_reports[rid] = {"reportId": rid, "marketplace": mkt, "request": req, "polls": 0,
                                               "status": "PENDING", "start": _date(req.get("startDate"), server.today),
                                               "end": _date(req.get("endDate"), server.today)}
                self._send(200, {"reportId": rid, "status": "PENDING", "name": req.get("name")})

            def _ads_get(self, rid: str) -> None:
                mkt = self._ads_auth()
                if mkt is None or self._throttled("ads_get"):
                    return
                report = server.ads_reports.get(rid)
                if report is None or report["marketplace"] != mkt:
                    return self._send(404, {"code": "404", "details": f"report {rid} not found"})
                with server.lock:
                    report["polls"] += 1
                    if report["status"] in ("PENDING", "PROCESSING"):
                        if report["polls"] > server.ads_polls_to_done:
                            if server.ads_failed(report):
                                report["status"] = "FAILED"
                                report["failureReason"] = "Report generation failed: internal error (TEST)"
                            else:
                                report["status"] = "COMPLETED"
                                report["url"] = f"{server.url}/ads-s3/{rid}.json.gz"
                        elif report["polls"] > 1:
                            report["status"] = "PROCESSING"
                out = {k: report.get(k) for k in ("reportId", "status", "url", "failureReason")}
                out["fileSize"] = 1000
                self._send(200, out)

            def _ads_s3(self, name: str) -> None:
                server.calls["ads_s3"] += 1
                if self.headers.get("Authorization"):
                    return self._send(400, b"<Error><Code>InvalidArgument</Code></Error>", ctype="application/xml")
                rid = name.split(".", 1)[0]
                report = server.ads_reports.get(rid)
                if report is None or report["status"] != "COMPLETED":
                    return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
                content = server.documents("spAdvertisedProduct", report["marketplace"], report["start"], report["end"])
                body = content.encode("utf-8") if isinstance(content, str) else content
                self._send(200, gzip.compress(body), ctype="application/octet-stream")

        return Handler


# ------------------------------------------------------------------------------------- test helpers

def make_config(srv: AmazonServer, data_dir: Any, env: dict[str, str] | None = None) -> Any:
    """A Config pointing every Amazon endpoint at ``srv``."""
    from sheets_sync.config import Config

    return Config(data_dir=data_dir, sp_api_endpoint=srv.url, ads_api_endpoint=srv.url,
                  lwa_token_url=f"{srv.url}/auth/o2/token", env=srv.env() if env is None else env)


@pytest.fixture
def fresh_tokens():
    """Clear the libraries' module-global token caches around a test (modules opt in with usefixtures)."""
    clear_token_caches()
    yield
    clear_token_caches()


def clear_token_caches() -> None:
    """python-amazon-sp-api and python-amazon-ad-api cache LWA tokens in module globals."""
    import sp_api.auth.access_token_client as sp_atc

    sp_atc.cache.clear()
    sp_atc.grantless_cache.clear()
    from sheets_sync.sources.ads import _ad_api

    _ad_api()
    import ad_api.auth.access_token_client as ad_atc

    ad_atc.cache.clear()


def utc_noon(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(19, 0), tzinfo=dt.UTC).timestamp()   # noon in US Pacific (PDT)
