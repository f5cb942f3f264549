"""The review at campaign grain (issue 31): why an ads KPI is off, named by campaign and ad group; whether a
campaign's goal makes its KPI fair; and the split of an account ACoS / ROAS / spend target over campaigns.

* **Why.** A ratio KPI R = Σn / Σd over the scope's campaigns (account, portfolio), ad groups (campaign) or ASINs
  (ad group): a unit's part is (nᵢ − T·dᵢ) / Σd, and the parts add up to R − T (as the ASIN parts of
  :mod:`.causes`). A volume KPI: each unit's change against the same days of last period, adding up to the
  scope's change. An account-level ads finding of :mod:`.causes` (ASINs) gets one more sentence naming the
  campaigns.
* **Goal.** A campaign's goal is read from its name (or the Targets row's notes): brand-defence, launch or
  always-on (:func:`~sheets_sync.compute.campaigns.campaign_goal`). A launch held to an ACoS (or ROAS) stricter
  than the marketplace's, or a brand-defence campaign asked to grow its reach, is judged on what its goal does
  not ask; one account ACoS target over campaigns whose own ACoS differ several-fold says nothing about any.
* **Split.** The account target T over campaigns keeps their ACoS relative to each other: Tᵢ = T × aᵢ / A (A the
  campaigns' ACoS together), so if every campaign meets its Tᵢ at this period's sales mix, the account's ACoS is
  exactly T (ROAS the same way, at the spend mix); a spend target splits by each campaign's share of spend.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ...kpis import CATALOG
from ..attainment import Row
from ..campaigns import METRICS, CampaignIndex, campaign_goal
from ..values import clean
from .base import Finding, ReviewContext
from .text import _iso

GOAL_FAIR_KPIS = {"launch": ("acos", "roas", "tacos"), "brand": ("ad_impressions", "ad_clicks", "ad_spend")}
SPREAD = 2.0          # campaigns whose ACoS differ more than this factor should not share one ACoS target
TOP = 4
ACTIONS = {"acos": "act_campaign_bids", "roas": "act_campaign_bids", "cpc": "act_campaign_bids",
           "ad_spend": "act_campaign_budget", "ctr": "act_campaign_ctr", "ad_impressions": "act_campaign_reach",
           "ad_clicks": "act_campaign_reach", "ad_cvr": "act_campaign_conversion", "ad_sales": "act_campaign_reach",
           "ad_orders": "act_campaign_reach", "ad_units": "act_campaign_reach", "tacos": "act_campaign_bids"}


def _sev(r: Row) -> str:
    return "high" if r.status == "off track" else "medium"


def _part(kpi: str, x: float, cur: str) -> str:
    from .causes import _fmt_part

    return _fmt_part(kpi, x, cur)


def units(ctx: ReviewContext, t: Any, ev: Any = None) -> tuple[str, pd.DataFrame]:
    """What a scope breaks into — campaigns (account, portfolio), ad groups (campaign) or ASINs (ad group) — with
    each unit's ads sums, indexed by (marketplace, key…) so two periods line up."""
    ev = ev or ctx.ev
    ix: CampaignIndex = ev.campaigns
    frames = []
    unit = {"account": "campaign", "portfolio": "campaign", "campaign": "ad_group", "ad_group": "asin"}.get(t.scope)
    if unit is None or ix.empty:
        return "", pd.DataFrame()
    found = ev.campaign_matches(t)[0] if t.scope != "account" else {}
    for mk in ctx.markets(t.marketplace):
        if t.scope == "account":
            df = ix.parts(mk, "account")
        elif mk not in found:
            continue
        elif unit == "asin":
            df = ix.asin_parts(mk, found[mk], partial(ctx.asin_name, mk))
        else:
            df = ix.parts(mk, t.scope, found[mk])
        if len(df):
            if len(ctx.markets(t.marketplace)) > 1:
                df = df.assign(label=mk + " " + df["label"])
            frames.append(df)
    return unit, (pd.concat(frames) if frames else pd.DataFrame())


def campaign_cause(ctx: ReviewContext, r: Row) -> Finding | None:
    """The finding for an off-track (or at-risk) row at a portfolio, campaign or ad-group scope."""
    t = r.target
    meta = CATALOG[t.kpi]
    unit, df = units(ctx, t)
    if df.empty or meta.num not in METRICS or (meta.den and meta.den not in METRICS):
        return None
    if meta.den:
        return _ratio(ctx, r, unit, df)
    return _volume(ctx, r, unit, df)


