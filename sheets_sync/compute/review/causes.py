"""Why a KPI is off: one finding per Targets row that is off track or at risk, at ASIN level where the data
allows (GMV misses have their own decomposition in :mod:`.attribution`). Every finding names the ASINs with
titles, quantifies each one's part, says what the owner can do, and its parts add up exactly.

* **Ratio KPIs** (ACoS, TACoS, ROAS, CPC, CTR, CVR, ad CVR, Buy Box %, AOV, return / refund rate, FBA share,
  net margin, unit logistics cost): R = Σn / Σd over the scope's ASINs. For the target T,
  R − T = Σᵢ (nᵢ − T·dᵢ) / Σd, so ASIN i's part is (nᵢ − T·dᵢ) / Σd — its share of the denominator times its
  own gap (dᵢ/Σd × (rᵢ − T)), defined even when dᵢ = 0. When the KPI's actual comes from account-level
  reports whose totals differ from the ASIN sums, the difference is shown as its own part, so the parts
  add up to actual − target. Net margin uses n = profit, d = sales per ASIN (``margin_parts``).
* **Volume KPIs** (units, orders, sessions, ad sales, ad spend, impressions …): each ASIN's change against the
  same days of last period; the changes add up to the scope's change. Without an earlier period the largest
  ASINs are named.
* **Days of cover / turnover**: with daily units rᵢ (units ÷ elapsed days), the stock the target allows is
  T·rᵢ (cover) or 365·rᵢ / T (turnover); an ASIN's excess is fulfillableᵢ − allowedᵢ units, and the excesses
  add up to the scope's. For days of cover the parts in days are excessᵢ / Σr (they add up to actual − T).
* **Stockouts**: each ASIN out of stock, with the days out and the sales lost (as in the GMV miss).
* **Account health**: the defect counts and orders of Amazon's window; manual KPIs: what Manual Actuals say.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ...kpis import CATALOG
from ..attainment import Row, margin_parts, top_return_reasons
from .attribution import paced_miss
from .base import Finding, ReviewContext
from .text import _fmt_money, _iso

CAUSE_STATUSES = ("off track", "at risk")
TOP_ASINS = 5
ACTIONS = {   # KPI → the catalog key of what the owner can do
    "acos": "act_ads", "tacos": "act_ads", "roas": "act_ads", "cpc": "act_ads", "ad_spend": "act_ad_spend",
    "ctr": "act_ctr", "ad_impressions": "act_ctr", "ad_cvr": "act_conversion", "cvr": "act_conversion",
    "buy_box_pct": "act_buy_box", "aov": "act_price", "return_rate": "act_returns", "refund_rate": "act_returns",
    "fba_share": "act_fba", "net_margin": "act_margin", "unit_logistics_cost": "act_logistics",
    "days_of_cover": "act_overstock", "inventory_turnover": "act_overstock", "stockout_asins": "act_stockout",
}


def causes(ctx: ReviewContext) -> list[Finding]:
    out = []
    for r in ctx.rows:
        if r.status not in CAUSE_STATUSES or r.actual is None:
            continue
        if paced_miss(r) is not None:      # a GMV miss: explained by its decomposition
            continue
        f = cause(ctx, r)
        if f is not None:
            out.append(f)
    return out


def cause(ctx: ReviewContext, r: Row) -> Finding | None:
    t = r.target
    meta = CATALOG[t.kpi]
    if r.manual or meta.special == "manual":
        return _simple(ctx, r, "cause_manual", action="act_manual")
    if meta.special == "health":
        return _health(ctx, r)
    if t.kpi == "stockout_asins":
        return _stockouts(ctx, r)
    if t.kpi in ("days_of_cover", "inventory_turnover"):
        return _excess_stock(ctx, r)
    frame = _scope_frame(ctx, t)
    if frame.empty:
        return _simple(ctx, r, "cause_no_asins", action=ACTIONS.get(t.kpi, "act_volume"))
    if t.kpi == "net_margin":
        m = _cached(ctx, "_margin_parts", lambda: margin_parts(ctx.facts)).reindex(frame.index)
        return _ratio(ctx, r, m["profit"], m["sales"], "profit", "sales")
    if t.kpi == "unit_logistics_cost":
        units = frame["units"].fillna(0).where(frame["unit_logistics_cost"].notna(), 0.0)
        return _ratio(ctx, r, units * frame["unit_logistics_cost"].fillna(0), units, "logistics_cost", "units")
    if meta.den:
        if meta.num not in frame or meta.den not in frame:
            return _simple(ctx, r, "cause_no_asins", action=ACTIONS.get(t.kpi, "act_volume"))
        return _ratio(ctx, r, frame[meta.num], frame[meta.den], meta.num, meta.den)
    if meta.num:
        return _volume(ctx, r, meta.num)
    return _simple(ctx, r, "cause_no_asins", action=ACTIONS.get(t.kpi, "act_volume"))


# -- helpers -------------------------------------------------------------------------------------------------
def _scope_frame(ctx: ReviewContext, t) -> pd.DataFrame:
    parts = [ctx.ev.asin_rows(mk, t.scope, t.scope_value) for mk in ctx.markets(t.marketplace)]
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts) if parts else pd.DataFrame()


def _sev(r: Row) -> str:
    return "high" if r.status == "off track" else "medium"


def _fmt_part(kpi: str, x: float, cur: str) -> str:
    """A KPI amount with its sign: percentage points for percent KPIs, money with the currency, else a number."""
    unit = CATALOG[kpi].unit
    if unit == "percent":
        return f"{x * 100:+.2f} pp"
    if unit == "money":
        return ("+" if x > 0 else "−" if x < 0 else "") + _fmt_money(abs(x), cur)
    if unit in ("count", "rank", "flag"):
        return f"{x:+,.0f}"
    return f"{x:+,.2f}"


def _finding(ctx: ReviewContext, r: Row, key: str, ev_key: str, action: str, fmt: dict[str, Any],
             ev: dict[str, Any]) -> Finding:
    t = r.target
    base = {"owner": t.owner, "kpi": ctx.kpi(t.kpi), "mk": t.marketplace, "actual": ctx.value(t.kpi, r.actual),
            "target": ctx.value(t.kpi, t.target)}
    text = ctx.t(key, **base, **fmt) + ctx.t("sentence_sep") + ctx.t(action)
    return Finding(_sev(r), t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t), text,
                   ctx.t(ev_key, **ev), key=key, target_row=t.row)


def _simple(ctx: ReviewContext, r: Row, key: str, action: str) -> Finding:
    return _finding(ctx, r, key, "ev_cause_simple", action, {"status": r.status},
                    {"row": r.target.row, "status": r.status, "note": r.note or "—"})


def _cached(ctx: ReviewContext, name: str, make):
    """A per-review cache for tables every row of a kind needs (computed once, not once per row)."""
    cache = ctx.__dict__.setdefault("_cause_cache", {})
    if name not in cache:
        cache[name] = make()
    return cache[name]


def _conversion_extras(ctx: ReviewContext, mk: str, asin: str) -> str:
    """What moves an ASIN's conversion: its Buy Box %, days out of stock, price change vs last period."""
    out = []
    a = ctx.facts.asin
    row = a.loc[(mk, asin)] if (mk, asin) in a.index else None
    if row is not None and row.get("page_views") and row.get("buy_box_views") == row.get("buy_box_views"):
        out.append(ctx.t("item_buy_box", pct=f"{float(row['buy_box_views']) / float(row['page_views']):.0%}"))
    if (mk, asin) in set(ctx.stockouts([mk])):
        est = ctx.lost_sales(mk, asin)
        if est is not None and est[1] > 0:
            out.append(ctx.t("item_out", days=est[1]))
    base = ctx.same_days_last_period()
    if base is not None and row is not None and row.get("units"):
        b = base[1].facts.asin
        if (mk, asin) in b.index and b.at[(mk, asin), "units"]:
            p, p0 = float(row["gmv"]) / float(row["units"]), float(b.at[(mk, asin), "gmv"]) / float(b.at[(mk, asin), "units"])
            if p0 > 0 and abs(p / p0 - 1) >= 0.005:
                out.append(ctx.t("item_price", change=f"{p / p0 - 1:+.1%}", period=base[0].label))
    return "".join(", " + x for x in out)


