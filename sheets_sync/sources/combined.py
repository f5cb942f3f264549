"""Several live sources behind one :class:`Source`: Amazon (SP-API + Ads API) and Mercado Libre, each asked
only for its own stores (the Amazon source never sees MLM, the Mercado Libre source only MLM)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..frames import RawReport
from .base import FetchRequest, Source


class CombinedSource(Source):
    name = "combined"

    def __init__(self, sources: Sequence[Source]):
        super().__init__()
        self.sources = list(sources)

    @property  # type: ignore[override]
    def problems(self) -> list:
        return [p for s in self.sources for p in s.problems]

    @problems.setter
    def problems(self, value: list) -> None:     # Source.__init__ assigns []
        pass

    @property  # type: ignore[override]
    def api_calls(self) -> int:
        return sum(s.api_calls for s in self.sources)

    @api_calls.setter
    def api_calls(self, value: int) -> None:
        pass

    @property
    def pending(self) -> list[str]:
        return [line for s in self.sources for line in getattr(s, "pending", None) or []]

    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        for s in self.sources:
            yield from s.collect(request)

    def close(self) -> None:
        for s in self.sources:
            close = getattr(s, "close", None)
            if close:
                close()
