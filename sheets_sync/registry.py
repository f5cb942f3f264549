"""Sheets registered from the Google Sheets add-on, stored beside the job queue.

An operator lists workbooks in ``service.yaml``; a team can also set up a sheet itself from the add-on's
sidebar (**Extensions → KPI sync → Set up this sheet**). That *registration* — the spreadsheet id, who set it
up, and the settings chosen in the sidebar (source, reports folder or Amazon credential set, marketplaces,
time zone, schedule, who else may sync) — is stored durably where the job queue lives:

* the embedded default: ``<data_dir>/registrations.db`` (SQLite, one machine);
* ``queue.url: redis://…``: the hash ``sheets-sync:registrations`` in the queue's Redis (many machines).

:func:`with_registered` makes ``Config.workbooks`` a mapping that holds the ``service.yaml`` workbooks and,
looked up when asked, every registered one (named by its spreadsheet id), so the webhook, the worker, the
schedules and the CLI all see both. ``service.yaml`` wins when a name is in both.

Registered workbooks never widen the operator's allowlist: the users and domains a registration allows are
filtered through ``addon.allow`` every time the workbook is looked up, so removing a domain there removes
its users from every registered sheet at once. No secret is stored: an Amazon source names one of the
operator's credential sets (``addon.amazon_credentials``), whose values stay in the environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import SOURCES, AddonConfig, Config, WorkbookConfig
from .errors import ConfigError
from .frames import MARKETPLACES
from .jobs import QueueUnavailable

REGISTRY_FILE = "registrations.db"
REDIS_KEY = "sheets-sync:registrations"
MAX_SCHEDULES = 10
MAX_ALLOW = 200
EMAIL_RE = re.compile(r"[^@\s,;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
DOMAIN_RE = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
SHEET_ID_RE = re.compile(r"[A-Za-z0-9_\-]{10,200}")


class RegistryUnavailable(QueueUnavailable):
    """The registration store (SQLite file or Redis, beside the queue) cannot be reached (webhook: 503)."""


class SettingsError(ValueError):
    """One invalid setting: ``field`` names it, the message says what would be valid."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class Registration:
    """One sheet set up from the add-on. ``owner`` registered it and may always sync it."""

    spreadsheet_id: str
    owner: str
    created_at: float = 0.0
    updated_at: float = 0.0
    updated_by: str = ""
    source: str = "files"
    reports: str | None = None               # a folder under addon.reports_root
    amazon_credentials: str | None = None    # a set named in addon.amazon_credentials
    marketplaces: list[str] = field(default_factory=lambda: ["US", "MX"])
    timezone: str = "America/Mexico_City"
    schedule: list[str] = field(default_factory=list)
    allow_emails: list[str] = field(default_factory=list)
    allow_domains: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spreadsheet_id

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Registration:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def settings(self) -> dict[str, Any]:
        """What the sidebar shows and edits."""
        return {"source": self.source, "reports": self.reports, "amazon_credentials": self.amazon_credentials,
                "marketplaces": list(self.marketplaces), "timezone": self.timezone, "schedule": list(self.schedule),
                "allow_emails": list(self.allow_emails), "allow_domains": list(self.allow_domains)}

    def public(self) -> dict[str, Any]:
        return {"spreadsheet_id": self.spreadsheet_id, "workbook": self.name, "owner": self.owner,
                "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
                "updated_by": self.updated_by, "settings": self.settings()}

    def workbook(self, addon: AddonConfig) -> WorkbookConfig:
        """The workbook this registration describes; its allowlist never reaches beyond ``addon.allow``."""
        emails = tuple(dict.fromkeys(e for e in (self.owner, *self.allow_emails) if addon.allows(e)))
        domains = tuple(d for d in self.allow_domains if d in addon.allow_domains)
        reports = None
        if self.source == "files" and addon.reports_root is not None:
            reports = Path(addon.reports_root) / (self.reports or self.spreadsheet_id)
        return WorkbookConfig(name=self.name, backend="google", sheet_id=self.spreadsheet_id, source=self.source,
                              reports=reports, marketplaces=tuple(self.marketplaces), timezone=self.timezone,
                              schedule=tuple(self.schedule), allow_emails=emails, allow_domains=domains,
                              amazon_credentials=self.amazon_credentials if self.source == "amazon" else None)


