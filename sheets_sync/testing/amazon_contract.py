"""The Amazon contract suite: what sheets-sync relies on from Login with Amazon, the SP-API (Reports, Data Kiosk)
and the Amazon Ads API, checked the same way against the local Amazon (:mod:`.amazon_server`) and, with
credentials, against Amazon itself, so a difference between the two is one command away::

    python -m sheets_sync.testing.contract_suite amazon            # the local Amazon
    python -m sheets_sync.testing.contract_suite amazon --live     # Amazon too

(``python -m sheets_sync.testing.amazon_contract [--live]`` runs this suite alone.) The project's tests run the
local half (tests/test_amazon_contract.py). ``--live`` reads the variables a live sync reads: ``LWA_APP_ID``,
``LWA_CLIENT_SECRET``, ``SP_API_REFRESH_TOKEN`` (needed; Data Kiosk also needs the app's Brand Analytics role)
and ``ADS_CLIENT_ID``, ``ADS_CLIENT_SECRET``, ``ADS_REFRESH_TOKEN``, ``ADS_PROFILE_ID_US`` (the Ads checks skip
without them). Live checks only read: one account-health report, three Data Kiosk queries and one refused one,
one Ads report and one refused one, a few status calls — well inside every burst. A check that would have to
provoke Amazon's throttle runs against the local Amazon only.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .contract_suite import live_requested, missing_live_env, register

SP_ENV = ("LWA_APP_ID", "LWA_CLIENT_SECRET", "SP_API_REFRESH_TOKEN")
ADS_ENV = ("ADS_CLIENT_ID", "ADS_CLIENT_SECRET", "ADS_REFRESH_TOKEN", "ADS_PROFILE_ID_US")
SUITE = register("amazon", __name__,
                 "Login with Amazon, SP-API Reports and Data Kiosk, Amazon Ads reporting: the sync's requests, "
                 "Amazon's answers, errors and headers", SP_ENV, ADS_ENV)
MARKETPLACE = "US"


@dataclass
class Target:
    """One Amazon to check: the local server or Amazon. ``config`` holds the endpoints and credentials."""

    name: str
    config: Any
    sleep: Any
    budget: Any
    server: Any = None          # the local Amazon

    @property
    def env(self) -> dict[str, str]:
        return dict(self.config.env)

    def lwa_url(self) -> str:
        from sheets_sync.sources.spapi import LWA_TOKEN_URL

        return str(self.config.lwa_token_url or LWA_TOKEN_URL)

    def sp_url(self) -> str:
        from sheets_sync.sources.spapi import SP_API_ENDPOINT

        return str(self.config.sp_api_endpoint or SP_API_ENDPOINT).rstrip("/")

    def ads_url(self) -> str:
        from sheets_sync.sources.ads import ADS_API_ENDPOINT

        return str(self.config.ads_api_endpoint or ADS_API_ENDPOINT).rstrip("/")

    def needs_ads(self) -> None:
        missing = [n for n in ADS_ENV if not self.env.get(n)]
        if missing:
            pytest.skip(f"the Ads checks need {', '.join(missing)}")

    def local_only(self, why: str) -> None:
        if self.server is None:
            pytest.skip(f"local only: {why}")


def _live_target() -> Iterator[Target]:
    from sheets_sync.config import Config
    from sheets_sync.sources.amazon_common import LocalBudget

    if not live_requested():
        pytest.skip("the live target runs with --live (python -m sheets_sync.testing.contract_suite amazon --live)")
    missing = missing_live_env(SUITE)
    if missing:
        pytest.skip(f"--live needs {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        yield Target("live", Config(data_dir=Path(tmp), env=dict(os.environ)), time.sleep, LocalBudget())


# --------------------------------------------------------------------------------------------- helpers

def _http() -> Any:
    import httpx

    return httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))


def _token(t: Target, client_id: str, secret: str, refresh: str) -> Any:
    with _http() as http:
        return http.post(t.lwa_url(), data={"grant_type": "refresh_token", "refresh_token": refresh,
                                            "client_id": client_id, "client_secret": secret})


def _sp_token(t: Target) -> str:
    env = t.env
    res = _token(t, env["LWA_APP_ID"], env["LWA_CLIENT_SECRET"], env["SP_API_REFRESH_TOKEN"])
    assert res.status_code == 200, f"the token endpoint answered {res.status_code}"
    return str(res.json()["access_token"])


def _error_list(res: Any) -> dict[str, Any]:
    """The SP-API models' ErrorList: ``{"errors": [{"code", "message", "details"?}]}``, with x-amzn-RequestId."""
    assert res.headers.get("x-amzn-RequestId"), "no x-amzn-RequestId"
    body = res.json()
    errors = body.get("errors")
    assert isinstance(errors, list) and errors and {"code", "message"} <= set(errors[0]), f"not an ErrorList: {body}"
    return dict(errors[0])


