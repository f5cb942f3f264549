"""Alerts end to end: a real sync of an .xlsx workbook that moves a target off track tells each of the six local
receivers (each written from its platform's public pages, checking format, size, signature and rate) exactly once;
a re-sync tells nobody; the recovery sends one "back on track"; an unreachable channel costs one Sync Log line."""
# ruff: noqa: F811  (pytest fixtures imported from alert_fixtures)

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from alert_fixtures import CHANNELS_YAML, RECIPIENTS, Receivers, one_target_workbook, receivers, write_reports  # noqa: F401

from sheets_sync.config import load_config
from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sync import run_sync
from sheets_sync.testing import feishu_server


def _service_yaml(tmp: Path, extra: str = "") -> Path:
    p = tmp / "service.yaml"
    p.write_text(f"""
data_dir: {tmp / 'data'}
workbooks:
  team:
    backend: xlsx
    path: {tmp / 'team.xlsx'}
    reports: {tmp / 'reports'}
    marketplaces: [US]
{CHANNELS_YAML}{extra}""", encoding="utf-8")
    return p


def _sync_log(path: Path) -> list[str]:
    table = XlsxWorkbook(path).read_tabs(["Sync Log"])["Sync Log"]
    return [str(r[7]) for r in table[2:] if len(r) > 7 and r[7]]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])   # nothing listens once it is closed


def test_off_track_tells_each_channel_once_then_back_on_track(tmp_path, receivers: Receivers):
    one_target_workbook(tmp_path / "team.xlsx")
    write_reports(tmp_path / "reports", gmv_per_day=100.0)          # 3,000 USD against 10,000: off track
    config = load_config(_service_yaml(tmp_path), env=receivers.env())

    first = run_sync(config, "team")
    assert first.ok, first.error
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 1)
    log = _sync_log(tmp_path / "team.xlsx")
    sent = [line for line in log if line.startswith(("预警已发送", "alert sent"))]
    assert len(sent) == 6, log

    # each platform got its own documented format, in the workbook's language (zh), naming owner, KPI and figure
    wecom = receivers.wecom.messages[0]
    assert wecom["msgtype"] == "markdown" and len(wecom["markdown"]["content"].encode()) <= 4096
    assert "李娜" in wecom["markdown"]["content"] and "销售额" in wecom["markdown"]["content"]
    assert "3,000 USD" in wecom["markdown"]["content"] and "10,000 USD" in wecom["markdown"]["content"]
    assert not receivers.wecom.warnings
    ding = receivers.dingtalk.messages[0]                 # accepted only with a valid signature and the keyword
    assert ding["msgtype"] == "markdown" and "KPI" in ding["markdown"]["text"] and "李娜" in ding["markdown"]["title"]
    lark = receivers.feishu.messages[0]                    # signature checked by the receiver
    assert lark["msg_type"] == "interactive" and lark["card"]["header"]["template"] == "red"
    assert lark["sign"] == feishu_server.feishu_sign(feishu_server.SECRET, lark["timestamp"])
    slack = receivers.slack.messages[0]
    assert [b["type"] for b in slack["blocks"]] == ["header", "section"] and "李娜" in slack["text"]
    assert not receivers.slack.warnings and not receivers.googlechat.warnings
    assert receivers.googlechat.messages[0]["text"].startswith("*李娜")
    sender, rcpts, mail = receivers.email.messages[0]
    assert rcpts == RECIPIENTS and "李娜" in str(mail["Subject"]) and not receivers.email.refused
    assert "销售额" in mail.get_body(("plain",)).get_content()
    assert "team › Attainment!A3" in mail.get_body(("html",)).get_content()

    again = run_sync(config, "team")                          # nothing changed: nobody is told again
    assert again.ok and receivers.counts() == dict.fromkeys(receivers.counts(), 1)

    write_reports(tmp_path / "reports", gmv_per_day=500.0)   # 15,000 USD: on track
    recovered = run_sync(config, "team")
    assert recovered.ok
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 2)
    assert "已恢复正常" in receivers.wecom.messages[1]["markdown"]["content"]
    assert receivers.feishu.messages[1]["card"]["header"]["template"] == "green"
    assert "已恢复正常" in str(receivers.email.messages[1][2]["Subject"])

    run_sync(config, "team")                                   # and the end of an alert is told once
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 2)


def test_an_unreachable_channel_costs_only_a_sync_log_line(tmp_path, receivers: Receivers):
    one_target_workbook(tmp_path / "team.xlsx", language="es", owner="Ana López")
    write_reports(tmp_path / "reports", gmv_per_day=100.0)
    down = f"http://127.0.0.1:{_closed_port()}/cgi-bin/webhook/send?key=secret-key-DO-NOT-LOG"
    extra = "  - {kind: wecom, name: wecom-mx, url_env: DOWN_URL}\n"
    config = load_config(_service_yaml(tmp_path, extra), env={**receivers.env(), "DOWN_URL": down})

    res = run_sync(config, "team")
    assert res.ok and res.status == "ok"                      # the sync's own status does not change
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 1)
    log = _sync_log(tmp_path / "team.xlsx")
    failed = [line for line in log if "wecom-mx" in line]
    assert len(failed) == 1 and "DO-NOT-LOG" not in failed[0] and "127.0.0.1" not in failed[0]
    assert not any("secret-key" in line for line in log)
    assert "Ana López" in receivers.slack.messages[0]["text"]    # Spanish workbook: Spanish alerts
    assert "estado: atrasado" in receivers.slack.messages[0]["text"]

    # the next sync tries the failed channel again, and only it
    res = run_sync(config, "team")
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 1)
    assert sum("wecom-mx" in line for line in _sync_log(tmp_path / "team.xlsx")) == 2


