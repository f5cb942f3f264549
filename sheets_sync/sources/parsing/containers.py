"""Bytes → something a layout can read: gzip, encodings, tables (CSV/TSV via pandas), XLSX workbooks."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport
from .cells import _dedupe
from .registry import EXPECTED


def _decompress(raw: RawReport) -> bytes:
    data = raw.data
    if data is None:
        raise ReportFormatError(raw.name, f"no content; {EXPECTED}")
    if isinstance(data, str):
        data = data.encode("utf-8")
    rounds = 0
    while data[:2] == b"\x1f\x8b" and rounds < 3:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReportFormatError(
                raw.name, f"gzip data is truncated or damaged ({exc}); expected a complete .gz report "
                "(download it again)") from None
        rounds += 1
    return data


def _decode(raw: RawReport, data: bytes) -> tuple[str, str]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    candidates: list[str] = []
    if raw.charset:
        candidates.append(raw.charset.strip().strip('"'))
    candidates += ["utf-8-sig", "cp1252"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.lstrip("\ufeff"), enc
    return data.decode("latin-1"), "latin-1"



def _read_table(name: str, text: str, sep: str, quote_none: bool,
                usecols: Callable[[str], bool] | None = None, data: bytes | None = None,
                encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV/TSV with every cell as a string. Big flat files are read from their bytes (faster than text)."""
    kwargs: dict[str, Any] = dict(sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                                  skip_blank_lines=True, engine="c", index_col=False)
    if quote_none:
        kwargs["quoting"] = csv.QUOTE_NONE
    if usecols is not None:
        kwargs["usecols"] = usecols
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", pd.errors.ParserWarning)   # rows longer than the header
            if data is not None and encoding and not encoding.lower().startswith("utf-16"):
                df = pd.read_csv(io.BytesIO(data), encoding=encoding, **kwargs)
            else:
                df = pd.read_csv(io.StringIO(text), **kwargs)
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError, ValueError,
            csv.Error, UnicodeError) as exc:
        msg = str(exc).strip().split(". This leads")[0][:160]
        raise ReportFormatError(name, f"the table is malformed ({msg}); expected every row to have the header's "
                                "columns (a complete, unedited download)") from None
    if any(df[c].hasnans for c in df.columns):
        df = df.fillna("")
    return df



def _parse_xlsx(raw: RawReport, data: bytes) -> pd.DataFrame:
    """The first sheet of an .xlsx workbook as a table of strings."""
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise ReportFormatError(raw.name, f"damaged .xlsx workbook ({type(exc).__name__}); expected an Ads console "
                                "or Business Report download") from None
    try:
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    if not rows:
        raise ReportFormatError(raw.name, f"the workbook's first sheet is empty; {EXPECTED}")
    width = max(len(r) for r in rows)

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, dt.datetime):
            return v.date().isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float):
            return repr(v)
        return str(v)

    header = [cell(v) for v in rows[0]] + [""] * (width - len(rows[0]))
    body = [[cell(v) for v in r] + [""] * (width - len(r)) for r in rows[1:]]
    df = pd.DataFrame(body, columns=_dedupe(header), dtype=object).astype(str)
    return df
