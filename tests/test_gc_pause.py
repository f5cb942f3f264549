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