def test_state_survives_a_restart_and_is_shared_through_the_store(tmp_path, receivers: Receivers):
    """A new process (a new Config and service, same data_dir) does not tell the channels again."""
    one_target_workbook(tmp_path / "team.xlsx")
    write_reports(tmp_path / "reports", gmv_per_day=100.0)
    run_sync(load_config(_service_yaml(tmp_path), env=receivers.env()), "team")
    from sheets_sync.alerts.state import AlertStore
    from sheets_sync.jobs import SqliteBackend

    store = AlertStore(SqliteBackend(tmp_path / "data" / "jobs.db"))
    records = store.open_alerts(str(tmp_path / "team.xlsx"), "2026-11")
    assert len(records) == 1 and set(next(iter(records.values()))["fired"]) == set(receivers.counts())
    import subprocess
    import sys

    code = ("import sys; from sheets_sync.config import load_config; from sheets_sync.sync import run_sync; "
            "import json; env=json.loads(sys.argv[2]); r = run_sync(load_config(sys.argv[1], env=env), 'team'); "
            "print(r.status)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "service.yaml"), json.dumps(receivers.env())],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 1)


def test_signature_and_keyword_refusals_are_sync_log_lines(tmp_path, receivers: Receivers):
    """A wrong DingTalk secret and a Feishu message without the bot's keyword are refused by the receivers exactly as
    the platforms answer, and become Sync Log lines naming the platform's code."""
    receivers.feishu.keywords = ("周报",)
    one_target_workbook(tmp_path / "team.xlsx")
    write_reports(tmp_path / "reports", gmv_per_day=100.0)
    env = {**receivers.env(), "DINGTALK_SECRET": "SEC-not-the-robots-secret"}
    run_sync(load_config(_service_yaml(tmp_path), env=env), "team")
    log = _sync_log(tmp_path / "team.xlsx")
    assert any("dingtalk" in line and "310000" in line for line in log), log
    assert any("feishu" in line and "19024" in line for line in log), log
    assert not receivers.dingtalk.messages and not receivers.feishu.messages
    assert not any("SEC-not" in line for line in log)


@pytest.mark.parametrize("hours, sent", [("00:00-23:59", 0), (None, 1)])
def test_quiet_hours_hold_messages_until_they_end(tmp_path, receivers: Receivers, hours, sent):
    one_target_workbook(tmp_path / "team.xlsx")
    write_reports(tmp_path / "reports", gmv_per_day=100.0)
    extra_yaml = CHANNELS_YAML.replace("{kind: slack, url_env: SLACK_URL}",
                                       f"{{kind: slack, url_env: SLACK_URL, quiet_hours: '{hours}'}}" if hours
                                       else "{kind: slack, url_env: SLACK_URL}")
    p = _service_yaml(tmp_path)
    p.write_text(p.read_text(encoding="utf-8").replace(CHANNELS_YAML, extra_yaml), encoding="utf-8")
    run_sync(load_config(p, env=receivers.env()), "team")
    assert len(receivers.slack.messages) == sent and len(receivers.wecom.messages) == 1
    if hours:   # the day ends: the held alert goes out at the next sync
        p.write_text(p.read_text(encoding="utf-8").replace(f", quiet_hours: '{hours}'", ""), encoding="utf-8")
        run_sync(load_config(p, env=receivers.env()), "team")
        assert len(receivers.slack.messages) == 1 and len(receivers.wecom.messages) == 1


def test_sync_failing_twice_in_a_row_is_told_once_and_its_end_too(tmp_path, receivers: Receivers):
    one_target_workbook(tmp_path / "team.xlsx", target=1000.0)     # on track: no KPI alert
    write_reports(tmp_path / "reports", gmv_per_day=100.0)
    config = load_config(_service_yaml(tmp_path), env=receivers.env())
    assert run_sync(config, "team").ok and receivers.counts()["wecom"] == 0
    good = (tmp_path / "team.xlsx").read_bytes()
    (tmp_path / "team.xlsx").write_bytes(b"not a workbook")
    assert not run_sync(config, "team").ok and receivers.counts()["wecom"] == 0      # once: not yet
    second = run_sync(config, "team")
    assert not second.ok and receivers.counts() == dict.fromkeys(receivers.counts(), 1)
    assert "连续两次失败" in receivers.wecom.messages[0]["markdown"]["content"]
    assert any("sent to wecom" in line for line in second.summary)
    run_sync(config, "team")
    assert receivers.counts()["wecom"] == 1                                              # still failing: quiet
    (tmp_path / "team.xlsx").write_bytes(good)
    assert run_sync(config, "team").ok
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 2)
    assert "已恢复正常" in receivers.wecom.messages[1]["markdown"]["content"]


@pytest.mark.parametrize("entry, fragment", [
    ("{kind: teams, url_env: X}", "is not one of wecom, dingtalk"),
    ("{kind: slack}", "url_env: the name of the environment variable"),
    ("{kind: slack, url: 'https://hooks.slack.com/services/T0/B0/abc'}", "unknown setting"),
    ("{kind: slack, url_env: X, secret_env: Y}", "only dingtalk and feishu"),
    ("{kind: wecom, url_env: X, quiet_hours: '22-7'}", "not a time"),
    ("{kind: wecom, url_env: X, digest_over: 0}", "expected 1 to 100"),
    ("{kind: dingtalk, url_env: X, secret: SECabc}", "secrets do not belong"),
])
def test_bad_alert_settings_are_named(tmp_path, entry, fragment):
    from sheets_sync.errors import ConfigError

    p = tmp_path / "service.yaml"
    p.write_text(f"alerts:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment):
        load_config(p, env={})
