"""Month over month: last period's actual, attainment and score beside this period's.

Per Targets row, last period's figures come from the first of:

1. History, when it holds rows of the previous period for the same (owner, marketplace, KPI, scope,
   scope value): the latest as-of row of that period (a ``period_end`` row when there is one) — what the
   sheet recorded then, against the target in force then;
2. the dated reports in this sync's batches, when they cover the whole previous period for every marketplace
   of the row: the row's KPI over the same scope, against this row's target.

An owner's last score is Σ weight × min(last attainment, cap) / Σ weight over the rows that have one (the
Scorecard's own rule).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ..attainment import Row
from .base import ReviewContext


@dataclasses.dataclass
class LastRow:
    actual: float | None
    attainment: float | None
    source: str                      # "history" or "reports"
    status: str = ""


@dataclasses.dataclass
class LastPeriod:
    period: str
    start: dt.date
    end: dt.date
    rows: dict[int, LastRow]         # by Targets row number
    scores: dict[str, float | None]  # by owner

    def for_row(self, r: Row) -> LastRow | None:
        return self.rows.get(r.target.row)


def _key(owner: Any, mk: Any, kpi: Any, scope: Any, value: Any) -> tuple[str, ...]:
    return (str(owner or "").strip(), str(mk or "").strip(), str(kpi or "").strip(), str(scope or "").strip(),
            str(value or "").strip().lower())


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v in (None, ""):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if x != x else x


def _history_index(header: list[Any], rows: list[list[Any]], period: str) -> dict[tuple[str, ...], LastRow]:
    """(owner, marketplace, kpi, scope, scope_value) → the latest row of ``period`` in History."""
    cols = {str(h).strip().lower(): i for i, h in enumerate(header or []) if h not in (None, "")}
    need = ("period", "as_of", "owner", "marketplace", "kpi", "scope", "scope_value", "actual", "attainment")
    if any(c not in cols for c in need):
        return {}

    def get(row: list[Any], c: str) -> Any:
        i = cols.get(c)
        return row[i] if i is not None and i < len(row) else None

    best: dict[tuple[str, ...], tuple[tuple, LastRow]] = {}
    for row in rows:
        if str(get(row, "period") or "").strip() != period:
            continue
        as_of = get(row, "as_of")
        as_of = as_of.isoformat() if isinstance(as_of, dt.date) else str(as_of or "")
        rank = (get(row, "row_kind") == "period_end", as_of)
        k = _key(get(row, "owner"), get(row, "marketplace"), get(row, "kpi"), get(row, "scope"),
                 get(row, "scope_value"))
        if k not in best or rank >= best[k][0]:
            best[k] = (rank, LastRow(_num(get(row, "actual")), _num(get(row, "attainment")), "history",
                                     str(get(row, "status") or "")))
    return {k: v for k, (_, v) in best.items()}


def last_period(ctx: ReviewContext, history_header: list[Any] | None = None,
                history: list[list[Any]] | None = None) -> LastPeriod:
    prev = ctx.settings.period.previous(1)
    recorded = _history_index(history_header or [], history or [], prev.label)
    ev = ctx.prior_evaluator(1)
    out: dict[int, LastRow] = {}
    for r in ctx.rows:
        t = r.target
        got = recorded.get(_key(t.owner, t.marketplace, t.kpi, t.scope, t.scope_value))
        if got is None and ev is not None and not r.manual:
            complete = all((ev.facts.data_through.get(mk) or dt.date.min) >= prev.end
                           for mk in ctx.markets(t.marketplace))
            if complete:
                x = ev.evaluate(t)
                if x.actual is not None:
                    got = LastRow(x.actual, x.attainment, "reports", x.status)
        if got is not None:
            out[t.row] = got
    cap = ctx.settings.attainment_cap
    num: dict[str, float] = {}
    den: dict[str, float] = {}
    for r in ctx.rows:
        last = out.get(r.target.row)
        if last is None or last.attainment is None:
            continue
        num[r.target.owner] = num.get(r.target.owner, 0.0) + r.target.weight * min(last.attainment, cap)
        den[r.target.owner] = den.get(r.target.owner, 0.0) + r.target.weight
    scores = {o: (num[o] / den[o] if den[o] > 0 else None) for o in den}
    return LastPeriod(prev.label, prev.start, prev.end, out, scores)


__all__ = ["LastPeriod", "LastRow", "last_period"]
