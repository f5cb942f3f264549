"""Periods, marketplace time zones and the seeded calendar of selling events."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .frames import MARKETPLACES

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")
PERIOD_HELP = "a period such as 2026-11 (month), 2026-W47 (ISO week), 2026-Q4, or 2026-11-01..2026-11-15"


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date          # inclusive

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def previous(self, n: int = 1) -> Period:
        """The n-th period of the same length before this one (months step by calendar month)."""
        if _MONTH.match(self.label):
            y, m = self.start.year, self.start.month - n
            while m < 1:
                y, m = y - 1, m + 12
            return parse_period(f"{y:04d}-{m:02d}")
        length = (self.end - self.start).days + 1
        start = self.start - dt.timedelta(days=length * n)
        end = start + dt.timedelta(days=length - 1)
        return Period(f"{start.isoformat()}..{end.isoformat()}", start, end)


def parse_period(text: str) -> Period:
    """Parse a period string; raises ValueError with what would be valid."""
    s = str(text).strip()
    if m := _MONTH.match(s):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise ValueError(f"month {mo} does not exist; expected {PERIOD_HELP}")
        return Period(s, dt.date(y, mo, 1), dt.date(y, mo, calendar.monthrange(y, mo)[1]))
    if m := _WEEK.match(s):
        y, w = int(m[1]), int(m[2])
        try:
            start = dt.date.fromisocalendar(y, w, 1)
        except ValueError:
            raise ValueError(f"week {w} does not exist in {y}; expected {PERIOD_HELP}") from None
        return Period(f"{y:04d}-W{w:02d}", start, start + dt.timedelta(days=6))
    if m := _QUARTER.match(s):
        y, q = int(m[1]), int(m[2])
        end_month = q * 3
        return Period(f"{y:04d}-Q{q}", dt.date(y, end_month - 2, 1),
                      dt.date(y, end_month, calendar.monthrange(y, end_month)[1]))
    if m := _RANGE.match(s):
        try:
            a, b = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
        except ValueError:
            raise ValueError(f"not a real date; expected {PERIOD_HELP}") from None
        if b < a:
            raise ValueError(f"the range ends before it starts; expected {PERIOD_HELP}")
        return Period(f"{a.isoformat()}..{b.isoformat()}", a, b)
    raise ValueError(f"expected {PERIOD_HELP}")


def month_of(day: dt.date) -> Period:
    return parse_period(f"{day.year:04d}-{day.month:02d}")


def local_today(marketplace: str, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(ZoneInfo(MARKETPLACES[marketplace]["tz"])).date()


def to_local_date(ts_utc, marketplace: str):
    """Vectorised: a pandas Series of UTC timestamps → marketplace-local calendar dates."""
    return ts_utc.dt.tz_convert(MARKETPLACES[marketplace]["tz"]).dt.date


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def seeded_events(year: int) -> dict[str, tuple[dt.date, dt.date]]:
    """The year's selling events, by rule. Amazon and the organisers announce exact dates each year, so the
    seeded Calendar rows say "check" in their notes; these rules match recent years.

    * Black Friday–Cyber Monday: the Friday after US Thanksgiving (4th Thursday of November) to the Monday.
    * Buen Fin: the Friday to Monday before 20 November, ending on the Revolution Day holiday (3rd Monday of
      November).
    * Hot Sale (AMVO): nine days starting on the last Monday of May.
    * Prime Day: the second Tuesday of July and the Wednesday–Thursday after (4 days in recent years: Tue–Fri).
    """
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    revolution_day = _nth_weekday(year, 11, 0, 3)
    hot_sale = _last_weekday(year, 5, 0)
    prime = _nth_weekday(year, 7, 1, 2)
    return {
        "bfcm": (thanksgiving + dt.timedelta(days=1), thanksgiving + dt.timedelta(days=4)),
        "buen_fin": (revolution_day - dt.timedelta(days=3), revolution_day),
        "hot_sale": (hot_sale, hot_sale + dt.timedelta(days=8)),
        "prime_day": (prime, prime + dt.timedelta(days=3)),
    }
