"""The shared context every review rule reads, the :class:`Finding` a rule returns, and the rule interface.

A rule is a function ``rule(ctx: ReviewContext) -> list[Finding]``; :data:`sheets_sync.compute.review.RULES`
lists them in the order their findings appear within a severity. Pure: no files, no environment, no network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ...frames import FAMILIES, ReportBatch
from ...i18n import t as _t
from ...inputs import Settings, Target, TeamInputs
from ...kpis import CAMPAIGN_SCOPES, CATALOG, label
from ...periods import Period
from ...stores import is_walmart, members
from ..actuals import Facts, build_facts
from ..attainment import Evaluator, Row, day_weights
from .text import fmt_value

SEVERITIES = ("high", "medium", "info")
HISTORY_PERIODS = 3            # "the last 3 periods"
STRICTER = 0.30                # a target stricter than the benchmark / best by more than this is unrealistic
LOOSER_BENCHMARK = 0.20       # a target looser than the benchmark by more than this is too easy
LOOSER_HISTORY = 0.30         # ... or looser than last period's actual by more than this
CONFLICT_WEIGHT = 0.20         # both sides of a conflict weigh at least this share of the owner's weights
LAG_DAYS = 2                   # data_through more than this many days behind today
FBA_MAJORITY = 0.5             # an account this FBA cannot be judged on merchant-fulfilled shipping
TIER_GAP = 0.30                # new vs mature ratio KPIs differing by more than this need tier targets
CLEAR_PERIODS = 3              # clearance stock should clear within this many periods
REACH = ("ad_impressions", "sessions")
COST = ("acos", "ad_spend")
GROWTH = ("gmv", "units", "orders", "sessions", "ad_sales")
TITLE_CHARS = 32              # how much of a product title a finding shows
METRIC_FAMILY: dict[str, str] = {}
for _fam, _metrics in FAMILIES.items():      # a metric two families supply belongs to the first (Amazon's)
    for _m in _metrics:
        METRIC_FAMILY.setdefault(_m, _fam)


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
    target_row: int | None = None  # the Targets row a finding explains, when it is about one (not shown)

    def row(self) -> list[Any]:
        return [self.severity, self.marketplace, self.owner, self.kpi, self.scope, self.finding, self.evidence]


Rule = Callable[["ReviewContext"], list[Finding]]


class ReviewContext:
    """What every rule reads: the team inputs, this period's facts and rows, earlier periods from the same
    batches (computed on first use, then cached), and helpers that name and format things."""

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
        self.suggestion_units: list[str] = []     # the unit of each Target Suggestions row (set by the rule)

    # -- helpers -----------------------------------------------------------------------------------------
    def t(self, key: str, **fmt: Any) -> str:
        return _t(key, self.lang, **fmt)

    def kpi(self, key: str) -> str:
        return label(key, self.lang)

    def metric(self, name: str) -> str:
        """A report measure (``ad_sales``, ``sessions`` …) as a sentence names it in the Settings language."""
        try:
            return _t(f"metric_{name}", self.lang)
        except KeyError:
            return name

    def markets(self, marketplace: str) -> list[str]:
        return members(marketplace, self.settings.marketplaces)

    def scope_text(self, t: Target) -> str:
        if t.scope in CAMPAIGN_SCOPES:      # the seller's own name for it, quoted as typed
            return f"{t.scope} “{t.scope_value}”"
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

    def family_through(self, mks: Iterable[str], family: str) -> dt.date | None:
        """The last day of this period with dated rows of a report family (e.g. ads) in these marketplaces."""
        period = self.settings.period
        last = None
        for b in self.batches:
            df = b.asin_rows
            if b.family != family or b.marketplace not in mks or df is None or df.empty or "date" not in df:
                continue
            d = pd.to_datetime(df["date"].dropna())
            if d.empty:
                continue
            d = d[(d >= pd.Timestamp(period.start)) & (d <= pd.Timestamp(period.end))]
            if not d.empty:
                x = d.max().date()
                last = x if last is None or x > last else last
        return last

    def same_days_last_period(self, days: int | None = None) -> tuple[Period, Evaluator] | None:
        """The first k days of the previous period, k = ``days`` or the days elapsed in this one (per the longest
        market)."""
        if not self.batches:
            return None
        k = days if days is not None else max(self.facts.elapsed_days.values(), default=0)
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

    def asin_name(self, mk: str, asin: str, with_mk: bool = False) -> str:
        """An ASIN as a finding names it: the ASIN and the start of its title (Products or the reports)."""
        titles = self.__dict__.get("_titles")
        if titles is None:
            a = self.facts.asin
            titles = self._titles = ({k: str(v or "").strip() for k, v in a["title"].items()}
                                     if len(a) and "title" in a else {})
        title = titles.get((mk, asin), "")
        if len(title) > TITLE_CHARS:
            title = title[:TITLE_CHARS - 1].rstrip() + "…"
        # a Walmart item by its listing name, its SKU after it; others by ASIN (or listing id) and title
        name = f"“{title}” ({asin})" if title and is_walmart(mk) else f"{asin} “{title}”" if title else asin
        return f"{mk} {name}" if with_mk else name

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
            first, last = pd.Timestamp(period.start), pd.Timestamp(period.end)
            parts: dict[str, list[pd.DataFrame]] = defaultdict(list)
            for b in self.batches:
                df = b.asin_rows
                if b.family != "traffic" or df is None or df.empty or "date" not in df or "units" not in df:
                    continue
                days = pd.to_datetime(df["date"]).dt.normalize()     # compared and grouped as datetime64
                keep = (days >= first) & (days <= last)               # (NaT is neither): no date objects per row
                if keep.any():
                    parts[b.marketplace].append(pd.DataFrame({"asin": df["asin"][keep], "date": days[keep],
                                                              "units": df["units"][keep]}))
            for m, ps in parts.items():
                s = pd.concat(ps, ignore_index=True).groupby(["asin", "date"])["units"].max()
                # the date level as datetime.date (a few dozen values, converted once)
                self._daily_units[m] = s.set_axis(s.index.set_levels(
                    pd.Index(s.index.levels[1].date, dtype=object), level="date"))
        return self._daily_units.get(mk, pd.Series(dtype=float))

    def _asin_days(self, mk: str, asin: str) -> dict | None:
        """{date: units} of one ASIN from :meth:`daily_units` (a binary search of its sorted index, not a scan
        of every (asin, date) row); None when the ASIN has no dated rows."""
        s = self.daily_units(mk)
        try:
            part = s.iloc[s.index.get_loc(asin)] if not s.empty else None
        except KeyError:
            return None
        if part is None:
            return None
        return dict(zip(part.index.get_level_values(-1), part.to_numpy().tolist(), strict=True))

    def lost_sales(self, mk: str, asin: str) -> tuple[float, int] | None:
        """(estimated sales lost, days out) for an out-of-stock ASIN; None without dated rows."""
        through = self.facts.data_through.get(mk)
        per_day = self._asin_days(mk, asin) if through is not None else None
        if per_day is None:
            return None
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
