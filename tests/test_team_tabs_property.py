"""No value typed into any team tab crashes a sync, and every problem it causes is addressed (a tab and cell,
what would be valid). Cases per test come from the Hypothesis profile: a few dozen by default, 1,500 in the
``slow`` profile (``SHEETS_SYNC_HYPOTHESIS=slow``: 7 tabs + the whole-sync property = 12,000 cases)."""

from __future__ import annotations

import datetime as dt
import json
import re
import string

import pytest
from builders import TARGETS_HEADER, tables
from hypothesis import given
from hypothesis import strategies as st

from sheets_sync.errors import Problem
from sheets_sync.frames import RawReport
from sheets_sync.inputs import SETTING_KEYS, read_inputs
from sheets_sync.kpis import CATALOG
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.base import FetchRequest, Source
from sheets_sync.sync import sync_workbook
from sheets_sync.template import TEAM_TABS, load_template

TODAY = dt.date(2026, 11, 11)
NOW = dt.datetime(2026, 11, 11, 15, 0, tzinfo=dt.UTC)
TEMPLATE = load_template()

# What people type: words in three languages, numbers as text with separators and symbols, percentages,
# dates in several orders, formulas' leftovers, very long text, numbers of every size, dates, booleans.
words = st.sampled_from(["", " ", "US", "MX", "ALL", "all", "account", "asin", "sku", "tier", "category", "owner",
                         "gmv", "acos", "odr", "cvr", "Li Na", "张伟", "Sofía", "new", "mature", "clearance",
                         "higher", "lower", "exclude", "include", "gross", "net", "7d", "14d", "zh", "es", "en",
                         "2026-11", "2026-W45", "2026-Q4", "2026", "2026-13", "11/2026", "2026-11-01..2026-11-07",
                         "America/Mexico_City", "Asia/Shanghai", "UTC", "Mars/Olympus", "../../etc/passwd",
                         "B0AAAAAAA1", "B0AAAAAAA2", "US-A1", "Kitchen", "Buen Fin", "#N/A", "#DIV/0!", "=1/0",
                         "25%", "1,200", "1.200,50", "$1,200", "MX$ 3,000", "(12)", "1e400", "-0", "NaN", "inf",
                         "∞", "一千", "12 %", "0.8", "120%", "TRUE", "2026-11-31", "31/11/2026", "11/31/2026"])
texts = st.text(alphabet=string.printable + "ñé李张%$,¥€\u200b\u3000", max_size=40)
long_text = st.integers(100, 400).map(lambda n: "America/" + "x" * n)
cells = st.one_of(st.none(), words, texts, long_text, st.floats(allow_nan=True, allow_infinity=True),
                  st.integers(-10**18, 10**18), st.booleans(), st.dates(), st.datetimes())
setting_keys = st.one_of(st.sampled_from([*SETTING_KEYS, "fx.MXN", "fx.USD", "fx.", "vat.MX", "vat.US", "Period",
                                          " timezone "]), texts)
kpis = st.one_of(st.sampled_from(sorted(CATALOG)), words)


def row_for(tab: str) -> st.SearchStrategy:
    width = len(TEMPLATE.tab(tab).column_names)
    if tab == "Settings":
        return st.tuples(setting_keys, cells, cells).map(list)
    if tab == "Targets":
        return st.tuples(*[kpis if c == "kpi" else cells for c in TARGETS_HEADER]).map(list)
    return st.lists(cells, min_size=0, max_size=width + 2)


def team_tables(tab: str, rows: list[list]) -> dict:
    t = tables([[None, "US", "account", None, "Li Na", "ops", "gmv", 1000, 1, None, None]])
    header = TEMPLATE.tab(tab).column_names
    t[tab] = [header, *(t[tab][1:] if tab == "Settings" else []), *rows]
    return t


def addressed(p: Problem, files: tuple[str, ...] = ()) -> None:
    assert p.expected and p.action, p
    if p.where.startswith(files):
        return
    assert p.where.startswith(tuple(TEAM_TABS)) or (p.where == "Products" and p.severity == "warning"), p
    if "!" in p.where:
        assert re.fullmatch(r"[A-Z]+[0-9]+", p.where.split("!", 1)[1]), p


@pytest.mark.parametrize("tab", TEAM_TABS)
def test_any_cells_in_a_team_tab_are_read_without_crash_and_addressed(tab):
    @given(rows=st.lists(row_for(tab), max_size=6))
    def check(rows):
        inputs = read_inputs(team_tables(tab, rows), today=TODAY)
        for p in inputs.problems:
            addressed(p)
    check()


class OneDay(Source):
    """Two days of Sales and Traffic for the template's example ASINs (so the sync computes something)."""

    name = "test"

    def collect(self, request: FetchRequest):
        for day in ("2026-11-01", "2026-11-02"):
            doc = {"reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT", "dataStartTime": day,
                                           "dataEndTime": day, "marketplaceIds": ["ATVPDKIKX0DER"],
                                           "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"}},
                   "salesAndTrafficByDate": [],
                   "salesAndTrafficByAsin": [{"parentAsin": "B0AAAAAAA1", "childAsin": "B0AAAAAAA1",
                                              "salesByAsin": {"unitsOrdered": 5, "totalOrderItems": 5,
                                                              "orderedProductSales": {"amount": 100.0,
                                                                                      "currencyCode": "USD"}},
                                              "trafficByAsin": {"sessions": 50, "pageViews": 60,
                                                                "buyBoxPercentage": 90.0}}]}
            yield RawReport(name=f"US/st-{day}.json", data=json.dumps(doc).encode(), marketplace_hint="US")


@given(tab=st.sampled_from(TEAM_TABS), rows=st.lists(st.lists(cells, max_size=12), max_size=4),
       settings_rows=st.lists(row_for("Settings"), max_size=4))
def test_no_value_in_any_team_tab_crashes_a_sync(tab, rows, settings_rows):
    t = team_tables(tab, rows)
    t["Settings"] = [*t["Settings"], *settings_rows]
    wb = MemoryWorkbook({k: [list(r) for r in v] for k, v in t.items()})
    res = sync_workbook(wb, OneDay(), now=NOW)
    assert res.status in ("ok", "ok with warnings", "ok with errors", "failed"), res
    if res.status == "failed":
        assert res.error and res.error_code in ("input", "template"), res.error
    for line in res.problems:
        where = line.split(": ", 1)[0]
        assert where.startswith((*TEAM_TABS, "US/", "MX/", "test")), line


@pytest.mark.parametrize("value", ["America/" + "x" * 300, 42, 3.5, dt.date(2026, 1, 1), "Mars/Olympus",
                                   "../../etc/passwd", "UTC\x00", True])
def test_a_bad_timezone_is_an_addressed_warning_not_a_crash(value):
    t = tables([[None, "US", "account", None, "Li Na", "ops", "gmv", 1000, 1, None, None]])
    t["Settings"] = [*t["Settings"], ["timezone", value, None]]
    res = sync_workbook(MemoryWorkbook(t), OneDay(), now=NOW)
    assert res.ok, res.error
    tz = [p for p in res.problems if "time zone" in p]
    assert len(tz) == 1 and tz[0].startswith("Settings!B"), res.problems
    assert "America/Mexico_City" in tz[0]
