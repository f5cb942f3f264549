"""One typed, frozen configuration, loaded once and passed explicitly.

Sources, in increasing priority: built-in defaults < ``service.yaml`` < environment variables
(``SHEETS_SYNC_*``). Secrets (Google key, HMAC secret, Amazon credentials) are never read from
``service.yaml``: only their *locations* (a variable name, a key file path) may be, and a secret-looking
key in the YAML is refused with a :class:`ConfigError`. Nothing here is read at import time.

Environment variables:

=================================  ===========================================================
``SHEETS_SYNC_CONFIG``             path of service.yaml (default ``./service.yaml`` if present)
``SHEETS_SYNC_DATA_DIR``           data directory (job queue, report cache); default ``~/.sheets-sync``
``SHEETS_SYNC_QUEUE_URL``          ``sqlite`` (default) or ``redis://host:port/db``
``SHEETS_SYNC_GOOGLE_CREDENTIALS`` service-account JSON key path (else ``GOOGLE_APPLICATION_CREDENTIALS``)
``SHEETS_SYNC_HMAC_SECRET``        shared secret for HMAC-signed webhook calls
``SHEETS_SYNC_AUDIENCE``           expected ``aud`` of Google ID tokens at the webhook
=================================  ===========================================================
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .budget import DEFAULT_LIMITS, limits_from_settings
from .errors import ConfigError
from .frames import MARKETPLACES

SECRET_WORDS = ("secret", "token", "password", "private_key", "refresh")
BACKENDS = ("xlsx", "google")
SOURCES = ("files", "amazon", "api")     # "api" = "amazon": the live APIs (Amazon and/or Mercado Libre)
ALERT_KINDS = ("wecom", "dingtalk", "feishu", "slack", "googlechat", "email")
DIGEST_OVER = 5            # more alerts than this at once for one channel: one digest message


@dataclass(frozen=True)
class AlertChannelConfig:
    """One ``alerts:`` entry of service.yaml: where alerts go. The webhook URL (or the SMTP URL) and the signing
    secret are read from the environment variables it names, only when a message is sent; they are never kept
    here, shown or logged."""

    kind: str                               # one of ALERT_KINDS
    url_env: str                            # the variable holding the webhook URL (email: smtp:// or smtps://)
    name: str = ""                          # how the Sync Log names the channel (default: the kind)
    secret_env: str | None = None           # DingTalk / Feishu signed mode: the variable holding the secret
    workbooks: tuple[str, ...] = ()         # workbook names it serves; empty = every workbook
    quiet_hours: tuple[int, int] | None = None   # (start, end) minutes after midnight, in the team's time zone
    digest_over: int = DIGEST_OVER
    keyword: str | None = None              # DingTalk / Feishu keyword security: a word every message carries

    @property
    def label(self) -> str:
        return self.name or self.kind

    def serves(self, workbook: str) -> bool:
        return not self.workbooks or workbook in self.workbooks


@dataclass(frozen=True)
class WorkbookConfig:
    """One team workbook: where it lives, where its actuals come from, who may trigger it."""

    name: str
    backend: str = "xlsx"                 # "xlsx" or "google"
    path: Path | None = None              # xlsx backend
    sheet_id: str | None = None           # google backend
    source: str = "files"                 # "files" (report files under reports/) or "amazon" / "api" (the live
    #                                       APIs: SP-API + Ads API, and Mercado Libre when its application is set)
    reports: Path | None = None           # files source: folder holding US/ and MX/
    marketplaces: tuple[str, ...] = ("US", "MX")
    timezone: str = "America/Mexico_City"
    schedule: tuple[str, ...] = ()        # e.g. ("daily 07:00", "weekly mon 07:00") in ``timezone``
    allow_emails: tuple[str, ...] = ()
    allow_domains: tuple[str, ...] = ()
    amazon_credentials: str | None = None  # amazon source: a credential set named in ``addon.amazon_credentials``

    @property
    def target(self) -> str:
        return str(self.path) if self.backend == "xlsx" else f"google:{self.sheet_id}"


@dataclass(frozen=True)
class AddonConfig:
    """The ``addon:`` section: who may register sheets from the Google Sheets add-on, and what they may pick.

    ``amazon_credentials`` maps a credential-set name (what the sidebar shows) to an environment-variable
    prefix: set ``acme`` with prefix ``ACME_`` reads ``ACME_LWA_APP_ID``, ``ACME_SP_API_REFRESH_TOKEN``, …
    """

    allow_emails: tuple[str, ...] = ()
    allow_domains: tuple[str, ...] = ()
    reports_root: Path | None = None               # files source: each sheet picks a folder under it
    amazon_credentials: Mapping[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.allow_emails or self.allow_domains)

    def allows(self, email: str | None) -> bool:
        email = (email or "").lower()
        return "@" in email and (email in self.allow_emails or email.rsplit("@", 1)[1] in self.allow_domains)


@dataclass(frozen=True)
class Config:
    data_dir: Path = field(default_factory=lambda: Path.home() / ".sheets-sync")
    workbooks: Mapping[str, WorkbookConfig] = field(default_factory=dict)
    default_workbook: str | None = None
    queue_url: str = "sqlite"
    audience: str | None = None
    google_credentials: Path | None = None   # path only; the key is read by the Google adapter
    hmac_secret: str | None = field(default=None, repr=False)
    sp_api_endpoint: str | None = None       # override (tests); default is Amazon's NA endpoint
    ads_api_endpoint: str | None = None
    lwa_token_url: str | None = None
    addon: AddonConfig = field(default_factory=AddonConfig)
    alerts: tuple[AlertChannelConfig, ...] = ()   # service.yaml ``alerts:`` (docs/alerts.md)
    report_file_mb: float = 512.0            # limits.file_mb: largest report file / download read
    report_unpacked_mb: float = 512.0        # limits.unpacked_mb: most one .gz / .zip / .xlsx may expand to
    parse_workers: int | None = None         # limits.parse_workers: helper processes parsing reports (None: auto)
    #: shared API budgets (service.yaml ``budgets:``; :data:`sheets_sync.budget.DEFAULT_LIMITS` otherwise)
    budgets: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_LIMITS), compare=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)  # for adapters needing secrets

    def workbook(self, name: str | None = None) -> WorkbookConfig:
        key = name or self.default_workbook
        if key is None and len(self.workbooks) == 1:
            key = next(iter(self.workbooks))
        if key is None or key not in self.workbooks:
            known = ", ".join(sorted(self.workbooks)) or "none configured"
            raise ConfigError(f"unknown workbook {name!r}; service.yaml defines: {known}")
        return self.workbooks[key]

    def find_workbook(self, spreadsheet_id_or_name: str) -> WorkbookConfig:
        if spreadsheet_id_or_name in self.workbooks:
            return self.workbooks[spreadsheet_id_or_name]
        for wb in getattr(self.workbooks, "static", self.workbooks).values():
            if wb.sheet_id and wb.sheet_id == spreadsheet_id_or_name:
                return wb
        raise ConfigError(f"no workbook named or with sheet id {spreadsheet_id_or_name!r} in service.yaml")

    def with_workbook(self, wb: WorkbookConfig) -> Config:
        return replace(self, workbooks={**self.workbooks, wb.name: wb})


def _tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    raise ConfigError(f"{where}: expected a list of strings, got {value!r}")


# Values that are credentials whatever key they sit under (never echoed in an error).
SECRET_VALUES = (
    (re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"), "an AWS access key"),
    (re.compile(r"Atzr\|"), "a Login with Amazon refresh token"),
    (re.compile(r"amzn1\.oa2-cs\."), "a Login with Amazon client secret"),
    (re.compile(r"-----BEGIN [A-Z0-9 ]*(PRIVATE KEY|CERTIFICATE)"), "a PEM key or certificate"),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"), "a Google API key"),
    (re.compile(r"\b(ghp|gho|ghs|xox[abpr])[_-][0-9A-Za-z]{10,}"), "an access token"),
    (re.compile(r"://[^/\s:@]*:[^@\s/]+@"), "a password inside a URL"),
)
# Values that name things, not secrets, even when long and random-looking.
IDENTIFIER_KEYS = ("sheet_id", "audience", "path", "reports", "data_dir", "url", "endpoint", "token_url")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/=_\-.~]{32,}")


def _random_token(value: str) -> bool:
    """A long string of token characters with the spread of random data (an API key, a secret, a JWT part)."""
    if not _TOKEN_CHARS.fullmatch(value) or value.startswith((".", "/", "~")):
        return False
    classes = sum(bool(re.search(rx, value)) for rx in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    hexish = re.fullmatch(r"[0-9a-fA-F]{40,}", value) is not None
    if classes < 3 and not hexish:
        return False
    counts = {c: value.count(c) for c in set(value)}
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return entropy >= (3.5 if hexish else 4.0)


def _secret_kind(value: str) -> str | None:
    for rx, kind in SECRET_VALUES:
        if rx.search(value):
            return kind
    return None


def _check_no_secrets(data: Any, where: str, key: str = "") -> None:
    if isinstance(data, Mapping):
        for k, v in data.items():
            name = str(k).lower()
            if any(w in name for w in SECRET_WORDS) and not name.endswith("_env") and v not in (None, ""):
                raise ConfigError(
                    f"{where}.{k}: secrets do not belong in service.yaml; put the value in an environment "
                    f"variable and name the variable with '{k}_env'")
            if name.endswith("_env") and v not in (None, "") and not (
                    isinstance(v, str) and _ENV_NAME.fullmatch(v) and len(v) <= 64 and not _secret_kind(v)
                    and not _random_token(v)):
                raise ConfigError(f"{where}.{k}: expected the name of an environment variable (letters, digits "
                                  "and _, such as SHEETS_SYNC_HMAC_SECRET), not its value; the value goes in "
                                  "the environment")
            _check_no_secrets(v, f"{where}.{k}", name)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _check_no_secrets(v, f"{where}[{i}]", key)
    elif isinstance(data, str):
        kind = _secret_kind(data)
        if kind is None and not key.endswith(IDENTIFIER_KEYS) and _random_token(data):
            kind = "a long random token (an API key or secret)"
        if kind:
            raise ConfigError(f"{where}: looks like {kind}; secrets do not belong in service.yaml: put it in an "
                              "environment variable and name the variable with a key ending in '_env'")


def _workbook(name: str, raw: Mapping[str, Any], base: Path) -> WorkbookConfig:
    where = f"service.yaml workbooks.{name}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings")
    backend = str(raw.get("backend", "google" if raw.get("sheet_id") else "xlsx"))
    if backend not in BACKENDS:
        raise ConfigError(f"{where}.backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    source = str(raw.get("source", "files"))
    if source not in SOURCES:
        raise ConfigError(f"{where}.source: {source!r} is not one of {', '.join(SOURCES)}")
    markets = _tuple(raw.get("marketplaces", ["US", "MX"]), f"{where}.marketplaces")
    for m in markets:
        if m not in MARKETPLACES:
            raise ConfigError(f"{where}.marketplaces: {m!r} is not one of {', '.join(MARKETPLACES)}")
    path = raw.get("path")
    if backend == "xlsx" and not path:
        raise ConfigError(f"{where}.path: an xlsx workbook needs a path")
    if backend == "google" and not raw.get("sheet_id"):
        raise ConfigError(f"{where}.sheet_id: a google workbook needs the spreadsheet id")
    allow = raw.get("allow") or {}
    reports = raw.get("reports")
    return WorkbookConfig(
        name=name, backend=backend,
        path=(base / Path(str(path)).expanduser()) if path else None,
        sheet_id=str(raw["sheet_id"]) if raw.get("sheet_id") else None,
        source=source,
        reports=(base / Path(str(reports)).expanduser()) if reports else None,
        marketplaces=markets,
        timezone=str(raw.get("timezone", "America/Mexico_City")),
        schedule=_tuple(raw.get("schedule"), f"{where}.schedule"),
        allow_emails=tuple(e.lower() for e in _tuple(allow.get("emails"), f"{where}.allow.emails")),
        allow_domains=tuple(d.lower().lstrip("@") for d in _tuple(allow.get("domains"), f"{where}.allow.domains")),
        amazon_credentials=str(raw["amazon_credentials"]) if raw.get("amazon_credentials") else None,
    )


def _addon(raw: Any, base: Path) -> AddonConfig:
    where = "service.yaml addon"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings")
    allow = raw.get("allow") or {}
    creds = raw.get("amazon_credentials") or {}
    if not isinstance(creds, Mapping):
        raise ConfigError(f"{where}.amazon_credentials: expected a mapping of name → environment-variable prefix")
    root = raw.get("reports_root")
    return AddonConfig(
        allow_emails=tuple(e.lower() for e in _tuple(allow.get("emails"), f"{where}.allow.emails")),
        allow_domains=tuple(d.lower().lstrip("@") for d in _tuple(allow.get("domains"), f"{where}.allow.domains")),
        reports_root=(base / Path(str(root)).expanduser()) if root else None,
        amazon_credentials={str(k): str(v or "") for k, v in creds.items()},
    )


def _clock(value: str, where: str) -> int:
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if m is None:
        raise ConfigError(f"{where}: {value!r} is not a time; expected HH:MM such as 22:00")
    return int(m.group(1)) * 60 + int(m.group(2))


def _alerts(raw: Any) -> tuple[AlertChannelConfig, ...]:
    """service.yaml ``alerts:``, a list of channels (docs/alerts.md)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("service.yaml alerts: expected a list of channels, each with kind and url_env")
    out: list[AlertChannelConfig] = []
    for i, item in enumerate(raw):
        where = f"service.yaml alerts[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where}: expected a mapping with kind and url_env")
        unknown = set(item) - {"kind", "url_env", "name", "secret_env", "workbooks", "quiet_hours", "digest_over",
                               "keyword"}
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(map(str, unknown)))}; expected kind, "
                              "url_env, secret_env, workbooks, quiet_hours, digest_over, keyword, name")
        kind = str(item.get("kind") or "")
        if kind not in ALERT_KINDS:
            raise ConfigError(f"{where}.kind: {kind!r} is not one of {', '.join(ALERT_KINDS)}")
        url_env = item.get("url_env")
        if not url_env or not isinstance(url_env, str) or not _ENV_NAME.fullmatch(url_env):
            raise ConfigError(f"{where}.url_env: the name of the environment variable holding the "
                              f"{'SMTP URL' if kind == 'email' else 'webhook URL'} is required (the URL is a secret)")
        secret_env = item.get("secret_env")
        if secret_env is not None and (not isinstance(secret_env, str) or not _ENV_NAME.fullmatch(secret_env)):
            raise ConfigError(f"{where}.secret_env: expected the name of an environment variable")
        if secret_env and kind not in ("dingtalk", "feishu"):
            raise ConfigError(f"{where}.secret_env: only dingtalk and feishu robots sign their messages")
        quiet = item.get("quiet_hours")
        hours = None
        if quiet not in (None, ""):
            parts = str(quiet).split("-")
            if len(parts) != 2:
                raise ConfigError(f"{where}.quiet_hours: {quiet!r} is not a range; expected HH:MM-HH:MM such as "
                                  "22:00-07:00 (in the workbook's time zone)")
            hours = (_clock(parts[0], f"{where}.quiet_hours"), _clock(parts[1], f"{where}.quiet_hours"))
        digest = item.get("digest_over", DIGEST_OVER)
        if isinstance(digest, bool) or not isinstance(digest, int) or not 1 <= digest <= 100:
            raise ConfigError(f"{where}.digest_over: {digest!r} is not a number of alerts; expected 1 to 100")
        out.append(AlertChannelConfig(
            kind=kind, url_env=url_env, name=str(item.get("name") or ""), secret_env=secret_env or None,
            workbooks=_tuple(item.get("workbooks"), f"{where}.workbooks"), quiet_hours=hours, digest_over=digest,
            keyword=str(item["keyword"]) if item.get("keyword") else None))
    names = [c.label for c in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"service.yaml alerts: two channels are named {dup[0]!r}; give each a distinct name")
    return tuple(out)


