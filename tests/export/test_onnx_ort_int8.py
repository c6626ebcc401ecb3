"""A small hybrid network exported to ONNX, ORT and INT8 through the CLI, then checked from outside:
files load in fresh sessions (and a fresh process), match PyTorch, and the card says so."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from export_helpers import HYBRID_ARCH, HYBRID_RES

from hwnas.cli.main import main
from hwnas.export.files import sha256_of
from hwnas.spaces import get_space


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, hybrid_weights: Path, digits_npz: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("hybrid") / "artifacts"
    code = main(
        [
            "export",
            HYBRID_ARCH,
            "--space",
            "hybrid",
            "--resolution",
            str(HYBRID_RES),
            "--num-classes",
            "10",
            "--format",
            "onnx,ort,int8",
            "--weights",
            str(hybrid_weights),
            "--calibration",
            str(digits_npz),
            "--dynamic-batch",
            "--no-measure",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out, json.loads((out / "model_card.json").read_text())


def test_files_and_card(exported: tuple[Path, dict]) -> None:
    out, card = exported
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "model.int8.onnx",
        "model.onnx",
        "model.ort",
        "model.required_operators.config",
        "model_card.json",
    ]
    assert card["architecture"]["encoding"] == HYBRID_ARCH and card["architecture"]["space"] == "hybrid"
    assert card["architecture"]["params_m"] > 0 and card["architecture"]["flops_m"] > 0
    assert card["input"]["shape"] == ["batch", 3, HYBRID_RES, HYBRID_RES]
    assert card["output"] == {"name": "logits", "shape": ["batch", 10], "meaning": card["output"]["meaning"]}
    assert card["weights"]["kind"] == "checkpoint" and len(card["weights"]["sha256"]) == 64
    assert card["calibration"]["images"] == 96 and card["calibration"]["labels"] is True
    for artifact in card["artifacts"]:
        assert artifact["sha256"] == sha256_of(out / artifact["file"])
    readme = (out / "README.md").read_text()
    assert HYBRID_ARCH in readme and "model.int8.onnx" in readme and "Untrained" not in readme


def test_onnx_is_clean_checked_and_matches_pytorch(exported: tuple[Path, dict], hybrid_weights: Path) -> None:
    out, card = exported
    model = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in model.graph.input] == ["input"] and [o.name for o in model.graph.output] == ["logits"]
    report = next(a for a in card["artifacts"] if a["format"] == "onnx")
    assert report["parity"]["passed"] and report["parity"]["random"]["max_abs_diff"] <= 1e-4
    assert report["parity"]["real"]["max_abs_diff"] <= 1e-4 and report["parity"]["real"]["n"] == 96
    assert report["parity"]["batch3"]["n"] == 3
    # and independently of the exporter: a fresh session against a freshly built PyTorch model
    space = get_space("hybrid")
    torch_model = space.build(space.decode(HYBRID_ARCH), num_classes=10, resolution=HYBRID_RES)
    torch_model.load_state_dict(torch.load(hybrid_weights))
    x = torch.randn(5, 3, HYBRID_RES, HYBRID_RES, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = torch_model.eval()(x).numpy()
    got = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.numpy()}
    )[0]
    assert np.abs(got - expected).max() <= 1e-4


def test_ort_file_loads_and_matches(exported: tuple[Path, dict]) -> None:
    out, card = exported
    report = next(a for a in card["artifacts"] if a["format"] == "ort")
    assert report["parity"]["passed"] and report["checks"]["optimization_style"] == "Fixed"
    session = ort.InferenceSession(str(out / "model.ort"), providers=["CPUExecutionProvider"])
    assert session.run(None, {"input": np.zeros((2, 3, HYBRID_RES, HYBRID_RES), np.float32)})[0].shape == (2, 10)


def test_int8_is_quantised_loads_and_reports_agreement(exported: tuple[Path, dict]) -> None:
    out, card = exported
    ops = {n.op_type for n in onnx.load(str(out / "model.int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    report = next(a for a in card["artifacts"] if a["format"] == "int8")
    agreement = report["parity"]["calibration_images"]
    assert agreement["n"] == 96 and 0.0 <= agreement["top1_agreement"] <= 1.0
    assert 0.0 <= agreement["top1_accuracy"] <= 1.0  # the digits carry labels
    fp32 = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(str(out / "model.int8.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((4, 3, HYBRID_RES, HYBRID_RES)).astype(np.float32)
    a, b = fp32.run(None, {"input": x})[0], int8.run(None, {"input": x})[0]
    assert b.shape == a.shape and np.isfinite(b).all()
    assert 0 < np.abs(a - b).max() < np.abs(a).max()  # quantised: close, not identical


def test_readme_snippet_runs_in_a_fresh_process(exported: tuple[Path, dict]) -> None:
    out, card = exported
    readme = (out / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert snippet == card["snippet"]
    proc = subprocess.run([sys.executable, "-c", snippet], cwd=out, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "logits shape: (1, 10)" in proc.stdout
