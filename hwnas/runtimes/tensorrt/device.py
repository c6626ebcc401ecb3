"""TensorRT on the device: engines built where they run, timed by CUDA events or ``trtexec``.

An ONNX file is built into an engine (cached beside it, per precision and TensorRT build)
with fp16 / int8 builder flags; a serialised ``.engine`` / ``.plan`` is timed as it is.
Timing uses GPU compute time from CUDA events (tensorrt + cuda-python), or
``trtexec --exportTimes`` where the Python bindings are missing (some Jetsons). int8
engines built here get placeholder dynamic ranges: their speed is representative, their
outputs are not. :func:`build_engine` is also what ``hwnas export --format tensorrt`` uses.

Standard library + tensorrt, cuda-python and numpy only: packed into the runner zipapp.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from typing import Any

from hwnas.ondevice.core import RuntimeMissing, import_runtime, measured, random_input, read_first, timed_runs

TRTEXEC_PATHS = ("/usr/src/tensorrt/bin/trtexec", "/usr/local/tensorrt/bin/trtexec", "/opt/tensorrt/bin/trtexec")


def tensorrt_python() -> tuple[Any, Any]:
    """(tensorrt, cudart) when both Python packages import, else (tensorrt or None, None)."""
    try:
        import tensorrt as trt
    except ImportError:
        return None, None
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError:
            return trt, None
    return trt, cudart


def _trtexec() -> str | None:
    found = shutil.which("trtexec")
    if found:
        return found
    for path in TRTEXEC_PATHS:
        if os.access(path, os.X_OK):
            return path
    return None


def _require_trtexec() -> str:
    exe = _trtexec()
    if exe is None:
        raise RuntimeMissing("trtexec is not on this device (JetPack ships it in /usr/src/tensorrt/bin)")
    return exe


def _tensorrt_mode(options: dict[str, Any]) -> str:
    """``python`` (tensorrt + cuda-python) or ``trtexec``; ``options['trt_mode']`` may force one."""
    want = options.get("trt_mode") or "auto"
    trt, cudart = tensorrt_python()
    if want in ("auto", "python") and trt is not None and cudart is not None:
        return "python"
    if want in ("auto", "trtexec") and _trtexec():
        return "trtexec"
    if trt is not None and cudart is None:
        raise RuntimeMissing(
            "TensorRT's Python bindings import but cuda-python does not (pip install cuda-python), "
            "and no trtexec was found"
        )
    raise RuntimeMissing(
        "neither the tensorrt Python package nor trtexec is on this device (pip install "
        "'hwnas[tensorrt]' on a machine with an NVIDIA GPU; JetPack ships both)"
    )


def _cuda(result: Any) -> Any:
    err = result[0]
    if int(err) != 0:
        raise RuntimeError(f"CUDA call failed: {err}")
    values = result[1:]
    return values[0] if len(values) == 1 else (values or None)


def _is_engine(path: str) -> bool:
    """A serialised engine (``hwnas export --format tensorrt``) is timed as it is, not rebuilt."""
    return path.endswith((".engine", ".plan"))


def _engine_path(onnx_path: str, precision: str, version: str) -> str:
    return f"{onnx_path}.{precision}.trt{version}.engine"


def _placeholder_int8_ranges(trt: Any, network: Any) -> None:
    """Give every float tensor a dynamic range: int8 *speed* without calibration data, as
    ``trtexec --int8`` does. Such an engine's outputs are meaningless; its timing is not."""
    floats = (trt.float32, trt.float16)
    for i in range(network.num_inputs):
        network.get_input(i).set_dynamic_range(-4.0, 4.0)
    for li in range(network.num_layers):
        layer = network.get_layer(li)
        for oi in range(layer.num_outputs):
            tensor = layer.get_output(oi)
            if tensor.dtype in floats:
                tensor.set_dynamic_range(-4.0, 4.0)


def build_engine(onnx_path: str, engine_path: str, precision: str, placeholder_ranges: bool = True) -> str:
    """Parse the ONNX file and build a serialised engine with the precision flags (atomic write).

    ``placeholder_ranges=False`` for an int8 graph that carries its own Q/DQ scales
    (explicit quantisation, e.g. ``hwnas export``'s calibrated engines)."""
    trt, _ = tensorrt_python()
    if trt is None:
        raise RuntimeMissing("the tensorrt Python package is not installed (pip install tensorrt)")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if int(trt.__version__.split(".")[0]) < 10:  # explicit batch is the only mode from TensorRT 10 on
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as fh:
        if not parser.parse(fh.read()):
            first = parser.get_error(0) if parser.num_errors else "unknown parser error"
            raise RuntimeError(f"TensorRT could not parse {onnx_path}: {first}")
    config = builder.create_builder_config()
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        if placeholder_ranges:
            _placeholder_int8_ranges(trt, network)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine for {onnx_path}")
    tmp = engine_path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(bytes(serialized))
    os.replace(tmp, engine_path)
    return engine_path


