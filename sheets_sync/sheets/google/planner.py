"""Write planning: generated tabs → one bounded write (a final batchUpdate, plus staging requests when needed).

A tab whose content did not change since the last write (digests kept in developer metadata) is not resent; a
tab read back by the sync (History, Sync Log) is patched by rows (rows deleted at the top, inserted, appended)
instead of rewritten. When the final request is still larger than the budget, its largest blocks of rows are
first written over several requests into hidden *staging* tabs, and the final batchUpdate pastes them into the
visible tabs (``copyPaste``: the tabs keep their ids) and deletes the staging tabs: a reader sees the old tabs or
the new ones, never a mix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import InputDataError, Problem
from ..base import GENERATED_HEADER_ROW, GeneratedTab, Table, chart_blocks, colour_rules
from .build import TabWrite, cell_data, grid_range, grid_size, new_sheet_id, tab_requests, to_serial
from .limits import MAX_REQUEST_BYTES, check_cells, first_refusal
from .metadata import STAGING_PREFIX, WRITE_KEY, Meta, SheetInfo


@dataclass
class Stage:
    """One block of rows written into a hidden staging tab over ``chunks`` requests, pasted by the final one."""

    label: str
    sheet_id: int
    properties: dict[str, Any]
    chunks: list[list[dict[str, Any]]]


@dataclass
class Plan:
    final: list[dict[str, Any]]
    stages: list[Stage] = field(default_factory=list)
    cleanup: list[dict[str, Any]] = field(default_factory=list)   # leftover staging tabs, with the first stage
    unchanged: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)


class Planner:
    """Turns the generated tabs into a bounded write: unchanged tabs skipped, read-back tabs patched by rows,
    blocks of rows staged when the final request would exceed the budget."""

    def __init__(self, meta: Meta, write_id: str, *, read_back: Mapping[str, Table], request_budget: int,
                 max_cells: int, where: str):
        self.meta, self.write_id = meta, write_id
        self.read_back, self.request_budget, self.max_cells, self.where = read_back, request_budget, max_cells, where
        self.used_ids = meta.ids()

    def plan(self, tabs: Sequence[GeneratedTab]) -> Plan:
        meta = self.meta
        stored = meta.digests()
        digests = dict(stored)
        plan = Plan(final=[])
        prepare: list[dict[str, Any]] = []      # every tab's removals, then every tab's additions (TabWrite)
        fill: list[dict[str, Any]] = []
        for t in tabs:
            body, head = digest(t)
            digests[t.name] = f"{body}:{head}"
            existing = meta.sheets.get(t.name)
            if existing is not None and self._unchanged(t, existing, stored.get(t.name, ""), body):
                plan.unchanged.append(t.name)
                if stored.get(t.name) != digests[t.name]:          # only the definitions line changed
                    fill.append({"updateCells": {
                        "start": {"sheetId": existing.sheet_id, "rowIndex": 0, "columnIndex": 0},
                        "rows": [{"values": [cell_data(t.title, {"textFormat": {"italic": True}})]}],
                        "fields": "userEnteredValue,userEnteredFormat"}})
                continue
            run = self._alignment(t, existing) if existing is not None else None
            patch = None
            if run is not None:
                # the rows that stay on the sheet need no CellData: build the requests without them
                i, j, n = run
                lite = GeneratedTab(**{**t.__dict__, "rows": [*t.rows[:j], *([[]] * n), *t.rows[j + n:]]})
                if grid_size(lite) != grid_size(t):
                    lite = t
                patch = self._patch(t, existing, tab_requests(lite, meta, self.used_ids), run)
            if patch is not None:
                plan.patched.append(t.name)
            write = patch if patch is not None else tab_requests(t, meta, self.used_ids)
            prepare.extend(write.prepare)
            fill.extend(write.fill)
        check_cells(tabs, meta, self.max_cells)
        plan.final = [*prepare, *fill]
        old = meta.metadata.get(WRITE_KEY)
        if old is not None:
            plan.final.append({"deleteDeveloperMetadata": {"dataFilter": {
                "developerMetadataLookup": {"metadataId": old[0]}}}})
        plan.final.append({"createDeveloperMetadata": {"developerMetadata": {
            "metadataKey": WRITE_KEY, "metadataValue": json.dumps({"id": self.write_id, "tabs": digests},
                                                                  separators=(",", ":")),
            "location": {"spreadsheet": True}, "visibility": "DOCUMENT"}}})
        plan.cleanup = [{"deleteSheet": {"sheetId": meta.sheets[t].sheet_id}} for t in meta.staging()]
        self._stage_if_needed(plan)
        if not plan.stages:
            plan.final = [*plan.cleanup, *plan.final]
            plan.cleanup = []
        self._check_steps(plan)
        return plan

    def _check_steps(self, plan: Plan) -> None:
        """Walk the final batch as Google will (the cell limit after each request); a write that would be
        refused mid-way is not sent (InputDataError naming the request). With prepare-before-fill ordering this
        happens only when staged copies leave no room, which :meth:`_stage_if_needed` avoids."""
        refused = first_refusal(self._start_sizes(plan.stages), plan.final, self.max_cells)
        if refused is not None:
            k, cells = refused
            raise InputDataError([Problem(self.where, f"{cells:,} cells after request {k + 1} "
                                          f"({next(iter(plan.final[k]))})",
                                          f"Google Sheets allows {self.max_cells:,} cells per spreadsheet after "
                                          "every step of a write; sync fewer ASINs or marketplaces into this "
                                          "sheet, or delete unused tabs or columns", "nothing was written")])

    def _start_sizes(self, stages: list[Stage]) -> dict[int, tuple[int, int]]:
        """Grid sizes when the final batch starts: the tabs as read (staging tabs a killed write left are gone
        with the first staging request) and this write's staging tabs."""
        sizes = {s.sheet_id: (s.rows, s.cols) for t, s in self.meta.sheets.items()
                 if not (stages and t in self.meta.staging())}
        for st in stages:
            g = st.properties["gridProperties"]
            sizes[st.sheet_id] = (g["rowCount"], g["columnCount"])
        return sizes

    @staticmethod
    def _unchanged(t: GeneratedTab, existing: SheetInfo, stored: str, body: str) -> bool:
        if stored.split(":")[0] != body or (existing.rows, existing.cols) != grid_size(t):
            return False
        rules = len(colour_rules(t.status_column)) if t.status_column else 0
        charts = sum(len(chart_blocks(t, ch)) for ch in t.charts)
        return (existing.conditional_formats == rules and len(existing.charts) == charts
                and bool(existing.our_protections) == t.protected)

    def _alignment(self, t: GeneratedTab, existing: SheetInfo) -> tuple[int, int, int] | None:
        """For a tab read back by this sync: (i, j, n), the old data rows i…i+n that are new rows j…j+n."""
        old = self.read_back.get(t.name)
        H = GENERATED_HEADER_ROW
        if old is None or t.charts or existing.charts or t.row_formats or len(old) < H:
            return None
        n_cols = grid_size(t)[1]
        if existing.cols != n_cols or existing.rows != max(len(old), H + 1) or \
                norm_row(old[H - 1]) != norm_row(t.columns):
            return None
        run = align(old[H:], t.rows)
        return run if run[2] else None

    def _patch(self, t: GeneratedTab, existing: SheetInfo, full: TabWrite,
               run_: tuple[int, int, int]) -> TabWrite | None:
        """Rows instead of the whole tab: the old data rows that survive as one run (History: oldest dates
        dropped, new as-of rows appended; Sync Log: new entry on top, the oldest at the bottom dropped) stay
        where they are; only the rows around them are sent. The rows that go are deleted first (``prepare``),
        the new ones inserted or appended after (``fill``)."""
        H = GENERATED_HEADER_ROW
        n_rows = grid_size(t)[0]
        i, j, run = run_
        content = next((k for k, r in enumerate(full.fill) if "start" in r.get("updateCells", {})), None)
        if content is None:
            return None
        uc = full.fill[content]["updateCells"]
        rows, fields, sid = uc["rows"], uc["fields"], existing.sheet_id
        # the whole-tab clear and any shrinking are not needed: rows are deleted instead
        prepare = [r for r in full.prepare if "updateCells" not in r and "updateSheetProperties" not in r]
        fill: list[dict[str, Any]] = []
        for start, end in ((H, H + i), (H + run, existing.rows - i)):     # the dropped rows: top, then tail
            if end > start:
                prepare.append({"deleteDimension": {"range": {
                    "sheetId": sid, "dimension": "ROWS", "startIndex": start, "endIndex": end}}})
        if j:
            fill.append({"insertDimension": {"range": {"sheetId": sid, "dimension": "ROWS", "startIndex": H,
                                                       "endIndex": H + j}, "inheritFromBefore": False}})
        fill.extend(r for r in full.fill[:content] if "updateSheetProperties" in r)   # grows to the new size
        tail = H + j + run
        for start, part in ((0, rows[:H + j]), (tail, rows[tail:])):
            if part:
                fill.append({"updateCells": {"start": {"sheetId": sid, "rowIndex": start, "columnIndex": 0},
                                             "rows": part, "fields": fields}})
        written = [(a, b) for a, b in ((H, H + j), (tail, n_rows)) if b > a]
        for r in full.fill[content + 1:]:
            if "repeatCell" not in r:
                fill.append(r)
                continue
            for a, b in written:                              # column formats: only the rows just written
                rc = r["repeatCell"]
                fill.append({"repeatCell": {**rc, "range": {**rc["range"], "startRowIndex": a, "endRowIndex": b}}})
        return TabWrite(sid, prepare, fill)

    def _stage_if_needed(self, plan: Plan) -> None:
        budget = self.request_budget
        sizes = [json_size(r) for r in plan.final]
        cleanup = sum(json_size(r) + 1 for r in plan.cleanup)
        total = sum(sizes) + len(sizes) + cleanup + 64
        if total <= budget:
            return
        unstaged, single = list(plan.final), total
        blocks = sorted((k for k, r in enumerate(plan.final) if r.get("updateCells", {}).get("rows")),
                        key=lambda k: -sizes[k])
        pasted: dict[int, int] = {}                  # position in final → staging tab pasted there
        for k in blocks:
            if total <= budget:
                break
            stage, paste = self._stage(plan.final[k], len(plan.stages), cleanup if not plan.stages else 0)
            plan.stages.append(stage)
            plan.final[k] = paste
            pasted[k] = stage.sheet_id
            total += json_size(paste) + 40 - sizes[k]
        # each staging tab goes right after its paste: its cells are not held while later tabs grow
        plan.final = [r for k, r in enumerate(plan.final)
                      for r in ([r, {"deleteSheet": {"sheetId": pasted[k]}}] if k in pasted else [r])]
        start = self._start_sizes(plan.stages)
        room = sum(r * c for r, c in start.values())              # what the staging requests leave
        no_room = room > self.max_cells or first_refusal(start, plan.final, self.max_cells) is not None
        if no_room and single < MAX_REQUEST_BYTES - 1024:
            # no room for staged copies beside the visible tabs (a sheet at Google's cell limit, being trimmed):
            # one request over the budget but under Google's hard limit is still atomic
            plan.final, plan.stages = unstaged, []
            return
        if no_room:
            raise InputDataError([Problem(self.where, f"{room:,} cells while staging",
                                          f"a write this large is staged in hidden tabs first and Google Sheets "
                                          f"allows {self.max_cells:,} cells per spreadsheet; raise the request "
                                          "budget, or sync fewer ASINs or marketplaces into this sheet",
                                          "nothing was written")])

    def _stage(self, req: dict[str, Any], n: int, extra: int) -> tuple[Stage, dict[str, Any]]:
        uc = req["updateCells"]
        rows, start, fields = uc["rows"], uc["start"], uc["fields"]
        height = len(rows)
        width = max((len(r.get("values") or []) for r in rows), default=0) or 1
        title = f"{STAGING_PREFIX}{self.write_id} {n + 1}"
        sid = new_sheet_id(title, self.used_ids)
        props = {"sheetId": sid, "title": title, "sheetType": "GRID", "hidden": True,
                 "gridProperties": {"rowCount": height, "columnCount": width}}
        room = self.request_budget - 1_000 - extra
        chunks: list[list[dict[str, Any]]] = []
        part: list[dict[str, Any]] = []
        used, offset = 0, 0
        for r in rows:
            size = json_size(r) + 1
            if part and used + size > room:
                chunks.append([{"updateCells": {"start": {"sheetId": sid, "rowIndex": offset, "columnIndex": 0},
                                                "rows": part, "fields": fields}}])
                offset += len(part)
                part, used, room = [], 0, self.request_budget - 1_000
            part.append(r)
            used += size
        chunks.append([{"updateCells": {"start": {"sheetId": sid, "rowIndex": offset, "columnIndex": 0},
                                        "rows": part, "fields": fields}}])
        c0, r0 = start.get("columnIndex", 0), start.get("rowIndex", 0)
        paste = {"copyPaste": {"source": grid_range(sid, 0, height, 0, width),
                               "destination": grid_range(start["sheetId"], r0, r0 + height, c0, c0 + width),
                               "pasteType": "PASTE_NORMAL", "pasteOrientation": "NORMAL"}}
        target = next((s.title for s in self.meta.sheets.values() if s.sheet_id == start["sheetId"]), None)
        return Stage(f"{target or 'a new tab'} rows {r0 + 1}–{r0 + height}", sid, props, chunks), paste