def _finding(ctx: ReviewContext, r: Row, key: str, fmt: dict[str, Any], ev_key: str, ev: dict[str, Any]) -> Finding:
    t = r.target
    base = {"owner": t.owner, "kpi": ctx.kpi(t.kpi), "mk": t.marketplace, "actual": ctx.value(t.kpi, r.actual),
            "target": ctx.value(t.kpi, t.target)}
    text = ctx.t(key, **base, **fmt) + ctx.t("sentence_sep") + ctx.t(ACTIONS.get(t.kpi, "act_campaign_reach"))
    return Finding(_sev(r), t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t), text, ctx.t(ev_key, **ev),
                   key=key, target_row=t.row)


def ratio_parts(ctx: ReviewContext, r: Row, df: pd.DataFrame) -> tuple[list[str], float, float] | None:
    """Each unit's part of actual − target, the largest harmful ones named: (items, Σ the rest, gap)."""
    t = r.target
    meta = CATALOG[t.kpi]
    n = np.nan_to_num(df[meta.num].to_numpy(dtype=float))
    d = np.nan_to_num(df[meta.den].to_numpy(dtype=float))
    total = float(d.sum())
    if total <= 0 or r.actual is None:
        return None
    parts = (n - t.target * d) / total
    harm = parts if t.direction == "lower" else -parts
    top = [j for j in np.argsort(-harm, kind="stable")[:TOP] if harm[j] > 0]
    items = [ctx.t("cause_item", asin=df["label"].iat[j],
                   value=ctx.value(t.kpi, n[j] / d[j]) if d[j] else "—", share=f"{d[j] / total:.1%}",
                   den=ctx.metric(meta.den), part=_part(t.kpi, float(parts[j]), ctx.cur)) for j in top]
    gap = float(r.actual) - t.target
    return items, gap - float(parts[top].sum()) if top else gap, gap


def _ratio(ctx: ReviewContext, r: Row, unit: str, df: pd.DataFrame) -> Finding | None:
    t = r.target
    meta = CATALOG[t.kpi]
    got = ratio_parts(ctx, r, df)
    if got is None:
        return None
    items, others, gap = got
    return _finding(ctx, r, f"cause_{unit}s", {"gap": _part(t.kpi, gap, ctx.cur), "den": ctx.metric(meta.den),
                                               "items": ctx.t("list_sep").join(items) or "—",
                                               "others": _part(t.kpi, others, ctx.cur)},
                    "ev_cause_units", {"num": ctx.metric(meta.num), "den": ctx.metric(meta.den), "n": len(df),
                                       "target": ctx.value(t.kpi, t.target), "gap": _part(t.kpi, gap, ctx.cur)})


def _volume(ctx: ReviewContext, r: Row, unit: str, df: pd.DataFrame) -> Finding:
    t = r.target
    metric = CATALOG[t.kpi].num
    now = df[metric].fillna(0.0)
    base = ctx.same_days_last_period()
    before = None
    labels = df["label"]
    if base is not None:
        _, bdf = units(ctx, t, base[1])
        if len(bdf):
            before = bdf[metric].fillna(0.0)
            labels = labels.combine_first(bdf["label"])
    proj = ctx.value(t.kpi, r.projected_actual)
    if before is None:
        order = now.sort_values(ascending=False, kind="stable")
        items = [f"{df.at[k, 'label']} {ctx.value(t.kpi, float(v))}" for k, v in order.head(TOP).items()]
        return _finding(ctx, r, f"cause_{unit}s_volume_no_base", {"projected": proj,
                                                                  "items": ctx.t("list_sep").join(items) or "—"},
                        "ev_cause_volume_no_base", {"metric": ctx.metric(metric),
                                                    "total": ctx.value(t.kpi, float(now.sum()))})
    change = now.reindex(labels.index, fill_value=0.0) - before.reindex(labels.index, fill_value=0.0)
    harm = change if t.direction == "lower" else -change
    top = [k for k in harm.sort_values(ascending=False, kind="stable").index[:TOP] if harm[k] > 0]
    items = [f"{labels[k]} {_part(t.kpi, float(change[k]), ctx.cur)}" for k in top]
    total = float(change.sum())
    p0, _ = base
    through = max((d for d in ctx.facts.data_through.values() if d), default=ctx.settings.period.start)
    return _finding(ctx, r, f"cause_{unit}s_volume",
                    {"projected": proj, "period": p0.label, "change": _part(t.kpi, total, ctx.cur),
                     "items": ctx.t("list_sep").join(items) or "—",
                     "others": _part(t.kpi, total - float(change[top].sum()), ctx.cur)},
                    "ev_cause_units_volume", {"metric": ctx.metric(metric), "now": ctx.value(t.kpi, float(now.sum())),
                                        "before": ctx.value(t.kpi, float(before.sum())),
                                        "start": _iso(ctx.settings.period.start), "end": _iso(through),
                                        "start0": _iso(p0.start), "end0": _iso(p0.end)})


