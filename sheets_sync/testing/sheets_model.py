"""The local Sheets server's state: spreadsheets, tabs, cells, protections and developer metadata, and the A1,
field-mask and value-rendering rules of the Sheets API v4 reference (https://developers.google.com/workspace/
sheets/api/reference/rest), with Google's limits.

Who may edit a protected range (ProtectedRange in the v4 reference): ``editors`` are "the users and groups with
edit access to the protected range … only visible to users with edit access to the protected range and the
document"; ``requestingUserCanEdit`` is "true if the user who requested this protected range can edit the
protected area" (read-only). A warning-only range can be edited by everyone (with a warning) and "cannot have
editors". Being an editor of the *file* is not enough. The owner of the spreadsheet may edit every protection, and
the user who adds a protection becomes one of its editors (what the Sheets editor does when a person protects a
range; the API's behaviour here is a guess). ``domainUsersCanEdit`` is modelled as "any user of the owner's
domain" (a guess).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-xyz"     # a spreadsheet id shaped like Google's
EPOCH = dt.date(1899, 12, 30)
MAX_CELLS = 10_000_000
MAX_COLUMNS = 18_278                 # ZZZ
MAX_CELL_CHARS = 50_000
MAX_REQUEST_BYTES = 10_485_760       # larger bodies: 400 "Request payload size exceeds the limit: 10485760 bytes."
MAX_METADATA_CHARS = 30_000          # developer metadata keys + values on one location (a guess, see Limits)
PROTECTED = ("You are trying to edit a protected cell or object. Please contact the spreadsheet owner to remove "
             "protection if you need to edit.")


@dataclass
class Limits:
    """Google's limits as the server enforces them. Defaults are Google's; tests may shorten ``window_s`` (the
    quota window, 60 s at Google) to run quotas fast, or lower a limit to reach it with small data.

    * ``max_request_bytes``: a body over 10,485,760 bytes is refused with 400 "Request payload size exceeds the
      limit: 10485760 bytes." (not on Google's pages; quoted in public issue threads of several Sheets clients,
      one answered by Google developer relations). Google's usage-limits page recommends at most 2 MB.
    * ``max_cells``: 10,000,000 cells per spreadsheet, every tab's grid counted, empty cells too (Google's
      Workspace Updates post of 2022-03-14, "We've increased the cell limit in Google Sheets from up to five
      million cells to up to ten million cells", quoted in tidyverse/googlesheets4 #257; the error text quoted in
      many public threads names the same number).
    * ``max_columns``: 18,278 columns per tab (column ZZZ) and ``max_cell_chars``: 50,000 characters per cell, as
      third-party pages quote Google Drive's help page "Files you can store in Google Drive" (the page itself
      was not available to check: the numbers are taken on their word).
    * ``max_metadata_chars``: keys and values of the developer metadata on one location. The 30,000 is a guess:
      Google's developer-metadata guide says metadata has limits, but the stored copies of the page do not carry
      the number.
    * per-minute quotas (https://developers.google.com/workspace/sheets/api/limits): 300 read and 300 write
      requests per minute per project, 60 of each per minute per user.
    """

    max_request_bytes: int = MAX_REQUEST_BYTES
    max_cells: int = MAX_CELLS
    max_columns: int = MAX_COLUMNS
    max_cell_chars: int = MAX_CELL_CHARS
    max_metadata_chars: int = MAX_METADATA_CHARS
    reads_per_user: int = 60
    writes_per_user: int = 60
    reads_per_project: int = 300
    writes_per_project: int = 300
    window_s: float = 60.0


class ApiError(Exception):
    """An answer other than 200, with Google's error body ``{"error": {"code", "message", "status"}}``."""

    def __init__(self, code: int, message: str, status: str = "INVALID_ARGUMENT",
                 details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.details = code, message, status, details

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}


class Unimplemented(ApiError):
    """Valid for Google, not modelled by this server: 501, so a test never mistakes it for Google's answer."""

    def __init__(self, what: str):
        super().__init__(501, f"The local Sheets server does not implement {what}.", "UNIMPLEMENTED")


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
    owner: str = "owner@team.example"

    def clone(self) -> Book:
        return dataclasses.replace(self, sheets=[s.clone() for s in self.sheets], shared=set(self.shared),
                                   devmeta=copy.deepcopy(self.devmeta))

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

    def total_cells(self) -> int:
        return sum(s.rows * s.cols for s in self.sheets)

    def can_edit(self, pr: dict[str, Any], user: str) -> bool:
        """May ``user`` edit the cells and the settings of protection ``pr``? (see the module docstring)"""
        if pr.get("warningOnly") or user == self.owner:
            return True
        editors = pr.get("editors") or {}
        if user in (editors.get("users") or []):
            return True
        return bool(editors.get("domainUsersCanEdit")) and user.split("@")[-1] == self.owner.split("@")[-1]

    def resource(self, user: str) -> dict[str, Any]:
        """The Spreadsheet resource as ``user`` sees it (requestingUserCanEdit, editors only for editors)."""
        sheets = []
        for s in self.sheets:
            d: dict[str, Any] = {"properties": copy.deepcopy(s.props)}
            if s.protected:
                shown = []
                for pr in s.protected:
                    p = copy.deepcopy(pr)
                    p["requestingUserCanEdit"] = self.can_edit(pr, user)
                    if not p["requestingUserCanEdit"]:
                        p.pop("editors", None)
                    shown.append(p)
                d["protectedRanges"] = shown
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


# ------------------------------------------------------------------------------------------------ field masks

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


def apply_mask(dst: dict[str, Any], src: dict[str, Any], fields: str) -> dict[str, Any]:
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


# ------------------------------------------------------------------------------------------------ A1 ranges

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


def a1_of(sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> str:
    return f"{quote_title(sheet.title)}!{col_letter(c0)}{r0 + 1}:{col_letter(max(c1 - 1, 0))}{max(r1, 1)}"


# ------------------------------------------------------------------------------------------------ values

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


def values_of(sheet: Sheet, r0: int, r1: int, c0: int, c1: int, vopt: str, dopt: str) -> list[list[Any]]:
    """A range as values.get answers it: ragged rows, trailing empty rows and cells left out."""
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
