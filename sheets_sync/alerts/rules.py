"""Which alerts hold after a sync: pure functions over the sync's results (no I/O, no state, no sending).

A rule returns :class:`Alert` values for every condition that holds *now*; whether a message goes out is decided
by :mod:`.state` (one message per alert per period until it clears, then one "back on track"). The rules:

* **target** — a Targets row whose status (from projected attainment, the Attainment tab's ``status``) is
  ``at risk`` or ``off track``;
* **data lag** — a marketplace's data is more than two days behind in a period not over, or missing (the review's
  own data-lag findings, so the alert and the Commentary say the same);
* **stockout** — an ASIN or listing in a target's scope sold units in the period and has no fulfillable units;
  **low cover** — in the scope of a ``days_of_cover`` target, an ASIN whose days of cover is below that target;
* **account health** — Amazon's own thresholds (Seller Central "Account Health" policies): order defect rate above
  1 %, late shipment rate above 4 %, pre-fulfilment cancellation rate above 2.5 %, valid tracking rate below 95 %;
  Mercado Libre's reputation colour below the colour of the last sync without this alert;
* **sync failed** — the sync itself failed twice in a row (raised by :mod:`.service`, not here).

Each alert names the owner, the KPI and scope, the figure, the target or threshold, the one-line why from the
review (the Commentary finding about that Targets row, if any) and the cell of the sheet to look at.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..compute.actuals import Facts
from ..compute.attainment import Evaluator, Row, asin_kpis
from ..compute.review import Finding, fmt_value
from ..compute.values import number
from ..inputs import Settings
from ..sheets.base import GENERATED_HEADER_ROW
from ..stores import store

#: Amazon's account-health targets (Seller Central → Performance → Account Health; the policy pages "Order Defect
#: Rate", "Late Shipment Rate", "Pre-fulfillment Cancel Rate", "Valid Tracking Rate"): (limit, breached when).
HEALTH_LIMITS: dict[str, tuple[float, str]] = {
    "odr": (0.01, "above"),
    "late_shipment_rate": (0.04, "above"),
    "cancel_rate": (0.025, "above"),
    "valid_tracking_rate": (0.95, "below"),
}
#: Mercado Libre's reputation colours by level (its ``level_id``: 5_green … 1_red), as the parser stores them.
REPUTATION = {5: "dark green", 4: "light green", 3: "yellow", 2: "orange", 1: "red"}
ALERTING_STATUS = ("at risk", "off track")
WHY_CHARS = 180


@dataclass(frozen=True)
class Alert:
    """One condition that holds now. ``key`` identifies it within a workbook and period (it survives Targets rows
    being moved: a target is keyed by what it is, not by its row number)."""

    key: str
    kind: str                   # target | data_lag | stockout | low_cover | health | reputation | sync_failed
    severity: str               # high | medium
    owner: str = ""
    kpi: str = ""               # a catalog key, or "" (data lag, sync failure)
    marketplace: str = ""
    scope: str = ""             # "account", "asin B0…", "category Kitchen" …
    figure: str = ""            # the actual, formatted (language-neutral numbers)
    target: str = ""            # the target or threshold, formatted
    status: str = ""            # canonical status word (at risk, off track) when there is one
    why: str = ""               # one line from the review, in the workbook's language
    where: str = ""             # the cell to look at: "Attainment!A5", "Sync Log!A3"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)   # kind-specific placeholders


def one_line(text: object, limit: int = WHY_CHARS) -> str:
    """The first sentence of a finding, at most ``limit`` characters."""
    text = " ".join(str(text or "").split())
    m = re.search(r"(?<=[.!?])\s|(?<=[。！？])", text)
    first = text[:m.start()].strip() if m else text
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"


def _scope(kind: str, value: str) -> str:
    return f"{kind} {value}".strip()


def attainment_cell(index: int) -> str:
    """The Attainment cell of the ``index``-th Targets row evaluated (its data starts below the header row)."""
    return f"Attainment!A{GENERATED_HEADER_ROW + 1 + index}"


SYNC_LOG_CELL = f"Sync Log!A{GENERATED_HEADER_ROW + 1}"     # the newest sync's row


def target_alerts(rows: list[Row], findings: list[Finding], currency: str) -> list[Alert]:
    why = {}
    for f in findings:     # most severe first: the first finding about a row is its why
        if f.target_row is not None and f.target_row not in why:
            why[f.target_row] = one_line(f.finding)
    out = []
    for i, r in enumerate(rows):
        t = r.target
        if r.status not in ALERTING_STATUS:
            continue
        out.append(Alert(
            key=f"target|{t.marketplace}|{t.scope}|{t.scope_value.lower()}|{t.owner.lower()}|{t.kpi}",
            kind="target", severity="high" if r.status == "off track" else "medium", owner=t.owner, kpi=t.kpi,
            marketplace=t.marketplace, scope=_scope(t.scope, t.scope_value),
            figure=fmt_value(t.kpi, r.projected_actual if r.projected_actual is not None else r.actual, currency),
            target=fmt_value(t.kpi, t.target, currency), status=r.status, why=why.get(t.row, ""),
            where=attainment_cell(i),
            extra={"attainment": r.projected_attainment, "actual": fmt_value(t.kpi, r.actual, currency),
                   "paced": r.projected_actual is not None and r.projected_actual != r.actual}))
    return out


def data_alerts(findings: list[Finding]) -> list[Alert]:
    """The review's data-lag findings (no data for a marketplace, data more than two days behind)."""
    return [Alert(key=f"data_lag|{f.marketplace}", kind="data_lag", severity="high", owner=f.owner,
                  marketplace=f.marketplace, why=one_line(f.finding), where="Commentary!A3")
            for f in findings if f.key in ("no_data", "data_lag")]


