"""The workbook contract suite over the in-memory and xlsx adapters (Google: tests/test_google_contract.py)."""

import pytest

from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.testing.contract import WorkbookContract


class TestMemoryWorkbook(WorkbookContract):
    @pytest.fixture
    def workbook(self):
        return MemoryWorkbook()


class TestXlsxWorkbook(WorkbookContract):
    @pytest.fixture
    def workbook(self, tmp_path):
        return XlsxWorkbook(tmp_path / "team.xlsx")
