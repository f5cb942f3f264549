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

import numpy as np
import pandas as pd

from ...frames import ADDITIVE_METRICS as ADDITIVE
from ...kpis import CAMPAIGN_SCOPES, CATALOG
from ...stores import GROUPS, store
from ..attainment import SCOPE_KEYS, Evaluator, Row, margin_parts, top_return_reasons
from .attribution import paced_miss
from .base import Finding, ReviewContext
from .campaigns import by_campaign, campaign_cause
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
    if t.scope in CAMPAIGN_SCOPES:
        return campaign_cause(ctx, r) or _simple(ctx, r, "cause_no_campaigns", action=ACTIONS.get(t.kpi, "act_volume"))
    tab, pos = _scope(ctx, t)
    if not len(pos):
        return _simple(ctx, r, "cause_no_asins", action=ACTIONS.get(t.kpi, "act_volume"))
    if t.kpi == "net_margin":
        m = _cached(ctx, "_margin_table", lambda: AsinTable(margin_parts(ctx.facts).reindex(ctx.facts.asin.index)))
        return _ratio(ctx, r, tab, pos, m.col("profit")[pos], m.col("sales")[pos], "profit", "sales")
    if t.kpi == "unit_logistics_cost":
        cost = tab.col("unit_logistics_cost")[pos]
        units = np.where(np.isnan(cost), 0.0, np.nan_to_num(tab.col("units")[pos]))
        return _ratio(ctx, r, tab, pos, units * np.nan_to_num(cost), units, "logistics_cost", "units")
    if meta.den:
        if meta.num not in tab.frame or meta.den not in tab.frame:
            return _simple(ctx, r, "cause_no_asins", action=ACTIONS.get(t.kpi, "act_volume"))
        f = _ratio(ctx, r, tab, pos, tab.col(meta.num)[pos], tab.col(meta.den)[pos], meta.num, meta.den)
        f.finding = _with_campaigns(ctx, r, f.finding)
        return f
    if meta.num:
        return _volume(ctx, r, meta.num)
    return _simple(ctx, r, "cause_no_asins", action=ACTIONS.get(t.kpi, "act_volume"))


# -- helpers -------------------------------------------------------------------------------------------------
_NONE = np.zeros(0, dtype=np.intp)


