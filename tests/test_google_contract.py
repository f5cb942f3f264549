"""The workbook contract suite (sheets_sync.testing) over the Google adapter, through real gspread and
google-auth talking HTTP to the local Sheets server."""

import pytest
from google_fixtures import SID, _no_network, clock, make_workbook, sa, server, shared_book  # noqa: F401

from sheets_sync.testing import WorkbookContract


class TestGoogleWorkbook(WorkbookContract):
    @pytest.fixture
    def workbook(self, shared_book, make_workbook):  # noqa: F811
        shared_book({"Sheet1": []})          # a new Google spreadsheet has one empty tab
        return make_workbook(SID)
