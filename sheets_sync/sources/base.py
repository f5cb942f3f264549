"""The source port: collect raw report documents for a period and a set of marketplaces."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from ..frames import RawReport


@dataclass(frozen=True)
class FetchRequest:
    start: dt.date                     # first marketplace-local day wanted
    end: dt.date                       # last day wanted (inclusive); never after "yesterday"
    marketplaces: Sequence[str] = ("US", "MX")
    progress: Callable[[str], None] = field(default=lambda msg: None, compare=False)
    # days wanted for comparisons (last period): fetched after this period's, and only when that costs no
    # waiting on Amazon's rate limits; a source names what it left for a later sync in ``pending``
    comparison: tuple[dt.date, dt.date] | None = None
    #: ``stage(stage, done, total)`` (see :mod:`sheets_sync.progress`): reports requested n/m, ready n/m
    stage: Callable[..., None] = field(default=lambda *a, **k: None, compare=False)


class Source(abc.ABC):
    """A place actuals come from. ``collect`` yields documents; errors for one document are reported in
    ``problems`` (file-named) and the rest go on."""

    name: str = "source"
    api_calls: int = 0
    #: a :class:`sheets_sync.budget.Pacer` set by the sync (shared API budgets), or None
    pacer: Any = None

    def __init__(self) -> None:
        self.problems: list[str | Problem] = []    # "name: reason" (a skipped document) or a Problem

    @abc.abstractmethod
    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        """Yield raw report documents covering ``request`` (more is fine: compute de-duplicates)."""

    def early_documents(self) -> Iterator[RawReport] | None:
        """The documents, when they do not depend on the request (a folder of files: every file is read), so
        the sync can parse them while it reads the team tabs the request comes from; None otherwise."""
        return None
