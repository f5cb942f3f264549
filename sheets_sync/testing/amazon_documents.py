"""What the local Amazon serves: synthetic report documents in Amazon's formats and the one table of report
types (:data:`REPORT_TYPES`) the server knows — adding a report type is adding one entry.

The figures are derived from the day (so every path that asks for the same day gets the same numbers); the
formats are Amazon's: ``GET_SALES_AND_TRAFFIC_REPORT`` and ``GET_V2_SELLER_PERFORMANCE_REPORT`` JSON, the
orders / returns / inventory flat files (TSV, with the charset each marketplace's download announces or not),
and the Ads API v3 rows (served as ``GZIP_JSON``): ``spAdvertisedProduct`` and the campaign / ad-group reports
``spCampaigns``, ``sbCampaigns``, ``sbAdGroup``, ``sdCampaigns``, ``sdAdGroup``.

Each Ads entry carries what Amazon's reporting pages say about the type (:class:`AdsSpec`): its ``adProduct``,
the ``groupBy`` values and the columns each allows, and its data retention — from
advertising.amazon.com/API/docs/en-us/guides/reporting/v3/report-types/advertised-product, …/campaign and
…/ad-group (the "Configurations" table, "Base metrics" and "Group by …" lists; columns as the pages name them,
with their meanings on …/guides/reporting/v3/columns). The synthetic figures have one ad group per campaign, so
a report grouped by campaign and one grouped by ad group have the same rows (the server keeps the requested
columns).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.samples import amazon as samples

MARKETPLACE_IDS = {"ATVPDKIKX0DER": "US", "A1AM78C64UM0Y8": "MX"}
CURRENCY = {"US": "USD", "MX": "MXN"}

ORDERS_HEADER = "\t".join(samples.ORDERS_HEADER)
RETURNS_HEADER = "\t".join(samples.RETURNS_HEADER)
INVENTORY_HEADER = "\t".join(samples.INVENTORY_HEADER[:18])     # the classic 18-column layout
ASINS = (("B0PARENT01", "B0CHILD001", "KPI-TEE-BLK-M", "Camiseta Niño Negra M"),
         ("B0PARENT01", "B0CHILD002", "KPI-TEE-BLK-L", "Camiseta Niño Negra L"))


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def money(amount: float, mkt: str) -> dict[str, Any]:
    return {"amount": round(amount, 2), "currencyCode": CURRENCY[mkt]}


def sales_and_traffic(mkt: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """A CHILD-granularity GET_SALES_AND_TRAFFIC_REPORT document; figures derived from the day."""
    by_date, by_asin = [], []
    for day in days(start, end):
        units = 10 + day.day
        by_date.append({"date": day.isoformat(),
                        "salesByDate": {"orderedProductSales": money(units * 19.99, mkt), "unitsOrdered": units,
                                        "totalOrderItems": units - 1, "unitsRefunded": 1, "refundRate": 2.5,
                                        "averageSalesPerOrderItem": money(20.5, mkt), "averageUnitsPerOrderItem": 1.1,
                                        "averageSellingPrice": money(19.99, mkt), "claimsGranted": 0,
                                        "claimsAmount": money(0, mkt), "shippedProductSales": money(units * 18, mkt),
                                        "unitsShipped": units, "ordersShipped": units - 1},
                        "trafficByDate": {"browserPageViews": 300, "mobileAppPageViews": 200, "pageViews": 500,
                                          "browserSessions": 150, "mobileAppSessions": 100, "sessions": 250,
                                          "buyBoxPercentage": 97.5, "orderItemSessionPercentage": 4.0,
                                          "unitSessionPercentage": 4.4, "averageOfferCount": 3,
                                          "averageParentItems": 1, "feedbackReceived": 0,
                                          "negativeFeedbackReceived": 0, "receivedNegativeFeedbackRate": 0.0}})
    n = len(days(start, end))
    for i, (parent, child, _sku, _title) in enumerate(ASINS):
        units = sum(10 + d.day for d in days(start, end)) // 2 + i
        by_asin.append({"parentAsin": parent, "childAsin": child,
                        "salesByAsin": {"unitsOrdered": units, "orderedProductSales": money(units * 19.99, mkt),
                                        "totalOrderItems": units},
                        "trafficByAsin": {"browserSessions": 70 * n, "mobileAppSessions": 50 * n, "sessions": 120 * n,
                                          "browserSessionPercentage": 48.0, "mobileAppSessionPercentage": 52.0,
                                          "sessionPercentage": 48.0, "browserPageViews": 150 * n,
                                          "mobileAppPageViews": 100 * n, "pageViews": 250 * n,
                                          "browserPageViewsPercentage": 50.0, "mobileAppPageViewsPercentage": 50.0,
                                          "pageViewsPercentage": 50.0, "buyBoxPercentage": 97.5,
                                          "unitSessionPercentage": 4.4}})
    return {"reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                                    "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
                                    "dataStartTime": start.isoformat(), "dataEndTime": end.isoformat(),
                                    "marketplaceIds": [k for k, v in MARKETPLACE_IDS.items() if v == mkt]},
            "salesAndTrafficByDate": by_date, "salesAndTrafficByAsin": by_asin}


def seller_performance(mkt: str) -> dict[str, Any]:
    mid = next(k for k, v in MARKETPLACE_IDS.items() if v == mkt)
    window = {"reportingDateFrom": "2024-04-01T00:00Z", "reportingDateTo": "2024-05-30T23:59Z"}
    return {"accountStatuses": [{"marketplaceId": mid, "status": "NORMAL"}],
            "performanceMetrics": [{
                "marketplaceId": mid,
                "orderDefectRate": {"afn": {"reportingDateRange": window, "status": "GOOD", "targetValue": 0.01,
                                            "targetCondition": "LESS_THAN", "rate": 0.004, "orderCount": 500,
                                            "orderWithDefects": {"count": 2, "status": "GOOD"},
                                            "claims": {"count": 1, "status": "GOOD"},
                                            "chargebacks": {"count": 0, "status": "GOOD"},
                                            "negativeFeedback": {"count": 1, "status": "GOOD"},
                                            "fulfillmentType": "afn"}},
                "lateShipmentRate": {"reportingDateRange": window, "status": "GOOD", "targetValue": 0.04,
                                     "targetCondition": "LESS_THAN", "rate": 0.01, "orderCount": 100,
                                     "lateShipmentCount": 1},
                "preFulfillmentCancellationRate": {"reportingDateRange": window, "status": "GOOD", "targetValue": 0.025,
                                                   "targetCondition": "LESS_THAN", "rate": 0.0, "orderCount": 100,
                                                   "cancellationCount": 0},
                "validTrackingRate": {"reportingDateRange": window, "status": "GOOD", "targetValue": 0.95,
                                      "targetCondition": "GREATER_THAN", "rate": 0.99, "shipmentCount": 100,
                                      "validTrackingCount": 99},
                "accountHealthRating": {"ahrStatus": "GREAT", "reportingDateRange": window},
                "warningStates": []}]}


def orders_tsv(mkt: str, start: dt.date, end: dt.date) -> str:
    lines = [ORDERS_HEADER]
    city = {"US": ("AUSTIN", "TX", "78701", "US"), "MX": ("MONTERREY", "Nuevo León", "64000", "MX")}[mkt]
    channel = {"US": "Amazon.com", "MX": "Amazon.com.mx"}[mkt]
    for n, day in enumerate(days(start, end), 1):
        for i, (_parent, child, sku, title) in enumerate(ASINS):
            qty = 1 + (day.day + i) % 3
            price = qty * (499.0 if mkt == "MX" else 22.99)
            tax = round(price * 0.16 / 1.16, 2) if mkt == "MX" else round(price * 0.08, 2)
            lines.append("\t".join((
                f"{'702' if mkt == 'MX' else '113'}-{day:%Y%m%d}-{n:03d}{i}", "", f"{day.isoformat()}T18:0{i}:00+00:00",
                f"{day.isoformat()}T20:00:00+00:00", "Shipped", "Amazon", channel, "", "", "Standard", title, sku,
                child, "Shipped", str(qty), CURRENCY[mkt], f"{price:.2f}", f"{tax:.2f}", "0.00", "0.00", "", "",
                "", "", *city, "", "false", "", "")))
    return "\n".join(lines) + "\n"


def returns_tsv(mkt: str, start: dt.date, end: dt.date) -> str:
    lines = [RETURNS_HEADER]
    for day in days(start, end):
        if day.day % 2:
            continue
        _p, child, sku, title = ASINS[0]
        lines.append("\t".join((f"{day.isoformat()}T15:31:40+00:00", f"113-{day:%Y%m%d}-0000", sku, child,
                                "X00ABC1234", title, "1", "PHX7", "SELLABLE", "APPAREL_TOO_SMALL",
                                "Unit returned to inventory", "LPNRR123", "Talla pequeña, devolución")))
    return "\n".join(lines) + "\n"


def inventory_tsv(mkt: str) -> str:
    lines = [INVENTORY_HEADER]
    for i, (_p, child, sku, title) in enumerate(ASINS):
        lines.append("\t".join((sku, f"X00FNSKU{i}", child, title, "New", "22.99" if mkt == "US" else "499.00",
                                "No", "", "Yes", str(40 + i), str(30 + i), "1", str(5 + i), str(36 + 2 * i),
                                "0.05", "0", str(10 + i), "0")))
    return "\n".join(lines) + "\n"


def ads_rows(mkt: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    rows = []
    for day in days(start, end):
        for i, (_p, child, sku, _title) in enumerate(ASINS):
            clicks = 20 + day.day + i
            rows.append({"date": day.isoformat(), "campaignId": 123456789012345, "campaignName": "SP - Tee - Auto",
                         "adGroupId": 223456789012345, "adGroupName": "Auto", "adId": 323456789012345 + i,
                         "advertisedAsin": child, "advertisedSku": sku, "impressions": clicks * 60, "clicks": clicks,
                         "clickThroughRate": round(1 / 60, 4), "costPerClick": 0.8, "cost": round(clicks * 0.8, 2),
                         "spend": round(clicks * 0.8, 2), "campaignBudgetCurrencyCode": CURRENCY[mkt],
                         "purchases7d": 3 + i, "purchases14d": 4 + i, "unitsSoldClicks7d": 3 + i,
                         "unitsSoldClicks14d": 4 + i, "sales7d": round((3 + i) * 22.99, 2),
                         "sales14d": round((4 + i) * 22.99, 2), "purchasesSameSku7d": 3 + i,
                         "unitsSoldSameSku7d": 3 + i, "attributedSalesSameSku7d": round((3 + i) * 22.99, 2),
                         "salesOtherSku7d": 0, "unitsSoldOtherSku7d": 0, "acosClicks7d": 20.1,
                         "acosClicks14d": 18.2, "roasClicks7d": 4.9, "roasClicks14d": 5.4})
    return rows


def _per_day(mkt: str, start: dt.date, end: dt.date, campaign: tuple[int, str, int, str], scale: float,
             windowed: bool) -> list[dict[str, Any]]:
    """One campaign with one ad group, a row per day: Sponsored Products' columns name their window (``sales7d``
    …), Brands' and Display's do not (``sales`` …: 14 days of a click or view; ``salesClicks``: of a click)."""
    cid, cname, gid, gname = campaign
    rows = []
    for day in days(start, end):
        clicks = round((10 + day.day) * scale)
        orders = 2 + day.day % 3
        row: dict[str, Any] = {"date": day.isoformat(), "campaignId": cid, "campaignName": cname, "adGroupId": gid,
                               "adGroupName": gname, "campaignBudgetCurrencyCode": CURRENCY[mkt],
                               "campaignStatus": "ENABLED", "adStatus": "ENABLED", "impressions": clicks * 80,
                               "clicks": clicks, "cost": round(clicks * 1.1, 2)}
        if windowed:
            row.update({"spend": row["cost"], "purchases7d": orders, "purchases14d": orders + 1,
                        "unitsSoldClicks7d": orders, "unitsSoldClicks14d": orders + 1,
                        "sales7d": round(orders * 22.99, 2), "sales14d": round((orders + 1) * 22.99, 2)})
        else:
            row.update({"purchases": orders + 1, "unitsSold": orders + 2, "sales": round((orders + 1) * 24.5, 2),
                        "purchasesClicks": orders, "unitsSoldClicks": orders + 1,
                        "salesClicks": round(orders * 24.5, 2)})
        rows.append(row)
    return rows


def sp_campaign_rows(mkt: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """``spCampaigns``: the advertised-product rows of :func:`ads_rows` summed per day (their one campaign and
    ad group), so a campaign report and the advertised-product report agree."""
    out: dict[str, dict[str, Any]] = {}
    summed = ("impressions", "clicks", "cost", "spend", "purchases7d", "purchases14d", "unitsSoldClicks7d",
              "unitsSoldClicks14d", "sales7d", "sales14d")
    for r in ads_rows(mkt, start, end):
        day = out.setdefault(r["date"], {k: r[k] for k in ("date", "campaignId", "campaignName", "adGroupId",
                                                           "adGroupName", "campaignBudgetCurrencyCode")}
                             | {"campaignStatus": "ENABLED", "adStatus": "ENABLED"} | dict.fromkeys(summed, 0))
        for k in summed:
            day[k] = round(day[k] + r[k], 2)
    return list(out.values())


SB_CAMPAIGN = (523456789012345, "SB - Marca - Tienda", 623456789012345, "Tienda")
SD_CAMPAIGN = (723456789012345, "SD - Remarketing - Vistas", 823456789012345, "Vistas")


def catalog_documents(asins: Mapping[str, Sequence[str]], no_data: frozenset[dt.date] = frozenset()
                      ) -> Callable[[str, str, dt.date, dt.date], bytes | str]:
    """``documents`` for a store selling ``asins[marketplace]`` (child ASINs; parents group them by three): the
    Sales and Traffic figures differ per ASIN and day (some ASIN-days sell nothing); ``no_data`` days are empty
    (Amazon has nothing yet). Other report types are the synthetic ones."""
    def documents(report_type: str, mkt: str, start: dt.date, end: dt.date) -> bytes | str:
        if report_type != "GET_SALES_AND_TRAFFIC_REPORT":
            return synthetic_document(report_type, mkt, start, end)
        doc = sales_and_traffic(mkt, start, end)
        if start == end and start in no_data:
            doc["salesAndTrafficByDate"], doc["salesAndTrafficByAsin"] = [], []
            return _json(doc)
        template, rows = doc["salesAndTrafficByAsin"][0], []
        for i, asin in enumerate(asins.get(mkt, ())):
            units = (start.day * 7 + i * 3) % 11
            row = json.loads(json.dumps(template))
            row["parentAsin"], row["childAsin"] = f"B0PAR{i // 3:05d}", asin
            row["salesByAsin"].update(unitsOrdered=units, totalOrderItems=units,
                                      orderedProductSales=money(units * (9.99 + i), mkt))
            row["trafficByAsin"].update(sessions=40 + i + start.day, pageViews=60 + 2 * i + start.day,
                                        buyBoxPercentage=90.0 + (i % 10))
            rows.append(row)
        doc["salesAndTrafficByAsin"] = rows
        return _json(doc)
    return documents


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class AdsSpec:
    """An Ads v3 report type as its reporting page configures it."""

    ad_product: str                          # configuration.adProduct
    retention_days: int                      # "Data retention"
    base: frozenset[str]                     # "Base metrics": columns every groupBy allows
    group_by: Mapping[str, frozenset[str]]   # groupBy value → its "Additional metrics"
    page: str                                # the page these come from

    def columns(self, group_by: Sequence[str]) -> frozenset[str]:
        """What a request grouped by these values may ask for."""
        return self.base.union(*(self.group_by.get(g, frozenset()) for g in group_by))


def _cols(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PAGES = "advertising.amazon.com/API/docs/en-us/guides/reporting/v3/report-types/"
_SP_BASE = _cols("""impressions addToList qualifiedBorrows royaltyQualifiedBorrows clicks cost purchases1d purchases7d
    purchases14d purchases30d purchasesSameSku1d purchasesSameSku7d purchasesSameSku14d purchasesSameSku30d
    unitsSoldClicks1d unitsSoldClicks7d unitsSoldClicks14d unitsSoldClicks30d sales1d sales7d sales14d sales30d
    attributedSalesSameSku1d attributedSalesSameSku7d attributedSalesSameSku14d attributedSalesSameSku30d
    unitsSoldSameSku1d unitsSoldSameSku7d unitsSoldSameSku14d unitsSoldSameSku30d kindleEditionNormalizedPagesRead14d
    kindleEditionNormalizedPagesRoyalties14d date startDate endDate campaignBiddingStrategy costPerClick
    clickThroughRate spend""")
_SP_CAMPAIGN = _cols("""campaignName campaignId campaignStatus campaignBudgetAmount campaignBudgetType
    campaignRuleBasedBudgetAmount campaignApplicableBudgetRuleId campaignApplicableBudgetRuleName
    campaignBudgetCurrencyCode topOfSearchImpressionShare""")
_SB_BASE = _cols("""addToCart addToCartClicks addToCartRate addToList addToListFromClicks qualifiedBorrows
    qualifiedBorrowsFromClicks royaltyQualifiedBorrows royaltyQualifiedBorrowsFromClicks brandedSearches
    brandedSearchesClicks campaignBudgetAmount campaignBudgetCurrencyCode campaignBudgetType campaignId campaignName
    campaignStatus clicks cost costType date detailPageViews detailPageViewsClicks eCPAddToCart endDate impressions
    kindleEditionNormalizedPagesRead14d kindleEditionNormalizedPagesRoyalties14d newToBrandDetailPageViewRate
    newToBrandDetailPageViews newToBrandDetailPageViewsClicks newToBrandECPDetailPageView newToBrandPurchases
    newToBrandPurchasesClicks newToBrandPurchasesPercentage newToBrandPurchasesRate newToBrandSales
    newToBrandSalesClicks newToBrandSalesPercentage newToBrandUnitsSold newToBrandUnitsSoldClicks
    newToBrandUnitsSoldPercentage purchases purchasesClicks purchasesPromoted sales salesClicks salesPromoted startDate
    unitsSold unitsSoldClicks video5SecondViewRate video5SecondViews videoCompleteViews videoFirstQuartileViews
    videoMidpointViews videoThirdQuartileViews videoUnmutes viewabilityRate""")
_SD_BASE = _cols("""addToCart addToCartClicks addToCartRate addToCartViews addToList addToListFromClicks
    addToListFromViews qualifiedBorrows qualifiedBorrowsFromClicks qualifiedBorrowsFromViews royaltyQualifiedBorrows
    royaltyQualifiedBorrowsFromClicks royaltyQualifiedBorrowsFromViews brandedSearches brandedSearchesClicks
    brandedSearchesViews brandedSearchRate campaignBudgetCurrencyCode campaignId campaignName clicks cost date
    detailPageViews detailPageViewsClicks eCPAddToCart eCPBrandSearch endDate impressions impressionsViews
    newToBrandPurchases newToBrandPurchasesClicks newToBrandSalesClicks newToBrandUnitsSold newToBrandUnitsSoldClicks
    purchases purchasesClicks purchasesPromotedClicks sales salesClicks salesPromotedClicks startDate unitsSold unitsSoldClicks
    videoCompleteViews videoFirstQuartileViews videoMidpointViews videoThirdQuartileViews videoUnmutes viewabilityRate
    viewClickThroughRate""")
ADS_SPECS: dict[str, AdsSpec] = {
    "spAdvertisedProduct": AdsSpec("SPONSORED_PRODUCTS", 95, _cols("""date startDate endDate campaignName campaignId
        adGroupName adGroupId adId addToList qualifiedBorrows royaltyQualifiedBorrows portfolioId impressions clicks
        costPerClick clickThroughRate cost spend campaignBudgetCurrencyCode campaignBudgetAmount campaignBudgetType
        campaignStatus advertisedAsin advertisedSku purchases1d purchases7d purchases14d purchases30d
        purchasesSameSku1d purchasesSameSku7d purchasesSameSku14d purchasesSameSku30d unitsSoldClicks1d
        unitsSoldClicks7d unitsSoldClicks14d unitsSoldClicks30d sales1d sales7d sales14d sales30d
        attributedSalesSameSku1d attributedSalesSameSku7d attributedSalesSameSku14d attributedSalesSameSku30d
        salesOtherSku7d unitsSoldSameSku1d unitsSoldSameSku7d unitsSoldSameSku14d unitsSoldSameSku30d
        unitsSoldOtherSku7d kindleEditionNormalizedPagesRead14d kindleEditionNormalizedPagesRoyalties14d acosClicks7d
        acosClicks14d roasClicks7d roasClicks14d"""), {"advertiser": frozenset()}, _PAGES + "advertised-product"),
    "spCampaigns": AdsSpec("SPONSORED_PRODUCTS", 95, _SP_BASE, {
        "campaign": _SP_CAMPAIGN, "adGroup": _cols("adGroupName adGroupId adStatus"),
        "campaignPlacement": _SP_CAMPAIGN | {"placementClassification"}}, _PAGES + "campaign"),
    "sbCampaigns": AdsSpec("SPONSORED_BRANDS", 60, _SB_BASE | {"topOfSearchImpressionShare", "viewableImpressions",
                                                                "viewClickThroughRate"}, {
        "campaign": _cols("""campaignBudgetAmount campaignBudgetCurrencyCode campaignBudgetType longTermSales
            longTermROAS topOfSearchImpressionShare""")}, _PAGES + "campaign"),
    "sbAdGroup": AdsSpec("SPONSORED_BRANDS", 60, _SB_BASE | _cols("adGroupId adGroupName adStatus"),
                         {"adGroup": frozenset()}, _PAGES + "ad-group"),
    "sdCampaigns": AdsSpec("SPONSORED_DISPLAY", 65, _SD_BASE, {
        "campaign": _cols("""campaignBudgetAmount campaignStatus costType cumulativeReach impressionsFrequencyAverage
            longTermSales longTermROAS newToBrandDetailPageViewClicks newToBrandDetailPageViewRate
            newToBrandDetailPageViews newToBrandDetailPageViewViews newToBrandECPDetailPageView newToBrandSales"""),
        "matchedTarget": _cols("matchedTargetAsin")}, _PAGES + "campaign"),
    "sdAdGroup": AdsSpec("SPONSORED_DISPLAY", 65, _SD_BASE | _cols("adGroupId adGroupName bidOptimization "
                                                                   "cumulativeReach newToBrandSales"), {
        "adGroup": _cols("""cumulativeReach impressionsFrequencyAverage newToBrandDetailPageViewClicks
            newToBrandDetailPageViewRate newToBrandDetailPageViews newToBrandDetailPageViewViews
            newToBrandECPDetailPageView"""), "matchedTarget": _cols("matchedTargetAsin")}, _PAGES + "ad-group"),
}


@dataclass(frozen=True)
class ReportType:
    """One report type the local Amazon generates."""

    api: str                                                    # "sp" (Reports 2021-06-30) or "ads" (Ads v3)
    json: bool                                                  # a JSON document (else a TSV flat file)
    synthetic: Callable[[str, dt.date, dt.date], bytes | str]   # (marketplace, start, end) → document
    # marketplace → (codec the text is encoded with, charset the download's Content-Type names or None)
    charsets: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)
    ads: AdsSpec | None = None                                  # an Ads report's configuration

    def charset(self, marketplace: str) -> tuple[str, str | None]:
        return self.charsets.get(marketplace, ("utf-8", None))


REPORT_TYPES: dict[str, ReportType] = {
    "GET_SALES_AND_TRAFFIC_REPORT": ReportType("sp", True, lambda m, a, b: _json(sales_and_traffic(m, a, b))),
    "GET_V2_SELLER_PERFORMANCE_REPORT": ReportType("sp", True, lambda m, a, b: _json(seller_performance(m))),
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL": ReportType(
        "sp", False, orders_tsv, {"US": ("utf-8", "UTF-8"), "MX": ("cp1252", "Cp1252")}),
    # UTF-8, and the download names no charset
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": ReportType("sp", False, returns_tsv),
    # cp1252, and the download names no charset
    "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA": ReportType(
        "sp", False, lambda m, a, b: inventory_tsv(m), {"US": ("cp1252", None), "MX": ("cp1252", None)}),
    "spAdvertisedProduct": ReportType("ads", True, lambda m, a, b: _json(ads_rows(m, a, b)),
                                      ads=ADS_SPECS["spAdvertisedProduct"]),
    "spCampaigns": ReportType("ads", True, lambda m, a, b: _json(sp_campaign_rows(m, a, b)),
                              ads=ADS_SPECS["spCampaigns"]),
    "sbCampaigns": ReportType("ads", True, lambda m, a, b: _json(_per_day(m, a, b, SB_CAMPAIGN, 0.5, False)),
                              ads=ADS_SPECS["sbCampaigns"]),
    "sbAdGroup": ReportType("ads", True, lambda m, a, b: _json(_per_day(m, a, b, SB_CAMPAIGN, 0.5, False)),
                            ads=ADS_SPECS["sbAdGroup"]),
    "sdCampaigns": ReportType("ads", True, lambda m, a, b: _json(_per_day(m, a, b, SD_CAMPAIGN, 0.3, False)),
                              ads=ADS_SPECS["sdCampaigns"]),
    "sdAdGroup": ReportType("ads", True, lambda m, a, b: _json(_per_day(m, a, b, SD_CAMPAIGN, 0.3, False)),
                            ads=ADS_SPECS["sdAdGroup"]),
}


def synthetic_document(report_type: str, mkt: str, start: dt.date, end: dt.date) -> bytes | str:
    return REPORT_TYPES[report_type].synthetic(mkt, start, end)
