"""The review in the team's language: one presentation step over the generated tabs, just before they are written.

The computation writes canonical values (English contract names, statuses, tiers, notes); this module is the
only place that turns them into what a reader sees. With ``language`` zh or es it translates

* the header row, from each column's ``label`` in ``sheet_templates/*.yaml``;
* enumerated values (status, tier, role, scope, direction, severity, KPI keys) and the lines the computation
  writes (Attainment notes, Scorecard flags, Sync Log lines, the definitions line), from the catalogues
  ``sheets_sync/i18n/labels_{en,zh,es}.yaml``: a catalogue text without placeholders is a value, one with
  ``{placeholders}`` is a line pattern matched against the English line;
* chart titles.

Colours stay keyed by the canonical values (the tab carries ``colours`` = shown text → colour), and the tabs keep
their English names (the sync and the Apps Script menu find them by name; formulas people wrote keep working):
the translated tab name is shown at the start of row 1 instead.

:func:`finish_tabs` also does the presentation every language gets: Daily's cumulative columns and charts, the
Scorecard coloured by bonus tier, History's trend chart, and column widths from the text's display width
(a CJK character counts double).
"""

from __future__ import annotations

import dataclasses
import math
import re
import string
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from .i18n import LANGUAGES, bundled_yaml
from .i18n import catalog as sentences
from .kpis import CATALOG
from .sheets.base import ChartIntent, GeneratedTab, colour_rules, display_width
from .template import Template

# Placeholders whose text is shown as captured (file names, cell addresses, what people typed, dates, numbers).
VERBATIM = {"where", "kind", "file", "source", "raw", "x", "pct", "n", "row", "rows", "manual", "report", "winner",
            "asins", "days", "start", "end", "window", "targets", "owners", "reports", "errors", "warnings",
            "workbook", "seconds", "period", "currency", "fx", "ads", "reason", "total", "when", "tab",
            "keys", "what", "guess"}
# Placeholders that take as much text as they can (what a Sync Log problem expected may itself hold "; ").
GREEDY = {"expected"}
# Columns holding people's own data (names, ASINs, product titles): never translated.
DATA_COLUMNS = {"owner", "requested_by", "asin", "sku", "started_at", "period", "as_of", "data_through"}
# Columns holding lines (patterns are tried; "; "-joined parts one by one); other columns hold values only.
LINE_COLUMNS = {"note", "flags", "message", "basis", "title", "top_return_reason", "finding", "evidence", "scope"}
# i18n sentence keys whose English text the computation also writes (the definitions line of every tab).
SENTENCE_KEYS = ("definitions", "none", "no_data_short", "tax_exclude", "tax_include", "refunds_gross", "refunds_net")
LIST_SEPARATOR = {"zh": "、", "es": ", ", "en": ", "}
PART_SEPARATOR = {"zh": "；", "es": "; ", "en": "; "}
# Columns of sentences: in Chinese their "; " and ", " become "；" and "、" (the review's sentences join parts
# with the Latin marks) and the space between two Chinese characters goes.
SENTENCE_COLUMNS = {"note", "flags", "message", "basis", "finding", "evidence", "kpi"}
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\uff08\uff09\uff1a\uff1b\uff0c\u3001\u3002])[ ]+"
                        r"(?=[\u3400-\u9fff\uff08\uff09\uff1a\uff1b\uff0c\u3001\u3002])")
TIER_COLOURS = ("FFC7CE", "FFEB9C", "E2EFDA", "C6EFCE", "A9D08E")   # lowest payout → highest


def zh_punctuation(text: str) -> str:
    """Chinese punctuation for a sentence the code joined with Latin marks (numbers keep their commas; what
    people typed, quoted in a Sync Log line, is left as typed)."""
    parts = text.split('"')
    for i in range(0, len(parts), 2):
        parts[i] = _CJK_SPACE.sub("", parts[i].replace("; ", "；").replace(", ", "、"))
    return '"'.join(parts)


