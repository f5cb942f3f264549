"""Data Kiosk 2023-11-15 for the local Amazon (:mod:`.amazon_server`): ``createQuery``, ``getQuery``,
``cancelQuery``, ``getDocument``, answered from the server's Sales and Traffic figures.

What it follows, and where Amazon says so:

* **Schema** — ``analytics_salesAndTraffic_2024_04_24`` as published in amzn/selling-partner-api-models
  (``schemas/data-kiosk/analytics_salesAndTraffic_2024_04_24.graphql``, last changed 2026-02-25): the three
  queries, every type and field including the B2B twins, and the date each field was added (2026-01-28:
  refunds by ASIN and B2B claims/feedback; 2026-02-25: shipped units, orders and sales by ASIN). A query is
  validated against the schema as of :attr:`DataKioskFake.schema_revision` (default: the latest); naming a
  field the schema does not have is ``400 InvalidInput``. ``@resultRetention`` (30 days on every field) is not
  modelled.
* **createQuery** (dataKiosk_2023-11-15.json): a query is at most 8,000 characters once unnecessary whitespace
  is removed; the next page is another ``createQuery`` with ``paginationToken`` and the same query. The Data
  Kiosk use case guide: "Data Kiosk limits the number of concurrent non-terminal queries per selling partner
  and per GraphQL query" and "does not support query backlogging". Amazon publishes neither the number nor
  the answer: **guess** — at most :data:`MAX_OPEN_QUERIES` queries ``IN_QUEUE``/``IN_PROGRESS`` per seller,
  and one per identical query text and token, beyond which ``createQuery`` answers 429 ``QuotaExceeded`` (in
  the model's ``ErrorList`` shape).
* **getQuery** (model ``Query``): ``IN_QUEUE`` → ``IN_PROGRESS`` → ``DONE`` | ``FATAL`` | ``CANCELLED``;
  ``DONE`` carries ``dataDocumentId`` only when there is data ("DONE with neither document" = no data for the
  range, Data Kiosk use case guide), ``FATAL`` an ``errorDocumentId`` whose JSON document says why,
  ``CANCELLED`` ("cancelled before it began processing") neither. ``pagination.nextToken`` when more pages.
* **cancelQuery**: only ``IN_QUEUE``/``IN_PROGRESS`` queries; a ``CANCELLED`` one is a no-op.
* **getDocument** (model ``GetDocumentResponse``): ``documentId`` and a presigned ``documentUrl`` that expires
  after 5 minutes; "If the Data Kiosk document is compressed, the ``Content-Encoding`` header will indicate the
  compression algorithm" — documents are served gzip'd with ``Content-Encoding: gzip`` unless
  :attr:`DataKioskFake.compress` is off.
* Answers are JSONL, one record per line (the use case guide's "JSONL format").

Knobs: ``access`` (False → 403 on createQuery: the app lacks the Brand Analytics role), ``fatal(query) ->
message | None``, ``cancelled(query) -> bool``, ``page_size``, ``polls_to_done``, ``max_open``,
``schema_revision``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .amazon_documents import MARKETPLACE_IDS, days, money

if TYPE_CHECKING:
    from .amazon_server import AmazonServer

PREFIX = "/dataKiosk/2023-11-15"
DATASET = "analytics_salesAndTraffic_2024_04_24"
MAX_QUERY_CHARS = 8000
MAX_OPEN_QUERIES = 10          # guess: Amazon limits non-terminal queries per seller but publishes no number
OPEN = ("IN_QUEUE", "IN_PROGRESS")

_2024, _JAN26, _FEB26 = "2024-04-24", "2026-01-28", "2026-02-25"
LATEST_REVISION = _FEB26

# type → (field, GraphQL type, added, B2B twin added or None). Every twin is the same type made nullable.
_TYPES: dict[str, list[tuple[str, str, str, str | None]]] = {
    "ByAsinSales": [
        ("orderedProductSales", "Amount!", _2024, _2024), ("ordersShipped", "Long!", _FEB26, _FEB26),
        ("refundRate", "Float!", _JAN26, _JAN26), ("shippedProductSales", "Amount!", _FEB26, _FEB26),
        ("totalOrderItems", "Long!", _2024, _2024), ("unitsOrdered", "Long!", _2024, _2024),
        ("unitsRefunded", "Long!", _JAN26, _JAN26), ("unitsShipped", "Long!", _FEB26, _FEB26)],
    "ByAsinTraffic": [(name, kind, _2024, _2024) for name, kind in (
        ("browserPageViews", "Long!"), ("browserPageViewsPercentage", "Float!"),
        ("browserSessionPercentage", "Float!"), ("browserSessions", "Long!"), ("buyBoxPercentage", "Float!"),
        ("mobileAppPageViews", "Long!"), ("mobileAppPageViewsPercentage", "Float!"),
        ("mobileAppSessionPercentage", "Float!"), ("mobileAppSessions", "Long!"), ("pageViews", "Long!"),
        ("pageViewsPercentage", "Float!"), ("sessionPercentage", "Float!"), ("sessions", "Long!"),
        ("unitSessionPercentage", "Float!"))],
    "ByDateSales": [
        ("averageSalesPerOrderItem", "Amount!", _2024, _2024), ("averageSellingPrice", "Amount!", _2024, _2024),
        ("averageUnitsPerOrderItem", "Float!", _2024, _2024), ("claimsAmount", "Amount!", _2024, _JAN26),
        ("claimsGranted", "Long!", _2024, _JAN26), ("orderedProductSales", "Amount!", _2024, _2024),
        ("ordersShipped", "Long!", _2024, _FEB26), ("refundRate", "Float!", _2024, _JAN26),
        ("shippedProductSales", "Amount!", _2024, _FEB26), ("totalOrderItems", "Long!", _2024, _2024),
        ("unitsOrdered", "Long!", _2024, _2024), ("unitsRefunded", "Long!", _2024, _JAN26),
        ("unitsShipped", "Long!", _2024, _FEB26)],
    "ByDateTraffic": [
        ("averageOfferCount", "Long!", _2024, None), ("averageParentItems", "Long!", _2024, None),
        ("browserPageViews", "Long!", _2024, _2024), ("browserSessions", "Long!", _2024, _2024),
        ("buyBoxPercentage", "Float!", _2024, _2024), ("feedbackReceived", "Long!", _2024, _JAN26),
        ("mobileAppPageViews", "Long!", _2024, _2024), ("mobileAppSessions", "Long!", _2024, _2024),
        ("negativeFeedbackReceived", "Long!", _2024, _JAN26), ("orderItemSessionPercentage", "Float!", _2024, _2024),
        ("pageViews", "Long!", _2024, _2024), ("receivedNegativeFeedbackRate", "Float!", _2024, _JAN26),
        ("sessions", "Long!", _2024, _2024), ("unitSessionPercentage", "Float!", _2024, _2024)],
}

_FIXED_SDL = """
scalar Date
scalar Long
enum AsinGranularity { CHILD PARENT SKU }
enum DateGranularity { DAY MONTH WEEK }
type Amount { amount: Float! currencyCode: String! }
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