def by_campaign(ctx: ReviewContext, r: Row) -> str:
    """One more sentence for an account-level ads finding: the campaigns that moved it (ratio KPIs)."""
    t = r.target
    meta = CATALOG[t.kpi]
    if t.scope != "account" or meta.num not in METRICS or meta.den not in METRICS:
        return ""
    _, df = units(ctx, t)
    got = ratio_parts(ctx, r, df) if len(df) else None
    if not got or not got[0]:
        return ""
    return ctx.t("sentence_sep") + ctx.t("by_campaign", items=ctx.t("list_sep").join(got[0]))


# -- the design review: is the KPI fair for the campaign's goal? ----------------------------------------------
def _goal_of(ctx: ReviewContext, r: Row) -> tuple[str, str] | None:
    """(goal, the campaign's name) of a row at campaign or ad-group scope, when it names one campaign."""
    t = r.target
    if t.scope not in ("campaign", "ad_group"):
        return None
    found, _ = ctx.ev.campaign_matches(t)
    for mk, m in found.items():
        camp = m.keys[0][0] if t.scope == "ad_group" else m.keys[0]
        names = ctx.ev.campaigns.shown.get((mk, camp), [])
        name = names[-1] if names else t.scope_value
        return campaign_goal(" ".join(names) or name, t.notes), name
    return None


def _account(ctx: ReviewContext, kpi: str, mks: list[str]) -> float | None:
    meta = CATALOG[kpi]
    n = sum((ctx.facts.account.get(mk, {}).get(meta.num) or 0.0) for mk in mks)
    d = sum((ctx.facts.account.get(mk, {}).get(meta.den) or 0.0) for mk in mks) if meta.den else 1.0
    return n / d if d and n == n else None


def campaign_goals(ctx: ReviewContext) -> list[Finding]:
    """A launch campaign held to an ACoS / ROAS stricter than its marketplace's; a brand-defence campaign asked
    to grow its reach."""
    out = []
    for r in ctx.rows:
        t = r.target
        got = _goal_of(ctx, r) if t.weight > 0 else None
        if got is None:
            continue
        goal, name = got
        if goal == "launch" and t.kpi in GOAL_FAIR_KPIS["launch"]:
            account = _account(ctx, t.kpi, ctx.markets(t.marketplace))
            stricter = account is not None and (t.target < account if t.direction == "lower" else t.target > account)
            if not stricter:
                continue
            out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                               ctx.t("launch_on_acos", owner=t.owner, kpi=ctx.kpi(t.kpi), campaign=name,
                                     target=ctx.value(t.kpi, t.target), account=ctx.value(t.kpi, account),
                                     actual=ctx.value(t.kpi, r.actual)),
                               ctx.t("ev_campaign_goal", goal=ctx.t("goal_launch"), mk=t.marketplace,
                                     actual=ctx.value(t.kpi, r.actual), account=ctx.value(t.kpi, account),
                                     target=ctx.value(t.kpi, t.target)), key="launch_on_acos", target_row=t.row))
        elif goal == "brand" and t.kpi in GOAL_FAIR_KPIS["brand"] and t.direction == "higher":
            out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                               ctx.t("brand_on_reach", owner=t.owner, kpi=ctx.kpi(t.kpi), campaign=name),
                               ctx.t("ev_campaign_goal", goal=ctx.t("goal_brand"), mk=t.marketplace,
                                     actual=ctx.value(t.kpi, r.actual), account="—",
                                     target=ctx.value(t.kpi, t.target)), key="brand_on_reach", target_row=t.row))
    return out


