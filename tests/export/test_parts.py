"""The export's parts on their own: weights loading, calibration images, staging and hashes,
the latency comparison, Core ML spec checks, and TensorRT's missing-dependency error."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from export_helpers import NB201_ARCH

from hwnas.errors import HwnasError, MissingDependency, UsageError
from hwnas.export.files import sha256_of, staged_directory
from hwnas.export.images import Preprocessing, load_calibration
from hwnas.export.measure import int8_speedup, latency_check
from hwnas.export.weights import load_weights, read_state_dict
from hwnas.spaces import get_space


# ---- weights ---------------------------------------------------------------------------------
def _nb201() -> torch.nn.Module:
    space = get_space("nb201")
    return space.build(space.decode(NB201_ARCH))


def test_weights_accept_checkpoint_containers_and_dataparallel_names(tmp_path: Path) -> None:
    torch.manual_seed(1)
    source = _nb201()
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    torch.manual_seed(2)
    target = _nb201()
    info = load_weights(target, path, arch="nb201-arch")
    assert info["kind"] == "checkpoint" and info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_weights_missing_and_unexpected_tensors_are_named(tmp_path: Path) -> None:
    state = _nb201().state_dict()
    missing = dict(state)
    del missing["18.classifier.bias"]
    torch.save(missing, tmp_path / "m.pt")
    with pytest.raises(UsageError, match=r"tensor '18\.classifier\.bias' of nb201-arch is missing"):
        load_weights(_nb201(), tmp_path / "m.pt", arch="nb201-arch")
    torch.save({**state, "extra.weight": torch.zeros(1)}, tmp_path / "x.pt")
    with pytest.raises(UsageError, match=r"tensor 'extra\.weight' is in the checkpoint but not in"):
        load_weights(_nb201(), tmp_path / "x.pt", arch="nb201-arch")


def test_weights_file_that_is_not_a_state_dict(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="not a valid PyTorch state dict"):
        read_state_dict(tmp_path / "junk.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(UsageError, match="expected a state dict"):
        read_state_dict(tmp_path / "list.pt")
    with pytest.raises(UsageError, match="no such file"):
        read_state_dict(tmp_path / "absent.pt")


# ---- calibration images ----------------------------------------------------------------------
def test_npz_without_labels_uint8_scaling_and_seeded_subset(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(20, 12, 12, 3), dtype=np.uint8)
    np.savez(tmp_path / "c.npz", images=images)
    pre = Preprocessing.for_space(get_space("hybrid"), 32)
    a = load_calibration(tmp_path / "c.npz", pre, seed=0, limit=8)
    b = load_calibration(tmp_path / "c.npz", pre, seed=0, limit=8)
    assert a.images.shape == (8, 3, 32, 32) and a.labels is None and a.available == 20
    assert np.array_equal(a.images, b.images)
    # all 20: the first image's top-left pixel after scaling by 255 and ImageNet normalisation
    full = load_calibration(tmp_path / "c.npz", Preprocessing.for_space(get_space("hybrid"), 12), seed=0)
    expected = (images[0, 0, 0, 0] / 255.0 - 0.485) / 0.229
    assert full.images[0, 0, 0, 0] == pytest.approx(expected, abs=1e-5)


def test_image_folders_flat_and_by_class(tmp_path: Path) -> None:
    from PIL import Image

    for i, cls in enumerate(["cat", "cat", "dog"]):
        (tmp_path / "by_class" / cls).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), (i * 60, 10, 200)).save(tmp_path / "by_class" / cls / f"{i}.png")
    (tmp_path / "flat").mkdir()
    Image.new("L", (16, 16), 128).save(tmp_path / "flat" / "a.jpg")
    pre = Preprocessing.for_space(get_space("nb201"), 32)
    by_class = load_calibration(tmp_path / "by_class", pre, seed=0)
    assert by_class.images.shape == (3, 3, 32, 32) and by_class.labels.tolist() == [0, 0, 1]
    flat = load_calibration(tmp_path / "flat", pre, seed=0)
    assert flat.images.shape == (1, 3, 32, 32) and flat.labels is None


def test_bad_calibration_inputs(tmp_path: Path) -> None:
    pre = Preprocessing.for_space(get_space("hybrid"), 32)
    with pytest.raises(UsageError, match="no such file"):
        load_calibration(tmp_path / "none.npz", pre, seed=0)
    np.savez(tmp_path / "x.npz", pixels=np.zeros((2, 4, 4)))
    with pytest.raises(UsageError, match="no 'images' array"):
        load_calibration(tmp_path / "x.npz", pre, seed=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no images found"):
        load_calibration(tmp_path / "empty", pre, seed=0)


# ---- staging and hashes ----------------------------------------------------------------------
def test_staged_directory_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(RuntimeError), staged_directory(out, overwrite=False) as stage:
        (stage / "half.onnx").write_text("x")
        raise RuntimeError("interrupted")
    assert not any(tmp_path.iterdir())
    with staged_directory(out, overwrite=False) as stage:
        (stage / "model.onnx").write_text("x")
    assert [p.name for p in out.iterdir()] == ["model.onnx"] and [p.name for p in out.parent.iterdir()] == ["out"]


def test_folder_hash_matches_the_documented_shell_command(tmp_path: Path) -> None:
    pkg = tmp_path / "m.mlpackage"
    (pkg / "Data" / "weights").mkdir(parents=True)
    (pkg / "Manifest.json").write_text("{}")
    (pkg / "Data" / "weights" / "weight.bin").write_bytes(b"\x00\x01" * 100)
    (pkg / "Data" / "model.mlmodel").write_bytes(b"spec")
    if shutil.which("sha256sum") is None or shutil.which("find") is None:
        pytest.skip("sha256sum/find not available")
    shell = subprocess.run(
        "(cd m.mlpackage && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum) | sha256sum",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    assert sha256_of(pkg) == shell
    assert sha256_of(pkg / "Manifest.json") == hashlib.sha256(b"{}").hexdigest()


# ---- latency comparison ----------------------------------------------------------------------
def test_latency_check_and_speedup() -> None:
    prediction = {"device": "host-cpu", "predicted_latency_ms": 10.0}
    timed = {"measured": True, "device": "host-cpu", "median_ms": 10.8}
    check = latency_check(prediction, timed)
    assert check["checked"] and check["within_tolerance"] and check["error_pct"] == pytest.approx(8.0)
    assert not latency_check(prediction, {**timed, "median_ms": 11.2})["within_tolerance"]
    assert latency_check(prediction, {**timed, "device": "other"})["checked"] is False
    assert latency_check({"device": "host-cpu", "predicted_latency_ms": None, "reason": "no table"}, timed) == {
        "checked": False,
        "reason": "no table",
    }
    speed = int8_speedup({"onnx": {**timed, "median_ms": 9.0}, "int8": {**timed, "median_ms": 4.5}})
    assert speed == {"device": "host-cpu", "estimator": "median", "fp32_ms": 9.0, "int8_ms": 4.5, "speedup": 2.0}
    # a device whose table keeps p10 is checked by p10, like with like
    by_p10 = {**timed, "estimator": "p10", "p10_ms": 10.5, "median_ms": 12.0}
    assert (
        latency_check(prediction, by_p10)["measured_ms"] == 10.5
        and latency_check(prediction, by_p10)["within_tolerance"]
    )
    assert int8_speedup({"onnx": by_p10, "int8": {**by_p10, "p10_ms": 7.0}})["speedup"] == pytest.approx(1.5)
    assert int8_speedup({"onnx": timed, "int8": {"measured": False, "reason": "x"}}) is None


# ---- Core ML and TensorRT --------------------------------------------------------------------
def test_coreml_spec_check_catches_a_wrong_precision_and_shape(tmp_path: Path) -> None:
    pytest.importorskip("coremltools", reason="coremltools not installed (pip install 'hwnas[coreml]')")
    from hwnas.export import ExportRequest, export_model
    from hwnas.runtimes.coreml.export import spec_check

    out = tmp_path / "o"
    card = export_model(
        ExportRequest(target=NB201_ARCH, space="nb201", out=out, formats=("coreml",), precision="fp32", measure=False)
    ).to_json()
    report = next(a for a in card["artifacts"] if a["format"] == "coreml")
    assert report["precision"] == "fp32" and report["checks"]["spec_check"] == "passed"
    assert "FLOAT16" not in report["checks"]["tensor_dtypes"]
    assert report["checks"]["input"] == {"name": "input", "shape": [1, 3, 32, 32], "dtype": "float32"}
    with pytest.raises(HwnasError, match="expected fp16"):
        spec_check(out / "model.mlpackage", (1, 3, 32, 32), 10, "fp16")
    with pytest.raises(HwnasError, match="expected one float32 input"):
        spec_check(out / "model.mlpackage", (1, 3, 64, 64), 10, "fp32")


def test_tensorrt_without_gpu_fails_first_and_names_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hwnas.cli.main import main
    from hwnas.runtimes.tensorrt.export import TensorRTWriter

    try:
        TensorRTWriter().check_available()
    except MissingDependency as exc:
        message = str(exc)
    else:
        pytest.skip("TensorRT and a GPU are present: the format conformance test built an engine")
    assert ("TensorRT" in message and "NVIDIA GPU" in message) or message.startswith("an NVIDIA GPU")
    code = main(["export", NB201_ARCH, "--space", "nb201", "--format", "onnx,tensorrt", "--out", str(tmp_path / "o")])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 1 and len(err) == 1 and "NVIDIA GPU" in err[0]
    assert not any(tmp_path.iterdir())
