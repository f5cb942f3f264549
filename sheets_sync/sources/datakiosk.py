"""Data Kiosk (``analytics_salesAndTraffic_2024_04_24``): GraphQL queries for daily sales and traffic, and the
JSONL documents they return turned into the same Sales and Traffic documents the Reports API gives.

Nothing here talks to Amazon: :class:`~sheets_sync.sources.spapi.SpApiSource` sends the queries built here
(``createQuery`` → ``getQuery`` → ``getDocument``) and hands the downloaded documents back to :func:`parse_jsonl`
and :func:`daily_documents`.

Per marketplace and run of days, three kinds of query:

* ``salesAndTrafficByDate(aggregateBy: DAY)`` — the account's daily totals (sales, units, order items,
  refunds, sessions, page views, Buy Box);
* ``salesAndTrafficByAsin(aggregateBy: CHILD)`` over the whole run — which child ASINs had sales or traffic
  (the ``salesAndTrafficTrends`` query needs the ASINs named);
* ``salesAndTrafficTrends(asinAggregation: CHILD, dateAggregation: DAY)`` — per-ASIN daily figures, one
  query per :data:`MAX_TRENDS_ASINS` ASINs (one marketplace filter each).

The dataset's limits (schema and model, 2024-04-24): a start date at most two years ago, up to 30 child ASINs
per trends filter, a query of at most 8,000 characters once unneeded whitespace is removed. A run is at most
:data:`MAX_QUERY_DAYS` days (our own bound: one month per query keeps each document small).

Documents are JSONL, one object per line: each line is one element of the queried list (``startDate``,
``endDate``, ``marketplaceId``, ``childAsin``…, ``sales{…}``, ``traffic{…}``). A line shaped as a whole
GraphQL answer (``{"data": {"analytics_salesAndTraffic_2024_04_24": {"<query>": [...]}}}``) is accepted too.
"DONE without a document" means Amazon has no data for the range: those days are *not ready*, never zero.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..frames import MARKETPLACES
from .parsing.containers import load_json

DATASET = "analytics_salesAndTraffic_2024_04_24"
MAX_TRENDS_ASINS = 30          # child ASINs per MarketplaceAsinFilter
MAX_QUERY_CHARS = 8000         # createQuery: after unnecessary whitespace is removed
MAX_QUERY_DAYS = 31
MAX_LOOKBACK_DAYS = 730        # "the start date must be no more than two years ago"
# Our own bound on queries IN_QUEUE / IN_PROGRESS at once: Data Kiosk "limits the number of concurrent
# non-terminal queries per selling partner" (use case guide) but publishes no number; a refusal lowers it.
MAX_OPEN_QUERIES = 10
REPORT_TYPE = "GET_SALES_AND_TRAFFIC_REPORT"     # what the daily documents look like (and where they are cached)

# Each query selects what sources/parsing/sales_traffic.py reads from a Sales and Traffic document, and nothing
# more: every field named is one more that a schema revision, a region or a seller's access can refuse (the
# dataset gained refunds and shipped figures by ASIN, and B2B twins, in 2026), and the shortest
# @resultRetention of the fields named becomes the query's. tests/test_datakiosk.py checks that dropping any
# selected field changes what the parser gives.
_AMOUNT = "{amount currencyCode}"
DATE_SALES = ("orderedProductSales " + _AMOUNT, "unitsOrdered", "totalOrderItems", "unitsRefunded")
DATE_TRAFFIC = ("sessions", "pageViews", "buyBoxPercentage")
ASIN_SALES = ("orderedProductSales " + _AMOUNT, "unitsOrdered", "totalOrderItems")
ASIN_TRAFFIC = ("sessions", "pageViews", "buyBoxPercentage")


class QueryError(ValueError):
    """A query that would break the dataset's limits (a bug here, never sent)."""


def _minified(text: str) -> str:
    return " ".join(text.split())


def _wrap(field_call: str, selection: str) -> str:
    query = f"query {{ {DATASET} {{ {field_call} {{ {selection} }} }} }}"
    query = _minified(query)
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"Data Kiosk query of {len(query)} characters (at most {MAX_QUERY_CHARS})")
    return query


def _check_range(start: dt.date, end: dt.date, today: dt.date | None) -> None:
    if end < start:
        raise QueryError(f"Data Kiosk range {start}..{end} ends before it starts")
    if today is not None and (today - start).days > MAX_LOOKBACK_DAYS:
        raise QueryError(f"Data Kiosk start date {start} is more than two years before {today}")


def _mid(marketplace: str) -> str:
    return MARKETPLACES[marketplace]["marketplace_id"]


def by_date_query(marketplace: str, start: dt.date, end: dt.date, today: dt.date | None = None) -> str:
    _check_range(start, end, today)
    call = (f'salesAndTrafficByDate(aggregateBy: DAY, startDate: "{start.isoformat()}", '
            f'endDate: "{end.isoformat()}", marketplaceIds: ["{_mid(marketplace)}"])')
    return _wrap(call, f"startDate sales {{ {' '.join(DATE_SALES)} }} traffic {{ {' '.join(DATE_TRAFFIC)} }}")


def asins_query(marketplace: str, start: dt.date, end: dt.date, today: dt.date | None = None) -> str:
    """Which child ASINs had sales or traffic over the range."""
    _check_range(start, end, today)
    call = (f'salesAndTrafficByAsin(aggregateBy: CHILD, startDate: "{start.isoformat()}", '
            f'endDate: "{end.isoformat()}", marketplaceIds: ["{_mid(marketplace)}"])')
    return _wrap(call, "parentAsin childAsin")


