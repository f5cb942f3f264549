"""SP-API createReport calls for a 31-day period: the first sync, then a re-sync of the unchanged period.

Runs the real python-amazon-sp-api (and python-amazon-ad-api) clients over HTTP against the local Amazon
(sheets_sync/testing/amazon_server.py) with a fresh data directory; both marketplaces (US, MX), every report type. Reports
take 3 polls to generate (sleeps are skipped). "today" is 2024-06-01 in both marketplaces, the period
2024-05-01..2024-05-31 (the last 3 days are provisional).

Expected: first = 2 × (31 S&T days + 2 orders + 2 returns + 1 inventory + 1 account health) = 74;
resync = 2 × (3 S&T days + 1 orders + 1 returns + 1 inventory + 1 account health) = 14 — no createReport for a
settled day. Ads API report requests are printed separately (they are not SP-API calls).

Run: ``python benchmarks/spapi_requests.py``. The last line is ``spapi_requests: first=… resync=…``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from sheets_sync.sources.amazon import open_amazon_source  # noqa: E402
from sheets_sync.sources.base import FetchRequest  # noqa: E402
from sheets_sync.testing.amazon_server import AmazonServer, clear_token_caches, make_config, utc_noon  # noqa: E402

TODAY = dt.date(2024, 6, 1)
PERIOD = (dt.date(2024, 5, 1), dt.date(2024, 5, 31))


def sp_creates(srv: AmazonServer) -> int:
    return sum(n for (rtype, _m), n in srv.created.items() if rtype != "spAdvertisedProduct")


def ads_creates(srv: AmazonServer) -> int:
    return sum(n for (rtype, _m), n in srv.created.items() if rtype == "spAdvertisedProduct")


def main() -> None:
    clear_token_caches()
    request = FetchRequest(*PERIOD, marketplaces=("US", "MX"))
    with tempfile.TemporaryDirectory() as tmp, AmazonServer(today=TODAY) as srv:
        srv.polls_to_done = 2
        cfg = make_config(srv, Path(tmp))
        counts = []
        for label in ("first", "resync"):
            sp0, ads0 = sp_creates(srv), ads_creates(srv)
            src = open_amazon_source(cfg, clock=lambda: utc_noon(TODAY), sleep=lambda s: None)
            t0 = time.perf_counter()
            docs = sum(1 for _ in src.collect(request))
            elapsed = time.perf_counter() - t0
            counts.append(sp_creates(srv) - sp0)
            print(f"{label}: documents={docs} sp_createReport={counts[-1]} ads_createReport={ads_creates(srv) - ads0} "
                  f"api_calls={src.api_calls} problems={len(src.problems)} seconds={elapsed:.1f}")
        by_type: dict[str, int] = {}
        for (rtype, _m), n in sorted(srv.created.items()):
            by_type[rtype] = by_type.get(rtype, 0) + n
        print("createReport by report type (both syncs):", ", ".join(f"{k}={v}" for k, v in by_type.items()))
    print(f"spapi_requests: first={counts[0]} resync={counts[1]}")


if __name__ == "__main__":
    main()
