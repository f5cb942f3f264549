"""One sync per workbook at a time, whichever process runs it (the CLI, the worker, ``serve``'s worker).

The lock is an exclusive ``fcntl`` lock on a small file: for an .xlsx workbook the hidden file
``.<name>.sheets-sync.lock`` next to it (so every process that can write the workbook sees the same lock, whatever
its working directory or data folder), for a Google Sheet a file named after the sheet in the system's temporary
folder. The operating system releases the lock when its holder exits, even when killed, so a crashed sync never
leaves a workbook locked. A second sync waits up to ``wait_s`` seconds and then raises :class:`WorkbookBusyError`
(retriable: the CLI exits 75, a queued job is retried later).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import RetriableError

DEFAULT_WAIT_S = 300.0   # a large sync takes seconds; a queue of a few syncs fits comfortably
WAIT_ENV = "SHEETS_SYNC_LOCK_WAIT_S"
_POLL_S = 0.05


class WorkbookBusyError(RetriableError):
    """Another sync of the same workbook is running and did not finish within the wait."""


def lock_path(workbook: object) -> Path:
    """Where the lock file of a workbook lives (an ``XlsxWorkbook``: next to the file; else by its name)."""
    path = getattr(workbook, "path", None)
    if isinstance(path, Path):
        path = path.resolve()
        return path.parent / f".{path.name}.sheets-sync.lock"
    name = workbook.describe() if hasattr(workbook, "describe") else str(workbook)
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]
    folder = Path(tempfile.gettempdir()) / "sheets-sync-locks"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{digest}.lock"


def wait_seconds() -> float:
    raw = os.environ.get(WAIT_ENV, "")
    try:
        return max(0.0, float(raw)) if raw.strip() else DEFAULT_WAIT_S
    except ValueError:
        return DEFAULT_WAIT_S


@contextlib.contextmanager
def workbook_lock(workbook: object, wait_s: float | None = None) -> Iterator[Path]:
    """Hold the workbook's sync lock for the ``with`` block; wait at most ``wait_s`` (default: the
    ``SHEETS_SYNC_LOCK_WAIT_S`` environment variable, else 300 s) for another sync to finish."""
    path = lock_path(workbook)
    wait_s = wait_seconds() if wait_s is None else wait_s
    name = workbook.describe() if hasattr(workbook, "describe") else str(workbook)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except PermissionError:
        # a folder where the lock cannot be made cannot take the new workbook either: the write reports it
        yield path
        return
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WorkbookBusyError(
                        f"{name}: another sync of this workbook is still running after {wait_s:g}s of waiting; "
                        "nothing was written — try again when it has finished", retry_after=30.0) from None
                time.sleep(_POLL_S)
        yield path
    finally:
        os.close(fd)   # closing the descriptor releases the lock