def trends_query(marketplace: str, start: dt.date, end: dt.date, asins: Sequence[str],
                 today: dt.date | None = None) -> str:
    _check_range(start, end, today)
    if not asins or len(asins) > MAX_TRENDS_ASINS:
        raise QueryError(f"a trends filter names 1..{MAX_TRENDS_ASINS} ASINs, not {len(asins)}")
    names = ", ".join(json.dumps(a) for a in asins)
    call = (f'salesAndTrafficTrends(asinAggregation: CHILD, dateAggregation: DAY, '
            f'startDate: "{start.isoformat()}", endDate: "{end.isoformat()}", '
            f'filters: [{{marketplaceId: "{_mid(marketplace)}", asins: [{names}]}}])')
    return _wrap(call, f"startDate parentAsin childAsin sales {{ {' '.join(ASIN_SALES)} }} "
                       f"traffic {{ {' '.join(ASIN_TRAFFIC)} }}")


def chunks(items: Sequence[str], size: int = MAX_TRENDS_ASINS) -> list[list[str]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


# ------------------------------------------------------------------------------------------- documents

class DocumentError(ValueError):
    """A Data Kiosk document that is not JSONL of records."""


def parse_jsonl(data: bytes | str) -> list[dict[str, Any]]:
    """The records of a Data Kiosk data document (gzip accepted; blank lines skipped)."""
    if isinstance(data, bytes | bytearray):
        raw = bytes(data)
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise DocumentError(f"a damaged gzip document ({exc})") from None
        text = raw.decode("utf-8-sig", errors="replace")
    else:
        text = data
    out: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = load_json(line)
        except ValueError:
            raise DocumentError(f"line {n} is not JSON: {line[:80]!r}") from None
        out.extend(_records(obj, n))
    return out


def _records(obj: Any, n: int) -> list[dict[str, Any]]:
    if isinstance(obj, dict) and isinstance(obj.get("data"), dict):      # a whole GraphQL answer
        found: list[dict[str, Any]] = []
        for ds in obj["data"].values():
            for rows in (ds or {}).values() if isinstance(ds, dict) else ():
                if isinstance(rows, list):
                    found.extend(r for r in rows if isinstance(r, dict))
        return found
    if isinstance(obj, dict):
        return [obj]
    raise DocumentError(f"line {n} is a JSON {type(obj).__name__}, not a record")


def error_text(data: bytes | str, limit: int = 600) -> str:
    """Amazon's message from a Data Kiosk error document (JSON), shortened."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes | bytearray) else str(data)
    text = text.strip()
    try:
        doc = json.loads(text)
        if isinstance(doc, dict):
            text = str(doc.get("errorDetails") or doc.get("errors") or doc.get("message") or doc)
    except ValueError:
        pass
    return (text[:limit] + "…") if len(text) > limit else (text or "empty error document")


def asins_of(records: Iterable[dict[str, Any]]) -> list[str]:
    """Child ASINs in a by-ASIN answer, first-seen order, without duplicates."""
    seen: dict[str, None] = {}
    for r in records:
        a = r.get("childAsin") or r.get("parentAsin")
        if a:
            seen.setdefault(str(a), None)
    return list(seen)


@dataclass
class DailyDocument:
    day: dt.date
    data: bytes
    empty: bool


@dataclass
class Collected:
    """What the queries of one marketplace and run brought back."""

    marketplace: str
    start: dt.date
    end: dt.date
    by_date: list[dict[str, Any]] = field(default_factory=list)
    by_asin: list[dict[str, Any]] = field(default_factory=list)


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def daily_documents(c: Collected) -> list[DailyDocument]:
    """One GET_SALES_AND_TRAFFIC_REPORT document (DAY / CHILD) per day of the run, built from the Data Kiosk
    records, so :func:`sheets_sync.sources.reports.parse_report` reads it exactly like a Reports API document.

    A day with no by-date record and no ASIN record is *empty* (Amazon has no data for it yet)."""
    days = [c.start + dt.timedelta(days=i) for i in range((c.end - c.start).days + 1)]
    date_rows: dict[dt.date, list[dict[str, Any]]] = {d: [] for d in days}
    asin_rows: dict[dt.date, list[dict[str, Any]]] = {d: [] for d in days}
    for r in c.by_date:
        d = _day(r.get("startDate"))
        if d in date_rows:
            date_rows[d].append({"date": d.isoformat(), "salesByDate": r.get("sales") or {},
                                 "trafficByDate": r.get("traffic") or {}})
    for r in c.by_asin:
        d = _day(r.get("startDate"))
        if d in asin_rows:
            row: dict[str, Any] = {"parentAsin": r.get("parentAsin") or r.get("childAsin")}
            if r.get("childAsin"):
                row["childAsin"] = r["childAsin"]
            row["salesByAsin"] = r.get("sales") or {}
            row["trafficByAsin"] = r.get("traffic") or {}
            asin_rows[d].append(row)
    out = []
    for d in days:
        doc = {"reportSpecification": {"reportType": REPORT_TYPE,
                                       "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
                                       "dataStartTime": d.isoformat(), "dataEndTime": d.isoformat(),
                                       "marketplaceIds": [_mid(c.marketplace)]},
               "salesAndTrafficByDate": date_rows[d], "salesAndTrafficByAsin": asin_rows[d]}
        out.append(DailyDocument(d, json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                                 empty=not date_rows[d] and not asin_rows[d]))
    return out
