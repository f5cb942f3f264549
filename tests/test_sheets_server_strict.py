"""The local Sheets server refuses what Google refuses, with Google's error body, and a refused batch changes
nothing (sheets_sync/testing/sheets_server.py; the checks it shares with Google are in sheets_contract.py).

Raw HTTP through the real google-auth session (the requests gspread would send), one server for the module and
a new spreadsheet per test.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sheets_sync.testing.sheets_server import FakeSheetsServer, Limits

API = "https://sheets.googleapis.com/v4/spreadsheets"
OWNER = "owner@team-project.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def env() -> Any:
    # Google's limits scaled down (10,000,000 cells, 18,278 columns, metadata) so that a few requests reach them;
    # every other limit, and every check, is Google's
    with FakeSheetsServer(limits=Limits(max_cells=5_000, max_columns=50, max_metadata_chars=200)) as server:
        sync = server.service_account()
        owner = server.service_account(OWNER)
        yield server, server.session(sync), server.session(owner), sync["client_email"]


class Sheet:
    """One spreadsheet on the module's server: tab "Data" (10 × 5) and tab "Other" (4 × 4)."""

    def __init__(self, env: Any):
        self.server, self.sync, self.owner, self.email = env
        self.sid = "strict" + uuid.uuid4().hex
        book = self.server.add_book(self.sid, {"Data": [["a", 1]], "Other": [["x"]]}, shared=[self.email, OWNER],
                                    owner=OWNER)
        self.server.books[self.sid].sheets[0].props["gridProperties"].update(rowCount=10, columnCount=5)
        self.server.books[self.sid].sheets[1].props["gridProperties"].update(rowCount=4, columnCount=4)
        self.data, self.other = (s.id for s in book.sheets)

    def post(self, reqs: Any, session: requests.Session | None = None) -> requests.Response:
        return (session or self.sync).post(f"{API}/{self.sid}:batchUpdate", json={"requests": reqs}, timeout=30)

    def state(self) -> Any:
        return copy.deepcopy(self.server.books[self.sid])


@pytest.fixture
def sheet(env: Any) -> Iterator[Sheet]:
    yield Sheet(env)
    assert not env[0].internal_errors, env[0].internal_errors[-1]


def cells(sid: int, r0: int, rows: list[list[Any]]) -> dict[str, Any]:
    return {"updateCells": {"start": {"sheetId": sid, "rowIndex": r0, "columnIndex": 0}, "fields": "userEnteredValue",
                            "rows": [{"values": [{"userEnteredValue": {"numberValue": v}} for v in r]} for r in rows]}}


def resize(sid: int, rows: int | None = None, cols: int | None = None) -> dict[str, Any]:
    grid, fields = {}, []
    if rows is not None:
        grid["rowCount"], fields = rows, [*fields, "gridProperties.rowCount"]
    if cols is not None:
        grid["columnCount"], fields = cols, [*fields, "gridProperties.columnCount"]
    return {"updateSheetProperties": {"properties": {"sheetId": sid, "gridProperties": grid},
                                      "fields": ",".join(fields)}}


