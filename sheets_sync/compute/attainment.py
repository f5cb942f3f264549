"""Actual, attainment, pace, status per Targets row; weighted score, bonus tier and payout per owner.

Rules (docs/workbook.md, "How the numbers are computed"):

* ratio KPIs are ratios of sums over every ASIN/day in scope, never averages of ratios;
* ``higher``: actual / target; ``lower``: target / actual (actual 0 → the cap); target ≤ 0 for ``higher``
  or a missing actual → blank attainment with a note;
* pace: projected_actual = actual / elapsed_share for additive KPIs, elapsed_share being the Calendar-weighted
  share of the period's days up to data_through (per marketplace; ``ALL`` sums the marketplaces'
  projections); ratio, snapshot, health and manual KPIs are not paced;
* status from projected attainment; score = Σ w·min(att, cap) / Σ w over rows with an attainment.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Problem
from ..inputs import BonusTier, CalendarEvent, ManualActual, Settings, Target, TeamInputs
from ..kpis import CAMPAIGN_SCOPES, CATALOG
from ..stores import covers, event_applies, is_walmart, members, store
from .actuals import Facts
from .campaigns import CampaignIndex, Match


@dataclass
class Row:
    target: Target
    actual: float | None = None
    attainment: float | None = None
    projected_actual: float | None = None
    projected_attainment: float | None = None
    status: str = ""
    data_through: dt.date | None = None
    notes: list[str] = field(default_factory=list)
    manual: bool = False
    per_marketplace: dict[str, float] = field(default_factory=dict)
    # set by score_owners: min(attainment, cap), and this row's part of the owner's (projected) score, so that
    # the contributions of an owner's rows add up to the Scorecard score exactly
    capped_attainment: float | None = None
    contribution: float | None = None
    projected_contribution: float | None = None

    @property
    def note(self) -> str:
        return "; ".join(self.notes)


@dataclass
class OwnerScore:
    owner: str
    role: str
    kpis: int
    score: float | None
    projected_score: float | None
    tier: str
    payout: float | None
    outcome_kpis: int
    process_kpis: int
    flags: list[str]
    tier_on: str = ""                   # "score" (period complete) or "projected_score" (mid-period)
    next_tier: str = ""                 # the next Bonus Tiers row above the one reached
    to_next_tier: float | None = None   # its min_score − the score the tier was decided on


def day_weights(period_days: list[dt.date], events: list[CalendarEvent], marketplace: str) -> np.ndarray:
    w = np.ones(len(period_days))
    for ev in events:
        if not event_applies(ev.marketplace, ev.event, marketplace):
            continue
        for i, d in enumerate(period_days):
            if ev.start <= d <= ev.end:
                w[i] *= ev.multiplier
    return w


def elapsed_share(settings: Settings, events: list[CalendarEvent], marketplace: str,
                  data_through: dt.date | None) -> float:
    days = settings.period.days
    if data_through is None:
        return 0.0
    if data_through >= settings.period.end:
        return 1.0
    w = day_weights(days, events, marketplace)
    upto = np.array([d <= data_through for d in days])
    return float(w[upto].sum() / w.sum())


def _f(x: Any) -> float | None:
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _nan_sum(values) -> float | None:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(sum(vals)) if vals else None


SCOPE_KEYS = {"tier": "tier", "category": "category", "owner": "owner", "asin": "_asin", "sku": "sku"}
CAMPAIGN_WORDS = {"campaign": "campaign", "ad_group": "ad group", "portfolio": "portfolio"}


def _derived(a: pd.DataFrame) -> pd.DataFrame:
    """Per-ASIN columns that make inventory and margin KPIs plain sums over a scope."""
    d = pd.DataFrame(index=a.index)
    units = a["units"].fillna(0)
    d["_has_inv"] = a["fulfillable_units"].notna().astype(float)
    d["_stockout"] = ((units > 0) & (a["fulfillable_units"] == 0)).astype(float)
    d["_inv_units"] = units.where(a["fulfillable_units"].notna(), 0.0)
    costed = a["unit_cost"].notna()
    # Mercado Libre reports what each sale cost in fees (cargo por venta) and shipping: those amounts replace
    # Products' unit_fees and unit_logistics_cost for its listings.
    ml_fees = a["ml_fees"] if "ml_fees" in a else pd.Series(np.nan, index=a.index)
    ml_ship = a["ml_shipping_cost"] if "ml_shipping_cost" in a else pd.Series(np.nan, index=a.index)
    reported = ml_fees.notna() | ml_ship.notna()
    per_unit = a["unit_logistics_cost"].fillna(0) + a["unit_fees"].fillna(0)
    unit_cost = a["unit_cost"].fillna(0) + per_unit.where(~reported, 0.0)
    ml_costs = (ml_fees.fillna(0) + ml_ship.fillna(0)).where(reported, 0.0)
    d["_skipped"] = (~costed & (units > 0)).astype(float)
    d["_ref_known"] = (costed & a["units_refunded"].notna()).astype(float)
    d["_g_margin"] = a["gmv_margin"].fillna(0).where(costed, 0.0)
    d["_g_ex"] = a["gmv_ex_tax"].fillna(0).where(costed, 0.0)
    d["_cost_units"] = (units * unit_cost + ml_costs).where(costed, 0.0)
    d["_cost_kept"] = ((units - a["units_refunded"].fillna(0)) * unit_cost + ml_costs).where(costed, 0.0)
    d["_ads_costed"] = a["ad_spend"].fillna(0).where(costed, 0.0)
    has_log = a["unit_logistics_cost"].notna()
    d["_log_units"] = units.where(has_log, 0.0)
    d["_log_w"] = (units * a["unit_logistics_cost"]).where(has_log, 0.0)
    d["_asins"] = 1.0
    return d


class Evaluator:
    """Evaluates KPIs over scopes against one set of facts.

    Sums per (marketplace, scope value) are computed once per scope kind with a groupby, so evaluating
    20,000 targets costs dictionary look-ups, not 20,000 scans of the ASIN table."""

    def __init__(self, inputs: TeamInputs, facts: Facts):
        self.inputs = inputs
        self.facts = facts
        self.settings = inputs.settings
        self.share = {mk: elapsed_share(self.settings, inputs.calendar, mk, facts.data_through.get(mk))
                      for mk in self.settings.marketplaces}
        self.manual: dict[tuple, ManualActual] = {}
        for m in inputs.manual:
            self.manual[(m.marketplace, m.scope, m.scope_value.lower(), m.kpi)] = m
        self.manual_overrides: list[str] = []
        a = facts.asin
        self._numeric = [c for c in a.columns if a[c].dtype.kind in "fi" and c != "in_products"]
        self._table = pd.concat([a[self._numeric].astype(float), _derived(a)], axis=1) if len(a) else None
        self._groups: dict[str, dict[tuple[str, str], dict[str, float | None]]] = {}
        self._campaigns: CampaignIndex | None = None
        self.problems: list[Problem] = []       # what only the reports could tell about a Targets cell
        self._problem_cells: set[tuple[str, str]] = set()

    @property
    def campaigns(self) -> CampaignIndex:
        """The period's campaigns, ad groups and portfolios (built on first use)."""
        if self._campaigns is None:
            a = self.facts.asin
            gmv = {k: float(v) for k, v in a["gmv"].items() if v == v} if len(a) and "gmv" in a else {}
            self._campaigns = CampaignIndex(self.facts.campaigns, gmv)
        return self._campaigns

    def campaign_matches(self, t: Target) -> tuple[dict[str, Match], list[str]]:
        """Per marketplace of the row, what its scope value names; and, when a name fits several campaigns (or
        ad groups, portfolios) of one marketplace, the candidates (then nothing is matched)."""
        found: dict[str, Match] = {}
        ambiguous: list[str] = []
        for mk in self.markets(t.marketplace):
            m = self.campaigns.resolve(mk, t.scope, t.scope_value)
            if m.ambiguous:
                ambiguous += [f"{mk} {c}" for c in m.ambiguous]
            elif m.keys:
                found[mk] = m
        return ({} if ambiguous else found), ambiguous

    def _problem(self, t: Target, expected: str, action: str, severity: str) -> None:
        where = t.cell or f"Targets row {t.row}"
        if (where, expected) not in self._problem_cells:
            self._problem_cells.add((where, expected))
            self.problems.append(Problem(where, t.scope_value, expected, action, severity))

    def _group(self, scope: str) -> dict[tuple[str, str], dict[str, float | None]]:
        if scope not in self._groups:
            out: dict[tuple[str, str], dict[str, float | None]] = {}
            if self._table is not None and (scope in SCOPE_KEYS or scope in ("account", "asin")):
                a = self.facts.asin
                mk = a.index.get_level_values(0)
                if scope == "account":
                    key = pd.Series("", index=a.index)
                elif scope == "asin":
                    key = pd.Series(a.index.get_level_values(1), index=a.index)
                elif scope == "sku":
                    key = a["sku"].astype(str)
                else:
                    key = a[scope].astype(str).str.lower()
                g = self._table.groupby([mk, key.to_numpy()], sort=False).sum(min_count=1)
                names = list(g.columns)
                # the same values as _f() of each cell (NaN → None), a row at a time instead of a call per cell
                values = [[None if v != v else v for v in r] for r in g.to_numpy(dtype=float).tolist()]
                for k, row in zip(g.index, values, strict=True):
                    out[(k[0], k[1])] = dict(zip(names, row, strict=True))
            self._groups[scope] = out
        return self._groups[scope]

    @staticmethod
    def _key(scope: str, value: str) -> str:
        if scope == "account":
            return ""
        if scope == "asin":
            return value.upper()
        return value if scope == "sku" else value.lower()

    def markets(self, marketplace: str) -> list[str]:
        return members(marketplace, self.settings.marketplaces)

    def in_scope(self, mk: str, scope: str, value: str) -> bool:
        return (mk, self._key(scope, value)) in self._group(scope)

    def asin_sums(self, mk: str, scope: str, value: str) -> dict[str, float | None]:
        """Σ over the ASINs of the scope (ASIN-level figures and the derived inventory/margin columns)."""
        return self._group(scope).get((mk, self._key(scope, value)), {})

    def sums(self, mk: str, scope: str, value: str) -> dict[str, float | None]:
        """What a formula KPI sums: account scope uses the account-level totals (which prefer the account
        reports), other scopes the ASIN sums."""
        if scope == "account":
            return {k: _f(v) for k, v in self.facts.account.get(mk, {}).items()}
        return self.asin_sums(mk, scope, value)

    def asin_rows(self, mk: str, scope: str, value: str) -> pd.DataFrame:
        """The ASIN rows of a scope (used only for notes that name ASINs)."""
        a = self.facts.asin
        if a.empty or mk not in a.index.get_level_values(0):
            return a.iloc[0:0]
        sub = a.loc[[mk]]
        if scope == "account":
            return sub
        if scope == "asin":
            return sub[sub.index.get_level_values(1) == value.upper()]
        if scope not in SCOPE_KEYS:       # campaigns, ad groups, agents: not a set of Products rows
            return sub.iloc[0:0]
        col = sub[SCOPE_KEYS[scope]].astype(str)
        return sub[col == value] if scope == "sku" else sub[col.str.lower() == value.lower()]

    # -- one KPI over one scope -------------------------------------------------------------------------
    def evaluate(self, t: Target) -> Row:
        row = Row(target=t)
        meta = CATALOG[t.kpi]
        mks = self.markets(t.marketplace)
        dts = [self.facts.data_through.get(m) for m in mks]
        row.data_through = min((d for d in dts if d), default=None)
        if len(mks) > 1 and any(store(m) != "amazon" for m in mks):
            row.notes.append(f"covers {covers(mks)}")
        manual = self.manual.get((t.marketplace, t.scope, t.scope_value.lower(), t.kpi))
        if manual is not None:
            row.actual = manual.actual
            row.manual = True
            row.projected_actual = manual.actual
            src = f" ({manual.source})" if manual.source else ""
            row.notes.append(f"manual actual from Manual Actuals row {manual.row}{src}")
        elif meta.special == "manual":
            row.notes.append(f"{t.kpi} comes from the Manual Actuals tab; no row for {t.marketplace} "
                             f"{t.scope}{' ' + t.scope_value if t.scope_value else ''}")
        elif meta.special == "health":
            self._health(row, mks[0])
        elif meta.special == "inventory":
            self._inventory(row, mks)
        elif meta.special == "margin":
            self._margin(row, mks)
        elif t.scope in CAMPAIGN_SCOPES:
            self._campaign(row, mks)
        else:
            self._formula(row, mks)
        if manual is not None and meta.special != "manual":
            shadow = Row(target=t)
            if meta.special is None and t.scope in CAMPAIGN_SCOPES:
                self._campaign(shadow, mks, quiet=True)
            elif meta.special is None:
                self._formula(shadow, mks)
            if shadow.actual is not None:
                self.manual_overrides.append(
                    f"Targets row {t.row} ({t.kpi}, {t.marketplace}): manual value {manual.actual:g} from Manual "
                    f"Actuals row {manual.row} overrides the report value {shadow.actual:.4g}")
                row.notes.append(f"overrides the report value {shadow.actual:.4g}")
        self._attain(row)
        return row

    def _campaign(self, row: Row, mks: list[str], quiet: bool = False) -> None:
        """An ads KPI over a portfolio, campaign or ad group: the campaign reports' sums for what the scope value
        names (see :mod:`.campaigns`)."""
        t = row.target
        found, ambiguous = self.campaign_matches(t)
        what = CAMPAIGN_WORDS[t.scope]
        if ambiguous:
            row.notes.append(f"{what} “{t.scope_value}” fits several {what}s: {'; '.join(ambiguous)}")
            if not quiet:
                self._problem(t, f"this {what} name fits {len(ambiguous)} {what}s in the ads reports "
                              f"({'; '.join(ambiguous)}); type the {what} id instead"
                              + (", or campaign / ad group" if t.scope == "ad_group" else ""),
                              "actual left blank", "error")
            return
        if not found:
            row.notes.append(f"no {what} “{t.scope_value}” in the ads reports for {', '.join(mks)}")
            if not quiet and not self.campaigns.empty:
                self._problem(t, f"no {what} with this id or name in the ads reports for {', '.join(mks)}; check "
                              "the spelling, or download a campaign or advertised-product report that has it",
                              "row kept (actual may be blank)", "warning")
            return
        for mk, m in found.items():
            shown = "; ".join(m.names[:4]) + (f" (+{len(m.names) - 4})" if len(m.names) > 4 else "")
            row.notes.append(f"{mk} {what}: {shown}")
        hint = ("TACoS per campaign needs its advertised ASINs: a Sponsored Products advertised-product report names "
                "them, Brands and Display campaign reports do not" if CATALOG[t.kpi].den == "gmv"
                else "needs a campaign or advertised-product report")
        self._formula(row, mks, sums=lambda mk: self.campaigns.sums(mk, t.scope, found[mk]) if mk in found else {},
                      hint=hint)

    def _formula(self, row: Row, mks: list[str],
                 sums: Callable[[str], dict[str, float | None]] | None = None, hint: str | None = None) -> None:
        t = row.target
        meta = CATALOG[t.kpi]
        nums, dens, proj = [], [], []
        missing = []
        for mk in mks:
            s = sums(mk) if sums is not None else self.sums(mk, t.scope, t.scope_value)
            n = s.get(meta.num)
            d = s.get(meta.den) if meta.den else None
            if n is None or (meta.den and d is None):
                missing.append(mk)
                continue
            nums.append(n)
            if meta.den:
                dens.append(d)
            row.per_marketplace[mk] = n
            if meta.additive:
                share = self.share.get(mk, 0.0)
                proj.append(n / share if share > 0 else None)
        if missing and not nums:
            row.notes.append(f"no data for {', '.join(missing)} ({hint or _family_hint(meta.num, meta.den, missing)})")
            return
        if missing:
            row.notes.append(f"no data for {', '.join(missing)}; counted {', '.join(row.per_marketplace)} only")
        if meta.den:
            den = sum(dens)
            if den == 0:
                row.notes.append(f"no {meta.den.replace('_', ' ')} in scope, so {t.kpi} is undefined")
                return
            row.actual = sum(nums) / den
            row.projected_actual = row.actual
        else:
            row.actual = sum(nums)
            if any(p is None for p in proj):
                row.projected_actual = None
                row.notes.append("no days with data yet: no projection")
            else:
                row.projected_actual = sum(proj)
        if sums is None and t.scope != "account" and meta.num and self._scope_empty(mks, t.scope, t.scope_value):
            row.notes.append(f"no ASIN in Products matches {t.scope} {t.scope_value!r}")

    def _scope_empty(self, mks, scope, value) -> bool:
        return not any(self.in_scope(mk, scope, value) for mk in mks)

    def _health(self, row: Row, mk: str) -> None:
        t = row.target
        h = self.facts.health.get(mk, {}).get(t.kpi)
        ml = store(mk) != "amazon"
        wm = is_walmart(mk)
        if not h or h.get("rate") is None:
            row.notes.append(
                f"no seller performance summaries (Walmart API insights, published for Walmart US only) for {mk}" if wm
                else f"no seller reputation (Mercado Libre API users/{{id}}, or a saved copy) for {mk}" if ml
                else f"no account-health report (GET_V2_SELLER_PERFORMANCE_REPORT) for {mk}")
            return
        row.actual = row.projected_actual = float(h["rate"])
        window = f"{h['from']}..{h['to']}" if h.get("from") and h.get("to") else "the report's own window"
        row.notes.append(f"as reported by {'Walmart' if wm else 'Mercado Libre' if ml else 'Amazon'} for {window}")

    def _inventory(self, row: Row, mks: list[str]) -> None:
        t = row.target
        sums = {mk: self.asin_sums(mk, t.scope, t.scope_value) for mk in mks}
        have = [mk for mk in mks if (sums[mk].get("_has_inv") or 0) > 0]
        if not have:
            row.notes.append("no Walmart inventory (the API's inventories and WFS inventory)"
                             if all(is_walmart(mk) for mk in mks) else
                             "no FBA inventory report (GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA)")
            return
        fulfillable = sum(sums[mk].get("fulfillable_units") or 0.0 for mk in have)
        rate = 0.0
        for mk in have:
            days = self.facts.elapsed_days.get(mk, 0)
            if days > 0:
                rate += (sums[mk].get("_inv_units") or 0.0) / days
        if t.kpi == "stockout_asins":
            row.actual = float(sum(sums[mk].get("_stockout") or 0.0 for mk in have))
            if row.actual:
                names = []
                for mk in have:
                    f = self.asin_rows(mk, t.scope, t.scope_value)
                    out = f[(f["units"].fillna(0) > 0) & (f["fulfillable_units"] == 0)]
                    # Walmart items by their listing name (a SKU means little to a reader), others by ASIN / id
                    names += ([str(x) or a for x, a in zip(out["title"], out.index.get_level_values(1), strict=True)]
                              if is_walmart(mk) and "title" in out else list(out.index.get_level_values(1)))
                row.notes.append("out of stock: " + ", ".join(names[:8]) + (" …" if len(names) > 8 else ""))
        elif t.kpi == "days_of_cover":
            if rate <= 0:
                row.notes.append("no units sold yet, so days of cover is undefined")
                return
            row.actual = fulfillable / rate
        else:  # inventory_turnover
            if fulfillable <= 0:
                row.notes.append("no fulfillable units, so turnover is undefined")
                return
            row.actual = rate * 365 / fulfillable
        row.projected_actual = row.actual

    def _margin(self, row: Row, mks: list[str]) -> None:
        t = row.target
        g_total = cost_total = ads_total = units_w = log_w = skipped = 0.0
        for mk in mks:
            s = self.asin_sums(mk, t.scope, t.scope_value)
            if not s:
                continue
            units_w += s.get("_log_units") or 0.0
            log_w += s.get("_log_w") or 0.0
            skipped += s.get("_skipped") or 0.0
            if (s.get("_ref_known") or 0) > 0:       # refunds known per ASIN
                g_total += s.get("_g_margin") or 0.0
                cost_total += s.get("_cost_kept") or 0.0
            else:                                     # refunds known per account only: pro rata
                acct = self.facts.account.get(mk, {})
                units_a, refunded_a = _f(acct.get("units")), _f(acct.get("units_refunded"))
                frac = refunded_a / units_a if units_a and refunded_a is not None else 0.0
                g_total += (s.get("_g_ex") or 0.0) * (1 - frac)
                cost_total += (s.get("_cost_units") or 0.0) * (1 - frac)
            ads_total += s.get("_ads_costed") or 0.0
        if t.kpi == "unit_logistics_cost":
            if units_w <= 0:
                row.notes.append("no units with a unit_logistics_cost in Products")
                return
            row.actual = row.projected_actual = log_w / units_w
            return
        if skipped:
            row.notes.append(f"{int(skipped)} selling ASIN(s) without unit_cost in Products left out")
        if g_total <= 0:
            row.notes.append("no sales with costs in Products, so net margin is undefined")
            return
        row.actual = row.projected_actual = (g_total - cost_total - ads_total) / g_total

    def _attain(self, row: Row) -> None:
        t = row.target
        cap = self.settings.attainment_cap
        row.attainment = attainment(row.actual, t.target, t.direction, cap, row.notes)
        row.projected_attainment = attainment(row.projected_actual, t.target, t.direction, cap, [])
        p = row.projected_attainment
        if p is None:
            row.status = ""
        elif p >= self.settings.on_track:
            row.status = "on track"
        elif p >= self.settings.at_risk:
            row.status = "at risk"
        else:
            row.status = "off track"


