"""The design review of the targets themselves (kpis.md findings 1–6): outcome only, conflicting KPIs, not
controllable, unrealistic vs benchmark or history, no tiering, no customer-experience KPI."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ...inputs import Target
from ...kpis import CAMPAIGN_SCOPES, CATALOG
from ..attainment import Row
from .base import (
    CONFLICT_WEIGHT,
    COST,
    FBA_MAJORITY,
    GROWTH,
    HISTORY_PERIODS,
    LOOSER_BENCHMARK,
    LOOSER_HISTORY,
    REACH,
    STRICTER,
    TIER_GAP,
    Finding,
    ReviewContext,
)
from .text import _fmt_pct, _list


def _weighted(ctx: ReviewContext) -> list[Row]:
    """The rows that count in a score: a weight-0 KPI is not reviewed as if it counted."""
    return [r for r in ctx.rows if r.target.weight > 0]


def _owner_rows(ctx: ReviewContext) -> dict[str, list[Row]]:
    by: dict[str, list[Row]] = defaultdict(list)
    for r in ctx.rows:
        by[r.target.owner].append(r)
    return by

def _weights(ctx: ReviewContext, rs: list[Row]) -> str:
    """An owner's normalised weights, one entry per KPI (rows of the same KPI in several marketplaces or
    scopes are added together, so no KPI is listed twice)."""
    total = sum(r.target.weight for r in rs) or 1.0
    by_kpi: dict[str, float] = {}
    for r in rs:
        by_kpi[r.target.kpi] = by_kpi.get(r.target.kpi, 0.0) + r.target.weight
    return ", ".join(f"{ctx.kpi(k)} {w / total:.0%}" for k, w in by_kpi.items())

def _mk_join(ctx: ReviewContext, rs: Iterable[Row]) -> str:
    mks = []
    for r in rs:
        if r.target.marketplace not in mks:
            mks.append(r.target.marketplace)
    return ", ".join(mks)

# 1. outcome only
def outcome_only(ctx: ReviewContext) -> list[Finding]:
    out = []
    for owner, rs in _owner_rows(ctx).items():
        weighted = [r for r in rs if r.target.weight > 0]
        if weighted and all(CATALOG[r.target.kpi].kind == "outcome" for r in weighted):
            out.append(Finding("medium", _mk_join(ctx, weighted), owner, "", "",
                               ctx.t("outcome_only", owner=owner, n=len(weighted)),
                               ctx.t("ev_weights", weights=_weights(ctx, weighted)), key="outcome_only"))
    return out

def conflict_reach_cost(ctx: ReviewContext) -> list[Finding]:
    """2a. one owner pushing reach up and cost down, both weighted."""
    out = []
    for owner, rs in _owner_rows(ctx).items():
        total = sum(r.target.weight for r in rs)
        if total <= 0:
            continue
        reach = [r for r in rs if r.target.kpi in REACH and r.target.direction == "higher"
                 and r.target.weight / total >= CONFLICT_WEIGHT]
        cost = [r for r in rs if r.target.kpi in COST and r.target.direction == "lower"
                and r.target.weight / total >= CONFLICT_WEIGHT]
        if reach and cost:
            both = reach + cost
            ev = "; ".join(ctx.t("ev_weight_att", kpi=ctx.kpi(r.target.kpi), share=f"{r.target.weight / total:.0%}",
                                  target=ctx.value(r.target.kpi, r.target.target),
                                  actual=ctx.value(r.target.kpi, r.actual)) for r in both)
            out.append(Finding("high", _mk_join(ctx, both), owner, ", ".join(ctx.kpi(r.target.kpi) for r in both), "",
                               ctx.t("conflict_reach_cost", owner=owner,
                                      reach=", ".join(ctx.kpi(r.target.kpi) for r in reach),
                                      cost=", ".join(ctx.kpi(r.target.kpi) for r in cost),
                                      share=f"{CONFLICT_WEIGHT:.0%}"), ev, key="conflict_reach_cost"))
    return out


def conflict_clearance(ctx: ReviewContext) -> list[Finding]:
    """2b. gmv growth and net margin on a clearance scope."""
    out = []
    growth = [r for r in ctx.rows if ctx.is_clearance_scope(r.target) and r.target.kpi in GROWTH
              and r.target.direction == "higher"]
    margin = [r for r in ctx.rows if ctx.is_clearance_scope(r.target) and r.target.kpi == "net_margin"]
    for g in growth:
        ms = [m for m in margin if set(ctx.markets(m.target.marketplace)) & set(ctx.markets(g.target.marketplace))]
        if not ms:
            continue
        both = [g, *ms]
        owners = ", ".join(dict.fromkeys(r.target.owner for r in both))
        asins = ctx.clearance_asins(ctx.markets(g.target.marketplace), g.target)
        ev = "; ".join(ctx.t("ev_target_actual", kpi=ctx.kpi(r.target.kpi), target=ctx.value(r.target.kpi, r.target.target),
                              actual=ctx.value(r.target.kpi, r.actual)) for r in both)
        out.append(Finding("high", _mk_join(ctx, both), owners, f"{ctx.kpi(g.target.kpi)}, {ctx.kpi('net_margin')}",
                           ctx.scope_text(g.target),
                           ctx.t("conflict_clearance", owners=owners, kpi=ctx.kpi(g.target.kpi),
                                  margin=ctx.kpi("net_margin"), asins=_list(asins)), ev, key="conflict_clearance"))
    return out


def conflict_cover_stockout(ctx: ReviewContext) -> list[Finding]:
    """2c. low days of cover together with zero stockouts."""
    out = []
    covers = [r for r in ctx.rows if r.target.kpi == "days_of_cover" and r.target.direction == "lower"]
    zeros = [r for r in ctx.rows if r.target.kpi == "stockout_asins" and r.target.target == 0]
    for c in covers:
        zs = [z for z in zeros if set(ctx.markets(z.target.marketplace)) & set(ctx.markets(c.target.marketplace))]
        if not zs:
            continue
        both = [c, *zs]
        owners = ", ".join(dict.fromkeys(r.target.owner for r in both))
        outs = ctx.stockouts(ctx.markets(c.target.marketplace))
        ev = "; ".join(ctx.t("ev_target_actual", kpi=ctx.kpi(r.target.kpi), target=ctx.value(r.target.kpi, r.target.target),
                              actual=ctx.value(r.target.kpi, r.actual)) for r in both)
        if outs:
            ev += "; " + ctx.t("ev_out_of_stock", asins=_list(f"{m} {a}" for m, a in outs))
        out.append(Finding("high", _mk_join(ctx, both), owners,
                           f"{ctx.kpi('days_of_cover')}, {ctx.kpi('stockout_asins')}",
                           ctx.scope_text(c.target),
                           ctx.t("conflict_cover_stockout", owners=owners, cover=ctx.kpi("days_of_cover"),
                                  stockouts=ctx.kpi("stockout_asins"), days=ctx.value("days_of_cover", c.target.target)),
                           ev, key="conflict_cover_stockout"))
    return out

# 3. not controllable
def not_controllable(ctx: ReviewContext) -> list[Finding]:
    out = []
    for r in _weighted(ctx):
        t = r.target
        meta = CATALOG[t.kpi]
        mks = ctx.markets(t.marketplace)
        fba = ctx.fba_share(mks) if meta.fbm_only else None
        controls = ", ".join(meta.controls)
        if fba is not None and fba[0] >= FBA_MAJORITY:
            ev = ctx.t("ev_fba", mk=t.marketplace, share=_fmt_pct(fba[0]), fba=f"{fba[1]:,.0f}",
                        units=f"{fba[2]:,.0f}", role=t.role or "—", controls=controls)
            out.append(Finding("high", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                               ctx.t("not_controllable_fba", owner=t.owner, role=t.role or "—",
                                      kpi=ctx.kpi(t.kpi), mk=t.marketplace, share=_fmt_pct(fba[0])), ev, key="not_controllable_fba"))
        elif t.role and t.role not in meta.controls:
            out.append(Finding("high", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                               ctx.t("not_controllable", owner=t.owner, role=t.role, kpi=ctx.kpi(t.kpi),
                                      controls=controls),
                               ctx.t("ev_role", row=t.row, role=t.role, controls=controls,
                                      weight=f"{t.weight:g}"), key="not_controllable"))
    return out

# 4. unrealistic vs benchmark or the last 3 periods' best
def benchmark_for(ctx: ReviewContext, t: Target) -> tuple[float, str] | None:
    """The Benchmarks value a target is compared with; None for a campaign, ad-group, portfolio or agent target
    (a category's typical ACoS says nothing about a brand-defence campaign; the campaign review judges those)."""
    if t.scope in CAMPAIGN_SCOPES or t.scope == "agent":
        return None
    cats: list[str] = []
    if t.scope == "category":
        cats.append(t.scope_value.lower())
    elif t.scope == "asin":
        cats += sorted(ctx.categories_of_asin.get(t.scope_value.upper(), ()))
    elif t.scope == "sku":
        cats += sorted({p.category.lower() for p in ctx.products_of_sku.get(t.scope_value, ()) if p.category})
    cats.append("")

    def pick(mk: str) -> Any:
        for cat in cats:
            b = ctx.benchmark_index.get((t.kpi, mk, cat))
            if b is not None:
                return b
        return None

    b = pick(t.marketplace) if t.marketplace != "ALL" else None
    if b is None and t.marketplace == "ALL":
        b = pick("ALL")
        if b is None:
            parts = [(mk, pick(mk)) for mk in ctx.settings.marketplaces]
            parts = [(mk, x) for mk, x in parts if x is not None]
            if parts:
                mean = sum(x.benchmark for _, x in parts) / len(parts)
                src = ", ".join(f"{mk} {ctx.value(t.kpi, x.benchmark)}" for mk, x in parts)
                return mean, ctx.t("bench_mean", parts=src)
    elif b is None:
        b = pick("ALL")
    if b is None:
        return None
    typed = " ".join(x for x in (b.category, b.source) if x)      # what the team typed: quoted, as typed
    return b.benchmark, f'"{typed}"' if typed else b.marketplace

def stricter(target: float, ref: float, direction: str) -> float | None:
    """How much stricter the target is than ``ref`` (0.4 = 40 % stricter); None when not comparable."""
    if ref <= 0:
        return None
    return target / ref - 1 if direction == "higher" else 1 - target / ref

def period_actual(ctx: ReviewContext, t: Target, n: int) -> tuple[float, str] | None:
    """The row's KPI over the n-th previous period when the reports cover all of it (additive KPIs rescaled to
    this period's Calendar-weighted days), with that period's label."""
    meta = CATALOG[t.kpi]
    if meta.special in ("manual", "health"):
        return None
    ev = ctx.prior_evaluator(n)
    if ev is None:
        return None
    prev = ctx.settings.period.previous(n)
    mks = ctx.markets(t.marketplace)
    if any((ev.facts.data_through.get(mk) or dt.date.min) < prev.end for mk in mks):
        return None
    r = ev.evaluate(t)
    if r.actual is None:
        return None
    actual = r.actual
    if meta.additive:
        actual = sum(v * ctx.weight_total(ctx.settings.period, mk) / ctx.weight_total(prev, mk)
                     for mk, v in r.per_marketplace.items())
    return actual, prev.label


def history_best(ctx: ReviewContext, t: Target) -> tuple[float, str, int] | None:
    """The best actual of the last 3 complete periods (additive KPIs calendar-adjusted to this period)."""
    best: tuple[float, str] | None = None
    n_used = 0
    for n in range(1, HISTORY_PERIODS + 1):
        got = period_actual(ctx, t, n)
        if got is None:
            continue
        n_used += 1
        if best is None or (got[0] > best[0] if t.direction == "higher" else got[0] < best[0]):
            best = got
    return (best[0], best[1], n_used) if best else None


def unrealistic(ctx: ReviewContext) -> list[Finding]:
    out = []
    for r in _weighted(ctx):
        t = r.target
        bm = benchmark_for(ctx, t)
        if bm is not None:
            s = stricter(t.target, bm[0], t.direction)
            if s is not None and s > STRICTER:
                out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                                   ctx.t("unrealistic_benchmark", owner=t.owner, kpi=ctx.kpi(t.kpi),
                                          target=ctx.value(t.kpi, t.target), bench=ctx.value(t.kpi, bm[0]),
                                          pct=f"{s:.0%}", limit=f"{STRICTER:.0%}"),
                                   ctx.t("ev_benchmark", target=ctx.value(t.kpi, t.target),
                                          bench=ctx.value(t.kpi, bm[0]), source=bm[1],
                                          actual=ctx.value(t.kpi, r.actual), pct=f"{s:.0%}"), key="unrealistic_benchmark",
                                   target_row=t.row))
        hb = history_best(ctx, t)
        if hb is not None:
            s = stricter(t.target, hb[0], t.direction)
            if s is not None and s > STRICTER:
                one = hb[2] == 1       # "the last 1 periods" reads wrong: one period is "last period"
                key = "unrealistic_history_one" if one else "unrealistic_history"
                out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                                   ctx.t(key, owner=t.owner, kpi=ctx.kpi(t.kpi),
                                          target=ctx.value(t.kpi, t.target), best=ctx.value(t.kpi, hb[0]),
                                          n=hb[2], pct=f"{s:.0%}", limit=f"{STRICTER:.0%}") if not one else
                                   ctx.t(key, owner=t.owner, kpi=ctx.kpi(t.kpi), target=ctx.value(t.kpi, t.target),
                                          best=ctx.value(t.kpi, hb[0]), pct=f"{s:.0%}", limit=f"{STRICTER:.0%}"),
                                   ctx.t("ev_history_one" if one else "ev_history", best=ctx.value(t.kpi, hb[0]),
                                          period=hb[1], target=ctx.value(t.kpi, t.target), pct=f"{s:.0%}",
                                          **({} if one else {"n": hb[2]})), key=key, target_row=t.row))
    return out


