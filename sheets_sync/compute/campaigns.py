"""Ads at campaign, ad-group and portfolio grain: which report rows count, and what a Targets row names.

Pure: no files, no environment, no network.

**Rows.** Every batch with ``campaign_rows`` (advertised-product reports name their campaign and ad group;
campaign and ad-group reports are nothing else) offers rows for the period. Money is converted and the
attribution window applied by :func:`~sheets_sync.compute.actuals.build_facts` first. Then:

* a row without a campaign id whose campaign name appears with exactly one id in the marketplace's other rows
  gets that id (a classic console download names campaigns only; the API and the 2026 console give ids), and
  the same for ad groups within their campaign;
* a campaign is its id (else its name, compared as people type it: case, spaces and width ignored); an ad group
  is (campaign, ad-group id or name); a portfolio is its id or name and holds the campaigns that name it;
* per (marketplace, campaign, day) one batch counts: the newest (a campaign report and an advertised-product
  report of the same day agree; the newest has the latest attribution). Span totals (a summary download) count
  only for a campaign with no dated row on their days and no other span overlapping. The same per
  (marketplace, campaign, ad group, day) among the batches that have ad groups.

**Names.** A renamed campaign keeps its id, so a target typed with the id — or with any name the campaign had in
the period's reports — follows it. A name that matches two campaigns of one marketplace is ambiguous: a cell error
in the Sync Log with the Targets cell, and no actual. An ad group may also be typed ``campaign / ad group`` to say
which campaign's.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from ..errors import Problem
from ..frames import CAMPAIGN_KEY_COLUMNS, ReportBatch
from ..kpis import CAMPAIGN_SCOPES
from ..periods import Period

METRICS = ("ad_spend", "ad_sales", "ad_orders", "ad_units", "ad_clicks", "ad_impressions")
TEXT = CAMPAIGN_KEY_COLUMNS[1:]
COLUMNS = ("marketplace", "level", "campaign_key", "ad_group_key", "portfolio_key", *CAMPAIGN_KEY_COLUMNS, *METRICS,
           "for_campaign", "for_ad_group", "source")
GOAL_WORDS = {"brand": "brand-defence", "launch": "launch", "always_on": "always-on"}   # as the Campaigns tab shows them
AD_GROUP_SEPARATORS = (" / ", " › ", " > ", "/", "›", ">")
DAY = dt.timedelta(days=1)
_GUARD = re.compile(r'^=?"?(.*?)"?$')


def name_key(text: object) -> str:
    """A name as people type it: NFKC (full-width → ASCII), case, surrounding and repeated spaces ignored."""
    s = unicodedata.normalize("NFKC", str(text or ""))
    return " ".join(s.split()).casefold()


def typed_id(text: object) -> str:
    """An id as typed: ``="254927681919372"`` (the console's Excel guard) and surrounding spaces removed."""
    s = str(text or "").strip()
    m = _GUARD.match(s)
    return (m.group(1) if m else s).strip()


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in METRICS else "datetime64[ns]" if c == "date"
                                      else bool if c.startswith("for_") else object) for c in COLUMNS})


# -- which rows count ---------------------------------------------------------------------------------------