class AsinTable:
    """An ASIN table (rows = (marketplace, ASIN)) with its scope groups built once, so that a finding for each
    of 20,000 targets costs array look-ups rather than a scan of the table. Scope keys match the Evaluator's
    (ASIN upper-case, SKU as typed, tier / category / owner case-insensitive)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.labels = list(frame.index)
        self.mks = np.asarray(frame.index.get_level_values(0).astype(str)) if len(frame) else np.array([], dtype=str)
        self._groups: dict[str, dict] = {}
        self._cols: dict[str, np.ndarray] = {}

    def col(self, name: str) -> np.ndarray:
        if name not in self._cols:
            a = self.frame
            self._cols[name] = (pd.to_numeric(a[name], errors="coerce").to_numpy(dtype=float) if name in a
                                else np.full(len(a), np.nan))
        return self._cols[name]

    def positions(self, mks: Iterable[str], scope: str, value: str) -> np.ndarray:
        a = self.frame
        if not len(a) or (scope not in SCOPE_KEYS and scope not in ("account", "asin")):
            return _NONE
        if scope not in self._groups:
            if scope == "account":
                key = np.full(len(a), "", dtype=object)
            elif scope == "asin":
                key = np.asarray(a.index.get_level_values(1).astype(str).str.upper())
            elif scope == "sku":
                key = np.asarray(a["sku"].astype(str)) if "sku" in a else np.full(len(a), "", dtype=object)
            else:
                col = SCOPE_KEYS[scope]
                key = (np.asarray(a[col].astype(str).str.lower()) if col in a
                       else np.full(len(a), "", dtype=object))
            self._groups[scope] = pd.Series(np.arange(len(a))).groupby([self.mks, key]).indices
        k = Evaluator._key(scope, value)
        parts = [self._groups[scope].get((mk, k), _NONE) for mk in mks]
        return np.concatenate(parts) if parts else _NONE


def _table(ctx: ReviewContext) -> AsinTable:
    return _cached(ctx, "_asin_table", lambda: AsinTable(ctx.facts.asin))


def _scope(ctx: ReviewContext, t) -> tuple[AsinTable, np.ndarray]:
    tab = _table(ctx)
    return tab, tab.positions(ctx.markets(t.marketplace), t.scope, t.scope_value)


def _name(ctx: ReviewContext, key: tuple[str, str], all_mks: bool) -> str:
    return ctx.asin_name(key[0], key[1], all_mks)


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
             ev: dict[str, Any], more: str = "") -> Finding:
    t = r.target
    base = {"owner": t.owner, "kpi": ctx.kpi(t.kpi), "mk": t.marketplace, "actual": ctx.value(t.kpi, r.actual),
            "target": ctx.value(t.kpi, t.target)}
    text = ctx.t(key, **base, **fmt) + more + ctx.t("sentence_sep") + ctx.t(action)
    return Finding(_sev(r), t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t), text,
                   ctx.t(ev_key, **ev), key=key, target_row=t.row)


def _with_campaigns(ctx: ReviewContext, r: Row, text: str) -> str:
    """An account-level ads finding names the campaigns too, before its "what to do" (the last sentence)."""
    more = by_campaign(ctx, r)
    action = ctx.t("sentence_sep") + ctx.t(ACTIONS.get(r.target.kpi, "act_volume"))
    if not more or not text.endswith(action):
        return text + more
    return text[: -len(action)] + more + action


def _simple(ctx: ReviewContext, r: Row, key: str, action: str) -> Finding:
    return _finding(ctx, r, key, "ev_cause_simple", action, {"status": r.status},
                    {"row": r.target.row, "status": r.status, "note": r.note or "—"})


def _cached(ctx: ReviewContext, name: str, make):
    """A per-review cache for tables every row of a kind needs (computed once, not once per row)."""
    cache = ctx.__dict__.setdefault("_cause_cache", {})
    if name not in cache:
        cache[name] = make()
    return cache[name]


def _conversion_extras(ctx: ReviewContext, tab: AsinTable, i: int) -> str:
    """What moves an ASIN's conversion: its Buy Box %, days out of stock, price change vs last period."""
    out = []
    mk, asin = tab.labels[i]
    pv, bb = tab.col("page_views")[i], tab.col("buy_box_views")[i]
    if pv == pv and pv > 0 and bb == bb:
        out.append(ctx.t("item_buy_box", pct=f"{bb / pv:.0%}"))
    if (mk, asin) in _cached(ctx, f"_stockouts_{mk}", lambda: set(ctx.stockouts([mk]))):
        est = ctx.lost_sales(mk, asin)
        if est is not None and est[1] > 0:
            out.append(ctx.t("item_out", days=est[1]))
    base = ctx.same_days_last_period()
    units, gmv = tab.col("units")[i], tab.col("gmv")[i]
    if base is not None and units == units and units > 0 and gmv == gmv:
        before = _cached(ctx, "_price0", lambda: _prices(base[1].facts.asin))
        p0 = before.get((mk, asin))
        p = gmv / units
        if p0 and abs(p / p0 - 1) >= 0.005:
            out.append(ctx.t("item_price", change=f"{p / p0 - 1:+.1%}", period=base[0].label))
    return "".join(", " + x for x in out)


def _prices(a: pd.DataFrame) -> dict[tuple[str, str], float]:
    if a.empty or "gmv" not in a or "units" not in a:
        return {}
    u = a["units"].astype(float)
    p = (a["gmv"].astype(float) / u.where(u > 0)).dropna()
    return {k: float(v) for k, v in p.items() if v > 0}


def _harm(direction: str, part: float) -> float:
    return part if direction == "lower" else -part


def _top(harm: np.ndarray, k: int = TOP_ASINS) -> np.ndarray:
    """Indices of the k largest positive values, largest first (stable for ties)."""
    idx = np.flatnonzero(harm > 0)
    return idx[np.argsort(-harm[idx], kind="stable")][:k]


