"""Google Sheets adapter: gspread's plain ``HTTPClient`` + google-auth service-account credentials.

One sync costs three Sheets API calls when its write fits one request (``request_budget``, 2 MB by default):

1. ``GET spreadsheets/{id}`` with a ``fields`` mask: which tabs exist, their grid sizes, and the charts,
   conditional formats and protected ranges on the generated tabs. Cached from
   :meth:`GoogleWorkbook.read_tabs` until the next :meth:`GoogleWorkbook.write_tabs`.
2. ``GET values:batchGet`` for every team tab at once (``UNFORMATTED_VALUE`` + ``SERIAL_NUMBER``), and the
   generated tabs the sync reads back (History, Sync Log).
3. ``POST spreadsheets/{id}:batchUpdate``: every generated tab, values, formats, frozen rows, widths,
   conditional colours, charts and warning-only protection in one request. Google applies a batchUpdate
   all-or-nothing, so a rejected write leaves the previous generated tabs as they were.

One idea a module:

* :mod:`.transport` — HTTP: credentials, pacing, retries, Google's errors translated into ours.
* :mod:`.metadata` — what the metadata GET says: tabs, grids, what earlier syncs left.
* :mod:`.build` — request building: tabs and seeds as ``batchUpdate`` requests.
* :mod:`.limits` — Google's limits (cells, characters, bytes) and the History trim that recovers from them.
* :mod:`.planner` — the bounded write: unchanged tabs skipped, History and Sync Log patched, large writes staged.
* :mod:`.workbook` — :class:`GoogleWorkbook`, the Workbook port over all of these.
"""

from .build import PROTECTION_DESCRIPTION, from_serial, to_serial
from .limits import HISTORY_MAX_ROWS, MAX_CELL_CHARS, MAX_CELLS, MAX_REQUEST_BYTES, REQUEST_BUDGET
from .metadata import STAGING_PREFIX
from .transport import InProcessPacer, RequestPacer, RetryPolicy, shared_pacer
from .workbook import GoogleWorkbook, open_google_workbook

__all__ = [
    "HISTORY_MAX_ROWS", "MAX_CELLS", "MAX_CELL_CHARS", "MAX_REQUEST_BYTES", "PROTECTION_DESCRIPTION",
    "REQUEST_BUDGET", "STAGING_PREFIX", "GoogleWorkbook", "InProcessPacer", "RequestPacer", "RetryPolicy",
    "from_serial", "open_google_workbook", "shared_pacer", "to_serial",
]
