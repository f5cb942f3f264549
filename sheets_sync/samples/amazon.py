"""Seeded demo report files in Amazon's exact formats, and a large workload for the parser benchmark.

``write_demo_reports(root, period, data_through, seed=7)`` writes, per marketplace, under ``root/US/`` and
``root/MX/``:

* one GET_SALES_AND_TRAFFIC_REPORT JSON per day (asinGranularity CHILD; every third day gzip'd ``.json.gz``);
* Sponsored Products advertised-product data: US = the Ads console classic daily CSV (trailing-space headers,
  ``$`` money, ``"Aug 24, 2019"`` dates, campaigns by name), MX = the Ads API v3 ``spAdvertisedProduct`` gzip JSON
  (7d and 14d, campaign / ad group / portfolio ids); three campaigns per marketplace (:data:`DEMO_CAMPAIGNS`: a
  brand-defence, a launch and an always-on one, MX's launch campaign renamed during the month);
* the orders flat file (TSV; MX encoded cp1252 with ``NUEVO LEÓN``), with Pending lines (empty prices) on
  the last two days and cancelled lines (quantity 0);
* the FBA inventory snapshot and FBA customer returns flat files (TSV), and GET_V2_SELLER_PERFORMANCE_REPORT.

Products come from ``sheet_templates/products.yaml`` (its ``examples`` rows) plus two ASINs per marketplace that
are not in Products (they show up as "unassigned"). Scenario: US ≈ $140–170k GMV a month, MX ≈ MXN 1.1–1.3M
(IVA-inclusive prices like 499.00), a Buen Fin spike in MX (≈3× on the Buen Fin days), one ASIN stocking out
for the last ~6 days (0 fulfillable units, sales 0), one ad-heavy ASIN at ≈60 % ACoS, more ad spend on
new-tier ASINs and discounted clearance ASINs.

The returned summary carries the generator's ground truth (``truth[marketplace][metric]``, the totals that
parsing every written file must give back) and ``files[marketplace]`` (paths relative to ``root``).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..frames import MARKETPLACES
from ..periods import Period, seeded_events

ORDERS_HEADER = [
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "sales-channel", "order-channel", "url", "ship-service-level", "product-name", "sku",
    "asin", "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price", "shipping-tax",
    "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount", "ship-city",
    "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "is-business-order", "purchase-order-number",
    "price-designation",
]
INVENTORY_HEADER = [
    "sku", "fnsku", "asin", "product-name", "condition", "your-price", "mfn-listing-exists",
    "mfn-fulfillable-quantity", "afn-listing-exists", "afn-warehouse-quantity", "afn-fulfillable-quantity",
    "afn-unsellable-quantity", "afn-reserved-quantity", "afn-total-quantity", "per-unit-volume",
    "afn-inbound-working-quantity", "afn-inbound-shipped-quantity", "afn-inbound-receiving-quantity",
    "afn-researching-quantity", "afn-reserved-future-supply", "afn-future-supply-buyable", "store",
]
RETURNS_HEADER = ["return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity",
                  "fulfillment-center-id", "detailed-disposition", "reason", "status", "license-plate-number",
                  "customer-comments"]
ADS_CLASSIC_HEADER = [
    "Date", "Portfolio name", "Currency", "Campaign Name", "Ad Group Name", "Advertised SKU", "Advertised ASIN",
    "Impressions", "Clicks", "Click-Thru Rate (CTR)", "Cost Per Click (CPC)", "Spend", "7 Day Total Sales ",
    "Total Advertising Cost of Sales (ACoS) ", "Total Return on Advertising Spend (RoAS)", "7 Day Total Orders (#)",
    "7 Day Total Units (#)", "7 Day Conversion Rate", "7 Day Advertised SKU Units (#)", "7 Day Other SKU Units (#)",
    "7 Day Advertised SKU Sales ", "7 Day Other SKU Sales ",
]
MONTHLY_GMV = {"US": 155_000.0, "MX": 1_200_000.0}
TRUTH_METRICS = ("gmv", "units", "orders", "sessions", "page_views", "buy_box_views", "units_refunded",
                 "ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions", "ad_sales_14d",
                 "order_units", "order_sales", "order_tax", "fba_units", "units_cancelled", "units_returned",
                 "fulfillable_units", "inbound_units", "reserved_units")
_TEMPLATE = Path(__file__).resolve().parents[2] / "sheet_templates" / "products.yaml"
_MX_PLACES = [("MONTERREY", "NUEVO LEÓN", "64000"), ("SAN PEDRO GARZA GARCÍA", "NUEVO LEÓN", "66220"),
              ("CIUDAD DE MÉXICO", "CIUDAD DE MÉXICO", "06600"), ("QUERÉTARO", "QUERÉTARO", "76000"),
              ("MÉRIDA", "YUCATÁN", "97000"), ("ZAPOPAN", "JALISCO", "45010")]
_US_PLACES = [("AUSTIN", "TX", "78701"), ("SEATTLE", "WA", "98101"), ("MIAMI", "FL", "33101"),
              ("DENVER", "CO", "80202"), ("BROOKLYN", "NY", "11201"), ("SAN JOSE", "CA", "95112")]
_REASONS = ["UNWANTED_ITEM", "DEFECTIVE", "NOT_AS_DESCRIBED", "QUALITY_UNACCEPTABLE", "ORDERED_WRONG_ITEM",
            "DAMAGED_BY_CARRIER"]


# --------------------------------------------------------------------------------------------- products

def load_products(template: Path | None = None) -> pd.DataFrame:
    """The Products examples of the template: marketplace, asin, sku, tier, category (+ costs)."""
    path = Path(template) if template else _TEMPLATE
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    cols = ["marketplace", "asin", "sku", "tier", "category", "owner", "unit_cost", "unit_logistics_cost",
            "unit_fees"]
    return pd.DataFrame([list(r)[: len(cols)] for r in doc["examples"]], columns=cols)


def _catalog(mp: str, rng: np.random.Generator, template: Path | None) -> pd.DataFrame:
    prods = load_products(template)
    p = prods.loc[prods["marketplace"] == mp, ["asin", "sku", "tier", "category"]].reset_index(drop=True)
    extra = pd.DataFrame({"asin": [f"B0UN{mp}{i:04d}" for i in (1, 2)],
                          "sku": [f"{mp}-UNASSIGNED-{i}" for i in (1, 2)], "tier": ["mature", "new"],
                          "category": ["", ""]})
    p = pd.concat([p, extra], ignore_index=True)
    n = len(p)
    if mp == "US":
        price = np.round(rng.uniform(15.0, 45.0, n)) - 0.01
    else:
        price = rng.choice([299.0, 349.0, 399.0, 449.0, 499.0, 549.0, 599.0, 699.0, 799.0], n)
    clearance = (p["tier"] == "clearance").to_numpy()
    price = np.where(clearance, np.round(price * 0.7, 0) - (0.01 if mp == "US" else 0.0), price)
    p["price"] = price
    p["demand"] = rng.lognormal(0.0, 0.45, n)
    p["conversion"] = rng.uniform(0.08, 0.15, n)
    mature = p.index[p["tier"] == "mature"]
    p["stockout"] = False
    p.loc[mature[0] if mp == "US" else mature[2], "stockout"] = True
    p["acos"] = rng.uniform(0.18, 0.32, n)
    p["ad_share"] = np.where(p["tier"] == "new", 0.5, np.where(clearance, 0.1, 0.25))
    p.loc[p["tier"] == "new", "acos"] = rng.uniform(0.35, 0.45, int((p["tier"] == "new").sum()))
    p["ad_heavy"] = False
    p.loc[mature[1], ["ad_heavy", "acos", "ad_share"]] = [True, 0.60, 0.55]
    p["title"] = [f"{'Demo' if mp == 'US' else 'Demostración'} {c or 'Producto'} {s}" for c, s in
                  zip(p["category"], p["sku"], strict=True)]
    return p


# --------------------------------------------------------------------------------------------- daily grid

def _days_for(period: Period, through: dt.date | None) -> list[dt.date]:
    last = period.end if through is None else min(period.end, through)
    return [d for d in period.days if d <= last]


def _grid(mp: str, cat: pd.DataFrame, days: list[dt.date], period: Period, rng: np.random.Generator) -> pd.DataFrame:
    n, m = len(cat), len(days)
    day_idx = np.repeat(np.arange(m), n)
    asin_idx = np.tile(np.arange(n), m)
    dates = np.array(days, dtype="datetime64[D]")[day_idx]
    weekday = pd.DatetimeIndex(dates).day_of_week.to_numpy()
    mult = np.where(weekday >= 5, 1.12, 1.0) * rng.lognormal(0.0, 0.12, n * m)
    if mp == "MX":
        for year in {d.year for d in days}:
            bf0, bf1 = seeded_events(year)["buen_fin"]
            inside = (dates >= np.datetime64(bf0)) & (dates <= np.datetime64(bf1))
            mult = np.where(inside, mult * 3.0, mult)
    g = pd.DataFrame({"date": pd.to_datetime(dates), "i": asin_idx})
    price = cat["price"].to_numpy()[asin_idx]
    demand = cat["demand"].to_numpy()[asin_idx] * mult
    # scale so that the days written land on the scenario's monthly GMV (Buen Fin days get ~3x the others)
    lam = demand * (MONTHLY_GMV[mp] / 30.0 * m) / float((demand * price).sum())
    stock = cat["stockout"].to_numpy()[asin_idx] & (g["date"] > pd.Timestamp(days[-1]) - pd.Timedelta(days=6)
                                                     ).to_numpy()
    lam = np.where(stock, 0.0, lam)
    units = rng.poisson(lam)
    orders = np.maximum(units - rng.binomial(units, 0.04), np.minimum(units, 1))
    conv = cat["conversion"].to_numpy()[asin_idx]
    sessions = np.round(np.maximum(units, 0) / conv + rng.poisson(3, n * m)).astype(int)
    sessions = np.where(stock, np.round(sessions * 0.4), sessions).astype(int)
    page_views = np.round(sessions * rng.uniform(1.15, 1.45, n * m)).astype(int)
    bb = np.where(stock, 0.0, np.round(rng.uniform(93.0, 100.0, n * m), 2))
    g["units"], g["orders"], g["sessions"], g["page_views"], g["bb_pct"] = units, orders, sessions, page_views, bb
    g["gmv"] = np.round(units * price, 2)
    g["price"] = price
    g["units_refunded"] = rng.binomial(units, 0.025)
    return g


# --------------------------------------------------------------------------------------------- writers

def _fmt_money(v: float) -> str:
    return f"{v:.2f}"


_ASIN_ROW = ('{{"parentAsin":"{}","childAsin":"{}","salesByAsin":{{"unitsOrdered":{},"orderedProductSales":'
             '{{"amount":{!r},"currencyCode":"{}"}},"totalOrderItems":{}}},"trafficByAsin":{{"browserSessions":{},'
             '"mobileAppSessions":{},"sessions":{},"browserSessionPercentage":{!r},"mobileAppSessionPercentage":{!r},'
             '"sessionPercentage":{!r},"browserPageViews":{},"mobileAppPageViews":{},"pageViews":{},'
             '"browserPageViewsPercentage":{!r},"mobileAppPageViewsPercentage":{!r},"pageViewsPercentage":{!r},'
             '"buyBoxPercentage":{!r},"unitSessionPercentage":{!r}}}}}')


def _share(part: np.ndarray, total: float) -> np.ndarray:
    """Percent of the day's total (Amazon's …Percentage fields), 0 when the total is 0."""
    return np.round(100.0 * part / total, 2) if total else np.zeros(len(part))


def _money(amount: float, cur: str) -> dict:
    return {"amount": round(float(amount), 2), "currencyCode": cur}


def _sales_by_date(cols: dict[str, np.ndarray], refunded: int, cur: str) -> dict:
    """Every field Amazon's schema requires; shipments are taken equal to orders (the demo has no backlog)."""
    gmv, units, orders = float(cols["gmv"].sum()), int(cols["units"].sum()), int(cols["orders"].sum())
    return {"orderedProductSales": _money(gmv, cur), "unitsOrdered": units, "totalOrderItems": orders,
            "averageSalesPerOrderItem": _money(gmv / orders if orders else 0.0, cur),
            "averageUnitsPerOrderItem": round(units / orders, 2) if orders else 0.0,
            "averageSellingPrice": _money(gmv / units if units else 0.0, cur),
            "unitsRefunded": refunded, "refundRate": round(100.0 * refunded / units, 2) if units else 0.0,
            "claimsGranted": 0, "claimsAmount": _money(0.0, cur), "shippedProductSales": _money(gmv, cur),
            "unitsShipped": units, "ordersShipped": orders}