def _ratio(ctx: ReviewContext, r: Row, tab: AsinTable, pos: np.ndarray, num: np.ndarray, den: np.ndarray,
           num_name: str, den_name: str) -> Finding:
    t = r.target
    num_name, den_name = ctx.metric(num_name), ctx.metric(den_name)
    n, d = np.nan_to_num(num.astype(float)), np.nan_to_num(den.astype(float))
    total_d = float(d.sum())
    if total_d <= 0:
        return _simple(ctx, r, "cause_no_asins", action=ACTIONS.get(t.kpi, "act_volume"))
    parts = (n - t.target * d) / total_d
    gap = float(r.actual) - t.target
    residual = gap - float(parts.sum())                  # account-level reports vs ASIN sums
    top = _top(parts if t.direction == "lower" else -parts)
    reasons = _cached(ctx, "_return_reasons", lambda: top_return_reasons(ctx.facts)) \
        if t.kpi in ("return_rate", "refund_rate") else {}
    items = []
    for j in top:
        key = tab.labels[pos[j]]
        own = n[j] / d[j] if d[j] else None
        extra = f", {reasons[key]}" if key in reasons else ""
        if t.kpi == "cvr":
            extra += _conversion_extras(ctx, tab, int(pos[j]))
        items.append(ctx.t("cause_item", asin=_name(ctx, key, t.marketplace in GROUPS),
                           value=ctx.value(t.kpi, own) if own is not None else "—",
                           share=f"{d[j] / total_d:.1%}", den=den_name,
                           part=_fmt_part(t.kpi, float(parts[j]), ctx.cur)) + extra)
    others = gap - float(parts[top].sum())
    fmt = {"gap": _fmt_part(t.kpi, gap, ctx.cur), "asins": ctx.t("list_sep").join(items) or "—",
           "others": _fmt_part(t.kpi, others, ctx.cur), "den": den_name}
    ev = {"num": num_name, "den": den_name, "n": int(((d > 0) | (n > 0)).sum()),
          "gap": _fmt_part(t.kpi, gap, ctx.cur), "account": _fmt_part(t.kpi, residual, ctx.cur),
          "target": ctx.value(t.kpi, t.target)}
    return _finding(ctx, r, "cause_ratio", "ev_cause_ratio", ACTIONS.get(t.kpi, "act_volume"), fmt, ev)


def _combined(ctx: ReviewContext, ev0) -> AsinTable:
    """This period's and the baseline's ASIN rows on one index (an ASIN that stopped selling is still there),
    with the scope attributes of either."""
    a, b = ctx.facts.asin, ev0.facts.asin
    idx = a.index.union(b.index) if len(b) else a.index
    attrs = [c for c in ("sku", "tier", "category", "owner") if c in a or c in b]
    out = pd.DataFrame(index=idx)
    for c in attrs:
        now = a[c].reindex(idx) if c in a else pd.Series(np.nan, index=idx)
        before = b[c].reindex(idx) if c in b else pd.Series(np.nan, index=idx)
        out[c] = now.where(now.notna(), before).fillna("")
    for m in ADDITIVE:
        out[f"now_{m}"] = pd.to_numeric(a[m], errors="coerce").reindex(idx) if m in a else np.nan
        out[f"before_{m}"] = pd.to_numeric(b[m], errors="coerce").reindex(idx) if m in b else np.nan
    return AsinTable(out)


