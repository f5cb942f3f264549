"""The Google Sheets contract suite: what sheets-sync relies on Google Sheets to do, checked the same way against
the local server (:mod:`.sheets_server`) and, with credentials, against the real Sheets API v4.

Run it with ``python -m sheets_sync.testing.contract_suite sheets [--live]``; the project's tests run the local
half (tests/test_sheets_api_contract.py). ``--live`` needs:

* ``SHEETS_SYNC_LIVE_GOOGLE_CREDENTIALS``: the path of a service-account key (JSON);
* ``SHEETS_SYNC_LIVE_SPREADSHEET_ID``: a scratch spreadsheet shared with that account as Editor. The suite adds
  tabs named ``contract …`` and deletes them again; it never touches other tabs. One check briefly grows the
  spreadsheet close to Google's 10,000,000-cell limit (empty cells) and one sends a request of 10.5 MB.
* optionally ``SHEETS_SYNC_LIVE_OWNER_CREDENTIALS``: a second account that can edit the spreadsheet; it puts a
  protection on a scratch tab that the first account may not edit (the protection checks are skipped without it).

Only what Google's pages or public answers show is asserted (the status, and the parts of the message quoted
there); where the local server's message is a guess, the check asserts the status alone.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from .contract_suite import live_requested, missing_live_env, register

SUITE = register(
    "sheets", __name__,
    "Google Sheets API v4: request validation, batchUpdate order and atomicity, the cell limit, protected ranges, "
    "developer metadata, values shapes",
    ("SHEETS_SYNC_LIVE_GOOGLE_CREDENTIALS", "SHEETS_SYNC_LIVE_SPREADSHEET_ID"),
    ("SHEETS_SYNC_LIVE_OWNER_CREDENTIALS",))
API = "https://sheets.googleapis.com/v4/spreadsheets"
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
MAX_CELLS = 10_000_000
PROTECTED = "You are trying to edit a protected cell or object"


@dataclass
class Account:
    email: str
    session: requests.Session


@dataclass
class Target:
    """One Sheets API to check: the local server or Google. ``sync`` is the account sheets-sync writes as;
    ``owner`` (may be None on the live target) another account that can edit the spreadsheet."""

    name: str
    spreadsheet_id: str
    sync: Account
    owner: Account | None
    scratch: list[int] = field(default_factory=list)      # sheet ids of the tabs this suite added

    def call(self, method: str, path: str = "", *, who: Account | None = None, **kw: Any) -> requests.Response:
        """One request to ``/v4/spreadsheets/{id}{path}`` (no exception on an error status)."""
        return (who or self.sync).session.request(method, f"{API}/{self.spreadsheet_id}{path}", timeout=120, **kw)

    def batch(self, requests_: list[dict[str, Any]], who: Account | None = None) -> requests.Response:
        return self.call("POST", ":batchUpdate", who=who, json={"requests": requests_})

    def tabs(self) -> dict[str, dict[str, Any]]:
        got = self.call("GET", params={"fields": "sheets(properties,protectedRanges)"})
        assert got.status_code == 200, got.text
        return {s["properties"]["title"]: s for s in got.json().get("sheets", [])}

    def new_tab(self, rows: int = 10, cols: int = 5) -> tuple[int, str]:
        """A scratch tab (deleted after the check)."""
        title = f"contract {uuid.uuid4().hex[:8]}"
        got = self.batch([{"addSheet": {"properties": {"title": title, "gridProperties": {
            "rowCount": rows, "columnCount": cols}}}}])
        assert got.status_code == 200, got.text
        sid = got.json()["replies"][0]["addSheet"]["properties"]["sheetId"]
        self.scratch.append(sid)
        return sid, title

    def cleanup(self) -> None:
        present = {s["properties"]["sheetId"] for s in self.tabs().values()}
        gone = [{"deleteSheet": {"sheetId": s}} for s in self.scratch if s in present]
        self.scratch.clear()
        if gone:
            got = self.batch(gone, who=self.owner or self.sync)
            assert got.status_code == 200, got.text


def _session(info: dict[str, Any]) -> requests.Session:
    import google.auth.transport.requests as gtr
    from google.oauth2 import service_account

    return gtr.AuthorizedSession(service_account.Credentials.from_service_account_info(info, scopes=SCOPES))


def _live_target() -> Target:
    if not live_requested():
        pytest.skip("the live target runs with --live (python -m sheets_sync.testing.contract_suite sheets --live)")
    missing = missing_live_env(SUITE)
    if missing:
        pytest.skip(f"--live needs {', '.join(missing)}")

    def account(var: str) -> Account | None:
        path = os.environ.get(var)
        if not path:
            return None
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
        return Account(info["client_email"], _session(info))

    sync = account("SHEETS_SYNC_LIVE_GOOGLE_CREDENTIALS")
    assert sync is not None
    return Target("live", os.environ["SHEETS_SYNC_LIVE_SPREADSHEET_ID"], sync,
                  account("SHEETS_SYNC_LIVE_OWNER_CREDENTIALS"))


class SheetsApiContract:
    """The checks. A test module runs them with ``class TestSomething(SheetsApiContract)``."""

    @pytest.fixture(scope="class")
    @classmethod
    def _local(cls) -> Iterator[tuple[Any, Account, Account]]:
        """The local server and its two accounts (their tokens last the class; each check gets a new sheet)."""
        from .sheets_server import FakeSheetsServer

        with FakeSheetsServer() as server:      # Google's limits, all of them (nothing switched off)
            sync = server.service_account()
            owner = server.service_account("owner@team-project.iam.gserviceaccount.com")
            yield (server, Account(sync["client_email"], server.session(sync)),
                   Account(owner["client_email"], server.session(owner)))

    @pytest.fixture(params=["local", "live"])
    def target(self, request: pytest.FixtureRequest, _local: tuple[Any, Account, Account]) -> Iterator[Target]:
        server, sync, owner = _local
        if request.param == "live":
            t = _live_target()
        else:
            sid = "contract" + uuid.uuid4().hex
            server.add_book(sid, {"Sheet1": []}, shared=[owner.email, sync.email], owner=owner.email)
            t = Target("local", sid, sync, owner)
        try:
            yield t
        finally:
            t.cleanup()
            if request.param == "local":
                assert not server.internal_errors, server.internal_errors[-1]

    # ------------------------------------------------------------------------------------------ the error body

    @staticmethod
    def refused(got: requests.Response, code: int = 400, status: str = "INVALID_ARGUMENT") -> str:
        """Google's error body (``{"error": {"code", "message", "status"}}``); returns the message."""
        assert got.status_code == code, (got.status_code, got.text[:500])
        err = got.json()["error"]
        assert (err["code"], err["status"]) == (code, status), err
        assert isinstance(err["message"], str) and err["message"]
        return str(err["message"])

    # ------------------------------------------------------------------------------------------ validation

    def test_an_unknown_request_kind_is_refused(self, target: Target) -> None:
        msg = self.refused(target.batch([{"fooBar": {"sheetId": 0}}]))
        assert "Unknown name \"fooBar\" at 'requests[0]': Cannot find field." in msg

    def test_an_unknown_field_is_refused(self, target: Target) -> None:
        sid, _ = target.new_tab()
        msg = self.refused(target.batch([{"updateSheetProperties": {
            "properties": {"sheetId": sid, "headerValues": ["a"]}, "fields": "title"}}]))
        assert "Unknown name \"headerValues\" at 'requests[0].update_sheet_properties.properties'" in msg

    def test_a_value_of_the_wrong_type_is_refused(self, target: Target) -> None:
        msg = self.refused(target.batch([{"updateCells": {"range": {"sheetId": "first"}, "fields": "*"}}]))
        assert "Invalid value at 'requests[0].update_cells.range.sheet_id'" in msg

    def test_a_value_outside_the_enum_is_refused(self, target: Target) -> None:
        sid, _ = target.new_tab()
        msg = self.refused(target.batch([{"repeatCell": {
            "range": {"sheetId": sid, "endRowIndex": 1}, "fields": "userEnteredFormat.numberFormat",
            "cell": {"userEnteredFormat": {"numberFormat": {"type": "PERCENTAGE"}}}}}]))
        assert "Invalid value at 'requests[0].repeat_cell.cell.user_entered_format.number_format.type'" in msg
        assert '"PERCENTAGE"' in msg

    def test_two_kinds_in_one_request_are_refused(self, target: Target) -> None:
        sid, _ = target.new_tab()
        msg = self.refused(target.batch([{"updateSheetProperties": {"properties": {"sheetId": sid, "title": "x"},
                                                                    "fields": "title"},
                                          "deleteSheet": {"sheetId": sid}}]))
        assert "oneof field 'kind' is already set" in msg.lower()

    def test_a_missing_fields_mask_is_refused(self, target: Target) -> None:
        sid, _ = target.new_tab()
        self.refused(target.batch([{"repeatCell": {"range": {"sheetId": sid},
                                                   "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}}}}]))

    def test_no_request_at_all_is_refused(self, target: Target) -> None:
        assert "Must specify at least one request" in self.refused(target.batch([]))

    def test_an_unknown_query_parameter_is_refused(self, target: Target) -> None:
        msg = self.refused(target.call("GET", "/values:batchGet", params={"ranges": "Sheet1", "rangez": "x"}))
        assert 'Unknown name "rangez": Cannot bind query parameter' in msg

    def test_a_range_outside_the_grid_is_refused(self, target: Target) -> None:
        sid, _ = target.new_tab(rows=5, cols=3)
        msg = self.refused(target.batch([{"updateCells": {
            "start": {"sheetId": sid, "rowIndex": 4, "columnIndex": 0},
            "rows": [{"values": [{"userEnteredValue": {"numberValue": 1}}]}] * 2, "fields": "userEnteredValue"}}]))
        assert "exceeds grid limits" in msg

    def test_a_body_over_10485760_bytes_is_refused(self, target: Target) -> None:
        sid, _ = target.new_tab(rows=3, cols=1)
        text = "x" * 40_000
        rows = [{"values": [{"userEnteredValue": {"stringValue": text}}]}] * 270     # ≈ 10.8 MB
        msg = self.refused(target.batch([{"updateCells": {"start": {"sheetId": sid}, "rows": rows,
                                                          "fields": "userEnteredValue"}}]))
        assert msg == "Request payload size exceeds the limit: 10485760 bytes."

    def test_an_unknown_spreadsheet_is_404(self, target: Target) -> None:
        got = target.sync.session.get(f"{API}/{target.spreadsheet_id}x0", timeout=60)
        self.refused(got, 404, "NOT_FOUND")

    # ------------------------------------------------------------------------------------------ batchUpdate

    def test_later_requests_see_earlier_ones_and_replies_mirror_requests(self, target: Target) -> None:
        sid, title = target.new_tab()
        new_id = 700_000_000 + int(uuid.uuid4().int % 100_000)
        got = target.batch([
            {"updateCells": {"start": {"sheetId": sid}, "fields": "userEnteredValue",
                             "rows": [{"values": [{"userEnteredValue": {"stringValue": "kept"}}]}]}},
            {"addSheet": {"properties": {"sheetId": new_id, "title": f"{title} b",
                                         "gridProperties": {"rowCount": 3, "columnCount": 2}}}},
            {"updateCells": {"start": {"sheetId": new_id, "rowIndex": 2, "columnIndex": 1}, "fields": "userEnteredValue",
                             "rows": [{"values": [{"userEnteredValue": {"numberValue": 7}}]}]}}])
        assert got.status_code == 200, got.text
        target.scratch.append(new_id)
        replies = got.json()["replies"]
        assert replies[0] == {} and replies[2] == {} and replies[1]["addSheet"]["properties"]["sheetId"] == new_id
        vals = target.call("GET", "/values:batchGet", params={"ranges": [f"'{title} b'!A1:B3"],
                                                               "valueRenderOption": "UNFORMATTED_VALUE"})
        assert vals.json()["valueRanges"][0]["values"] == [[], [], ["", 7]]

    def test_a_refused_batch_changes_nothing(self, target: Target) -> None:
        sid, title = target.new_tab(rows=4, cols=2)
        before = target.tabs()
        got = target.batch([
            {"addSheet": {"properties": {"title": f"{title} new"}}},
            {"updateSheetProperties": {"properties": {"sheetId": sid, "title": f"{title} renamed"},
                                       "fields": "title"}},
            {"updateCells": {"range": {"sheetId": sid, "startRowIndex": 9, "endRowIndex": 10}, "fields": "*"}}])
        self.refused(got)
        assert target.tabs() == before

    def test_the_cell_limit_is_checked_after_each_request(self, target: Target) -> None:
        """A batch that grows one tab before it shrinks another is refused near the limit; the same requests the
        other way round are applied (Google applies sub-requests in order and checks after each)."""
        used = sum(s["properties"]["gridProperties"]["rowCount"] * s["properties"]["gridProperties"]["columnCount"]
                   for s in target.tabs().values() if s["properties"].get("sheetType", "GRID") == "GRID")
        cols = 20
        free = MAX_CELLS - used - 100 * cols                 # ballast leaves room for 100 rows of 20 columns
        small, _ = target.new_tab(rows=10, cols=cols)
        ballast, _ = target.new_tab(rows=free // cols - 10, cols=cols)
        grow = {"updateSheetProperties": {"properties": {"sheetId": small, "gridProperties": {"rowCount": 500}},
                                          "fields": "gridProperties.rowCount"}}
        shrink = {"updateSheetProperties": {"properties": {"sheetId": ballast, "gridProperties": {
            "rowCount": free // cols - 1000}}, "fields": "gridProperties.rowCount"}}
        msg = self.refused(target.batch([grow, shrink]))
        assert "This action would increase the number of cells in the workbook above the limit of 10000000 cells" in msg
        sizes = {s["properties"]["sheetId"]: s["properties"]["gridProperties"]["rowCount"]
                 for s in target.tabs().values()}
        assert (sizes[small], sizes[ballast]) == (10, free // cols - 10)
        got = target.batch([shrink, grow])
        assert got.status_code == 200, got.text

    # ------------------------------------------------------------------------------------------ protections

    def _protect(self, target: Target, sid: int, *, warning_only: bool = False) -> int:
        if target.owner is None:
            pytest.skip("the protection checks need a second account (SHEETS_SYNC_LIVE_OWNER_CREDENTIALS)")
        pr: dict[str, Any] = {"range": {"sheetId": sid}, "description": "contract: managers only",
                              "warningOnly": warning_only}
        if not warning_only:
            pr["editors"] = {"users": [target.owner.email]}
        got = target.batch([{"addProtectedRange": {"protectedRange": pr}}], who=target.owner)
        assert got.status_code == 200, got.text
        return int(got.json()["replies"][0]["addProtectedRange"]["protectedRange"]["protectedRangeId"])

    @staticmethod
    def _write(target: Target, sid: int) -> requests.Response:
        return target.batch([{"updateCells": {"start": {"sheetId": sid}, "fields": "userEnteredValue",
                                              "rows": [{"values": [{"userEnteredValue": {"stringValue": "x"}}]}]}}])

    def test_a_protected_tab_refuses_an_account_that_is_not_its_editor(self, target: Target) -> None:
        sid, title = target.new_tab()
        pid = self._protect(target, sid)
        seen = target.tabs()[title]["protectedRanges"]
        assert [p["requestingUserCanEdit"] for p in seen] == [False]
        assert "editors" not in seen[0]                      # only editors of the protection see them
        assert PROTECTED in self.refused(self._write(target, sid))
        assert owner_can(target, sid)
        assert target.owner is not None
        got = target.batch([{"updateProtectedRange": {"protectedRange": {
            "protectedRangeId": pid, "editors": {"users": [target.owner.email, target.sync.email]}},
            "fields": "editors"}}], who=target.owner)
        assert got.status_code == 200, got.text
        assert target.tabs()[title]["protectedRanges"][0]["requestingUserCanEdit"] is True
        assert self._write(target, sid).status_code == 200

    def test_a_warning_only_protection_lets_every_editor_write(self, target: Target) -> None:
        sid, title = target.new_tab()
        self._protect(target, sid, warning_only=True)
        assert target.tabs()[title]["protectedRanges"][0]["requestingUserCanEdit"] is True
        assert self._write(target, sid).status_code == 200

    # ------------------------------------------------------------------------------------------ metadata, values

    def test_developer_metadata_round_trip(self, target: Target) -> None:
        key = f"contract_{uuid.uuid4().hex[:8]}"
        got = target.batch([{"createDeveloperMetadata": {"developerMetadata": {
            "metadataKey": key, "metadataValue": "3", "location": {"spreadsheet": True}, "visibility": "DOCUMENT"}}}])
        assert got.status_code == 200, got.text
        md = got.json()["replies"][0]["createDeveloperMetadata"]["developerMetadata"]
        assert md["metadataId"] > 0 and md["location"]["spreadsheet"] is True
        listed = target.call("GET", params={"fields": "developerMetadata"}).json().get("developerMetadata", [])
        assert [m["metadataValue"] for m in listed if m["metadataKey"] == key] == ["3"]
        got = target.batch([{"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {
            "metadataId": md["metadataId"]}}}}])
        assert got.status_code == 200, got.text
        listed = target.call("GET", params={"fields": "developerMetadata"}).json().get("developerMetadata", [])
        assert not [m for m in listed if m["metadataKey"] == key]

    def test_developer_metadata_needs_a_visibility(self, target: Target) -> None:
        self.refused(target.batch([{"createDeveloperMetadata": {"developerMetadata": {
            "metadataKey": "contract_x", "location": {"spreadsheet": True}}}}]))

    def test_values_come_back_ragged_with_trailing_empties_left_out(self, target: Target) -> None:
        sid, title = target.new_tab(rows=6, cols=4)
        cells = [[{"userEnteredValue": {"stringValue": "a"}}, {}, {"userEnteredValue": {"numberValue": 2.5}}],
                 [], [{"userEnteredValue": {"boolValue": True}}]]
        got = target.batch([{"updateCells": {"start": {"sheetId": sid}, "fields": "userEnteredValue",
                                             "rows": [{"values": r} for r in cells]}}])
        assert got.status_code == 200, got.text
        vals = target.call("GET", "/values:batchGet", params={
            "ranges": [f"'{title}'!A1:D6", f"'{title}'!D5:D6"], "valueRenderOption": "UNFORMATTED_VALUE"}).json()
        first, empty = vals["valueRanges"]
        assert first["range"] == f"'{title}'!A1:D6" and first["majorDimension"] == "ROWS"
        assert first["values"] == [["a", "", 2.5], [], [True]]
        assert "values" not in empty

    def test_a_value_write_needs_a_value_input_option(self, target: Target) -> None:
        _, title = target.new_tab()
        msg = self.refused(target.call("PUT", f"/values/'{title}'!A1", json={"values": [[1]]}))
        assert "valueInputOption" in msg


def owner_can(target: Target, sid: int) -> bool:
    """The owner account may still write the tab it protected."""
    assert target.owner is not None
    got = target.batch([{"updateCells": {"start": {"sheetId": sid}, "fields": "userEnteredValue",
                                         "rows": [{"values": [{"userEnteredValue": {"stringValue": "o"}}]}]}}],
                       who=target.owner)
    return got.status_code == 200


class TestSheetsApi(SheetsApiContract):
    """Collected when this module is run directly (the contract_suite command)."""