def _megabytes(limits: Mapping[str, Any], key: str) -> float:
    value = limits.get(key, 512)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1_000_000:
        raise ConfigError(f"service.yaml limits.{key}: {value!r} is not a size in MB; expected a number "
                          "above 0 such as 512")
    return float(value)


def _workers(limits: Mapping[str, Any]) -> int | None:
    value = limits.get("parse_workers", "auto")
    if value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
        raise ConfigError(f"service.yaml limits.parse_workers: {value!r} is not a number of processes; expected "
                          "auto (one per core beyond the first, at most 3), 0 (parse in the sync's own process) "
                          "or a whole number up to 64")
    return value


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load service.yaml (if any) and the environment into one frozen :class:`Config`."""
    env = dict(os.environ if env is None else env)
    cfg_path = Path(path) if path else (Path(env["SHEETS_SYNC_CONFIG"]) if env.get("SHEETS_SYNC_CONFIG") else None)
    if cfg_path is None and Path("service.yaml").is_file():
        cfg_path = Path("service.yaml")
    raw: Mapping[str, Any] = {}
    base = Path.cwd()
    if cfg_path is not None:
        if not cfg_path.is_file():
            raise ConfigError(f"{cfg_path}: configuration file not found")
        try:
            loaded = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{cfg_path}: not valid YAML ({exc})") from None
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"{cfg_path}: expected a mapping at the top level")
        raw = loaded
        base = cfg_path.resolve().parent
        _check_no_secrets(raw, "service.yaml")
    wbs_raw = raw.get("workbooks") or {}
    if not isinstance(wbs_raw, Mapping):
        raise ConfigError("service.yaml workbooks: expected a mapping of name → settings")
    workbooks = {str(n): _workbook(str(n), v, base) for n, v in wbs_raw.items()}
    queue = raw.get("queue") or {}
    webhook = raw.get("webhook") or {}
    amazon = raw.get("amazon") or {}
    data_dir = env.get("SHEETS_SYNC_DATA_DIR") or raw.get("data_dir")
    cred = env.get("SHEETS_SYNC_GOOGLE_CREDENTIALS") or env.get("GOOGLE_APPLICATION_CREDENTIALS")
    hmac_env = str(webhook.get("hmac_secret_env", "SHEETS_SYNC_HMAC_SECRET"))
    limits = raw.get("limits") or {}
    if not isinstance(limits, Mapping):
        raise ConfigError("service.yaml limits: expected a mapping (file_mb, unpacked_mb, parse_workers)")
    default = raw.get("default_workbook")
    if default is not None and str(default) not in workbooks:
        raise ConfigError(f"service.yaml default_workbook: {default!r} is not one of the workbooks")
    config = Config(
        data_dir=(base / Path(str(data_dir)).expanduser()) if data_dir else Path.home() / ".sheets-sync",
        workbooks=workbooks,
        default_workbook=str(default) if default else None,
        queue_url=str(env.get("SHEETS_SYNC_QUEUE_URL") or queue.get("url", "sqlite")),
        audience=env.get("SHEETS_SYNC_AUDIENCE") or webhook.get("audience"),
        google_credentials=Path(cred).expanduser() if cred else None,
        hmac_secret=env.get(hmac_env) or None,
        sp_api_endpoint=amazon.get("sp_api_endpoint"),
        ads_api_endpoint=amazon.get("ads_api_endpoint"),
        lwa_token_url=amazon.get("lwa_token_url"),
        addon=_addon(raw.get("addon") or {}, base),
        alerts=_alerts(raw.get("alerts")),
        report_file_mb=_megabytes(limits, "file_mb"),
        report_unpacked_mb=_megabytes(limits, "unpacked_mb"),
        parse_workers=_workers(limits),
        budgets=limits_from_settings(raw.get("budgets")),
        env=env,
    )
    if config.addon.enabled:   # sheets registered from the add-on sit beside service.yaml's (sheets_sync.registry)
        from .registry import with_registered

        config = with_registered(config)
    return config
