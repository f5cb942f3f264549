"""Rendering: computed results → :class:`GeneratedTab` values (rows plus format intents), in one place.

Everything under :mod:`sheets_sync.compute` is pure numbers and sentences; this module is the only one that
knows the template (column order, column types) and the workbook port's tab type. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from .compute.actuals import Facts
from .compute.attainment import (
    ASIN_KPIS,
    Evaluator,
    OwnerScore,
    Row,
    account_kpis,
    asin_kpis,
    day_weights,
    top_return_reasons,
)
from .compute.review import LastPeriod, Review, definitions, history_rows
from .compute.values import clean, clean_column
from .frames import ReportBatch
from .i18n import t as _t
from .inputs import Settings, TeamInputs
from .kpis import CATALOG
from .sheets.base import GENERATED_HEADER_ROW, ChartIntent, GeneratedTab
from .template import Template

SYNC_LOG_KEEP = 200
# How a KPI's unit (kpis.Kpi.unit) is shown in the target / actual columns.
UNIT_FORMATS = {"money": "money", "percent": "percent", "count": "int", "rank": "int", "flag": "int"}


def _tab(template: Template, name: str, rows: list[list[Any]], title: str, settings: Settings,
         **kw: Any) -> GeneratedTab:
    spec = template.tab(name)
    formats = {c.name: {"money": "money", "percent": "percent", "score": "score", "int": "int", "number": "number",
                        "date": "date"}.get(c.type, "text") for c in spec.columns}
    formats.update(kw.pop("formats", {}))
    return GeneratedTab(name=name, columns=spec.column_names, rows=rows, title=title, formats=formats,
                        widths={c.name: c.width for c in spec.columns}, currency=settings.base_currency, **kw)


def actuals_tab(template: Template, facts: Facts, settings: Settings, title: str) -> GeneratedTab:
    """Per ASIN: the base metrics, then the KPIs a manager divides by hand otherwise (ACoS, TACoS, ROAS, CTR,
    CVR, net margin, days of cover, return and refund rate), each a ratio of that row's own sums."""
    a = facts.asin
    reasons = top_return_reasons(facts)
    kpi_cols = [c for c in template.tab("Actuals").column_names[6:] if c in ASIN_KPIS]
    metrics = [c for c in template.tab("Actuals").column_names[6:] if c != "top_return_reason" and c not in ASIN_KPIS]
    per_asin = asin_kpis(facts)
    rows: list[list[Any]] = []
    for mk in settings.marketplaces:
        acct = facts.account.get(mk, {})
        total = [clean(acct.get(m)) if m not in ("fulfillable_units", "inbound_units", "reserved_units")
                 else clean(a.loc[[mk], m].sum(min_count=1)) if mk in a.index.get_level_values(0) else None
                 for m in metrics]
        akpi = account_kpis(facts, mk)
        rows.append(_with_reason([mk, "ALL", "", f"{mk} account total", "", "", *total], metrics, "")
                    + [clean(akpi.get(k)) for k in kpi_cols])
        if mk not in a.index.get_level_values(0):
            continue
        sub = a.loc[mk].sort_values("gmv", ascending=False, na_position="last")
        cols = [clean_column(sub[m].to_numpy() if m in sub else np.full(len(sub), np.nan)) for m in metrics]
        kp = per_asin.loc[mk].reindex(sub.index)
        kcols = [clean_column(kp[k].to_numpy()) for k in kpi_cols]
        text = [sub[c].tolist() for c in ("sku", "title", "tier", "owner")]
        for i, asin in enumerate(sub.index):
            row = [mk, asin, *(t[i] for t in text), *[c[i] for c in cols]]
            rows.append(_with_reason(row, metrics, reasons.get((mk, asin), "")) + [c[i] for c in kcols])
    return _tab(template, "Actuals", rows, title, settings)


