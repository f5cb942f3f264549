"""SP-API requests and Amazon time of a first sync and a re-sync of a 31-day period, against the local Amazon at
its defaults: Amazon's published rates and bursts, Data Kiosk's limit on open queries, compressed documents
(sheets_sync/testing/amazon_server.py).

The real python-amazon-sp-api (and python-amazon-ad-api) clients talk HTTP to the local Amazon with a fresh
data directory; both marketplaces (US, MX), every report type, a demo-sized store (the demo catalog's 20
listings + 2 unassigned ASINs per marketplace). Time is virtual: the source's ``sleep`` advances the server's
clock, which its token buckets and report generation read, so the minutes printed are minutes at Amazon's real
rates without waiting them. ``failed_calls`` counts error answers (429s included; not the Ads API's 425, which
hands back a report it is already making and is reused): it must be 0. Every report and query takes ``GENERATION_S`` seconds to generate (an assumption:
Amazon's own times vary from seconds to many minutes). "today" is 2024-06-01 in both marketplaces, the
period 2024-05-01..2024-05-31 (the last 3 days are provisional).

Baseline, measured in the same run: the Reports API path (``data_kiosk=False``; one Sales and Traffic report
per day: first = 74 createReport). Data Kiosk path: per marketplace 3 queries (by date, which ASINs, trends)
+ 6 reports (orders and returns: a settled and a recent run each; inventory; account health).

One budget (token buckets at Amazon's rates) paces both syncs, as in one worker process (or workers sharing the
job queue's budget); the re-sync starts at once, with Amazon's buckets as the first sync left them.

``resync_settled`` counts settled days (before May 29) that a re-sync asked Amazon for again: it must be 0.

Run: ``python benchmarks/spapi_requests.py`` (``--extra-asins 280``: a 300-ASIN store, whose Data Kiosk queries
outnumber what Data Kiosk keeps open at once). The last line is
``spapi_requests: first=… resync=… first_minutes=… resync_minutes=… failed_calls=…`` (SP-API createReport +
createQuery calls; minutes at Amazon's rates) for the Data Kiosk path; ``failed_calls`` over both paths.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from sheets_sync.samples.amazon import load_products
from sheets_sync.sources.amazon import open_amazon_source
from sheets_sync.sources.amazon_common import LocalBudget
from sheets_sync.sources.base import FetchRequest
from sheets_sync.testing.amazon_documents import REPORT_TYPES, catalog_documents
from sheets_sync.testing.amazon_server import AmazonServer, clear_token_caches, make_config, utc_noon

TODAY = dt.date(2024, 6, 1)
PERIOD = (dt.date(2024, 5, 1), dt.date(2024, 5, 31))
FIRST_PROVISIONAL = dt.date(2024, 5, 29)
GENERATION_S = 60.0
ST = "GET_SALES_AND_TRAFFIC_REPORT"


def demo_store(extra_asins: int = 0):
    """Sales and Traffic documents of a demo-sized store (plus ``extra_asins`` a marketplace); the other reports
    are the server's synthetic ones."""
    catalog = load_products()
    return catalog_documents({m: [*catalog.loc[catalog["marketplace"] == m, "asin"], f"B0UN{m}0001", f"B0UN{m}0002",
                                  *(f"B0EX{m}{i:04d}" for i in range(extra_asins))] for m in ("US", "MX")})


def _ads(rtype: str) -> bool:
    return rtype in REPORT_TYPES and REPORT_TYPES[rtype].api == "ads"


def sp_creates(srv: AmazonServer) -> int:
    """SP-API createReport and Data Kiosk createQuery calls."""
    return sum(n for (rtype, _m), n in srv.created.items() if not _ads(rtype))


def ads_creates(srv: AmazonServer) -> int:
    return sum(n for (rtype, _m), n in srv.created.items() if _ads(rtype))


def settled_asked(srv: AmazonServer, since_log: int, since_dk: int) -> int:
    """Settled days of Sales and Traffic that were asked for (Reports API bodies and Data Kiosk queries)."""
    days: set[tuple[str, dt.date]] = set()
    for entry in srv.log[since_log:]:
        if entry["method"] == "POST" and entry["path"].startswith("/reports/") and ST in entry["body"]:
            body = json.loads(entry["body"])
            day = dt.date.fromisoformat(body["dataStartTime"][:10])
            if day < FIRST_PROVISIONAL:
                days.add((body["marketplaceIds"][0], day))
    for q in srv.data_kiosk.log[since_dk:]:
        d = q["start"]
        while d <= q["end"]:
            if d < FIRST_PROVISIONAL:
                days.add((q["marketplace"], d))
            d += dt.timedelta(days=1)
    return len(days)


def run(data_kiosk: bool, extra_asins: int = 0) -> dict[str, float]:
    clear_token_caches()
    request = FetchRequest(*PERIOD, marketplaces=("US", "MX"))
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, AmazonServer(documents=demo_store(extra_asins), today=TODAY) as srv:
        srv.generation_s = GENERATION_S
        cfg = make_config(srv, Path(tmp))
        budget = LocalBudget(clock=srv.clock)     # one worker: its budget remembers what the first sync spent
        for label in ("first", "resync"):
            sp0, ads0, log0, dk0, t0 = sp_creates(srv), ads_creates(srv), len(srv.log), len(srv.data_kiosk.log), \
                srv.clock()
            src = open_amazon_source(cfg, clock=lambda: utc_noon(TODAY), sleep=srv.sleep, data_kiosk=data_kiosk,
                                     budget=budget)
            w0 = time.perf_counter()
            docs = sum(1 for _ in src.collect(request))
            out[label] = sp_creates(srv) - sp0
            out[f"{label}_minutes"] = (srv.clock() - t0) / 60
            out[f"{label}_settled"] = settled_asked(srv, log0, dk0)
            # 425 is the Ads API handing back a report it is already making (an identical request): reused
            out[f"{label}_failed"] = sum(e["status"] >= 400 and e["status"] != 425 for e in srv.log[log0:])
            print(f"  {'data-kiosk' if data_kiosk else 'reports-api'} {label}: documents={docs} "
                  f"sp_creates={out[label]:.0f} ads_createReport={ads_creates(srv) - ads0} api_calls={src.api_calls} "
                  f"problems={len(src.problems)} amazon_minutes={out[f'{label}_minutes']:.1f} "
                  f"settled_days_asked={out[f'{label}_settled']:.0f} failed_calls={out[f'{label}_failed']:.0f} "
                  f"most_open_queries={srv.data_kiosk.most_open} wall_seconds={time.perf_counter() - w0:.1f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra-asins", type=int, default=0,
                        help="child ASINs a marketplace on top of the demo catalog's (e.g. 280: 10 trends queries)")
    extra = parser.parse_args().extra_asins
    base = run(data_kiosk=False, extra_asins=extra)
    new = run(data_kiosk=True, extra_asins=extra)
    print(f"baseline (Reports API): first={base['first']:.0f} resync={base['resync']:.0f} "
          f"first_minutes={base['first_minutes']:.1f} resync_minutes={base['resync_minutes']:.1f}")
    print(f"ratio first_minutes data-kiosk/reports-api = {new['first_minutes'] / base['first_minutes']:.3f}; "
          f"resync_settled={new['resync_settled']:.0f}")
    print(f"spapi_requests: first={new['first']:.0f} resync={new['resync']:.0f} "
          f"first_minutes={new['first_minutes']:.1f} resync_minutes={new['resync_minutes']:.1f} "
          f"failed_calls={new['first_failed'] + new['resync_failed'] + base['first_failed'] + base['resync_failed']:.0f}")


if __name__ == "__main__":
    main()
