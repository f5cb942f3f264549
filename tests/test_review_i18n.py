"""Language catalogs: same keys and placeholders in en / zh / es; every key the review uses exists; a rendered
Commentary tab per language matches its golden file (regenerate with SHEETS_SYNC_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from importlib import resources
from pathlib import Path

import pytest
from builders import A1, asin_daily, asin_span, days, settings, standard_batches, tables

from sheets_sync.compute.actuals import build_facts
from sheets_sync.compute.attainment import evaluate_all, score_owners
from sheets_sync.i18n import LANGUAGES, catalog, placeholders, t
from sheets_sync.inputs import read_inputs
from sheets_sync.render import review_tabs
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sync import init_workbook
from sheets_sync.template import load_template

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SHEETS_SYNC_UPDATE_GOLDEN") == "1"
TODAY = dt.date(2026, 11, 14)
REVIEW_SRC = Path(__file__).parent.parent / "sheets_sync" / "compute" / "review"


@pytest.mark.parametrize("lang", [x for x in LANGUAGES if x != "en"])
def test_same_keys_and_placeholders(lang):
    en, other = catalog("en"), catalog(lang)
    assert sorted(other) == sorted(en)
    for key, text in en.items():
        assert placeholders(other[key]) == placeholders(text), key


def test_every_key_the_review_uses_is_in_the_catalog():
    src = "\n".join(p.read_text(encoding="utf-8") for p in sorted(REVIEW_SRC.glob("*.py")))
    used = set(re.findall(r"""(?:ctx\.t|self\.t|_t)\(\s*["']([a-z_0-9]+)["']""", src))
    used |= {k for k in catalog("en") if k.startswith(("family_", "tax_", "refunds_", "driver_"))}
    assert len(used) > 40
    missing = used - set(catalog("en"))
    assert not missing
    for fam in ("traffic", "ads", "orders", "returns", "inventory", "health"):
        assert f"family_{fam}" in catalog("en")


def test_t_fills_placeholders_and_rejects_missing_ones():
    assert t("ev_rows", "zh", rows="2, 3") == "Targets 第 2, 3 行"
    with pytest.raises(KeyError):
        t("ev_rows", "es")
    assert t("ev_rows", "fr", rows="2") == t("ev_rows", "en", rows="2")   # unknown language → English


def test_catalogs_ship_as_package_data():
    names = {p.name for p in resources.files("sheets_sync.i18n").iterdir()}
    assert {"en.yaml", "zh.yaml", "es.yaml"} <= names


def test_bundled_yaml_reads_as_the_pure_python_loader_reads_it():
    """Catalogs and template tabs are parsed by libyaml when PyYAML has it: every shipped file must come out as
    PyYAML's own loader reads it (a text libyaml read differently would change a sentence or a column)."""
    import yaml

    from sheets_sync.i18n import bundled_yaml

    files = [("sheets_sync.i18n", p.name) for p in resources.files("sheets_sync.i18n").iterdir()
             if p.name.endswith(".yaml")]
    files += [("sheet_templates", p.name) for p in resources.files("sheet_templates").iterdir()
              if p.name.endswith(".yaml")]
    assert len(files) >= 20
    for package, name in files:
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
        assert bundled_yaml(package, name) == yaml.load(text, Loader=yaml.SafeLoader), name


def _scenario(lang: str):
    targets = [
        [None, "US", "account", None, "Li Na", "ops", "gmv", 6000, 0.5, None, None],
        [None, "US", "account", None, "Li Na", "ops", "late_shipment_rate", 0.04, 0.2, None, None],
        [None, "US", "account", None, "Li Na", "ops", "cvr", 0.04, 0.3, None, None],
        [None, "MX", "tier", "clearance", "Wang Lei", "ops", "gmv", 500, 0.5, None, None],
        [None, "MX", "tier", "clearance", "Wang Lei", "ops", "net_margin", 0.2, 0.5, None, None],
        [None, "ALL", "account", None, "Sofía", "ads", "ad_impressions", 1000, 0.5, None, None],
        [None, "ALL", "account", None, "Sofía", "ads", "acos", 0.15, 0.5, None, None],
        [None, "US", "account", None, "Zhang", "warehouse", "days_of_cover", 20, 0.5, None, None],
        [None, "US", "account", None, "Zhang", "warehouse", "stockout_asins", 0, 0.5, None, None],
    ]
    tabs = tables(targets, settings_rows=settings(language=lang),
                  calendar=[["MX", "Buen Fin", dt.date(2026, 11, 13), dt.date(2026, 11, 16), 3]])
    tabs["Benchmarks"] = [tabs["Benchmarks"][0], ["US", None, "acos", 0.25, "Ads console"]]
    batches = [*standard_batches(),
               asin_daily("US/orders", "US", "orders", {A1: {"fba_units": 9.0, "order_units": 10.0}}, days(1, 10)),
               asin_span("US/inv", "US", "inventory", {A1: {"fulfillable_units": 0.0}}, None, None)]
    inputs = read_inputs(tabs, today=TODAY)
    facts = build_facts(batches, inputs.settings, inputs.products, today=TODAY)
    rows, _ = evaluate_all(inputs, facts)
    scores = score_owners(rows, inputs.tiers, inputs.settings, False)
    return review_tabs(load_template(), inputs, facts, rows, scores, tabs, TODAY, "title", batches)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rendered_commentary_matches_golden(lang, tmp_path):
    tabs = _scenario(lang)
    wb = XlsxWorkbook(tmp_path / "w.xlsx")
    init_workbook(wb, today=TODAY)
    wb.write_tabs(tabs)
    cells = wb.read_tabs(["Commentary"])["Commentary"]
    text = "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in cells) + "\n"
    path = GOLDEN / f"commentary_{lang}.jsonl"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run with SHEETS_SYNC_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
    keys = {f for f in text.split('"') if f in ("high", "medium", "info")}
    assert keys == {"high", "medium", "info"}
