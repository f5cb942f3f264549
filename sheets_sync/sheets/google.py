"""Google Sheets adapter: gspread's plain ``HTTPClient`` + google-auth service-account credentials.

One sync costs three Sheets API calls when its write fits one request (``request_budget``, 2 MB by default):

1. ``GET spreadsheets/{id}`` with a ``fields`` mask: which tabs exist, their grid sizes, and the
   charts, conditional formats and protected ranges a previous sync left on the generated tabs. Cached from
   :meth:`GoogleWorkbook.read_tabs` until the next :meth:`GoogleWorkbook.write_tabs`.
2. ``GET values:batchGet`` for every team tab at once (``UNFORMATTED_VALUE`` + ``SERIAL_NUMBER``), and the
   generated tabs the sync reads back (History, Sync Log).
3. ``POST spreadsheets/{id}:batchUpdate``: every generated tab, values, formats, frozen rows, widths,
   conditional colours, charts and warning-only protection in one request. Google applies a batchUpdate
   all-or-nothing, so a rejected write leaves the previous generated tabs as they were.

The write is bounded whatever the workbook's age (:class:`_Planner`): a tab whose content did not change since
the last write (digests kept in developer metadata) is not resent; a tab read back by the sync (History, Sync
Log) is patched by rows (rows deleted at the top, inserted, appended) instead of rewritten; number formats go
by column range. When the write is still larger than the budget, its largest blocks of rows are first written
over several requests into hidden *staging* tabs, then one small final batchUpdate pastes them into the
visible tabs (``copyPaste``: the tabs keep their ids) and deletes the staging tabs: a reader sees the old tabs
or the new ones, never a mix. Staging tabs a killed sync left behind are deleted by the next write. Every
request waits for the :class:`RequestPacer` (60 reads and 60 writes a minute per service account by default).

Retries are ours (gspread's ``BackOffHTTPClient`` retries forever): exponential backoff with jitter on 429,
5xx, timeouts and dropped connections, honouring ``Retry-After``, bounded in attempts and in total time
(:class:`RetryPolicy`). A write whose outcome is unknown (5xx, timeout, dropped connection) is rebuilt from
freshly read metadata before it is sent again, so a retry never adds a tab twice.

Errors leave this module as our own tree (:mod:`sheets_sync.errors`), ``raise ... from`` the gspread /
requests / google-auth exception. Messages name the spreadsheet id and the service-account email, never a
key or token.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import decimal
import email.utils
import hashlib
import json
import logging
import math
import random
import re
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import google.auth.exceptions
import google.auth.transport.requests as gtr
import gspread
import requests
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL, SPREADSHEET_URL, SPREADSHEET_VALUES_BATCH_URL

from ..errors import (
    ConfigError,
    FatalError,
    InputDataError,
    Problem,
    QuotaError,
    RetriableError,
    SheetsSyncError,
    TemplateError,
)
from .base import (
    CHART_ROW_STEP,
    GENERATED_HEADER_ROW,
    TEAM_HEADER_ROW,
    GeneratedTab,
    Table,
    TeamTabSeed,
    Workbook,
    WriteStats,
    chart_blocks,
    col_letter,
    colour_rules,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
MAX_CELLS = 10_000_000            # per spreadsheet, every tab's grid counted (empty cells too)
MAX_CELL_CHARS = 50_000           # per cell
MAX_REQUEST_BYTES = 10_485_760    # Google refuses larger request bodies ("Request payload size exceeds the limit")
REQUEST_BUDGET = 2_000_000        # bytes per request we aim for (Google's guidance: at most 2 MB)
MIN_REQUEST_BUDGET = 20_000
HISTORY_MAX_ROWS = 200_000        # History keeps at most this many rows; the oldest whole as-of dates go first
STAGING_PREFIX = "sheets-sync staging "
WRITE_KEY = "sheets_sync_last_write"   # developer metadata: {"id": write id, "tabs": {tab: digests}}
PROTECTION_DESCRIPTION = "sheets-sync: generated tab, replaced on every sync (edits are overwritten)"
METADATA_PREFIX = "sheets_sync_"
EPOCH = dt.date(1899, 12, 30)     # Sheets' day 0
TEAM_TAB_ROWS = 200               # grid rows given to a new team tab (people add rows)
TEAM_TAB_SPARE_COLUMNS = 4
CHART_WIDTH_PX, CHART_HEIGHT_PX = 640, 320
METADATA_FIELDS = (
    "spreadsheetId,properties(title),"
    "sheets(properties(sheetId,title,index,sheetType,hidden,gridProperties(rowCount,columnCount,frozenRowCount)),"
    "protectedRanges(protectedRangeId,description),conditionalFormats(ranges(sheetId)),charts(chartId)),"
    "developerMetadata(metadataId,metadataKey,metadataValue,location(spreadsheet))"
)
NUMBER_FORMATS = {
    "int": {"type": "NUMBER", "pattern": "#,##0"},
    "number": {"type": "NUMBER", "pattern": "#,##0.00"},
    "percent": {"type": "PERCENT", "pattern": "0.0%"},
    "score": {"type": "PERCENT", "pattern": "0.00%"},
    "date": {"type": "DATE", "pattern": "yyyy-mm-dd"},
    "datetime": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"},
}
CURRENCY_SYMBOLS = {"USD": '"$"', "MXN": '"MX$"', "EUR": '"€"', "GBP": '"£"', "CAD": '"CA$"'}
CHART_TYPES = {"bar": "COLUMN", "column": "COLUMN", "line": "LINE"}
_TOKEN_RE = re.compile(r"(Bearer\s+)[\w.\-~+/=]+|ya29\.[\w.\-]+", re.IGNORECASE)


# --------------------------------------------------------------------------------------------- retry policy

@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    The n-th wait (n = 0, 1, …) is ``min(cap_s, base_s * 2**n)`` scaled by a random factor in [0.5, 1), or the
    server's ``Retry-After`` when that is longer. We stop after ``max_attempts`` attempts, or earlier when the
    next wait would take the whole call past ``max_total_s``. ``sleep``, ``clock`` and ``jitter`` are
    injectable so tests run in milliseconds.
    """

    max_attempts: int = 6
    max_total_s: float = 120.0
    base_s: float = 1.0
    cap_s: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        wait = min(self.cap_s, self.base_s * (2 ** retry_number)) * (0.5 + 0.5 * self.jitter())
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


# ------------------------------------------------------------------------------------------------ pacing

class RequestPacer(Protocol):
    """Waits, before each Sheets API request, until the request fits the quotas. ``kind``: ``read`` or
    ``write``. The default is :class:`InProcessPacer`; a pacer shared between processes (kept in the job store)
    can be passed to :class:`GoogleWorkbook` instead."""

    def acquire(self, kind: str) -> None: ...


