"""A local Google Sheets API v4 server for tests: the subset sheets-sync uses, over real HTTP on 127.0.0.1.

Real gspread and google-auth talk to it through :class:`RedirectAdapter`, which rewrites
``https://<any google host>/path`` to ``http://127.0.0.1:<port>/path`` at the transport layer.

Implemented (payload shapes from the v4 reference and gspread's recorded cassettes):

* ``POST /token``: the service-account JWT-bearer grant. The assertion's RS256 signature is verified with the
  public key of a key made by :meth:`FakeSheetsServer.service_account`; ``aud`` must be the token URI.
* ``GET /v4/spreadsheets/{id}`` with ``fields`` masks (``a,b(c,d),e.f``).
* ``GET /v4/spreadsheets/{id}/values:batchGet`` (ranges matched by position; ragged rows, trailing empties
  omitted, no ``values`` key for an empty range, numbers/bools/strings, dates as day serials) and
  ``GET/PUT /values/{range}`` (for the naive benchmark).
* ``POST /v4/spreadsheets/{id}:batchUpdate``: addSheet, deleteSheet, updateSheetProperties, updateCells,
  repeatCell, updateDimensionProperties, unmergeCells, add/deleteConditionalFormatRule, addChart,
  deleteEmbeddedObject, add/deleteProtectedRange, create/deleteDeveloperMetadata. Every request is validated
  against the state the earlier requests leave, on a copy; any invalid request → 400 and nothing applied
  (unknown sheetId, duplicate titles, ranges outside the grid, cells over 50,000 characters, a spreadsheet over
  10,000,000 cells).
  Also copyPaste (PASTE_NORMAL) and insertDimension / deleteDimension (rows), which staged writes and append-only
  History use.
* Sharing: a spreadsheet answers 403 to a service account it is not shared with, 404 to an unknown id.
* Google's limits, strict by default (:class:`Limits`): a request body over 10,485,760 bytes → 400
  ``Request payload size exceeds the limit: 10485760 bytes.``; 10,000,000 cells per spreadsheet; 50,000 characters
  per cell; 60 read and 60 write requests per minute per user (the service account) and 300 per project → 429
  ``RESOURCE_EXHAUSTED`` with Google's body (``Quota exceeded for quota metric 'Write requests' and limit 'Write
  requests per minute per user' …`` and an ``ErrorInfo`` detail, reason ``RATE_LIMIT_EXCEEDED``). The quota
  window (60 s) and the numbers are settable so tests can run it fast; every request is recorded in
  :attr:`FakeSheetsServer.traffic` with its size.

Fault injection (:class:`Fault`): an HTTP status (429 with ``Retry-After``, 500, 503…), a slow response
(applied, then answered late), a dropped connection before or after applying, a batchUpdate rejected mid-way.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime as dt
import functools
import json
import random
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as gexc
from google.auth import jwt
from requests.adapters import HTTPAdapter

SID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-xyz"     # a spreadsheet id shaped like Google's
MAX_CELLS = 10_000_000
MAX_CELL_CHARS = 50_000
MAX_REQUEST_BYTES = 10_485_760       # larger bodies: 400 "Request payload size exceeds the limit: 10485760 bytes."
PROJECT_NUMBER = "1049753172814"     # the fake project's number, as quota errors name it
EPOCH = dt.date(1899, 12, 30)
REQUEST_KINDS = (
    "addSheet", "deleteSheet", "updateSheetProperties", "updateCells", "repeatCell", "updateDimensionProperties",
    "unmergeCells", "addConditionalFormatRule", "deleteConditionalFormatRule", "addChart", "deleteEmbeddedObject",
    "addProtectedRange", "deleteProtectedRange", "createDeveloperMetadata", "deleteDeveloperMetadata",
    "setDataValidation",
    "copyPaste", "insertDimension", "deleteDimension",
)
# BooleanCondition types a data validation rule may use (ConditionType in the Sheets v4 reference).
VALIDATION_TYPES = ("ONE_OF_LIST", "ONE_OF_RANGE", "NUMBER_GREATER", "NUMBER_GREATER_THAN_EQ", "NUMBER_LESS",
                    "NUMBER_LESS_THAN_EQ", "NUMBER_EQ", "NUMBER_NOT_EQ", "NUMBER_BETWEEN", "NUMBER_NOT_BETWEEN",
                    "TEXT_CONTAINS", "TEXT_NOT_CONTAINS", "TEXT_EQ", "TEXT_IS_EMAIL", "TEXT_IS_URL", "DATE_EQ",
                    "DATE_BEFORE", "DATE_AFTER", "DATE_ON_OR_BEFORE", "DATE_ON_OR_AFTER", "DATE_BETWEEN",
                    "DATE_NOT_BETWEEN", "DATE_IS_VALID", "BOOLEAN", "CUSTOM_FORMULA")
MAX_LIST_ITEMS = 500   # Google Sheets' limit of items in a drop-down list


@dataclass
class Limits:
    """Google's limits as the fake enforces them. Defaults are Google's; tests may shorten ``window_s`` (the
    quota window, 60 s at Google) to run quotas fast, or lower a limit to reach it with small data."""

    max_request_bytes: int = MAX_REQUEST_BYTES
    max_cells: int = MAX_CELLS
    max_cell_chars: int = MAX_CELL_CHARS
    reads_per_user: int = 60
    writes_per_user: int = 60
    reads_per_project: int = 300
    writes_per_project: int = 300
    window_s: float = 60.0


def quota_error(kind: str, scope: str, limit: int) -> dict[str, Any]:
    """Google's 429 body for an exhausted per-minute quota (``kind`` read/write, ``scope`` user/project)."""
    metric = "Read requests" if kind == "read" else "Write requests"
    name = f"{metric} per minute" + (" per user" if scope == "user" else "")
    camel = ("ReadRequests" if kind == "read" else "WriteRequests") + "PerMinutePer" + scope.capitalize()
    return {"error": {
        "code": 429,
        "message": f"Quota exceeded for quota metric '{metric}' and limit '{name}' of service "
                   f"'sheets.googleapis.com' for consumer 'project_number:{PROJECT_NUMBER}'.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
             "domain": "googleapis.com",
             "metadata": {"quota_limit": camel, "quota_limit_value": str(limit),
                          "quota_unit": "1/min/{project}" + ("/{user}" if scope == "user" else ""),
                          "quota_location": "global", "consumer": f"projects/{PROJECT_NUMBER}",
                          "service": "sheets.googleapis.com",
                          "quota_metric": f"sheets.googleapis.com/{kind}_requests"}},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [
                {"description": "Request a higher quota limit.",
                 "url": "https://cloud.google.com/docs/quotas/help/request_increase"}]}]}}


