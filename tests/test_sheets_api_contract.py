"""The Google Sheets contract suite (sheets_sync/testing/sheets_contract.py) against the local server.

``python -m sheets_sync.testing.contract_suite sheets --live`` runs the same checks against Google as well; here
the live target is skipped.
"""

from sheets_sync.testing.sheets_contract import SheetsApiContract


class TestLocalSheetsApi(SheetsApiContract):
    pass
