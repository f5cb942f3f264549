"""Parse a source's documents on more than one core.

A large sync reads dozens of reports (31 daily Sales and Traffic documents per marketplace, two 150,000-line
orders files): parsing them is most of its time and each document is independent. The sync's own process
parses documents as they arrive; while it does, up to ``workers`` helper processes parse others. Results are
returned in the source's order, so what the Sync Log says does not depend on which process finished first.

* A helper is a new interpreter running ``python -m sheets_sync.sources.parsing.pool`` (not a ``fork`` of a
  process that may run threads, such as the web service or the queue worker, and not a re-run of the caller's
  main script as ``multiprocessing`` would do). It reads (document, limits) from its stdin and writes the
  batches, or the file's error, to its stdout, one at a time. A thread feeds it and another reads its results,
  so neither side can block the other; it holds at most two documents, and the largest waiting documents go
  to helpers while the sync's own process parses the smallest.
* A document under ``min_bytes`` is parsed in the sync's own process (sending it costs more than parsing it);
  so is every document when ``workers`` is 0 or only one core is available.
* A helper that dies (killed, out of memory) or cannot start costs nothing but time: its document is parsed
  again here, and the rest of the sync goes on without it.
* A file's error comes back as (file, reason) and is raised here as the same :class:`ReportFormatError`.
* :class:`EarlyParse` runs all this on a thread from the start of a sync whose documents do not depend on its
  team tabs (a folder of report files), so the helpers parse while the sync's own thread reads the workbook.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import IO, Any

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .containers import Limits

log = logging.getLogger(__name__)

MIN_POOL_BYTES = 1 << 20
MAX_AUTO_WORKERS = 3
HELPER = (sys.executable, "-m", "sheets_sync.sources.parsing.pool")
_LEN = struct.Struct("<Q")

Outcome = list[ReportBatch] | ReportFormatError


def auto_workers() -> int:
    """Helper processes when not configured: one per core beyond the first, at most three."""
    return max(0, min((os.cpu_count() or 1) - 1, MAX_AUTO_WORKERS))


def helpers_wanted(workers: int | None) -> int:
    """Helper processes for a ``limits.parse_workers`` value: None is :func:`auto_workers`."""
    return auto_workers() if workers is None else max(0, workers)


def _send(fh: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(_LEN.pack(len(data)))
    fh.write(data)
    fh.flush()


def _receive(fh: IO[bytes]) -> Any:
    head = fh.read(_LEN.size)
    if len(head) < _LEN.size:
        raise EOFError
    n = _LEN.unpack(head)[0]
    data = fh.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)


def _local(raw: RawReport, limits: Limits) -> Outcome:
    from . import parse_report

    try:
        return parse_report(raw, limits)
    except ReportFormatError as exc:
        return exc


READY = "ready"
DEPTH = 2                    # documents a helper holds at once: the one it parses and the next, so it never waits
LOOKAHEAD_DOCS = 4           # documents read ahead of parsing, so the largest can wait for a helper
LOOKAHEAD_BYTES = 128 << 20


class _Helper:
    """One helper process, the thread that feeds it documents and the thread that reads its results (in the
    order it was given the documents). It takes no document until it says it is ready (its imports take a
    moment; meanwhile documents are parsed in the sync's own process, or wait while the sync reads its
    workbook)."""

    def __init__(self, command: Sequence[str], done: queue.Queue):
        self.proc = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, close_fds=True)
        self.jobs: deque[tuple[int, RawReport]] = deque()
        self.ready = False
        self.done = done
        self.outbox: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, name="sheets-sync-parse-results", daemon=True)
        self.writer = threading.Thread(target=self._write, name="sheets-sync-parse-documents", daemon=True)
        self.reader.start()
        self.writer.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            try:
                got = _receive(self.proc.stdout)
            except Exception:          # EOF, a broken pipe or a result that cannot be read: the helper is gone
                self.done.put((self, None))
                return
            self.done.put((self, got))

    def _write(self) -> None:
        assert self.proc.stdin is not None
        try:
            while (item := self.outbox.get()) is not None:
                _send(self.proc.stdin, item)
        except (OSError, ValueError):      # the helper is gone: its reader says so
            pass
        finally:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def free(self) -> bool:
        return self.ready and len(self.jobs) < DEPTH

    def give(self, i: int, raw: RawReport, limits: Limits) -> None:
        self.jobs.append((i, raw))
        self.outbox.put((raw, limits))

    def close(self) -> None:
        if not self.ready:                   # still starting: nothing of it is needed
            self.proc.kill()
        self.outbox.put(None)                # the writer closes stdin: the helper ends
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.writer.join(timeout=5)
        self.reader.join(timeout=5)          # it has read the end of the helper's output
        if self.proc.stdout is not None and not self.reader.is_alive():
            self.proc.stdout.close()


def parse_all(raws: Iterable[RawReport], limits: Limits, workers: int | None = None, *,
              min_bytes: int = MIN_POOL_BYTES, command: Sequence[str] = HELPER,
              stop: threading.Event | None = None,
              caller_free: threading.Event | None = None) -> list[tuple[RawReport, Outcome]]:
    """Every document of ``raws`` parsed, in order, as (the document without its bytes, its batches or its
    error). ``workers``: helper processes (None: :func:`auto_workers`; 0: none). ``stop`` set: no further
    document is read or parsed, helpers are stopped and what was parsed so far is returned. ``caller_free``
    not yet set: the caller's own thread is busy (reading the workbook), so a document a helper can take waits
    for one rather than being parsed in this process, which has no core to spare.

    Up to :data:`LOOKAHEAD_DOCS` documents are read ahead; helpers are given the largest of them, the sync's
    own process parses the smallest, so a large orders file waits for a helper rather than for the end."""
    wanted = helpers_wanted(workers)
    results: list[tuple[RawReport, Outcome] | None] = []
    done: queue.Queue = queue.Queue()
    helpers: list[_Helper] = []
    started = False                          # helpers are started once: one that fails is not tried again
    pending: list[tuple[int, RawReport]] = []

    def finish(i: int, raw: RawReport, outcome: Outcome) -> None:
        results[i] = (dataclasses.replace(raw, data=b""), outcome)

    def take(helper: _Helper, got: Any) -> None:
        """One message of a helper: it is ready, it stopped, or the result of the oldest document it holds."""
        if got == READY:
            helper.ready = True
            return
        if got is None:                      # the helper stopped: what it held is parsed here
            helpers.remove(helper)
            helper.close()
            held = list(helper.jobs)
            helper.jobs.clear()
            if stopped():                    # (a Ctrl-C reaches helpers too): nothing more is wanted
                return
            log.warning("a report-parsing helper process stopped (exit code %s)%s", helper.proc.returncode,
                        f"; {', '.join(r.name for _, r in held)} parsed in the sync's own process" if held else "")
            for i, raw in held:
                finish(i, raw, _local(raw, limits))
            return
        i, raw = helper.jobs.popleft()
        finish(i, raw, ReportFormatError(*got) if isinstance(got, tuple) else got)

    def settle(block: bool) -> None:
        """Take what helpers have sent; with ``block``, until they hold nothing (or parsing is stopped)."""
        while True:
            if block and (stopped() or not any(h.jobs for h in helpers)):
                return
            try:
                take(*(done.get(timeout=0.05) if block else done.get(block=False)))
            except queue.Empty:
                if not block:
                    return

    def feed() -> None:
        """Give free helpers the largest waiting documents."""
        for h in helpers:
            while h.free() and pending:
                j = max(range(len(pending)), key=lambda k: len(pending[k][1].data))
                if len(pending[j][1].data) < min_bytes:
                    return
                h.give(*pending.pop(j), limits)

    def parse_smallest() -> None:
        j = min(range(len(pending)), key=lambda k: len(pending[k][1].data))
        i, raw = pending.pop(j)
        finish(i, raw, _local(raw, limits))

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    def wait_for_a_helper() -> bool:
        """While the caller is busy and helpers are working: wait a moment for one to finish (True), rather
        than parse here. False: parse here (the caller is free, no helper runs, or nothing waiting is large
        enough for a helper)."""
        if caller_free is None or caller_free.is_set() or not helpers:
            return False
        if not any(len(r.data) >= min_bytes for _, r in pending):
            return False
        with contextlib.suppress(queue.Empty):
            take(*done.get(timeout=0.02))
        return True

    documents = iter(raws)
    try:
        while not stopped():                 # checked before each document is read, not after
            raw = next(documents, None)
            if raw is None:
                break
            results.append(None)
            pending.append((len(results) - 1, raw))
            if wanted and not started and len(raw.data) >= min_bytes:
                started = True
                for _ in range(wanted):      # all at the first large document: they start meanwhile
                    try:
                        helpers.append(_Helper(command, done))
                    except OSError as exc:
                        log.warning("a report-parsing helper could not start (%s); parsing in the sync's own "
                                    "process", type(exc).__name__)
                        break
            settle(block=False)
            feed()
            while pending and not stopped() and (not helpers or len(pending) > LOOKAHEAD_DOCS
                               or sum(len(r.data) for _, r in pending) > LOOKAHEAD_BYTES):
                if not wait_for_a_helper():
                    parse_smallest()
                settle(block=False)
                feed()
        while pending and not stopped():     # the source is read: share what is left
            settle(block=False)
            feed()
            if pending and not wait_for_a_helper():
                parse_smallest()
        if not stopped():
            settle(block=True)
    finally:
        for h in helpers:
            if stopped():
                h.proc.kill()                # what it holds is not wanted
            h.close()
    return [r for r in results if r is not None]


class EarlyParse:
    """:func:`parse_all` on a thread of its own, started at once: a sync whose documents do not depend on its
    team tabs (a folder of report files) parses them while it reads those tabs. ``result()`` waits for the
    parsed documents (raising what reading the source raised); ``cancel()`` stops it (the sync failed first).
    The thread is the only one touching the documents until ``result()`` returns."""

    def __init__(self, raws: Iterable[RawReport], limits: Limits, workers: int | None = None, **kwargs: Any):
        self._stop = threading.Event()
        self._caller_free = threading.Event()      # set by result(): the sync's thread now waits for the parse
        self._finished = threading.Event()         # set by the thread itself as it ends (see cancel())
        self._out: list[tuple[RawReport, Outcome]] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(raws, limits, workers), kwargs=kwargs,
                                        name="sheets-sync-parse", daemon=True)
        self._thread.start()

    def _run(self, raws: Iterable[RawReport], limits: Limits, workers: int | None, **kwargs: Any) -> None:
        try:
            self._out = parse_all(raws, limits, workers, stop=self._stop, caller_free=self._caller_free, **kwargs)
        except BaseException as exc:         # handed to the sync's thread by result()
            self._error = exc
        finally:
            self._finished.set()

    def result(self) -> list[tuple[RawReport, Outcome]]:
        self._caller_free.set()
        self._finished.wait()
        if self._error is not None:
            raise self._error
        return self._out

    def cancel(self) -> None:
        """Stop and wait until the thread has stopped its helpers. Waits on the thread's own event, not on
        ``join``: on Python 3.11 a Ctrl-C that interrupts a ``join`` marks the thread stopped while it runs."""
        self._stop.set()
        self._caller_free.set()
        self._finished.wait()


def main() -> None:
    """The helper: (document, limits) in, batches or (file, reason) out, until its stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr          # nothing printed may corrupt the results stream
    _send(stdout, READY)
    while True:
        try:
            raw, limits = _receive(stdin)
        except EOFError:
            return
        out = _local(raw, limits)
        _send(stdout, (out.source, out.reason) if isinstance(out, ReportFormatError) else out)


if __name__ == "__main__":
    main()
