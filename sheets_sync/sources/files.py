"""Report files downloaded by hand (or by a script) under ``DIR/US/`` and ``DIR/MX/``.

Any file name; the layout is recognised by content. ``.gz`` files are accepted. Files directly under DIR
(or in another folder) are read too: their marketplace then comes from their content.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError
from ..frames import MARKETPLACES, RawReport
from .base import FetchRequest, Source

SKIP_SUFFIXES = {".md", ".txt", ".pdf", ".png", ".jpg", ".zip", ".ds_store"}


class ReportFilesSource(Source):
    name = "files"

    def __init__(self, root: Path):
        super().__init__()
        self.root = Path(root)

    def collect(self, request: FetchRequest) -> Iterator[RawReport]:
        if not self.root.is_dir():
            raise ConfigError(f"{self.root}: reports folder not found (expected {self.root}/US/ and {self.root}/MX/)")
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            rel = path.relative_to(self.root)
            if path.name.startswith(".") or path.suffix.lower() in SKIP_SUFFIXES:
                continue
            hint = next((part.upper() for part in rel.parts[:-1] if part.upper() in MARKETPLACES), None)
            try:
                data = path.read_bytes()
                mtime = path.stat().st_mtime
            except OSError as exc:
                self.problems.append(f"{rel}: cannot be read ({exc.strerror})")
                continue
            yield RawReport(name=str(rel), data=data, marketplace_hint=hint, fetched_at=mtime)
