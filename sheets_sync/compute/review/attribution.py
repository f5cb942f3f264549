"""Finding 7: attribution of a GMV miss (sessions, CVR and price effects, stockout days, ad spend)."""

from __future__ import annotations

from ...inputs import Target
from ..attainment import Evaluator, Row
from .base import Finding, ReviewContext
from .decomposition import decompose, rounded_effects
from .text import _fmt_money, _fmt_pct, _fmt_signed_money, _iso


def attribution(ctx: ReviewContext) -> list[Finding]:
    out = []
    for r in ctx.rows:
        t = r.target
        if t.kpi != "gmv" or t.direction != "higher" or r.manual or not r.actual or not r.projected_actual:
            continue
        paced = t.target * r.actual / r.projected_actual
        if r.actual >= paced or paced <= 0:
            continue
        out.append(attribute(ctx, r, paced))
    return out

def _scope_sums(ctx: ReviewContext, ev: Evaluator, t: Target) -> tuple[float, float, float, float]:
    s = u = g = a = 0.0
    for mk in ctx.markets(t.marketplace):
        x = ev.sums(mk, t.scope, t.scope_value)
        s += x.get("sessions") or 0.0
        u += x.get("units") or 0.0
        g += x.get("gmv") or 0.0
        a += x.get("ad_spend") or 0.0
    return s, u, g, a

def attribute(ctx: ReviewContext, r: Row, paced: float) -> Finding:
    t = r.target
    mks = ctx.markets(t.marketplace)
    sev = "high" if r.status == "off track" else "medium"
    S, U, G, ads = _scope_sums(ctx, ctx.ev, t)
    G = r.actual or G
    base = ctx.same_days_last_period()
    c0 = p0 = None
    ads0 = None
    if base is not None:
        period0, ev0 = base
        S0, U0, G0, A0 = _scope_sums(ctx, ev0, t)
        if min(S0, U0, G0) > 0:
            c0, p0, ads0 = U0 / S0, G0 / U0, A0
            basis = ctx.t("basis_last_period", period=period0.label, start=_iso(period0.start),
                           end=_iso(period0.end))
    if c0 is None:
        cvr_t = next((x.target for x in ctx.rows if x.target.kpi == "cvr" and x.target.marketplace == t.marketplace
                      and x.target.scope == t.scope and x.target.scope_value == t.scope_value), None)
        if cvr_t and cvr_t.target > 0 and S > 0 and U > 0:
            c0, p0 = cvr_t.target, G / U
            basis = ctx.t("basis_cvr_target", row=cvr_t.row, cvr=ctx.value("cvr", c0))
        elif S > 0 and U > 0:
            c0, p0 = U / S, G / U
            basis = ctx.t("basis_own_mix")
    if c0 is None or S <= 0 or U <= 0 or G <= 0:
        return Finding(sev, t.marketplace, t.owner, ctx.kpi("gmv"), ctx.scope_text(t),
                       ctx.t("miss_no_split", owner=t.owner, kpi=ctx.kpi("gmv"),
                              gap=_fmt_signed_money(r.actual - paced, ctx.cur)),
                       ctx.t("ev_miss_no_split", actual=_fmt_money(r.actual, ctx.cur),
                              paced=_fmt_money(paced, ctx.cur), sessions=f"{S:,.0f}", units=f"{U:,.0f}"), key="miss_no_split")
    s0 = paced / (c0 * p0)
    d = decompose(S, U, G, s0, s0 * c0, paced)
    gap, es, ec, ep = rounded_effects(d)
    # lost sales on stockout days
    lost_total, named = 0.0, []
    for mk, asin in ctx.stockouts(mks, t):
        est = ctx.lost_sales(mk, asin)
        if est is None:
            named.append(ctx.t("asin_out_unknown", asin=asin))
            continue
        if est[1] == 0:
            named.append(ctx.t("asin_out_now", asin=asin))
            continue
        lost_total += est[0]
        named.append(ctx.t("asin_out", asin=asin, days=est[1], lost=_fmt_money(est[0], ctx.cur)))
    drivers = {"driver_sessions": es, "driver_cvr": ec, "driver_price": ep, "driver_stockouts": -lost_total}
    worst = min(drivers, key=lambda k: drivers[k])
    ad_change = (ctx.t("ad_change", change=_fmt_signed_money(ads - ads0, ctx.cur),
                        now=_fmt_money(ads, ctx.cur), before=_fmt_money(ads0, ctx.cur))
                 if ads0 is not None else ctx.t("ad_now", now=_fmt_money(ads, ctx.cur)))
    stock = (ctx.t("stockout_lost", lost=_fmt_money(lost_total, ctx.cur), asins="; ".join(named))
             if named else ctx.t("stockout_none"))
    finding = ctx.t("miss", owner=t.owner, kpi=ctx.kpi("gmv"), mk=t.marketplace,
                     gap=_fmt_signed_money(gap, ctx.cur), actual=_fmt_money(r.actual, ctx.cur),
                     paced=_fmt_money(paced, ctx.cur), sessions=_fmt_signed_money(es, ctx.cur),
                     cvr=_fmt_signed_money(ec, ctx.cur), price=_fmt_signed_money(ep, ctx.cur),
                     stockouts=stock, ads=ad_change, driver=ctx.t(worst))
    evidence = ctx.t("ev_miss", sessions=f"{S:,.0f}", sessions0=f"{s0:,.0f}", cvr=_fmt_pct(U / S),
                      cvr0=_fmt_pct(c0), price=f"{G / U:,.2f}", price0=f"{p0:,.2f}", cur=ctx.cur,
                      basis=basis, es=f"{es:,.2f}", ec=f"{ec:,.2f}", ep=f"{ep:,.2f}", gap=f"{gap:,.2f}")
    return Finding(sev, t.marketplace, t.owner, ctx.kpi("gmv"), ctx.scope_text(t), finding, evidence, key="miss")
