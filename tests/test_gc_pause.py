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


def test_a_sync_computes_with_the_collector_paused_and_writes_with_it_running(tmp_path, monkeypatch):
    """Paused for the computing phase only: writing a workbook may wait on the network (a Google sheet's rate
    limit), and the collector must not stay off for the whole process meanwhile. (While the team tabs are read,
    the parsing thread pauses it per report, so the read is not checked here.)"""
    import datetime as dt

    import sheets_sync.sync as sync_mod
    from sheets_sync.periods import parse_period
    from sheets_sync.samples.amazon import write_demo_reports
    from sheets_sync.sheets.xlsx import XlsxWorkbook
    from sheets_sync.sources.files import ReportFilesSource

    states: list[tuple[str, bool]] = []

    class Watched(XlsxWorkbook):
        def write_tabs(self, tabs):
            states.append(("write", gc.isenabled()))
            return super().write_tabs(tabs)

    facts = sync_mod.build_facts
    monkeypatch.setattr(sync_mod, "build_facts", lambda *a, **k: states.append(("compute", gc.isenabled()))
                        or facts(*a, **k))
    wb = Watched(tmp_path / "wb.xlsx")
    sync_mod.init_workbook(wb, today=dt.date(2026, 10, 1))
    write_demo_reports(tmp_path / "reports", parse_period("2026-10"), {"US": dt.date(2026, 10, 12)}, seed=3)
    states.clear()
    res = sync_mod.sync_workbook(wb, ReportFilesSource(tmp_path / "reports"), period="2026-10")
    assert res.status.startswith("ok")
    assert states == [("compute", False), ("write", True)] and gc.isenabled()
