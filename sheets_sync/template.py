"""Template v1: the tabs of docs/workbook.md, defined once in ``sheet_templates/*.yaml``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from . import TEMPLATE_VERSION
from .i18n import bundled_yaml
from .periods import seeded_events
from .sheets.base import GeneratedTab, TeamTabSeed

_TOKEN = re.compile(r"^\{(\w+)\.(start|end)\}$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"
    help: str = ""
    required: bool = False
    values: tuple[str, ...] = ()
    width: int = 12
    labels: tuple[tuple[str, str], ...] = ()   # (language, header) pairs: ("zh", "达成率"), ("es", "Cumplimiento")

    def label(self, language: str) -> str:
        """The header shown in ``language`` (the contract name when the template has no label for it)."""
        return dict(self.labels).get(language) or self.name


@dataclass(frozen=True)
class TabSpec:
    name: str
    kind: str                  # "team" or "generated"
    order: int
    help: str
    columns: tuple[Column, ...]
    examples: tuple[tuple[Any, ...], ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def date_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.type in ("date", "datetime")]


@dataclass(frozen=True)
class Template:
    version: int
    tabs: tuple[TabSpec, ...]

    def tab(self, name: str) -> TabSpec:
        for t in self.tabs:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def team(self) -> list[TabSpec]:
        return [t for t in self.tabs if t.kind == "team"]

    @property
    def generated(self) -> list[TabSpec]:
        return [t for t in self.tabs if t.kind == "generated"]

    def seeds(self, today: dt.date | None = None, examples: bool = True) -> list[TeamTabSeed]:
        """Team tabs with a note on every column and drop-downs on the enumerated ones; Calendar dates resolved
        for ``today``'s year. Without ``examples`` the tabs of people and products (Targets, Products, Manual
        Actuals, Benchmarks) are empty: Settings, Bonus Tiers and Calendar keep their defaults."""
        events = seeded_events((today or dt.date.today()).year)
        out = []
        for t in self.team:
            keep = examples or t.name not in EXAMPLE_TABS
            rows = [[_resolve(v, events) for v in r] for r in t.examples] if keep else []
            checks = {c.name: column_values(c) for c in t.columns if column_values(c)}
            per_cell: list[tuple[int, str, tuple[str, ...]]] = []
            if t.name == "Settings":
                per_cell = [(i, "value", SETTING_VALUES[r[0]]) for i, r in enumerate(rows) if r and r[0] in SETTING_VALUES]
            out.append(TeamTabSeed(
                name=t.name, columns=t.column_names, rows=rows,
                formats={c.name: _format_of(c.type) for c in t.columns},
                widths={c.name: c.width for c in t.columns},
                notes={c.name: column_note(c) for c in t.columns},
                validations=checks, cell_validations=per_cell, cell_formats=_percent_cells(t, rows)))
        return out

    def empty_generated(self) -> list[GeneratedTab]:
        return [GeneratedTab(name=t.name, columns=t.column_names, rows=[], title=t.help,
                             formats={c.name: _format_of(c.type) for c in t.columns},
                             widths={c.name: c.width for c in t.columns}) for t in self.generated]


# Tabs whose template rows are the demo's people, products and figures: ``init`` leaves them empty.
EXAMPLE_TABS = ("Targets", "Products", "Manual Actuals", "Benchmarks")
# Drop-downs of the Settings rows with a closed set of values.
SETTING_VALUES: dict[str, tuple[str, ...]] = {
    "language": ("en", "zh", "es"), "gmv_tax": ("exclude", "include"), "gmv_refunds": ("gross", "net"),
    "ads_attribution": ("7d", "14d"), "walmart_ads_attribution": ("3d", "14d", "30d"),
    "marketplaces": ("US, MX", "US", "MX", "US, MX, MLM", "MX, MLM", "MLM", "US, MX, MLM, WMUS", "WMUS", "WMMX"),
    "base_currency": ("USD", "MXN"),
}
TYPE_NOTES = {"period": "blank = the Settings period; or 2026-11, 2026-W47, 2026-Q4",
              "target": "a number; percent KPIs accept 25% or 0.25", "money": "an amount in the base currency", "percent": "a percentage such as 50% or 0.5",
              "any": "a value",
              "number": "a number (20% is read as 0.2)", "date": "a date (YYYY-MM-DD)",
              "asin": "an ASIN (10 letters and digits, such as B0C7K1M2A1) or, on MLM, a Mercado Libre listing number "
                      "(# de publicación, such as MLM1234567890)",
              "kpi": "a KPI key or its name in any language (cvr, 转化率, Tasa de conversión)"}


def _percent_cells(t: TabSpec, rows: list[list[Any]]) -> list[tuple[int, str, str]]:
    """Target / actual / benchmark cells of percent KPIs, shown as percentages (12 %, not 0.12)."""
    from .kpis import CATALOG

    names = t.column_names
    if "kpi" not in names:
        return []
    k = names.index("kpi")
    out = []
    for i, r in enumerate(rows):
        kpi = CATALOG.get(str(r[k]) if k < len(r) else "")
        if kpi is not None and kpi.is_percent:
            out += [(i, c.name, "percent") for j, c in enumerate(t.columns)
                    if c.type == "target" and j < len(r) and isinstance(r[j], int | float)]
    return out


def column_values(c: Column) -> tuple[str, ...]:
    """The drop-down of a team column: its enum values, every KPI key, or the roles."""
    from .kpis import CATALOG, ROLES

    if c.type == "kpi":
        return tuple(CATALOG)
    if c.name == "role":
        return ROLES
    return c.values


def column_note(c: Column) -> str:
    """The note on a team column's header: its help, else what it takes."""
    if c.help:
        return c.help
    values = column_values(c)
    if values and c.type != "kpi":
        return "one of " + ", ".join(values) + ("" if c.required else " (or blank)")
    return TYPE_NOTES.get(c.type, "free text" if c.type == "text" else c.type) + (" (required)" if c.required else "")