def _harm(direction: str, part: float) -> float:
    return part if direction == "lower" else -part


def _ratio(ctx: ReviewContext, r: Row, num: pd.Series, den: pd.Series, num_name: str,
           den_name: str) -> Finding:
    t = r.target
    n, d = num.astype(float).fillna(0.0), den.astype(float).fillna(0.0)
    total_d = float(d.sum())
    if total_d <= 0:
        return _simple(ctx, r, "cause_no_asins", action=ACTIONS.get(t.kpi, "act_volume"))
    parts = (n - t.target * d) / total_d
    gap = float(r.actual) - t.target
    residual = gap - float(parts.sum())                  # account-level reports vs ASIN sums
    harm = parts.map(lambda x: _harm(t.direction, x))
    top = harm[harm > 0].sort_values(ascending=False).index[:TOP_ASINS]
    reasons = _cached(ctx, "_return_reasons", lambda: top_return_reasons(ctx.facts)) \
        if t.kpi in ("return_rate", "refund_rate") else {}
    items = []
    for key in top:
        mk, asin = key
        own = n[key] / d[key] if d[key] else None
        extra = f", {reasons[key]}" if key in reasons else ""
        if t.kpi == "cvr":
            extra += _conversion_extras(ctx, mk, asin)
        items.append(ctx.t("cause_item", asin=ctx.asin_name(mk, asin, t.marketplace == "ALL"),
                           value=ctx.value(t.kpi, own) if own is not None else "—",
                           share=f"{d[key] / total_d:.1%}", den=den_name, part=_fmt_part(t.kpi, float(parts[key]),
                                                                                         ctx.cur)) + extra)
    others = gap - float(parts[top].sum()) if len(top) else gap
    fmt = {"gap": _fmt_part(t.kpi, gap, ctx.cur), "asins": ctx.t("list_sep").join(items) or "—",
           "others": _fmt_part(t.kpi, others, ctx.cur), "den": den_name}
    ev = {"num": num_name, "den": den_name, "n": int((d > 0).sum() + (n > 0).sum() - ((d > 0) & (n > 0)).sum()),
          "gap": _fmt_part(t.kpi, gap, ctx.cur), "account": _fmt_part(t.kpi, residual, ctx.cur),
          "target": ctx.value(t.kpi, t.target)}
    return _finding(ctx, r, "cause_ratio", "ev_cause_ratio", ACTIONS.get(t.kpi, "act_volume"), fmt, ev)