def attainment(actual: float | None, target: float, direction: str, cap: float, notes: list[str]) -> float | None:
    if actual is None:
        return None
    if direction == "higher":
        if target <= 0:
            notes.append("target ≤ 0 for a higher-is-better KPI: no attainment")
            return None
        return actual / target
    if actual == 0:
        return cap
    if actual < 0:
        notes.append("negative actual for a lower-is-better KPI: no attainment")
        return None
    return target / actual


def _family_hint(num: str | None, den: str | None, markets: list[str] | None = None) -> str:
    metrics = {num, den} - {None}
    if markets and all(is_walmart(m) for m in markets):
        if metrics & {"fba_units", "order_units"}:
            return "needs Walmart's orders from the API (the Item Performance report has no fulfilment column)"
        if metrics & {"units_refunded", "units_returned"}:
            return "needs Walmart's returns (the API, or its JSON saved into the folder)"
        if metrics & {"page_views"}:
            return "needs Walmart's Item Performance report"
        if metrics & {"ad_spend", "ad_sales", "ad_clicks", "ad_impressions", "ad_orders"}:
            return "needs the Walmart Connect Sponsored Search adItem report"
        return "needs Walmart's orders (the API) or its Item Performance report"
    if metrics & {"visits"}:
        return "needs Mercado Libre visits (the API's item visits; the seller centre has no visits download)"
    if metrics & {"ad_spend", "ad_sales", "ad_clicks", "ad_impressions", "ad_orders"}:
        return "needs a Sponsored Products advertised-product report"
    if metrics & {"units_returned"}:
        return "needs the FBA customer returns report"
    if metrics & {"fba_units", "order_units"}:
        return "needs the all-orders report"
    if metrics & {"units_refunded"}:
        return "needs Sales and Traffic by date with refunds"
    return "needs a Business Report or Sales and Traffic report"


