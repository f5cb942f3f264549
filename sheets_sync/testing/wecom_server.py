"""A local WeCom (企业微信) group robot, written from WeCom's public pages, for tests.

Pages: "群机器人配置说明" (developer.work.weixin.qq.com/document/path/91770, also work.weixin.qq.com/api/doc/90000/
90136/91770) and "全局错误码" (developer.work.weixin.qq.com/document/path/90313).

* ``POST /cgi-bin/webhook/send?key=<key>`` with a UTF-8 JSON body — 91770 ("向这个地址发起HTTP POST 请求").
* ``msgtype`` one of text, markdown, markdown_v2, image, news, file, voice, template_card — 91770; another value:
  ``errcode`` 40008 "invalid message type" — 90313 ("不合法的msgtype参数").
* ``text.content`` at most 2048 bytes, ``markdown.content`` at most 4096 bytes, UTF-8 — 91770 ("最长不超过2048个字节",
  "最长不超过4096个字节"). Over the limit: ``errcode`` 40058 — **guess** (90313 lists 40058 as an invalid parameter; the
  code WeCom uses for a too-long markdown is not on the pages we read). An empty content: 44004 (90313 "文本消息
  content参数为空" — the text for markdown is a **guess**).
* markdown: only the colours ``info``, ``comment`` and ``warning`` exist for ``<font color>`` — 91770; another colour
  is not refused, it is kept in ``warnings`` (WeCom would show plain text).
* 20 messages a minute per robot — 91770 ("每个机器人发送的消息不能超过20条/分钟"); the 21st within 60 s is answered
  ``errcode`` 45009 "api freq out of limit" — 90313 ("接口调用超过限制"). The errmsg wording is a **guess**.
* a key that is not the robot's: ``errcode`` 93000 "invalid webhook url" — **guess** (the code developers report for a
  deleted robot; not on the pages we read).
* success: HTTP 200 ``{"errcode": 0, "errmsg": "ok"}`` — 91770. Every answer is HTTP 200 with an errcode — 90313.
"""

from __future__ import annotations

import re
from typing import Any

from .robot_base import Answer, RobotServer, json_body

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
MSGTYPES = ("text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card")
LIMITS = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}


def _err(code: int, msg: str) -> Answer:
    return Answer(200, {"errcode": code, "errmsg": msg})


class WeComServer(RobotServer):
    """``with WeComServer() as r:`` — ``r.url`` is the robot's webhook URL (key included)."""

    path = "/cgi-bin/webhook/send"
    per_window = 20
    key = KEY

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.warnings: list[str] = []

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}?key={self.key}"

    def check(self, query: dict[str, str], headers: Any, raw: bytes) -> Answer:
        if query.get("key") != self.key:
            return _err(93000, "invalid webhook url, hint: [robot key not found]")
        body = json_body(raw)
        if not isinstance(body, dict):
            return _err(40035, "invalid parameter, Warning: wrong json format.")
        kind = body.get("msgtype")
        if kind not in MSGTYPES:
            return _err(40008, "invalid message type")
        part = body.get(kind)
        content = part.get("content") if isinstance(part, dict) else None
        if kind in LIMITS:
            if not isinstance(content, str) or not content:
                return _err(44004, "empty content")
            if len(content.encode("utf-8")) > LIMITS[kind]:
                return _err(40058, f"{kind}.content exceed max length {LIMITS[kind]}")
            if kind == "markdown":
                bad = [c for c in re.findall(r'<font color="([^"]*)">', content) if c not in ("info", "comment", "warning")]
                if bad:
                    self.warnings.append(f"font colours WeCom does not have: {bad}")
        if self.over_rate():
            return _err(45009, "api freq out of limit")
        self.accept(body)
        return _err(0, "ok")