def campaign_facts(batches: list[ReportBatch], period: Period, data_end: dt.date, problems: list[Problem],
                   coverage: list[str]) -> pd.DataFrame:
    """The campaign rows of the period, one per report row, with ``for_campaign`` / ``for_ad_group`` saying where
    it counts (see the module docstring; a row that counts nowhere still names its campaign and ASIN).
    ``coverage`` gets a line per file used."""
    parts = []
    period_days = set(period.days)
    for i, b in enumerate(batches):
        df = b.campaign_rows
        if df is None or df.empty or b.marketplace is None:
            continue
        f = df.reindex(columns=[*CAMPAIGN_KEY_COLUMNS, *METRICS]).copy()
        f["date"] = pd.to_datetime(f["date"]).dt.normalize()
        dated = f["date"].notna()
        if (~dated).any():
            start, end = b.start or period.start, b.end or min(period.end, data_end)
            days = {start + DAY * k for k in range((end - start).days + 1)}
            if not days & period_days:
                f = f[dated]
            elif not days <= period_days:
                if b.asin_rows is None:       # an advertised-product file is named once, by its ASIN rows
                    problems.append(Problem(b.source, f"{start.isoformat()}..{end.isoformat()}",
                                            f"a campaign total that reaches outside the period {period.label} "
                                            "cannot be split by day; download it for dates inside the period",
                                            "file skipped", "warning"))
                f = f[dated]
        days_in = f["date"].dt.date.isin(period_days) | f["date"].isna()
        f = f[days_in.to_numpy()]
        if f.empty:
            continue
        f["marketplace"] = b.marketplace
        f["level"] = b.extras.get("campaign_level", "campaign")
        f["source"] = b.source
        f["_batch"], f["_fetched"] = i, b.fetched_at
        f["_start"], f["_end"] = b.start or period.start, b.end or min(period.end, data_end)
        parts.append(f)
    if not parts:
        return empty()
    rows = pd.concat(parts, ignore_index=True)
    for c in TEXT:
        rows[c] = rows[c].fillna("").astype(str).str.strip()
    _link(rows, "campaign_id", "campaign_name", ["marketplace"])
    rows["campaign_key"] = _key(rows["campaign_id"], rows["campaign_name"])
    _link(rows, "ad_group_id", "ad_group_name", ["marketplace", "campaign_key"])
    rows["ad_group_key"] = _key(rows["ad_group_id"], rows["ad_group_name"])
    _portfolios(rows)
    rows["for_campaign"] = _choose(rows, ["marketplace", "campaign_key"], rows["campaign_key"] != "")
    grouped = (rows["level"] == "ad_group") & (rows["ad_group_key"] != "")
    rows["for_ad_group"] = _choose(rows, ["marketplace", "campaign_key", "ad_group_key"], grouped)
    used = rows[rows["for_campaign"] | rows["for_ad_group"]]
    for (src, mk), g in used.groupby(["source", "marketplace"], sort=False):
        used_days = sorted({d for d in g["date"].dropna().dt.date} |
                           {g["_start"].iat[0] + DAY * k
                            for k in range((g["_end"].iat[0] - g["_start"].iat[0]).days + 1) if g["date"].isna().any()})
        grain = "per ad group" if g["for_ad_group"].any() else "per campaign"
        coverage.append(f"{src}: {mk} ads ({grain}) {_ranges(used_days)}")
    # rows that do not count stay too: the names a campaign had and the ASINs it advertises come from every report
    return rows.reindex(columns=list(COLUMNS)).reset_index(drop=True)


def _key(ids: pd.Series, names: pd.Series) -> pd.Series:
    """An id, else ``name:<name as typed>``, else "" (nothing named)."""
    keyed = names.map(lambda n: f"name:{name_key(n)}" if n else "")
    return ids.where(ids != "", keyed)


def _link(rows: pd.DataFrame, id_col: str, name_col: str, within: list[str]) -> None:
    """Give rows without an id the id their name has in the other rows (when it has exactly one)."""
    names = rows[name_col].map(name_key)
    known = rows[(rows[id_col] != "") & (names != "")]
    if known.empty or not ((rows[id_col] == "") & (names != "")).any():
        return
    ids = known.assign(_n=names[known.index]).groupby([*within, "_n"])[id_col].agg(lambda s: set(s))
    one = {k: next(iter(v)) for k, v in ids.items() if len(v) == 1}
    todo = (rows[id_col] == "") & (names != "")
    keys = zip(*[rows.loc[todo, c] for c in within], names[todo], strict=True)
    rows.loc[todo, id_col] = [one.get(k, "") for k in keys]