def evaluate_all(inputs: TeamInputs, facts: Facts) -> tuple[list[Row], Evaluator]:
    ev = Evaluator(inputs, facts)
    return [ev.evaluate(t) for t in inputs.targets], ev


def score_owners(rows: list[Row], tiers: list[BonusTier], settings: Settings, period_complete: bool) -> list[OwnerScore]:
    by_owner: dict[str, list[Row]] = defaultdict(list)
    order: list[str] = []
    for r in rows:
        if r.target.owner not in by_owner:
            order.append(r.target.owner)
        by_owner[r.target.owner].append(r)
    cap = settings.attainment_cap
    out = []
    for owner in order:
        rs = by_owner[owner]
        score = _weighted([(r.target.weight, r.attainment) for r in rs], cap)
        proj = _weighted([(r.target.weight, r.projected_attainment) for r in rs], cap)
        _contributions(rs, cap)
        basis = score if period_complete else proj
        tier, payout = bonus(basis, tiers)
        nxt = next_tier(basis, tiers)
        kinds = Counter(CATALOG[r.target.kpi].kind for r in rs if r.target.weight > 0)
        flags = []
        blank = [r for r in rs if r.attainment is None]
        if blank:
            flags.append(f"{len(blank)} KPI(s) without attainment (rows {', '.join(str(r.target.row) for r in blank)})")
        if sum(r.target.weight for r in rs) == 0:
            flags.append("all weights are 0")
        if not period_complete and basis is not None:
            flags.append("tier on projected score")
        roles = Counter(r.target.role for r in rs if r.target.role)
        out.append(OwnerScore(owner=owner, role=roles.most_common(1)[0][0] if roles else "", kpis=len(rs),
                              score=score, projected_score=proj, tier=tier, payout=payout,
                              outcome_kpis=kinds.get("outcome", 0),
                              process_kpis=sum(v for k, v in kinds.items() if k != "outcome"), flags=flags,
                              tier_on="" if basis is None else ("score" if period_complete else "projected_score"),
                              next_tier=nxt[0] if nxt else "", to_next_tier=nxt[1] if nxt else None))
    return out


