"""``hwnas export --format tflite,openvino``: both files match PyTorch in a fresh runtime, each is
timed on its runtime's host device, the card carries their hashes, and a format the target device
cannot run is refused in one line before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_helpers import NB201_ARCH

from hwnas.cli.main import main
from hwnas.devices import load_device
from hwnas.export import ExportRequest, export_model
from hwnas.export.base import ArtifactReport
from hwnas.export.files import sha256_of
from hwnas.export.pipeline import checked_artifact


def test_tflite_and_openvino_match_pytorch_and_are_timed(tmp_path: Path, nb201_weights: Path) -> None:
    pytest.importorskip("litert_torch", reason="litert-torch not installed (pip install 'hwnas[litert]')")
    pytest.importorskip("openvino", reason="openvino not installed (pip install 'hwnas[openvino]')")
    out = tmp_path / "export"
    card = export_model(
        ExportRequest(target=NB201_ARCH, space="nb201", out=out, formats=("tflite", "openvino"), weights=nb201_weights)
    ).to_json()
    by_format = {a["format"]: a for a in card["artifacts"]}
    assert list(by_format) == ["onnx", "tflite", "openvino"]
    for name, device in (("tflite", "host-cpu-litert"), ("openvino", "host-cpu-openvino")):
        artifact = by_format[name]
        assert artifact["parity"]["passed"] and artifact["parity"]["random"]["max_abs_diff"] <= 1e-4
        assert "warning" not in artifact["parity"]
        assert artifact["sha256"] == sha256_of(out / artifact["file"])
        assert artifact["latency"]["measured"] and artifact["latency"]["device"] == device
        assert artifact["latency"]["p10_ms"] > 0
    assert sorted(p.name for p in (out / "model.openvino").iterdir()) == ["model.bin", "model.xml"]
    assert by_format["openvino"]["checks"]["weights"] == "fp32"
    # what an app's plain compile_model runs here is recorded, and the card tells it to ask for f32
    default = by_format["openvino"]["checks"]["default_cpu_compile"]
    assert default["inference_precision"] in ("f32", "bf16", "f16") and default["max_abs_diff"] >= 0
    readme = (out / "README.md").read_text()
    assert '"INFERENCE_PRECISION_HINT": "f32"' in readme and "model.openvino/model.xml" in readme
    text = (out / "MODEL_CARD.md").read_text() if (out / "MODEL_CARD.md").exists() else ""
    assert not text or "model.tflite" in text


def test_the_latency_check_uses_the_file_the_target_runs() -> None:
    reports = {
        name: ArtifactReport(name, file, "fp32", {})
        for name, file in (("onnx", "model.onnx"), ("tflite", "model.tflite"), ("openvino", "model.openvino"))
    }
    assert checked_artifact(reports, load_device("host-cpu")).file == "model.onnx"
    assert checked_artifact(reports, load_device("host-cpu-litert")).file == "model.tflite"
    assert checked_artifact(reports, load_device("host-cpu-openvino")).file == "model.openvino"
    assert checked_artifact(reports, load_device("intel-igpu-openvino")).file == "model.onnx"  # fp16 IR not written


@pytest.mark.parametrize(
    ("device", "fmt", "message"),
    [
        ("pixel-8", "openvino", "device pixel-8 runs LiteRT and cannot run the openvino format"),
        ("host-cpu-openvino", "tflite", "device host-cpu-openvino runs OpenVINO and cannot run the tflite format"),
        ("host-cpu-litert", "coreml", "device host-cpu-litert runs LiteRT and cannot run the coreml format"),
    ],
)
def test_a_format_the_device_cannot_run_is_one_line(
    device: str, fmt: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["export", NB201_ARCH, "--space", "nb201", "--device", device, "--format", fmt, "--out", str(tmp_path / "o")]
    )
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1 and err[0].startswith(f"error: {message}")
    assert not any(tmp_path.iterdir())
