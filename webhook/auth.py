"""Who is calling, and may they sync this workbook?

Two ways in; anything else is 401:

**Google ID token** (``Authorization: Bearer <jwt>``, from ``ScriptApp.getIdentityToken()`` in the sheet's
Apps Script). Verified offline with google-auth against Google's public certificates (fetched from
``certs_url`` and cached for the ``Cache-Control: max-age`` Google sends, and fetched again when a token
names an unknown key id): RS256 signature, ``iss`` ∈ {``accounts.google.com``,
``https://accounts.google.com``}, ``aud`` ∈ ``config.audience`` (comma-separated client ids), ``exp``/``iat``
with 30 s of clock skew. Then authorisation: ``email_verified`` must be true and the email must be in the
workbook's ``allow.emails`` or its domain in ``allow.domains`` (403 otherwise; an empty allowlist allows
no one).

**HMAC-SHA256** (``X-Sheets-Sync-Signature: t=<unix seconds>,v1=<hex>``) for servers and cron jobs:
``v1 = hex(HMAC_SHA256(secret, f"{t}." + raw_body))``. ``t`` must be within 5 minutes of the server clock,
and each signature is accepted **once**: it is remembered in the job store for the window (SQLite
``jobs.db`` or Redis, so the memory is shared by every gunicorn worker and, with Redis, every machine —
a replay sent to another worker is still refused). On ``POST /v1/sync`` the record is written in the
same transaction as the job and its queue message (``require_auth(defer_replay=True)``). HMAC callers hold the service secret and may sync
any workbook. Several ``v1=`` values are accepted (any one matching is enough).

Tokens, signatures and secrets are never logged or echoed; failures log a reason code and the client
address only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app, g, request

from .errors import ApiError

log = logging.getLogger("webhook.auth")

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
SIGNATURE_HEADER = "X-Sheets-Sync-Signature"
SIGNATURE_WINDOW_S = 300
CLOCK_SKEW_S = 30


@dataclass(frozen=True)
class Principal:
    kind: str                    # "google" or "hmac"
    email: str | None = None
    email_verified: bool = False

    @property
    def name(self) -> str:
        return self.email or self.kind


# ------------------------------------------------------------------------------------ ID tokens


class GoogleIdTokenVerifier:
    """Verify Google ID tokens offline; the certificates are fetched with ``request`` and cached."""

    def __init__(self, audience: str | list[str] | tuple[str, ...] | None, *, certs_url: str = GOOGLE_CERTS_URL,
                 request: Callable[..., Any] | None = None, clock_skew_s: int = CLOCK_SKEW_S,
                 min_refresh_s: float = 30.0):
        if isinstance(audience, str):
            audience = [a.strip() for a in audience.split(",") if a.strip()]
        self.audience = list(audience or [])
        self.certs_url = certs_url
        self._request = request
        self.clock_skew_s = clock_skew_s
        self.min_refresh_s = min_refresh_s
        self._certs: dict[str, str] = {}
        self._expires = 0.0
        self._fetched = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    @property
    def enabled(self) -> bool:
        return bool(self.audience)

    def _http(self) -> Callable[..., Any]:
        if self._request is None:
            import google.auth.transport.requests

            self._request = google.auth.transport.requests.Request()
        return self._request

    def _fetch(self) -> None:
        resp = self._http()(self.certs_url, method="GET")
        if resp.status != 200:
            raise ApiError("token_invalid", "could not fetch Google's signing certificates")
        certs = json.loads(resp.data)
        if not isinstance(certs, Mapping) or "keys" in certs:
            raise ApiError("token_invalid", "unexpected format of Google's signing certificates")
        max_age = 3600.0
        cache_control = (getattr(resp, "headers", None) or {}).get("Cache-Control") or \
            (getattr(resp, "headers", None) or {}).get("cache-control") or ""
        if m := re.search(r"max-age=(\d+)", cache_control):
            max_age = float(m[1])
        now = time.time()
        self._certs, self._expires, self._fetched = dict(certs), now + max_age, now
        self.fetches += 1

    def certs(self, kid: str | None) -> dict[str, str]:
        with self._lock:
            now = time.time()
            stale = now >= self._expires
            unknown = kid is not None and kid not in self._certs and now - self._fetched >= self.min_refresh_s
            if stale or unknown:
                try:
                    self._fetch()
                except ApiError:
                    raise
                except Exception as exc:   # network, JSON: never echo details that might carry a token
                    log.error("fetching Google certificates from %s failed: %s", self.certs_url, type(exc).__name__)
                    if not self._certs:
                        raise ApiError("token_invalid", "could not fetch Google's signing certificates") from None
            return self._certs

    def verify(self, token: str) -> dict[str, Any]:
        """Claims of a valid token, else :class:`ApiError` (401) with a code and no token in the message."""
        from google.auth import exceptions as gexc
        from google.auth import jwt

        if not self.enabled:
            raise ApiError("tokens_disabled")
        try:
            header = json.loads(_b64(token.split(".")[0]))
        except Exception:
            raise ApiError("token_invalid", "the ID token is not a JWT") from None
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            raise ApiError("token_invalid", "the ID token is not signed with RS256")
        certs = self.certs(header.get("kid"))
        try:
            claims = jwt.decode(token, certs=certs, audience=self.audience, clock_skew_in_seconds=self.clock_skew_s)
        except (gexc.GoogleAuthError, ValueError) as exc:
            text = str(exc)
            if "expired" in text.lower():
                raise ApiError("token_expired") from None
            if "audience" in text.lower():
                raise ApiError("token_audience") from None
            if "early" in text.lower() or "iat" in text:
                raise ApiError("token_invalid", "the ID token was issued in the future") from None
            raise ApiError("token_invalid", "the ID token could not be verified") from None
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise ApiError("token_invalid", "the ID token was not issued by Google")
        return claims


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# ---------------------------------------------------------------------------------------- HMAC


def sign(secret: str, body: bytes, t: int | None = None) -> str:
    """The ``X-Sheets-Sync-Signature`` header value for ``body`` (what a caller sends)."""
    t = int(time.time()) if t is None else int(t)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(secret: str | None, header: str, body: bytes, *, seen: Callable[[str, float], bool],
                     now: float | None = None, window_s: int = SIGNATURE_WINDOW_S) -> None:
    """Raise :class:`ApiError` unless ``header`` is a fresh, first-use signature of ``body``.

    ``seen(key, ttl_s)`` records the key and returns True the first time only (the job store's ``once``).
    """
    if not secret:
        raise ApiError("signatures_disabled")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        k, sep, v = item.strip().partition("=")
        if sep:
            parts.setdefault(k, []).append(v)
    try:
        t = int(parts["t"][0])
        macs = [m for m in parts["v1"] if re.fullmatch(r"[0-9a-fA-F]{64}", m)]
    except (KeyError, ValueError, IndexError):
        raise ApiError("signature_invalid", "expected X-Sheets-Sync-Signature: t=<unix seconds>,v1=<hex>") from None
    now = time.time() if now is None else now
    if abs(now - t) > window_s:
        raise ApiError("signature_expired")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    match = next((m.lower() for m in macs if hmac.compare_digest(m.lower(), expected)), None)
    if match is None:
        raise ApiError("signature_invalid")
    if not seen(f"sig:{match}", 2 * window_s + 60):
        raise ApiError("signature_replayed")


# ----------------------------------------------------------------------------------- decorator


def allowed(principal: Principal, wb: Any) -> bool:
    if principal.kind == "hmac":
        return True
    email = (principal.email or "").lower()
    if not email or "@" not in email:
        return False
    return email in wb.allow_emails or email.rsplit("@", 1)[1] in wb.allow_domains


def _client() -> str:
    return request.remote_addr or "?"


def _defer(key: str, ttl_s: float) -> bool:
    """``seen`` for a deferred replay check: remember the key; the view records it with its own write."""
    g.replay_key = (key, ttl_s)
    return True


def take_replay_key() -> tuple[str, float] | None:
    """The HMAC replay key of this request, for the view to record in its own transaction
    (``JobQueue.submit(once=…)``); ``None`` for ID-token callers. Taking it makes the view responsible."""
    key = g.get("replay_key")
    g.replay_key = None
    return key


def replayed() -> ApiError:
    log.warning("auth failed: signature_replayed from %s %s %s", _client(), request.method, request.path)
    return ApiError("signature_replayed")


def _settle_replay() -> None:
    """Record a deferred replay key the view did not take (an error before it queued anything)."""
    key = take_replay_key()
    if key is not None and not current_app.extensions["sheets_sync"].queue.store.backend.once(*key):
        raise replayed()


def authenticate(defer_replay: bool = False) -> Principal:
    """The caller, else :class:`ApiError` 401. ``defer_replay``: an HMAC signature's first-use record is
    left to the view (:func:`take_replay_key`), so it commits with the view's write."""
    state = current_app.extensions["sheets_sync"]
    auth = request.headers.get("Authorization", "")
    sig = request.headers.get(SIGNATURE_HEADER)
    try:
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError("auth_required", "expected Authorization: Bearer <Google ID token>")
            claims = state.verifier.verify(token.strip())
            return Principal("google", str(claims.get("email") or "").lower() or None,
                             claims.get("email_verified") in (True, "true"))
        if sig:
            verify_signature(state.config.hmac_secret, sig, request.get_data(cache=True),
                             seen=_defer if defer_replay else state.queue.store.backend.once)
            return Principal("hmac")
    except ApiError as exc:
        log.warning("auth failed: %s from %s %s %s", exc.code, _client(), request.method, request.path)
        raise
    raise ApiError("auth_required")


def require_auth(resolve: Callable[..., Any] | None = None, *,
                 defer_replay: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticate the caller (401), then, if ``resolve(**view_args)`` names a workbook, authorise (403).

    The view finds ``g.principal`` and ``g.workbook`` set. With ``defer_replay`` the view records the HMAC
    replay key itself (:func:`take_replay_key`, in the same transaction as its write); if it fails before
    taking it, the key is recorded here, so a replay is refused (``signature_replayed``) either way. A
    request that failed because the queue was unavailable is not remembered: the caller may resend it.
    """

    def deco(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            from sheets_sync.jobs import QueueUnavailable

            g.replay_key = None
            principal = authenticate(defer_replay)
            g.principal = principal
            g.workbook = None
            try:
                if resolve is not None:
                    wb = resolve(**kwargs)
                    g.workbook = wb
                    if principal.kind == "google" and not principal.email_verified:
                        log.warning("auth refused: email_not_verified from %s", _client())
                        raise ApiError("email_not_verified")
                    if not allowed(principal, wb):
                        log.warning("auth refused: %s not allowed on workbook %s", principal.name, wb.name)
                        raise ApiError("not_allowed", f"{principal.name} may not sync workbook {wb.name}; "
                                       "ask an admin to add you to its allowlist in service.yaml")
                result = view(*args, **kwargs)
            except QueueUnavailable:
                raise
            except Exception:
                _settle_replay()
                raise
            _settle_replay()
            return result

        return inner

    return deco
