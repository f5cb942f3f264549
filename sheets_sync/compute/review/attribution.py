"""Finding 7: attribution of a GMV miss (sessions, CVR and price effects, stockout days, ad spend)."""

from __future__ import annotations

import datetime as dt

from ...inputs import Target
from ...stores import store
from ..attainment import Evaluator, Row
from .base import Finding, ReviewContext
from .decomposition import decompose, rounded_effects
from .text import _fmt_money, _fmt_pct, _fmt_signed_money, _iso


def paced_miss(r: Row) -> float | None:
    """The paced target of a GMV row below it (the rows this rule explains), else None."""
    t = r.target
    if t.kpi != "gmv" or t.direction != "higher" or r.manual or not r.actual or not r.projected_actual:
        return None
    paced = t.target * r.actual / r.projected_actual
    return None if r.actual >= paced or paced <= 0 else paced


def attribution(ctx: ReviewContext) -> list[Finding]:
    out = []
    for r in ctx.rows:
        paced = paced_miss(r)
        if paced is not None:
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
    if any(store(mk) != "amazon" for mk in mks):     # visits are not sessions: no sessions × CVR × price split
        only_walmart = all(store(mk) == "walmart" for mk in mks)   # page views, not sessions
        return Finding(sev, t.marketplace, t.owner, ctx.kpi("gmv"), ctx.scope_text(t),
                       ctx.t("miss_no_split_wm" if only_walmart else "miss_no_split_ml", owner=t.owner,
                             kpi=ctx.kpi("gmv"), mk=t.marketplace,
                             gap=_fmt_signed_money(r.actual - paced, ctx.cur)),
                       ctx.t("ev_miss_no_split_ml", actual=_fmt_money(r.actual, ctx.cur),
                             paced=_fmt_money(paced, ctx.cur)), key="miss_no_split_ml", target_row=t.row)
    S, U, G, ads = _scope_sums(ctx, ctx.ev, t)
    G = r.actual or G
    base = ctx.same_days_last_period()
    c0 = p0 = None
    ads0 = None
    lost_sessions = ""
    if base is not None:
        period0, ev0 = base
        S0, U0, G0, A0 = _scope_sums(ctx, ev0, t)
        if min(S0, U0, G0) > 0:
            c0, p0 = U0 / S0, G0 / U0
            ads0, ad_days = _ads_same_days(ctx, t, period0, A0)
            lost_sessions = _sessions_losers(ctx, ev0, t)
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
    lost_total, named, out_now = 0.0, [], []
    for mk, asin in ctx.stockouts(mks, t):
        est = ctx.lost_sales(mk, asin)
        if est is None:
            named.append(ctx.t("asin_out_unknown", asin=asin))
            continue
        if est[1] == 0:
            out_now.append(asin)
            named.append(ctx.t("asin_out_now", asin=asin))
            continue
        lost_total += est[0]
        named.append(ctx.t("asin_out", asin=asin, days=est[1], lost=_fmt_money(est[0], ctx.cur)))
    drivers = {"driver_sessions": es, "driver_cvr": ec, "driver_price": ep, "driver_stockouts": -lost_total}
    worst = min(drivers, key=lambda k: drivers[k])
    if ads0 is not None:
        (s1, e1), (s0_, e0) = ad_days
        ad_change = ctx.t("ad_change_days", change=_fmt_signed_money(ads - ads0, ctx.cur),
                          now=_fmt_money(ads, ctx.cur), before=_fmt_money(ads0, ctx.cur), start=_iso(s1),
                          end=_iso(e1), start0=_iso(s0_), end0=_iso(e0))
    else:
        ad_change = ctx.t("ad_now", now=_fmt_money(ads, ctx.cur))
    if not named:
        stock = ctx.t("stockout_none")
    elif lost_total > 0:
        stock = ctx.t("stockout_lost", lost=_fmt_money(lost_total, ctx.cur), asins="; ".join(named))
    else:   # out of stock now, nothing lost yet: no "about 0.00 lost"
        # every named ASIN is out of stock now with no day lost: the sentence says so once
        stock = ctx.t("stockout_no_loss", asins="; ".join(out_now if len(out_now) == len(named) else named))
    finding = ctx.t("miss", owner=t.owner, kpi=ctx.kpi("gmv"), mk=t.marketplace,
                     gap=_fmt_signed_money(gap, ctx.cur), actual=_fmt_money(r.actual, ctx.cur),
                     paced=_fmt_money(paced, ctx.cur), sessions=_fmt_signed_money(es, ctx.cur),
                     cvr=_fmt_signed_money(ec, ctx.cur), price=_fmt_signed_money(ep, ctx.cur),
                     stockouts=stock, ads=ad_change, driver=ctx.t(worst)) + lost_sessions
    evidence = ctx.t("ev_miss", sessions=f"{S:,.0f}", sessions0=f"{s0:,.0f}", cvr=_fmt_pct(U / S),
                      cvr0=_fmt_pct(c0), price=f"{G / U:,.2f}", price0=f"{p0:,.2f}", cur=ctx.cur,
                      basis=basis, es=f"{es:,.2f}", ec=f"{ec:,.2f}", ep=f"{ep:,.2f}", gap=f"{gap:,.2f}")
    return Finding(sev, t.marketplace, t.owner, ctx.kpi("gmv"), ctx.scope_text(t), finding, evidence, key="miss",
                   target_row=t.row)


def _ads_same_days(ctx: ReviewContext, t: Target, period0, ads0: float
                   ) -> tuple[float | None, tuple[tuple, tuple]]:
    """Last period's ad spend over the same days as this period's ad data. Ads reports can run later (or end
    earlier) than the traffic data that sets data_through; the ad-spend change then compares the ads' own
    days with as many days of last period, never 12 days with 10."""
    mks = ctx.markets(t.marketplace)
    start = ctx.settings.period.start
    ads_end = ctx.family_through(mks, "ads")
    if ads_end is None:
        return None, ((start, start), (start, start))
    k = (ads_end - start).days + 1
    if period0.end == period0.start + dt.timedelta(days=k - 1):
        return ads0, ((start, ads_end), (period0.start, period0.end))
    base = ctx.same_days_last_period(k)
    if base is None:
        return None, ((start, ads_end), (period0.start, period0.end))
    p1, ev1 = base
    return _scope_sums(ctx, ev1, t)[3], ((start, ads_end), (p1.start, p1.end))


def _sessions_losers(ctx: ReviewContext, ev0: Evaluator, t: Target, top: int = 3) -> str:
    """A sentence naming the ASINs that lost the most sessions against the same days of last period."""
    change: dict[tuple[str, str], float] = {}
    for mk in ctx.markets(t.marketplace):
        now = ctx.ev.asin_rows(mk, t.scope, t.scope_value)
        before = ev0.asin_rows(mk, t.scope, t.scope_value)
        for frame, sign in ((now, 1.0), (before, -1.0)):
            if frame.empty or "sessions" not in frame:
                continue
            for (m, a), v in frame["sessions"].fillna(0).items():
                change[(m, a)] = change.get((m, a), 0.0) + sign * float(v)
    losers = sorted(((k, v) for k, v in change.items() if v < 0), key=lambda x: x[1])[:top]
    if not losers:
        return ""
    names = ctx.t("list_sep").join(f"{ctx.asin_name(m, a, t.marketplace == 'ALL')} {v:+,.0f}" for (m, a), v in losers)
    return ctx.t("sentence_sep") + ctx.t("miss_sessions_asins", asins=names)