def _volume(ctx: ReviewContext, r: Row, metric: str) -> Finding:
    t = r.target
    base = ctx.same_days_last_period()
    proj = ctx.value(t.kpi, r.projected_actual)
    all_mks = t.marketplace in GROUPS
    if base is None:
        tab, pos = _scope(ctx, t)
        now = np.nan_to_num(tab.col(metric)[pos])
        top = _top(now)
        items = [f"{_name(ctx, tab.labels[pos[j]], all_mks)} {ctx.value(t.kpi, float(now[j]))}" for j in top]
        return _finding(ctx, r, "cause_volume_no_base", "ev_cause_volume_no_base",
                        ACTIONS.get(t.kpi, "act_volume"),
                        {"projected": proj, "asins": ctx.t("list_sep").join(items) or "—"},
                        {"metric": ctx.metric(metric), "total": ctx.value(t.kpi, float(now.sum()))})
    period0, ev0 = base
    tab = _cached(ctx, "_combined", lambda: _combined(ctx, ev0))
    pos = tab.positions(ctx.markets(t.marketplace), t.scope, t.scope_value)
    now = np.nan_to_num(tab.col(f"now_{metric}")[pos])
    before = np.nan_to_num(tab.col(f"before_{metric}")[pos])
    change = now - before
    top = _top(change if t.direction == "lower" else -change)
    items = [f"{_name(ctx, tab.labels[pos[j]], all_mks)} {_fmt_part(t.kpi, float(change[j]), ctx.cur)}"
             for j in top]
    total = float(change.sum())
    others = total - float(change[top].sum())
    p = ctx.settings.period
    through = max((d for d in ctx.facts.data_through.values() if d), default=p.start)
    return _finding(ctx, r, "cause_volume", "ev_cause_volume", ACTIONS.get(t.kpi, "act_volume"),
                    {"projected": proj, "period": period0.label, "change": _fmt_part(t.kpi, total, ctx.cur),
                     "asins": ctx.t("list_sep").join(items) or "—", "others": _fmt_part(t.kpi, others, ctx.cur)},
                    {"metric": ctx.metric(metric), "now": ctx.value(t.kpi, float(now.sum())),
                     "before": ctx.value(t.kpi, float(before.sum())), "start": _iso(p.start), "end": _iso(through),
                     "start0": _iso(period0.start), "end0": _iso(period0.end)})


def _excess_stock(ctx: ReviewContext, r: Row) -> Finding:
    t = r.target
    tab, pos = _scope(ctx, t)
    stock_all = tab.col("fulfillable_units")[pos]
    pos = pos[~np.isnan(stock_all)]
    if not len(pos):
        return _simple(ctx, r, "cause_no_asins", action=ACTIONS[t.kpi])
    stock = tab.col("fulfillable_units")[pos]
    days = np.array([ctx.facts.elapsed_days.get(mk, 0) for mk in tab.mks[pos]], dtype=float)
    units = np.nan_to_num(tab.col("units")[pos])
    rate = np.divide(units, days, out=np.zeros(len(pos)), where=days > 0)
    if t.kpi == "days_of_cover":
        allowed = rate * t.target
    else:
        allowed = rate * 365 / t.target if t.target > 0 else stock
    excess = stock - allowed
    harm = (excess if t.direction == "lower" else -excess) if t.kpi == "days_of_cover" else excess
    top = _top(harm)
    all_mks = t.marketplace in GROUPS
    items = [ctx.t("cause_stock_item", asin=_name(ctx, tab.labels[pos[j]], all_mks),
                   stock=f"{stock[j]:,.0f}", per_day=f"{rate[j]:,.1f}",
                   cover=f"{stock[j] / rate[j]:,.0f}" if rate[j] > 0 else "∞",
                   units=f"{excess[j]:+,.0f}") for j in top]
    total = float(excess.sum())
    others = total - float(excess[top].sum())
    act = ACTIONS[t.kpi] if (t.kpi != "days_of_cover" or t.direction == "lower") else "act_reorder"
    total_rate = float(rate.sum())
    under = ""
    if t.kpi == "days_of_cover" and t.direction == "lower":
        # the other side: ASINs below the target's cover, and the units that would bring them up to it
        short = _top(np.where(rate > 0, -excess, 0.0), 3)
        if len(short):
            under = ctx.t("sentence_sep") + ctx.t("cause_stock_under", asins=ctx.t("list_sep").join(
                f"{_name(ctx, tab.labels[pos[j]], all_mks)} {-excess[j]:,.0f}" for j in short))
    return _finding(ctx, r, "cause_stock", "ev_cause_stock", act,
                 {"units": f"{total:+,.0f}", "asins": ctx.t("list_sep").join(items) or "—",
                  "others": f"{others:+,.0f}"},
                 {"formula": ctx.t("formula_cover" if t.kpi == "days_of_cover" else "formula_turnover"),
                  "per_day": f"{total_rate:,.1f}", "stock": f"{float(stock.sum()):,.0f}",
                  "units": f"{total:+,.0f}"}, more=under)


