"""The Google Sheets add-on end to end: its Apps Script code (sheet_templates/addon/) runs under Node and talks
real HTTP to the real Flask webhook on 127.0.0.1, which sets sheets up and syncs them on the local Sheets v4
server (real gspread + google-auth) with a real job worker.

Only the functions the sidebar calls (``google.script.run.X`` in Sidebar.html) drive the flow.
"""
# ruff: noqa: F811  (pytest fixtures imported from webhook_fixtures)

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from webhook_fixtures import CLIENT_ID, ROOT, LiveServer, certs_server, http, minter  # noqa: F401

from sheets_sync.config import load_config
from sheets_sync.periods import parse_period
from sheets_sync.registry import open_registry
from sheets_sync.samples.amazon import write_demo_reports
from sheets_sync.sheets.google import GoogleWorkbook, RetryPolicy
from sheets_sync.sync import open_source, sync_workbook
from sheets_sync.template import load_template

pytest_plugins = ["google_fixtures"]

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed; the add-on harness needs Node >= 18")
GAS = ROOT / "tests" / "addon" / "gas.js"
ADDON = ROOT / "sheet_templates" / "addon"
SIDEBAR = (ADDON / "Sidebar.html").read_text(encoding="utf-8")
SIDEBAR_CALLS = set(re.findall(r"run\('(\w+)'", SIDEBAR)) | \
    set(re.findall(r"google\.script\.run\.(?!with)(\w+)\(", SIDEBAR))
NEW_SHEET = "1NewTeamSheet0123456789abcdefghijklmnopqrstu"
SA_EMAIL = "sync@kpi-project.iam.gserviceaccount.com"


class Service:
    """``sheets-sync serve`` in miniature, built from a service.yaml like an operator's: the webhook on a free
    port and one job worker, both on the SQLite queue in ``data_dir``; Google calls go to the local server."""

    def __init__(self, tmp: Path, sheets: Any, certs_url: str):
        self.tmp, self.sheets, self.certs_url = tmp, sheets, certs_url
        self.key = tmp / "sa.json"
        self.key.write_text(json.dumps(sheets.service_account(SA_EMAIL)))
        self.reports = tmp / "reports"
        self.reports.mkdir()
        self.yaml = tmp / "service.yaml"
        self.yaml.write_text(yaml.safe_dump({
            "data_dir": str(tmp / "data"),
            "workbooks": {"legacy": {"backend": "google", "sheet_id": "1LegacySheet00000000000000",
                                     "allow": {"domains": ["example.com"]}}},
            "webhook": {"audience": CLIENT_ID},
            "addon": {"allow": {"domains": ["example.com"], "emails": ["boss@partner.org"]},
                      "reports_root": str(self.reports), "amazon_credentials": {"acme": "ACME_"}},
        }))
        self.srv: LiveServer | None = None
        self.worker: Any = None

    def open_workbook(self, config: Any, wbc: Any) -> GoogleWorkbook:
        return GoogleWorkbook(wbc.sheet_id, config.google_credentials, template=load_template(),
                              adapter_factory=self.sheets.adapter, retry=RetryPolicy(max_attempts=2, base_s=0.05))

    def sync(self, config: Any, workbook: str | None = None, **kw: Any) -> Any:
        """run_sync, with the workbook opened on the local Sheets server."""
        wbc = config.find_workbook(workbook)
        return sync_workbook(self.open_workbook(config, wbc), open_source(config, wbc), **kw)

    def start(self) -> Service:
        from sheets_sync.jobs import make_queue, run_worker
        from webhook import create_app

        self.config = load_config(self.yaml, env={"SHEETS_SYNC_GOOGLE_CREDENTIALS": str(self.key)})
        queue = make_queue(self.config, sync_fn=self.sync, retry_base_s=0.2)
        app = create_app(self.config, queue=queue, certs_url=self.certs_url)
        app.extensions["sheets_sync_addon"].open_workbook = self.open_workbook
        self.srv = LiveServer(app)
        self.srv.queue = queue   # type: ignore[attr-defined]
        self.worker = run_worker(self.config, queue=queue, block=False, periodic=False)
        return self

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.srv is not None:
            self.srv.close()
        self.srv = self.worker = None

    @property
    def url(self) -> str:
        assert self.srv is not None
        return self.srv.url


