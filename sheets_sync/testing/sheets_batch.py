"""``spreadsheets.batchUpdate`` as Google applies it: the sub-requests in order, Google's checks after each, all or
nothing.

The method's own description (discovery document, ``sheets.spreadsheets.batchUpdate``): "Each request is
validated before being applied. If any request is not valid then the entire request will fail and nothing will
be applied." The batch guide (https://developers.google.com/workspace/sheets/api/guides/batchupdate): "The
server processes the subrequests in the same order they appear"; "later subrequests can depend on actions taken
during earlier subrequests" (an ``addSheet`` with a ``sheetId`` and then ``updateCells`` on it). The usage-limits
page: "All Sheets requests are applied atomically". So :class:`BatchUpdate` applies each request to a *copy* of
the spreadsheet, checks the copy after it, and the server swaps the copy in only when every request passed.

Checks after each sub-request (a refusal names the sub-request: ``Invalid requests[0].updateSheetProperties:
This action would increase the number of cells in the workbook above the limit of 5000000 cells.``, quoted from
jennybc/googlesheets #400; the same sentence with 10000000 is quoted in many public threads):

* **cells**: a sub-request that adds cells and leaves the spreadsheet over :attr:`Limits.max_cells` is refused.
  One that removes cells is applied even when the spreadsheet stays over the limit: the error says "would
  *increase* the number of cells", and a sheet already over the limit can still be trimmed (a public Apps Script
  prunes rows of a sheet whose appends fail at the limit). Exactly which request Google counts is a guess; this
  one is per sub-request, and within one ``updateSheetProperties`` the new ``rowCount`` is applied before the new
  ``columnCount`` ("Sheets API applies rowCount first, and THEN checks cell limits", robin900/gspread-dataframe
  PR #38).
* **columns**: more than :attr:`Limits.max_columns` (18,278) on one tab is refused (message a guess).
* **grid bounds**: a range outside the grid — ``Range (Solar!Y1) exceeds grid limits. Max rows: 981, max
  columns: 24`` (home-assistant/core #104198; also nithinmurali/pygsheets #124).
* **protected ranges**: editing a cell or object under a protection the user may not edit (not warning-only, not
  one of its editors, not the owner) — ``You are trying to edit a protected cell or object. Please contact the
  spreadsheet owner to remove protection if you need to edit.`` (the sentence Sheets shows; quoted with HTTP
  400 from the API in public code, including for a service account that is an editor of the file and for
  deleting a protected row). Which requests count as edits beyond cell values — formats, rules, charts, row
  insertion and deletion, resizing, deleting or renaming a protected tab — is a guess: all of them do here.
* **developer metadata**: ``metadataId`` must be positive, ``metadataKey`` and ``visibility`` must be set
  (DeveloperMetadata in the v4 reference); the keys and values on one location are capped
  (:attr:`Limits.max_metadata_chars`, a guess).
* **characters**: more than 50,000 in one cell is refused (``Invalid data[4]: Your input contains more than the
  maximum of 50000 characters in a single cell.``, the API's 400 as public logs quote it).

Other messages (empty titles, frozen rows, unknown ids) follow what the Sheets editor says where known, and are
guesses otherwise. A request kind Google knows but this server does not model answers 501 (never a 400 that
looks like Google's).
"""

from __future__ import annotations

import copy
from typing import Any

from .sheets_model import (
    PROTECTED,
    ApiError,
    Book,
    Limits,
    Sheet,
    Unimplemented,
    a1_of,
    apply_mask,
)

# BooleanCondition types a data validation rule may use (ConditionType in the Sheets v4 reference).
VALIDATION_TYPES = ("ONE_OF_LIST", "ONE_OF_RANGE", "NUMBER_GREATER", "NUMBER_GREATER_THAN_EQ", "NUMBER_LESS",
                    "NUMBER_LESS_THAN_EQ", "NUMBER_EQ", "NUMBER_NOT_EQ", "NUMBER_BETWEEN", "NUMBER_NOT_BETWEEN",
                    "TEXT_CONTAINS", "TEXT_NOT_CONTAINS", "TEXT_EQ", "TEXT_IS_EMAIL", "TEXT_IS_URL", "DATE_EQ",
                    "DATE_BEFORE", "DATE_AFTER", "DATE_ON_OR_BEFORE", "DATE_ON_OR_AFTER", "DATE_BETWEEN",
                    "DATE_NOT_BETWEEN", "DATE_IS_VALID", "BOOLEAN", "CUSTOM_FORMULA")
