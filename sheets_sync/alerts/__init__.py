"""Alerts where the team talks: WeCom, DingTalk, Feishu/Lark, Slack, Google Chat and e-mail (docs/alerts.md).

At the end of every sync (CLI, menu, schedule) the rules (:mod:`.rules`, pure) say which alerts hold; the store
(:mod:`.state`, in the queue's SQLite or Redis) says what each channel has already been told, so a channel hears of
an alert once per target and period and once more when it clears; :mod:`.text` words it in the workbook's language
and :mod:`.channels` writes it in each platform's format and delivers it within the platform's rate. What was sent
or failed becomes Sync Log lines (never a URL). :class:`SyncAlerts` is what the orchestrator calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..config import Config, WorkbookConfig
from . import rules
from .rules import Alert
from .service import AlertService, Where, where_of

log = logging.getLogger("sheets_sync.alerts")


@dataclass
class SyncAlerts:
    """The alerts of one workbook's sync: ``workbook`` names it for the channels' ``workbooks:`` filter, ``key`` keeps
    its state apart from every other workbook's (a path or ``google:<id>``)."""

    service: AlertService
    workbook: str
    key: str
    where: Where
    timezone: str = "America/Mexico_City"

    @classmethod
    def for_workbook(cls, config: Config, wbc: WorkbookConfig, **kw: Any) -> SyncAlerts | None:
        service = AlertService.from_config(config, **kw)
        if service is None or not service.serving(wbc.name):
            return None
        name = wbc.name if wbc.name in getattr(config.workbooks, "static", config.workbooks) and wbc.name != "cli" \
            else None
        return cls(service, wbc.name, wbc.target, where_of(wbc.target, name), wbc.timezone)

    def after_compute(self, rows: list[Any], findings: list[Any], ev: Any, facts: Any, settings: Any) -> list[str]:
        """Evaluate and deliver; the Sync Log lines. Never raises: alerts must not cost the sync."""
        svc = self.service
        try:
            alerts = rules.evaluate(rows, findings, ev, facts, settings, svc.reputation_reference(self.key))
            lines = svc.after_sync(self.workbook, self.key, self.where, settings.period.label, settings.language,
                                   settings.timezone, alerts)
            svc.keep_reputation(self.key, rules.reputation_levels(facts), alerts)
            return lines
        except Exception as exc:
            log.exception("alerts of %s", self.workbook)
            return [f"alerts not evaluated ({type(exc).__name__}); the sync itself is not affected"]

    def after_run(self, failed: bool, error: str | None, language: str | None = None) -> list[str]:
        """After the whole run (also when it failed before computing): the sync-failure alert."""
        try:
            return self.service.after_run(self.workbook, self.key, self.where, language, self.timezone, failed, error)
        except Exception as exc:
            log.exception("alerts of %s", self.workbook)
            return [f"alerts not evaluated ({type(exc).__name__})"]


__all__ = ["Alert", "AlertService", "SyncAlerts", "Where", "rules", "where_of"]