def json_size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def digest(t: GeneratedTab) -> tuple[str, str]:
    """Digests of a tab's content (everything but the definitions line) and of its definitions line."""
    body = repr((t.columns, t.rows, sorted(t.formats.items()), sorted(t.row_formats.items()),
                 sorted(t.widths.items()), t.status_column, t.charts, t.protected, t.currency))
    return (hashlib.blake2b(body.encode(), digest_size=8).hexdigest(),
            hashlib.blake2b(str(t.title).encode(), digest_size=4).hexdigest())


def norm_value(v: Any) -> Any:
    """A cell as the sheet would give it back, comparable across a write and a read."""
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        with contextlib.suppress(TypeError, ValueError):
            v = v.item()
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, dt.datetime):
        return None if v != v else ("n", round(float(to_serial(v)), 6))
    if isinstance(v, dt.date):
        return ("n", float(to_serial(v)))
    if isinstance(v, int | float | decimal.Decimal):
        f = float(v)
        return ("n", f) if math.isfinite(f) else None
    return ("s", str(v)) if not isinstance(v, str) else ("s", v)


def norm_row(row: Sequence[Any]) -> tuple[Any, ...]:
    out = [norm_value(v) for v in row]
    while out and out[-1] is None:
        out.pop()
    return tuple(out)