def _contributions(rs: list[Row], cap: float) -> None:
    """Each row's part of the owner's score: weight × min(attainment, cap) / Σ weight over the rows with an
    attainment (the same terms as :func:`_weighted`, so the parts add up to the score)."""
    den = sum(r.target.weight for r in rs if r.attainment is not None)
    pden = sum(r.target.weight for r in rs if r.projected_attainment is not None)
    for r in rs:
        r.capped_attainment = None if r.attainment is None else min(r.attainment, cap)
        r.contribution = (r.target.weight * r.capped_attainment / den
                          if r.capped_attainment is not None and den > 0 else None)
        r.projected_contribution = (r.target.weight * min(r.projected_attainment, cap) / pden
                                    if r.projected_attainment is not None and pden > 0 else None)


def next_tier(score: float | None, tiers: list[BonusTier]) -> tuple[str, float] | None:
    """The first Bonus Tiers row whose min_score is above ``score``, and how far away it is."""
    if score is None:
        return None
    for t in tiers:  # sorted ascending by min_score
        if t.min_score > score:
            return t.tier, t.min_score - score
    return None


def _weighted(pairs: list[tuple[float, float | None]], cap: float) -> float | None:
    num = den = 0.0
    for w, a in pairs:
        if a is None:
            continue
        num += w * min(a, cap)
        den += w
    return num / den if den > 0 else None


