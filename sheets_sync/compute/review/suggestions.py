"""Target Suggestions: a proposed split of each account-level target over tiers, owners and ASINs."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

from ...inputs import Target
from ...kpis import CATALOG
from ..values import clean
from .base import CLEAR_PERIODS, HISTORY_PERIODS, ReviewContext
from .text import _fmt_pct


def suggestions(ctx: ReviewContext) -> list[list[Any]]:
    out: list[list[Any]] = []
    growth = ctx.settings.growth
    for r in ctx.rows:
        t = r.target
        meta = CATALOG[t.kpi]
        if t.scope != "account" or not meta.additive or meta.num is None:
            continue
        mks = ctx.markets(t.marketplace)
        weights, basis = _history_weights(ctx, meta.num, mks)
        if not weights:
            continue
        w = {k: v * (1 if ctx.tier_of.get(k, "unassigned") == "clearance" else 1 + growth)
             for k, v in weights.items()}
        total = sum(w.values())
        if total <= 0:
            continue
        note = ctx.t("basis_growth", basis=basis, growth=_fmt_pct(growth))
        def attr(k: tuple[str, str], col: str) -> str:
            return _asin_attr(ctx, k, col)

        tiers: dict[str, float] = defaultdict(float)
        owners: dict[str, float] = defaultdict(float)
        for k, v in w.items():
            tiers[attr(k, "tier") or "unassigned"] += v
            owners[attr(k, "owner")] += v
        for tier, v in sorted(tiers.items(), key=lambda x: -x[1]):
            extra = ctx.t("basis_no_growth") if tier == "clearance" else ""
            out.append([t.row, t.marketplace, ctx.kpi(t.kpi), clean(t.target), "tier", tier, "",
                        clean(v / total), clean(t.target * v / total), note + extra])
            if tier == "clearance":
                out.extend(_clearance_rows(ctx, t, mks))
        for owner, v in sorted(owners.items(), key=lambda x: -x[1]):
            out.append([t.row, t.marketplace, ctx.kpi(t.kpi), clean(t.target), "owner", owner, owner,
                        clean(v / total), clean(t.target * v / total), note])
        for k, v in sorted(w.items(), key=lambda x: -x[1]):
            if v <= 0:
                continue
            extra = ctx.t("basis_no_growth") if ctx.tier_of.get(k) == "clearance" else ""
            out.append([t.row, k[0], ctx.kpi(t.kpi), clean(t.target), "asin", k[1], attr(k, "owner"),
                        clean(v / total), clean(t.target * v / total), note + extra])
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
