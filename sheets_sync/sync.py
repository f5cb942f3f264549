"""The one orchestrator: read team tabs → fetch actuals → compute → write generated tabs.

Only this module sees every port (workbook, source, compute). Callers (CLI, job queue) use
:func:`run_sync` and get a :class:`SyncResult`; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from . import render as T
from .compute.actuals import build_facts, ranges
from .compute.attainment import evaluate_all, score_owners
from .config import Config, WorkbookConfig
from .errors import (
    ConfigError,
    FatalError,
    InputDataError,
    Problem,
    ReportFormatError,
    RetriableError,
    SheetsSyncError,
    TemplateError,
)
from .frames import ReportBatch
from .gc_pause import paused_gc
from .inputs import read_inputs
from .localize import finish_tabs
from .locking import workbook_lock
from .progress import ProgressFn, Tracker
from .sheets.base import GENERATED_HEADER_ROW, GeneratedTab, Workbook
from .sources.base import FetchRequest, Source
from .stores import kind_store_name, store_name, store_reads
from .template import GENERATED_TABS, TEAM_TABS, Template, load_template

if TYPE_CHECKING:
    from .alerts import SyncAlerts
    from .sources.parsing.containers import Limits
    from .sources.parsing.pool import EarlyParse


@dataclass
class SyncResult:
    status: str                         # "ok", "ok with warnings", "ok with errors", "failed"
    started_at: dt.datetime
    duration_s: float
    workbook: str                       # a path or "google:<id>"; never a secret
    period: str | None = None
    api_calls: int = 0
    rows_read: int = 0
    warnings: int = 0
    summary: list[str] = field(default_factory=list)       # short lines for the console / job status
    problems: list[str] = field(default_factory=list)      # every addressed problem, as shown in the Sync Log
    scorecard: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None            # set when status == "failed"
    error_code: str | None = None       # stable code, e.g. "retriable", "fatal", "config", "input"
    language: str = "en"                # the Settings language (the console summary is shown in it)

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "started_at": self.started_at.isoformat(), "duration_s": self.duration_s,
                "workbook": self.workbook, "period": self.period, "api_calls": self.api_calls,
                "rows_read": self.rows_read, "warnings": self.warnings, "summary": self.summary,
                "problems": self.problems, "scorecard": self.scorecard, "error": self.error,
                "error_code": self.error_code}


# -- the orchestrator ---------------------------------------------------------------------------------------

READ_BACK = ("History", "Sync Log")   # generated tabs a sync reads back (History keeps other as-of dates)


def _error_code(exc: BaseException) -> str:
    for cls, code in ((RetriableError, "retriable"), (ConfigError, "config"), (TemplateError, "template"),
                      (FatalError, "fatal"), (InputDataError, "input")):
        if isinstance(exc, cls):
            return code
    return "error"


def _generated_rows(table: list[list[Any]] | None) -> list[list[Any]]:
    if not table or len(table) < GENERATED_HEADER_ROW:
        return []
    return [list(r) for r in table[GENERATED_HEADER_ROW:]]


def _limits(source: Source) -> Limits:
    from .sources.parsing import DEFAULT_LIMITS

    return getattr(source, "limits", None) or DEFAULT_LIMITS


def start_parsing(source: Source | None) -> EarlyParse | None:
    """The source's documents parsed from now on, when they do not depend on the request (see
    :meth:`Source.early_documents`): the parsing helpers work while the team tabs are read."""
    if source is None:
        return None
    from .sources.parsing.pool import EarlyParse, helpers_wanted

    limits = _limits(source)
    if not helpers_wanted(limits.parse_workers):   # no helper to keep busy: a thread would only share the core
        return None
    documents = source.early_documents()
    return EarlyParse(documents, limits, limits.parse_workers) if documents is not None else None


def collect_batches(source: Source, request: FetchRequest, problems: list[Problem],
                    notes: list[str] | None = None, early: EarlyParse | None = None) -> list[ReportBatch]:
    """Every document of the source, parsed; a bad file becomes a file-named problem and the rest go on.
    ``notes`` receives what the parsers noted about each file and the files the source did not read.
    ``early``: the same documents, already being parsed (:func:`start_parsing`)."""
    from .sources.parsing.pool import parse_all

    limits = _limits(source)
    batches: list[ReportBatch] = []
    parsed_all = early.result() if early is not None else parse_all(source.collect(request), limits,
                                                                     limits.parse_workers)
    for raw, parsed in parsed_all:
        if isinstance(parsed, ReportFormatError):
            problems.append(Problem(parsed.source, None, parsed.reason, "file skipped"))
            continue
        for b in parsed:
            if raw.marketplace_hint and b.marketplace and b.marketplace != raw.marketplace_hint:
                problems.append(Problem(raw.name, b.marketplace, f"the file is in the {raw.marketplace_hint}/ "
                                        f"folder but its content is for {b.marketplace}",
                                        f"used as {b.marketplace}", "warning"))
            if b.marketplace is None and raw.marketplace_hint and not store_reads(raw.marketplace_hint, b.kind):
                problems.append(Problem(raw.name, raw.marketplace_hint, f"{'a' if kind_store_name(b.kind).startswith('M') else 'an'} {kind_store_name(b.kind)} report in the "
                                        f"{raw.marketplace_hint}/ folder, which is {store_name(raw.marketplace_hint)}'s",
                                        "file skipped (move it to its store's folder)"))
                continue
            b.marketplace = b.marketplace or raw.marketplace_hint
            b.fetched_at = b.fetched_at or raw.fetched_at
            if raw.provisional_days:
                b.provisional_days = frozenset(b.provisional_days | raw.provisional_days)
            batches.append(b)
            if notes is not None:
                notes.extend(f"{b.source}: {w}" for w in b.warnings)
    problems.extend(p if isinstance(p, Problem) else
                    Problem(p.split(":", 1)[0], None, p.split(":", 1)[-1].strip(), "file skipped")
                    for p in source.problems)
    if notes is not None:
        notes.extend(getattr(source, "notes", ()))
    return batches


def unaccounted_files(batches: list[ReportBatch], problems: list[Problem], lines: list[str]) -> list[str]:
    """A line for every parsed file that neither supplied days (coverage) nor has a problem: each file the
    sync read is named in the Sync Log with what became of it."""
    named = {p.where for p in problems} | {line.split(": ", 1)[0] for line in lines}
    out = []
    for b in batches:
        if b.source in named:
            continue
        named.add(b.source)
        empty = all(df is None or df.empty for df in (b.asin_rows, b.daily_rows, b.campaign_rows)) and not b.health
        why = ("no rows in it (nothing reported for its dates, or an empty download)" if empty else
               "nothing in it was needed (a newer file of the same kind, or other days)")
        out.append(f"{b.source}: read as {b.kind} ({b.marketplace or 'no marketplace'}); not used: {why}")
    return out


def _keep_history_dates(history: GeneratedTab, trimmed: GeneratedTab) -> GeneratedTab:
    """``history`` (as computed) keeping only the as-of dates still in ``trimmed`` (the shown tab after the
    backend's fit); ``as_of`` keeps its template position in both."""
    j = history.columns.index("as_of")
    kept = {r[j] for r in trimmed.rows if j < len(r)}
    return dataclasses.replace(history, rows=[r for r in history.rows if r[j] in kept])


def sync_workbook(wb: Workbook, source: Source | None, *, period: str | None = None, trigger: str = "cli",
                  requested_by: str | None = None, now: dt.datetime | None = None,
                  template: Template | None = None, progress: ProgressFn | None = None,
                  lock_wait_s: float | None = None, alerts: SyncAlerts | None = None) -> SyncResult:
    """Read team tabs → collect and parse reports → compute → write generated tabs (one write), holding the
    workbook's sync lock throughout (every entry point comes here: one sync per workbook at a time; a sync that
    waited ``lock_wait_s`` in vain raises the retriable ``WorkbookBusyError``).

    ``progress(stage, done=None, total=None, detail=None)`` hears each stage (:mod:`sheets_sync.progress`).
    ``alerts``: the workbook's alert channels (:mod:`sheets_sync.alerts`); what they were told becomes Sync Log
    lines of this sync."""
    with workbook_lock(wb, lock_wait_s):
        if hasattr(wb, "remove_stale_temps"):
            wb.remove_stale_temps()   # what a killed sync left behind
        early = start_parsing(source)
        try:
            return _sync_locked(wb, source, period=period, trigger=trigger, requested_by=requested_by,
                                now=now, template=template, progress=progress, early=early, alerts=alerts)
        finally:
            if early is not None:
                early.cancel()        # a sync that ended before its reports were used: stop parsing them


def _sync_locked(wb: Workbook, source: Source | None, *, period: str | None, trigger: str,
                 requested_by: str | None, now: dt.datetime | None, template: Template | None,
                 progress: ProgressFn | None, early: EarlyParse | None = None,
                 alerts: SyncAlerts | None = None) -> SyncResult:
    template = template or load_template()
    track = progress if isinstance(progress, Tracker) else Tracker(progress)
    track("reading")
    started = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    t0 = time.perf_counter()
    result = SyncResult(status="failed", started_at=started, duration_s=0.0, workbook=wb.describe())
    try:
        tables = wb.read_tabs([*TEAM_TABS, *READ_BACK])
    except RetriableError:
        raise
    except SheetsSyncError as exc:
        result.error, result.error_code = str(exc), _error_code(exc)
        result.duration_s = round(time.perf_counter() - t0, 3)
        return result
    tz = "America/Mexico_City"
    today_team = started.astimezone(ZoneInfo(tz)).date()
    try:
        inputs = read_inputs(tables, today=today_team, period_override=period, template=template)
    except ValueError as exc:   # only a bad --period override gets here
        result.error, result.error_code = f"--period: {exc}", "input"
        return result
    settings = inputs.settings
    try:
        today_team = started.astimezone(ZoneInfo(settings.timezone)).date()
    except (KeyError, ValueError, OSError):     # read_inputs already checked it; never a traceback
        inputs.problems.append(Problem("Settings", settings.timezone, "an IANA time zone such as "
                                       "America/Mexico_City", f"{tz} used", "warning"))
    read_problems = list(getattr(wb, "read_problems", []))   # e.g. a formula saved without its value
    seen = {p.where for p in read_problems}
    problems = read_problems + [p for p in inputs.problems if p.where not in seen]
    result.period = settings.period.label
    batches: list[ReportBatch] = []
    file_notes: list[str] = []
    if source is not None:
        track("fetching")
        last = settings.period.previous(1)      # for comparisons: fetched after this period, when cheap
        req = FetchRequest(start=settings.period.start, end=min(settings.period.end, today_team),
                           marketplaces=settings.marketplaces, progress=track.note, stage=track,
                           comparison=(last.start, last.end))
        try:
            batches = collect_batches(source, req, problems, file_notes, early)
        except RetriableError:
            raise
        except SheetsSyncError as exc:
            problems.append(Problem(getattr(source, "name", "source"), None, str(exc), "no reports used"))
    track("computing")
    # Computing builds hundreds of thousands of rows, findings and cells that reference counting frees: the
    # cyclic collector is paused for this phase only, which waits on no network (see gc_pause).
    with paused_gc():
        facts = build_facts(batches, settings, inputs.products, today=today_team)
        problems.extend(facts.problems)
        rows, ev = evaluate_all(inputs, facts)
        problems.extend(ev.problems)            # names only the reports can check (campaigns, ad groups)
        overrides = list(ev.manual_overrides)   # the Targets rows' own (the review evaluates more with ev)
        complete = all((d is not None and d >= settings.period.end) for d in facts.data_through.values())
        scores = score_owners(rows, inputs.tiers, settings, complete)
        unassigned = facts.asin[~facts.asin["in_products"]] if not facts.asin.empty else facts.asin
        if len(unassigned):
            names = [f"{m} {a}" for m, a in unassigned.index[:12]]
            problems.append(Problem("Products", ", ".join(names) + (" …" if len(unassigned) > 12 else ""),
                                    f"{len(unassigned)} ASIN(s) in the reports are not in Products",
                                    "counted as tier unassigned", "warning"))
        title = settings.definitions(facts.data_through)
        computed = any(r.actual is not None for r in rows) or bool(batches)
        errors = [p for p in problems if p.severity == "error"]
        status = ("failed" if not computed else "ok with errors" if errors   # an error skipped a row or used a default
                  else "ok with warnings" if problems else "ok")
        review = T.build_review(inputs, facts, rows, today_team, batches, ev, tables)
        tabs: list[GeneratedTab] = [
            T.scorecard_tab(template, scores, title, settings, review.last_period()),
            T.attainment_tab(template, rows, title, settings, review.last_period()),
            T.actuals_tab(template, facts, settings, title),
            T.campaigns_tab(template, ev, settings, title),
            T.daily_tab(template, facts, settings, inputs.calendar, rows, title),
        ]
        tabs.extend(T.review_tabs(template, inputs, facts, rows, scores, tables, today_team, title, batches, ev,
                                  review=review))
        duration = round(time.perf_counter() - t0, 3)
        api_calls = wb.api_calls + getattr(wb, "calls_per_write", 0) + (source.api_calls if source else 0)
        through = ", ".join(f"{m} {d.isoformat() if d else 'no data'}" for m, d in facts.data_through.items())
        message = (f"{len(rows)} targets, {len(scores)} owners, {len(batches)} report(s); data through {through}; "
                   f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
        if not computed:
            message = "nothing could be computed: no report data and no manual actuals. " + message
        entry = [started.isoformat().replace("+00:00", "Z"), trigger, requested_by or "", status, duration, api_calls,
                 inputs.rows_read, message]
        detail = [["", "", "", p.severity, None, None, None, str(p)] for p in problems]
        provisional = [f"{mk}: {ranges(sorted(days))} provisional — {store_name(mk)} may still revise these days; they are "
                       "marked in the Daily tab and are not final figures" for mk, days in facts.provisional.items() if days]
        pending = [f"comparisons pending: {line}" for line in getattr(source, "pending", None) or []]
        told = alerts.after_compute(rows, review.findings(), ev, facts, settings) if alerts and computed else []
        detail += [["", "", "", "warning" if " not sent " in line or "not evaluated" in line else "info", None, None,
                    None, line] for line in told]
        detail += [["", "", "", "info", None, None, None, line]
                   for line in provisional + overrides + facts.coverage + pending + file_notes
                   + unaccounted_files(batches, problems, facts.coverage)]
        previous = _generated_rows(tables.get("Sync Log"))
        tabs.append(T.sync_log_tab(template, settings, entry, detail, previous, title))
        shown = finish_tabs(tabs, template, settings.language, settings.attainment_cap)   # as the reader sees them
    fit = getattr(wb, "fit_tabs", None)   # History over the backend's limits: its oldest as-of dates go
    trimmed = fit(shown) if fit is not None else []
    if trimmed:   # the same dates out of the computed History, then shown again (its owner-score block too)
        detail += [["", "", "", "warning", None, None, None, line] for line in trimmed]
        tabs = [_keep_history_dates(t, next(s for s in shown if s.name == "History")) if t.name == "History"
                else t for t in tabs]
        tabs[-1] = T.sync_log_tab(template, settings, entry, detail, previous, title)
        shown = finish_tabs(tabs, template, settings.language, settings.attainment_cap)
    tabs = shown
    track("writing")
    try:
        wb.write_tabs(tabs)   # RetriableError propagates: nothing was written, the caller may retry
    except RetriableError:
        raise
    except SheetsSyncError as exc:   # refused before or by the backend (a protected tab, a limit): nothing written
        result.error, result.error_code = str(exc), _error_code(exc)
        result.duration_s = round(time.perf_counter() - t0, 3)
        result.period, result.problems = settings.period.label, [str(p) for p in problems]
        return result
    result.status = status
    result.language = settings.language
    result.duration_s = round(time.perf_counter() - t0, 3)
    result.api_calls = wb.api_calls + (source.api_calls if source else 0)
    result.rows_read = inputs.rows_read
    result.warnings = len(problems)
    result.problems = [str(p) for p in problems]
    result.scorecard = [{"owner": s.owner, "role": s.role, "score": s.score, "projected_score": s.projected_score,
                         "tier": s.tier, "payout": s.payout} for s in scores]
    result.summary = [message, *trimmed]
    if not computed:
        result.error, result.error_code = "nothing could be computed", "input"
    return result


def open_workbook(config: Config, wbc: WorkbookConfig, template: Template | None = None) -> Workbook:
    if wbc.backend == "xlsx":
        from .sheets.xlsx import XlsxWorkbook

        return XlsxWorkbook(wbc.path)
    from .sheets.google import open_google_workbook

    return open_google_workbook(wbc.sheet_id, config, template or load_template())


def open_source(config: Config, wbc: WorkbookConfig, reports: Path | None = None) -> Source:
    if reports is not None or wbc.source == "files":
        from .sources.files import ReportFilesSource

        folder = reports or wbc.reports
        if folder is None:
            raise ConfigError(f"workbook {wbc.name}: no reports folder; pass --reports DIR or set "
                              f"workbooks.{wbc.name}.reports in service.yaml")
        from .sources.parsing import Limits

        mb = 1 << 20
        return ReportFilesSource(folder, Limits(file_bytes=int(config.report_file_mb * mb),
                                                unpacked_bytes=int(config.report_unpacked_mb * mb),
                                                parse_workers=config.parse_workers))
    from .sources.ads import ADS_ENV
    from .sources.amazon import open_amazon_source
    from .sources.mercadolibre import mercadolibre_configured, open_mercadolibre_source
    from .sources.spapi import SP_API_ENV
    from .sources.walmart import open_walmart_source, walmart_configured

    if wbc.amazon_credentials:           # an operator-named credential set (the add-on's settings pick one)
        from .registry import credential_config

        config = credential_config(config, wbc.amazon_credentials)
    others: list[Source] = []
    if mercadolibre_configured(config.env):      # Mercado Libre México: when its application is set
        others.append(open_mercadolibre_source(config.env, config.data_dir))
    if walmart_configured(config.env, config.data_dir):    # Walmart: its variables, or `connect walmart`
        others.append(open_walmart_source(config.env, config.data_dir))
    amazon_vars = any(str(config.env.get(n) or "").strip() for n in (*SP_API_ENV, *ADS_ENV))
    if others and not amazon_vars and not wbc.amazon_credentials:    # the other stores alone need no Amazon variable
        return others[0] if len(others) == 1 else _combined(others)
    amazon = open_amazon_source(config)      # names every missing Amazon variable
    return _combined([amazon, *others]) if others else amazon


def _combined(sources: list[Source]) -> Source:
    from .sources.combined import CombinedSource

    return CombinedSource(sources)


def run_sync(config: Config, workbook: str | None = None, *, period: str | None = None, trigger: str = "cli",
             requested_by: str | None = None, reports: Path | None = None,
             progress: ProgressFn | None = None, source: Source | None = None) -> SyncResult:
    """Sync one configured workbook (the CLI and the job queue both come here). Returns a SyncResult for every
    outcome except RetriableError (429, 5xx, throttling), which propagates so a queue can retry.

    API calls draw from the shared budgets in the queue's store (:mod:`sheets_sync.budget`). ``source``
    replaces the configured one (``--source``, tests)."""
    wbc = config.find_workbook(workbook) if workbook else config.workbook(None)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    track = Tracker(progress)
    from .alerts import SyncAlerts

    alerts = SyncAlerts.for_workbook(config, wbc)
    try:
        wb = open_workbook(config, wbc)
        source = source if source is not None else open_source(config, wbc, reports)
        attach_budgets(config, wb, source, track)
        result = sync_workbook(wb, source, period=period, trigger=trigger, requested_by=requested_by,
                               progress=track, alerts=alerts)
    except RetriableError as exc:
        if alerts is not None:       # the queue retries; a second failure in a row is worth telling
            alerts.after_run(True, str(exc))
        raise
    except SheetsSyncError as exc:
        result = SyncResult(status="failed", started_at=started, duration_s=0.0, workbook=wbc.target,
                            error=str(exc), error_code=_error_code(exc))
    if alerts is not None:
        result.summary += alerts.after_run(not result.ok, result.error,
                                           result.language if result.period is not None else None)
    return result


BUDGET_NAMES = {"sheets_read": "Sheets read", "sheets_write": "Sheets write", "ads": "Amazon Ads",
                "spapi_createReport": "SP-API createReport", "spapi_getReport": "SP-API getReport",
                "spapi_getReportDocument": "SP-API getReportDocument"}


def attach_budgets(config: Config, wb: Any, source: Any, track: Tracker | None = None) -> None:
    """Give the Google workbook and the Amazon sources their pacers over the shared budgets."""
    from .budget import account_key, shared_budgets

    def on_wait(bucket: str, seconds: float) -> None:
        if track is not None:
            track.note(f"waiting {seconds:.0f} s for the {BUDGET_NAMES.get(bucket, bucket)} budget")

    if hasattr(type(wb), "pacer") and getattr(wb, "service_account_email", None):
        wb.pacer = shared_budgets(config).google(wb.service_account_email, on_wait)
    for part in (getattr(source, "sp", None), getattr(source, "ads", None)):
        token = getattr(getattr(part, "credentials", None), "refresh_token", None)
        if part is not None and token:
            part.pacer = shared_budgets(config).amazon(account_key(token), on_wait)


def init_workbook(wb: Workbook, template: Template | None = None, today: dt.date | None = None,
                  examples: bool = True, language: str | None = None) -> list[str]:
    """Add the template's missing tabs. ``examples=False`` (``sheets-sync init``) leaves Targets, Products,
    Manual Actuals and Benchmarks empty; ``language`` sets the Settings language row of a new Settings tab."""
    from . import TEMPLATE_VERSION

    template = template or load_template()
    seeds = template.seeds(today, examples=examples)
    if language:
        for seed in seeds:
            if seed.name == "Settings":
                seed.rows = [[r[0], language, *r[2:]] if r and r[0] == "language" else r for r in seed.rows]
    return wb.create_tabs(seeds, template.empty_generated(),
                          {"sheets_sync_template_version": str(TEMPLATE_VERSION)})


__all__ = ["GENERATED_TABS", "SyncResult", "init_workbook", "run_sync", "sync_workbook"]
