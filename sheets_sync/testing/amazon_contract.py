"""The Amazon contract: what sheets-sync relies on from Login with Amazon, the SP-API (Reports, Data Kiosk) and
the Amazon Ads API, as checks that run against the local Amazon (:mod:`.amazon_server`) or — with ``--live``
and real credentials — against Amazon itself, so a difference between the two is one command away::

    python -m sheets_sync.testing.amazon_contract            # the local Amazon
    python -m sheets_sync.testing.amazon_contract --live     # Amazon, with the credentials below

``--live`` reads the same variables as a live sync: ``LWA_APP_ID``, ``LWA_CLIENT_SECRET``,
``SP_API_REFRESH_TOKEN`` (SP-API and Data Kiosk; Data Kiosk needs the app's Brand Analytics role) and
``ADS_CLIENT_ID``, ``ADS_CLIENT_SECRET``, ``ADS_REFRESH_TOKEN``, ``ADS_PROFILE_ID_US`` (Ads). A check whose
variables are not set is skipped, saying which. Live checks only read: one account-health report, three Data
Kiosk queries and one refused one, one Ads report and one refused one, a few status calls — well inside every
burst. Checks that would have to provoke Amazon's throttle run against the local Amazon only.

:data:`SUITES` maps a suite's name to its runner, ``run(live: bool, out) -> exit status``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SP_ENV = ("LWA_APP_ID", "LWA_CLIENT_SECRET", "SP_API_REFRESH_TOKEN")
ADS_ENV = ("ADS_CLIENT_ID", "ADS_CLIENT_SECRET", "ADS_REFRESH_TOKEN", "ADS_PROFILE_ID_US")
MARKETPLACE = "US"


@dataclass
class Target:
    """Where the checks run: endpoints and credentials (a Config), how to wait, and whether it is Amazon."""

    config: Any
    sleep: Callable[[float], None]
    budget: Any
    live: bool
    server: Any = None          # the local Amazon, when it is the target

    @property
    def env(self) -> dict[str, str]:
        return dict(self.config.env)

    def lwa_url(self) -> str:
        from sheets_sync.sources.spapi import LWA_TOKEN_URL

        return self.config.lwa_token_url or LWA_TOKEN_URL

    def sp_url(self) -> str:
        from sheets_sync.sources.spapi import SP_API_ENDPOINT

        return (self.config.sp_api_endpoint or SP_API_ENDPOINT).rstrip("/")

    def ads_url(self) -> str:
        from sheets_sync.sources.ads import ADS_API_ENDPOINT

        return (self.config.ads_api_endpoint or ADS_API_ENDPOINT).rstrip("/")


class Skip(Exception):
    """The check cannot run against this target (a reason, not a failure)."""


@dataclass(frozen=True)
class Check:
    name: str
    needs: tuple[str, ...]                     # environment variables
    run: Callable[[Target], None]
    local_only: str = ""                       # why it is not run against Amazon


CHECKS: list[Check] = []


def check(name: str, needs: tuple[str, ...], local_only: str = "") -> Callable[[Callable[[Target], None]], Any]:
    def register(fn: Callable[[Target], None]) -> Callable[[Target], None]:
        CHECKS.append(Check(name, needs, fn, local_only))
        return fn
    return register


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


def _window(days_back: int = 10, length: int = 3) -> tuple[dt.date, dt.date]:
    """Settled days a while back (every check asks for the same few)."""
    end = dt.date.today() - dt.timedelta(days=days_back)
    return end - dt.timedelta(days=length - 1), end


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

@check("LWA: the SP-API refresh token gives a bearer access token for an hour", SP_ENV)
def _lwa_grant(t: Target) -> None:
    env = t.env
    body = _token(t, env["LWA_APP_ID"], env["LWA_CLIENT_SECRET"], env["SP_API_REFRESH_TOKEN"]).json()
    assert body.get("token_type") == "bearer" and str(body.get("access_token", "")).startswith("Atza|"), body.keys()
    assert int(body.get("expires_in", 0)) == 3600, body.get("expires_in")


@check("LWA: a refresh token Amazon does not know is 400 invalid_grant", SP_ENV)
def _lwa_invalid_grant(t: Target) -> None:
    env = t.env
    res = _token(t, env["LWA_APP_ID"], env["LWA_CLIENT_SECRET"], "Atzr|not-a-refresh-token-of-this-app")
    assert res.status_code == 400 and res.json().get("error") == "invalid_grant", (res.status_code, res.text[:200])


@check("Reports: the account-health report goes createReport → DONE → document, and parses", SP_ENV)
def _reports_flow(t: Target) -> None:
    from sheets_sync.sources.spapi import SELLER_PERFORMANCE

    src, raws = _collect_sp(t, SELLER_PERFORMANCE)
    assert src.problems == [], src.problems
    batches = _parse_all(raws)
    assert [b.family for b in batches] == ["health"], [b.family for b in batches]


@check("Reports: an unknown report is an ErrorList with x-amzn-RequestId and the rate-limit header", SP_ENV)
def _reports_not_found(t: Target) -> None:
    res = _unknown(t, "/reports/2021-06-30/reports/0000000000")
    assert float(res.headers.get("x-amzn-RateLimit-Limit", "nan")) > 0, dict(res.headers)


@check("Data Kiosk: the sync's three queries are accepted and answered (no fallback)", SP_ENV)
def _dk_queries(t: Target) -> None:
    from sheets_sync.sources.spapi import SALES_AND_TRAFFIC

    src, raws = _collect_sp(t, SALES_AND_TRAFFIC)
    start, end = _window()
    if any("Brand Analytics role" in str(p) for p in src.problems):
        raise Skip("the app lacks the Brand Analytics role Data Kiosk needs")
    assert src.problems == [], src.problems
    assert src.create_query_calls >= 2 and src.create_report_calls == 0, "Data Kiosk was not used"
    assert {b.family for b in _parse_all(raws)} <= {"traffic"} and len(raws) == (end - start).days + 1


@check("Data Kiosk: a query naming a field the schema lacks is 400 InvalidInput", SP_ENV)
def _dk_invalid(t: Target) -> None:
    from sheets_sync.sources import datakiosk as dk

    start, end = _window()
    query = dk.by_date_query(MARKETPLACE, start, end).replace("unitsOrdered", "unitsOrderedNoSuchField")
    with _http() as http:
        res = http.post(f"{t.sp_url()}/dataKiosk/2023-11-15/queries", json={"query": query},
                        headers={"x-amz-access-token": _sp_token(t), "content-type": "application/json"})
    assert res.status_code == 400, (res.status_code, res.text[:300])
    _error_list(res)


@check("Data Kiosk: an unknown query is an ErrorList", SP_ENV)
def _dk_not_found(t: Target) -> None:
    _unknown(t, "/dataKiosk/2023-11-15/queries/0000000000")


@check("SP-API: a throttled call is 429 QuotaExceeded, without the rate-limit header", SP_ENV,
       local_only="it would spend a seller's createReport burst to provoke Amazon's throttle")
def _throttled(t: Target) -> None:
    t.server.throttle["getReport"] += 1
    with _http() as http:
        res = http.get(f"{t.sp_url()}/reports/2021-06-30/reports/1", headers={"x-amz-access-token": _sp_token(t)})
    assert res.status_code == 429 and _error_list(res)["code"] == "QuotaExceeded", res.status_code
    assert "x-amzn-RateLimit-Limit" not in res.headers and "Retry-After" not in res.headers


@check("Ads: the advertised-product report for a few days goes create → COMPLETED → gzip JSON, and parses",
       ADS_ENV)
def _ads_flow(t: Target) -> None:
    from sheets_sync.sources.ads import AdsApiSource, AdsCredentials
    from sheets_sync.sources.base import FetchRequest

    c = t.config
    with tempfile.TemporaryDirectory() as tmp:
        src = AdsApiSource(AdsCredentials.from_env(c.env, (MARKETPLACE,)), Path(tmp), endpoint=c.ads_api_endpoint,
                           lwa_token_url=c.lwa_token_url, sleep=t.sleep)
        start, end = _window()
        raws = list(src.collect(FetchRequest(start, end, (MARKETPLACE,))))
    assert src.problems == [], src.problems
    assert raws and all(r.data[:2] == b"\x1f\x8b" for r in raws), "not gzip"
    assert {b.family for b in _parse_all(raws)} == {"ads"}


@check("Ads: days older than the 95 the Ads API keeps are refused with 400", ADS_ENV)
def _ads_retention(t: Target) -> None:
    from sheets_sync.sources.ads import COLUMNS, REPORT_TYPE

    env = t.env
    token = _token(t, env["ADS_CLIENT_ID"], env["ADS_CLIENT_SECRET"], env["ADS_REFRESH_TOKEN"]).json()["access_token"]
    day = (dt.date.today() - dt.timedelta(days=120)).isoformat()
    body = {"name": "sheets-sync contract check", "startDate": day, "endDate": day,
            "configuration": {"adProduct": "SPONSORED_PRODUCTS", "groupBy": ["advertiser"], "columns": list(COLUMNS),
                              "reportTypeId": REPORT_TYPE, "timeUnit": "DAILY", "format": "GZIP_JSON"}}
    with _http() as http:
        res = http.post(f"{t.ads_url()}/reporting/reports", json=body, headers={
            "Authorization": f"Bearer {token}", "Amazon-Advertising-API-ClientId": env["ADS_CLIENT_ID"],
            "Amazon-Advertising-API-Scope": env["ADS_PROFILE_ID_US"],
            "Content-Type": "application/vnd.createasyncreportrequest.v3+json"})
    assert res.status_code == 400, (res.status_code, res.text[:300])


# ------------------------------------------------------------------------------------------------- run

@contextlib.contextmanager
def _target(live: bool) -> Iterator[Target]:
    from sheets_sync.config import Config
    from sheets_sync.sources.amazon_common import LocalBudget

    if live:
        with tempfile.TemporaryDirectory() as tmp:
            yield Target(Config(data_dir=Path(tmp), env=dict(os.environ)), time.sleep, LocalBudget(), True)
        return
    from .amazon_server import AmazonServer, clear_token_caches, make_config

    clear_token_caches()
    with AmazonServer(today=dt.date.today()) as srv, tempfile.TemporaryDirectory() as tmp:
        timing = srv.client_timing()
        yield Target(make_config(srv, Path(tmp)), timing["sleep"], timing["budget"], False, srv)
    clear_token_caches()


def run_checks(live: bool) -> list[tuple[str, str, str]]:
    """Every check against the target: (name, "passed" | "failed" | "skipped", detail)."""
    results = []
    with _target(live) as target:
        for c in CHECKS:
            missing = [n for n in c.needs if not str(target.env.get(n) or "").strip()]
            if live and c.local_only:
                results.append((c.name, "skipped", f"local only: {c.local_only}"))
            elif missing:
                results.append((c.name, "skipped", f"set {', '.join(missing)} to run it"))
            else:
                try:
                    c.run(target)
                    results.append((c.name, "passed", ""))
                except Skip as exc:
                    results.append((c.name, "skipped", str(exc)))
                except Exception as exc:     # a failed check is reported, and the others still run
                    results.append((c.name, "failed", f"{type(exc).__name__}: {exc}"[:500]))
    return results


def run(live: bool = False, out: Callable[[str], None] = print) -> int:
    """Run the Amazon suite and print one line per check; exit status 1 when a check failed."""
    from sheets_sync.sources.amazon_common import redact

    secrets = [v for k, v in os.environ.items() if k in (*SP_ENV, *ADS_ENV) and "PROFILE" not in k]
    results = run_checks(live)
    out(f"Amazon contract against {'Amazon (live)' if live else 'the local Amazon'}:")
    for name, status, detail in results:
        out(redact(f"  {status.upper():7} {name}" + (f" — {detail}" if detail else ""), secrets))
    counts = {s: sum(r[1] == s for r in results) for s in ("passed", "failed", "skipped")}
    out(f"  {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] else 0


SUITES: dict[str, Callable[..., int]] = {"amazon": run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sheets_sync.testing.amazon_contract",
                                     description="Amazon contract checks (local Amazon, or Amazon with --live).")
    parser.add_argument("--live", action="store_true", help="run against Amazon with the credentials in the environment")
    return run(parser.parse_args(argv).live)


if __name__ == "__main__":
    sys.exit(main())