def _iso(ts: float) -> str | None:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds") if ts else None


# ------------------------------------------------------------------------------------------ stores


class SqliteRegistry:
    """``<data_dir>/registrations.db``: one row per spreadsheet id. A connection per call (threads and
    processes share nothing but the file); writes take ``BEGIN IMMEDIATE``."""

    kind = "sqlite"

    def __init__(self, path: str | Path, *, timeout_s: float = 10.0):
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._ready = False

    @contextlib.contextmanager
    def _conn(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise RegistryUnavailable(f"registrations store {self.path}: {type(exc).__name__}") from None
        try:
            if not self._ready:
                conn.execute("create table if not exists registrations (spreadsheet_id text primary key, "
                             "data text not null, updated_at real not null)")
                conn.execute("create table if not exists registry_meta (key text primary key, value text not null)")
                self._ready = True
            if write:
                conn.execute("begin immediate")
            yield conn
            if write:
                conn.execute("commit")
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("rollback")
            raise RegistryUnavailable(f"registrations store {self.path}: {exc}") from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("rollback")
            raise
        finally:
            conn.close()

    def exists(self) -> bool:
        return self.path.exists()

    def get(self, spreadsheet_id: str) -> Registration | None:
        if not self.exists():
            return None
        with self._conn() as c:
            row = c.execute("select data from registrations where spreadsheet_id = ?", (spreadsheet_id,)).fetchone()
        return Registration.from_json(row[0]) if row else None

    def ids(self) -> list[str]:
        if not self.exists():
            return []
        with self._conn() as c:
            return [r[0] for r in c.execute("select spreadsheet_id from registrations order by spreadsheet_id")]

    def all(self) -> list[Registration]:
        if not self.exists():
            return []
        with self._conn() as c:
            return [Registration.from_json(r[0]) for r in
                    c.execute("select data from registrations order by spreadsheet_id")]

    def add(self, reg: Registration) -> tuple[Registration, bool]:
        """Store ``reg`` unless the sheet is registered already: (the stored registration, created?)."""
        with self._conn(write=True) as c:
            row = c.execute("select data from registrations where spreadsheet_id = ?",
                            (reg.spreadsheet_id,)).fetchone()
            if row:
                return Registration.from_json(row[0]), False
            c.execute("insert into registrations values (?, ?, ?)", (reg.spreadsheet_id, reg.to_json(), reg.updated_at))
        return reg, True

    def put(self, reg: Registration) -> None:
        with self._conn(write=True) as c:
            c.execute("insert or replace into registrations values (?, ?, ?)",
                      (reg.spreadsheet_id, reg.to_json(), reg.updated_at))

    def remove(self, spreadsheet_id: str) -> bool:
        if not self.exists():
            return False
        with self._conn(write=True) as c:
            return c.execute("delete from registrations where spreadsheet_id = ?", (spreadsheet_id,)).rowcount > 0

    def secret(self) -> str:
        """This store's random key for setup claims (made once, shared by every process)."""
        with self._conn(write=True) as c:
            c.execute("insert or ignore into registry_meta values ('claim_key', ?)", (secrets.token_hex(32),))
            return str(c.execute("select value from registry_meta where key = 'claim_key'").fetchone()[0])


class RedisRegistry:
    """The hash ``sheets-sync:registrations`` (spreadsheet id → JSON) in the queue's Redis."""

    kind = "redis"

    def __init__(self, url: str, key: str = REDIS_KEY):
        self.url = url
        self.key = key
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            try:
                import redis
            except ImportError:
                raise ConfigError("queue.url is redis://… but the redis package is not installed "
                                  "(pip install 'sheets-sync[redis]')") from None
            self._client = redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)
        return self._client

    def _call(self, fn: Any) -> Any:
        import redis

        try:
            return fn(self._redis())
        except redis.RedisError as exc:
            raise RegistryUnavailable(f"registrations store (Redis): {type(exc).__name__}") from None

    def exists(self) -> bool:
        return True

    def get(self, spreadsheet_id: str) -> Registration | None:
        raw = self._call(lambda r: r.hget(self.key, spreadsheet_id))
        return Registration.from_json(raw) if raw else None

    def ids(self) -> list[str]:
        return sorted(k.decode() if isinstance(k, bytes) else k for k in self._call(lambda r: r.hkeys(self.key)))

    def all(self) -> list[Registration]:
        raw = self._call(lambda r: r.hgetall(self.key))
        return sorted((Registration.from_json(v) for v in raw.values()), key=lambda g: g.spreadsheet_id)

    def add(self, reg: Registration) -> tuple[Registration, bool]:
        if self._call(lambda r: r.hsetnx(self.key, reg.spreadsheet_id, reg.to_json())):
            return reg, True
        return self.get(reg.spreadsheet_id) or reg, False

    def put(self, reg: Registration) -> None:
        self._call(lambda r: r.hset(self.key, reg.spreadsheet_id, reg.to_json()))

    def remove(self, spreadsheet_id: str) -> bool:
        return bool(self._call(lambda r: r.hdel(self.key, spreadsheet_id)))

    def secret(self) -> str:
        key = self.key + ":claim-key"
        self._call(lambda r: r.set(key, secrets.token_hex(32), nx=True))
        value = self._call(lambda r: r.get(key))
        return value.decode() if isinstance(value, bytes) else str(value)


