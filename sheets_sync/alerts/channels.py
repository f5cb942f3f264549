"""The six channels: each writes a :class:`~.text.Message` in the format its platform documents, keeps to its size
limit, paces itself to its published rate and reads its platform's answer.

=============  ===============================================================  ==========================  ==============
kind           format (public docs)                                              limit                       rate
=============  ===============================================================  ==========================  ==============
``wecom``      ``msgtype: markdown`` (WeCom "群机器人配置说明")                  content ≤ 4096 bytes UTF-8  20 a minute
``dingtalk``   ``msgtype: markdown`` + signed URL (DingTalk "自定义机器人")      20,000 bytes (a guess)      20 a minute
``feishu``     ``msg_type: interactive`` card + signed body (Feishu custom bot)  request body ≤ 20 KB        100/min, 5/s
``slack``      ``text`` + Block Kit ``header``/``section`` mrkdwn                header 150, section 3000    1 a second
``googlechat`` ``text`` with Chat formatting (``*bold*``, ``<url|text>``)        32,000 bytes a message      1 a second
``email``      ``multipart/alternative`` text + HTML, UTF-8 (RFC 5322/2047)      —                           —
=============  ===============================================================  ==========================  ==============

A message that would be too long loses its last lines (a digest its last items), never its title. A webhook URL
must be ``https://`` (``http://`` only on 127.0.0.1 / localhost: local relays and tests). The URL and the secret are
held only by the channel object for the duration of a send; no error, log line or Sync Log line contains them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import Any, ClassVar

import requests

from ..budget import Limit
from ..config import AlertChannelConfig
from .text import Message

TIMEOUT_S = 10.0
RETRY_WAIT_MAX_S = 20.0         # a throttled answer asking for a longer wait fails the send (the next sync retries)
LOOPBACK = ("127.0.0.1", "localhost", "::1")

#: Published rates, drawn from the queue store's shared buckets (sheets_sync.budget), one bucket per channel.
LIMITS: dict[str, Limit] = {
    "wecom": Limit.per_minute(20),           # "每个机器人发送的消息不能超过20条/分钟"
    "dingtalk": Limit.per_minute(20),        # "每个机器人每分钟最多发送20条", then 10 minutes of refusals
    "feishu": Limit(1.5, 5),                 # 100 a minute and 5 a second per bot
    "slack": Limit(1.0, 1),                  # incoming webhooks: 1 message a second (short bursts tolerated)
    "googlechat": Limit(1.0, 1),             # per-space writes: 1 a second (60 a minute)
}


class DeliveryError(Exception):
    """A message was not delivered. ``reason`` is safe to show (no URL, no secret); ``retry_after`` is set when the
    platform asked us to slow down."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def fit(parts: list[str], render: Callable[[list[str]], str], limit: int,
        measure: Callable[[str], int] = _utf8_len) -> str:
    """``render(parts)``, dropping parts from the end until it measures at most ``limit`` (an ellipsis stands for what
    was dropped); if even no part is too long, the text is cut."""
    for n in range(len(parts), -1, -1):
        out = render(parts[:n] + (["…"] if n < len(parts) else []))
        if measure(out) <= limit:
            return out
    cut = out.encode("utf-8")[:max(0, limit - 3)].decode("utf-8", "ignore")
    return cut if measure(cut + "…") > limit else cut + "…"


def check_url(url: str | None, kind: str) -> str:
    if not url:
        raise DeliveryError("the environment variable naming its URL is not set or empty")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return url
    raise DeliveryError(f"its URL must start with https:// (http:// only on 127.0.0.1 or localhost); "
                        f"got a {parts.scheme or 'schemeless'} URL")


