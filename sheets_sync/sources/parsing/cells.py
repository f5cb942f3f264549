"""Cell and header helpers shared by every layout: header normalisation, alias tables, number / date / currency
cleaning (vectorised), marketplace maps."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ...frames import AMAZON_MARKETPLACES, MARKETPLACES

CURRENCY_BY_MARKETPLACE = {mp: info["currency"] for mp, info in MARKETPLACES.items()}
# Amazon's reports: a currency or sales channel names an Amazon marketplace (MXN is Amazon MX here; Mercado Libre's
# layouts say MLM themselves)
MARKETPLACE_BY_CURRENCY = {v: k for k, v in CURRENCY_BY_MARKETPLACE.items() if k in AMAZON_MARKETPLACES}
MARKETPLACE_BY_CHANNEL = {info["sales_channel"].casefold(): mp for mp, info in MARKETPLACES.items()
                          if mp in AMAZON_MARKETPLACES}
_API_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})\s*$")


# --------------------------------------------------------------------------------------------- header helpers

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
_CURRENCY_TAG = re.compile(
    r"\s*\((?:[a-z]{0,3}[$¥€£₹₩]|usd|mxn|inr|eur|gbp|jpy|cad|brl|aud)\)\s*$")


def normalize_header(text: object) -> str:
    """NFKC, dashes → '-', strip, collapse spaces, casefold, drop a trailing ``(₹)``-style currency tag."""
    s = unicodedata.normalize("NFKC", str(text)).translate(_DASHES)
    s = s.replace("\ufeff", "").replace("\u200b", "")
    s = " ".join(s.split()).casefold()
    s = _CURRENCY_TAG.sub("", s)
    return s.strip()


def _key(text: object) -> str:
    """Matching key: the normalised header without any whitespace (so '(父)ASIN' == '(父) ASIN', '-B2B' == '- B2B')."""
    return re.sub(r"\s+", "", normalize_header(text))


def _alias_table(spec: dict[str, Iterable[str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for field_name, aliases in spec.items():
        for alias in aliases:
            table[_key(alias)] = field_name
    return table


_B2B = re.compile(r"(-|:)\s*(b2b|entre empresas)$|\bb2b$")


# Campaign / ad group / portfolio columns of the Ads console downloads (advertised product, campaign reports): the
# classic console names them (no ids), the 2026 console has ids too; 中文 from the classic console's Chinese UI;
# Español as a public parser copied them from a real amazon.es download (amazon.com.mx's: INFERRED the same).
CAMPAIGN_FIELDS: dict[str, list[str]] = {
    "campaign_id": ["Campaign ID", "Campaign Id", "广告活动编号", "广告活动 ID", "ID de campaña", "ID de la campaña"],
    "campaign_name": ["Campaign Name", "Campaign", "广告活动名称", "广告活动", "Nombre de campaña",
                      "Nombre de la campaña", "Campaña"],
    "ad_group_id": ["Ad group ID", "Ad Group Id", "广告组编号", "广告组 ID", "ID del grupo de anuncios"],
    "ad_group_name": ["Ad Group Name", "Ad group", "广告组名称", "广告组", "Nombre del grupo de anuncios",
                      "Grupo de anuncios"],
    "portfolio_id": ["Portfolio ID", "广告组合编号", "ID de la cartera"],
    "portfolio_name": ["Portfolio name", "Portfolio", "广告组合名称", "广告组合", "Nombre de la cartera", "Cartera"],
}

COUNTRY_TO_MARKETPLACE = {
    "united states": "US", "us": "US", "usa": "US", "美国": "US", "estados unidos": "US", "amazon.com": "US",
    "mexico": "MX", "méxico": "MX", "mx": "MX", "墨西哥": "MX", "amazon.com.mx": "MX",
}

# --------------------------------------------------------------------------------------------- value helpers

_EXCEL_GUARD = re.compile(r'^="(.*)"$|^=(.*)$', re.S)
_CURRENCY_PREFIX = re.compile(r"^\s*(US\$|MX\$|C\$|CA\$|A\$|AU\$|R\$|JP¥|CN¥|MXN|USD|INR|Rs\.?|[$¥￥€£₹])")
_SYMBOL_CURRENCY = {"US$": "USD", "USD": "USD", "MX$": "MXN", "MXN": "MXN", "₹": "INR", "INR": "INR", "RS": "INR",
                    "RS.": "INR", "JP¥": "JPY", "¥": "JPY", "￥": "JPY", "€": "EUR", "£": "GBP", "C$": "CAD",
                    "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "R$": "BRL", "CN¥": "CNY"}
_NOT_NUMBER = re.compile(r"[^0-9.eE+\-]")


def _per_unique(s: pd.Series, fn: Callable[[str], Any]) -> pd.Series:
    """Apply ``fn`` once per distinct value (ASINs, statuses, channels repeat a lot in big files)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = np.array([fn(str(u)) for u in uniques] + [fn("")], dtype=object)
    return pd.Series(mapped[codes], index=s.index, dtype=object)


