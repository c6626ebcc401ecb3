"""Conformance of every registered runtime: device settings, prepare on the host, time and describe
through the in-process runner (the same device modules the zipapp ships).

Runs for real where the runtime exists (ONNX Runtime here, TensorRT on a GPU machine,
Core ML on a Mac) and skips with the runtime's own MissingDependency message elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hwnas.devices import Device, parse_device
from hwnas.errors import MissingDependency, UsageError
from hwnas.latency.targets import Target, open_target
from hwnas.latency.timing import Measurement
from hwnas.runtimes import RUNTIMES, get_runtime
from hwnas.runtimes.timing import TimingSettings

SHAPE = (1, 3, 16, 16)
QUICK = TimingSettings(warmup_runs=2, warmup_s=0.0, min_runs=5, min_time_s=0.01)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 1)).eval()


def _device(runtime: str, precision: str = "fp32", timing: TimingSettings = QUICK) -> Device:
    precision = {"tensorrt": "fp16", "coreml": "fp16"}.get(runtime, precision)
    return parse_device(
        {
            "name": f"test-{runtime}",
            "runtime": runtime,
            "precision": precision,
            "threads": 1,
            "timing": timing.to_dict(),
        }
    )


def _time(target: Target, artifact: Path) -> Measurement:
    (where,) = target.upload([artifact])
    return target.measure(where, SHAPE)


@pytest.mark.parametrize("name", RUNTIMES.names())
def test_runtime_declares_its_capabilities(name: str) -> None:
    runtime = RUNTIMES.get(name)
    assert runtime.name == name and runtime.title and runtime.precisions and runtime.install_hint
    assert runtime.artifact_suffix.startswith(".")
    assert runtime.times_on_host_cpu or runtime.timed_where  # export says where its files can be timed
    assert (
        parse_device({"name": "d", "runtime": name, "precision": runtime.precisions[0], "threads": 1}).provider
        == runtime.default_provider
    )


@pytest.mark.parametrize("name", RUNTIMES.names())
def test_runtime_prepares_times_and_describes(name: str, tmp_path: Path) -> None:
    try:
        with open_target(_device(name)) as target:
            info = target.describe()
            artifact = target.runtime.prepare(_model(), SHAPE, tmp_path / f"model{target.runtime.artifact_suffix}")
            measurement = _time(target, artifact)
    except MissingDependency as exc:
        pytest.skip(str(exc))
    assert info["runtime"]["name"] == name and info["runtime"]["version"]
    assert info["host"]["cpu_model"] and info["host"]["cores"] >= 1
    stats = measurement.stats
    assert stats.n >= QUICK.min_runs
    assert 0 < stats.p10_ms <= stats.median_ms <= stats.p90_ms
    assert stats.mean_ms > 0 and stats.std_ms >= 0
    assert measurement.timed_s >= QUICK.min_time_s
    assert stats.median_ms < 1000 * measurement.timed_s


def test_onnxruntime_min_count_and_min_time_are_both_honoured(tmp_path: Path) -> None:
    artifact = get_runtime(_device("onnxruntime")).prepare(_model(), SHAPE, tmp_path / "m.onnx")
    by_count_device = _device(
        "onnxruntime", timing=TimingSettings(warmup_runs=0, warmup_s=0.0, min_runs=40, min_time_s=0.0)
    )
    with open_target(by_count_device) as target:
        assert _time(target, artifact).stats.n == 40
    with open_target(
        _device("onnxruntime", timing=TimingSettings(warmup_runs=0, warmup_s=0.0, min_runs=1, min_time_s=0.1))
    ) as target:
        by_time = _time(target, artifact)
    assert by_time.timed_s >= 0.1 and by_time.stats.n > 1


def test_onnxruntime_describes_its_session_options() -> None:
    with open_target(_device("onnxruntime")) as target:
        runtime = target.describe()["runtime"]
    assert runtime["intra_op_threads"] == 1 and runtime["inter_op_threads"] == 1
    assert runtime["graph_optimization"] == "all" and runtime["provider"] == "CPUExecutionProvider"


def test_onnxruntime_int8_quantises_and_times(tmp_path: Path) -> None:
    target = open_target(_device("onnxruntime", "int8"))
    artifact = target.runtime.prepare(_model(), SHAPE, tmp_path / "q.onnx")
    import onnx

    ops = {node.op_type for node in onnx.load(str(artifact)).graph.node}
    assert ops & {"ConvInteger", "DynamicQuantizeLinear", "MatMulInteger", "QLinearConv"}
    assert _time(target, artifact).stats.n >= QUICK.min_runs
    assert not list(tmp_path.glob("*.fp32.onnx")) and not list(tmp_path.glob(".*tmp"))


def test_precision_a_runtime_cannot_time_is_refused() -> None:
    with pytest.raises(UsageError, match="coreml runtime times precision fp32, fp16, not int8"):
        get_runtime(parse_device({"name": "m", "runtime": "coreml", "precision": "int8"}))


def test_tensorrt_without_gpu_names_what_is_missing(tmp_path: Path) -> None:
    target = open_target(_device("tensorrt"))
    artifact = target.runtime.prepare(_model(), SHAPE, tmp_path / "m.onnx")  # the host side needs no GPU
    assert artifact.exists()
    try:
        _time(target, artifact)
    except MissingDependency as exc:
        assert "TensorRT" in str(exc) and ("tensorrt" in str(exc) or "cuda-python" in str(exc))
    else:
        pytest.skip("TensorRT is installed here: the conformance test above timed it")


def test_coreml_converts_on_linux_but_timing_needs_macos(tmp_path: Path) -> None:
    pytest.importorskip("coremltools", reason="coremltools not installed (pip install 'hwnas[coreml]')")
    target = open_target(_device("coreml"))
    package = target.runtime.prepare(_model(), SHAPE, tmp_path / "m.mlpackage")
    assert package.is_dir() and (package / "Manifest.json").exists()
    # an attention block too: its shape arithmetic is what a traced conversion chokes on
    from hwnas.spaces import get_space

    space = get_space("hybrid")
    spec = next(s for s in space.all_blocks(64) if s.kind == "transformer")
    block = target.runtime.prepare(space.build_block(spec), spec.input_shape, tmp_path / "attn.mlpackage")
    assert (block / "Manifest.json").exists()
    import sys

    if sys.platform == "darwin":
        pytest.skip("on macOS Core ML timing works: covered by the conformance test")
    with pytest.raises(MissingDependency, match="Core ML is not available: timing needs macOS"):
        _time(target, package)
