"""Contract suites every adapter of a port must pass (imported by tests; needs pytest).

Usage::

    class TestMyWorkbook(WorkbookContract):
        @pytest.fixture
        def workbook(self, tmp_path):
            return MyWorkbook(...)      # a fresh, empty workbook
"""

from __future__ import annotations

import datetime as dt

import pytest

from ..sheets.base import GENERATED_HEADER_ROW, GeneratedTab, Workbook
from ..template import GENERATED_TABS, TEAM_TABS, load_template

TODAY = dt.date(2026, 11, 23)


def _gen(name: str, rows: list[list], title: str = "Period 2026-11") -> GeneratedTab:
    spec = load_template().tab(name)
    return GeneratedTab(name=name, columns=spec.column_names, rows=rows, title=title,
                        formats={"attainment": "percent", "target": "number", "data_through": "date"},
                        status_column="status" if "status" in spec.column_names else None)


def _attainment_rows(n: int) -> list[list]:
    out = []
    for i in range(n):
        out.append([i + 2, "2026-11", "MX", "account", "", f"Dueño {i} 李娜", "ops", "gmv", "higher", 1000.0 + i,
                    900.5, 0.9005, 1200.0, 1.2, "on track", 1.0, dt.date(2026, 11, 22), "=not a formula"])
    return out


class WorkbookContract:
    """What every Workbook adapter guarantees. Subclasses provide a ``workbook`` fixture (fresh, empty)."""

    @pytest.fixture
    def workbook(self) -> Workbook:  # pragma: no cover - overridden
        raise NotImplementedError

    def _init(self, wb: Workbook) -> list[str]:
        t = load_template()
        return wb.create_tabs(t.seeds(TODAY), t.empty_generated(), {"sheets_sync_template_version": "1"})

    def test_init_creates_every_tab_once(self, workbook: Workbook) -> None:
        created = self._init(workbook)
        assert set(created) == set(TEAM_TABS) | set(GENERATED_TABS)
        assert self._init(workbook) == []

    def test_missing_tab_reads_as_none(self, workbook: Workbook) -> None:
        self._init(workbook)
        got = workbook.read_tabs(["Targets", "No Such Tab"])
        assert got["No Such Tab"] is None
        assert got["Targets"][0][:3] == ["period", "marketplace", "scope"]

    def test_team_tabs_read_back_as_seeded(self, workbook: Workbook) -> None:
        self._init(workbook)
        t = load_template()
        got = workbook.read_tabs(list(TEAM_TABS))
        for seed in t.seeds(TODAY):
            table = got[seed.name]
            assert [str(h) for h in table[0][:len(seed.columns)]] == seed.columns
            for want, have in zip(seed.rows, table[1:], strict=True):
                have = list(have) + [None] * (len(want) - len(have))
                for w, h in zip(want, have, strict=False):
                    if isinstance(w, float | int) and not isinstance(w, bool):
                        assert h == pytest.approx(w), (seed.name, want, have)
                    elif isinstance(w, dt.date):
                        assert h == w, (seed.name, want, have)
                    else:
                        assert (h if h not in ("",) else None) == w, (seed.name, want, have)

    def test_write_replaces_generated_tab_whole(self, workbook: Workbook) -> None:
        self._init(workbook)
        workbook.write_tabs([_gen("Attainment", _attainment_rows(5))])
        workbook.write_tabs([_gen("Attainment", _attainment_rows(2), title="second")])
        table = workbook.read_tabs(["Attainment"])["Attainment"]
        rows = [r for r in table[GENERATED_HEADER_ROW:] if any(v not in (None, "") for v in r)]
        assert len(rows) == 2
        assert table[0][0] == "second"
        assert table[GENERATED_HEADER_ROW - 1][:2] == ["target_row", "period"]

    def test_values_round_trip(self, workbook: Workbook) -> None:
        self._init(workbook)
        workbook.write_tabs([_gen("Attainment", _attainment_rows(1))])
        row = workbook.read_tabs(["Attainment"])["Attainment"][GENERATED_HEADER_ROW]
        assert row[5] == "Dueño 0 李娜"
        assert row[11] == pytest.approx(0.9005)
        assert row[16] == dt.date(2026, 11, 22)
        assert row[17] == "=not a formula"

    def test_write_never_touches_team_tabs(self, workbook: Workbook) -> None:
        self._init(workbook)
        before = workbook.read_tabs(list(TEAM_TABS))
        for _ in range(3):
            workbook.write_tabs([_gen("Attainment", _attainment_rows(3)), _gen("Scorecard", [])])
        assert workbook.read_tabs(list(TEAM_TABS)) == before

    def test_write_creates_missing_generated_tab(self, workbook: Workbook) -> None:
        t = load_template()
        workbook.create_tabs(t.seeds(TODAY), [], {})
        assert workbook.read_tabs(["Scorecard"])["Scorecard"] is None
        workbook.write_tabs([_gen("Scorecard", [["Li Na", "ops", 3, 0.9, 1.0, "target", 1.0, 2, 1, ""]])])
        table = workbook.read_tabs(["Scorecard"])["Scorecard"]
        assert table[GENERATED_HEADER_ROW][0] == "Li Na"
