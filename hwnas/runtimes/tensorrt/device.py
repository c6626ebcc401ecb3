"""TensorRT on the device: engines built where they run, timed by CUDA events or ``trtexec``.

An ONNX file is built into an engine (cached beside it, per precision and TensorRT build);
a serialised ``.engine`` / ``.plan`` is timed as it is. TensorRT 10 sets precision with
builder flags (int8 engines built here get placeholder dynamic ranges: their speed is
representative, their outputs are not); TensorRT 11 builds strongly typed networks from a
model that carries its precision (``precision.py``). Timing uses GPU compute time from CUDA
events (tensorrt + cuda-python + numpy, and a driver that answers), else
``trtexec --exportTimes`` (``trtexec.py``). :func:`build_engine` is also what
``hwnas export --format tensorrt`` uses.

Standard library + tensorrt, cuda-python and numpy only: packed into the runner zipapp.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import time
from typing import Any

from hwnas.ondevice.core import RuntimeMissing, import_runtime, measured, random_input, read_first, timed_runs
from hwnas.runtimes.tensorrt import trtexec
from hwnas.runtimes.tensorrt.precision import check_strongly_typed, generation, major, network_plan, onnx_facts

JETSON_HINT = (
    "NVIDIA's pip wheels do not support Jetson: there, install JetPack's apt packages "
    "(nvidia-tensorrt, or python3-libnvinfer), which ship trtexec at /usr/src/tensorrt/bin"
)


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


def cuda_major() -> int:
    """The CUDA toolkit's major version on this device (``/usr/local/cuda/version.json``), 0 when unknown."""
    try:
        with open("/usr/local/cuda/version.json") as fh:
            return major(json.load(fh)["cuda"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def cuda_python_hint() -> str:
    """``pip install 'cuda-python==<CUDA major>.*'``: cuda-python's major must match the CUDA major."""
    n = cuda_major()
    pinned = f"pip install 'cuda-python=={n}.*' (this device has CUDA {n})" if n else "pip install 'cuda-python==12.*'"
    return (
        f"{pinned}; cuda-python's major must match CUDA's: 12.x for CUDA 12 (JetPack 6), 11.x for CUDA 11.4 "
        f"(JetPack 5), 13.x needs driver 580+. {JETSON_HINT}"
    )


def driver_problem(cudart: Any) -> str | None:
    """Why cuda-python cannot reach a GPU (``cudaGetDeviceCount`` fails or finds none), None when it can."""
    try:
        err, count = cudart.cudaGetDeviceCount()
    except Exception as exc:  # a driver that cannot initialise, a binding/driver mismatch
        return f"cudaGetDeviceCount raised {type(exc).__name__}: {exc}"
    if int(err) != 0:
        return f"cudaGetDeviceCount returned {err}"
    if int(count) < 1:
        return "cudaGetDeviceCount found no CUDA device"
    return None


def python_problem() -> str | None:
    """Why the python mode (tensorrt + cuda-python + numpy + a reachable GPU) cannot run, None when it can."""
    trt, cudart = tensorrt_python()
    if trt is None:
        return "the tensorrt Python package does not import"
    if cudart is None:
        return f"TensorRT's Python bindings import but cuda-python does not ({cuda_python_hint()})"
    if importlib.util.find_spec("numpy") is None:
        return "TensorRT's Python bindings import but numpy does not (pip install numpy)"
    problem = driver_problem(cudart)
    return f"tensorrt and cuda-python import, but {problem}" if problem else None


def _tensorrt_mode(options: dict[str, Any]) -> str:
    """``python`` (tensorrt + cuda-python + numpy, driver probed) or ``trtexec``; ``options['trt_mode']``
    may force one. Python bindings that cannot reach a GPU fall back to trtexec when it is there."""
    want = options.get("trt_mode") or "auto"
    problem = python_problem() if want in ("auto", "python") else "trt_mode is trtexec"
    if problem is None:
        return "python"
    if want in ("auto", "trtexec") and trtexec.find():
        return "trtexec"
    if want == "python":
        raise RuntimeMissing(f"trt_mode is python, but {problem}")
    raise RuntimeMissing(
        f"TensorRT cannot time here: {problem}, and no trtexec was found (not on PATH nor in "
        f"{', '.join(trtexec.TRTEXEC_PATHS)}). On a GPU machine: pip install 'hwnas[tensorrt]' and "
        f"{cuda_python_hint()}"
    )


def _cuda(result: Any) -> Any:
    err = result[0]
    if int(err) != 0:
        raise RuntimeError(f"CUDA call failed: {err}")
    values = result[1:]
    return values[0] if len(values) == 1 else (values or None)


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


def _has_fp16(trt: Any, network: Any) -> bool:
    """Whether a parsed (strongly typed) network computes anything in fp16."""
    tensors = [network.get_input(i) for i in range(network.num_inputs)]
    for li in range(network.num_layers):
        layer = network.get_layer(li)
        tensors += [layer.get_output(oi) for oi in range(layer.num_outputs)]
    return any(t.dtype == trt.float16 for t in tensors)


def build_engine(onnx_path: str, engine_path: str, precision: str, placeholder_ranges: bool = True) -> str:
    """Parse the ONNX file and build a serialised engine for ``precision`` (atomic write).

    TensorRT 10: builder flags (and, for int8, placeholder ranges unless
    ``placeholder_ranges=False``: an int8 graph that carries its own Q/DQ scales, e.g.
    ``hwnas export``'s calibrated engines). TensorRT 11: a strongly typed network, so the
    ONNX must carry the precision (an fp16 copy, or Q/DQ for int8); else a clear error."""
    trt, _ = tensorrt_python()
    if trt is None:
        raise RuntimeMissing(f"the tensorrt Python package is not installed (pip install tensorrt; {JETSON_HINT})")
    strongly_typed = major(trt.__version__) >= 11
    qdq, fp16 = onnx_facts(onnx_path) if strongly_typed else (False, False)
    if strongly_typed and precision == "int8":
        check_strongly_typed(precision, onnx_path, qdq, fp16, f"TensorRT {trt.__version__}")
    net_flags, builder_flags, ranges = network_plan(trt, precision, placeholder_ranges)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(net_flags)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as fh:
        if not parser.parse(fh.read()):
            first = parser.get_error(0) if parser.num_errors else "unknown parser error"
            raise RuntimeError(f"TensorRT could not parse {onnx_path}: {first}")
    if strongly_typed and precision == "fp16":
        check_strongly_typed(precision, onnx_path, qdq, fp16 or _has_fp16(trt, network), f"TensorRT {trt.__version__}")
    config = builder.create_builder_config()
    for name in builder_flags:
        config.set_flag(getattr(trt.BuilderFlag, name))
    if ranges:
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
    engine_file = path if trtexec.is_engine(path) else trtexec.engine_path(path, precision, trt.__version__)
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


def measure(path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    if _tensorrt_mode(options) == "python":
        return _measure_tensorrt_python(path, input_shape, options, timing)
    return trtexec.measure(path, input_shape, options, timing)


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
    """The runtime's row in the table: TensorRT version and its API generation (10: builder flags,
    11: strongly typed), the mode (python or trtexec), precision, GPU and timer."""
    mode = _tensorrt_mode(options)
    if mode == "python":
        trt, _ = tensorrt_python()
        version = trt.__version__
    else:
        version, _gen = trtexec.info(trtexec.require())
    return {
        "name": "tensorrt",
        "version": version,
        "generation": generation(version),
        "mode": mode,
        "precision": options.get("precision") or "fp16",
        "gpu": _gpu_name(),
        "timer": "CUDA events, GPU compute time" if mode == "python" else "trtexec computeMs",
    }
