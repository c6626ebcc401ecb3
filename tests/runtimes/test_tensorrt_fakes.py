"""TensorRT 10 and 11 stood in for by fakes (no GPU, no TensorRT here): fake ``trtexec`` executables of
both generations, fake ``tensorrt`` modules of both API generations, a ``cudart`` that finds no GPU."""

from __future__ import annotations

import ast
import importlib.machinery
import json
import os
import stat
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from hwnas.ondevice.core import RuntimeMissing
from hwnas.runtimes.tensorrt import device, precision, trtexec
from hwnas.transport.zipapp import archive_members

ROOT = Path(__file__).resolve().parents[2]
REAL_TENSORRT_PYTHON = device.tensorrt_python  # the fixture replaces it; the mode tests put it back
TIMING = {"warmup_runs": 1, "warmup_s": 0.0, "min_runs": 3, "min_time_s": 0.0, "clock": "wall"}

FAKE_TRTEXEC = """#!{python}
import json, os, sys
GEN = {gen}
log = os.environ["FAKE_TRTEXEC_LOG"]
with open(log, "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if "--help" in args:
    print("&&&& RUNNING TensorRT.trtexec [TensorRT v{banner}] # trtexec --help")
    print("  --stronglyTyped   Create a strongly typed network.")
    if GEN == 10:
        print("  --fp16            Enable fp16 precision")
        print("  --int8            Enable int8 precision")
    sys.exit(0)
for a in args:
    if GEN == 11 and a in ("--fp16", "--int8"):
        print("[E] Unknown option: " + a[2:])
        sys.exit(1)
if any("broken" in a for a in args):
    print("[I] parsing")
    print("[E] Error[4]: ITensor::getDimensions: Error Code 4: Shape Error (broken reshape)")
    print("[E] Error[2]: [network.cpp::validate] network validation failed")
    print("[E] Engine set up failed")
    sys.exit(1)
for a in args:
    if a.startswith("--saveEngine="):
        open(a.split("=", 1)[1], "wb").write(b"engine")
    if a.startswith("--exportTimes="):
        with open(a.split("=", 1)[1], "w") as fh:
            json.dump([{{"startComputeMs": 1.0, "endComputeMs": 1.5, "computeMs": 0.5}}, {{"computeMs": 0.25}},
                       {{"startComputeMs": 2.0, "endComputeMs": 2.75}}], fh)
print("&&&& PASSED")
"""


@pytest.fixture
def fake_trtexec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """fake_trtexec(gen) puts a fake trtexec of that generation first on PATH; returns its argv log."""
    monkeypatch.setattr(trtexec, "_INFO", {})
    monkeypatch.setattr(device, "tensorrt_python", lambda: (None, None))  # no Python bindings here

    def make(gen: int) -> Path:
        folder = tmp_path / f"bin{gen}"
        folder.mkdir()
        exe = folder / "trtexec"
        exe.write_text(FAKE_TRTEXEC.format(python=sys.executable, gen=gen, banner="100300" if gen == 10 else "110000"))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
        log = tmp_path / f"log{gen}"
        log.write_text("")
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_TRTEXEC_LOG", str(log))
        return log

    return make


def _calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _onnx(tmp_path: Path, name: str, body: bytes = b"float32 model") -> str:
    path = tmp_path / name
    path.write_bytes(body)
    return str(path)


def test_trtexec_10_gets_precision_flags_and_help_is_asked_once(tmp_path: Path, fake_trtexec: Any) -> None:
    log = fake_trtexec(10)
    a, b = _onnx(tmp_path, "a.onnx"), _onnx(tmp_path, "b.onnx")
    first = device.measure(a, [1, 3, 8, 8], {"precision": "fp16"}, TIMING)
    device.measure(b, [1, 3, 8, 8], {"precision": "int8"}, TIMING)
    described = device.describe({"precision": "fp16"})
    assert first["samples_ms"] == [0.5, 0.25, 0.75]  # computeMs, else end - start
    calls = _calls(log)
    assert sum("--help" in c for c in calls) == 1  # once per process, not once per measurement
    builds = [c for c in calls if "--help" not in c]
    assert "--fp16" in builds[0] and "--int8" not in builds[0] and "--stronglyTyped" not in builds[0]
    assert {"--fp16", "--int8"} <= set(builds[1])
    assert any(x.endswith(".fp16.trtexec-10.3.0.engine") for x in builds[0])
    assert described["version"] == "10.3.0" and described["generation"] == "10 (builder flags)"
    assert described["mode"] == "trtexec"


