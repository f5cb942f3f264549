"""A local SMTP relay (submission server) for tests, built on aiosmtpd and written from the SMTP standards.

Standards: RFC 5321 (SMTP), RFC 3207 (STARTTLS), RFC 8314 (implicit TLS on port 465: "smtps"), RFC 4954 (AUTH),
RFC 5322 (message format), RFC 2047 (encoded words in headers), RFC 2045/2046 (MIME); aiosmtpd's documentation
(aiosmtpd.readthedocs.io: Controller, ``authenticator``, ``require_starttls``, ``auth_require_tls``).

* ``mode="starttls"`` (``smtp://``): the server offers STARTTLS and refuses ``MAIL`` before it ("530 Must issue a
  STARTTLS command first", RFC 3207 §4) and AUTH before it (RFC 4954 §4: a server should not offer PLAIN/LOGIN on a
  clear connection); ``mode="tls"`` (``smtps://``): TLS from the first byte (RFC 8314 §3.3); ``mode="plain"``: neither
  (a local relay).
* AUTH PLAIN / LOGIN with ``user`` / ``password``; a wrong pair: ``535 5.7.8 Authentication credentials invalid``
  (RFC 4954 §6); in ``tls`` mode the whole connection is TLS, so AUTH is offered at once. With a user set, ``MAIL`` without AUTH: ``530 5.7.0 Authentication required`` (RFC 4954 §6).
* Each accepted message must be a well-formed RFC 5322 message: ``From``, ``To``, ``Subject``, ``Date`` and
  ``Message-ID`` present, headers ASCII (non-ASCII only as RFC 2047 encoded words), every text part declaring its
  charset; the envelope sender equal to the ``From`` address and every recipient listed in ``To``. A message that
  fails is refused with ``554 5.6.0`` and the reason (kept in ``refused``).
* ``SIZE`` (RFC 1870): messages over ``max_bytes`` (10 MB) are refused by aiosmtpd with 552.

``messages`` holds (envelope sender, recipients, the parsed :class:`email.message.EmailMessage`) for each accepted
message; nothing here stores the password.
"""

from __future__ import annotations

import socket
import ssl
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "alerts@example.com"
PASSWORD = "smtp-password-DO-NOT-LOG-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_message(raw: bytes, sender: str, recipients: list[str]) -> tuple[EmailMessage | None, str | None]:
    """The message parsed, or why it is not one a mail client shows as it was meant."""
    for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if any(b > 127 for b in line):
            return None, "a header holds raw non-ASCII bytes (RFC 5322 §2.2; use RFC 2047 encoded words)"
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    for h in ("From", "To", "Subject", "Date", "Message-ID"):
        if msg[h] is None:
            return None, f"no {h} header"
    froms = [a for _, a in getaddresses([str(msg["From"])])]
    if sender not in froms:
        return None, "the envelope sender is not the From address"
    tos = {a.lower() for _, a in getaddresses([str(msg["To"]), str(msg.get("Cc") or "")])}
    if any(r.lower() not in tos for r in recipients):
        return None, "a recipient of the envelope is not in To or Cc"
    for part in msg.walk():
        payload = part.get_payload(decode=True) if part.get_content_maintype() == "text" else None
        if isinstance(payload, bytes) and part.get_param("charset") is None and any(b > 127 for b in payload):
            return None, "a text part with non-ASCII content declares no charset (RFC 2046 §4.1.2)"
    return msg, None


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.server.user and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        msg, why = check_message(raw, envelope.mail_from, list(envelope.rcpt_tos))
        if msg is None:
            self.server.refused.append(why or "")
            return f"554 5.6.0 {why}"
        self.server.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


class SmtpServer:
    """``with SmtpServer(mode="starttls", certs=(cert, key)) as s:``; ``s.url(to=[…])`` is the ``smtp(s)://`` URL."""

    def __init__(self, mode: str = "starttls", certs: tuple[Path, Path] | None = None, user: str | None = USER,
                 password: str = PASSWORD, max_bytes: int = 10 * 1024 * 1024):
        if mode not in ("starttls", "tls", "plain"):
            raise ValueError("mode: starttls, tls or plain")
        if mode != "plain" and certs is None:
            raise ValueError("TLS modes need certs=(certificate, key)")
        self.mode, self.user, self.password = mode, user, password
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.refused: list[str] = []
        self.logins: list[str] = []
        self.port = _free_port()
        ctx = None
        if certs is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(certs[0]), str(certs[1]))
        kw: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "data_size_limit": max_bytes,
                              "authenticator": self._auth, "auth_require_tls": mode == "starttls"}
        if mode == "starttls":
            kw.update(tls_context=ctx, require_starttls=True)
        elif mode == "tls":
            kw.update(ssl_context=ctx, server_hostname="127.0.0.1")
        self.controller = Controller(_Handler(self), **kw)

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if mechanism not in ("LOGIN", "PLAIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        ok = login == self.user and auth_data.password.decode("utf-8", "replace") == self.password
        self.logins.append(f"{login}: {'ok' if ok else 'refused'}")
        return AuthResult(success=ok)

    def url(self, to: list[str], sender: str = USER, user: str | None = USER, password: str | None = PASSWORD,
            cafile: Path | None = None) -> str:
        from urllib.parse import quote

        scheme = "smtps" if self.mode == "tls" else "smtp"
        auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user else ""
        extra = f"&cafile={quote(str(cafile))}" if cafile else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}?from={quote(sender)}&to={quote(','.join(to))}{extra}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