ALIGN_SEARCH = 5_000    # rows dropped at the top (History) or inserted at the top (Sync Log) in one sync


def same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Would the sheet hold the same cells? Plain equality first (True == 1 aside), else cell by cell."""
    if a == b and bool not in set(map(type, a)) and bool not in set(map(type, b)):
        return True
    return norm_row(a) == norm_row(b)


def align(old: Sequence[Sequence[Any]], new: Sequence[Sequence[Any]]) -> tuple[int, int, int]:
    """(i, j, n): old[i:i + n] and new[j:j + n] hold the same cells, the longest such run that starts at the
    top of either side, within the first ALIGN_SEARCH rows (else a whole rewrite is cheaper to find)."""
    best = (0, 0, 0)
    if not old or not new:
        return best
    starts = []
    first = next((i for i, r in enumerate(old[:ALIGN_SEARCH]) if same_row(r, new[0])), None)
    if first is not None:
        starts.append((first, 0))
    top = next((j for j, r in enumerate(new[:ALIGN_SEARCH]) if same_row(old[0], r)), None)
    if top is not None:
        starts.append((0, top))
    for i, j in starts:
        n = 0
        while i + n < len(old) and j + n < len(new) and same_row(old[i + n], new[j + n]):
            n += 1
        if n > best[2]:
            best = (i, j, n)
    return best
