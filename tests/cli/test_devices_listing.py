"""`hwnas devices` lists every device whatever this machine lacks: a runtime that is not installed
is a row with its install hint (and no probe), a device file that does not load is a row with its
error, and neither stops another command from using a device that works."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from hwnas.cli.main import main
from hwnas.devices import load_device
from hwnas.runtimes import RUNTIMES

LITERT_MODULES = ("ai_edge_litert", "tflite_runtime", "litert_torch")


@pytest.fixture()
def no_litert(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as a base install sees it: LiteRT's packages do not import."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] in LITERT_MODULES:
            return None
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_missing_runtime_names_what_to_install(no_litert: None) -> None:
    litert = RUNTIMES.get("litert")
    assert litert.missing(local=True) == (
        "litert_torch, ai_edge_litert or tflite_runtime not installed (pip install 'hwnas[litert]')"
    )
    assert litert.missing(local=False) == "litert_torch not installed (pip install 'hwnas[litert]')"
    assert RUNTIMES.get("onnxruntime").missing(local=True) is None


def test_devices_lists_a_device_whose_runtime_is_missing(no_litert: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--no-probe", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    litert = rows["host-cpu-litert"]
    assert "pip install 'hwnas[litert]'" in litert["runtime_missing"]
    if litert["table"] is not None:  # the committed table is listed, but nothing is timed without the runtime
        assert litert["table"]["this_machine"] is None and litert["table"]["probe_error"] is None
    assert rows["host-cpu"]["runtime_missing"] is None
    assert rows["pixel-8"]["runtime_missing"] == "litert_torch not installed (pip install 'hwnas[litert]')"


def test_devices_table_prints_the_exact_install_hint(no_litert: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--no-probe"]) == 0
    out = capsys.readouterr().out
    assert "host-cpu-litert: litert_torch, ai_edge_litert or tflite_runtime not installed" in out
    assert "(pip install 'hwnas[litert]')" in out  # rich markup must not eat the [litert]


def test_a_broken_device_file_is_a_row_and_other_devices_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text("name: broken\nruntime: onnxruntime\nprecision: fp8\n")
    monkeypatch.setenv("HWNAS_DEVICES_DIR", str(tmp_path))
    assert main(["devices", "--no-probe", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert "field 'precision' must be one of" in rows["broken"]["error"]
    assert "host-cpu" in rows and "error" not in rows["host-cpu"]
    assert load_device("host-cpu").name == "host-cpu" and load_device("cpu").name == "host-cpu"
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    # asked for by name, the broken device gives its own error in one line (exit 2)
    assert main(["latency", arch, "--space", "nb201", "--device", "broken"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "field 'precision' must be one of" in err