class Channel:
    """One configured channel with its URL and secret (from the environment)."""

    kind = ""

    def __init__(self, cfg: AlertChannelConfig, url: str | None, secret: str | None = None,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.cfg, self.url, self.secret = cfg, url, secret
        self.session = session or requests.Session()
        self.clock, self.sleep = clock, sleep

    def __repr__(self) -> str:   # never the URL or the secret
        return f"{type(self).__name__}({self.cfg.label!r})"

    @property
    def label(self) -> str:
        return self.cfg.label

    def payload(self, msg: Message) -> dict[str, Any]:
        raise NotImplementedError

    def target(self) -> str:
        return check_url(self.url, self.kind)

    def send(self, msg: Message) -> None:
        """Deliver ``msg``; one retry when the platform says to slow down for a short while."""
        try:
            self._post(msg)
        except DeliveryError as exc:
            if exc.retry_after is None or exc.retry_after > RETRY_WAIT_MAX_S:
                raise
            self.sleep(exc.retry_after)
            self._post(msg)

    def _post(self, msg: Message) -> None:
        url = self.target()
        body = self.payload(msg)
        try:
            resp = self.session.post(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json; charset=utf-8"}, timeout=TIMEOUT_S)
        except requests.Timeout:
            raise DeliveryError(f"no answer within {TIMEOUT_S:g} s") from None
        except requests.RequestException as exc:   # its text names the URL: never shown
            raise DeliveryError(f"could not connect ({type(exc).__name__})") from None
        self.answer(resp)

    def answer(self, resp: requests.Response) -> None:
        raise NotImplementedError

    @staticmethod
    def _json(resp: requests.Response) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            raise DeliveryError(f"HTTP {resp.status_code} with a body that is not JSON") from None
        if not isinstance(data, dict):
            raise DeliveryError(f"HTTP {resp.status_code} with an unexpected answer")
        return data

    def _errcode(self, resp: requests.Response, throttled: dict[int, tuple[str, float]]) -> None:
        """WeCom's and DingTalk's answer: ``{"errcode": 0, "errmsg": "ok"}``, or an errcode (``throttled``: the codes
        that mean "slow down", with what they mean and how long to wait)."""
        data = self._json(resp)
        code = data.get("errcode")
        if resp.status_code == 200 and code == 0:
            return
        if code in throttled:
            what, wait = throttled[code]
            raise DeliveryError(f"errcode {code}: {what}", retry_after=wait)
        raise DeliveryError(f"errcode {code}: {str(data.get('errmsg', ''))[:200]}")

    @staticmethod
    def _retry_after(resp: requests.Response, default: float) -> float:
        try:
            return float(resp.headers.get("Retry-After") or default)
        except ValueError:
            return default


def _body_lines(msg: Message, bullet: str = "- ") -> list[str]:
    return [*msg.lines, *(bullet + i for i in msg.items)]


class WeComChannel(Channel):
    """WeCom (企业微信) group robot: ``POST <webhook>`` ``{"msgtype": "markdown", "markdown": {"content": …}}``;
    the answer is ``{"errcode": 0, "errmsg": "ok"}``, ``errcode`` 45009 when over 20 messages a minute."""

    kind = "wecom"
    LIMIT = 4096
    COLOURS: ClassVar[dict[str, str]] = {"high": "warning", "medium": "comment", "ok": "info"}

    def payload(self, msg: Message) -> dict[str, Any]:
        head = f'## <font color="{self.COLOURS.get(msg.severity, "comment")}">{_md(msg.title)}</font>'
        link = f"[{msg.link_text}]({msg.link})" if msg.link else ""

        def render(parts: list[str]) -> str:
            return "\n".join([head, *("> " + _md(p) for p in parts), *([link] if link else [])])

        return {"msgtype": "markdown", "markdown": {"content": fit(_body_lines(msg), render, self.LIMIT)}}

    def answer(self, resp: requests.Response) -> None:
        self._errcode(resp, {45009: ("over the robot's 20 messages a minute", 60.0), -1: ("WeCom is busy", 2.0)})


def _md(text: str) -> str:
    """Markdown of WeCom / DingTalk / Feishu: keep people's text from turning into markup."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("`", "'").replace("\n", " ")


class DingTalkChannel(Channel):
    """DingTalk (钉钉) custom robot: ``msgtype: markdown``; in signed mode ``&timestamp=<ms>&sign=<urlencode(base64(
    HmacSHA256(key=secret, "timestamp\\nsecret")))>`` is added to the URL; every message carries ``keyword`` when the
    robot is protected by keywords."""

    kind = "dingtalk"
    LIMIT = 18000          # of the markdown text: the request (title and JSON around it) stays under 20,000 bytes

    def target(self) -> str:
        url = super().target()
        if not self.secret:
            return url
        stamp = str(int(self.clock() * 1000))
        digest = hmac.new(self.secret.encode("utf-8"), f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}"

    def payload(self, msg: Message) -> dict[str, Any]:
        title = msg.title if not self.cfg.keyword or self.cfg.keyword in msg.title else f"{self.cfg.keyword} {msg.title}"
        link = f"[{msg.link_text}]({msg.link})" if msg.link else ""

        def render(parts: list[str]) -> str:
            return "\n\n".join([f"### {_md(title)}", *("- " + _md(p) for p in parts), *([link] if link else [])])

        return {"msgtype": "markdown", "markdown": {"title": title[:100], "text": fit(msg.lines + msg.items, render,
                                                                                       self.LIMIT)}}

    def answer(self, resp: requests.Response) -> None:
        self._errcode(resp, {130101: ("over the robot's 20 messages a minute (DingTalk then refuses for 10 minutes)",
                                      600.0)})


class FeishuChannel(Channel):
    """Feishu / Lark custom bot: an ``interactive`` card (header, ``lark_md`` text, a button to the sheet); in signed
    mode the body carries ``timestamp`` (seconds) and ``sign`` = base64(HmacSHA256(key="timestamp\\nsecret", empty
    message)). The answer is ``{"code": 0, "msg": "success"}``."""

    kind = "feishu"
    LIMIT = 20 * 1024
    TEMPLATES: ClassVar[dict[str, str]] = {"high": "red", "medium": "orange", "ok": "green"}

    def payload(self, msg: Message) -> dict[str, Any]:
        title = msg.title if not self.cfg.keyword or self.cfg.keyword in msg.title else f"{self.cfg.keyword} {msg.title}"
        head: dict[str, Any] = {}
        if self.secret:
            stamp = str(int(self.clock()))
            digest = hmac.new(f"{stamp}\n{self.secret}".encode(), b"", hashlib.sha256).digest()
            head = {"timestamp": stamp, "sign": base64.b64encode(digest).decode("ascii")}

        def render(parts: list[str]) -> str:
            elements: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md",
                                                                      "content": "\n".join(_md(p) for p in parts)}}]
            if msg.link:
                elements.append({"tag": "action", "actions": [{"tag": "button", "type": "primary", "url": msg.link,
                                                               "text": {"tag": "plain_text", "content": msg.link_text}}]})
            return json.dumps({**head, "msg_type": "interactive", "card": {
                "config": {"wide_screen_mode": True},
                "header": {"title": {"tag": "plain_text", "content": title},
                           "template": self.TEMPLATES.get(msg.severity, "blue")},
                "elements": elements}}, ensure_ascii=False)

        return json.loads(fit(_body_lines(msg, "• "), render, self.LIMIT))

    def answer(self, resp: requests.Response) -> None:
        data = self._json(resp)
        code = data.get("code", data.get("StatusCode"))
        if resp.status_code == 200 and code == 0:
            return
        if resp.status_code == 429 or code in (9499, 11232):
            raise DeliveryError(f"code {code}: over the bot's rate", retry_after=self._retry_after(resp, 1.0))
        raise DeliveryError(f"code {code}: {str(data.get('msg', ''))[:200]}")


def _slack(text: str) -> str:
    """Slack's escaping of &, < and > (docs "Formatting text for app surfaces")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel(Channel):
    """Slack incoming webhook: ``text`` (the notification) and Block Kit ``header`` + ``section`` (mrkdwn). Slack answers
    ``ok`` (text/plain), or an error word (``invalid_payload``, ``no_text``, ``channel_is_archived`` …), 429 with
    ``Retry-After`` when over a message a second."""

    kind = "slack"

    def payload(self, msg: Message) -> dict[str, Any]:
        link = f"<{msg.link}|{_slack(msg.link_text)}>" if msg.link else ""
        section = fit(_body_lines(msg, "• "), lambda parts: "\n".join([*map(_slack, parts), *([link] if link else [])]),
                      3000, measure=len)
        blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": msg.title[:150],
                                                                    "emoji": True}}]
        if section:    # Slack refuses an empty section text
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section}})
        return {"text": _slack(msg.title), "blocks": blocks}

    def answer(self, resp: requests.Response) -> None:
        if resp.status_code == 200:
            return
        word = resp.text.strip()[:100] or f"HTTP {resp.status_code}"
        if resp.status_code == 429:
            raise DeliveryError("rate_limited: over a message a second", retry_after=self._retry_after(resp, 1.0))
        raise DeliveryError(f"HTTP {resp.status_code} {word}")


