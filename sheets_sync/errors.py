"""One exception tree, grouped by what the caller should do about it.

::

    SheetsSyncError                 base of everything we raise on purpose
    ├── ConfigError                 service.yaml / environment is wrong: fix the configuration
    ├── TemplateError               a tab or header of the workbook does not match the template: fix the sheet
    ├── InputDataError              team-tab cells or report files are bad (carries every Problem found)
    │   └── ReportFormatError       one report file matches no known layout, or is damaged
    ├── RetriableError              try again later: 429, 5xx, timeouts, throttling, a workbook locked by another program
    │   └── QuotaError              a quota / rate limit (429, QuotaExceeded); honour ``retry_after``
    └── FatalError                  retrying will not help: 403 (not shared), 404 (wrong id), credentials rejected
        └── WorkbookLockedError     the .xlsx file is open in another program or not writable

Third-party exceptions are translated at the adapter boundary with ``raise ... from``; messages never
contain secrets (tokens, keys, refresh tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One addressed problem in the team's input: where, what was there, what would be valid, what we did."""

    where: str  # "Targets!H12" or a file name
    value: object
    expected: str
    action: str = "row skipped"
    severity: str = "error"  # "error" (row skipped / default used) or "warning" (value used, but look at it)

    def __str__(self) -> str:
        if self.value is None:          # a file, a tab: no cell value to show
            return f"{self.where}: {self.expected}; {self.action}"
        shown = "empty" if self.value == "" else f'"{self.value}"'
        return f"{self.where}: {shown} — {self.expected}; {self.action}"


class SheetsSyncError(Exception):
    """Base of every error sheets-sync raises on purpose."""


class ConfigError(SheetsSyncError):
    """The configuration (service.yaml, environment variables) is wrong."""


class TemplateError(SheetsSyncError):
    """The workbook's tabs or headers do not match the template."""


@dataclass
class InputDataError(SheetsSyncError):
    """Team-tab or report input is bad; carries every problem found, not just the first."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class ReportFormatError(SheetsSyncError):
    """A report file matches no known layout, or is damaged; names the file."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class RetriableError(SheetsSyncError):
    """A temporary failure: retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class QuotaError(RetriableError):
    """A quota or rate limit was hit (HTTP 429, QuotaExceeded)."""


class FatalError(SheetsSyncError):
    """Retrying will not help (not shared, not found, credentials rejected)."""


class WorkbookLockedError(FatalError):
    """The workbook file is open in another program or is not writable."""
