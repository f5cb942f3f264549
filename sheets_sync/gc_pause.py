"""Pause Python's cyclic garbage collector around a bounded burst of allocation.

Parsing one 5,000-ASIN Sales and Traffic document builds ~150,000 dicts and lists that live for a fraction of a
second; computing and writing a large review builds hundreds of thousands of rows, findings and cells. With the
collector running, each burst triggers full collections of the whole heap (~0.1 s each; 17 of them while parsing
the large benchmark, 5 more while computing and writing it). Those objects hold no reference cycles worth
finding: they are freed by reference counting when the step ends. Pausing the collector for such a phase and
resuming after is what CPython's documentation suggests; anything cyclic made meanwhile is collected at the next
collection. A sync pauses it while it computes, from the facts to the finished tabs (a phase that waits on no
network, so a rate-limited Google read or write never holds it; its peak memory is the same either way, measured
on the benchmark), and each report parse pauses it too.

Pauses nest and may overlap across threads (a sync's parsing thread, two syncs in the service): the collector
runs again when the last pause ends, and only if it was running when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0                 # pauses in progress, in any thread
_resume = False            # the collector was running when the first of them began


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the ``with`` block (see the module's note on nesting)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
