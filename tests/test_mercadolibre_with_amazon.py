"""Amazon and Mercado Libre live in one sync: the local Amazon and the local Mercado Libre over HTTP, Amazon asked
only for US / MX and Mercado Libre only for MLM, Mexico reviewed across both stores."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from builders import PRODUCTS_HEADER, TARGETS_HEADER, products, settings, tables

from sheets_sync.config import WorkbookConfig
from sheets_sync.periods import parse_period
from sheets_sync.samples.mercadolibre import LISTINGS, mlm_dataset
from sheets_sync.sheets.memory import MemoryWorkbook
from sheets_sync.sources.amazon import open_amazon_source
from sheets_sync.sources.amazon_common import LocalBudget
from sheets_sync.sources.combined import CombinedSource
from sheets_sync.sources.mercadolibre import open_mercadolibre_source
from sheets_sync.sources.mercadolibre_api import RATE
from sheets_sync.sync import open_source, sync_workbook
from sheets_sync.testing.amazon_server import (
    AmazonServer,
    fresh_tokens,  # noqa: F401  (the shared fixture)
    make_config,
    synthetic_document,
    utc_noon,
)
from sheets_sync.testing.mercadolibre_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    MercadoLibreServer,
)
from sheets_sync.testing.served import VirtualClock

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fresh_tokens")]
TODAY = dt.date(2026, 11, 6)
ML_ENV = {"MERCADOLIBRE_CLIENT_ID": CLIENT_ID, "MERCADOLIBRE_CLIENT_SECRET": CLIENT_SECRET,
          "MERCADOLIBRE_REFRESH_TOKEN": REFRESH_TOKEN}


def test_one_sync_from_both_apis_reviews_mexico_across_both_stores(tmp_path):
    targets = [[None, m, "account", None, "Wang", "ops", k, 1, 1, None, None]
               for m, k in (("MX", "gmv"), ("MLM", "gmv"), ("MX-ALL", "gmv"), ("MX-ALL", "units"),
                            ("MLM", "visit_conversion"), ("MLM", "ml_reputation_level"), ("US", "sessions"))]
    prods = [*products(), *[["MLM", n, sku, tier, cat, owner, cost, None, None]
                            for n, sku, cat, tier, owner, _, cost in LISTINGS]]
    t = tables([], settings_rows=settings(marketplaces="US, MX, MLM"), product_rows=[PRODUCTS_HEADER, *prods[1:]])
    t["Targets"] = [TARGETS_HEADER, *targets]
    wb = MemoryWorkbook(t)
    data = mlm_dataset(parse_period("2026-11"), TODAY - dt.timedelta(days=1))
    clock = VirtualClock(1_800_000_000.0)      # Mercado Libre's pacing and rate limit on a clock that costs nothing
    with AmazonServer(documents=synthetic_document, today=TODAY) as amazon, \
            MercadoLibreServer(data, today=lambda: TODAY, clock=clock) as ml:
        config = make_config(amazon, tmp_path / "data")
        source = CombinedSource([
            open_amazon_source(config, clock=lambda: utc_noon(TODAY), **amazon.client_timing()),
            open_mercadolibre_source({**ML_ENV, "MERCADOLIBRE_API_URL": ml.url}, tmp_path / "data",
                                     budget=LocalBudget(RATE, clock=clock), sleep=clock.sleep, clock=clock,
                                     today=lambda: TODAY)])
        res = sync_workbook(wb, source, now=dt.datetime.fromtimestamp(utc_noon(TODAY), dt.UTC))
        assert not any("MLM" in str(entry) for entry in amazon.log), "Amazon was asked about MLM"
    assert res.ok, res.problems
    att = {(r["marketplace"], r["kpi"]): r for r in wb.generated_rows("Attainment")}
    assert all(r["actual"] is not None for r in att.values()), {k: r["note"] for k, r in att.items()}
    assert att[("MX-ALL", "gmv")]["actual"] == pytest.approx(att[("MX", "gmv")]["actual"]
                                                             + att[("MLM", "gmv")]["actual"])
    assert att[("MLM", "ml_reputation_level")]["actual"] == 3
    assert res.api_calls > ml.calls["orders"] > 0


def test_source_amazon_adds_mercado_libre_when_its_variables_are_set(tmp_path):
    with AmazonServer(documents=synthetic_document, today=TODAY) as amazon:
        config = make_config(amazon, tmp_path / "data")
        wbc = WorkbookConfig(name="t", source="amazon", marketplaces=("US", "MX", "MLM"))
        assert not isinstance(open_source(config, wbc), CombinedSource)
        both = open_source(dataclasses.replace(config, env={**config.env, **ML_ENV}), wbc)
        assert isinstance(both, CombinedSource) and [s.name for s in both.sources] == ["amazon", "mercadolibre"]
