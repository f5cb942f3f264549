"""The collector pause around one report's parse."""

from __future__ import annotations

import contextlib
import gc

import pytest

from sheets_sync.frames import RawReport
from sheets_sync.gc_pause import paused_gc
from sheets_sync.sources.parsing import parse_report


def test_paused_gc_restores_the_collector_after_an_error_and_keeps_a_caller_s_own_pause():
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), paused_gc():
        assert not gc.isenabled()
        raise ZeroDivisionError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()          # the caller disabled it: it stays disabled
    finally:
        gc.enable()


def test_parsing_a_report_leaves_the_collector_running_even_when_the_file_is_bad():
    for data in (b'{"salesAndTrafficByAsin": []}', b"\x00\x01garbage", b'{"broken": '):
        with contextlib.suppress(Exception):
            parse_report(RawReport(name="US/x.json", data=data))
        assert gc.isenabled()



def test_overlapping_pauses_in_two_threads_resume_the_collector_only_when_both_end():
    """A sync's parsing thread may begin a report's pause before the sync begins its own (and two syncs may
    overlap in the service): the first pause to end must not restart the collector under the other."""
    import threading

    first_in, first_may_end = threading.Event(), threading.Event()

    def first() -> None:
        with paused_gc():
            first_in.set()
            first_may_end.wait(5)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert first_in.wait(5)
        with paused_gc():                    # begun while the other thread's pause is on
            first_may_end.set()
            t.join(5)                        # ... which ends first
            assert not gc.isenabled()        # this one is still on
        assert gc.isenabled()
    finally:
        first_may_end.set()
        t.join(5)
        gc.enable()


def test_a_sync_runs_with_the_collector_paused_and_restores_it(tmp_path):
    import datetime as dt

    from sheets_sync.periods import parse_period
    from sheets_sync.sheets.xlsx import XlsxWorkbook
    from sheets_sync.sources.samples import write_demo_reports
    from sheets_sync.sync import init_workbook, sync_workbook

    states: list[bool] = []

    class Watched(XlsxWorkbook):
        def write_tabs(self, tabs):
            states.append(gc.isenabled())
            return super().write_tabs(tabs)

    wb = Watched(tmp_path / "wb.xlsx")
    init_workbook(wb, today=dt.date(2026, 10, 1))
    write_demo_reports(tmp_path / "reports", parse_period("2026-10"), {"US": dt.date(2026, 10, 12)}, seed=3)
    from sheets_sync.sources.files import ReportFilesSource

    res = sync_workbook(wb, ReportFilesSource(tmp_path / "reports"), period="2026-10")
    assert res.status.startswith("ok")
    assert states == [False] and gc.isenabled()