@pytest.fixture
def service(tmp_path: Path, server: Any, certs_server: Any) -> Any:
    svc = Service(tmp_path, server, certs_server.url).start()
    yield svc
    svc.stop()


class Sheet:
    """One user in one spreadsheet: calls the add-on's functions like the sidebar does (each call a fresh
    Apps Script execution; the document properties persist, as in Apps Script)."""

    def __init__(self, svc: Service, minter: Any, sid: str, email: str = "analyst@example.com", locale: str = "en"):
        self.svc, self.minter, self.sid, self.email, self.locale = svc, minter, sid, email, locale
        self.props = svc.tmp / f"props-{sid}-{email}.json"
        self.calls: list[str] = []

    def __call__(self, fn: str, *args: Any) -> Any:
        return self.run(fn, *args)["value"]

    def run(self, fn: str, *args: Any) -> dict[str, Any]:
        self.calls.append(fn)
        book = self.svc.sheets.books.get(self.sid)
        spec = {"fn": fn, "args": list(args), "url": self.svc.url + "/", "locale": self.locale,
                "token": self.minter.mint(email=self.email), "spreadsheetId": self.sid,
                "sheets": [s.title for s in book.sheets] if book else [], "propsFile": str(self.props),
                "sheetsApi": user_api(self.svc.sheets, self.email)}
        proc = subprocess.run([NODE, str(GAS), json.dumps(spec)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout)

    def wait(self, job_id: str | None = None, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            p = self("getProgress", job_id) if job_id else self("getProgress")
            assert p["ok"], p
            seen.append(p["state"])
            if p["done"]:
                p["seen"] = seen
                return p
            time.sleep(0.3)
        raise AssertionError(f"the sync did not finish in {timeout}s: {seen[-5:]}")


EDITORS = ("analyst@example.com", "boss@partner.org", "colleague@example.com")


def new_sheet(server: Any, *, sa: bool = True, editors: tuple[str, ...] = EDITORS) -> Any:
    """An empty spreadsheet (one blank tab) that ``editors`` can edit, shared with the service account or not."""
    return server.add_book(NEW_SHEET, {"Sheet1": []}, shared=[*editors, *([SA_EMAIL] if sa else [])])


def user_api(server: Any, email: str) -> dict[str, str]:
    """The user's own access to the Sheets API (what Apps Script uses for SpreadsheetApp calls)."""
    token = f"user-token-{email}"
    server.tokens[token] = email
    return {"base": server.base_url, "token": token}


def demo_reports(folder: Path) -> None:
    """This month's sample reports (the Settings period is blank: the current month in the team's time zone)."""
    today = dt.datetime.now(ZoneInfo("America/Mexico_City")).date()
    period = parse_period(today.strftime("%Y-%m"))
    through = max(period.start, min(period.end, today - dt.timedelta(days=1)))
    write_demo_reports(folder, period, {"US": through, "MX": through}, seed=7)


# ------------------------------------------------------------------------------------------ the flow


def test_from_an_empty_sheet_to_a_synced_review_with_only_sidebar_calls(service, server, minter):
    new_sheet(server)
    demo_reports(service.reports / NEW_SHEET)              # the default folder of a registered sheet
    user = Sheet(service, minter, NEW_SHEET)

    state = user("getState")
    assert state["ok"] and state["service"]["status"] == "ok" and not state["registered"]
    assert state["message"] == "This sheet is not set up with the sync service yet."

    done = user("setupSheet")
    assert done["ok"] and done["created"] is True, done
    assert {"Settings", "Targets", "Products", "Scorecard", "Sync Log"} <= set(done["tabsCreated"])
    assert done["message"] == f"Sheet set up: {len(done['tabsCreated'])} tab(s) added."
    assert done["registration"]["owner"] == "analyst@example.com"
    assert server.values(NEW_SHEET, "Settings")[0][:2] == ["key", "value"]     # the template, from the backend

    saved = user("saveSettings", {"source": "files", "reports": "", "marketplaces": ["US", "MX"],
                                  "timezone": "America/Mexico_City", "schedule": ["weekly mon 07:00"],
                                  "allow_emails": ["boss@partner.org"], "allow_domains": []})
    assert saved["ok"], saved
    assert saved["registration"]["settings"]["schedule"] == ["weekly mon 07:00"]
    assert saved["registration"]["settings"]["allow_emails"] == ["boss@partner.org"]

    started = user("startSync")
    assert started["ok"] and started["message"] == "Sync queued.", started
    progress = user.wait(started["jobId"])
    assert progress["state"] == "done", progress
    assert progress["message"] == "Sync done."
    result = progress["result"]
    owners = {s["owner"] for s in result["scorecard"]}
    assert owners and all(isinstance(s["score"], float | int) for s in result["scorecard"] if s["score"] is not None)
    scorecard = server.values(NEW_SHEET, "Scorecard")
    assert owners == {r[0] for r in scorecard[2:] if r}                    # what the sheet shows
    assert set(result["data_through"]) == {"US", "MX"} and all(result["data_through"].values())
    # problems link to their Sync Log rows, and the row holds that problem
    log_rows = server.values(NEW_SHEET, "Sync Log")
    assert result["problems"], "the demo data has unassigned ASINs: at least one warning"
    for p in result["problems"]:
        assert log_rows[p["row"] - 1][-1] == p["text"] and log_rows[p["row"] - 1][3] == p["severity"]
        assert p["link"].endswith(f"&range=A{p['row']}") and f"/d/{NEW_SHEET}/" in p["link"]
    shown = user.run("showSyncLogRow", result["problems"][0]["row"])
    assert shown["value"] is True and shown["ui"]["range"]["row"] == result["problems"][0]["row"]
    assert shown["ui"]["active"] == "Sync Log"
    # the sync itself: requested by the user, through the registered workbook
    job = service.srv.queue.get(started["jobId"])
    assert job.requested_by == "analyst@example.com" and job.trigger == "sheet" and job.workbook == NEW_SHEET
    assert set(user.calls) <= SIDEBAR_CALLS, set(user.calls) - SIDEBAR_CALLS


def test_registration_survives_a_service_restart(service, server, minter):
    new_sheet(server)
    demo_reports(service.reports / NEW_SHEET)
    user = Sheet(service, minter, NEW_SHEET)
    assert user("setupSheet")["created"] is True
    assert user("saveSettings", {"schedule": ["daily 06:30"], "allow_emails": ["boss@partner.org"]})["ok"]
    first = user("startSync")["jobId"]
    assert user.wait(first)["state"] == "done"

    service.stop()
    service.start()                                      # a new process would load service.yaml the same way
    state = user("getState")
    assert state["registered"] and state["registration"]["settings"]["schedule"] == ["daily 06:30"]
    assert state["lastJobId"] == first
    assert user("getProgress")["state"] == "done"        # the job store survived too
    boss = Sheet(service, minter, NEW_SHEET, email="boss@partner.org")
    again = boss("startSync")
    assert again["ok"], again
    assert boss.wait(again["jobId"])["state"] == "done"
    # the worker sees the registered sheet's schedule (config.workbooks holds it beside service.yaml's)
    assert service.config.workbooks[NEW_SHEET].schedule == ("daily 06:30",)
    assert NEW_SHEET in list(service.config.workbooks) and "legacy" in service.config.workbooks


def test_a_user_outside_the_allowed_domains_cannot_register_or_sync(service, server, minter):
    new_sheet(server)
    intruder = Sheet(service, minter, NEW_SHEET, email="intruder@elsewhere.com", locale="es_MX")
    res = intruder("setupSheet")
    assert not res["ok"] and res["code"] == "addon_not_allowed" and res["status"] == 403
    assert res["message"].startswith("Su cuenta o dominio no puede configurar hojas")
    assert server.values(NEW_SHEET, "Settings") is None                 # nothing was added
    assert open_registry(service.config).get(NEW_SHEET) is None
    # once the sheet is set up by an allowed user, the intruder still cannot sync it or read its progress
    owner = Sheet(service, minter, NEW_SHEET)
    assert owner("setupSheet")["ok"]
    res = intruder("startSync")
    assert not res["ok"] and res["code"] == "not_allowed" and res["status"] == 403
    assert intruder("getState")["ok"] is False
    # nor can the owner let them in
    res = owner("saveSettings", {"allow_emails": ["intruder@elsewhere.com"]})
    assert res["code"] == "invalid_field"
    assert res["message"].startswith("A setting is not valid — Who else may sync (emails): intruder@elsewhere.com "
                                      "is outside the domains and emails this service allows")
    res = owner("saveSettings", {"allow_domains": ["elsewhere.com"]})
    assert res["code"] == "invalid_field" and "elsewhere.com is not a domain this service allows" in res["message"]
    # a colleague of an allowed domain who was not added is refused too, with the owner named
    colleague = Sheet(service, minter, NEW_SHEET, email="colleague@example.com")
    res = colleague("startSync")
    assert res["code"] == "not_allowed"


def test_a_sheet_not_shared_with_the_service_account_names_the_email(service, server, minter):
    new_sheet(server, sa=False)
    res = Sheet(service, minter, NEW_SHEET)("setupSheet")
    assert not res["ok"] and res["code"] == "sheet_not_shared" and res["status"] == 409
    assert res["message"].startswith(f"The sync service cannot open this sheet. Share it with {SA_EMAIL} as Editor")
    zh = Sheet(service, minter, NEW_SHEET, locale="zh_CN")("setupSheet")
    assert zh["message"].startswith(f"同步服务无法打开此表格。请将表格共享给 {SA_EMAIL}（编辑者）")
    assert open_registry(service.config).get(NEW_SHEET) is None         # not registered
    server.books[NEW_SHEET].shared.add(SA_EMAIL)                         # the user shares it …
    assert Sheet(service, minter, NEW_SHEET)("setupSheet")["created"] is True   # … and tries again


def test_a_second_registration_of_the_same_sheet(service, server, minter):
    new_sheet(server)
    owner = Sheet(service, minter, NEW_SHEET)
    assert owner("setupSheet")["created"] is True
    assert owner("saveSettings", {"schedule": ["daily 07:00"]})["ok"]
    server.books[NEW_SHEET].sheets = [s for s in server.books[NEW_SHEET].sheets if s.title != "Calendar"]
    again = owner("setupSheet")                                           # the owner again: a missing tab is back
    assert again["ok"] and again["created"] is False and again["tabsCreated"] == ["Calendar"]
    assert again["message"] == "This sheet was already set up; 1 missing tab(s) added."
    assert again["registration"]["settings"]["schedule"] == ["daily 07:00"]      # settings kept
    colleague = Sheet(service, minter, NEW_SHEET, email="colleague@example.com", locale="zh_TW")
    res = colleague("setupSheet")                                         # someone else: not taken over
    assert res["code"] == "not_allowed" and res["message"].startswith("你的账户无权同步此表格")
    assert open_registry(service.config).get(NEW_SHEET).owner == "analyst@example.com"
    assert owner("saveSettings", {"allow_domains": ["example.com"]})["ok"]   # the owner lets the domain in
    joined = colleague("setupSheet")
    assert joined["ok"] and joined["created"] is False and joined["registration"]["owner"] == "analyst@example.com"
    assert [r.spreadsheet_id for r in open_registry(service.config).all()] == [NEW_SHEET]


def test_settings_errors_are_clear_and_nothing_is_stored(service, server, minter):
    new_sheet(server)
    owner = Sheet(service, minter, NEW_SHEET)
    assert owner("setupSheet")["ok"]
    cases = [
        ({"schedule": ["every day at 7"]}, "Schedule: "),
        ({"timezone": "Mexico City"}, "Time zone: 'Mexico City' is not an IANA time zone"),
        ({"marketplaces": ["US", "UK"]}, "Marketplaces: UK: choose from"),
        ({"source": "amazon", "amazon_credentials": None}, "Amazon account: live Amazon needs one of the "
                                                           "operator's credential sets (acme)"),
        ({"source": "amazon", "amazon_credentials": "other"}, "Amazon account: 'other' is not one of"),
        ({"reports": "../other-team"}, "Reports folder: '../other-team': give a folder name inside"),
        ({"reports": "nope"}, "Reports folder: folder 'nope' does not exist"),
    ]
    for form, words in cases:
        res = owner("saveSettings", form)
        assert res["code"] == "invalid_field", (form, res)
        assert res["message"].startswith("A setting is not valid — " + words), (form, res["message"])
    settings = owner("getState")["registration"]["settings"]
    assert settings["schedule"] == [] and settings["timezone"] == "America/Mexico_City" and settings["source"] == "files"
    ok = owner("saveSettings", {"source": "amazon", "amazon_credentials": "acme"})
    assert ok["ok"] and ok["registration"]["settings"]["amazon_credentials"] == "acme"
    assert service.config.workbooks[NEW_SHEET].amazon_credentials == "acme"


def test_a_sheet_from_service_yaml_is_not_registered_again(service, server, minter):
    sheet = Sheet(service, minter, "1LegacySheet00000000000000", locale="es")
    state = sheet("getState")
    assert state["managed"] and state["ok"] and not state["registered"]
    assert state["message"].startswith("El operador administra esta hoja")
    res = sheet("setupSheet")
    assert res["code"] == "registered_by_operator"


def test_menu_sync_now_toasts_or_alerts_in_the_users_language(service, server, minter):
    new_sheet(server)
    zh = Sheet(service, minter, NEW_SHEET, locale="zh_CN")
    out = zh.run("menuSyncNow")
    assert out["ui"]["alerts"][0][1].startswith("同步服务不认识此表格。请先使用“设置此表格”。")  # not set up yet
    assert out["ui"]["alerts"][0][1].endswith("(workbook_not_found, HTTP 404)")
    assert zh("setupSheet")["ok"]
    out = zh.run("menuSyncNow")
    assert out["ui"]["toasts"][0][:2] == ["同步已排队。", "KPI 同步"] and out["ui"]["alerts"] == []


# ------------------------------------------------------------------------------- texts and manifest


def test_add_on_unit_tests_under_node():
    proc = subprocess.run([NODE, "--test", str(ROOT / "tests" / "addon" / "addon.test.js")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and re.search(r"# pass [1-9]", proc.stdout)


def test_every_sidebar_call_exists_in_code_gs():
    code = (ADDON / "Code.gs").read_text(encoding="utf-8")
    assert {"getState", "setupSheet", "saveSettings", "startSync", "getProgress", "showSyncLogRow"} <= SIDEBAR_CALLS
    for fn in SIDEBAR_CALLS:
        assert re.search(rf"^function {fn}\(", code, re.M), fn


def test_operator_lists_and_removes_registrations_from_the_cli(service, server, minter, capsys):
    from sheets_sync.cli import main

    new_sheet(server)
    assert Sheet(service, minter, NEW_SHEET)("setupSheet")["created"] is True
    assert main(["--config", str(service.yaml), "registrations", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{NEW_SHEET}  owner analyst@example.com  source files ({NEW_SHEET})  US/MX" in out
    assert "1 registered sheet(s) (sqlite)" in out
    assert main(["--config", str(service.yaml), "registrations", "remove", NEW_SHEET]) == 0
    assert main(["--config", str(service.yaml), "registrations", "remove", NEW_SHEET]) == 1
    assert "no registered sheet" in capsys.readouterr().err
    state = Sheet(service, minter, NEW_SHEET)("getState")            # the running service sees it at once
    assert state["ok"] and not state["registered"]
    assert NEW_SHEET not in service.config.workbooks


def test_the_sidebar_page_sets_up_saves_syncs_and_shows_the_result_in_chinese(service, server, minter):
    """Sidebar.html's own script, clicked through (tests/addon/sidebar.js), in a zh_CN user's language."""
    new_sheet(server)
    demo_reports(service.reports / NEW_SHEET)
    spec = {"url": service.url + "/", "token": minter.mint(email="analyst@example.com"), "locale": "zh_CN",
            "spreadsheetId": NEW_SHEET, "sheets": ["Sheet1", "Scorecard", "Sync Log"], "pollMs": 200,
            "sheetsApi": user_api(server, "analyst@example.com"),
            "settings": {"schedule": "weekly mon 07:00", "allow-emails": "boss@partner.org", "mk-MX": True}}
    proc = subprocess.run([NODE, str(ROOT / "tests" / "addon" / "sidebar.js"), json.dumps(spec)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps = json.loads(proc.stdout)
    assert steps["opened"] == {"message": "此表格尚未在同步服务中设置。", "error": False, "setup": True,
                               "settings": False, "sync": False}
    assert steps["labels"] == {"setup": "设置此表格", "sync": "立即同步", "save": "保存设置"}
    assert steps["setUp"]["settings"] and steps["setUp"]["sync"] and steps["setUp"]["message"].startswith("表格已设置：新增")
    assert steps["saved"]["message"] == "设置已保存。"
    reg = open_registry(service.config).get(NEW_SHEET)
    assert reg.schedule == ["weekly mon 07:00"] and reg.allow_emails == ["boss@partner.org"]
    assert reg.marketplaces == ["US", "MX"] and reg.updated_by == "analyst@example.com"
    synced = steps["synced"]
    assert synced["progress"] == "同步完成。", synced
    assert synced["rows"][0] == ["负责人", "得分", "预计", "等级"]
    owners = {r[0] for r in server.values(NEW_SHEET, "Scorecard")[2:] if r}
    assert {r[0] for r in synced["rows"][1:]} == owners
    assert all(r[1].endswith("%") or r[1] == "" for r in synced["rows"][1:])
    assert re.fullmatch(r"数据截至: MX \d{4}-\d\d-\d\d, US \d{4}-\d\d-\d\d", synced["through"]), synced["through"]
    assert synced["problemsTitle"] == f"同步日志中有 {len(synced['problems'])} 个问题"
    first = synced["problems"][0]
    assert first["text"].startswith("同步日志第 ") and first["link"].startswith(
        f"https://docs.google.com/spreadsheets/d/{NEW_SHEET}/edit#gid=1002&range=A")
    assert steps["clicked"]["sheet"] == "Sync Log" and first["link"].endswith(f"A{steps['clicked']['row']}")
    assert set(steps["calls"]) == {"getState", "setupSheet", "saveSettings", "startSync", "getProgress",
                                   "showSyncLogRow"}


def test_the_webhook_opens_sheets_with_a_short_retry_budget(tmp_path, server):
    from sheets_sync.config import Config, WorkbookConfig
    from webhook.addon import _default_open_workbook

    key = tmp_path / "sa.json"
    key.write_text(json.dumps(server.service_account(SA_EMAIL)))
    wb = _default_open_workbook(Config(google_credentials=key), WorkbookConfig(name="x", backend="google",
                                                                                sheet_id=NEW_SHEET))
    assert isinstance(wb, GoogleWorkbook) and wb.retry.max_total_s == 12.0 and wb.retry.max_attempts == 3
    assert wb.http.timeout == (5.0, 15.0)         # a user waits for setup: no 120 s budget
    assert wb.service_account_email == SA_EMAIL
    xlsx = _default_open_workbook(Config(), WorkbookConfig(name="y", path=tmp_path / "y.xlsx"))
    assert type(xlsx).__name__ == "XlsxWorkbook"


def test_only_an_editor_of_the_sheet_can_register_it(service, server, minter):
    """The ID token names the user, not the sheet: a new registration needs the claim the service hands out
    written into the sheet (developer metadata), which only an editor can do."""
    new_sheet(server, editors=("analyst@example.com",))                # shared with the service account too
    colleague = Sheet(service, minter, NEW_SHEET, email="colleague@example.com")   # allowed domain, no access
    res = colleague("setupSheet")
    assert not res["ok"] and res["code"] == "claim_not_written", res
    assert res["message"].startswith("Only editors of this sheet can set it up: You do not have permission")
    assert open_registry(service.config).get(NEW_SHEET) is None
    assert server.values(NEW_SHEET, "Settings") is None
    # by hand: the service answers with a claim, and a claim written for someone else does not count
    token = minter.mint(email="colleague@example.com")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, body, _ = http("POST", service.url + "/v1/addon/setup", {"spreadsheet_id": NEW_SHEET}, headers)
    assert status == 428 and body["error"]["code"] == "claim_required"
    assert body["error"]["metadata_key"] == "sheets_sync_claim" and re.fullmatch(r"\d+\.[0-9a-f]{40}", body["error"]["claim"])
    owner = Sheet(service, minter, NEW_SHEET)
    assert owner("setupSheet")["created"] is True                       # the editor's claim is in the sheet now
    open_registry(service.config).remove(NEW_SHEET)
    status, body, _ = http("POST", service.url + "/v1/addon/setup", {"spreadsheet_id": NEW_SHEET,
                           "claim": body["error"]["claim"]}, headers)
    assert status == 428, body                                          # the analyst's claim is not the colleague's
    assert open_registry(service.config).get(NEW_SHEET) is None


@pytest.mark.parametrize("language", ["zh", "es"])
def test_the_result_is_read_back_from_a_sheet_written_in_chinese_or_spanish(tmp_path, language):
    """The sidebar's result reads the Scorecard and the Sync Log back: headers, statuses and the data-through
    dates are shown in the Settings language there, and must still be understood."""
    import subprocess
    import sys

    from sheets_sync.sheets.xlsx import XlsxWorkbook
    from webhook.addon import read_result

    out = tmp_path / "demo.xlsx"
    subprocess.run([sys.executable, "-m", "sheets_sync.cli", "demo", "--out", str(out), "--language", language],
                   check=True, capture_output=True, cwd=tmp_path)
    result = read_result(XlsxWorkbook(out))
    owners = [s["owner"] for s in result["scorecard"]]
    # Ana: the Mercado Libre store; Emily: the Walmart US store; Diego: the ads specialist's campaigns; Lucía and
    # Mateo: customer-service agents
    assert len(owners) == 11 and {"Li Na", "Ana Ruiz", "Emily Chen", "Diego Herrera", "Lucía Gómez"} <= set(owners)
    assert all(isinstance(s["score"], float) for s in result["scorecard"])
    assert {s["tier"] for s in result["scorecard"]} <= {"none", "base", "target", "stretch"}
    assert set(result["data_through"]) == {"US", "MX", "MLM", "WMUS"} and all(result["data_through"].values())
    assert result["sync"] and result["sync"]["status"] in ("ok", "ok with warnings", "ok with errors")
    assert result["problems"] and all(p["severity"] in ("error", "warning") for p in result["problems"])
