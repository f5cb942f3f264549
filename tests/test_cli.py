"""The console script, run as a user would (a real subprocess for the demo, main() for the rest)."""

from __future__ import annotations

import re
import subprocess
import sys

import openpyxl
import pytest

from sheets_sync.cli import main


@pytest.fixture(autouse=True)
def no_service_yaml(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEETS_SYNC_CONFIG", raising=False)


def test_init_creates_and_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "team.xlsx"
    assert main(["init", "--workbook", str(path)]) == 0
    assert "created 16 tab(s)" in capsys.readouterr().out
    before = path.read_bytes()
    assert main(["init", "--workbook", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["init", "--workbook", str(path), "--force"]) == 0
    assert "nothing changed" in capsys.readouterr().out


def test_validate_prints_addressed_problems(tmp_path, capsys):
    path = tmp_path / "team.xlsx"
    main(["init", "--workbook", str(path)])
    wb = openpyxl.load_workbook(path)
    wb["Targets"]["G3"] = "gmvv"
    wb["Targets"]["I4"] = -1
    wb.save(path)
    assert main(["validate", "--workbook", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Targets!G3" in out and "did you mean 'gmv'" in out
    assert "Targets!I4" in out


def test_sync_without_workbook_names_the_fix(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    assert main(["sync", "--workbook", str(tmp_path / "missing.xlsx"), "--reports", str(tmp_path / "r")]) == 1
    assert "sheets-sync init --workbook" in capsys.readouterr().err


def test_bad_period_override(tmp_path, capsys):
    path = tmp_path / "team.xlsx"
    main(["init", "--workbook", str(path)])
    (tmp_path / "r").mkdir()
    assert main(["sync", "--workbook", str(path), "--reports", str(tmp_path / "r"), "--period", "2026-13"]) == 1
    assert "--period" in capsys.readouterr().err


def test_demo_end_to_end(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sheets_sync.cli", "demo", "--out", str(tmp_path / "d.xlsx")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr
    assert "Open the demo workbook" in out.stdout
    # scores printed as the Scorecard shows them (two decimals), so 119.95 % never reads as 120 %
    li = next(line for line in out.stdout.splitlines() if line.strip().startswith("Li Na"))
    assert re.search(r"\b\d{1,3}\.\d{2}%", li), li
    wb = openpyxl.load_workbook(tmp_path / "d.xlsx")
    score = [r for r in wb["Scorecard"].iter_rows(min_row=3, values_only=True) if r[0]]
    assert {r[0] for r in score} >= {"Li Na", "Wang Lei", "Sofía Ramírez", "Carlos Méndez", "Zhang Wei", "Chen Jing"}
    att = [r for r in wb["Attainment"].iter_rows(min_row=3, values_only=True) if r[0]]
    with_actual = [r for r in att if r[10] is not None]
    assert len(with_actual) >= len(att) - 1, [r for r in att if r[10] is None]
    assert (tmp_path / "d-reports" / "US").is_dir() and (tmp_path / "d-reports" / "MX").is_dir()
    # Mexico across both stores: Mercado Libre's downloads, its owner, and MX-ALL rows covering both
    assert (tmp_path / "d-reports" / "MLM").is_dir() and "Ana Ruiz" in {r[0] for r in score}
    mx_all = [r for r in att if r[2] == "MX-ALL"]
    assert mx_all and all(r[10] is not None and "Amazon MX + Mercado Libre MX" in r[17] for r in mx_all)
    assert "Mercado Libre MX" in wb["Attainment"]["A1"].value
