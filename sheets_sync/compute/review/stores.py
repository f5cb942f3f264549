"""Mexico's two stores side by side: when a sales KPI in Mexico (Amazon MX, Mercado Libre or MX-ALL) misses,
say how each store moved against the same days of last period, and which SKUs sold on both stores moved from
one to the other (e.g. an Amazon MX stockout whose buyers bought on Mercado Libre)."""

from __future__ import annotations

import pandas as pd

from ...kpis import CATALOG
from ..attainment import Evaluator, Row
from .base import Finding, ReviewContext
from .text import _fmt_money, _fmt_signed_money

KPIS = ("gmv", "units", "orders")
MEXICO = ("MX", "MLM", "MX-ALL")
TOP = 3


def _per_sku(ev: Evaluator, mk: str, r: Row, metric: str) -> pd.Series:
    t = r.target
    scope, value = t.scope, t.scope_value
    if scope == "asin":           # the same product on the other store is found by its SKU
        own = ev.asin_rows(t.marketplace if t.marketplace in ("MX", "MLM") else mk, "asin", value)
        skus = set(own["sku"].astype(str)) if len(own) else set()
        sub = ev.asin_rows(mk, "account", "")
        sub = sub[sub["sku"].astype(str).isin(skus)] if len(sub) else sub
    else:
        sub = ev.asin_rows(mk, scope, value)
    if sub.empty or metric not in sub:
        return pd.Series(dtype=float)
    return sub.groupby(sub["sku"].astype(str))[metric].sum(min_count=1).fillna(0.0)


def _stockout_moves(ctx: ReviewContext) -> list[tuple[float, str, str, int]]:
    """(extra units on Mercado Libre, Amazon ASIN, SKU, days out) for each Amazon MX ASIN out of stock at the
    end of the period whose SKU Mercado Libre also sells: the listing's units on those days minus its usual
    pace (its daily average before them) × the days."""
    out: list[tuple[float, str, str, int]] = []
    ml_by_sku: dict[str, list[str]] = {}
    a = ctx.facts.asin
    if len(a) and "MLM" in a.index.get_level_values(0):
        for asin, sku in a.loc["MLM"]["sku"].astype(str).items():
            if sku:
                ml_by_sku.setdefault(sku, []).append(asin)
    through = ctx.facts.data_through.get("MLM")
    ml_daily = ctx.daily_units("MLM")
    if through is None or ml_daily.empty:
        return out
    for mk, asin in ctx.stockouts(["MX"]):
        est = ctx.lost_sales(mk, asin)
        sku = str(a.loc[(mk, asin), "sku"]) if (mk, asin) in a.index else ""
        if not est or est[1] <= 0 or sku not in ml_by_sku:
            continue
        n = est[1]
        days = [d for d in ctx.settings.period.days if d <= min(through, ctx.facts.data_through.get("MX") or through)]
        during, before = days[-n:], days[:-n]
        if not before:
            continue
        units = {d: sum(float(ml_daily.get((x, d), 0.0) or 0.0) for x in ml_by_sku[sku]) for d in days}
        extra = sum(units[d] for d in during) - sum(units[d] for d in before) / len(before) * n
        if extra > 0:
            out.append((extra, asin, sku, n))
    return sorted(out, reverse=True)


def store_shift(ctx: ReviewContext) -> list[Finding]:
    if not {"MX", "MLM"} <= set(ctx.settings.marketplaces):
        return []
    rows = [r for r in ctx.rows if r.target.kpi in KPIS and r.target.marketplace in MEXICO
            and r.status in ("off track", "at risk")]
    if not rows:
        return []
    same = ctx.same_days_last_period()
    if same is None:
        return []
    prev_period, prev_ev = same
    stock_moves = _stockout_moves(ctx)
    out = []
    for r in rows:
        t = r.target
        metric = CATALOG[t.kpi].num
        now = {mk: _per_sku(ctx.ev, mk, r, metric) for mk in ("MX", "MLM")}
        before = {mk: _per_sku(prev_ev, mk, r, metric) for mk in ("MX", "MLM")}
        change = {mk: now[mk].sub(before[mk], fill_value=0.0) for mk in ("MX", "MLM")}
        total = {mk: float(change[mk].sum()) for mk in ("MX", "MLM")}
        shared = sorted(set(change["MX"].index) & set(change["MLM"].index) - {""})
        moved = []
        for sku in shared:
            a, b = float(change["MX"][sku]), float(change["MLM"][sku])
            if a < 0 < b or b < 0 < a:
                amount = min(abs(a), abs(b))
                src, dst = ("MX", "MLM") if a < 0 else ("MLM", "MX")
                moved.append((amount, sku, src, dst))
        if not moved and not stock_moves and total["MX"] * total["MLM"] >= 0:
            continue
        moved.sort(reverse=True)
        fmt = (lambda x: _fmt_signed_money(x, ctx.cur)) if CATALOG[t.kpi].unit == "money" else (
            lambda x: f"{x:+,.0f}".replace("-", "−"))
        plain = (lambda x: _fmt_money(x, ctx.cur)) if CATALOG[t.kpi].unit == "money" else (lambda x: f"{x:,.0f}")
        items = ctx.t("list_sep").join(
            ctx.t("store_shift_item", sku=sku, amount=plain(amount), from_store=ctx.t(f"store_{src}"),
                  to_store=ctx.t(f"store_{dst}")) for amount, sku, src, dst in moved[:TOP])
        text = ctx.t("store_shift", owner=t.owner, kpi=ctx.kpi(t.kpi), mk=t.marketplace, period=prev_period.label,
                     mx=fmt(total["MX"]), ml=fmt(total["MLM"]))
        if moved:
            text += ctx.t("store_shift_moved", items=items)
        for extra, asin, sku, n in stock_moves[:TOP]:
            text += ctx.t("store_shift_stockout", asin=asin, days=n, sku=sku, extra=f"{extra:,.0f}")
        text += ctx.t("sentence_sep") + ctx.t("act_store_shift")
        ev = ctx.t("ev_store_shift", kpi=ctx.kpi(t.kpi), mx_now=plain(float(now["MX"].sum())),
                   mx_before=plain(float(before["MX"].sum())), ml_now=plain(float(now["MLM"].sum())),
                   ml_before=plain(float(before["MLM"].sum())))
        out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t), text, ev,
                           key="store_shift", target_row=t.row))
    return out