@cache
def labels(language: str) -> dict[str, str]:
    lang = language if language in LANGUAGES else "en"
    raw = bundled_yaml("sheets_sync.i18n", f"labels_{lang}.yaml")
    return {str(k): str(v) for k, v in raw.items()}


def _fields(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


class Translator:
    """English (canonical) text → the language's text. Unknown text comes back unchanged."""

    def __init__(self, language: str):
        self.language = language
        self.values: dict[str, str] = {}
        self.kpis: dict[str, str] = {}
        self.patterns: list[tuple[str, re.Pattern[str], str, int]] = []
        if language == "en":
            return
        en, other = labels("en"), labels(language)
        pairs = [(en[k], other[k]) for k in en if not k.startswith("tab.")]
        en_s, other_s = sentences("en"), sentences(language)
        pairs += [(en_s[k], other_s[k]) for k in SENTENCE_KEYS if k in en_s and k in other_s]
        self.kpis = {key: (kpi.zh if language == "zh" else kpi.es) for key, kpi in CATALOG.items()}
        pairs += list(self.kpis.items())
        for src, dst in pairs:
            if not _fields(src):
                self.values.setdefault(src, dst)
                continue
            regex, literal, total = "", "", 0
            seen: set[str] = set()
            for lit, name, _, _ in string.Formatter().parse(src):
                regex += re.escape(lit)
                literal, total = max(literal, lit, key=len), total + len(lit)
                if name:
                    lazy = "" if name in GREEDY else "?"
                    regex += f"(?P={name})" if name in seen else f"(?P<{name}>.+{lazy})"
                    seen.add(name)
            self.patterns.append((literal, re.compile(f"^{regex}$", re.S), dst, total))
        self.patterns.sort(key=lambda p: -p[3])   # the most specific (most fixed text) first
        self._cache: dict[str, str] = {}

    def kpi(self, v: Any) -> Any:
        """A KPI cell: the KPI's name for a key, else as a line (Commentary lists names already)."""
        if self.language == "en" or not isinstance(v, str):
            return v
        return self.kpis.get(v) or self.line(v)

    def value(self, v: Any) -> Any:
        if self.language == "en" or not isinstance(v, str):
            return v
        return self.values.get(v, v)

    def line(self, v: Any, depth: int = 0) -> Any:
        """A whole line: a value, a pattern, else its "; "-separated parts one by one."""
        if self.language == "en" or not isinstance(v, str) or not v:
            return v
        hit = self._cache.get(v)
        if hit is not None:
            return hit
        out = self._line(v, depth)
        if len(self._cache) < 50_000:
            self._cache[v] = out
        return out

    def _line(self, v: str, depth: int) -> str:
        if v in self.values:
            return self.values[v]
        if depth < 4:
            for literal, rx, dst, _ in self.patterns:
                if literal and literal not in v:
                    continue
                m = rx.match(v)
                if m is None:
                    continue
                fill = {k: (s if k in VERBATIM or s.startswith(('"', "'")) else self._part(s, depth + 1))
                        for k, s in m.groupdict().items()}
                try:
                    return dst.format(**fill)
                except (KeyError, IndexError, ValueError):
                    return v
            if "; " in v:
                parts = v.split("; ")
                done = [self.line(p, depth + 1) for p in parts]
                if done != parts:
                    return PART_SEPARATOR[self.language].join(done)
        return v

    def _part(self, s: str, depth: int) -> str:
        """A placeholder's text: a value or line, else a ", "-separated list of them."""
        out = self.line(s, depth)
        if out != s or ", " not in s:
            return out
        items = s.split(", ")
        done = [self.line(i, depth) for i in items]
        return LIST_SEPARATOR[self.language].join(done) if done != items else s


def translate_lines(lines: Iterable[str], language: str) -> list[str]:
    """Lines for the console (CLI summary, problems) in ``language``."""
    tr = translator(language)
    return [tr.line(x) for x in lines]


@cache
def translator(language: str) -> Translator:
    return Translator(language if language in LANGUAGES else "en")


def say(key: str, language: str, **fmt: Any) -> str:
    """A label catalogue text (``cli.head``, ``chart.score`` …) in ``language`` with its placeholders filled."""
    lang = language if language in LANGUAGES else "en"
    return labels(lang)[key].format(**fmt)


# -- presentation every language gets ----------------------------------------------------------------------
DAILY_LEAD = ("marketplace", "date", "gmv", "paced_target_gmv", "cum_gmv", "cum_paced_target_gmv")
DAILY_CHART_WIDTH = 90   # characters: the blank column the Daily charts sit in (about 650 px on both backends)


def _daily(tab: GeneratedTab, language: str) -> None:
    """Cumulative actual and cumulative paced target per marketplace, and the chart that compares them (the
    daily paced target steps with the calendar's event weights, which a daily line makes look like a miss)."""
    cols = tab.columns
    if not {"cum_gmv", "cum_paced_target_gmv", "gmv", "paced_target_gmv", "marketplace"} <= set(cols):
        return
    j_mk, j_g, j_t = cols.index("marketplace"), cols.index("gmv"), cols.index("paced_target_gmv")
    j_cg, j_ct = cols.index("cum_gmv"), cols.index("cum_paced_target_gmv")
    run: dict[str, list[float]] = {}
    for row in tab.rows:
        row.extend([None] * (len(cols) - len(row)))
        acc = run.setdefault(str(row[j_mk]), [0.0, 0.0])
        g, t = row[j_g], row[j_t]
        acc[0] += g if isinstance(g, int | float) else 0.0
        acc[1] += t if isinstance(t, int | float) else 0.0
        row[j_cg] = round(acc[0], 6)
        row[j_ct] = round(acc[1], 6) if t is not None else None
    # First screen: the figures the chart plots, then a blank column as wide as a chart that holds the charts
    # (one per marketplace, stacked), then the other daily metrics. The charts cover no figure.
    lead = [c for c in DAILY_LEAD if c in cols]
    rest = [c for c in cols if c not in lead]
    order = [*lead, "", *sorted(rest, key=lambda c: c != "provisional")]   # the day's flag first after the charts
    pick = [cols.index(c) if c else None for c in order]
    tab.rows = [[row[j] if j is not None else None for j in pick] for row in tab.rows]
    tab.columns = order
    tab.widths = {**tab.widths, "": DAILY_CHART_WIDTH}
    tab.charts = [ChartIntent("line", say("chart.cumulative", language), "date",
                              ("cum_gmv", "cum_paced_target_gmv"), split_by="marketplace", anchor_column=len(lead))]


def _scorecard(tab: GeneratedTab, language: str) -> None:
    """Colour the bonus tier: the lowest payout red … the highest green (tiers are the team's own words)."""
    if "tier" not in tab.columns or "payout" not in tab.columns:
        return
    j_t, j_p = tab.columns.index("tier"), tab.columns.index("payout")
    payout: dict[str, float] = {}
    for row in tab.rows:
        tier, p = row[j_t] if j_t < len(row) else None, row[j_p] if j_p < len(row) else None
        if isinstance(tier, str) and tier:
            payout[tier] = max(payout.get(tier, 0.0), p if isinstance(p, int | float) else 0.0)
    ranked = sorted(payout, key=lambda t: payout[t])
    if not ranked:
        return
    n = len(ranked)
    colours = {}
    for i, tier in enumerate(ranked):
        k = 0 if n == 1 and payout[tier] <= 0 else round(i * (len(TIER_COLOURS) - 1) / max(1, n - 1))
        colours[tier] = TIER_COLOURS[k if n > 1 else (3 if payout[tier] > 0 else 0)]
    tab.status_column = "tier"
    tab.colours = colours
    tab.charts = [ChartIntent("bar", say("chart.score", language), "owner", ("score", "projected_score"))]


TREND_POINTS = 60   # the Scorecard's trend block: the latest as-of dates (about two months of daily syncs)


def _score_trend(tab: GeneratedTab, history: GeneratedTab | None, attainment: GeneratedTab | None,
                 language: str, cap: float) -> None:
    """Each owner's weighted score per as-of date (from History), as a block right of the Scorecard, and its
    trend chart. Weights are the Attainment tab's (by target row, owner and KPI; 1 for rows no longer in
    Targets), attainment capped like the score. The block sits on the Scorecard, not in History: a Google sheet
    is a rectangle of cells, and a block beside History would widen every one of its rows."""
    need = {"period", "as_of", "target_row", "owner", "kpi", "attainment"}
    if history is None or not need <= set(history.columns) or not history.rows:
        return
    ix = {c: history.columns.index(c) for c in need}
    weights: dict[tuple, float] = {}
    if attainment is not None and {"target_row", "owner", "kpi", "weight"} <= set(attainment.columns):
        a = {c: attainment.columns.index(c) for c in ("target_row", "owner", "kpi", "weight")}
        for r in attainment.rows:
            w = r[a["weight"]]
            weights[(r[a["target_row"]], r[a["owner"]], r[a["kpi"]])] = w if isinstance(w, int | float) else 1.0
    sums: dict[tuple[Any, Any], dict[str, list[float]]] = {}
    owners: list[str] = []
    for r in history.rows:
        att, owner = r[ix["attainment"]], r[ix["owner"]]
        if not isinstance(att, int | float) or not owner:
            continue
        if owner not in owners:
            owners.append(owner)
        w = weights.get((r[ix["target_row"]], owner, r[ix["kpi"]]), 1.0)
        acc = sums.setdefault((r[ix["period"]], r[ix["as_of"]]), {}).setdefault(owner, [0.0, 0.0])
        acc[0] += w * min(att, cap)
        acc[1] += w
    if not sums or len(owners) > 50:
        return
    date_col = say("chart.history_date", language)
    extra = ["", date_col, *owners]
    if len(set(extra[1:]) | set(tab.columns)) != len(extra) - 1 + len(tab.columns):
        return                                           # an owner named like a column: no block
    points = sorted(sums.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))[-TREND_POINTS:]
    width, owner_rows = len(tab.columns), len(tab.rows)
    while len(tab.rows) < len(points):
        tab.rows.append([None] * width)
    for n, (key, per_owner) in enumerate(points):
        row = tab.rows[n]
        row.extend([None] * (width - len(row)))
        row.extend([None, key[1], *[(per_owner[o][0] / per_owner[o][1] if o in per_owner and
                                     per_owner[o][1] else None) for o in owners]])
    tab.columns = [*tab.columns, *extra]
    tab.formats = {**tab.formats, date_col: "date", **{o: "percent" for o in owners}}
    tab.widths = {**tab.widths, "": 2, date_col: 12, **{o: max(9, display_width(o) + 2) for o in owners}}
    tab.charts = [dataclasses.replace(ch, rows=owner_rows) for ch in tab.charts]   # the bars: owners only
    tab.charts.append(ChartIntent("line", say("chart.history", language), date_col, tuple(owners),
                                  rows=len(points)))


