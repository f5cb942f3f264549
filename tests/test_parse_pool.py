"""Reports parsed by helper processes read exactly as when parsed in the sync's own process: same batches, same
errors, same order — also when a helper cannot start, dies before it is ready or dies in the middle of a
document. The helpers are real processes (``python -m sheets_sync.sources.parsing.pool``)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from pathlib import Path

import pytest

from sheets_sync.config import ConfigError, load_config
from sheets_sync.errors import ReportFormatError
from sheets_sync.periods import parse_period
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sources.parsing import DEFAULT_LIMITS
from sheets_sync.sources.parsing import pool as pool_mod
from sheets_sync.sources.parsing.pool import parse_all

PERIOD = parse_period("2026-10")
REQUEST = FetchRequest(PERIOD.start, PERIOD.end, ("US", "MX"))


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reports")
    write_demo_reports(root, PERIOD, {"US": dt.date(2026, 10, 12), "MX": dt.date(2026, 10, 12)}, seed=7)
    (root / "US" / "broken.json").write_bytes(b'{"salesAndTrafficByAsin": [')        # a damaged download
    (root / "MX" / "notes.txt").write_text("not a report\n")
    return root


def outcomes(root: Path, workers: int, **kw):
    return parse_all(ReportFilesSource(root).collect(REQUEST), DEFAULT_LIMITS, workers, **kw)


@pytest.fixture
def slow_here(monkeypatch):
    """Documents parsed in the sync's own process take 0.1 s more (as large ones do), so that helpers, which
    need a moment to start, get documents too."""
    local = pool_mod._local

    def slow(raw, limits):
        time.sleep(0.1)
        return local(raw, limits)

    monkeypatch.setattr(pool_mod, "_local", slow)


def same(a, b) -> None:
    assert [r.name for r, _ in a] == [r.name for r, _ in b]
    for (raw, x), (_, y) in zip(a, b, strict=True):
        assert raw.data == b""                      # the bytes are not kept once parsed
        if isinstance(x, ReportFormatError):
            assert isinstance(y, ReportFormatError) and (x.source, x.reason) == (y.source, y.reason)
            continue
        assert [(b.kind, b.marketplace, b.start, b.end, b.warnings) for b in x] == \
            [(b.kind, b.marketplace, b.start, b.end, b.warnings) for b in y]
        for bx, by in zip(x, y, strict=True):
            for fx, fy in ((bx.asin_rows, by.asin_rows), (bx.daily_rows, by.daily_rows)):
                assert (fx is None) == (fy is None)
                if fx is not None:
                    assert fx.equals(fy), raw.name


@pytest.fixture(scope="module")
def in_process(reports):
    return outcomes(reports, 0)


def test_helpers_give_what_the_sync_s_own_process_gives(reports, in_process, monkeypatch, slow_here):
    sent = []
    give = pool_mod._Helper.give
    monkeypatch.setattr(pool_mod._Helper, "give", lambda self, i, raw, limits: sent.append(raw.name) or
                        give(self, i, raw, limits))
    helped = outcomes(reports, 2, min_bytes=0)
    same(in_process, helped)
    assert sent, "no document went to a helper"
    assert any(isinstance(o, ReportFormatError) for _, o in in_process)
    assert len(in_process) > 20


def test_small_documents_stay_in_the_sync_s_own_process(reports, in_process, monkeypatch):
    monkeypatch.setattr(pool_mod._Helper, "__init__", lambda *a: pytest.fail("a helper was started"))
    same(in_process, outcomes(reports, 2))           # every demo file is under MIN_POOL_BYTES


@pytest.mark.parametrize("command, why", [
    (("/nonexistent/python",), "cannot start"),
    ((sys.executable, "-c", "import sys; sys.exit(3)"), "dies before it is ready"),
    ((sys.executable, "-c", "from sheets_sync.sources.parsing.pool import READY, _send, _receive; import sys; "
      "_send(sys.stdout.buffer, READY); _receive(sys.stdin.buffer); sys.exit(5)"), "dies with a document"),
    ((sys.executable, "-c", "import sys; from sheets_sync.sources.parsing.pool import READY, _send; "
      "_send(sys.stdout.buffer, READY); sys.stdin.buffer.read(40); sys.stdout.buffer.write(b'garbage' * 9)"),
     "answers garbage"),
])
def test_a_helper_that_fails_costs_only_time(reports, in_process, command, why, caplog, slow_here):
    caplog.set_level(logging.WARNING, logger="sheets_sync.sources.parsing.pool")
    same(in_process, outcomes(reports, 1, min_bytes=0, command=command))
    if why != "cannot start":
        assert "helper process stopped" in caplog.text, why
    else:
        assert caplog.text.count("could not start") == 1     # tried once, not for every document


def test_parse_workers_setting(tmp_path):
    def cfg(value):
        p = tmp_path / "service.yaml"
        p.write_text(f"limits:\n  parse_workers: {value}\n")
        return load_config(p, env={})

    assert cfg("auto").parse_workers is None
    assert cfg(0).parse_workers == 0
    assert cfg(2).parse_workers == 2
    for bad in ("-1", "two", "1.5", "true"):
        with pytest.raises(ConfigError, match=r"limits\.parse_workers: .* expected auto"):
            cfg(bad)
    (tmp_path / "service.yaml").write_text("limits: {}\n")
    assert load_config(tmp_path / "service.yaml", env={}).parse_workers is None


def test_early_parse_gives_what_parse_all_gives(reports, in_process, slow_here):
    """A folder of files is parsed from the start of the sync (while the team tabs are read): the same
    documents, errors and order as when parsed after them."""
    early = pool_mod.EarlyParse(ReportFilesSource(reports).early_documents(), DEFAULT_LIMITS, 1, min_bytes=0)
    same(in_process, early.result())
    early.cancel()                                   # after result(): nothing left to stop


def test_while_the_caller_is_busy_helpers_parse_what_they_can_take(reports, in_process, monkeypatch):
    """The sync's thread is reading the workbook (``caller_free`` not set): a document a helper can take waits
    for one instead of taking this process's core; once the caller is free, this process parses again."""
    import threading

    here: list[str] = []
    local = pool_mod._local
    monkeypatch.setattr(pool_mod, "_local", lambda raw, limits: here.append(raw.name) or local(raw, limits))
    busy = threading.Event()
    same(in_process, outcomes(reports, 1, min_bytes=0, caller_free=busy))
    assert here == []                                # every document went to the helper
    busy.set()
    same(in_process, outcomes(reports, 1, min_bytes=0, caller_free=busy))
    assert here                                      # the caller free: it parses its share