def _stockouts(ctx: ReviewContext, r: Row) -> Finding:
    t = r.target
    items, lost_total = [], 0.0
    outs = ctx.stockouts(ctx.markets(t.marketplace), t)
    for mk, asin in outs:
        est = ctx.lost_sales(mk, asin)
        name = ctx.asin_name(mk, asin, t.marketplace in GROUPS)
        if est is None:
            items.append(ctx.t("asin_out_unknown", asin=name))
        elif est[1] == 0:
            items.append(ctx.t("asin_out_now", asin=name))
        else:
            lost_total += est[0]
            items.append(ctx.t("asin_out", asin=name, days=est[1], lost=_fmt_money(est[0], ctx.cur)))
    stores = {store(m) for m in ctx.markets(t.marketplace)}        # Mercado Libre's Full, Walmart's WFS, not FBA
    wm = stores == {"walmart"}                                      # Walmart's items, not ASINs
    act = "act_stockout_wm" if wm else "act_stockout_ml" if "amazon" not in stores else "act_stockout"
    return _finding(ctx, r, "cause_stockouts_wm" if wm else "cause_stockouts",
                    "ev_cause_stockouts_wm" if wm else "ev_cause_stockouts", act,
                    {"n": len(outs), "asins": ctx.t("list_sep").join(items) or "—"},
                    {"n": len(outs), "lost": _fmt_money(lost_total, ctx.cur) if lost_total > 0 else "—"})


def _health(ctx: ReviewContext, r: Row) -> Finding:
    t = r.target
    h = ctx.facts.health.get(t.marketplace, {}).get(t.kpi) or {}
    if store(t.marketplace) == "walmart":
        return _finding(ctx, r, "cause_health", "ev_cause_health_wm", "act_health_wm", *_health_counts(t, h))
    if store(t.marketplace) != "amazon":
        return _health_ml(ctx, r, h)
    return _finding(ctx, r, "cause_health", "ev_cause_health", "act_health", *_health_counts(t, h))


def _health_counts(t: Any, h: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """A health rate's fields for the finding and its evidence: defects, orders, the report's window, and how
    many defects the target allows on those orders."""
    count, orders = h.get("count"), h.get("orders")
    window = f"{h['from']}..{h['to']}" if h.get("from") and h.get("to") else "—"
    allowed = t.target * float(orders) if orders else None
    evidence = {"count": "—" if count is None else f"{count:,.0f}",
                "orders": "—" if orders is None else f"{orders:,.0f}", "window": window}
    return {**evidence, "allowed": "—" if allowed is None else f"{allowed:,.1f}"}, evidence


def _health_ml(ctx: ReviewContext, r: Row, h: dict[str, Any]) -> Finding:
    """Mercado Libre's reputation: a rate with its sales, or the colour / MercadoLíder level with the three
    rates that set it."""
    t = r.target
    health = ctx.facts.health.get(t.marketplace, {})
    if t.kpi in ("ml_reputation_level", "mercadolider_level"):
        rate = {k: health.get(f"ml_{k}_rate", {}).get("rate") for k in ("claims", "cancellations", "delayed_handling")}
        shown = {k: "—" if v is None else f"{v:.1%}" for k, v in rate.items()}
        level = health.get("ml_reputation_level", {}).get("rate")
        lider = health.get("mercadolider_level", {}).get("rate")
        return _finding(ctx, r, "cause_ml_level", "ev_cause_ml_level", "act_health_ml",
                        {"claims": shown["claims"], "cancellations": shown["cancellations"],
                         "delayed": shown["delayed_handling"]},
                        {"level": "—" if level is None else f"{level:g}", "lider": "—" if lider is None else f"{lider:g}"})
    return _finding(ctx, r, "cause_health_ml", "ev_cause_health_ml", "act_health_ml", *_health_counts(t, h))


__all__ = ["ACTIONS", "CAUSE_STATUSES", "cause", "causes"]