def _format_of(col_type: str) -> str:
    return {"money": "money", "percent": "percent", "score": "score", "int": "int", "number": "number", "date": "date",
            "target": "number"}.get(col_type, "text")


def _resolve(value: Any, events: dict[str, tuple[dt.date, dt.date]]) -> Any:
    if isinstance(value, str) and (m := _TOKEN.match(value)):
        start, end = events[m[1]]
        return start if m[2] == "start" else end
    return value


@cache
def load_template() -> Template:
    tabs = []
    for res in sorted(resources.files("sheet_templates").iterdir(), key=lambda r: r.name):
        if not res.name.endswith(".yaml"):
            continue
        raw = bundled_yaml("sheet_templates", res.name)
        cols = tuple(Column(name=c["name"], type=c.get("type", "text"), help=c.get("help", ""),
                            required=bool(c.get("required", False)), values=tuple(c.get("values", ())),
                            width=int(c.get("width", 12)),
                            labels=tuple(sorted((str(k), str(v)) for k, v in (c.get("label") or {}).items())))
                     for c in raw["columns"])
        tabs.append(TabSpec(name=raw["name"], kind=raw["kind"], order=int(raw["order"]), help=raw.get("help", ""),
                            columns=cols, examples=tuple(tuple(r) for r in raw.get("examples", ()))))
    tabs.sort(key=lambda t: t.order)
    return Template(version=TEMPLATE_VERSION, tabs=tuple(tabs))


TEAM_TABS = ("Settings", "Targets", "Products", "Manual Actuals", "Benchmarks", "Bonus Tiers", "Calendar")
GENERATED_TABS = ("Scorecard", "Attainment", "Commentary", "Actuals", "Campaigns", "Daily", "Target Suggestions",
                  "History", "Sync Log")