def campaigns_tab(template: Template, ev: Evaluator, settings: Settings, title: str) -> GeneratedTab:
    """Per marketplace: each campaign, then its ad groups, with the sums and ratios the campaign targets use
    (ratios of that row's own sums; money in the base currency)."""
    cols = template.tab("Campaigns").column_names
    rows: list[list[Any]] = []
    for mk in settings.marketplaces:
        for r in ev.campaigns.table(mk):
            spend, sales, clicks = r.get("ad_spend"), r.get("ad_sales"), r.get("ad_clicks")
            imp, orders = r.get("ad_impressions"), r.get("ad_orders")
            r = {**r, "acos": _ratio(spend, sales), "roas": _ratio(sales, spend), "ctr": _ratio(clicks, imp),
                 "cpc": _ratio(spend, clicks), "ad_cvr": _ratio(orders, clicks)}
            rows.append([clean(r.get(c)) if c not in TEXT_COLUMNS else (r.get(c) or None) for c in cols])
    return _tab(template, "Campaigns", rows, title, settings)


TEXT_COLUMNS = {"marketplace", "ad_product", "portfolio", "campaign_id", "campaign", "ad_group_id", "ad_group", "goal"}


def _ratio(n: Any, d: Any) -> float | None:
    return n / d if n is not None and d else None


def _with_reason(row: list[Any], metrics: list[str], reason: str) -> list[Any]:
    """Insert the top return reason where the template puts it (after units_returned)."""
    at = 6 + metrics.index("units_returned") + 1
    return [*row[:at], reason, *row[at:]]


def daily_tab(template: Template, facts: Facts, settings: Settings, calendar, rows_attn: list[Row],
              title: str) -> GeneratedTab:
    d = facts.daily
    rows: list[list[Any]] = []
    metrics = ["gmv", "units", "orders", "sessions", "page_views", "ad_spend", "ad_sales", "ad_clicks",
               "ad_impressions", "units_refunded", "units_returned"]
    days = settings.period.days
    for mk in settings.marketplaces:
        sub = d[d["marketplace"] == mk].set_index("date") if not d.empty else pd.DataFrame()
        # Paced GMV target: the marketplace's account gmv target spread over the period by day weight — the
        # day's own share (target × weight / Σ weights), so it sits on the same scale as the day's gmv.
        tgt = next((r.target.target for r in rows_attn if r.target.kpi == "gmv" and r.target.scope == "account"
                    and r.target.marketplace == mk), None)
        w = day_weights(days, calendar, mk)
        share = w / w.sum()
        prov = facts.provisional.get(mk, set())
        through = facts.data_through.get(mk)
        for i, day in enumerate(days):
            if through is None or day > through:
                break
            vals = [(clean(sub.at[day, m]) if (not sub.empty and day in sub.index and m in sub) else None)
                    for m in metrics]
            rows.append([mk, day, *vals, clean(tgt * share[i]) if tgt else None,
                         "provisional" if day in prov else ""])
    charts = [ChartIntent("line", "Daily GMV vs paced target", "date", ("gmv", "paced_target_gmv"),
                          split_by="marketplace")]
    return _tab(template, "Daily", rows, title, settings, charts=charts)


def attainment_tab(template: Template, rows: list[Row], title: str, settings: Settings,
                   last: LastPeriod | None = None) -> GeneratedTab:
    """Full precision everywhere (rounding lives in the number formats): attainment, its capped value and each
    row's contribution, which add up to the owner's Scorecard score; last period's figures beside them."""
    out = []
    for r in rows:
        t = r.target
        lr = last.for_row(r) if last else None
        out.append([t.row, t.period, t.marketplace, t.scope, t.scope_value, t.owner, t.role, t.kpi, t.direction,
                    clean(t.target), clean(r.actual), clean(r.attainment), clean(r.projected_actual),
                    clean(r.projected_attainment), r.status, clean(t.weight), r.data_through,
                    r.note, clean(r.capped_attainment), clean(r.contribution), clean(r.projected_contribution),
                    last.period if last else None, clean(lr.actual) if lr else None,
                    clean(lr.attainment) if lr else None])
    kinds = [UNIT_FORMATS.get(CATALOG[r.target.kpi].unit, "number") for r in rows]
    row_formats = {"target": kinds, "actual": kinds, "projected_actual": kinds, "last_actual": kinds}
    return _tab(template, "Attainment", out, title, settings, status_column="status", row_formats=row_formats)