def bonus(score: float | None, tiers: list[BonusTier]) -> tuple[str, float | None]:
    if score is None or not tiers:
        return ("", None)
    chosen = None
    for t in tiers:  # sorted ascending by min_score
        if score >= t.min_score:
            chosen = t
    return (chosen.tier, chosen.payout) if chosen else ("none", 0.0)


# -- per-ASIN KPIs (Actuals columns, and the ASIN parts of a KPI's gap) ----------------------------------------
ASIN_KPIS = ("acos", "tacos", "roas", "ctr", "cvr", "net_margin", "days_of_cover", "return_rate", "refund_rate")


def margin_parts(facts: Facts) -> pd.DataFrame:
    """Per (marketplace, ASIN): ``sales`` G and ``profit`` G − kept units × unit costs − ad spend, on the rules
    of ``net_margin`` (refunds per ASIN when known, else the account's refunded share pro rata); rows without
    unit_cost in Products have NaN. Σ profit / Σ sales over a scope is that scope's net margin."""
    a = facts.asin
    if a.empty:
        return pd.DataFrame(columns=["sales", "profit"], index=a.index)
    d = _derived(a)
    frac = pd.Series(0.0, index=a.index)
    for mk in a.index.get_level_values(0).unique():
        acct = facts.account.get(mk, {})
        units_a, refunded_a = _f(acct.get("units")), _f(acct.get("units_refunded"))
        if units_a and refunded_a is not None:
            frac[a.index.get_level_values(0) == mk] = refunded_a / units_a
    known = d["_ref_known"] > 0
    sales = d["_g_margin"].where(known, d["_g_ex"] * (1 - frac))
    cost = d["_cost_kept"].where(known, d["_cost_units"] * (1 - frac))
    costed = a["unit_cost"].notna()
    out = pd.DataFrame({"sales": sales.where(costed), "profit": (sales - cost - d["_ads_costed"]).where(costed)})
    return out


