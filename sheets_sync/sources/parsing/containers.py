"""Bytes → something a layout can read: gzip, encodings, tables (CSV/TSV via pandas), XLSX workbooks."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import json
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
import pandas as pd

from ...errors import ReportFormatError
from ...frames import RawReport
from .cells import _dedupe, _first_line
from .registry import EXPECTED

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Per-file byte limits (service.yaml ``limits``): what is read from one file or download, and what one
    decompression (a .gz, a .zip member, an .xlsx workbook's parts) may produce. Over a limit, the file is
    skipped with a reason and nothing more of it is read."""

    file_bytes: int = 512 * MiB
    unpacked_bytes: int = 512 * MiB
    parse_workers: int | None = None      # helper processes that parse documents (None: one per extra core)


DEFAULT_LIMITS = Limits()
_CHUNK = 4 * MiB


def load_json(data: bytes | str) -> Any:
    """A JSON document, parsed by orjson (about 3x the standard library's speed on a 5,000-ASIN Sales and
    Traffic report); what orjson refuses and the standard library reads (``NaN``, ``Infinity``, nesting deeper
    than 1,024) is parsed again by ``json``, whose error is the one raised (a ``ValueError``). An integer over
    64 bits reads as a float here and as an int there: figures become floats either way."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _mb(n: int) -> str:
    return f"{n / MiB:,.0f} MB" if n >= 10 * MiB else f"{n / MiB:,.1f} MB"


def too_large(name: str, size: int | None, limit: int, what: str, setting: str) -> ReportFormatError:
    shown = f"{_mb(size)}, " if size is not None else ""
    return ReportFormatError(name, f"{what} ({shown}over the limit of {_mb(limit)} per file); raise limits."
                             f"{setting} in service.yaml if this report is genuine")


def _gunzip(name: str, data: bytes, limit: int) -> bytes:
    """Decompress gzip data without ever holding more output than the gzip trailer announces (and never more
    than ``limit``). The trailer (ISIZE) can lie — several members, sizes over 4 GiB, a crafted bomb — so the
    output is counted as it comes: past the announced size it is only counted, not kept, and it is decompressed
    once more only if it turns out to fit the limit. A bomb costs its chunk buffer, not its size."""
    announced = int.from_bytes(data[-4:], "little") if len(data) >= 18 else limit     # ISIZE: size mod 2**32
    if announced > limit:
        _gunzip_chunks(name, data, limit, keep_up_to=0)          # count only: raises when over the limit
        announced = limit
    out = _gunzip_chunks(name, data, limit, keep_up_to=announced)
    if out is None:                                               # the trailer understated the size
        out = _gunzip_chunks(name, data, limit, keep_up_to=limit)
    return out or b""


def _gunzip_chunks(name: str, data: bytes, limit: int, keep_up_to: int) -> bytes | None:
    """Decompress, keeping the output while it stays within ``keep_up_to`` bytes; returns None when it went
    past that (and stayed within ``limit``: over the limit is an error)."""
    parts: list[bytes] = []
    total = 0
    keep = keep_up_to > 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            while chunk := gz.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    parts.clear()
                    raise too_large(name, None, limit, "the gzip (.gz) data expands to more than allowed",
                                    "unpacked_mb")
                if keep and total > keep_up_to:
                    parts.clear()
                    keep = False
                if keep:
                    parts.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise ReportFormatError(name, f"gzip data is truncated or damaged ({type(exc).__name__}); expected a "
                                "complete .gz report (download it again)") from None
    if not keep:
        return None
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _decompress(raw: RawReport, limits: Limits = DEFAULT_LIMITS) -> bytes:
    data = raw.data
    if data is None:
        raise ReportFormatError(raw.name, f"no content; {EXPECTED}")
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limits.file_bytes:
        raise too_large(raw.name, len(data), limits.file_bytes, "the file is larger than allowed", "file_mb")
    rounds = 0
    while data[:2] == b"\x1f\x8b" and rounds < 3:
        data = _gunzip(raw.name, data, limits.unpacked_bytes)
        rounds += 1
    return data


def _utf16_without_bom(head: bytes) -> str | None:
    """Excel's "Unicode text" is UTF-16 (little-endian); some tools drop the BOM. ASCII-heavy UTF-16 has a NUL
    in every other byte."""
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _valid(data: bytes, encoding: str) -> bool:
    """Whether ``data`` decodes in ``encoding``, without building the whole text (chunked)."""
    if encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8") and data.isascii():
        return True
    try:
        dec = codecs.getincrementaldecoder(encoding)()
        view = memoryview(data)
        for i in range(0, len(data), _CHUNK):
            dec.decode(view[i:i + _CHUNK])
        dec.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _encoding(raw: RawReport, data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") and _valid(data, "utf-16"):
        return "utf-16"
    guessed = _utf16_without_bom(data[:4096])
    if guessed and len(data) % 2 == 0 and _valid(data, guessed):
        return guessed
    candidates: list[str] = []
    if raw.charset:
        candidates.append(raw.charset.strip().strip('"'))
    candidates += ["utf-8-sig", "cp1252"]
    for enc in candidates:
        if _valid(data, enc):
            return enc
    return "latin-1"


def _decode(raw: RawReport, data: bytes) -> tuple[str, str]:
    enc = _encoding(raw, data)
    return data.decode(enc).lstrip("\ufeff"), enc


class TextDoc:
    """A text report before its layout is known: the bytes, their encoding and the decoded head. The whole
    text is decoded only when a layout asks for it (``text``); big flat files are read from the bytes."""

    HEAD = 65536

    def __init__(self, raw: RawReport, data: bytes, encoding: str | None = None):
        self.raw = raw
        self.name = raw.name
        self.data = data
        self.encoding = encoding or _encoding(raw, data)
        cut = data[:self.HEAD]
        self.head = codecs.getincrementaldecoder(self.encoding)(errors="replace").decode(cut).lstrip("\ufeff")
        self.complete = len(data) <= self.HEAD

    @cached_property
    def text(self) -> str:
        return self.data.decode(self.encoding).lstrip("\ufeff")

    @cached_property
    def first_line(self) -> str:
        line = _first_line(self.head)
        if not self.complete and line == self.head.lstrip("\r\n"):     # a header longer than the head
            line = _first_line(self.text)
        return line

    @cached_property
    def names(self) -> set[str]:
        """The first line's tab-separated names, stripped and casefolded."""
        return {h.strip().casefold() for h in self.first_line.split("\t")}

    def head_lines(self, n: int = 60) -> str:
        """The first ``n`` complete lines (for recognising a table by its header without reading it all)."""
        lines = self.head.splitlines(keepends=True)
        if not self.complete and lines:
            lines = lines[:-1]           # the last one may be cut
        return "".join(lines[:n])

    def table(self, sep: str, quote_none: bool, usecols: Callable[[str], bool] | None = None,
              head: bool = False) -> pd.DataFrame:
        """Every cell as a string; read from the bytes when the encoding allows (faster, no text copy)."""
        if head:
            return _read_table(self.name, self.head_lines(), sep, quote_none, usecols=usecols)
        if self.encoding.lower().startswith("utf-16"):
            return _read_table(self.name, self.text, sep, quote_none, usecols=usecols)
        return _read_table(self.name, "", sep, quote_none, usecols=usecols, data=self.data,
                           encoding=self.encoding)


