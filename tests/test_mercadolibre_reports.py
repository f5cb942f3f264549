"""Mercado Libre México downloads, recognised by content: the Ventas Excel (introduction lines above the header),
Product Ads, Full stock, and the API's JSON saved as files; local days, MXN → base currency, IVA basis,
cancelled sales out, a sale line never counted twice."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import openpyxl
import pytest
from builders import settings, tables

from sheets_sync.compute.actuals import build_facts
from sheets_sync.frames import RawReport
from sheets_sync.inputs import read_inputs
from sheets_sync.periods import parse_period
from sheets_sync.samples.mercadolibre import VENTAS_HEADER, mlm_dataset, truth, write_mlm_files
from sheets_sync.sources.base import FetchRequest
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sources.parsing import parse_report
from sheets_sync.sync import collect_batches

PERIOD = parse_period("2026-11")
THROUGH = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    data = mlm_dataset(PERIOD, THROUGH, seed=3)
    files = write_mlm_files(root / "MLM", data)
    return root, data, files


def _parse(path, name=None):
    return parse_report(RawReport(name=name or path.name, data=path.read_bytes(), fetched_at=1.0))


def test_each_download_is_recognised_by_content_and_gives_the_generator_totals(store, tmp_path):
    root, data, files = store
    t = truth(data)
    got: dict[str, float] = {}
    for i, f in enumerate(files):
        renamed = tmp_path / f"download ({i})"          # any name, no extension
        shutil.copy(f, renamed)
        (b,) = _parse(renamed)
        assert b.marketplace == "MLM"
        if b.asin_rows is not None:
            for c in b.asin_rows.columns:
                if b.asin_rows[c].dtype.kind == "f":
                    got[c] = got.get(c, 0.0) + float(b.asin_rows[c].sum())
    for metric in ("gmv", "units", "orders", "ml_fees", "ml_shipping_cost", "visits", "ad_spend", "ad_sales",
                   "fulfillable_units"):
        assert got[metric] == pytest.approx(t[metric]), metric


def test_ventas_header_below_the_introduction_and_spanish_dates(store):
    _, data, files = store
    (b,) = _parse(files[0])
    assert b.kind == "ml_ventas" and b.currency == "MXN"
    assert (b.start, b.end) == (PERIOD.start, THROUGH)
    assert "1 repeated sale line(s) counted once" in b.warnings
    cancelled = sum(1 for o in data["orders"] if o["status"] == "cancelled")
    assert f"{cancelled} cancelled sale(s) left out" in b.warnings
    # a late-evening sale stays on its Mexico City day
    late = next(o for o in data["orders"] if o["status"] == "paid" and o["minute"] >= 23 * 60)
    rows = b.asin_rows
    day_units = rows[(rows["asin"] == late["item"]) & (rows["date"] == str(late["day"]))]["units"].sum()
    expected = sum(o["qty"] for o in data["orders"] if o["status"] == "paid" and o["item"] == late["item"]
                   and o["day"] == late["day"])
    assert day_units == expected


def _ventas_bytes(rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Ventas"])
    ws.append(VENTAS_HEADER)
    for r in rows:
        ws.append([r.get(h) for h in VENTAS_HEADER])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_package_spreads_its_charges_over_its_products():
    rows = [
        {"# de venta": "9001", "Fecha de venta": "3 de noviembre de 2026 10:00 hs.", "Estado": "Paquete de 2 productos",
         "Cargo por venta e impuestos (MXN)": -150.0, "Costos de envío (MXN)": -90.0},
        {"# de venta": "9002", "Fecha de venta": "3 de noviembre de 2026 10:00 hs.", "Estado": "Entregado",
         "Unidades": 1, "Ingresos por productos (MXN)": 300.0, "# de publicación": "MLM111111111", "SKU": "A"},
        {"# de venta": "9003", "Fecha de venta": "3 de noviembre de 2026 10:00 hs.", "Estado": "Entregado",
         "Unidades": 2, "Ingresos por productos (MXN)": 600.0, "# de publicación": "MLM222222222", "SKU": "B"},
        {"# de venta": "9004", "Fecha de venta": "04/11/2026 09:00", "Estado": "Entregado", "Unidades": 1,
         "Ingresos por productos (MXN)": 100.0, "Cargo por venta e impuestos (MXN)": -10.0,
         "# de publicación": "111111111", "SKU": "A"},
    ]
    (b,) = parse_report(RawReport(name="ventas.xlsx", data=_ventas_bytes(rows)))
    r = b.asin_rows.set_index(["asin", "date"])
    a3 = r.loc[("MLM111111111", "2026-11-03")]
    b3 = r.loc[("MLM222222222", "2026-11-03")]
    assert (a3["ml_fees"], a3["ml_shipping_cost"]) == (pytest.approx(50.0), pytest.approx(30.0))
    assert (b3["ml_fees"], b3["ml_shipping_cost"]) == (pytest.approx(100.0), pytest.approx(60.0))
    assert r.loc[("MLM111111111", "2026-11-04")]["ml_fees"] == pytest.approx(10.0)   # day-first date, bare number
    assert b.asin_rows["gmv"].sum() == pytest.approx(1000.0)
    assert any("package" in w for w in b.warnings)


def test_a_day_in_two_downloads_is_counted_once_and_money_is_converted(store, tmp_path):
    root, data, files = store
    folder = tmp_path / "r"
    (folder / "MLM").mkdir(parents=True)
    shutil.copy(files[0], folder / "MLM" / "ventas-a.xlsx")
    shutil.copy(files[0], folder / "MLM" / "ventas-b (copia).xlsx")
    problems: list = []
    batches = collect_batches(ReportFilesSource(folder), FetchRequest(PERIOD.start, THROUGH, ("MLM",)), problems)
    inputs = read_inputs(tables([], settings_rows=settings(marketplaces="US, MX, MLM")), today=dt.date(2026, 11, 21))
    facts = build_facts(batches, inputs.settings, [], today=dt.date(2026, 11, 21))
    t = truth(data)
    assert facts.account["MLM"]["units"] == pytest.approx(t["units"])
    # MXN ÷ 20, IVA 16 % removed (vat.MLM)
    assert facts.account["MLM"]["gmv"] == pytest.approx(t["gmv"] / 1.16 / 20)
    assert facts.account["MLM"]["ml_fees"] == pytest.approx(t["ml_fees"] / 20)
    assert any("already supplied" in line and "not counted twice" in line for line in facts.coverage)
    assert facts.data_through["MLM"] == THROUGH


def test_mercado_libre_files_do_not_pass_for_amazon_mx(store, tmp_path):
    """The MX folder is Amazon's: a Mercado Libre download put there is named, and used as MLM."""
    root, data, files = store
    folder = tmp_path / "r"
    (folder / "MX").mkdir(parents=True)
    shutil.copy(files[1], folder / "MX" / files[1].name)
    problems: list = []
    (b,) = collect_batches(ReportFilesSource(folder), FetchRequest(PERIOD.start, THROUGH, ("MX", "MLM")), problems)
    assert b.marketplace == "MLM"
    assert any("content is for MLM" in str(p) for p in problems)


def test_an_amazon_report_in_the_mercado_libre_folder_is_not_taken_for_mercado_libre(tmp_path):
    """A Business Report carries no marketplace: under MLM/ it must not become Mercado Libre's sales."""
    src = Path(__file__).parent / "fixtures"
    business = src / "amazon-reports" / "ui" / "en_us_business_child_item_2019_gen1.csv"
    (tmp_path / "MLM").mkdir()
    shutil.copy(business, tmp_path / "MLM" / business.name)
    problems: list = []
    batches = collect_batches(ReportFilesSource(tmp_path), FetchRequest(PERIOD.start, THROUGH, ("MLM",)), problems)
    assert batches == []
    assert any("an Amazon report in the MLM/ folder" in str(p) for p in problems), [str(p) for p in problems]
