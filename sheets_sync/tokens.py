"""OAuth tokens that several processes share: one refresh at a time, the newest refresh token saved before use.

Some providers rotate refresh tokens: Mercado Libre answers every refresh with a new refresh token and the old one
stops working. Two processes that refresh with the same token lock each other out (``invalid_grant``), and a
process that is stopped after the provider rotated the token but before the new one is stored loses the
connection. This module is the one place that handles that, whoever owns the connection (the operator's
environment variables, or a team's registration):

* a :class:`TokenStore` keeps a :class:`TokenState` per connection key, saved atomically and durably
  (written to a temporary file, ``fsync``'d, renamed, the folder ``fsync``'d) and holds an exclusive lock per key
  that every process on the machine sees;
* :func:`access_token` returns an access token that is still valid for at least ``margin_s``: the stored one
  when it is (no call at all), else it takes the key's lock, reads the state again (another process may have
  refreshed meanwhile), calls the provider, **saves the new state and only then** returns the access token.

The only unprotected moment is between the provider's answer arriving and the save returning (microseconds of
local I/O); the refresh callback does nothing else in between. :class:`FileTokenStore` is the backend for
tokens that come from environment variables; stores kept beside registrations implement the same three methods.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol

from .errors import ConfigError, RetriableError

DEFAULT_MARGIN_S = 300.0        # refresh when the access token has less than five minutes left
DEFAULT_LOCK_WAIT_S = 60.0
_POLL_S = 0.05
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class TokenState:
    """What is stored for one connection. ``origin`` fingerprints the seed refresh token (e.g. an environment
    variable's) this state descends from, so a new seed replaces a stale chain."""

    refresh_token: str
    access_token: str | None = None
    expires_at: float = 0.0     # seconds since the epoch when the access token stops working
    origin: str = ""
    lifetime: float = 0.0       # seconds the access token was issued for (0: unknown)

    def __repr__(self) -> str:  # never the secrets
        return f"TokenState(expires_at={self.expires_at!r}, origin={self.origin!r})"

    def secrets(self) -> list[str]:
        return [s for s in (self.refresh_token, self.access_token) if s]


@dataclass(frozen=True)
class Grant:
    """A token endpoint's answer: the access token, its lifetime, and the refresh token if it rotated."""

    access_token: str
    expires_in: float
    refresh_token: str | None = None

    def __repr__(self) -> str:
        return f"Grant(expires_in={self.expires_in!r}, rotated={self.refresh_token is not None})"


class TokenStore(Protocol):
    def load(self, key: str) -> TokenState | None: ...

    def save(self, key: str, state: TokenState) -> None:
        """Store ``state`` so that it survives the process being killed the moment this returns."""

    def locked(self, key: str, wait_s: float = DEFAULT_LOCK_WAIT_S) -> AbstractContextManager[None]:
        """Hold the key's refresh lock, exclusive across the processes that share the store."""


class TokenLockTimeout(RetriableError):
    """Another process held the connection's refresh lock for longer than the wait."""


class NotConnected(ConfigError):
    """Nothing is stored for the connection and no seed refresh token was given."""


def fingerprint(token: str) -> str:
    """A short, non-reversible name for a token (to tell chains apart without storing the seed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def check_key(key: str) -> str:
    if not _KEY.match(key or ""):
        raise ValueError(f"token key {key!r}: letters, digits, '.', '_' and '-' only (at most 128)")
    return key


class FileTokenStore:
    """One JSON file per key in ``folder`` (created 0700, files 0600), locked with ``fcntl`` on ``<key>.lock``.

    The operating system drops a lock when its holder exits, even when killed, so a crashed refresh never
    leaves a connection locked.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _path(self, key: str, suffix: str) -> Path:
        return self.folder / f"{check_key(key)}{suffix}"

    def load(self, key: str) -> TokenState | None:
        path = self._path(key, ".json")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return TokenState(refresh_token=str(raw["refresh_token"]), access_token=raw.get("access_token"),
                              expires_at=float(raw.get("expires_at") or 0.0), origin=str(raw.get("origin") or ""),
                              lifetime=float(raw.get("lifetime") or 0.0))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, key: str, state: TokenState) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self._path(key, ".json")
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(asdict(state), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextlib.contextmanager
    def locked(self, key: str, wait_s: float = DEFAULT_LOCK_WAIT_S) -> Iterator[None]:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._path(key, ".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TokenLockTimeout(f"another process is refreshing the {key} connection's token "
                                               f"(waited {wait_s:g}s); try again", retry_after=30.0) from None
                    time.sleep(_POLL_S)
            yield
        finally:
            os.close(fd)        # closing drops the lock


def margin_for(state: TokenState, margin_s: float = DEFAULT_MARGIN_S) -> float:
    """How long before expiry a token counts as expired: ``margin_s``, but at most a tenth of the token's
    lifetime (a provider that issues 10-minute tokens must not be asked for a new one on every call)."""
    return min(margin_s, state.lifetime / 10) if state.lifetime > 0 else margin_s


def access_token(store: TokenStore, key: str, refresh: Callable[[str], Grant], *, seed: str | None = None,
                 clock: Callable[[], float] = time.time, margin_s: float = DEFAULT_MARGIN_S,
                 force: bool = False, wait_s: float = DEFAULT_LOCK_WAIT_S, rejected: str | None = None) -> str:
    """A valid access token for ``key``, refreshing (once, across processes) only when it is near expiry
    (:func:`margin_for`).

    ``refresh(refresh_token)`` calls the provider and returns a :class:`Grant`; it must not swallow the
    provider's refusal. ``seed`` is the refresh token to start from when nothing is stored, or when the stored
    chain descends from another seed (the operator put a new token in the environment); without a seed the
    stored chain is used whatever it descends from (a connection made with ``sheets-sync connect``). ``force``
    refreshes even if the stored access token looks valid (the provider answered 401 to it); the refresh is
    skipped when another process replaced that token meanwhile. ``rejected`` is the access token the provider
    refused (implies ``force``): threads and processes that saw the same refusal refresh once between them.
    """
    force = force or rejected is not None
    origin = fingerprint(seed) if seed else ""

    def ours(state: TokenState | None) -> bool:
        return state is not None and (not seed or state.origin == origin)

    def usable(state: TokenState | None) -> bool:
        return (ours(state) and bool(state.access_token)  # type: ignore[union-attr]
                and state.expires_at - margin_for(state, margin_s) > clock())  # type: ignore[union-attr]

    first = store.load(key)
    if not force and usable(first):
        return first.access_token  # type: ignore[union-attr,return-value]
    stale = rejected if rejected is not None else (first.access_token if first else None)
    with store.locked(key, wait_s):
        state = store.load(key)
        if usable(state) and (not force or state.access_token != stale):  # type: ignore[union-attr]
            return state.access_token  # type: ignore[union-attr,return-value]
        if ours(state):
            current = state.refresh_token  # type: ignore[union-attr]
            origin = state.origin  # type: ignore[union-attr]
        elif seed:
            current = seed
        else:
            raise NotConnected(f"the {key} connection has no refresh token: connect the account first")
        grant = refresh(current)
        new = TokenState(refresh_token=grant.refresh_token or current, access_token=grant.access_token,
                         expires_at=clock() + float(grant.expires_in), origin=origin,
                         lifetime=float(grant.expires_in))
        store.save(key, new)
        return grant.access_token


def forget_access(store: TokenStore, key: str) -> None:
    """Drop the stored access token (keep the refresh token): the next call refreshes."""
    with store.locked(key):
        state = store.load(key)
        if state is not None and state.access_token:
            store.save(key, replace(state, access_token=None, expires_at=0.0))
