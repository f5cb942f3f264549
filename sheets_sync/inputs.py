"""Read the team tabs back: Settings, Targets, Products, Manual Actuals, Benchmarks, Bonus Tiers, Calendar.

Columns are found by header name (case- and space-insensitive), so teams may reorder them or add their own.
Every bad cell becomes a :class:`~sheets_sync.errors.Problem` with its A1 address, the value, what would be
valid and what was done (row skipped, default used) — all of them, never just the first. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import Problem
from .frames import MARKETPLACES
from .kpis import CAMPAIGN_SCOPES, CATALOG, SCOPES, TIERS, campaign_measurable
from .periods import PERIOD_HELP, Period, month_of, parse_period
from .sheets.base import col_letter
from .stores import ITEM_HELP, codes, covers, members, mixes_stores, refusal, store, valid_item
from .template import TabSpec, Template, load_template
from .words import canonical, kpi_key, normalise_language

Table = list[list[Any]]
_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ASIN = re.compile(r"^[A-Z0-9]{10}$")
_CURRENCY_PREFIX = re.compile(r"^(US\$|MX\$|MXN|USD|\$|€|£|¥|￥)\s*")
ADS_EXAMPLES = ("ad_spend", "ad_sales", "acos", "roas", "ctr", "cpc")
AGENT_EXAMPLES = ("cs_reply_24h_rate", "cs_first_reply_hours", "cs_cases_handled", "cs_rating")


def _norm_header(h: Any) -> str:
    return re.sub(r"[\s_]+", "_", str(h or "").strip().lower())


def blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))


def parse_number(v: Any) -> float:
    """A number from a cell: numbers as-is; text with thousands separators or a currency prefix accepted.
    Raises ValueError."""
    if isinstance(v, bool):
        raise ValueError("a true/false value is not a number")
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("not a finite number")
        return float(v)
    if isinstance(v, dt.date):
        raise ValueError("a date is not a number")
    s = str(v).strip().replace("\u00a0", "").replace(" ", "")
    if s.endswith(("%", "％")):   # 20% in any numeric column is 0.2
        return parse_number(s[:-1]) / 100.0
    s = _CURRENCY_PREFIX.sub("", s)
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    if not _NUM.match(s):
        raise ValueError("not a number")
    return float(s)


def parse_percentish(v: Any, *, is_percent: bool, above: float = 1.0) -> tuple[float, bool]:
    """A target/actual value. Percent KPIs accept ``25%``, ``0.25`` or a percent cell (0.25); a bare ``25``
    (> ``above``) is read as 25 % and flagged (second item True). Payouts use ``above=5`` so that 1.3 is 130 %."""
    if isinstance(v, str) and v.strip().endswith(("%", "％")):
        return parse_number(v.strip()[:-1]) / 100.0, False
    x = parse_number(v)
    if is_percent and abs(x) > above:
        return x / 100.0, True
    return x, False


def parse_date(v: Any) -> tuple[dt.date, bool]:
    """A date cell, or ISO text (second item True: typed as text). Raises ValueError."""
    if isinstance(v, dt.datetime):
        return v.date(), False
    if isinstance(v, dt.date):
        return v, False
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
        return dt.date.fromisoformat(v.strip()), True
    raise ValueError("not a date")


@dataclass(frozen=True)
class Settings:
    period: Period
    base_currency: str = "USD"
    fx: dict[str, float] = field(default_factory=dict)      # currency → units per 1 base
    gmv_tax: str = "exclude"
    gmv_refunds: str = "gross"
    vat: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_VAT))
    ads_attribution: str = "7d"
    walmart_ads_attribution: str = "14d"      # Walmart Connect's click windows are 3, 14 and 30 days
    attainment_cap: float = 1.5
    on_track: float = 1.0
    at_risk: float = 0.9
    language: str = "en"
    growth: float = 0.10
    marketplaces: tuple[str, ...] = ("US", "MX")
    timezone: str = "America/Mexico_City"

    def rate(self, currency: str) -> float | None:
        """Units of ``currency`` per 1 base-currency unit (1 for the base itself); None when unknown."""
        if currency == self.base_currency:
            return 1.0
        return self.fx.get(currency)

    def definitions(self, data_through: dict[str, dt.date | None]) -> str:
        fx = ", ".join(f"{c} {r:g}/{self.base_currency}" for c, r in sorted(self.fx.items())) or "none"
        through = ", ".join(f"{m} {d.isoformat() if d else 'no data'}" for m, d in sorted(data_through.items()))
        return (f"Period {self.period.label} ({self.period.start.isoformat()}..{self.period.end.isoformat()}) · "
                f"currency {self.base_currency} · FX {fx} · GMV tax {self.gmv_tax} · refunds {self.gmv_refunds} · "
                f"ads {self.ads_attribution} attribution · data through {through or 'no data'}"
                + (f" · stores {covers(self.marketplaces)}" if mixes_stores(self.marketplaces) else "")
                + (f" · Walmart ads {self.walmart_ads_attribution} attribution · Walmart US days: UTC"
                   if any(store(m) == "walmart" for m in self.marketplaces) else ""))


@dataclass(frozen=True)
class Target:
    row: int                 # sheet row number in Targets
    period: str
    marketplace: str
    scope: str
    scope_value: str
    owner: str
    role: str
    kpi: str
    target: float
    weight: float
    direction: str
    notes: str = ""
    cell: str = ""           # the scope_value cell (Targets!D12), for problems found once the reports are read


@dataclass(frozen=True)
class Product:
    marketplace: str
    asin: str
    sku: str
    tier: str
    category: str
    owner: str
    unit_cost: float | None
    unit_logistics_cost: float | None
    unit_fees: float | None
    title: str = ""          # optional; blank = the reports' title


@dataclass(frozen=True)
class ManualActual:
    row: int
    marketplace: str
    scope: str
    scope_value: str
    kpi: str
    actual: float
    source: str


@dataclass(frozen=True)
class Benchmark:
    marketplace: str
    category: str
    kpi: str
    benchmark: float
    source: str


@dataclass(frozen=True)
class BonusTier:
    min_score: float
    tier: str
    payout: float


@dataclass(frozen=True)
class CalendarEvent:
    marketplace: str
    event: str
    start: dt.date
    end: dt.date
    multiplier: float


@dataclass
class TeamInputs:
    settings: Settings
    targets: list[Target]
    products: list[Product]
    manual: list[ManualActual]
    benchmarks: list[Benchmark]
    tiers: list[BonusTier]
    calendar: list[CalendarEvent]
    problems: list[Problem]
    rows_read: int = 0


class _TabReader:
    """Maps headers → positions for one tab and yields (sheet_row, {column: value}) for non-blank rows."""

    def __init__(self, spec: TabSpec, table: Table | None, problems: list[Problem]):
        self.spec = spec
        self.problems = problems
        self._once: dict[tuple[str, ...], tuple[int, list[str]]] = {}
        self.pos: dict[str, int] = {}
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.usable = True
        if table is None:
            problems.append(Problem(f"{spec.name}!A1", None, f"the tab {spec.name!r} is missing; run "
                                    "`sheets-sync init` to add missing tabs (existing tabs are left alone)",
                                    "defaults used" if spec.name == "Settings" else "tab ignored"))
            self.usable = False
            return
        header = table[0] if table else []
        wanted = {_norm_header(c.name): c.name for c in spec.columns}
        for i, h in enumerate(header):
            key = _norm_header(h)
            if key in wanted and wanted[key] not in self.pos:
                self.pos[wanted[key]] = i
        missing = [c.name for c in spec.columns if c.required and c.name not in self.pos]
        if missing:
            where = f"{spec.name}!{col_letter(len(header))}1" if header else f"{spec.name}!A1"
            problems.append(Problem(where, None, f"missing column(s) {', '.join(missing)}; the header row "
                                    f"(row 1) needs: {', '.join(spec.column_names)}", "tab ignored"))
            self.usable = False
            return
        for r, row in enumerate(table[1:], start=2):
            values = {name: (row[i] if i < len(row) else None) for name, i in self.pos.items()}
            if all(blank(v) for v in values.values()):
                continue
            self.rows.append((r, values))
        if not self.rows and spec.name not in ("Manual Actuals", "Benchmarks"):
            problems.append(Problem(f"{spec.name}!A2", None, f"the tab {spec.name!r} has no rows",
                                    "defaults used" if spec.name in ("Settings", "Bonus Tiers") else "nothing to do",
                                    "warning"))

    def addr(self, column: str, row: int) -> str:
        return f"{self.spec.name}!{col_letter(self.pos.get(column, 0))}{row}"

    def bad(self, column: str, row: int, value: Any, expected: str, action: str = "row skipped",
            severity: str = "error") -> None:
        self.problems.append(Problem(self.addr(column, row), value, expected, action, severity))

    def once(self, column: str, row: int, value: Any, expected: str, action: str = "row skipped",
             severity: str = "error") -> None:
        """Like :meth:`bad`, one problem per cause: the same value refused for the same reason on several rows (a
        listing missing from Products, typed on each of its KPI rows) is one line naming every cell."""
        key = (column, _text(value).casefold(), expected, action, severity)
        cell = self.addr(column, row).split("!", 1)[1]
        if key in self._once:
            at, cells = self._once[key]
            cells.append(cell)
            self.problems[at] = replace(self.problems[at], where=f"{self.spec.name}!{', '.join(cells)}")
            return
        self._once[key] = (len(self.problems), [cell])
        self.bad(column, row, value, expected, action, severity)


def _text(v: Any) -> str:
    if blank(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")


def _time_zone(v: Any) -> str:
    """An IANA time zone name that loads (``America/Mexico_City``); anything else is a ValueError."""
    name = v.strip() if isinstance(v, str) else ""
    if not (len(name) <= 64 and _ZONE_NAME.fullmatch(name)):
        raise ValueError("expected an IANA time zone such as America/Mexico_City or Asia/Shanghai")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("expected an IANA time zone such as America/Mexico_City or Asia/Shanghai "
                         f"({name!r} is not one)") from None
    return name


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


SETTING_KEYS = ("period", "base_currency", "gmv_tax", "gmv_refunds", "ads_attribution", "walmart_ads_attribution",
                "attainment_cap", "on_track", "at_risk", "language", "growth", "marketplaces", "timezone")
# VAT included in item prices: Mexico's IVA on every Mexican store (Amazon MX, Mercado Libre, Walmart México);
# US prices exclude sales tax (Walmart US lists the tax of each charge apart from it).
DEFAULT_VAT: dict[str, float] = {"MX": 0.16, "US": 0.0, "MLM": 0.16, "WMUS": 0.0, "WMMX": 0.16}


def read_settings(tab: _TabReader, today: dt.date, period_override: str | None) -> Settings:
    kw: dict[str, Any] = {}
    fx: dict[str, float] = {}
    vat = dict(DEFAULT_VAT)
    rows = tab.rows if tab.usable else []
    for r, v in rows:
        key = _text(v.get("key")).lower()
        val = v.get("value")
        if not key:
            tab.bad("key", r, None, "a setting name such as period or fx.MXN", "row ignored")
            continue
        if blank(val):
            continue    # blank = default
        try:
            if key == "period":
                kw["period"] = parse_period(_text(val))
            elif key == "base_currency":
                cur = _text(val).upper()
                if not re.fullmatch(r"[A-Z]{3}", cur):
                    raise ValueError("expected a 3-letter currency code such as USD or MXN")
                kw["base_currency"] = cur
            elif key.startswith("fx."):
                rate = parse_number(val)
                if rate <= 0:
                    raise ValueError("expected a positive rate, e.g. 18.30 (MXN per 1 base-currency unit)")
                fx[key[3:].upper()] = rate
            elif key.startswith("vat."):
                rate, _ = parse_percentish(val, is_percent=True)
                if not 0 <= rate < 1:
                    raise ValueError("expected a rate between 0 and 1 (or 0% to 99%), e.g. 0.16")
                vat[key[4:].upper()] = rate
            elif key in ("gmv_tax", "gmv_refunds", "ads_attribution", "walmart_ads_attribution", "language"):
                allowed = {"gmv_tax": ("exclude", "include"), "gmv_refunds": ("gross", "net"),
                           "ads_attribution": ("7d", "14d"), "walmart_ads_attribution": ("3d", "14d", "30d"),
                           "language": ("en", "zh", "es")}[key]
                s = (normalise_language(val) or _text(val).lower()) if key == "language" \
                    else canonical(key, val) if key in ("gmv_tax", "gmv_refunds") else _text(val).lower()
                if s not in allowed:
                    raise ValueError(f"expected one of {', '.join(allowed)}" + (
                        " (also zh-CN, 中文, Chinese, es-MX, Español, English)" if key == "language" else ""))
                kw[key] = s
            elif key in ("attainment_cap", "on_track", "at_risk", "growth"):
                x, _ = parse_percentish(val, is_percent=(key == "growth"))
                if x < 0 or (key == "attainment_cap" and x < 1):
                    raise ValueError("expected a number ≥ 1" if key == "attainment_cap" else "expected a number ≥ 0")
                kw[key] = x
            elif key == "marketplaces":
                ms = tuple(m.strip().upper() for m in re.split(r"[,\s]+", _text(val)) if m.strip())
                unknown = [m for m in ms if m not in MARKETPLACES]
                if unknown or not ms:
                    raise ValueError(f"expected a list of {', '.join(MARKETPLACES)}")
                kw["marketplaces"] = ms
            elif key == "timezone":
                kw["timezone"] = _time_zone(val)
            else:
                tab.bad("key", r, key, f"an unknown setting; known: {', '.join(SETTING_KEYS)}, fx.<CUR>, vat.<MK>",
                        "row ignored", "warning")
        except ValueError as exc:
            msg = str(exc)
            if key == "period":
                msg = PERIOD_HELP if msg.startswith("expected") else msg
            tab.bad("value", r, val, msg, "default used")
    if "at_risk" in kw or "on_track" in kw:
        on, risk = kw.get("on_track", 1.0), kw.get("at_risk", 0.9)
        if risk > on:
            tab.problems.append(Problem("Settings", f"at_risk {risk:g} > on_track {on:g}",
                                        "at_risk must not be above on_track", "defaults 1.0 / 0.9 used"))
            kw["on_track"], kw["at_risk"] = 1.0, 0.9
    if period_override:
        kw["period"] = parse_period(period_override)
    kw.setdefault("period", month_of(today))
    return Settings(fx=fx, vat=vat, **kw)


def _target_value(tab: _TabReader, column: str, r: int, raw: Any, kpi: str) -> float | None:
    meta = CATALOG.get(kpi)
    is_percent = bool(meta and meta.is_percent)
    try:
        x, guessed = parse_percentish(raw, is_percent=is_percent)
    except ValueError:
        hint = "a percentage such as 25% or 0.25" if is_percent else "a number"
        tab.bad(column, r, raw, f"expected {hint}")
        return None
    if guessed:
        tab.bad(column, r, raw, f"{kpi} is a percentage; {raw} was read as {x:.4g} ({x:.2%}). "
                "Type 25% or 0.25 to be explicit", "value used", "warning")
    return x


def read_inputs(tables: dict[str, Table | None], *, today: dt.date | None = None,
                period_override: str | None = None, template: Template | None = None) -> TeamInputs:
    """Parse every team tab; never raises for bad cells (they become problems)."""
    template = template or load_template()
    today = today or dt.date.today()
    problems: list[Problem] = []
    readers = {t.name: _TabReader(t, tables.get(t.name), problems) for t in template.team}
    settings = read_settings(readers["Settings"], today, period_override)
    rows_read = sum(len(rd.rows) for rd in readers.values())
    products = _read_products(readers["Products"])
    known = {
        "asin": {p.asin for p in products}, "sku": {p.sku for p in products if p.sku},
        "category": {p.category.lower() for p in products if p.category},
        "owner": {p.owner.lower() for p in products if p.owner},
    }
    targets = _read_targets(readers["Targets"], settings, known)
    manual = _read_manual(readers["Manual Actuals"], settings)
    return TeamInputs(
        settings=settings, targets=targets, products=products, manual=manual,
        benchmarks=_read_benchmarks(readers["Benchmarks"]),
        tiers=_read_tiers(readers["Bonus Tiers"]),
        calendar=_read_calendar(readers["Calendar"]),
        problems=problems, rows_read=rows_read)


def _marketplace(tab: _TabReader, r: int, v: Any, allow_all: bool, column: str = "marketplace") -> str | None:
    m = canonical("marketplace", _text(v))
    allowed = codes() if allow_all else list(MARKETPLACES)
    if m not in allowed:
        tab.bad(column, r, v, f"expected {', '.join(allowed)}")
        return None
    return m


def _period_matches(tab: _TabReader, r: int, v: Any, settings: Settings) -> bool:
    if blank(v):
        return True
    try:
        p = parse_period(_text(v))
    except ValueError as exc:
        tab.bad("period", r, v, f"{exc}; or blank for the Settings period")
        return False
    return p.label == settings.period.label


def _read_targets(tab: _TabReader, settings: Settings, known: dict[str, set[str]]) -> list[Target]:
    out: list[Target] = []
    seen: dict[tuple, int] = {}
    for r, v in tab.rows:
        if not _period_matches(tab, r, v.get("period"), settings):
            continue
        ok = True
        m = _marketplace(tab, r, v.get("marketplace"), allow_all=True)
        ok &= m is not None
        if m and m in MARKETPLACES and m not in settings.marketplaces:
            tab.bad("marketplace", r, m, f"this workbook reviews {', '.join(settings.marketplaces)} (Settings "
                    "marketplaces)")
            ok = False
        elif m and not members(m, settings.marketplaces):
            tab.bad("marketplace", r, m, f"none of the stores {m} covers is reviewed here (Settings marketplaces: "
                    f"{', '.join(settings.marketplaces)})")
            ok = False
        scope = canonical("scope", _text(v.get("scope")))
        if scope not in SCOPES:
            tab.bad("scope", r, v.get("scope"), f"expected one of {', '.join(SCOPES)}{_suggest(scope, SCOPES)}")
            ok = False
        kpi = kpi_key(_text(v.get("kpi")))
        meta = CATALOG.get(kpi)
        if meta is None:
            tab.bad("kpi", r, v.get("kpi"), f"unknown KPI{_suggest(kpi, list(CATALOG))}; see the KPI catalog "
                    "(gmv, units, orders, aov, sessions, cvr, acos, tacos, odr, …)")
            ok = False
        elif scope in SCOPES and meta.scope == "account" and scope != "account":
            tab.bad("scope", r, scope, f"{kpi} is an account-health KPI, measured per marketplace only: "
                    "use scope account")
            ok = False
        elif scope in CAMPAIGN_SCOPES and not campaign_measurable(kpi):
            tab.bad("scope", r, scope, f"the Ads reports measure only ads KPIs per portfolio, campaign or ad group "
                    f"({', '.join(ADS_EXAMPLES)}, …); {kpi} is measured per account, tier, category, owner, ASIN or SKU")
            ok = False
        elif scope == "agent" and meta.special != "manual":
            tab.bad("scope", r, scope, f"an agent's figures are typed in Manual Actuals (scope agent): use a KPI "
                    f"typed by hand such as {', '.join(AGENT_EXAMPLES)}; {kpi} comes from the reports")
            ok = False
        if meta is not None and meta.scope == "account" and m is not None and m not in MARKETPLACES:
            tab.bad("marketplace", r, m, f"{kpi} is reported per marketplace: use "
                    f"{' or '.join(k for k in settings.marketplaces)}")
            ok = False
        elif meta is not None and m is not None and meta.special != "manual":
            why = refusal(kpi, m, settings.marketplaces)
            if why:
                tab.bad("kpi", r, kpi, why)
                ok = False
        sv = _text(v.get("scope_value"))
        if scope == "account" and sv:
            tab.bad("scope_value", r, sv, "leave blank for scope account", "value ignored", "warning")
            sv = ""
        elif scope in SCOPES and scope != "account":
            if not sv:
                tab.bad("scope_value", r, None, f"the {scope} this target is for")
                ok = False
            elif scope == "tier" and canonical("tier", sv) not in (*TIERS, "unassigned"):
                tab.bad("scope_value", r, sv, f"expected a tier: {', '.join(TIERS)}")
                ok = False
            elif scope == "asin" and not (_ASIN.match(sv.upper()) or any(
                    valid_item(mk, sv.upper()) for mk in ([m] if m in MARKETPLACES else ["MLM", *members(
                        m or "ALL", settings.marketplaces)]))):
                tab.once("scope_value", r, sv, ITEM_HELP)
                ok = False
            elif scope in ("asin", "sku", "category", "owner"):
                key = sv.upper() if scope == "asin" else (sv if scope == "sku" else sv.lower())
                if key not in known[scope]:
                    tab.once("scope_value", r, sv, f"no product in Products has this {scope}; check the spelling",
                            "row kept (actual may be blank)", "warning")
            sv = canonical("tier", sv) if scope == "tier" else (sv.upper() if scope == "asin" else sv)
        owner = _text(v.get("owner"))
        if not owner:
            tab.bad("owner", r, None, "the person accountable for this target")
            ok = False
        target = None
        if blank(v.get("target")):
            tab.bad("target", r, None, "a target value")
            ok = False
        elif meta is not None:
            target = _target_value(tab, "target", r, v.get("target"), kpi)
            ok &= target is not None
        weight = 1.0
        if not blank(v.get("weight")):
            try:
                weight = parse_number(v.get("weight"))
                if weight < 0:
                    raise ValueError
            except ValueError:
                tab.bad("weight", r, v.get("weight"), "expected a weight ≥ 0 (weights are normalised per owner)")
                ok = False
        direction = canonical("direction", _text(v.get("direction"))) if not blank(v.get("direction")) else ""
        if direction and direction not in ("higher", "lower"):
            tab.bad("direction", r, v.get("direction"), "expected higher, lower or blank (the catalog's)",
                    "catalog direction used", "warning")
            direction = ""
        if not ok or meta is None or target is None or m is None:
            continue
        row_key = (m, scope, sv.lower(), owner.lower(), kpi)
        if row_key in seen:
            tab.bad("kpi", r, kpi, f"duplicates Targets row {seen[row_key]} (same owner, KPI, marketplace and scope)")
            continue
        seen[row_key] = r
        out.append(Target(row=r, period=settings.period.label, marketplace=m, scope=scope, scope_value=sv,
                          owner=owner, role=canonical("role", _text(v.get("role"))), kpi=kpi, target=target, weight=weight,
                          direction=direction or meta.direction, notes=_text(v.get("notes")),
                          cell=tab.addr("scope_value", r)))
    return out


def _money(tab: _TabReader, column: str, r: int, v: Any) -> float | None:
    if blank(v):
        return None
    try:
        x = parse_number(v)
        if x < 0:
            raise ValueError
        return x
    except ValueError:
        tab.bad(column, r, v, "expected an amount ≥ 0 in the base currency", "left blank")
        return None


def _read_products(tab: _TabReader) -> list[Product]:
    out: list[Product] = []
    seen: dict[tuple[str, str], int] = {}
    for r, v in tab.rows:
        m = _marketplace(tab, r, v.get("marketplace"), allow_all=False)
        asin = _text(v.get("asin")).upper()
        if not valid_item(m or "US", asin):
            tab.bad("asin", r, v.get("asin"), "expected an ASIN: 10 letters and digits such as B0C7K1M2A1"
                    if store(m or "US") == "amazon" else ITEM_HELP)
            continue
        if m is None:
            continue
        if (m, asin) in seen:
            tab.bad("asin", r, asin, f"duplicates Products row {seen[(m, asin)]} for {m}")
            continue
        seen[(m, asin)] = r
        tier = canonical("tier", _text(v.get("tier")))
        if tier not in TIERS:
            if tier:
                tab.bad("tier", r, v.get("tier"), f"expected one of {', '.join(TIERS)}", "tier unassigned used")
            tier = "unassigned"
        out.append(Product(marketplace=m, asin=asin, sku=_text(v.get("sku")), tier=tier,
                           category=_text(v.get("category")), owner=_text(v.get("owner")),
                           unit_cost=_money(tab, "unit_cost", r, v.get("unit_cost")),
                           unit_logistics_cost=_money(tab, "unit_logistics_cost", r, v.get("unit_logistics_cost")),
                           unit_fees=_money(tab, "unit_fees", r, v.get("unit_fees")),
                           title=_text(v.get("title"))))
    return out


def _read_manual(tab: _TabReader, settings: Settings) -> list[ManualActual]:
    out: list[ManualActual] = []
    for r, v in tab.rows:
        if not _period_matches(tab, r, v.get("period"), settings):
            continue
        m = _marketplace(tab, r, v.get("marketplace"), allow_all=True)
        kpi = kpi_key(_text(v.get("kpi")))
        if kpi not in CATALOG:
            tab.bad("kpi", r, v.get("kpi"), f"unknown KPI{_suggest(kpi, list(CATALOG))}")
            continue
        scope = canonical("scope", _text(v.get("scope"))) or "account"
        if scope not in SCOPES:
            tab.bad("scope", r, v.get("scope"), f"expected one of {', '.join(SCOPES)}")
            continue
        if blank(v.get("actual")):
            tab.bad("actual", r, None, "the figure for this KPI")
            continue
        sv = _text(v.get("scope_value"))
        if scope == "agent":       # a customer-service agent's own figures: whose, and a KPI typed by hand
            if not sv:
                tab.bad("scope_value", r, None, "the agent these figures are for (their name as in Targets)")
                continue
            if CATALOG[kpi].special != "manual":
                tab.bad("kpi", r, kpi, f"an agent's figures are KPIs typed by hand such as "
                        f"{', '.join(AGENT_EXAMPLES)}; {kpi} comes from the reports")
                continue
        actual = _target_value(tab, "actual", r, v.get("actual"), kpi)
        if actual is None or m is None:
            continue
        sv = canonical("tier", sv) if scope == "tier" else (sv.upper() if scope == "asin" else sv)
        out.append(ManualActual(row=r, marketplace=m, scope=scope, scope_value=sv, kpi=kpi, actual=actual,
                                source=_text(v.get("source"))))
    return out


def _read_benchmarks(tab: _TabReader) -> list[Benchmark]:
    out = []
    for r, v in tab.rows:
        m = canonical("marketplace", _text(v.get("marketplace"))) or "ALL"
        if m not in codes():
            tab.bad("marketplace", r, v.get("marketplace"), f"expected {', '.join(codes())} or blank")
            continue
        kpi = kpi_key(_text(v.get("kpi")))
        if kpi not in CATALOG:
            tab.bad("kpi", r, v.get("kpi"), f"unknown KPI{_suggest(kpi, list(CATALOG))}")
            continue
        val = _target_value(tab, "benchmark", r, v.get("benchmark"), kpi) if not blank(v.get("benchmark")) else None
        if val is None:
            if blank(v.get("benchmark")):
                tab.bad("benchmark", r, None, "the category's typical value")
            continue
        out.append(Benchmark(m, _text(v.get("category")), kpi, val, _text(v.get("source"))))
    return out


def _read_tiers(tab: _TabReader) -> list[BonusTier]:
    out: list[BonusTier] = []
    seen: dict[float, int] = {}
    for r, v in tab.rows:
        try:
            ms = parse_number(v.get("min_score")) if not str(v.get("min_score") or "").strip().endswith("%") \
                else parse_percentish(v.get("min_score"), is_percent=True)[0]
            if ms < 0:
                raise ValueError
        except ValueError:
            tab.bad("min_score", r, v.get("min_score"), "expected a score ≥ 0 such as 0.8 or 80%")
            continue
        try:
            payout, guessed = parse_percentish(v.get("payout"), is_percent=True, above=5.0)
            if payout < 0:
                raise ValueError
        except ValueError:
            tab.bad("payout", r, v.get("payout"), "expected a payout such as 50% or 0.5")
            continue
        if guessed:
            tab.bad("payout", r, v.get("payout"), f"read as {payout:.0%}; type 50% or 0.5 to be explicit",
                    "value used", "warning")
        if ms in seen:
            tab.bad("min_score", r, v.get("min_score"), f"duplicates Bonus Tiers row {seen[ms]}")
            continue
        seen[ms] = r
        out.append(BonusTier(ms, _text(v.get("tier")) or f"≥{ms:g}", payout))
    return sorted(out, key=lambda t: t.min_score)


def _read_calendar(tab: _TabReader) -> list[CalendarEvent]:
    out = []
    for r, v in tab.rows:
        m = _marketplace(tab, r, v.get("marketplace"), allow_all=True)
        dates = []
        for c in ("start", "end"):
            try:
                d, as_text = parse_date(v.get(c))
                if as_text:
                    tab.bad(c, r, v.get(c), f"a date typed as text; read as {d.isoformat()} (format the cell "
                            "as a date)", "value used", "warning")
                dates.append(d)
            except ValueError:
                tab.bad(c, r, v.get(c), "expected a date cell or YYYY-MM-DD text")
        try:
            mult = parse_number(v.get("sales_multiplier")) if not blank(v.get("sales_multiplier")) else 1.0
            if mult <= 0:
                raise ValueError
        except ValueError:
            tab.bad("sales_multiplier", r, v.get("sales_multiplier"), "expected a number > 0 such as 3")
            continue
        if len(dates) != 2 or m is None:
            continue
        if dates[1] < dates[0]:
            tab.bad("end", r, v.get("end"), f"the end is before the start ({dates[0].isoformat()})")
            continue
        out.append(CalendarEvent(m, _text(v.get("event")), dates[0], dates[1], mult))
    return out