def _portfolios(rows: pd.DataFrame) -> None:
    """A campaign's portfolio from any of its rows (the newest that names one), on all its rows."""
    named = rows[(rows["portfolio_id"] != "") | (rows["portfolio_name"] != "")].sort_values("_fetched")
    last = named.groupby(["marketplace", "campaign_key"])[["portfolio_id", "portfolio_name"]].last()
    if len(last):
        idx = pd.MultiIndex.from_frame(rows[["marketplace", "campaign_key"]])
        found = last.reindex(idx)
        for c in ("portfolio_id", "portfolio_name"):
            rows[c] = found[c].fillna("").to_numpy(dtype=object)
    rows["portfolio_key"] = _key(rows["portfolio_id"], rows["portfolio_name"])


def _choose(rows: pd.DataFrame, keys: list[str], eligible: pd.Series) -> pd.Series:
    """True for the rows that count per ``keys``: per day the newest batch; span totals only on days no dated
    row of the same key has, largest first, never two that overlap."""
    out = pd.Series(False, index=rows.index)
    sub = rows[eligible.to_numpy()]
    if sub.empty:
        return out
    dated = sub[sub["date"].notna()]
    if len(dated):
        cand = dated[[*keys, "date", "_batch", "_fetched"]].drop_duplicates().sort_values(["_fetched", "_batch"])
        win = cand.groupby([*keys, "date"], sort=False).tail(1)[[*keys, "date", "_batch"]]
        hit = dated.reset_index().merge(win, on=[*keys, "date", "_batch"])["index"]
        out[hit.to_numpy()] = True
    spans = sub[sub["date"].isna()]
    if len(spans):
        covered: dict[tuple, set[dt.date]] = defaultdict(set)
        for k, d in dated.groupby(keys, sort=False)["date"]:
            covered[k if isinstance(k, tuple) else (k,)] = set(d.dt.date)
        groups = []
        for (k, _b), g in _span_groups(spans, keys):
            start, end = g["_start"].iat[0], g["_end"].iat[0]
            days = {start + DAY * n for n in range((end - start).days + 1)}
            groups.append((len(days), g["_fetched"].iat[0], k, days, g.index))
        for _, _, k, days, idx in sorted(groups, key=lambda x: (-x[0], -x[1])):
            if days & covered[k]:
                continue
            covered[k] |= days
            out[idx] = True
    return out


def _span_groups(spans: pd.DataFrame, keys: list[str]) -> Iterable[tuple[tuple[tuple, int], pd.DataFrame]]:
    for k, g in spans.groupby([*keys, "_batch"], sort=False):
        yield (tuple(k[:-1]), int(k[-1])), g


def _ranges(days: list[dt.date]) -> str:
    from .actuals import ranges

    return ranges(days)


# -- what a Targets row names -------------------------------------------------------------------------------

@dataclass
class Match:
    """What a scope value resolved to in one marketplace: campaign keys (campaign / portfolio) or (campaign,
    ad group) keys, and how to name them; ``ambiguous`` lists the candidates when a name fits several."""
    keys: list = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)