def looser(target: float, ref: float, direction: str) -> float | None:
    """How much looser the target is than ``ref`` (0.25 = 25 % looser); None when not comparable."""
    if ref <= 0:
        return None
    return 1 - target / ref if direction == "higher" else target / ref - 1


def too_easy(ctx: ReviewContext) -> list[Finding]:
    """4b. A target looser than the benchmark by more than 20 %, or than last period's actual by more than 30 %:
    the bonus pays for what happens anyway."""
    out = []
    for r in _weighted(ctx):
        t = r.target
        bm = benchmark_for(ctx, t)
        if bm is not None:
            x = looser(t.target, bm[0], t.direction)
            if x is not None and x > LOOSER_BENCHMARK:
                out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                                   ctx.t("too_easy_benchmark", owner=t.owner, kpi=ctx.kpi(t.kpi),
                                          target=ctx.value(t.kpi, t.target), bench=ctx.value(t.kpi, bm[0]),
                                          pct=f"{x:.0%}", limit=f"{LOOSER_BENCHMARK:.0%}"),
                                   ctx.t("ev_too_easy_benchmark", target=ctx.value(t.kpi, t.target),
                                          bench=ctx.value(t.kpi, bm[0]), source=bm[1],
                                          actual=ctx.value(t.kpi, r.actual), pct=f"{x:.0%}"),
                                   key="too_easy_benchmark", target_row=t.row))
        last = period_actual(ctx, t, 1)
        if last is not None:
            x = looser(t.target, last[0], t.direction)
            if x is not None and x > LOOSER_HISTORY:
                out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                                   ctx.t("too_easy_history", owner=t.owner, kpi=ctx.kpi(t.kpi),
                                          target=ctx.value(t.kpi, t.target), last=ctx.value(t.kpi, last[0]),
                                          period=last[1], pct=f"{x:.0%}", limit=f"{LOOSER_HISTORY:.0%}"),
                                   ctx.t("ev_too_easy_history", last=ctx.value(t.kpi, last[0]), period=last[1],
                                          target=ctx.value(t.kpi, t.target), pct=f"{x:.0%}"),
                                   key="too_easy_history", target_row=t.row))
    return out

