"""Bad few-shot options end in one `error:` line, exit 2, before anything is timed or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwnas.cli.main import main

COMMITTED = Path(__file__).resolve().parents[2] / "latency_tables" / "host-cpu.json"


@pytest.fixture
def not_a_table(tmp_path: Path) -> Path:
    path = tmp_path / "notes.json"
    path.write_text('{"a": 1}')
    return path


CASES = [
    ("budget 0", ["--budget", "0"], "--budget must be at least 8 blocks"),
    ("budget -1", ["--budget", "-1"], "--budget must be at least 8 blocks"),
    ("budget-s nan", ["--budget-s", "nan"], "--budget-s must be a positive number of seconds"),
    ("budget-s 0", ["--budget-s", "0"], "--budget-s must be a positive number of seconds"),
    ("budget-s inf", ["--budget-s", "inf"], "--budget-s must be a positive number of seconds"),
    ("prior without budget", ["--prior", str(COMMITTED)], "--prior is for a few-shot table"),
    ("prior missing", ["--budget", "20", "--prior", "{tmp}/missing.json"], "does not exist"),
    ("prior not a table", ["--budget", "20", "--prior", "{not_a_table}"], "is not a usable block latency table"),
    ("prior of another space", ["--budget", "20", "--space", "nb201", "--prior", str(COMMITTED)], "covers space"),
    ("prior at another resolution", ["--budget", "20", "-r", "64", "--prior", str(COMMITTED)], "at 224 px"),
    ("networks 2", ["--budget", "20", "--networks", "2"], "--networks must be 0"),
]


@pytest.mark.parametrize("args,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_fewshot_option_is_one_error_line(
    tmp_path: Path, monkeypatch, capsys, not_a_table: Path, args: list[str], message: str
) -> None:
    monkeypatch.setenv("HWNAS_TABLES_DIR", str(tmp_path / "tables"))
    monkeypatch.setenv("HWNAS_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["profile", "--device", "host-cpu", *[a.format(tmp=tmp_path, not_a_table=not_a_table) for a in args]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not (tmp_path / "tables").exists()  # nothing written