def schema_sdl(revision: str = LATEST_REVISION) -> str:
    """The dataset's schema (SDL) as it stood on ``revision`` (an ISO date)."""
    blocks = []
    for type_name, fields in _TYPES.items():
        lines = []
        for name, kind, added, twin in fields:
            if added <= revision:
                lines.append(f"{name}: {kind}")
            if twin is not None and twin <= revision:
                lines.append(f"{name}B2B: {kind.rstrip('!')}")
        blocks.append(f"type {type_name} {{ {' '.join(lines)} }}")
    return _FIXED_SDL + "\n".join(blocks) + "\n"


class QueryFailed(Exception):
    """Processing a query failed: FATAL with this message in the error document."""


def _error(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": ""}]}


class DataKioskFake:
    """Data Kiosk queries of one ``AmazonServer``, answered from its Sales and Traffic documents."""

    def __init__(self, server: AmazonServer):
        self.server = server
        self.queries: dict[str, dict[str, Any]] = {}
        self.access = True
        self.fatal: Callable[[dict[str, Any]], str | None] = lambda query: None
        self.cancelled: Callable[[dict[str, Any]], bool] = lambda query: False
        self.page_size = 100_000
        self.polls_to_done: int | None = None      # None: the server's polls_to_done
        self.max_open = MAX_OPEN_QUERIES
        self.compress = True
        self.schema_revision = LATEST_REVISION
        self._schemas: dict[str, Any] = {}
        self._day_reports: dict[tuple[Any, str, dt.date], dict[str, Any]] = {}
        self.log: list[dict[str, Any]] = []         # every executed query: field, marketplace, start, end, asins
        self.most_open = 0                          # the most queries IN_QUEUE / IN_PROGRESS at once

    def schema(self) -> Any:
        from graphql import build_schema

        if self.schema_revision not in self._schemas:
            self._schemas[self.schema_revision] = build_schema(schema_sdl(self.schema_revision))
        return self._schemas[self.schema_revision]

    def open_queries(self) -> int:
        return sum(q["processingStatus"] in OPEN for q in self.queries.values())

    # ------------------------------------------------------------------------------- operations

    def create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        from graphql import parse, validate
        from graphql.error import GraphQLError

        if not self.access:
            return 403, {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                     "details": "The application is not authorised for this resource (role)."}]}
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            return 400, _error("InvalidInput", "query is required")
        if len(" ".join(text.split())) > MAX_QUERY_CHARS:
            return 400, _error("InvalidInput", f"The query exceeds {MAX_QUERY_CHARS} characters.")
        try:
            errors = validate(self.schema(), parse(text))
        except GraphQLError as exc:
            errors = [exc]
        if errors:
            return 400, _error("InvalidInput", f"Invalid query: {errors[0].message}")
        server = self.server
        token = body.get("paginationToken")
        with server.lock:
            if any(q["query"] == text and q["token"] == token and q["processingStatus"] in OPEN
                   for q in self.queries.values()):
                return 429, _error("QuotaExceeded", "The same query is already IN_QUEUE or IN_PROGRESS.")
            if self.open_queries() >= self.max_open:
                return 429, _error("QuotaExceeded", f"You already have {self.max_open} queries IN_QUEUE or "
                                                    "IN_PROGRESS; wait for one to finish.")
            qid = str(next(server.ids))
            self.queries[qid] = {"queryId": qid, "query": text, "processingStatus": "IN_QUEUE", "polls": 0,
                                 "createdTime": dt.datetime.now(dt.UTC).isoformat(), "created_at": server.clock(),
                                 "token": token}
            self.most_open = max(self.most_open, self.open_queries())
            server.created[("dataKiosk", next((m for mid, m in MARKETPLACE_IDS.items() if mid in text), "?"))] += 1
        return 202, {"queryId": qid}

    def get(self, qid: str) -> tuple[int, dict[str, Any]]:
        query = self.queries.get(qid)
        if query is None:
            return 404, _error("NotFound", f"query {qid}")
        server = self.server
        polls = server.polls_to_done if self.polls_to_done is None else self.polls_to_done
        with server.lock:
            query["polls"] += 1
            if query["processingStatus"] in OPEN:
                if self.cancelled(query):
                    self._cancel(query)
                elif query["polls"] > polls and server.generated(query):
                    self._finish(query)
                elif query["polls"] > polls // 2:
                    query["processingStatus"] = "IN_PROGRESS"
                    query.setdefault("processingStartTime", dt.datetime.now(dt.UTC).isoformat())
        return 200, {k: query[k] for k in ("queryId", "query", "createdTime", "processingStatus",
                                           "processingStartTime", "processingEndTime", "dataDocumentId",
                                           "errorDocumentId", "pagination") if k in query}

    def cancel(self, qid: str) -> tuple[int, dict[str, Any]]:
        query = self.queries.get(qid)
        if query is None:
            return 404, _error("NotFound", f"query {qid}")
        with self.server.lock:
            if query["processingStatus"] in OPEN:
                self._cancel(query)
            elif query["processingStatus"] != "CANCELLED":
                return 400, _error("InvalidInput", f"query {qid} is {query['processingStatus']}, not cancellable")
        return 200, {}

    def document(self, doc_id: str) -> tuple[int, dict[str, Any]]:
        if doc_id not in self.server.docs:
            return 400, _error("NotFound", "The provided documentId was not found.")     # the model's example
        return 200, {"documentId": doc_id, "documentUrl": self.server.presigned_url(doc_id)}

    # --------------------------------------------------------------------------------- answers

    def _cancel(self, query: dict[str, Any]) -> None:
        query["processingStatus"] = "CANCELLED"
        query["processingEndTime"] = dt.datetime.now(dt.UTC).isoformat()

    def _store(self, body: bytes, ctype: str) -> str:
        return self.server.store_document(body, ctype, "content-encoding" if self.compress else None,
                                          prefix="amzn1.tortuga.dk")

    def _finish(self, query: dict[str, Any]) -> None:
        query["processingEndTime"] = dt.datetime.now(dt.UTC).isoformat()
        try:
            if query["token"]:
                prev_id, _, offset = str(query["token"]).partition(":")
                records = self.queries[prev_id]["records"]
                start = int(offset)
            else:
                message = self.fatal(query)
                if message:
                    raise QueryFailed(message)
                records = self._execute(query["query"])
                start = 0
        except (QueryFailed, KeyError, ValueError) as exc:
            query["processingStatus"] = "FATAL"
            error = json.dumps({"errorDetails": str(exc.args[0] if exc.args else exc)})
            query["errorDocumentId"] = self._store(error.encode("utf-8"), "application/json")
            return
        query["records"] = records
        query["processingStatus"] = "DONE"
        page = records[start:start + self.page_size]
        if page:           # no records: DONE with neither dataDocumentId nor errorDocumentId
            body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in page).encode("utf-8")
            query["dataDocumentId"] = self._store(body, "application/x-ndjson")
        if start + self.page_size < len(records):
            query["pagination"] = {"nextToken": f"{query['queryId']}:{start + self.page_size}"}

    def _execute(self, text: str) -> list[dict[str, Any]]:
        from graphql import graphql_sync

        def field(name: str) -> Callable[..., list[dict[str, Any]]]:
            def resolve(info: Any, **args: Any) -> list[dict[str, Any]]:
                return getattr(self, f"_{name}")(**args)
            return resolve

        root = {DATASET: {n: field(n) for n in ("salesAndTrafficByDate", "salesAndTrafficByAsin",
                                                "salesAndTrafficTrends")}}
        result = graphql_sync(self.schema(), text, root_value=root)
        if result.errors:
            raise QueryFailed(f"Query failed: {result.errors[0].message}")
        rows: list[dict[str, Any]] = []
        for ds in (result.data or {}).values():
            for value in (ds or {}).values():
                rows.extend(value or [])
        return rows

    def _range(self, startDate: str, endDate: str) -> tuple[dt.date, dt.date]:
        start, end = dt.date.fromisoformat(startDate), dt.date.fromisoformat(endDate)
        if (self.server.today - start).days > 730:
            raise QueryFailed(f"startDate {start} must be no more than two years ago")
        if end < start:
            raise QueryFailed(f"endDate {end} is before startDate {start}")
        return start, end

    def _day_report(self, mkt: str, day: dt.date) -> dict[str, Any]:
        """The day's Sales and Traffic document (kept while ``server.documents`` stays the same function)."""
        key = (self.server.documents, mkt, day)
        if key not in self._day_reports:
            self._day_reports[key] = json.loads(self.server.documents("GET_SALES_AND_TRAFFIC_REPORT", mkt, day, day))
        return self._day_reports[key]

    @staticmethod
    def _marketplaces(ids: list[str]) -> list[str]:
        unknown = [i for i in ids if i not in MARKETPLACE_IDS]
        if unknown:
            raise QueryFailed(f"unknown marketplaceIds {unknown}")
        return [MARKETPLACE_IDS[i] for i in ids]

    def _salesAndTrafficByDate(self, aggregateBy: str, startDate: str, endDate: str,
                               marketplaceIds: list[str]) -> list[dict[str, Any]]:
        if aggregateBy != "DAY":
            raise QueryFailed("this local server answers DAY aggregation only")
        start, end = self._range(startDate, endDate)
        out = []
        for mkt in self._marketplaces(marketplaceIds):
            self.log.append({"field": "salesAndTrafficByDate", "marketplace": mkt, "start": start, "end": end})
            for day in days(start, end):
                for row in self._day_report(mkt, day).get("salesAndTrafficByDate") or []:
                    out.append({"startDate": row["date"], "endDate": row["date"], "marketplaceId": marketplaceIds[0],
                                "sales": row.get("salesByDate") or {}, "traffic": row.get("trafficByDate") or {}})
        return out

    @staticmethod
    def _asin_figures(row: dict[str, Any], mkt: str) -> tuple[dict[str, Any], dict[str, Any]]:
        sales = dict(row.get("salesByAsin") or {})
        ops = sales.get("orderedProductSales") or money(0, mkt)
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
            for day in days(start, end):
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
            raise QueryFailed("asinAggregation: only CHILD is supported")
        if dateAggregation != "DAY":
            raise QueryFailed("this local server answers DAY aggregation only")
        start, end = self._range(startDate, endDate)
        out = []
        for f in filters:
            asins = list(f.get("asins") or [])
            if len(asins) > 30:
                raise QueryFailed(f"a filter may name at most 30 ASINs, not {len(asins)}")
            mkt = self._marketplaces([f.get("marketplaceId")])[0]
            self.log.append({"field": "salesAndTrafficTrends", "marketplace": mkt, "start": start, "end": end,
                             "asins": asins})
            wanted = set(asins)
            for day in days(start, end):
                for row in self._day_report(mkt, day).get("salesAndTrafficByAsin") or []:
                    if row.get("childAsin") in wanted:
                        sales, traffic = self._asin_figures(row, mkt)
                        out.append({"asinAggregation": "CHILD", "startDate": day.isoformat(),
                                    "endDate": day.isoformat(), "marketplaceId": f["marketplaceId"],
                                    "parentAsin": row.get("parentAsin"), "childAsin": row.get("childAsin"),
                                    "sales": sales, "traffic": traffic})
        return out

