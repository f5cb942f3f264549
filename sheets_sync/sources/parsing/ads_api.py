"""Ads API v3 report JSON rows (a bare array, or wrapped in rows/data/report): ``spAdvertisedProduct``, and the
campaign / ad-group reports ``spCampaigns`` (groupBy campaign or adGroup), ``sbCampaigns``, ``sbAdGroup``,
``sdCampaigns`` and ``sdAdGroup``.

Columns as Amazon's reporting pages list them (advertising.amazon.com/API/docs/en-us/guides/reporting/v3/
report-types/campaign, …/ad-group, …/columns): Sponsored Products name their attribution window
(``sales7d``, ``purchases14d``, ``unitsSoldClicks7d`` …); Sponsored Brands and Display do not — their ``sales``,
``purchases`` and ``unitsSold`` are "within 14 days of an ad click or view" (``salesClicks`` … the clicks only).
So SB / SD figures are 14-day whatever Settings ``ads_attribution`` says; the Sync Log says so. ``portfolioId``
is a column of the advertised-product report only (not of the campaign reports).

The rows do not say which report they are: the ad product comes from the document's name when it carries the
report type (the Ads API source names them ``ads:<reportTypeId>:…``), else from the columns (windowed names →
SP; ``salesPromotedClicks`` / ``impressionsViews`` / ``viewClickThroughRate`` → SD; ``salesPromoted`` /
``brandedSearches`` / ``video5SecondViews`` → SB), else it stays unknown with a note.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport, ReportBatch
from .ads_common import _ads_batch, campaign_batch
from .cells import MARKETPLACE_BY_CURRENCY, _parse_dates_flexible, _range_from_name
from .registry import json_layout, kinds

kinds(ads_sp_api_v3="ads", ads_campaign_api_v3="ads")
# Campaign columns of the v3 reports (Amazon's reporting "columns" page): ids are integers in the JSON.
API_CAMPAIGN_COLUMNS = {"campaign_id": "campaignId", "campaign_name": "campaignName", "ad_group_id": "adGroupId",
                        "ad_group_name": "adGroupName", "portfolio_id": "portfolioId"}
# reportTypeId → ad product, for the documents the Ads API source names after their report type
REPORT_AD_PRODUCT = {"spAdvertisedProduct": "SP", "spCampaigns": "SP", "sbCampaigns": "SB", "sbAdGroup": "SB",
                     "sdCampaigns": "SD", "sdAdGroup": "SD"}
_REPORT_IN_NAME = re.compile(r"(?<![A-Za-z])(" + "|".join(REPORT_AD_PRODUCT) + r")(?![A-Za-z])")
_SD_ONLY = ("salesPromotedClicks", "purchasesPromotedClicks", "impressionsViews", "viewClickThroughRate",
            "brandedSearchesViews", "addToCartViews")
_SB_ONLY = ("salesPromoted", "purchasesPromoted", "brandedSearches", "video5SecondViews", "longTermSales")


def _ids_or_text(s: pd.Series) -> pd.Series:
    """A v3 id (an integer, sometimes a float in a re-saved file) or a name as text; missing → ""."""
    def one(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()
    return s.map(one).astype(object)


def _rows(raw: RawReport, df: pd.DataFrame, notes: list[str], what: str) -> tuple[pd.DataFrame, Any, Any]:
    """Dates, campaign columns and spend / clicks / impressions of v3 rows; the covered range."""
    if "date" in df:
        start_d = end_d = _parse_dates_flexible(df["date"].astype(str))
    elif "startDate" in df and "endDate" in df:
        start_d = _parse_dates_flexible(df["startDate"].astype(str))
        end_d = _parse_dates_flexible(df["endDate"].astype(str))
    else:
        start_d = end_d = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
        notes.append("no date/startDate/endDate column: rows are a total over the requested range")
    rows = pd.DataFrame({"date": start_d.where(start_d == end_d)}, index=df.index)
    for name, src in API_CAMPAIGN_COLUMNS.items():
        if src in df:
            rows[name] = _ids_or_text(df[src])
    spend = _col(df, "cost", "spend")
    if spend is None:
        raise ReportFormatError(raw.name, f"an Ads API {what} report without 'cost'/'spend'; expected its v3 "
                                "columns (cost, clicks, impressions, sales…)")
    rows["ad_spend"] = spend
    for name, src in (("ad_clicks", "clicks"), ("ad_impressions", "impressions")):
        v = _col(df, src)
        rows[name] = v if v is not None else np.nan
    start = start_d.min() if start_d.notna().any() else None
    end = end_d.max() if end_d.notna().any() else None
    return rows, start, end


def _col(df: pd.DataFrame, *names: str) -> pd.Series | None:
    for n in names:
        if n in df:
            return pd.to_numeric(df[n], errors="coerce").astype("float64")
    return None


def _windowed(df: pd.DataFrame, rows: pd.DataFrame) -> None:
    """Sponsored Products' attributed columns, per window."""
    for w in ("7d", "14d"):
        for m, src in (("sales", f"sales{w}"), ("orders", f"purchases{w}"), ("units", f"unitsSoldClicks{w}")):
            v = _col(df, src)
            if v is not None:
                rows[f"ad_{m}_{w}"] = v


