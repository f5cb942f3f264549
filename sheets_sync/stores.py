"""The store dimension: which marketplace codes exist, which stores a target's ``marketplace`` covers, and which
KPIs a store can have.

Codes (the ``marketplace`` column of every team tab, and Settings ``marketplaces``):

* ``US`` — Amazon.com; ``MX`` — Amazon.com.mx (unchanged: existing workbooks keep their meaning);
* ``MLM`` — Mercado Libre México (Mercado Libre's own site id for Mexico);
* ``WMUS`` — Walmart.com (Walmart Marketplace US); ``WMMX`` — Walmart.com.mx (Walmart Marketplace México);
* ``US-ALL`` — the United States as a country: Amazon US and Walmart US together;
* ``MX-ALL`` — Mexico as a country: Amazon MX, Mercado Libre México and Walmart México together (money in the
  base currency);
* ``ALL`` — every marketplace the workbook reviews (Settings ``marketplaces``).

A KPI that one store of a target's scope cannot have (Amazon sessions on Mercado Libre, Mercado Libre visits on
Amazon, Walmart's WFS share on Amazon, Mercado Libre reputation on ``MX-ALL``) is refused with an addressed
message, never shown as zero. Which marketplace has which KPI is :data:`ONLY` (a KPI not listed there exists
everywhere).
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

AMAZON = "amazon"
MERCADO_LIBRE = "mercadolibre"
WALMART = "walmart"

STORE_OF: dict[str, str] = {"US": AMAZON, "MX": AMAZON, "MLM": MERCADO_LIBRE, "WMUS": WALMART, "WMMX": WALMART}
COUNTRY_OF: dict[str, str] = {"US": "US", "MX": "MX", "MLM": "MX", "WMUS": "US", "WMMX": "MX"}
# Group codes → the marketplaces they cover (None: every reviewed one).
GROUPS: dict[str, tuple[str, ...] | None] = {"ALL": None, "US-ALL": ("US", "WMUS"), "MX-ALL": ("MX", "MLM", "WMMX")}
STORE_NAMES: dict[str, str] = {"US": "Amazon US", "MX": "Amazon MX", "MLM": "Mercado Libre MX", "WMUS": "Walmart US",
                               "WMMX": "Walmart MX"}
STORE_LABELS: dict[str, str] = {AMAZON: "Amazon", MERCADO_LIBRE: "Mercado Libre", WALMART: "Walmart"}

_AMAZON = frozenset({"US", "MX"})
_ML = frozenset({"MLM"})
_WM = frozenset({"WMUS", "WMMX"})
# KPI → the marketplaces that have it. Amazon's detail-page sessions, Buy Box, FBA and account health; Mercado
# Libre's listing visits and reputation; Walmart's WFS share and its seller performance standards (published for
# Walmart US only); returns and refunds where the platform reports them (Amazon's FBA returns, Walmart's Returns
# API); page views where a report gives them (Amazon's Business Reports, Walmart US's Item Performance report).
ONLY: dict[str, frozenset[str]] = {
    **dict.fromkeys(("sessions", "cvr", "buy_box_pct", "fba_share", "odr", "a_to_z_rate", "late_shipment_rate",
                     "cancel_rate", "valid_tracking_rate"), _AMAZON),
    **dict.fromkeys(("return_rate", "refund_rate"), _AMAZON | _WM),
    **dict.fromkeys(("page_views", "page_view_conversion"), _AMAZON | {"WMUS"}),
    **dict.fromkeys(("visits", "visit_conversion", "full_share", "ml_claims_rate", "ml_cancellations_rate",
                     "ml_delayed_handling_rate", "ml_reputation_level", "mercadolider_level"), _ML),
    "wfs_share": _WM,
    **dict.fromkeys(("wm_on_time_delivery_rate", "wm_valid_tracking_rate", "wm_cancellation_rate",
                     "wm_refund_rate"), frozenset({"WMUS"})),
}
# Kept for readers of the Mercado Libre work: the KPIs only Amazon / only Mercado Libre report.
AMAZON_ONLY: frozenset[str] = frozenset(k for k, v in ONLY.items() if v == _AMAZON)
MERCADO_LIBRE_ONLY: frozenset[str] = frozenset(k for k, v in ONLY.items() if v == _ML)
# What to use instead, named in the refusal.
INSTEAD: dict[str, str] = {
    "sessions": "visits (Mercado Libre counts listing visits, not detail-page sessions)",
    "cvr": "visit_conversion (orders ÷ visits)",
    "visits": "sessions",
    "visit_conversion": "cvr (units ÷ sessions)",
    "odr": "ml_claims_rate", "a_to_z_rate": "ml_claims_rate", "cancel_rate": "ml_cancellations_rate",
    "late_shipment_rate": "ml_delayed_handling_rate",
    "ml_claims_rate": "odr or a_to_z_rate", "ml_cancellations_rate": "cancel_rate",
    "ml_delayed_handling_rate": "late_shipment_rate",
    "fba_share": "full_share (units shipped from Mercado Libre's Full)", "full_share": "fba_share",
    "wfs_share": "fba_share",
    "wm_cancellation_rate": "cancel_rate", "wm_valid_tracking_rate": "valid_tracking_rate",
}
# On a Walmart marketplace the Amazon account-health KPIs have Walmart's counterparts.
INSTEAD_ON_WALMART: dict[str, str] = {
    "fba_share": "wfs_share (Walmart Fulfillment Services)",
    "cancel_rate": "wm_cancellation_rate", "valid_tracking_rate": "wm_valid_tracking_rate",
    "late_shipment_rate": "wm_on_time_delivery_rate", "sessions": "page_views",
    "cvr": "page_view_conversion (units ÷ page views)",
}

_ML_ITEM = re.compile(r"^MLM\d{6,12}$")
_WM_SKU = re.compile(r"^[^\s][^\r\n\t]{0,49}$")


def codes(allow_groups: bool = True) -> list[str]:
    """The codes a ``marketplace`` cell may hold."""
    return [*STORE_OF, *GROUPS] if allow_groups else list(STORE_OF)


def members(code: str, reviewed: Sequence[str]) -> list[str]:
    """The reviewed marketplaces a code covers (``ALL`` → every reviewed one; ``MX-ALL`` → MX and MLM)."""
    if code in GROUPS:
        group = GROUPS[code]
        return [m for m in reviewed if group is None or m in group]
    return [code]


def store(code: str) -> str:
    return STORE_OF.get(code, AMAZON)


def is_walmart(code: str) -> bool:
    return STORE_OF.get(code) == WALMART


def covers(markets: Sequence[str]) -> str:
    """'Amazon MX + Mercado Libre MX': the stores a figure covers."""
    return " + ".join(STORE_NAMES.get(m, m) for m in markets)


def mixes_stores(reviewed: Sequence[str]) -> bool:
    return len({store(m) for m in reviewed}) > 1 or any(store(m) != AMAZON for m in reviewed)


def store_name(code: str) -> str:
    """'Amazon', 'Mercado Libre' or 'Walmart': who reports a marketplace's figures."""
    return STORE_LABELS[store(code)]


