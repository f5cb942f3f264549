"""service.yaml + environment → one frozen Config; secrets refused in the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheets_sync.config import load_config
from sheets_sync.errors import ConfigError

ROOT_SERVICE = Path(__file__).resolve().parents[1] / "service.yaml"


def write(tmp_path, text):
    p = tmp_path / "service.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_shipped_service_yaml_loads():
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[1] / "service.yaml", env={})
    wb = cfg.workbook()
    assert wb.name == "demo" and wb.backend == "xlsx" and wb.marketplaces == ("US", "MX")
    assert wb.path.name == "sheets-sync-demo.xlsx"
    assert cfg.queue_url == "sqlite"


def test_env_overrides_yaml_and_paths_are_relative_to_the_file(tmp_path):
    p = write(tmp_path, "data_dir: ./data\nqueue:\n  url: sqlite\nworkbooks:\n  a:\n    path: a.xlsx\n")
    cfg = load_config(p, env={"SHEETS_SYNC_QUEUE_URL": "redis://127.0.0.1:6379/0", "SHEETS_SYNC_HMAC_SECRET": "s3"})
    assert cfg.queue_url == "redis://127.0.0.1:6379/0"
    assert cfg.data_dir == tmp_path / "data"
    assert cfg.workbook("a").path == tmp_path / "a.xlsx"
    assert cfg.hmac_secret == "s3"
    assert "s3" not in repr(cfg)


@pytest.mark.parametrize(("yaml_text", "fragment"), [
    ("webhook:\n  hmac_secret: abc\n", "secrets do not belong"),
    ("workbooks:\n  a:\n    path: a.xlsx\n    refresh_token: Atzr|x\n", "secrets do not belong"),
    ("workbooks:\n  a:\n    backend: excel\n    path: a.xlsx\n", "backend"),
    ("workbooks:\n  a:\n    backend: google\n", "sheet_id"),
    ("workbooks:\n  a:\n    path: a.xlsx\n    marketplaces: [US, BR]\n", "'BR'"),
    ("workbooks: [1, 2]\n", "mapping"),
    ("default_workbook: nope\nworkbooks:\n  a:\n    path: a.xlsx\n", "default_workbook"),
    ("a: [unclosed\n", "not valid YAML"),
])
def test_bad_configuration_is_named(tmp_path, yaml_text, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("|", r"\|").replace("[", r"\[")):
        load_config(write(tmp_path, yaml_text), env={})


def test_secret_value_never_in_the_error(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, "webhook:\n  hmac_secret: super-secret-value\n"), env={})
    assert "super-secret-value" not in str(exc.value)


def test_unknown_workbook_lists_the_known_ones(tmp_path):
    cfg = load_config(write(tmp_path, "workbooks:\n  a:\n    path: a.xlsx\n  b:\n    sheet_id: X\n"), env={})
    with pytest.raises(ConfigError, match="a, b"):
        cfg.workbook("c")
    assert cfg.find_workbook("X").name == "b"


# Credentials that must be refused wherever they appear (made-up values in the real formats).
SECRETS = {
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "lwa_refresh": "Atzr|IwEBIAjKgQ3u0gX8n7d2Qk9pLm4rT6yV1wZ3cE5bH8jN0qS2uX4zA7dF9gK1mP3sV5yB8eH0kN2",
    "lwa_secret": "amzn1.oa2-cs.v1.3d9f8e7c6b5a49382716a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----",
    "random_token": "q7Hk2LmN9pXr4TsVw8YzB3cD6fGj1KoQ",
    "hex_token": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "url_password": "redis://:hunter2pass@127.0.0.1:6379/0",
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("key", ["api_key", "notes", "audience_hint"])
def test_secret_looking_values_are_refused_whatever_the_key(tmp_path, kind, key):
    import yaml

    text = yaml.safe_dump({"workbooks": {"a": {"path": "a.xlsx", "extra": {key: SECRETS[kind]}}}})
    with pytest.raises(ConfigError, match="secrets do not belong") as exc:
        load_config(write(tmp_path, text), env={})
    assert SECRETS[kind].splitlines()[0][8:] not in str(exc.value)


@pytest.mark.parametrize("value", ["Atzr|IwEBIAjKgQ3u0gX8n7d2Qk9pLm4rT6y", "my secret", "q7Hk2LmN9pXr4TsVw8YzB3cD6fGj1KoQ",
                                   "export X=1", 42])
def test_an_env_key_holds_a_variable_name_not_a_value(tmp_path, value):
    import yaml

    text = yaml.safe_dump({"webhook": {"hmac_secret_env": value}})
    with pytest.raises(ConfigError, match="name of an environment variable") as exc:
        load_config(write(tmp_path, text), env={})
    assert str(value) not in str(exc.value)


def test_ordinary_values_are_not_mistaken_for_secrets(tmp_path):
    text = ("workbooks:\n  g:\n    backend: google\n    sheet_id: 1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg\n"
            "    reports: ./reports/Seller-Central-Downloads-2026\n    timezone: America/Mexico_City\n"
            "webhook:\n  audience: 123456789012-abc123def456ghi789jkl012mno345pq.apps.googleusercontent.com\n"
            "  hmac_secret_env: SHEETS_SYNC_HMAC_SECRET\nqueue:\n  url: redis://127.0.0.1:6379/0\n")
    cfg = load_config(write(tmp_path, text), env={})
    assert cfg.workbook("g").sheet_id.startswith("1AbCd")
    shipped = load_config(ROOT_SERVICE, env={})
    assert shipped.report_file_mb == 512 and shipped.report_unpacked_mb == 512