def finish_tabs(tabs: Sequence[GeneratedTab], template: Template, language: str,
                cap: float = 1.5) -> list[GeneratedTab]:
    """The tabs as the reader sees them: presentation, then the language (``en`` keeps the canonical text).
    ``cap`` is the Settings attainment_cap (the Scorecard's trend of owner scores from History uses it too)."""
    lang = language if language in LANGUAGES else "en"
    out = []
    attainment = next((t for t in tabs if t.name == "Attainment"), None)
    history = next((t for t in tabs if t.name == "History"), None)
    for tab in tabs:
        copy = lang != "en" or tab.name in ("Daily", "Scorecard")   # the computation's rows are never changed in place
        tab = dataclasses.replace(tab, rows=[list(r) for r in tab.rows] if copy else tab.rows,
                                  charts=list(tab.charts), colours=dict(tab.colours))
        if tab.name == "Daily":
            _daily(tab, lang)
        elif tab.name == "Scorecard":
            _scorecard(tab, lang)
            _score_trend(tab, history, attainment, lang, cap)
        out.append(localize_tab(tab, template, lang))
    return out


def localize_tab(tab: GeneratedTab, template: Template, language: str) -> GeneratedTab:
    """One tab in ``language``: values, lines, headers, colours, chart titles, widths."""
    tr = translator(language)
    try:
        spec = template.tab(tab.name)
        header = {c.name: c.label(language) for c in spec.columns}
    except KeyError:
        header = {}
    if tab.status_column and not tab.colours:
        tab.colours = colour_rules(tab.status_column)
    if language != "en":
        kinds = [("skip" if c in DATA_COLUMNS else "line" if c in LINE_COLUMNS else "kpi" if c == "kpi" else "value")
                 for c in tab.columns]
        punct = [language == "zh" and c in SENTENCE_COLUMNS for c in tab.columns]
        for row in tab.rows:
            for j, v in enumerate(row):
                if isinstance(v, str) and v and j < len(kinds) and kinds[j] != "skip":
                    v = tr.line(v) if kinds[j] == "line" else tr.kpi(v) if kinds[j] == "kpi" else tr.value(v)
                    row[j] = zh_punctuation(v) if punct[j] else v
        tab.colours = {tr.value(k): c for k, c in tab.colours.items()}
        title = tr.line(tab.title)
        title = zh_punctuation(title) if language == "zh" else title
        tab.title = f"{say('tab.' + tab.name, language)} · {title}" if f"tab.{tab.name}" in labels(language) else title
    widths = _widths(tab, header)
    shown = [header.get(c, c) for c in tab.columns]
    if shown == tab.columns:
        tab.widths = widths
        return tab
    rename = dict(zip(tab.columns, shown, strict=True))

    def keyed(d: dict[str, Any]) -> dict[str, Any]:
        return {rename.get(k, k): v for k, v in d.items()}

    charts = [dataclasses.replace(ch, category=rename.get(ch.category, ch.category),
                                  series=tuple(rename.get(s, s) for s in ch.series),
                                  split_by=rename.get(ch.split_by, ch.split_by) if ch.split_by else None)
              for ch in tab.charts]
    return dataclasses.replace(tab, columns=shown, formats=keyed(tab.formats), row_formats=keyed(tab.row_formats),
                               widths=keyed(widths), charts=charts,
                               status_column=rename.get(tab.status_column, tab.status_column)
                               if tab.status_column else None)