def test_early_parse_hands_the_source_s_error_to_the_sync(tmp_path):
    early = pool_mod.EarlyParse(ReportFilesSource(tmp_path / "missing").early_documents(), DEFAULT_LIMITS, 0)
    with pytest.raises(ConfigError, match="reports folder not found"):
        early.result()


class _SlowFolder(ReportFilesSource):
    """A folder whose every document takes 50 ms to read, counting the documents read."""

    read = 0

    def early_documents(self):
        for raw in super().early_documents():
            time.sleep(0.05)
            type(self).read += 1
            yield raw


def test_a_sync_that_fails_before_using_its_reports_stops_parsing_them(reports, tmp_path):
    """The workbook cannot be read: the sync ends at once, and the parsing it had started stops (no thread
    left reading the folder)."""
    import threading

    from sheets_sync.sheets.xlsx import XlsxWorkbook
    from sheets_sync.sync import sync_workbook

    total = sum(1 for p in reports.rglob("*") if p.is_file())
    assert total > 20
    (tmp_path / "wb.xlsx").write_bytes(b"not a workbook")
    res = sync_workbook(XlsxWorkbook(tmp_path / "wb.xlsx"), _SlowFolder(reports), period="2026-10")
    assert res.status == "failed" and res.error
    assert 0 < _SlowFolder.read < total // 2
    assert not [t for t in threading.enumerate() if t.name == "sheets-sync-parse"]


