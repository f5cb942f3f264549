"""Generated tabs read back as the sync wrote them, for the deck and the BI export.

The header row of a generated tab is shown in the workbook's language, and some tabs put their columns in a
reading order of their own (Daily leads with the cumulative columns its chart draws), so columns are found by their
header — the contract name or its label in any language of the template — never by position.
"""

from __future__ import annotations

from typing import Any

from .sheets.base import GENERATED_HEADER_ROW
from .template import Template


def generated_rows(table: list[list[Any]] | None, template: Template, tab: str) -> list[dict[str, Any]]:
    """The data rows of generated tab ``tab`` as dicts keyed by contract column names (unknown headers dropped)."""
    if not table or len(table) < GENERATED_HEADER_ROW:
        return []
    names: dict[str, str] = {}
    for c in template.tab(tab).columns:
        names[c.name.casefold()] = c.name
        for _, shown in c.labels:
            names.setdefault(str(shown).casefold(), c.name)
    header = [names.get(str(h or "").strip().casefold()) for h in table[GENERATED_HEADER_ROW - 1]]
    out = []
    for r in table[GENERATED_HEADER_ROW:]:
        if any(c not in (None, "") for c in r):
            out.append({name: (r[i] if i < len(r) else None) for i, name in enumerate(header) if name})
    return out
