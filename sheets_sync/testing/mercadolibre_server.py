"""A local Mercado Libre for tests: OAuth2 token endpoint and the REST API the Mercado Libre source uses, on
127.0.0.1 (``ThreadingHTTPServer``), serving one :func:`sheets_sync.samples.mercadolibre.mlm_dataset`.

As strict as the real API where the source depends on it:

* ``POST /oauth/token`` (``grant_type=refresh_token``, client id and secret in the form): answers a 6-hour
  access token and a NEW refresh token; the old refresh token is then refused (400 ``invalid_grant``), like
  Mercado Libre's rotation; a wrong client secret is 401 ``invalid_client``;
* every other route needs ``Authorization: Bearer``; an unknown or expired token is 401 (``expire_tokens()``
  expires every token issued so far, as six hours passing would);
* paging limits: ``/orders/search`` limit ≤ 50, ``/users/{id}/items/search`` and Product Ads limit ≤ 100,
  ``/items?ids=`` ≤ 20 ids, visits ``last`` ≤ 150 days — more is a 400 with Mercado Libre's error body;
* 429 ``local_rate_limited``: ``throttle = n`` answers the next n calls with it; ``rate = (per_second,
  burst)`` turns on a token bucket per client;
* orders of another seller → 403.

``calls`` counts calls per route; ``log`` keeps (method, path, status) — never a token.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..samples.mercadolibre import (
    ADVERTISER_ID,
    LISTINGS,
    SELLER_ID,
    api_timestamp,
    user_document,
    visits_documents,
)
from .served import ServedInThread

CLIENT_ID = "5551234567890123"
CLIENT_SECRET = "ml-secret-DO-NOT-LOG-7788"
REFRESH_TOKEN = "TG-ml-refresh-DO-NOT-LOG-0001"


def _err(status: int, error: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"message": message, "error": error, "status": status, "cause": []}


class MercadoLibreServer(ServedInThread):
    """``with MercadoLibreServer(dataset) as srv:``; ``srv.url`` is the API base URL."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.lock = threading.RLock()
        self.refresh_tokens = {REFRESH_TOKEN}
        self.access: dict[str, bool] = {}          # token → valid
        self.throttle = 0
        self.rate: tuple[float, int] | None = None
        self._bucket: tuple[float, float] | None = None
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []
        self.ids = itertools.count(1)
        self.orders = [self._order(o) for o in data["orders"]]
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def expire_tokens(self) -> None:
        with self.lock:
            for k in self.access:
                self.access[k] = False

    # ------------------------------------------------------------------------------------------- data
    @staticmethod
    def _order(o: dict[str, Any]) -> dict[str, Any]:
        title = next(f"Demostración {lst[2]} {lst[1]}" for lst in LISTINGS if lst[0] == o["item"])
        return {"id": o["id"], "status": o["status"], "date_created": api_timestamp(o["day"], o["minute"]),
                "date_closed": api_timestamp(o["day"], o["minute"]), "currency_id": "MXN",
                "total_amount": o["price"] * o["qty"], "seller": {"id": SELLER_ID}, "pack_id": None,
                "shipping": {"id": 40000000000 + o["id"] % 10**9},
                "order_items": [{"item": {"id": o["item"], "title": title, "seller_sku": o["sku"]},
                                 "quantity": o["qty"], "unit_price": o["price"], "full_unit_price": o["price"],
                                 "sale_fee": o["fee"], "currency_id": "MXN"}],
                "_ship": o["ship"], "_day": o["day"], "_minute": o["minute"]}

    def _stamp(self, value: str) -> dt.datetime:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))

    # ------------------------------------------------------------------------------------------- routes
    def route(self, method: str, path: str, q: dict[str, str], form: dict[str, str], auth: str | None
              ) -> tuple[int, Any]:
        if method == "POST" and path == "/oauth/token":
            return self._token(form)
        token = auth[7:] if auth and auth.startswith("Bearer ") else None
        with self.lock:
            if not token or not self.access.get(token):
                return _err(401, "unauthorized", "invalid access token")
            if self.throttle > 0:
                self.throttle -= 1
                return _err(429, "local_rate_limited", "Too many requests")
            if self.rate:
                per_s, burst = self.rate
                now = time.monotonic()
                tokens, stamp = self._bucket or (float(burst), now)
                tokens = min(float(burst), tokens + (now - stamp) * per_s)
                if tokens < 1:
                    self._bucket = (tokens, now)
                    return _err(429, "local_rate_limited", "Too many requests")
                self._bucket = (tokens - 1, now)
        parts = path.strip("/").split("/")
        if path in ("/users/me", f"/users/{SELLER_ID}"):
            return 200, user_document(self.data)
        if len(parts) == 4 and parts[0] == "users" and parts[2:] == ["items", "search"]:
            return self._items_search(parts[1], q)
        if path == "/items":
            return self._items(q)
        if path == "/orders/search":
            return self._orders(q)
        if len(parts) == 3 and parts[0] == "shipments" and parts[2] == "costs":
            return self._shipment(parts[1])
        if len(parts) == 4 and parts[0] == "items" and parts[2:] == ["visits", "time_window"]:
            return self._visits(parts[1], q)
        if parts[:2] == ["advertising", "advertisers"] and parts[3:] == ["product_ads", "items", "search"]:
            return self._ads(parts[2], q)
        if len(parts) == 4 and parts[0] == "inventories" and parts[2:] == ["stock", "fulfillment"]:
            return self._stock(parts[1])
        return _err(404, "not_found", f"resource {path} not found")

    def _token(self, form: dict[str, str]) -> tuple[int, Any]:
        if form.get("grant_type") != "refresh_token":
            return _err(400, "unsupported_grant_type", "grant_type must be refresh_token")
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _err(401, "invalid_client", "invalid client_id or client_secret")
        with self.lock:
            if form.get("refresh_token") not in self.refresh_tokens:
                return _err(400, "invalid_grant", "Error validating grant. Your authorization code or refresh "
                            "token may be expired or it was already used")
            self.refresh_tokens.discard(form["refresh_token"])
            new_refresh = f"TG-{secrets.token_hex(12)}"
            self.refresh_tokens.add(new_refresh)
            access = f"APP_USR-{secrets.token_hex(16)}"
            self.access[access] = True
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": 21600,
                     "scope": "offline_access read write", "user_id": SELLER_ID, "refresh_token": new_refresh}

    @staticmethod
    def _paging(q: dict[str, str], max_limit: int) -> tuple[int, int] | tuple[int, Any]:
        try:
            offset, limit = int(q.get("offset", 0)), int(q.get("limit", 50))
        except ValueError:
            return _err(400, "bad_request", "offset and limit must be integers")
        if limit > max_limit or limit < 1 or offset < 0:
            return _err(400, "bad_request", f"limit must be between 1 and {max_limit}")
        return offset, limit

    def _items_search(self, seller: str, q: dict[str, str]) -> tuple[int, Any]:
        if seller != str(SELLER_ID):
            return _err(403, "forbidden", "caller is not the owner of the items")
        pg = self._paging(q, 100)
        if isinstance(pg[1], dict):
            return pg  # type: ignore[return-value]
        offset, limit = pg
        ids = [lst[0] for lst in LISTINGS]
        return 200, {"seller_id": str(SELLER_ID), "results": ids[offset:offset + limit],
                     "paging": {"total": len(ids), "offset": offset, "limit": limit}}

    def _items(self, q: dict[str, str]) -> tuple[int, Any]:
        ids = [i for i in q.get("ids", "").split(",") if i]
        if len(ids) > 20:
            return _err(400, "bad_request", "ids: at most 20 items per request")
        out = []
        for i in ids:
            lst = next((x for x in LISTINGS if x[0] == i), None)
            if lst is None:
                out.append({"code": 404, "body": {"message": f"Item with id {i} not found", "error": "not_found"}})
            else:
                out.append({"code": 200, "body": {"id": i, "title": f"Demostración {lst[2]} {lst[1]}",
                                                  "seller_custom_field": lst[1], "status": "active",
                                                  "inventory_id": f"INV{i[-6:]}", "price": lst[5],
                                                  "currency_id": "MXN"}})
        return 200, out

    def _orders(self, q: dict[str, str]) -> tuple[int, Any]:
        if q.get("seller") != str(SELLER_ID):
            return _err(403, "forbidden", "invalid caller.id")
        pg = self._paging(q, 50)
        if isinstance(pg[1], dict):
            return pg  # type: ignore[return-value]
        offset, limit = pg
        try:
            lo = self._stamp(q["order.date_created.from"])
            hi = self._stamp(q["order.date_created.to"])
        except (KeyError, ValueError):
            return _err(400, "bad_request", "order.date_created.from/to must be ISO dates with an offset")
        found = [o for o in self.orders if lo <= self._stamp(o["date_created"]) <= hi]
        found.sort(key=lambda o: (self._stamp(o["date_created"]), o["id"]))
        page = [{k: v for k, v in o.items() if not k.startswith("_")} for o in found[offset:offset + limit]]
        return 200, {"query": "", "results": page, "sort": {"id": "date_asc", "name": "Date ascending"},
                     "available_sorts": [{"id": "date_desc", "name": "Date descending"}], "filters": [],
                     "paging": {"total": len(found), "offset": offset, "limit": limit}, "display": "complete"}

    def _shipment(self, sid: str) -> tuple[int, Any]:
        o = next((o for o in self.orders if str(o["shipping"]["id"]) == sid), None)
        if o is None:
            return _err(404, "not_found", f"shipment {sid} not found")
        return 200, {"receiver": {"user_id": 1, "cost": 0.0, "discounts": []},
                     "senders": [{"user_id": SELLER_ID, "cost": o["_ship"], "discounts": [], "charges": {}}],
                     "gross_amount": o["_ship"]}

    def _visits(self, item: str, q: dict[str, str]) -> tuple[int, Any]:
        try:
            last, ending = int(q["last"]), dt.date.fromisoformat(q["ending"])
        except (KeyError, ValueError):
            return _err(400, "bad_request", "last and ending (YYYY-MM-DD) are required")
        if q.get("unit") != "day" or not 1 <= last <= 150:
            return _err(400, "bad_request", "unit must be day and last between 1 and 150")
        start = ending - dt.timedelta(days=last - 1)
        if item not in self.data["visits"]:
            return _err(404, "not_found", f"item {item} not found")
        doc = visits_documents(self.data, [item], start, ending)[0]
        have = {r["date"][:10] for r in doc["results"]}
        for k in range(last):     # days without data (future, before the store) answer 0 visits, as ML does
            d = (start + dt.timedelta(days=k)).isoformat()
            if d not in have:
                doc["results"].append({"date": f"{d}T00:00:00Z", "total": 0, "visits_detail": []})
        doc["results"].sort(key=lambda r: r["date"])
        doc["total_visits"] = sum(r["total"] for r in doc["results"])
        return 200, doc

    def _ads(self, advertiser: str, q: dict[str, str]) -> tuple[int, Any]:
        if advertiser != str(ADVERTISER_ID):
            return _err(403, "forbidden", "the user cannot access this advertiser")
        pg = self._paging(q, 100)
        if isinstance(pg[1], dict):
            return pg  # type: ignore[return-value]
        offset, limit = pg
        try:
            lo, hi = dt.date.fromisoformat(q["date_from"]), dt.date.fromisoformat(q["date_to"])
        except (KeyError, ValueError):
            return _err(400, "bad_request", "date_from and date_to (YYYY-MM-DD) are required")
        if (hi - lo).days > 89 or q.get("aggregation_type") != "DAILY":
            return _err(400, "bad_request", "at most 90 days per request, aggregation_type DAILY")
        rows = [{"item_id": a["item"], "date": a["date"],
                 "metrics": {"prints": a["prints"], "clicks": a["clicks"], "cost": a["cost"],
                             "direct_amount": a["direct_amount"], "indirect_amount": a["indirect_amount"],
                             "direct_units_quantity": a["direct_units"],
                             "indirect_units_quantity": a["indirect_units"]}}
                for a in self.data["ads"] if lo <= dt.date.fromisoformat(a["date"]) <= hi]
        return 200, {"paging": {"total": len(rows), "offset": offset, "limit": limit},
                     "results": rows[offset:offset + limit]}

    def _stock(self, inventory: str) -> tuple[int, Any]:
        lst = next((x for x in LISTINGS if f"INV{x[0][-6:]}" == inventory), None)
        if lst is None:
            return _err(404, "not_found", f"inventory {inventory} not found")
        return 200, {"inventory_id": inventory, "total": self.data["stock"][lst[0]] + 2,
                     "available_quantity": self.data["stock"][lst[0]], "not_available_quantity": 2,
                     "not_available_detail": [{"status": "damaged", "quantity": 2}],
                     "external_references": [{"type": "item", "id": lst[0], "variation_id": None}]}

    # ------------------------------------------------------------------------------------------- HTTP
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _go(self, method: str) -> None:
                parts = urlsplit(self.path)
                q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                form: dict[str, str] = {}
                if method == "POST":
                    n = int(self.headers.get("Content-Length") or 0)
                    form = {k: v[-1] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
                status, body = srv.route(method, parts.path, q, form, self.headers.get("Authorization"))
                with srv.lock:
                    srv.calls[parts.path.split("/")[1] if parts.path != "/orders/search" else "orders"] += 1
                    srv.log.append((method, parts.path, status))
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._go("GET")

            def do_POST(self) -> None:
                self._go("POST")

        return Handler
