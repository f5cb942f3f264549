"""Workbook port and its adapters: xlsx (embedded default), Google Sheets (gspread), in-memory fake."""

from .base import (
    GENERATED_HEADER_ROW,
    ChartIntent,
    GeneratedTab,
    TeamTabSeed,
    Workbook,
    WriteStats,
)

__all__ = ["GENERATED_HEADER_ROW", "ChartIntent", "GeneratedTab", "TeamTabSeed", "Workbook", "WriteStats"]
