"""Tidy tables for BI tools: ``sheets-sync export --workbook W --out DIR --format csv|parquet`` (docs/deck.md).

One file per table, one row per observation, one column per variable, named by the workbook contract (English,
whatever the workbook's language), values canonical (statuses, tiers and severities as the contract spells them), so
a Looker Studio, Power BI or Tableau report keeps working when the team switches the review to 中文 or Español:

========================  ==========================================================================================
``daily``                 marketplace × date: the additive metrics per day (the Daily tab)
``asin_actuals``          marketplace × ASIN (or listing): the period's metrics and ratios (the Actuals tab)
``attainment``            one row per Targets row: target, actual, attainment, pace, status (the Attainment tab)
``scorecard``             one row per owner: score, projected score, tier, payout (the Scorecard tab)
``history``               period × as-of date × Targets row: attainment over time (the History tab)
========================  ==========================================================================================

Each table also carries the ``period`` it reviews. Numbers are exported at full precision, as the workbook stores
them. CSV is UTF-8 with a byte-order mark (Excel and Power BI then read Chinese and Spanish right); Parquet needs
the ``parquet`` extra (fastparquet; pyarrow is used instead when installed).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ConfigError, InputDataError
from .localize import labels, zh_punctuation
from .readback import generated_rows
from .sheets.base import GENERATED_HEADER_ROW, Workbook
from .template import Template, load_template

TABLES = {"daily": "Daily", "asin_actuals": "Actuals", "attainment": "Attainment", "scorecard": "Scorecard",
          "history": "History"}
FORMATS = ("csv", "parquet")
# columns whose values the sync shows translated: back to the contract's words
ENUM_COLUMNS = {"status", "tier", "next_tier", "tier_on", "row_kind", "severity", "role", "scope", "direction", "marketplace", "kpi",
                "provisional"}


def _canonical(language: str) -> dict[str, str]:
    """Shown word → canonical word, for the workbook's language (values only, not line patterns)."""
    if language == "en":
        return {}
    from .kpis import CATALOG

    en, other = labels("en"), labels(language)
    out = {str(other[k]): str(en[k]) for k in en if k in other and "{" not in str(en[k]) and not k.startswith("tab.")}
    for key, k in CATALOG.items():   # a KPI name as shown (Chinese punctuation included)
        name = k.zh if language == "zh" else k.es
        out[name] = out[zh_punctuation(name) if language == "zh" else name] = key
    return out


def _missing(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


def _frame(rows: list[dict[str, Any]], columns: list[str], canon: dict[str, str]) -> pd.DataFrame:
    df = pd.DataFrame([[r.get(c) for c in columns] for r in rows], columns=columns)
    for c in df.columns:
        if c in ENUM_COLUMNS:
            df[c] = df[c].map(lambda v: canon.get(v, v) if isinstance(v, str) else v)
        if df[c].map(lambda v: isinstance(v, dt.datetime | dt.date)).any():
            df[c] = pd.to_datetime(df[c], errors="coerce").astype("datetime64[ns]")   # one unit every writer keeps
        elif df[c].map(lambda v: _missing(v) or (isinstance(v, int | float) and not isinstance(v, bool))).all():
            df[c] = pd.to_numeric(df[c].map(lambda v: None if _missing(v) else v), errors="coerce")
        else:
            df[c] = df[c].map(lambda v: None if _missing(v) else str(v)).astype("string")
    return df


def read_tables(wb: Workbook, template: Template | None = None) -> dict[str, pd.DataFrame]:
    """The workbook's generated tabs as tidy frames (see the module doc)."""
    from .inputs import read_inputs
    from .template import TEAM_TABS

    template = template or load_template()
    tabs = wb.read_tabs([*TEAM_TABS, *TABLES.values()])
    if not tabs.get("Attainment") or len(tabs["Attainment"] or []) <= GENERATED_HEADER_ROW:
        raise InputDataError([])
    canon = _canonical(read_inputs(tabs, template=template).settings.language)
    out = {}
    for name, tab in TABLES.items():
        df = _frame(generated_rows(tabs.get(tab), template, tab), template.tab(tab).column_names, canon)
        if name == "asin_actuals" and "asin" in df:
            df = df[df["asin"] != "ALL"].reset_index(drop=True)     # the per-marketplace totals are not ASINs
        if name == "daily":
            df = df[[c for c in df.columns if not c.startswith("cum_")]]
        out[name] = df
    period = out["attainment"]["period"].dropna()
    label = str(period.iloc[0]) if len(period) else ""
    for df in out.values():
        if "period" not in df.columns:
            df.insert(0, "period", pd.Series([label] * len(df), dtype="string"))
    return out


def export(wb: Workbook, out: Path, fmt: str = "csv") -> list[Path]:
    """Write every table of :func:`read_tables` to ``out`` (a folder) as ``<table>.csv`` or ``<table>.parquet``."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: expected csv or parquet")
    if fmt == "parquet":
        try:
            import fastparquet  # noqa: F401
        except ImportError:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ConfigError("--format parquet needs a Parquet writer: pip install 'sheets-sync[parquet]'") from None
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in read_tables(wb).items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d")
        else:
            df.to_parquet(path, index=False)
        written.append(path)
    return written