Registry = SqliteRegistry | RedisRegistry


def open_registry(config: Config) -> Registry:
    """The registration store of ``config``: Redis when the queue is on Redis, else SQLite in ``data_dir``."""
    return _open(Path(config.data_dir), str(config.queue_url or "sqlite"))


def _open(data_dir: Path, queue_url: str) -> Registry:
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisRegistry(queue_url)
    return SqliteRegistry(Path(data_dir).expanduser() / REGISTRY_FILE)


# -------------------------------------------------------------------------- config.workbooks hook


class WorkbooksWithRegistered(Mapping[str, WorkbookConfig]):
    """``service.yaml``'s workbooks (``.static``) plus every registered sheet, read from the store when asked
    (so a sheet registered through one webhook process is known at once to every other process)."""

    def __init__(self, static: Mapping[str, WorkbookConfig], data_dir: Path, queue_url: str, addon: AddonConfig):
        self.static = dict(static)
        self._data_dir, self._queue_url, self._addon = Path(data_dir), queue_url, addon
        self._store: Registry | None = None

    def __getstate__(self) -> dict[str, Any]:          # picklable (serve's spawned worker): no open client
        return {**self.__dict__, "_store": None}

    @property
    def store(self) -> Registry:
        if self._store is None:
            self._store = _open(self._data_dir, self._queue_url)
        return self._store

    def __getitem__(self, key: str) -> WorkbookConfig:
        if key in self.static:
            return self.static[key]
        reg = self.store.get(key) if SHEET_ID_RE.fullmatch(str(key)) else None
        if reg is None:
            raise KeyError(key)
        return reg.workbook(self._addon)

    def __iter__(self) -> Iterator[str]:
        yield from self.static
        yield from (i for i in self.store.ids() if i not in self.static)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        # Registration is open: the service has workbooks even before the first sheet registers (so the demo
        # workbook is not substituted for them, which would also drop this mapping).
        return True

    def __repr__(self) -> str:
        return f"WorkbooksWithRegistered(static={list(self.static)}, store={self.store.kind})"


def with_registered(config: Config) -> Config:
    """``config`` whose ``workbooks`` also resolve sheets registered from the add-on."""
    static = getattr(config.workbooks, "static", config.workbooks)
    return replace(config, workbooks=WorkbooksWithRegistered(static, Path(config.data_dir), str(config.queue_url),
                                                             config.addon))


