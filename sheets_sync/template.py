"""Template v1: the tabs of docs/workbook.md, defined once in ``sheet_templates/*.yaml``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from . import TEMPLATE_VERSION
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

    def seeds(self, today: dt.date | None = None) -> list[TeamTabSeed]:
        """Team tabs with their example rows; Calendar dates resolved for ``today``'s year."""
        events = seeded_events((today or dt.date.today()).year)
        out = []
        for t in self.team:
            rows = [[_resolve(v, events) for v in r] for r in t.examples]
            out.append(TeamTabSeed(
                name=t.name, columns=t.column_names, rows=rows,
                formats={c.name: _format_of(c.type) for c in t.columns},
                widths={c.name: c.width for c in t.columns},
                notes={c.name: c.help for c in t.columns if c.help}))
        return out

    def empty_generated(self) -> list[GeneratedTab]:
        return [GeneratedTab(name=t.name, columns=t.column_names, rows=[], title=t.help,
                             formats={c.name: _format_of(c.type) for c in t.columns},
                             widths={c.name: c.width for c in t.columns}) for t in self.generated]


def _format_of(col_type: str) -> str:
    return {"money": "money", "percent": "percent", "int": "int", "number": "number", "date": "date",
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
        raw = yaml.safe_load(res.read_text(encoding="utf-8"))
        cols = tuple(Column(name=c["name"], type=c.get("type", "text"), help=c.get("help", ""),
                            required=bool(c.get("required", False)), values=tuple(c.get("values", ())),
                            width=int(c.get("width", 12))) for c in raw["columns"])
        tabs.append(TabSpec(name=raw["name"], kind=raw["kind"], order=int(raw["order"]), help=raw.get("help", ""),
                            columns=cols, examples=tuple(tuple(r) for r in raw.get("examples", ()))))
    tabs.sort(key=lambda t: t.order)
    return Template(version=TEMPLATE_VERSION, tabs=tuple(tabs))


TEAM_TABS = ("Settings", "Targets", "Products", "Manual Actuals", "Benchmarks", "Bonus Tiers", "Calendar")
GENERATED_TABS = ("Scorecard", "Attainment", "Commentary", "Actuals", "Daily", "Target Suggestions", "History",
                  "Sync Log")
