"""Schedules (``daily 07:00``…) in the workbook's time zone, and which of them are due."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..config import Config, WorkbookConfig
from ..errors import ConfigError
from .model import SCHEDULE_CATCHUP_MIN, SCHEDULE_MISSED_MAX_DAYS

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCHEDULE_HELP = ("'daily HH:MM', 'weekdays HH:MM', 'weekly mon HH:MM' (or mon,thu), "
                 "'monthly D HH:MM' (D = 1..28)")


@dataclass(frozen=True)
class Schedule:
    text: str
    weekdays: frozenset[int]          # 0 = Monday; empty = any day
    monthday: int | None
    hour: int
    minute: int

    def matches(self, local: dt.datetime) -> bool:
        if (local.hour, local.minute) != (self.hour, self.minute):
            return False
        if self.monthday is not None and local.day != self.monthday:
            return False
        return not self.weekdays or local.weekday() in self.weekdays


def parse_schedule(text: str) -> Schedule:
    """Parse one ``WorkbookConfig.schedule`` string; :class:`ConfigError` says what would be valid."""
    s = " ".join(str(text).lower().split())
    m = re.fullmatch(r"(daily|weekdays|weekly ([a-z,]+)|monthly (\d{1,2})) (\d{1,2}):(\d{2})", s)
    if not m:
        raise ConfigError(f"schedule {text!r}: expected {SCHEDULE_HELP}")
    hour, minute = int(m[4]), int(m[5])
    if hour > 23 or minute > 59:
        raise ConfigError(f"schedule {text!r}: {hour:02d}:{minute:02d} is not a time of day")
    weekdays: frozenset[int] = frozenset()
    monthday = None
    if m[1] == "weekdays":
        weekdays = frozenset(range(5))
    elif m[2]:
        names = m[2].split(",")
        bad = [n for n in names if n[:3] not in _DAYS or not n]
        if bad:
            raise ConfigError(f"schedule {text!r}: {', '.join(bad)} is not a day; use {', '.join(_DAYS)}")
        weekdays = frozenset(_DAYS.index(n[:3]) for n in names)
    elif m[3]:
        monthday = int(m[3])
        if not 1 <= monthday <= 28:
            raise ConfigError(f"schedule {text!r}: day of month must be 1..28 so it exists every month")
    return Schedule(s, weekdays, monthday, hour, minute)


def _zone(wb: WorkbookConfig) -> ZoneInfo:
    try:
        return ZoneInfo(wb.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"workbook {wb.name}: unknown time zone {wb.timezone!r}") from None


def due_occurrences(config: Config, now: dt.datetime, catchup_min: int = SCHEDULE_CATCHUP_MIN,
                    since: dt.datetime | None = None) -> list[tuple[WorkbookConfig, Schedule, str, dt.datetime]]:
    """Per schedule, its latest occurrence in ``(start, now]`` — start is ``now - catchup_min`` or, when the
    schedules were last checked earlier (``since``: every worker was down), that time, at most
    :data:`SCHEDULE_MISSED_MAX_DAYS` back. Only the latest one: a schedule missed several times runs once.
    Returns ``(workbook, schedule, key, occurrence)``; the key names the occurrence (for the once-record)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.replace(second=0, microsecond=0)
    start = now - dt.timedelta(minutes=catchup_min)
    if since is not None:
        start = max(min(start, since.replace(second=0, microsecond=0)),
                    now - dt.timedelta(days=SCHEDULE_MISSED_MAX_DAYS))
    out = []
    for wb in config.workbooks.values():
        if not wb.schedule:
            continue
        tz = _zone(wb)
        for text in wb.schedule:
            sched = parse_schedule(text)
            day = now.astimezone(tz).date()
            while True:
                local = dt.datetime(day.year, day.month, day.day, sched.hour, sched.minute, tzinfo=tz)
                utc = local.astimezone(dt.UTC)
                if utc <= start:
                    break
                exists = utc.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None)  # not a DST gap
                if utc <= now and exists and sched.matches(local):
                    out.append((wb, sched, f"{wb.name}|{sched.text}|{local.strftime('%Y-%m-%dT%H:%M')}", utc))
                    break
                day -= dt.timedelta(days=1)
    return out


def due_schedules(config: Config, now: dt.datetime,
                  catchup_min: int = SCHEDULE_CATCHUP_MIN) -> list[tuple[WorkbookConfig, Schedule, str]]:
    """Schedules whose local time fell in ``(now - catchup_min, now]``, with a key naming that occurrence."""
    return [(wb, sched, key) for wb, sched, key, _ in due_occurrences(config, now, catchup_min)]
