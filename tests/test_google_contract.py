"""The workbook contract suite (sheets_sync.testing) over the Google adapter, through real gspread and
google-auth talking HTTP to the local Sheets server."""

import pytest

from sheets_sync.testing.contract import WorkbookContract
from sheets_sync.testing.sheets_server import SID

pytest_plugins = ["google_fixtures"]


class TestGoogleWorkbook(WorkbookContract):
    @pytest.fixture
    def workbook(self, shared_book, make_workbook):
        shared_book({"Sheet1": []})          # a new Google spreadsheet has one empty tab
        return make_workbook(SID)
