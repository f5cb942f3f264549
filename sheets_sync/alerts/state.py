"""Alert state, kept in the queue's store (the SQLite ``jobs.db`` on one machine, the queue's Redis on many), so it
survives restarts and is shared by every worker.

Per workbook and period one record (``alerts:<workbook>|<period>``) maps each alert key to what each channel was
told::

    {"open": true, "fired": {"wecom": 1731300000.0}, "cleared": {}, "pending": {"slack": 1731300120.0},
     "alert": {...the last Alert, to word its "back on track"...}}

A sync **plans** in one transaction: an alert that holds is due to every channel not yet told (and not being told
by another worker right now: ``pending`` is a lease); an open alert that no longer holds is closed and its "back on
track" is due to every channel that heard of it. The plan marks what it hands out as pending, so two workers
never send the same message; :meth:`AlertStore.record` then stores what was delivered (a failed delivery is
simply not recorded: the next sync tries again). A closed alert whose "back on track" reached every channel is
forgotten; if it holds again later, it is a new alert.

Sync failures are counted per workbook (``alerts:<workbook>|failures``), and Mercado Libre's reputation reference
level is kept per workbook (``alerts:<workbook>|reputation``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .rules import Alert

LEASE_S = 300.0          # how long a planned delivery is reserved for the worker that planned it
ANY_PERIOD = "*"         # alerts that belong to no period (the sync failing)


@dataclass
class Plan:
    """What one sync should send: per channel, the alerts now due and the alerts now back on track."""

    fire: dict[str, list[Alert]] = field(default_factory=dict)
    clear: dict[str, list[Alert]] = field(default_factory=dict)

    def empty(self) -> bool:
        return not any(self.fire.values()) and not any(self.clear.values())


def _key(workbook: str, period: str) -> str:
    return f"alerts:{workbook}|{period}"


def _load(raw: str | None) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def _alert_json(a: Alert) -> dict[str, Any]:
    return {**dataclasses.asdict(a), "extra": {k: v for k, v in a.extra.items()
                                              if isinstance(v, str | int | float | bool) or v is None}}


def _alert(raw: dict[str, Any]) -> Alert:
    names = {f.name for f in dataclasses.fields(Alert)}
    return Alert(**{k: v for k, v in raw.items() if k in names})


class AlertStore:
    """Alert records over a job-store backend (:class:`sheets_sync.jobs.backend.Backend`)."""

    def __init__(self, backend: Any, clock: Callable[[], float] = time.time):
        self._backend = backend
        self.clock = clock

    @property
    def backend(self) -> Any:
        if callable(self._backend) and not hasattr(self._backend, "transact"):
            self._backend = self._backend()
        return self._backend

    def plan(self, workbook: str, period: str, holding: Iterable[Alert], channels: Iterable[str]) -> Plan:
        """Close what no longer holds, and hand out (as leased) every message now due to ``channels`` (the channels
        that may be told now: quiet hours leave a channel out, and its messages wait for a later sync)."""
        now = self.clock()
        holding = list(holding)
        channels = list(channels)

        def fn(tx: Any) -> Plan:
            data = _load(tx.get(_key(workbook, period)))
            plan = Plan()
            for a in holding:
                rec = data.get(a.key)
                if rec is None or not rec.get("open"):
                    told_clear = set((rec or {}).get("cleared", {}))
                    fired = {c: t for c, t in (rec or {}).get("fired", {}).items() if c not in told_clear}
                    rec = {"open": True, "fired": fired, "cleared": {}, "pending": {}}
                rec["alert"] = _alert_json(a)
                data[a.key] = rec
                for ch in channels:
                    if ch in rec["fired"] or rec["pending"].get(ch, 0) > now:
                        continue
                    rec["pending"][ch] = now + LEASE_S
                    plan.fire.setdefault(ch, []).append(a)
            keys = {a.key for a in holding}
            for k, rec in list(data.items()):
                if k in keys:
                    continue
                if rec.get("open"):
                    rec["open"], rec["pending"] = False, {}
                if not rec["fired"]:
                    del data[k]          # never reached anyone: nothing to take back
                    continue
                for ch in channels:
                    if ch in rec["fired"] and ch not in rec["cleared"] and rec["pending"].get(ch, 0) <= now:
                        rec["pending"][ch] = now + LEASE_S
                        plan.clear.setdefault(ch, []).append(_alert(rec["alert"]))
            tx.set(_key(workbook, period), json.dumps(data, sort_keys=True))
            return plan

        return self.backend.transact(fn)

    def record(self, workbook: str, period: str, channel: str, fired: Iterable[str], cleared: Iterable[str],
               failed: Iterable[str] = ()) -> None:
        """What ``channel`` was told (alert keys): delivered ones are stored, failed ones are released for the next
        sync. A closed alert that every channel has heard the end of is forgotten."""
        now = self.clock()
        fired, cleared, failed = list(fired), list(cleared), list(failed)

        def fn(tx: Any) -> None:
            data = _load(tx.get(_key(workbook, period)))
            for k in fired:
                if k in data:
                    data[k]["fired"][channel] = now
                    data[k]["pending"].pop(channel, None)
            for k in cleared:
                if k in data:
                    data[k]["cleared"][channel] = now
                    data[k]["pending"].pop(channel, None)
            for k in failed:
                if k in data:
                    data[k]["pending"].pop(channel, None)
            for k, rec in list(data.items()):
                if not rec.get("open") and set(rec["fired"]) <= set(rec["cleared"]):
                    del data[k]
            tx.set(_key(workbook, period), json.dumps(data, sort_keys=True))

        self.backend.transact(fn)

    def open_alerts(self, workbook: str, period: str) -> dict[str, dict[str, Any]]:
        """The stored records (for tests and ``sheets-sync alerts status``)."""
        return _load(self.backend.read(_key(workbook, period)))

    # -- sync failures and the reputation reference ----------------------------------------------------------
    def count_failure(self, workbook: str, failed: bool, error: str | None = None,
                      language: str | None = None) -> tuple[list[str], str]:
        """Count a failed sync (or reset the count after one that worked); the errors of the current run of failures,
        oldest first, and the workbook's language as last read (a failed sync may not have read it)."""
        def fn(tx: Any) -> tuple[list[str], str]:
            old = _load(tx.get(_key(workbook, "failures")))
            errors = [*old.get("errors", [])[-9:], error or "failed"] if failed else []
            lang = language or old.get("language") or "en"
            tx.set(_key(workbook, "failures"), json.dumps({"errors": errors, "language": lang}))
            return errors, lang

        return self.backend.transact(fn)

    def reputation_reference(self, workbook: str) -> dict[str, float]:
        return {k: float(v) for k, v in _load(self.backend.read(_key(workbook, "reputation"))).items()}

    def set_reputation_reference(self, workbook: str, levels: dict[str, float]) -> None:
        if levels:
            self.backend.transact(lambda tx: tx.set(_key(workbook, "reputation"), json.dumps(levels, sort_keys=True)))