MAX_LIST_ITEMS = 500   # Google Sheets' limit of items in a drop-down list
#: the request kinds this server applies (every other kind of the discovery document answers 501)
IMPLEMENTED = (
    "addSheet", "deleteSheet", "updateSheetProperties", "updateCells", "repeatCell", "updateDimensionProperties",
    "unmergeCells", "addConditionalFormatRule", "deleteConditionalFormatRule", "addChart", "deleteEmbeddedObject",
    "addProtectedRange", "updateProtectedRange", "deleteProtectedRange", "createDeveloperMetadata", "deleteDeveloperMetadata",
    "setDataValidation", "copyPaste", "insertDimension", "deleteDimension",
)


def within(sheet: Sheet, r0: int, r1: int, c0: int, c1: int, where: str) -> None:
    if r0 < 0 or c0 < 0 or r1 > sheet.rows or c1 > sheet.cols or r0 > r1 or c0 > c1:
        raise ApiError(400, f"Invalid {where}: Range ({a1_of(sheet, r0, r1, c0, c1)}) exceeds grid limits. "
                            f"Max rows: {sheet.rows}, max columns: {sheet.cols}")


def grid_bounds(book: Book, gr: dict[str, Any], where: str) -> tuple[Sheet, int, int, int, int]:
    sheet = book.sheet(gr.get("sheetId", 0), where)
    r0, r1 = gr.get("startRowIndex", 0), gr.get("endRowIndex", sheet.rows)
    c0, c1 = gr.get("startColumnIndex", 0), gr.get("endColumnIndex", sheet.cols)
    within(sheet, r0, r1, c0, c1, where)
    return sheet, r0, r1, c0, c1


def check_chars(cell: dict[str, Any], where: str, limit: int) -> None:
    for v in (cell.get("userEnteredValue") or {}).values():
        if isinstance(v, str) and len(v) > limit:
            raise ApiError(400, f"Invalid {where}: Your input contains more than the maximum of {limit} "
                                "characters in a single cell.")


def guard(book: Book, sheet: Sheet, user: str, r0: int, r1: int, c0: int, c1: int) -> None:
    """Refuse an edit of rows r0…r1, columns c0…c1 of ``sheet`` that a protection ``user`` may not edit covers
    (a cell inside one of the protection's ``unprotectedRanges`` is editable)."""
    if r0 >= r1 or c0 >= c1:
        return
    for pr in sheet.protected:
        if book.can_edit(pr, user):
            continue
        g = pr.get("range") or {}
        p = (g.get("startRowIndex", 0), g.get("endRowIndex", sheet.rows),
             g.get("startColumnIndex", 0), g.get("endColumnIndex", sheet.cols))
        hit = (max(r0, p[0]), min(r1, p[1]), max(c0, p[2]), min(c1, p[3]))
        if hit[0] >= hit[1] or hit[2] >= hit[3]:
            continue
        free = any(u.get("startRowIndex", 0) <= hit[0] and hit[1] <= u.get("endRowIndex", sheet.rows)
                   and u.get("startColumnIndex", 0) <= hit[2] and hit[3] <= u.get("endColumnIndex", sheet.cols)
                   for u in pr.get("unprotectedRanges") or [])
        if not free:
            raise ApiError(400, PROTECTED)


