"""What the Mercado Libre tests share: a month of an MLM store, the local Mercado Libre (strict: written from
Mercado Libre's pages, short access tokens) on a virtual clock, and the Mercado Libre source over real HTTP."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from builders import PRODUCTS_HEADER, TARGETS_HEADER, settings, tables

from sheets_sync.periods import parse_period
from sheets_sync.samples.mercadolibre import LISTINGS
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.amazon_common import LocalBudget
from sheets_sync.sources.mercadolibre import open_mercadolibre_source
from sheets_sync.sources.mercadolibre_api import RATE
from sheets_sync.testing.mercadolibre_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    REFRESH_TOKEN,
    MercadoLibreServer,
)
from sheets_sync.testing.served import VirtualClock

PERIOD = parse_period("2026-11")
THROUGH = dt.date(2026, 11, 30)            # the store's last day of data
TODAY = dt.date(2026, 12, 3)               # every day of November settled (3 days), all within Product Ads' 90
NOW = dt.datetime(2026, 12, 3, 18, 0, tzinfo=dt.UTC)
EPOCH = 1_800_000_000.0                    # the virtual clock's start (tokens expire on it)
SHORT_TTL = 60.0                           # access tokens live a minute of the virtual clock: many refreshes
FX = 18.3


def ml_env(srv: MercadoLibreServer, **extra: str) -> dict[str, str]:
    return {"MERCADOLIBRE_CLIENT_ID": CLIENT_ID, "MERCADOLIBRE_CLIENT_SECRET": CLIENT_SECRET,
            "MERCADOLIBRE_REFRESH_TOKEN": REFRESH_TOKEN, "MERCADOLIBRE_API_URL": srv.url,
            "MERCADOLIBRE_AUTH_URL": srv.url, "MERCADOLIBRE_REDIRECT_URI": REDIRECT_URI, **extra}


def strict_server(data: dict[str, Any], clock: VirtualClock, **kw: Any) -> MercadoLibreServer:
    """Mercado Libre as its pages describe it (hour truncation, api-version required, legacy ads routes gone,
    the rate limit), with access tokens that live :data:`SHORT_TTL` seconds."""
    return MercadoLibreServer(data, clock=clock, today=lambda: TODAY, access_ttl=kw.pop("access_ttl", SHORT_TTL),
                              **kw)


def ml_source(srv: MercadoLibreServer, clock: VirtualClock, data_dir: Path, env: dict[str, str] | None = None,
              **kw: Any):
    """The source on the same virtual clock as the server: pacing and Retry-After waits cost no real time."""
    return open_mercadolibre_source(env or ml_env(srv), data_dir, budget=LocalBudget(RATE, clock=clock),
                                    sleep=clock.sleep, clock=clock, today=kw.pop("today", lambda: TODAY), **kw)


def products_rows() -> list[list[Any]]:
    return [PRODUCTS_HEADER, *[["MLM", n, sku, tier, cat, owner, cost, None, None]
                               for n, sku, cat, tier, owner, _, cost in LISTINGS]]


def workbook(targets: list[list[Any]], **settings_kv: Any) -> MemoryWorkbook:
    t = tables([], settings_rows=settings(marketplaces="MLM", **{"fx.MXN": FX, **settings_kv}),
               product_rows=products_rows())
    t["Targets"] = [TARGETS_HEADER, *targets]
    return MemoryWorkbook(t)


def target(kpi: str, scope: str = "account", value: str | None = None) -> list[Any]:
    return [None, "MLM", scope, value, "Ana", "ops", kpi, 1, 1, None, None]


def actuals(wb: MemoryWorkbook) -> dict[tuple[str, str, str], Any]:
    """(kpi, scope, scope value) → the Attainment actual."""
    return {(r["kpi"], r["scope"], r["scope_value"] or ""): r["actual"] for r in wb.generated_rows("Attainment")}