class InProcessPacer:
    """At most ``per_window`` requests of each kind in any ``window_s`` seconds (a sliding window), in this
    process. Google's quotas are per minute: 60 reads and 60 writes per user (service account), 300 per project."""

    def __init__(self, per_window: int = 60, window_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if per_window < 1 or window_s <= 0:
            raise ValueError("a pacer needs per_window >= 1 and window_s > 0")
        self.per_window, self.window_s, self.clock, self.sleep = per_window, window_s, clock, sleep
        self._sent: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def acquire(self, kind: str) -> None:
        while True:
            with self._lock:
                now = self.clock()
                sent = self._sent.setdefault(kind, collections.deque())
                while sent and sent[0] <= now - self.window_s:
                    sent.popleft()
                if len(sent) < self.per_window:
                    sent.append(now)
                    return
                wait = sent[0] + self.window_s - now
            self.waited_s += wait
            self.sleep(max(wait, 0.001))


_PACERS: dict[tuple[str, str], InProcessPacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(email: str, token_uri: str = "") -> InProcessPacer:
    """The in-process pacer of one service account (every GoogleWorkbook of that account in this process)."""
    with _PACERS_LOCK:
        return _PACERS.setdefault((email, token_uri), InProcessPacer())


class _Ambiguous:
    """Marker mixin: the request may or may not have been applied (5xx, timeout, dropped connection)."""


class _AmbiguousRetriable(RetriableError, _Ambiguous):
    pass


class _Rejected(TemplateError):
    """HTTP 400: Google refused the request as invalid; nothing was applied."""


class _Stale(RetriableError):
    """A write built on cached metadata was rejected: read the metadata again and rebuild, at once."""


# ------------------------------------------------------------------------------------------------ metadata

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
    conditional_formats: int = 0
    charts: list[int] = field(default_factory=list)
    hidden: bool = False


@dataclass
class _Meta:
    sheets: dict[str, SheetInfo]
    metadata: dict[str, tuple[int, str]]      # our developer-metadata keys → (metadataId, value)
    fetched_at: float

    @classmethod
    def parse(cls, body: Mapping[str, Any], now: float) -> _Meta:
        sheets: dict[str, SheetInfo] = {}
        for s in body.get("sheets", []):
            p = s.get("properties", {})
            g = p.get("gridProperties", {})
            info = SheetInfo(
                sheet_id=int(p.get("sheetId", 0)), title=str(p.get("title", "")), index=int(p.get("index", 0)),
                rows=int(g.get("rowCount", 0)), cols=int(g.get("columnCount", 0)),
                frozen_rows=int(g.get("frozenRowCount", 0)), grid=p.get("sheetType", "GRID") == "GRID",
                our_protections=[int(r["protectedRangeId"]) for r in s.get("protectedRanges", [])
                                 if str(r.get("description", "")).startswith("sheets-sync:")],
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
        key = _norm(name)
        for title in self.sheets:
            if title != name and _norm(title) == key:
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


def _norm(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip().lower()


# -------------------------------------------------------------------------------------------- the adapter

class GoogleWorkbook(Workbook):
    """A team workbook in Google Sheets, reached as a service account the sheet is shared with.

    ``credentials``: the service-account key as a dict or the path of its JSON file.
    ``adapter_factory``: tests only; returns a ``requests`` transport adapter mounted for ``https://`` on both the
    API session and google-auth's token session (see sheets_sync/testing/sheets_server.py). Production passes nothing.
    ``template``: the loaded :class:`~sheets_sync.template.Template`; it says which columns hold dates (Google
    returns them as day serials) and which tabs are team tabs (never written).
    ``request_budget``: the largest request body a write sends, in bytes (2 MB; below Google's hard 10,485,760).
    ``pacer``: a :class:`RequestPacer`; by default the in-process one of this service account.
    ``max_cells`` / ``history_max_rows``: the spreadsheet's cell limit and History's cap (see :meth:`fit_tabs`).
    """

    #: API calls one :meth:`write_tabs` makes when nothing goes wrong (the sync logs it before writing)
    calls_per_write = 1
    #: a :class:`sheets_sync.budget.Pacer` (shared per-service-account budget) the sync sets, or None
    pacer: Any = None

    def __init__(self, spreadsheet_id: str, credentials: Mapping[str, Any] | str | Path, *,
                 template: Any = None, timeout: float | tuple[float, float] = (10.0, 120.0),
                 retry: RetryPolicy | None = None,
                 adapter_factory: Callable[[], requests.adapters.BaseAdapter] | None = None,
                 request_budget: int = REQUEST_BUDGET, pacer: RequestPacer | None = None,
                 max_cells: int = MAX_CELLS, history_max_rows: int = HISTORY_MAX_ROWS):
        if not spreadsheet_id or not re.fullmatch(r"[A-Za-z0-9_\-]+", spreadsheet_id):
            raise ConfigError(f"{spreadsheet_id!r} is not a Google spreadsheet id (the part of the sheet's URL "
                              "between /d/ and /edit)")
        self.spreadsheet_id = spreadsheet_id
        self.template = template
        self.retry = retry or RetryPolicy()
        self.api_calls = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.warnings: list[str] = []          # e.g. truncated cells of the last write
        self._meta: _Meta | None = None
        if not MIN_REQUEST_BUDGET <= request_budget < MAX_REQUEST_BYTES:
            raise ConfigError(f"request_budget {request_budget:,} bytes: use {MIN_REQUEST_BUDGET:,} to "
                              f"{MAX_REQUEST_BYTES - 1:,} (Google refuses requests over {MAX_REQUEST_BYTES:,} bytes)")
        self.request_budget = request_budget
        self.max_cells = max_cells
        self.history_max_rows = history_max_rows
        self.request_sizes: list[int] = []     # body bytes of every write request sent (staging and final)
        self.last_write: dict[str, Any] = {}   # what the last write_tabs did: calls, staged blocks, skipped tabs
        self._read_back: dict[str, Table] = {}  # generated tabs as read_tabs last returned them
        info = _load_key(credentials)
        self.service_account_email = str(info.get("client_email", "the service account"))
        self.pacer: RequestPacer = pacer or shared_pacer(self.service_account_email, str(info.get("token_uri", "")))
        try:
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"the service-account key for {self.service_account_email} is not usable "
                              f"({type(exc).__name__}); download a new JSON key") from None
        auth_session = requests.Session()
        session = gtr.AuthorizedSession(creds, auth_request=gtr.Request(auth_session))
        if adapter_factory is not None:
            auth_session.mount("https://", adapter_factory())
            session.mount("https://", adapter_factory())
        self._client = gspread.Client(auth=None, session=session, http_client=gspread.HTTPClient)
        self._client.set_timeout(timeout)
        self._http = self._client.http_client

    # ------------------------------------------------------------------------------------------ public API

    def describe(self) -> str:
        return f"google:{self.spreadsheet_id}"

    def developer_metadata(self) -> dict[str, str]:
        """Our developer metadata on the spreadsheet (keys without the ``sheets_sync_`` prefix)."""
        return {k[len(METADATA_PREFIX):]: v for k, (_, v) in self._metadata().metadata.items() if k != WRITE_KEY}

    def refresh(self) -> None:
        """Forget the cached spreadsheet metadata (the next call fetches it again)."""
        self._meta = None

    def read_tabs(self, names: Sequence[str]) -> dict[str, Table | None]:
        self._meta = None                                   # one fresh metadata GET per sync
        out: dict[str, Table | None] = {n: None for n in names}

        def attempt(n: int, last: SheetsSyncError | None) -> dict[str, Any]:
            meta = self._metadata()
            present = [name for name in dict.fromkeys(names) if name in meta.sheets and meta.sheets[name].grid]
            if not present:
                return {"present": [], "ranges": []}
            try:
                body = self._send("get", SPREADSHEET_VALUES_BATCH_URL % self.spreadsheet_id, params={
                    "ranges": [_quote(p) for p in present], "majorDimension": "ROWS",
                    "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"})
            except _Rejected as exc:
                if n == 0:                                  # a tab vanished since the metadata GET: once more
                    self._meta = None
                    raise _Stale(str(exc)) from exc
                raise
            return {"present": present, "ranges": body.get("valueRanges", [])}

        got = self._with_retries("read the team tabs", attempt)
        if len(got["ranges"]) != len(got["present"]):
            raise RetriableError(f"Google Sheets returned {len(got['ranges'])} ranges for "
                                 f"{len(got['present'])} tabs of {self.spreadsheet_id}; try again")
        for name, vr in zip(got["present"], got["ranges"], strict=True):   # by position, never by range text
            out[name] = self._convert_dates(name, [list(r) for r in vr.get("values", [])])
        self._read_back = {n: [list(r) for r in t] for n, t in out.items() if t is not None}
        return out

    def write_tabs(self, tabs: Sequence[GeneratedTab]) -> WriteStats:
        tabs = list(tabs)
        self._check_writable(tabs)
        self.warnings = []
        prepared = [self._truncate(t) for t in tabs]
        calls_before, sent_before, sizes_before = self.api_calls, self.bytes_sent, len(self.request_sizes)
        cells = sum(_grid_size(t)[0] * _grid_size(t)[1] for t in prepared)
        write_id = secrets.token_hex(6)
        for replan in range(2):
            cached = self._meta is not None
            meta = self._metadata()
            plan = _Planner(self, meta, write_id).plan(prepared)
            try:
                self._run_plan(plan, write_id)
                break
            except _Rejected:
                # Built on metadata cached since read_tabs: a person may have deleted or renamed a tab meanwhile.
                # Read the metadata again and plan again (once: fresh metadata + 400 is a real rejection).
                self._meta = None
                if not cached or replan:
                    raise
        self._meta = None                                   # charts/protections changed: re-read next sync
        self._read_back = {}
        self.last_write = {"calls": self.api_calls - calls_before, "staged_blocks": len(plan.stages),
                           "unchanged": plan.unchanged, "patched": plan.patched,
                           "request_sizes": self.request_sizes[sizes_before:]}
        return WriteStats(api_calls=self.api_calls - calls_before, cells=cells,
                          bytes_sent=self.bytes_sent - sent_before)

    def fit_tabs(self, tabs: list[GeneratedTab]) -> list[str]:
        """Make the write fit the sheet: History keeps at most ``history_max_rows`` rows, and the spreadsheet at
        most ``max_cells`` cells once written. Only History (which sheets-sync owns) is trimmed, by whole oldest
        as-of dates, never the newest. Returns a sentence per trim for the Sync Log (empty when nothing was cut).
        """
        hist = next((t for t in tabs if t.name == "History"), None)
        if hist is None or not hist.rows:
            return []
        if "as_of" in hist.columns:
            j = hist.columns.index("as_of")
        else:                   # headers in the Settings language: the column keeps its template position
            from ..template import load_template

            j = load_template().tab("History").column_names.index("as_of")
        notes: list[str] = []
        meta = self._metadata()
        others = meta.total_cells(excluding={t.name for t in tabs} | set(meta.staging()))
        others += sum(r * c for r, c in map(_grid_size, (t for t in tabs if t is not hist)))
        others += 50 * 10                                  # room for the Sync Log lines this note adds
        width = _grid_size(hist)[1]
        cell_room = (self.max_cells - others) // width - GENERATED_HEADER_ROW
        for limit, why in ((self.history_max_rows, f"History keeps at most {self.history_max_rows:,} rows"),
                           (cell_room, f"Google Sheets allows {self.max_cells:,} cells per spreadsheet and the "
                                       "other tabs use " + f"{others:,}")):
            if len(hist.rows) <= limit:
                continue
            by_date: dict[Any, int] = collections.Counter(_date_key(r[j] if j < len(r) else None) for r in hist.rows)
            dates = sorted(by_date)
            drop: set[Any] = set()
            excess = len(hist.rows) - max(limit, 0)
            for d in dates[:-1]:                           # never the newest as-of date
                if excess <= 0:
                    break
                drop.add(d)
                excess -= by_date[d]
            if not drop:
                continue
            before = len(hist.rows)
            hist.rows = [r for r in hist.rows if _date_key(r[j] if j < len(r) else None) not in drop]
            first, last = min(drop), max(drop)
            notes.append(f"History: removed {before - len(hist.rows):,} rows of the {len(drop)} oldest as-of "
                         f"date(s) ({first} … {last}) because {why}; {len(hist.rows):,} rows kept")
        return notes

    def _run_plan(self, plan: _Plan, write_id: str) -> None:
        """Staging requests (each retried on its own), then the final batchUpdate (old-or-new atomic)."""
        for n, stage in enumerate(plan.stages):
            for k, chunk in enumerate(stage.chunks):
                first_of_all = n == 0 and k == 0
                uncertain = [False]                              # an earlier try may have landed

                def step(attempt: int, last: SheetsSyncError | None, stage: _Stage = stage, k: int = k,
                         chunk: list[dict[str, Any]] = chunk, first_of_all: bool = first_of_all,
                         uncertain: list[bool] = uncertain) -> Any:
                    reqs = list(chunk)
                    uncertain[0] = uncertain[0] or isinstance(last, _Ambiguous)
                    if k == 0:
                        add = {"addSheet": {"properties": stage.properties}}
                        cleanup = plan.cleanup if first_of_all else []
                        if uncertain[0]:                          # look before adding the tab again
                            self._meta = None
                            meta = self._metadata()
                            cleanup = [c for c in cleanup if c["deleteSheet"]["sheetId"] in meta.ids()]
                            if stage.sheet_id in meta.ids():
                                add = None
                        reqs = [*cleanup, *([add] if add else []), *reqs]
                    return self._send("post", SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id,
                                      json_body={"requests": reqs, "includeSpreadsheetInResponse": False})

                self._with_retries(f"stage {stage.label} (part {k + 1} of {len(stage.chunks)})", step)

        uncertain = [False]

        def final(attempt: int, last: SheetsSyncError | None) -> Any:
            uncertain[0] = uncertain[0] or isinstance(last, _Ambiguous)
            if uncertain[0]:                                     # landed? our write id says so
                self._meta = None
                if self._metadata().write_id() == write_id:
                    return None
            return self._send("post", SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id,
                              json_body={"requests": plan.final, "includeSpreadsheetInResponse": False})

        self._with_retries("write the generated tabs", final)

    def create_tabs(self, seeds: Sequence[TeamTabSeed], generated: Sequence[GeneratedTab],
                    metadata: dict[str, str]) -> list[str]:
        self._meta = None
        planned: set[str] = set()

        def attempt(n: int, last: SheetsSyncError | None) -> list[str]:
            if isinstance(last, _Ambiguous):
                self._meta = None
            cached = self._meta is not None
            meta = self._metadata()
            reqs: list[dict[str, Any]] = []
            created: list[str] = []
            used_ids = {s.sheet_id for s in meta.sheets.values()}
            for seed in seeds:
                if seed.name in meta.sheets or meta.similar(seed.name):
                    continue
                sid = _new_sheet_id(seed.name, used_ids)
                reqs.extend(_seed_requests(seed, sid))
                created.append(seed.name)
            new_generated = [g for g in generated if g.name not in meta.sheets and not meta.similar(g.name)]
            for g in new_generated:
                g = self._truncate(g)
                reqs.extend(self._tab_requests(g, meta, used_ids))
                created.append(g.name)
            for key, value in metadata.items():
                full = key if key.startswith(METADATA_PREFIX) else METADATA_PREFIX + key
                old = meta.metadata.get(full)
                if old is not None and old[1] == str(value):
                    continue
                if old is not None:
                    reqs.append({"deleteDeveloperMetadata": {"dataFilter": {
                        "developerMetadataLookup": {"metadataId": old[0]}}}})
                reqs.append({"createDeveloperMetadata": {"developerMetadata": {
                    "metadataKey": full, "metadataValue": str(value), "location": {"spreadsheet": True},
                    "visibility": "DOCUMENT"}}})
            self._check_cells(new_generated, meta, extra=sum(
                TEAM_TAB_ROWS * (len(s.columns) + TEAM_TAB_SPARE_COLUMNS) for s in seeds if s.name in created))
            # tabs a lost earlier attempt created count as created by us
            done = [p for p in planned if p in meta.sheets]
            planned.update(created)
            if reqs:
                self._batch_update(reqs, cached)
            return created + [d for d in done if d not in created]

        result = self._with_retries("create the template's tabs", attempt)
        self._meta = None
        return result

    # ---------------------------------------------------------------------------------------- HTTP layer

    def _metadata(self) -> _Meta:
        if self._meta is None:
            body = self._send("get", SPREADSHEET_URL % self.spreadsheet_id,
                              params={"includeGridData": "false", "fields": METADATA_FIELDS})
            self._meta = _Meta.parse(body, self.retry.clock())
        return self._meta

    def _batch_update(self, reqs: list[dict[str, Any]], cached: bool) -> Any:
        try:
            return self._send("post", SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id,
                              json_body={"requests": reqs, "includeSpreadsheetInResponse": False})
        except _Rejected as exc:
            # Built on metadata cached since read_tabs: a person may have deleted or renamed a tab meanwhile.
            # Read the metadata again and rebuild (once: fresh metadata + 400 is a real rejection).
            if cached:
                self._meta = None
                raise _Stale(str(exc)) from exc
            raise

    def _send(self, method: str, url: str, *, params: dict[str, Any] | None = None,
              json_body: dict[str, Any] | None = None) -> Any:
        """One HTTP request, translated: returns the JSON body or raises from our error tree."""
        data = headers = None
        if json_body is not None:       # compact JSON: the write can be megabytes
            data = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
            if len(data) >= MAX_REQUEST_BYTES:
                raise InputDataError([Problem(self.describe(), f"{len(data):,} bytes", f"Google Sheets refuses "
                                              f"requests over {MAX_REQUEST_BYTES:,} bytes", "nothing was sent")])
            self.request_sizes.append(len(data))
        self.pacer.acquire("read" if method == "get" else "write")
        self.api_calls += 1
        try:
            resp = self._http.request(method, url, params=params, data=data, headers=headers)
        except APIError as exc:
            self._count(exc.response)
            raise self._translate(exc) from exc
        except requests.Timeout as exc:
            raise _AmbiguousRetriable(f"Google Sheets did not answer in time ({self.describe()}); "
                                      "will retry") from exc
        except requests.ConnectionError as exc:
            raise _AmbiguousRetriable(f"the connection to Google Sheets failed ({type(exc).__name__}) "
                                      f"for {self.describe()}") from exc
        except google.auth.exceptions.RefreshError as exc:
            if getattr(exc, "retryable", False):
                raise RetriableError("Google's token endpoint failed temporarily; will retry") from exc
            raise FatalError(f"Google rejected the service-account credentials of {self.service_account_email} "
                             "(the key may be deleted or disabled): create a new key and point "
                             "SHEETS_SYNC_GOOGLE_CREDENTIALS at it") from exc
        except google.auth.exceptions.TransportError as exc:
            raise _AmbiguousRetriable("could not reach Google's token endpoint; will retry") from exc
        self._count(resp)
        try:
            return resp.json()
        except ValueError as exc:
            raise _AmbiguousRetriable(f"Google Sheets sent a response that is not JSON for "
                                      f"{self.describe()}") from exc

    def _count(self, resp: requests.Response | None) -> None:
        if resp is None:
            return
        body = resp.request.body if resp.request is not None else None
        self.bytes_sent += len(body) if body else 0
        self.bytes_received += len(resp.content or b"")

    def _translate(self, exc: APIError) -> SheetsSyncError:
        code = int(exc.code)
        error = exc.error if isinstance(exc.error, Mapping) else {}
        status = str(error.get("status", ""))
        said = _scrub(str(error.get("message", "")))[:300]
        sid = self.spreadsheet_id
        if code == 429 or status == "RESOURCE_EXHAUSTED" or ("quota" in said.lower() and code in (403, 429)):
            return QuotaError(f"Google Sheets quota exceeded for {self.service_account_email} ({said}); "
                              "retry later", retry_after=_retry_after(exc.response))
        if code == 408 or code >= 500:
            return _AmbiguousRetriable(f"Google Sheets failed with HTTP {code} for spreadsheet {sid} ({said})",
                                       retry_after=_retry_after(exc.response))
        if code == 401:
            return FatalError(f"Google did not accept the credentials of {self.service_account_email} "
                              f"(HTTP 401: {said})")
        if code == 403:
            if "has not been used" in said or "is disabled" in said or status == "SERVICE_DISABLED":
                return FatalError(f"the Google Sheets API is not enabled for the project of "
                                  f"{self.service_account_email}: enable it in the Google Cloud console "
                                  f"({said})")
            return FatalError(f"no access to spreadsheet {sid}: share the sheet with "
                              f"{self.service_account_email} as Editor (Share → add that email → Editor)")
        if code == 404:
            return FatalError(f"spreadsheet {sid} was not found: check the id (the part of the sheet's URL "
                              "between /d/ and /edit) and that the sheet was not deleted")
        if code == 400:
            return _Rejected(f"Google Sheets rejected the request for spreadsheet {sid} and changed nothing: "
                             f"{said}")
        return FatalError(f"Google Sheets answered HTTP {code} for spreadsheet {sid}: {said}")

    def _with_retries(self, what: str, attempt: Callable[[int, SheetsSyncError | None], T]) -> T:
        policy = self.retry
        start = policy.clock()
        last: SheetsSyncError | None = None
        for n in range(policy.max_attempts):
            try:
                return attempt(n, last)
            except RetriableError as exc:
                last = exc
                if n + 1 >= policy.max_attempts:
                    break
                wait = 0.0 if isinstance(exc, _Stale) else policy.delay(n, exc.retry_after)
                if policy.clock() - start + wait > policy.max_total_s:
                    break
                log.warning("%s: %s; retry %d of %d in %.1f s", self.describe(), exc, n + 1,
                            policy.max_attempts - 1, wait)
                if wait:
                    policy.sleep(wait)
        assert last is not None
        elapsed = policy.clock() - start
        msg = f"could not {what} of {self.describe()} after {n + 1} attempt(s) in {elapsed:.0f} s: {last}"
        kind = QuotaError if isinstance(last, QuotaError) else RetriableError
        raise kind(msg, retry_after=getattr(last, "retry_after", None)) from last

    # ---------------------------------------------------------------------------------------- reading

    def _convert_dates(self, name: str, table: Table) -> Table:
        spec = self._spec(name)
        if spec is None or not table:
            return table
        kinds = {_norm(c.name): c.type for c in spec.columns if c.type in ("date", "datetime")}
        if not kinds:
            return table
        header_row = (TEAM_HEADER_ROW if spec.kind == "team" else GENERATED_HEADER_ROW) - 1
        if len(table) <= header_row:
            return table
        cols = {i: kinds[_norm(h)] for i, h in enumerate(table[header_row]) if _norm(h) in kinds}
        for row in table[header_row + 1:]:
            for i, kind in cols.items():
                if i < len(row) and isinstance(row[i], int | float) and not isinstance(row[i], bool):
                    row[i] = from_serial(row[i], kind)
        return table

    def _spec(self, name: str) -> Any:
        if self.template is None:
            return None
        try:
            return self.template.tab(name)
        except KeyError:
            return None

    # ---------------------------------------------------------------------------------------- writing

    def _check_writable(self, tabs: list[GeneratedTab]) -> None:
        seen: set[str] = set()
        for t in tabs:
            spec = self._spec(t.name)
            if spec is not None and spec.kind == "team":
                raise TemplateError(f"{t.name!r} is a team tab: a sync never writes team tabs")
            if t.name in seen:
                raise TemplateError(f"the generated tab {t.name!r} is listed twice in one write")
            seen.add(t.name)
            for col in [t.status_column or "", *(c for ch in t.charts for c in (ch.category, *ch.series))]:
                if col and col not in t.columns:
                    raise TemplateError(f"{t.name}: the column {col!r} used for colours or a chart is not one of "
                                        f"the tab's columns ({', '.join(t.columns)})")
            for ch in t.charts:
                if ch.kind not in CHART_TYPES:
                    raise TemplateError(f"{t.name}: chart kind {ch.kind!r} is not one of {', '.join(CHART_TYPES)}")

    def _truncate(self, tab: GeneratedTab) -> GeneratedTab:
        """Cells longer than Google's 50,000 characters are cut, with a marker saying so."""
        def cut(v: Any, where: str) -> Any:
            if isinstance(v, str) and len(v) > MAX_CELL_CHARS:
                marker = f" … [cut by sheets-sync: {len(v):,} characters; Google Sheets keeps at most {MAX_CELL_CHARS:,}]"
                self.warnings.append(f"{where}: text of {len(v):,} characters cut to {MAX_CELL_CHARS:,} "
                                     "(Google Sheets' limit per cell)")
                return v[:MAX_CELL_CHARS - len(marker)] + marker
            return v

        long_rows = [i for i, r in enumerate(tab.rows) if any(isinstance(v, str) and len(v) > MAX_CELL_CHARS
                                                            for v in r)]
        title = cut(tab.title, f"{tab.name}!A1")
        if not long_rows and title is tab.title:
            return tab
        rows = list(tab.rows)
        for i in long_rows:
            rows[i] = [cut(v, f"{tab.name}!{col_letter(j)}{i + GENERATED_HEADER_ROW + 1}") for j, v in enumerate(rows[i])]
        return replace(tab, rows=rows, title=title)

    def _check_cells(self, tabs: Sequence[GeneratedTab], meta: _Meta, extra: int = 0) -> None:
        names = {t.name for t in tabs} | set(meta.staging())
        after = meta.total_cells(excluding=names) + extra + sum(r * c for r, c in map(_grid_size, tabs))
        if after <= self.max_cells:
            return
        problems = [Problem(t.name, f"{r * c:,} cells ({r:,} rows × {c} columns)",
                            f"Google Sheets allows {self.max_cells:,} cells per spreadsheet and this write would make "
                            f"{after:,}; sync fewer marketplaces or ASINs into this sheet, delete unused tabs or "
                            "columns, or use the xlsx backend", "nothing was written")
                    for t in tabs for r, c in [_grid_size(t)]]
        raise InputDataError(problems)

    def _tab_requests(self, tab: GeneratedTab, meta: _Meta, used_ids: set[int] | None = None) -> list[dict]:
        existing = meta.sheets.get(tab.name)
        if existing is None and (other := meta.similar(tab.name)):
            raise TemplateError(f"a tab named {other!r} exists where sheets-sync writes {tab.name!r}: rename it "
                                f"to {tab.name!r} (or delete it) and sync again")
        if existing is not None and not existing.grid:
            raise TemplateError(f"{tab.name!r} is not a grid tab (a chart sheet?); delete it so sheets-sync can "
                                "recreate it")
        n_rows, n_cols = _grid_size(tab)
        reqs: list[dict[str, Any]] = []
        if existing is None:
            used = used_ids if used_ids is not None else {s.sheet_id for s in meta.sheets.values()}
            sid = _new_sheet_id(tab.name, used)
            reqs.append({"addSheet": {"properties": {
                "sheetId": sid, "title": tab.name, "sheetType": "GRID",
                "gridProperties": {"rowCount": n_rows, "columnCount": n_cols,
                                   "frozenRowCount": GENERATED_HEADER_ROW}}}})
        else:
            sid = existing.sheet_id
            reqs.extend({"deleteProtectedRange": {"protectedRangeId": p}} for p in existing.our_protections)
            reqs.extend({"deleteEmbeddedObject": {"objectId": c}} for c in existing.charts)
            reqs.extend({"deleteConditionalFormatRule": {"sheetId": sid, "index": 0}}
                        for _ in range(existing.conditional_formats))
            reqs.append({"unmergeCells": {"range": {"sheetId": sid}}})
            reqs.append({"updateCells": {"range": {"sheetId": sid}, "fields": "*"}})     # values, formats, notes
            reqs.append({"updateSheetProperties": {
                "properties": {"sheetId": sid, "gridProperties": {
                    "rowCount": n_rows, "columnCount": n_cols, "frozenRowCount": GENERATED_HEADER_ROW,
                    "frozenColumnCount": 0}},
                "fields": "gridProperties.rowCount,gridProperties.columnCount,gridProperties.frozenRowCount,"
                          "gridProperties.frozenColumnCount"}})
        reqs.extend(_content_requests(tab, sid, n_rows))
        if tab.protected:
            reqs.append({"addProtectedRange": {"protectedRange": {
                "range": {"sheetId": sid}, "description": PROTECTION_DESCRIPTION, "warningOnly": True}}})
        return reqs


# ------------------------------------------------------------------------------------------ write planning

@dataclass
class _Stage:
    """One block of rows written into a hidden staging tab over ``chunks`` requests, pasted by the final one."""

    label: str
    sheet_id: int
    properties: dict[str, Any]
    chunks: list[list[dict[str, Any]]]


@dataclass
class _Plan:
    final: list[dict[str, Any]]
    stages: list[_Stage] = field(default_factory=list)
    cleanup: list[dict[str, Any]] = field(default_factory=list)   # leftover staging tabs, with the first stage
    unchanged: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)


class _Planner:
    """Turns the generated tabs into a bounded write: unchanged tabs skipped, read-back tabs patched by rows,
    blocks of rows staged when the final request would exceed the budget."""

    def __init__(self, wb: GoogleWorkbook, meta: _Meta, write_id: str):
        self.wb, self.meta, self.write_id = wb, meta, write_id
        self.used_ids = meta.ids()

    def plan(self, tabs: Sequence[GeneratedTab]) -> _Plan:
        meta, wb = self.meta, self.wb
        stored = meta.digests()
        digests = dict(stored)
        plan = _Plan(final=[])
        for t in tabs:
            body, head = _digest(t)
            digests[t.name] = f"{body}:{head}"
            existing = meta.sheets.get(t.name)
            if existing is not None and self._unchanged(t, existing, stored.get(t.name, ""), body):
                plan.unchanged.append(t.name)
                if stored.get(t.name) != digests[t.name]:          # only the definitions line changed
                    plan.final.append({"updateCells": {
                        "start": {"sheetId": existing.sheet_id, "rowIndex": 0, "columnIndex": 0},
                        "rows": [{"values": [_cell(t.title, {"textFormat": {"italic": True}})]}],
                        "fields": "userEnteredValue,userEnteredFormat"}})
                continue
            run = self._alignment(t, existing) if existing is not None else None
            patch = None
            if run is not None:
                # the rows that stay on the sheet need no CellData: build the requests without them
                i, j, n = run
                lite = GeneratedTab(**{**t.__dict__, "rows": [*t.rows[:j], *([[]] * n), *t.rows[j + n:]]})
                if _grid_size(lite) != _grid_size(t):
                    lite = t
                patch = self._patch(t, existing, wb._tab_requests(lite, meta, self.used_ids), run)
            full = wb._tab_requests(t, meta, self.used_ids) if patch is None else []
            if patch is not None:
                plan.patched.append(t.name)
            plan.final.extend(patch if patch is not None else full)
        wb._check_cells(tabs, meta)
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
        return plan

    @staticmethod
    def _unchanged(t: GeneratedTab, existing: SheetInfo, stored: str, body: str) -> bool:
        if stored.split(":")[0] != body or (existing.rows, existing.cols) != _grid_size(t):
            return False
        rules = len(colour_rules(t.status_column)) if t.status_column else 0
        charts = sum(len(chart_blocks(t, ch)) for ch in t.charts)
        return (existing.conditional_formats == rules and len(existing.charts) == charts
                and bool(existing.our_protections) == t.protected)

    def _alignment(self, t: GeneratedTab, existing: SheetInfo) -> tuple[int, int, int] | None:
        """For a tab read back by this sync: (i, j, n), the old data rows i…i+n that are new rows j…j+n."""
        old = self.wb._read_back.get(t.name)
        H = GENERATED_HEADER_ROW
        if old is None or t.charts or existing.charts or t.row_formats or len(old) < H:
            return None
        n_cols = _grid_size(t)[1]
        if existing.cols != n_cols or existing.rows != max(len(old), H + 1) or \
                _norm_row(old[H - 1]) != _norm_row(t.columns):
            return None
        run = _align(old[H:], t.rows)
        return run if run[2] else None

    def _patch(self, t: GeneratedTab, existing: SheetInfo, full: list[dict[str, Any]],
               run_: tuple[int, int, int]) -> list[dict[str, Any]] | None:
        """Rows instead of the whole tab: the old data rows that survive as one run (History: oldest dates
        dropped, new as-of rows appended; Sync Log: new entry on top, the oldest at the bottom dropped) stay
        where they are; only the rows around them are sent."""
        H = GENERATED_HEADER_ROW
        n_rows, n_cols = _grid_size(t)
        i, j, run = run_
        content = next((k for k, r in enumerate(full) if "start" in r.get("updateCells", {})), None)
        if content is None:
            return None
        uc = full[content]["updateCells"]
        rows, fields, sid = uc["rows"], uc["fields"], existing.sheet_id
        reqs: list[dict[str, Any]] = []
        resize = None
        for r in full[:content]:
            if "updateSheetProperties" in r:
                resize = r
            elif "updateCells" not in r:                      # the whole-tab clear is not needed
                reqs.append(r)
        if i:
            reqs.append({"deleteDimension": {"range": {"sheetId": sid, "dimension": "ROWS", "startIndex": H,
                                                       "endIndex": H + i}}})
        if j:
            reqs.append({"insertDimension": {"range": {"sheetId": sid, "dimension": "ROWS", "startIndex": H,
                                                       "endIndex": H + j}, "inheritFromBefore": False}})
        if resize is not None:
            reqs.append(resize)
        tail = H + j + run
        if tail < n_rows:
            reqs.append({"updateCells": {"range": _grid(sid, tail, n_rows, 0, n_cols), "fields": "*"}})
        for start, part in ((0, rows[:H + j]), (tail, rows[tail:])):
            if part:
                reqs.append({"updateCells": {"start": {"sheetId": sid, "rowIndex": start, "columnIndex": 0},
                                             "rows": part, "fields": fields}})
        written = [(a, b) for a, b in ((H, H + j), (tail, n_rows)) if b > a]
        for r in full[content + 1:]:
            if "repeatCell" not in r:
                reqs.append(r)
                continue
            for a, b in written:                              # column formats: only the rows just written
                rc = r["repeatCell"]
                reqs.append({"repeatCell": {**rc, "range": {**rc["range"], "startRowIndex": a, "endRowIndex": b}}})
        return reqs

    def _stage_if_needed(self, plan: _Plan) -> None:
        budget = self.wb.request_budget
        sizes = [_json_size(r) for r in plan.final]
        cleanup = sum(_json_size(r) + 1 for r in plan.cleanup)
        total = sum(sizes) + len(sizes) + cleanup + 64
        if total <= budget:
            return
        unstaged, single = list(plan.final), total
        blocks = sorted((k for k, r in enumerate(plan.final) if r.get("updateCells", {}).get("rows")),
                        key=lambda k: -sizes[k])
        for k in blocks:
            if total <= budget:
                break
            stage, paste = self._stage(plan.final[k], len(plan.stages), cleanup if not plan.stages else 0)
            plan.stages.append(stage)
            plan.final[k] = paste
            total += _json_size(paste) + 40 - sizes[k]
        plan.final.extend({"deleteSheet": {"sheetId": st.sheet_id}} for st in plan.stages)
        room = self.meta.total_cells(excluding=set(self.meta.staging())) + sum(
            st.properties["gridProperties"]["rowCount"] * st.properties["gridProperties"]["columnCount"]
            for st in plan.stages)
        if room > self.wb.max_cells and single < MAX_REQUEST_BYTES - 1024:
            # no room for staged copies beside the visible tabs (a sheet at Google's cell limit, being trimmed):
            # one request over the budget but under Google's hard limit is still atomic
            plan.final, plan.stages = unstaged, []
            return
        if room > self.wb.max_cells:
            raise InputDataError([Problem(self.wb.describe(), f"{room:,} cells while staging",
                                          f"a write this large is staged in hidden tabs first and Google Sheets "
                                          f"allows {self.wb.max_cells:,} cells per spreadsheet; raise the request "
                                          "budget, or sync fewer ASINs or marketplaces into this sheet",
                                          "nothing was written")])

    def _stage(self, req: dict[str, Any], n: int, extra: int) -> tuple[_Stage, dict[str, Any]]:
        uc = req["updateCells"]
        rows, start, fields = uc["rows"], uc["start"], uc["fields"]
        height = len(rows)
        width = max((len(r.get("values") or []) for r in rows), default=0) or 1
        title = f"{STAGING_PREFIX}{self.write_id} {n + 1}"
        sid = _new_sheet_id(title, self.used_ids)
        props = {"sheetId": sid, "title": title, "sheetType": "GRID", "hidden": True,
                 "gridProperties": {"rowCount": height, "columnCount": width}}
        room = self.wb.request_budget - 1_000 - extra
        chunks: list[list[dict[str, Any]]] = []
        part: list[dict[str, Any]] = []
        used, offset = 0, 0
        for r in rows:
            size = _json_size(r) + 1
            if part and used + size > room:
                chunks.append([{"updateCells": {"start": {"sheetId": sid, "rowIndex": offset, "columnIndex": 0},
                                                "rows": part, "fields": fields}}])
                offset += len(part)
                part, used, room = [], 0, self.wb.request_budget - 1_000
            part.append(r)
            used += size
        chunks.append([{"updateCells": {"start": {"sheetId": sid, "rowIndex": offset, "columnIndex": 0},
                                        "rows": part, "fields": fields}}])
        c0, r0 = start.get("columnIndex", 0), start.get("rowIndex", 0)
        paste = {"copyPaste": {"source": _grid(sid, 0, height, 0, width),
                               "destination": _grid(start["sheetId"], r0, r0 + height, c0, c0 + width),
                               "pasteType": "PASTE_NORMAL", "pasteOrientation": "NORMAL"}}
        target = next((s.title for s in self.meta.sheets.values() if s.sheet_id == start["sheetId"]), None)
        return _Stage(f"{target or 'a new tab'} rows {r0 + 1}–{r0 + height}", sid, props, chunks), paste


def _json_size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _digest(t: GeneratedTab) -> tuple[str, str]:
    """Digests of a tab's content (everything but the definitions line) and of its definitions line."""
    body = repr((t.columns, t.rows, sorted(t.formats.items()), sorted(t.row_formats.items()),
                 sorted(t.widths.items()), t.status_column, t.charts, t.protected, t.currency))
    return (hashlib.blake2b(body.encode(), digest_size=8).hexdigest(),
            hashlib.blake2b(str(t.title).encode(), digest_size=4).hexdigest())


def _norm_value(v: Any) -> Any:
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


def _norm_row(row: Sequence[Any]) -> tuple[Any, ...]:
    out = [_norm_value(v) for v in row]
    while out and out[-1] is None:
        out.pop()
    return tuple(out)


ALIGN_SEARCH = 5_000    # rows dropped at the top (History) or inserted at the top (Sync Log) in one sync


def _same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Would the sheet hold the same cells? Plain equality first (True == 1 aside), else cell by cell."""
    if a == b and bool not in set(map(type, a)) and bool not in set(map(type, b)):
        return True
    return _norm_row(a) == _norm_row(b)


def _align(old: Sequence[Sequence[Any]], new: Sequence[Sequence[Any]]) -> tuple[int, int, int]:
    """(i, j, n): old[i:i + n] and new[j:j + n] hold the same cells, the longest such run that starts at the
    top of either side, within the first ALIGN_SEARCH rows (else a whole rewrite is cheaper to find)."""
    best = (0, 0, 0)
    if not old or not new:
        return best
    starts = []
    first = next((i for i, r in enumerate(old[:ALIGN_SEARCH]) if _same_row(r, new[0])), None)
    if first is not None:
        starts.append((first, 0))
    top = next((j for j, r in enumerate(new[:ALIGN_SEARCH]) if _same_row(old[0], r)), None)
    if top is not None:
        starts.append((0, top))
    for i, j in starts:
        n = 0
        while i + n < len(old) and j + n < len(new) and _same_row(old[i + n], new[j + n]):
            n += 1
        if n > best[2]:
            best = (i, j, n)
    return best


def _date_key(v: Any) -> str:
    if isinstance(v, dt.datetime):
        v = v.date()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return from_serial(v).isoformat()
    return str(v or "")


# ------------------------------------------------------------------------------------------ request builders


def _grid_size(tab: GeneratedTab) -> tuple[int, int]:
    rows = max(len(tab.rows) + GENERATED_HEADER_ROW, GENERATED_HEADER_ROW + 1)   # never freeze every row
    cols = max(len(tab.columns), max((len(r) for r in tab.rows), default=0), 1)
    slots = 0
    for ch in tab.charts:
        cols = max(cols, (ch.anchor_column or len(tab.columns) + 1) + 1)
        slots += len(chart_blocks(tab, ch))
    if slots:   # every chart's anchor cell must lie inside the grid
        rows = max(rows, GENERATED_HEADER_ROW + (slots - 1) * CHART_ROW_STEP + 1)
    return rows, cols


def _content_requests(tab: GeneratedTab, sid: int, n_rows: int) -> list[dict[str, Any]]:
    reqs: list[dict[str, Any]] = []
    bold = {"textFormat": {"bold": True}, "backgroundColor": _rgb("EFEFEF")}
    rows = [{"values": [_cell(tab.title, {"textFormat": {"italic": True}})]},
            {"values": [_cell(c, bold) for c in tab.columns]}]
    per_row = [(j, tab.row_formats[c], tab.formats.get(c, "text")) for j, c in enumerate(tab.columns)
               if tab.row_formats.get(c)]
    # Date columns get their format from one repeatCell below: their cells need not carry it (smaller request).
    dated = {j for j, c in enumerate(tab.columns)
             if tab.formats.get(c) in ("date", "datetime") and not tab.row_formats.get(c)}
    for n, r in enumerate(tab.rows):
        cells = [_cell(v, date_format=j not in dated) for j, v in enumerate(r)]
        for j, kinds, column_kind in per_row:      # a row without its own format takes the column's
            kind = (kinds[n] if n < len(kinds) else None) or column_kind
            fmt = _number_format(kind, tab.currency)
            if fmt is not None and j < len(cells) and "userEnteredValue" in cells[j]:
                cells[j]["userEnteredFormat"] = {**cells[j].get("userEnteredFormat", {}), "numberFormat": fmt}
        rows.append({"values": cells})
    reqs.append({"updateCells": {"start": {"sheetId": sid, "rowIndex": 0, "columnIndex": 0}, "rows": rows,
                                 "fields": "userEnteredValue,userEnteredFormat"}})
    for j, col in enumerate(tab.columns):
        fmt = _number_format(tab.formats.get(col, "text"), tab.currency)
        if fmt is not None and not tab.row_formats.get(col):   # per-row formats are on the cells already
            reqs.append({"repeatCell": {"range": _grid(sid, GENERATED_HEADER_ROW, n_rows, j, j + 1),
                                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                                        "fields": "userEnteredFormat.numberFormat"}})
    reqs.extend(_width_requests(sid, tab.columns, tab.widths))
    if tab.status_column:
        j = tab.columns.index(tab.status_column)
        for i, (text, colour) in enumerate(colour_rules(tab.status_column, tab.colours).items()):
            reqs.append({"addConditionalFormatRule": {"index": i, "rule": {
                "ranges": [_grid(sid, GENERATED_HEADER_ROW, n_rows, j, j + 1)],
                "booleanRule": {"condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
                                "format": {"backgroundColor": _rgb(colour)}}}}})
    slot = 0
    for ch in tab.charts:
        cat = tab.columns.index(ch.category)
        anchor = ch.anchor_column or len(tab.columns) + 1
        for label, b0, b1 in chart_blocks(tab, ch):
            # A whole-table chart includes the header row (series names); a per-block chart covers its rows only.
            r0 = GENERATED_HEADER_ROW - 1 if not label else GENERATED_HEADER_ROW + b0
            r1 = GENERATED_HEADER_ROW + b1 + 1

            def rng(col: int, r0: int = r0, r1: int = r1) -> dict[str, Any]:
                return {"sourceRange": {"sources": [_grid(sid, r0, r1, col, col + 1)]}}

            reqs.append({"addChart": {"chart": {
                "spec": {"title": f"{ch.title} — {label}" if label else ch.title, "basicChart": {
                    "chartType": CHART_TYPES[ch.kind], "legendPosition": "BOTTOM_LEGEND",
                    "headerCount": 0 if label else 1,
                    "axis": [{"position": "BOTTOM_AXIS", "title": ch.category}, {"position": "LEFT_AXIS"}],
                    "domains": [{"domain": rng(cat)}],
                    "series": [{"series": rng(tab.columns.index(s)), "targetAxis": "LEFT_AXIS",
                                **({"pointStyle": {"shape": "CIRCLE", "size": 4}} if ch.kind == "line" else {})}
                               for s in ch.series]}},
                "position": {"overlayPosition": {
                    "anchorCell": {"sheetId": sid, "rowIndex": (GENERATED_HEADER_ROW if ch.anchor_column else
                                                                GENERATED_HEADER_ROW - 1) + slot * CHART_ROW_STEP,
                                   "columnIndex": anchor},
                    "widthPixels": CHART_WIDTH_PX, "heightPixels": CHART_HEIGHT_PX}}}}})
            slot += 1
    return reqs


def _seed_requests(seed: TeamTabSeed, sid: int) -> list[dict[str, Any]]:
    n_rows = max(TEAM_TAB_ROWS, len(seed.rows) + 1)
    n_cols = len(seed.columns) + TEAM_TAB_SPARE_COLUMNS
    bold = {"textFormat": {"bold": True}, "backgroundColor": _rgb("DDEBF7")}
    header = []
    for c in seed.columns:
        cell = _cell(c, bold)
        if seed.notes.get(c):
            cell["note"] = seed.notes[c]
        header.append(cell)
    rows = [{"values": header}, *({"values": [_cell(v) for v in r]} for r in seed.rows)]
    reqs: list[dict[str, Any]] = [
        {"addSheet": {"properties": {"sheetId": sid, "title": seed.name, "sheetType": "GRID", "gridProperties": {
            "rowCount": n_rows, "columnCount": n_cols, "frozenRowCount": TEAM_HEADER_ROW}}}}]
    for j, col in enumerate(seed.columns):
        fmt = _number_format(seed.formats.get(col, "text"), "USD")
        if fmt is not None:
            reqs.append({"repeatCell": {"range": _grid(sid, TEAM_HEADER_ROW, n_rows, j, j + 1),
                                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                                        "fields": "userEnteredFormat.numberFormat"}})
    reqs.append({"updateCells": {"start": {"sheetId": sid, "rowIndex": 0, "columnIndex": 0}, "rows": rows,
                                 "fields": "userEnteredValue,userEnteredFormat.textFormat,"
                                           "userEnteredFormat.backgroundColor,note"}})
    reqs.extend(_width_requests(sid, seed.columns, seed.widths))
    for i, name, kind in seed.cell_formats:    # e.g. a rate target shown as 12 %
        fmt = _number_format(kind, "USD")
        if name in seed.columns and fmt is not None:
            j, row = seed.columns.index(name), TEAM_HEADER_ROW + i
            reqs.append({"repeatCell": {"range": _grid(sid, row, row + 1, j, j + 1),
                                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                                        "fields": "userEnteredFormat.numberFormat"}})
    reqs.extend(_validation_requests(seed, sid, n_rows))
    return reqs


def _validation_requests(seed: TeamTabSeed, sid: int, n_rows: int) -> list[dict[str, Any]]:
    """Drop-downs (ONE_OF_LIST) on the enumerated columns and Settings rows; not strict: another word gets a
    warning mark, not a rejection (the sync also reads zh / es words such as 转化率)."""
    def rule(values: Sequence[str], note: str) -> dict[str, Any]:
        r: dict[str, Any] = {"condition": {"type": "ONE_OF_LIST",
                                           "values": [{"userEnteredValue": v} for v in values]},
                             "strict": False, "showCustomUi": True}
        if note:
            r["inputMessage"] = note
        return r

    reqs = []
    for name, values in seed.validations.items():
        if name in seed.columns and values:
            j = seed.columns.index(name)
            reqs.append({"setDataValidation": {"range": _grid(sid, TEAM_HEADER_ROW, n_rows, j, j + 1),
                                               "rule": rule(values, seed.notes.get(name, ""))}})
    for i, name, values in seed.cell_validations:
        if name in seed.columns and values:
            j = seed.columns.index(name)
            row = TEAM_HEADER_ROW + i
            reqs.append({"setDataValidation": {"range": _grid(sid, row, row + 1, j, j + 1), "rule": rule(values, "")}})
    return reqs


def _width_requests(sid: int, columns: Sequence[str], widths: Mapping[str, int]) -> list[dict[str, Any]]:
    return [{"updateDimensionProperties": {
        "range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": j, "endIndex": j + 1},
        "properties": {"pixelSize": int(widths[c]) * 7 + 16}, "fields": "pixelSize"}}
        for j, c in enumerate(columns) if widths.get(c)]


def _number_format(intent: str, currency: str) -> dict[str, str] | None:
    if intent == "money":
        symbol = CURRENCY_SYMBOLS.get(currency.upper())
        pattern = f"{symbol}#,##0.00" if symbol else f'#,##0.00 "{currency.upper()}"'
        return {"type": "CURRENCY", "pattern": pattern}
    return NUMBER_FORMATS.get(intent)


def _cell(v: Any, fmt: dict[str, Any] | None = None, date_format: bool = True) -> dict[str, Any]:
    """A CellData for a Python value. Strings are always ``stringValue``: '=1+1' stays text, never a formula."""
    cell: dict[str, Any] = {}
    if hasattr(v, "item") and not isinstance(v, str | bytes):          # numpy scalars
        with contextlib.suppress(TypeError, ValueError):
            v = v.item()
    number_format = None
    if v is None:
        pass
    elif isinstance(v, bool):
        cell["userEnteredValue"] = {"boolValue": v}
    elif isinstance(v, dt.datetime):
        if v == v:                                                     # NaT is a datetime and is not equal to itself
            cell["userEnteredValue"] = {"numberValue": to_serial(v)}
            number_format = NUMBER_FORMATS["datetime"] if date_format else None
    elif isinstance(v, dt.date):
        cell["userEnteredValue"] = {"numberValue": to_serial(v)}
        number_format = NUMBER_FORMATS["date"] if date_format else None
    elif isinstance(v, int):
        cell["userEnteredValue"] = {"numberValue": v}
    elif isinstance(v, float | decimal.Decimal):
        f = float(v)
        if f == f and f not in (float("inf"), float("-inf")):
            cell["userEnteredValue"] = {"numberValue": f}
    elif isinstance(v, str):
        if v:
            cell["userEnteredValue"] = {"stringValue": v}
    else:
        text = str(v)
        if text not in ("", "nan", "NaT", "<NA>", "None"):
            cell["userEnteredValue"] = {"stringValue": text}
    if fmt is not None or number_format is not None:
        cell["userEnteredFormat"] = {**(fmt or {}), **({"numberFormat": number_format} if number_format else {})}
    return cell


def _grid(sid: int, r0: int, r1: int, c0: int, c1: int) -> dict[str, int]:
    return {"sheetId": sid, "startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0, "endColumnIndex": c1}


def _rgb(hex_colour: str) -> dict[str, float]:
    return {k: round(int(hex_colour[i:i + 2], 16) / 255, 4) for k, i in (("red", 0), ("green", 2), ("blue", 4))}


def _quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _new_sheet_id(name: str, used: set[int]) -> int:
    """A stable sheet id for a new tab (derived from its name), unused in the spreadsheet."""
    sid = zlib.crc32(name.encode("utf-8")) & 0x3FFFFFFF or 1
    while sid in used:
        sid = (sid * 1103515245 + 12345) & 0x3FFFFFFF or 1
    used.add(sid)
    return sid


def to_serial(value: dt.date | dt.datetime) -> float | int:
    """A Sheets day serial (days since 1899-12-30) for a date or a (naive or aware → UTC) datetime."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        delta = value - dt.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return (value - EPOCH).days


def from_serial(serial: float, kind: str = "date") -> dt.date | dt.datetime:
    if kind == "datetime":
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=float(serial))
    return EPOCH + dt.timedelta(days=int(serial // 1))


def _retry_after(resp: requests.Response | None) -> float | None:
    value = resp.headers.get("Retry-After") if resp is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _scrub(text: str) -> str:
    return _TOKEN_RE.sub(lambda m: (m.group(1) or "") + "[redacted]", text)


def _load_key(credentials: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    if isinstance(credentials, Mapping):
        info = dict(credentials)
    else:
        path = Path(credentials).expanduser()
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: the service-account key file does not exist (set "
                              "SHEETS_SYNC_GOOGLE_CREDENTIALS or GOOGLE_APPLICATION_CREDENTIALS to its path)") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read the service-account key file as JSON "
                              f"({type(exc).__name__})") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError("the Google credentials are not a service-account key (expected a JSON file with "
                          '"type": "service_account"; create one under IAM → Service accounts → Keys)')
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise ConfigError(f"the service-account key lacks {', '.join(missing)}; download a new JSON key")
    return info


def open_google_workbook(sheet_id: str, config: Any, template: Any = None, **kwargs: Any) -> GoogleWorkbook:
    """The Google workbook ``sheet_id``, authenticated with the key file named by ``config.google_credentials``."""
    path = getattr(config, "google_credentials", None)
    if not path:
        raise ConfigError("no Google service-account key configured: set SHEETS_SYNC_GOOGLE_CREDENTIALS (or "
                          "GOOGLE_APPLICATION_CREDENTIALS) to the path of the service account's JSON key")
    return GoogleWorkbook(sheet_id, path, template=template, **kwargs)
