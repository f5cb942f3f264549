"""A local Mercado Libre for tests and benchmarks, written from Mercado Libre's public developer pages (not from
sheets-sync's client): the OAuth2 authorization server and the REST resources a seller's reporting reads, on
127.0.0.1 (``ThreadingHTTPServer``), serving one :func:`sheets_sync.samples.mercadolibre.mlm_dataset`.

Every behaviour names the page it comes from; **guess** marks what no page says (then the server does what the
rest of the API does, or the strictest reasonable thing). Pages (developers.mercadolibre.com.mx):

* ``[auth]``    /es_ar/autenticacion-y-autorizacion — authorization URL, ``POST /oauth/token`` (grant types
  ``authorization_code`` and ``refresh_token``, form body), the answer's fields, "the access token expires after
  6 hours", "the refresh token is single use; you receive a new one on every refresh", "only the **latest**
  refresh token may be exchanged, and only by its client_id", its error codes and the ``invalid_grant`` body;
* ``[design]``  /es_ar/consideraciones-de-diseno — the error body ``{message, error, status, cause}``; paging
  ``offset``/``limit`` with defaults 0 / 50;
* ``[429]``     /es_mx/rate-limit-error-429 — 429 means too many requests in a short time, counted "per Client ID
  (application) ... and per piece of endpoint"; no figure is published;
* ``[403]``     /es_ar/error-403 — 403 bodies (``access_denied`` / ``FORBIDDEN``) for missing permissions;
* ``[orders]``  /es_ar/gestiona-ventas — ``/orders/search`` filters (``seller``, ``order.date_created.from/.to``),
  "it uses the date **up to the hour** and drops the minutes, seconds and milliseconds", "searching as a seller
  filters out cancelled orders", default sort ``date_asc`` (sellers by ``date_closed``), the answer's shape
  (``results``, ``paging``, ``sort``, ``available_sorts``, ``display``), ``caller.id.invalid``;
* ``[ship]``    /es_ar/envios — ``/shipments/{id}`` (header ``x-format-new: true`` → ``logistic: {mode, type}``),
  ``/shipments/{id}/costs`` (``senders[].cost`` = what the seller pays), 401 bodies;
* ``[items]``   /es_ar/items-y-busquedas — ``/users/{id}/items/search`` (paging; ``search_type=scan`` beyond
  1,000), multiget ``/items?ids=`` "a maximum of 20", answered per id as ``{code, body}``;
* ``[visits]``  /es_ar/recurso-de-visitas — ``/items/{id}/visits/time_window?last&unit=day&ending``: the example
  ``last=2, ending=2021-08-06`` answers 08-04 and 08-05 (``ending`` is **exclusive**), ``date_to`` = ending;
  "at most 150 days"; its error table (400s, 404, and **403 PA_UNAUTHORIZED_RESULT_FROM_POLICIES "when the access
  token is invalid, has expired, or lacks the required permissions"**);
* ``[ads]``     /es_ar/product-ads-para-catalogo-y-user-products-lectura — the legacy Product Ads routes answer
  **404** once retired; ``GET /advertising/advertisers?product_id=PADS`` with ``Api-Version: 1`` (404 "No
  permissions found for user_id" when the user has no Product Ads); ``/advertising/{SITE}/advertisers/{adv}/
  product_ads/campaigns/search`` and ``.../ads/search`` with ``api-version: 2``: ``date_from``/``date_to``
  required when metrics are asked, "a date range of 90 days back", one ``aggregation_type`` at a time
  (``DAILY`` answers one row per date with the metrics at top level), ``filters[...]``, ``limit`` default 50
  with ``offset``, ``metrics_summary``;
* ``[full]``    /es_ar/envios-fulfillment — ``/inventories/{id}/stock/fulfillment`` and its error table
  (404 ``seller_product_not_found``, 403 ``forbidden``, 429 ``too_many_request``);
* ``[rep]``     /es_ar/reputacion-de-vendedores — ``seller_reputation`` of ``/users/{id}``.

Guesses, each marked where it is implemented: the numbers of the rate limit (:data:`RATE`, none is published),
``Retry-After`` on 429, the ``limit`` caps of ``/orders/search`` (50), items search (100) and Product Ads searches
(50, what public clients say the API accepts), the error bodies no page shows, a missing ``api-version`` header
being a 400, the answer without ``x-format-new``, an authorization code living 10 minutes, Product Ads daily
rows only for dates with activity, visits days being the site's days.

Strict by default: hour truncation on, ``api-version`` required, legacy routes gone, a rate limit per client and
route, rotating single-use refresh tokens. Knobs for tests: ``access_ttl`` (seconds an access token lives),
``expire_tokens()``, ``throttle`` (the next n calls answer 429), ``fail[family or path] = status`` (every
call of a family, or to one path, answers that status), ``deny[family]`` (403 PA_UNAUTHORIZED_RESULT_FROM_POLICIES for that family),
``ads_enabled`` (False: the user has no Product Ads), ``rates`` / ``clock`` (a :class:`~.served.VirtualClock`
makes waiting free), ``hour_truncation`` (a test that turns it off says why). ``calls`` counts calls per family,
``log`` keeps (method, path, status) — never a token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
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

from ..samples.mercadolibre import ADVERTISER_ID, CAMPAIGNS, LISTINGS, SELLER_ID, order_instant, user_document
from .served import RateLimiter, ServedInThread

CLIENT_ID = "5551234567890123"
CLIENT_SECRET = "ml-secret-DO-NOT-LOG-7788"
REFRESH_TOKEN = "TG-ml-refresh-DO-NOT-LOG-0001"
REDIRECT_URI = "https://sheets-sync.example/mercadolibre/callback"
TZ = ZoneInfo("America/Mexico_City")
API_OFFSET = dt.timezone(dt.timedelta(hours=-4))   # [orders]: the examples' timestamps carry −04:00
ACCESS_TTL = 6 * 3600                              # [auth]: "expira transcurridas 6 horas"
CODE_TTL = 600                                     # guess: the page gives no lifetime for a code
ADS_DAYS_BACK = 90                                 # [ads]: "90 días hacia atrás"
VISITS_MAX_DAYS = 150                              # [visits]
MULTIGET_MAX = 20                                  # [items]: "un máximo de 20 resultados"
# guess: no page publishes a figure ([429] says only "per Client ID and per piece of endpoint")
RATE = (20.0, 20)
FAMILIES = ("oauth", "users", "items", "orders", "shipments", "visits", "ads", "stock")
# [ads]: "Endpoints que serán descontinuados" — they answer 404 since the retirement
LEGACY_ADS = ("/advertising/product_ads/items/", "/advertising/product_ads/campaigns/",
              "/advertising/product_ads_2/campaigns/", "/advertising/product_ads/ads/search")
METRICS = ("clicks", "prints", "ctr", "cost", "cpc", "acos", "organic_units_quantity", "organic_units_amount",
           "organic_items_quantity", "direct_items_quantity", "indirect_items_quantity",
           "advertising_items_quantity", "cvr", "roas", "sov", "direct_units_quantity", "indirect_units_quantity",
           "units_quantity", "direct_amount", "indirect_amount", "total_amount")


def error(status: int, code: str, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """[design]: ``{"message", "error", "status", "cause"}``."""
    return status, {"message": message, "error": code, "status": status, "cause": []}, {}


Answer = tuple[int, Any, dict[str, str]]


def _ok(body: Any) -> Answer:
    return 200, body, {}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class MercadoLibreServer(ServedInThread):
    """``with MercadoLibreServer(dataset) as srv:``; ``srv.url`` is both the API and the authorization host."""

    def __init__(self, data: dict[str, Any], *, access_ttl: float = ACCESS_TTL,
                 clock: Callable[[], float] = time.monotonic, rates: tuple[float, int] | None = RATE,
                 today: Callable[[], dt.date] | None = None, pkce_required: bool = False):
        self.data = data
        self.access_ttl = access_ttl
        self.clock = clock
        self.today = today or (lambda: dt.datetime.now(TZ).date())
        self.pkce_required = pkce_required           # [auth]: "cuando esta opción está activada ... obligatorio"
        self.lock = threading.RLock()
        self.latest_refresh: dict[str, str | None] = {CLIENT_ID: REFRESH_TOKEN}
        self.codes: dict[str, dict[str, Any]] = {}
        self.access: dict[str, tuple[str, int, float]] = {}       # token → (client, user, expires at)
        self.limiter = RateLimiter({f: rates for f in FAMILIES} if rates else {}, clock)
        self.throttle = 0
        self.fail: dict[str, int] = {}
        self.deny: set[str] = set()
        self.ads_enabled = True
        self.hour_truncation = True
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []
        self.refreshes = 0
        self.orders = [self._order(o) for o in data["orders"]]
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as ``access_ttl`` passing would)."""
        with self.lock:
            self.access = {k: (c, u, -1.0) for k, (c, u, _) in self.access.items()}

    # ----------------------------------------------------------------------------------------------- data
    @staticmethod
    def _stamp(day: dt.date, minute: int) -> str:
        return order_instant(day, minute).astimezone(API_OFFSET).isoformat(timespec="milliseconds")

    def _order(self, o: dict[str, Any]) -> dict[str, Any]:
        """[orders] the answer's order shape (``shipping`` holds only the shipment id: [ship] says orders no
        longer carry shipping data)."""
        title = next(f"Demostración {lst[2]} {lst[1]}" for lst in LISTINGS if lst[0] == o["item"])
        stamp = self._stamp(o["day"], o["minute"])
        return {"id": o["id"], "status": o["status"], "status_detail": None, "date_created": stamp,
                "date_closed": stamp, "currency_id": "MXN", "total_amount": o["price"] * o["qty"],
                "seller": {"id": SELLER_ID}, "buyer": {"id": 700000000 + o["id"] % 1000}, "pack_id": None,
                "shipping": {"id": o["shipment"]}, "tags": ["paid", "delivered"] if o["status"] == "paid" else [],
                "context": {"channel": "marketplace", "site": "MLM", "flows": []},
                "order_items": [{"item": {"id": o["item"], "title": title, "seller_sku": o["sku"],
                                          "variation_id": None, "variation_attributes": []},
                                 "quantity": o["qty"], "unit_price": o["price"], "full_unit_price": o["price"],
                                 "sale_fee": o["fee"], "listing_type_id": "gold_pro", "currency_id": "MXN"}],
                "_created": order_instant(o["day"], o["minute"]), "_ship": o["ship"], "_logistic": o["logistic"]}

    # ----------------------------------------------------------------------------------------------- routes
    def route(self, method: str, path: str, q: dict[str, str], form: dict[str, str],
              headers: dict[str, str]) -> tuple[str, Answer]:
        """(family, answer) of one request."""
        if method == "POST" and path == "/oauth/token":
            return "oauth", self._token(form)
        if method == "GET" and path == "/authorization":
            return "oauth", self._authorize(q)
        family = self._family(path)
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        with self.lock:
            if not token:       # [ship] 401 "authorization value not present"; [auth] the token goes in a header
                return family, error(401, "unauthorized", "authorization value not present")
            client, user, expires = self.access.get(token, ("", 0, -1.0))
            if expires <= self.clock():
                if family == "visits":      # [visits] 403 PA_UNAUTHORIZED_RESULT_FROM_POLICIES for an expired token
                    return family, error(403, "PA_UNAUTHORIZED_RESULT_FROM_POLICIES",
                                         "At least one policy returned UNAUTHORIZED")
                return family, error(401, "unauthorized", "invalid access token")   # [ship]
            if family in self.deny:         # [visits] 403 when the token lacks the required permissions
                return family, error(403, "PA_UNAUTHORIZED_RESULT_FROM_POLICIES",
                                     "At least one policy returned UNAUTHORIZED")
            wait = 0.0 if self.throttle > 0 else self.limiter.take(family)
            if self.throttle > 0 or wait > 0:   # [429]; [full] names its own code; Retry-After: guess
                self.throttle = max(0, self.throttle - 1)
                wait = max(1, round(wait + 0.5))
                code = "too_many_request" if family == "stock" else "local_rate_limited"
                status, body, _ = error(429, code, "Too many requests")
                return family, (status, body, {"Retry-After": str(wait)})
            status = self.fail.get(path) or self.fail.get(family)
            if status:
                return family, error(status, "not_found" if status == 404 else "internal_error",
                                     f"resource {path} not found" if status == 404 else "internal server error")
        return family, self._resource(family, path, q, headers, user)

    @staticmethod
    def _family(path: str) -> str:
        parts = path.strip("/").split("/")
        if parts[0] == "users":
            return "items" if "items" in parts else "users"
        if parts[0] == "items":
            return "visits" if "visits" in parts else "items"
        if parts[0] == "advertising":
            return "ads"
        return {"orders": "orders", "shipments": "shipments", "inventories": "stock"}.get(parts[0], "users")

    def _resource(self, family: str, path: str, q: dict[str, str], headers: dict[str, str], user: int) -> Answer:
        parts = path.strip("/").split("/")
        if path == "/users/me" or path == f"/users/{user}":
            return _ok(user_document(self.data))       # [rep]
        if len(parts) == 4 and parts[0] == "users" and parts[2:] == ["items", "search"]:
            return self._items_search(parts[1], q, user)
        if path == "/items":
            return self._multiget(q)
        if path == "/orders/search":
            return self._orders(q, user)
        if len(parts) in (2, 3) and parts[0] == "shipments":
            return self._shipment(parts[1], parts[2] if len(parts) == 3 else None, headers, user)
        if len(parts) == 4 and parts[0] == "items" and parts[2:] == ["visits", "time_window"]:
            return self._visits(parts[1], q)
        if family == "ads":
            return self._ads(path, parts, q, headers, user)
        if len(parts) == 4 and parts[0] == "inventories" and parts[2:] == ["stock", "fulfillment"]:
            return self._stock(parts[1], user)
        return error(404, "not_found", f"resource {path} not found")

    # ------------------------------------------------------------------------------------------------ OAuth
    def _authorize(self, q: dict[str, str]) -> Answer:
        """[auth] 1.2: ``/authorization?response_type=code&client_id&redirect_uri&state[&code_challenge&
        code_challenge_method]``; the seller consents (here at once: the consent screen is interactive) and is
        sent to ``redirect_uri?code=...&state=...``. A redirect_uri that is not exactly the app's is refused."""
        if q.get("response_type") != "code" or q.get("client_id") != CLIENT_ID:
            return error(400, "invalid_request", "response_type=code and a known client_id are required")
        if q.get("redirect_uri") != REDIRECT_URI:
            return error(400, "invalid_request", "redirect_uri does not match the application's")
        if self.pkce_required and not q.get("code_challenge"):
            return error(400, "invalid_request", "code_challenge is required for this application")
        code = f"TG-code-{secrets.token_hex(12)}"
        with self.lock:
            self.codes[code] = {"client": CLIENT_ID, "redirect": REDIRECT_URI, "expires": self.clock() + CODE_TTL,
                                "challenge": q.get("code_challenge"), "method": q.get("code_challenge_method")}
        target = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        return 302, None, {"Location": f"{REDIRECT_URI}?{urlencode(target)}"}

    def _token(self, form: dict[str, str]) -> Answer:
        """[auth] 2 and 3; errors from its "Referencia de códigos de error" (invalid_client's status: guess)."""
        grant = form.get("grant_type")
        if grant not in ("authorization_code", "refresh_token"):
            return error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return error(401, "invalid_client", "invalid client_id or client_secret")
        bad = {"error_description": "Error validating grant. Your authorization code or refresh token may be "
               "expired or it was already used", "error": "invalid_grant", "status": 400, "cause": []}
        with self.lock:
            if grant == "authorization_code":
                entry = self.codes.pop(form.get("code", ""), None)       # single use
                if entry is None or entry["expires"] <= self.clock() or form.get("redirect_uri") != entry["redirect"]:
                    return 400, bad, {}
                if entry["challenge"] and not self._pkce_ok(entry, form.get("code_verifier", "")):
                    return 400, bad, {}
            else:
                if not form.get("refresh_token") or form["refresh_token"] != self.latest_refresh.get(CLIENT_ID):
                    return 400, bad, {}     # used, or not the latest: only the last one generated is accepted
                self.refreshes += 1
            refresh = f"TG-{secrets.token_hex(12)}-{SELLER_ID}"
            access = f"APP_USR-{secrets.token_hex(16)}-{SELLER_ID}"
            self.latest_refresh[CLIENT_ID] = refresh
            self.access[access] = (CLIENT_ID, SELLER_ID, self.clock() + self.access_ttl)
        return _ok({"access_token": access, "token_type": "bearer", "expires_in": int(self.access_ttl),
                    "scope": "offline_access read write", "user_id": SELLER_ID, "refresh_token": refresh})

    @staticmethod
    def _pkce_ok(entry: dict[str, Any], verifier: str) -> bool:
        """[auth]: ``S256`` (SHA-256 of the verifier, base64url) or ``plain``."""
        if entry["method"] == "plain":
            return secrets.compare_digest(verifier, entry["challenge"])
        return secrets.compare_digest(_b64(hashlib.sha256(verifier.encode()).digest()), entry["challenge"])

    # ------------------------------------------------------------------------------------------ resources
    @staticmethod
    def _paging(q: dict[str, str], cap: int) -> tuple[int, int] | Answer:
        """[design] ``offset``/``limit`` (defaults 0 / 50); more than ``cap`` is a 400 (caps: guesses)."""
        try:
            offset, limit = int(q.get("offset", 0)), int(q.get("limit", 50))
        except ValueError:
            return error(400, "bad_request", "offset and limit must be integers")
        if not 1 <= limit <= cap or offset < 0:
            return error(400, "bad_request", f"limit must be between 1 and {cap}")
        return offset, limit

    def _items_search(self, seller: str, q: dict[str, str], user: int) -> Answer:
        """[items] ``/users/{id}/items/search``: the caller's own listings only (403: [403]); offset + limit
        beyond 1,000 needs ``search_type=scan`` (400: guess)."""
        if seller != str(user):
            return error(403, "forbidden", "access to the requested resource is forbidden")
        pg = self._paging(q, 100)
        if len(pg) == 3:
            return pg  # type: ignore[return-value]
        offset, limit = pg  # type: ignore[misc]
        if offset + limit > 1000:
            return error(400, "bad_request", "use search_type=scan to read more than 1000 items")
        ids = [lst[0] for lst in LISTINGS]
        return _ok({"seller_id": str(user), "query": None, "results": ids[offset:offset + limit],
                    "paging": {"total": len(ids), "offset": offset, "limit": limit}})

    def _multiget(self, q: dict[str, str]) -> Answer:
        """[items] multiget: at most 20 ids (more: 400, guess), one ``{code, body}`` per id. The listing's own
        ``shipping.logistic_type`` says what the listing offers, not how each sale shipped."""
        ids = [i for i in q.get("ids", "").split(",") if i]
        if not ids or len(ids) > MULTIGET_MAX:
            return error(400, "bad_request", f"ids: between 1 and {MULTIGET_MAX} items per request")
        out = []
        for i in ids:
            lst = next((x for x in LISTINGS if x[0] == i), None)
            if lst is None:
                out.append({"code": 404, "body": {"message": f"Item with id {i} not found", "error": "not_found",
                                                  "status": 404, "cause": []}})
                continue
            out.append({"code": 200, "body": {"id": i, "site_id": "MLM", "seller_id": SELLER_ID,
                                              "title": f"Demostración {lst[2]} {lst[1]}", "status": "active",
                                              "seller_custom_field": lst[1], "price": lst[5], "currency_id": "MXN",
                                              "inventory_id": f"INV{i[-6:]}",
                                              "shipping": {"mode": "me2", "logistic_type": "fulfillment"}}})
        return _ok(out)

    def _orders(self, q: dict[str, str], user: int) -> Answer:
        """[orders] ``/orders/search``: ``seller`` must be the caller (``caller.id.invalid``, 403: guess),
        ``order.date_created.from/.to`` compared **to the hour** (minutes, seconds and milliseconds dropped),
        cancelled orders filtered out for a seller, sorted ``date_asc`` by ``date_closed``, limit ≤ 50 (guess)."""
        if q.get("seller") != str(user):
            return error(403, "caller.id.invalid", "caller.id does not match buyer nor seller")
        pg = self._paging(q, 50)
        if len(pg) == 3:
            return pg  # type: ignore[return-value]
        offset, limit = pg  # type: ignore[misc]
        bounds: list[dt.datetime | None] = []
        for key in ("order.date_created.from", "order.date_created.to"):
            if key not in q:
                bounds.append(None)
                continue
            try:
                at = dt.datetime.fromisoformat(q[key].replace("Z", "+00:00"))
            except ValueError:
                return error(400, "bad_request", f"invalid date format for {key}")
            if at.tzinfo is None:
                at = at.replace(tzinfo=dt.UTC)
            bounds.append(at.replace(minute=0, second=0, microsecond=0) if self.hour_truncation else at)
        lo, hi = bounds
        found = [o for o in self.orders if o["status"] != "cancelled"
                 and (lo is None or o["_created"] >= lo) and (hi is None or o["_created"] <= hi)]
        found.sort(key=lambda o: (o["_created"], o["id"]), reverse=q.get("sort") == "date_desc")
        page = [{k: v for k, v in o.items() if not k.startswith("_")} for o in found[offset:offset + limit]]
        return _ok({"query": q.get("q", ""), "results": page,
                    "sort": {"id": q.get("sort", "date_asc"), "name": "Date ascending"},
                    "available_sorts": [{"id": "date_desc", "name": "Date descending"}], "filters": [],
                    "paging": {"total": len(found), "offset": offset, "limit": limit}, "display": "complete"})

    def _shipment(self, sid: str, sub: str | None, headers: dict[str, str], user: int) -> Answer:
        """[ship] ``/shipments/{id}`` (with ``x-format-new: true``: ``logistic {mode, type, direction}``; without
        it the older flat ``mode`` / ``logistic_type``: guess) and ``/shipments/{id}/costs``; 404 "failed to
        retrieve data"; another seller's shipment: 403 (guess)."""
        o = next((o for o in self.orders if str(o["shipping"]["id"]) == sid), None)
        if o is None or sub not in (None, "costs"):
            return error(404, "not_found", "failed to retrieve data")
        if o["seller"]["id"] != user:
            return error(403, "forbidden", "access to the requested resource is forbidden")
        if sub == "costs":
            return _ok({"gross_amount": o["_ship"], "receiver": {"user_id": o["buyer"]["id"], "cost": 0,
                                                                  "compensation": 0, "discounts": []},
                        "senders": [{"user_id": SELLER_ID, "cost": o["_ship"], "compensation": 0,
                                     "discounts": []}]})
        base = {"id": int(sid), "status": "delivered", "substatus": None, "date_created": o["date_created"],
                "tracking_number": f"MEL{sid}", "source": {"site_id": "MLM", "market_place": "MELI"}}
        if headers.get("x-format-new", "").lower() == "true":
            return _ok({**base, "logistic": {"mode": "me2", "type": o["_logistic"], "direction": "forward"},
                        "lead_time": {"cost": 0, "list_cost": o["_ship"], "currency_id": "MXN"}})
        return _ok({**base, "mode": "me2", "logistic_type": o["_logistic"], "order_id": o["id"]})

    def _visits(self, item: str, q: dict[str, str]) -> Answer:
        """[visits] ``last`` days ending **before** ``ending`` (default today), ``unit=day``, at most 150 days;
        the days are the site's days (guess: the page labels them ``T00:00:00Z``)."""
        if item not in self.data["visits"]:
            return error(404, "not_found", "Item not found")
        try:
            ending = dt.date.fromisoformat(q["ending"]) if "ending" in q else self.today()
        except ValueError:
            return error(400, "bad_request", "invalid date format for ending date")
        try:
            last = int(q.get("last", "1"))
        except ValueError:
            return error(400, "bad_request", "last must be an integer")
        if q.get("unit", "day") != "day":
            return error(400, "bad_request", "unit must be day")
        if not 1 <= last <= VISITS_MAX_DAYS:
            return error(400, "bad_request", "invalid time window, should be smaller or equal to 150 days")
        per = self.data["visits"][item]
        days = [ending - dt.timedelta(days=k) for k in range(last, 0, -1)]
        results = [{"date": f"{d.isoformat()}T00:00:00Z", "total": per.get(d.isoformat(), 0),
                    "visits_detail": [{"company": "mercadolibre", "quantity": per.get(d.isoformat(), 0)}]}
                   for d in days]
        return _ok({"item_id": item, "date_from": f"{days[0].isoformat()}T00:00:00Z",
                    "date_to": f"{ending.isoformat()}T00:00:00Z", "total_visits": sum(r["total"] for r in results),
                    "last": last, "unit": "day", "results": results})

    def _stock(self, inventory: str, user: int) -> Answer:
        """[full] ``/inventories/{id}/stock/fulfillment`` and its errors."""
        lst = next((x for x in LISTINGS if f"INV{x[0][-6:]}" == inventory), None)
        if lst is None:
            return error(404, "seller_product_not_found", f"Inventory not found with id: {inventory}")
        if user != SELLER_ID:
            return error(403, "forbidden", f"User {user} cannot access to seller_product {inventory}")
        available = self.data["stock"][lst[0]]
        return _ok({"inventory_id": inventory, "total": available + 2, "available_quantity": available,
                    "not_available_quantity": 2, "not_available_detail": [{"status": "damaged", "quantity": 2}],
                    "external_references": [{"type": "item", "id": lst[0], "variation_id": None}]})

    # ---------------------------------------------------------------------------------------- Product Ads
    def _ads(self, path: str, parts: list[str], q: dict[str, str], headers: dict[str, str], user: int) -> Answer:
        if any(path.startswith(p) for p in LEGACY_ADS) or "/product_ads/items" in path:
            return error(404, "not_found", f"resource {path} not found")          # [ads]: retired routes
        if path == "/advertising/advertisers":
            return self._advertisers(q, headers)
        if (len(parts) == 7 and parts[2] == "advertisers" and parts[4] == "product_ads"
                and parts[5] in ("campaigns", "ads") and parts[6] == "search"):
            return self._ads_search(parts[1], parts[3], parts[5], q, headers)
        return error(404, "not_found", f"resource {path} not found")

    def _advertisers(self, q: dict[str, str], headers: dict[str, str]) -> Answer:
        """[ads] "Consultar anunciante": ``product_id`` required (PADS, DISPLAY, BADS), ``Api-Version: 1``
        (missing: 400, guess); 404 "No permissions found for user_id" without Product Ads."""
        if headers.get("api-version") != "1":
            return error(400, "bad_request", "header Api-Version: 1 is required")      # guess
        if q.get("product_id") not in ("PADS", "DISPLAY", "BADS"):
            return error(400, "bad_request", "product_id must be PADS, DISPLAY or BADS")
        if q["product_id"] != "PADS" or not self.ads_enabled:
            return error(404, "not_found", "No permissions found for user_id")
        return _ok({"advertisers": [{"advertiser_id": ADVERTISER_ID, "site_id": "MLM",
                                     "advertiser_name": "DEMO.TIENDA", "account_name": "MLM - DEMO.TIENDA"}]})

    def _ads_search(self, site: str, adv: str, what: str, q: dict[str, str], headers: dict[str, str]) -> Answer:
        """[ads] campaigns/search and ads/search (``api-version: 2``; missing or other: 400, guess)."""
        if headers.get("api-version") != "2":
            return error(400, "bad_request", "header api-version: 2 is required")       # guess
        if site != "MLM" or adv != str(ADVERTISER_ID):
            return error(403, "forbidden", "access to the requested resource is forbidden")
        pg = self._paging(q, 50)                  # guess: public clients page by 50, "the maximum the API accepts"
        if len(pg) == 3:
            return pg  # type: ignore[return-value]
        offset, limit = pg  # type: ignore[misc]
        metrics = [m for m in q.get("metrics", "").lower().split(",") if m]
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            return error(400, "bad_request", f"unknown metrics: {', '.join(unknown)}")
        lo = hi = None
        if metrics or "date_from" in q or "date_to" in q:
            try:          # [ads] "Se valida que esté presente si se solicitan metrics"
                lo, hi = dt.date.fromisoformat(q["date_from"]), dt.date.fromisoformat(q["date_to"])
            except (KeyError, ValueError):
                return error(400, "bad_request", "date_from and date_to (YYYY-MM-DD) are required with metrics")
            if hi < lo or lo < self.today() - dt.timedelta(days=ADS_DAYS_BACK):
                return error(400, "bad_request", f"the date range must be within the last {ADS_DAYS_BACK} days")
        aggregation = q.get("aggregation_type", "campaign" if what == "campaigns" else "item")
        if aggregation.upper() not in ("DAILY", "CAMPAIGN", "ITEM") or "," in aggregation:
            return error(400, "bad_request", "one aggregation_type at a time: DAILY or the default")
        filters = {k[8:-1]: v for k, v in q.items() if k.startswith("filters[") and k.endswith("]")}
        rows = [a for a in self.data["ads"] if lo is None or lo <= dt.date.fromisoformat(a["date"]) <= hi]
        if what == "campaigns":
            ids = [c for c in CAMPAIGNS.values()
                   if "campaign_ids" not in filters or str(c) in filters["campaign_ids"].split(",")]
            if "active" not in filters.get("status", "active").split(","):     # every campaign here is active
                ids = []
            rows = [a for a in rows if self._campaign(a["item"]) in ids]
            if aggregation.upper() == "DAILY":
                return self._daily(rows, metrics, offset, limit)
            results = [{"id": c, "name": f"Campaña {c}", "status": "active", "strategy": "PROFITABILITY",
                        "roas_target": 8.0, "channel": "marketplace", "advertiser_id": ADVERTISER_ID,
                        "budget": 500.0, "currency_id": "MXN",
                        **({"metrics": self._metrics([a for a in rows if self._campaign(a["item"]) == c], metrics)}
                           if metrics else {})} for c in ids]
            return self._page(results, offset, limit, rows, metrics, q)
        items = [lst[0] for lst in LISTINGS]
        if "item_id" in filters:
            items = [i for i in items if i in filters["item_id"].split(",")]
        if "campaign_id" in filters:      # [ads] "todos los anuncios que ha tenido una campaña en un período"
            items = [i for i in items if str(self._campaign(i)) == filters["campaign_id"]]
        if "statuses" in filters:
            items = [i for i in items if self._ad_status(i) in filters["statuses"].split(",")]
        rows = [a for a in rows if a["item"] in items]
        if aggregation.upper() == "DAILY":
            return self._daily(rows, metrics, offset, limit)
        results = []
        for i in items:
            lst = next(x for x in LISTINGS if x[0] == i)
            results.append({"item_id": i, "campaign_id": self._campaign(i), "title": f"Demostración {lst[2]} {lst[1]}",
                            "status": self._ad_status(i), "price": lst[5], "channel": "marketplace",
                            "logistic_type": "fulfillment", "listing_type_id": "gold_pro",
                            "metrics": self._metrics([a for a in rows if a["item"] == i], metrics) if metrics else {}})
        return self._page(results, offset, limit, rows, metrics, q)

    @staticmethod
    def _campaign(item: str) -> int:
        """Each advertised listing runs in its category's campaign; an unadvertised one is in none (id 0)."""
        lst = next(x for x in LISTINGS if x[0] == item)
        return 0 if lst[3] == "clearance" else CAMPAIGNS[lst[2]]

    def _ad_status(self, item: str) -> str:
        return "active" if self._campaign(item) else "idle"

    @staticmethod
    def _metrics(rows: list[dict[str, Any]], wanted: list[str]) -> dict[str, Any]:
        """[ads] glossary: cost, clicks, prints; direct/indirect amounts and units; total_amount = direct +
        indirect; ratios in percent as the examples show them."""
        s = {k: sum(a[k] for a in rows) for k in ("prints", "clicks", "cost", "direct_units", "indirect_units",
                                                   "direct_amount", "indirect_amount")}
        total = s["direct_amount"] + s["indirect_amount"]
        full = {"clicks": s["clicks"], "prints": s["prints"], "cost": round(s["cost"], 2),
                "cpc": round(s["cost"] / s["clicks"], 2) if s["clicks"] else 0.0,
                "ctr": round(100 * s["clicks"] / s["prints"], 2) if s["prints"] else 0.0,
                "direct_amount": s["direct_amount"], "indirect_amount": s["indirect_amount"], "total_amount": total,
                "direct_units_quantity": s["direct_units"], "indirect_units_quantity": s["indirect_units"],
                "units_quantity": s["direct_units"] + s["indirect_units"],
                "direct_items_quantity": s["direct_units"], "indirect_items_quantity": s["indirect_units"],
                "advertising_items_quantity": s["direct_units"] + s["indirect_units"],
                "acos": round(100 * s["cost"] / total, 2) if total else 0.0,
                "roas": round(total / s["cost"], 2) if s["cost"] else 0.0,
                "organic_units_quantity": 0, "organic_units_amount": 0.0, "organic_items_quantity": 0,
                "cvr": 0.0, "sov": 0.0}
        return {k: full[k] for k in wanted}

    def _daily(self, rows: list[dict[str, Any]], metrics: list[str], offset: int, limit: int) -> Answer:
        """[ads] ``aggregation_type=DAILY``: one row per date, its metrics at top level (only dates with
        activity: guess)."""
        dates = sorted({a["date"] for a in rows})
        results = [{"date": d, **self._metrics([a for a in rows if a["date"] == d], metrics)} for d in dates]
        return _ok({"paging": {"offset": offset, "last_item_id": None, "total": len(results), "limit": limit},
                    "results": results[offset:offset + limit]})

    def _page(self, results: list[Any], offset: int, limit: int, rows: list[dict[str, Any]], metrics: list[str],
              q: dict[str, str]) -> Answer:
        body: dict[str, Any] = {"paging": {"offset": offset, "last_item_id": None, "total": len(results),
                                           "limit": limit}, "results": results[offset:offset + limit]}
        if q.get("metrics_summary") == "true" and metrics:
            body["metrics_summary"] = self._metrics(rows, metrics)
        return _ok(body)

    # ------------------------------------------------------------------------------------------------ HTTP
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
                headers = {k.lower(): v for k, v in self.headers.items()}
                family, (status, body, extra) = srv.route(method, parts.path, q, form, headers)
                with srv.lock:
                    srv.calls[family] += 1
                    srv.log.append((method, parts.path, status))
                raw = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._go("GET")

            def do_POST(self) -> None:
                self._go("POST")

        return Handler
