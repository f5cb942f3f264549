"""From parsed report batches to facts: de-duplicated, in the base currency, on the Settings tax basis.

Pure: no files, no environment, no network.

De-duplication, per (marketplace, family, grain) — grain is ``asin`` (per-ASIN rows) or ``account``
(per-day account rows):

* dated rows (a day each) are kept per day from the newest batch that has that day: the same day downloaded
  twice, or a 30-day daily export over daily files, is counted once;
* span totals (a per-ASIN total over start..end, e.g. a Business Report or a by-ASIN Sales and Traffic
  report over several days) are used only when no dated rows cover their days, largest first, never two
  that overlap; a span reaching outside the period cannot be split and is skipped with a message.

Every decision is written to ``Facts.coverage`` (which file supplied which days) for the Sync Log.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Problem
from ..frames import ADDITIVE_METRICS, FAMILIES, MARKETPLACES, MONEY_METRICS, SNAPSHOT_METRICS, ReportBatch
from ..inputs import Product, Settings
from ..periods import Period
from ..stores import MERCADO_LIBRE, store
from .campaigns import campaign_facts
from .campaigns import empty as campaign_rows_empty

DAY = dt.timedelta(days=1)


@dataclass
class Facts:
    asin: pd.DataFrame                 # one row per (marketplace, asin): product attributes + metrics
    account: dict[str, dict[str, float]]   # marketplace → metric → total over the period (account level)
    daily: pd.DataFrame                # marketplace, date, additive metrics
    data_through: dict[str, dt.date | None]
    elapsed_days: dict[str, int]
    health: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    provisional: dict[str, set[dt.date]] = field(default_factory=dict)
    return_reasons: pd.DataFrame | None = None
    coverage: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    families: dict[str, set[str]] = field(default_factory=dict)   # marketplace → families with data
    campaigns: pd.DataFrame = field(default_factory=campaign_rows_empty)   # see compute/campaigns.py


def ranges(days: list[dt.date]) -> str:
    """[1,2,3,5] → '2026-11-01..03, 05' style, compact."""
    if not days:
        return "no days"
    days = sorted(set(days))
    out, start, prev = [], days[0], days[0]
    for d in [*days[1:], None]:
        if d is not None and d == prev + DAY:
            prev = d
            continue
        out.append(start.isoformat() if start == prev else f"{start.isoformat()}..{prev.isoformat()}")
        if d is not None:
            start = prev = d
    return ", ".join(out)


def _dated(df: pd.DataFrame | None) -> pd.DataFrame | None:
    if df is None or df.empty:
        return None
    return df[df["date"].notna()] if "date" in df else None


def _span(df: pd.DataFrame | None) -> pd.DataFrame | None:
    if df is None or df.empty or "date" not in df:
        return df if df is not None and not df.empty else None
    return df[df["date"].isna()]


@dataclass
class _Piece:
    batch: ReportBatch
    frame: pd.DataFrame
    days: frozenset[dt.date]


def _as_days(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.date


def select(batches: list[ReportBatch], period: Period, data_end: dt.date, problems: list[Problem],
           coverage: list[str]) -> dict[tuple[str, str, str], list[_Piece]]:
    """Choose, per (marketplace, family, grain), the rows to use. Returns pieces whose frames are already
    filtered to the chosen days."""
    groups: dict[tuple[str, str, str], list[tuple[ReportBatch, pd.DataFrame, bool]]] = defaultdict(list)
    for b in batches:
        if b.family in ("inventory", "health"):
            continue
        for grain, df in (("asin", b.asin_rows), ("account", b.daily_rows)):
            if df is None or df.empty:
                continue
            if grain == "account" or ("date" in df and df["date"].notna().any()):
                d = _dated(df) if grain == "asin" else df
                if d is not None and not d.empty:
                    groups[(b.marketplace, b.family, grain)].append((b, d, True))
            s = _span(df) if grain == "asin" else None
            if s is not None and not s.empty:
                groups[(b.marketplace, b.family, grain)].append((b, s, False))
    chosen: dict[tuple[str, str, str], list[_Piece]] = {}
    used: dict[tuple[str, str, str, str], list[str]] = {}
    period_days = set(period.days)
    for key, items in groups.items():
        pieces: list[_Piece] = []
        # Dated rows: per day, the newest batch wins.
        owner: dict[dt.date, tuple[float, int]] = {}
        dated = []
        for i, (b, df, is_dated) in enumerate(items):
            if not is_dated:
                continue
            days = _as_days(df["date"])
            dated.append((i, b, df, days))
            for d in set(days):
                if d in period_days and (d not in owner or b.fetched_at >= owner[d][0]):
                    owner[d] = (b.fetched_at, i)
        for i, b, df, days in dated:
            mine = {d for d, (_, j) in owner.items() if j == i}
            dropped = sorted(d for d in set(days) if d in period_days and d not in mine)
            if dropped:
                winner = items[owner[dropped[0]][1]][0].source
                coverage.append(f"{b.source}: {ranges(dropped)} already supplied by {winner}; not counted twice")
            if mine:
                pieces.append(_Piece(b, df[days.isin(mine).to_numpy()], frozenset(mine)))
        dated_days = set(owner)
        # Span totals: largest first, never overlapping each other or dated days.
        spans = []
        for b, df, is_dated in items:
            if is_dated:
                continue
            start = b.start or period.start
            end = b.end or min(period.end, data_end)
            if b.start is None:
                coverage.append(f"{b.source}: the file has no dates; taken to cover {start.isoformat()}.."
                                f"{end.isoformat()}")
            days = {start + DAY * k for k in range((end - start).days + 1)}
            if not days & period_days:
                coverage.append(f"{b.source}: covers {ranges(sorted(days))}, outside the period; not used")
                continue
            if not days <= period_days:
                problems.append(Problem(b.source, f"{start.isoformat()}..{end.isoformat()}",
                                        f"a per-ASIN total that reaches outside the period {period.label} cannot "
                                        "be split by day; download it for dates inside the period",
                                        "file skipped", "warning"))
                continue
            spans.append((len(days), b.fetched_at, b, df, frozenset(days)))
        taken: set[dt.date] = set()
        for _, _, b, df, days in sorted(spans, key=lambda s: (-s[0], -s[1])):
            if days <= dated_days:
                coverage.append(f"{b.source}: {ranges(sorted(days))} already supplied day by day; not used")
                continue
            if days & (taken | dated_days):
                coverage.append(f"{b.source}: overlaps days already supplied ({ranges(sorted(days & (taken | dated_days)))}); "
                                "not used")
                continue
            taken |= days
            pieces.append(_Piece(b, df, days))
        chosen[key] = pieces
        for p in pieces:
            used.setdefault((p.batch.source, key[0], key[1], ranges(sorted(p.days))), []).append(
                "per ASIN" if key[2] == "asin" else "account")
    # One line per file and family: "US/x.json: US traffic (per ASIN, account) 2026-11-01"
    coverage.extend(f"{src}: {mk} {fam} ({', '.join(grains)}) {days}" for (src, mk, fam, days), grains in used.items())
    return chosen


def _convert(df: pd.DataFrame, currency: str, settings: Settings, problems: list[Problem], source: str,
             missing_fx: set[str]) -> pd.DataFrame:
    money = [c for c in df.columns if c in MONEY_METRICS or c.startswith("ad_sales_")]
    if not money:
        return df
    rate = settings.rate(currency)
    df = df.copy()
    if rate is None:
        if currency not in missing_fx:
            missing_fx.add(currency)
            problems.append(Problem("Settings", f"fx.{currency}",
                                    f"no exchange rate for {currency} (first needed by {source}); add a row "
                                    f"fx.{currency} with how many {currency} one {settings.base_currency} buys",
                                    f"{currency} money left blank"))
        df[money] = np.nan
    elif rate != 1.0:
        df[money] = df[money] / rate
    return df


def _apply_attribution(df: pd.DataFrame, settings: Settings, marketplace: str | None = None) -> pd.DataFrame:
    if marketplace is not None and MARKETPLACES.get(marketplace, {}).get("store") == "walmart":
        # Walmart Connect attributes over 3, 14 or 30 days (Settings walmart_ads_attribution, default 14d)
        window = settings.walmart_ads_attribution
        if f"ad_sales_{window}" not in df:
            return df
        df = df.copy()
        for base in ("ad_sales", "ad_orders", "ad_units"):
            df[base] = df[f"{base}_{window}"]
        return df
    if settings.ads_attribution != "14d":
        return df
    df = df.copy()
    for base in ("ad_sales", "ad_orders", "ad_units"):
        alt = f"{base}_14d"
        if alt in df:
            df[base] = df[alt].where(df[alt].notna(), df.get(base))
    return df


def _zero_where_reported(asin: pd.DataFrame, families: dict[str, set[str]]) -> None:
    """On Mercado Libre, a listing absent from a family's documents is a 0 of that family's metrics, not an
    unknown: the Product Ads documents list every advertised listing, so one missing from them spent nothing.
    Only metrics the family reported for some listing of the store are filled; snapshots (Full stock) are left
    as they are. (Amazon's reports keep "no rows → no data": an ASIN missing from a Sponsored Products report
    may be advertised by another profile.)"""
    if asin.empty:
        return
    markets = asin.index.get_level_values(0)
    for mk, fams in families.items():
        rows = markets == mk
        if store(mk) != MERCADO_LIBRE or not rows.any():
            continue
        for m in {m for f in fams if f not in ("inventory", "health") for m in FAMILIES.get(f, ())}:
            if m in asin and asin.loc[rows, m].notna().any() and asin.loc[rows, m].isna().any():
                asin.loc[rows, m] = asin.loc[rows, m].fillna(0.0)


def build_facts(batches: list[ReportBatch], settings: Settings, products: list[Product], *,
                today: dt.date) -> Facts:
    period = settings.period
    problems: list[Problem] = []
    coverage: list[str] = []
    missing_fx: set[str] = set()
    markets = list(settings.marketplaces)
    usable: list[ReportBatch] = []
    for b in batches:
        if b.marketplace is None:
            problems.append(Problem(b.source, None, "cannot tell which marketplace this report is for; put it "
                                    "under a US/ or MX/ folder", "file skipped"))
        elif b.extras.get("granularity") == "month":
            problems.append(Problem(b.source, None, "a by-month report has one total per month, which cannot be "
                                    "paced by day; download Business Reports → Sales and Traffic by Date instead",
                                    "file skipped", "warning"))
        elif b.marketplace not in markets:
            problems.append(Problem(b.source, b.marketplace, f"a report for marketplace {b.marketplace}, which "
                                    f"is not in Settings marketplaces ({', '.join(markets)})", "file skipped"))
        else:
            usable.append(b)
    # Convert money up front (per batch: each batch has one currency), on copies: batches stay as parsed.
    converted = []
    for b in usable:
        cur = b.currency or MARKETPLACES[b.marketplace]["currency"]
        asin_rows = b.asin_rows if b.asin_rows is None else _apply_attribution(
            _convert(b.asin_rows, cur, settings, problems, b.source, missing_fx), settings, b.marketplace)
        daily_rows = b.daily_rows if b.daily_rows is None else _convert(b.daily_rows, cur, settings, problems,
                                                                        b.source, missing_fx)
        campaign_rows = b.campaign_rows if b.campaign_rows is None else _apply_attribution(
            _convert(b.campaign_rows, cur, settings, problems, b.source, missing_fx), settings)
        converted.append(replace(b, asin_rows=asin_rows, daily_rows=daily_rows, campaign_rows=campaign_rows))
    usable = _walmart_item_keys(converted, coverage)
    yesterday = today - DAY
    data_end = min(period.end, yesterday)
    chosen = select(usable, period, data_end, problems, coverage)

    families: dict[str, set[str]] = defaultdict(set)
    # -- per-ASIN facts ----------------------------------------------------------------------------------
    # Summed in two steps: each (marketplace, family) on its own columns, then the small per-family totals
    # together. One concatenation of every row across the union of columns would hold 26 mostly-empty float
    # columns for 600,000 rows (~280 MB at the large benchmark) to produce the same sums.
    totals = []
    for (mk, fam, grain), pieces in chosen.items():
        if grain != "asin" or not pieces:
            continue
        totals.append(_asin_totals([p.frame for p in pieces], mk, ADDITIVE_METRICS))
        families[mk].add(fam)
    # Inventory snapshot: newest per marketplace.
    snap: dict[str, ReportBatch] = {}
    health: dict[str, dict[str, dict[str, Any]]] = {}
    health_source: dict[str, str] = {}
    reasons = []
    for b in usable:
        if b.family == "inventory" and b.asin_rows is not None:
            if b.marketplace not in snap or b.fetched_at >= snap[b.marketplace].fetched_at:
                snap[b.marketplace] = b
        elif b.family == "health" and b.health:
            prev = health.get(b.marketplace)
            if prev is None or b.fetched_at >= prev.get("_fetched_at", {}).get("t", 0):
                health[b.marketplace] = {**b.health, "_fetched_at": {"t": b.fetched_at}}
                health_source[b.marketplace] = b.source
            families[b.marketplace].add("health")
        if b.family == "returns" and isinstance(b.extras.get("return_reasons"), pd.DataFrame):
            rr = b.extras["return_reasons"].copy()
            rr["marketplace"] = b.marketplace
            reasons.append(rr)
    for mk, b in snap.items():
        totals.append(_asin_totals([b.asin_rows], mk, SNAPSHOT_METRICS))
        families[mk].add("inventory")
        coverage.append(f"{b.source}: {mk} inventory snapshot")
    coverage.extend(f"{src}: {mk} account health" for mk, src in health_source.items())
    asin = _combine_asin_totals(totals)
    asin = _attach_products(asin, products)
    _zero_where_reported(asin, families)

    # -- daily / account ---------------------------------------------------------------------------------
    daily_parts = []
    for (mk, fam, grain), pieces in chosen.items():
        fam_metrics = [m for m in FAMILIES.get(fam, ()) if m in ADDITIVE_METRICS]
        acct = [p for p in pieces if grain == "account"]
        if grain == "account":
            for p in acct:
                cols = ["date", *[c for c in p.frame.columns if c in ADDITIVE_METRICS]]
                f = p.frame[cols].copy()
                f["marketplace"], f["_grain"], f["_family"] = mk, "account", fam
                daily_parts.append(f)
                families[mk].add(fam)
        else:
            for p in pieces:
                if "date" not in p.frame or p.frame["date"].isna().all():
                    continue
                cols = ["date", *[c for c in p.frame.columns if c in fam_metrics]]
                f = p.frame[cols].groupby("date", as_index=False).sum(min_count=1)
                f["marketplace"], f["_grain"], f["_family"] = mk, "asin", fam
                daily_parts.append(f)
    daily = _combine_daily(daily_parts)
    # Account totals: per family, the account-level daily rows when that family has them, else Σ ASINs.
    account: dict[str, dict[str, float]] = {}
    for mk in markets:
        tot: dict[str, float] = {}
        sub_asin = asin.loc[mk] if mk in asin.index.get_level_values(0) else None
        for fam, metrics in FAMILIES.items():
            has_acct = any(k == (mk, fam, "account") and v for k, v in chosen.items())
            for m in metrics:
                if m in tot and not np.isnan(tot[m]):
                    continue      # a metric two families supply (units_refunded): the first that has it
                if has_acct and m in daily:
                    s = daily.loc[daily["marketplace"] == mk, m]
                    tot[m] = float(s.sum()) if s.notna().any() else np.nan
                elif sub_asin is not None and m in sub_asin:
                    s = sub_asin[m]
                    tot[m] = float(s.sum()) if s.notna().any() else np.nan
                else:
                    tot[m] = np.nan
        account[mk] = tot

    # -- data through, provisional days ------------------------------------------------------------------
    data_through: dict[str, dt.date | None] = {}
    elapsed: dict[str, int] = {}
    provisional: dict[str, set[dt.date]] = {}
    for mk in markets:
        days = [d for (m, fam, _), pieces in chosen.items() if m == mk and fam == "traffic"
                for p in pieces for d in p.days]
        last = max(days) if days else None
        data_through[mk] = last
        elapsed[mk] = (last - period.start).days + 1 if last else 0
        prov = set()
        for b in usable:
            if b.marketplace == mk:
                prov |= {d for d in b.provisional_days if d in period}
        provisional[mk] = prov
    _apply_tax_and_refunds(asin, account, daily, settings)
    rr = pd.concat(reasons, ignore_index=True) if reasons else None
    campaigns = campaign_facts(usable, period, data_end, problems, coverage)
    return Facts(asin=asin, account=account, daily=daily, data_through=data_through, elapsed_days=elapsed,
                 health={k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in health.items()},
                 provisional=provisional, return_reasons=rr, coverage=coverage, problems=problems,
                 families=dict(families), campaigns=campaigns)


def _walmart_item_keys(batches: list[ReportBatch], coverage: list[str]) -> list[ReportBatch]:
    """Walmart Connect names an advertised item by Walmart's item id; the Item Performance report pairs item ids
    with SKUs (``extras["item_skus"]``). Ad rows the parser could not key by SKU (``ITEM <id>``) get their SKU here
    when any batch of the same marketplace knows it."""
    known: dict[str, dict[str, str]] = defaultdict(dict)
    for b in batches:
        if isinstance(b.extras.get("item_skus"), dict) and b.marketplace:
            known[b.marketplace].update({str(k): str(v) for k, v in b.extras["item_skus"].items() if v})
    out = []
    for b in batches:
        rows = b.asin_rows
        if b.family == "ads" and rows is not None and len(rows):
            mask = rows["asin"].astype(str).str.startswith("ITEM ")
            if mask.any():
                sku = rows.loc[mask, "asin"].str[5:].map(known.get(b.marketplace or "", {}))
                hit = sku.notna()
                if hit.any():
                    rows = rows.copy()
                    idx = sku[hit].index
                    rows.loc[idx, "sku"] = sku[hit]
                    rows.loc[idx, "asin"] = sku[hit].str.strip().str.upper()
                    b = replace(b, asin_rows=rows)
                if not hit.all():
                    coverage.append(f"{b.source}: {int((~hit).sum())} ad row(s) of Walmart item ids without a known "
                                    "SKU counted for the store only")
        out.append(b)
    return out


_METRIC_COLS = list(ADDITIVE_METRICS) + list(SNAPSHOT_METRICS)


def _asin_totals(frames: list[pd.DataFrame], mk: str, metrics: Iterable[str]) -> pd.DataFrame:
    """Per ASIN of one (marketplace, family): each of ``metrics`` the frames have, summed (NaN when every
    value is missing), and the first non-empty sku and title in row order; indexed by (marketplace, asin)."""
    wanted = set(metrics)
    cols = [c for c in dict.fromkeys(c for f in frames for c in f.columns) if c in wanted]
    keep = ["asin", *cols, *(c for c in ("sku", "title") if any(c in f for f in frames))]
    df = pd.concat([f.reindex(columns=keep) for f in frames], ignore_index=True) if len(frames) > 1 \
        else frames[0].reindex(columns=keep)
    g = df.groupby("asin", sort=False)
    out = g[cols].sum(min_count=1)
    for c in ("sku", "title"):
        text = df[c].fillna("").astype(str) if c in df else pd.Series("", index=df.index)
        out[c] = text[text != ""].groupby(df["asin"][text != ""], sort=False).first().reindex(out.index)
    out.index = pd.MultiIndex.from_arrays([pd.Index([mk] * len(out), dtype=object), out.index],
                                          names=["marketplace", "asin"])
    return out


def _combine_asin_totals(totals: list[pd.DataFrame]) -> pd.DataFrame:
    """The per-family totals as one row per (marketplace, asin): metrics summed (NaN when no family has a
    value), sku and title the first non-empty in family order."""
    if not totals:
        return pd.DataFrame(columns=[*_METRIC_COLS, "sku", "title"],
                            index=pd.MultiIndex.from_tuples([], names=["marketplace", "asin"]))
    allrows = pd.concat(totals)
    g = allrows.groupby(level=["marketplace", "asin"], sort=True)
    present = [c for c in _METRIC_COLS if c in allrows]
    asin = g[present].sum(min_count=1)
    for c in _METRIC_COLS:
        if c not in asin:
            asin[c] = np.nan
    asin = asin[_METRIC_COLS]
    for c in ("sku", "title"):
        text = allrows[c].fillna("").astype(str)
        asin[c] = text[text != ""].groupby(level=["marketplace", "asin"]).first().reindex(asin.index).fillna("")
    return asin


def _combine_daily(parts: list[pd.DataFrame]) -> pd.DataFrame:
    cols = ["marketplace", "date", *ADDITIVE_METRICS]
    if not parts:
        return pd.DataFrame(columns=cols)
    df = pd.concat(parts, ignore_index=True)
    df["date"] = pd.to_datetime(df["date"]).dt.date
    # Per (marketplace, family, date): account-level rows win over Σ ASIN rows.
    df["_rank"] = (df["_grain"] == "asin").astype(int)
    best = df.groupby(["marketplace", "_family", "date"])["_rank"].transform("min")
    df = df[df["_rank"] == best]
    metrics = [c for c in ADDITIVE_METRICS if c in df]
    out = df.groupby(["marketplace", "date"], as_index=False)[metrics].sum(min_count=1)
    for c in ADDITIVE_METRICS:
        if c not in out:
            out[c] = np.nan
    return out[cols].sort_values(["marketplace", "date"]).reset_index(drop=True)


def _attach_products(asin: pd.DataFrame, products: list[Product]) -> pd.DataFrame:
    attrs = ["tier", "category", "owner", "unit_cost", "unit_logistics_cost", "unit_fees", "product_sku",
             "product_title"]
    if products:
        p = pd.DataFrame([{"marketplace": x.marketplace, "asin": x.asin, "tier": x.tier, "category": x.category,
                           "owner": x.owner, "unit_cost": x.unit_cost, "unit_logistics_cost": x.unit_logistics_cost,
                           "unit_fees": x.unit_fees, "product_sku": x.sku, "product_title": x.title}
                          for x in products])
        p = p.set_index(["marketplace", "asin"])
        asin = asin.join(p, how="left")
    else:           # no Products rows: text attributes empty (object), costs unknown
        for c in attrs:
            asin[c] = pd.Series(None, index=asin.index, dtype=object) if c in (
                "tier", "category", "owner", "product_sku", "product_title") else np.nan
    asin["in_products"] = asin["tier"].notna()
    asin["tier"] = asin["tier"].fillna("unassigned")
    for c in ("category", "owner", "product_sku", "product_title"):
        asin[c] = asin[c].fillna("").astype(str)
    asin["sku"] = asin["sku"].where(asin["sku"] != "", asin["product_sku"])
    if "title" in asin:       # a title typed in Products wins over the reports'
        asin["title"] = asin["product_title"].where(asin["product_title"] != "", asin["title"])
    return asin.drop(columns=["product_sku", "product_title"])


def _apply_tax_and_refunds(asin: pd.DataFrame, account: dict[str, dict[str, float]], daily: pd.DataFrame,
                           settings: Settings) -> None:
    """Put gmv on the Settings tax basis, then the refunds basis; in place. Also keeps ``gmv_reported`` (as
    Amazon reports it), ``gmv_ex_tax`` and ``gmv_margin`` (excluding tax, net of refunds: net margin's G)."""
    asin["gmv_reported"] = asin["gmv"]
    asin["gmv_ex_tax"] = np.nan
    asin["gmv_margin"] = np.nan
    for mk, tot in account.items():
        vat = settings.vat.get(mk, 0.0)
        osales, otax = _num(tot.get("order_sales")), _num(tot.get("order_tax"))
        acct_share = otax / osales if osales and otax is not None else None
        mask = asin.index.get_level_values(0) == mk
        if mask.any():
            reported = asin.loc[mask, "gmv_reported"]
            with np.errstate(divide="ignore", invalid="ignore"):
                share = (asin.loc[mask, "order_tax"] / asin.loc[mask, "order_sales"]).where(
                    asin.loc[mask, "order_sales"] > 0)
            if acct_share is not None:
                share = share.fillna(acct_share)
            asin.loc[mask, "gmv"] = _tax_basis(reported, share, vat, settings.gmv_tax)
            ex = _tax_basis(reported, share, vat, "exclude")
            units = asin.loc[mask, "units"]
            with np.errstate(divide="ignore", invalid="ignore"):
                asin.loc[mask, "refunded_sales"] = (asin.loc[mask, "units_refunded"] * asin.loc[mask, "gmv"]
                                                    / units).where(units > 0)
                refunded_ex = (asin.loc[mask, "units_refunded"] * ex / units).where(units > 0)
            asin.loc[mask, "gmv_ex_tax"] = ex
            asin.loc[mask, "gmv_margin"] = ex - refunded_ex.fillna(0)
        one = pd.Series([acct_share], dtype=float)
        reported_total = pd.Series([tot.get("gmv", np.nan)], dtype=float)
        tot["gmv_reported"] = float(reported_total.iloc[0])
        tot["gmv"] = float(_tax_basis(reported_total, one, vat, settings.gmv_tax).iloc[0])
        dmask = daily["marketplace"] == mk
        if dmask.any():
            daily.loc[dmask, "gmv"] = _tax_basis(daily.loc[dmask, "gmv"].astype(float),
                                                 pd.Series(acct_share, index=daily.index[dmask], dtype=float),
                                                 vat, settings.gmv_tax)
        # Refunded sales = refunded units × the period's average selling price (on the tax basis).
        units, gmv, refunded = _num(tot.get("units")), _num(tot.get("gmv")), _num(tot.get("units_refunded"))
        asp = gmv / units if units and gmv is not None else None
        tot["refunded_sales"] = refunded * asp if asp is not None and refunded is not None else np.nan
        if settings.gmv_refunds == "net":
            if not np.isnan(tot["refunded_sales"]):
                tot["gmv"] -= tot["refunded_sales"]
            if mask.any():
                asin.loc[mask, "gmv"] = asin.loc[mask, "gmv"] - asin.loc[mask, "refunded_sales"].fillna(0)
            if dmask.any() and asp is not None:
                daily.loc[dmask, "gmv"] = daily.loc[dmask, "gmv"] - daily.loc[dmask, "units_refunded"].fillna(0) * asp


def _num(x) -> float | None:
    """A finite, non-zero-safe float or None."""
    if x is None:
        return None
    x = float(x)
    return None if np.isnan(x) else x


def _tax_basis(gmv: pd.Series, tax_share: pd.Series, vat: float, basis: str) -> pd.Series:
    """``gmv`` as Amazon reports it → the Settings basis. Marketplaces whose prices include VAT (MX) have it
    removed for ``exclude`` (the orders report's tax share when known, else ÷ (1 + vat)); marketplaces whose
    prices exclude tax (US) have the collected tax added for ``include`` when the orders report gives it."""
    share = tax_share.reindex(gmv.index)
    if vat > 0:   # prices include VAT
        if basis == "include":
            return gmv
        return (gmv * (1 - share)).where(share.notna(), gmv / (1 + vat))
    if basis == "exclude":
        return gmv
    # US-style: price excludes tax; share = tax / price
    return (gmv * (1 + share)).where(share.notna(), gmv)
