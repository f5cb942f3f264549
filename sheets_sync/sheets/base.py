"""The workbook port: read team tabs in one call, write generated tabs in one atomic call.

Cell values crossing the port (both directions) are plain Python: ``None``, ``str``, ``int``, ``float``,
``bool``, ``datetime.date``, ``datetime.datetime``. Percent cells are fractions (25 % → ``0.25``). Every
adapter returns the same values for the same sheet: a Google date serial in a column the template types as
``date`` comes back as ``datetime.date``, like the xlsx adapter's.

Generated tabs share one layout: row 1 is the definitions line (period, currency, FX, tax basis, refunds
basis, data-through), row 2 the header, data from row 3 (:data:`GENERATED_HEADER_ROW`). Team tabs have the
header in row 1 and data from row 2.

Formatting is described once, as backend-neutral *format intents* on :class:`GeneratedTab` (number formats
per column, widths, frozen rows, a status column coloured by value, charts, protection); each adapter renders
them in its own terms.
"""

from __future__ import annotations

import abc
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

GENERATED_HEADER_ROW = 2
TEAM_HEADER_ROW = 1

# Number-format intents a column may carry.
FORMATS = ("text", "int", "number", "money", "percent", "score", "date", "datetime")
# "score": a percent shown with two decimals (attainment, score, contribution), so that a score of 119.95 %
# reads 119.95 %, not 120.0 %, beside a tier decided on that same stored value.
STATUS_COLOURS = {"on track": "C6EFCE", "at risk": "FFEB9C", "off track": "FFC7CE"}
SEVERITY_COLOURS = {"high": "FFC7CE", "medium": "FFEB9C"}


def colour_rules(status_column: str | None, colours: dict[str, str] | None = None) -> dict[str, str]:
    """Cell text → background colour for a tab's status column (Commentary colours its severities).
    ``colours`` (a tab's own, e.g. the shown words of a translated status column) wins when given."""
    if not status_column:
        return {}
    if colours:
        return dict(colours)
    return SEVERITY_COLOURS if status_column == "severity" else STATUS_COLOURS


# Below U+1100 no assigned character is wide; these blocks are wide throughout (CJK ideographs, kana, Hangul
# syllables, CJK punctuation, full-width forms) and are counted by one search instead of a look-up a character.
_FIRST_WIDE = "\u1100"
_WIDE_BLOCKS = ("\u3000-\u303e\u3041-\u3247\u3250-\u33ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3"
                "\uf900-\ufaff\uff01-\uff60\uffe0-\uffe6")
_WIDE = re.compile(f"[{_WIDE_BLOCKS}]")
_MAYBE_WIDE = re.compile(f"[^\\x00-\u10ff{_WIDE_BLOCKS}]")     # every other character from U+1100 on


def display_width(text: Any) -> int:
    """Columns the text takes on screen: East Asian wide and full-width characters (汉字, ，) count 2, so row
    heights and column widths fit Chinese as well as Latin text."""
    s = "" if text is None else str(text)
    if s.isascii() or max(s) < _FIRST_WIDE:     # most cells (also "—", "×", "Días"): a column a character
        return len(s)
    return (len(s) + len(_WIDE.findall(s))
            + sum(unicodedata.east_asian_width(ch) in ("W", "F") for ch in _MAYBE_WIDE.findall(s)))


def col_letter(index: int) -> str:
    """A1 column letters of a 0-based column index: 0 → A, 25 → Z, 26 → AA."""
    s = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        s = chr(65 + rem) + s
    return s


CHART_ROW_STEP = 17    # rows between charts stacked in one column (a chart is about 320 px high)
CHART_WIDTH_CM = 16.9  # a chart's width: 640 px on Google Sheets, the same in an xlsx file


@dataclass(frozen=True)
class ChartIntent:
    """A chart over columns of the same tab: ``kind`` is ``bar`` or ``line``."""

    kind: str
    title: str
    category: str                 # column for the x axis / categories
    series: tuple[str, ...]       # columns plotted
    anchor_column: int = 0        # 0 = right of the table; n = over column n (0-based), from the first data row
    split_by: str | None = None   # one chart per run of equal values in this column (Daily: per marketplace)
    rows: int | None = None       # plot only the first ``rows`` data rows (a block beside a longer table)