class RedirectAdapter(HTTPAdapter):
    """Rewrite ``https://<google host>/...`` → ``<base>/...`` at the transport layer (nothing leaves 127.0.0.1)."""

    def __init__(self, base: str, **kw: Any):
        self.base = base
        super().__init__(**kw)

    def send(self, request, **kw):  # type: ignore[override]
        u = urllib.parse.urlsplit(request.url)
        request.url = self.base + u.path + (("?" + u.query) if u.query else "")
        return super().send(request, **kw)


class ApiError(Exception):
    def __init__(self, code: int, message: str, status: str = "INVALID_ARGUMENT"):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Fault:
    """One injected fault. ``kind``: ``status`` (answer ``code``), ``slow`` (apply, then answer after
    ``delay`` s), ``drop`` (close the connection before doing anything), ``drop_after`` (apply, then close
    without an answer), ``reject`` (a batchUpdate fails validation at request ``at``; nothing applied).
    ``match`` is a substring of ``METHOD path`` (e.g. ``":batchUpdate"``, ``"values:batchGet"``); ``skip`` lets
    that many matching calls through first (a fault at the n-th staging request)."""

    kind: str = "status"
    code: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    at: int | None = None
    match: str = ""
    times: int = 1
    skip: int = 0


@dataclass
class Sheet:
    props: dict[str, Any]
    cells: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    protected: list[dict[str, Any]] = field(default_factory=list)
    cond: list[dict[str, Any]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    col_px: dict[int, int] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.props["sheetId"])

    @property
    def title(self) -> str:
        return str(self.props["title"])

    @property
    def rows(self) -> int:
        return int(self.props["gridProperties"]["rowCount"])

    @property
    def cols(self) -> int:
        return int(self.props["gridProperties"]["columnCount"])

    def clone(self) -> Sheet:
        return Sheet(copy.deepcopy(self.props), dict(self.cells), copy.deepcopy(self.protected),
                     copy.deepcopy(self.cond), copy.deepcopy(self.charts), dict(self.col_px))


@dataclass
class Book:
    id: str
    title: str
    sheets: list[Sheet]
    shared: set[str]
    devmeta: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1000

    def clone(self) -> Book:
        return Book(self.id, self.title, [s.clone() for s in self.sheets], set(self.shared),
                    copy.deepcopy(self.devmeta), self.next_id)

    def sheet(self, sid: Any, where: str) -> Sheet:
        for s in self.sheets:
            if s.id == sid:
                return s
        raise ApiError(400, f"Invalid {where}: No grid with id: {sid}")

    def by_title(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title == title:
                return s
        return None

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.props["index"] = i

    def resource(self) -> dict[str, Any]:
        sheets = []
        for s in self.sheets:
            d: dict[str, Any] = {"properties": copy.deepcopy(s.props)}
            if s.protected:
                d["protectedRanges"] = copy.deepcopy(s.protected)
            if s.cond:
                d["conditionalFormats"] = copy.deepcopy(s.cond)
            if s.charts:
                d["charts"] = copy.deepcopy(s.charts)
            sheets.append(d)
        out: dict[str, Any] = {
            "spreadsheetId": self.id,
            "properties": {"title": self.title, "locale": "en_US", "autoRecalc": "ON_CHANGE",
                           "timeZone": "America/Mexico_City",
                           "defaultFormat": {"backgroundColor": {"red": 1, "green": 1, "blue": 1}}},
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.id}/edit",
        }
        if self.devmeta:
            out["developerMetadata"] = copy.deepcopy(self.devmeta)
        return out


# ------------------------------------------------------------------------------------------------ helpers

def parse_field_mask(mask: str) -> dict[str, Any]:
    """``a,b(c,d(e)),f.g`` → ``{"a": None, "b": {"c": None, "d": {"e": None}}, "f": {"g": None}}``."""
    pos = 0

    def parse_list() -> dict[str, Any]:
        nonlocal pos
        tree: dict[str, Any] = {}
        while pos < len(mask) and mask[pos] != ")":
            m = re.match(r"\s*([\w.*]+)\s*", mask[pos:])
            if not m:
                raise ApiError(400, f"Invalid field selection {mask}")
            path = m.group(1).split(".")
            pos += m.end()
            sub: Any = None
            if pos < len(mask) and mask[pos] == "(":
                pos += 1
                sub = parse_list()
                pos += 1                                  # ")"
            node = tree
            for p in path[:-1]:
                node = node.setdefault(p, {}) if node.get(p, {}) is not None else {}
            last = path[-1]
            if last in node and isinstance(node[last], dict) and isinstance(sub, dict):
                node[last].update(sub)
            elif last not in node or sub is None:
                node[last] = sub
            if pos < len(mask) and mask[pos] == ",":
                pos += 1
        return tree

    return parse_list()


