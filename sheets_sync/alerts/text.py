"""An alert in the workbook's language: a :class:`Message` (a title and plain lines) that each channel then writes in
its own format. Every sentence comes from the message catalogs (``alert_*`` keys of ``sheets_sync/i18n``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..i18n import catalog
from ..i18n import t as _t
from ..kpis import label
from ..localize import translator
from .rules import REPUTATION, Alert


@dataclass(frozen=True)
class Message:
    title: str
    lines: list[str] = field(default_factory=list)
    link: str | None = None            # the sheet's address (a Google Sheet), when it has one
    link_text: str = ""
    severity: str = "high"             # high | medium | ok (a "back on track")
    items: list[str] = field(default_factory=list)   # a digest: one title per alert


def market(mk: str, lang: str) -> str:
    key = f"store_long_{mk}"
    return _t(key, lang) if key in catalog(lang) else str(translator(lang).value(mk))


def _reputation(value: str, lang: str) -> str:
    key = "alert_reputation_" + value.replace(" ", "_")
    return _t(key, lang) if value in REPUTATION.values() else value


def _pct(x: object) -> str:
    return f"{x:.0%}" if isinstance(x, int | float) else "—"


def title(a: Alert, lang: str, workbook: str, back: bool = False) -> str:
    tr = translator(lang)
    figure, target = a.figure, a.target
    if a.kind == "reputation":
        figure, target = _reputation(figure, lang), _reputation(target, lang)
    elif a.kind == "low_cover":
        figure, target = figure.replace(",", ""), target.replace(",", "")
    return _t(("back_" if back else "alert_") + a.kind, lang, owner=a.owner, kpi=label(a.kpi, lang) if a.kpi else "",
              mk=market(a.marketplace, lang), status=tr.value(a.status), asin=a.extra.get("asin", ""),
              figure=figure, target=target, workbook=workbook)


def message(a: Alert, lang: str, workbook: str, where: str, link: str | None, back: bool = False) -> Message:
    """One alert (or its "back on track") as a message."""
    lines: list[str] = []
    tr = translator(lang)
    if not back:
        if a.owner or a.scope:
            lines.append(_t("alert_line_owner", lang, owner=a.owner or "—", scope=tr.line(a.scope) or "—"))
        if a.kind == "target":
            key = "alert_line_projected" if a.extra.get("paced") else "alert_line_figure"
            lines.append(_t(key, lang, figure=a.figure, target=a.target, attainment=_pct(a.extra.get("attainment")),
                            actual=a.extra.get("actual", "")))
        elif a.kind == "health":
            lines.append(_t("alert_line_threshold", lang, figure=a.figure, target=a.target))
        elif a.kind == "stockout":
            lines.append(_t("alert_line_units", lang, units=f"{a.extra.get('units', 0):,}"))
        if a.why:
            lines.append(_t("alert_line_error" if a.kind == "sync_failed" else "alert_line_why", lang, why=a.why))
    lines.append(_t("alert_line_where", lang, where=where))
    return Message(title=title(a, lang, workbook, back), lines=lines, link=link,
                   link_text=_t("alert_line_open", lang), severity="ok" if back else a.severity)


def digest(alerts: list[Alert], lang: str, workbook: str, where: str, link: str | None, back: bool = False,
           shown: int = 20) -> Message:
    """Several alerts at once: one message listing their titles (the first ``shown``)."""
    items = [title(a, lang, workbook, back) for a in alerts[:shown]]
    if len(alerts) > shown:
        items.append(_t("alert_digest_more", lang, n=len(alerts) - shown))
    return Message(title=_t("alert_digest_back" if back else "alert_digest", lang, workbook=workbook, n=len(alerts)),
                   lines=[_t("alert_line_where", lang, where=where)], link=link,
                   link_text=_t("alert_line_open", lang),
                   severity="ok" if back else ("high" if any(a.severity == "high" for a in alerts) else "medium"),
                   items=items)