# Each case: the requests (a function of the two tab ids), then (status, a part of Google's message). Every one is
# refused whole: the spreadsheet afterwards is exactly as before.
INVALID = {
    "unknown kind": (lambda d, o: [cells(d, 0, [[1]]), {"mergeRows": {"sheetId": d}}],
                     'Unknown name "mergeRows" at \'requests[1]\': Cannot find field.'),
    "unknown field": (lambda d, o: [{"addSheet": {"properties": {"title": "n", "colour": "red"}}}],
                      "Unknown name \"colour\" at 'requests[0].add_sheet.properties': Cannot find field."),
    "wrong type": (lambda d, o: [{"updateSheetProperties": {"properties": {"sheetId": d, "gridProperties": {
        "rowCount": "many"}}, "fields": "gridProperties.rowCount"}}],
        "Invalid value at 'requests[0].update_sheet_properties.properties.grid_properties.row_count' (TYPE_INT32), "
        '"many"'),
    "a fraction for an integer": (lambda d, o: [cells(d, 0, [[1]]), {"deleteDimension": {"range": {
        "sheetId": d, "dimension": "ROWS", "startIndex": 1.5, "endIndex": 3}}}],
        "Invalid value at 'requests[1].delete_dimension.range.start_index' (TYPE_INT32), 1.5"),
    "an object for a string": (lambda d, o: [{"addSheet": {"properties": {"title": {"en": "x"}}}}],
                               "Starting an object on a scalar field"),
    "a value outside the enum": (lambda d, o: [{"insertDimension": {"range": {
        "sheetId": d, "dimension": "ROW", "startIndex": 1, "endIndex": 2}}}],
        "Invalid value at 'requests[0].insert_dimension.range.dimension'"),
    "two kinds in one request": (lambda d, o: [{"deleteSheet": {"sheetId": o}, "addSheet": {}}],
                                 "Oneof field 'kind' is already set."),
    "two values in one cell": (lambda d, o: [{"updateCells": {"start": {"sheetId": d}, "fields": "*", "rows": [
        {"values": [{"userEnteredValue": {"numberValue": 1, "stringValue": "1"}}]}]}}],
        "Oneof field 'value' is already set."),
    "a missing fields mask": (lambda d, o: [{"repeatCell": {"range": {"sheetId": d}, "cell": {}}}],
                              "Invalid requests[0].repeatCell: fields is required"),
    "no request": (lambda d, o: [], "Must specify at least one request."),
    "a range outside the grid": (lambda d, o: [cells(d, 9, [[1], [2]])],
                                 "Invalid requests[0].updateCells: Range (Data!A10:A11) exceeds grid limits. "
                                 "Max rows: 10, max columns: 5"),
    "a later request outside the grid": (lambda d, o: [resize(d, rows=3), cells(d, 3, [[1]])],
                                         "exceeds grid limits. Max rows: 3"),
    "an unknown sheet id": (lambda d, o: [cells(424242, 0, [[1]])], "No grid with id: 424242"),
    "over the cell limit": (lambda d, o: [{"addSheet": {"properties": {"title": "big", "gridProperties": {
        "rowCount": 1000, "columnCount": 5}}}}],
        "Invalid requests[0].addSheet: This action would increase the number of cells in the workbook above the "
        "limit of 5000 cells."),
    "over the limit mid-way, under it at the end": (lambda d, o: [resize(o, rows=1300), resize(o, rows=4)],
                                                     "requests[0].updateSheetProperties: This action would increase"),
    "rows before columns": (lambda d, o: [resize(o, rows=1240, cols=3)],
                            "requests[0].updateSheetProperties: This action would increase the number of cells"),
    "over the column limit": (lambda d, o: [resize(o, cols=51)], "above the limit of 50 columns"),
    "metadata without a key": (lambda d, o: [{"createDeveloperMetadata": {"developerMetadata": {
        "location": {"spreadsheet": True}, "visibility": "DOCUMENT"}}}], "metadataKey is required"),
    "metadata id not positive": (lambda d, o: [{"createDeveloperMetadata": {"developerMetadata": {
        "metadataId": 0, "metadataKey": "k", "location": {"spreadsheet": True}, "visibility": "DOCUMENT"}}}],
        "metadataId must be positive"),
    "metadata over its limit": (lambda d, o: [{"createDeveloperMetadata": {"developerMetadata": {
        "metadataKey": f"k{i}", "metadataValue": "v" * 60, "location": {"sheetId": d}, "visibility": "DOCUMENT"}}}
        for i in range(4)], "requests[3].createDeveloperMetadata: The developer metadata of this location would "
                            "exceed the limit of 200 characters"),
    "a null list element": (lambda d, o: [cells(d, 0, [[1]]), None], "Invalid value at 'requests[1]', null"),
    "a cell over 50,000 characters": (lambda d, o: [{"updateCells": {"start": {"sheetId": d}, "fields": "*", "rows": [
        {"values": [{"userEnteredValue": {"stringValue": "x" * 50_001}}]}]}}],
        "Your input contains more than the maximum of 50000 characters in a single cell."),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_an_invalid_batch_is_refused_with_googles_body_and_changes_nothing(sheet: Sheet, case: str) -> None:
    build, part = INVALID[case]
    before = sheet.state()
    got = sheet.post(build(sheet.data, sheet.other))
    assert got.status_code == 400, got.text
    err = got.json()["error"]
    assert (err["code"], err["status"]) == (400, "INVALID_ARGUMENT")
    assert part in err["message"], err["message"]
    assert sheet.state() == before


def test_schema_violations_are_listed_one_a_line_with_a_bad_request_detail(sheet: Sheet) -> None:
    got = sheet.post([{"addSheet": {"properties": {"titel": "x", "index": "first"}}},
                      {"updateCells": {"range": {"sheetId": sheet.data}, "fields": "*", "colour": 1}}])
    err = got.json()["error"]
    assert err["message"].splitlines() == [
        "Invalid JSON payload received. Unknown name \"titel\" at 'requests[0].add_sheet.properties': "
        "Cannot find field.",
        "Invalid value at 'requests[0].add_sheet.properties.index' (TYPE_INT32), \"first\"",
        "Invalid JSON payload received. Unknown name \"colour\" at 'requests[1].update_cells': Cannot find field."]
    detail = err["details"][0]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert [v["field"] for v in detail["fieldViolations"]] == [
        "requests[0].add_sheet.properties", "requests[0].add_sheet.properties.index", "requests[1].update_cells"]


def test_proto3_json_forms_google_accepts_are_accepted(sheet: Sheet) -> None:
    """Proto field names, numbers as strings, enum numbers and nulls (the proto3 JSON mapping)."""
    got = sheet.post([{"update_cells": {"start": {"sheet_id": str(sheet.data), "row_index": "1"},
                                        "fields": "userEnteredValue", "rows": [{"values": [
                                            {"user_entered_value": {"number_value": "2.5"}}]}]}},
                      {"insertDimension": {"range": {"sheetId": sheet.data, "dimension": 1, "startIndex": 3,
                                                     "endIndex": 4}, "inheritFromBefore": None}}])
    assert got.status_code == 200, got.text
    assert sheet.server.values(sheet.sid, "Data")[1] == [2.5]
    assert sheet.server.books[sheet.sid].sheets[0].rows == 11


def test_a_sheet_already_over_the_limit_can_still_be_trimmed(sheet: Sheet) -> None:
    """Shrinking is applied even while the spreadsheet stays over the limit; growing then is refused."""
    sheet.server.books[sheet.sid].sheets[1].props["gridProperties"]["rowCount"] = 2_000       # 8,050 > 5,000
    got = sheet.post([resize(sheet.other, rows=1_900), resize(sheet.other, rows=1_950)])
    assert "would increase the number of cells" in got.json()["error"]["message"]
    got = sheet.post([resize(sheet.other, rows=1_500), resize(sheet.other, rows=1_100)])
    assert got.status_code == 200, got.text
    got = sheet.post([resize(sheet.other, rows=10), resize(sheet.data, rows=20)])
    assert got.status_code == 200, got.text


def test_a_kind_google_has_but_this_server_does_not_model_answers_501(sheet: Sheet) -> None:
    before = sheet.state()
    got = sheet.post([cells(sheet.data, 0, [[5]]), {"mergeCells": {"range": {"sheetId": sheet.data},
                                                                    "mergeType": "MERGE_ALL"}}])
    assert got.status_code == 501 and got.json()["error"]["status"] == "UNIMPLEMENTED"
    assert "does not implement the mergeCells request" in got.json()["error"]["message"]
    assert sheet.state() == before


def test_query_parameters_and_routes_follow_the_discovery_document(sheet: Sheet) -> None:
    url = f"{API}/{sheet.sid}/values:batchGet"
    got = sheet.sync.get(url, params={"ranges": "Data", "valueRenderOption": "RAW"}, timeout=30)
    assert got.status_code == 400 and "(type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), \"RAW\"" in \
        got.json()["error"]["message"]
    got = sheet.sync.get(f"{API}/{sheet.sid}", params={"includeGridData": "yes"}, timeout=30)
    assert got.json()["error"]["message"] == "Invalid value at 'include_grid_data' (TYPE_BOOL), \"yes\""
    got = sheet.sync.post(f"{API}/{sheet.sid}/values:batchClear", json={"ranges": ["Data"]}, timeout=30)
    assert got.status_code == 501                   # a real method, not modelled
    got = sheet.sync.get(f"{API}/{sheet.sid}/nothing", timeout=30)
    assert got.status_code == 404 and got.json()["error"]["status"] == "NOT_FOUND"
    got = sheet.sync.put(f"{API}/{sheet.sid}/values/Data!A1", json={"values": [[1]]}, timeout=30)
    assert got.json()["error"]["message"] == "'valueInputOption' is required but not specified"
    got = sheet.sync.put(f"{API}/{sheet.sid}/values/Data!A1", params={"valueInputOption": "RAW"},
                         json={"values": [[1]], "majorDimensions": "ROWS"}, timeout=30)
    assert "Unknown name \"majorDimensions\"" in got.json()["error"]["message"]


def test_a_body_that_is_not_json_is_a_400_and_a_bug_is_a_500_never_a_hang_up(sheet: Sheet, monkeypatch) -> None:
    got = sheet.sync.post(f"{API}/{sheet.sid}:batchUpdate", data=b"{requests:", timeout=30,
                          headers={"Content-Type": "application/json"})
    assert got.status_code == 400 and got.json()["error"]["message"].startswith("Invalid JSON payload received.")
    from sheets_sync.testing import sheets_batch

    def broken(self, body, where):
        raise KeyError("a bug")

    monkeypatch.setattr(sheets_batch.BatchUpdate, "unmergeCells", broken)
    got = sheet.post([{"unmergeCells": {"range": {"sheetId": sheet.data}}}])
    assert got.status_code == 500 and got.json() == {"error": {
        "code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}
    assert "KeyError: 'a bug'" in sheet.server.internal_errors.pop()


# ---------------------------------------------------------------------------------------------- protections

def test_a_protection_stops_everyone_but_its_editors_and_the_owner(sheet: Sheet) -> None:
    sheet.server.protect(sheet.sid, "Data", description="managers only")
    seen = sheet.sync.get(f"{API}/{sheet.sid}", params={"fields": "sheets(protectedRanges)"}, timeout=30).json()
    assert seen["sheets"][0]["protectedRanges"] == [{
        "protectedRangeId": seen["sheets"][0]["protectedRanges"][0]["protectedRangeId"],
        "range": {"sheetId": sheet.data}, "description": "managers only", "warningOnly": False,
        "requestingUserCanEdit": False}]                        # no editors: only editors see them
    mine = sheet.owner.get(f"{API}/{sheet.sid}", params={"fields": "sheets(protectedRanges)"}, timeout=30).json()
    assert mine["sheets"][0]["protectedRanges"][0]["editors"] == {"users": [OWNER]}
    before = sheet.state()
    for reqs in ([cells(sheet.data, 0, [[1]])],                              # values
                 [{"repeatCell": {"range": {"sheetId": sheet.data, "endRowIndex": 1}, "fields": "userEnteredFormat",
                                  "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}}}}],
                 [{"deleteDimension": {"range": {"sheetId": sheet.data, "dimension": "ROWS", "startIndex": 2,
                                                 "endIndex": 3}}}],
                 [resize(sheet.data, rows=5)],
                 [{"deleteSheet": {"sheetId": sheet.data}}],
                 [{"updateSheetProperties": {"properties": {"sheetId": sheet.data, "title": "x"}, "fields": "title"}}],
                 [{"deleteProtectedRange": {"protectedRangeId": seen["sheets"][0]["protectedRanges"][0][
                     "protectedRangeId"]}}],
                 [cells(sheet.other, 0, [[1]]), cells(sheet.data, 3, [[1]])]):    # the first alone would pass
        got = sheet.post(reqs)
        assert got.status_code == 400, reqs
        assert got.json()["error"]["message"] == ("You are trying to edit a protected cell or object. Please contact "
                                                  "the spreadsheet owner to remove protection if you need to edit.")
    got = sheet.sync.put(f"{API}/{sheet.sid}/values/Data!B2", params={"valueInputOption": "RAW"},
                         json={"values": [["typed"]]}, timeout=30)
    assert got.status_code == 400 and "protected cell" in got.json()["error"]["message"]
    assert sheet.state() == before
    assert sheet.post([cells(sheet.data, 0, [[2]])], session=sheet.owner).status_code == 200
    assert sheet.post([cells(sheet.other, 0, [[3]])]).status_code == 200          # another tab


def test_an_editor_of_the_protection_and_a_warning_only_protection_let_the_write_through(sheet: Sheet) -> None:
    sheet.server.protect(sheet.sid, "Data", editors=[sheet.email])
    sheet.server.protect(sheet.sid, "Other", warning_only=True)
    got = sheet.post([cells(sheet.data, 0, [[1]]), cells(sheet.other, 0, [[1]])])
    assert got.status_code == 200, got.text
    seen = sheet.sync.get(f"{API}/{sheet.sid}", params={"fields": "sheets(protectedRanges)"}, timeout=30).json()
    assert [s["protectedRanges"][0]["requestingUserCanEdit"] for s in seen["sheets"]] == [True, True]


def test_a_protected_range_leaves_the_rest_of_the_tab_and_its_exceptions_editable(sheet: Sheet) -> None:
    sheet.server.protect(sheet.sid, "Data", grid={"startRowIndex": 0, "endRowIndex": 2},
                         unprotected=[{"startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 3,
                                       "endColumnIndex": 5}])
    assert sheet.post([cells(sheet.data, 2, [[1, 2, 3, 4, 5]])]).status_code == 200        # below the range
    assert sheet.post([{"updateCells": {"start": {"sheetId": sheet.data, "rowIndex": 1, "columnIndex": 3},
                                        "fields": "userEnteredValue", "rows": [{"values": [
                                            {"userEnteredValue": {"numberValue": 9}}]}]}}]).status_code == 200
    assert sheet.post([cells(sheet.data, 1, [[1]])]).status_code == 400                   # inside it


def test_an_added_protection_keeps_its_creator_as_an_editor(sheet: Sheet) -> None:
    got = sheet.post([{"addProtectedRange": {"protectedRange": {"range": {"sheetId": sheet.other},
                                                                "editors": {"users": []}}}}])
    pr = got.json()["replies"][0]["addProtectedRange"]["protectedRange"]
    assert pr["requestingUserCanEdit"] is True and pr["editors"]["users"] == [sheet.email]
    got = sheet.post([{"addProtectedRange": {"protectedRange": {"range": {"sheetId": sheet.other},
                                                                "warningOnly": True,
                                                                "editors": {"users": [sheet.email]}}}}])
    assert "Warning-only protected ranges cannot have editors" in got.json()["error"]["message"]
