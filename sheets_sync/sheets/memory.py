"""In-memory workbook: the fake every test can use, with fault switches.

Switches: ``fail_writes`` (a list of exceptions raised by the next writes, in order), ``fail_reads``,
``missing`` (tab names that read as absent). A failed write changes nothing (like the real adapters).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from .base import GENERATED_HEADER_ROW, GeneratedTab, Table, TeamTabSeed, Workbook, WriteStats


def generated_table(tab: GeneratedTab) -> Table:
    """The cells of a generated tab as written: definitions line, header, rows."""
    return [[tab.title], list(tab.columns), *[list(r) for r in tab.rows]]


class MemoryWorkbook(Workbook):
    def __init__(self, tabs: dict[str, Table] | None = None, name: str = "memory"):
        self.tabs: dict[str, Table] = {k: [list(r) for r in v] for k, v in (tabs or {}).items()}
        self.name = name
        self.metadata: dict[str, str] = {}
        self.written: dict[str, GeneratedTab] = {}
        self.fail_writes: list[Exception] = []
        self.fail_reads: list[Exception] = []
        self.missing: set[str] = set()
        self.api_calls = 0
        self.reads = 0
        self.writes = 0

    def describe(self) -> str:
        return f"memory:{self.name}"

    def read_tabs(self, names: Sequence[str]) -> dict[str, Table | None]:
        self.reads += 1
        if self.fail_reads:
            raise self.fail_reads.pop(0)
        return {n: (copy.deepcopy(self.tabs[n]) if n in self.tabs and n not in self.missing else None)
                for n in names}

    def write_tabs(self, tabs: Sequence[GeneratedTab]) -> WriteStats:
        self.writes += 1
        if self.fail_writes:
            raise self.fail_writes.pop(0)
        stats = WriteStats(api_calls=0)
        for t in tabs:
            self.tabs[t.name] = generated_table(t)
            self.written[t.name] = t
            stats.cells += t.cell_count()
        return stats

    def create_tabs(self, seeds: Sequence[TeamTabSeed], generated: Sequence[GeneratedTab],
                    metadata: dict[str, str]) -> list[str]:
        created = []
        for s in seeds:
            if s.name not in self.tabs:
                self.tabs[s.name] = [list(s.columns), *[list(r) for r in s.rows]]
                created.append(s.name)
        for g in generated:
            if g.name not in self.tabs:
                self.tabs[g.name] = generated_table(g)
                created.append(g.name)
        self.metadata.update(metadata)
        return created

    def generated_rows(self, name: str) -> list[dict[str, Any]]:
        """Rows of a generated tab as dicts (header in row GENERATED_HEADER_ROW); for tests."""
        table = self.tabs[name]
        header = table[GENERATED_HEADER_ROW - 1]
        return [dict(zip(header, r, strict=False)) for r in table[GENERATED_HEADER_ROW:]]