def one_acos_over_goals(ctx: ReviewContext) -> list[Finding]:
    """One account (or portfolio) ACoS / ROAS target over campaigns of different goals whose own values differ
    more than :data:`SPREAD`-fold, when the owner sets no target per campaign."""
    out = []
    per_campaign = {(r.target.owner, r.target.kpi) for r in ctx.rows if r.target.scope in ("campaign", "ad_group")}
    for r in ctx.rows:
        t = r.target
        if t.kpi not in ("acos", "roas") or t.scope not in ("account", "portfolio") or t.weight <= 0 \
                or (t.owner, t.kpi) in per_campaign:
            continue
        _, df = units(ctx, t)
        if len(df) < 2:
            continue
        meta = CATALOG[t.kpi]
        d = df[meta.den].astype(float)
        own = (df[meta.num].astype(float) / d.where(d > 0)).dropna()
        goals = {k: campaign_goal(str(df.at[k, "label"])) for k in own.index}
        if len(set(goals.values())) < 2 or own.min() <= 0 or own.max() / own.min() <= SPREAD:
            continue
        ordered = own.sort_values(kind="stable")
        items = [ctx.t("campaign_with_goal", goal=ctx.t(f"goal_{goals[k]}"), campaign=df.at[k, "label"],
                       value=ctx.value(t.kpi, float(v))) for k, v in ordered.items()]
        out.append(Finding("medium", t.marketplace, t.owner, ctx.kpi(t.kpi), ctx.scope_text(t),
                           ctx.t("one_acos_over_goals", owner=t.owner, kpi=ctx.kpi(t.kpi), mk=t.marketplace,
                                 target=ctx.value(t.kpi, t.target),
                                 lowest=ctx.value(t.kpi, float(ordered.iloc[0])),
                                 highest=ctx.value(t.kpi, float(ordered.iloc[-1]))),
                           ctx.t("ev_goals", items=ctx.t("list_sep").join(items[:6])), key="one_acos_over_goals",
                           target_row=t.row))
    return out


# -- Target Suggestions: an account target split over campaigns ---------------------------------------------
def campaign_split(ctx: ReviewContext, r: Row, for_period: str,
                   goal: float | None = None) -> tuple[list[list[Any]], list[str]]:
    """Rows of Target Suggestions that split an account ``acos`` / ``roas`` / ``ad_spend`` target over the
    campaigns (see the module docstring); and each row's unit. ``goal``: the spend target to split (next
    period's, when Target Suggestions proposes one), else the row's own."""
    t = r.target
    if t.scope != "account" or t.kpi not in ("acos", "roas", "ad_spend"):
        return [], []
    _, df = units(ctx, t)
    if df.empty:
        return [], []
    meta = CATALOG[t.kpi]
    rows: list[list[Any]] = []
    if t.kpi == "ad_spend":
        spend = df["ad_spend"].fillna(0.0)
        total = float(spend.sum())
        if total <= 0:
            return [], []
        shares = spend / total
        suggested = shares * (t.target if goal is None else goal)
        basis = ctx.t("basis_campaign_spend", period=ctx.settings.period.label)
    else:
        n, d = df[meta.num].fillna(0.0), df[meta.den].fillna(0.0)
        if float(d.sum()) <= 0 or float(n.sum()) <= 0:
            return [], []
        together = float(n.sum()) / float(d.sum())
        own = n / d.where(d > 0)
        shares = d / float(d.sum())
        suggested = own * t.target / together
        basis = ctx.t("basis_campaign_ratio", kpi=ctx.kpi(t.kpi), together=ctx.value(t.kpi, together),
                      target=ctx.value(t.kpi, t.target), mix=ctx.metric(meta.den))
    first = True
    for k in shares.sort_values(ascending=False, kind="stable").index:
        if pd.isna(suggested[k]):
            continue
        rows.append([t.row, k[0], ctx.kpi(t.kpi), clean(t.target), "campaign", df.at[k, "label"], t.owner,
                     clean(float(shares[k])), clean(float(suggested[k])), basis if first else "", for_period])
        first = False
    return rows, [meta.unit] * len(rows)


__all__ = ["by_campaign", "campaign_cause", "campaign_goals", "campaign_split", "one_acos_over_goals", "units"]