def chart_blocks(tab: GeneratedTab, chart: ChartIntent) -> list[tuple[str, int, int]]:
    """The data rows each chart of an intent plots: ``(label, first, last)``, 0-based data-row indices,
    inclusive. One block for the whole table unless the intent splits by a column."""
    if not tab.rows:
        return []
    if not chart.split_by or chart.split_by not in tab.columns:
        last = len(tab.rows) if chart.rows is None else min(chart.rows, len(tab.rows))
        return [("", 0, last - 1)] if last > 0 else []
    j = tab.columns.index(chart.split_by)
    blocks: list[tuple[str, int, int]] = []
    for n, row in enumerate(tab.rows):
        label = str(row[j] if j < len(row) and row[j] is not None else "")
        if blocks and blocks[-1][0] == label:
            blocks[-1] = (label, blocks[-1][1], n)
        else:
            blocks.append((label, n, n))
    return blocks


@dataclass
class GeneratedTab:
    """A tab owned by the service, replaced whole on every sync."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
    title: str = ""                                         # definitions line, row 1
    formats: dict[str, str] = field(default_factory=dict)   # column → one of FORMATS; default "text"/auto
    row_formats: dict[str, list[str | None]] = field(default_factory=dict)   # column → a format per row
    #   (overrides ``formats`` where not None: e.g. Attainment's target is money on one row, percent on the next)
    widths: dict[str, int] = field(default_factory=dict)    # column → width in characters
    status_column: str | None = None                        # values coloured by STATUS_COLOURS
    colours: dict[str, str] = field(default_factory=dict)   # shown cell text → colour for the status column
    #   (set by sheets_sync.localize from the canonical English values, so colours never depend on the language)
    charts: list[ChartIntent] = field(default_factory=list)
    protected: bool = True
    currency: str = "USD"                                   # for "money" columns

    def cell_count(self) -> int:
        return (len(self.rows) + GENERATED_HEADER_ROW) * max(1, len(self.columns))


@dataclass
class TeamTabSeed:
    """A team tab as ``init`` creates it: header + example rows. Never written by a sync."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
    formats: dict[str, str] = field(default_factory=dict)
    widths: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)     # column → help text (header comment / note)
    validations: dict[str, tuple[str, ...]] = field(default_factory=dict)   # column → drop-down values
    cell_validations: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)
    cell_formats: list[tuple[int, str, str]] = field(default_factory=list)
    #   (data row index from 0, column, format intent): e.g. a Targets example's rate target shown as 12 %
    #   (data row index from 0, column, drop-down values): one cell's own list (a Settings row such as language)


@dataclass
class WriteStats:
    api_calls: int = 0
    cells: int = 0
    bytes_sent: int = 0


Table = list[list[Any]]


class Workbook(abc.ABC):
    """A team workbook. Adapters implement the three abstract methods; nothing else sees the backend."""

    #: backend API calls made by this object so far (0 for local files)
    api_calls: int = 0

    @abc.abstractmethod
    def read_tabs(self, names: Sequence[str]) -> dict[str, Table | None]:
        """Read these tabs in one request. ``None`` for a tab that does not exist. Rows are as stored,
        row 0 = sheet row 1; trailing empty cells may be missing (ragged rows)."""

    @abc.abstractmethod
    def write_tabs(self, tabs: Sequence[GeneratedTab]) -> WriteStats:
        """Replace these generated tabs whole, atomically: either all are written or none is.
        Must never touch any other tab."""

    @abc.abstractmethod
    def create_tabs(self, seeds: Sequence[TeamTabSeed], generated: Sequence[GeneratedTab],
                    metadata: dict[str, str]) -> list[str]:
        """``init``: add the tabs that are missing (team tabs with their example rows, generated tabs
        empty) and tag the workbook with ``metadata`` (template version). Existing tabs are left alone.
        Returns the names created."""

    def describe(self) -> str:
        """A human name for messages (a path or a sheet id); never a secret."""
        return type(self).__name__

    def fit_tabs(self, tabs: list[GeneratedTab]) -> list[str]:
        """Trim what the service owns (History's oldest as-of dates) so the write fits the backend's limits;
        one sentence per trim, for the Sync Log. Backends without such limits trim nothing."""
        return []
