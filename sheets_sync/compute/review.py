"""The review: Commentary (the design review, docs/review.md), Target Suggestions and History.

Pure: no files, no environment, no network. Earlier periods are computed from the same parsed batches with
:func:`~sheets_sync.compute.actuals.build_facts` (it does not mutate them). Every sentence comes from the
message catalogs in :mod:`sheets_sync.i18n`; KPI names are shown with :func:`sheets_sync.kpis.label`.

Attribution of a GMV miss (finding 7), per Targets row of ``gmv`` whose actual is below the paced target:

* GMV = S × C × P with S = sessions, C = units / sessions (CVR), P = gmv / units (price per unit);
* paced target B = target × actual / projected_actual (the Calendar-weighted share of the period elapsed;
  for ``ALL`` the sales-weighted mix of the marketplaces' shares), gap = actual − B;
* baseline mix (C0, P0): the same days of the previous period when the batches have them, else the owner's
  CVR target for the same scope (P0 = P), else this period's own mix; S0 = B / (C0 × P0), the sessions the
  paced target needed at that mix, so S0 × C0 × P0 = B exactly;
* LMDI: L = (actual − B) / (ln actual − ln B); effect of X = L × ln(X / X0). Because ln(actual / B) =
  ln(S/S0) + ln(C/C0) + ln(P/P0), the three effects add up to the gap (shown rounded to cents with the
  rounding put on the largest effect, so the shown numbers add up too).

Lost sales on stockout days: an ASIN in scope with 0 fulfillable units; days out = the trailing run of days
with no units up to data_through; lost = average daily units before that run × days out × the ASIN's price
per unit this period.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..frames import FAMILIES, ReportBatch
from ..i18n import t as _t
from ..inputs import Settings, Target, TeamInputs
from ..kpis import CATALOG, label
from ..periods import Period
from ..sheets.base import GENERATED_HEADER_ROW, GeneratedTab
from ..template import Template
from .actuals import Facts, build_facts
from .attainment import Evaluator, OwnerScore, Row, day_weights
from .tables import _round, _tab

SEVERITIES = ("high", "medium", "info")
HISTORY_PERIODS = 3            # "the last 3 periods"
STRICTER = 0.30                # a target stricter than the benchmark / best by more than this is unrealistic
CONFLICT_WEIGHT = 0.20         # both sides of a conflict weigh at least this share of the owner's weights
LAG_DAYS = 2                   # data_through more than this many days behind today
FBA_MAJORITY = 0.5             # an account this FBA cannot be judged on merchant-fulfilled shipping
TIER_GAP = 0.30                # new vs mature ratio KPIs differing by more than this need tier targets
CLEAR_PERIODS = 3              # clearance stock should clear within this many periods
REACH = ("ad_impressions", "sessions")
COST = ("acos", "ad_spend")
GROWTH = ("gmv", "units", "orders", "sessions", "ad_sales")
METRIC_FAMILY = {m: fam for fam, metrics in FAMILIES.items() for m in metrics}


@dataclasses.dataclass
class Finding:
    severity: str
    marketplace: str
    owner: str
    kpi: str
    scope: str
    finding: str
    evidence: str
    key: str = ""          # the catalog key of the finding sentence (for tests and tooling; not shown)

    def row(self) -> list[Any]:
        return [self.severity, self.marketplace, self.owner, self.kpi, self.scope, self.finding, self.evidence]


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """A GMV gap split into sessions, CVR and price-per-unit effects (LMDI; they sum to ``gap``)."""

    actual: float
    baseline: float
    sessions: float
    cvr: float
    price: float

    @property
    def gap(self) -> float:
        return self.actual - self.baseline


def logmean(a: float, b: float) -> float:
    """The logarithmic mean L(a, b) = (a − b) / (ln a − ln b), L(a, a) = a; a, b > 0."""
    if a <= 0 or b <= 0:
        raise ValueError("the logarithmic mean needs positive values")
    if math.isclose(a, b, rel_tol=1e-12):
        return (a + b) / 2
    return (a - b) / (math.log(a) - math.log(b))


def decompose(sessions: float, units: float, gmv: float, sessions0: float, units0: float,
              gmv0: float) -> Decomposition:
    """LMDI split of gmv − gmv0 with GMV = sessions × (units / sessions) × (gmv / units). All inputs > 0."""
    if min(sessions, units, gmv, sessions0, units0, gmv0) <= 0:
        raise ValueError("every component must be positive")
    w = logmean(gmv, gmv0)
    c, c0 = units / sessions, units0 / sessions0
    p, p0 = gmv / units, gmv0 / units0
    return Decomposition(actual=gmv, baseline=gmv0, sessions=w * math.log(sessions / sessions0),
                         cvr=w * math.log(c / c0), price=w * math.log(p / p0))


def rounded_effects(d: Decomposition, nd: int = 2) -> tuple[float, float, float, float]:
    """(gap, sessions, cvr, price) rounded to ``nd`` decimals so that the shown effects add up to the shown
    gap: the rounding difference goes to the largest effect."""
    gap = round(d.gap, nd)
    eff = [round(d.sessions, nd), round(d.cvr, nd), round(d.price, nd)]
    big = max(range(3), key=lambda i: abs((d.sessions, d.cvr, d.price)[i]))
    eff[big] = round(gap - sum(e for i, e in enumerate(eff) if i != big), nd)
    return gap, eff[0], eff[1], eff[2]


# -- number formatting in sentences -------------------------------------------------------------------------
def _fmt_money(x: float, currency: str) -> str:
    return f"{x:,.0f} {currency}" if abs(x) >= 100 else f"{x:,.2f} {currency}"


def _fmt_signed_money(x: float, currency: str) -> str:
    return ("+" if x > 0 else "−" if x < 0 else "") + _fmt_money(abs(x), currency)


def _fmt_pct(x: float) -> str:
    return f"{x:.1%}" if abs(x) < 0.1 else f"{x:.0%}" if abs(x) >= 10 else f"{x:.1%}"


def fmt_value(kpi: str, x: float | None, currency: str) -> str:
    """A KPI value as people read it: money with the currency, percentages with %, counts with separators."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    unit = CATALOG[kpi].unit if kpi in CATALOG else "number"
    if unit == "money":
        return _fmt_money(x, currency)
    if unit == "percent":
        return f"{x:.2%}" if abs(x) < 0.01 else f"{x:.1%}"
    if unit in ("count", "rank", "flag") and float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"


