"""A seeded Mercado Libre México store for the demo and the tests: one data set, two renderings.

``mlm_dataset(period, through, seed)`` draws the store (listings, orders, visits, Product Ads, Full stock,
reputation); ``write_mlm_files(root / "MLM", data)`` writes what a seller downloads from the seller centre (the
"Ventas" Excel with its introduction lines, the Product Ads report, the Full stock) plus the visits and the
reputation as the API gives them (the seller centre has no download for those); the local Mercado Libre server
(:mod:`sheets_sync.testing.mercadolibre_server`) serves the same data set over the REST API. So a sync from
either gives the same figures.

Each sale ships in its own shipment; its ``logistic`` is Mercado Libre's logistic type of that shipment
(``fulfillment`` = Full, shipped from Mercado Libre's warehouse; ``xd_drop_off`` / ``cross_docking`` = shipped by
the seller): most sales of a listing with Full stock ship from Full, some from the seller's own stock, so the
share of Full units is a per-shipment figure, not a listing attribute. Product Ads run in two campaigns.

The store sells some of the Amazon MX catalogue under the same seller SKUs. Planted problems: while Amazon
MX's stocked-out ASIN has no stock (its last ~6 days), its Mercado Libre listing sells ~2.5× (units moved from
Amazon MX to Mercado Libre); one listing is out of Full stock; delayed handling at 9 % has put the reputation
at yellow (level 3) and MercadoLíder at silver. Buen Fin weighs ~3× here too. Some sales are cancelled, and
one sale line is repeated in the download (counted once).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..periods import Period, seeded_events

MONTHS_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
             "noviembre", "diciembre"]
VENTAS_HEADER = ["# de venta", "Fecha de venta", "Estado", "Descripción del estado", "Paquete de varios productos",
                 "Pertenece a un kit", "Unidades", "Ingresos por productos (MXN)",
                 "Cargo por venta e impuestos (MXN)", "Ingresos por envío (MXN)", "Costos de envío (MXN)",
                 "Anulaciones y reembolsos (MXN)", "Total (MXN)", "Venta por publicidad", "SKU",
                 "# de publicación", "Canal de venta", "Título de la publicación", "Variante",
                 "Precio unitario de venta de la publicación (MXN)", "Tipo de publicación", "Forma de entrega"]
ADS_HEADER = ["Fecha", "Campaña", "Número de publicación", "Título", "Impresiones", "Clics", "CTR", "CPC (MXN)",
              "Inversión (MXN)", "ACOS", "Ventas directas", "Ventas indirectas", "Ingresos directos (MXN)",
              "Ingresos indirectos (MXN)"]
FULL_HEADER = ["# de publicación", "SKU", "Título", "Código de inventario", "Disponibles", "No disponibles",
               "En camino"]
SELLER_ID = 123456789
ADVERTISER_ID = 4242
CAMPAIGNS = {"Kitchen": 351000001, "Home": 351000002}       # Product Ads campaign per category
FULL_SHARE = 0.7        # a sale of a listing stocked in Full ships from Full with this probability
# Listings: (number, seller SKU, category, tier, owner, price MXN incl. IVA, unit cost USD)
LISTINGS = [
    ("MLM2100000001", "MX-SSS-01", "Kitchen", "mature", "Ana Ruiz", 449.0, 4.35),
    ("MLM2100000002", "MX-BCB-02", "Kitchen", "mature", "Ana Ruiz", 599.0, 8.13),
    ("MLM2100000003", "MX-IT2-03", "Kitchen", "mature", "Ana Ruiz", 349.0, 4.12),
    ("MLM2100000004", "MX-GFC-04", "Kitchen", "mature", "Ana Ruiz", 399.0, 5.10),
    ("MLM2100000005", "ML-HOME-05", "Home", "new", "Ana Ruiz", 699.0, 9.80),
    ("MLM2100000006", "ML-HOME-06", "Home", "new", "Ana Ruiz", 299.0, 3.20),
    ("MLM2100000007", "ML-HOME-07", "Home", "clearance", "Ana Ruiz", 249.0, 3.00),
    ("MLM2100000008", "ML-HOME-08", "Home", "mature", "Ana Ruiz", 549.0, 6.40),
]


def mlm_dataset(period: Period, through: dt.date, seed: int = 7, moved_sku: str | None = "MX-IT2-03",
                moved_from: dt.date | None = None, scale: float = 1.0) -> dict[str, Any]:
    """The store's data over ``period`` up to ``through`` (local days). ``moved_sku`` sells ~2.5× from
    ``moved_from`` (default: the last 6 days) — the Amazon MX stockout's buyers coming over. ``scale``
    multiplies the sales (1.5: about 2,000 orders in a November, for the benchmark)."""
    rng = np.random.default_rng(seed + 1000)
    ship_rng = np.random.default_rng(seed + 2000)   # logistic types drawn apart: the other figures stay the same
    days = [d for d in period.days if d <= through]
    moved_from = moved_from or (through - dt.timedelta(days=5))
    bf0, bf1 = seeded_events(period.start.year)["buen_fin"]
    orders: list[dict[str, Any]] = []
    visits: dict[str, dict[str, int]] = {lst[0]: {} for lst in LISTINGS}
    ads: list[dict[str, Any]] = []
    oid = 2000009000000000 + seed * 100000
    for d in days:
        mult = (3.0 if bf0 <= d <= bf1 else 1.0) * (1.1 if d.weekday() >= 5 else 1.0)
        for number, sku, _, tier, _, price, _ in LISTINGS:
            lam = 3.0 * mult * (1.6 if tier == "mature" else 1.0) * scale
            if sku == moved_sku and d >= moved_from:
                lam *= 2.5
            n_orders = int(rng.poisson(lam))
            conv = rng.uniform(0.025, 0.04)
            visits[number][d.isoformat()] = round(max(n_orders, 1) / conv)
            for _ in range(n_orders):
                oid += 1
                qty = 2 if rng.random() < 0.15 else 1
                minute = int(rng.integers(0, 24 * 60))
                fee = round(price * 0.155 + (25.0 if price < 299 else 0.0), 2)
                ship = 92.0 if price >= 299 else 0.0
                status = "cancelled" if rng.random() < 0.04 else "paid"
                full = number != "MLM2100000005" and ship_rng.random() < FULL_SHARE
                logistic = "fulfillment" if full else ("xd_drop_off" if ship_rng.random() < 0.6 else "cross_docking")
                orders.append({"id": oid, "day": d, "minute": minute, "item": number, "sku": sku, "qty": qty,
                               "price": price, "fee": fee, "ship": ship, "status": status,
                               "shipment": 40000000000 + oid % 10**9, "logistic": logistic})
            if tier != "clearance":
                clicks = int(rng.poisson(40 * mult))
                cost = round(clicks * rng.uniform(3.0, 5.0), 2)
                direct = int(rng.poisson(clicks * 0.05))
                indirect = int(rng.poisson(clicks * 0.02))
                ads.append({"date": d.isoformat(), "item": number, "prints": clicks * int(rng.integers(40, 70)),
                            "clicks": clicks, "cost": cost, "direct_units": direct, "indirect_units": indirect,
                            "direct_amount": direct * price, "indirect_amount": indirect * price * 0.8})
    stock = {lst[0]: int(rng.integers(40, 160)) for lst in LISTINGS}
    stock["MLM2100000005"] = 0          # out of Full stock
    return {"period": period.label, "through": through, "days": days, "orders": orders, "visits": visits,
            "ads": ads, "stock": stock, "listings": LISTINGS,
            "reputation": {"level_id": "3_yellow", "power_seller_status": "silver",
                           "claims": 0.012, "cancellations": 0.006, "delayed_handling_time": 0.09,
                           "completed": sum(1 for o in orders if o["status"] == "paid")}}


def truth(data: dict[str, Any]) -> dict[str, float]:
    """Totals parsing either rendering must give back (MXN, IVA included)."""
    paid = [o for o in data["orders"] if o["status"] == "paid"]
    return {"gmv": sum(o["price"] * o["qty"] for o in paid), "units": float(sum(o["qty"] for o in paid)),
            "orders": float(len(paid)), "ml_fees": sum(o["fee"] * o["qty"] for o in paid),
            "ml_shipping_cost": sum(o["ship"] for o in paid),
            "full_units": float(sum(o["qty"] for o in paid if o["logistic"] == "fulfillment")),
            "visits": float(sum(sum(v.values()) for v in data["visits"].values())),
            "ad_spend": sum(a["cost"] for a in data["ads"]),
            "ad_sales": sum(a["direct_amount"] + a["indirect_amount"] for a in data["ads"]),
            "fulfillable_units": float(sum(data["stock"].values()))}


def _stamp_es(day: dt.date, minute: int) -> str:
    return f"{day.day} de {MONTHS_ES[day.month - 1]} de {day.year} {minute // 60:02d}:{minute % 60:02d} hs."


def order_instant(day: dt.date, minute: int) -> dt.datetime:
    """When a sale happened: ``minute`` of the Mexico City day (UTC−6, no DST since 2022), as an aware time."""
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), dt.timezone(dt.timedelta(hours=-6)))


def delivery_label(logistic: str) -> str:
    """The Ventas download's "Forma de entrega" of a shipment's logistic type (Full, or the seller's own)."""
    return "Mercado Envíos Full" if logistic == "fulfillment" else "Mercado Envíos"


def write_mlm_files(folder: Path, data: dict[str, Any]) -> list[Path]:
    """The seller-centre downloads (+ the API's visits and reputation JSON) under ``folder``."""
    import openpyxl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    titles = {lst[0]: f"Demostración {lst[2]} {lst[1]}" for lst in LISTINGS}
    days = data["days"]
    out: list[Path] = []
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Ventas MX"
    ws.append(["Ventas"])
    ws.append([f"Periodo: {days[0].isoformat()} a {days[-1].isoformat()}"])
    ws.append(["En este reporte encontrarás la información de tus ventas en Mercado Libre."])
    ws.append([])
    ws.append([])
    ws.append(VENTAS_HEADER)
    for i, o in enumerate(data["orders"]):
        gross = o["price"] * o["qty"]
        fee, ship = -o["fee"] * o["qty"], -o["ship"]
        cancelled = o["status"] == "cancelled"
        row = [str(o["id"]), _stamp_es(o["day"], o["minute"]), "Cancelada por el comprador" if cancelled else
               "Entregado", "", "No", "No", o["qty"], gross, fee, 0.0, ship, -gross if cancelled else 0.0,
               0.0 if cancelled else gross + fee + ship, "No", o["sku"], o["item"], "Mercado Libre",
               titles[o["item"]], "", o["price"], "Premium", delivery_label(o["logistic"])]
        ws.append(row)
        if i == 3:              # the same sale line twice (exports pasted together): counted once
            ws.append(row)
    path = folder / f"{days[-1]:%Y%m%d}_Ventas_MX_Mercado_Libre_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.xlsx"
    wb.save(path)
    out.append(path)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Anuncios"
    ws.append(["Reporte de Product Ads por anuncio"])
    ws.append([])
    ws.append(ADS_HEADER)
    for a in data["ads"]:
        d = dt.date.fromisoformat(a["date"])
        income = a["direct_amount"] + a["indirect_amount"]
        ws.append([d.strftime("%d/%m/%Y"), "Campaña principal", a["item"], titles[a["item"]], a["prints"],
                   a["clicks"], a["clicks"] / a["prints"] if a["prints"] else 0.0,
                   a["cost"] / a["clicks"] if a["clicks"] else 0.0, a["cost"], a["cost"] / income if income else None,
                   a["direct_units"], a["indirect_units"], a["direct_amount"], a["indirect_amount"]])
    path = folder / f"Reporte_Product_Ads_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.xlsx"
    wb.save(path)
    out.append(path)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Stock Full"
    ws.append(FULL_HEADER)
    for number, sku, *_ in LISTINGS:
        ws.append([number, sku, titles[number], f"INV{number[-4:]}", data["stock"][number], 2, 0])
    path = folder / f"Stock_Full_{days[-1]:%Y%m%d}.xlsx"
    wb.save(path)
    out.append(path)
    path = folder / f"visitas_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.json"
    path.write_text(json.dumps(visits_documents(data), ensure_ascii=False, indent=1), encoding="utf-8")
    out.append(path)
    path = folder / "reputacion_users_me.json"
    path.write_text(json.dumps(user_document(data), ensure_ascii=False, indent=1), encoding="utf-8")
    out.append(path)
    return out


def visits_documents(data: dict[str, Any], items: list[str] | None = None, start: dt.date | None = None,
                     end: dt.date | None = None) -> list[dict[str, Any]]:
    """The /items/{id}/visits/time_window answers (unit=day) for ``items`` over start..end."""
    days = [d for d in data["days"] if (start is None or d >= start) and (end is None or d <= end)]
    out = []
    for number in items or list(data["visits"]):
        per = data["visits"].get(number, {})
        results = [{"date": f"{d.isoformat()}T00:00:00Z", "total": per.get(d.isoformat(), 0),
                    "visits_detail": [{"company": "mercadolibre", "quantity": per.get(d.isoformat(), 0)}]}
                   for d in days]
        out.append({"item_id": number, "date_from": f"{days[0].isoformat()}T00:00:00Z" if days else None,
                    "date_to": f"{days[-1].isoformat()}T23:59:59Z" if days else None,
                    "total_visits": sum(r["total"] for r in results), "last": len(days), "unit": "day",
                    "results": results})
    return out


def user_document(data: dict[str, Any]) -> dict[str, Any]:
    rep = data["reputation"]
    sales = rep["completed"]

    def metric(key: str) -> dict[str, Any]:
        return {"period": "60 days", "rate": rep[key], "value": round(rep[key] * sales)}

    return {"id": SELLER_ID, "nickname": "DEMO.TIENDA", "site_id": "MLM", "country_id": "MX",
            "seller_reputation": {"level_id": rep["level_id"], "power_seller_status": rep["power_seller_status"],
                                  "transactions": {"period": "historic", "total": sales, "completed": sales,
                                                   "canceled": 0},
                                  "metrics": {"sales": {"period": "60 days", "completed": sales},
                                              "claims": metric("claims"), "cancellations": metric("cancellations"),
                                              "delayed_handling_time": metric("delayed_handling_time")}}}


def demo_team_rows() -> dict[str, list[list[Any]]]:
    """Rows the demo adds to its workbook's team tabs for the Mercado Libre store (what a team would type)."""
    products = [["MLM", number, sku, tier, category, owner, cost, None, None]
                for number, sku, category, tier, owner, _, cost in LISTINGS]
    targets = [
        [None, "MLM", "account", None, "Ana Ruiz", "ops", "gmv", 36000, 0.3, None, "Mercado Libre monthly sales (USD)"],
        [None, "MLM", "account", None, "Ana Ruiz", "ops", "visit_conversion", 0.03, 0.2, None, None],
        [None, "MLM", "account", None, "Ana Ruiz", "ads", "acos", 0.12, 0.1, None, None],
        [None, "MLM", "account", None, "Ana Ruiz", "cs", "ml_reputation_level", 5, 0.2, None, "green"],
        [None, "MLM", "account", None, "Ana Ruiz", "warehouse", "stockout_asins", 0, 0.1, None, "Full"],
        [None, "MLM", "account", None, "Ana Ruiz", "warehouse", "ml_delayed_handling_rate", 0.05, 0.1, None, None],
        [None, "MX-ALL", "account", None, "Wang Lei", "manager", "gmv", 92000, 0.3, None, "Mexico, both stores"],
        [None, "MX-ALL", "account", None, "Wang Lei", "ops", "units", 4300, 0.2, None, "Mexico, both stores"],
    ]
    return {"Products": products, "Targets": targets}


def add_demo_rows(path: Path) -> None:
    """Add the Mercado Libre store to a freshly initialised demo .xlsx: Settings ``marketplaces`` → US, MX, MLM,
    and the :func:`demo_team_rows` in Products and Targets (by header name)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Settings"]
    for row in ws.iter_rows(min_row=2):
        if str(row[0].value or "").strip() == "marketplaces":
            row[1].value = "US, MX, MLM"
    for tab, rows in demo_team_rows().items():
        ws = wb[tab]
        for r in rows:
            ws.append(r)
    wb.save(path)
