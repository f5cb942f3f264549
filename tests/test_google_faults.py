"""200 syncs against the local Sheets server under random faults: team tabs never change, generated tabs are
always a complete earlier write (never half of one), and every failure is one of our retriable errors."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from sheets_sync.errors import RetriableError
from sheets_sync.sheets.base import GeneratedTab
from sheets_sync.template import TEAM_TABS
from sheets_sync.testing.sheets_server import SID, Fault

pytest_plugins = ["google_fixtures"]

FAULTS = [
    Fault(code=429, retry_after=0.01),
    Fault(code=500),
    Fault(code=503),
    Fault(kind="slow", delay=0.25),                 # applied, answered after the client's read timeout
    Fault(kind="drop"),                             # connection closed before anything happens
    Fault(kind="drop_after", match=":batchUpdate"),  # write applied, then the connection drops
    Fault(kind="reject", match=":batchUpdate"),     # a request in the middle is invalid: nothing applied
]


def team() -> dict[str, list[list]]:
    return {
        "Settings": [["key", "value", "notes"], ["period", "2026-11"], ["fx.MXN", 18.3, "=not a formula"]],
        "Targets": [["period", "marketplace", "scope", "scope_value", "owner", "role", "kpi", "target", "weight"],
                    ["", "MX", "account", "", "Li Na", "ops", "gmv", 150000, 1],
                    ["", "US", "asin", "B0TEST0001", "Ana", "ads", "acos", 0.25, 0.5]],
        "Calendar": [["marketplace", "event", "start", "end", "sales_multiplier"],
                     ["MX", "Buen Fin", dt.date(2026, 11, 13), dt.date(2026, 11, 16), 3]],
    }


def generated(run: int, rng: random.Random) -> list[GeneratedTab]:
    n = rng.randint(0, 12)
    att = GeneratedTab("Attainment", ["run", "owner", "attainment", "status", "data_through"],
                       [[run, f"owner {i}", rng.random(), rng.choice(["on track", "at risk", "off track"]),
                         dt.date(2026, 11, 1 + i)] for i in range(n)],
                       title=f"run {run}", formats={"attainment": "percent", "data_through": "date"},
                       status_column="status")
    log = GeneratedTab("Sync Log", ["run", "status"], [[run, "ok"]], title=f"run {run}")
    return [att, log]


@pytest.mark.slow
def test_team_tabs_identical_after_200_syncs_under_random_faults(server, shared_book, make_workbook):
    shared_book(team())
    before = {t: server.snapshot(SID, t) for t in team()}
    server.set_random_faults(0.2, FAULTS)
    rng = random.Random(42)
    written: list[int] = []            # runs whose write succeeded
    failed = 0
    wb = make_workbook(max_attempts=4, timeout=(1.0, 0.1))
    for run in range(200):
        try:
            tables = wb.read_tabs([*TEAM_TABS, "Attainment"])
            assert tables["Targets"][2][7] == 0.25 and tables["Calendar"][1][2] == dt.date(2026, 11, 13)
            wb.write_tabs(generated(run, rng))
            written.append(run)
        except RetriableError:
            failed += 1
        except Exception as exc:       # a rejected batch is the only non-retriable failure we inject
            assert "rejected by fault injection" in str(exc), exc
            failed += 1
        # never half a write: both generated tabs always come from the same run
        att, log = server.values(SID, "Attainment"), server.values(SID, "Sync Log")
        if att is not None or log is not None:
            assert att[0] == log[0], (att[0], log[0])
            assert all(r[0] == int(att[0][0].split()[1]) for r in att[2:])
            snap = server.snapshot(SID, "Attainment")
            assert (len(snap["cond"]), len(snap["protected"])) == (3, 1)   # nothing accumulates
    server.set_random_faults(0, [])
    assert {t: server.snapshot(SID, t) for t in team()} == before
    assert len(written) > 120 and failed > 0
    wb.read_tabs(list(TEAM_TABS))
    wb.write_tabs(generated(999, rng))
    assert server.values(SID, "Sync Log")[0] == ["run 999"]
    titles = [s.title for s in server.books[SID].sheets]
    assert sorted(titles) == sorted([*team(), "Attainment", "Sync Log"])
