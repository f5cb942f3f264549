"""Hypothesis profiles: ``default`` keeps the suite fast; ``slow`` (``SHEETS_SYNC_HYPOTHESIS=slow``) runs the
property tests that leave the example count to the profile with many more cases (≥ 10,000 over the team-tab
properties in tests/test_team_tabs_property.py)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("slow", max_examples=1500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("SHEETS_SYNC_HYPOTHESIS", "default"))
