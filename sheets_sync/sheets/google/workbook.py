"""The Google Sheets workbook: the Workbook port over the transport, the request builders and the planner."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from ...errors import ConfigError, RetriableError, SheetsSyncError
from ..base import (
    GENERATED_HEADER_ROW,
    TEAM_HEADER_ROW,
    GeneratedTab,
    Table,
    TeamTabSeed,
    Workbook,
    WriteStats,
)
from .build import (
    TEAM_TAB_ROWS,
    TEAM_TAB_SPARE_COLUMNS,
    check_writable,
    from_serial,
    grid_size,
    new_sheet_id,
    quote,
    seed_requests,
    tab_requests,
)
from .limits import (
    HISTORY_MAX_ROWS,
    MAX_CELLS,
    MAX_REQUEST_BYTES,
    MIN_REQUEST_BUDGET,
    REQUEST_BUDGET,
    check_cells,
    check_protections,
    fit_history,
    truncate,
)
from .metadata import METADATA_FIELDS, METADATA_PREFIX, WRITE_KEY, Meta, norm
from .planner import Plan, Planner, Stage
from .transport import Ambiguous, Rejected, RequestPacer, RetryPolicy, Stale, Transport, load_key


class GoogleWorkbook(Workbook):
    """A team workbook in Google Sheets, reached as a service account the sheet is shared with.

    ``credentials``: the service-account key as a dict or the path of its JSON file.
    ``adapter_factory``: tests only; returns a ``requests`` transport adapter mounted for ``https://`` on both the
    API session and google-auth's token session (see sheets_sync/testing/sheets_server.py). Production passes nothing.
    ``template``: the loaded :class:`~sheets_sync.template.Template`; it says which columns hold dates (Google
    returns them as day serials) and which tabs are team tabs (never written).
    ``request_budget``: the largest request body a write sends, in bytes (2 MB; below Google's hard 10,485,760).
    ``pacer``: a :class:`RequestPacer`; by default the in-process one of this service account (the sync may set
    another, shared through the job store, on :attr:`pacer`).
    ``max_cells`` / ``history_max_rows``: the spreadsheet's cell limit and History's cap (see :meth:`fit_tabs`).
    """

    #: API calls one :meth:`write_tabs` makes when nothing goes wrong (the sync logs it before writing)
    calls_per_write = 1

    def __init__(self, spreadsheet_id: str, credentials: Mapping[str, Any] | str | Path, *,
                 template: Any = None, timeout: float | tuple[float, float] = (10.0, 120.0),
                 retry: RetryPolicy | None = None,
                 adapter_factory: Callable[[], requests.adapters.BaseAdapter] | None = None,
                 request_budget: int = REQUEST_BUDGET, pacer: RequestPacer | None = None,
                 max_cells: int = MAX_CELLS, history_max_rows: int = HISTORY_MAX_ROWS):
        if not spreadsheet_id or not re.fullmatch(r"[A-Za-z0-9_\-]+", spreadsheet_id):
            raise ConfigError(f"{spreadsheet_id!r} is not a Google spreadsheet id (the part of the sheet's URL "
                              "between /d/ and /edit)")
        if not MIN_REQUEST_BUDGET <= request_budget < MAX_REQUEST_BYTES:
            raise ConfigError(f"request_budget {request_budget:,} bytes: use {MIN_REQUEST_BUDGET:,} to "
                              f"{MAX_REQUEST_BYTES - 1:,} (Google refuses requests over {MAX_REQUEST_BYTES:,} bytes)")
        self.spreadsheet_id = spreadsheet_id
        self.template = template
        self.request_budget = request_budget
        self.max_cells = max_cells
        self.history_max_rows = history_max_rows
        self.warnings: list[str] = []          # e.g. truncated cells of the last write
        self.last_write: dict[str, Any] = {}   # what the last write_tabs did: calls, staged blocks, skipped tabs
        self._meta: Meta | None = None
        self._read_back: dict[str, Table] = {}  # generated tabs as read_tabs last returned them
        self.http = Transport(spreadsheet_id, load_key(credentials), timeout=timeout, retry=retry or RetryPolicy(),
                              pacer=pacer, adapter_factory=adapter_factory)
        self.service_account_email = self.http.service_account_email

    # what the transport counts, under the names the sync and the benchmarks read
    @property
    def pacer(self) -> RequestPacer:
        """Waits before each request (the sync sets a per-service-account budget shared through the job store)."""
        return self.http.pacer

    @pacer.setter
    def pacer(self, value: RequestPacer) -> None:
        self.http.pacer = value

    @property
    def retry(self) -> RetryPolicy:
        return self.http.retry

    @property
    def api_calls(self) -> int:
        return self.http.api_calls

    @api_calls.setter
    def api_calls(self, value: int) -> None:
        self.http.api_calls = value

    @property
    def bytes_sent(self) -> int:
        return self.http.bytes_sent

    @property
    def bytes_received(self) -> int:
        return self.http.bytes_received

    @property
    def request_sizes(self) -> list[int]:
        """Body bytes of every write request sent (staging and final)."""
        return self.http.request_sizes

    # ------------------------------------------------------------------------------------------ public API

    def describe(self) -> str:
        return self.http.describe()

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
                body = self.http.batch_get({
                    "ranges": [quote(p) for p in present], "majorDimension": "ROWS",
                    "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"})
            except Rejected as exc:
                if n == 0:                                  # a tab vanished since the metadata GET: once more
                    self._meta = None
                    raise Stale(str(exc)) from exc
                raise
            return {"present": present, "ranges": body.get("valueRanges", [])}

        got = self.http.with_retries("read the team tabs", attempt)
        if len(got["ranges"]) != len(got["present"]):
            raise RetriableError(f"Google Sheets returned {len(got['ranges'])} ranges for "
                                 f"{len(got['present'])} tabs of {self.spreadsheet_id}; try again")
        for name, vr in zip(got["present"], got["ranges"], strict=True):   # by position, never by range text
            out[name] = self._convert_dates(name, [list(r) for r in vr.get("values", [])])
        self._read_back = {n: [list(r) for r in t] for n, t in out.items() if t is not None}
        return out

    def write_tabs(self, tabs: Sequence[GeneratedTab]) -> WriteStats:
        tabs = list(tabs)
        check_writable(tabs, self._spec)
        self.warnings = []
        prepared = [truncate(t, self.warnings) for t in tabs]
        calls_before, sent_before, sizes_before = self.api_calls, self.bytes_sent, len(self.request_sizes)
        cells = sum(grid_size(t)[0] * grid_size(t)[1] for t in prepared)
        write_id = secrets.token_hex(6)
        for replan in range(2):
            cached = self._meta is not None
            meta = self._metadata()
            check_protections(prepared, meta, self.service_account_email)
            plan = Planner(meta, write_id, read_back=self._read_back, request_budget=self.request_budget,
                           max_cells=self.max_cells, where=self.describe()).plan(prepared)
            try:
                self._run_plan(plan, write_id)
                break
            except Rejected:
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
        most ``max_cells`` cells once written (see :func:`~.limits.fit_history`). Returns a sentence per trim for
        the Sync Log (empty when nothing was cut)."""
        return fit_history(tabs, self._metadata(), self.max_cells, self.history_max_rows)

    def _run_plan(self, plan: Plan, write_id: str) -> None:
        """Staging requests (each retried on its own), then the final batchUpdate (old-or-new atomic)."""
        for n, stage in enumerate(plan.stages):
            for k, chunk in enumerate(stage.chunks):
                first_of_all = n == 0 and k == 0
                uncertain = [False]                              # an earlier try may have landed

                def step(attempt: int, last: SheetsSyncError | None, stage: Stage = stage, k: int = k,
                         chunk: list[dict[str, Any]] = chunk, first_of_all: bool = first_of_all,
                         uncertain: list[bool] = uncertain) -> Any:
                    reqs = list(chunk)
                    uncertain[0] = uncertain[0] or isinstance(last, Ambiguous)
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
                    return self.http.batch_update(reqs)

                self.http.with_retries(f"stage {stage.label} (part {k + 1} of {len(stage.chunks)})", step)

        uncertain = [False]

        def final(attempt: int, last: SheetsSyncError | None) -> Any:
            uncertain[0] = uncertain[0] or isinstance(last, Ambiguous)
            if uncertain[0]:                                     # landed? our write id says so
                self._meta = None
                if self._metadata().write_id() == write_id:
                    return None
            return self.http.batch_update(plan.final)

        self.http.with_retries("write the generated tabs", final)

    def create_tabs(self, seeds: Sequence[TeamTabSeed], generated: Sequence[GeneratedTab],
                    metadata: dict[str, str]) -> list[str]:
        self._meta = None
        planned: set[str] = set()

        def attempt(n: int, last: SheetsSyncError | None) -> list[str]:
            if isinstance(last, Ambiguous):
                self._meta = None
            cached = self._meta is not None
            meta = self._metadata()
            reqs: list[dict[str, Any]] = []
            created: list[str] = []
            used_ids = {s.sheet_id for s in meta.sheets.values()}
            for seed in seeds:
                if seed.name in meta.sheets or meta.similar(seed.name):
                    continue
                sid = new_sheet_id(seed.name, used_ids)
                reqs.extend(seed_requests(seed, sid))
                created.append(seed.name)
            new_generated = [g for g in generated if g.name not in meta.sheets and not meta.similar(g.name)]
            for g in new_generated:
                g = truncate(g, self.warnings)
                new = tab_requests(g, meta, used_ids)
                reqs.extend([*new.prepare, *new.fill])
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
            check_cells(new_generated, meta, self.max_cells, extra=sum(
                TEAM_TAB_ROWS * (len(s.columns) + TEAM_TAB_SPARE_COLUMNS) for s in seeds if s.name in created))
            # tabs a lost earlier attempt created count as created by us
            done = [p for p in planned if p in meta.sheets]
            planned.update(created)
            if reqs:
                self._batch_update(reqs, cached)
            return created + [d for d in done if d not in created]

        result = self.http.with_retries("create the template's tabs", attempt)
        self._meta = None
        return result

    # ---------------------------------------------------------------------------------------- helpers

    def _metadata(self) -> Meta:
        if self._meta is None:
            body = self.http.get({"includeGridData": "false", "fields": METADATA_FIELDS})
            self._meta = Meta.parse(body, self.retry.clock())
        return self._meta

    def _batch_update(self, reqs: list[dict[str, Any]], cached: bool) -> Any:
        try:
            return self.http.batch_update(reqs)
        except Rejected as exc:
            # Built on metadata cached since read_tabs: a person may have deleted or renamed a tab meanwhile.
            # Read the metadata again and rebuild (once: fresh metadata + 400 is a real rejection).
            if cached:
                self._meta = None
                raise Stale(str(exc)) from exc
            raise

    def _convert_dates(self, name: str, table: Table) -> Table:
        spec = self._spec(name)
        if spec is None or not table:
            return table
        kinds = {norm(c.name): c.type for c in spec.columns if c.type in ("date", "datetime")}
        if not kinds:
            return table
        header_row = (TEAM_HEADER_ROW if spec.kind == "team" else GENERATED_HEADER_ROW) - 1
        if len(table) <= header_row:
            return table
        cols = {i: kinds[norm(h)] for i, h in enumerate(table[header_row]) if norm(h) in kinds}
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


def open_google_workbook(sheet_id: str, config: Any, template: Any = None, **kwargs: Any) -> GoogleWorkbook:
    """The Google workbook ``sheet_id``, authenticated with the key file named by ``config.google_credentials``."""
    path = getattr(config, "google_credentials", None)
    if not path:
        raise ConfigError("no Google service-account key configured: set SHEETS_SYNC_GOOGLE_CREDENTIALS (or "
                          "GOOGLE_APPLICATION_CREDENTIALS) to the path of the service account's JSON key")
    return GoogleWorkbook(sheet_id, path, template=template, **kwargs)