def _currency(raw: RawReport, df: pd.DataFrame) -> str | None:
    if "campaignBudgetCurrencyCode" not in df:
        return None
    vals = sorted({str(v).upper() for v in df["campaignBudgetCurrencyCode"].dropna() if str(v).strip()})
    if len(vals) > 1:
        raise ReportFormatError(raw.name, f"several currencies in one Ads report ({', '.join(vals)}); expected "
                                "one advertising profile per file")
    return vals[0] if vals else None


def _ads_api(raw: RawReport, doc: list) -> ReportBatch:
    df = pd.DataFrame.from_records(doc)
    notes: list[str] = []
    rows, start, end = _rows(raw, df, notes, "advertised-product")
    rows["asin"] = df["advertisedAsin"].fillna("").astype(str).str.strip().str.upper()
    rows["sku"] = df["advertisedSku"].fillna("").astype(str).str.strip() if "advertisedSku" in df else ""
    _windowed(df, rows)
    rows = rows.loc[rows["asin"] != ""]
    currency = _currency(raw, df)
    marketplace = MARKETPLACE_BY_CURRENCY.get(currency) if currency else None
    batch = _ads_batch(raw, rows, "ads_sp_api_v3", marketplace, currency, start, end, notes)
    batch.extras.update({"format": "json"})
    return batch


def ad_product_of(raw: RawReport, columns: Any) -> str | None:
    """SP / SB / SD from the document's name (``ads:sbAdGroup:MX:…``), else from its columns; None: unknown."""
    m = _REPORT_IN_NAME.search(raw.name or "")
    if m:
        return REPORT_AD_PRODUCT[m.group(1)]
    cols = set(columns)
    if any(re.fullmatch(r"(sales|purchases|unitsSoldClicks)(1|7|14|30)d", c) for c in cols):
        return "SP"
    if cols & set(_SD_ONLY):
        return "SD"
    if cols & set(_SB_ONLY):
        return "SB"
    return None


def _campaign_api(raw: RawReport, doc: list) -> ReportBatch:
    df = pd.DataFrame.from_records(doc)
    notes: list[str] = []
    rows, start, end = _rows(raw, df, notes, "campaign")
    product = ad_product_of(raw, df.columns)
    if product == "SP":
        _windowed(df, rows)
    else:
        # Brands / Display: 14 days of a click or view ("sales"); the clicks-only twins when that is all there is
        for m, names in (("sales", ("sales", "salesClicks")), ("orders", ("purchases", "purchasesClicks")),
                         ("units", ("unitsSold", "unitsSoldClicks"))):
            v = _col(df, *names)
            if v is not None:
                rows[f"ad_{m}_14d"] = v
        if product is None:
            notes.append("the file does not say whether its campaigns are Sponsored Brands or Sponsored Display (no "
                         "Campaign Type column, 14-day sales): they are reviewed without their ad product")
    currency = _currency(raw, df)
    marketplace = MARKETPLACE_BY_CURRENCY.get(currency) if currency else None
    batch = campaign_batch(raw, rows, "ads_campaign_api_v3", marketplace, currency, start, end, notes,
                           ad_product=product or "")
    batch.extras.update({"format": "json", "ad_product": product or ""})
    return batch


EMPTY = "an empty Ads API report: no rows (no spend, or not ready yet)"


def _json(batches: list[ReportBatch]) -> list[ReportBatch]:
    for b in batches:
        b.extras["format"] = "json"
    return batches


@json_layout(order=79)
def recognise_campaigns(raw: RawReport, doc: Any) -> list[ReportBatch] | None:
    """Rows with campaignId / campaignName and no advertisedAsin; an empty array named after a campaign report."""
    if not isinstance(doc, list):
        return None
    if not doc:
        m = _REPORT_IN_NAME.search(raw.name or "")
        if not m or m.group(1) == "spAdvertisedProduct":
            return None
        start, end = _range_from_name(raw.name)
        return _json([campaign_batch(raw, pd.DataFrame(columns=["date", "campaign_id"]), "ads_campaign_api_v3", None,
                                     None, start, end, [EMPTY], ad_product=REPORT_AD_PRODUCT[m.group(1)])])
    head = doc[:50]
    if all(isinstance(r, dict) for r in doc) and not any("advertisedAsin" in r for r in head) and \
            any(("campaignId" in r or "campaignName" in r) and ("cost" in r or "spend" in r) for r in head):
        return [_campaign_api(raw, doc)]
    return None


@json_layout(order=80)
def recognise(raw: RawReport, doc: Any) -> list[ReportBatch] | None:
    if not isinstance(doc, list):
        return None
    if not doc:
        start, end = _range_from_name(raw.name)
        return _json([_ads_batch(raw, pd.DataFrame(columns=["date", "asin", "sku"]), "ads_sp_api_v3", None, None,
                                 start, end, [EMPTY])])
    if all(isinstance(r, dict) for r in doc) and any(("advertisedAsin" in r) for r in doc[:50]):
        return [_ads_api(raw, doc)]
    return None
