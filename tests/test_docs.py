"""Docs are checked: every tab, setting, command, report kind and environment variable is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sheets_sync.cli import build_parser
from sheets_sync.inputs import SETTING_KEYS
from sheets_sync.sources.parsing import KINDS
from sheets_sync.template import GENERATED_TABS, TEAM_TABS, load_template

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SERVICE = (ROOT / "service.yaml").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert block == ["python3 -m pip install -e . && sheets-sync demo",
                     "python3 -m pip install -e '.[dev]' && python3 -m pytest -q"]
    assert README.index("```bash") < README.index("---")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert block[1] in ci


@pytest.mark.parametrize("tab", [*TEAM_TABS, *GENERATED_TABS])
def test_every_tab_is_in_the_readme(tab):
    assert tab in README


@pytest.mark.parametrize("key", SETTING_KEYS)
def test_every_setting_has_an_example_row_in_the_template(key):
    keys = {row[0] for row in load_template().tab("Settings").examples}
    assert key in keys


def test_every_command_is_in_the_readme():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"sheets-sync {name}" in README, name


@pytest.mark.parametrize("var", sorted(set(re.findall(r"SHEETS_SYNC_[A-Z_]+",
                                                       (ROOT / "sheets_sync" / "config.py").read_text()))))
def test_every_environment_variable_is_in_the_readme(var):
    assert var in README


def test_every_report_kind_is_documented_in_the_parser():
    doc = (ROOT / "sheets_sync" / "sources" / "parsing" / "__init__.py").read_text(encoding="utf-8").split('"""')[1]
    for kind in KINDS:
        assert f"``{kind}``" in doc, kind


@pytest.mark.parametrize("key", ["data_dir", "default_workbook", "workbooks", "backend", "path", "sheet_id",
                                 "source", "reports", "marketplaces", "timezone", "schedule", "allow", "queue",
                                 "webhook", "audience", "hmac_secret_env", "amazon", "sp_api_endpoint",
                                 "ads_api_endpoint", "lwa_token_url"])
def test_every_config_key_is_in_service_yaml(key):
    assert re.search(rf"^\s*#?\s*{key}:", SERVICE, re.M), key
    assert key in (ROOT / "sheets_sync" / "config.py").read_text()


WORKBOOK_DOC = (ROOT / "docs" / "workbook.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("tab", [*TEAM_TABS, *GENERATED_TABS])
def test_every_tab_and_column_is_in_the_workbook_doc(tab):
    spec = load_template().tab(tab)
    section = re.search(rf"\*\*{re.escape(tab)}\*\* — (.*?)(?=\n\*\*|\n## )", WORKBOOK_DOC, re.S)
    assert section, f"docs/workbook.md has no paragraph for {tab}"
    missing = [c for c in spec.column_names if f"`{c}`" not in section.group(1)]
    assert not missing, f"docs/workbook.md, {tab}: columns {missing} are not described"


def test_every_setting_and_kpi_is_in_the_workbook_doc():
    from sheets_sync.kpis import CATALOG

    assert [k for k in SETTING_KEYS if f"`{k}`" not in WORKBOOK_DOC] == []
    assert [k for k in CATALOG if f"| `{k}` |" not in WORKBOOK_DOC] == []


def test_no_link_leaves_the_repository():
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "sheets_sync").rglob("*.py"),
             *(ROOT / "webhook").rglob("*.py")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        # a path into a folder beside the checkout (a clone does not have it)
        outside = re.findall(r"(?<![\w.])\.\./(?:\.\./)*[A-Za-z_]\w*/", text)
        assert not outside, f"{path.relative_to(ROOT)} points outside the repository: {outside}"
        if path.suffix == ".md":
            for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
                if "://" not in target:
                    resolved = (path.parent / target).resolve()
                    assert resolved.exists(), f"{path.relative_to(ROOT)}: broken link {target}"
                    assert ROOT.resolve() in resolved.parents, f"{path.relative_to(ROOT)}: {target} leaves the repository"
