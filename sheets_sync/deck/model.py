"""The review deck's content, read back from the workbook as the team sees it (docs/deck.md).

The deck presents what the sheet shows after a sync — the Scorecard, the Attainment rows, the Commentary and the
Target Suggestions, in the workbook's language — so the meeting and the sheet never disagree. Columns are found by
the template's column order (headers are shown translated); numbers are formatted here, once, for both renderers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..alerts.rules import one_line
from ..compute.values import number
from ..i18n import t as _t
from ..inputs import read_inputs
from ..kpis import CATALOG, label
from ..localize import translator, zh_punctuation
from ..readback import generated_rows
from ..sheets.base import Workbook
from ..template import TEAM_TABS, Template, load_template

TABS = ("Scorecard", "Attainment", "Commentary", "Target Suggestions")
MAX_FINDINGS = 8
MAX_SUGGESTIONS = 12
MAX_OWNER_ROWS = 12


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    more: int = 0                   # rows left out (said under the table)


@dataclass
class OwnerSlide:
    title: str
    summary: str
    table: Table
    why: list[str] = field(default_factory=list)


@dataclass
class Deck:
    language: str
    title: str
    subtitle: str
    definitions: str
    scorecard: Table
    chart_title: str
    chart: list[tuple[str, float | None, float | None]]      # owner, score, projected score
    owners: list[OwnerSlide]
    findings_title: str
    findings: list[tuple[str, str]]                           # severity (canonical), text
    suggestions_title: str
    suggestions: Table
    labels: dict[str, str] = field(default_factory=dict)     # other words the renderers need (series names …)

    def texts(self) -> list[str]:
        """Every string the deck shows (the PDF embeds the glyphs of exactly these)."""
        out = [self.title, self.subtitle, self.definitions, self.chart_title, self.findings_title,
               self.suggestions_title, *self.labels.values()]
        for tab in (self.scorecard, self.suggestions, *(o.table for o in self.owners)):
            out += tab.header + [c for r in tab.rows for c in r]
        for o in self.owners:
            out += [o.title, o.summary, *o.why]
        out += [f for _, f in self.findings] + [name for name, _, _ in self.chart]
        return out


def _pct(x: Any, digits: int = 1) -> str:
    v = number(x)
    return "—" if v is None else f"{v:.{digits}%}"


def _value(kpi_key: str | None, x: Any, currency: str) -> str:
    v = number(x)
    if v is None:
        return "—" if x in (None, "") else str(x)
    unit = CATALOG[kpi_key].unit if kpi_key in CATALOG else "number"
    if unit == "money":
        return f"{v:,.0f} {currency}"
    if unit == "percent":
        return f"{v:.2%}"
    if unit in ("count", "rank", "flag"):
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def _date(x: Any) -> str:
    if isinstance(x, dt.datetime):
        return x.date().isoformat()
    if isinstance(x, dt.date):
        return x.isoformat()
    return str(x or "—")


def build_deck(wb: Workbook, template: Template | None = None) -> Deck:
    """Read the workbook (team tabs for the language and period, generated tabs for the figures) into a deck."""
    template = template or load_template()
    tables = wb.read_tabs([*TEAM_TABS, *TABS])
    score = generated_rows(tables.get("Scorecard"), template, "Scorecard")
    attain = generated_rows(tables.get("Attainment"), template, "Attainment")
    shown = sorted({str(r.get("period")) for r in attain if r.get("period")})   # the period the sync reviewed
    settings = read_inputs(tables, template=template, period_override=shown[0] if len(shown) == 1 else None).settings
    lang, cur = settings.language, settings.base_currency
    comments = generated_rows(tables.get("Commentary"), template, "Commentary")
    sugg = generated_rows(tables.get("Target Suggestions"), template, "Target Suggestions")
    if not score and not attain:
        from ..errors import InputDataError

        raise InputDataError([])
    shown_kpi = {label(k, lang): k for k in CATALOG} | {zh_punctuation(label(k, lang)): k for k in CATALOG} | {
        k: k for k in CATALOG}
    canonical = {str(translator(lang).value(v)): v for v in ("high", "medium", "info")}
    through = sorted({_date(r.get("data_through")) for r in attain if r.get("data_through")})
    defs = str((tables.get("Scorecard") or [[""]])[0][0] or "")
    p = settings.period

    owners: list[OwnerSlide] = []
    for s in score:
        name = str(s.get("owner") or "")
        mine = [r for r in attain if str(r.get("owner") or "") == name]
        rows = []
        for r in mine[:MAX_OWNER_ROWS]:
            key = shown_kpi.get(str(r.get("kpi") or ""))
            scope = " ".join(str(x) for x in (r.get("marketplace"), r.get("scope"), r.get("scope_value")) if x)
            rows.append([str(r.get("kpi") or ""), scope, _value(key, r.get("target"), cur),
                         _value(key, r.get("actual"), cur), _pct(r.get("attainment")), str(r.get("status") or "")])
        nxt = (_t("deck_next_tier", lang, distance=_pct(s.get("to_next_tier")), tier=s.get("next_tier"))
               if s.get("next_tier") else _t("deck_top_tier", lang) if s.get("tier") else _t("deck_no_tier", lang))
        why = [one_line(c.get("finding")) for c in comments if str(c.get("owner") or "") == name][:3]
        owners.append(OwnerSlide(
            title=_t("deck_owner", lang, owner=name, role=s.get("role") or ""),
            summary=_t("deck_owner_summary", lang, score=_pct(s.get("score")), projected=_pct(s.get("projected_score")),
                       tier=s.get("tier") or "—", next=nxt),
            table=Table([_t(f"deck_col_{c}", lang) for c in ("kpi", "scope", "target", "actual", "attainment",
                                                             "status")], rows, max(0, len(mine) - MAX_OWNER_ROWS)),
            why=why))
    by = {c.name: c for c in template.tab("Scorecard").columns}

    def head(name: str) -> str:
        return by[name].label(lang) if lang != "en" else name.replace("_", " ")

    score_cols = ("owner", "role", "score", "projected_score", "tier", "next_tier", "to_next_tier")
    score_rows = [[str(s.get("owner") or ""), str(s.get("role") or ""), _pct(s.get("score")),
                   _pct(s.get("projected_score")), str(s.get("tier") or ""), str(s.get("next_tier") or ""),
                   _pct(s.get("to_next_tier")) if s.get("next_tier") else ""] for s in score]
    suggestions = [[str(r.get("owner") or ""), str(r.get("kpi") or ""),
                    " ".join(str(x) for x in (r.get("marketplace"), r.get("scope"), r.get("scope_value")) if x),
                    _value(shown_kpi.get(str(r.get("kpi") or "")), r.get("suggested_target"), cur),
                    str(r.get("basis") or "")[:90]] for r in sugg]
    return Deck(
        language=lang,
        title=_t("deck_title", lang, period=p.label),
        subtitle=_t("deck_subtitle", lang, start=p.start.isoformat(), end=p.end.isoformat(),
                    through=", ".join(through) or "—"),
        definitions=defs,
        scorecard=Table([head(c) for c in score_cols], score_rows),
        chart_title=_t("deck_chart", lang),
        chart=[(str(s.get("owner") or ""), number(s.get("score")), number(s.get("projected_score"))) for s in score],
        owners=owners,
        findings_title=_t("deck_findings", lang),
        findings=[(canonical.get(str(c.get("severity") or ""), ""), one_line(c.get("finding"), 240))
                  for c in comments[:MAX_FINDINGS]]
        or [("", _t("deck_no_findings", lang))],
        suggestions_title=_t("deck_suggestions", lang),
        suggestions=Table([_t(f"deck_col_{c}", lang) for c in ("owner", "kpi", "scope", "suggested", "basis")],
                          suggestions[:MAX_SUGGESTIONS], max(0, len(suggestions) - MAX_SUGGESTIONS)),
        labels={"score": _t("deck_score", lang), "projected": _t("deck_projected", lang),
                "scorecard": _t("deck_scorecard", lang), "definitions": _t("deck_definitions", lang),
                "why": _t("deck_why", lang), "no_suggestions": _t("deck_no_suggestions", lang),
                **({"more_suggestions": _t("deck_more", lang, n=len(suggestions) - MAX_SUGGESTIONS)}
                   if len(suggestions) > MAX_SUGGESTIONS else {})},
    )
