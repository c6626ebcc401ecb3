"""Exporting a search run directory: best.json written by the search's own writer is read back
(architecture, space, resolution, seed, device, predicted latency) and repeated in the model card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from export_helpers import NB201_ARCH

from hwnas.cli.main import main
from hwnas.search import Constraints, SearchConfig, make_strategy
from hwnas.search.rundir import RunDir, best_document


def _run_dir(tmp_path: Path) -> Path:
    config = SearchConfig(
        space="nb201",
        constraints=Constraints(10.66, None, None),
        seed=7,
        strategy=make_strategy("single", proxy="naswot"),
    )
    winner = {"arch": NB201_ARCH, "latency_ms": 9.87, "params_m": 0.83, "flops_m": 235.8, "scores": {"naswot": 1.0}}
    best = best_document(config, winner, device=None, latency_source={"kind": "arch-table", "path": "pixel3.csv"})
    RunDir(tmp_path / "run").write_best(best)
    return tmp_path / "run"


def test_run_dir_winner_is_exported_with_its_search_facts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nb201_weights: Path
) -> None:
    run = _run_dir(tmp_path)
    code = main(
        ["export", str(run), "--weights", str(nb201_weights), "--no-measure", "--out", str(tmp_path / "e"), "--json"]
    )
    card = json.loads(capsys.readouterr().out)
    assert code == 0
    assert card["architecture"]["encoding"] == NB201_ARCH and card["architecture"]["resolution"] == 32
    assert card["seed"] == 7 and card["search"]["strategy"] == "single" and card["search"]["run_dir"] == str(run)
    assert card["target"]["device"] == "host-cpu"  # the run had no device: the default
    assert card["target"]["search_predicted_latency_ms"] == 9.87
    assert card["latency_check"]["checked"] is False and card["latency_check"]["reason"]
    assert (tmp_path / "e" / "model.onnx").exists() and sorted(p.name for p in run.iterdir()) == ["best.json"]


def test_initial_weights_are_marked_untrained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run_dir(tmp_path)
    assert main(["export", str(run), "--no-measure", "--out", str(tmp_path / "e"), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["weights"] == {"kind": "initial", "seed": 7, "note": card["weights"]["note"]}
    assert "not trained" in card["weights"]["note"]
    assert "**Untrained.**" in (tmp_path / "e" / "README.md").read_text()
    # NB201's untrained outputs do not depend on the input; the card says the parity check is weak
    onnx = next(a for a in card["artifacts"] if a["format"] == "onnx")
    assert "weak evidence" in onnx["parity"]["warning"]


def test_every_file_is_timed_on_its_device_in_rounds(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    nb201_weights: Path,
    digits_npz: Path,
) -> None:
    import yaml

    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "quick-cpu.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "quick-cpu",
                "runtime": "onnxruntime",
                "precision": "fp32",
                "threads": 1,
                "timing": {"warmup_runs": 1, "warmup_s": 0.0, "min_runs": 3, "min_time_s": 0.002, "rounds": 2},
            }
        )
    )
    monkeypatch.setenv("HWNAS_DEVICES_DIR", str(devices))
    code = main(
        [
            "export",
            NB201_ARCH,
            "--space",
            "nb201",
            "--format",
            "int8",
            "--device",
            "quick-cpu",
            "--weights",
            str(nb201_weights),
            "--calibration",
            str(digits_npz),
            "--out",
            str(tmp_path / "e"),
            "--json",
        ]
    )
    card = json.loads(capsys.readouterr().out)
    assert code == 0 and card["target"]["device"] == "quick-cpu"
    for artifact in card["artifacts"]:
        latency = artifact["latency"]
        assert latency["measured"] and latency["device"] == "quick-cpu" and latency["rounds"] == 2
        assert latency["median_ms"] == min(latency["round_medians_ms"]) and latency["n"] >= 3
    speedup = card["int8_speedup"]
    assert speedup["device"] == "quick-cpu" and speedup["speedup"] == pytest.approx(
        speedup["fp32_ms"] / speedup["int8_ms"]
    )
    assert card["latency_check"]["checked"] is False and "quick-cpu" in card["latency_check"]["reason"]
