"""Ads KPIs per portfolio, campaign and ad group (and customer-service figures per agent): the console and API
campaign reports as Amazon names their columns, which rows count, what a Targets row names, and the demo's
campaign targets recomputed by hand from the report files."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
from builders import tables

from sheets_sync.compute.actuals import build_facts
from sheets_sync.compute.attainment import evaluate_all
from sheets_sync.compute.campaigns import CampaignIndex, name_key, typed_id
from sheets_sync.frames import RawReport
from sheets_sync.inputs import read_inputs
from sheets_sync.periods import parse_period
from sheets_sync.samples.amazon import DEMO_CAMPAIGNS, write_demo_reports
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sources.files import ReportFilesSource
from sheets_sync.sources.parsing import parse_report
from sheets_sync.sync import init_workbook, sync_workbook

UI = Path(__file__).parent / "fixtures" / "amazon-reports" / "ui"
PERIOD = parse_period("2026-11")
THROUGH = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 30)


def parsed(name: str, data: bytes | None = None):
    (b,) = parse_report(RawReport(name, data if data is not None else (UI / name).read_bytes()))
    return b


# -- the console's campaign downloads -------------------------------------------------------------------------
@pytest.mark.parametrize("name, kind, market, level, spend, sales, products", [
    ("ads_sp_campaign_manager_2019.csv", "ads_campaign_console", "US", "campaign", 10.81, 68.97, {"SP"}),
    ("ads_campaign_manager_2026.csv", "ads_campaign_console", "US", "campaign", 58.0, 1032.0, {"SP", "SB", "SD"}),
    ("sponsored_brands_campaign_report_INFERRED_ORDER.csv", "ads_campaign_console", "MX", "campaign", 929.4,
     4343.2, {"SB"}),
    ("es_mx_ads_sp_campaign_report_INFERRED.csv", "ads_campaign_console", "MX", "ad_group", 308.36, 1696.0, {"SP"}),
    ("zh_ui_ads_sp_campaign_report_INFERRED.csv", "ads_campaign_console", "US", "ad_group", 45.65, 229.86, {"SP"}),
], ids=lambda v: v if isinstance(v, str) and v.endswith(".csv") else None)
def test_console_campaign_downloads(name, kind, market, level, spend, sales, products):
    b = parsed(name)
    assert (b.kind, b.family, b.marketplace, b.extras["campaign_level"]) == (kind, "ads", market, level)
    assert b.asin_rows is None and len(b.campaign_rows)
    rows = b.campaign_rows
    assert rows["ad_spend"].sum() == pytest.approx(spend) and rows["ad_sales"].sum() == pytest.approx(sales)
    assert set(rows["ad_product"]) == products
    assert "" not in set(rows["campaign_name"])


def test_campaign_manager_2019_takes_the_report_day_not_the_campaign_start():
    b = parsed("ads_sp_campaign_manager_2019.csv")
    # 'Start Date' is the campaign's own (Aug 22, 2019); the row's day is 'Date'
    assert (b.start, b.end) == (dt.date(2019, 11, 16), dt.date(2019, 11, 17))
    assert set(b.campaign_rows["portfolio_name"]) == {"", "Mats"}       # "No Portfolio" is no portfolio


def test_spanish_dates_and_headers_and_the_sponsored_brands_window():
    es = parsed("es_mx_ads_sp_campaign_report_INFERRED.csv")
    assert sorted(es.campaign_rows["date"].dt.day.unique()) == [3, 4]      # "nov 03, 2026"
    assert es.extras["language"] == "es" and es.currency == "MXN"
    sb = parsed("sponsored_brands_campaign_report_INFERRED_ORDER.csv")
    assert sb.extras["attribution_windows"] == ["14d"] and sb.campaign_rows["date"].isna().all()
    assert any("14-day" in w for w in sb.warnings)
    # the same download renamed: nothing says Brands or Display any more, and the Sync Log is told
    renamed = parsed("campaigns.csv", (UI / "sponsored_brands_campaign_report_INFERRED_ORDER.csv").read_bytes())
    assert set(renamed.campaign_rows["ad_product"]) == {""}
    assert any("Sponsored Brands or Sponsored Display" in w for w in renamed.warnings)


def test_advertised_product_downloads_carry_their_campaigns():
    classic = parsed("ads_sp_advertised_product_classic_2019.csv")
    assert set(classic.campaign_rows["campaign_name"]) == {"kitchen mat-214-auto-hw key words",
                                                           '31" x 19"  - key words 1 manual'}
    assert classic.extras["campaign_level"] == "ad_group"
    assert classic.campaign_rows["ad_spend"].sum() == pytest.approx(classic.asin_rows["ad_spend"].sum())
    new = parsed("ads_new_console_2026_advertised_product.csv")
    ids = set(new.campaign_rows["campaign_id"])
    assert ids == {"254927681919372", "185952517318547", "301122334455667"}      # the ="…" guards removed
    assert "228547447293264" in set(new.campaign_rows["portfolio_id"])


def api_rows(report: str, rows: list[dict]) -> RawReport:
    return RawReport(f"ads:{report}:US:2026-11-01..2026-11-02", json.dumps(rows).encode())


SP_ROW = {"date": "2026-11-01", "campaignId": 111, "campaignName": "Brand", "adGroupId": 9, "adGroupName": "Exact",
          "cost": 5.0, "clicks": 3, "impressions": 100, "sales7d": 40.0, "sales14d": 50.0, "purchases7d": 2,
          "purchases14d": 3, "unitsSoldClicks7d": 2, "unitsSoldClicks14d": 3, "campaignBudgetCurrencyCode": "USD"}


@pytest.mark.parametrize("report, row, product, window", [
    ("spCampaigns", SP_ROW, "SP", ["7d", "14d"]),
    ("sbAdGroup", {"date": "2026-11-01", "campaignId": 222, "campaignName": "SB", "adGroupId": 7, "adGroupName": "A",
                   "cost": 5.0, "clicks": 3, "impressions": 100, "sales": 70.0, "purchases": 2, "unitsSold": 3},
     "SB", ["14d"]),
    ("sdCampaigns", {"date": "2026-11-01", "campaignId": 333, "campaignName": "SD", "cost": 5.0, "clicks": 3,
                     "impressions": 100, "salesClicks": 30.0, "purchasesClicks": 1, "unitsSoldClicks": 1},
     "SD", ["14d"]),
])
def test_api_campaign_reports(report, row, product, window):
    b = parse_report(api_rows(report, [row]))[0]
    assert (b.kind, b.extras["ad_product"], b.extras["attribution_windows"]) == ("ads_campaign_api_v3", product,
                                                                                window)
    r = b.campaign_rows.iloc[0]
    assert r["campaign_id"] == str(row["campaignId"]) and r["ad_spend"] == 5.0
    assert r["ad_sales"] == row.get("sales7d", row.get("sales", row.get("salesClicks")))


def test_api_campaign_report_product_from_its_columns_and_an_empty_one():
    sd = {"date": "2026-11-01", "campaignId": 4, "campaignName": "x", "cost": 1.0, "sales": 2.0,
          "impressionsViews": 10}
    assert parse_report(RawReport("saved.json", json.dumps([sd]).encode()))[0].extras["ad_product"] == "SD"
    (empty,) = parse_report(RawReport("ads:sbAdGroup:MX:2026-11-01..2026-11-30", b"[]"))
    assert empty.kind == "ads_campaign_api_v3" and empty.campaign_rows.empty
    assert (empty.start, empty.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


# -- which rows count, and what a name means ------------------------------------------------------------------
def facts_of(*raws: RawReport, fetched=None):
    batches = []
    for i, raw in enumerate(raws):
        for b in parse_report(raw):
            b.marketplace = b.marketplace or "US"
            b.fetched_at = (fetched or {}).get(i, float(i))
            batches.append(b)
    inputs = read_inputs(tables([]), today=TODAY)
    return build_facts(batches, inputs.settings, [], today=TODAY)


def test_a_campaign_and_its_advertised_products_of_the_same_day_count_once():
    adv = dict(SP_ROW, advertisedAsin="B0AAAAAAA1", cost=4.0)
    facts = facts_of(api_rows("spAdvertisedProduct", [adv]), api_rows("spCampaigns", [SP_ROW]))
    ix = CampaignIndex(facts.campaigns)
    m = ix.resolve("US", "campaign", "111")
    assert ix.sums("US", "campaign", m)["ad_spend"] == 5.0          # the newest report of the day, not 4 + 5
    # the advertised-product report alone still names the campaign's ASINs (for TACoS)
    assert ix.asins[("US", "111")] == {"B0AAAAAAA1"}


def test_a_console_download_without_ids_joins_the_ids_of_the_api():
    named = ("Date,Campaign Name,Ad Group Name,Currency,Impressions,Clicks,Spend,7 Day Total Sales ,"
             "7 Day Total Orders (#),7 Day Total Units (#)\n"
             '"Nov 02, 2026",Brand,Exact,USD,50,1,$2.00,$10.00,1,1\n')
    facts = facts_of(api_rows("spCampaigns", [SP_ROW]), RawReport("US/console.csv", named.encode()))
    ix = CampaignIndex(facts.campaigns)
    m = ix.resolve("US", "campaign", "111")
    assert ix.sums("US", "campaign", m)["ad_spend"] == 7.0         # Nov 1 from the API, Nov 2 from the console
    g = ix.resolve("US", "ad_group", "9")
    assert ix.sums("US", "ad_group", g)["ad_spend"] == 7.0


@pytest.mark.parametrize("typed, expected", [
    ("111", "111"), (' ="111" ', "111"), ("brand", "111"), ("  BRAND  ", "111"), ("Ｂｒａｎｄ", "111"),
    ("Brand Old", "111"), ("Nope", None),
])
def test_names_are_matched_as_typed_and_a_renamed_campaign_keeps_its_id(typed, expected):
    old = dict(SP_ROW, campaignName="Brand   Old")
    facts = facts_of(api_rows("spCampaigns", [old]), api_rows("spCampaigns", [dict(SP_ROW, date="2026-11-02")]))
    ix = CampaignIndex(facts.campaigns)
    m = ix.resolve("US", "campaign", typed)
    assert (m.keys[0] if m.keys else None) == expected
    if expected:
        assert ix.sums("US", "campaign", m)["ad_spend"] == 10.0 and "Brand   Old → Brand" in m.names[0]


def test_typed_ids_and_names():
    assert typed_id('="254927681919372"') == "254927681919372" and typed_id(" 12 ") == "12"
    assert name_key(" SP  - Brand ") == name_key("sp - brand")


def test_an_ambiguous_name_is_an_error_at_its_cell_and_campaign_slash_ad_group_resolves_it():
    other = dict(SP_ROW, campaignId=112, campaignName="Launch", adGroupId=10)         # its ad group is "Exact" too
    same_name = dict(SP_ROW, campaignId=113, adGroupId=11, campaignName="brand ")      # a second "Brand"
    facts = facts_of(api_rows("spCampaigns", [SP_ROW, other, same_name]))
    inputs = read_inputs(tables([
        [None, "US", "campaign", "Brand", "Diego", "ads", "acos", 0.2, 1, None, None],
        [None, "US", "ad_group", "Exact", "Diego", "ads", "cpc", 1.0, 1, None, None],
        [None, "US", "ad_group", "Launch / Exact", "Diego", "ads", "cpc", 1.0, 1, None, None],
        [None, "US", "campaign", "112", "Diego", "ads", "ad_spend", 10, 1, None, None],
    ]), today=TODAY)
    rows, ev = evaluate_all(inputs, facts)
    assert [r.actual for r in rows] == [None, None, pytest.approx(5 / 3), 5.0]
    where = {p.where: p for p in ev.problems}
    assert set(where) == {"Targets!D2", "Targets!D3"}
    assert where["Targets!D2"].severity == "error" and "fits 2 campaigns" in where["Targets!D2"].expected
    assert "111" in where["Targets!D2"].expected and "113" in where["Targets!D2"].expected
    assert "campaign / ad group" in where["Targets!D3"].expected
    assert "fits several campaigns" in rows[0].note


# -- the team tabs -------------------------------------------------------------------------------------------
def test_campaign_scopes_take_ads_kpis_and_agents_take_kpis_typed_by_hand():
    inputs = read_inputs(tables([
        [None, "US", "campaign", "Brand", "Diego", "ads", "gmv", 100, 1, None, None],
        [None, "US", "广告活动", "Brand", "Diego", "ads", "acos", 0.2, 1, None, None],
        [None, "MX", "agent", "Lucía", "Lucía", "cs", "gmv", 100, 1, None, None],
        [None, "MX", "agente", "Lucía", "Lucía", "cs", "cs_first_reply_hours", 6, 1, None, None],
        [None, "US", "ad_group", None, "Diego", "ads", "cpc", 1, 1, None, None],
    ], manual=[[None, "MX", "agent", None, "cs_rating", 4.5, None, None],
               [None, "MX", "agent", "Lucía", "gmv", 10, None, None],
               [None, "MX", "agent", "Lucía", "cs_rating", 4.5, None, None]]), today=TODAY)
    assert [(t.scope, t.kpi, t.cell) for t in inputs.targets] == [("campaign", "acos", "Targets!D3"),
                                                                   ("agent", "cs_first_reply_hours", "Targets!D5")]
    bad = {p.where: p.expected for p in inputs.problems}
    assert "ads KPIs per portfolio, campaign or ad group" in bad["Targets!C2"]
    assert "typed in Manual Actuals (scope agent)" in bad["Targets!C4"]
    assert bad["Targets!D6"] == "the ad_group this target is for"
    assert "the agent these figures are for" in bad["Manual Actuals!D2"]
    assert "KPIs typed by hand" in bad["Manual Actuals!E3"]
    assert [(m.scope, m.scope_value, m.kpi) for m in inputs.manual] == [("agent", "Lucía", "cs_rating")]


# -- the demo, recomputed by hand from the report files -------------------------------------------------------
def _reports(root: Path, ads_from: dict[str, str] | None = None) -> dict:
    prior = PERIOD.previous(1)
    write_demo_reports(root, prior, {"US": prior.end, "MX": prior.end}, seed=8, ads_from=ads_from)
    return write_demo_reports(root, PERIOD, {"US": THROUGH, "MX": THROUGH}, seed=7, ads_from=ads_from)


CHECK = "Checker"


def _check_rows() -> list[list]:
    """A target for spend, sales, ACoS and ROAS of every demo campaign: US by name, MX by id."""
    out = []
    for mk, plan in DEMO_CAMPAIGNS.items():
        for c in plan.values():
            value = c["names"][-1] if mk == "US" else c["id"]
            out += [[None, mk, "campaign", value, CHECK, "ads", kpi, 1, 1, None, None]
                    for kpi in ("ad_spend", "ad_sales", "acos", "roas")]
    return out


def _sync(root: Path, reports: Path, name: str, extra: list[list]) -> dict[str, list[list]]:
    path = root / f"{name}.xlsx"
    wb = XlsxWorkbook(path)
    init_workbook(wb, today=PERIOD.start)
    book = openpyxl.load_workbook(path)
    for r in extra:
        book["Targets"].append(r)
    book.save(path)
    res = sync_workbook(XlsxWorkbook(path), ReportFilesSource(reports), period=PERIOD.label, now=NOW)
    assert res.ok, res.error
    return XlsxWorkbook(path).read_tabs(["Attainment", "Sync Log", "Settings", "Campaigns", "Targets", "Commentary",
                                         "Target Suggestions", "Scorecard"])


def _records(table: list[list], header_row: int = 1) -> list[dict]:
    head = table[header_row]
    return [dict(zip(head, r, strict=False)) for r in table[header_row + 1:]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("campaigns")
    truth = _reports(root / "reports")
    swapped = _reports(root / "swapped", {"US": "api", "MX": "console_2026"})
    extra = [*_check_rows(),
             [None, "US", "ad_group", "Auto", CHECK, "ads", "cpc", 1, 1, None, None],
             [None, "MX", "campaign", "SP - Lanzamiento - Novedades", CHECK, "ads", "ad_spend", 1, 1, None, None]]
    return {"truth": truth, "swapped": swapped, "root": root,
            "tabs": _sync(root, root / "reports", "demo", extra),
            "swapped_tabs": _sync(root, root / "swapped", "swapped", extra)}


def _money(text: str) -> float:
    return float(text.replace("$", "").replace(",", "").strip() or 0)


def _by_hand(reports: Path) -> dict[tuple[str, str], dict[str, float]]:
    """Spend and 7-day sales per campaign in November, read from the files with csv / json / gzip only: the US
    console CSV by campaign name, the MX API documents by campaign id."""
    out: dict[tuple[str, str], dict[str, float]] = {}

    def add(key, spend, sales):
        acc = out.setdefault(key, {"spend": 0.0, "sales": 0.0})
        acc["spend"] += spend
        acc["sales"] += sales

    for path in sorted((reports / "US").glob("Sponsored_Products_Advertised_product_report_*.csv")):
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
            day = dt.datetime.strptime(row["Date"], "%b %d, %Y").date()
            if PERIOD.start <= day <= PERIOD.end:
                add(("US", row["Campaign Name"]), _money(row["Spend"]), _money(row["7 Day Total Sales "]))
    for path in sorted((reports / "MX").glob("spAdvertisedProduct_*.json.gz")):
        for row in json.loads(gzip.decompress(path.read_bytes())):
            if PERIOD.start <= dt.date.fromisoformat(row["date"]) <= PERIOD.end:
                add(("MX", str(row["campaignId"])), row["cost"], row["sales7d"])
    return out


def test_per_campaign_spend_sales_acos_roas_match_the_figures_computed_by_hand(demo):
    tabs = demo["tabs"]
    fx = {r["key"]: r["value"] for r in _records(tabs["Settings"], 0)}["fx.MXN"]
    hand = _by_hand(demo["root"] / "reports")
    rows = [r for r in _records(tabs["Attainment"]) if r["owner"] == CHECK and r["scope"] == "campaign"
            and r["scope_value"] != "SP - Lanzamiento - Novedades"]
    assert len(rows) == 24
    for r in rows:
        h = hand[(r["marketplace"], str(r["scope_value"]))]
        rate = fx if r["marketplace"] == "MX" else 1.0
        spend, sales = h["spend"] / rate, h["sales"] / rate
        expected = {"ad_spend": spend, "ad_sales": sales, "acos": spend / sales, "roas": sales / spend}[r["kpi"]]
        assert r["actual"] == pytest.approx(expected, rel=1e-6, abs=1e-6), r


def test_the_api_and_the_console_downloads_agree(demo):
    def actuals(tabs):
        return {(r["target_row"], r["kpi"]): r["actual"] for r in _records(tabs["Attainment"])
                if r["scope"] in ("campaign", "ad_group") and r["actual"] is not None}
    one, other = actuals(demo["tabs"]), actuals(demo["swapped_tabs"])
    old_name = next(r["target_row"] for r in _records(demo["tabs"]["Attainment"])
                    if r["scope_value"] == DEMO_CAMPAIGNS["MX"]["launch"]["names"][0])
    # a console export made after the rename carries the new name only: the old one names nothing there
    assert (old_name, "ad_spend") not in other
    rows = {k for k in one if k[1] in ("ad_spend", "ad_sales", "acos", "roas", "ctr", "cpc", "ad_impressions")
            and k[0] != old_name}
    assert len(rows) >= 30 and rows <= set(other)
    for k in rows:
        assert other[k] == pytest.approx(one[k], rel=1e-6), k
    # the demo's own portfolio, campaign and ad-group targets all have actuals
    demo_rows = [r for r in _records(demo["tabs"]["Attainment"]) if r["owner"] == "Diego Herrera"]
    assert len(demo_rows) == 8 and all(r["actual"] is not None for r in demo_rows)


def test_a_renamed_campaign_keeps_its_target(demo):
    att = _records(demo["tabs"]["Attainment"])
    launch = DEMO_CAMPAIGNS["MX"]["launch"]
    by_id = next(r for r in att if r["owner"] == "Diego Herrera" and r["scope_value"] == launch["id"])
    assert " → ".join(launch["names"]) in by_id["note"]
    ads = demo["truth"]["ads"]["MX"]
    fx = {r["key"]: r["value"] for r in _records(demo["tabs"]["Settings"], 0)}["fx.MXN"]
    assert by_id["actual"] == pytest.approx(ads.loc[ads["campaign_id"] == launch["id"], "ad_sales"].sum() / fx,
                                            rel=1e-9)
    assert set(ads.loc[ads["campaign_id"] == launch["id"], "campaign_name"]) == set(launch["names"])
    old_name = next(r for r in att if r["owner"] == CHECK and r["scope_value"] == launch["names"][0])
    by_id_spend = next(r for r in att if r["owner"] == CHECK and r["scope_value"] == launch["id"]
                       and r["kpi"] == "ad_spend")
    assert old_name["actual"] == pytest.approx(by_id_spend["actual"], rel=1e-12)


def test_an_ambiguous_ad_group_name_is_reported_with_its_cell(demo):
    targets = demo["tabs"]["Targets"]
    row = next(i for i, r in enumerate(targets, start=1) if r[3] == "Auto" and r[4] == CHECK)
    log = [r[7] for r in demo["tabs"]["Sync Log"] if isinstance(r[7], str)]
    hit = [m for m in log if m.startswith(f'Targets!D{row}: "Auto" — this ad group name fits 2 ad groups')]
    assert hit and "SP - Launch - New Arrivals" in hit[0] and "SP - Always On - Auto" in hit[0]
    assert "actual left blank" in hit[0]
    assert demo["tabs"]["Sync Log"][2][3] == "ok with errors"


def test_campaigns_tab_adds_up(demo):
    rows = _records(demo["tabs"]["Campaigns"])
    camps = [r for r in rows if not r["ad_group"]]
    assert {(r["marketplace"], r["goal"]) for r in camps} == {(mk, g) for mk in ("US", "MX")
                                                            for g in ("brand-defence", "launch", "always-on")}
    for c in camps:
        groups = [r for r in rows if r["ad_group"] and r["campaign"] == c["campaign"]
                  and r["marketplace"] == c["marketplace"]]
        assert sum(g["ad_spend"] for g in groups) == pytest.approx(c["ad_spend"], rel=1e-9)
        assert c["acos"] == pytest.approx(c["ad_spend"] / c["ad_sales"], rel=1e-12)
    truth = demo["truth"]["truth"]
    fx = {r["key"]: r["value"] for r in _records(demo["tabs"]["Settings"], 0)}["fx.MXN"]
    for mk in ("US", "MX"):
        total = sum(c["ad_spend"] for c in camps if c["marketplace"] == mk)
        assert total == pytest.approx(truth[mk]["ad_spend"] / (fx if mk == "MX" else 1.0), rel=1e-9)


# -- the review at campaign grain -----------------------------------------------------------------------------
def _pp(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"moves it ([+-]\d+\.\d+) pp", text)]


def test_an_ads_miss_is_explained_by_its_ad_groups_and_the_parts_add_up(demo):
    findings = _records(demo["tabs"]["Commentary"])
    found = [c for c in findings if c["owner"] == "Diego Herrera" and c["scope"] == "campaign “SP - Launch - New Arrivals”"
            and c["kpi"] == "acos" and c["finding"].startswith("Diego Herrera's acos in US")]
    assert len(found) == 1, [c["finding"][:120] for c in found]
    (f,) = found
    assert "By ad group" in f["finding"] and "“Competitor ASINs”" in f["finding"] and "“Auto”" in f["finding"]
    gap = float(re.search(r"\(([+-]\d+\.\d+) pp\)", f["finding"]).group(1))
    others = float(re.search(r"all other ad groups together ([+-]\d+\.\d+) pp", f["finding"]).group(1))
    assert sum(_pp(f["finding"])) + others == pytest.approx(gap, abs=0.02)
    # the account-level ACoS finding names the campaigns as well as the ASINs
    (acct,) = [c for c in findings if c["owner"] == "Sofía Ramírez" and c["kpi"] == "acos"
               and c["finding"].startswith("Sofía Ramírez's acos in ALL")]
    assert "By campaign: " in acct["finding"] and "“SP - Launch - New Arrivals”" in acct["finding"]


def test_the_design_review_knows_a_campaigns_goal(demo):
    findings = _records(demo["tabs"]["Commentary"])
    launch = [c for c in findings if "launch campaign “SP - Launch - New Arrivals”" in c["finding"]]
    assert launch and launch[0]["owner"] == "Diego Herrera" and launch[0]["severity"] == "medium"
    spread = [c for c in findings if c["owner"] == "Sofía Ramírez" and "spans campaigns with different jobs"
              in c["finding"]]
    assert spread and "brand-defence" in spread[0]["evidence"] and "launch" in spread[0]["evidence"]
    # a brand-defence campaign is not judged against the category's ACoS benchmark
    assert not [c for c in findings if c["scope"] == "campaign “SP - Brand Defense - Exact”"
                and "benchmark" in c["finding"]]


def test_an_account_acos_target_splits_over_campaigns_exactly(demo):
    rows = [r for r in _records(demo["tabs"]["Target Suggestions"]) if r["scope"] == "campaign"]
    acos = [r for r in rows if r["kpi"] == "acos"]
    assert len(acos) == 6 and len({r["scope_value"] for r in acos}) == 6
    # shares are each campaign's part of ad sales; if every campaign meets its own ACoS, the account's is the target
    assert sum(r["share"] for r in acos) == pytest.approx(1.0, rel=1e-12)
    assert sum(r["share"] * r["suggested_target"] for r in acos) == pytest.approx(acos[0]["account_target"],
                                                                               rel=1e-9)
    brand = [r["suggested_target"] for r in acos if "Brand Defense" in r["scope_value"] or "Defensa" in r["scope_value"]]
    launch = [r["suggested_target"] for r in acos if "Launch" in r["scope_value"] or "Lanzamiento" in r["scope_value"]]
    assert max(brand) < acos[0]["account_target"] < min(launch)


def test_agents_are_scored_like_owners(demo):
    cards = {r["owner"]: r for r in _records(demo["tabs"]["Scorecard"])}
    assert cards["Lucía Gómez"]["kpis"] == 4 and cards["Mateo Díaz"]["kpis"] == 4
    assert cards["Lucía Gómez"]["score"] > 1.0 > cards["Mateo Díaz"]["score"]
    att = [r for r in _records(demo["tabs"]["Attainment"]) if r["scope"] == "agent"]
    assert len(att) == 8 and all("Manual Actuals row" in r["note"] for r in att)