def stock_alerts(rows: list[Row], ev: Evaluator, facts: Facts, settings: Settings) -> list[Alert]:
    """Stockouts of ASINs in any target's scope; days of cover below a ``days_of_cover`` target."""
    out: dict[str, Alert] = {}
    per_asin = asin_kpis(facts) if not facts.asin.empty else None
    for i, r in enumerate(rows):
        t = r.target
        for mk in ev.markets(t.marketplace):
            sub = ev.asin_rows(mk, t.scope, t.scope_value)
            if sub.empty or "fulfillable_units" not in sub:
                continue
            units = sub["units"].fillna(0) if "units" in sub else None
            stock = sub["fulfillable_units"]
            for (m, asin), u, f in zip(sub.index, units if units is not None else [0] * len(sub), stock,
                                       strict=True):
                if number(f) == 0 and (number(u) or 0) > 0:
                    key = f"stockout|{m}|{asin}"
                    out.setdefault(key, Alert(
                        key=key, kind="stockout", severity="high", owner=t.owner, marketplace=m,
                        scope=_scope("asin" if store(m) == "amazon" else "listing", asin), figure="0",
                        where=attainment_cell(i), extra={"asin": asin, "units": int(number(u) or 0)}))
            if t.kpi != "days_of_cover" or per_asin is None:
                continue
            for (m, asin) in sub.index:
                cover = number(per_asin["days_of_cover"].get((m, asin))) if "days_of_cover" in per_asin else None
                if cover is not None and 0 < cover < t.target:
                    key = f"low_cover|{m}|{asin}"
                    out.setdefault(key, Alert(
                        key=key, kind="low_cover", severity="medium", owner=t.owner, kpi="days_of_cover",
                        marketplace=m, scope=_scope("asin", asin), figure=fmt_value("days_of_cover", cover, ""),
                        target=fmt_value("days_of_cover", t.target, ""), where=attainment_cell(i),
                        extra={"asin": asin}))
    return list(out.values())


def health_alerts(facts: Facts, rows: list[Row], settings: Settings,
                  reputation_reference: dict[str, float] | None = None) -> list[Alert]:
    """Amazon's account-health thresholds, and a Mercado Libre reputation colour below its reference."""
    owners: dict[tuple[str, str], tuple[str, int]] = {}
    for i, r in enumerate(rows):
        for mk in ([r.target.marketplace] if r.target.marketplace in facts.health else settings.marketplaces):
            owners.setdefault((mk, r.target.kpi), (r.target.owner, i))
    out = []
    for mk in settings.marketplaces:
        health = facts.health.get(mk) or {}
        for kpi, (limit, side) in HEALTH_LIMITS.items():
            rate = number((health.get(kpi) or {}).get("rate"))
            if rate is None or store(mk) != "amazon":
                continue
            if (rate > limit) if side == "above" else (rate < limit):
                owner, i = owners.get((mk, kpi), ("", -1))
                out.append(Alert(key=f"health|{mk}|{kpi}", kind="health", severity="high", owner=owner, kpi=kpi,
                                 marketplace=mk, scope="account", figure=fmt_value(kpi, rate, ""),
                                 target=fmt_value(kpi, limit, ""), extra={"side": side},
                                 where=attainment_cell(i) if i >= 0 else "Actuals!A3"))
        level = number((health.get("ml_reputation_level") or {}).get("rate"))
        ref = (reputation_reference or {}).get(mk)
        if level is not None and ref is not None and level < ref:
            owner, i = owners.get((mk, "ml_reputation_level"), ("", -1))
            out.append(Alert(key=f"reputation|{mk}", kind="reputation", severity="high", owner=owner,
                             kpi="ml_reputation_level", marketplace=mk, scope="account",
                             figure=REPUTATION.get(int(level), f"{level:g}"),
                             target=REPUTATION.get(int(ref), f"{ref:g}"),
                             where=attainment_cell(i) if i >= 0 else "Actuals!A3"))
    return out


def reputation_levels(facts: Facts) -> dict[str, float]:
    """Mercado Libre reputation level per marketplace, as read in this sync."""
    out = {}
    for mk, health in facts.health.items():
        level = number((health.get("ml_reputation_level") or {}).get("rate"))
        if level is not None:
            out[mk] = level
    return out


def evaluate(rows: list[Row], findings: list[Finding], ev: Evaluator, facts: Facts, settings: Settings,
             reputation_reference: dict[str, float] | None = None) -> list[Alert]:
    """Every alert that holds after this sync, most severe first (stable within a severity)."""
    found: Iterable[Alert] = [
        *target_alerts(rows, findings, settings.base_currency),
        *data_alerts(findings),
        *stock_alerts(rows, ev, facts, settings),
        *health_alerts(facts, rows, settings, reputation_reference),
    ]
    seen: dict[str, Alert] = {}
    for a in found:
        seen.setdefault(a.key, a)
    return sorted(seen.values(), key=lambda a: a.severity != "high")


def sync_failed_alert(errors: list[str], when: dt.datetime) -> Alert:
    return Alert(key="sync_failed", kind="sync_failed", severity="high", why=one_line(errors[-1] if errors else ""),
                 where=SYNC_LOG_CELL, extra={"count": len(errors), "when": when.isoformat()})
