"""The GMV-miss decomposition: sessions, CVR and price-per-unit effects add up to the gap (LMDI)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheets_sync.compute.review import decompose, logmean, rounded_effects

positive = st.floats(min_value=1e-3, max_value=1e7, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(positive, positive, positive, positive, positive, positive)
def test_effects_sum_to_the_gap(s, u, g, s0, u0, g0):
    d = decompose(s, u, g, s0, u0, g0)
    assert d.sessions + d.cvr + d.price == pytest.approx(g - g0, rel=1e-9, abs=1e-6 * max(g, g0))


@settings(max_examples=300, deadline=None)
@given(positive, positive, positive, positive, positive, positive)
def test_rounded_effects_add_up_to_the_rounded_gap(s, u, g, s0, u0, g0):
    gap, es, ec, ep = rounded_effects(decompose(s, u, g, s0, u0, g0))
    assert gap == round(g - g0, 2)
    assert math.isclose(es + ec + ep, gap, abs_tol=1e-6)


def test_hand_computed_example():
    # baseline 1000 sessions × 10 % × 20 = 2000; actual 900 × 10 % × 20 = 1800: all of the gap is sessions
    d = decompose(900, 90, 1800, 1000, 100, 2000)
    assert d.gap == pytest.approx(-200)
    assert d.sessions == pytest.approx(-200) and d.cvr == pytest.approx(0, abs=1e-12)
    assert d.price == pytest.approx(0, abs=1e-12)
    # both sessions and CVR move: each effect is L(A, B) × ln(ratio)
    d = decompose(900, 72, 1440, 1000, 100, 2000)
    w = (1440 - 2000) / math.log(1440 / 2000)
    assert d.sessions == pytest.approx(w * math.log(0.9)) and d.cvr == pytest.approx(w * math.log(0.8 / 1.0))
    assert d.sessions + d.cvr + d.price == pytest.approx(-560)


def test_logmean_and_bad_inputs():
    assert logmean(5, 5) == 5
    assert logmean(math.e, 1) == pytest.approx(math.e - 1)
    with pytest.raises(ValueError):
        decompose(0, 1, 1, 1, 1, 1)
