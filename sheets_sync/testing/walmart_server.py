"""A local Walmart for tests: the Marketplace API (US and México) and Walmart Connect's Sponsored Search API on
127.0.0.1 (``ThreadingHTTPServer``), serving :func:`sheets_sync.samples.walmart.wm_dataset` data sets.

Written from Walmart's public developer pages, not from sheets-sync's client. Each behaviour and its page
(developer.walmart.com unless said); **guess** marks what the pages do not say:

* ``POST /v3/token`` — "Get an access token using Token API" / "Token API": ``grant_type=client_credentials`` with
  ``Authorization: Basic base64(client id:client secret)``; the answer has ``access_token``, ``token_type`` and
  ``expires_in`` 900 (15 minutes) and no refresh token ("Client credentials … No refresh token is provided").
  Wrong keys → 401 (error body shape: "Error codes" page).
* Common headers — "Authentication" (MX) / "Get all orders": ``WM_SEC.ACCESS_TOKEN``, ``WM_QOS.CORRELATION_ID``
  and ``WM_SVC.NAME`` are required on every call; a missing one → 400 ``INVALID_REQUEST_HEADER`` ("Error codes").
  An expired or unknown token → 401 ("invalid/expired … Renew your access token"). Mexico: the Global Marketplace
  pages require ``WM_MARKET`` (``mx``); a México call without it → 400 (**guess**: the status), and a key pair serves
  the market it was issued for (**guess**: 403 otherwise).
* Rate limits — "Rate limiting": token buckets, 429 when exceeded, ``x-current-token-count`` and
  ``x-next-replenishment-time`` headers; the per-minute quotas are those we read on that page as quoted by public
  code (orders 5,000, returns 50, inventory 200, items 300; token 30 — **guess** for token), refilled evenly; the
  seller-performance summaries allow one call a minute ("On-time shipment summaries": "One call per minute per
  seller"; **guess**: per endpoint). The 429 body carries ``REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API`` (seen in
  public code that met it). Strict by default; ``clock`` can be a test's clock.
* ``GET /v3/orders`` (US) — "All orders" reference: ``createdStartDate`` / ``createdEndDate`` (UTC ISO 8601; a
  date alone is midnight UTC; default start now − 7 days), ``limit`` ≤ 200 (default 100), ``shipNodeType``
  SellerFulfilled (default) | WFSFulfilled | 3PLFulfilled, ``nextCursor`` in ``list.meta`` (a query string to
  append to ``/v3/orders``); only orders of the last 180 days (older → 400, **guess** on the status) and at most
  10,000 orders a query ("Attempting to download more … will return an error"); ``orderDate`` in epoch
  milliseconds. Both date bounds inclusive (**guess**).
* ``GET /v3/orders/cursor`` and ``GET /v3/orders/wfsorders`` (México) — Mexico Orders reference: both dates or
  none, formatted ``yyyy-MM-dd'T'HH:mm:ss.SSSXXX``; ``statusCodeFilter`` required; ``limit`` ≤ 100 (cursor) / ≤ 200
  (WFS, dates in epoch seconds, ``offset``); ``cursorMark`` ``*`` first, ``meta.nextCursorMark`` after; dates with
  Mexico City's offset (−06:00). The WFS answer's shape is **guessed** as the order list's.
* ``GET /v3/returns`` — Returns reference: ``returnCreationStartDate`` / ``returnCreationEndDate``, ``limit`` ≤ 200,
  ``meta.nextCursor`` (a query string), ``returnOrders`` with ``returnOrderLines`` (``quantity``, ``refundedQty``).
* ``GET /v3/inventories`` (≤ 50, ``nextCursor``) and ``GET /v3/fulfillment/inventory`` (WFS, ≤ 300, ``offset``) —
  Inventory reference; ``GET /v3/items/{id}?productIdType=ITEM_ID`` — Items reference ("An item").
* ``GET /v3/insights/performance/{otd,vtr,cancellations,refunds}/summary?reportDuration=14|30|60|90`` — the
  seller-performance pages (US only); the answer's ``cumulativeRate`` (percent) and ``cumulativeRateTrend`` are
  named there, ``totalOrders`` / ``impactedOrders`` are **guesses** for the order counts the pages describe.
* Sponsored Search (under ``/wpa``) — Walmart Connect "Request headers": ``Authorization`` Bearer token,
  ``WM_CONSUMER.ID``, ``WM_SEC.KEY_VERSION``, ``WM_CONSUMER.intimestamp`` (epoch) and ``WM_SEC.AUTH_SIGNATURE``
  (RSA-SHA256 over consumer id, timestamp and key version, each followed by a newline, base64 — the
  signature-generator logic public Walmart Connect clients follow); a bad or stale signature → 401 (**guess**:
  stale = more than 5 minutes). ``POST /v2/snapshot/report`` (``reportType`` adItem …, ``startDate`` /
  ``endDate`` not today, not with ``reportDate``, ``reportMetrics`` required) → ``snapshotId``, ``jobStatus``
  pending; ``GET /v2/snapshot`` → done with ``details`` the file's URL after ``ready_after`` polls; the file is
  a gzipped CSV (**guess**: the "gzip" format option). Snapshots expire after 24 hours.

``calls`` counts calls per route; ``log`` keeps (method, path, status) — never a token or key.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import itertools
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from ..samples.walmart import ADVERTISER_ID, SELLER_ID, ad_csv, ad_rows
from .served import ServedInThread

CLIENT_ID = "wm-us-client-0001"
CLIENT_SECRET = "wm-us-secret-DO-NOT-LOG-4411"
MX_CLIENT_ID = "wm-mx-client-0002"
MX_CLIENT_SECRET = "wm-mx-secret-DO-NOT-LOG-5522"
ADS_CONSUMER_ID = "wmc-consumer-7f3a"
ADS_TOKEN = "wmc-bearer-DO-NOT-LOG-9911"
TOKEN_TTL_S = 900
ORDER_DAYS = 180
MAX_ORDERS = 10_000
PER_MINUTE = {"token": 30, "orders": 5000, "returns": 50, "inventory": 200, "items": 300}
SUMMARIES = ("otd", "vtr", "cancellations", "refunds")
MX = ZoneInfo("America/Mexico_City")


def _err(status: int, code: str, message: str, category: str = "REQUEST") -> tuple[int, dict[str, Any]]:
    return status, {"errors": [{"code": code, "message": message, "category": category, "severity": "ERROR"}]}


def _iso_utc(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def order_time(data: dict[str, Any], o: dict[str, Any]) -> dt.datetime:
    """When an order was placed: its day and minute, in UTC for the US data set and Mexico City time for México."""
    tz = dt.UTC if data["market"] == "us" else MX
    return dt.datetime.combine(o["day"], dt.time(o["minute"] // 60, o["minute"] % 60), tz)


def _us_order(data: dict[str, Any], o: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for ln in o["lines"]:
        statuses = []
        if ln["qty"] - ln["cancelled"] > 0:
            statuses.append({"status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH",
                                                                     "amount": str(ln["qty"] - ln["cancelled"])}})
        if ln["cancelled"]:
            statuses.append({"status": "Cancelled", "cancellationReason": "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
                             "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(ln["cancelled"])}})
        lines.append({"lineNumber": str(ln["line"]), "item": {"productName": ln["name"], "sku": ln["sku"]},
                      "charges": {"charge": [{"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                                              "chargeAmount": {"currency": "USD",
                                                               "amount": round(ln["price"] * ln["qty"], 2)},
                                              "tax": {"taxName": "Tax1",
                                                      "taxAmount": {"currency": "USD", "amount": ln["tax"]}}}]},
                      "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(ln["qty"])},
                      "statusDate": int(order_time(data, o).timestamp() * 1000),
                      "orderLineStatuses": {"orderLineStatus": statuses},
                      "fulfillment": {"fulfillmentOption": "S2H", "shipMethod": "STANDARD"}})
    return {"purchaseOrderId": o["po"], "customerOrderId": o["customer_order"],
            "customerEmailId": "3A31739D8B0A45A1B23F7F8C81C8747F@relay.walmart.com",
            "orderDate": int(order_time(data, o).timestamp() * 1000),
            "shippingInfo": {"phone": "5555550100", "estimatedDeliveryDate": 0, "estimatedShipDate": 0,
                             "methodCode": "Standard", "postalAddress": {"name": "Demo Buyer", "address1": "1 Main St",
                                                                         "city": "Bentonville", "state": "AR",
                                                                         "postalCode": "72712", "country": "USA"}},
            "orderLines": {"orderLine": lines}, "shipNode": {"type": o["node"]}}


def _mx_order(data: dict[str, Any], o: dict[str, Any]) -> dict[str, Any]:
    stamp = order_time(data, o).isoformat(timespec="milliseconds")
    lines = []
    for ln in o["lines"]:
        statuses = []
        if ln["qty"] - ln["cancelled"] > 0:
            statuses.append({"status": "Shipped", "statusCode": "3700", "statusDate": stamp,
                             "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(ln["qty"] - ln["cancelled"])}})
        if ln["cancelled"]:
            statuses.append({"status": "Cancelled", "statusCode": "9000", "statusDate": stamp,
                             "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(ln["cancelled"])}})
        lines.append({"primeLineNumber": str(ln["line"]), "coLineNumber": str(ln["line"]),
                      "item": {"productName": ln["name"], "sku": ln["sku"], "condition": "New",
                               "unitPrice": {"currency": "MXN", "amount": str(ln["price"])}},
                      "charges": [{"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                                   "tax": [{"taxName": "IVA_TAX", "taxAmount": {"currency": "MXN",
                                                                                "amount": str(ln["tax"])}},
                                           {"taxName": "IEPS_TAX", "taxAmount": {"currency": "MXN", "amount": "0"}}]}],
                      "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(ln["qty"])},
                      "orderLineStatus": statuses, "shippingMethod": "STANDARD",
                      "seller": {"id": SELLER_ID, "name": "DEMO", "shipNodeType": "PangaeaMarketplace"}})
    return {"purchaseOrderId": o["po"], "customerOrderId": o["customer_order"], "orderDate": stamp,
            "totalLines": str(len(lines)), "orderLines": lines}


def _mx_status(o: dict[str, Any]) -> str:
    return "Cancelled" if all(ln["qty"] == ln["cancelled"] for ln in o["lines"]) else "Shipped"


def return_order(r: dict[str, Any]) -> dict[str, Any]:
    """One return order as GET /v3/returns shows it."""
    when = dt.datetime.combine(r["day"], dt.time(r["minute"] // 60, r["minute"] % 60), dt.UTC)
    money = lambda x: {"currencyAmount": round(x, 2), "currencyUnit": "USD"}  # noqa: E731
    return {"returnOrderId": r["id"], "customerOrderId": r["customer_order"], "refundMode": "POST_DELIVERY",
            "returnOrderDate": _iso_utc(when), "returnType": "REFUND",
            "totalRefundAmount": money(r["price"] * r["refunded"]),
            "returnOrderLines": [{"returnOrderLineNumber": 1, "purchaseOrderId": r["po"], "purchaseOrderLineNumber": 1,
                                  "returnReason": "DAMAGED_ITEM", "item": {"sku": r["sku"], "productName": r["name"]},
                                  "unitPrice": money(r["price"]), "quantity": {"unitOfMeasure": "EACH",
                                                                               "measurementValue": r["qty"]},
                                  "refundedQty": r["refunded"],
                                  "currentRefundStatus": "REFUND_COMPLETED" if r["refunded"] else "REFUND_INITIATED",
                                  "status": "COMPLETED", "statusTime": _iso_utc(when)}]}


def orders_page(data: dict[str, Any]) -> dict[str, Any]:
    """Every order of a US data set as one GET /v3/orders page (what a saved answer looks like)."""
    return {"list": {"meta": {"totalCount": len(data["orders"]), "limit": len(data["orders"]), "nextCursor": None},
                     "elements": {"order": [_us_order(data, o) for o in data["orders"]]}}}


def mx_orders_page(data: dict[str, Any], wfs: bool) -> dict[str, Any]:
    """The México orders (``wfs``: the WFS ones) as one page of GET /v3/orders/cursor (or /wfsorders)."""
    found = [o for o in data["orders"] if (o["node"] == "WFSFulfilled") == wfs]
    return {"meta": {"totalCount": len(found), "limit": len(found)}, "order": [_mx_order(data, o) for o in found]}


def inventories_page(data: dict[str, Any], start: int, size: int) -> dict[str, Any]:
    items = data["items"][start:start + size]
    return {"meta": {"totalCount": len(data["items"]),
                     **({"nextCursor": f"c{start + size}"} if start + size < len(data["items"]) else {})},
            "elements": {"inventories": [{"sku": it[0], "nodes": [
                {"shipNode": "100009", "inputQty": {"unit": "EACH", "amount": data["stock"][it[0]]["seller"] + 2},
                 "availToSellQty": {"unit": "EACH", "amount": data["stock"][it[0]]["seller"]},
                 "reservedQty": {"unit": "EACH", "amount": 2}}]} for it in items]}}


def wfs_inventory_page(data: dict[str, Any], offset: int, limit: int) -> dict[str, Any]:
    items = data["items"][offset:offset + limit]
    return {"headers": {"totalCount": len(data["items"]), "limit": limit, "offset": offset},
            "payload": {"inventory": [{"sku": it[0], "shipNodes": [
                {"modifiedDate": f"{data['through'].isoformat()}T12:00:00Z",
                 "availToSellQty": data["stock"][it[0]]["wfs"], "onHandQty": data["stock"][it[0]]["wfs"] + 1,
                 "shipNodeType": "WFSFulfilled"}]} for it in items]}}


def performance_summary(data: dict[str, Any], name: str, duration: int) -> dict[str, Any]:
    rate, orders, impacted = data["performance"][name]
    return {"reportDuration": duration, "cumulativeRate": rate, "cumulativeRateTrend": "NEUTRAL",
            "totalOrders": orders, "impactedOrders": impacted}


class WalmartServer(ServedInThread):
    """``with WalmartServer(us_data, mx_data) as srv:``; ``srv.url`` is WALMART_API_URL, ``srv.ads_url``
    WALMART_ADS_API_URL. ``public_key`` (PEM) is the Walmart Connect key the signature is checked with."""

    def __init__(self, us: dict[str, Any] | None = None, mx: dict[str, Any] | None = None, *,
                 public_key: bytes | None = None, clock: Callable[[], float] = time.time, strict: bool = True,
                 ready_after: int = 1):
        self.data = {"us": us, "mx": mx}
        self.clients = {CLIENT_ID: (CLIENT_SECRET, "us"), MX_CLIENT_ID: (MX_CLIENT_SECRET, "mx")}
        self.public_key = public_key
        self.clock = clock
        self.strict = strict
        self.ready_after = ready_after
        self.lock = threading.RLock()
        self.tokens: dict[str, tuple[str, float]] = {}        # token → (market, expires at)
        self.buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.throttle = 0                                     # answer the next n calls 429
        self.fail: dict[str, int] = {}                        # route family → status to answer
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []
        self.ids = itertools.count(1)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.ads_url = f"{self.url}/wpa"

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {t: (m, 0.0) for t, (m, _) in self.tokens.items()}

    # -- limits ----------------------------------------------------------------------------------------
    def _take(self, client: str, bucket: str, per_minute: float, capacity: float) -> tuple[bool, float, float]:
        now = self.clock()
        tokens, stamp = self.buckets.get((client, bucket), (capacity, now))
        tokens = min(capacity, tokens + (now - stamp) * per_minute / 60.0)
        if tokens < 1.0:
            self.buckets[(client, bucket)] = (tokens, now)
            return False, tokens, now + (1.0 - tokens) * 60.0 / per_minute
        self.buckets[(client, bucket)] = (tokens - 1.0, now)
        return True, tokens - 1.0, now

    def _limited(self, client: str, bucket: str, per_minute: float, capacity: float | None = None
                 ) -> tuple[int, Any, dict[str, str]] | None:
        if self.throttle > 0:
            self.throttle -= 1
            ok, left, refill = False, 0.0, self.clock() + 1.0
        elif not self.strict:
            return None
        else:
            ok, left, refill = self._take(client, bucket, per_minute, capacity or per_minute)
        if ok:
            return None
        status, body = _err(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too Many Requests", "REQUEST")
        return status, body, {"x-current-token-count": str(int(left)),
                              "x-next-replenishment-time": str(int(refill * 1000))}

    # -- routes ----------------------------------------------------------------------------------------
    def route(self, method: str, path: str, q: dict[str, str], body: bytes, h: dict[str, str]
              ) -> tuple[int, Any, dict[str, str]]:
        if path.startswith("/wpa/"):
            return self._ads(method, path[4:], q, body, h)
        for name in ("wm_svc.name", "wm_qos.correlation_id"):
            if not h.get(name):
                return (*_err(400, "INVALID_REQUEST_HEADER", f"{name.upper()} is required"), {})
        if method == "POST" and path == "/v3/token":
            return self._token(body, h)
        token = h.get("wm_sec.access_token") or ""
        with self.lock:
            market, expires = self.tokens.get(token, ("", 0.0))
            if not market or self.clock() >= expires:
                return (*_err(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized", "REQUEST"), {})
            want = (h.get("wm_market") or "us").lower()
            mx_route = path.startswith(("/v3/orders/cursor", "/v3/orders/wfsorders"))
            if mx_route and not h.get("wm_market"):
                return (*_err(400, "INVALID_REQUEST_HEADER", "WM_MARKET is required"), {})
            if want != market:
                return (*_err(403, "FORBIDDEN.GMP_GATEWAY_API", "Forbidden: these keys serve another market"), {})
            family = path.split("/")[2] if path.count("/") >= 2 else ""
            if family in self.fail:
                return (*_err(self.fail[family], "SYSTEM_ERROR.GMP_GATEWAY_API", "failure"), {})
            if path.startswith("/v3/insights/performance/"):
                limited = self._limited(token[:12] + market, path, 1.0, 1.0)
            else:
                bucket = {"orders": "orders", "returns": "returns", "inventories": "inventory",
                          "fulfillment": "inventory", "items": "items"}.get(family, "orders")
                limited = self._limited(market, bucket, PER_MINUTE[bucket])
            if limited:
                return limited
        data = self.data.get(market)
        if data is None:
            return (*_err(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "no data for this market"), {})
        fixed = {"/v3/orders": self._us_orders, "/v3/orders/cursor": self._mx_orders,
                 "/v3/orders/wfsorders": self._mx_wfs, "/v3/returns": self._returns,
                 "/v3/inventories": self._inventories, "/v3/fulfillment/inventory": self._wfs}
        if path in fixed:
            return (*fixed[path](data, q), {})
        if path.startswith("/v3/items/"):
            return (*self._item(data, path.rsplit("/", 1)[1], q), {})
        if path.startswith("/v3/insights/performance/") and path.endswith("/summary"):
            return (*self._summary(data, path.split("/")[4], q), {})
        return (*_err(404, "NOT_FOUND", "no such route"), {})

    def _token(self, body: bytes, h: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        auth = h.get("authorization", "")
        try:
            cid, secret = base64.b64decode(auth[6:]).decode().split(":", 1) if auth.startswith("Basic ") else ("", "")
        except (ValueError, UnicodeDecodeError):
            cid, secret = "", ""
        with self.lock:
            limited = self._limited(cid or "anonymous", "token", PER_MINUTE["token"])
            if limited:
                return limited
            if form.get("grant_type") != "client_credentials":
                return (*_err(400, "INVALID_REQUEST_PARAM", "grant_type must be client_credentials"), {})
            known = self.clients.get(cid)
            if known is None or known[0] != secret:
                return (*_err(401, "UNAUTHORIZED.GMP_GATEWAY_API", "invalid client credentials"), {})
            token = "wm-at-" + secrets.token_urlsafe(24)
            self.tokens[token] = (known[1], self.clock() + TOKEN_TTL_S)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_S}, {}

    @staticmethod
    def _when(value: str | None, default: dt.datetime) -> dt.datetime | None:
        if not value:
            return default
        try:
            t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)

    def _us_orders(self, data: dict[str, Any], q: dict[str, str]) -> tuple[int, Any]:
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        start = self._when(q.get("createdStartDate"), now - dt.timedelta(days=7))
        end = self._when(q.get("createdEndDate"), now)
        if start is None or end is None:
            return _err(400, "INVALID_REQUEST_PARAM", "createdStartDate / createdEndDate: use ISO 8601")
        if start < now - dt.timedelta(days=ORDER_DAYS):
            return _err(400, "INVALID_REQUEST_PARAM", "only orders created in the last 180 days can be fetched")
        try:
            limit = int(q.get("limit", "100"))
            offset = int(q.get("soIndex", "0"))
        except ValueError:
            return _err(400, "INVALID_REQUEST_PARAM", "limit must be a number")
        if not 1 <= limit <= 200:
            return _err(400, "INVALID_REQUEST_PARAM", "limit cannot be larger than 200")
        node = q.get("shipNodeType", "SellerFulfilled")
        if node not in ("SellerFulfilled", "WFSFulfilled", "3PLFulfilled"):
            return _err(400, "INVALID_REQUEST_PARAM", "shipNodeType: SellerFulfilled, WFSFulfilled or 3PLFulfilled")
        found = [o for o in data["orders"] if o["node"] == node and start <= order_time(data, o) <= end]
        if len(found) > MAX_ORDERS:
            return _err(400, "INVALID_REQUEST_PARAM", "more than 10000 orders: narrow the dates")
        page = found[offset:offset + limit]
        meta: dict[str, Any] = {"totalCount": len(found), "limit": limit}
        if offset + limit < len(found):
            keep = {k: v for k, v in q.items() if k in ("createdStartDate", "createdEndDate", "shipNodeType")}
            meta["nextCursor"] = "?" + urlencode({"limit": limit, "hasMoreElements": "true", "soIndex": offset + limit,
                                                  "poIndex": offset + limit, "sellerId": SELLER_ID, **keep})
        else:
            meta["nextCursor"] = None
        return 200, {"list": {"meta": meta, "elements": {"order": [_us_order(data, o) for o in page]}}}

    def _mx_orders(self, data: dict[str, Any], q: dict[str, str]) -> tuple[int, Any]:
        if not q.get("statusCodeFilter"):
            return _err(400, "INVALID_REQUEST_PARAM", "statusCodeFilter is required")
        if bool(q.get("createdStartDate")) != bool(q.get("createdEndDate")):
            return _err(400, "INVALID_REQUEST_PARAM", "createdStartDate and createdEndDate go together")
        fmt = "%Y-%m-%dT%H:%M:%S.%f%z"
        try:
            start = dt.datetime.strptime(q["createdStartDate"], fmt) if q.get("createdStartDate") else None
            end = dt.datetime.strptime(q["createdEndDate"], fmt) if q.get("createdEndDate") else None
            limit = int(q.get("limit", "10"))
        except ValueError:
            return _err(400, "INVALID_REQUEST_PARAM", "dates must be yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
        if not 1 <= limit <= 100:
            return _err(400, "INVALID_REQUEST_PARAM", "limit cannot be larger than 100")
        mark = q.get("cursorMark", "*")
        offset = 0 if mark == "*" else int(base64.urlsafe_b64decode(mark.encode()).decode() or 0)
        found = [o for o in data["orders"] if o["node"] != "WFSFulfilled" and _mx_status(o) == q["statusCodeFilter"]
                 and (start is None or start <= order_time(data, o) <= end)]
        page = found[offset:offset + limit]
        meta: dict[str, Any] = {"totalCount": len(found), "limit": limit}
        if offset + limit < len(found):
            meta["nextCursorMark"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
        return 200, {"meta": meta, "order": [_mx_order(data, o) for o in page]}

    def _mx_wfs(self, data: dict[str, Any], q: dict[str, str]) -> tuple[int, Any]:
        try:
            start = dt.datetime.fromtimestamp(int(q["createdStartDate"]), dt.UTC)
            end = dt.datetime.fromtimestamp(int(q["createdEndDate"]), dt.UTC)
            limit, offset = int(q.get("limit", "10")), int(q.get("offset", "0"))
        except (KeyError, ValueError):
            return _err(400, "INVALID_REQUEST_PARAM", "createdStartDate / createdEndDate in epoch seconds")
        if not 1 <= limit <= 200:
            return _err(400, "INVALID_REQUEST_PARAM", "limit cannot be larger than 200")
        found = [o for o in data["orders"] if o["node"] == "WFSFulfilled" and start <= order_time(data, o) <= end]
        return 200, {"meta": {"totalCount": len(found), "limit": limit},
                     "order": [_mx_order(data, o) for o in found[offset:offset + limit]]}

    def _returns(self, data: dict[str, Any], q: dict[str, str]) -> tuple[int, Any]:
        far = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        start = self._when(q.get("returnCreationStartDate"), far)
        end = self._when(q.get("returnCreationEndDate"), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
        try:
            limit, offset = int(q.get("limit", "200")), int(q.get("offset", "0"))
        except ValueError:
            return _err(400, "INVALID_REQUEST_PARAM", "limit must be a number")
        if start is None or end is None or not 1 <= limit <= 200:
            return _err(400, "INVALID_REQUEST_PARAM", "limit cannot be larger than 200; dates in ISO 8601")
        found = [r for r in data["returns"] if start <= dt.datetime.combine(
            r["day"], dt.time(r["minute"] // 60, r["minute"] % 60), dt.UTC) <= end]
        meta: dict[str, Any] = {"totalCount": len(found), "limit": limit}
        if offset + limit < len(found):
            keep = {k: v for k, v in q.items() if k.startswith("returnCreation")}
            meta["nextCursor"] = "?" + urlencode({"sellerId": SELLER_ID, "limit": limit, "offset": offset + limit,
                                                  **keep})
        return 200, {"meta": meta, "returnOrders": [return_order(r) for r in found[offset:offset + limit]]}

    def _inventories(self, data: dict[str, Any], q: dict[str, str]) -> tuple[int, Any]:
        limit = int(q.get("limit", "10"))
        if not 1 <= limit <= 50:
            return _err(400, "INVALID_REQUEST_PARAM", "limit cannot be more than 50")
        cursor = q.get("nextCursor", "")
        start = int(cursor[1:]) if cursor.startswith("c") and cursor[1:].isdigit() else 0
        return 200, inventories_page(data, start, limit)

    def _wfs(self, data: dict[str, Any], q: dict[str, str]) -> tuple[int, Any]:
        limit, offset = int(q.get("limit", "10")), int(q.get("offset", "0"))
        if not 1 <= limit <= 300:
            return _err(400, "INVALID_REQUEST_PARAM", "limit cannot be larger than 300")
        return 200, wfs_inventory_page(data, offset, limit)

    def _item(self, data: dict[str, Any], ident: str, q: dict[str, str]) -> tuple[int, Any]:
        kind = q.get("productIdType")
        if kind not in ("GTIN", "UPC", "ISBN", "EAN", "SKU", "ITEM_ID"):
            return _err(400, "INVALID_REQUEST_PARAM", "productIdType is required")
        for sku, item_id, name, *_rest in data["items"]:
            if (kind == "ITEM_ID" and ident == item_id) or (kind == "SKU" and ident == sku):
                return 200, {"ItemResponse": [{"mart": "WALMART_US", "sku": sku, "productName": name,
                                               "publishedStatus": "PUBLISHED", "lifecycleStatus": "ACTIVE"}],
                             "totalItems": 1}
        return _err(404, "CONTENT_NOT_FOUND.GMP_ITEM_QUERY_API", "item not found")

    def _summary(self, data: dict[str, Any], name: str, q: dict[str, str]) -> tuple[int, Any]:
        if name not in SUMMARIES:
            return _err(404, "NOT_FOUND", "no such metric")
        duration = q.get("reportDuration", "30")
        if duration not in ("14", "30", "60", "90"):
            return _err(400, "INVALID_REQUEST_PARAM", "reportDuration: 14, 30, 60 or 90")
        return 200, performance_summary(data, name, int(duration))

    # -- Walmart Connect -------------------------------------------------------------------------------
    def _signed(self, h: dict[str, str]) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        if h.get("authorization") != f"Bearer {ADS_TOKEN}" or h.get("wm_consumer.id") != ADS_CONSUMER_ID:
            return False
        stamp, version, sig = h.get("wm_consumer.intimestamp", ""), h.get("wm_sec.key_version", ""), \
            h.get("wm_sec.auth_signature", "")
        if not stamp.isdigit() or version != "1" or self.public_key is None:
            return False
        if abs(int(stamp) / 1000.0 - self.clock()) > 300:
            return False
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = serialization.load_pem_public_key(self.public_key)
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(base64.b64decode(sig), f"{ADS_CONSUMER_ID}\n{stamp}\n{version}\n".encode(),
                       padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _ads(self, method: str, path: str, q: dict[str, str], body: bytes, h: dict[str, str]
             ) -> tuple[int, Any, dict[str, str]]:
        if path.startswith("/files/"):
            content = self.files.get(path[7:])
            return (200, content, {"content-type": "application/gzip"}) if content is not None else \
                (*_err(404, "NOT_FOUND", "no such file"), {})
        if not self._signed(h):
            return (*_err(401, "UNAUTHORIZED", "invalid auth signature, token or consumer id"), {})
        data = self.data.get("us")
        if method == "POST" and path == "/v2/snapshot/report":
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                return (*_err(400, "INVALID_REQUEST", "body must be JSON"), {})
            if req.get("advertiserId") != ADVERTISER_ID:
                return (*_err(400, "INVALID_REQUEST", "unknown advertiserId"), {})
            if req.get("reportType") not in ("adGroup", "adItem", "brand", "category", "itemHealth", "itemKeyword",
                                             "keyword", "pageType", "platform", "attributedPurchases"):
                return (*_err(400, "INVALID_REQUEST", "reportType not supported"), {})
            if not req.get("reportMetrics"):
                return (*_err(400, "INVALID_REQUEST", "reportMetrics requires at least one dimension"), {})
            if req.get("reportDate") and (req.get("startDate") or req.get("endDate")):
                return (*_err(400, "INVALID_REQUEST", "use reportDate or startDate/endDate, not both"), {})
            try:
                lo, hi = dt.date.fromisoformat(req["startDate"]), dt.date.fromisoformat(req["endDate"])
            except (KeyError, ValueError):
                return (*_err(400, "INVALID_REQUEST", "startDate/endDate yyyy-MM-dd"), {})
            today = dt.datetime.fromtimestamp(self.clock(), dt.UTC).date()
            if hi >= today or lo > hi:
                return (*_err(400, "INVALID_REQUEST", "endDate cannot be the current date"), {})
            sid = f"{next(self.ids):08d}-snap"
            rows = ad_rows(data, lo, hi) if data else []
            wanted = req["reportMetrics"]
            self.snapshots[sid] = {"polls": 0, "created": self.clock(),
                                   "rows": [{k: r.get(k, "") for k in wanted if k in r} for r in rows]}
            return 200, {"code": "success", "snapshotId": sid, "jobStatus": "pending", "details": ""}, {}
        if method == "GET" and path == "/v2/snapshot":
            snap = self.snapshots.get(q.get("snapshotId", ""))
            if snap is None or str(q.get("advertiserId")) != str(ADVERTISER_ID):
                return (*_err(404, "NOT_FOUND", "no such snapshot"), {})
            if self.clock() - snap["created"] > 86400:
                return 200, {"code": "success", "snapshotId": q["snapshotId"], "jobStatus": "expired"}, {}
            snap["polls"] += 1
            if snap["polls"] <= self.ready_after:
                return 200, {"code": "success", "snapshotId": q["snapshotId"], "jobStatus": "processing"}, {}
            fid = q["snapshotId"] + ".csv.gz"
            self.files[fid] = gzip.compress(ad_csv_subset(snap["rows"]).encode("utf-8"))
            return 200, {"code": "success", "snapshotId": q["snapshotId"], "jobStatus": "done",
                         "details": f"{self.ads_url}/files/{fid}"}, {}
        return (*_err(404, "NOT_FOUND", "no such route"), {})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
                h = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = server.route(method, parts.path, q, body, h)
                with server.lock:
                    server.calls[f"{method} {parts.path}"] += 1
                    server.log.append((method, parts.path, status))
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", extra.pop("content-type", "application/json"))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler


def ad_csv_subset(rows: list[dict[str, Any]]) -> str:
    """The snapshot file with the columns asked for (in the order of the report's header)."""
    import csv
    import io

    if not rows:
        return ""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


__all__ = ["ADS_CONSUMER_ID", "ADS_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "MX_CLIENT_ID", "MX_CLIENT_SECRET",
           "WalmartServer", "ad_csv"]