_SAFE_PARSER_MESSAGE = re.compile(r"Expected \d+ fields in line \d+, saw \d+")


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
        m = _SAFE_PARSER_MESSAGE.search(str(exc))     # never the cells themselves
        msg = m.group(0) if m else type(exc).__name__
        raise ReportFormatError(name, f"the table is malformed ({msg}); expected every row to have the header's "
                                "columns (a complete, unedited download)") from None
    if any(df[c].hasnans for c in df.columns):
        df = df.fillna("")
    return df



def open_zip(raw: RawReport, data: bytes, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ReportFormatError(raw.name, f"damaged ZIP/XLSX file ({type(exc).__name__}); expected a complete .xlsx "
                                "download, a .zip of reports or a CSV") from None
    total = sum(i.file_size for i in infos)
    if total > limits.unpacked_bytes:
        raise too_large(raw.name, total, limits.unpacked_bytes, "the archive expands to more than allowed",
                        "unpacked_mb")
    return zf


def zip_members(raw: RawReport, zf: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS
                ) -> list[tuple[str, bytes | ReportFormatError]]:
    """The files inside a .zip (not folders, not macOS ``__MACOSX``/hidden files), each read with the limit."""
    out: list[tuple[str, bytes | ReportFormatError]] = []
    total = 0
    for info in zf.infolist():
        base = info.filename.rsplit("/", 1)[-1]
        if info.is_dir() or info.filename.startswith("__MACOSX/") or base.startswith(".") or not base:
            continue
        name = f"{raw.name}/{info.filename}"
        if info.flag_bits & 0x1:
            out.append((info.filename, ReportFormatError(name, "password-protected inside the ZIP; expected a "
                                                         "plain .zip (or the report itself)")))
            continue
        parts: list[bytes] = []
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(_CHUNK):
                    total += len(chunk)
                    if total > limits.unpacked_bytes:
                        raise too_large(raw.name, None, limits.unpacked_bytes,
                                        "the archive expands to more than allowed", "unpacked_mb")
                    parts.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
            out.append((info.filename, ReportFormatError(name, f"damaged inside the ZIP ({type(exc).__name__}); "
                                                         "expected a complete archive")))
            continue
        out.append((info.filename, b"".join(parts)))
    return out


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
