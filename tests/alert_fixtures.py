"""Fixtures for the alert tests: the six local receivers (WeCom, DingTalk, Feishu, Slack, Google Chat, an SMTP relay
with STARTTLS), a self-signed certificate for 127.0.0.1, and a one-target .xlsx workbook with report files."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheets_sync.sheets.xlsx import XlsxWorkbook
from sheets_sync.sync import init_workbook
from sheets_sync.testing import dingtalk_server, feishu_server
from sheets_sync.testing.dingtalk_server import DingTalkServer
from sheets_sync.testing.feishu_server import FeishuServer
from sheets_sync.testing.googlechat_server import GoogleChatServer
from sheets_sync.testing.slack_server import SlackServer
from sheets_sync.testing.smtp_server import SmtpServer
from sheets_sync.testing.wecom_server import WeComServer

ASIN = "B0ALERT001"
RECIPIENTS = ["li.na@example.com", "ops-mx@example.com"]


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


@dataclass
class Receivers:
    wecom: WeComServer
    dingtalk: DingTalkServer
    feishu: FeishuServer
    slack: SlackServer
    googlechat: GoogleChatServer
    email: SmtpServer
    cafile: Path

    def env(self) -> dict[str, str]:
        return {"WECOM_URL": self.wecom.url, "DINGTALK_URL": self.dingtalk.url, "DINGTALK_SECRET": dingtalk_server.SECRET,
                "FEISHU_URL": self.feishu.url, "FEISHU_SECRET": feishu_server.SECRET, "SLACK_URL": self.slack.url,
                "GCHAT_URL": self.googlechat.url, "SMTP_URL": self.email.url(RECIPIENTS, cafile=self.cafile)}

    def counts(self) -> dict[str, int]:
        return {"wecom": len(self.wecom.messages), "dingtalk": len(self.dingtalk.messages),
                "feishu": len(self.feishu.messages), "slack": len(self.slack.messages),
                "googlechat": len(self.googlechat.messages), "email": len(self.email.messages)}


CHANNELS_YAML = """
alerts:
  - {kind: wecom, url_env: WECOM_URL}
  - {kind: dingtalk, url_env: DINGTALK_URL, secret_env: DINGTALK_SECRET, keyword: KPI}
  - {kind: feishu, url_env: FEISHU_URL, secret_env: FEISHU_SECRET}
  - {kind: slack, url_env: SLACK_URL}
  - {kind: googlechat, url_env: GCHAT_URL}
  - {kind: email, url_env: SMTP_URL}
"""


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[Receivers]:
    cert, key = make_cert(tmp_path / "tls")
    with WeComServer() as w, DingTalkServer(keywords=("KPI",)) as d, FeishuServer() as f, SlackServer() as s, \
            GoogleChatServer() as g, SmtpServer(mode="starttls", certs=(cert, key)) as m:
        yield Receivers(w, d, f, s, g, m, cert)


def st_report(day: str, gmv: float, units: int = 20, sessions: int = 400) -> dict[str, Any]:
    """One day of GET_SALES_AND_TRAFFIC_REPORT (DAY, CHILD) for the US marketplace and the one ASIN."""
    return {
        "reportSpecification": {"reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                                "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
                                "dataStartTime": day, "dataEndTime": day, "marketplaceIds": ["ATVPDKIKX0DER"]},
        "salesAndTrafficByDate": [],
        "salesAndTrafficByAsin": [{
            "parentAsin": ASIN, "childAsin": ASIN,
            "salesByAsin": {"unitsOrdered": units, "orderedProductSales": {"amount": gmv, "currencyCode": "USD"},
                            "totalOrderItems": units},
            "trafficByAsin": {"sessions": sessions, "pageViews": sessions, "buyBoxPercentage": 100.0,
                              "unitSessionPercentage": 5.0, "browserSessions": sessions, "mobileAppSessions": 0,
                              "browserPageViews": sessions, "mobileAppPageViews": 0, "sessionPercentage": 1.0,
                              "browserSessionPercentage": 1.0, "mobileAppSessionPercentage": 0.0,
                              "pageViewsPercentage": 1.0, "browserPageViewsPercentage": 1.0,
                              "mobileAppPageViewsPercentage": 0.0}}],
    }


def write_reports(folder: Path, gmv_per_day: float, days: int = 30) -> None:
    us = folder / "US"
    us.mkdir(parents=True, exist_ok=True)
    for d in range(1, days + 1):
        day = f"2026-11-{d:02d}"
        (us / f"st-{day}.json").write_text(json.dumps(st_report(day, gmv_per_day)), encoding="utf-8")


def one_target_workbook(path: Path, *, language: str = "zh", target: float = 10000.0, owner: str = "李娜") -> Path:
    """A template workbook reviewing November 2026 on Amazon US only, with one GMV target."""
    init_workbook(XlsxWorkbook(path), today=dt.date(2026, 11, 1), examples=False)
    book = openpyxl.load_workbook(path)
    settings = book["Settings"]
    values = {"period": "2026-11", "language": language, "marketplaces": "US", "timezone": "America/Mexico_City"}
    for row in settings.iter_rows(min_row=2):
        if row[0].value in values:
            row[1].value = values.pop(row[0].value)
    for k, v in values.items():
        settings.append([k, v])
    book["Targets"].append([None, "US", "account", None, owner, "ops", "gmv", target, 1, None, None])
    book["Products"].append(["US", ASIN, "US-ALERT-1", "mature", "Kitchen", owner, 3.0, 1.0, 1.0])
    book.save(path)
    return path
