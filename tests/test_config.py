"""service.yaml + environment → one frozen Config; secrets refused in the YAML."""

from __future__ import annotations

import pytest

from sheets_sync.config import load_config
from sheets_sync.errors import ConfigError


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
