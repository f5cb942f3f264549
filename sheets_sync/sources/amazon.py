"""Live Amazon data: the SP-API source and the Ads API source behind one :class:`Source`.

``sheets-sync sync --source amazon`` (or a workbook with ``source: amazon``) uses::

    source = open_amazon_source(config)                # ConfigError names any missing variable
    request = FetchRequest(start, end, marketplaces=wb.marketplaces, progress=print_line)
    batches = [b for raw in source.collect(request) for b in parse_report(raw)]
    source.problems, source.api_calls                  # → Sync Log
    source.close()

Credentials come only from ``config.env`` (see ``.env.example``). The Ads API part is optional: when none
of the ``ADS_*`` variables is set, only SP-API reports are fetched and a note says so in ``problems``;
when some are set and others are missing, that is a :class:`~sheets_sync.errors.ConfigError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from ..config import Config
from ..errors import Problem
from ..frames import AMAZON_MARKETPLACES, RawReport
from .ads import ADS_ENV, AdsApiSource, AdsCredentials
from .amazon_common import Budget, Clock, LocalBudget, Sleep, StageProgress
from .base import FetchRequest, Source
from .spapi import SpApiCredentials, SpApiSource

CACHE_DIR_NAME = "reports-cache"


class AmazonSource(Source):
    name = "amazon"

    def __init__(self, sp: SpApiSource, ads: AdsApiSource | None, notes: list[str] | None = None):
        super().__init__()
        self.sp = sp
        self.ads = ads
        self._notes: list[str | Problem] = list(notes or [])

    @property  # type: ignore[override]
    def problems(self) -> list[str | Problem]:
        return [*self._notes, *self.sp.problems, *(self.ads.problems if self.ads else [])]

    @problems.setter
    def problems(self, value: list[str | Problem]) -> None:   # Source.__init__ assigns []
        self._notes = list(value)

    @property
    def pending(self) -> list[str]:
        """What a later sync will fetch (comparisons that would have waited on Amazon's rate limits)."""
        return [*self.sp.pending, *(self.ads.pending if self.ads else [])]

    @property  # type: ignore[override]
    def api_calls(self) -> int:  # type: ignore[override]
        return self.sp.api_calls + (self.ads.api_calls if self.ads else 0)

    @property
    def create_report_calls(self) -> int:
        return self.sp.create_report_calls + (self.ads.create_report_calls if self.ads else 0)

    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        # Amazon's stores only (Mercado Libre's MLM has its own source)
        request = replace(request, marketplaces=tuple(m for m in request.marketplaces if m in AMAZON_MARKETPLACES))
        yield from self.sp.collect(request)
        if self.ads is not None:
            yield from self.ads.collect(request)

    def close(self) -> None:
        self.sp.close()


def open_amazon_source(config: Config, *, marketplaces: tuple[str, ...] = ("US", "MX"),
                       clock: Clock = time.time, sleep: Sleep = time.sleep,
                       poll_interval: float = 15.0, data_kiosk: bool = True, budget: Budget | None = None,
                       progress: StageProgress | None = None) -> AmazonSource:
    """Build the live Amazon source from ``config`` (endpoints, data dir) and ``config.env`` (credentials).

    ``data_kiosk``: daily sales and traffic through Data Kiosk (the Reports API when it is refused);
    ``budget``: how SP-API and Ads API calls are paced (default: Amazon's published rates, and the Ads API's
    cautious one, in this process);
    ``progress(stage, done, total)``: where the sync is. Raises :class:`~sheets_sync.errors.ConfigError`
    naming every missing variable."""
    env = config.env
    sp_creds = SpApiCredentials.from_env(env)
    cache_dir = config.data_dir / CACHE_DIR_NAME
    budget = budget if budget is not None else LocalBudget()
    sp = SpApiSource(sp_creds, cache_dir, endpoint=config.sp_api_endpoint, lwa_token_url=config.lwa_token_url,
                     clock=clock, sleep=sleep, poll_interval=poll_interval, data_kiosk=data_kiosk,
                     budget=budget, stage_progress=progress)
    ads: AdsApiSource | None = None
    notes: list[str] = []
    if any(str(env.get(n) or "").strip() for n in ADS_ENV):
        ads_creds = AdsCredentials.from_env(env, marketplaces)
        ads = AdsApiSource(ads_creds, cache_dir, endpoint=config.ads_api_endpoint,
                           lwa_token_url=config.lwa_token_url, clock=clock, sleep=sleep, poll_interval=poll_interval)
        ads.budget = budget         # the same buckets: its report calls draw from "ads"
    else:
        notes.append("Amazon Ads API not configured (ADS_CLIENT_ID, ADS_CLIENT_SECRET, ADS_REFRESH_TOKEN, "
                     "ADS_PROFILE_ID_US/MX unset): advertising metrics were not fetched")
    return AmazonSource(sp, ads, notes)
