"""GoogleWorkbook over real gspread + google-auth, talking HTTP to the local Sheets v4 server."""

from __future__ import annotations

import datetime as dt
import json

import gspread
import pytest

from sheets_sync.config import Config
from sheets_sync.errors import (
    ConfigError,
    FatalError,
    InputDataError,
    QuotaError,
    RetriableError,
    TemplateError,
)
from sheets_sync.sheets.base import ChartIntent, GeneratedTab
from sheets_sync.sheets.google import MAX_CELL_CHARS, PROTECTION_DESCRIPTION, open_google_workbook
from sheets_sync.template import TEAM_TABS, column_note, load_template
from sheets_sync.testing.sheets_server import SID, Fault

pytest_plugins = ["google_fixtures"]

CAL_HEADER = ["marketplace", "event", "start", "end", "sales_multiplier"]
TARGETS_HEADER = load_template().tab("Targets").column_names


def calendar(*extra_cols: str) -> list[list]:
    head = [*CAL_HEADER[:2], *extra_cols, *CAL_HEADER[2:]]
    pad = [""] * len(extra_cols)
    return [head,
            ["MX", "Buen Fin", *pad, dt.date(2026, 11, 13), dt.date(2026, 11, 16), 3],
            ["US", "Prime Day", *pad, dt.date(2026, 7, 8), dt.date(2026, 7, 11)],      # ragged: no multiplier
            [],
            ["MX", "Hot Sale", *pad, dt.date(2026, 5, 25), dt.date(2026, 5, 31), 2.5]]


def team_tabs() -> dict[str, list[list]]:
    return {"Settings": [["key", "value", "notes"], ["period", "2026-11"], ["base_currency", "USD"]],
            "Targets": [TARGETS_HEADER, ["", "MX", "account", "", "Li Na", "ops", "gmv", 150000, 1]],
            "Calendar": calendar()}


def attainment(n: int, title: str = "period 2026-11") -> GeneratedTab:
    rows = [[f"Owner {i}", "gmv", 0.5 + i / 10, ["on track", "at risk", "off track"][i % 3],
             dt.date(2026, 11, 1) + dt.timedelta(days=i), f"=HYPERLINK(\"x{i}\")", 1000 * i] for i in range(n)]
    return GeneratedTab(name="Attainment",
                        columns=["owner", "kpi", "attainment", "status", "data_through", "note", "gmv"],
                        rows=rows, title=title,
                        formats={"attainment": "percent", "data_through": "date", "gmv": "money"},
                        widths={"owner": 16, "note": 30}, status_column="status",
                        charts=[ChartIntent("bar", "Attainment by owner", "owner", ("attainment",))])


def api_calls(server) -> list[str]:
    return [f"{m} {p}" for m, p in server.log if p.startswith("/v4/")]


# ------------------------------------------------------------------------------------------------ reading

def test_read_converts_date_serials_by_header_and_keeps_ragged_rows(server, shared_book, make_workbook):
    shared_book({**team_tabs(), "Calendar": calendar("notes")})    # a person inserted a column before start
    wb = make_workbook()
    got = wb.read_tabs(["Calendar", "Settings", "Products"])
    cal = got["Calendar"]
    assert cal[0] == ["marketplace", "event", "notes", "start", "end", "sales_multiplier"]
    assert cal[1] == ["MX", "Buen Fin", "", dt.date(2026, 11, 13), dt.date(2026, 11, 16), 3]
    assert cal[2] == ["US", "Prime Day", "", dt.date(2026, 7, 8), dt.date(2026, 7, 11)]
    assert cal[3] == []
    assert cal[4][-1] == 2.5
    assert got["Settings"][1] == ["period", "2026-11"]
    assert got["Products"] is None
    assert api_calls(server) == ["GET /v4/spreadsheets/" + SID, f"GET /v4/spreadsheets/{SID}/values:batchGet"]


def test_read_with_only_missing_tabs_makes_no_batch_get(server, shared_book, make_workbook):
    shared_book({"Sheet1": []})
    assert make_workbook().read_tabs(["Targets"]) == {"Targets": None}
    assert api_calls(server) == ["GET /v4/spreadsheets/" + SID]


