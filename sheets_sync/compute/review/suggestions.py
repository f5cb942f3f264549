"""Target Suggestions: a proposed split of each account-level target over tiers, owners and ASINs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Any

from ...inputs import Target
from ...kpis import CATALOG
from ...periods import _MONTH, Period, parse_period
from ..attainment import Row
from ..values import clean
from .base import CLEAR_PERIODS, HISTORY_PERIODS, ReviewContext
from .campaigns import campaign_split
from .text import _fmt_pct


def next_period(p: Period) -> Period:
    """The period after ``p`` (months step by calendar month, other periods by their length)."""
    if _MONTH.match(p.label):
        y, m = (p.start.year, p.start.month + 1) if p.start.month < 12 else (p.start.year + 1, 1)
        return parse_period(f"{y:04d}-{m:02d}")
    length = (p.end - p.start).days + 1
    start = p.end + dt.timedelta(days=1)
    end = start + dt.timedelta(days=length - 1)
    return Period(f"{start.isoformat()}..{end.isoformat()}", start, end)


def next_target(ctx: ReviewContext, r: Row) -> tuple[float, str] | None:
    """Next period's target for an account-level additive KPI, per marketplace:
    rate = (Σ actuals of the complete earlier periods among the last 3 + this period's projection)
           ÷ (Σ their Calendar-weighted days);
    next = rate × next period's Calendar-weighted days × (1 + growth), summed over the row's marketplaces."""
    t = r.target
    nxt = next_period(ctx.settings.period)
    growth = ctx.settings.growth
    total, used, seasons = 0.0, [], []
    for mk in ctx.markets(t.marketplace):
        value = weight = 0.0
        share = ctx.ev.share.get(mk, 0.0)
        now = r.per_marketplace.get(mk)
        if now is not None and share > 0:
            value += now / share
            weight += ctx.weight_total(ctx.settings.period, mk)
            used.append(ctx.settings.period.label)
        for n in range(1, HISTORY_PERIODS + 1):
            ev = ctx.prior_evaluator(n)
            prev = ctx.settings.period.previous(n)
            if ev is None or (ev.facts.data_through.get(mk) or dt.date.min) < prev.end:
                continue
            x = ev.evaluate(dataclasses.replace(t, marketplace=mk)).actual
            if x is None:
                continue
            value += x
            weight += ctx.weight_total(prev, mk)
            used.append(prev.label)
        if weight <= 0:
            continue
        w_next = ctx.weight_total(nxt, mk)
        total += value / weight * w_next * (1 + growth)
        seasons.append(f"{mk} {w_next:g}")
    if not used:
        return None
    periods = ", ".join(sorted(set(used)))
    basis = ctx.t("next_basis", period=nxt.label, basis=ctx.t("basis_history", periods=periods,
                                                                n=len(set(used))),
                  growth=_fmt_pct(growth), season=", ".join(seasons), days=", ".join(seasons),
                  days0=ctx.settings.period.label)
    return total, basis


def suggestions(ctx: ReviewContext) -> list[list[Any]]:
    """Per account-level target of an additive KPI: next period's target (one ``account`` row that states the
    basis), then its split over tiers, owners and ASINs (each group states its basis once). ``ctx.suggestion_units``
    gets each row's KPI unit, for the number formats."""
    out: list[list[Any]] = []
    units: list[str] = []
    growth = ctx.settings.growth
    nxt = next_period(ctx.settings.period)
    for r in ctx.rows:
        t = r.target
        meta = CATALOG[t.kpi]
        if t.kpi in ("acos", "roas"):        # ratios: split over campaigns only (an additive KPI gets it below)
            more, kinds = campaign_split(ctx, r, nxt.label)
            out += more
            units += kinds
        if t.scope != "account" or not meta.additive or meta.num is None:
            continue
        mks = ctx.markets(t.marketplace)
        suggested = next_target(ctx, r)
        if suggested is None:
            continue
        goal, goal_basis = suggested
        weights, basis = _history_weights(ctx, meta.num, mks)
        w = {k: v * (1 if ctx.tier_of.get(k, "unassigned") == "clearance" else 1 + growth)
             for k, v in weights.items()}
        total = sum(w.values())
        out.append([t.row, t.marketplace, ctx.kpi(t.kpi), clean(t.target), "account", None, None, 1.0,
                    clean(goal), goal_basis, nxt.label])
        units.append(meta.unit)
        if total <= 0:
            continue
        note = ctx.t("next_split", period=nxt.label, basis=ctx.t("basis_growth", basis=basis,
                                                                   growth=_fmt_pct(growth)))

        def attr(k: tuple[str, str], col: str) -> str:
            return _asin_attr(ctx, k, col)

        def once(first: bool, extra: str = "", note: str = note) -> str:
            return (note if first else "") + extra

        tiers: dict[str, float] = defaultdict(float)
        owners: dict[str, float] = defaultdict(float)
        for k, v in w.items():
            tiers[attr(k, "tier") or "unassigned"] += v
            owners[attr(k, "owner")] += v
        for i, (tier, v) in enumerate(sorted(tiers.items(), key=lambda x: -x[1])):
            extra = ctx.t("basis_no_growth") if tier == "clearance" else ""
            out.append([t.row, t.marketplace, ctx.kpi(t.kpi), clean(t.target), "tier", tier, "",
                        clean(v / total), clean(goal * v / total), once(i == 0, extra), nxt.label])
            units.append(meta.unit)
            if tier == "clearance":
                for row in _clearance_rows(ctx, t, mks):
                    out.append([*row, nxt.label])
                    units.append("percent")
        for i, (owner, v) in enumerate(sorted(owners.items(), key=lambda x: -x[1])):
            out.append([t.row, t.marketplace, ctx.kpi(t.kpi), clean(t.target), "owner", owner, owner,
                        clean(v / total), clean(goal * v / total), once(i == 0), nxt.label])
            units.append(meta.unit)
        first = True
        for k, v in sorted(w.items(), key=lambda x: -x[1]):
            if v <= 0:
                continue
            extra = ctx.t("basis_no_growth") if ctx.tier_of.get(k) == "clearance" else ""
            out.append([t.row, k[0], ctx.kpi(t.kpi), clean(t.target), "asin", k[1], attr(k, "owner"),
                        clean(v / total), clean(goal * v / total), once(first, extra), nxt.label])
            units.append(meta.unit)
            first = False
        more, kinds = campaign_split(ctx, r, nxt.label, goal)
        out += more
        units += kinds
    ctx.suggestion_units = units
    return out