def credential_config(config: Config, name: str) -> Config:
    """``config`` whose environment holds the Amazon credential set ``name`` under the standard variable names
    (and only that set's: nothing of the default set leaks in), with its own report cache."""
    from .sources.ads import ADS_ENV
    from .sources.spapi import SP_API_ENV

    sets = config.addon.amazon_credentials
    if name not in sets:
        known = ", ".join(sorted(sets)) or "none defined"
        raise ConfigError(f"Amazon credential set {name!r} is not defined in service.yaml addon.amazon_credentials "
                          f"({known})")
    prefix = sets[name]
    names = (*SP_API_ENV, *ADS_ENV)
    env = {k: v for k, v in config.env.items() if k not in names}
    env.update({n: config.env[prefix + n] for n in names if config.env.get(prefix + n)})
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return replace(config, env=env, data_dir=Path(config.data_dir) / "credential-sets" / safe)


# ------------------------------------------------------------------------------------------ claims
#
# Registering a sheet must prove that the user can *edit* it, not only that the service account can: the
# ID token names the user but not the sheet, and otherwise anyone in an allowed domain could claim a sheet
# another team shared with the service account. The service hands out a claim (its time and an HMAC of sheet,
# email and time under the store's key), the add-on writes it into the sheet as developer metadata
# ``sheets_sync_claim`` (only editors can), and the service reads it back with its service account.

CLAIM_METADATA_KEY = "sheets_sync_claim"
CLAIM_MAX_AGE_S = 900


def make_claim(secret: str, spreadsheet_id: str, email: str, now: float | None = None) -> str:
    t = int(time.time() if now is None else now)
    mac = hmac.new(secret.encode(), f"{spreadsheet_id}|{email.lower()}|{t}".encode(), hashlib.sha256).hexdigest()
    return f"{t}.{mac[:40]}"


def claim_ok(secret: str, value: str | None, spreadsheet_id: str, email: str, now: float | None = None) -> bool:
    """``value`` is a claim made for this sheet and user within the last 15 minutes."""
    t_text, _, _ = str(value or "").partition(".")
    if not t_text.isdigit():
        return False
    now = time.time() if now is None else now
    if not 0 <= now - int(t_text) <= CLAIM_MAX_AGE_S:
        return False
    return hmac.compare_digest(str(value), make_claim(secret, spreadsheet_id, email, int(t_text)))


# ---------------------------------------------------------------------------------------- settings


def _strings(value: Any, field_name: str, limit: int) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,;]+", value) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(field_name, "expected a list of strings")
    out = [v.strip() for v in value if v.strip()]
    if len(out) > limit:
        raise SettingsError(field_name, f"at most {limit} entries")
    return out