def _clean_text(s: pd.Series, upper: bool = False, casefold: bool = False) -> pd.Series:
    """Strip (and upper-case / casefold) a text column, vectorised over its distinct values."""
    def fn(v: str) -> str:
        v = v.strip()
        if v.startswith("="):
            m = _EXCEL_GUARD.match(v)
            if m:
                v = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        return v.upper() if upper else v.casefold() if casefold else v
    return _per_unique(s, fn)


def _strip_guard(s: pd.Series) -> pd.Series:
    """Remove Excel ``="…"`` guards and surrounding whitespace (vectorised)."""
    s = s.astype(str).str.strip()
    if s.str.startswith("=").any():
        s = s.str.replace(_EXCEL_GUARD, lambda m: m.group(1) if m.group(1) is not None else m.group(2),
                          regex=True).str.strip()
    return s


def _num(s: pd.Series | None, pct: bool = False) -> pd.Series:
    """Formatted numbers → float64: ``"12,131"``, ``"$12,905.25"``, ``US$``/``MX$``/``MXN``/``₹`` prefixes, lakh
    grouping, ``="…"`` guards, ``(123.45)`` negatives; empty → NaN. With ``pct``: ``12.02%`` → 0.1202 (values
    without ``%`` that are above 1 are taken as percentages too; fractions stay)."""
    if s is None:
        return pd.Series(dtype="float64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        out = s.astype("float64")
        if pct:
            out = out.where(~(out > 1.0), out / 100.0)
        return out
    # fast path: plain numbers (flat files) parse in C; only the other cells go through the cleaning below
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    todo = out.isna().to_numpy() & (s != "").to_numpy()
    has_pct = np.zeros(len(s), dtype=bool)
    if todo.any():
        t = _strip_guard(s[todo])
        neg = (t.str.startswith("(") & t.str.endswith(")")).to_numpy()
        pct_cells = t.str.endswith("%").to_numpy()
        v = pd.to_numeric(t.str.replace(_NOT_NUMBER, "", regex=True), errors="coerce").astype("float64").to_numpy()
        v = np.where(neg, -np.abs(v), v)
        v = np.where(pct_cells, v / 100.0, v)
        vals = out.to_numpy(copy=True)
        vals[todo] = v
        has_pct[todo] = pct_cells
        out = pd.Series(vals, index=s.index, dtype="float64")
    if pct:
        out = out.where(has_pct | ~(out > 1.0), out / 100.0)
    return out


def _currency_from_values(s: pd.Series | None) -> tuple[str | None, bool]:
    """ISO currency from the money cells' symbol; (None, True) when only a bare ``$`` was seen (US or MX)."""
    if s is None or not len(s):
        return None, False
    sample = _strip_guard(s.head(200))
    prefixes = sample.str.extract(_CURRENCY_PREFIX, expand=False).dropna()
    suffix = sample.str.extract(r"(MXN|USD|INR)\s*$", expand=False).dropna()
    found = {str(p).upper() for p in pd.concat([prefixes, suffix])}
    isos = {_SYMBOL_CURRENCY[p] for p in found if p in _SYMBOL_CURRENCY}
    if len(isos) == 1:
        return isos.pop(), False
    return None, "$" in found


def _as_day(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").dt.normalize().astype("datetime64[ns]")


_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


_SPANISH_MONTHS = {"ene": "Jan", "feb": "Feb", "mar": "Mar", "abr": "Apr", "may": "May", "jun": "Jun", "jul": "Jul",
                   "ago": "Aug", "sep": "Sep", "sept": "Sep", "set": "Sep", "oct": "Oct", "nov": "Nov", "dic": "Dec"}
_SPANISH_MONTH = re.compile(r"^\s*(" + "|".join(sorted(_SPANISH_MONTHS, key=len, reverse=True)) + r")\.?(?=\s)",
                            re.I)


def _parse_dates_flexible(s: pd.Series) -> pd.Series:
    """Ads console dates: ISO, ``Aug 24, 2019``, ``ago 20, 2026`` (the Spanish console), ``M/D/YYYY`` (US
    console), Excel serials (XLSX)."""
    t = _strip_guard(s)
    if t.str.match(_SPANISH_MONTH).any():
        t = t.str.replace(_SPANISH_MONTH, lambda m: _SPANISH_MONTHS[m.group(1).lower()], regex=True)
    out = pd.to_datetime(t, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S"):
        if not out.isna().any():
            break
        out = out.fillna(pd.to_datetime(t, format=fmt, errors="coerce"))
    if out.isna().any():
        serial = pd.to_numeric(t, errors="coerce")
        serial = serial.where((serial > 20000) & (serial < 80000))
        out = out.fillna(_EXCEL_EPOCH + pd.to_timedelta(serial.round(), unit="D"))
    if out.isna().any():     # e.g. "2024-05-01T00:00:00+00:00"
        iso = pd.to_datetime(t.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        out = out.fillna(iso)
    return out.dt.normalize().astype("datetime64[ns]")


def _date_or_none(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _float(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("amount")
    if value is None or isinstance(value, bool):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _range_from_name(name: str) -> tuple[dt.date | None, dt.date | None]:
    """API documents are named ``sp-api:<type>:<mp>:<start>..<end>``: their requested range, when there."""
    m = _API_NAME.search(name or "")
    if not m:
        return None, None
    try:
        return dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
    except ValueError:
        return None, None




def _first_line(text: str) -> str:
    """The first non-empty line, without copying the rest of a big file."""
    start = 0
    while start < len(text) and text[start] in "\r\n":
        start += 1
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end].rstrip("\r")



def _dedupe(cols: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        n = seen.get(c, 0)
        seen[c] = n + 1
        out.append(c if n == 0 else f"{c}.{n}")
    return out


def _map_columns(columns: Iterable[str], table: dict[str, str], skip_b2b: bool = True) -> dict[str, str]:
    """{file column: canonical field} for the first file column of each field."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        norm = normalize_header(col)
        if skip_b2b and _B2B.search(norm):
            continue
        field_name = table.get(_key(col))
        if field_name and field_name not in taken:
            mapping[col] = field_name
            taken.add(field_name)
    return mapping



_ASIN_RE = re.compile(r"^[A-Z0-9]{10}$")


def _language(cols: Iterable[str]) -> str:
    text = " ".join(cols)
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    if re.search(r"[\uac00-\ud7af]", text):
        return "ko"
    if re.search(r"sesiones|ventas|art[ií]culos|pedid|unidades|fecha", text, re.I):
        return "es"
    return "en"



def _lower_cols(df: pd.DataFrame) -> pd.DataFrame:
    df.columns = [str(c).strip().casefold() for c in df.columns]
    return df


def _local_days(ts: pd.Series, marketplace: str | None) -> pd.Series:
    utc = pd.to_datetime(ts, format="ISO8601", utc=True, errors="coerce")
    if marketplace in MARKETPLACES:
        utc = utc.dt.tz_convert(MARKETPLACES[marketplace]["tz"])
    return utc.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")


_DATE_LIKE = re.compile(r"^[\d\s/.\-:T+Z]{4,30}$|^[A-Za-z]{3,9}\.? \d{1,2},? \d{2,4}$")


def _shown_date(value: object) -> str:
    """A cell quoted in a message only when it looks like a date (never arbitrary content of a stray file)."""
    s = str(value).strip()
    return repr(s) if _DATE_LIKE.match(s) else "a value that is not a date"