# 5. no tiering
def tier_of_target(ctx: ReviewContext, t: Target) -> str | None:
    if t.scope == "tier":
        return t.scope_value.lower()
    if t.scope in ("asin", "sku"):
        tiers = {ctx.tier_of.get((mk, t.scope_value.upper())) if t.scope == "asin" else None
                 for mk in ctx.markets(t.marketplace)}
        if t.scope == "sku":
            tiers = {p.tier for p in ctx.products_of_sku.get(t.scope_value, ())}
        tiers -= {None}
        return tiers.pop() if len(tiers) == 1 else None
    return None

def clearance_growth(ctx: ReviewContext) -> list[Finding]:
    """5a. a growth target on clearance ASINs."""
    out = []
    for r in _weighted(ctx):
        t = r.target
        if t.kpi in GROWTH and t.direction == "higher" and ctx.is_clearance_scope(t):
            asins = ctx.clearance_asins(ctx.markets(t.marketplace), t)
            sums = [ctx.ev.asin_sums(mk, t.scope, t.scope_value) for mk in ctx.markets(t.marketplace)]
            known = [x["fulfillable_units"] for x in sums if x.get("fulfillable_units") is not None]
            stock = f"{sum(known):,.0f}" if known else "—"
            out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                               ctx.t("clearance_growth", owner=t.owner, kpi=ctx.kpi(t.kpi),
                                      margin=ctx.kpi("net_margin")),
                               ctx.t("ev_clearance", target=ctx.value(t.kpi, t.target),
                                      actual=ctx.value(t.kpi, r.actual), asins=_list(asins),
                                      stock=stock), key="clearance_growth"))
    return out