def apply_settings(reg: Registration, data: Mapping[str, Any], addon: AddonConfig, *, by: str,
                   now: float | None = None) -> Registration:
    """A copy of ``reg`` with the settings in ``data`` (only the keys given), validated; else
    :class:`SettingsError` naming the first bad field and what would be valid."""
    from .jobs import parse_schedule

    out = replace(reg)
    unknown = sorted(set(data) - set(reg.settings()) - {"spreadsheet_id", "spreadsheetId"})
    if unknown:
        raise SettingsError(unknown[0], f"unknown setting; known: {', '.join(reg.settings())}")
    if "source" in data:
        if data["source"] not in SOURCES:
            raise SettingsError("source", f"{str(data['source'])[:40]!r} is not one of {', '.join(SOURCES)}")
        out.source = data["source"]
    if "reports" in data:
        folder = data["reports"]
        if folder in (None, ""):
            out.reports = None
        elif not isinstance(folder, str):
            raise SettingsError("reports", "expected a folder name")
        else:
            out.reports = folder.strip().strip("/")
    if "amazon_credentials" in data:
        name = data["amazon_credentials"]
        if name in (None, ""):
            out.amazon_credentials = None
        elif not isinstance(name, str) or name not in addon.amazon_credentials:
            known = ", ".join(sorted(addon.amazon_credentials)) or "none: the operator has defined no credential sets"
            raise SettingsError("amazon_credentials", f"{str(name)[:60]!r} is not one of the operator's credential "
                                f"sets ({known})")
        else:
            out.amazon_credentials = name
    if "marketplaces" in data:
        markets = [m.upper() for m in _strings(data["marketplaces"], "marketplaces", len(MARKETPLACES))]
        bad = [m for m in markets if m not in MARKETPLACES]
        if bad or not markets:
            raise SettingsError("marketplaces", f"{', '.join(bad) or 'none chosen'}: choose from "
                                f"{', '.join(MARKETPLACES)}")
        out.marketplaces = list(dict.fromkeys(markets))
    if "timezone" in data:
        tz = data["timezone"]
        try:
            if not isinstance(tz, str) or not tz:
                raise ValueError
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError("timezone", f"{str(tz)[:60]!r} is not an IANA time zone such as "
                                "America/Mexico_City or Asia/Shanghai") from None
        out.timezone = tz
    if "schedule" in data:
        texts = _strings(data["schedule"], "schedule", MAX_SCHEDULES) if not isinstance(data["schedule"], str) \
            else [s.strip() for s in re.split(r"[\n;]+", data["schedule"]) if s.strip()]
        for text in texts:
            try:
                parse_schedule(text)
            except (ConfigError, ValueError) as exc:
                raise SettingsError("schedule", str(exc)) from None
        out.schedule = texts
    if "allow_emails" in data:
        emails = [e.lower() for e in _strings(data["allow_emails"], "allow_emails", MAX_ALLOW)]
        for e in emails:
            if not EMAIL_RE.fullmatch(e):
                raise SettingsError("allow_emails", f"{e[:80]!r} is not an email address")
            if not addon.allows(e):
                raise SettingsError("allow_emails", f"{e[:80]} is outside the domains and emails this service "
                                    "allows; ask the operator")
        out.allow_emails = list(dict.fromkeys(emails))
    if "allow_domains" in data:
        domains = [d.lower().lstrip("@") for d in _strings(data["allow_domains"], "allow_domains", MAX_ALLOW)]
        for d in domains:
            if not DOMAIN_RE.fullmatch(d):
                raise SettingsError("allow_domains", f"{d[:80]!r} is not a domain such as example.com")
            if d not in addon.allow_domains:
                raise SettingsError("allow_domains", f"{d} is not a domain this service allows; ask the operator")
        out.allow_domains = list(dict.fromkeys(domains))
    # the combination
    if out.source == "amazon" and not out.amazon_credentials:
        known = ", ".join(sorted(addon.amazon_credentials)) or "none defined yet: ask the operator"
        raise SettingsError("amazon_credentials", f"live Amazon needs one of the operator's credential sets ({known})")
    if out.source == "files" and out.reports is not None:
        root = addon.reports_root
        if root is None:
            raise SettingsError("reports", "this service has no reports folder (addon.reports_root); use live Amazon "
                                "or ask the operator")
        parts = Path(out.reports).parts
        if Path(out.reports).is_absolute() or any(p in ("..", ".") for p in parts) or "\\" in out.reports:
            raise SettingsError("reports", f"{out.reports[:80]!r}: give a folder name inside the service's reports "
                                "folder, such as acme-mx")
        if not (Path(root) / out.reports).is_dir():
            raise SettingsError("reports", f"folder {out.reports[:80]!r} does not exist in the service's reports "
                                "folder; ask the operator to create it (with US/ and MX/ inside)")
    out.updated_at = time.time() if now is None else now
    out.updated_by = by
    return out


__all__ = [
    "RedisRegistry",
    "Registration",
    "RegistryUnavailable",
    "SettingsError",
    "SqliteRegistry",
    "WorkbooksWithRegistered",
    "apply_settings",
    "credential_config",
    "open_registry",
    "with_registered",
]