def _traffic_by_date(ss: np.ndarray, pv: np.ndarray, pv_tot: int, bb_tot: float, cols: dict[str, np.ndarray]) -> dict:
    sessions, units, orders = int(ss.sum()), float(cols["units"].sum()), float(cols["orders"].sum())
    return {"browserPageViews": int((pv // 2).sum()), "mobileAppPageViews": int((pv - pv // 2).sum()),
            "pageViews": pv_tot, "browserSessions": int((ss // 2).sum()), "mobileAppSessions": int((ss - ss // 2).sum()),
            "sessions": sessions, "buyBoxPercentage": bb_tot,
            "orderItemSessionPercentage": round(100.0 * orders / sessions, 2) if sessions else 0.0,
            "unitSessionPercentage": round(100.0 * units / sessions, 2) if sessions else 0.0,
            "averageOfferCount": len(ss), "averageParentItems": len(ss), "feedbackReceived": 0,
            "negativeFeedbackReceived": 0, "receivedNegativeFeedbackRate": 0.0}


def _write_sales_traffic(folder: Path, mp: str, cat: pd.DataFrame, g: pd.DataFrame, gz_every: int = 3) -> list[Path]:
    info = MARKETPLACES[mp]
    cur = info["currency"]
    asins = cat["asin"].tolist()
    parents = [f"B0PA{a[4:]}" for a in asins]
    out = []
    for k, (day, part) in enumerate(g.groupby("date", sort=True)):
        d = day.date().isoformat()
        idx = part["i"].to_numpy()
        cols = {c: part[c].to_numpy() for c in ("units", "orders", "sessions", "page_views", "bb_pct", "gmv")}
        ss, pv = cols["sessions"].astype(np.int64), cols["page_views"].astype(np.int64)
        usp = np.round(np.divide(100.0 * cols["units"], ss, out=np.zeros(len(ss)), where=ss > 0), 2)
        # formatted straight to JSON text: ~300k ASIN rows for the benchmark, json.dumps of dicts is too slow
        bs_, ms_, bp_, mp__ = ss // 2, ss - ss // 2, pv // 2, pv - pv // 2
        pct = [_share(x, float(x.sum())).tolist() for x in (bs_, ms_, ss, bp_, mp__, pv)]
        by_asin = ",".join(_ASIN_ROW.format(parents[i], asins[i], u, s_, cur, o, bs, ms, ss_, p1, p2, p3, bp, mp_,
                                            pv_, p4, p5, p6, bb, us)
                           for i, u, s_, o, bs, ms, ss_, bp, mp_, pv_, bb, us, p1, p2, p3, p4, p5, p6 in zip(
                               idx.tolist(), cols["units"].tolist(), cols["gmv"].tolist(), cols["orders"].tolist(),
                               bs_.tolist(), ms_.tolist(), ss.tolist(), bp_.tolist(),
                               mp__.tolist(), pv.tolist(), cols["bb_pct"].tolist(), usp.tolist(), *pct,
                               strict=True))
        pv_tot = int(cols["page_views"].sum())
        bb_tot = round(float((cols["page_views"] * cols["bb_pct"]).sum() / pv_tot), 2) if pv_tot else 0.0
        doc = {
            "reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                                    "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
                                    "dataStartTime": d, "dataEndTime": d, "marketplaceIds": [info["marketplace_id"]]},
            "salesAndTrafficByDate": [{
                "date": d,
                "salesByDate": _sales_by_date(cols, int(part["units_refunded"].sum()), cur),
                "trafficByDate": _traffic_by_date(ss, pv, pv_tot, bb_tot, cols)}],
            "salesAndTrafficByAsin": [],
        }
        text = json.dumps(doc, separators=(",", ":"))
        assert text.endswith('"salesAndTrafficByAsin":[]}')
        body = (text[:-2] + by_asin + "]}").encode("utf-8")
        name = f"GET_SALES_AND_TRAFFIC_REPORT_{d}.json"
        if gz_every and k % gz_every == gz_every - 1:
            path = folder / (name + ".gz")
            path.write_bytes(gzip.compress(body, compresslevel=1))
        else:
            path = folder / name
            path.write_bytes(body)
        out.append(path)
    return out


def _ads_frame(cat: pd.DataFrame, g: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    i = g["i"].to_numpy()
    n = len(g)
    share = cat["ad_share"].to_numpy()[i]
    acos = cat["acos"].to_numpy()[i]
    price = g["price"].to_numpy()
    units = g["units"].to_numpy()
    ad_units = rng.binomial(units, share)
    ad_orders = np.maximum(ad_units - rng.binomial(ad_units, 0.05), np.minimum(ad_units, 1))
    ad_sales = np.round(ad_units * price, 2)
    live = units > 0
    base = np.where(ad_sales > 0, ad_sales, price * share * 0.5)
    spend = np.where(live, np.round(acos * base * rng.lognormal(0, 0.1, n), 2), 0.0)
    cpc = np.round(rng.uniform(0.6, 1.4, n) * (1.0 if price.mean() < 100 else 9.0), 2)
    clicks = np.where(spend > 0, np.maximum(np.round(spend / cpc), 1), 0).astype(int)
    impressions = np.round(clicks / rng.uniform(0.003, 0.006, n)).astype(int)
    extra14_units = rng.binomial(np.maximum(units - ad_units, 0), 0.08)
    return pd.DataFrame({"date": g["date"].to_numpy(), "i": i, "ad_spend": spend, "ad_clicks": clicks,
                         "ad_impressions": impressions, "ad_sales": ad_sales, "ad_orders": ad_orders,
                         "ad_units": ad_units, "ad_sales_14d": np.round(ad_sales + extra14_units * price, 2),
                         "ad_orders_14d": ad_orders + extra14_units, "ad_units_14d": ad_units + extra14_units})


# The demo's campaigns per marketplace: a brand-defence one (low ACoS on the brand's own searches), a launch one
# (new-tier ASINs bought into traffic at a high ACoS) and an always-on one (everything, automatic targeting). Ids
# as the Ads API gives them; portfolios group them. MX's launch campaign is renamed for Buen Fin during the month:
# reports downloaded before the rename carry the old name, later ones the new (the id stays).
DEMO_CAMPAIGNS: dict[str, dict[str, dict[str, Any]]] = {
    "US": {
        "brand": {"id": "310000000000101", "names": ("SP - Brand Defense - Exact",),
                  "portfolio": ("210000000000001", "Core catalog"), "groups": [("410000000000101", "Brand terms")]},
        "launch": {"id": "310000000000102", "names": ("SP - Launch - New Arrivals",),
                   "portfolio": ("210000000000002", "Launches"),
                   "groups": [("410000000000102", "Auto"), ("410000000000103", "Competitor ASINs")]},
        "always": {"id": "310000000000103", "names": ("SP - Always On - Auto",),
                   "portfolio": ("210000000000001", "Core catalog"), "groups": [("410000000000104", "Auto")]},
    },
    "MX": {
        "brand": {"id": "320000000000101", "names": ("SP - Defensa de marca - Exacta",),
                  "portfolio": ("220000000000001", "Catálogo principal"),
                  "groups": [("420000000000101", "Términos de marca")]},
        "launch": {"id": "320000000000102", "names": ("SP - Lanzamiento - Novedades", "SP - Lanzamiento - Buen Fin"),
                   "portfolio": ("220000000000002", "Lanzamientos"),
                   "groups": [("420000000000102", "Automática"), ("420000000000103", "ASIN de competidores")]},
        "always": {"id": "320000000000103", "names": ("SP - Siempre activa - Automática",),
                   "portfolio": ("220000000000001", "Catálogo principal"),
                   "groups": [("420000000000104", "Automática")]},
    },
}
RENAMED_ON_DAY = 10          # MX's launch campaign carries its new name from this day of the month on
# (goal, tier) → (share of the ASIN's ad sales, share of its spend) the goal's campaign takes; the always-on
# campaign gets the rest
_GOAL_SHARES = {("brand", "mature"): (0.45, 0.12), ("launch", "new"): (0.55, 0.75)}
_COUNT_METRICS = ("ad_clicks", "ad_impressions", "ad_orders", "ad_units", "ad_orders_14d", "ad_units_14d")


def _split_campaigns(cat: pd.DataFrame, ads: pd.DataFrame) -> pd.DataFrame:
    """Each ASIN-day row over the demo's campaigns: mature ASINs share theirs with the brand-defence campaign
    (much of the sales, little of the spend), new ones with the launch campaign (most of the spend); the
    always-on campaign gets every remainder, so an ASIN's totals stay what they were. Columns ``goal`` and
    ``group`` (the ad group's index in :data:`DEMO_CAMPAIGNS`)."""
    tier = cat["tier"].to_numpy()[ads["i"].to_numpy()]
    rest = ads.copy()
    rest["goal"], rest["group"] = "always", 0
    parts = [rest]
    for (goal, t), (sales_share, spend_share) in _GOAL_SHARES.items():
        sel = (tier == t) & (ads["ad_clicks"] > 1).to_numpy()
        if not sel.any():
            continue
        part = ads.loc[sel].copy()
        for c, share in (("ad_sales", sales_share), ("ad_sales_14d", sales_share), ("ad_spend", spend_share)):
            part[c] = np.round(part[c].to_numpy() * share, 2)
            rest.loc[sel, c] = np.round(rest.loc[sel, c].to_numpy() - part[c].to_numpy(), 2)
        for c in _COUNT_METRICS:
            share = spend_share if c in ("ad_clicks", "ad_impressions") else sales_share
            part[c] = np.floor(part[c].to_numpy() * share).astype(int)
            rest.loc[sel, c] = rest.loc[sel, c].to_numpy() - part[c].to_numpy()
        part["goal"] = goal
        part["group"] = (part["i"] % 2).to_numpy() if goal == "launch" else 0
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["date", "i", "goal"], kind="stable").reset_index(drop=True)


def _campaign_names(mp: str, ads: pd.DataFrame) -> dict[str, np.ndarray]:
    """Campaign, ad group and portfolio of each row (the name the campaign had on the row's day)."""
    plan = DEMO_CAMPAIGNS[mp]
    goal, group = ads["goal"].to_numpy(), ads["group"].to_numpy()
    day = pd.to_datetime(ads["date"]).dt.day.to_numpy()
    renamed = day >= RENAMED_ON_DAY

    def pick(fn) -> np.ndarray:
        return np.array([fn(plan[g], k, r) for g, k, r in zip(goal, group, renamed, strict=True)], dtype=object)

    return {"campaign_id": pick(lambda c, k, r: c["id"]),
            "campaign_name": pick(lambda c, k, r: c["names"][min(int(r), len(c["names"]) - 1)]),
            "ad_group_id": pick(lambda c, k, r: c["groups"][k][0]),
            "ad_group_name": pick(lambda c, k, r: c["groups"][k][1]),
            "portfolio_id": pick(lambda c, k, r: c["portfolio"][0]),
            "portfolio_name": pick(lambda c, k, r: c["portfolio"][1])}


def _ratios(ads: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """CTR %, CPC, ACoS %, RoAS and conversion % of each row, as the console shows them (NaN where undefined)."""
    spend, sales, clicks, imp = ads["ad_spend"], ads["ad_sales"], ads["ad_clicks"], ads["ad_impressions"]
    ctr = np.where(imp > 0, clicks / imp.where(imp > 0, 1) * 100, 0.0)
    cpc = np.where(clicks > 0, spend / clicks.where(clicks > 0, 1), np.nan)
    acos = np.where(sales > 0, spend / sales.where(sales > 0, 1) * 100, np.nan)
    roas = np.where(spend > 0, sales / spend.where(spend > 0, 1), 0.0)
    conv = np.where(clicks > 0, ads["ad_orders"] / clicks.where(clicks > 0, 1) * 100, 0.0)
    return ctr, cpc, acos, roas, conv


def _write_ads_classic_csv(path: Path, mp: str, cat: pd.DataFrame, ads: pd.DataFrame, currency: str) -> None:
    """The classic console's daily Advertised product CSV: campaigns and ad groups by name only."""
    dates = pd.to_datetime(ads["date"]).dt.strftime("%b %d, %Y")
    spend, sales, clicks, imp = ads["ad_spend"], ads["ad_sales"], ads["ad_clicks"], ads["ad_impressions"]
    ctr, cpc, acos, roas, conv = _ratios(ads)
    i = ads["i"].to_numpy()
    names = _campaign_names(mp, ads)

    def money(x):
        return ["$" + f"{v:,.2f}" for v in x]

    df = pd.DataFrame({
        "Date": dates, "Portfolio name": names["portfolio_name"], "Currency": currency,
        "Campaign Name": names["campaign_name"], "Ad Group Name": names["ad_group_name"],
        "Advertised SKU": cat["sku"].to_numpy()[i], "Advertised ASIN": cat["asin"].to_numpy()[i],
        "Impressions": [f"{v:,}" for v in imp], "Clicks": clicks.to_numpy(),
        "Click-Thru Rate (CTR)": [f"{v:.4f}%" for v in ctr],
        "Cost Per Click (CPC)": ["" if np.isnan(v) else f"${v:.2f}" for v in cpc],
        "Spend": money(spend), "7 Day Total Sales ": money(sales),
        "Total Advertising Cost of Sales (ACoS) ": ["" if np.isnan(v) else f"{v:.2f}%" for v in acos],
        "Total Return on Advertising Spend (RoAS)": [f"{v:.2f}" for v in roas],
        "7 Day Total Orders (#)": ads["ad_orders"].to_numpy(), "7 Day Total Units (#)": ads["ad_units"].to_numpy(),
        "7 Day Conversion Rate": [f"{v:.4f}%" for v in conv],
        "7 Day Advertised SKU Units (#)": ads["ad_units"].to_numpy(), "7 Day Other SKU Units (#)": 0,
        "7 Day Advertised SKU Sales ": money(sales), "7 Day Other SKU Sales ": "$0.00",
    })[ADS_CLASSIC_HEADER]
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def _write_ads_console_2026_csv(path: Path, mp: str, cat: pd.DataFrame, ads: pd.DataFrame, currency: str) -> None:
    """The 2026 console's Advertised product export, one day per row (``Date range`` of one day), downloaded at
    the end: every row carries the campaign's current name, and ids as Excel guards ``="…"``."""
    day = pd.to_datetime(ads["date"]).dt.strftime("%b %d, %Y")
    names = _campaign_names(mp, ads)
    plan = DEMO_CAMPAIGNS[mp]
    current = {c["id"]: c["names"][-1] for c in plan.values()}
    spend, sales = ads["ad_spend"], ads["ad_sales"]
    ctr, _, _, roas, conv = _ratios(ads)
    i = ads["i"].to_numpy()

    def guard(values):
        return [f'="{v}"' for v in values]

    df = pd.DataFrame({
        "Budget currency": currency, "Date range": day + " - " + day,
        "Advertiser account ID": '="amzn1.ads-account.g.demo"', "Advertiser account name": "Demo",
        "Portfolio ID": names["portfolio_id"], "Portfolio name": names["portfolio_name"],
        "Campaign ID": guard(names["campaign_id"]),
        "Campaign name": [current[c] for c in names["campaign_id"]],
        "Ad group ID": guard(names["ad_group_id"]), "Ad group name": names["ad_group_name"],
        "Advertised product ID": cat["asin"].to_numpy()[i], "Advertised product name": cat["title"].to_numpy()[i],
        "Advertised product SKU": cat["sku"].to_numpy()[i],
        "Advertised product marketplace": MARKETPLACES[mp]["sales_channel"].upper(),
        "Impressions": ads["ad_impressions"].to_numpy(), "Clicks": ads["ad_clicks"].to_numpy(),
        "CTR": [f"{v:.4f}%" for v in ctr], "Total cost": [f"{v:.2f}" for v in spend],
        "Purchases": ads["ad_orders"].to_numpy(), "Sales": [f"{v:.2f}" for v in sales],
        "Units sold": ads["ad_units"].to_numpy(), "Purchase rate": [f"{v:.4f}%" for v in conv],
        "ROAS": [f"{v:.5f}" for v in roas],
    })
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _write_ads_api_json(path: Path, mp: str, cat: pd.DataFrame, ads: pd.DataFrame, currency: str) -> None:
    """Ads API v3 ``spAdvertisedProduct`` rows (gzip JSON) with their campaign, ad group and portfolio ids."""
    names = _campaign_names(mp, ads)
    i = ads["i"].to_numpy()
    cols = {c: ads[c].to_numpy() for c in ("ad_spend", "ad_sales", "ad_sales_14d", "ad_impressions", "ad_clicks",
                                           "ad_orders", "ad_orders_14d", "ad_units", "ad_units_14d")}
    rows = []
    for k, d in enumerate(pd.to_datetime(ads["date"]).dt.strftime("%Y-%m-%d")):
        ii = i[k]
        spend, sales7, sales14 = float(cols["ad_spend"][k]), float(cols["ad_sales"][k]), float(cols["ad_sales_14d"][k])
        rows.append({
            "date": d, "campaignId": int(names["campaign_id"][k]), "campaignName": names["campaign_name"][k],
            "adGroupId": int(names["ad_group_id"][k]), "adGroupName": names["ad_group_name"][k],
            "portfolioId": int(names["portfolio_id"][k]), "advertisedAsin": cat["asin"].iat[ii],
            "advertisedSku": cat["sku"].iat[ii], "impressions": int(cols["ad_impressions"][k]),
            "clicks": int(cols["ad_clicks"][k]), "cost": spend, "spend": spend,
            "campaignBudgetCurrencyCode": currency,
            "purchases7d": int(cols["ad_orders"][k]), "purchases14d": int(cols["ad_orders_14d"][k]),
            "unitsSoldClicks7d": int(cols["ad_units"][k]), "unitsSoldClicks14d": int(cols["ad_units_14d"][k]),
            "sales7d": sales7, "sales14d": sales14,
            "acosClicks7d": round(spend / sales7 * 100, 2) if sales7 else None,
            "roasClicks7d": round(sales7 / spend, 2) if spend else 0.0,
        })
    path.write_bytes(gzip.compress(json.dumps(rows).encode("utf-8"), compresslevel=1))


def write_ads(folder: Path, mp: str, cat: pd.DataFrame, ads: pd.DataFrame, days: list[dt.date], how: str) -> list[Path]:
    """The demo's Sponsored Products data as the seller gets it: ``how`` = ``console`` (the classic console's
    daily CSV), ``console_2026`` (the 2026 console's export, with ids) or ``api`` (Ads API v3 gzip JSON; a
    campaign renamed during the month makes two documents, as the API source's cache of settled days would:
    the days before the rename under the old name)."""
    cur = MARKETPLACES[mp]["currency"]
    span = f"{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}"
    if how == "console":
        path = folder / f"Sponsored_Products_Advertised_product_report_{span}.csv"
        _write_ads_classic_csv(path, mp, cat, ads, cur)
        return [path]
    if how == "console_2026":
        path = folder / f"Sponsored_Products_Advertised_product_report_{span}.csv"
        _write_ads_console_2026_csv(path, mp, cat, ads, cur)
        return [path]
    renamed = any(len(c["names"]) > 1 for c in DEMO_CAMPAIGNS[mp].values())
    day = pd.to_datetime(ads["date"]).dt.day
    cut = [(ads[day < RENAMED_ON_DAY], days[0], min(days[-1], days[0].replace(day=RENAMED_ON_DAY - 1))),
           (ads[day >= RENAMED_ON_DAY], days[0].replace(day=RENAMED_ON_DAY), days[-1])] \
        if renamed and days[0].day < RENAMED_ON_DAY <= days[-1].day else [(ads, days[0], days[-1])]
    out = []
    for part, a, b in cut:
        path = folder / f"spAdvertisedProduct_{a:%Y%m%d}-{b:%Y%m%d}.json.gz"
        _write_ads_api_json(path, mp, cat, part, cur)
        out.append(path)
    return out


def _local_to_utc_strings(mp: str, dates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random local times 03:00–22:59 on the given local days, as Amazon's ISO UTC strings."""
    secs = rng.integers(3 * 3600, 23 * 3600, len(dates))
    local = pd.DatetimeIndex(pd.to_datetime(dates)) + pd.to_timedelta(secs, unit="s")
    utc = local.tz_localize(MARKETPLACES[mp]["tz"]).tz_convert("UTC").tz_localize(None)
    return np.array([t + "+00:00" for t in np.datetime_as_string(utc.to_numpy().astype("datetime64[s]"),
                                                                 unit="s").tolist()], dtype=object)


def _order_lines(mp: str, cat: pd.DataFrame, g: pd.DataFrame, rng: np.random.Generator,
                 last_days: int = 2, cancel_share: float = 0.02) -> pd.DataFrame:
    """One line per order item, consistent with the S&T units/orders: each (day, asin) has `orders` lines
    carrying `units` units in total."""
    sel = g["orders"].to_numpy() > 0
    gg = g.loc[sel]
    n_lines = gg["orders"].to_numpy()
    rep = np.repeat(np.arange(len(gg)), n_lines)
    first = np.r_[True, rep[1:] != rep[:-1]]
    qty = np.where(first, (gg["units"].to_numpy() - gg["orders"].to_numpy() + 1)[rep], 1)
    lines = pd.DataFrame({"date": gg["date"].to_numpy()[rep], "i": gg["i"].to_numpy()[rep], "quantity": qty,
                          "unit_price": gg["price"].to_numpy()[rep]})
    n = len(lines)
    last = lines["date"].max()
    recent = (lines["date"] > last - pd.Timedelta(days=last_days)).to_numpy()
    pending = recent & (rng.random(n) < 0.3)
    lines["status"] = np.where(pending, "Pending", "Shipped")
    lines["item_status"] = np.where(pending, "Unshipped", "Shipped")
    k = max(1, int(n * cancel_share))
    canc = lines.sample(n=min(k, n), random_state=int(rng.integers(0, 2**31))).copy() if n else lines.copy()
    canc["status"], canc["item_status"], canc["quantity"] = "Cancelled", "Cancelled", 0
    lines = pd.concat([lines, canc], ignore_index=True)
    n = len(lines)
    lines["channel"] = np.where(rng.random(n) < 0.92, "Amazon", "Merchant")
    price = np.round(lines["quantity"] * lines["unit_price"], 2)
    tax = np.round(price * 0.16 / 1.16, 2) if mp == "MX" else np.round(price * 0.0825, 2)
    blank = lines["status"].isin(["Pending", "Cancelled"]).to_numpy()
    lines["item_price"] = np.where(blank, "", [f"{v:.2f}" for v in price])
    lines["item_tax"] = np.where(blank, "", [f"{v:.2f}" for v in tax])
    lines["price_value"] = np.where(blank, 0.0, price)
    lines["tax_value"] = np.where(blank, 0.0, tax)
    return lines


def _write_orders(path: Path, mp: str, cat: pd.DataFrame, lines: pd.DataFrame, rng: np.random.Generator,
                  encoding: str) -> None:
    n = len(lines)
    purchase = _local_to_utc_strings(mp, lines["date"].to_numpy(), rng)
    order = np.argsort(purchase, kind="stable") if n < 50_000 else np.arange(n)   # big files: day order is enough
    lines = lines.iloc[order]
    purchase = purchase[order].tolist()
    i = lines["i"].to_numpy()
    places = _MX_PLACES if mp == "MX" else _US_PLACES
    pick = rng.integers(0, len(places), n)
    prefix = "701" if mp == "MX" else "113"
    ids = [f"{prefix}-{a:07d}-{b:07d}" for a, b in zip(range(1000000, 1000000 + n),
                                                     rng.integers(0, 10**7, n).tolist(), strict=True)]
    status = lines["status"].tolist()
    shipped = ["0.00" if st not in ("Pending", "Cancelled") else "" for st in status]
    blank = [""] * n
    cols: dict[str, list[str]] = {
        "amazon-order-id": ids, "merchant-order-id": blank, "purchase-date": purchase, "last-updated-date": purchase,
        "order-status": status, "fulfillment-channel": lines["channel"].tolist(),
        "sales-channel": [MARKETPLACES[mp]["sales_channel"]] * n, "order-channel": blank, "url": blank,
        "ship-service-level": np.where(rng.random(n) < 0.3, "Expedited", "Standard").tolist(),
        "product-name": cat["title"].to_numpy()[i].tolist(), "sku": cat["sku"].to_numpy()[i].tolist(),
        "asin": cat["asin"].to_numpy()[i].tolist(), "item-status": lines["item_status"].tolist(),
        "quantity": [str(q) for q in lines["quantity"].tolist()], "currency": [MARKETPLACES[mp]["currency"]] * n,
        "item-price": list(map(str, lines["item_price"].tolist())), "item-tax": list(map(str, lines["item_tax"].tolist())),
        "shipping-price": shipped, "shipping-tax": shipped, "gift-wrap-price": blank, "gift-wrap-tax": blank,
        "item-promotion-discount": shipped, "ship-promotion-discount": shipped,
        "ship-city": [places[k][0] for k in pick.tolist()], "ship-state": [places[k][1] for k in pick.tolist()],
        "ship-postal-code": [places[k][2] for k in pick.tolist()], "ship-country": [mp] * n,
        "promotion-ids": blank, "is-business-order": ["false"] * n, "purchase-order-number": blank,
        "price-designation": blank,
    }
    body = "\n".join(map("\t".join, zip(*(cols[c] for c in ORDERS_HEADER), strict=True)))
    text = "\t".join(ORDERS_HEADER) + "\n" + body + ("\n" if n else "")
    path.write_bytes(text.encode(encoding))


def _tsv_text(df: pd.DataFrame) -> str:
    """A flat file the way Amazon writes it: tab-separated, no quoting, ``\n`` (faster than ``to_csv``)."""
    cols = [df[c].astype(str).tolist() for c in df.columns]
    body = "\n".join(map("\t".join, zip(*cols, strict=True)))
    return "\t".join(df.columns) + "\n" + body + ("\n" if len(df) else "")


def _write_inventory(path: Path, cat: pd.DataFrame, rng: np.random.Generator) -> dict[str, float]:
    n = len(cat)
    ful = rng.integers(40, 900, n)
    ful = np.where(cat["stockout"], 0, ful)
    reserved = rng.integers(0, 40, n)
    working, shipped, receiving = rng.integers(0, 60, n), rng.integers(0, 200, n), rng.integers(0, 50, n)
    shipped = np.where(cat["stockout"], 300, shipped)
    rows = []
    for k in range(n):
        skus = [(cat["sku"].iat[k], 1.0)]
        if k == 2:       # one ASIN sold under two SKUs: the parser sums them
            skus = [(cat["sku"].iat[k], 0.6), (cat["sku"].iat[k] + "-B", 0.4)]
        left = [ful[k], reserved[k], working[k], shipped[k], receiving[k]]
        for j, (sku, share) in enumerate(skus):
            vals = left if j == len(skus) - 1 else [int(v * share) for v in left]
            if j < len(skus) - 1:
                left = [a - b for a, b in zip(left, vals, strict=True)]
            f, r, w, s, rc = (int(v) for v in vals)
            rows.append([sku, f"X00{k:07d}{j}", cat["asin"].iat[k], cat["title"].iat[k], "New",
                         f"{cat['price'].iat[k]:.2f}", "No", "", "Yes", f + r, f, 0, r, f + r + w + s + rc, "0.05",
                         w, s, rc, 0, 0, 0, ""])
    pd.DataFrame(rows, columns=INVENTORY_HEADER).to_csv(path, sep="\t", index=False, quoting=csv.QUOTE_NONE,
                                                        lineterminator="\n")
    return {"fulfillable_units": float(ful.sum()), "reserved_units": float(reserved.sum()),
            "inbound_units": float((working + shipped + receiving).sum())}


def _write_returns(path: Path, mp: str, cat: pd.DataFrame, g: pd.DataFrame, rng: np.random.Generator,
                   encoding: str) -> float:
    units = g["units"].to_numpy()
    ret = rng.binomial(units, 0.03)
    sel = ret > 0
    rows = g.loc[sel, ["date", "i"]].copy()
    rows["quantity"] = ret[sel]
    n = len(rows)
    dates = _local_to_utc_strings(mp, rows["date"].to_numpy(), rng) if n else np.array([], dtype=str)
    i = rows["i"].to_numpy()
    prefix = "701" if mp == "MX" else "113"
    comments = (["talla incorrecta", "llegó dañado", "", "no me gustó"] if mp == "MX"
                else ["too small", "arrived damaged", "", "changed my mind"])
    df = pd.DataFrame({
        "return-date": dates, "order-id": [f"{prefix}-{2000000 + k:07d}-{k * 7 % 10**7:07d}" for k in range(n)],
        "sku": cat["sku"].to_numpy()[i], "asin": cat["asin"].to_numpy()[i],
        "fnsku": [f"X00{v:07d}0" for v in i], "product-name": cat["title"].to_numpy()[i],
        "quantity": rows["quantity"].to_numpy(), "fulfillment-center-id": rng.choice(["SAT4", "MIA1", "MEX1"], n),
        "detailed-disposition": rng.choice(["SELLABLE", "DEFECTIVE", "CUSTOMER_DAMAGED"], n),
        "reason": rng.choice(_REASONS, n), "status": "Unit returned to inventory",
        "license-plate-number": [f"LPNRR{k:09d}" for k in range(n)], "customer-comments": rng.choice(comments, n),
    })[RETURNS_HEADER]
    text = df.to_csv(sep="\t", index=False, quoting=csv.QUOTE_NONE, lineterminator="\n")
    path.write_bytes(text.encode(encoding))
    return float(ret.sum())


_LISTING_METRICS = ("listingPolicyViolations", "productAuthenticityCustomerComplaints",
                    "productConditionCustomerComplaints", "productSafetyCustomerComplaints",
                    "receivedIntellectualPropertyComplaints", "restrictedProductPolicyViolations",
                    "suspectedIntellectualPropertyViolations", "foodAndProductSafetyIssues", "otherPolicyViolations",
                    "documentRequests")


def _other_health(win: Any, mfn: int, tracked: int) -> dict:
    """The rest of what Amazon's schema requires, all in good standing (no random draws: the demo's figures
    do not change)."""
    good = {"status": "GOOD", "targetCondition": "GREATER_THAN"}
    out: dict[str, Any] = {
        "invoiceDefectRate": {"reportingDateRange": win(7), "orderCount": mfn, "invoiceDefect": {"count": 0,
                              "status": "NONE"}, "missingInvoice": {"count": 0, "status": "NONE"},
                              "lateInvoice": {"count": 0, "status": "NONE"}, "status": "GOOD", "rate": 0.0,
                              "targetValue": 0.05, "targetCondition": "LESS_THAN"},
        "onTimeDeliveryRate": {"reportingDateRange": win(30), "shipmentCountWithValidTracking": tracked,
                               "onTimeDeliveryCount": tracked, "rate": 1.0 if tracked else 0.0, "targetValue": 0.95,
                               **good},
        "unitOnTimeDeliveryRate": {"reportingDateRange": win(30), "unitOnTimeDeliveryCount": tracked,
                                   "totalUnitCount": tracked, "rate": 1.0 if tracked else 0.0, "targetValue": 0.9,
                                   **good},
    }
    for key in _LISTING_METRICS:
        out[key] = {"reportingDateRange": win(180), "defectsCount": 0, "status": "GOOD", "targetValue": 0,
                    "targetCondition": "EQUALS"}
    return out


def _write_performance(path: Path, mp: str, lines: pd.DataFrame, through: dt.date,
                       rng: np.random.Generator) -> dict[str, Any]:
    live = lines.loc[lines["status"] != "Cancelled"]
    afn = int((live["channel"] == "Amazon").sum()) * 2      # a 60-day window ≈ two months of orders
    mfn = int((live["channel"] == "Merchant").sum()) * 2
    afn_def, mfn_def = int(rng.integers(1, 6)), int(rng.integers(0, 3))
    afn_claims, mfn_claims = min(afn_def, 1), min(mfn_def, 1)
    late_n, late_c = mfn, int(rng.integers(0, 4))
    canc_n, canc_c = mfn, int(rng.integers(0, 2))
    vtr_n = mfn
    vtr_c = max(vtr_n - int(rng.integers(0, 3)), 0)

    def win(days: int) -> dict:
        start = through - dt.timedelta(days=days - 1)
        return {"reportingDateFrom": f"{start.isoformat()}T00:00Z", "reportingDateTo": f"{through.isoformat()}T23:59Z"}

    def odr(kind: str, n: int, d: int, c: int) -> dict:
        return {"reportingDateRange": win(60), "orderCount": n, "orderWithDefects": {"count": d, "status": "GOOD"},
                "claims": {"count": c, "status": "NONE"}, "chargebacks": {"count": 0, "status": "NONE"},
                "negativeFeedback": {"count": d - c, "status": "NONE"}, "fulfillmentType": kind, "status": "GOOD",
                "rate": round(d / n, 4) if n else 0.0, "targetValue": 0.01, "targetCondition": "LESS_THAN"}

    mp_id = MARKETPLACES[mp]["marketplace_id"]
    doc = {"accountStatuses": [{"marketplaceId": mp_id, "status": "NORMAL"}],
           "performanceMetrics": [{
               "marketplaceId": mp_id,
               "accountHealthRating": {"ahrStatus": "GREAT", "reportingDateRange": win(180)},
               "orderDefectRate": {"mfn": odr("mfn", mfn, mfn_def, mfn_claims), "afn": odr("afn", afn, afn_def,
                                                                                           afn_claims)},
               "lateShipmentRate": {"reportingDateRange": win(30), "orderCount": late_n, "lateShipmentCount": late_c,
                                    "status": "GOOD", "rate": round(late_c / late_n, 4) if late_n else 0.0,
                                    "targetValue": 0.04, "targetCondition": "LESS_THAN"},
               "preFulfillmentCancellationRate": {
                   "reportingDateRange": win(7), "orderCount": canc_n, "cancellationCount": canc_c, "status": "GOOD",
                   "rate": round(canc_c / canc_n, 4) if canc_n else 0.0, "targetValue": 0.025,
                   "targetCondition": "LESS_THAN"},
               "validTrackingRate": {"reportingDateRange": win(30), "shipmentCount": vtr_n,
                                     "validTrackingCount": vtr_c, "status": "GOOD",
                                     "rate": round(vtr_c / vtr_n, 4) if vtr_n else 0.0, "targetValue": 0.95,
                                     "targetCondition": "GREATER_THAN"},
               "warningStates": [],
               **_other_health(win, mfn, vtr_c),
           }]}
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    orders = afn + mfn
    return {"odr": {"rate": (afn_def + mfn_def) / orders if orders else None, "count": afn_def + mfn_def,
                    "orders": orders},
            "a_to_z_rate": {"rate": (afn_claims + mfn_claims) / orders if orders else None,
                            "count": afn_claims + mfn_claims, "orders": orders},
            "late_shipment_rate": {"rate": round(late_c / late_n, 4) if late_n else 0.0, "count": late_c,
                                   "orders": late_n},
            "cancel_rate": {"rate": round(canc_c / canc_n, 4) if canc_n else 0.0, "count": canc_c, "orders": canc_n},
            "valid_tracking_rate": {"rate": round(vtr_c / vtr_n, 4) if vtr_n else 0.0, "count": vtr_c,
                                    "orders": vtr_n}}


# --------------------------------------------------------------------------------------------- public API

DEMO_ADS_FROM = {"US": "console", "MX": "api"}


def write_demo_reports(root: Path, period: Period, data_through: dict[str, dt.date], seed: int = 7,
                       template: Path | None = None, ads_from: dict[str, str] | None = None) -> dict[str, Any]:
    """Write the demo data set under ``root/US`` and ``root/MX``; return a summary with the ground truth.

    ``data_through[mp]`` is the last local day with data (days after it get no files). ``ads_from[mp]`` says how
    the Sponsored Products data comes (:func:`write_ads`; default US from the console, MX from the API).
    Returns::

        {"files": {mp: [relative paths]}, "truth": {mp: {metric: total}}, "health": {mp: {kpi: {...}}},
         "days": {mp: (first, last)}, "products": {mp: [asins]}, "unassigned": {mp: [asins]},
         "stockout": {mp: asin}, "ad_heavy": {mp: asin}, "currency": {mp: iso},
         "ads": {mp: DataFrame of every ads row written, with its campaign, ad group and portfolio}}
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    summary: dict[str, Any] = {k: {} for k in ("files", "truth", "health", "days", "products", "unassigned",
                                               "stockout", "ad_heavy", "currency", "ads")}
    for mp in ("US", "MX"):
        through = data_through.get(mp, period.end) if data_through else period.end
        days = _days_for(period, through)
        folder = root / mp
        folder.mkdir(parents=True, exist_ok=True)
        cat = _catalog(mp, rng, template)
        files: list[Path] = []
        truth = dict.fromkeys(TRUTH_METRICS, 0.0)
        if not days:
            summary["files"][mp], summary["truth"][mp] = [], truth
            continue
        g = _grid(mp, cat, days, period, rng)
        cur = MARKETPLACES[mp]["currency"]
        files += _write_sales_traffic(folder, mp, cat, g)
        truth.update(gmv=float(g["gmv"].sum()), units=float(g["units"].sum()), orders=float(g["orders"].sum()),
                     sessions=float(g["sessions"].sum()), page_views=float(g["page_views"].sum()),
                     buy_box_views=float((g["page_views"] * g["bb_pct"] / 100.0).sum()),
                     units_refunded=float(g["units_refunded"].sum()))
        ads = _split_campaigns(cat, _ads_frame(cat, g, rng))
        ads = ads.loc[(ads["ad_impressions"] > 0) | (ads["ad_spend"] > 0)]
        how = (ads_from or DEMO_ADS_FROM)[mp]
        files += write_ads(folder, mp, cat, ads, days, how)
        for m in ("ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions", "ad_sales_14d"):
            truth[m] = float(ads[m].sum())
        if how != "api":      # the console's reports have the 7-day window only
            del truth["ad_sales_14d"]
        summary["ads"][mp] = ads.assign(**_campaign_names(mp, ads))
        lines = _order_lines(mp, cat, g, rng)
        enc = "cp1252" if mp == "MX" else "utf-8"
        path = folder / f"GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL_{days[0]:%Y%m%d}.tsv"
        _write_orders(path, mp, cat, lines, rng, enc)
        files.append(path)
        live = lines["status"] != "Cancelled"
        truth.update(order_units=float(lines.loc[live, "quantity"].sum()),
                     order_sales=float(lines.loc[live, "price_value"].sum()),
                     order_tax=float(lines.loc[live, "tax_value"].sum()),
                     fba_units=float(lines.loc[live & (lines["channel"] == "Amazon"), "quantity"].sum()),
                     units_cancelled=float((~live).sum()))
        path = folder / "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA.tsv"
        truth.update(_write_inventory(path, cat, rng))
        files.append(path)
        path = folder / f"GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA_{days[0]:%Y%m%d}.tsv"
        truth["units_returned"] = _write_returns(path, mp, cat, g, rng, enc)
        files.append(path)
        path = folder / "GET_V2_SELLER_PERFORMANCE_REPORT.json"
        summary["health"][mp] = _write_performance(path, mp, lines, days[-1], rng)
        files.append(path)
        summary["files"][mp] = [str(p.relative_to(root)) for p in files]
        summary["truth"][mp] = truth
        summary["days"][mp] = (days[0], days[-1])
        summary["products"][mp] = cat["asin"].iloc[:-2].tolist()
        summary["unassigned"][mp] = cat["asin"].iloc[-2:].tolist()
        summary["stockout"][mp] = cat.loc[cat["stockout"], "asin"].iat[0]
        summary["ad_heavy"][mp] = cat.loc[cat["ad_heavy"], "asin"].iat[0]
        summary["currency"][mp] = cur
    return summary


def write_large_workload(root: Path, asins: int = 5000, days: int = 31, order_lines: int = 300_000,
                         marketplaces: tuple[str, ...] = ("US", "MX"), start: dt.date = dt.date(2026, 10, 1),
                         seed: int = 11) -> dict[str, Any]:
    """The benchmark workload: per marketplace ``days`` daily GET_SALES_AND_TRAFFIC_REPORT JSON files with
    ``asins`` ASINs each, plus ``order_lines`` order lines in total (split evenly over the marketplaces) in one
    orders TSV per marketplace, and a full FBA inventory and customer returns file per marketplace. Returns {"files": {mp: [paths]}, "truth": {mp: {"gmv", "units", "order_units"}}}."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"files": {}, "truth": {}}
    for mp in marketplaces:
        folder = root / mp
        folder.mkdir(parents=True, exist_ok=True)
        cat = pd.DataFrame({"asin": [f"B0{mp}{k:06d}" for k in range(asins)],
                            "sku": [f"{mp}-SKU-{k:06d}" for k in range(asins)],
                            "category": "Bench", "tier": "mature"})
        cat["price"] = np.round(rng.uniform(10, 60, asins), 2) if mp != "MX" else rng.choice([299.0, 499.0], asins)
        cat["title"] = "Bench " + cat["sku"]
        period_days = [start + dt.timedelta(days=k) for k in range(days)]
        n = asins * days
        idx = np.tile(np.arange(asins), days)
        g = pd.DataFrame({"date": pd.to_datetime(np.repeat(np.array(period_days, dtype="datetime64[D]"), asins)),
                          "i": idx})
        g["price"] = cat["price"].to_numpy()[idx]
        g["units"] = rng.poisson(1.2, n)
        g["orders"] = np.minimum(g["units"], 1 + rng.poisson(0.5, n))
        g["sessions"] = g["units"] * 9 + rng.poisson(4, n)
        g["page_views"] = np.round(g["sessions"] * 1.3).astype(int)
        g["bb_pct"] = np.round(rng.uniform(90, 100, n), 2)
        g["gmv"] = np.round(g["units"] * g["price"], 2)
        g["units_refunded"] = 0
        files = _write_sales_traffic(folder, mp, cat, g, gz_every=0)
        per_mp = order_lines // len(marketplaces)
        ii = rng.integers(0, asins, per_mp)
        lines = pd.DataFrame({"date": pd.to_datetime(np.array(period_days, dtype="datetime64[D]")[
            rng.integers(0, days, per_mp)]), "i": ii, "quantity": 1 + rng.poisson(0.1, per_mp),
            "unit_price": cat["price"].to_numpy()[ii], "status": "Shipped", "item_status": "Shipped"})
        lines["channel"] = "Amazon"
        price = np.round(lines["quantity"] * lines["unit_price"], 2)
        lines["item_price"] = np.char.mod("%.2f", price.to_numpy())
        lines["item_tax"] = np.char.mod("%.2f", np.round(price.to_numpy() * 0.08, 2))
        path = folder / "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.tsv"
        _write_orders(path, mp, cat, lines, rng, "utf-8")
        cat["stockout"] = np.arange(asins) % 97 == 0
        inventory = folder / "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA.tsv"
        _write_inventory(inventory, cat, rng)
        returns = folder / "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA.tsv"
        _write_returns(returns, mp, cat, g, rng, "utf-8")
        out["files"][mp] = [*files, path, inventory, returns]
        out["truth"][mp] = {"gmv": float(g["gmv"].sum()), "units": float(g["units"].sum()),
                            "order_units": float(lines["quantity"].sum())}
    return out