def scorecard_tab(template: Template, scores: list[OwnerScore], title: str, settings: Settings,
                  last: LastPeriod | None = None) -> GeneratedTab:
    rows = [[s.owner, s.role, s.kpis, clean(s.score), clean(s.projected_score), s.tier,
             clean(s.payout), s.outcome_kpis, s.process_kpis, "; ".join(s.flags), s.tier_on or None,
             s.next_tier or None, clean(s.to_next_tier), last.period if last else None,
             clean(last.scores.get(s.owner)) if last else None] for s in scores]
    charts = [ChartIntent("bar", "Attainment score by owner", "owner", ("score", "projected_score"))]
    return _tab(template, "Scorecard", rows, title, settings, charts=charts)


def sync_log_tab(template: Template, settings: Settings | None, entry: list[Any], detail: list[list[Any]],
                 previous: list[list[Any]] | None, title: str) -> GeneratedTab:
    """The newest entry first, its detail rows (one per problem) under it, then earlier syncs (last 200)."""
    kept: list[list[Any]] = []
    syncs = 1
    for r in previous or []:
        if r and r[0] not in (None, ""):
            syncs += 1
        if syncs > SYNC_LOG_KEEP:
            break
        kept.append(r)
    rows = [entry, *detail, *kept]
    tab = GeneratedTab(name="Sync Log", columns=template.tab("Sync Log").column_names, rows=rows, title=title,
                       formats={"duration_s": "number", "api_calls": "int", "rows_read": "int"},
                       widths={c.name: c.width for c in template.tab("Sync Log").columns},
                       currency=settings.base_currency if settings else "USD")
    return tab


def commentary_tab(template: Template, review: Review, title: str) -> GeneratedTab:
    rows = [f.row() for f in review.findings()]
    return _tab(template, "Commentary", rows, title, review.settings, status_column="severity")


def history_table(tables: dict[str, Any]) -> tuple[list[Any], list[list[Any]]]:
    """The History tab as read back: (header, data rows)."""
    table = tables.get("History") or []
    header = list(table[GENERATED_HEADER_ROW - 1]) if len(table) >= GENERATED_HEADER_ROW else []
    return header, [list(r) for r in table[GENERATED_HEADER_ROW:]]


def build_review(inputs: TeamInputs, facts: Facts, rows: list[Row], today: dt.date,
                 batches: list[ReportBatch] | None, ev: Evaluator | None, tables: dict[str, Any]) -> Review:
    """The review of one sync, with last period's figures read from History (or the dated reports)."""
    review = Review(inputs, facts, rows, today, list(batches or []), ev)
    review.last_period(*history_table(tables))
    return review


def review_tabs(template: Template, inputs: TeamInputs, facts: Facts, rows: list[Row], scores: list[OwnerScore],
                tables: dict[str, Any], today: dt.date, title: str,
                batches: list[ReportBatch] | None, ev: Evaluator | None = None,
                review: Review | None = None) -> list[GeneratedTab]:
    """Commentary, Target Suggestions and History for one sync."""
    settings = inputs.settings
    review = review or build_review(inputs, facts, rows, today, batches, ev, tables)
    lang = settings.language
    defs = definitions(settings, facts.data_through)

    def head(note: str) -> str:
        return f"{defs} · {_t(note, lang)}"

    commentary = commentary_tab(template, review, head("note_commentary"))
    sugg = review.suggestions()
    kinds = [UNIT_FORMATS.get(u, "number") for u in getattr(review, "suggestion_units", [])]
    suggestions = _tab(template, "Target Suggestions", sugg, head("note_suggestions"), settings,
                       row_formats={"account_target": kinds, "suggested_target": kinds} if kinds else {})
    hist_cols = template.tab("History").column_names
    complete = bool(facts.data_through) and all(d is not None and d >= settings.period.end
                                                for d in facts.data_through.values())
    history = _tab(template, "History", history_rows(tables.get("History"), rows, settings.period.label, today,
                                                     len(hist_cols), GENERATED_HEADER_ROW, complete,
                                                     review.last_period()),
                   head("note_history"), settings, status_column="status")
    return [commentary, suggestions, history]


__all__ = [
    "SYNC_LOG_KEEP",
    "UNIT_FORMATS",
    "actuals_tab",
    "attainment_tab",
    "build_review",
    "campaigns_tab",
    "clean",
    "commentary_tab",
    "daily_tab",
    "history_table",
    "review_tabs",
    "scorecard_tab",
    "sync_log_tab",
]
