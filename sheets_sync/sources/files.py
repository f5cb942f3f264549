"""Report files downloaded by hand (or by a script) under ``DIR/US/`` and ``DIR/MX/``.

Any file name and extension (Seller Central names the all-orders report ``….txt``; sellers rename and zip
files): every file is read and recognised by its content, or named in the Sync Log with the reason it was not
used. Files directly under DIR (or in another folder) are read too: their marketplace then comes from their
content. Limits: a file larger than ``limits.file_bytes`` is not read; links leading outside DIR are not
followed; nothing of a skipped file's content is ever quoted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError
from ..frames import MARKETPLACES, RawReport
from .base import FetchRequest, Source
from .parsing.containers import DEFAULT_LIMITS, Limits, _mb

# Files operating systems leave in folders: named in the Sync Log as such, never read.
SYSTEM_FILES = {".ds_store", "thumbs.db", "desktop.ini", ".localized"}


class ReportFilesSource(Source):
    name = "files"

    def __init__(self, root: Path, limits: Limits | None = None):
        super().__init__()
        self.root = Path(root)
        self.limits = limits or DEFAULT_LIMITS
        self.notes: list[str] = []          # files deliberately not read (info lines in the Sync Log)

    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        return self.early_documents()     # every file of the folder, whatever the period

    def early_documents(self) -> Iterator[RawReport]:
        if not self.root.is_dir():
            raise ConfigError(f"{self.root}: reports folder not found (expected {self.root}/US/ and {self.root}/MX/)")
        real_root = self.root.resolve()
        for path in self._walk(real_root):
            rel = path.relative_to(self.root)
            hint = next((part.upper() for part in rel.parts[:-1] if part.upper() in MARKETPLACES), None)
            raw = self._read(path, rel, real_root, hint)
            if raw is not None:
                yield raw

    def _walk(self, real_root: Path) -> Iterator[Path]:
        """Every entry under the folder, sorted; links to folders are named, not entered."""
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            here = Path(dirpath)
            for d in sorted(dirnames):
                if (here / d).is_symlink():
                    rel = (here / d).relative_to(self.root)
                    inside = _inside(here / d, real_root)
                    self.problems.append(f"{rel}: a link to a folder {'inside' if inside else 'outside'} the "
                                         "reports folder; not followed (put the files themselves here)")
            dirnames[:] = sorted(d for d in dirnames if not (here / d).is_symlink())
            yield from (here / f for f in sorted(filenames))

    def _read(self, path: Path, rel: Path, real_root: Path, hint: str | None) -> RawReport | None:
        if path.name.casefold() in SYSTEM_FILES or path.name.startswith("._") or path.name.startswith(".~lock"):
            self.notes.append(f"{rel}: a file the operating system or an editor leaves in folders; not a report, "
                              "not read")
            return None
        if path.is_symlink() and not _inside(path, real_root):
            self.problems.append(f"{rel}: a link to a file outside the reports folder; not followed (copy the "
                                 "report itself into the folder)")
            return None
        limit = self.limits.file_bytes
        try:
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
            fd = os.open(path, flags)
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    self.problems.append(f"{rel}: not a regular file (a device, pipe or socket); not read")
                    return None
                if st.st_size > limit:
                    self.problems.append(f"{rel}: the file is larger than allowed ({_mb(st.st_size)}, over the "
                                         f"limit of {_mb(limit)} per file); raise limits.file_mb in service.yaml "
                                         "if this report is genuine")
                    return None
                with os.fdopen(fd, "rb", closefd=False) as fh:
                    data = fh.read(limit + 1)
            finally:
                os.close(fd)
        except OSError as exc:
            self.problems.append(f"{rel}: cannot be read ({exc.strerror or type(exc).__name__})")
            return None
        if len(data) > limit:     # grew while being read
            self.problems.append(f"{rel}: the file is larger than allowed (over the limit of {_mb(limit)} per "
                                 "file); raise limits.file_mb in service.yaml if this report is genuine")
            return None
        return RawReport(name=str(rel), data=data, marketplace_hint=hint, fetched_at=st.st_mtime)


def _inside(path: Path, real_root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(real_root)
    except (OSError, RuntimeError):       # a loop of links
        return False