def test_trtexec_11_builds_strongly_typed_from_a_model_that_carries_its_precision(
    tmp_path: Path, fake_trtexec: Any
) -> None:
    log = fake_trtexec(11)
    fp16 = _onnx(tmp_path, "h.onnx", b"model ... " + precision.FP16_MARK.encode())
    qdq = _onnx(tmp_path, "q.onnx", b"model QuantizeLinear DequantizeLinear")
    assert device.measure(fp16, [1, 3, 8, 8], {"precision": "fp16"}, TIMING)["samples_ms"]
    assert device.measure(qdq, [1, 3, 8, 8], {"precision": "int8"}, TIMING)["samples_ms"]
    builds = [c for c in _calls(log) if "--help" not in c]
    assert all("--stronglyTyped" in c and "--fp16" not in c and "--int8" not in c for c in builds)
    with pytest.raises(RuntimeError, match="needs an fp16 ONNX.*pip install onnxconverter-common"):
        device.measure(_onnx(tmp_path, "f.onnx"), [1, 3, 8, 8], {"precision": "fp16"}, TIMING)
    with pytest.raises(RuntimeError, match="int8 on TensorRT 11 .* needs a Q/DQ model"):
        device.measure(_onnx(tmp_path, "g.onnx"), [1, 3, 8, 8], {"precision": "int8"}, TIMING)
    described = device.describe({})
    assert described["version"] == "11.0.0" and described["generation"] == "11 (strongly typed)"
    assert sum("--help" in c for c in _calls(log)) == 1


def test_trtexec_11_really_rejects_the_10_flags(tmp_path: Path, fake_trtexec: Any) -> None:
    """The fake stands in for trtexec 11 only if it refuses what 10 accepts."""
    fake_trtexec(11)
    trtexec._INFO[trtexec.require()] = ("11.0.0", 10)  # pretend the generation was misread
    with pytest.raises(RuntimeError, match=r"exit 1\): \[E\] Unknown option: fp16"):
        device.measure(_onnx(tmp_path, "a.onnx"), [1, 3, 8, 8], {"precision": "fp16"}, TIMING)


def test_a_trtexec_failure_reports_its_first_error_line(tmp_path: Path, fake_trtexec: Any) -> None:
    fake_trtexec(10)
    with pytest.raises(RuntimeError) as caught:
        device.measure(_onnx(tmp_path, "broken.onnx"), [1, 3, 8, 8], {"precision": "fp16"}, TIMING)
    message = str(caught.value)
    assert message.startswith("trtexec failed (exit 1): [E] Error[4]:") and "broken reshape" in message
    assert "Engine set up failed" not in message


def test_generation_from_a_help_text_without_a_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trtexec, "_INFO", {})
    exe = tmp_path / "trtexec"
    exe.write_text(f"#!{sys.executable}\nprint('  --stronglyTyped  strongly typed')\n")
    exe.chmod(0o755)
    assert trtexec.info(str(exe)) == ("unknown", 11)
    assert trtexec.precision_flags(10, "int8") == ["--fp16", "--int8"] and trtexec.precision_flags(10, "fp32") == []


# ---- the python path: fake tensorrt modules of each API generation ----


class _Tensor:
    def __init__(self, dtype: str) -> None:
        self.dtype = dtype
        self.ranges: list[tuple[float, float]] = []

    def set_dynamic_range(self, lo: float, hi: float) -> None:
        self.ranges.append((lo, hi))