def _measure_tensorrt_python(
    path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]
) -> dict[str, Any]:
    trt, cudart = tensorrt_python()
    np = import_runtime("numpy", "numpy", "pip install numpy")
    precision = options.get("precision") or "fp16"
    t0 = time.perf_counter()
    engine_file = path if _is_engine(path) else _engine_path(path, precision, trt.__version__)
    if not os.path.exists(engine_file):
        build_engine(path, engine_file, precision)
    logger = trt.Logger(trt.Logger.WARNING)
    with open(engine_file, "rb") as fh:
        engine = trt.Runtime(logger).deserialize_cuda_engine(fh.read())
    if engine is None:
        raise RuntimeError(f"TensorRT could not load {engine_file}")
    context = engine.create_execution_context()
    stream = _cuda(cudart.cudaStreamCreate())
    start_ev = _cuda(cudart.cudaEventCreate())
    end_ev = _cuda(cudart.cudaEventCreate())
    buffers = []
    try:
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            shape = tuple(engine.get_tensor_shape(name))
            if is_input and any(d < 0 for d in shape):
                context.set_input_shape(name, tuple(input_shape))
            shape = tuple(context.get_tensor_shape(name))
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            nbytes = max(1, int(np.prod(shape))) * dtype.itemsize
            ptr = _cuda(cudart.cudaMalloc(nbytes))
            buffers.append(ptr)
            context.set_tensor_address(name, int(ptr))
            if is_input:
                host = random_input(np, shape, dtype)
                _cuda(
                    cudart.cudaMemcpy(ptr, host.ctypes.data, host.nbytes, cudart.cudaMemcpyKind.cudaMemcpyHostToDevice)
                )
        handle = int(stream)
        load_s = time.perf_counter() - t0

        def run() -> float:
            _cuda(cudart.cudaEventRecord(start_ev, stream))
            if not context.execute_async_v3(handle):
                raise RuntimeError("TensorRT execution failed")
            _cuda(cudart.cudaEventRecord(end_ev, stream))
            _cuda(cudart.cudaEventSynchronize(end_ev))
            return _cuda(cudart.cudaEventElapsedTime(start_ev, end_ev))

        samples, timed_s, warm_s = timed_runs(run, timing)
    finally:
        for ptr in buffers:
            cudart.cudaFree(ptr)
        cudart.cudaEventDestroy(start_ev)
        cudart.cudaEventDestroy(end_ev)
        cudart.cudaStreamDestroy(stream)
    return measured(samples, timed_s, load_s + warm_s)


def _trtexec_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(r"TensorRT v(\d+)", out)
    if not m:
        return "unknown"
    n = int(m.group(1))
    if n >= 100000:  # v100300 -> 10.3.0
        return f"{n // 10000}.{(n // 100) % 100}.{n % 100}"
    return f"{n // 1000}.{(n // 100) % 10}.{n % 100}"  # v8601 -> 8.6.1


def _measure_trtexec(
    path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]
) -> dict[str, Any]:
    """GPU compute time per inference from ``trtexec --exportTimes`` (the Jetson fallback)."""
    exe = _require_trtexec()
    precision = options.get("precision") or "fp16"
    engine_file = path if _is_engine(path) else _engine_path(path, precision, "exec-" + _trtexec_version(exe))
    fd, times_file = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    cmd = [exe]
    if os.path.exists(engine_file):
        cmd.append("--loadEngine=" + engine_file)
    else:
        cmd += ["--onnx=" + path, "--saveEngine=" + engine_file]
        if precision in ("fp16", "int8"):
            cmd.append("--fp16")
        if precision == "int8":
            cmd.append("--int8")
    cmd += [
        f"--warmUp={max(1, int(1000 * float(timing['warmup_s'])))}",
        f"--iterations={max(1, int(timing['min_runs']))}",
        f"--duration={max(1, math.ceil(float(timing['min_time_s'])))}",
        "--avgRuns=1",
        "--useSpinWait",
        "--noDataTransfers",
        "--exportTimes=" + times_file,
    ]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()
            raise RuntimeError(f"trtexec failed (exit {proc.returncode}): {tail[-1] if tail else ''}")
        with open(times_file) as fh:
            times = json.load(fh)
    finally:
        os.unlink(times_file)
    wall = time.perf_counter() - t0
    samples = [
        float(t["computeMs"]) if "computeMs" in t else float(t["endComputeMs"]) - float(t["startComputeMs"])
        for t in times
    ]
    if not samples:
        raise RuntimeError("trtexec reported no timed iterations")
    timed_s = sum(samples) / 1000.0
    return measured(samples, timed_s, max(0.0, wall - timed_s))


def measure(path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    if _tensorrt_mode(options) == "python":
        return _measure_tensorrt_python(path, input_shape, options, timing)
    return _measure_trtexec(path, input_shape, options, timing)


def _gpu_name() -> str | None:
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            out = subprocess.run(
                [exe, "--query-gpu=name,driver_version,clocks.sm,clocks.max.sm", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            ).stdout
            return out.strip().splitlines()[0] if out.strip() else None
        except (OSError, subprocess.TimeoutExpired):
            return None
    return read_first("/proc/device-tree/model")  # Jetson: the board name


def describe(options: dict[str, Any]) -> dict[str, Any]:
    mode = _tensorrt_mode(options)
    if mode == "python":
        trt, _ = tensorrt_python()
        version = trt.__version__
    else:
        version = _trtexec_version(_require_trtexec())
    return {
        "name": "tensorrt",
        "version": version,
        "mode": mode,
        "precision": options.get("precision") or "fp16",
        "gpu": _gpu_name(),
        "timer": "CUDA events, GPU compute time" if mode == "python" else "trtexec computeMs",
    }
