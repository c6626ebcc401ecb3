"""LiteRT and OpenVINO: device fields each refused with the field named, conversion that names the
operator it fails on, and the two runtimes converting and timing a real block (skipped, with the
install hint, where ``hwnas[litert]`` / ``hwnas[openvino]`` is absent).

The shared conformance tests (``test_runtime_conformance.py``) also prepare, time and describe both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hwnas.devices import load_device, parse_device
from hwnas.errors import HwnasError, UsageError
from hwnas.latency.targets import open_target
from hwnas.runtimes.timing import TimingSettings

QUICK = TimingSettings(warmup_runs=2, warmup_s=0.0, min_runs=5, min_time_s=0.01)
LITERT = {"name": "x", "runtime": "litert", "precision": "fp32", "threads": 1}
OPENVINO = {"name": "x", "runtime": "openvino", "precision": "fp32", "threads": 1, "streams": 1}
ADB = {**LITERT, "connection": "adb", "adb": {"serial": "35121FDH2000XY"}}


def _needs(module: str, extra: str) -> None:
    pytest.importorskip(module, reason=f"{module} not installed (pip install 'hwnas[{extra}]')")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**LITERT, "threads": None}, "field 'threads' must be an explicit integer of at least 1 for litert"),
        ({**LITERT, "precision": "fp16"}, "field 'precision' fp16 is not converted for litert here"),
        ({**LITERT, "precision": "int8"}, "field 'precision' int8 is not converted for litert here"),
        ({**LITERT, "provider": "npu"}, "field 'provider' must be one of cpu, cpu-builtin, gpu for litert, got 'npu'"),
        ({**LITERT, "provider": "gpu"}, "field 'provider' gpu (the GPU delegate) is timed only on adb devices"),
        ({**LITERT, "streams": 2}, "field 'streams' applies to openvino devices only (this one runs litert)"),
        ({**OPENVINO, "precision": "int8"}, "field 'precision' int8 is not converted for openvino here"),
        ({**OPENVINO, "provider": "XPU"}, "field 'provider' must be an OpenVINO device: CPU, GPU, NPU"),
        ({**OPENVINO, "provider": "GPU"}, "field 'threads' applies to the CPU device only (this device uses GPU)"),
        ({**OPENVINO, "streams": 0}, "field 'streams' must be an integer of at least 1 (inference streams), got 0"),
        ({**OPENVINO, "streams": "auto"}, "field 'streams' must be an integer of at least 1"),
        ({**OPENVINO, "connection": "adb"}, "field 'connection' adb is not available for openvino (use local or ssh)"),
        ({"name": "x", "runtime": "onnxruntime", "streams": 1}, "field 'streams' applies to openvino devices only"),
        ({**LITERT, "connection": "adb"}, "field 'adb' is required when connection is adb"),
        ({**LITERT, "adb": {"serial": "A1"}}, "field 'adb' is only allowed with connection: adb"),
        ({**ADB, "adb": {}}, "field 'adb.serial' is required: the phone's serial as `adb devices` lists it"),
        ({**ADB, "adb": {"serial": "A1; reboot"}}, "field 'adb.serial' must be an adb serial"),
        ({**ADB, "adb": {"serial": "A1", "benchmark_model": "bm"}}, "field 'adb.benchmark_model' must be an absolute"),
        ({**ADB, "adb": {"serial": "A1", "work_dir": "/tmp/$(x)"}}, "field 'adb.work_dir' must be an absolute path"),
        ({**ADB, "adb": {"serial": "A1", "adb": "adb -H evil"}}, "field 'adb.adb' must be the adb program"),
        ({**ADB, "adb": {"serial": "A1", "seral": "x"}}, "unknown field 'adb.seral'"),
        ({**ADB, "timing": {"estimator": "p10"}}, "field 'timing.estimator' must be left at its default on adb"),
        ({**ADB, "timing": {"rounds": 3}}, "field 'timing.rounds' must be left at its default on adb devices"),
    ],
)
def test_bad_device_fields_are_named(data: dict, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_device(data, where="devices/x.yaml")
    assert message in str(info.value) and str(info.value).startswith("devices/x.yaml: ")
    assert "\n" not in str(info.value)


def test_shipped_devices_of_both_runtimes() -> None:
    litert, ov = load_device("host-cpu-litert"), load_device("host-cpu-openvino")
    assert (litert.runtime, litert.threads, litert.timing.clock) == ("litert", 1, "thread_cpu")
    assert (ov.runtime, ov.provider, ov.threads, ov.streams) == ("openvino", "CPU", 1, 1)
    assert ov.runner_options()["streams"] == 1
    phone = load_device("pixel-8")
    assert phone.connection == "adb" and phone.adb is not None and phone.is_remote
    assert phone.where() == f"adb:{phone.adb.serial}"
    assert load_device("raspberry-pi-5-litert").connection == "ssh"
    igpu = load_device("intel-igpu-openvino")
    assert (igpu.provider, igpu.precision, igpu.threads) == ("GPU", "fp16", None)


class _Odd(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cummax(x, 1)[0]


def test_litert_conversion_failure_names_the_operator(tmp_path: Path) -> None:
    _needs("litert_torch", "litert")
    from hwnas.runtimes.litert.host import convert_to_tflite

    with pytest.raises(HwnasError) as info:
        convert_to_tflite(_Odd(), (1, 3, 4, 4), tmp_path / "odd.tflite")
    text = str(info.value)
    assert "\n" not in text and text.startswith("litert-torch could not convert the network (operator aten.cummax")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_openvino_conversion_failure_names_the_operator(tmp_path: Path) -> None:
    _needs("openvino", "openvino")
    import onnx
    from onnx import TensorProto, helper

    from hwnas.runtimes.openvino.host import onnx_to_ir

    graph = helper.make_graph(
        [helper.make_node("FrobnicateX", ["input"], ["logits"], domain="com.example")],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    onnx.save(model, str(tmp_path / "odd.onnx"))
    with pytest.raises(HwnasError) as info:
        onnx_to_ir(tmp_path / "odd.onnx", tmp_path / "odd.openvino", fp16=False)
    text = str(info.value)
    assert text == "OpenVINO could not convert the ONNX model (operator com.example.FrobnicateX): no conversion rule"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.onnx"]


def _block() -> tuple[torch.nn.Module, tuple[int, ...]]:
    from hwnas.spaces import get_space

    space = get_space("hybrid")
    spec = next(s for s in space.all_blocks(64) if s.kind == "transformer")  # attention: the hardest kind
    torch.manual_seed(0)
    return space.build_block(spec).eval(), spec.input_shape


@pytest.mark.parametrize(
    ("runtime", "module", "extra"), [("litert", "litert_torch", "litert"), ("openvino", "openvino", "openvino")]
)
def test_an_attention_block_converts_times_and_matches_pytorch(
    runtime: str, module: str, extra: str, tmp_path: Path
) -> None:
    _needs(module, extra)
    base = LITERT if runtime == "litert" else OPENVINO
    device = parse_device({**base, "name": f"t-{runtime}", "timing": QUICK.to_dict()})
    block, shape = _block()
    with open_target(device) as target:
        artifact = target.runtime.prepare(block, shape, tmp_path / f"b{target.runtime.artifact_suffix}")
        (where,) = target.upload([artifact])
        stats = target.measure(where, shape).stats
        info = target.describe()["runtime"]
    assert stats.n >= QUICK.min_runs and 0 < stats.p10_ms <= stats.median_ms
    x = torch.randn(shape)
    with torch.no_grad():
        want = block(x).numpy()
    if runtime == "litert":
        from hwnas.runtimes.litert.device import interpreter

        it = interpreter(str(artifact), {"threads": 1})
        it.set_tensor(it.get_input_details()[0]["index"], x.permute(0, 2, 3, 1).contiguous().numpy())  # NHWC
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
        if got.ndim == 4:
            got = np.transpose(got, (0, 3, 1, 2))
        assert info["threads"] == 1
    else:
        from hwnas.runtimes.openvino.device import compiled_model

        assert sorted(p.name for p in artifact.iterdir()) == ["model.bin", "model.xml"]
        got = compiled_model(str(artifact), device.runner_options())({0: x.numpy()})[0]
        assert info["properties"] == {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": 1,
            "INFERENCE_PRECISION_HINT": "f32",
        }
    assert np.abs(np.asarray(got) - want).max() < 1e-4


def test_the_reused_operator_scan_writes_the_same_file(tmp_path: Path) -> None:
    """Issue 25: the conversion speed-up must not change what is timed, so the files are equal byte for byte."""
    _needs("litert_torch", "litert")
    from hwnas.runtimes.litert.host import convert_to_tflite

    block, shape = _block()
    old = convert_to_tflite(block, shape, tmp_path / "old.tflite", channels_last=True, reuse=False)
    new = convert_to_tflite(block, shape, tmp_path / "new.tflite", channels_last=True)
    again = convert_to_tflite(block, shape, tmp_path / "again.tflite", channels_last=True)  # the kept scan
    assert old.read_bytes() == new.read_bytes() == again.read_bytes()


def test_litert_cache_is_keyed_by_the_converter_version() -> None:
    from importlib.metadata import version

    from hwnas.runtimes import get_runtime
    from hwnas.runtimes.litert.host import converter_version

    _needs("litert_torch", "litert")
    tag = get_runtime(parse_device(LITERT)).artifact_tag
    assert tag == f"litert-fp32-nhwc-{converter_version()}"
    assert f"litert-torch-{version('litert-torch')}" in tag and "torch-" in tag.split("_")[-1]


def test_builtin_kernels_are_another_provider(tmp_path: Path) -> None:
    """provider cpu-builtin leaves XNNPACK out: the same file, described and timed by LiteRT's own kernels."""
    _needs("ai_edge_litert", "litert")
    _needs("litert_torch", "litert")
    from hwnas.runtimes.litert.host import convert_to_tflite

    depthwise = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8).eval()
    path = convert_to_tflite(depthwise, (1, 8, 16, 16), tmp_path / "dw.tflite")
    device = parse_device({**LITERT, "provider": "cpu-builtin", "timing": QUICK.to_dict()})
    with open_target(device) as target:
        assert target.describe()["runtime"]["provider"] == "cpu (builtin kernels, no XNNPACK)"
        (where,) = target.upload([path])
        assert target.measure(where, (1, 8, 16, 16)).stats.n >= QUICK.min_runs