def one_target_same(ctx: ReviewContext) -> list[Finding]:
    """5b. the same target value on new and mature scopes."""
    out = []
    groups: dict[tuple[str, str, float], dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in _weighted(ctx):
        tier = tier_of_target(ctx, r.target)
        if tier in ("new", "mature"):
            groups[(r.target.kpi, r.target.marketplace, r.target.target)][tier].append(r)
    for (kpi, mk, value), by in groups.items():
        if len(by) == 2:
            rs = by["new"] + by["mature"]
            owners = ", ".join(dict.fromkeys(r.target.owner for r in rs))
            out.append(Finding("medium", mk, owners, ctx.kpi(kpi), ", ".join(ctx.scope_text(r.target) for r in rs),
                               ctx.t("one_target_same", owners=owners, kpi=ctx.kpi(kpi),
                                      target=ctx.value(kpi, value)),
                               ctx.t("ev_rows", rows=", ".join(str(r.target.row) for r in rs)), key="one_target_same"))
    return out


def one_target_gap(ctx: ReviewContext) -> list[Finding]:
    """5c. one ratio target over new and mature ASINs whose actuals differ widely."""
    out = []
    tiered = {(r.target.kpi, r.target.marketplace) for r in ctx.rows
              if tier_of_target(ctx, r.target) in ("new", "mature")}
    for r in _weighted(ctx):
        t = r.target
        meta = CATALOG[t.kpi]
        if meta.den is None or t.scope not in ("account", "category", "owner") or (t.kpi, t.marketplace) in tiered:
            continue
        vals = {tier: _tier_actual(ctx, t, tier) for tier in ("new", "mature")}
        a, b = vals["new"], vals["mature"]
        if a is None or b is None or max(abs(a), abs(b)) == 0:
            continue
        gap = abs(a - b) / max(abs(a), abs(b))
        if gap > TIER_GAP:
            out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                               ctx.t("one_target_gap", owner=t.owner, kpi=ctx.kpi(t.kpi),
                                      target=ctx.value(t.kpi, t.target)),
                               ctx.t("ev_tier_gap", new=ctx.value(t.kpi, a), mature=ctx.value(t.kpi, b),
                                      pct=f"{gap:.0%}", target=ctx.value(t.kpi, t.target)), key="one_target_gap"))
    return out