def asin_kpis(facts: Facts) -> pd.DataFrame:
    """The :data:`ASIN_KPIS` of every (marketplace, ASIN), as ratios of that ASIN's own sums (blank where the
    denominator is 0 or missing)."""
    a = facts.asin
    out = pd.DataFrame(index=a.index, columns=list(ASIN_KPIS), dtype=float)
    if a.empty:
        return out

    def col(name: str) -> pd.Series:
        return a[name].astype(float) if name in a else pd.Series(np.nan, index=a.index)

    def ratio(n: pd.Series, d: pd.Series) -> pd.Series:
        return (n / d.where(d != 0)).astype(float)

    for kpi in ("acos", "tacos", "roas", "ctr", "cvr", "return_rate", "refund_rate"):
        meta = CATALOG[kpi]
        out[kpi] = ratio(col(meta.num), col(meta.den))
    days = pd.Series([facts.elapsed_days.get(mk, 0) for mk in a.index.get_level_values(0)], index=a.index, dtype=float)
    rate = col("units").fillna(0) / days.where(days > 0)
    out["days_of_cover"] = (col("fulfillable_units") / rate.where(rate > 0)).astype(float)
    m = margin_parts(facts)
    out["net_margin"] = ratio(m["profit"], m["sales"].where(m["sales"] > 0))
    return out


