"""The GMV-miss decomposition: LMDI split of a gap into sessions, CVR and price-per-unit effects.

GMV = S × C × P with S = sessions, C = units / sessions, P = gmv / units. With L = (actual − B) /
(ln actual − ln B), the effect of X is L × ln(X / X0); because ln(actual / B) = ln(S/S0) + ln(C/C0) + ln(P/P0),
the three effects add up to the gap exactly.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """A GMV gap split into sessions, CVR and price-per-unit effects (LMDI; they sum to ``gap``)."""

    actual: float
    baseline: float
    sessions: float
    cvr: float
    price: float

    @property
    def gap(self) -> float:
        return self.actual - self.baseline


def logmean(a: float, b: float) -> float:
    """The logarithmic mean L(a, b) = (a − b) / (ln a − ln b), L(a, a) = a; a, b > 0."""
    if a <= 0 or b <= 0:
        raise ValueError("the logarithmic mean needs positive values")
    if math.isclose(a, b, rel_tol=1e-12):
        return (a + b) / 2
    return (a - b) / (math.log(a) - math.log(b))


def decompose(sessions: float, units: float, gmv: float, sessions0: float, units0: float,
              gmv0: float) -> Decomposition:
    """LMDI split of gmv − gmv0 with GMV = sessions × (units / sessions) × (gmv / units). All inputs > 0."""
    if min(sessions, units, gmv, sessions0, units0, gmv0) <= 0:
        raise ValueError("every component must be positive")
    w = logmean(gmv, gmv0)
    c, c0 = units / sessions, units0 / sessions0
    p, p0 = gmv / units, gmv0 / units0
    return Decomposition(actual=gmv, baseline=gmv0, sessions=w * math.log(sessions / sessions0),
                         cvr=w * math.log(c / c0), price=w * math.log(p / p0))


def rounded_effects(d: Decomposition, nd: int = 2) -> tuple[float, float, float, float]:
    """(gap, sessions, cvr, price) rounded to ``nd`` decimals so that the shown effects add up to the shown
    gap: the rounding difference goes to the largest effect."""
    gap = round(d.gap, nd)
    eff = [round(d.sessions, nd), round(d.cvr, nd), round(d.price, nd)]
    big = max(range(3), key=lambda i: abs((d.sessions, d.cvr, d.price)[i]))
    eff[big] = round(gap - sum(e for i, e in enumerate(eff) if i != big), nd)
    return gap, eff[0], eff[1], eff[2]
