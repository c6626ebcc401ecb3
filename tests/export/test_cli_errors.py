"""Bad input to `hwnas export`: one line on stderr, exit 2 (usage) or 1 (failure), and no output
directory (nor a staging folder, nor parents created for it) left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from export_helpers import HYBRID_ARCH, NB201_ARCH, calibrated_weights

from hwnas.cli.main import main
from hwnas.errors import HwnasError
from hwnas.runtimes.onnxruntime.export import OrtWriter


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["export", *args])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    return code, err


def _nothing_left(root: Path) -> bool:
    return not any(root.iterdir())


def test_missing_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run([str(tmp_path / "no-such-run"), "--out", str(tmp_path / "a" / "b")], capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: run directory") and "does not exist" in err[0] and "--space" in err[0]
    assert _nothing_left(tmp_path)


def test_run_dir_without_best_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").mkdir()
    code, err = _run([str(tmp_path / "run"), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and len(err) == 1 and "no best.json" in err[0]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run([NB201_ARCH, "--space", "nb201", "--format", "onnx,ncnn", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and len(err) == 1
    assert "unknown export format 'ncnn'" in err[0] and "onnx, ort, int8, coreml, tensorrt, tflite, openvino" in err[0]
    assert _nothing_left(tmp_path)


def test_weights_of_another_architecture_name_the_tensor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = "w32-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:ib3,ti3/w160-e2-q96-h2:cn3"  # stage-1 width differs
    weights = calibrated_weights("hybrid", other, 64, tmp_path / "other.pt", num_classes=10)
    code, err = _run(
        [
            HYBRID_ARCH,
            "--space",
            "hybrid",
            "--resolution",
            "64",
            "--num-classes",
            "10",
            "--weights",
            str(weights),
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 2 and len(err) == 1
    assert "tensor '0." in err[0] and "has shape" in err[0] and "another architecture" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.pt"]


def test_weights_with_another_class_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = calibrated_weights("nb201", NB201_ARCH, 32, tmp_path / "w.pt", num_classes=100)
    code, err = _run([NB201_ARCH, "--space", "nb201", "--weights", str(weights), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and len(err) == 1 and "classifier" in err[0] and "--num-classes" in err[0]


def test_int8_without_calibration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run([NB201_ARCH, "--space", "nb201", "--format", "int8", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and len(err) == 1 and "--calibration" in err[0]
    code, err = _run([NB201_ARCH, "--space", "nb201", "--precision", "int8", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "--calibration" in err[0]
    assert _nothing_left(tmp_path)


def test_precision_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run([NB201_ARCH, "--space", "nb201", "--precision", "fp16", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "applies to the coreml, tensorrt and openvino formats" in err[0]
    code, err = _run(
        [
            NB201_ARCH,
            "--space",
            "nb201",
            "--format",
            "coreml",
            "--precision",
            "int8",
            "--calibration",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 2 and "Core ML exports fp16, fp32" in err[0]
    code, err = _run([NB201_ARCH, "--space", "nb201", "--precision", "fp8", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "--precision must be one of" in err[0]
    assert _nothing_left(tmp_path)


def test_bad_architecture_and_resolution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["w24-nonsense", "--space", "hybrid", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and len(err) == 1
    code, err = _run([HYBRID_ARCH, "--space", "hybrid", "--resolution", "50", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "multiple of 32" in err[0]
    assert _nothing_left(tmp_path)


def test_existing_output_is_kept_unless_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nb201_weights: Path
) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, err = _run([NB201_ARCH, "--space", "nb201", "--out", str(out)], capsys)
    assert code == 2 and "--overwrite" in err[0] and (out / "keep.txt").read_text() == "mine"
    overwrite = [NB201_ARCH, "--space", "nb201", "--no-measure", "--overwrite", "--out", str(out)]
    code, err = _run(overwrite, capsys)  # a folder hwnas did not write is never replaced
    assert code == 2 and len(err) == 1 and "not an hwnas export" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    (out / "model_card.json").write_text("{}")  # an earlier export may be replaced
    code, _ = _run(
        [
            NB201_ARCH,
            "--space",
            "nb201",
            "--weights",
            str(nb201_weights),
            "--no-measure",
            "--overwrite",
            "--out",
            str(out),
            "--json",
        ],
        capsys,
    )
    assert code == 0 and sorted(p.name for p in out.iterdir()) == ["README.md", "model.onnx", "model_card.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_failure_while_writing_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self, ctx):  # the ONNX file is already in the staging folder when this runs
        raise HwnasError("converter exploded")

    monkeypatch.setattr(OrtWriter, "write", broken)
    code, err = _run(
        [
            NB201_ARCH,
            "--space",
            "nb201",
            "--format",
            "ort",
            "--no-measure",
            "--out",
            str(tmp_path / "new" / "deeper" / "o"),
        ],
        capsys,
    )
    assert code == 1 and err == ["error: converter exploded"]
    assert _nothing_left(tmp_path)


def test_json_is_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str], nb201_weights: Path) -> None:
    code = main(
        [
            "export",
            NB201_ARCH,
            "--space",
            "nb201",
            "--weights",
            str(nb201_weights),
            "--no-measure",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    card = json.loads(captured.out)
    assert card["out"] == str(tmp_path / "o") and card["architecture"]["space"] == "nb201"


def test_output_may_not_replace_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.json").write_text(
        json.dumps({"arch": NB201_ARCH, "space": "nb201", "resolution": None, "device": None, "seed": 3})
    )
    for out in (run, tmp_path):
        code, err = _run([str(run), "--out", str(out), "--overwrite"], capsys)
        assert code == 2 and len(err) == 1 and "would replace the input" in err[0]
    assert sorted(p.name for p in run.iterdir()) == ["best.json"]