def _chat(text: str) -> str:
    """Google Chat reads ``<…>`` as a link or mention and documents no escape: angle brackets in people's text become
    the similar-looking ‹ and ›."""
    return text.replace("<", "‹").replace(">", "›")


class GoogleChatChannel(Channel):
    """Google Chat incoming webhook: ``{"text": …}`` with Chat's formatting (``*bold*``, ``<url|text>``). Errors are
    Google's JSON ``{"error": {"code", "message", "status"}}``; 429 ``RESOURCE_EXHAUSTED`` when over the space's rate."""

    kind = "googlechat"
    LIMIT = 30000          # of the text: the message as Chat counts it (JSON around it) stays under 32,000 bytes

    def payload(self, msg: Message) -> dict[str, Any]:
        link = f"<{msg.link}|{_chat(msg.link_text)}>" if msg.link else ""

        def render(parts: list[str]) -> str:
            return "\n".join([f"*{_chat(msg.title).replace('*', '')}*", *map(_chat, parts), *([link] if link else [])])

        return {"text": fit(_body_lines(msg, "• "), render, self.LIMIT)}

    def answer(self, resp: requests.Response) -> None:
        if resp.status_code == 200:
            return
        try:
            err = (resp.json() or {}).get("error") or {}
        except ValueError:
            err = {}
        status = err.get("status") or f"HTTP {resp.status_code}"
        if resp.status_code == 429:
            raise DeliveryError(f"{status}: over the space's rate", retry_after=self._retry_after(resp, 1.0))
        raise DeliveryError(f"HTTP {resp.status_code} {status}: {str(err.get('message', ''))[:200]}")


