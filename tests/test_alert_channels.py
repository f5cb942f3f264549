"""The channels against the local receivers: limits and refusals as the platforms document them, and our side keeping
to them (size, pacing, retry), with a clock the test moves instead of waiting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from alert_fixtures import make_cert

from sheets_sync.alerts.channels import LIMITS, DeliveryError, fit, open_channel
from sheets_sync.alerts.text import Message
from sheets_sync.budget import Budgets, account_key
from sheets_sync.config import AlertChannelConfig
from sheets_sync.jobs import SqliteBackend
from sheets_sync.testing import dingtalk_server, feishu_server
from sheets_sync.testing.dingtalk_server import DingTalkServer
from sheets_sync.testing.feishu_server import FeishuServer
from sheets_sync.testing.googlechat_server import GoogleChatServer
from sheets_sync.testing.slack_server import SlackServer
from sheets_sync.testing.smtp_server import USER, SmtpServer, check_message
from sheets_sync.testing.wecom_server import WeComServer


class Clock:
    def __init__(self, t: float = 1_795_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def post(url: str, body: object) -> requests.Response:
    return requests.post(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, timeout=5)


def test_wecom_limits_as_documented():
    clock = Clock()
    with WeComServer(clock=clock) as r:
        ok = {"msgtype": "markdown", "markdown": {"content": "x"}}
        assert [post(r.url, ok).json()["errcode"] for _ in range(21)] == [0] * 20 + [45009]
        clock.t += 61
        assert post(r.url, ok).json()["errcode"] == 0
        assert post(r.url, {"msgtype": "markdown", "markdown": {"content": "长" * 1366}}).json()["errcode"] == 40058
        assert post(r.url.replace(r.key, "other"), ok).json()["errcode"] == 93000
        assert post(r.url, {"msgtype": "card", "card": {}}).json()["errcode"] == 40008


def test_dingtalk_signature_window_and_ten_minute_block():
    clock = Clock()
    with DingTalkServer(clock=clock) as r:
        def signed(stamp_ms: int) -> str:
            from urllib.parse import quote_plus
            return f"{r.url}&timestamp={stamp_ms}&sign={quote_plus(dingtalk_server.dingtalk_sign(r.secret, str(stamp_ms)))}"

        body = {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}}
        assert post(signed(int(clock.t * 1000)), body).json()["errcode"] == 0
        assert post(signed(int((clock.t - 3700) * 1000)), body).json()["errcode"] == 310000   # over an hour old
        assert post(r.url, body).json()["errcode"] == 310000                                   # unsigned
        codes = [post(signed(int(clock.t * 1000)), body).json()["errcode"] for _ in range(20)]
        assert codes[-1] == 130101 and codes[:19] == [0] * 19
        clock.t += 120           # past the minute, still inside DingTalk's ten minutes of refusal
        assert post(signed(int(clock.t * 1000)), body).json()["errcode"] == 130101
        clock.t += 600
        assert post(signed(int(clock.t * 1000)), body).json()["errcode"] == 0


def test_feishu_burst_and_size():
    clock = Clock()
    with FeishuServer(secret=None, clock=clock) as r:
        body = {"msg_type": "text", "content": {"text": "x"}}
        assert [post(r.url, body).json()["code"] for _ in range(6)] == [0] * 5 + [11232]
        clock.t += 1.1
        assert post(r.url, body).json()["code"] == 0
        assert post(r.url, {"msg_type": "text", "content": {"text": "x" * 21000}}).json()["code"] == 9499


def test_slack_and_google_chat_answer_429_within_a_second():
    clock = Clock()
    with SlackServer(clock=clock) as s, GoogleChatServer(clock=clock) as g:
        assert post(s.url, {"text": "a"}).text == "ok"
        late = post(s.url, {"text": "b"})
        assert late.status_code == 429 and late.headers["Retry-After"] == "1"
        long_header = {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]}
        clock.t += 2
        assert post(s.url, long_header).text == "invalid_blocks"
        assert post(s.url.replace("XXXX", "YYYY"), {"text": "a"}).text == "no_service"
        assert post(g.url, {"text": "a"}).status_code == 200
        assert post(g.url, {"text": "b"}).json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        clock.t += 2
        assert post(g.url, {"text": "x" * 33000}).json()["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("kind, server", [("wecom", WeComServer), ("slack", SlackServer),
                                          ("googlechat", GoogleChatServer), ("dingtalk", DingTalkServer),
                                          ("feishu", FeishuServer)])
def test_a_long_digest_fits_each_platform(kind, server):
    items = [f"李娜：亚马逊美国站的 ASIN B0ALERT{i:03d} 已断货，本期已售 {i * 7} 件" for i in range(1000)]
    msg = Message(title="team：KPI 预警（1000 条）", lines=["表格位置：team › Commentary!A3"], items=items)
    kw = {"secret": None} if kind in ("dingtalk", "feishu") else {}
    with server(**kw) as r:
        open_channel(AlertChannelConfig(kind, "URL"), {"URL": r.url}).send(msg)
        assert len(r.messages) == 1
        sent = json.dumps(r.messages[0], ensure_ascii=False)
        assert "B0ALERT000" in sent and "…" in sent and "B0ALERT999" not in sent


def test_our_pacing_keeps_a_burst_within_wecoms_twenty_a_minute(tmp_path):
    """25 messages: the shared budget (in the queue's SQLite store) spaces them so that WeCom refuses none."""
    clock = Clock()
    budgets = Budgets(SqliteBackend(tmp_path / "jobs.db"), LIMITS, clock=clock, sleep=clock.sleep)
    with WeComServer(clock=clock) as r:
        ch = open_channel(AlertChannelConfig("wecom", "URL"), {"URL": r.url}, sleep=clock.sleep)
        start = clock.t
        for i in range(25):
            budgets.acquire("wecom", account_key(r.url))
            ch.send(Message(title=f"alert {i}"))
        assert len(r.messages) == 25 and all(code == 0 for _, code in r.log)
        assert clock.t - start > 60         # it had to wait past the first minute


def test_a_throttled_answer_is_retried_once_after_the_wait():
    clock = Clock()
    with SlackServer(clock=clock) as s:
        ch = open_channel(AlertChannelConfig("slack", "URL"), {"URL": s.url}, sleep=clock.sleep)
        ch.send(Message(title="one"))
        ch.send(Message(title="two"))            # 429 Retry-After: 1 → waits (moves the clock) and is delivered
        assert [m["text"] for m in s.messages] == ["one", "two"] and [st for st, _ in s.log] == [200, 429, 200]


def test_errors_never_show_the_url_or_secret():
    ch = open_channel(AlertChannelConfig("wecom", "URL"), {"URL": "http://127.0.0.1:9/cgi-bin/webhook/send?key=SECRET-KEY"})
    with pytest.raises(DeliveryError) as e:
        ch.send(Message(title="x"))
    assert "SECRET" not in str(e.value) and "127.0.0.1" not in str(e.value)
    for url in ("http://hooks.example.com/x", "ftp://x", ""):
        with pytest.raises(DeliveryError, match=r"https|not set"):
            open_channel(AlertChannelConfig("slack", "URL"), {"URL": url}).send(Message(title="x"))
    assert "SECRET" not in repr(ch)


def test_signed_feishu_and_dingtalk_with_the_wrong_secret_are_refused():
    with FeishuServer() as f, DingTalkServer() as d:
        for kind, srv in (("feishu", f), ("dingtalk", d)):
            ch = open_channel(AlertChannelConfig(kind, "URL", secret_env="S"), {"URL": srv.url, "S": "wrong"})
            with pytest.raises(DeliveryError, match=r"19021|310000"):
                ch.send(Message(title="x"))
            good = feishu_server.SECRET if kind == "feishu" else dingtalk_server.SECRET
            open_channel(AlertChannelConfig(kind, "URL", secret_env="S"), {"URL": srv.url, "S": good}).send(
                Message(title="x"))
            assert len(srv.messages) == 1


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_email_over_starttls_and_implicit_tls(tmp_path: Path, mode):
    cert, key = make_cert(tmp_path)
    with SmtpServer(mode=mode, certs=(cert, key)) as m:
        ch = open_channel(AlertChannelConfig("email", "URL"), {"URL": m.url(["ana@example.com"], cafile=cert)})
        ch.send(Message(title="Ana López: Ventas (GMV) en Amazon México · estado: atrasado", lines=["Motivo: sesiones"],
                        link="https://docs.google.com/spreadsheets/d/x/edit", link_text="Abrir la hoja"))
        (_, rcpt, mail), = m.messages
        assert rcpt == ["ana@example.com"] and str(mail["Subject"]).startswith("Ana López")
        assert mail.get_body(("plain",)).get_content_charset() == "utf-8"
        bad = open_channel(AlertChannelConfig("email", "URL"),
                           {"URL": m.url(["ana@example.com"], password="wrong", cafile=cert)})
        with pytest.raises(DeliveryError, match="refused the user name or password") as e:
            bad.send(Message(title="x"))
        assert "wrong" not in str(e.value)
        untrusted = open_channel(AlertChannelConfig("email", "URL"), {"URL": m.url(["ana@example.com"])})
        with pytest.raises(DeliveryError, match=r"TLS|connect"):
            untrusted.send(Message(title="x"))       # a certificate nobody vouches for is not trusted
        assert m.logins[0] == f"{USER}: ok"


def test_the_relay_refuses_a_message_a_client_would_garble():
    raw = "From: a@example.com\r\nTo: b@example.com\r\nSubject: 预警\r\nDate: x\r\nMessage-ID: <1@x>\r\n\r\nhi\r\n"
    msg, why = check_message(raw.encode("utf-8"), "a@example.com", ["b@example.com"])
    assert msg is None and "RFC 2047" in why


def test_fit_keeps_the_title_and_says_what_was_left_out():
    out = fit(["a" * 10] * 10, lambda parts: "T\n" + "\n".join(parts), 40)
    assert out.startswith("T\n") and out.endswith("…") and len(out) <= 40
