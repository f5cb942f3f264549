"""Column names and frame contracts shared by sources, compute and sheets.

Sources turn each report (a downloaded file or an API document) into one :class:`ReportBatch`.
Compute never sees files: it sees batches, de-duplicated by :func:`sheets_sync.compute.actuals.select_batches`.

Money columns (:data:`MONEY_METRICS`) are in the report's own currency (``ReportBatch.currency``) and as Amazon
reports them (MX item prices include IVA). Conversion to the base currency and the tax basis happen in compute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

MARKETPLACES: dict[str, dict[str, str]] = {
    "US": {"marketplace_id": "ATVPDKIKX0DER", "currency": "USD", "tz": "America/Los_Angeles",
           "sales_channel": "Amazon.com"},
    "MX": {"marketplace_id": "A1AM78C64UM0Y8", "currency": "MXN", "tz": "America/Mexico_City",
           "sales_channel": "Amazon.com.mx"},
    # Mercado Libre México (a second store in Mexico, see sheets_sync/stores.py); "marketplace_id" is its site id.
    "MLM": {"marketplace_id": "MLM", "currency": "MXN", "tz": "America/Mexico_City",
            "sales_channel": "Mercado Libre México", "store": "mercadolibre"},
    # Walmart (see sheets_sync/stores.py and docs/walmart.md). Walmart's US Orders API dates its orders in UTC
    # (epoch milliseconds) and names no seller time zone, so a Walmart US day is a UTC day; Walmart México's
    # answers carry Mexico City's offset (−06:00). "marketplace_id" is Walmart's WM_MARKET value.
    "WMUS": {"marketplace_id": "us", "currency": "USD", "tz": "UTC", "sales_channel": "Walmart.com",
             "store": "walmart"},
    "WMMX": {"marketplace_id": "mx", "currency": "MXN", "tz": "America/Mexico_City",
             "sales_channel": "Walmart.com.mx", "store": "walmart"},
}
AMAZON_MARKETPLACES: tuple[str, ...] = tuple(k for k, v in MARKETPLACES.items() if v.get("store", "amazon") == "amazon")
MARKETPLACE_BY_ID = {v["marketplace_id"]: k for k, v in MARKETPLACES.items()}

# Additive metrics: summed over ASINs and days.
ADDITIVE_METRICS: tuple[str, ...] = (
    "gmv", "units", "orders", "sessions", "page_views", "buy_box_views",
    "units_refunded", "refunded_sales",
    "ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions",
    "fba_units", "order_units", "order_sales", "order_tax", "units_cancelled",
    "units_returned",
    "visits", "ml_fees", "ml_shipping_cost",     # Mercado Libre: listing visits, cargo por venta, envío
    "full_units",                                 # Mercado Libre: units of sales shipped from Full
)
# Snapshot metrics: FBA inventory at data_through; summed over ASINs, never over days.
SNAPSHOT_METRICS: tuple[str, ...] = ("fulfillable_units", "inbound_units", "reserved_units")
ALL_METRICS: tuple[str, ...] = ADDITIVE_METRICS + SNAPSHOT_METRICS
# In the report's currency until compute converts them.
MONEY_METRICS: frozenset[str] = frozenset({"gmv", "refunded_sales", "ad_spend", "ad_sales", "order_sales", "order_tax",
                                           "ml_fees", "ml_shipping_cost"})

# Report families: which metrics each family supplies. Batches of one family are de-duplicated against each other.
FAMILIES: dict[str, tuple[str, ...]] = {
    "traffic": ("gmv", "units", "orders", "sessions", "page_views", "buy_box_views", "units_refunded",
                "ml_fees", "ml_shipping_cost", "full_units"),
    "visits": ("visits",),      # Mercado Libre listing visits (their own documents)
    "views": ("page_views",),   # Walmart's page views (Item Performance), apart from the orders' sales figures
    "ads": ("ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions"),
    "orders": ("fba_units", "order_units", "order_sales", "order_tax", "units_cancelled"),
    # Walmart's Returns API gives both the units returned and the units refunded, dated by the return
    "returns": ("units_returned", "units_refunded"),
    "inventory": SNAPSHOT_METRICS,
    "health": (),
}

# Columns of ReportBatch.asin_rows (metrics the family does not supply may be absent).
ASIN_KEY_COLUMNS: tuple[str, ...] = ("date", "asin", "sku", "title", "parent_asin")
# Columns of ReportBatch.daily_rows: "date" plus metrics.

# Columns of ReportBatch.campaign_rows (ads at campaign / ad-group grain) besides the "ads" metrics: text, "" when
# the report does not say (a console download without ids, a campaign report without ad groups).
CAMPAIGN_KEY_COLUMNS: tuple[str, ...] = ("date", "ad_product", "campaign_id", "campaign_name", "ad_group_id",
                                         "ad_group_name", "portfolio_id", "portfolio_name", "asin")
# Amazon's ad products: Sponsored Products, Sponsored Brands, Sponsored Display.
AD_PRODUCTS: tuple[str, ...] = ("SP", "SB", "SD")

# Account-health KPIs (GET_V2_SELLER_PERFORMANCE_REPORT): fractions 0..1, with counts.
HEALTH_KPIS: tuple[str, ...] = ("odr", "a_to_z_rate", "late_shipment_rate", "cancel_rate", "valid_tracking_rate")


@dataclass
class ReportBatch:
    """One parsed report: what it covers and its rows in canonical columns.

    * ``asin_rows``: one row per ASIN (and per day when ``date`` is set; ``date`` is NaT for a row that is a
      total over ``start..end``). Columns: :data:`ASIN_KEY_COLUMNS` + the family's metrics.
    * ``daily_rows``: account-level rows per marketplace-local day (``date`` + metrics), e.g. "Sales and
      Traffic by Date" or the by-date section of GET_SALES_AND_TRAFFIC_REPORT.
    * ``campaign_rows``: ads rows at campaign grain (:data:`CAMPAIGN_KEY_COLUMNS` + ads metrics, per day or a
      span total like ``asin_rows``); ``extras["campaign_level"]`` says whether they are per ``ad_group`` or per
      ``campaign`` (a campaign report without ad groups). An advertised-product report has both asin_rows and
      campaign_rows (its rows name their campaign and ad group); a campaign report only campaign_rows.
    * ``health``: for the account-health family, ``{kpi: {"rate": float, "count": int, "orders": int,
      "from": date, "to": date}}``.
    * ``start``/``end``: the marketplace-local days the report covers (inclusive); ``None`` when the file does
      not say (a Business Report child-item CSV): it is then taken to cover the sync period.
    """

    source: str                     # file name (relative to the reports dir) or API document id
    kind: str                       # detected layout, e.g. "business_child_item", "ads_sp_console_2026"
    family: str                     # key of FAMILIES
    marketplace: str | None         # "US" / "MX" when the content says so; else the folder decides
    currency: str | None = None     # ISO code of money columns, when the content says so
    start: dt.date | None = None
    end: dt.date | None = None
    asin_rows: pd.DataFrame | None = None
    daily_rows: pd.DataFrame | None = None
    campaign_rows: pd.DataFrame | None = None
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)   # e.g. return reasons per ASIN
    warnings: list[str] = field(default_factory=list)
    provisional_days: frozenset[dt.date] = frozenset()   # days Amazon may still revise / not ready
    fetched_at: float = 0.0         # mtime or download time; newer wins among duplicates

    @property
    def days(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class RawReport:
    """A report document before parsing: what both the file source and the API sources produce."""

    name: str                # a path relative to the reports dir, or "sp-api:<reportType>:<marketplace>:<start>..<end>"
    data: bytes              # decompressed or gzip bytes (parsers accept both)
    marketplace_hint: str | None = None   # from the folder (US/, MX/) or the API request
    fetched_at: float = 0.0
    charset: str | None = None            # when the transport said (HTTP Content-Type charset)
    provisional_days: frozenset[dt.date] = frozenset()