def fake_tensorrt(version: str, fp16_layers: bool = False) -> types.ModuleType:
    """A ``tensorrt`` module of TensorRT ``version``'s API: 11 has no BuilderFlag.FP16/INT8 nor ranges."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version  # type: ignore[attr-defined]
    gen11 = int(version.split(".")[0]) >= 11
    trt.float32, trt.float16 = "float32", "float16"  # type: ignore[attr-defined]
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=1)  # type: ignore[attr-defined]
    trt.BuilderFlag = types.SimpleNamespace() if gen11 else types.SimpleNamespace(FP16=0, INT8=1)  # type: ignore[attr-defined]
    trt.calls = []  # type: ignore[attr-defined]
    dtype = "float16" if fp16_layers else "float32"

    class Network:
        num_inputs, num_layers = 1, 1

        def __init__(self) -> None:
            self.tensor: Any = types.SimpleNamespace(dtype=dtype) if gen11 else _Tensor(dtype)  # 11: no ranges

        def get_input(self, i: int) -> _Tensor:
            return self.tensor

        def get_layer(self, i: int) -> Any:
            return types.SimpleNamespace(num_outputs=1, get_output=lambda o: self.tensor)

    class Config:
        def set_flag(self, flag: int) -> None:
            trt.calls.append(("set_flag", flag))  # type: ignore[attr-defined]

    class Builder:
        def __init__(self, logger: Any) -> None:
            pass

        def create_network(self, flags: int) -> Network:
            trt.calls.append(("create_network", flags))  # type: ignore[attr-defined]
            return Network()

        def create_builder_config(self) -> Config:
            return Config()

        def build_serialized_network(self, network: Network, config: Config) -> bytes:
            trt.calls.append(("ranges", bool(getattr(network.tensor, "ranges", None))))  # type: ignore[attr-defined]
            return b"engine"

    class Parser:
        num_errors = 0

        def __init__(self, network: Network, logger: Any) -> None:
            pass

        def parse(self, data: bytes) -> bool:
            return True

    trt.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None})  # type: ignore[attr-defined]
    trt.Builder, trt.OnnxParser = Builder, Parser  # type: ignore[attr-defined]
    return trt


@pytest.mark.parametrize(
    ("prec", "net_flags", "builder_flags", "ranges"),
    [("fp32", 0, [], False), ("fp16", 0, ["FP16"], False), ("int8", 0, ["FP16", "INT8"], True)],
)
def test_tensorrt_10_sets_builder_flags(prec: str, net_flags: int, builder_flags: list[str], ranges: bool) -> None:
    assert precision.network_plan(fake_tensorrt("10.3.0"), prec, True) == (net_flags, builder_flags, ranges)


@pytest.mark.parametrize("prec", ["fp32", "fp16", "int8"])
def test_tensorrt_11_creates_strongly_typed_networks(prec: str) -> None:
    assert precision.network_plan(fake_tensorrt("11.0.0"), prec, True) == (1 << 1, [], False)


def test_build_engine_on_each_generation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain, marked = _onnx(tmp_path, "m.onnx"), _onnx(tmp_path, "h.onnx", precision.FP16_MARK.encode())
    trt10 = fake_tensorrt("10.3.0")
    monkeypatch.setitem(sys.modules, "tensorrt", trt10)
    device.build_engine(plain, str(tmp_path / "a.engine"), "int8")
    assert trt10.calls == [("create_network", 0), ("set_flag", 0), ("set_flag", 1), ("ranges", True)]  # type: ignore[attr-defined]

    trt11 = fake_tensorrt("11.0.0")
    monkeypatch.setitem(sys.modules, "tensorrt", trt11)
    device.build_engine(marked, str(tmp_path / "b.engine"), "fp16")  # would AttributeError on BuilderFlag.FP16
    assert trt11.calls == [("create_network", 2), ("ranges", False)]  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="needs an fp16 ONNX"):
        device.build_engine(plain, str(tmp_path / "c.engine"), "fp16")
    with pytest.raises(RuntimeError, match="needs a Q/DQ model"):
        device.build_engine(plain, str(tmp_path / "d.engine"), "int8")
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt("11.0.0", fp16_layers=True))
    device.build_engine(plain, str(tmp_path / "e.engine"), "fp16")  # an fp16 model without hwnas' mark
    assert (tmp_path / "e.engine").read_bytes() == b"engine"


# ---- the mode choice: a driver probe, not only imports ----


def _fake_cuda(monkeypatch: pytest.MonkeyPatch, result: tuple[int, int]) -> None:
    cuda = types.ModuleType("cuda")
    cudart = types.ModuleType("cuda.cudart")
    cudart.cudaGetDeviceCount = lambda: result  # type: ignore[attr-defined]
    cuda.cudart = cudart  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt("10.3.0"))
    monkeypatch.setitem(sys.modules, "cuda", cuda)
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)  # the cuda-python 12.x+ layout is absent
    monkeypatch.setitem(sys.modules, "cuda.cudart", cudart)


@pytest.mark.parametrize("result", [(100, 0), (0, 0)])  # cudaErrorNoDevice, or success with no device
def test_bindings_that_reach_no_gpu_fall_back_to_trtexec(
    result: tuple[int, int], fake_trtexec: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_trtexec(10)
    monkeypatch.setattr(device, "tensorrt_python", REAL_TENSORRT_PYTHON)
    _fake_cuda(monkeypatch, result)
    assert device._tensorrt_mode({}) == "trtexec"
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(trtexec, "TRTEXEC_PATHS", ())
    monkeypatch.setattr(device, "cuda_major", lambda: 11)
    with pytest.raises(RuntimeMissing, match=r"cudaGetDeviceCount .*no trtexec was found.*cuda-python==11\.\*"):
        device._tensorrt_mode({})


def test_a_reachable_gpu_selects_python_and_missing_numpy_falls_back(
    fake_trtexec: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_trtexec(10)
    monkeypatch.setattr(device, "tensorrt_python", REAL_TENSORRT_PYTHON)
    _fake_cuda(monkeypatch, (0, 1))
    assert device._tensorrt_mode({}) == "python"
    monkeypatch.setitem(sys.modules, "numpy", None)
    assert device.python_problem() == "TensorRT's Python bindings import but numpy does not (pip install numpy)"
    assert device._tensorrt_mode({}) == "trtexec"
    with pytest.raises(RuntimeMissing, match="trt_mode is python, but .*numpy"):
        device._tensorrt_mode({"trt_mode": "python"})


def test_cuda_python_hint_is_pinned_to_the_cuda_major(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "cuda_major", lambda: 12)
    hint = device.cuda_python_hint()
    assert "pip install 'cuda-python==12.*'" in hint and "13.x needs driver 580+" in hint
    assert "do not support Jetson" in hint and "nvidia-tensorrt" in hint and "/usr/src/tensorrt/bin" in hint


# ---- JetPack 5's Python 3.8 ----


def test_device_side_parses_with_python_3_8_grammar() -> None:
    sources = {p for p in archive_members().values() if p is not None}
    sources |= set((ROOT / "hwnas" / "runtimes").glob("*/device.py")) | set((ROOT / "hwnas" / "ondevice").glob("*.py"))
    assert ROOT / "hwnas" / "runtimes" / "tensorrt" / "trtexec.py" in sources
    for path in sorted(sources):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 8))


# ---- the host's fp16 copy for TensorRT 11 ----


def test_host_writes_a_marked_fp16_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx
    import torch

    from hwnas.onnx_export import export_onnx
    from hwnas.runtimes.tensorrt import fp16

    seen = {}

    def convert(model: Any, keep_io_types: bool = False) -> Any:
        seen["keep_io_types"] = keep_io_types
        return model

    fake = types.ModuleType("onnxconverter_common")
    fake.__spec__ = importlib.machinery.ModuleSpec("onnxconverter_common", None)
    fake.float16 = types.SimpleNamespace(convert_float_to_float16=convert)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "onnxconverter_common", fake)
    assert fp16.converter_available()
    path = export_onnx(torch.nn.Conv2d(3, 4, 3), (1, 3, 8, 8), tmp_path / "m.onnx")
    fp16.write_fp16(path, path)
    assert seen == {"keep_io_types": True}
    assert {p.key for p in onnx.load(str(path)).metadata_props} == {precision.FP16_MARK}
    assert precision.onnx_facts(str(path)) == (False, True)
    monkeypatch.setitem(sys.modules, "onnxconverter_common", None)
    with pytest.raises(Exception, match="pip install onnxconverter-common"):
        fp16.write_fp16(path, tmp_path / "n.onnx")