def _asin_attr(ctx: ReviewContext, key: tuple[str, str], col: str) -> str:
    if ctx._attrs is None:
        ctx._attrs = ctx.facts.asin[["tier", "owner"]].to_dict("index") if len(ctx.facts.asin) else {}
    row = ctx._attrs.get(key)
    return str(row[col]) if row is not None else ""

def _history_weights(ctx: ReviewContext, metric: str, mks: list[str]) -> tuple[dict[tuple[str, str], float], str]:
    """Per (marketplace, ASIN): the metric over the last 3 periods, each scaled by this period's calendar
    weight over that period's (so a Prime Day month counts for what it was); else this period's."""
    acc: dict[tuple[str, str], float] = defaultdict(float)
    used = []
    for n in range(1, HISTORY_PERIODS + 1):
        f = ctx.prior(n)
        if f is None or f.asin.empty or metric not in f.asin:
            continue
        prev = ctx.settings.period.previous(n)
        got = False
        for (mk, asin), v in f.asin[metric].items():
            if mk in mks and v == v and v > 0:
                acc[(mk, asin)] += float(v) * ctx.weight_total(ctx.settings.period, mk) / ctx.weight_total(prev, mk)
                got = True
        if got:
            used.append(prev.label)
    if acc:
        return dict(acc), ctx.t("basis_history", periods=", ".join(reversed(used)), n=len(used))
    a = ctx.facts.asin
    if a.empty or metric not in a:
        return {}, ""
    cur = {k: float(v) for k, v in a[metric].items() if k[0] in mks and v == v and v > 0}
    return cur, ctx.t("basis_current", period=ctx.settings.period.label)

def _clearance_rows(ctx: ReviewContext, t: Target, mks: list[str]) -> list[list[Any]]:
    """Clearance ASINs get margin and sell-through, not growth."""
    rows = []
    margin = ctx.ev.evaluate(dataclasses.replace(t, kpi="net_margin", scope="tier", scope_value="clearance",
                                                  direction="higher")).actual
    if margin is not None:
        rows.append([t.row, t.marketplace, ctx.kpi("net_margin"), None, "tier", "clearance", "", None,
                     clean(max(margin, 0.0)),
                     ctx.t("basis_margin", now=ctx.value("net_margin", margin))])
    sold = stock = projected = 0.0
    for mk in mks:
        sub = ctx.ev.asin_rows(mk, "tier", "clearance")
        if sub.empty:
            continue
        u = float(sub["units"].fillna(0).sum())
        sold += u
        stock += float(sub["fulfillable_units"].fillna(0).sum())
        share = ctx.ev.share.get(mk, 0.0)
        projected += u / share if share > 0 else u
    if sold + stock > 0:
        now = sold / (sold + stock)
        pace = min(1.0, projected / (sold + stock))
        rows.append([t.row, t.marketplace, ctx.t("sell_through"), None, "tier", "clearance", "", None,
                     clean(max(pace, 1 / CLEAR_PERIODS)),
                     ctx.t("basis_sell_through", now=_fmt_pct(now), pace=_fmt_pct(pace),
                            periods=CLEAR_PERIODS, sold=f"{sold:,.0f}", stock=f"{stock:,.0f}")])
    return rows
