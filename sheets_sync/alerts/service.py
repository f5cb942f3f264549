"""After every sync: the alerts that hold → what each channel is due (:mod:`.state`) → messages (:mod:`.text`)
→ delivery (:mod:`.channels`), paced by the channels' shared budgets → Sync Log lines.

Nothing here raises for a channel's sake: a channel that cannot be reached, refuses the message or is not configured
costs one Sync Log line (without its URL) and the message is tried again at the next sync.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from ..budget import Budgets, account_key, shared_budgets
from ..config import AlertChannelConfig, Config
from ..i18n import t as _t
from .channels import LIMITS, Channel, DeliveryError, EmailChannel, in_quiet_hours, now_local, open_channel
from .rules import SYNC_LOG_CELL, Alert, sync_failed_alert
from .state import ANY_PERIOD, AlertStore
from .text import Message, digest, message

log = logging.getLogger("sheets_sync.alerts")


@dataclass(frozen=True)
class Where:
    """Which workbook an alert is about, as people see it: its name, where to look, and its address if it has one."""

    name: str                      # "team.xlsx", "demo", a sheet's name
    sheet_url: str | None = None   # a Google Sheet's address

    def cell(self, cell: str) -> str:
        return f"{self.name} › {cell}"


def where_of(target: str, name: str | None = None) -> Where:
    """``target`` is what the workbook port describes itself as: a path, or ``google:<spreadsheet id>``."""
    if target.startswith("google:"):
        sid = target.split(":", 1)[1]
        return Where(name or sid, f"https://docs.google.com/spreadsheets/d/{sid}/edit")
    return Where(name or target.replace("\\", "/").rsplit("/", 1)[-1])


class AlertService:
    """The configured channels of one service, the alert store and the channels' budgets (all in the queue's store)."""

    def __init__(self, channels: Sequence[AlertChannelConfig], env: Any, store: AlertStore, budgets: Budgets | None,
                 *, session: requests.Session | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.channels, self.env, self.store, self.budgets = list(channels), env, store, budgets
        self.session, self.clock, self.sleep = session, clock, sleep

    @classmethod
    def from_config(cls, config: Config, **kw: Any) -> AlertService | None:
        """The service's alerts, or None when ``alerts:`` names no channel."""
        if not config.alerts:
            return None
        base = shared_budgets(config)                  # opens the queue's store on first use, once per process

        def backend() -> Any:
            return base.backend

        return cls(config.alerts, config.env, AlertStore(backend), Budgets(backend, LIMITS), **kw)

    def serving(self, workbook: str) -> list[AlertChannelConfig]:
        return [c for c in self.channels if c.serves(workbook)]

    # -- after a sync -------------------------------------------------------------------------------------------
    def after_sync(self, name: str, key: str, where: Where, period: str, language: str, timezone: str,
                   alerts: list[Alert]) -> list[str]:
        """Tell each channel serving workbook ``name`` what is due for ``alerts`` (the alerts holding now; their state
        is kept under ``key``); the Sync Log lines of what was sent and what failed."""
        return self._deliver(name, key, where, period, language, timezone, alerts)

    def after_run(self, name: str, key: str, where: Where, language: str | None, timezone: str, failed: bool,
                  error: str | None = None) -> list[str]:
        """Count this sync's outcome; two failures in a row raise the ``sync_failed`` alert, the next success ends it.
        ``language`` None: not read this time (the last one read is used)."""
        if not self.serving(name):
            return []
        errors, language = self.store.count_failure(key, failed, error, language)
        holding = [sync_failed_alert(errors, now_local("UTC", self.clock))] if len(errors) >= 2 else []
        return self._deliver(name, key, where, ANY_PERIOD, language, timezone, holding)

    def reputation_reference(self, workbook: str) -> dict[str, float]:
        return self.store.reputation_reference(workbook)

    def keep_reputation(self, workbook: str, levels: dict[str, float], alerts: list[Alert]) -> None:
        """The reference a later drop is measured from: this sync's levels, unless a drop alert is open for them."""
        dropped = {a.marketplace for a in alerts if a.kind == "reputation"}
        ref = self.store.reputation_reference(workbook)
        ref.update({mk: lv for mk, lv in levels.items() if mk not in dropped})
        self.store.set_reputation_reference(workbook, ref)

    # -- delivery -----------------------------------------------------------------------------------------------
    def _deliver(self, name: str, workbook: str, where: Where, period: str, language: str, timezone: str,
                 alerts: list[Alert]) -> list[str]:
        channels = self.serving(name)
        if not channels:
            return []
        local = now_local(timezone, self.clock)
        awake = [c for c in channels if not in_quiet_hours(c, local)]
        lines = [f"alerts held during the quiet hours of {c.label} ({_hours(c)}, {timezone})"
                 for c in channels if c not in awake]
        try:
            plan = self.store.plan(workbook, period, alerts, [c.label for c in awake])
        except Exception as exc:   # the store is down: the sync still writes its tabs
            log.warning("alert store unavailable: %s", type(exc).__name__)
            return [*lines, f"alerts not sent: the alert store is not available ({type(exc).__name__})"]
        for cfg in awake:
            fire, clear = plan.fire.get(cfg.label, []), plan.clear.get(cfg.label, [])
            if not fire and not clear:
                continue
            channel = open_channel(cfg, self.env, **({"session": self.session} if self.session else {}),
                                   clock=self.clock, sleep=self.sleep)
            if isinstance(channel, EmailChannel):
                channel.footer = _t("alert_email_footer", language, workbook=where.name)
            for batch, back in ((fire, False), (clear, True)):
                if batch:
                    lines += self._send_batch(channel, cfg, workbook, where, period, language, batch, back)
        return lines

    def _send_batch(self, channel: Channel, cfg: AlertChannelConfig, workbook: str, where: Where, period: str,
                    language: str, batch: list[Alert], back: bool) -> list[str]:
        if len(batch) > cfg.digest_over:
            cell = where.cell("Commentary!A3" if not back else SYNC_LOG_CELL)
            groups = [(batch, digest(batch, language, where.name, cell, where.sheet_url, back=back))]
        else:
            groups = [([a], message(a, language, where.name, where.cell(a.where), where.sheet_url, back=back))
                      for a in batch]
        lines = []
        for alerts, msg in groups:
            keys = [a.key for a in alerts]
            what = "back on track" if back else "alert"
            try:
                self._pace(channel, cfg)
                channel.send(msg)
            except DeliveryError as exc:
                self.store.record(workbook, period, cfg.label, (), (), failed=keys)
                lines.append(f"{what} not sent to {cfg.label}: {msg.title} — {exc.reason}; tried again at the next sync")
                continue
            except Exception as exc:   # a bug in a channel must not cost the sync: say so and go on
                log.exception("alert channel %s", cfg.label)
                self.store.record(workbook, period, cfg.label, (), (), failed=keys)
                lines.append(f"{what} not sent to {cfg.label}: {msg.title} — {type(exc).__name__}; tried again at "
                             "the next sync")
                continue
            self.store.record(workbook, period, cfg.label, () if back else keys, keys if back else ())
            lines.append(f"{what} sent to {cfg.label}: {msg.title}" + (f" ({len(alerts)})" if len(alerts) > 1 else ""))
        return lines

    def _pace(self, channel: Channel, cfg: AlertChannelConfig) -> None:
        if self.budgets is None or cfg.kind not in LIMITS or not channel.url:
            return
        self.budgets.sleep = self.sleep
        self.budgets.acquire(cfg.kind, account_key(channel.url))


def _hours(cfg: AlertChannelConfig) -> str:
    start, end = cfg.quiet_hours or (0, 0)
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


__all__ = ["AlertService", "Message", "Where", "where_of"]
