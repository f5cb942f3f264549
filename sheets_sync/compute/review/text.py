"""Numbers in sentences, and the data-definitions line, in the Settings language (no cell formats here)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from ...i18n import t as _t
from ...inputs import Settings
from ...kpis import CATALOG
from ...stores import is_walmart, mixes_stores


def _fmt_money(x: float, currency: str) -> str:
    return f"{x:,.0f} {currency}" if abs(x) >= 100 else f"{x:,.2f} {currency}"


def _fmt_signed_money(x: float, currency: str) -> str:
    return ("+" if x > 0 else "−" if x < 0 else "") + _fmt_money(abs(x), currency)


def _fmt_pct(x: float) -> str:
    return f"{x:.1%}" if abs(x) < 0.1 else f"{x:.0%}" if abs(x) >= 10 else f"{x:.1%}"


def fmt_value(kpi: str, x: float | None, currency: str) -> str:
    """A KPI value as people read it: money with the currency, percentages with %, counts with separators."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    unit = CATALOG[kpi].unit if kpi in CATALOG else "number"
    if unit == "money":
        return _fmt_money(x, currency)
    if unit == "percent":
        return f"{x:.2%}" if abs(x) < 0.01 else f"{x:.1%}"
    if unit in ("count", "rank", "flag") and float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"


def _iso(d: dt.date | None) -> str:
    return d.isoformat() if d else "—"


def _list(items: Iterable[str], limit: int = 8) -> str:
    items = list(items)
    if not items:
        return "—"
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit})" if len(items) > limit else "")


def definitions(settings: Settings, data_through: dict[str, dt.date | None]) -> str:
    """The data definitions in force, in the Settings language."""
    lang = settings.language
    fx = ", ".join(f"{c} {r:g}/{settings.base_currency}" for c, r in sorted(settings.fx.items())) or _t("none", lang)
    through = ", ".join(f"{m} {d.isoformat() if d else _t('no_data_short', lang)}"
                        for m, d in sorted(data_through.items())) or _t("no_data_short", lang)
    p = settings.period
    line = _t("definitions", lang, period=p.label, start=p.start.isoformat(), end=p.end.isoformat(),
              currency=settings.base_currency, fx=fx, tax=_t(f"tax_{settings.gmv_tax}", lang),
              refunds=_t(f"refunds_{settings.gmv_refunds}", lang), ads=settings.ads_attribution, through=through)
    if mixes_stores(settings.marketplaces):
        stores = " + ".join(_t(f"store_long_{m}", lang) for m in settings.marketplaces)
        line += _t("definitions_stores" if "MLM" in settings.marketplaces else "definitions_stores_plain", lang,
                   stores=stores)
    if any(is_walmart(m) for m in settings.marketplaces):    # Walmart's own attribution window and day basis
        line += _t("definitions_walmart", lang, window=_t(f"window_{settings.walmart_ads_attribution}", lang))
    return line