def _window() -> tuple[dt.date, dt.date]:
    """Three settled days ten days back (every check asks for the same few)."""
    end = dt.date.today() - dt.timedelta(days=10)
    return end - dt.timedelta(days=2), end


def _collect_sp(t: Target, spec: Any) -> tuple[Any, list[Any]]:
    """One SP-API report type over the check's days, fetched as a sync fetches it (Data Kiosk for Sales and
    Traffic): the source (its problems, its calls) and the documents."""
    from sheets_sync.sources.base import FetchRequest
    from sheets_sync.sources.spapi import SpApiCredentials, SpApiSource

    c = t.config
    with tempfile.TemporaryDirectory() as tmp:
        src = SpApiSource(SpApiCredentials.from_env(c.env), Path(tmp), endpoint=c.sp_api_endpoint,
                          lwa_token_url=c.lwa_token_url, sleep=t.sleep, budget=t.budget, reports=(spec,))
        return src, list(src.collect(FetchRequest(*_window(), (MARKETPLACE,))))


def _unknown(t: Target, path: str) -> Any:
    """GET an SP-API resource that does not exist: an ErrorList with x-amzn-RequestId."""
    with _http() as http:
        res = http.get(f"{t.sp_url()}{path}", headers={"x-amz-access-token": _sp_token(t)})
    assert res.status_code in (400, 404), res.status_code
    _error_list(res)
    return res


def _parse_all(raws: list[Any]) -> list[Any]:
    from sheets_sync.sources.parsing import parse_report

    return [b for raw in raws for b in parse_report(raw)]


# ---------------------------------------------------------------------------------------------- checks

