"""Cell values from computed numbers: NaN → None, numpy scalars → Python. Pure."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def clean(v: Any) -> Any:
    """NaN → None, numpy scalars → Python, dates kept."""
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    return v


def clean_column(values: Any) -> list[Any]:
    """:func:`clean` of every value of a column, as a list; a float column in one pass (NaN and ±inf → None)
    instead of a call per value."""
    arr = np.asarray(values)
    if arr.dtype.kind != "f":
        return [clean(v) for v in arr]
    out: list[Any] = arr.tolist()
    for i in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[i] = None
    return out



def number(x: Any) -> float | None:
    """A cell or computed value as a float; None for blanks, text that is no number, booleans and NaN."""
    if x is None or isinstance(x, bool) or x == "":
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v
