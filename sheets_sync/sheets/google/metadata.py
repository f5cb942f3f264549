"""What one metadata GET tells the adapter: the tabs, their grids, and what earlier syncs left on them.

``spreadsheets.get`` with the :data:`METADATA_FIELDS` mask: tab ids, titles and grid sizes; the charts,
conditional formats and sheets-sync protections on each tab (the next write deletes and redraws them); the
developer metadata sheets-sync keeps (template version, the last write's id and per-tab digests); staging tabs a
killed write left behind; and the protections people put on tabs that the service account may not edit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STAGING_PREFIX = "sheets-sync staging "
WRITE_KEY = "sheets_sync_last_write"   # developer metadata: {"id": write id, "tabs": {tab: digests}}
METADATA_PREFIX = "sheets_sync_"
OUR_PROTECTION_PREFIX = "sheets-sync:"  # the description of every protection sheets-sync adds starts so
METADATA_FIELDS = (
    "spreadsheetId,properties(title),"
    "sheets(properties(sheetId,title,index,sheetType,hidden,gridProperties(rowCount,columnCount,frozenRowCount)),"
    "protectedRanges(protectedRangeId,description,warningOnly,requestingUserCanEdit),"
    "conditionalFormats(ranges(sheetId)),charts(chartId)),"
    "developerMetadata(metadataId,metadataKey,metadataValue,location(spreadsheet))"
)


@dataclass
class SheetInfo:
    sheet_id: int
    title: str
    index: int
    rows: int
    cols: int
    frozen_rows: int = 0
    grid: bool = True
    our_protections: list[int] = field(default_factory=list)
    #: descriptions of the protections on this tab that the service account may not edit (not warning-only,
    #: not one of their editors): Google refuses every write to the tab (see limits.check_protections)
    locked_by: list[str] = field(default_factory=list)
    conditional_formats: int = 0
    charts: list[int] = field(default_factory=list)
    hidden: bool = False


@dataclass
class Meta:
    sheets: dict[str, SheetInfo]
    metadata: dict[str, tuple[int, str]]      # our developer-metadata keys → (metadataId, value)
    fetched_at: float

    @classmethod
    def parse(cls, body: Mapping[str, Any], now: float) -> Meta:
        sheets: dict[str, SheetInfo] = {}
        for s in body.get("sheets", []):
            p = s.get("properties", {})
            g = p.get("gridProperties", {})
            info = SheetInfo(
                sheet_id=int(p.get("sheetId", 0)), title=str(p.get("title", "")), index=int(p.get("index", 0)),
                rows=int(g.get("rowCount", 0)), cols=int(g.get("columnCount", 0)),
                frozen_rows=int(g.get("frozenRowCount", 0)), grid=p.get("sheetType", "GRID") == "GRID",
                our_protections=[int(r["protectedRangeId"]) for r in s.get("protectedRanges", [])
                                 if str(r.get("description", "")).startswith(OUR_PROTECTION_PREFIX)],
                locked_by=[str(r.get("description") or f"protection {r.get('protectedRangeId')}")
                           for r in s.get("protectedRanges", [])
                           if not r.get("warningOnly") and r.get("requestingUserCanEdit") is False],
                conditional_formats=len(s.get("conditionalFormats", [])),
                charts=[int(c["chartId"]) for c in s.get("charts", [])], hidden=bool(p.get("hidden", False)))
            sheets[info.title] = info
        md = {}
        for m in body.get("developerMetadata", []):
            key = str(m.get("metadataKey", ""))
            if key.startswith(METADATA_PREFIX):
                md[key] = (int(m.get("metadataId", 0)), str(m.get("metadataValue", "")))
        return cls(sheets=sheets, metadata=md, fetched_at=now)

    def similar(self, name: str) -> str | None:
        """An existing tab whose name differs from ``name`` only in case or spaces."""
        key = norm(name)
        for title in self.sheets:
            if title != name and norm(title) == key:
                return title
        return None

    def total_cells(self, excluding: set[str]) -> int:
        return sum(s.rows * s.cols for t, s in self.sheets.items() if t not in excluding)

    def ids(self) -> set[int]:
        return {s.sheet_id for s in self.sheets.values()}

    def staging(self) -> list[str]:
        """Staging tabs left by a write that did not finish (the next write deletes them)."""
        return [t for t in self.sheets if t.startswith(STAGING_PREFIX)]

    def last_write(self) -> dict[str, Any]:
        raw = self.metadata.get(WRITE_KEY)
        try:
            got = json.loads(raw[1]) if raw else {}
        except ValueError:
            return {}
        return got if isinstance(got, dict) else {}

    def write_id(self) -> str | None:
        return self.last_write().get("id")

    def digests(self) -> dict[str, str]:
        tabs = self.last_write().get("tabs")
        return {str(k): str(v) for k, v in tabs.items()} if isinstance(tabs, dict) else {}


def norm(text: Any) -> str:
    """A header or tab name compared loosely: case and runs of spaces do not matter."""
    return re.sub(r"\s+", " ", str(text or "")).strip().lower()
