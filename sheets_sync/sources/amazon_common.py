"""What the SP-API and Ads API sources share: the on-disk report cache, settled/provisional days,
throttling backoff and secret-free error messages.

Nothing here imports an Amazon client library, so it is cheap to test on its own.

Cache layout (``<data_dir>/reports-cache``)::

    <api>/<account>/<marketplace>/<report>/<start>_<end>.<ext>    the document exactly as downloaded
    <api>/<account>/<marketplace>/<report>/<start>_<end>.meta.json    charset, fetched_at, empty, name

``<account>`` is a short SHA-256 of the refresh token (SP-API) or the Ads profile id, so two sellers'
data never mix and the token itself is not recoverable from the path. Only *settled* days are cached
(older than the provisional window); documents are written atomically (temp file + ``os.replace``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ..errors import ConfigError, RetriableError
from ..frames import MARKETPLACES, RawReport
from .base import FetchRequest, Source

PROVISIONAL_DAYS = 3          # the last 3 days are always re-fetched and marked provisional
EMPTY_RECHECK_DAYS = 14       # an empty document for a settled day is re-requested while it is this recent
MAX_RETRIES = 6               # throttled / 5xx calls are retried this many times, then QuotaError / RetriableError
MAX_WAIT_S = 120.0            # one backoff wait never exceeds this, whatever the rate-limit header says

Clock = Callable[[], float]
Sleep = Callable[[float], None]
StageProgress = Callable[[str, int, int], None]      # (stage, done, total)

# Amazon's published default usage plans (requests per second, burst) of the SP-API operations we call
# (Reports 2021-06-30 and Data Kiosk 2023-11-15 models). A seller may be granted more; never less.
SP_API_RATES: dict[str, tuple[float, int]] = {
    "createReport": (0.0167, 15), "getReport": (2.0, 15), "getReportDocument": (0.0167, 15),
    "createQuery": (0.0167, 15), "getQuery": (2.0, 15), "getDocument": (0.0167, 15),
}
# The Ads API publishes no fixed rate (it throttles with 429 + Retry-After): its report calls, creating and
# polling alike, share one cautious bucket — the same 1/s with a burst of 5 as service.yaml's ``budgets.ads``.
ADS_RATE: tuple[float, int] = (1.0, 5)
AMAZON_RATES: dict[str, tuple[float, int]] = {**SP_API_RATES, "ads": ADS_RATE}


def no_stage_progress(stage: str, done: int, total: int) -> None:
    """The default ``progress(stage, done, total)``: nothing."""


# ---------------------------------------------------------------------------------------------- days

def marketplace_today(marketplace: str, clock: Clock = time.time) -> dt.date:
    """Today's calendar date in the marketplace's time zone (US Pacific, MX Mexico City)."""
    tz = ZoneInfo(MARKETPLACES[marketplace]["tz"])
    return dt.datetime.fromtimestamp(clock(), tz=tz).date()


def settled_before(today: dt.date, provisional: int = PROVISIONAL_DAYS) -> dt.date:
    """First day that is *not* settled: days ``>=`` it are provisional (yesterday and the 2 days before it,
    plus today and anything later)."""
    return today - dt.timedelta(days=provisional)


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def runs(days: Iterable[dt.date], max_len: int) -> list[tuple[dt.date, dt.date]]:
    """Group days into contiguous (start, end) runs of at most ``max_len`` days."""
    out: list[tuple[dt.date, dt.date]] = []
    for d in sorted(set(days)):
        if out and (d - out[-1][1]).days == 1 and (d - out[-1][0]).days < max_len:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def local_bounds(marketplace: str, start: dt.date, end: dt.date) -> tuple[str, str]:
    """ISO-8601 timestamps (with the marketplace's UTC offset) of ``start`` 00:00 and ``end`` 23:59:59."""
    tz = ZoneInfo(MARKETPLACES[marketplace]["tz"])
    a = dt.datetime.combine(start, dt.time(0, 0, 0), tzinfo=tz)
    b = dt.datetime.combine(end, dt.time(23, 59, 59), tzinfo=tz)
    return a.isoformat(), b.isoformat()


# --------------------------------------------------------------------------------------------- cache

def account_key(secret_or_id: str) -> str:
    return hashlib.sha256(secret_or_id.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class CachedDocument:
    report: str
    marketplace: str
    start: dt.date
    end: dt.date
    data: bytes
    charset: str | None
    fetched_at: float
    empty: bool
    name: str

    @property
    def days(self) -> list[dt.date]:
        return days_between(self.start, self.end)


class ReportCache:
    """Documents of settled days, one file per downloaded document."""

    def __init__(self, root: Path, api: str, account: str):
        self.root = Path(root) / api / account

    def _dir(self, marketplace: str, report: str) -> Path:
        return self.root / marketplace / report

    def documents(self, marketplace: str, report: str) -> list[CachedDocument]:
        folder = self._dir(marketplace, report)
        if not folder.is_dir():
            return []
        out = []
        for meta_path in sorted(folder.glob("*.meta.json")):
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                data = (folder / meta["file"]).read_bytes()
                out.append(CachedDocument(
                    report=report, marketplace=marketplace,
                    start=dt.date.fromisoformat(meta["start"]), end=dt.date.fromisoformat(meta["end"]),
                    data=data, charset=meta.get("charset"), fetched_at=float(meta.get("fetched_at", 0.0)),
                    empty=bool(meta.get("empty", False)), name=str(meta.get("name", meta_path.name))))
            except (OSError, ValueError, KeyError, TypeError):
                continue      # a damaged entry is simply not cached: it will be fetched again
        return out

    def put(self, doc: CachedDocument, ext: str) -> None:
        folder = self._dir(doc.marketplace, doc.report)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{doc.start.isoformat()}_{doc.end.isoformat()}"
        # drop entries this document replaces (same or narrower range)
        for old in self.documents(doc.marketplace, doc.report):
            if doc.start <= old.start and old.end <= doc.end:
                self._remove(folder, f"{old.start.isoformat()}_{old.end.isoformat()}")
        data_name = f"{stem}.{ext}"
        _atomic_write(folder / data_name, doc.data)
        meta = {"file": data_name, "start": doc.start.isoformat(), "end": doc.end.isoformat(),
                "charset": doc.charset, "fetched_at": doc.fetched_at, "empty": doc.empty, "name": doc.name}
        _atomic_write(folder / f"{stem}.meta.json", json.dumps(meta, indent=1).encode("utf-8"))

    @staticmethod
    def _remove(folder: Path, stem: str) -> None:
        meta = folder / f"{stem}.meta.json"
        try:
            file = json.loads(meta.read_text(encoding="utf-8")).get("file")
            meta.unlink()
            if file:
                (folder / file).unlink(missing_ok=True)
        except (OSError, ValueError):
            pass

    def covered(self, marketplace: str, report: str, settled_end: dt.date, today: dt.date
                ) -> tuple[list[CachedDocument], set[dt.date]]:
        """Cached documents usable now, and the settled days they cover.

        An *empty* cached document is only trusted once it is older than :data:`EMPTY_RECHECK_DAYS`
        (Amazon sometimes fills a day late); until then its days are requested again."""
        usable, days = [], set()
        recheck_from = today - dt.timedelta(days=EMPTY_RECHECK_DAYS)
        for doc in self.documents(marketplace, report):
            if doc.end >= settled_end:
                continue
            if doc.empty and doc.end >= recheck_from:
                continue
            usable.append(doc)
            days.update(doc.days)
        return usable, days


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------------ throttling

class Budget(Protocol):
    """Where the calls to one Amazon account are paced: ``reserve(operation)`` takes one request of the
    operation's budget and answers how many seconds to wait before sending it (0 = now). A budget shared by
    several workers (e.g. token buckets in the job store) plugs in here."""

    def reserve(self, operation: str) -> float: ...


class LocalBudget:
    """Token buckets in this process, one per operation, at Amazon's published rate and burst (the Ads API's
    cautious one where Amazon publishes none): a first sync never sends a request Amazon would refuse with 429, it
    waits for the token instead."""

    def __init__(self, rates: Mapping[str, tuple[float, int]] | None = None, clock: Clock = time.monotonic):
        self.rates = dict(AMAZON_RATES if rates is None else rates)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}     # operation → (tokens, stamp)

    def reserve(self, operation: str) -> float:
        if operation not in self.rates:
            return 0.0
        rate, burst = self.rates[operation]
        now = self.clock()
        tokens, stamp = self._buckets.get(operation, (float(burst), now))
        tokens = min(float(burst), tokens + max(0.0, now - stamp) * rate) - 1.0
        self._buckets[operation] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / rate * 1.01     # 1 % margin: Amazon's clock is not ours

    def available(self, operation: str) -> float:
        """Requests of ``operation`` that could go now without waiting."""
        if operation not in self.rates:
            return math.inf
        rate, burst = self.rates[operation]
        now = self.clock()
        tokens, stamp = self._buckets.get(operation, (float(burst), now))
        return min(float(burst), tokens + max(0.0, now - stamp) * rate)


def retry_wait(headers: Mapping[str, str] | None, attempt: int, base: float = 1.0,
               rate: float | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based) of a throttled call.

    ``Retry-After`` (seconds) wins; else ``x-amzn-RateLimit-Limit`` (requests per second → one request's
    worth of time, e.g. 0.0167 → 60 s); else the operation's published ``rate`` the same way (the SP-API sends
    neither header with a 429); else exponential backoff. Never more than :data:`MAX_WAIT_S`."""
    backoff = base * (2 ** attempt)
    lower = {str(k).lower(): str(v) for k, v in headers.items()} if headers else {}
    wait = _number(lower.get("retry-after"))
    if wait is None or wait < 0:
        per_s = _number(lower.get("x-amzn-ratelimit-limit")) or rate
        wait = max(1.0 / per_s, backoff) if per_s and per_s > 0 else backoff
    return min(wait, MAX_WAIT_S)


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


# ----------------------------------------------------------------------------------------- downloads

DOWNLOAD_CONNECT_S = 10.0
SPOOL_BYTES = 8 << 20          # a download stays in memory up to this size, then goes on through a temp file


class DocumentDownloadError(Exception):
    """A presigned document URL answered something else than the document (expired: S3's 403)."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status} from the document download: {detail}")
        self.code = status


def download_document(http: Any, url: str, gunzip: bool = False) -> tuple[bytes, str | None]:
    """GET a presigned document URL with ``http`` (an ``httpx.Client`` with real timeouts), streamed: the body
    is decompressed chunk by chunk (``Content-Encoding`` by httpx; ``gunzip`` for a document Amazon says it
    compressed, ``compressionAlgorithm: GZIP``) into a temporary file that stays in memory up to
    :data:`SPOOL_BYTES` and spills to disk beyond: the compressed body, a decoded text and a re-encoded copy are
    never held side by side; the bytes returned are the one copy kept. Returns them and the charset the
    ``Content-Type`` named."""
    if not url:
        raise DocumentDownloadError(0, "Amazon gave no document URL")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out, http.stream("GET", url) as resp:
        if resp.status_code != 200:
            raise DocumentDownloadError(resp.status_code, resp.read()[:200].decode("utf-8", "replace"))
        inflate = zlib.decompressobj(wbits=47) if gunzip else None      # 47: a gzip header, any window
        inside = False                                                    # within a gzip member
        try:
            for chunk in resp.iter_bytes():
                if inflate is None:
                    out.write(chunk)
                    continue
                while chunk:
                    out.write(inflate.decompress(chunk))
                    inside = not inflate.eof
                    chunk = inflate.unused_data
                    if inflate.eof:                                       # another member may follow
                        inflate = zlib.decompressobj(wbits=47)
        except zlib.error as exc:
            raise DocumentDownloadError(200, f"the gzip document is damaged ({exc})") from None
        if inside:
            raise DocumentDownloadError(200, "the gzip document ends early")
        out.seek(0)
        return out.read(), resp.charset_encoding


# ----------------------------------------------------------------------------------------- messages

def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (secrets shorter than 4 characters are ignored)."""
    for s in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(s, "***")
    return text


_DUPLICATE = re.compile(r"duplicate\s+of\s*:?\s*([A-Za-z0-9\-]+)", re.IGNORECASE)


def duplicate_report_id(detail: str) -> str | None:
    """The existing report id in an Ads API 425 answer (``"The Request is a duplicate of : <id>"``)."""
    m = _DUPLICATE.search(detail or "")
    return m.group(1) if m else None


def decode_detect(data: bytes) -> str:
    """Charset of a document whose transport did not say: UTF-8 when it decodes strictly, else cp1252."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"



@dataclass
class ReportJob:
    """One report to request: what, for which days, whether its document may be cached as settled."""

    marketplace: str
    start: dt.date
    end: dt.date
    provisional: frozenset[dt.date]
    cacheable: bool
    report_id: str | None = None
    status: str = "NEW"

    @property
    def span(self) -> str:
        return f"{self.marketplace}:{self.start.isoformat()}..{self.end.isoformat()}"


class ReportApiSource(Source):
    """What the SP-API and Ads sources share: per marketplace, settled reports come from the cache and the
    rest are planned as jobs; every job is created (a retriable failure stops creating but still collects
    the reports already requested, then is raised), then polled and downloaded. Subclasses implement
    ``_plan``, ``_create`` and ``_poll``; ``label`` names the API in progress lines."""

    label = "API"
    budget: Budget | None = None          # pacing of requests (None: only Amazon's 429s slow us down)
    stage_progress: StageProgress = staticmethod(no_stage_progress)
    pending: list[str] = []     # what a later sync will fetch (a new list each collect)  # noqa: RUF012

    def _comparison_jobs(self, request: FetchRequest, created: list) -> tuple[list[RawReport], list]:
        """Cached documents and jobs for ``request.comparison`` (default: none; the subclass decides what
        fits in its budget and says what it leaves for later in ``pending``)."""
        return [], []

    def _pace(self, operation: str, progress: Callable[[str], None] | None = None) -> None:
        """Wait for ``operation``'s turn before sending it. The shared budget when the sync attached one
        (``Source.pacer``: token buckets in the queue's store that every worker on every machine draws from),
        else this process's ``budget`` at Amazon's published rates (None: only Amazon's 429s slow us down)."""
        if self.pacer is not None:
            self.pacer.acquire(operation)
            return
        if self.budget is None:
            return
        wait = self.budget.reserve(operation)
        if wait > 0:
            (progress or (lambda m: None))(f"{self.label}: {operation} at Amazon's rate — waiting {wait:.0f} s")
            self.sleep(wait)

    def _spawn(self, job) -> None:
        """Queue a job found while polling (a follow-up query, a fallback report): created by the poll loop."""
        self.__dict__.setdefault("_spawned", []).append(job)

    def _take_spawned(self) -> list:
        spawned = self.__dict__.get("_spawned") or []
        self.__dict__["_spawned"] = []
        return spawned

    def _create_spawned(self, progress: Callable[[str], None]) -> list:
        created: list = []
        while True:
            batch = self._take_spawned()
            if not batch:
                return created
            for job in batch:
                self._create(job, progress)
                if job.report_id:
                    created.append(job)
    #: what the create and poll loops draw from the budget before :meth:`_create` / :meth:`_check`; None
    #: for a source that paces each API call itself (the SP-API source paces in its ``_call``)
    pace_kinds: tuple[str, str] | None = None
    # set by the subclasses' __init__
    poll_interval: float
    max_poll_interval: float
    max_wait_s: float
    sleep: Callable[[float], None]

    def _check_marketplace(self, marketplace: str) -> None:
        if marketplace not in MARKETPLACES:
            raise ConfigError(f"marketplace {marketplace!r} is not one of {', '.join(MARKETPLACES)}")

    def _plan(self, request: FetchRequest, marketplace: str) -> tuple[list[RawReport], list]:
        raise NotImplementedError

    def _create(self, job, progress: Callable[[str], None]) -> None:
        raise NotImplementedError

    def _check(self, job, progress: Callable[[str], None]) -> list[RawReport] | None:
        """Ask Amazon about one job: None while it is still being generated, else the documents it gave
        (none for a failed report, which the subclass records in ``problems``)."""
        raise NotImplementedError

    def _poll(self, jobs: list, progress: Callable[[str], None]) -> Iterator[RawReport]:
        """Check every pending job, then wait (1.5× longer each round, bounded) until all are finished or
        ``max_wait_s`` has passed; reports not ready by then are named in ``problems``."""
        interval, waited = self.poll_interval, 0.0
        pending = list(jobs)
        total, done = len(jobs), 0
        while pending:
            still = []
            for job in pending:
                if self.pace_kinds:
                    self._pace(self.pace_kinds[1], progress)
                documents = self._check(job, progress)
                if documents is None:
                    still.append(job)
                else:
                    done += 1
                    yield from documents
            spawned = self._create_spawned(progress)
            total += len(spawned)
            pending = still + spawned
            self.stage_progress(f"{self.label}: reports ready", done, total)
            if not pending:
                break
            if spawned:
                continue      # check the new ones before waiting
            if waited >= self.max_wait_s:
                for job in pending + self._unsent():
                    self.problems.append(
                        f"{job.name}: still {job.status} after {waited / 60:.0f} min; Amazon is slow — run the sync "
                        "again later (reports already downloaded are cached)")
                return
            counts: dict[str, int] = {}
            for job in pending:
                counts[job.status] = counts.get(job.status, 0) + 1
            states = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            self._stage("waiting", total - len(pending), total)
            progress(f"{self.label}: {total - len(pending)}/{total} reports ready ({states}); "
                     f"waited {waited:.0f} s, next check in {interval:.0f} s")
            self.sleep(interval)
            waited += interval
            interval = min(interval * 1.5, self.max_poll_interval)

    def _unsent(self) -> list:
        """Jobs still waiting to be sent (default: none; the SP-API source holds Data Kiosk queries back)."""
        return []

    def close(self) -> None:
        """Release clients (default: nothing to release)."""

    _stage: Callable[..., None] = staticmethod(lambda *a, **k: None)

    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        self.pending = []
        try:
            progress = request.progress
            self._stage = request.stage
            jobs: list = []
            for marketplace in request.marketplaces:
                self._check_marketplace(marketplace)
                cached, planned = self._plan(request, marketplace)
                if cached:
                    progress(f"{self.label} {marketplace}: {len(cached)} settled report(s) from the cache")
                yield from cached
                jobs.extend(planned)
            if not jobs and not request.comparison:
                return
            progress(f"{self.label}: requesting {len(jobs)} report(s) from Amazon")
            deferred: RetriableError | None = None
            created: list = []
            for n, job in enumerate(jobs, 1):
                self._stage("fetching", n - 1, len(jobs))
                try:
                    if self.pace_kinds:
                        self._pace(self.pace_kinds[0], progress)
                    self._create(job, progress)
                    created += [job] if job.report_id else []
                    created += self._create_spawned(progress)
                except RetriableError as exc:
                    # collect the reports already requested (they get cached), then say why we stopped
                    deferred = exc
                    break
                self.stage_progress(f"{self.label}: requesting", n, len(jobs))
            if request.comparison and deferred is None:
                # this period first; last period's detail after, when it costs no wait
                cached, later = self._comparison_jobs(request, created)
                yield from cached
                for job in later:
                    self._create(job, progress)
                    created += [job] if job.report_id else []
                    created += self._create_spawned(progress)
            self._stage("fetching", len(created), len(jobs))
            yield from self._poll(created, progress)
            if deferred is not None:
                raise deferred
        finally:
            self.close()