def _tier_actual(ctx: ReviewContext, t: Target, tier: str) -> float | None:
    """A ratio KPI over the tier's ASINs inside a category / owner scope."""
    meta = CATALOG[t.kpi]
    num = den = 0.0
    seen = False
    for mk in ctx.markets(t.marketplace):
        sub = ctx.ev.asin_rows(mk, t.scope, t.scope_value)
        sub = sub[sub["tier"] == tier]
        if sub.empty or meta.num not in sub or meta.den not in sub:
            continue
        if sub[meta.num].notna().any() and sub[meta.den].notna().any():
            num += float(sub[meta.num].sum())
            den += float(sub[meta.den].sum())
            seen = True
    return num / den if seen and den > 0 else None

# 6. no customer-experience KPI
def no_cx(ctx: ReviewContext) -> list[Finding]:
    if not ctx.rows:
        return []
    if any(CATALOG[r.target.kpi].kind == "cx" and r.target.weight > 0 for r in ctx.rows):
        return []
    kinds: dict[str, int] = defaultdict(int)
    for r in ctx.rows:
        if r.target.weight > 0:
            kinds[CATALOG[r.target.kpi].kind] += 1
    cx = [k for k, m in CATALOG.items() if m.kind == "cx"][:5]
    return [Finding("medium", "", "", "", "", ctx.t("no_cx", examples=", ".join(ctx.kpi(k) for k in cx)),
                    ctx.t("ev_kinds", kinds=", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))), key="no_cx")]
