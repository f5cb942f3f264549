"""Mercado Libre's OAuth2 and REST API as its public pages describe them (docs/mercado-libre.md cites each page).

* :class:`MercadoLibreApp` — the operator's application (``MERCADOLIBRE_CLIENT_ID`` / ``_CLIENT_SECRET`` /
  ``_REDIRECT_URI``, and the API and authorization hosts);
* the authorization-code grant and the refresh grant as small functions that take the token store:
  :func:`authorization_url` (+ :func:`pkce_pair`), :func:`code_from` (the code, or the whole redirect URL the
  browser landed on), :func:`exchange_code`, :func:`connect` (exchange and store the first refresh token) and
  :func:`refresher` (what :func:`sheets_sync.tokens.access_token` calls). ``sheets-sync connect mercadolibre``
  and a team's own connection use the same functions with their own stores;
* :class:`MercadoLibreApi` — authenticated GETs. The access token comes from a
  :class:`~sheets_sync.tokens.TokenStore`: reused while valid, refreshed once across processes when near expiry,
  the rotated refresh token saved before the new access token is used (Mercado Libre's refresh tokens work once
  and only the newest is accepted). Calls are paced by a Budget; 401 → one refresh and a retry; 403
  ``PA_UNAUTHORIZED_RESULT_FROM_POLICIES`` (also what an expired token gets on some routes) → one refresh, then
  :class:`MercadoLibreForbidden` saying how to fix the permission; 429 → wait ``Retry-After`` (else back off) and
  retry, up to :data:`MAX_WAITING_S` of waiting per call; 5xx → retried a few times.

Secrets (client secret, refresh and access tokens) never reach an error or a log: requests' own debug logging
prints no bodies, and every message is redacted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from ..errors import ConfigError, RetriableError, SheetsSyncError
from ..localize import say
from ..tokens import FileTokenStore, Grant, TokenState, TokenStore, access_token, fingerprint
from .amazon_common import Budget, LocalBudget, redact, retry_wait

API_URL = "https://api.mercadolibre.com"
AUTH_URL = "https://auth.mercadolibre.com.mx"       # Mexico's authorization host (the site's domain)
TOKEN_KEY = "mercadolibre"                          # the operator's connection in <data_dir>/tokens/
RATE = {"mercadolibre": (10.0, 10)}                 # our pacing: Mercado Libre publishes no figure
MAX_WAITING_S = 300.0                               # waiting on 429s for one call, at most
SERVER_TRIES = 4                                    # a 5xx or a dropped connection: this many tries
POLICIES = "PA_UNAUTHORIZED_RESULT_FROM_POLICIES"


class TokenRefused(ConfigError):
    """The token endpoint refused the application or the grant (``invalid_client``, ``invalid_grant``)."""


class MercadoLibreForbidden(SheetsSyncError):
    """403: the connected account or the application lacks a permission for this resource."""

    def __init__(self, path: str, code: str):
        super().__init__(say("ml.refused_path", "en", what=path, reason=code))
        self.path, self.code = path, code


class MercadoLibreHttpError(SheetsSyncError):
    """Any other 4xx answer (the message is Mercado Libre's, redacted)."""

    def __init__(self, status: int, path: str, code: str, message: str):
        reason = f"{status} {code}".strip()
        super().__init__(say("ml.http_message", "en", reason=reason, what=path, x=message) if message
                         else say("ml.http", "en", reason=reason, what=path))
        self.status, self.path, self.code, self.message = status, path, code, message


@dataclass(frozen=True)
class MercadoLibreApp:
    """The operator's Mercado Libre application (Mis aplicaciones): id, secret, redirect URI, hosts."""

    client_id: str
    client_secret: str
    redirect_uri: str = ""
    api_url: str = API_URL
    auth_url: str = AUTH_URL

    def __repr__(self) -> str:      # never the secret
        return f"MercadoLibreApp(client_id={self.client_id!r}, api_url={self.api_url!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MercadoLibreApp:
        def get(name: str) -> str:
            return str(env.get(name) or "").strip()

        missing = [n for n in ("MERCADOLIBRE_CLIENT_ID", "MERCADOLIBRE_CLIENT_SECRET") if not get(n)]
        if missing:
            raise ConfigError(say("ml.variables", "en", what=", ".join(missing)))
        return cls(get("MERCADOLIBRE_CLIENT_ID"), get("MERCADOLIBRE_CLIENT_SECRET"),
                   get("MERCADOLIBRE_REDIRECT_URI"), (get("MERCADOLIBRE_API_URL") or API_URL).rstrip("/"),
                   (get("MERCADOLIBRE_AUTH_URL") or AUTH_URL).rstrip("/"))


def token_store(data_dir: Path) -> FileTokenStore:
    """Where the operator's connections live (``<data_dir>/tokens``, one 0600 file per key)."""
    return FileTokenStore(Path(data_dir) / "tokens")


# -------------------------------------------------------------------------------------------------- OAuth
def pkce_pair() -> tuple[str, str]:
    """(code_verifier, code_challenge) for PKCE with ``S256``."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorization_url(app: MercadoLibreApp, state: str, code_challenge: str | None = None) -> str:
    """The page where the seller authorises the application (``response_type=code``); ``state`` comes back
    with the code, so the answer can be matched to this request."""
    if not app.redirect_uri:
        raise ConfigError("Mercado Libre: MERCADOLIBRE_REDIRECT_URI not set: the redirect URI registered for the "
                          "application in Mis aplicaciones (exactly as registered)")
    query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uri, "state": state}
    if code_challenge:
        query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
    return f"{app.auth_url}/authorization?{urlencode(query)}"


def code_from(answer: str, state: str | None = None) -> str:
    """The authorization code from what the operator pasted: the code itself or the URL the browser was sent
    to (``...?code=TG-...&state=...``; a different ``state`` is refused)."""
    text = answer.strip()
    if "code=" not in text:
        if not text:
            raise ConfigError("Mercado Libre: no authorization code given")
        return text
    query = parse_qs(urlsplit(text).query or text.split("?", 1)[-1])
    if "error" in query:
        raise ConfigError(f"Mercado Libre did not authorise the application: {query['error'][0]}")
    if state is not None and query.get("state", [state])[0] != state:
        raise ConfigError("Mercado Libre: the redirect URL belongs to another authorisation (its state differs); "
                          "open the printed link again")
    return query["code"][0]


def _token_call(app: MercadoLibreApp, form: dict[str, str], session: requests.Session | None,
                hidden: list[str]) -> dict[str, Any]:
    """``POST /oauth/token`` with a form body; the answer, or the refusal as an error without secrets."""
    s = session or requests.Session()
    try:
        r = s.post(f"{app.api_url}/oauth/token", data=form, timeout=30,
                   headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"})
    except requests.RequestException as exc:
        raise RetriableError(f"Mercado Libre token endpoint unreachable ({type(exc).__name__})") from None
    if r.status_code == 429 or r.status_code >= 500:
        raise RetriableError(f"Mercado Libre token endpoint answered HTTP {r.status_code}",
                             retry_after=retry_wait(r.headers, 0))
    body = _json(r)
    if r.status_code != 200 or "access_token" not in body:
        code = redact(str(body.get("error") or f"HTTP {r.status_code}"), hidden)
        raise TokenRefused(say("ml.app_refused", "en") if code == "invalid_client"
                           else say("ml.grant_refused", "en", reason=code))
    return body


def _grant(body: dict[str, Any]) -> Grant:
    return Grant(access_token=str(body["access_token"]), expires_in=float(body.get("expires_in") or 21600),
                 refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None)


def exchange_code(app: MercadoLibreApp, code: str, *, code_verifier: str | None = None,
                  session: requests.Session | None = None) -> tuple[Grant, str]:
    """The authorization code → (tokens, the seller's user id)."""
    form = {"grant_type": "authorization_code", "client_id": app.client_id, "client_secret": app.client_secret,
            "code": code, "redirect_uri": app.redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    body = _token_call(app, form, session, [app.client_secret, code])
    return _grant(body), str(body.get("user_id") or "")


def refresher(app: MercadoLibreApp, session: requests.Session | None = None,
              counted: Callable[[], None] | None = None) -> Callable[[str], Grant]:
    """The refresh grant for :func:`sheets_sync.tokens.access_token` (``counted`` is told of each call)."""
    def refresh(token: str) -> Grant:
        if counted:
            counted()
        form = {"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": app.client_secret,
                "refresh_token": token}
        return _grant(_token_call(app, form, session, [app.client_secret, token]))
    return refresh


def connect(store: TokenStore, key: str, app: MercadoLibreApp, code: str, *, code_verifier: str | None = None,
            origin: str = "", session: requests.Session | None = None,
            clock: Callable[[], float] = time.time) -> str:
    """Exchange ``code`` and store the connection under ``key`` (saved before this returns); the seller's id.
    ``origin``: the fingerprint of a seed refresh token this connection replaces (see tokens.access_token)."""
    grant, user = exchange_code(app, code, code_verifier=code_verifier, session=session)
    if not grant.refresh_token:
        raise TokenRefused("Mercado Libre gave no refresh token: give the application the offline_access scope in "
                           "Mis aplicaciones, then connect again")
    with store.locked(key):
        store.save(key, TokenState(refresh_token=grant.refresh_token, access_token=grant.access_token,
                                   expires_at=clock() + grant.expires_in, origin=origin, lifetime=grant.expires_in))
    return user


def adopt_legacy_token(store: TokenStore, key: str, app: MercadoLibreApp, legacy: Path) -> None:
    """Carry a rotated refresh token kept by earlier versions (``<data_dir>/mercadolibre/token.json``) into the
    store, once, so an upgrade does not lose the connection."""
    if store.load(key) is not None or not legacy.is_file():
        return
    try:
        old = json.loads(legacy.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if old.get("client_id") == app.client_id and old.get("refresh_token"):
        with store.locked(key):
            if store.load(key) is None:
                store.save(key, TokenState(refresh_token=str(old["refresh_token"]), origin=str(old.get("origin") or "")))


# ----------------------------------------------------------------------------------------------------- API
def _json(r: requests.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"_list": body}


class MercadoLibreApi:
    """Authenticated, paced GETs (thread-safe: shipments are read in parallel)."""

    def __init__(self, app: MercadoLibreApp, store: TokenStore, *, key: str = TOKEN_KEY, seed: str | None = None,
                 budget: Budget | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, timeout: float = 30.0):
        self.app = app
        self.url = app.api_url
        self.store = store
        self.key = key
        self.seed = seed or None
        self.budget = budget or LocalBudget(RATE)
        self.sleep = sleep
        self.clock = clock
        self.timeout = timeout
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.api_calls = 0
        self.refreshes = 0
        self.waited_s = 0.0
        self._lock = threading.Lock()
        self._refresh = refresher(app, self.session, self._count_refresh)

    def _count_refresh(self) -> None:
        with self._lock:
            self.refreshes += 1
            self.api_calls += 1

    @property
    def secrets(self) -> list[str]:
        state = self.store.load(self.key)
        return [self.app.client_secret, *([self.seed] if self.seed else []), *(state.secrets() if state else [])]

    def token(self, rejected: str | None = None) -> str:
        return access_token(self.store, self.key, self._refresh, seed=self.seed, clock=self.clock,
                            rejected=rejected)

    def origin(self) -> str:
        return fingerprint(self.seed) if self.seed else ""

    def _pace(self) -> None:
        """Wait for this call's turn. The turn is reserved as a moment (threads reserve one after another) and
        slept to from whenever this thread gets there, so parallel waits overlap instead of adding up."""
        with self._lock:
            wait = self.budget.reserve("mercadolibre")
            until = self.clock() + wait
        if wait > 0:
            left = until - self.clock()
            if left > 0:
                with self._lock:
                    self.waited_s += left
                self.sleep(left)

    def get(self, path: str, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> Any:
        """The JSON answer of ``GET path`` (a list answer comes back as ``{"_list": [...]}``)."""
        rejected: str | None = None
        refreshed = False
        waited = 0.0
        failures = 0
        attempt = 0
        while True:
            token = self.token(rejected)
            rejected = None
            self._pace()
            try:
                r = self.session.get(f"{self.url}{path}", params=params, timeout=self.timeout,
                                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                                              **(headers or {})})
            except requests.RequestException as exc:
                failures += 1
                if failures >= SERVER_TRIES:
                    raise RetriableError(say("ml.unreachable", "en", what=path,
                                             reason=type(exc).__name__)) from None
                self.sleep(retry_wait(None, failures))
                continue
            with self._lock:
                self.api_calls += 1
            body = _json(r)
            code = str(body.get("error") or body.get("code") or "")
            if r.status_code in (401, 403) and not refreshed and (r.status_code == 401 or code == POLICIES):
                rejected, refreshed = token, True        # expired before our clock said so: refresh once
                continue
            if r.status_code == 403:
                raise MercadoLibreForbidden(path, code or "forbidden")
            if r.status_code == 429:
                wait = retry_wait(r.headers, attempt)
                attempt += 1
                if waited + wait > MAX_WAITING_S:
                    raise RetriableError(say("ml.throttled", "en", what=path, seconds=f"{waited:.0f}"),
                                         retry_after=wait)
                waited += wait
                with self._lock:
                    self.waited_s += wait
                self.sleep(wait)
                continue
            if r.status_code >= 500:
                failures += 1
                if failures >= SERVER_TRIES:
                    raise RetriableError(say("ml.server", "en", reason=r.status_code, what=path, n=failures))
                self.sleep(retry_wait(r.headers, failures))
                continue
            if r.status_code >= 400:
                message = redact(str(body.get("message") or body.get("error_description") or ""), self.secrets)
                raise MercadoLibreHttpError(r.status_code, path, code, message[:200])
            return body

    def paged(self, path: str, params: Mapping[str, Any], limit: int,
              headers: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every page of an ``offset``/``limit`` answer (``paging.total``)."""
        pages: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.get(path, {**params, "offset": offset, "limit": limit}, headers)
            pages.append(page)
            total = int((page.get("paging") or {}).get("total") or 0)
            offset += limit
            if offset >= total or not page.get("results"):
                return pages