SILENT_HELPER = (sys.executable, "-c", "import sys, time\nfrom sheets_sync.sources.parsing.pool import READY, _send, "
                 "_receive\n_send(sys.stdout.buffer, READY)\nwhile True:\n    _receive(sys.stdin.buffer)")


def test_cancel_stops_at_once_while_helpers_hold_documents(reports, tmp_path):
    """A sync that fails while its helpers still hold every document (here: a helper that never answers, the
    folder read to its end) is not kept waiting for them: cancel() returns at once, the helper is stopped."""
    import shutil
    import threading

    two = tmp_path / "two" / "US"
    two.mkdir(parents=True)
    for f in sorted((reports / "US").iterdir())[:2]:     # no more than a helper holds at once
        shutil.copy(f, two / f.name)

    started = []
    real = pool_mod._Helper.__init__

    def spy(self, command, done):
        real(self, command, done)
        started.append(self)

    pool = pytest.MonkeyPatch()
    pool.setattr(pool_mod._Helper, "__init__", spy)
    try:
        early = pool_mod.EarlyParse(ReportFilesSource(two.parent).early_documents(), DEFAULT_LIMITS, 1,
                                    min_bytes=0, command=SILENT_HELPER)
        deadline = time.monotonic() + 10
        while not (started and len(started[0].jobs) == 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started and len(started[0].jobs) == 2, "the helper was not given both documents"
        time.sleep(0.2)                                    # the folder is read: the parse waits on the helper
        t0 = time.monotonic()
        stopper = threading.Thread(target=early.cancel, daemon=True)
        stopper.start()
        stopper.join(5)
        assert not stopper.is_alive(), "cancel() is still waiting for the helper"
        assert time.monotonic() - t0 < 3
        assert started[0].proc.poll() is not None          # the helper process is gone
    finally:
        pool.undo()


def test_cancel_after_ctrl_c_in_result_waits_for_the_parse_to_stop(reports, monkeypatch):
    """Ctrl-C while the sync waits for the parse, then the sync's cleanup cancels it: when cancel() returns, no
    document is being parsed any more (on Python 3.11 an interrupted join() would say the thread had ended)."""
    import signal
    import threading

    active: list[int] = [0]
    calls: list[float] = []
    local = pool_mod._local

    def slow(raw, limits):
        active[0] += 1
        calls.append(time.monotonic())
        try:
            time.sleep(0.1)
            return local(raw, limits)
        finally:
            active[0] -= 1

    monkeypatch.setattr(pool_mod, "_local", slow)
    early = pool_mod.EarlyParse(ReportFilesSource(reports).early_documents(), DEFAULT_LIMITS, 0)
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread() is threading.main_thread()
    timer = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))   # a real Ctrl-C, to this thread
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        early.result()
    early.cancel()
    ended = time.monotonic()
    assert active[0] == 0
    time.sleep(0.4)
    assert not [c for c in calls if c > ended], "documents were still parsed after cancel() returned"


def test_a_sync_parses_early_only_when_a_helper_can_work(reports):
    """No helper (limits.parse_workers 0, or one core): the sync parses in its own thread after reading the
    workbook, not on a second thread that would only share its core; with a helper it starts at once."""
    from sheets_sync.sources.parsing.containers import Limits
    from sheets_sync.sync import start_parsing

    assert start_parsing(ReportFilesSource(reports, Limits(parse_workers=0))) is None
    assert start_parsing(None) is None
    early = start_parsing(ReportFilesSource(reports, Limits(parse_workers=1)))
    assert isinstance(early, pool_mod.EarlyParse)
    early.cancel()