def _volume(ctx: ReviewContext, r: Row, metric: str) -> Finding:
    t = r.target
    base = ctx.same_days_last_period()
    now = _metric_by_asin(ctx.ev.asin_rows(mk, t.scope, t.scope_value) for mk in ctx.markets(t.marketplace))
    now = now.get(metric, pd.Series(dtype=float))
    proj = ctx.value(t.kpi, r.projected_actual)
    if base is None:
        top = now.sort_values(ascending=False).index[:TOP_ASINS]
        items = [f"{ctx.asin_name(mk, a, t.marketplace == 'ALL')} {ctx.value(t.kpi, float(now[(mk, a)]))}"
                 for mk, a in top]
        return _finding(ctx, r, "cause_volume_no_base", "ev_cause_volume_no_base",
                        ACTIONS.get(t.kpi, "act_volume"), {"projected": proj, "asins": ctx.t("list_sep").join(items) or "—"},
                        {"metric": metric, "total": ctx.value(t.kpi, float(now.sum()))})
    period0, ev0 = base
    before = _metric_by_asin(ev0.asin_rows(mk, t.scope, t.scope_value) for mk in ctx.markets(t.marketplace))
    before = before.get(metric, pd.Series(dtype=float))
    idx = now.index.union(before.index)
    change = now.reindex(idx, fill_value=0.0) - before.reindex(idx, fill_value=0.0)
    harm = change.map(lambda x: _harm(t.direction, x))
    top = harm[harm > 0].sort_values(ascending=False).index[:TOP_ASINS]
    items = [f"{ctx.asin_name(mk, a, t.marketplace == 'ALL')} {_fmt_part(t.kpi, float(change[(mk, a)]), ctx.cur)}"
             for mk, a in top]
    total = float(change.sum())
    others = total - float(change[top].sum()) if len(top) else total
    p = ctx.settings.period
    through = max((d for d in ctx.facts.data_through.values() if d), default=p.start)
    return _finding(ctx, r, "cause_volume", "ev_cause_volume", ACTIONS.get(t.kpi, "act_volume"),
                    {"projected": proj, "period": period0.label, "change": _fmt_part(t.kpi, total, ctx.cur),
                     "asins": ctx.t("list_sep").join(items) or "—", "others": _fmt_part(t.kpi, others, ctx.cur)},
                    {"metric": metric, "now": ctx.value(t.kpi, float(now.sum())),
                     "before": ctx.value(t.kpi, float(before.sum())), "start": _iso(p.start), "end": _iso(through),
                     "start0": _iso(period0.start), "end0": _iso(period0.end)})