def test_renamed_header_deleted_tab_and_inserted_columns_give_clear_messages(shared_book, make_workbook):
    inputs = pytest.importorskip("sheets_sync.inputs")
    tabs = team_tabs()
    tabs["Targets"] = [["period", "marketplace", "scope", "scope_value", "owner", "role", "KPI name", "target",
                        "weight"], ["", "MX", "account", "", "Li Na", "ops", "gmv", 1, 1]]
    tabs["Calendar"] = calendar("comment", "another")
    shared_book(tabs)
    got = make_workbook().read_tabs(list(TEAM_TABS))
    problems = [str(p) for p in inputs.read_inputs(got, today=dt.date(2026, 11, 20)).problems]
    text = "\n".join(problems)
    assert "missing column(s) kpi" in text                      # renamed header
    assert "the tab 'Products' is missing" in text              # deleted tab
    assert "sheets-sync init" in text
    assert not [p for p in problems if p.startswith("Calendar")]   # inserted columns are fine


# ------------------------------------------------------------------------------------------------ writing

def test_write_round_trip_formats_rules_charts_protection(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    wb.read_tabs(list(TEAM_TABS))
    stats = wb.write_tabs([attainment(4)])
    assert stats.api_calls == 1 and stats.bytes_sent > 0
    got = wb.read_tabs(["Attainment"])["Attainment"]
    assert got[0] == ["period 2026-11"]
    assert got[1][:3] == ["owner", "kpi", "attainment"]
    assert got[2] == ["Owner 0", "gmv", 0.5, "on track", dt.date(2026, 11, 1), '=HYPERLINK("x0")', 0]
    assert got[5][4] == dt.date(2026, 11, 4) and got[5][6] == 3000

    snap = server.snapshot(SID, "Attainment")
    grid = snap["props"]["gridProperties"]
    assert (grid["rowCount"], grid["frozenRowCount"]) == (6, 2)          # sized to the data
    note = snap["cells"][(2, 5)]
    assert note["userEnteredValue"] == {"stringValue": '=HYPERLINK("x0")'}  # never a formula
    assert snap["cells"][(2, 2)]["userEnteredFormat"]["numberFormat"]["type"] == "PERCENT"
    assert snap["cells"][(3, 4)]["userEnteredFormat"]["numberFormat"]["type"] == "DATE"
    assert snap["cells"][(3, 6)]["userEnteredFormat"]["numberFormat"]["type"] == "CURRENCY"
    assert snap["cells"][(1, 0)]["userEnteredFormat"]["textFormat"]["bold"] is True
    assert [r["booleanRule"]["condition"]["values"][0]["userEnteredValue"] for r in snap["cond"]] == [
        "on track", "at risk", "off track"]
    assert snap["cond"][0]["booleanRule"]["format"]["backgroundColor"]["green"] > 0.9
    assert len(snap["charts"]) == 1
    assert snap["charts"][0]["spec"]["basicChart"]["chartType"] == "COLUMN"
    assert snap["protected"] == [{"range": {"sheetId": snap["props"]["sheetId"]},
                                  "description": PROTECTION_DESCRIPTION, "warningOnly": True,
                                  "protectedRangeId": snap["protected"][0]["protectedRangeId"]}]
    assert snap["col_px"][0] == 16 * 7 + 16


def test_resync_replaces_without_accumulating(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    wb.write_tabs([attainment(30)])
    first = server.snapshot(SID, "Attainment")
    for n in (3, 10, 3):
        wb.read_tabs(["Targets"])
        wb.write_tabs([attainment(n, title=f"run {n}")])
    snap = server.snapshot(SID, "Attainment")
    assert snap["props"]["sheetId"] == first["props"]["sheetId"]     # same tab: links and formulas keep working
    assert (len(snap["cond"]), len(snap["charts"]), len(snap["protected"])) == (3, 1, 1)
    assert snap["props"]["gridProperties"]["rowCount"] == 5
    assert server.values(SID, "Attainment")[0] == ["run 3"]
    assert len(server.values(SID, "Attainment")) == 5


def test_a_sync_makes_at_most_three_api_calls(server, shared_book, make_workbook):
    sync = pytest.importorskip("sheets_sync.sync")
    shared_book({"Sheet1": []})
    t = load_template()
    make_workbook().create_tabs(t.seeds(dt.date(2026, 11, 20)), t.empty_generated(),
                                {"sheets_sync_template_version": str(t.version)})
    for i in range(3):
        wb = make_workbook()
        before = len(api_calls(server))
        result = sync.sync_workbook(wb, None, now=dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
        calls = api_calls(server)[before:]
        assert calls == [f"GET /v4/spreadsheets/{SID}", f"GET /v4/spreadsheets/{SID}/values:batchGet",
                         f"POST /v4/spreadsheets/{SID}:batchUpdate"], i
        assert wb.api_calls == 3
        assert result.api_calls == 3
        log_rows = server.values(SID, "Sync Log")
        assert log_rows[2][5] == 3          # the Sync Log's api_calls column


def test_team_tabs_are_never_written(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    with pytest.raises(TemplateError, match="'Targets' is a team tab"):
        wb.write_tabs([GeneratedTab("Targets", ["a"], [[1]])])
    before = {t: server.snapshot(SID, t) for t in ("Settings", "Targets", "Calendar")}
    wb.write_tabs([attainment(5)])
    body_tabs = {t: server.snapshot(SID, t) for t in ("Settings", "Targets", "Calendar")}
    assert body_tabs == before


def test_similarly_named_tab_is_a_template_error(server, shared_book, make_workbook):
    shared_book({**team_tabs(), "attainment ": [["old"]]})
    with pytest.raises(TemplateError, match=r"a tab named 'attainment ' exists .* rename it to 'Attainment'"):
        make_workbook().write_tabs([attainment(2)])
    assert server.calls(":batchUpdate") == 0


def test_rejected_batch_update_leaves_previous_generated_tabs_intact(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    scorecard = GeneratedTab("Scorecard", ["owner", "score"], [["Li Na", 0.97]], title="v1")
    wb.write_tabs([attainment(6), scorecard])
    before = {t: server.snapshot(SID, t) for t in ("Attainment", "Scorecard", "Targets")}
    server.inject(Fault(kind="reject", match=":batchUpdate"))         # request in the middle is invalid
    with pytest.raises(TemplateError, match=r"changed nothing: Invalid requests\[\d+\]"):
        wb.write_tabs([attainment(2, title="v2"), GeneratedTab("Scorecard", ["owner", "score"], [], title="v2"),
                       GeneratedTab("Daily", ["date", "gmv"], [[dt.date(2026, 11, 1), 5]])])
    assert {t: server.snapshot(SID, t) for t in ("Attainment", "Scorecard", "Targets")} == before
    assert server.snapshot(SID, "Daily") is None


def test_tab_deleted_between_read_and_write_is_recreated(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    wb.write_tabs([attainment(3)])
    wb.read_tabs(list(TEAM_TABS))                        # caches metadata that includes Attainment
    book = server.books[SID]
    book.sheets = [s for s in book.sheets if s.title != "Attainment"]   # a person deletes it meanwhile
    wb.write_tabs([attainment(4)])
    assert len(server.values(SID, "Attainment")) == 6
    assert server.calls(":batchUpdate") == 3             # first write, rejected (stale), rebuilt


def test_ambiguous_write_is_rebuilt_not_duplicated(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    server.inject(Fault(kind="drop_after", match=":batchUpdate"))    # applied, then the connection drops
    wb.write_tabs([attainment(3)])
    snap = server.snapshot(SID, "Attainment")
    assert (len(snap["cond"]), len(snap["charts"]), len(snap["protected"])) == (3, 1, 1)
    assert [s.title for s in server.books[SID].sheets].count("Attainment") == 1


def test_long_cells_are_cut_with_a_marker(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    tab = GeneratedTab("Commentary", ["finding"], [["x" * 60_000], ["short"]])
    wb.write_tabs([tab])
    text = server.values(SID, "Commentary")[2][0]
    assert len(text) == MAX_CELL_CHARS and "cut by sheets-sync: 60,000 characters" in text
    assert wb.warnings == ["Commentary!A3: text of 60,000 characters cut to 50,000 (Google Sheets' limit per cell)"]
    assert tab.rows[0][0] == "x" * 60_000                # the caller's tab is not modified


def test_a_write_over_ten_million_cells_is_refused_before_sending(server, shared_book, make_workbook):
    book = shared_book(team_tabs())
    server.add_tab(book, "Archive", [["big"]], rows=4_999_000, cols=2)   # someone's huge tab: 9,998,000 cells
    wb = make_workbook()
    with pytest.raises(InputDataError) as err:
        wb.write_tabs([attainment(300)])
    assert "Google Sheets allows 10,000,000 cells per spreadsheet" in str(err.value)
    assert "Attainment" in str(err.value) and "nothing was written" in str(err.value)
    assert server.calls(":batchUpdate") == 0


# ---------------------------------------------------------------------------------------------- init

def test_create_tabs_adds_only_missing_tabs_and_tags_the_version(server, shared_book, make_workbook):
    tabs = team_tabs()
    tabs["Targets"].append(["", "US", "account", "", "Ana", "ads", "acos", 0.25, 1])
    shared_book(tabs)
    before = {t: server.snapshot(SID, t) for t in tabs}
    t = load_template()
    wb = make_workbook()
    created = wb.create_tabs(t.seeds(dt.date(2026, 11, 20)), t.empty_generated(),
                             {"template_version": "1"})
    assert set(created) == {s.name for s in t.tabs} - set(tabs)
    assert {n: server.snapshot(SID, n) for n in tabs} == before
    assert wb.developer_metadata() == {"template_version": "1"}
    md = server.books[SID].devmeta
    assert [(m["metadataKey"], m["metadataValue"], m["location"]["spreadsheet"]) for m in md] == [
        ("sheets_sync_template_version", "1", True)]
    products = server.snapshot(SID, "Products")
    spec = t.tab("Products")
    notes = {c.name: products["cells"][(0, j)].get("note") for j, c in enumerate(spec.columns)}
    assert notes == {c.name: column_note(c) for c in spec.columns} and all(notes.values())   # a note on every column
    tier = spec.column_names.index("tier")
    assert products["cells"][(1, tier)]["dataValidation"]["condition"] == {
        "type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in ("new", "mature", "clearance")]}
    assert products["props"]["gridProperties"]["frozenRowCount"] == 1
    calls = server.calls(":batchUpdate")
    assert wb.create_tabs(t.seeds(), t.empty_generated(), {"template_version": "1"}) == []
    assert server.calls(":batchUpdate") == calls                 # nothing to do → no write
    wb.create_tabs([], [], {"template_version": "2"})
    assert wb.developer_metadata() == {"template_version": "2"} and len(server.books[SID].devmeta) == 1


# ------------------------------------------------------------------------------------ errors and retries

def test_not_shared_is_a_fatal_error_naming_the_service_account(server, sa, make_workbook):
    server.add_book(SID, {"Targets": [["x"]]}, shared=["someone@example.com"])
    with pytest.raises(FatalError) as err:
        make_workbook().read_tabs(["Targets"])
    msg = str(err.value)
    assert f"share the sheet with {sa['client_email']} as Editor" in msg
    assert "PRIVATE KEY" not in msg and "fake-token" not in msg
    assert server.calls("/v4/") == 1                              # 403 is not retried


def test_wrong_id_is_a_fatal_error_naming_the_id(server, make_workbook):
    with pytest.raises(FatalError, match=f"spreadsheet {SID} was not found: check the id"):
        make_workbook().read_tabs(["Targets"])
    assert server.calls("/v4/") == 1


def test_rejected_key_is_fatal_and_secret_free(server, sa, make_workbook):
    other = dict(sa, client_email="stranger@kpi-project.iam.gserviceaccount.com")   # not registered
    server.add_book(SID, {"Targets": [["x"]]}, shared=[other["client_email"]])
    with pytest.raises(FatalError, match="rejected the service-account credentials of stranger@") as err:
        make_workbook(credentials=other).read_tabs(["Targets"])
    assert sa["private_key"][40:80] not in str(err.value)


@pytest.mark.parametrize(("faults", "sleeps"), [
    pytest.param([Fault(code=429, retry_after=7)], [7], id="429-retry-after"),
    pytest.param([Fault(code=500), Fault(code=503)], [0.375, 0.75], id="500-503"),
    pytest.param([Fault(kind="drop")], [0.375], id="dropped-connection"),
    pytest.param([Fault(kind="slow", delay=0.4)], [0.375], id="slow-response"),
])
def test_transient_faults_are_retried_with_backoff(server, shared_book, make_workbook, clock, faults, sleeps):
    shared_book(team_tabs())
    server.inject(*faults)
    wb = make_workbook(timeout=(1.0, 0.2))
    assert wb.read_tabs(["Settings"])["Settings"][1] == ["period", "2026-11"]
    assert clock.sleeps == sleeps
    assert wb.api_calls == 2 + len(faults)


def test_retries_are_bounded_in_attempts(server, shared_book, make_workbook, clock):
    shared_book(team_tabs())
    server.inject(Fault(code=503, times=100))
    with pytest.raises(RetriableError, match="after 4 attempt\\(s\\)") as err:
        make_workbook(max_attempts=4).read_tabs(["Settings"])
    assert not isinstance(err.value, QuotaError)
    assert server.calls("/v4/") == 4 and len(clock.sleeps) == 3


def test_retries_are_bounded_in_total_time_and_quota_stays_a_quota_error(server, shared_book, make_workbook,
                                                                         clock):
    shared_book(team_tabs())
    server.inject(Fault(code=429, retry_after=25, times=100))
    with pytest.raises(QuotaError) as err:
        make_workbook(max_attempts=10, max_total_s=60).read_tabs(["Settings"])
    assert err.value.retry_after == 25
    assert clock.sleeps == [25, 25] and server.calls("/v4/") == 3


def test_open_google_workbook_needs_a_key(tmp_path, server, sa):
    with pytest.raises(ConfigError, match=r"SHEETS_SYNC_GOOGLE_CREDENTIALS .*GOOGLE_APPLICATION_CREDENTIALS"):
        open_google_workbook(SID, Config(), load_template())
    with pytest.raises(ConfigError, match="does not exist"):
        open_google_workbook(SID, Config(google_credentials=tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "authorized_user", "refresh_token": "SECRET-REFRESH"}))
    with pytest.raises(ConfigError, match="not a service-account key") as err:
        open_google_workbook(SID, Config(google_credentials=bad))
    assert "SECRET" not in str(err.value)
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sa))
    wb = open_google_workbook(SID, Config(google_credentials=key), load_template(),
                              adapter_factory=server.adapter)
    assert wb.describe() == f"google:{SID}" and wb.service_account_email == sa["client_email"]


# ------------------------------------------------------------------------ the fake against real gspread

def test_fake_server_speaks_gspread(server, sa, shared_book):
    """Plain gspread calls (whose payloads its recorded cassettes pin down) work against the fake."""

    shared_book(team_tabs())
    gc = server.gspread_client(sa)
    sh = gc.open_by_key(SID)
    assert [w.title for w in sh.worksheets()] == ["Settings", "Targets", "Calendar"]
    assert sh.worksheet("Settings").get_all_values()[1] == ["period", "2026-11", ""]
    ws = sh.add_worksheet("New tab", rows=5, cols=3)
    ws.update([["a", 1], ["=b", 2.5]], "A1", raw=True)
    assert ws.get_all_values() == [["a", "1"], ["=b", "2.5"]]
    ws.add_protected_range("A1:B2", warning_only=True, description="template")
    with pytest.raises(gspread.exceptions.APIError) as err:           # unknown sheetId: 400, nothing applied
        sh.batch_update({"requests": [{"addSheet": {"properties": {"title": "X"}}},
                                      {"updateCells": {"start": {"sheetId": 999}, "rows": [], "fields": "*"}}]})
    assert err.value.code == 400 and "No grid with id: 999" in str(err.value)
    with pytest.raises(gspread.exceptions.APIError, match="already exists"):
        sh.add_worksheet("settings", rows=2, cols=2)
    with pytest.raises(gspread.exceptions.APIError, match="exceeds grid limits"):
        ws.update([["x"]], "Z99")
    with pytest.raises(gspread.exceptions.APIError, match="maximum of 50000 characters"):
        ws.update([["y" * 50_001]], "A1")
    assert [w.title for w in sh.worksheets()] == ["Settings", "Targets", "Calendar", "New tab"]


def test_per_row_number_formats(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    tab = attainment(3)
    tab.row_formats = {"gmv": ["money", "percent", None]}
    wb.write_tabs([tab])
    snap = server.snapshot(SID, "Attainment")
    assert snap["cells"][(2, 6)]["userEnteredFormat"]["numberFormat"]["type"] == "CURRENCY"
    assert snap["cells"][(3, 6)]["userEnteredFormat"]["numberFormat"]["type"] == "PERCENT"
    assert snap["cells"][(4, 6)]["userEnteredFormat"]["numberFormat"]["type"] == "CURRENCY"   # the column's


def test_a_chart_split_by_marketplace_is_one_chart_per_marketplace(server, shared_book, make_workbook):
    shared_book(team_tabs())
    wb = make_workbook()
    rows = [[mk, dt.date(2026, 11, d), 100.0 * d] for mk in ("US", "MX") for d in (1, 2, 3)]
    wb.write_tabs([GeneratedTab(name="Daily", columns=["marketplace", "date", "gmv"], rows=rows, title="t",
                                charts=[ChartIntent("line", "Daily GMV", "date", ("gmv",), split_by="marketplace")])])
    charts = server.snapshot(SID, "Daily")["charts"]
    assert [c["spec"]["title"] for c in charts] == ["Daily GMV — US", "Daily GMV — MX"]
    spans = [c["spec"]["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"][0] for c in charts]
    assert [(s["startRowIndex"], s["endRowIndex"]) for s in spans] == [(2, 5), (5, 8)]
