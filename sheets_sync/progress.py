"""Progress of one sync: ``progress(stage, done=None, total=None, detail=None)``.

The sync calls it at each stage, in this order (a stage may be skipped or repeat with new counts):

``reading``    reading the sheet's team tabs
``fetching``   fetching reports (``done``/``total`` when the source knows how many it requests)
``waiting``    waiting for Amazon to generate the reports (``done``/``total`` ready), or for an API budget
``computing``  computing actuals, attainment, scores and the review
``writing``    writing the generated tabs

``detail`` is a short human line (a source's note, "Sheets write budget: waiting 12 s"). The job queue
stores the last call in the job (``GET /v1/jobs/<id>`` → ``progress``), the CLI draws a bar on a terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

STAGES = ("reading", "fetching", "waiting", "computing", "writing")
LABELS = {"reading": "reading the sheet", "fetching": "fetching reports", "waiting": "waiting for Amazon",
          "computing": "computing", "writing": "writing"}

ProgressFn = Callable[..., None]


def quiet(stage: str, done: int | None = None, total: int | None = None, detail: str | None = None) -> None:
    """The default: nobody is listening."""


class Tracker:
    """Wraps a progress callback and remembers the current stage, so a plain message (``note``) is reported
    under it."""

    def __init__(self, fn: ProgressFn | None = None):
        self.fn: ProgressFn = fn or quiet
        self.stage: str = "reading"
        self.done: int | None = None
        self.total: int | None = None

    def __call__(self, stage: str, done: int | None = None, total: int | None = None,
                 detail: str | None = None) -> None:
        self.stage, self.done, self.total = stage, done, total
        self._send(detail)

    def note(self, message: str) -> None:
        self._send(message)

    def _send(self, detail: str | None) -> None:
        try:
            self.fn(self.stage, self.done, self.total, detail)
        except Exception:     # progress is best effort: a failed status write never fails the sync
            import logging

            logging.getLogger("sheets_sync.progress").debug("progress callback failed", exc_info=True)


def describe(stage: str | None, done: Any = None, total: Any = None) -> str:
    """``fetching reports 3/8`` — the line the CLI and the sheet show."""
    text = LABELS.get(stage or "", stage or "")
    if done is not None and total:
        text += f" {done}/{total}"
    return text


class TerminalBar:
    """``progress`` for a terminal: one line redrawn in place — ``[#####·····] fetching reports 3/8 — …``.

    The bar moves through the five stages, and within a stage by ``done/total`` when known."""

    def __init__(self, stream: Any, width: int = 24):
        import shutil

        self.stream, self.width = stream, width
        self.columns = shutil.get_terminal_size((100, 20)).columns
        self.drawn = False

    def __call__(self, stage: str, done: int | None = None, total: int | None = None,
                 detail: str | None = None) -> None:
        idx = STAGES.index(stage) if stage in STAGES else 0
        frac = (idx + (min(done or 0, total) / total if total else 0.0)) / len(STAGES)
        filled = round(frac * self.width)
        line = f"[{'#' * filled}{'·' * (self.width - filled)}] {describe(stage, done, total)}"
        if detail:
            line += f" — {detail}"
        line = line[: max(20, self.columns - 1)]
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.drawn = False
