"""The Amazon contract suite (sheets_sync/testing/amazon_contract.py) against the local Amazon.

``python -m sheets_sync.testing.contract_suite amazon --live`` runs the same checks against Amazon as well; here
the live target is skipped. A check can fail: one whose query Amazon's schema refuses does.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sheets_sync.sources import datakiosk as dk
from sheets_sync.testing.amazon_contract import ADS_ENV, SP_ENV, AmazonApiContract, Target

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class TestLocalAmazonApi(AmazonApiContract):
    def test_a_query_amazons_schema_refuses_fails_its_check(self, target: Target, monkeypatch) -> None:
        if target.server is None:
            pytest.skip("local only")
        monkeypatch.setattr(dk, "DATE_TRAFFIC", (*dk.DATE_TRAFFIC, "sessionsOfTheFuture"))
        with pytest.raises(AssertionError, match=r"HTTP 400 InvalidInput.*sessionsOfTheFuture"):
            self.test_the_syncs_queries_are_accepted_and_answered(target)


def test_live_without_credentials_is_skipped_with_the_reason(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in (*SP_ENV, *ADS_ENV)}
    env["HTTPS_PROXY"] = env["HTTP_PROXY"] = "http://127.0.0.1:9"        # nothing may leave 127.0.0.1
    env["NO_PROXY"] = "127.0.0.1"
    run = subprocess.run([sys.executable, "-m", "sheets_sync.testing.amazon_contract", "--live", "--",
                          "-k", "invalid_grant"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout
    assert "--live needs LWA_APP_ID, LWA_CLIENT_SECRET, SP_API_REFRESH_TOKEN" in run.stdout
    assert "LWA_APP_ID" in run.stderr                                     # said up front too
