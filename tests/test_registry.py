"""Registrations of the Google Sheets add-on (sheets_sync/registry.py): stores, the config hook, the rules."""
# ruff: noqa: F811  (pytest fixtures imported from webhook_fixtures)

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest
from webhook_fixtures import redis_server  # noqa: F401

from sheets_sync.config import AddonConfig, Config, WorkbookConfig, load_config
from sheets_sync.errors import ConfigError
from sheets_sync.jobs import due_schedules, with_defaults
from sheets_sync.registry import (
    RedisRegistry,
    Registration,
    SettingsError,
    SqliteRegistry,
    WorkbooksWithRegistered,
    apply_settings,
    credential_config,
    open_registry,
    with_registered,
)
from sheets_sync.sync import open_source

SID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-xyz"
ADDON = AddonConfig(allow_emails=("boss@partner.org",), allow_domains=("example.com",),
                    amazon_credentials={"acme": "ACME_", "beta": "BETA_"})


def config(tmp_path: Path, addon: AddonConfig = ADDON, **kw) -> Config:
    static = {"team": WorkbookConfig(name="team", backend="google", sheet_id="1TeamSheet000000000000")}
    return with_registered(Config(data_dir=tmp_path, workbooks=static, addon=addon, **kw))


def reg(**kw) -> Registration:
    return Registration(**{"spreadsheet_id": SID, "owner": "ana@example.com", "created_at": 1.0, "updated_at": 1.0,
                           **kw})


ADD_IN_PROCESS = """
import json, sys, time
from sheets_sync.registry import Registration, SqliteRegistry
path, owner, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
stored, created = SqliteRegistry(path).add(Registration(spreadsheet_id=sys.argv[4], owner=owner))
print(json.dumps([owner, created, stored.owner]))
"""