def account_kpis(facts: Facts, mk: str) -> dict[str, float | None]:
    """The :data:`ASIN_KPIS` of a marketplace's account total (ratios of the account sums; cover and margin
    from the ASIN sums, as the KPIs themselves)."""
    acct = {k: _f(v) for k, v in facts.account.get(mk, {}).items()}
    out: dict[str, float | None] = {}
    for kpi in ("acos", "tacos", "roas", "ctr", "cvr", "return_rate", "refund_rate"):
        meta = CATALOG[kpi]
        n, d = acct.get(meta.num), acct.get(meta.den)
        out[kpi] = n / d if n is not None and d else None
    a = facts.asin
    sub = a.loc[[mk]] if len(a) and mk in a.index.get_level_values(0) else a.iloc[0:0]
    days = facts.elapsed_days.get(mk, 0)
    inv = sub[sub["fulfillable_units"].notna()] if "fulfillable_units" in sub else sub.iloc[0:0]
    rate = float(inv["units"].fillna(0).sum()) / days if days > 0 and len(inv) else 0.0
    out["days_of_cover"] = float(inv["fulfillable_units"].sum()) / rate if rate > 0 else None
    m = margin_parts(facts)
    m = m.loc[[mk]] if len(m) and mk in m.index.get_level_values(0) else m.iloc[0:0]
    sales = float(m["sales"].sum()) if len(m) else 0.0
    out["net_margin"] = float(m["profit"].sum()) / sales if sales > 0 else None
    return out


def top_return_reasons(facts: Facts) -> dict[tuple[str, str], str]:
    """(marketplace, asin) → its most frequent return reason with units, e.g. ``DEFECTIVE (4 of 9)``."""
    rr = facts.return_reasons
    if rr is None or rr.empty:
        return {}
    g = rr.groupby(["marketplace", "asin", "reason"], as_index=False)["units"].sum()
    total = g.groupby(["marketplace", "asin"])["units"].sum()
    top = g.sort_values("units", ascending=False).drop_duplicates(["marketplace", "asin"])
    return {(m, a): f"{r} ({u:g} of {total[(m, a)]:g})" for m, a, r, u in top.itertuples(index=False)}
