"""The review: Commentary (the design review of kpis.md), Target Suggestions and History.

Pure: no files, no environment, no network. Earlier periods are computed from the same parsed batches with
:func:`~sheets_sync.compute.actuals.build_facts` (it does not mutate them). Every sentence comes from the
message catalogs in :mod:`sheets_sync.i18n`; KPI names are shown with :func:`sheets_sync.kpis.label`.

Attribution of a GMV miss (finding 7), per Targets row of ``gmv`` whose actual is below the paced target:

* GMV = S × C × P with S = sessions, C = units / sessions (CVR), P = gmv / units (price per unit);
* paced target B = target × actual / projected_actual (the Calendar-weighted share of the period elapsed;
  for ``ALL`` the sales-weighted mix of the marketplaces' shares), gap = actual − B;
* baseline mix (C0, P0): the same days of the previous period when the batches have them, else the owner's
  CVR target for the same scope (P0 = P), else this period's own mix; S0 = B / (C0 × P0), the sessions the
  paced target needed at that mix, so S0 × C0 × P0 = B exactly;
* LMDI: L = (actual − B) / (ln actual − ln B); effect of X = L × ln(X / X0). Because ln(actual / B) =
  ln(S/S0) + ln(C/C0) + ln(P/P0), the three effects add up to the gap (shown rounded to cents with the
  rounding put on the largest effect, so the shown numbers add up too).

Lost sales on stockout days: an ASIN in scope with 0 fulfillable units; days out = the trailing run of days
with no units up to data_through; lost = average daily units before that run × days out × the ASIN's price
per unit this period.

The review is a list of small rules (:data:`RULES`), each a function ``rule(ctx) -> list[Finding]`` over one
shared :class:`ReviewContext`; :class:`Review` is that context plus :meth:`Review.findings` (every rule, most
severe first) and :meth:`Review.suggestions`. Rendering the tabs lives in :mod:`sheets_sync.render`.
"""

from __future__ import annotations

from . import attribution, campaigns, causes, data, design, stores
from .base import SEVERITIES, Finding, ReviewContext, Rule
from .decomposition import Decomposition, decompose, logmean, rounded_effects
from .history import HISTORY_MAX_ROWS, PERIOD_END, history_rows
from .mom import LastPeriod, LastRow, last_period
from .suggestions import suggestions as _suggestions
from .text import definitions, fmt_value

RULES: tuple[Rule, ...] = (
    design.outcome_only,
    design.conflict_reach_cost,
    design.conflict_clearance,
    design.conflict_cover_stockout,
    design.not_controllable,
    design.unrealistic,
    design.too_easy,
    design.clearance_growth,
    design.one_target_same,
    design.one_target_gap,
    design.no_cx,
    campaigns.campaign_goals,
    campaigns.one_acos_over_goals,
    attribution.attribution,
    causes.causes,
    stores.store_shift,
    data.data_lag,
    data.calendar,
)


class Review(ReviewContext):
    """Everything the three review tabs need, computed once per sync."""

    def findings(self) -> list[Finding]:
        """Every rule's findings, most severe first (computed once: the Commentary tab and the alerts share them)."""
        done: list[Finding] | None = getattr(self, "_findings", None)
        if done is not None:
            return list(done)
        out: list[Finding] = []
        for rule in RULES:
            out.extend(rule(self))
        if not out:
            out.append(Finding("info", "", "", "", "", self.t("no_findings"), "", key="no_findings"))
        order = {s: i for i, s in enumerate(SEVERITIES)}
        self._findings = sorted(out, key=lambda f: order[f.severity])   # stable: the rule order within a severity
        return list(self._findings)

    def suggestions(self) -> list[list]:
        return _suggestions(self)

    def last_period(self, history_header: list | None = None, history: list[list] | None = None) -> LastPeriod:
        """Last period's figures per Targets row and per owner (see :mod:`.mom`); computed once."""
        if getattr(self, "_last", None) is None:
            self._last = last_period(self, history_header, history)
        return self._last


__all__ = [
    "HISTORY_MAX_ROWS",
    "PERIOD_END",
    "RULES",
    "Decomposition",
    "Finding",
    "LastPeriod",
    "LastRow",
    "Review",
    "ReviewContext",
    "Rule",
    "decompose",
    "definitions",
    "fmt_value",
    "history_rows",
    "logmean",
    "rounded_effects",
]