def test_sqlite_add_registers_a_sheet_once_across_processes(tmp_path):
    import json
    import subprocess
    import sys

    path = str(tmp_path / "registrations.db")
    start = time.time() + 1.5                                 # every process starts adding at the same moment
    procs = [subprocess.Popen([sys.executable, "-c", ADD_IN_PROCESS, path, f"user{i}@example.com", str(start), SID],
                              stdout=subprocess.PIPE, text=True) for i in range(6)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    winners = [r for r in results if r[1]]
    assert len(winners) == 1, results
    assert {r[2] for r in results} == {winners[0][0]}        # the losers were told who registered it
    assert [r.owner for r in SqliteRegistry(path).all()] == [winners[0][0]]


def test_store_round_trip_put_remove(tmp_path):
    store = SqliteRegistry(tmp_path / "r.db")
    assert store.get(SID) is None and store.all() == [] and not store.remove(SID)
    assert not (tmp_path / "r.db").exists()                 # reading never creates the file
    store.put(reg(schedule=["daily 07:00"]))
    again = SqliteRegistry(tmp_path / "r.db")               # another process, later
    assert again.get(SID).schedule == ["daily 07:00"] and again.ids() == [SID]
    assert again.remove(SID) and again.get(SID) is None


def test_registered_sheets_resolve_beside_service_yaml_ones(tmp_path):
    cfg = config(tmp_path)
    with pytest.raises(ConfigError):
        cfg.find_workbook(SID)
    assert not (tmp_path / "registrations.db").exists()     # a lookup of an unknown sheet creates nothing
    open_registry(cfg).put(reg(schedule=["daily 07:00"], timezone="Asia/Shanghai"))
    wb = cfg.find_workbook(SID)
    assert (wb.name, wb.backend, wb.sheet_id, wb.timezone) == (SID, "google", SID, "Asia/Shanghai")
    assert cfg.workbook(SID) is not None and SID in cfg.workbooks and cfg.workbooks.get("nope") is None
    assert list(cfg.workbooks) == ["team", SID] and len(cfg.workbooks) == 2
    assert cfg.find_workbook("1TeamSheet000000000000").name == "team"
    # schedules of registered sheets fire like service.yaml's
    import datetime as dt
    from zoneinfo import ZoneInfo

    now = dt.datetime(2026, 11, 30, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert [w.name for w, _, _ in due_schedules(cfg, now)] == [SID]
    # the demo default does not replace them, and the mapping survives pickling (serve's spawned worker)
    assert with_defaults(cfg) is cfg
    copy = pickle.loads(pickle.dumps(cfg))
    assert isinstance(copy.workbooks, WorkbooksWithRegistered) and copy.find_workbook(SID).timezone == "Asia/Shanghai"


def test_load_config_wires_the_registry_only_when_the_add_on_is_enabled(tmp_path):
    yml = tmp_path / "service.yaml"
    yml.write_text(f"data_dir: {tmp_path}\nworkbooks:\n  demo:\n    path: x.xlsx\n")
    assert isinstance(load_config(yml, env={}).workbooks, dict)
    yml.write_text(f"data_dir: {tmp_path}\naddon:\n  allow:\n    domains: ['@Example.com']\n"
                   "  reports_root: reports\n  amazon_credentials:\n    acme: ACME_\n")
    cfg = load_config(yml, env={})
    assert isinstance(cfg.workbooks, WorkbooksWithRegistered)
    assert cfg.addon.allow_domains == ("example.com",) and cfg.addon.reports_root == tmp_path / "reports"
    assert cfg.addon.amazon_credentials == {"acme": "ACME_"}
    assert cfg.addon.allows("Ana@EXAMPLE.com") and not cfg.addon.allows("ana@example.com.evil.org")
    yml.write_text("addon:\n  amazon_credentials: [acme]\n")
    with pytest.raises(ConfigError, match=r"addon\.amazon_credentials: expected a mapping"):
        load_config(yml, env={})


def test_a_registered_sheet_never_reaches_beyond_the_operators_allowlist(tmp_path):
    r = reg(allow_emails=["boss@partner.org", "old@gone.org"], allow_domains=["example.com", "gone.org"])
    wb = r.workbook(ADDON)
    assert wb.allow_emails == ("ana@example.com", "boss@partner.org") and wb.allow_domains == ("example.com",)
    narrowed = AddonConfig(allow_emails=(), allow_domains=("example.com",))      # the operator drops partner.org
    assert r.workbook(narrowed).allow_emails == ("ana@example.com",)
    gone = AddonConfig(allow_domains=("other.com",))                            # … or the owner's domain
    assert r.workbook(gone).allow_emails == () and r.workbook(gone).allow_domains == ()


def test_settings_are_validated_and_only_given_keys_change(tmp_path):
    addon = AddonConfig(allow_domains=("example.com",), reports_root=tmp_path,
                        amazon_credentials={"acme": "ACME_"})
    (tmp_path / "acme-mx").mkdir()
    base = reg()
    new = apply_settings(base, {"reports": "acme-mx", "schedule": "daily 07:00\nweekly mon,thu 06:30",
                                "allow_emails": "b@example.com, c@example.com", "marketplaces": ["mx"]},
                         addon, by="ana@example.com", now=5.0)
    assert new.reports == "acme-mx" and new.schedule == ["daily 07:00", "weekly mon,thu 06:30"]
    assert new.allow_emails == ["b@example.com", "c@example.com"] and new.marketplaces == ["MX"]
    assert (new.updated_at, new.updated_by, new.timezone) == (5.0, "ana@example.com", "America/Mexico_City")
    assert base.schedule == []                                                   # a copy
    for data, field in [({"colour": "red"}, "colour"), ({"schedule": ["daily 25:00"]}, "schedule"),
                        ({"allow_emails": ["not an email"]}, "allow_emails"), ({"source": "ftp"}, "source"),
                        ({"marketplaces": []}, "marketplaces"), ({"schedule": ["daily 07:00"] * 11}, "schedule"),
                        ({"reports": "/etc"}, "reports"), ({"timezone": 3}, "timezone")]:
        with pytest.raises(SettingsError) as exc:
            apply_settings(base, data, addon, by="x")
        assert exc.value.field == field, data
    no_root = AddonConfig(allow_domains=("example.com",))
    with pytest.raises(SettingsError, match="this service has no reports folder"):
        apply_settings(base, {"reports": "acme-mx"}, no_root, by="x")


def test_a_credential_set_reads_only_its_own_variables(tmp_path):
    env = {"LWA_APP_ID": "default-app", "LWA_CLIENT_SECRET": "default-secret", "SP_API_REFRESH_TOKEN": "Atzr|d",
           "ADS_CLIENT_ID": "default-ads", "ACME_LWA_APP_ID": "acme-app", "ACME_LWA_CLIENT_SECRET": "acme-secret",
           "ACME_SP_API_REFRESH_TOKEN": "Atzr|a", "PATH": "/usr/bin"}
    cfg = credential_config(Config(data_dir=tmp_path, addon=ADDON, env=env), "acme")
    assert cfg.env["LWA_APP_ID"] == "acme-app" and cfg.env["SP_API_REFRESH_TOKEN"] == "Atzr|a"
    assert "ADS_CLIENT_ID" not in cfg.env                  # no fallback to the default set's Ads account
    assert cfg.env["PATH"] == "/usr/bin" and cfg.data_dir == tmp_path / "credential-sets" / "acme"
    beta = credential_config(Config(data_dir=tmp_path, addon=ADDON, env=env), "beta")
    assert "LWA_APP_ID" not in beta.env
    wbc = WorkbookConfig(name="x", backend="google", sheet_id=SID, source="amazon", amazon_credentials="beta")
    with pytest.raises(ConfigError, match="SP-API credentials missing"):   # beta's variables are not set
        open_source(Config(data_dir=tmp_path, addon=ADDON, env=env), wbc)
    wbc = WorkbookConfig(name="x", backend="google", sheet_id=SID, source="amazon", amazon_credentials="gamma")
    with pytest.raises(ConfigError, match=r"'gamma' is not defined in service\.yaml addon\.amazon_credentials"):
        open_source(Config(data_dir=tmp_path, addon=ADDON, env=env), wbc)


def test_redis_registry(redis_server):
    redis_server.flush()
    store = RedisRegistry(redis_server.url)
    assert store.get(SID) is None
    first, created = store.add(reg())
    second, again = store.add(reg(owner="other@example.com"))
    assert created and not again and second.owner == "ana@example.com"
    store.put(reg(schedule=["daily 07:00"]))
    assert store.get(SID).schedule == ["daily 07:00"] and store.ids() == [SID]
    cfg = with_registered(Config(queue_url=redis_server.url, addon=ADDON))
    assert cfg.find_workbook(SID).schedule == ("daily 07:00",)
    assert store.remove(SID) and not store.remove(SID)


def test_claims_are_bound_to_sheet_user_and_time(tmp_path):
    from sheets_sync.registry import claim_ok, make_claim

    key = SqliteRegistry(tmp_path / "r.db").secret()
    assert key == SqliteRegistry(tmp_path / "r.db").secret() and len(key) == 64      # made once, shared
    c = make_claim(key, SID, "Ana@example.com", now=1000)
    assert claim_ok(key, c, SID, "ana@example.com", now=1500)
    assert not claim_ok(key, c, SID, "bob@example.com", now=1500)
    assert not claim_ok(key, c, "1OtherSheet0000000000", "ana@example.com", now=1500)
    assert not claim_ok(key, c, SID, "ana@example.com", now=1000 + 901)                 # 15 minutes
    assert not claim_ok(key, c, SID, "ana@example.com", now=999)                        # from the future
    assert not claim_ok("another-key", c, SID, "ana@example.com", now=1500)
    assert not claim_ok(key, None, SID, "ana@example.com") and not claim_ok(key, "x.y", SID, "ana@example.com")
