"""A local Feishu / Lark custom bot (自定义机器人), written from Feishu's public pages, for tests.

Page: "自定义机器人使用指南" (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot; Lark: open.larksuite.com/…/
bot-v3/add-custom-bot).

* ``POST /open-apis/bot/v2/hook/<token>`` with a JSON body ``{"msg_type": …, "content" | "card": …}``; msg_type text,
  post, image, share_chat or interactive — add-custom-bot.
* Signed mode (签名校验): the body carries ``timestamp`` (seconds) and ``sign`` = base64(HmacSHA256 with the key
  ``timestamp + "\\n" + secret`` over an empty message); the timestamp must be within an hour of Feishu's clock —
  add-custom-bot ("gen_sign"). Otherwise ``{"code": 19021, "msg": "sign match fail or timestamp is not within one hour
  from current time"}``.
* Keywords (自定义关键词): a message without any of them: ``{"code": 19024, "msg": "Key Words Not Found"}`` —
  add-custom-bot.
* The request body must be at most 20 KB — add-custom-bot ("请求体大小不能超过 20K"); over it: code 9499 "Bad Request" —
  the code is a **guess**.
* Rate: 100 a minute and 5 a second per bot — add-custom-bot ("频率控制"); over it: HTTP 200 ``{"code": 11232, "msg":
  "frequency limited psm[lark.oapi.app_platform_runtime]appID[…]"}`` — the code is a **guess**.
* An unknown hook: ``{"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}`` — **guess**.
* A card without ``header`` or ``elements`` is accepted but shown empty: kept in ``warnings``.
* success: ``{"code": 0, "msg": "success", "data": {}}`` — add-custom-bot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from .robot_base import Answer, RobotServer, json_body

TOKEN = "f19d5a2b-9cde-4e31-8a2b-0c1d2e3f4a5b"
SECRET = "zs0TqmZs8kKaSd9vVQc1yb"
MSGTYPES = ("text", "post", "image", "share_chat", "interactive")
MAX_BYTES = 20 * 1024


def _err(code: int, msg: str) -> Answer:
    return Answer(200, {"code": code, "msg": msg, "data": {}})


def feishu_sign(secret: str, stamp: str) -> str:
    return base64.b64encode(hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode("ascii")


class FeishuServer(RobotServer):
    """``with FeishuServer(secret=SECRET) as r:``; ``secret=None``: no signed mode."""

    per_window = 100
    per_second = 5
    token = TOKEN
    secret: str | None = SECRET
    keywords: tuple[str, ...] = ()

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.path = f"/open-apis/bot/v2/hook/{self.token}"
        self.warnings: list[str] = []

    def not_found(self) -> Answer:
        return _err(19001, "param invalid: incoming webhook access token invalid")

    def check(self, query: dict[str, str], headers: Any, raw: bytes) -> Answer:
        if len(raw) > MAX_BYTES:
            return _err(9499, "Bad Request")
        body = json_body(raw)
        if not isinstance(body, dict) or body.get("msg_type") not in MSGTYPES:
            return _err(19002, "params error, msg_type need")
        if self.secret:
            stamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            if (not stamp.isdigit() or abs(int(stamp) - self.clock()) > 3600
                    or not hmac.compare_digest(sign, feishu_sign(self.secret, stamp))):
                return _err(19021, "sign match fail or timestamp is not within one hour from current time")
        if self.keywords and not any(k in raw.decode("utf-8") for k in self.keywords):
            return _err(19024, "Key Words Not Found")
        if body["msg_type"] == "interactive":
            card = body.get("card")
            if not isinstance(card, dict) or not card.get("elements") or not card.get("header"):
                self.warnings.append("a card without header or elements")
        if self.over_rate():
            return _err(11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]")
        self.accept(body)
        return _err(0, "success")
