"""A local DingTalk (钉钉) custom robot, written from DingTalk's public pages, for tests.

Pages: "自定义机器人接入" / "自定义机器人安全设置" (open.dingtalk.com/document/robots/custom-robot-access,
open.dingtalk.com/document/robots/customize-robot-security-settings), "自定义机器人发送消息的消息类型"
(open.dingtalk.com/document/robots/message-types-and-data-format).

* ``POST /robot/send?access_token=<token>`` with a UTF-8 JSON body — custom-robot-access ("发起POST请求时，必须将字符集
  编码设置成UTF-8").
* ``msgtype`` text, link, markdown, actionCard or feedCard; markdown needs ``markdown.title`` and ``markdown.text`` —
  message-types-and-data-format.
* Signed mode (加签): ``timestamp`` (milliseconds) and ``sign`` in the URL; ``sign`` = urlEncode(base64(HmacSHA256(key=
  secret, message=timestamp + "\\n" + secret))); the timestamp may differ from DingTalk's clock by at most one hour —
  customize-robot-security-settings. A wrong sign: ``errcode`` 310000 "sign not match"; a timestamp out of range:
  310000 with "timestamp … invalid" — the errmsg wording is a **guess** (310000 itself is what DingTalk answers).
* Keywords (自定义关键词): a message must contain at least one of the robot's keywords (up to 10) — security
  settings; otherwise ``errcode`` 310000 "keywords not in content".
* 20 messages a minute per robot; past that DingTalk refuses for 10 minutes — custom-robot-access ("每个机器人每分钟最多
  发送20条。如果超过20条，会限流10分钟"); the refusal is ``errcode`` 130101 "send too fast, exceed 20 times per
  minute" (the answer developers quote; wording a **guess**).
* An unknown access_token: ``errcode`` 300001 "token is not exist" — **guess**.
* A body larger than 20,000 bytes: ``errcode`` 460101 "message too long" — **guess** (the pages we read state no limit).
* success: ``{"errcode": 0, "errmsg": "ok"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from .robot_base import Answer, RobotServer, json_body

TOKEN = "ff6cd723bdb4455fe18de0c4ba30dbeff007f5aa"
SECRET = "SECa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f"
MSGTYPES = ("text", "link", "markdown", "actionCard", "feedCard")
MAX_BYTES = 20000


def _err(code: int, msg: str) -> Answer:
    return Answer(200, {"errcode": code, "errmsg": msg})


def dingtalk_sign(secret: str, stamp: str) -> str:
    """base64(HmacSHA256(secret, "timestamp\\nsecret")) — before URL encoding (the receiver sees it decoded)."""
    digest = hmac.new(secret.encode("utf-8"), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkServer(RobotServer):
    """``with DingTalkServer(secret=SECRET, keywords=("KPI",)) as r:``; ``secret=None``: no signed mode."""

    path = "/robot/send"
    per_window = 20
    penalty_s = 600.0
    token = TOKEN
    secret: str | None = SECRET
    keywords: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}?access_token={self.token}"

    def check(self, query: dict[str, str], headers: Any, raw: bytes) -> Answer:
        if query.get("access_token") != self.token:
            return _err(300001, "token is not exist")
        if self.secret:
            stamp, sign = query.get("timestamp", ""), query.get("sign", "")
            if not stamp.isdigit() or abs(int(stamp) / 1000 - self.clock()) > 3600:
                return _err(310000, "timestamp is invalid, more: [the timestamp must be within one hour]")
            if not hmac.compare_digest(sign, dingtalk_sign(self.secret, stamp)):
                return _err(310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]")
        if len(raw) > MAX_BYTES:
            return _err(460101, "message too long")
        body = json_body(raw)
        if not isinstance(body, dict) or body.get("msgtype") not in MSGTYPES:
            return _err(40035, "缺少参数 msgtype")
        if body["msgtype"] == "markdown":
            md = body.get("markdown")
            if not isinstance(md, dict) or not md.get("title") or not md.get("text"):
                return _err(40035, "缺少参数 markdown.title 或 markdown.text")
        text = raw.decode("utf-8")
        if self.keywords and not any(k in text for k in self.keywords):
            return _err(310000, f"keywords not in content, more: [{', '.join(self.keywords)}]")
        if self.over_rate():
            return _err(130101, "send too fast, exceed 20 times per minute")
        self.accept(body)
        return _err(0, "ok")
