"""Setting a workbook up for a Mercado Libre store: `init` offers MLM and its IVA, speaks of listing numbers where
an ASIN is asked for, and a listing refused on several Targets rows is one Sync Log line."""

from __future__ import annotations

import datetime as dt

from builders import PRODUCTS_HEADER, settings, tables

from sheets_sync.inputs import read_inputs
from sheets_sync.template import column_note, load_template


def test_init_offers_the_mercado_libre_store():
    seeds = {s.name: s for s in load_template().seeds(examples=False)}
    rows = seeds["Settings"].rows
    keys = [r[0] for r in rows]
    assert rows[keys.index("vat.MLM")][1] == 0.16
    choices = {i: values for i, col, values in seeds["Settings"].cell_validations if col == "value"}
    assert {"US, MX, MLM", "MX, MLM", "MLM"} <= set(choices[keys.index("marketplaces")])
    asin = load_template().tab("Products").column("asin")
    assert "MLM1234567890" in column_note(asin) and "B0C7K1M2A1" in column_note(asin)


def test_a_listing_refused_on_several_rows_is_one_line():
    products = [PRODUCTS_HEADER, ["MLM", "MLM2100000001", "S1", "new", "Home", "Ana", 1, None, None]]
    targets = [[None, "MLM", "asin", "MLM2999999999", "Ana", "ops", k, 1, 1, None, None]
               for k in ("gmv", "units", "visits")]
    targets += [[None, "MLM", "asin", "2100", "Ana", "ops", k, 1, 1, None, None] for k in ("gmv", "units")]
    inputs = read_inputs(tables(targets, settings_rows=settings(marketplaces="MLM"), product_rows=products),
                         today=dt.date(2026, 11, 11))
    missing = [p for p in inputs.problems if "no product in Products" in p.expected]
    assert [(p.where, p.value) for p in missing] == [("Targets!D2, D3, D4", "MLM2999999999")]
    refused = [p for p in inputs.problems if "listing" in p.expected and p.value == "2100"]
    assert [p.where for p in refused] == ["Targets!D5, D6"]
    assert [t.kpi for t in inputs.targets] == ["gmv", "units", "visits"]     # the rows themselves are kept
