"""Workbook template v1: one YAML per tab (see sheets_sync.template), plus the Apps Script menu."""