class EmailChannel(Channel):
    """E-mail through SMTP: ``smtp://user:password@host:port?from=…&to=a@x,b@y`` (STARTTLS, required unless the relay
    is on 127.0.0.1 / localhost) or ``smtps://…`` (TLS from the first byte). ``cafile=`` names a CA bundle for a
    relay with a private certificate. The message is ``multipart/alternative``: plain text and HTML, UTF-8, the
    subject encoded per RFC 2047 so Chinese and Spanish survive every mail client."""

    kind = "email"

    def target(self) -> str:
        if not self.url:
            raise DeliveryError("the environment variable naming its SMTP URL is not set or empty")
        return self.url

    def parse(self) -> dict[str, Any]:
        parts = urllib.parse.urlsplit(self.target())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise DeliveryError("its URL must be smtp://… or smtps://… with a host")
        q = urllib.parse.parse_qs(parts.query)
        sender = (q.get("from") or [""])[0]
        to = [a for _, a in getaddresses([",".join(q.get("to") or [])]) if "@" in a]
        if "@" not in sender or not to:
            raise DeliveryError("its URL needs ?from=address&to=address[,address…]")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 587)
        except ValueError:
            raise DeliveryError("its URL has an invalid port") from None
        return {"ssl": parts.scheme == "smtps", "host": parts.hostname, "port": port,
                "user": urllib.parse.unquote(parts.username or ""), "password": urllib.parse.unquote(parts.password or ""),
                "from": sender, "to": to, "cafile": (q.get("cafile") or [None])[0]}

    def payload(self, msg: Message) -> dict[str, Any]:
        return {"subject": msg.title, "text": "\n".join([*_body_lines(msg), *([msg.link] if msg.link else [])])}

    def build(self, msg: Message, sender: str, to: list[str], footer: str = "") -> EmailMessage:
        em = EmailMessage()
        em["Subject"] = msg.title
        em["From"] = sender
        em["To"] = ", ".join(to)
        em["Date"] = formatdate(localtime=False, usegmt=True)
        em["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
        text = "\n".join([msg.title, "", *_body_lines(msg), *([f"{msg.link_text}: {msg.link}"] if msg.link else []),
                          *(["", footer] if footer else [])])
        em.set_content(text, charset="utf-8")
        colour = {"high": "#c00000", "medium": "#b26b00", "ok": "#2e7d32"}.get(msg.severity, "#333")
        body = "".join(f"<p>{html.escape(x)}</p>" for x in msg.lines)
        items = "".join(f"<li>{html.escape(x)}</li>" for x in msg.items)
        link = f'<p><a href="{html.escape(msg.link, quote=True)}">{html.escape(msg.link_text)}</a></p>' if msg.link else ""
        parts = [f'<h3 style="color:{colour}">{html.escape(msg.title)}</h3>', body,
                 f"<ul>{items}</ul>" if items else "", link,
                 f'<p style="color:#888">{html.escape(footer)}</p>' if footer else ""]
        em.add_alternative("<html><body>" + "".join(parts) + "</body></html>",
            subtype="html", charset="utf-8")
        return em

    footer = ""

    def send(self, msg: Message) -> None:
        p = self.parse()
        em = self.build(msg, p["from"], p["to"], self.footer)
        local = p["host"] in LOOPBACK
        ctx = ssl.create_default_context(cafile=p["cafile"]) if p["cafile"] else ssl.create_default_context()
        try:
            if p["ssl"]:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(p["host"], p["port"], timeout=TIMEOUT_S, context=ctx)
            else:
                smtp = smtplib.SMTP(p["host"], p["port"], timeout=TIMEOUT_S)
            with smtp:
                smtp.ehlo()
                if not p["ssl"]:
                    if smtp.has_extn("starttls"):
                        smtp.starttls(context=ctx)
                        smtp.ehlo()
                    elif not local:
                        raise DeliveryError("the relay does not offer STARTTLS; use smtps:// or a relay that does "
                                            "(the password is never sent in clear)")
                if p["user"]:
                    try:
                        smtp.login(p["user"], p["password"])
                    except (smtplib.SMTPAuthenticationError, smtplib.SMTPServerDisconnected) as exc:
                        code = getattr(exc, "smtp_code", None)
                        raise DeliveryError("the relay refused the user name or password"
                                            + (f" ({code})" if code else "")) from None
                refused = smtp.send_message(em, from_addr=p["from"], to_addrs=p["to"])
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"the relay refused every recipient ({len(exc.recipients)})") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"the relay answered {exc.smtp_code}") from None
        except ssl.SSLError as exc:
            raise DeliveryError(f"TLS failed ({exc.reason or type(exc).__name__})") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"could not connect to the relay ({type(exc).__name__})") from None
        if refused:
            raise DeliveryError(f"the relay refused {len(refused)} of {len(p['to'])} recipients")


KINDS: dict[str, type[Channel]] = {c.kind: c for c in (WeComChannel, DingTalkChannel, FeishuChannel, SlackChannel,
                                                       GoogleChatChannel, EmailChannel)}


def open_channel(cfg: AlertChannelConfig, env: dict[str, str] | Any, **kw: Any) -> Channel:
    """The channel of ``cfg`` with its URL and secret read from ``env`` now."""
    return KINDS[cfg.kind](cfg, env.get(cfg.url_env) or None, env.get(cfg.secret_env) if cfg.secret_env else None,
                           **kw)


def now_local(tz: str, clock: Callable[[], float] = time.time) -> dt.datetime:
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError, OSError):
        zone = ZoneInfo("UTC")
    return dt.datetime.fromtimestamp(clock(), zone)


def in_quiet_hours(cfg: AlertChannelConfig, local: dt.datetime) -> bool:
    if cfg.quiet_hours is None:
        return False
    start, end = cfg.quiet_hours
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start <= end else (minute >= start or minute < end)
