"""Findings 8 and 9: data lag or a missing source, and Calendar events inside the period."""

from __future__ import annotations

from collections import defaultdict

from ...kpis import CATALOG
from ...stores import event_applies, is_walmart
from .base import LAG_DAYS, Finding, ReviewContext, _families_for
from .text import _fmt_pct, _iso


def data_lag(ctx: ReviewContext) -> list[Finding]:
    out = []
    period = ctx.settings.period
    for mk in ctx.settings.marketplaces:
        d = ctx.facts.data_through.get(mk)
        owners = ", ".join(dict.fromkeys(r.target.owner for r in ctx.rows if mk in ctx.markets(r.target.marketplace)))
        if d is None:
            if period.start < ctx.today:
                out.append(Finding("high", mk, owners, "", "", ctx.t("no_data", mk=mk, period=period.label),
                                   ctx.t("ev_no_data", today=_iso(ctx.today)), key="no_data"))
            continue
        behind = (ctx.today - d).days
        if d < period.end and behind > LAG_DAYS:
            out.append(Finding("high", mk, owners, "", "",
                               ctx.t("data_lag", mk=mk, through=_iso(d), days=behind, limit=LAG_DAYS),
                               ctx.t("ev_lag", through=_iso(d), today=_iso(ctx.today), days=behind), key="data_lag"))
        have = ctx.facts.families.get(mk, set())
        need: dict[str, list[str]] = defaultdict(list)
        for r in ctx.rows:
            if mk not in ctx.markets(r.target.marketplace) or r.manual:
                continue
            for fam in _families_for(r.target.kpi):
                if r.target.kpi not in need[fam]:
                    need[fam].append(r.target.kpi)
        for fam, kpis in need.items():
            if fam not in have:
                out.append(Finding("medium", mk, owners, ", ".join(ctx.kpi(k) for k in kpis), "",
                                   ctx.t("source_missing", mk=mk, report=ctx.t(
                                       f"family_{fam}_wm" if is_walmart(mk) else f"family_{fam}"),
                                          period=period.label, kpis=", ".join(ctx.kpi(k) for k in kpis)),
                                   ctx.t("ev_families", have=", ".join(sorted(have)) or "—"), key="source_missing"))
    return out

def calendar(ctx: ReviewContext) -> list[Finding]:
    out = []
    period = ctx.settings.period
    for e in ctx.inputs.calendar:
        if e.end < period.start or e.start > period.end:
            continue
        for mk in ctx.settings.marketplaces:     # Buen Fin / Hot Sale typed for MX weigh both Mexican stores
            if not event_applies(e.marketplace, e.event, mk):
                continue
            d = ctx.facts.data_through.get(mk)
            share = ctx.ev.share.get(mk, 0.0)
            plain = ((min(d, period.end) - period.start).days + 1) / len(period.days) if d else 0.0
            owners = ", ".join(dict.fromkeys(r.target.owner for r in ctx.rows
                                             if mk in ctx.markets(r.target.marketplace)
                                             and CATALOG[r.target.kpi].additive))
            key = "calendar_ahead" if d is None or e.start > d else "calendar_done"
            out.append(Finding("info", mk, owners, "", "",
                               ctx.t(key, event=e.event, start=_iso(max(e.start, period.start)),
                                      end=_iso(min(e.end, period.end)), mult=f"{e.multiplier:g}", mk=mk),
                               ctx.t("ev_calendar", share=_fmt_pct(share), plain=_fmt_pct(plain),
                                      through=_iso(d)), key=key))
    return out