def _iso(d: dt.date | None) -> str:
    return d.isoformat() if d else "—"


class Review:
    """Everything the three tabs need, computed once per sync."""

    def __init__(self, inputs: TeamInputs, facts: Facts, rows: list[Row], today: dt.date,
                 batches: list[ReportBatch], ev: Evaluator | None = None):
        self.inputs, self.facts, self.rows, self.today, self.batches = inputs, facts, rows, today, batches
        self.settings: Settings = inputs.settings
        self.lang = self.settings.language
        self.cur = self.settings.base_currency
        self.ev = ev or Evaluator(inputs, facts)    # the sync's own, when given: its group sums are reused
        self._prior: dict[int, Facts | None] = {}
        self._prior_ev: dict[int, Evaluator | None] = {}
        self._range_ev: dict[tuple[dt.date, dt.date], Evaluator] = {}
        self._range: dict[tuple[dt.date, dt.date], Facts | None] = {}
        self._daily_units: dict[str, pd.Series] | None = None
        self.tier_of = {(p.marketplace, p.asin): p.tier for p in inputs.products}
        # look-up tables, so that 20,000 targets cost dictionary look-ups rather than scans
        self.categories_of_asin: dict[str, set[str]] = defaultdict(set)
        self.products_of_sku: dict[str, list[Any]] = defaultdict(list)
        for p in inputs.products:
            if p.category:
                self.categories_of_asin[p.asin].add(p.category.lower())
            self.products_of_sku[p.sku].append(p)
        self.benchmark_index: dict[tuple[str, str, str], Any] = {}
        for b in inputs.benchmarks:
            self.benchmark_index.setdefault((b.kpi, b.marketplace, b.category.lower()), b)
        self._attrs: dict[tuple[str, str], dict[str, Any]] | None = None

    # -- helpers -----------------------------------------------------------------------------------------
    def t(self, key: str, **fmt: Any) -> str:
        return _t(key, self.lang, **fmt)

    def kpi(self, key: str) -> str:
        return label(key, self.lang)

    def markets(self, marketplace: str) -> list[str]:
        return list(self.settings.marketplaces) if marketplace == "ALL" else [marketplace]

    def scope_text(self, t: Target) -> str:
        return f"{t.scope} {t.scope_value}".strip()

    def value(self, kpi: str, x: float | None) -> str:
        return fmt_value(kpi, x, self.cur)

    def _facts_for(self, period: Period) -> Facts | None:
        """Facts of an earlier period from the batches that say they cover some of its days. Undated files (a
        Business Report CSV) and snapshots (inventory, account health) describe now, not the past: left out."""
        dated = [b for b in self.batches if b.start is not None and b.end is not None
                 and b.family not in ("inventory", "health") and b.start <= period.end and b.end >= period.start]
        if not dated:
            return None
        s = dataclasses.replace(self.settings, period=period)
        f = build_facts(dated, s, self.inputs.products, today=self.today)
        return f if any(d is not None for d in f.data_through.values()) else None

    def prior(self, n: int) -> Facts | None:
        """Facts of the n-th previous period (from the same batches); None when the batches have none."""
        if n not in self._prior:
            self._prior[n] = self._facts_for(self.settings.period.previous(n)) if self.batches else None
        return self._prior[n]

    def prior_evaluator(self, n: int) -> Evaluator | None:
        if n not in self._prior_ev:
            f = self.prior(n)
            s = dataclasses.replace(self.settings, period=self.settings.period.previous(n))
            self._prior_ev[n] = None if f is None else Evaluator(dataclasses.replace(self.inputs, settings=s,
                                                                                     manual=[]), f)
        return self._prior_ev[n]

    def same_days_last_period(self) -> tuple[Period, Evaluator] | None:
        """The first k days of the previous period, k = the days elapsed in this one (per the longest market)."""
        if not self.batches:
            return None
        k = max(self.facts.elapsed_days.values(), default=0)
        if k <= 0:
            return None
        prev = self.settings.period.previous(1)
        end = min(prev.end, prev.start + dt.timedelta(days=k - 1))
        key = (prev.start, end)
        if key not in self._range:
            self._range[key] = self._facts_for(Period(f"{prev.start.isoformat()}..{end.isoformat()}",
                                                      prev.start, end))
        f = self._range[key]
        if f is None:
            return None
        if key not in self._range_ev:     # one Evaluator for every GMV miss, not one per target
            s = dataclasses.replace(self.settings, period=Period(prev.label, prev.start, end))
            self._range_ev[key] = Evaluator(dataclasses.replace(self.inputs, settings=s, manual=[]), f)
        return Period(prev.label, prev.start, end), self._range_ev[key]

    def weight_total(self, period: Period, mk: str) -> float:
        return float(day_weights(period.days, self.inputs.calendar, mk).sum())

    def clearance_asins(self, mks: Iterable[str], t: Target | None = None) -> list[str]:
        out = []
        for mk in mks:
            if t is None:
                out += [a for (m, a), tier in self.tier_of.items() if m == mk and tier == "clearance"]
            elif t.scope == "asin":
                a = t.scope_value.upper()
                out += [a] if self.tier_of.get((mk, a)) == "clearance" and self.ev.in_scope(mk, "asin", a) else []
            else:
                sub = self.ev.asin_rows(mk, t.scope, t.scope_value)
                out += [a for a in sub.index.get_level_values(1) if self.tier_of.get((mk, a)) == "clearance"]
        return sorted(set(out))

    def is_clearance_scope(self, t: Target) -> bool:
        if t.scope == "tier":
            return t.scope_value.lower() == "clearance"
        if t.scope in ("asin", "sku"):
            mks = self.markets(t.marketplace)
            if t.scope == "asin":
                tiers = {self.tier_of.get((mk, t.scope_value.upper())) for mk in mks} - {None}
            else:
                tiers = {p.tier for p in self.products_of_sku.get(t.scope_value, ()) if p.marketplace in mks}
            return bool(tiers) and tiers <= {"clearance"}
        return False

    def stockouts(self, mks: Iterable[str], t: Target | None = None) -> list[tuple[str, str]]:
        """(marketplace, ASIN) in scope with units sold and 0 fulfillable units (as stockout_asins counts)."""
        out = []
        for mk in mks:
            sub = self.ev.asin_rows(mk, t.scope, t.scope_value) if t else self.ev.asin_rows(mk, "account", "")
            if sub.empty or "fulfillable_units" not in sub:
                continue
            hit = sub[(sub["units"].fillna(0) > 0) & (sub["fulfillable_units"] == 0)]
            out += [(mk, a) for a in hit.index.get_level_values(1)]
        return out

    def fba_share(self, mks: Iterable[str]) -> tuple[float, float, float] | None:
        fba = order = 0.0
        for mk in mks:
            a = self.facts.account.get(mk, {})
            f, o = a.get("fba_units"), a.get("order_units")
            if f is None or o is None or np.isnan(f) or np.isnan(o):
                continue
            fba, order = fba + float(f), order + float(o)
        return (fba / order, fba, order) if order > 0 else None

    # -- per-ASIN daily units (for stockout days) ----------------------------------------------------------
    def daily_units(self, mk: str) -> pd.DataFrame:
        """Units per (asin, date) this period from the dated traffic rows (the same day in two batches is
        counted once: the larger value is kept)."""
        if self._daily_units is None:
            self._daily_units = {}
            period = self.settings.period
            parts: dict[str, list[pd.DataFrame]] = defaultdict(list)
            for b in self.batches:
                df = b.asin_rows
                if b.family != "traffic" or df is None or df.empty or "date" not in df or "units" not in df:
                    continue
                d = df[df["date"].notna()][["asin", "date", "units"]].copy()
                if d.empty:
                    continue
                d["date"] = pd.to_datetime(d["date"]).dt.date
                d = d[(d["date"] >= period.start) & (d["date"] <= period.end)]
                parts[b.marketplace].append(d)
            for m, ps in parts.items():
                allp = pd.concat(ps, ignore_index=True)
                self._daily_units[m] = allp.groupby(["asin", "date"])["units"].max()
        return self._daily_units.get(mk, pd.Series(dtype=float))

    def lost_sales(self, mk: str, asin: str) -> tuple[float, int] | None:
        """(estimated sales lost, days out) for an out-of-stock ASIN; None without dated rows."""
        s = self.daily_units(mk)
        through = self.facts.data_through.get(mk)
        if through is None or s.empty or asin not in s.index.get_level_values(0):
            return None
        per_day = s.loc[asin]
        days = [d for d in self.settings.period.days if d <= through]
        units = [float(per_day.get(d, 0.0) or 0.0) for d in days]
        out = 0
        for u in reversed(units):
            if u > 0:
                break
            out += 1
        before = units[: len(units) - out]
        if not before or out == 0:
            return (0.0, out)
        avg = sum(before) / len(before)
        row = self.facts.asin.loc[(mk, asin)]
        price = float(row["gmv"]) / float(row["units"]) if row["units"] and not np.isnan(row["gmv"]) else 0.0
        return (avg * out * price, out)

    # ------------------------------------------------------------------------------------------------------
    # Findings
    # ------------------------------------------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for f in (self.outcome_only, self.conflicts, self.not_controllable, self.unrealistic, self.tiering,
                  self.no_cx, self.attribution, self.data_lag, self.calendar):
            out.extend(f())
        if not out:
            out.append(Finding("info", "", "", "", "", self.t("no_findings"), "", key="no_findings"))
        order = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted(out, key=lambda f: order[f.severity])   # stable: the finding order within a severity

    def _owner_rows(self) -> dict[str, list[Row]]:
        by: dict[str, list[Row]] = defaultdict(list)
        for r in self.rows:
            by[r.target.owner].append(r)
        return by

    def _weights(self, rs: list[Row]) -> str:
        total = sum(r.target.weight for r in rs) or 1.0
        return ", ".join(f"{self.kpi(r.target.kpi)} {r.target.weight / total:.0%}" for r in rs)

    def _mk_join(self, rs: Iterable[Row]) -> str:
        mks = []
        for r in rs:
            if r.target.marketplace not in mks:
                mks.append(r.target.marketplace)
        return ", ".join(mks)

    # 1. outcome only
    def outcome_only(self) -> list[Finding]:
        out = []
        for owner, rs in self._owner_rows().items():
            weighted = [r for r in rs if r.target.weight > 0]
            if weighted and all(CATALOG[r.target.kpi].kind == "outcome" for r in weighted):
                out.append(Finding("medium", self._mk_join(weighted), owner, "", "",
                                   self.t("outcome_only", owner=owner, n=len(weighted)),
                                   self.t("ev_weights", weights=self._weights(weighted)), key="outcome_only"))
        return out

    # 2. conflicting KPIs
    def conflicts(self) -> list[Finding]:
        out = []
        for owner, rs in self._owner_rows().items():
            total = sum(r.target.weight for r in rs)
            if total <= 0:
                continue
            reach = [r for r in rs if r.target.kpi in REACH and r.target.direction == "higher"
                     and r.target.weight / total >= CONFLICT_WEIGHT]
            cost = [r for r in rs if r.target.kpi in COST and r.target.direction == "lower"
                    and r.target.weight / total >= CONFLICT_WEIGHT]
            if reach and cost:
                both = reach + cost
                ev = "; ".join(self.t("ev_weight_att", kpi=self.kpi(r.target.kpi), share=f"{r.target.weight / total:.0%}",
                                      target=self.value(r.target.kpi, r.target.target),
                                      actual=self.value(r.target.kpi, r.actual)) for r in both)
                out.append(Finding("high", self._mk_join(both), owner, ", ".join(self.kpi(r.target.kpi) for r in both), "",
                                   self.t("conflict_reach_cost", owner=owner,
                                          reach=", ".join(self.kpi(r.target.kpi) for r in reach),
                                          cost=", ".join(self.kpi(r.target.kpi) for r in cost),
                                          share=f"{CONFLICT_WEIGHT:.0%}"), ev, key="conflict_reach_cost"))
        # gmv growth and net margin on a clearance scope
        growth = [r for r in self.rows if self.is_clearance_scope(r.target) and r.target.kpi in GROWTH
                  and r.target.direction == "higher"]
        margin = [r for r in self.rows if self.is_clearance_scope(r.target) and r.target.kpi == "net_margin"]
        for g in growth:
            ms = [m for m in margin if set(self.markets(m.target.marketplace)) & set(self.markets(g.target.marketplace))]
            if not ms:
                continue
            both = [g, *ms]
            owners = ", ".join(dict.fromkeys(r.target.owner for r in both))
            asins = self.clearance_asins(self.markets(g.target.marketplace), g.target)
            ev = "; ".join(self.t("ev_target_actual", kpi=self.kpi(r.target.kpi), target=self.value(r.target.kpi, r.target.target),
                                  actual=self.value(r.target.kpi, r.actual)) for r in both)
            out.append(Finding("high", self._mk_join(both), owners, f"{self.kpi(g.target.kpi)}, {self.kpi('net_margin')}",
                               self.scope_text(g.target),
                               self.t("conflict_clearance", owners=owners, kpi=self.kpi(g.target.kpi),
                                      margin=self.kpi("net_margin"), asins=_list(asins)), ev, key="conflict_clearance"))
        # low days of cover together with zero stockouts
        covers = [r for r in self.rows if r.target.kpi == "days_of_cover" and r.target.direction == "lower"]
        zeros = [r for r in self.rows if r.target.kpi == "stockout_asins" and r.target.target == 0]
        for c in covers:
            zs = [z for z in zeros if set(self.markets(z.target.marketplace)) & set(self.markets(c.target.marketplace))]
            if not zs:
                continue
            both = [c, *zs]
            owners = ", ".join(dict.fromkeys(r.target.owner for r in both))
            outs = self.stockouts(self.markets(c.target.marketplace))
            ev = "; ".join(self.t("ev_target_actual", kpi=self.kpi(r.target.kpi), target=self.value(r.target.kpi, r.target.target),
                                  actual=self.value(r.target.kpi, r.actual)) for r in both)
            if outs:
                ev += "; " + self.t("ev_out_of_stock", asins=_list(f"{m} {a}" for m, a in outs))
            out.append(Finding("high", self._mk_join(both), owners,
                               f"{self.kpi('days_of_cover')}, {self.kpi('stockout_asins')}",
                               self.scope_text(c.target),
                               self.t("conflict_cover_stockout", owners=owners, cover=self.kpi("days_of_cover"),
                                      stockouts=self.kpi("stockout_asins"), days=self.value("days_of_cover", c.target.target)),
                               ev, key="conflict_cover_stockout"))
        return out

    # 3. not controllable
    def not_controllable(self) -> list[Finding]:
        out = []
        for r in self.rows:
            t = r.target
            meta = CATALOG[t.kpi]
            mks = self.markets(t.marketplace)
            fba = self.fba_share(mks) if meta.fbm_only else None
            controls = ", ".join(meta.controls)
            if fba is not None and fba[0] >= FBA_MAJORITY:
                ev = self.t("ev_fba", mk=t.marketplace, share=_fmt_pct(fba[0]), fba=f"{fba[1]:,.0f}",
                            units=f"{fba[2]:,.0f}", role=t.role or "—", controls=controls)
                out.append(Finding("high", t.marketplace, t.owner, self.kpi(t.kpi), self.scope_text(t),
                                   self.t("not_controllable_fba", owner=t.owner, role=t.role or "—",
                                          kpi=self.kpi(t.kpi), mk=t.marketplace, share=_fmt_pct(fba[0])), ev, key="not_controllable_fba"))
            elif t.role and t.role not in meta.controls:
                out.append(Finding("high", t.marketplace, t.owner, self.kpi(t.kpi), self.scope_text(t),
                                   self.t("not_controllable", owner=t.owner, role=t.role, kpi=self.kpi(t.kpi),
                                          controls=controls),
                                   self.t("ev_role", row=t.row, role=t.role, controls=controls,
                                          weight=f"{t.weight:g}"), key="not_controllable"))
        return out

    # 4. unrealistic vs benchmark or the last 3 periods' best
    def benchmark_for(self, t: Target) -> tuple[float, str] | None:
        cats: list[str] = []
        if t.scope == "category":
            cats.append(t.scope_value.lower())
        elif t.scope == "asin":
            cats += sorted(self.categories_of_asin.get(t.scope_value.upper(), ()))
        elif t.scope == "sku":
            cats += sorted({p.category.lower() for p in self.products_of_sku.get(t.scope_value, ()) if p.category})
        cats.append("")

        def pick(mk: str) -> Any:
            for cat in cats:
                b = self.benchmark_index.get((t.kpi, mk, cat))
                if b is not None:
                    return b
            return None

        b = pick(t.marketplace) if t.marketplace != "ALL" else None
        if b is None and t.marketplace == "ALL":
            b = pick("ALL")
            if b is None:
                parts = [(mk, pick(mk)) for mk in self.settings.marketplaces]
                parts = [(mk, x) for mk, x in parts if x is not None]
                if parts:
                    mean = sum(x.benchmark for _, x in parts) / len(parts)
                    src = ", ".join(f"{mk} {self.value(t.kpi, x.benchmark)}" for mk, x in parts)
                    return mean, self.t("bench_mean", parts=src)
        elif b is None:
            b = pick("ALL")
        if b is None:
            return None
        return b.benchmark, " ".join(x for x in (b.category, b.source) if x) or b.marketplace

    @staticmethod
    def stricter(target: float, ref: float, direction: str) -> float | None:
        """How much stricter the target is than ``ref`` (0.4 = 40 % stricter); None when not comparable."""
        if ref <= 0:
            return None
        return target / ref - 1 if direction == "higher" else 1 - target / ref

    def history_best(self, t: Target) -> tuple[float, str, int] | None:
        """The best actual of the last 3 complete periods (additive KPIs calendar-adjusted to this period)."""
        meta = CATALOG[t.kpi]
        if meta.special in ("manual", "health"):
            return None
        best: tuple[float, str] | None = None
        n_used = 0
        for n in range(1, HISTORY_PERIODS + 1):
            ev = self.prior_evaluator(n)
            if ev is None:
                continue
            prev = self.settings.period.previous(n)
            mks = self.markets(t.marketplace)
            if any((ev.facts.data_through.get(mk) or dt.date.min) < prev.end for mk in mks):
                continue
            r = ev.evaluate(t)
            if r.actual is None:
                continue
            actual = r.actual
            if meta.additive:
                actual = sum(v * self.weight_total(self.settings.period, mk) / self.weight_total(prev, mk)
                             for mk, v in r.per_marketplace.items())
            n_used += 1
            if best is None or (actual > best[0] if t.direction == "higher" else actual < best[0]):
                best = (actual, prev.label)
        return (best[0], best[1], n_used) if best else None

    def unrealistic(self) -> list[Finding]:
        out = []
        for r in self.rows:
            t = r.target
            bm = self.benchmark_for(t)
            if bm is not None:
                s = self.stricter(t.target, bm[0], t.direction)
                if s is not None and s > STRICTER:
                    out.append(Finding("medium", t.marketplace, t.owner, self.kpi(t.kpi), self.scope_text(t),
                                       self.t("unrealistic_benchmark", owner=t.owner, kpi=self.kpi(t.kpi),
                                              target=self.value(t.kpi, t.target), bench=self.value(t.kpi, bm[0]),
                                              pct=f"{s:.0%}", limit=f"{STRICTER:.0%}"),
                                       self.t("ev_benchmark", target=self.value(t.kpi, t.target),
                                              bench=self.value(t.kpi, bm[0]), source=bm[1],
                                              actual=self.value(t.kpi, r.actual), pct=f"{s:.0%}"), key="unrealistic_benchmark"))
            hb = self.history_best(t)
            if hb is not None:
                s = self.stricter(t.target, hb[0], t.direction)
                if s is not None and s > STRICTER:
                    out.append(Finding("medium", t.marketplace, t.owner, self.kpi(t.kpi), self.scope_text(t),
                                       self.t("unrealistic_history", owner=t.owner, kpi=self.kpi(t.kpi),
                                              target=self.value(t.kpi, t.target), best=self.value(t.kpi, hb[0]),
                                              n=hb[2], pct=f"{s:.0%}", limit=f"{STRICTER:.0%}"),
                                       self.t("ev_history", best=self.value(t.kpi, hb[0]), period=hb[1],
                                              n=hb[2], target=self.value(t.kpi, t.target), pct=f"{s:.0%}"), key="unrealistic_history"))
        return out

    # 5. no tiering
    def tier_of_target(self, t: Target) -> str | None:
        if t.scope == "tier":
            return t.scope_value.lower()
        if t.scope in ("asin", "sku"):
            tiers = {self.tier_of.get((mk, t.scope_value.upper())) if t.scope == "asin" else None
                     for mk in self.markets(t.marketplace)}
            if t.scope == "sku":
                tiers = {p.tier for p in self.products_of_sku.get(t.scope_value, ())}
            tiers -= {None}
            return tiers.pop() if len(tiers) == 1 else None
        return None

    def tiering(self) -> list[Finding]:
        out = []
        for r in self.rows:
            t = r.target
            if t.kpi in GROWTH and t.direction == "higher" and self.is_clearance_scope(t):
                asins = self.clearance_asins(self.markets(t.marketplace), t)
                sums = [self.ev.asin_sums(mk, t.scope, t.scope_value) for mk in self.markets(t.marketplace)]
                known = [x["fulfillable_units"] for x in sums if x.get("fulfillable_units") is not None]
                stock = f"{sum(known):,.0f}" if known else "—"
                out.append(Finding("medium", t.marketplace, t.owner, self.kpi(t.kpi), self.scope_text(t),
                                   self.t("clearance_growth", owner=t.owner, kpi=self.kpi(t.kpi),
                                          margin=self.kpi("net_margin")),
                                   self.t("ev_clearance", target=self.value(t.kpi, t.target),
                                          actual=self.value(t.kpi, r.actual), asins=_list(asins),
                                          stock=stock), key="clearance_growth"))
        # the same target value on new and mature scopes
        groups: dict[tuple[str, str, float], dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
        for r in self.rows:
            tier = self.tier_of_target(r.target)
            if tier in ("new", "mature"):
                groups[(r.target.kpi, r.target.marketplace, r.target.target)][tier].append(r)
        for (kpi, mk, value), by in groups.items():
            if len(by) == 2:
                rs = by["new"] + by["mature"]
                owners = ", ".join(dict.fromkeys(r.target.owner for r in rs))
                out.append(Finding("medium", mk, owners, self.kpi(kpi), ", ".join(self.scope_text(r.target) for r in rs),
                                   self.t("one_target_same", owners=owners, kpi=self.kpi(kpi),
                                          target=self.value(kpi, value)),
                                   self.t("ev_rows", rows=", ".join(str(r.target.row) for r in rs)), key="one_target_same"))
        # one ratio target over new and mature ASINs whose actuals differ widely
        tiered = {(r.target.kpi, r.target.marketplace) for r in self.rows
                  if self.tier_of_target(r.target) in ("new", "mature")}
        for r in self.rows:
            t = r.target
            meta = CATALOG[t.kpi]
            if meta.den is None or t.scope not in ("account", "category", "owner") or (t.kpi, t.marketplace) in tiered:
                continue
            vals = {tier: self._tier_actual(t, tier) for tier in ("new", "mature")}
            a, b = vals["new"], vals["mature"]
            if a is None or b is None or max(abs(a), abs(b)) == 0:
                continue
            gap = abs(a - b) / max(abs(a), abs(b))
            if gap > TIER_GAP:
                out.append(Finding("medium", t.marketplace, t.owner, self.kpi(t.kpi), self.scope_text(t),
                                   self.t("one_target_gap", owner=t.owner, kpi=self.kpi(t.kpi),
                                          target=self.value(t.kpi, t.target)),
                                   self.t("ev_tier_gap", new=self.value(t.kpi, a), mature=self.value(t.kpi, b),
                                          pct=f"{gap:.0%}", target=self.value(t.kpi, t.target)), key="one_target_gap"))
        return out

    def _tier_actual(self, t: Target, tier: str) -> float | None:
        """A ratio KPI over the tier's ASINs inside a category / owner scope."""
        meta = CATALOG[t.kpi]
        num = den = 0.0
        seen = False
        for mk in self.markets(t.marketplace):
            sub = self.ev.asin_rows(mk, t.scope, t.scope_value)
            sub = sub[sub["tier"] == tier]
            if sub.empty or meta.num not in sub or meta.den not in sub:
                continue
            if sub[meta.num].notna().any() and sub[meta.den].notna().any():
                num += float(sub[meta.num].sum())
                den += float(sub[meta.den].sum())
                seen = True
        return num / den if seen and den > 0 else None

    # 6. no customer-experience KPI
    def no_cx(self) -> list[Finding]:
        if not self.rows:
            return []
        if any(CATALOG[r.target.kpi].kind == "cx" and r.target.weight > 0 for r in self.rows):
            return []
        kinds: dict[str, int] = defaultdict(int)
        for r in self.rows:
            if r.target.weight > 0:
                kinds[CATALOG[r.target.kpi].kind] += 1
        cx = [k for k, m in CATALOG.items() if m.kind == "cx"][:5]
        return [Finding("medium", "", "", "", "", self.t("no_cx", examples=", ".join(self.kpi(k) for k in cx)),
                        self.t("ev_kinds", kinds=", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))), key="no_cx")]

    # 7. attribution of a GMV miss
    def attribution(self) -> list[Finding]:
        out = []
        for r in self.rows:
            t = r.target
            if t.kpi != "gmv" or t.direction != "higher" or r.manual or not r.actual or not r.projected_actual:
                continue
            paced = t.target * r.actual / r.projected_actual
            if r.actual >= paced or paced <= 0:
                continue
            out.append(self.attribute(r, paced))
        return out

    def _scope_sums(self, ev: Evaluator, t: Target) -> tuple[float, float, float, float]:
        s = u = g = a = 0.0
        for mk in self.markets(t.marketplace):
            x = ev.sums(mk, t.scope, t.scope_value)
            s += x.get("sessions") or 0.0
            u += x.get("units") or 0.0
            g += x.get("gmv") or 0.0
            a += x.get("ad_spend") or 0.0
        return s, u, g, a

    def attribute(self, r: Row, paced: float) -> Finding:
        t = r.target
        mks = self.markets(t.marketplace)
        sev = "high" if r.status == "off track" else "medium"
        S, U, G, ads = self._scope_sums(self.ev, t)
        G = r.actual or G
        base = self.same_days_last_period()
        c0 = p0 = None
        ads0 = None
        if base is not None:
            period0, ev0 = base
            S0, U0, G0, A0 = self._scope_sums(ev0, t)
            if min(S0, U0, G0) > 0:
                c0, p0, ads0 = U0 / S0, G0 / U0, A0
                basis = self.t("basis_last_period", period=period0.label, start=_iso(period0.start),
                               end=_iso(period0.end))
        if c0 is None:
            cvr_t = next((x.target for x in self.rows if x.target.kpi == "cvr" and x.target.marketplace == t.marketplace
                          and x.target.scope == t.scope and x.target.scope_value == t.scope_value), None)
            if cvr_t and cvr_t.target > 0 and S > 0 and U > 0:
                c0, p0 = cvr_t.target, G / U
                basis = self.t("basis_cvr_target", row=cvr_t.row, cvr=self.value("cvr", c0))
            elif S > 0 and U > 0:
                c0, p0 = U / S, G / U
                basis = self.t("basis_own_mix")
        if c0 is None or S <= 0 or U <= 0 or G <= 0:
            return Finding(sev, t.marketplace, t.owner, self.kpi("gmv"), self.scope_text(t),
                           self.t("miss_no_split", owner=t.owner, kpi=self.kpi("gmv"),
                                  gap=_fmt_signed_money(r.actual - paced, self.cur)),
                           self.t("ev_miss_no_split", actual=_fmt_money(r.actual, self.cur),
                                  paced=_fmt_money(paced, self.cur), sessions=f"{S:,.0f}", units=f"{U:,.0f}"), key="miss_no_split")
        s0 = paced / (c0 * p0)
        d = decompose(S, U, G, s0, s0 * c0, paced)
        gap, es, ec, ep = rounded_effects(d)
        # lost sales on stockout days
        lost_total, named = 0.0, []
        for mk, asin in self.stockouts(mks, t):
            est = self.lost_sales(mk, asin)
            if est is None:
                named.append(self.t("asin_out_unknown", asin=asin))
                continue
            if est[1] == 0:
                named.append(self.t("asin_out_now", asin=asin))
                continue
            lost_total += est[0]
            named.append(self.t("asin_out", asin=asin, days=est[1], lost=_fmt_money(est[0], self.cur)))
        drivers = {"driver_sessions": es, "driver_cvr": ec, "driver_price": ep, "driver_stockouts": -lost_total}
        worst = min(drivers, key=lambda k: drivers[k])
        ad_change = (self.t("ad_change", change=_fmt_signed_money(ads - ads0, self.cur),
                            now=_fmt_money(ads, self.cur), before=_fmt_money(ads0, self.cur))
                     if ads0 is not None else self.t("ad_now", now=_fmt_money(ads, self.cur)))
        stock = (self.t("stockout_lost", lost=_fmt_money(lost_total, self.cur), asins="; ".join(named))
                 if named else self.t("stockout_none"))
        finding = self.t("miss", owner=t.owner, kpi=self.kpi("gmv"), mk=t.marketplace,
                         gap=_fmt_signed_money(gap, self.cur), actual=_fmt_money(r.actual, self.cur),
                         paced=_fmt_money(paced, self.cur), sessions=_fmt_signed_money(es, self.cur),
                         cvr=_fmt_signed_money(ec, self.cur), price=_fmt_signed_money(ep, self.cur),
                         stockouts=stock, ads=ad_change, driver=self.t(worst))
        evidence = self.t("ev_miss", sessions=f"{S:,.0f}", sessions0=f"{s0:,.0f}", cvr=_fmt_pct(U / S),
                          cvr0=_fmt_pct(c0), price=f"{G / U:,.2f}", price0=f"{p0:,.2f}", cur=self.cur,
                          basis=basis, es=f"{es:,.2f}", ec=f"{ec:,.2f}", ep=f"{ep:,.2f}", gap=f"{gap:,.2f}")
        return Finding(sev, t.marketplace, t.owner, self.kpi("gmv"), self.scope_text(t), finding, evidence, key="miss")

    # 8. data lag
    def data_lag(self) -> list[Finding]:
        out = []
        period = self.settings.period
        for mk in self.settings.marketplaces:
            d = self.facts.data_through.get(mk)
            owners = ", ".join(dict.fromkeys(r.target.owner for r in self.rows if mk in self.markets(r.target.marketplace)))
            if d is None:
                if period.start < self.today:
                    out.append(Finding("high", mk, owners, "", "", self.t("no_data", mk=mk, period=period.label),
                                       self.t("ev_no_data", today=_iso(self.today)), key="no_data"))
                continue
            behind = (self.today - d).days
            if d < period.end and behind > LAG_DAYS:
                out.append(Finding("high", mk, owners, "", "",
                                   self.t("data_lag", mk=mk, through=_iso(d), days=behind, limit=LAG_DAYS),
                                   self.t("ev_lag", through=_iso(d), today=_iso(self.today), days=behind), key="data_lag"))
            have = self.facts.families.get(mk, set())
            need: dict[str, list[str]] = defaultdict(list)
            for r in self.rows:
                if mk not in self.markets(r.target.marketplace) or r.manual:
                    continue
                for fam in _families_for(r.target.kpi):
                    if r.target.kpi not in need[fam]:
                        need[fam].append(r.target.kpi)
            for fam, kpis in need.items():
                if fam not in have:
                    out.append(Finding("medium", mk, owners, ", ".join(self.kpi(k) for k in kpis), "",
                                       self.t("source_missing", mk=mk, report=self.t(f"family_{fam}"),
                                              period=period.label, kpis=", ".join(self.kpi(k) for k in kpis)),
                                       self.t("ev_families", have=", ".join(sorted(have)) or "—"), key="source_missing"))
        return out

    # 9. calendar
    def calendar(self) -> list[Finding]:
        out = []
        period = self.settings.period
        for e in self.inputs.calendar:
            if e.end < period.start or e.start > period.end:
                continue
            for mk in self.markets(e.marketplace) if e.marketplace == "ALL" else [e.marketplace]:
                if mk not in self.settings.marketplaces:
                    continue
                d = self.facts.data_through.get(mk)
                share = self.ev.share.get(mk, 0.0)
                plain = ((min(d, period.end) - period.start).days + 1) / len(period.days) if d else 0.0
                owners = ", ".join(dict.fromkeys(r.target.owner for r in self.rows
                                                 if mk in self.markets(r.target.marketplace)
                                                 and CATALOG[r.target.kpi].additive))
                key = "calendar_ahead" if d is None or e.start > d else "calendar_done"
                out.append(Finding("info", mk, owners, "", "",
                                   self.t(key, event=e.event, start=_iso(max(e.start, period.start)),
                                          end=_iso(min(e.end, period.end)), mult=f"{e.multiplier:g}", mk=mk),
                                   self.t("ev_calendar", share=_fmt_pct(share), plain=_fmt_pct(plain),
                                          through=_iso(d)), key=key))
        return out

    # ------------------------------------------------------------------------------------------------------
    # Target Suggestions
    # ------------------------------------------------------------------------------------------------------
    def suggestions(self) -> list[list[Any]]:
        out: list[list[Any]] = []
        growth = self.settings.growth
        for r in self.rows:
            t = r.target
            meta = CATALOG[t.kpi]
            if t.scope != "account" or not meta.additive or meta.num is None:
                continue
            mks = self.markets(t.marketplace)
            weights, basis = self._history_weights(meta.num, mks)
            if not weights:
                continue
            w = {k: v * (1 if self.tier_of.get(k, "unassigned") == "clearance" else 1 + growth)
                 for k, v in weights.items()}
            total = sum(w.values())
            if total <= 0:
                continue
            note = self.t("basis_growth", basis=basis, growth=_fmt_pct(growth))
            attr = self._asin_attr
            tiers: dict[str, float] = defaultdict(float)
            owners: dict[str, float] = defaultdict(float)
            for k, v in w.items():
                tiers[attr(k, "tier") or "unassigned"] += v
                owners[attr(k, "owner")] += v
            for tier, v in sorted(tiers.items(), key=lambda x: -x[1]):
                extra = self.t("basis_no_growth") if tier == "clearance" else ""
                out.append([t.row, t.marketplace, self.kpi(t.kpi), _round(t.target), "tier", tier, "",
                            _round(v / total, 4), _round(t.target * v / total, 2), note + extra])
                if tier == "clearance":
                    out.extend(self._clearance_rows(t, mks))
            for owner, v in sorted(owners.items(), key=lambda x: -x[1]):
                out.append([t.row, t.marketplace, self.kpi(t.kpi), _round(t.target), "owner", owner, owner,
                            _round(v / total, 4), _round(t.target * v / total, 2), note])
            for k, v in sorted(w.items(), key=lambda x: -x[1]):
                if v <= 0:
                    continue
                extra = self.t("basis_no_growth") if self.tier_of.get(k) == "clearance" else ""
                out.append([t.row, k[0], self.kpi(t.kpi), _round(t.target), "asin", k[1], attr(k, "owner"),
                            _round(v / total, 4), _round(t.target * v / total, 2), note + extra])
        return out

    def _asin_attr(self, key: tuple[str, str], col: str) -> str:
        if self._attrs is None:
            self._attrs = self.facts.asin[["tier", "owner"]].to_dict("index") if len(self.facts.asin) else {}
        row = self._attrs.get(key)
        return str(row[col]) if row is not None else ""

    def _history_weights(self, metric: str, mks: list[str]) -> tuple[dict[tuple[str, str], float], str]:
        """Per (marketplace, ASIN): the metric over the last 3 periods, each scaled by this period's calendar
        weight over that period's (so a Prime Day month counts for what it was); else this period's."""
        acc: dict[tuple[str, str], float] = defaultdict(float)
        used = []
        for n in range(1, HISTORY_PERIODS + 1):
            f = self.prior(n)
            if f is None or f.asin.empty or metric not in f.asin:
                continue
            prev = self.settings.period.previous(n)
            got = False
            for (mk, asin), v in f.asin[metric].items():
                if mk in mks and v == v and v > 0:
                    acc[(mk, asin)] += float(v) * self.weight_total(self.settings.period, mk) / self.weight_total(prev, mk)
                    got = True
            if got:
                used.append(prev.label)
        if acc:
            return dict(acc), self.t("basis_history", periods=", ".join(reversed(used)), n=len(used))
        a = self.facts.asin
        if a.empty or metric not in a:
            return {}, ""
        cur = {k: float(v) for k, v in a[metric].items() if k[0] in mks and v == v and v > 0}
        return cur, self.t("basis_current", period=self.settings.period.label)

    def _clearance_rows(self, t: Target, mks: list[str]) -> list[list[Any]]:
        """Clearance ASINs get margin and sell-through, not growth."""
        rows = []
        margin = self.ev.evaluate(dataclasses.replace(t, kpi="net_margin", scope="tier", scope_value="clearance",
                                                      direction="higher")).actual
        if margin is not None:
            rows.append([t.row, t.marketplace, self.kpi("net_margin"), None, "tier", "clearance", "", None,
                         _round(max(margin, 0.0), 4),
                         self.t("basis_margin", now=self.value("net_margin", margin))])
        sold = stock = projected = 0.0
        for mk in mks:
            sub = self.ev.asin_rows(mk, "tier", "clearance")
            if sub.empty:
                continue
            u = float(sub["units"].fillna(0).sum())
            sold += u
            stock += float(sub["fulfillable_units"].fillna(0).sum())
            share = self.ev.share.get(mk, 0.0)
            projected += u / share if share > 0 else u
        if sold + stock > 0:
            now = sold / (sold + stock)
            pace = min(1.0, projected / (sold + stock))
            rows.append([t.row, t.marketplace, self.t("sell_through"), None, "tier", "clearance", "", None,
                         _round(max(pace, 1 / CLEAR_PERIODS), 4),
                         self.t("basis_sell_through", now=_fmt_pct(now), pace=_fmt_pct(pace),
                                periods=CLEAR_PERIODS, sold=f"{sold:,.0f}", stock=f"{stock:,.0f}")])
        return rows


def _families_for(kpi: str) -> list[str]:
    meta = CATALOG[kpi]
    if meta.special == "manual":
        return []
    if meta.special == "health":
        return ["health"]
    if meta.special == "inventory":
        return ["traffic", "inventory"]
    if meta.special == "margin":
        return ["traffic"]
    fams = []
    for m in (meta.num, meta.den):
        fam = METRIC_FAMILY.get(m or "")
        if fam and fam not in fams:
            fams.append(fam)
    return fams


def _list(items: Iterable[str], limit: int = 8) -> str:
    items = list(items)
    if not items:
        return "—"
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit})" if len(items) > limit else "")


# -- History -----------------------------------------------------------------------------------------------
def _as_date(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip()[:10])
        except ValueError:
            return v
    return v


HISTORY_MAX_ROWS = 200_000   # ≈ 2.6 M cells: well inside Google's 10 M per spreadsheet with the other tabs


def history_rows(previous: list[list[Any]] | None, rows: list[Row], period: str, today: dt.date,
                 width: int) -> list[list[Any]]:
    """Earlier History rows kept, this (period, as-of date)'s replaced by this sync's, sorted."""
    kept = []
    for raw in (previous or [])[GENERATED_HEADER_ROW:]:
        row = [*list(raw)[:width], *([None] * max(0, width - len(raw)))]
        if all(v in (None, "") for v in row):
            continue
        row[1] = _as_date(row[1])
        if str(row[0]) == period and row[1] == today:
            continue
        kept.append(row)
    new = [[period, today, r.target.row, r.target.owner, r.target.marketplace, r.target.kpi, r.target.scope,
            r.target.scope_value or None, _round(r.target.target), _round(r.actual), _round(r.attainment, 4),
            _round(r.projected_attainment, 4), r.status] for r in rows]

    def key(row: list[Any]) -> tuple:
        d = row[1]
        return (str(row[0] or ""), d.isoformat() if isinstance(d, dt.date) else str(d or ""),
                row[2] if isinstance(row[2], int | float) else math.inf)

    out = sorted(kept + new, key=key)
    if len(out) <= HISTORY_MAX_ROWS:
        return out
    # Too long for a spreadsheet: drop the oldest as-of dates whole (never this sync's rows).
    by_date: dict[Any, int] = {}
    for row in kept:
        by_date[row[1]] = by_date.get(row[1], 0) + 1
    drop, excess = set(), len(out) - HISTORY_MAX_ROWS
    for d in sorted(by_date, key=lambda d: d.isoformat() if isinstance(d, dt.date) else str(d or "")):
        if excess <= 0:
            break
        drop.add(d)
        excess -= by_date[d]
    return [row for row in out if row[1] not in drop or (str(row[0]) == period and row[1] == today)]


# -- the tabs ----------------------------------------------------------------------------------------------
def definitions(settings: Settings, data_through: dict[str, dt.date | None]) -> str:
    """The data definitions in force, in the Settings language."""
    lang = settings.language
    fx = ", ".join(f"{c} {r:g}/{settings.base_currency}" for c, r in sorted(settings.fx.items())) or _t("none", lang)
    through = ", ".join(f"{m} {d.isoformat() if d else _t('no_data_short', lang)}"
                        for m, d in sorted(data_through.items())) or _t("no_data_short", lang)
    p = settings.period
    return _t("definitions", lang, period=p.label, start=p.start.isoformat(), end=p.end.isoformat(),
              currency=settings.base_currency, fx=fx, tax=_t(f"tax_{settings.gmv_tax}", lang),
              refunds=_t(f"refunds_{settings.gmv_refunds}", lang), ads=settings.ads_attribution, through=through)


def commentary_tab(template: Template, review: Review, title: str) -> GeneratedTab:
    rows = [f.row() for f in review.findings()]
    return _tab(template, "Commentary", rows, title, review.settings, status_column="severity")


def review_tabs(template: Template, inputs: TeamInputs, facts: Facts, rows: list[Row], scores: list[OwnerScore],
                tables: dict[str, Any], today: dt.date, title: str,
                batches: list[ReportBatch] | None, ev: Evaluator | None = None) -> list[GeneratedTab]:
    """Commentary, Target Suggestions and History for one sync."""
    settings = inputs.settings
    review = Review(inputs, facts, rows, today, list(batches or []), ev)
    lang = settings.language
    defs = definitions(settings, facts.data_through)

    def head(note: str) -> str:
        return f"{defs} · {_t(note, lang)}"

    commentary = commentary_tab(template, review, head("note_commentary"))
    suggestions = _tab(template, "Target Suggestions", review.suggestions(), head("note_suggestions"), settings)
    hist_cols = template.tab("History").column_names
    history = _tab(template, "History", history_rows(tables.get("History"), rows, settings.period.label, today,
                                                     len(hist_cols)),
                   head("note_history"), settings, status_column="status")
    return [commentary, suggestions, history]


__all__ = ["Decomposition", "Finding", "Review", "decompose", "definitions", "fmt_value", "history_rows",
           "logmean", "review_tabs", "rounded_effects"]