class CampaignIndex:
    """The period's campaign rows, summed once per campaign and ad group, with their names and ids, so that a
    Targets row costs dictionary look-ups."""

    def __init__(self, rows: pd.DataFrame, asin_gmv: dict[tuple[str, str], float] | None = None):
        self.rows = rows
        self.asin_gmv = asin_gmv or {}
        present = [m for m in METRICS if m in rows]
        camp = rows[rows["for_campaign"].astype(bool)] if len(rows) else rows
        grp = rows[rows["for_ad_group"].astype(bool)] if len(rows) else rows
        self.campaign_sums = self._sums(camp, ["marketplace", "campaign_key"], present)
        self.group_sums = self._sums(grp, ["marketplace", "campaign_key", "ad_group_key"], present)
        # names and ids per marketplace
        self.campaign_ids: dict[str, dict[str, str]] = defaultdict(dict)         # mk → id → key
        self.campaign_names: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.shown: dict[tuple[str, str], list[str]] = defaultdict(list)        # (mk, key) → names, oldest first
        self.product: dict[tuple[str, str], str] = {}
        self.group_ids: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
        self.group_names: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
        self.group_shown: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        self.portfolio_ids: dict[str, dict[str, str]] = defaultdict(dict)
        self.portfolio_names: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.portfolio_campaigns: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.portfolio_shown: dict[tuple[str, str], str] = {}
        self.asins: dict[tuple[str, str], set[str]] = defaultdict(set)
        if not len(rows):
            return
        order = rows.sort_values(["date"], na_position="first", kind="stable")
        for r in order[["marketplace", "campaign_key", "campaign_id", "campaign_name", "ad_product", "ad_group_key",
                        "ad_group_id", "ad_group_name", "portfolio_key", "portfolio_id", "portfolio_name",
                        "asin"]].drop_duplicates().itertuples(index=False):
            mk, ck = r.marketplace, r.campaign_key
            if r.campaign_id:
                self.campaign_ids[mk][r.campaign_id] = ck
            if r.campaign_name:
                self.campaign_names[mk][name_key(r.campaign_name)].add(ck)
                if r.campaign_name not in self.shown[(mk, ck)]:
                    self.shown[(mk, ck)].append(r.campaign_name)
            if r.ad_product:
                self.product[(mk, ck)] = r.ad_product
            if r.ad_group_key:
                gk = (ck, r.ad_group_key)
                if r.ad_group_id:
                    self.group_ids[mk][r.ad_group_id] = gk
                if r.ad_group_name:
                    self.group_names[mk][name_key(r.ad_group_name)].add(gk)
                    if r.ad_group_name not in self.group_shown[(mk, *gk)]:
                        self.group_shown[(mk, *gk)].append(r.ad_group_name)
            if r.portfolio_key:
                if r.portfolio_id:
                    self.portfolio_ids[mk][r.portfolio_id] = r.portfolio_key
                if r.portfolio_name:
                    self.portfolio_names[mk][name_key(r.portfolio_name)].add(r.portfolio_key)
                    self.portfolio_shown[(mk, r.portfolio_key)] = r.portfolio_name
                self.portfolio_campaigns[(mk, r.portfolio_key)].add(ck)
            if r.asin:
                self.asins[(mk, ck)].add(r.asin)

    @staticmethod
    def _sums(df: pd.DataFrame, keys: list[str], metrics: list[str]) -> dict[tuple, dict[str, float | None]]:
        if not len(df):
            return {}
        g = df.groupby(keys, sort=False)[metrics].sum(min_count=1)
        values = [[None if v != v else float(v) for v in r] for r in g.to_numpy(dtype=float).tolist()]
        return {k: dict(zip(metrics, v, strict=True)) for k, v in zip(g.index, values, strict=True)}

    @property
    def empty(self) -> bool:
        return not len(self.rows)

    def campaign_label(self, mk: str, key: str, with_id: bool = True) -> str:
        """``123 “Brand – Exact”`` (every name it had in the period, oldest first, joined by →); without the id
        for a sentence."""
        names = " → ".join(self.shown.get((mk, key), [])) or key.removeprefix("name:")
        shown_id = "" if key.startswith("name:") or not with_id else f"{key} "
        return f"{shown_id}“{names}”"

    def group_label(self, mk: str, key: tuple[str, str]) -> str:
        names = " → ".join(self.group_shown.get((mk, *key), [])) or key[1].removeprefix("name:")
        camp = " → ".join(self.shown.get((mk, key[0]), [])) or key[0].removeprefix("name:")
        return f"“{camp}” / “{names}”"

    # -- resolution ------------------------------------------------------------------------------------------
    def resolve(self, mk: str, scope: str, value: str) -> Match:
        v = typed_id(value)
        if scope == "campaign":
            return self._campaign(mk, v)
        if scope == "portfolio":
            key = self.portfolio_ids[mk].get(v)
            keys = {key} if key else set(self.portfolio_names[mk].get(name_key(v), set()))
            if len(keys) > 1:
                return Match(ambiguous=sorted(keys))
            camps = sorted(self.portfolio_campaigns.get((mk, next(iter(keys))), set())) if keys else []
            return Match(keys=camps, names=[self.campaign_label(mk, k) for k in camps])
        return self._group(mk, v)

    def _campaign(self, mk: str, v: str) -> Match:
        key = self.campaign_ids[mk].get(v)
        keys = {key} if key else set(self.campaign_names[mk].get(name_key(v), set()))
        if len(keys) > 1:
            return Match(ambiguous=[self.campaign_label(mk, k) for k in sorted(keys)])
        return Match(keys=sorted(keys), names=[self.campaign_label(mk, k) for k in sorted(keys)])

    def _group(self, mk: str, v: str) -> Match:
        key = self.group_ids[mk].get(v)
        keys = {key} if key else set(self.group_names[mk].get(name_key(v), set()))
        if len(keys) == 1:
            return Match(keys=sorted(keys), names=[self.group_label(mk, k) for k in keys])
        for sep in AD_GROUP_SEPARATORS:          # "campaign / ad group"
            at = v.find(sep)
            while at > 0:
                camp = self._campaign(mk, v[:at].strip())
                if len(camp.keys) == 1:
                    inner = typed_id(v[at + len(sep):])
                    hit = {k for k in keys | set(self.group_names[mk].get(name_key(inner), set()))
                           | ({self.group_ids[mk][inner]} if inner in self.group_ids[mk] else set())
                           if k[0] == camp.keys[0]}
                    if len(hit) == 1:
                        return Match(keys=sorted(hit), names=[self.group_label(mk, k) for k in hit])
                at = v.find(sep, at + 1)
        if len(keys) > 1:
            return Match(ambiguous=[self.group_label(mk, k) for k in sorted(keys)])
        return Match()

    # -- sums ------------------------------------------------------------------------------------------------
    def sums(self, mk: str, scope: str, match: Match) -> dict[str, float | None]:
        """Σ of the ads metrics over what matched, and ``gmv`` = the sales of the campaigns' advertised ASINs
        (each ASIN once) when the reports name them (TACoS)."""
        table = self.group_sums if scope == "ad_group" else self.campaign_sums
        out: dict[str, float | None] = {}
        for k in match.keys:
            row = table.get((mk, *k) if scope == "ad_group" else (mk, k), {})
            for m, v in row.items():
                if v is not None:
                    out[m] = (out.get(m) or 0.0) + v
                else:
                    out.setdefault(m, None)
        camps = {k[0] if scope == "ad_group" else k for k in match.keys}
        asins = set().union(*(self.asins.get((mk, c), set()) for c in camps)) if camps else set()
        if asins and all(self.asins.get((mk, c)) for c in camps):
            known = [self.asin_gmv.get((mk, a)) for a in asins]
            vals = [x for x in known if x is not None and x == x]
            out["gmv"] = float(sum(vals)) if vals else None
        return out

    def parts(self, mk: str, scope: str, match: Match | None = None) -> pd.DataFrame:
        """Per campaign (account / portfolio scope) or per ad group (campaign scope): the sums, for the review's
        'which campaigns moved it'. ``match`` None: every campaign of the marketplace."""
        if scope in ("campaign", "ad_group") and match is not None:
            camps = {k[0] if scope == "ad_group" else k for k in match.keys}
            items = {k: v for k, v in self.group_sums.items() if k[0] == mk and k[1] in camps}
            if scope == "ad_group":
                items = {k: v for k, v in items.items() if (k[1], k[2]) in set(match.keys)}
            labels = {k: self.group_label(mk, (k[1], k[2])) for k in items}
        else:
            keep = set(match.keys) if match is not None else None
            items = {k: v for k, v in self.campaign_sums.items() if k[0] == mk and (keep is None or k[1] in keep)}
            labels = {k: self.campaign_label(mk, k[1], with_id=False) for k in items}
        if not items:
            return pd.DataFrame(columns=["label", *METRICS])
        df = pd.DataFrame.from_dict(items, orient="index").astype(float)
        df.insert(0, "label", [labels[k] for k in items])
        return df


    def asin_parts(self, mk: str, match: Match, name: Callable[[str], str]) -> pd.DataFrame:
        """Per advertised ASIN of the matched ad groups (advertised-product reports name them): the sums."""
        rows = self.rows
        keys = set(match.keys)
        sel = rows[rows["for_ad_group"].astype(bool) & (rows["marketplace"] == mk) & (rows["asin"] != "")]
        sel = sel[[(c, g) in keys for c, g in zip(sel["campaign_key"], sel["ad_group_key"], strict=True)]]
        if sel.empty:
            return pd.DataFrame(columns=["label", *METRICS])
        df = sel.groupby("asin", sort=False)[list(METRICS)].sum(min_count=1).astype(float)
        df.index = pd.MultiIndex.from_arrays([[mk] * len(df), df.index])
        df.insert(0, "label", [name(a) for a in df.index.get_level_values(1)])
        return df


    def table(self, mk: str) -> list[dict[str, object]]:
        """The Campaigns tab's rows of a marketplace: each campaign (largest spend first), then its ad groups."""
        out: list[dict[str, object]] = []
        camps = sorted((k for k in self.campaign_sums if k[0] == mk),
                       key=lambda k: -(self.campaign_sums[k].get("ad_spend") or 0.0))
        portfolio = {(m, c): name for (m, p), cs in self.portfolio_campaigns.items() for c in cs
                     for name in [self.portfolio_label(m, p)]}
        for k in camps:
            ck = k[1]
            names = " → ".join(self.shown.get(k, []))
            base = {"marketplace": mk, "ad_product": self.product.get(k, ""), "portfolio": portfolio.get(k, ""),
                    "campaign_id": "" if ck.startswith("name:") else ck, "campaign": names,
                    "goal": GOAL_WORDS[campaign_goal(names)], "asins": len(self.asins.get(k, ())) or None}
            out.append({**base, "ad_group_id": "", "ad_group": "", **self.campaign_sums[k]})
            groups = sorted((g for g in self.group_sums if g[0] == mk and g[1] == ck),
                            key=lambda g: -(self.group_sums[g].get("ad_spend") or 0.0))
            for g in groups:
                out.append({**base, "asins": None, "ad_group_id": "" if g[2].startswith("name:") else g[2],
                            "ad_group": " → ".join(self.group_shown.get(g, [])), **self.group_sums[g]})
        return out

    def portfolio_label(self, mk: str, key: str) -> str:
        """A portfolio's name (its id when no report names it: the API's reports give ids only)."""
        return self.portfolio_shown.get((mk, key)) or key.removeprefix("name:")


def campaign_goal(name: str, notes: str = "") -> str:
    """``brand``, ``launch`` or ``always_on`` from the campaign's name (or the Targets row's notes): the words
    sellers put in them (brand / defen… / marca / 品牌; launch / lanzamiento / 新品 / 推新)."""
    text = name_key(f"{name} {notes}")
    if re.search(r"brand|defen[cs]|marca|品牌|防御|自有词", text):
        return "brand"
    if re.search(r"launch|lanzamiento|lanza|nuevo|new product|新品|推新|上新", text):
        return "launch"
    return "always_on"


__all__ = ["CAMPAIGN_SCOPES", "CampaignIndex", "Match", "campaign_facts", "campaign_goal", "name_key", "typed_id"]