WIDE_TEXT = 40     # a text column at least this wide wraps (long findings, notes); others grow to fit
MAX_FIT = 36       # a value column grows at most to this width


def _widths(tab: GeneratedTab, header: dict[str, str]) -> dict[str, int]:
    """Each column wide enough for its header (wrapped over two lines) and, for value columns, its longest
    value, counting display width (CJK double)."""
    out = dict(tab.widths)
    sample = tab.rows[:2000]
    for j, c in enumerate(tab.columns):
        base = int(tab.widths.get(c, 10))
        text = header.get(c, c)
        head = display_width(text)
        # bold headers are about a fifth wider than their characters; a long one wraps over two lines, at a
        # space (Latin) or anywhere (CJK): a single word such as `projected_score` stays on one line
        one_line = head <= 12 or (head == len(text) and not any(ch.isspace() for ch in text))
        need = max(base, math.ceil(1.2 * head) + 2 if one_line else math.ceil(1.2 * math.ceil(head / 2)) + 4)
        if base < WIDE_TEXT and tab.formats.get(c, "text") == "text":
            longest = max((display_width(r[j]) for r in sample if j < len(r) and isinstance(r[j], str)), default=0)
            need = max(need, min(longest + 1, MAX_FIT))
        out[c] = need
    return out


__all__ = ["Translator", "display_width", "finish_tabs", "labels", "localize_tab", "say",
           "translate_lines", "translator"]