def _metric_by_asin(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    a = pd.concat(frames)
    return a.select_dtypes("number").fillna(0.0)


def _excess_stock(ctx: ReviewContext, r: Row) -> Finding:
    t = r.target
    frame = _scope_frame(ctx, t)
    if frame.empty or "fulfillable_units" not in frame:
        return _simple(ctx, r, "cause_no_asins", action=ACTIONS[t.kpi])
    frame = frame[frame["fulfillable_units"].notna()]
    days = pd.Series([ctx.facts.elapsed_days.get(mk, 0) for mk in frame.index.get_level_values(0)],
                     index=frame.index, dtype=float)
    rate = (frame["units"].fillna(0) / days.where(days > 0)).fillna(0.0)
    stock = frame["fulfillable_units"].astype(float)
    allowed = rate * t.target if t.kpi == "days_of_cover" else (rate * 365 / t.target if t.target > 0 else stock)
    excess = stock - allowed
    harm = excess.map(lambda x: _harm(t.direction, x)) if t.kpi == "days_of_cover" else excess
    top = harm[harm > 0].sort_values(ascending=False).index[:TOP_ASINS]
    items = [ctx.t("cause_stock_item", asin=ctx.asin_name(mk, a, t.marketplace == "ALL"),
                   stock=f"{stock[(mk, a)]:,.0f}", per_day=f"{rate[(mk, a)]:,.1f}",
                   cover=f"{stock[(mk, a)] / rate[(mk, a)]:,.0f}" if rate[(mk, a)] > 0 else "∞",
                   units=f"{excess[(mk, a)]:+,.0f}") for mk, a in top]
    total = float(excess.sum())
    others = total - float(excess[top].sum()) if len(top) else total
    act = ACTIONS[t.kpi] if (t.kpi != "days_of_cover" or t.direction == "lower") else "act_reorder"
    total_rate = float(rate.sum())
    under = ""
    if t.kpi == "days_of_cover" and t.direction == "lower":
        # the other side: ASINs below the target's cover, and the units that would bring them up to it
        short = (-excess)[(excess < 0) & (rate > 0)].sort_values(ascending=False).index[:3]
        if len(short):
            under = ctx.t("sentence_sep") + ctx.t("cause_stock_under", asins=ctx.t("list_sep").join(
                f"{ctx.asin_name(mk, a, t.marketplace == 'ALL')} {-excess[(mk, a)]:,.0f}" for mk, a in short))
    f = _finding(ctx, r, "cause_stock", "ev_cause_stock", act,
                    {"units": f"{total:+,.0f}", "asins": ctx.t("list_sep").join(items) or "—", "others": f"{others:+,.0f}"},
                    {"formula": "T × units/day" if t.kpi == "days_of_cover" else "365 × units/day ÷ T",
                     "per_day": f"{total_rate:,.1f}", "stock": f"{float(stock.sum()):,.0f}",
                     "units": f"{total:+,.0f}"})
    f.finding += under
    return f


def _stockouts(ctx: ReviewContext, r: Row) -> Finding:
    t = r.target
    items, lost_total = [], 0.0
    outs = ctx.stockouts(ctx.markets(t.marketplace), t)
    for mk, asin in outs:
        est = ctx.lost_sales(mk, asin)
        name = ctx.asin_name(mk, asin, t.marketplace == "ALL")
        if est is None:
            items.append(ctx.t("asin_out_unknown", asin=name))
        elif est[1] == 0:
            items.append(ctx.t("asin_out_now", asin=name))
        else:
            lost_total += est[0]
            items.append(ctx.t("asin_out", asin=name, days=est[1], lost=_fmt_money(est[0], ctx.cur)))
    return _finding(ctx, r, "cause_stockouts", "ev_cause_stockouts", "act_stockout",
                    {"n": len(outs), "asins": ctx.t("list_sep").join(items) or "—"},
                    {"n": len(outs), "lost": _fmt_money(lost_total, ctx.cur) if lost_total > 0 else "—"})


def _health(ctx: ReviewContext, r: Row) -> Finding:
    t = r.target
    h = ctx.facts.health.get(t.marketplace, {}).get(t.kpi) or {}
    count, orders = h.get("count"), h.get("orders")
    window = f"{h['from']}..{h['to']}" if h.get("from") and h.get("to") else "—"
    allowed = None
    if orders:
        allowed = t.target * float(orders)
    return _finding(ctx, r, "cause_health", "ev_cause_health", "act_health",
                    {"count": "—" if count is None else f"{count:,.0f}",
                     "orders": "—" if orders is None else f"{orders:,.0f}", "window": window,
                     "allowed": "—" if allowed is None else f"{allowed:,.1f}"},
                    {"count": "—" if count is None else f"{count:,.0f}",
                     "orders": "—" if orders is None else f"{orders:,.0f}", "window": window})


__all__ = ["ACTIONS", "CAUSE_STATUSES", "cause", "causes"]