class AmazonApiContract:
    """The checks. A test module runs them with ``class TestSomething(AmazonApiContract)``."""

    @pytest.fixture(scope="class")
    @classmethod
    def _local(cls) -> Iterator[Any]:
        """The local Amazon at its defaults (nothing switched off), shared by the class's checks."""
        from .amazon_server import AmazonServer, clear_token_caches

        clear_token_caches()
        with AmazonServer(today=dt.date.today()) as server:
            yield server
        clear_token_caches()

    @pytest.fixture(params=["local", "live"])
    def target(self, request: pytest.FixtureRequest, _local: Any, tmp_path: Path) -> Iterator[Target]:
        if request.param == "live":
            yield from _live_target()
            return
        from .amazon_server import make_config

        timing = _local.client_timing()
        yield Target("local", make_config(_local, tmp_path), timing["sleep"], timing["budget"], _local)

    # -------------------------------------------------------------------------------- Login with Amazon

    def test_a_refresh_token_gives_a_bearer_token_for_an_hour(self, target: Target) -> None:
        env = target.env
        body = _token(target, env["LWA_APP_ID"], env["LWA_CLIENT_SECRET"], env["SP_API_REFRESH_TOKEN"]).json()
        assert body.get("token_type") == "bearer" and str(body.get("access_token", "")).startswith("Atza|")
        assert int(body.get("expires_in", 0)) == 3600, body.get("expires_in")

    def test_an_unknown_refresh_token_is_invalid_grant(self, target: Target) -> None:
        env = target.env
        res = _token(target, env["LWA_APP_ID"], env["LWA_CLIENT_SECRET"], "Atzr|not-a-refresh-token-of-this-app")
        assert res.status_code == 400 and res.json().get("error") == "invalid_grant", (res.status_code, res.text[:200])

    # ---------------------------------------------------------------------------------------- Reports

    def test_the_account_health_report_is_made_downloaded_and_parsed(self, target: Target) -> None:
        from sheets_sync.sources.spapi import SELLER_PERFORMANCE

        src, raws = _collect_sp(target, SELLER_PERFORMANCE)
        assert src.problems == [], src.problems
        assert [b.family for b in _parse_all(raws)] == ["health"]

    def test_an_unknown_report_is_an_error_list_with_the_rate_limit_header(self, target: Target) -> None:
        res = _unknown(target, "/reports/2021-06-30/reports/0000000000")
        assert float(res.headers.get("x-amzn-RateLimit-Limit", "nan")) > 0, dict(res.headers)

    def test_a_throttled_call_is_quota_exceeded_without_the_rate_limit_header(self, target: Target) -> None:
        target.local_only("provoking Amazon's throttle would spend a seller's burst")
        target.server.throttle["getReport"] += 1
        with _http() as http:
            res = http.get(f"{target.sp_url()}/reports/2021-06-30/reports/1",
                           headers={"x-amz-access-token": _sp_token(target)})
        assert res.status_code == 429 and _error_list(res)["code"] == "QuotaExceeded", res.status_code
        assert "x-amzn-RateLimit-Limit" not in res.headers and "Retry-After" not in res.headers

    # ------------------------------------------------------------------------------------- Data Kiosk

    def test_the_syncs_queries_are_accepted_and_answered(self, target: Target) -> None:
        from sheets_sync.sources.spapi import SALES_AND_TRAFFIC

        src, raws = _collect_sp(target, SALES_AND_TRAFFIC)
        if any("Brand Analytics role" in str(p) for p in src.problems):
            pytest.skip("the app lacks the Brand Analytics role Data Kiosk needs")
        assert src.problems == [], src.problems
        assert src.create_query_calls >= 2 and src.create_report_calls == 0, "Data Kiosk was not used"
        start, end = _window()
        assert len(raws) == (end - start).days + 1 and {b.family for b in _parse_all(raws)} <= {"traffic"}

    def test_a_query_naming_a_field_the_schema_lacks_is_invalid_input(self, target: Target) -> None:
        from sheets_sync.sources import datakiosk as dk

        query = dk.by_date_query(MARKETPLACE, *_window()).replace("unitsOrdered", "unitsOrderedNoSuchField")
        with _http() as http:
            res = http.post(f"{target.sp_url()}/dataKiosk/2023-11-15/queries", json={"query": query},
                            headers={"x-amz-access-token": _sp_token(target), "content-type": "application/json"})
        assert res.status_code == 400, (res.status_code, res.text[:300])
        _error_list(res)

    def test_an_unknown_query_is_an_error_list(self, target: Target) -> None:
        _unknown(target, "/dataKiosk/2023-11-15/queries/0000000000")

    # -------------------------------------------------------------------------------------------- Ads

    def _collect_ads(self, target: Target, report_types: tuple[str, ...]) -> list[Any]:
        from sheets_sync.sources.ads import AdsApiSource, AdsCredentials
        from sheets_sync.sources.base import FetchRequest

        target.needs_ads()
        c = target.config
        with tempfile.TemporaryDirectory() as tmp:
            src = AdsApiSource(AdsCredentials.from_env(c.env, (MARKETPLACE,)), Path(tmp),
                               endpoint=c.ads_api_endpoint, lwa_token_url=c.lwa_token_url, sleep=target.sleep,
                               report_types=report_types)
            raws = list(src.collect(FetchRequest(*_window(), (MARKETPLACE,))))
        assert src.problems == [], src.problems
        assert raws and all(r.data[:2] == b"\x1f\x8b" for r in raws), "not gzip"
        return raws

    def test_the_advertised_product_report_is_made_and_parses_as_gzip_json(self, target: Target) -> None:
        raws = self._collect_ads(target, ("spAdvertisedProduct",))
        assert {b.family for b in _parse_all(raws)} == {"ads"}

    def test_the_brands_and_display_ad_group_reports_are_made_and_name_their_campaigns(self, target: Target) -> None:
        batches = _parse_all(self._collect_ads(target, ("sbAdGroup", "sdAdGroup")))
        assert {b.kind for b in batches} == {"ads_campaign_api_v3"}
        assert {b.extras["ad_product"] for b in batches} == {"SB", "SD"}

    def _post_report(self, target: Target, day: str, configuration: dict[str, Any]) -> Any:
        target.needs_ads()
        env = target.env
        token = _token(target, env["ADS_CLIENT_ID"], env["ADS_CLIENT_SECRET"], env["ADS_REFRESH_TOKEN"]).json()
        body = {"name": "sheets-sync contract check", "startDate": day, "endDate": day,
                "configuration": {"timeUnit": "DAILY", "format": "GZIP_JSON", **configuration}}
        with _http() as http:
            return http.post(f"{target.ads_url()}/reporting/reports", json=body, headers={
                "Authorization": f"Bearer {token['access_token']}", "Amazon-Advertising-API-ClientId": env["ADS_CLIENT_ID"],
                "Amazon-Advertising-API-Scope": env["ADS_PROFILE_ID_US"],
                "Content-Type": "application/vnd.createasyncreportrequest.v3+json"})

    def test_days_older_than_the_95_the_ads_api_keeps_are_refused(self, target: Target) -> None:
        from sheets_sync.sources.ads import COLUMNS, REPORT_TYPE

        res = self._post_report(target, (dt.date.today() - dt.timedelta(days=120)).isoformat(), {
            "adProduct": "SPONSORED_PRODUCTS", "groupBy": ["advertiser"], "columns": list(COLUMNS),
            "reportTypeId": REPORT_TYPE})
        assert res.status_code == 400, (res.status_code, res.text[:300])

    def test_a_column_the_groupby_does_not_have_is_refused(self, target: Target) -> None:
        """The campaign report grouped by campaign has no ad-group columns (its page, "Group by campaign")."""
        res = self._post_report(target, (dt.date.today() - dt.timedelta(days=20)).isoformat(), {
            "adProduct": "SPONSORED_PRODUCTS", "groupBy": ["campaign"], "reportTypeId": "spCampaigns",
            "columns": ["date", "campaignId", "adGroupId", "cost"]})
        assert res.status_code == 400, (res.status_code, res.text[:300])
        assert "columns includes invalid values" in res.json().get("detail", ""), res.text[:300]


class TestAmazonApi(AmazonApiContract):
    """What ``pytest`` collects when the suite runs from its own file."""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sheets_sync.testing.amazon_contract [--live] [-- pytest arguments]``: this suite alone."""
    args = list(sys.argv[1:] if argv is None else argv)
    extra = args[args.index("--") + 1:] if "--" in args else []
    if "--live" in args[:args.index("--") if "--" in args else len(args)]:
        os.environ["SHEETS_SYNC_CONTRACT_LIVE"] = "1"
        missing = missing_live_env(SUITE)
        if missing:
            print(f"--live: {', '.join(missing)} not set; the live targets will be skipped", file=sys.stderr)
    return int(pytest.main([__file__, "-p", "no:cacheprovider", "-q", "-rs", *extra]))


if __name__ == "__main__":
    sys.exit(main())