def kind_store(kind: str) -> str:
    """The store whose layout a parsing ``kind`` is: ``ml_…`` Mercado Libre, ``wm_…`` Walmart, else Amazon."""
    return MERCADO_LIBRE if kind.startswith("ml_") else WALMART if kind.startswith("wm_") else AMAZON


def kind_store_name(kind: str) -> str:
    return STORE_LABELS[kind_store(kind)]


def store_reads(code: str, kind: str) -> bool:
    """Whether a report of ``kind`` (a parsing layout) can belong to marketplace ``code``: Mercado Libre's
    layouts (``ml_…``) to MLM, Walmart's (``wm_…``) to WMUS / WMMX, Amazon's to US / MX."""
    return kind_store(kind) == store(code)


def available(kpi: str, code: str) -> bool:
    have = ONLY.get(kpi)
    return have is None or code in have


def _who(kpi: str) -> str:
    """'Amazon', 'Amazon and Walmart', 'Walmart US': the stores that have ``kpi``."""
    have = ONLY[kpi]
    names: list[str] = []
    for code in STORE_OF:
        if code not in have:
            continue
        label = STORE_LABELS[store(code)]
        every = {c for c, s in STORE_OF.items() if s == store(code)}
        name = label if every <= have else STORE_NAMES[code]
        if name not in names:
            names.append(name)
    return " and ".join(names)


def refusal(kpi: str, code: str, reviewed: Sequence[str]) -> str | None:
    """Why ``kpi`` cannot be a target on ``code`` (None when it can). Manual KPIs are never refused: the
    team types them for any store."""
    ms = members(code, reviewed)
    missing = [m for m in ms if not available(kpi, m)]
    if not missing:
        return None
    only = _who(kpi)
    instead = (INSTEAD_ON_WALMART.get(kpi) if all(is_walmart(m) for m in missing) else None) or INSTEAD.get(kpi)
    alt = f"; on {covers(missing)} use {instead}" if instead else ""
    if len(ms) > 1:
        have = [m for m in ms if m not in missing]
        where = (f"use {' or '.join(have)} for {kpi}" if have else "")
        return (f"{kpi} exists only on {only}, and {code} here includes {covers(missing)}: it would not be the "
                f"same figure across the stores; {where}{alt}").rstrip("; ")
    return f"{kpi} exists only on {only}; {covers(missing)} does not report it{alt}"


def valid_item(code: str, value: str) -> bool:
    """A product id of the marketplace: an ASIN (10 letters/digits) on Amazon, a listing id such as
    MLM1234567890 on Mercado Libre, the seller SKU on Walmart (Walmart's orders, returns and inventory name an
    item by the seller's SKU: up to 50 characters, no line breaks)."""
    if store(code) == MERCADO_LIBRE:
        return bool(_ML_ITEM.match(value))
    if store(code) == WALMART:
        return bool(_WM_SKU.match(value))
    return bool(re.match(r"^[A-Z0-9]{10}$", value))


ITEM_HELP = ("expected an ASIN (10 letters and digits such as B0C7K1M2A1) or, on MLM, a Mercado Libre listing "
             "number such as MLM1234567890, or on WMUS / WMMX the Walmart seller SKU")

# National sales events: a Calendar row for MX named Buen Fin or Hot Sale applies to every Mexican store; a row for
# US named Black Friday, Cyber Monday or BFCM applies to Walmart US too (Prime Day stays Amazon's).
_NATIONAL = {"MX": ("buen fin", "hot sale"), "US": ("black friday", "cyber monday", "bfcm")}


def _fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s.casefold()) if not unicodedata.combining(c))


def event_applies(event_marketplace: str, event_name: str, marketplace: str) -> bool:
    """Whether a Calendar row weighs the days of ``marketplace``: its own code, ``ALL``, a group covering it
    (``MX-ALL``, ``US-ALL``), or — Buen Fin, Hot Sale, Black Friday and Cyber Monday being national events — an MX
    row for every Mexican store and a US row for Walmart US."""
    if event_marketplace in (marketplace, "ALL"):
        return True
    group = GROUPS.get(event_marketplace)
    if group and marketplace in group:
        return True
    return (event_marketplace in _NATIONAL and COUNTRY_OF.get(marketplace) == event_marketplace
            and any(n in _fold(event_name) for n in _NATIONAL[event_marketplace]))
