"""Kept for existing importers: report parsing lives in :mod:`sheets_sync.sources.parsing` (one module per
report layout)."""

from __future__ import annotations

from .parsing import EXPECTED, KINDS, normalize_header, parse_report

__all__ = ["EXPECTED", "KINDS", "normalize_header", "parse_report"]
