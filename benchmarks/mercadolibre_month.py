"""A month of a 2,000-order Mercado Libre México store through the API: calls and seconds of a first sync and of
the next day's sync, against the local Mercado Libre (sheets_sync/testing/mercadolibre_server.py: strict, its
rate limit on, access tokens living an hour).

Time is virtual where it is Mercado Libre's: the source's pacing (``RATE`` = 10 calls a second, bursts of 10 —
Mercado Libre publishes no figure, docs/mercado-libre.md) and every ``Retry-After`` advance a clock the server's
rate limit also reads, so "api seconds" is how long the calls take at that rate without waiting them; "wall
seconds" is this machine's own work (HTTP on 127.0.0.1, JSON, parsing).

The daily case: a sync on Nov 21, then one on Nov 22: settled days come from the cache, the three provisional days
are read again, and only their new shipments.

Baseline, computed in the same run: the rate's floor, ``(calls − burst) ÷ rate`` — no client can make those
calls faster at that rate; ``ratio`` = api seconds ÷ floor (1.0 = never idle, never throttled). Also printed:
calls per order (each order costs its shipment's details and costs, two calls; orders, listings, visits and
Product Ads are batched), 429s met, and the comparison month (last period's days: orders without shipments).

Run: ``python benchmarks/mercadolibre_month.py``. The last line is
``mercadolibre_month: orders=… calls=… api_seconds=… floor_seconds=… ratio=… wall_seconds=… resync_calls=… 429=…``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from sheets_sync.periods import parse_period
from sheets_sync.samples.mercadolibre import mlm_dataset
from sheets_sync.sources.amazon_common import LocalBudget
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.mercadolibre import open_mercadolibre_source
from sheets_sync.sources.mercadolibre_api import RATE
from sheets_sync.sources.parsing import parse_report
from sheets_sync.testing.mercadolibre_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    MercadoLibreServer,
)
from sheets_sync.testing.served import VirtualClock

PERIOD = parse_period("2026-11")
TODAY = dt.date(2026, 12, 3)
EPOCH = 1_800_000_000.0


def run(srv: MercadoLibreServer, clock: VirtualClock, data_dir: Path, request: FetchRequest,
        today: dt.date = TODAY) -> tuple[int, float, float, int]:
    """(calls, api seconds, wall seconds, documents parsed) of one sync's collection."""
    env = {"MERCADOLIBRE_CLIENT_ID": CLIENT_ID, "MERCADOLIBRE_CLIENT_SECRET": CLIENT_SECRET,
           "MERCADOLIBRE_REFRESH_TOKEN": REFRESH_TOKEN, "MERCADOLIBRE_API_URL": srv.url}
    src = open_mercadolibre_source(env, data_dir, budget=LocalBudget(RATE, clock=clock), sleep=clock.sleep,
                                   clock=clock, today=lambda: today)
    start, wall = clock.now, time.perf_counter()
    docs = [b for raw in src.collect(request) for b in parse_report(raw)]
    assert not src.problems, [str(p) for p in src.problems]
    return src.api_calls, clock.now - start, time.perf_counter() - wall, len(docs)


def main() -> None:
    data = mlm_dataset(PERIOD, PERIOD.end, seed=5, scale=1.5)
    orders = sum(o["status"] == "paid" for o in data["orders"])
    rate, burst = RATE["mercadolibre"]
    with tempfile.TemporaryDirectory() as tmp:
        clock = VirtualClock(EPOCH)
        with MercadoLibreServer(data, clock=clock, today=lambda: TODAY, access_ttl=3600) as srv:
            month = FetchRequest(PERIOD.start, PERIOD.end, ("MLM",))
            calls, api_s, wall_s, docs = run(srv, clock, Path(tmp) / "first", month)
            floor = max(0.0, (calls - burst) / rate)
            print(f"first sync: {orders} orders, {calls} calls ({calls / orders:.2f} per order, "
                  f"shipments {srv.calls['shipments']}, orders {srv.calls['orders']}, ads {srv.calls['ads']}, "
                  f"visits {srv.calls['visits']}), {docs} documents")
            print(f"  api {api_s:.1f} s at {rate:g}/s vs floor {floor:.1f} s (ratio {api_s / floor:.3f}); "
                  f"wall {wall_s:.1f} s")
            # a day later in the month: the settled days come from the cache, the provisional days (the last
            # three) are read again, their shipments only when new
            mid, next_day = dt.date(2026, 11, 21), dt.date(2026, 11, 22)
            cache = Path(tmp) / "first" / "mercadolibre" / "days"      # one connection, caches started anew
            shutil.rmtree(cache)
            run(srv, clock, Path(tmp) / "first", FetchRequest(PERIOD.start, mid, ("MLM",)), mid)
            srv.calls.clear()
            resync, resync_s, resync_wall, _ = run(srv, clock, Path(tmp) / "first",
                                                   FetchRequest(PERIOD.start, next_day, ("MLM",)), next_day)
            new = sum(o["status"] == "paid" and o["day"] == next_day for o in data["orders"])
            print(f"the next day's sync (Nov 22 after Nov 21): {resync} calls ({srv.calls['shipments']} for the "
                  f"shipments of Nov 22's {new} orders, {srv.calls['orders']} for the orders of the provisional "
                  f"days), api {resync_s:.1f} s, wall {resync_wall:.1f} s")
            shutil.rmtree(cache)
            with_last = FetchRequest(PERIOD.start, PERIOD.end, ("MLM",),
                                     comparison=(dt.date(2026, 10, 1), dt.date(2026, 10, 31)))
            c_calls, c_s, _, _ = run(srv, clock, Path(tmp) / "first", with_last)
            print(f"first sync with last month for comparisons: {c_calls} calls, api {c_s:.1f} s "
                  "(October has no sales in this data set: its days cost one orders call each)")
            throttled = sum(1 for _, _, s in srv.log if s == 429)
    print(f"mercadolibre_month: orders={orders} calls={calls} api_seconds={api_s:.1f} floor_seconds={floor:.1f} "
          f"ratio={api_s / floor:.3f} wall_seconds={wall_s:.1f} resync_calls={resync} 429={throttled}")


if __name__ == "__main__":
    main()