class BatchUpdate:
    """Applies the requests of one batchUpdate to ``book`` (a copy the caller swaps in only on success) as ``user``;
    raises ApiError at the first request Google would refuse."""

    def __init__(self, book: Book, user: str, limits: Limits, reject_at: int | None = None):
        self.book, self.user, self.limits, self.reject_at = book, user, limits, reject_at

    def run(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not requests:
            raise ApiError(400, "Must specify at least one request.")   # googleapis/google-api-nodejs-client #1001
        replies = []
        for i, req in enumerate(requests):
            if len(req) != 1:                          # two kinds are refused by the schema check (oneof)
                raise ApiError(400, f"Invalid requests[{i}]: No request kind is set.")     # a guess
            (kind, body), = req.items()
            where = f"requests[{i}].{kind}"
            if kind not in IMPLEMENTED:
                raise Unimplemented(f"the {kind} request")
            if self.reject_at is not None and i == self.reject_at:
                raise ApiError(400, f"Invalid {where}: rejected by fault injection")
            before = self.book.total_cells()
            replies.append(getattr(self, kind)(body, where) or {})
            self._check_cells(before, where)
        return replies

    def _check_cells(self, before: int, where: str) -> None:
        total = self.book.total_cells()
        if total > before and total > self.limits.max_cells:
            raise ApiError(400, f"Invalid {where}: This action would increase the number of cells in the workbook "
                                f"above the limit of {self.limits.max_cells} cells.")

    def _grid(self, where: str, rows: int, cols: int, before: tuple[int, int] | None = None) -> None:
        """A grid of rows × cols on one tab (``before``: its size now), within Google's limits."""
        if rows < 1 or cols < 1:
            raise ApiError(400, f"Invalid {where}: a grid needs at least one row and one column")   # a guess
        if cols > self.limits.max_columns:
            raise ApiError(400, f"Invalid {where}: This action would increase the number of columns in the sheet "
                                f"above the limit of {self.limits.max_columns} columns.")           # a guess
        if before is not None:                         # rowCount is applied before columnCount (module docstring)
            middle = self.book.total_cells() - before[0] * before[1] + rows * before[1]
            if rows > before[0] and middle > self.limits.max_cells:
                raise ApiError(400, f"Invalid {where}: This action would increase the number of cells in the "
                                    f"workbook above the limit of {self.limits.max_cells} cells.")

    def _guard(self, sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> None:
        guard(self.book, sheet, self.user, r0, r1, c0, c1)

    def _guard_sheet(self, sheet: Sheet) -> None:
        self._guard(sheet, 0, sheet.rows, 0, sheet.cols)

    def _title_free(self, title: str, where: str, except_id: int | None = None) -> None:
        if not title or not title.strip():
            raise ApiError(400, f"Invalid {where}: a sheet title must not be empty")
        for s in self.book.sheets:
            if s.title.lower() == title.lower() and s.id != except_id:
                raise ApiError(400, f"Invalid {where}: A sheet with the name \"{title}\" already exists. "
                                    "Please enter another name.")

    # ------------------------------------------------------------------------------------------ tabs

    def addSheet(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        props = copy.deepcopy(body.get("properties") or {})
        self._title_free(props.get("title", ""), where)
        sid = props.get("sheetId")
        if sid is None:
            sid = self.book.new_id()
        elif sid < 0 or any(s.id == sid for s in self.book.sheets):
            raise ApiError(400, f"Invalid {where}: A sheet with the id {sid} already exists.")
        grid = {"rowCount": 1000, "columnCount": 26, **props.get("gridProperties", {})}
        self._grid(where, grid["rowCount"], grid["columnCount"])
        if grid.get("frozenRowCount", 0) >= grid["rowCount"]:
            raise ApiError(400, f"Invalid {where}: You can't freeze all visible rows on the sheet.")
        props.update(sheetId=sid, sheetType=props.get("sheetType", "GRID"), gridProperties=grid)
        index = min(int(props.pop("index", len(self.book.sheets))), len(self.book.sheets))
        self.book.sheets.insert(index, Sheet(props))
        self.book.reindex()
        return {"addSheet": {"properties": copy.deepcopy(props)}}

    def deleteSheet(self, body: dict[str, Any], where: str) -> None:
        sheet = self.book.sheet(body.get("sheetId"), where)
        self._guard_sheet(sheet)
        if len(self.book.sheets) == 1:
            raise ApiError(400, f"Invalid {where}: You can't remove all the sheets in a document.")
        self.book.sheets.remove(sheet)
        self.book.devmeta = [m for m in self.book.devmeta if m["location"].get("sheetId") != sheet.id]
        self.book.reindex()

    def updateSheetProperties(self, body: dict[str, Any], where: str) -> None:
        props = body.get("properties") or {}
        fields = body.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: At least one field must be specified in 'fields'.")  # a guess
        sheet = self.book.sheet(props.get("sheetId"), where)
        new = copy.deepcopy(apply_mask(sheet.props, props, fields))
        new["sheetId"] = sheet.id
        if new.get("title") != sheet.title:
            self._title_free(new.get("title", ""), where, sheet.id)
        grid = new.setdefault("gridProperties", {})
        rows, cols = grid.get("rowCount", 0), grid.get("columnCount", 0)
        self._grid(where, rows, cols, (sheet.rows, sheet.cols))
        if grid.get("frozenRowCount", 0) >= rows:
            raise ApiError(400, f"Invalid {where}: You can't freeze all visible rows on the sheet.")
        if grid.get("frozenColumnCount", 0) >= cols:
            raise ApiError(400, f"Invalid {where}: You can't freeze all visible columns on the sheet.")
        self._guard(sheet, rows, sheet.rows, 0, sheet.cols)          # rows cut off
        self._guard(sheet, 0, sheet.rows, cols, sheet.cols)          # columns cut off
        if new != sheet.props and any(not (p.get("range") or {}).keys() - {"sheetId"}
                                      and not self.book.can_edit(p, self.user) for p in sheet.protected):
            raise ApiError(400, PROTECTED)                            # a protected tab's own settings (a guess)
        shrunk = rows < sheet.rows or cols < sheet.cols
        sheet.props = new
        if shrunk:
            sheet.cells = {k: v for k, v in sheet.cells.items() if k[0] < rows and k[1] < cols}

    # ------------------------------------------------------------------------------------------ cells

    def updateCells(self, body: dict[str, Any], where: str) -> None:
        fields = body.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: At least one field must be specified in 'fields'.")  # a guess
        rows = body.get("rows") or []
        if "range" in body:
            sheet, r0, r1, c0, c1 = grid_bounds(self.book, body["range"], where)
            bounded = True
        elif "start" in body:
            st = body["start"]
            sheet = self.book.sheet(st.get("sheetId", 0), where)
            r0, c0 = st.get("rowIndex", 0), st.get("columnIndex", 0)
            r1 = r0 + len(rows)
            c1 = c0 + max((len(r.get("values") or []) for r in rows), default=0)
            within(sheet, r0, r1, c0, c1, where)
            bounded = False
        else:
            raise ApiError(400, f"Invalid {where}: either range or start must be set")                 # a guess
        self._guard(sheet, r0, r1, c0, c1)
        cells = sheet.cells
        if bounded:
            for r in range(r0, r1):
                row = rows[r - r0].get("values") or [] if r - r0 < len(rows) else []
                for c in range(c0, c1):
                    src = row[c - c0] if c - c0 < len(row) else {}
                    self._put(cells, (r, c), src, fields, where)
        else:
            for i, row in enumerate(rows):
                for j, src in enumerate(row.get("values") or []):
                    self._put(cells, (r0 + i, c0 + j), src, fields, where)

    def _put(self, cells: dict, key: tuple[int, int], src: dict[str, Any], fields: str, where: str) -> None:
        check_chars(src, where, self.limits.max_cell_chars)
        if fields == "*" and not src:
            cells.pop(key, None)
            return
        new = apply_mask(cells.get(key, {}), src, fields)
        if new:
            cells[key] = new
        else:
            cells.pop(key, None)

    def repeatCell(self, body: dict[str, Any], where: str) -> None:
        sheet, r0, r1, c0, c1 = grid_bounds(self.book, body.get("range") or {}, where)
        fields = body.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: At least one field must be specified in 'fields'.")  # a guess
        self._guard(sheet, r0, r1, c0, c1)
        src = body.get("cell") or {}
        check_chars(src, where, self.limits.max_cell_chars)
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._put(sheet.cells, (r, c), src, fields, where)

    def unmergeCells(self, body: dict[str, Any], where: str) -> None:
        sheet, r0, r1, c0, c1 = grid_bounds(self.book, body.get("range") or {}, where)
        self._guard(sheet, r0, r1, c0, c1)

    def setDataValidation(self, body: dict[str, Any], where: str) -> None:
        """Set (or, without ``rule``, clear) the data validation of every cell in ``range``, as Google does."""
        sheet, r0, r1, c0, c1 = grid_bounds(self.book, body.get("range") or {}, where)
        self._guard(sheet, r0, r1, c0, c1)
        rule = body.get("rule")
        if rule is not None:
            cond = rule.get("condition") or {}
            kind = cond.get("type")
            if kind not in VALIDATION_TYPES:
                raise ApiError(400, f"Invalid {where}.rule.condition.type: {kind!r} is not a valid condition type")
            values = cond.get("values") or []
            if kind in ("ONE_OF_LIST", "ONE_OF_RANGE") and not values:
                raise ApiError(400, f"Invalid {where}: One of list condition must have at least one value"
                               if kind == "ONE_OF_LIST" else f"Invalid {where}: ONE_OF_RANGE needs one range")
            if kind == "ONE_OF_LIST" and len(values) > MAX_LIST_ITEMS:
                raise ApiError(400, f"Invalid {where}: a list may have at most {MAX_LIST_ITEMS} items")
            for v in values:
                if not v:
                    raise ApiError(400, f"Invalid {where}: each condition value needs userEnteredValue")
                if kind == "ONE_OF_LIST" and not str(v.get("userEnteredValue", "")).strip():
                    raise ApiError(400, f"Invalid {where}: list items must not be empty")
        for r in range(r0, r1):
            for c in range(c0, c1):
                cell = dict(sheet.cells.get((r, c), {}))
                if rule is None:
                    cell.pop("dataValidation", None)
                else:
                    cell["dataValidation"] = copy.deepcopy(rule)
                if cell:
                    sheet.cells[(r, c)] = cell
                else:
                    sheet.cells.pop((r, c), None)

    def copyPaste(self, body: dict[str, Any], where: str) -> None:
        """PASTE_NORMAL: values, formulas and formats; an empty source cell empties the destination cell. The
        destination must have the source's size (what sheets-sync sends) and lie inside its grid."""
        if body.get("pasteType", "PASTE_NORMAL") != "PASTE_NORMAL" or body.get("pasteOrientation",
                                                                               "NORMAL") != "NORMAL":
            raise Unimplemented("copyPaste other than PASTE_NORMAL / NORMAL")
        src, sr0, sr1, sc0, sc1 = grid_bounds(self.book, body.get("source") or {}, where + ".source")
        dst, dr0, dr1, dc0, dc1 = grid_bounds(self.book, body.get("destination") or {}, where + ".destination")
        if (sr1 - sr0, sc1 - sc0) != (dr1 - dr0, dc1 - dc0):
            raise Unimplemented("copyPaste into a destination of another size than its source")
        self._guard(dst, dr0, dr1, dc0, dc1)
        copied = {(r - sr0 + dr0, c - sc0 + dc0): cell for (r, c), cell in src.cells.items()
                  if sr0 <= r < sr1 and sc0 <= c < sc1}
        dst.cells = {k: v for k, v in dst.cells.items() if not (dr0 <= k[0] < dr1 and dc0 <= k[1] < dc1)}
        dst.cells.update(copied)

    # ------------------------------------------------------------------------------------------ rows and columns

    def updateDimensionProperties(self, body: dict[str, Any], where: str) -> None:
        rng = body.get("range") or {}
        sheet = self.book.sheet(rng.get("sheetId"), where)
        cols = rng.get("dimension") == "COLUMNS"
        if rng.get("dimension") not in ("COLUMNS", "ROWS"):
            raise ApiError(400, f"Invalid {where}: dimension must be ROWS or COLUMNS")                # a guess
        limit = sheet.cols if cols else sheet.rows
        start, end = rng.get("startIndex", 0), rng.get("endIndex", limit)
        if start < 0 or end > limit or start >= end:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range {start}..{end} (max {limit})")  # a guess
        if cols:
            self._guard(sheet, 0, sheet.rows, start, end)
        else:
            self._guard(sheet, start, end, 0, sheet.cols)
        if cols and "pixelSize" in (body.get("properties") or {}):
            for c in range(start, end):
                sheet.col_px[c] = int(body["properties"]["pixelSize"])

    def _rows(self, body: dict[str, Any], where: str) -> tuple[Sheet, int, int]:
        rng = body.get("range") or {}
        sheet = self.book.sheet(rng.get("sheetId"), where)
        if rng.get("dimension") != "ROWS":
            raise Unimplemented("inserting or deleting columns")
        start, end = rng.get("startIndex", 0), rng.get("endIndex", 0)
        if start < 0 or start >= end:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range {start}..{end}")              # a guess
        return sheet, start, end

    @staticmethod
    def _shift_rows(sheet: Sheet, at: int, by: int) -> None:
        """Rows from ``at`` on move by ``by`` (negative: rows [at + by, at) were deleted)."""
        cells = {}
        for (r, c), cell in sheet.cells.items():
            if r >= at:
                cells[(r + by, c)] = cell
            elif by >= 0 or r < at + by:
                cells[(r, c)] = cell
        sheet.cells = cells
        for rule in sheet.cond:
            for gr in rule.get("ranges", []):
                for key in ("startRowIndex", "endRowIndex"):
                    if key in gr and gr[key] >= at:
                        gr[key] = max(gr[key] + by, at + min(by, 0))

    def insertDimension(self, body: dict[str, Any], where: str) -> None:
        sheet, start, end = self._rows(body, where)
        if start > sheet.rows:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range {start}..{end} (max {sheet.rows})")
        if body.get("inheritFromBefore") and start == 0:     # InsertDimensionRequest: "the start index must be
            raise ApiError(400, f"Invalid {where}: Cannot inherit from before the first row.")   # greater than 0"
        self._guard(sheet, start, start + 1, 0, sheet.cols)          # the row pushed down (a guess)
        self._grid(where, sheet.rows + end - start, sheet.cols)
        self._shift_rows(sheet, start, end - start)
        sheet.props["gridProperties"]["rowCount"] = sheet.rows + end - start

    def deleteDimension(self, body: dict[str, Any], where: str) -> None:
        sheet, start, end = self._rows(body, where)
        if end > sheet.rows:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range {start}..{end} (max {sheet.rows})")
        left = sheet.rows - (end - start)
        if left < 1:
            raise ApiError(400, f"Invalid {where}: You can't delete all the rows on the sheet.")
        if sheet.props["gridProperties"].get("frozenRowCount", 0) >= left:
            raise ApiError(400, f"Invalid {where}: You can't freeze all visible rows on the sheet.")
        self._guard(sheet, start, end, 0, sheet.cols)
        self._shift_rows(sheet, end, start - end)
        sheet.props["gridProperties"]["rowCount"] = left

    # ------------------------------------------------------------------------------------------ rules, charts

    def addConditionalFormatRule(self, body: dict[str, Any], where: str) -> None:
        rule = body.get("rule") or {}
        ranges = rule.get("ranges") or []
        if not ranges or not ("booleanRule" in rule or "gradientRule" in rule):
            raise ApiError(400, f"Invalid {where}: a rule needs ranges and a booleanRule or gradientRule")
        bounds = [grid_bounds(self.book, r, where) for r in ranges]
        if len({b[0].id for b in bounds}) != 1:
            raise ApiError(400, f"Invalid {where}: all ranges of a rule must be on one sheet")  # ConditionalFormatRule
        for sheet, r0, r1, c0, c1 in bounds:
            self._guard(sheet, r0, r1, c0, c1)
        cond = rule.get("booleanRule", {}).get("condition", {})
        if "booleanRule" in rule and not cond.get("type"):
            raise ApiError(400, f"Invalid {where}: the booleanRule needs a condition type")
        sheet = bounds[0][0]
        index = body.get("index", 0)
        if not 0 <= index <= len(sheet.cond):
            raise ApiError(400, f"Invalid {where}: index {index} out of range")
        sheet.cond.insert(index, copy.deepcopy(rule))

    def deleteConditionalFormatRule(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        sheet = self.book.sheet(body.get("sheetId"), where)
        index = body.get("index", 0)
        if not 0 <= index < len(sheet.cond):
            raise ApiError(400, f"Invalid {where}: No conditional format on sheet: {sheet.id} at index: {index}")
        for gr in sheet.cond[index].get("ranges", []):
            _, r0, r1, c0, c1 = grid_bounds(self.book, gr, where)
            self._guard(sheet, r0, r1, c0, c1)
        return {"deleteConditionalFormatRule": {"rule": sheet.cond.pop(index)}}

    def addChart(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        chart = copy.deepcopy(body.get("chart") or {})
        spec = chart.get("spec") or {}
        basic = spec.get("basicChart")
        if basic is None:
            raise Unimplemented("charts other than basicChart")
        for part in [*(d.get("domain", {}) for d in basic.get("domains", [])),
                     *(s.get("series", {}) for s in basic.get("series", []))]:
            for src in part.get("sourceRange", {}).get("sources", []):
                grid_bounds(self.book, src, where)
        anchor = (chart.get("position") or {}).get("overlayPosition", {}).get("anchorCell")
        if not anchor:
            raise Unimplemented("charts not positioned by overlayPosition.anchorCell")
        sheet = self.book.sheet(anchor.get("sheetId"), where)
        r, c = anchor.get("rowIndex", 0), anchor.get("columnIndex", 0)
        within(sheet, r, r + 1, c, c + 1, where)
        self._guard(sheet, r, r + 1, c, c + 1)
        ids = {c["chartId"] for s in self.book.sheets for c in s.charts}
        if chart.get("chartId") is None:
            chart["chartId"] = self.book.new_id()
        elif chart["chartId"] in ids:
            raise ApiError(400, f"Invalid {where}: An object with id {chart['chartId']} already exists")
        sheet.charts.append(chart)
        return {"addChart": {"chart": copy.deepcopy(chart)}}

    def deleteEmbeddedObject(self, body: dict[str, Any], where: str) -> None:
        oid = body.get("objectId")
        for s in self.book.sheets:
            for c in s.charts:
                if c["chartId"] == oid:
                    a = c["position"]["overlayPosition"]["anchorCell"]
                    self._guard(s, a.get("rowIndex", 0), a.get("rowIndex", 0) + 1, a.get("columnIndex", 0),
                                a.get("columnIndex", 0) + 1)
                    s.charts.remove(c)
                    return
        raise ApiError(400, f"Invalid {where}: No object with id: {oid}")

    # ------------------------------------------------------------------------------------------ protections

    def addProtectedRange(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        pr = copy.deepcopy(body.get("protectedRange") or {})
        if "namedRangeId" in pr:
            raise Unimplemented("named ranges")
        sheet, r0, r1, c0, c1 = grid_bounds(self.book, pr.get("range") or {}, where)
        if pr.get("warningOnly") and pr.get("editors"):
            raise ApiError(400, f"Invalid {where}: Warning-only protected ranges cannot have editors.")
        self._guard(sheet, r0, r1, c0, c1)
        pr.pop("requestingUserCanEdit", None)                       # read-only: computed per reader
        if not pr.get("warningOnly"):
            editors = pr.setdefault("editors", {})
            users = editors.setdefault("users", [])
            if self.user not in users:
                users.append(self.user)
        pr["protectedRangeId"] = self.book.new_id()
        sheet.protected.append(pr)
        return {"addProtectedRange": {"protectedRange": {**copy.deepcopy(pr), "requestingUserCanEdit": True}}}

    def _protection(self, pid: Any, where: str) -> tuple[Sheet, dict[str, Any]]:
        """The protection ``pid`` and its tab; 400 PROTECTED when ``user`` may not edit it."""
        for s in self.book.sheets:
            for p in s.protected:
                if p["protectedRangeId"] == pid:
                    if not self.book.can_edit(p, self.user):
                        raise ApiError(400, PROTECTED)
                    return s, p
        raise ApiError(400, f"Invalid {where}: No protected range with id: {pid}")

    def updateProtectedRange(self, body: dict[str, Any], where: str) -> None:
        src = body.get("protectedRange") or {}
        fields = body.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: At least one field must be specified in 'fields'.")  # a guess
        sheet, pr = self._protection(src.get("protectedRangeId"), where)
        new = copy.deepcopy(apply_mask(pr, src, fields))
        new["protectedRangeId"] = pr["protectedRangeId"]
        new.pop("requestingUserCanEdit", None)
        if new.get("warningOnly") and new.get("editors"):
            raise ApiError(400, f"Invalid {where}: Warning-only protected ranges cannot have editors.")
        grid_bounds(self.book, new.get("range") or {"sheetId": sheet.id}, where)
        sheet.protected[sheet.protected.index(pr)] = new

    def deleteProtectedRange(self, body: dict[str, Any], where: str) -> None:
        sheet, pr = self._protection(body.get("protectedRangeId"), where)
        sheet.protected.remove(pr)

    # ------------------------------------------------------------------------------------------ metadata

    def createDeveloperMetadata(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        md = copy.deepcopy(body.get("developerMetadata") or {})
        if not md.get("metadataKey"):                 # "Developer metadata must always have a key specified."
            raise ApiError(400, f"Invalid {where}: metadataKey is required")
        if md.get("visibility") not in ("DOCUMENT", "PROJECT"):   # "… must always have a visibility specified."
            raise ApiError(400, f"Invalid {where}: visibility is required")
        loc = md.get("location") or {}
        if loc.get("spreadsheet"):
            md["location"] = {"locationType": "SPREADSHEET", "spreadsheet": True}
        elif "sheetId" in loc:
            self.book.sheet(loc["sheetId"], where)
            md["location"] = {"locationType": "SHEET", "sheetId": loc["sheetId"]}
        elif "dimensionRange" in loc:
            raise Unimplemented("developer metadata on rows or columns")
        else:
            raise ApiError(400, f"Invalid {where}: location is required")
        mid = md.get("metadataId")
        if mid is not None and mid <= 0:               # metadataId: "Must be positive."
            raise ApiError(400, f"Invalid {where}: metadataId must be positive")
        if mid is not None and any(m["metadataId"] == mid for m in self.book.devmeta):
            raise ApiError(400, f"Invalid {where}: metadata id {mid} already exists")
        md.setdefault("metadataId", self.book.new_id())
        self.book.devmeta.append(md)
        size = sum(len(m.get("metadataKey", "")) + len(m.get("metadataValue", "")) for m in self.book.devmeta
                   if m["location"] == md["location"])
        if size > self.limits.max_metadata_chars:
            raise ApiError(400, f"Invalid {where}: The developer metadata of this location would exceed the limit "
                                f"of {self.limits.max_metadata_chars} characters.")                # a guess
        return {"createDeveloperMetadata": {"developerMetadata": copy.deepcopy(md)}}

    def deleteDeveloperMetadata(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        lookup = (body.get("dataFilter") or {}).get("developerMetadataLookup") or {}
        if not lookup:
            raise Unimplemented("deleting developer metadata by a filter other than developerMetadataLookup")
        gone = [m for m in self.book.devmeta
                if all(m.get(k) == v for k, v in lookup.items() if k in ("metadataId", "metadataKey", "metadataValue"))]
        self.book.devmeta = [m for m in self.book.devmeta if m not in gone]
        return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": gone}}