def project(obj: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None or "*" in tree:
        return obj
    if isinstance(obj, list):
        return [project(x, tree) for x in obj]
    if isinstance(obj, dict):
        return {k: project(obj[k], sub) for k, sub in tree.items() if k in obj}
    return obj


@functools.lru_cache(maxsize=512)
def _mask_paths(fields: str) -> tuple[tuple[str, ...], ...]:
    return tuple(_flatten(parse_field_mask(fields)))


def _apply_mask(dst: dict[str, Any], src: dict[str, Any], fields: str) -> dict[str, Any]:
    """Copy ``fields`` (``*`` or a comma list of dotted paths) from ``src`` onto ``dst``; returns a new dict.
    Stored dicts are never mutated in place (they may be shared between cells)."""
    if fields.strip() == "*":
        return src
    out = dst
    for path in _mask_paths(fields):
        s: Any = src
        for p in path:
            s = s.get(p) if isinstance(s, dict) else None
        out = _set_path(out, path, s)
    return out


def _set_path(d: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    d = dict(d)
    if len(path) == 1:
        if value is None:
            d.pop(path[0], None)
        else:
            d[path[0]] = value
        return d
    child = d.get(path[0])
    new_child = _set_path(child if isinstance(child, dict) else {}, path[1:], value)
    if new_child:
        d[path[0]] = new_child
    else:
        d.pop(path[0], None)
    return d


def _flatten(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    for k, v in tree.items():
        if v is None:
            yield (*prefix, k)
        else:
            yield from _flatten(v, (*prefix, k))


def col_letter(index: int) -> str:
    s, index = "", index + 1
    while index:
        index, rem = divmod(index - 1, 26)
        s = chr(65 + rem) + s
    return s


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def quote_title(title: str) -> str:
    return title if re.fullmatch(r"[A-Za-z0-9_]+", title) else "'" + title.replace("'", "''") + "'"


def split_range(rng: str) -> tuple[str, str]:
    """``'My tab'!A1:B2`` → (``My tab``, ``A1:B2``); ``Tab`` → (``Tab``, "")."""
    if rng.startswith("'"):
        i, chars = 1, []
        while i < len(rng):
            if rng[i] == "'":
                if rng[i + 1:i + 2] == "'":
                    chars.append("'")
                    i += 2
                    continue
                break
            chars.append(rng[i])
            i += 1
        rest = rng[i + 1:]
        return "".join(chars), rest[1:] if rest.startswith("!") else rest
    title, _, a1 = rng.partition("!")
    return title, a1


def parse_a1(a1: str, rows: int, cols: int) -> tuple[int, int, int, int]:
    """A1 range → (r0, r1, c0, c1), end-exclusive, clipped to the grid."""
    if not a1:
        return 0, rows, 0, cols
    parts = a1.split(":")
    cells = []
    for p in parts:
        m = re.fullmatch(r"([A-Za-z]*)(\d*)", p)
        if not m:
            raise ApiError(400, f"Unable to parse range: {a1}")
        cells.append((col_index(m[1]) if m[1] else None, int(m[2]) - 1 if m[2] else None))
    (c0, r0), (c1, r1) = cells[0], cells[-1]
    if len(cells) == 1:
        c1, r1 = c0, r0
    r0 = 0 if r0 is None else r0
    c0 = 0 if c0 is None else c0
    r1 = rows if r1 is None else r1 + 1
    c1 = cols if c1 is None else c1 + 1
    return r0, min(r1, rows), c0, min(c1, cols)


def cell_from_python(v: Any) -> dict[str, Any]:
    if v is None or v == "":
        return {}
    if isinstance(v, bool):
        return {"userEnteredValue": {"boolValue": v}}
    if isinstance(v, dt.datetime):
        d = v - dt.datetime(1899, 12, 30)
        return {"userEnteredValue": {"numberValue": d.days + d.seconds / 86400},
                "userEnteredFormat": {"numberFormat": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}}}
    if isinstance(v, dt.date):
        return {"userEnteredValue": {"numberValue": (v - EPOCH).days},
                "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}}
    if isinstance(v, int | float):
        return {"userEnteredValue": {"numberValue": v}}
    if isinstance(v, str) and v.startswith("="):
        return {"userEnteredValue": {"formulaValue": v}}
    return {"userEnteredValue": {"stringValue": str(v)}}


def render(cell: dict[str, Any] | None, value_option: str = "UNFORMATTED_VALUE",
           date_option: str = "SERIAL_NUMBER") -> Any:
    """A cell as values.get returns it (None = empty)."""
    if not cell:
        return None
    uev = cell.get("userEnteredValue") or {}
    if "numberValue" in uev:
        n = uev["numberValue"]
        fmt = ((cell.get("userEnteredFormat") or {}).get("numberFormat") or {}).get("type")
        if fmt in ("DATE", "DATE_TIME") and (date_option == "FORMATTED_STRING" or value_option == "FORMATTED_VALUE"):
            d = dt.datetime(1899, 12, 30) + dt.timedelta(days=n)
            return d.date().isoformat() if fmt == "DATE" else d.isoformat(sep=" ")
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        return str(n) if value_option == "FORMATTED_VALUE" else n
    if "boolValue" in uev:
        return ("TRUE" if uev["boolValue"] else "FALSE") if value_option == "FORMATTED_VALUE" else uev["boolValue"]
    if "stringValue" in uev:
        return uev["stringValue"]
    if "formulaValue" in uev:
        return uev["formulaValue"] if value_option == "FORMULA" else "#FAKE-FORMULA"
    return None


def _within(sheet: Sheet, r0: int, r1: int, c0: int, c1: int, where: str) -> None:
    if r0 < 0 or c0 < 0 or r1 > sheet.rows or c1 > sheet.cols or r0 > r1 or c0 > c1:
        rng = f"{quote_title(sheet.title)}!{col_letter(c0)}{r0 + 1}:{col_letter(max(c1 - 1, 0))}{max(r1, 1)}"
        raise ApiError(400, f"Invalid {where}: Range ({rng}) exceeds grid limits. Max rows: {sheet.rows}, "
                            f"max columns: {sheet.cols}")


def _grid_bounds(book: Book, gr: dict[str, Any], where: str) -> tuple[Sheet, int, int, int, int]:
    sheet = book.sheet(gr.get("sheetId", 0), where)
    r0, r1 = gr.get("startRowIndex", 0), gr.get("endRowIndex", sheet.rows)
    c0, c1 = gr.get("startColumnIndex", 0), gr.get("endColumnIndex", sheet.cols)
    _within(sheet, r0, r1, c0, c1, where)
    return sheet, r0, r1, c0, c1


def _check_chars(cell: dict[str, Any], where: str, limit: int = MAX_CELL_CHARS) -> None:
    for v in (cell.get("userEnteredValue") or {}).values():
        if isinstance(v, str) and len(v) > limit:
            raise ApiError(400, f"Invalid {where}: Your input contains more than the maximum of {limit} "
                                "characters in a single cell.")


# --------------------------------------------------------------------------------------- batchUpdate logic

class _Apply:
    """Applies a list of requests to a copy of a book; raises ApiError at the first invalid one."""

    def __init__(self, book: Book, reject_at: int | None = None, limits: Limits | None = None):
        self.book = book
        self.reject_at = reject_at
        self.limits = limits or Limits()

    def run(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        replies = []
        for i, req in enumerate(requests):
            if not isinstance(req, dict) or len(req) != 1:
                raise ApiError(400, f"Invalid requests[{i}]: exactly one request kind must be set")
            (kind, body), = req.items()
            if kind not in REQUEST_KINDS:
                raise ApiError(400, f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{i}]': "
                                    "Cannot find field.")
            if self.reject_at is not None and i == self.reject_at:
                raise ApiError(400, f"Invalid requests[{i}].{kind}: rejected by fault injection")
            replies.append(getattr(self, kind)(body, f"requests[{i}].{kind}") or {})
        total = sum(s.rows * s.cols for s in self.book.sheets)
        if total > self.limits.max_cells:
            raise ApiError(400, f"This action would increase the number of cells in the workbook above the limit "
                                f"of {self.limits.max_cells} cells.")
        return replies

    def _title_free(self, title: str, where: str, except_id: int | None = None) -> None:
        if not title or not title.strip():
            raise ApiError(400, f"Invalid {where}: a sheet title must not be empty")
        for s in self.book.sheets:
            if s.title.lower() == title.lower() and s.id != except_id:
                raise ApiError(400, f"Invalid {where}: A sheet with the name \"{title}\" already exists. "
                                    "Please enter another name.")

    def addSheet(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        props = copy.deepcopy(body.get("properties") or {})
        self._title_free(props.get("title", ""), where)
        sid = props.get("sheetId")
        if sid is None:
            sid = self.book.new_id()
        elif not isinstance(sid, int) or sid < 0 or any(s.id == sid for s in self.book.sheets):
            raise ApiError(400, f"Invalid {where}: A sheet with the id {sid} already exists.")
        grid = {"rowCount": 1000, "columnCount": 26, **props.get("gridProperties", {})}
        if grid["rowCount"] < 1 or grid["columnCount"] < 1:
            raise ApiError(400, f"Invalid {where}: a grid needs at least one row and one column")
        if grid.get("frozenRowCount", 0) >= grid["rowCount"]:
            raise ApiError(400, f"Invalid {where}: You can't freeze all visible rows on the sheet.")
        props.update(sheetId=sid, sheetType=props.get("sheetType", "GRID"), gridProperties=grid)
        index = min(int(props.pop("index", len(self.book.sheets))), len(self.book.sheets))
        self.book.sheets.insert(index, Sheet(props))
        self.book.reindex()
        return {"addSheet": {"properties": copy.deepcopy(props)}}

    def deleteSheet(self, body: dict[str, Any], where: str) -> None:
        sheet = self.book.sheet(body.get("sheetId"), where)
        if len(self.book.sheets) == 1:
            raise ApiError(400, f"Invalid {where}: You can't remove all the sheets in a document.")
        self.book.sheets.remove(sheet)
        self.book.reindex()

    def updateSheetProperties(self, body: dict[str, Any], where: str) -> None:
        props = body.get("properties") or {}
        fields = body.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: At least one field must be specified in 'fields'.")
        sheet = self.book.sheet(props.get("sheetId"), where)
        new = copy.deepcopy(_apply_mask(sheet.props, props, fields))
        new["sheetId"] = sheet.id
        if new.get("title") != sheet.title:
            self._title_free(new.get("title", ""), where, sheet.id)
        grid = new.setdefault("gridProperties", {})
        rows, cols = grid.get("rowCount", 0), grid.get("columnCount", 0)
        if rows < 1 or cols < 1:
            raise ApiError(400, f"Invalid {where}: a grid needs at least one row and one column")
        if grid.get("frozenRowCount", 0) >= rows:
            raise ApiError(400, f"Invalid {where}: You can't freeze all visible rows on the sheet.")
        if grid.get("frozenColumnCount", 0) >= cols:
            raise ApiError(400, f"Invalid {where}: You can't freeze all visible columns on the sheet.")
        shrunk = rows < sheet.rows or cols < sheet.cols
        sheet.props = new
        if shrunk:
            sheet.cells = {k: v for k, v in sheet.cells.items() if k[0] < rows and k[1] < cols}

    def updateCells(self, body: dict[str, Any], where: str) -> None:
        fields = body.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: At least one field must be specified in 'fields'.")
        rows = body.get("rows") or []
        if "range" in body:
            sheet, r0, r1, c0, c1 = _grid_bounds(self.book, body["range"], where)
            bounded = True
        elif "start" in body:
            st = body["start"]
            sheet = self.book.sheet(st.get("sheetId", 0), where)
            r0, c0 = st.get("rowIndex", 0), st.get("columnIndex", 0)
            r1 = r0 + len(rows)
            c1 = c0 + max((len(r.get("values") or []) for r in rows), default=0)
            _within(sheet, r0, r1, c0, c1, where)
            bounded = False
        else:
            raise ApiError(400, f"Invalid {where}: either range or start must be set")
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
        _check_chars(src, where, self.limits.max_cell_chars)
        if fields == "*" and not src:
            cells.pop(key, None)
            return
        new = _apply_mask(cells.get(key, {}), src, fields)
        if new:
            cells[key] = new
        else:
            cells.pop(key, None)

    def repeatCell(self, body: dict[str, Any], where: str) -> None:
        sheet, r0, r1, c0, c1 = _grid_bounds(self.book, body.get("range") or {}, where)
        fields = body.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: At least one field must be specified in 'fields'.")
        src = body.get("cell") or {}
        _check_chars(src, where, self.limits.max_cell_chars)
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._put(sheet.cells, (r, c), src, fields, where)

    def updateDimensionProperties(self, body: dict[str, Any], where: str) -> None:
        rng = body.get("range") or {}
        sheet = self.book.sheet(rng.get("sheetId"), where)
        limit = sheet.cols if rng.get("dimension") == "COLUMNS" else sheet.rows
        if rng.get("dimension") not in ("COLUMNS", "ROWS"):
            raise ApiError(400, f"Invalid {where}: dimension must be ROWS or COLUMNS")
        start, end = rng.get("startIndex", 0), rng.get("endIndex", limit)
        if start < 0 or end > limit or start >= end:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range {start}..{end} (max {limit})")
        if rng["dimension"] == "COLUMNS" and "pixelSize" in (body.get("properties") or {}):
            for c in range(start, end):
                sheet.col_px[c] = int(body["properties"]["pixelSize"])

    def unmergeCells(self, body: dict[str, Any], where: str) -> None:
        _grid_bounds(self.book, body.get("range") or {}, where)

    def addConditionalFormatRule(self, body: dict[str, Any], where: str) -> None:
        rule = body.get("rule") or {}
        ranges = rule.get("ranges") or []
        if not ranges or not ("booleanRule" in rule or "gradientRule" in rule):
            raise ApiError(400, f"Invalid {where}: a rule needs ranges and a booleanRule or gradientRule")
        sheets = {_grid_bounds(self.book, r, where)[0].id for r in ranges}
        if len(sheets) != 1:
            raise ApiError(400, f"Invalid {where}: all ranges of a rule must be on one sheet")
        cond = rule.get("booleanRule", {}).get("condition", {})
        if "booleanRule" in rule and not cond.get("type"):
            raise ApiError(400, f"Invalid {where}: the booleanRule needs a condition type")
        sheet = self.book.sheet(sheets.pop(), where)
        index = body.get("index", 0)
        if not 0 <= index <= len(sheet.cond):
            raise ApiError(400, f"Invalid {where}: index {index} out of range")
        sheet.cond.insert(index, copy.deepcopy(rule))

    def setDataValidation(self, body: dict[str, Any], where: str) -> None:
        """Set (or, without ``rule``, clear) the data validation of every cell in ``range``, as Google does."""
        sheet, r0, r1, c0, c1 = _grid_bounds(self.book, body.get("range") or {}, where)
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
                if not isinstance(v, dict) or not set(v) <= {"userEnteredValue", "relativeDate"} or not v:
                    raise ApiError(400, f"Invalid {where}: each condition value needs userEnteredValue")
                if kind == "ONE_OF_LIST" and not str(v.get("userEnteredValue", "")).strip():
                    raise ApiError(400, f"Invalid {where}: list items must not be empty")
            unknown = set(rule) - {"condition", "inputMessage", "strict", "showCustomUi"}
            if unknown:
                raise ApiError(400, f"Invalid JSON payload received. Unknown name \"{sorted(unknown)[0]}\" at "
                                    f"'{where}.rule': Cannot find field.")
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

    def deleteConditionalFormatRule(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        sheet = self.book.sheet(body.get("sheetId"), where)
        index = body.get("index", 0)
        if not 0 <= index < len(sheet.cond):
            raise ApiError(400, f"Invalid {where}: No conditional format on sheet: {sheet.id} at index: {index}")
        return {"deleteConditionalFormatRule": {"rule": sheet.cond.pop(index)}}

    def addChart(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        chart = copy.deepcopy(body.get("chart") or {})
        spec = chart.get("spec") or {}
        basic = spec.get("basicChart")
        if basic is None or basic.get("chartType") not in ("BAR", "LINE", "AREA", "COLUMN", "SCATTER", "COMBO"):
            raise ApiError(400, f"Invalid {where}: a basicChart with a valid chartType is required")
        for part in [*(d.get("domain", {}) for d in basic.get("domains", [])),
                     *(s.get("series", {}) for s in basic.get("series", []))]:
            for src in part.get("sourceRange", {}).get("sources", []):
                _grid_bounds(self.book, src, where)
        anchor = (chart.get("position") or {}).get("overlayPosition", {}).get("anchorCell")
        if not anchor:
            raise ApiError(400, f"Invalid {where}: only overlayPosition charts are supported here")
        sheet = self.book.sheet(anchor.get("sheetId"), where)
        _within(sheet, anchor.get("rowIndex", 0), anchor.get("rowIndex", 0) + 1, anchor.get("columnIndex", 0),
                anchor.get("columnIndex", 0) + 1, where)
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
                    s.charts.remove(c)
                    return
        raise ApiError(400, f"Invalid {where}: No object with id: {oid}")

    def addProtectedRange(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        pr = copy.deepcopy(body.get("protectedRange") or {})
        sheet = _grid_bounds(self.book, pr.get("range") or {}, where)[0]
        if pr.get("warningOnly") and pr.get("editors"):
            raise ApiError(400, f"Invalid {where}: Warning-only protected ranges cannot have editors.")
        pr = {k: v for k, v in pr.items() if v is not None}
        pr["protectedRangeId"] = self.book.new_id()
        pr["requestingUserCanEdit"] = True
        sheet.protected.append(pr)
        return {"addProtectedRange": {"protectedRange": copy.deepcopy(pr)}}

    def deleteProtectedRange(self, body: dict[str, Any], where: str) -> None:
        pid = body.get("protectedRangeId")
        for s in self.book.sheets:
            for p in s.protected:
                if p["protectedRangeId"] == pid:
                    s.protected.remove(p)
                    return
        raise ApiError(400, f"Invalid {where}: No protected range with id: {pid}")

    def copyPaste(self, body: dict[str, Any], where: str) -> None:
        """PASTE_NORMAL: values, formulas and formats; an empty source cell empties the destination cell. The
        destination must have the source's size (what sheets-sync sends) and lie inside its grid."""
        if body.get("pasteType", "PASTE_NORMAL") != "PASTE_NORMAL" or body.get("pasteOrientation",
                                                                               "NORMAL") != "NORMAL":
            raise ApiError(400, f"Invalid {where}: only PASTE_NORMAL / NORMAL is supported here")
        src, sr0, sr1, sc0, sc1 = _grid_bounds(self.book, body.get("source") or {}, where + ".source")
        dst, dr0, dr1, dc0, dc1 = _grid_bounds(self.book, body.get("destination") or {}, where + ".destination")
        if (sr1 - sr0, sc1 - sc0) != (dr1 - dr0, dc1 - dc0):
            raise ApiError(400, f"Invalid {where}: the destination must have the source's size here")
        copied = {(r - sr0 + dr0, c - sc0 + dc0): cell for (r, c), cell in src.cells.items()
                  if sr0 <= r < sr1 and sc0 <= c < sc1}
        dst.cells = {k: v for k, v in dst.cells.items() if not (dr0 <= k[0] < dr1 and dc0 <= k[1] < dc1)}
        dst.cells.update(copied)

    def _dimension(self, body: dict[str, Any], where: str) -> tuple[Sheet, int, int]:
        rng = body.get("range") or {}
        sheet = self.book.sheet(rng.get("sheetId"), where)
        if rng.get("dimension") != "ROWS":
            raise ApiError(400, f"Invalid {where}: only ROWS is supported here")
        start, end = rng.get("startIndex", 0), rng.get("endIndex", 0)
        if start < 0 or start >= end:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range {start}..{end}")
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
        sheet, start, end = self._dimension(body, where)
        if start > sheet.rows:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range {start}..{end} (max {sheet.rows})")
        self._shift_rows(sheet, start, end - start)
        sheet.props["gridProperties"]["rowCount"] = sheet.rows + end - start

    def deleteDimension(self, body: dict[str, Any], where: str) -> None:
        sheet, start, end = self._dimension(body, where)
        if end > sheet.rows:
            raise ApiError(400, f"Invalid {where}: Invalid dimension range {start}..{end} (max {sheet.rows})")
        left = sheet.rows - (end - start)
        if left < 1:
            raise ApiError(400, f"Invalid {where}: You can't delete all the rows on the sheet.")
        if sheet.props["gridProperties"].get("frozenRowCount", 0) >= left:
            raise ApiError(400, f"Invalid {where}: You can't freeze all visible rows on the sheet.")
        self._shift_rows(sheet, end, start - end)
        sheet.props["gridProperties"]["rowCount"] = left

    def createDeveloperMetadata(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        md = copy.deepcopy(body.get("developerMetadata") or {})
        if not md.get("metadataKey"):
            raise ApiError(400, f"Invalid {where}: metadataKey is required")
        if md.get("visibility") not in ("DOCUMENT", "PROJECT"):
            raise ApiError(400, f"Invalid {where}: visibility must be DOCUMENT or PROJECT")
        if not (md.get("location") or {}).get("spreadsheet"):
            raise ApiError(400, f"Invalid {where}: only spreadsheet-level metadata is supported here")
        if md.get("metadataId") is not None and any(m["metadataId"] == md["metadataId"] for m in self.book.devmeta):
            raise ApiError(400, f"Invalid {where}: metadata id {md['metadataId']} already exists")
        md.setdefault("metadataId", self.book.new_id())
        md["location"] = {"locationType": "SPREADSHEET", "spreadsheet": True}
        self.book.devmeta.append(md)
        return {"createDeveloperMetadata": {"developerMetadata": copy.deepcopy(md)}}

    def deleteDeveloperMetadata(self, body: dict[str, Any], where: str) -> dict[str, Any]:
        lookup = (body.get("dataFilter") or {}).get("developerMetadataLookup") or {}
        if not lookup:
            raise ApiError(400, f"Invalid {where}: dataFilter.developerMetadataLookup is required")
        gone = [m for m in self.book.devmeta
                if all(m.get(k) == v for k, v in lookup.items() if k in ("metadataId", "metadataKey", "metadataValue"))]
        self.book.devmeta = [m for m in self.book.devmeta if m not in gone]
        return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": gone}}


# ------------------------------------------------------------------------------------------------- server

@functools.cache
def _private_key() -> rsa.RSAPrivateKey:
    """One throwaway RSA key per test process (generating one takes ~0.1 s)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeSheetsServer:
    """The fake. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, *, seed: int = 0, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.quota_used: dict[tuple[str, str], collections.deque[float]] = {}   # (user or "project", kind) → times
        self.quota_refused = 0                        # 429s answered for an exhausted quota
        self.books: dict[str, Book] = {}
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.random_faults: tuple[float, list[Fault]] | None = None
        self.rng = random.Random(seed)
        self.log: list[tuple[str, str]] = []          # (METHOD, path) of every API call (token calls too)
        self.traffic: list[tuple[str, int, int]] = []  # (METHOD path, request bytes, response bytes)
        self.public_keys: dict[str, str] = {}         # key id → public key PEM
        self.emails: dict[str, str] = {}              # client_email → key id
        self.tokens: dict[str, str] = {}              # access token → client_email
        self.httpd: ThreadingHTTPServer | None = None
        self.quota_accepted = {"read": 0, "write": 0}  # requests counted against the quotas

    @property
    def quota_rejected(self) -> int:     # the benchmarks' name for quota_refused
        return self.quota_refused

    def set_quota(self, reads_per_minute: int | None, writes_per_minute: int | None,
                  minute_s: float = 60.0) -> None:
        """Set the per-user (per service account) read and write quotas per minute (None: Google's 60) and the
        length of the quota window (``minute_s``: shorter for benchmarks); counters start again."""
        with self.lock:
            self.limits = dataclasses.replace(self.limits, reads_per_user=reads_per_minute or 60,
                                              writes_per_user=writes_per_minute or 60, window_s=minute_s)
            self.quota_used.clear()
            self.quota_refused, self.quota_accepted = 0, {"read": 0, "write": 0}

    # lifecycle
    def start(self) -> FakeSheetsServer:
        server = self

        class Handler(_Handler):
            fake = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self) -> FakeSheetsServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self.httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def adapter(self) -> RedirectAdapter:
        return RedirectAdapter(self.base_url)

    def gspread_client(self, sa: dict[str, Any]) -> Any:
        """A plain gspread client (no sheets-sync code) whose every Google request, token refresh included,
        goes to this server."""
        import google.auth.transport.requests as gtr
        import gspread
        import requests
        from google.oauth2 import service_account

        creds = service_account.Credentials.from_service_account_info(sa, scopes=list(gspread.auth.DEFAULT_SCOPES))
        auth_s = requests.Session()
        auth_s.mount("https://", self.adapter())
        session = gtr.AuthorizedSession(creds, auth_request=gtr.Request(auth_s))
        session.mount("https://", self.adapter())
        return gspread.Client(auth=None, session=session)

    # accounts and books
    def service_account(self, email: str = "sync@kpi-project.iam.gserviceaccount.com") -> dict[str, Any]:
        """A throwaway service-account key whose token_uri is this server (registered for JWT verification)."""
        key = _private_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        kid = f"kid-{len(self.public_keys) + 1}"
        self.public_keys[kid] = pub
        self.emails[email] = kid
        return {"type": "service_account", "project_id": "kpi-project", "private_key_id": kid, "private_key": pem,
                "client_email": email, "client_id": "1", "token_uri": f"{self.base_url}/token"}

    def add_book(self, sid: str, tabs: dict[str, list[list[Any]]] | None = None, *, shared: Iterable[str] = (),
                 title: str = "KPI review") -> Book:
        book = Book(sid, title, [], set(shared))
        for name, table in (tabs or {"Sheet1": []}).items():
            self.add_tab(book, name, table)
        with self.lock:
            self.books[sid] = book
        return book

    def add_tab(self, book: Book, name: str, table: list[list[Any]], rows: int | None = None,
                cols: int | None = None) -> Sheet:
        n_rows = max(rows or 0, len(table), 1)
        n_cols = max(cols or 0, max((len(r) for r in table), default=0), 1)
        sheet = Sheet({"sheetId": book.new_id(), "title": name, "index": len(book.sheets), "sheetType": "GRID",
                       "gridProperties": {"rowCount": n_rows, "columnCount": n_cols}})
        for r, row in enumerate(table):
            for c, v in enumerate(row):
                cell = cell_from_python(v)
                if cell:
                    sheet.cells[(r, c)] = cell
        book.sheets.append(sheet)
        return sheet

    def values(self, sid: str, title: str) -> list[list[Any]] | None:
        """A tab's values as values.get renders them with UNFORMATTED_VALUE (ragged, trailing empties gone)."""
        with self.lock:
            sheet = self.books[sid].by_title(title)
            return None if sheet is None else _values(sheet, 0, sheet.rows, 0, sheet.cols, "UNFORMATTED_VALUE",
                                                      "SERIAL_NUMBER")

    def snapshot(self, sid: str, title: str) -> dict[str, Any] | None:
        """Everything about one tab (properties, cells, formats, rules, charts, protections), for equality checks."""
        with self.lock:
            sheet = self.books[sid].by_title(title)
            if sheet is None:
                return None
            return copy.deepcopy({"props": sheet.props, "cells": sheet.cells, "protected": sheet.protected,
                                  "cond": sheet.cond, "charts": sheet.charts, "col_px": sheet.col_px})

    def request_sizes(self, match: str = "/v4/") -> list[int]:
        """Body sizes in bytes of the API requests so far (``match`` filters on ``METHOD path``)."""
        with self.lock:
            return [n for what, n, _ in self.traffic if match in what]

    def _quota(self, email: str, method: str) -> dict[str, Any] | None:
        """Count one API request against the per-minute quotas; Google's 429 body when one is exhausted."""
        kind = "read" if method == "GET" else "write"
        lim = self.limits
        now = time.monotonic()
        with self.lock:
            for scope, key, limit in (("user", email, lim.reads_per_user if kind == "read" else lim.writes_per_user),
                                      ("project", "project",
                                       lim.reads_per_project if kind == "read" else lim.writes_per_project)):
                used = self.quota_used.setdefault((key, kind), collections.deque())
                while used and used[0] <= now - lim.window_s:
                    used.popleft()
                if len(used) >= limit:
                    self.quota_refused += 1
                    return quota_error(kind, scope, limit)
            for key in (email, "project"):
                self.quota_used[(key, kind)].append(now)
            self.quota_accepted[kind] += 1
        return None

    def calls(self, match: str = "/v4/") -> int:
        return sum(1 for m, p in self.log if match in f"{m} {p}")

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def set_random_faults(self, rate: float, menu: list[Fault]) -> None:
        """Each API call fails with probability ``rate`` with a fault drawn from ``menu``."""
        self.random_faults = (rate, menu) if rate > 0 else None

    def _next_fault(self, method: str, path: str) -> Fault | None:
        """Faults hit Sheets API calls; the token endpoint only when a fault's ``match`` names it."""
        with self.lock:
            for f in self.faults:
                if f.match in f"{method} {path}" and (path.startswith("/v4/") or "/token" in f.match):
                    if f.skip > 0:
                        f.skip -= 1
                        continue
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
            if self.random_faults and self.rng.random() < self.random_faults[0]:
                candidates = [f for f in self.random_faults[1] if f.match in f"{method} {path}"
                              and (path.startswith("/v4/") or "/token" in f.match)]
                if candidates:
                    return self.rng.choice(candidates)
        return None


def _values(sheet: Sheet, r0: int, r1: int, c0: int, c1: int, vopt: str, dopt: str) -> list[list[Any]]:
    by_row: dict[int, dict[int, Any]] = {}
    for (r, c), cell in sheet.cells.items():
        if r0 <= r < r1 and c0 <= c < c1:
            v = render(cell, vopt, dopt)
            if v is not None and v != "":
                by_row.setdefault(r, {})[c] = v
    if not by_row:
        return []
    out = []
    for r in range(r0, max(by_row) + 1):
        cols = by_row.get(r, {})
        out.append([cols.get(c, "") for c in range(c0, max(cols) + 1)] if cols else [])
    return out


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSheetsServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK cost ~40 ms per call
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _send(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj).encode()
        with self.fake.lock:
            self.fake.traffic.append((f"{self.command} {urllib.parse.urlsplit(self.path).path}",
                                      int(self.headers.get("Content-Length") or 0), len(body)))
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str, status: str, headers: dict[str, str] | None = None) -> None:
        self._send(code, {"error": {"code": code, "message": message, "status": status}}, headers)

    def _handle(self, method: str) -> None:
        fake = self.fake
        u = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(u.query)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        path = urllib.parse.unquote(u.path)
        with fake.lock:
            fake.log.append((method, path))
        if n > fake.limits.max_request_bytes and path.startswith("/v4/"):
            return self._error(400, f"Request payload size exceeds the limit: {fake.limits.max_request_bytes} bytes.",
                               "INVALID_ARGUMENT")
        if path.endswith("/allowedLocations"):          # google-auth's Regional Access Boundary lookup
            return self._send(200, {"locations": [], "encodedLocations": "0x0"})
        fault = fake._next_fault(method, path)
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            status = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 500: "INTERNAL"}.get(fault.code, "UNKNOWN")
            self.close_connection = False
            return self._error(fault.code, "Fault injected by the fake Sheets server", status, headers)
        try:
            code, obj = self._route(method, path, query, raw, fault)
        except ApiError as exc:
            code, obj = exc.code, {"error": {"code": exc.code, "message": exc.message, "status": exc.status}}
        if fault is not None and fault.kind == "drop_after":
            self.close_connection = True
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        try:
            self._send(code, obj)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, method: str, path: str, query: dict[str, list[str]], raw: bytes,
               fault: Fault | None) -> tuple[int, Any]:
        fake = self.fake
        if path == "/token" and method == "POST":
            return self._token(raw)
        m = re.fullmatch(r"/v4/spreadsheets/([^/:]+)(/values/?[^/]*|:batchUpdate)?", path)
        if not m:
            raise ApiError(404, f"The requested URL {path} was not found on this server.", "NOT_FOUND")
        auth = self.headers.get("Authorization", "")
        email = fake.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if email is None:
            raise ApiError(401, "Request is missing required authentication credential. Expected OAuth 2 access "
                                "token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")
        sid, rest = m[1], m[2] or ""
        refused = fake._quota(email, method)
        if refused is not None:
            return 429, refused
        with fake.lock:
            book = fake.books.get(sid)
            if book is None:
                raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
            if email not in book.shared:
                raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
            if rest == "" and method == "GET":
                res = book.resource()
                if query.get("fields"):
                    res = project(res, parse_field_mask(query["fields"][0]))
                return 200, res
            if rest == ":batchUpdate" and method == "POST":
                return self._batch_update(book, raw, fault)
            if rest == "/values:batchGet" and method == "GET":
                return 200, {"spreadsheetId": sid, "valueRanges": [
                    self._value_range(book, r, query) for r in query.get("ranges", [])]}
            if rest.startswith("/values/") and method == "GET":
                return 200, self._value_range(book, rest[len("/values/"):], query)
            if rest.startswith("/values/") and method == "PUT":
                return self._values_update(book, rest[len("/values/"):], query, raw)
        raise ApiError(404, f"The requested URL {path} was not found on this server.", "NOT_FOUND")

    def _token(self, raw: bytes) -> tuple[int, Any]:
        fake = self.fake
        form = urllib.parse.parse_qs(raw.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        assertion = (form.get("assertion") or [""])[0]
        try:
            # google-auth 2.6x signs aud = Google's token endpoint even when token_uri points elsewhere
            claims = jwt.decode(assertion, certs=fake.public_keys,
                                audience=[f"{fake.base_url}/token", "https://oauth2.googleapis.com/token"])
        except (gexc.GoogleAuthError, ValueError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        if claims.get("iss") not in fake.emails or "spreadsheets" not in str(claims.get("scope", "")):
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant: account not found"}
        token = f"fake-token-{len(fake.tokens) + 1}-{random.random():.8f}"
        with fake.lock:
            fake.tokens[token] = claims["iss"]
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _batch_update(self, book: Book, raw: bytes, fault: Fault | None) -> tuple[int, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received.") from None
        reqs = body.get("requests")
        if not isinstance(reqs, list) or not reqs:
            raise ApiError(400, "Invalid requests: at least one request is required")
        reject_at = None
        if fault is not None and fault.kind == "reject":
            reject_at = len(reqs) // 2 if fault.at is None else min(fault.at, len(reqs) - 1)
        work = book.clone()
        replies = _Apply(work, reject_at, self.fake.limits).run(reqs)       # raises before anything is swapped in
        self.fake.books[book.id] = work
        out: dict[str, Any] = {"spreadsheetId": book.id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            out["updatedSpreadsheet"] = work.resource()
        return 200, out

    def _value_range(self, book: Book, rng: str, query: dict[str, list[str]]) -> dict[str, Any]:
        title, a1 = split_range(rng)
        sheet = book.by_title(title)
        if sheet is None:
            raise ApiError(400, f"Unable to parse range: {rng}")
        r0, r1, c0, c1 = parse_a1(a1, sheet.rows, sheet.cols)
        vopt = (query.get("valueRenderOption") or ["FORMATTED_VALUE"])[0]
        dopt = (query.get("dateTimeRenderOption") or ["SERIAL_NUMBER"])[0]
        out: dict[str, Any] = {
            "range": f"{quote_title(title)}!{col_letter(c0)}{r0 + 1}:{col_letter(max(c1 - 1, 0))}{max(r1, 1)}",
            "majorDimension": "ROWS"}
        values = _values(sheet, r0, r1, c0, c1, vopt, dopt)
        if values:
            out["values"] = values
        return out

    def _values_update(self, book: Book, rng: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        title, a1 = split_range(rng)
        work = book.clone()
        sheet = work.by_title(title)
        if sheet is None:
            raise ApiError(400, f"Unable to parse range: {rng}")
        values = json.loads(raw or b"{}").get("values") or []
        r0, _, c0, _ = parse_a1(a1, sheet.rows, sheet.cols)
        width = max((len(r) for r in values), default=0)
        _within(sheet, r0, r0 + len(values), c0, c0 + width, "values.update")
        raw_input = (query.get("valueInputOption") or ["RAW"])[0] == "RAW"
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                cell = {} if v in (None, "") else {"userEnteredValue": (
                    {"stringValue": v} if isinstance(v, str) and (raw_input or not v.startswith("="))
                    else cell_from_python(v).get("userEnteredValue", {}))}
                _check_chars(cell, "values.update", self.fake.limits.max_cell_chars)
                old = sheet.cells.get((r0 + i, c0 + j), {})
                new = {**old, **cell} if cell else {k: x for k, x in old.items() if k != "userEnteredValue"}
                if new:
                    sheet.cells[(r0 + i, c0 + j)] = new
                else:
                    sheet.cells.pop((r0 + i, c0 + j), None)
        self.fake.books[book.id] = work
        return 200, {"spreadsheetId": book.id, "updatedRange": f"{quote_title(title)}!{a1}",
                     "updatedRows": len(values), "updatedColumns": width,
                     "updatedCells": sum(len(r) for r in values)}
