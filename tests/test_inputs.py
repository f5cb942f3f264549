"""Team-tab reading: every bad cell reported with its A1 address, the value and what would be valid."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest
from builders import A1, TARGETS_HEADER, products, settings, tables
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from sheets_sync.inputs import col_letter, parse_number, read_inputs
from sheets_sync.template import TEAM_TABS, load_template

TODAY = dt.date(2026, 11, 11)
OK = [None, "US", "account", None, "Li Na", "ops", "gmv", 1000, 1, None, None]


def problems_for(targets=None, **kw):
    inputs = read_inputs(tables(targets or [OK], **kw), today=TODAY)
    return inputs, {p.where: p for p in inputs.problems}


@pytest.mark.parametrize(
    ("row", "where", "fragment"),
    [
        ([None, "US", "account", None, "Li", "ops", "gmvv", 1, 1, None, None], "Targets!G2", "did you mean 'gmv'"),
        ([None, "US", "asin", A1, "Li", "cs", "odr", 0.01, 1, None, None], "Targets!C2", "account-health"),
        ([None, "BR", "account", None, "Li", "ops", "gmv", 1, 1, None, None], "Targets!B2", "US, MX, MLM, WMUS, WMMX, ALL, US-ALL, MX-ALL"),
        ([None, "US", "acount", None, "Li", "ops", "gmv", 1, 1, None, None], "Targets!C2", "did you mean"),
        ([None, "US", "account", None, "Li", "ops", "gmv", "abc", 1, None, None], "Targets!H2", "a number"),
        ([None, "US", "account", None, "Li", "ops", "gmv", 1, -1, None, None], "Targets!I2", "weight ≥ 0"),
        ([None, "US", "account", None, None, "ops", "gmv", 1, 1, None, None], "Targets!E2", "accountable"),
        ([None, "US", "tier", "old", "Li", "ops", "gmv", 1, 1, None, None], "Targets!D2", "new, mature, clearance"),
        ([None, "US", "asin", "12345", "Li", "ops", "gmv", 1, 1, None, None], "Targets!D2", "10 letters"),
        (["2026-13", "US", "account", None, "Li", "ops", "gmv", 1, 1, None, None], "Targets!A2", "month 13"),
        ([None, "US", "account", None, "Li", "ops", "acos", "x%", 1, None, None], "Targets!H2", "25%"),
        ([None, "ALL", "account", None, "Li", "cs", "odr", 0.01, 1, None, None], "Targets!B2", "per marketplace"),
    ],
)
def test_bad_target_cells_are_addressed_and_skipped(row, where, fragment):
    inputs, by_where = problems_for([row])
    assert where in by_where, [str(p) for p in inputs.problems]
    assert fragment in str(by_where[where])
    assert inputs.targets == []


def test_every_problem_is_reported_not_just_the_first():
    rows = [[None, "US", "account", None, "Li", "ops", "gmvv", 1, 1, None, None],
            [None, "XX", "account", None, "Li", "ops", "gmv", 1, -5, None, None],
            OK]
    inputs, by_where = problems_for(rows)
    assert {"Targets!G2", "Targets!B3", "Targets!I3"} <= set(by_where)
    assert len(inputs.targets) == 1


def test_percent_typed_as_25_is_read_as_25_percent_with_a_warning():
    inputs, by_where = problems_for([[None, "US", "account", None, "Li", "ops", "cvr", 25, 1, None, None]])
    assert inputs.targets[0].target == pytest.approx(0.25)
    assert by_where["Targets!H2"].severity == "warning"
    assert "25%" in str(by_where["Targets!H2"])


@pytest.mark.parametrize("value", ["25%", 0.25, "0.25", " 25 % "])
def test_percent_forms(value):
    inputs, _ = problems_for([[None, "US", "account", None, "Li", "ops", "cvr", value, 1, None, None]])
    assert inputs.targets[0].target == pytest.approx(0.25)


def test_duplicated_target_is_reported_with_the_first_row():
    inputs, by_where = problems_for([OK, OK])
    assert "duplicates Targets row 2" in str(by_where["Targets!G3"])
    assert len(inputs.targets) == 1


def test_columns_found_by_header_name_in_any_order_and_extra_columns_ignored():
    header = [*list(reversed(TARGETS_HEADER)), "Team's own column"]
    row = [*list(reversed(OK)), "anything"]
    t = tables([])
    t["Targets"] = [header, row]
    inputs = read_inputs(t, today=TODAY)
    assert [x.kpi for x in inputs.targets] == ["gmv"]
    assert inputs.targets[0].row == 2


def test_missing_column_names_the_tab_and_what_is_needed():
    t = tables([OK])
    t["Targets"] = [[h for h in TARGETS_HEADER if h != "kpi"], [v for h, v in zip(TARGETS_HEADER, OK, strict=False) if h != "kpi"]]
    inputs = read_inputs(t, today=TODAY)
    (p,) = [p for p in inputs.problems if p.where.startswith("Targets!")]
    assert "missing column(s) kpi" in p.expected
    assert inputs.targets == []


def test_missing_and_empty_tabs():
    t = tables([OK])
    del t["Calendar"]
    t["Bonus Tiers"] = [["min_score", "tier", "payout"]]
    inputs = read_inputs(t, today=TODAY)
    wheres = {p.where for p in inputs.problems}
    assert "Calendar!A1" in wheres and "Bonus Tiers!A2" in wheres
    assert inputs.calendar == [] and inputs.tiers == []


def test_settings_defaults_and_bad_values():
    rows = settings(gmv_tax="sometimes", attainment_cap="abc", language="fr", **{"fx.MXN": -3})
    inputs = read_inputs(tables([OK], settings_rows=rows), today=TODAY)
    s = inputs.settings
    assert (s.gmv_tax, s.attainment_cap, s.language) == ("exclude", 1.5, "en")
    assert "MXN" not in s.fx
    bad = [str(p) for p in inputs.problems]
    assert any("exclude, include" in b for b in bad)
    assert any("en, zh, es" in b for b in bad)
    assert any("positive rate" in b for b in bad)
    assert s.period.label == "2026-11"


def test_blank_period_is_the_current_month():
    rows = [r for r in settings() if r[0] != "period"]
    inputs = read_inputs(tables([OK], settings_rows=rows), today=dt.date(2027, 3, 5))
    assert inputs.settings.period.label == "2027-03"


def test_dates_in_text():
    cal = [["MX", "Buen Fin", "2026-11-13", dt.date(2026, 11, 16), 3],
           ["MX", "Hot Sale", "13/11/2026", dt.date(2026, 11, 16), 3]]
    inputs, by_where = problems_for([OK], calendar=cal)
    assert inputs.calendar[0].start == dt.date(2026, 11, 13)
    assert by_where["Calendar!C2"].severity == "warning"
    assert by_where["Calendar!C3"].severity == "error" and "YYYY-MM-DD" in str(by_where["Calendar!C3"])
    assert len(inputs.calendar) == 1


def test_products_duplicates_and_bad_asin():
    rows = [*products(), ["US", A1, "dup", "new", "X", "Li", 1, 1, 1], ["US", "nope", "", "new", "", "", 1, 1, 1], ["US", "B0CCCCCCC1", "", "legacy", "", "", "-1", 1, 1]]
    inputs, by_where = problems_for([OK], product_rows=rows)
    assert "duplicates Products row 2" in str(by_where["Products!B6"])
    assert "Products!B7" in by_where
    assert "tier unassigned used" in str(by_where["Products!D8"])
    assert "Products!G8" in by_where


def test_bonus_tier_payout_forms():
    t = tables([OK])
    t["Bonus Tiers"] = [["min_score", "tier", "payout"], [0.8, "base", "50%"], [1.0, "target", 100], ["x", "?", 1]]
    inputs = read_inputs(t, today=TODAY)
    assert [(b.tier, b.payout) for b in inputs.tiers] == [("base", 0.5), ("target", 1.0)]
    assert any(p.where == "Bonus Tiers!A4" for p in inputs.problems)


def test_col_letter():
    assert [col_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


@pytest.mark.parametrize(("text", "value"), [("1,200", 1200.0), ("$1,200.50", 1200.5), ("MX$ 3,000", 3000.0),
                                              ("-2.5", -2.5), (7, 7.0)])
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["1,20", "abc", "", True, "1.2.3", float("nan")])
def test_parse_number_rejects(text):
    with pytest.raises(ValueError):
        parse_number(text)


cells = st.one_of(st.none(), st.text(alphabet=string.printable + "ñé李%$,", max_size=12),
                  st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**9, 10**9), st.booleans(),
                  st.dates(), st.datetimes())


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tab=st.sampled_from(TEAM_TABS), rows=st.lists(st.lists(cells, min_size=0, max_size=12), max_size=6))
def test_random_cells_never_crash_and_every_problem_is_addressed(tab, rows):
    spec = load_template().tab(tab)
    t = tables([OK])
    t[tab] = [spec.column_names, *rows]
    inputs = read_inputs(t, today=TODAY)
    for p in inputs.problems:
        assert p.where.startswith(tuple(TEAM_TABS)) or p.where == "Settings", p
        assert p.expected
        if p.where != "Settings" and "!" in p.where:
            assert re.fullmatch(r"[A-Z]+[0-9]+", p.where.split("!", 1)[1]), p
