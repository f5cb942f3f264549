"""The store dimension: which marketplace codes exist, which stores a target's ``marketplace`` covers, and which
KPIs a store can have.

Codes (the ``marketplace`` column of every team tab, and Settings ``marketplaces``):

* ``US`` — Amazon.com; ``MX`` — Amazon.com.mx (unchanged: existing workbooks keep their meaning);
* ``MLM`` — Mercado Libre México (Mercado Libre's own site id for Mexico);
* ``MX-ALL`` — Mexico as a country: Amazon MX and Mercado Libre México together (money in the base currency);
* ``ALL`` — every marketplace the workbook reviews (Settings ``marketplaces``).

A KPI that one store of a target's scope cannot have (Amazon sessions on Mercado Libre, Mercado Libre visits on
Amazon, Mercado Libre reputation on ``MX-ALL``) is refused with an addressed message, never shown as zero.
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

AMAZON = "amazon"
MERCADO_LIBRE = "mercadolibre"

STORE_OF: dict[str, str] = {"US": AMAZON, "MX": AMAZON, "MLM": MERCADO_LIBRE}
COUNTRY_OF: dict[str, str] = {"US": "US", "MX": "MX", "MLM": "MX"}
# Group codes → the marketplaces they cover (None: every reviewed one).
GROUPS: dict[str, tuple[str, ...] | None] = {"ALL": None, "MX-ALL": ("MX", "MLM")}
STORE_NAMES: dict[str, str] = {"US": "Amazon US", "MX": "Amazon MX", "MLM": "Mercado Libre MX"}

# KPIs only Amazon reports (detail-page sessions and Buy Box, FBA, Amazon's account-health metrics, Amazon's
# returns/refunds reports, Sponsored Products' order counts).
AMAZON_ONLY: frozenset[str] = frozenset({
    "sessions", "cvr", "buy_box_pct", "fba_share", "return_rate", "refund_rate",
    "odr", "a_to_z_rate", "late_shipment_rate", "cancel_rate", "valid_tracking_rate",
})
# KPIs only Mercado Libre reports (listing visits, and its seller reputation).
MERCADO_LIBRE_ONLY: frozenset[str] = frozenset({
    "visits", "visit_conversion", "full_share",
    "ml_claims_rate", "ml_cancellations_rate", "ml_delayed_handling_rate", "ml_reputation_level",
    "mercadolider_level",
})
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
}

_ML_ITEM = re.compile(r"^MLM\d{6,12}$")


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


def covers(markets: Sequence[str]) -> str:
    """'Amazon MX + Mercado Libre MX': the stores a figure covers."""
    return " + ".join(STORE_NAMES.get(m, m) for m in markets)


def mixes_stores(reviewed: Sequence[str]) -> bool:
    return len({store(m) for m in reviewed}) > 1 or any(store(m) != AMAZON for m in reviewed)


def store_name(code: str) -> str:
    """'Amazon' or 'Mercado Libre': who reports a marketplace's figures."""
    return "Mercado Libre" if store(code) == MERCADO_LIBRE else "Amazon"


def kind_store_name(kind: str) -> str:
    return "Mercado Libre" if kind.startswith("ml_") else "Amazon"


def store_reads(code: str, kind: str) -> bool:
    """Whether a report of ``kind`` (a parsing layout) can belong to marketplace ``code``: Mercado Libre's
    layouts (``ml_…``) to MLM, Amazon's to US / MX."""
    return kind.startswith("ml_") == (store(code) == MERCADO_LIBRE)


def available(kpi: str, code: str) -> bool:
    s = store(code)
    if kpi in AMAZON_ONLY:
        return s == AMAZON
    if kpi in MERCADO_LIBRE_ONLY:
        return s == MERCADO_LIBRE
    return True


def refusal(kpi: str, code: str, reviewed: Sequence[str]) -> str | None:
    """Why ``kpi`` cannot be a target on ``code`` (None when it can). Manual KPIs are never refused: the
    team types them for any store."""
    ms = members(code, reviewed)
    missing = [m for m in ms if not available(kpi, m)]
    if not missing:
        return None
    only = "Amazon" if kpi in AMAZON_ONLY else "Mercado Libre"
    instead = INSTEAD.get(kpi)
    alt = f"; on {covers(missing)} use {instead}" if instead else ""
    if len(ms) > 1:
        have = [m for m in ms if m not in missing]
        where = (f"use {' or '.join(have)} for {kpi}" if have else "")
        return (f"{kpi} exists only on {only}, and {code} here includes {covers(missing)}: it would not be the "
                f"same figure across the stores; {where}{alt}").rstrip("; ")
    return f"{kpi} exists only on {only}; {covers(missing)} does not report it{alt}"


def valid_item(code: str, value: str) -> bool:
    """A product id of the marketplace: an ASIN (10 letters/digits) on Amazon, a listing id such as
    MLM1234567890 on Mercado Libre."""
    if store(code) == MERCADO_LIBRE:
        return bool(_ML_ITEM.match(value))
    return bool(re.match(r"^[A-Z0-9]{10}$", value))


ITEM_HELP = ("expected an ASIN (10 letters and digits such as B0C7K1M2A1) or, on MLM, a Mercado Libre listing "
             "number such as MLM1234567890")

# National Mexican sales events: a Calendar row for MX (or MX-ALL) applies to both Mexican stores.
_NATIONAL = ("buen fin", "hot sale")


def _fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s.casefold()) if not unicodedata.combining(c))


def event_applies(event_marketplace: str, event_name: str, marketplace: str) -> bool:
    """Whether a Calendar row weighs the days of ``marketplace``: its own code, ``ALL``, a group covering it
    (``MX-ALL``), or — Buen Fin and Hot Sale being national events — an MX row for Mercado Libre México."""
    if event_marketplace in (marketplace, "ALL"):
        return True
    group = GROUPS.get(event_marketplace)
    if group and marketplace in group:
        return True
    return (event_marketplace == "MX" and COUNTRY_OF.get(marketplace) == "MX"
            and any(n in _fold(event_name) for n in _NATIONAL))
