"""hwnas on-device runner: times models with the device's own runtime and answers in JSON.

Self-contained on purpose: it imports the Python standard library plus the runtime it
times (onnxruntime, TensorRT with cuda-python or ``trtexec``, coremltools) and nothing
from hwnas, so ``hwnas profile`` copies this one file to a Jetson or a Raspberry Pi and
runs it there. For local devices the host calls :func:`handle` in-process, so a table
measured locally and one measured over SSH are timed by the same code. Python >= 3.8
(JetPack 5 ships 3.8).

Protocol (``python3 runner.py serve``): one JSON request per line on stdin, one JSON
reply per line on stdout, in order::

    {"op": "describe", "runtime": R, "options": {...}}
    {"op": "measure", "runtime": R, "path": P, "input_shape": [1, 3, 224, 224],
     "options": {...}, "timing": {...}}
    {"op": "exit"}

``R`` is ``onnxruntime``, ``tensorrt`` or ``coreml``; ``P`` is an ONNX (or ``.ort``) file, an
``.mlpackage``, or for TensorRT also a serialised ``.engine`` / ``.plan``, timed as it is. ``options``: ``precision``,
``threads``, ``provider`` and ``graph_optimization``. ``timing``: ``warmup_runs``,
``warmup_s``, ``min_runs``, ``min_time_s`` (warm up for at least both, then time runs
until both the count and the time are reached). A reply has ``"ok": true`` and the
result, or ``"ok": false`` with a one-line ``error`` and ``"missing": true`` when the
runtime itself is not installed. Replies of ``measure`` carry the raw per-run samples
in milliseconds (``samples_ms``), the seconds spent in the timed runs (``timed_s``)
and in loading, building and warming up (``setup_s``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

PROTOCOL_VERSION = 1
_ORT_OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
_TRTEXEC_PATHS = ("/usr/src/tensorrt/bin/trtexec", "/usr/local/tensorrt/bin/trtexec", "/opt/tensorrt/bin/trtexec")


_SAMPLE_CLOCKS = {"wall": time.perf_counter_ns, "thread_cpu": time.thread_time_ns}


class RuntimeMissing(Exception):
    """The runtime (or the platform it needs) is not on this device; the message says what to install."""


# ---- the measuring practice -----------------------------------------------------------------
def timed_runs(run, timing):
    """Warm up, then time ``run`` until both ``min_runs`` and ``min_time_s`` are reached.

    ``run`` returns ``None`` (the host clock times it) or its own duration in ms (a GPU
    timer: CUDA events). The host clock is ``timing["clock"]``: ``wall`` (default) or
    ``thread_cpu``, the CPU time of the calling thread, which leaves out the time other
    processes take the core away; it equals latency only when the runtime computes on
    the calling thread (ONNX Runtime with one intra-op thread). Returns
    ``(samples_ms, timed_s, warmup_s)``; the budgets (``warmup_s``, ``min_time_s``) are
    wall time.
    """
    warmup_runs = int(timing.get("warmup_runs", 10))
    warmup_s = float(timing.get("warmup_s", 0.05))
    min_runs = max(1, int(timing.get("min_runs", 20)))
    min_time_s = float(timing.get("min_time_s", 0.3))
    sample_clock = _SAMPLE_CLOCKS.get(timing.get("clock") or "wall")
    if sample_clock is None:
        raise ValueError("timing clock must be one of %s, got %r" % (", ".join(_SAMPLE_CLOCKS), timing.get("clock")))
    clock = time.perf_counter
    start = clock()
    done = 0
    while done < warmup_runs or clock() - start < warmup_s:
        run()
        done += 1
    warm = clock() - start
    samples = []
    start = clock()
    while len(samples) < min_runs or clock() - start < min_time_s:
        t0 = sample_clock()
        own = run()
        host_ms = (sample_clock() - t0) / 1e6
        samples.append(float(own) if own is not None else host_ms)
    return samples, clock() - start, warm


def _import(module, package, hint):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise RuntimeMissing(
            "%s is not installed for %s on this device (%s)" % (package, sys.executable, hint)
        ) from None


def _random_input(np, shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(dtype)


# ---- ONNX Runtime ---------------------------------------------------------------------------
def onnxruntime_session(path, options):
    """An InferenceSession with every option that changes timings set explicitly."""
    ort = _import("onnxruntime", "onnxruntime", "pip install onnxruntime")
    provider = options.get("provider") or "CPUExecutionProvider"
    available = ort.get_available_providers()
    if provider not in available:
        raise RuntimeMissing(
            "onnxruntime %s has no %s here (available: %s)" % (ort.__version__, provider, ", ".join(available))
        )
    so = ort.SessionOptions()
    threads = options.get("threads")
    so.intra_op_num_threads = int(threads) if threads else 0
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    level = options.get("graph_optimization") or "all"
    if level not in _ORT_OPT_LEVELS:
        raise ValueError("graph_optimization must be one of %s, got %r" % (", ".join(_ORT_OPT_LEVELS), level))
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _ORT_OPT_LEVELS[level])
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=[provider])


def measure_onnxruntime(path, input_shape, options, timing):
    np = _import("numpy", "numpy", "pip install numpy")
    t0 = time.perf_counter()
    session = onnxruntime_session(path, options)
    inp = session.get_inputs()[0]
    dtype = "float16" if inp.type == "tensor(float16)" else "float32"
    feeds = {inp.name: _random_input(np, input_shape, dtype)}
    outputs = [o.name for o in session.get_outputs()]
    load_s = time.perf_counter() - t0

    def run():
        session.run(outputs, feeds)

    samples, timed_s, warm_s = timed_runs(run, timing)
    return {"samples_ms": samples, "timed_s": timed_s, "setup_s": load_s + warm_s}


def describe_onnxruntime(options):
    ort = _import("onnxruntime", "onnxruntime", "pip install onnxruntime")
    return {
        "name": "onnxruntime",
        "version": ort.__version__,
        "provider": options.get("provider") or "CPUExecutionProvider",
        "available_providers": list(ort.get_available_providers()),
        "graph_optimization": options.get("graph_optimization") or "all",
        "intra_op_threads": options.get("threads") or 0,
        "inter_op_threads": 1,
    }


# ---- TensorRT -------------------------------------------------------------------------------
def _tensorrt_python():
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


def _trtexec():
    found = shutil.which("trtexec")
    if found:
        return found
    for path in _TRTEXEC_PATHS:
        if os.access(path, os.X_OK):
            return path
    return None


def _tensorrt_mode(options):
    """``python`` (tensorrt + cuda-python) or ``trtexec``; ``options['trt_mode']`` may force one."""
    want = options.get("trt_mode") or "auto"
    trt, cudart = _tensorrt_python()
    if want in ("auto", "python") and trt is not None and cudart is not None:
        return "python"
    if want in ("auto", "trtexec") and _trtexec():
        return "trtexec"
    if trt is not None and cudart is None:
        raise RuntimeMissing("TensorRT's Python bindings import but cuda-python does not (pip install cuda-python), "
                             "and no trtexec was found")
    raise RuntimeMissing("neither the tensorrt Python package nor trtexec is on this device (pip install "
                         "'hwnas[tensorrt]' on a machine with an NVIDIA GPU; JetPack ships both)")


def _cuda(result):
    err = result[0]
    if int(err) != 0:
        raise RuntimeError("CUDA call failed: %s" % (err,))
    values = result[1:]
    return values[0] if len(values) == 1 else (values or None)


def _is_engine(path):
    """A serialised engine (``hwnas export --format tensorrt``) is timed as it is, not rebuilt."""
    return path.endswith((".engine", ".plan"))


def _engine_path(onnx_path, precision, version):
    return "%s.%s.trt%s.engine" % (onnx_path, precision, version)


def _placeholder_int8_ranges(trt, network):
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


def build_tensorrt_engine(onnx_path, engine_path, precision, placeholder_ranges=True):
    """Parse the ONNX file and build a serialised engine with the precision flags (atomic write).

    ``placeholder_ranges=False`` for an int8 graph that carries its own Q/DQ scales
    (explicit quantisation, e.g. ``hwnas export``'s calibrated engines)."""
    trt, _ = _tensorrt_python()
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
            raise RuntimeError("TensorRT could not parse %s: %s" % (onnx_path, first))
    config = builder.create_builder_config()
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        if placeholder_ranges:
            _placeholder_int8_ranges(trt, network)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT failed to build an engine for %s" % onnx_path)
    tmp = engine_path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(bytes(serialized))
    os.replace(tmp, engine_path)
    return engine_path


def _measure_tensorrt_python(path, input_shape, options, timing):
    trt, cudart = _tensorrt_python()
    np = _import("numpy", "numpy", "pip install numpy")
    precision = options.get("precision") or "fp16"
    t0 = time.perf_counter()
    engine_file = path if _is_engine(path) else _engine_path(path, precision, trt.__version__)
    if not os.path.exists(engine_file):
        build_tensorrt_engine(path, engine_file, precision)
    logger = trt.Logger(trt.Logger.WARNING)
    with open(engine_file, "rb") as fh:
        engine = trt.Runtime(logger).deserialize_cuda_engine(fh.read())
    if engine is None:
        raise RuntimeError("TensorRT could not load %s" % engine_file)
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
                host = _random_input(np, shape, dtype)
                _cuda(cudart.cudaMemcpy(ptr, host.ctypes.data, host.nbytes,
                                        cudart.cudaMemcpyKind.cudaMemcpyHostToDevice))
        handle = int(stream)
        load_s = time.perf_counter() - t0

        def run():
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
    return {"samples_ms": samples, "timed_s": timed_s, "setup_s": load_s + warm_s}


def _trtexec_version(exe):
    try:
        out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(r"TensorRT v(\d+)", out)
    if not m:
        return "unknown"
    n = int(m.group(1))
    if n >= 100000:  # v100300 -> 10.3.0
        return "%d.%d.%d" % (n // 10000, (n // 100) % 100, n % 100)
    return "%d.%d.%d" % (n // 1000, (n // 100) % 10, n % 100)  # v8601 -> 8.6.1


def _measure_trtexec(path, input_shape, options, timing):
    """GPU compute time per inference from ``trtexec --exportTimes`` (the Jetson fallback)."""
    exe = _trtexec()
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
        "--warmUp=%d" % max(1, int(1000 * float(timing.get("warmup_s", 0.2)))),
        "--iterations=%d" % max(1, int(timing.get("min_runs", 10))),
        "--duration=%d" % max(1, math.ceil(float(timing.get("min_time_s", 3.0)))),
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
            raise RuntimeError("trtexec failed (exit %d): %s" % (proc.returncode, tail[-1] if tail else ""))
        with open(times_file) as fh:
            times = json.load(fh)
    finally:
        os.unlink(times_file)
    wall = time.perf_counter() - t0
    samples = [float(t["computeMs"]) if "computeMs" in t else float(t["endComputeMs"]) - float(t["startComputeMs"])
               for t in times]
    if not samples:
        raise RuntimeError("trtexec reported no timed iterations")
    timed_s = sum(samples) / 1000.0
    return {"samples_ms": samples, "timed_s": timed_s, "setup_s": max(0.0, wall - timed_s)}


def measure_tensorrt(path, input_shape, options, timing):
    if _tensorrt_mode(options) == "python":
        return _measure_tensorrt_python(path, input_shape, options, timing)
    return _measure_trtexec(path, input_shape, options, timing)


def _gpu_name():
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            out = subprocess.run([exe, "--query-gpu=name,driver_version,clocks.sm,clocks.max.sm",
                                  "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout
            return out.strip().splitlines()[0] if out.strip() else None
        except (OSError, subprocess.TimeoutExpired):
            return None
    return _read_first("/proc/device-tree/model")  # Jetson: the board name


def describe_tensorrt(options):
    mode = _tensorrt_mode(options)
    if mode == "python":
        trt, _ = _tensorrt_python()
        version = trt.__version__
    else:
        version = _trtexec_version(_trtexec())
    return {"name": "tensorrt", "version": version, "mode": mode, "precision": options.get("precision") or "fp16",
            "gpu": _gpu_name(), "timer": "CUDA events, GPU compute time" if mode == "python" else "trtexec computeMs"}


# ---- Core ML --------------------------------------------------------------------------------
def _coreml_platform():
    if platform.system() != "Darwin":
        raise RuntimeMissing("timing needs macOS (this device runs %s); coremltools converts to .mlpackage "
                             "anywhere, but only a Mac runs Core ML predictions" % platform.system())
    return _import("coremltools", "coremltools", "pip install coremltools")


def measure_coreml(path, input_shape, options, timing):
    ct = _coreml_platform()
    np = _import("numpy", "numpy", "pip install numpy")
    t0 = time.perf_counter()
    units = getattr(ct.ComputeUnit, (options.get("provider") or "ALL").upper())
    model = ct.models.MLModel(path, compute_units=units)
    name = model.get_spec().description.input[0].name
    feeds = {name: _random_input(np, input_shape)}
    load_s = time.perf_counter() - t0

    def run():
        model.predict(feeds)

    samples, timed_s, warm_s = timed_runs(run, timing)
    return {"samples_ms": samples, "timed_s": timed_s, "setup_s": load_s + warm_s}


def describe_coreml(options):
    ct = _coreml_platform()
    return {"name": "coreml", "version": ct.__version__, "macos": platform.mac_ver()[0],
            "compute_units": (options.get("provider") or "ALL").upper()}


RUNTIMES = {
    "onnxruntime": (measure_onnxruntime, describe_onnxruntime),
    "tensorrt": (measure_tensorrt, describe_tensorrt),
    "coreml": (measure_coreml, describe_coreml),
}


# ---- the machine ----------------------------------------------------------------------------
def _read_first(path):
    try:
        with open(path, "rb") as fh:
            text = fh.read().replace(b"\x00", b"").decode("utf-8", "replace").strip()
        return text.splitlines()[0] if text else None
    except OSError:
        return None


def _cpu_model():
    if platform.system() == "Darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=10).stdout.strip() or platform.processor()
        except (OSError, subprocess.TimeoutExpired):
            return platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            info = fh.read()
    except OSError:
        return platform.processor() or platform.machine()
    for field in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(r"^%s\s*:\s*(.+)$" % re.escape(field), info, re.MULTILINE)
        if m:
            return m.group(1).strip()
    return platform.processor() or platform.machine()


def _clocks():
    """CPU governor and frequencies (MHz) where readable: a table is only as stable as its clocks."""
    base = "/sys/devices/system/cpu/cpu0/cpufreq/"
    clocks = {}
    governor = _read_first(base + "scaling_governor")
    if governor:
        clocks["cpu_governor"] = governor
    for name in ("scaling_cur_freq", "scaling_max_freq"):
        value = _read_first(base + name)
        if value and value.isdigit():
            clocks["cpu_%s_mhz" % name.split("_")[1]] = int(value) // 1000
    exe = shutil.which("nvpmodel")
    if exe:
        try:
            out = subprocess.run([exe, "-q"], capture_output=True, text=True, timeout=10).stdout
            if out.strip():
                clocks["nvpmodel"] = out.strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired):
            pass
    return clocks


def fingerprint():
    """What the timings depend on besides the runtime: CPU, cores, OS, board, clocks."""
    info = {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cores_available"] = len(os.sched_getaffinity(0))
    board = _read_first("/proc/device-tree/model")
    if board:
        info["board"] = board
    clocks = _clocks()
    if clocks:
        info["clocks"] = clocks
    return info


# ---- requests -------------------------------------------------------------------------------
def handle(request):
    """Answer one request (a dict); never raises: failures become ``"ok": false`` replies."""
    op = request.get("op")
    try:
        if op == "exit":
            return {"ok": True}
        if op == "ping":
            return {"ok": True, "protocol": PROTOCOL_VERSION}
        runtime = request.get("runtime")
        if runtime not in RUNTIMES:
            return {"ok": False, "error": "unknown runtime %r (known: %s)" % (runtime, ", ".join(RUNTIMES))}
        measure, describe = RUNTIMES[runtime]
        options = request.get("options") or {}
        if op == "describe":
            return {"ok": True, "protocol": PROTOCOL_VERSION, "runtime": describe(options), "host": fingerprint()}
        if op == "measure":
            path = request["path"]
            if not os.path.exists(path):
                return {"ok": False, "error": "model file %s does not exist on the device" % path}
            result = measure(path, request["input_shape"], options, request.get("timing") or {})
            result["ok"] = True
            return result
        return {"ok": False, "error": "unknown op %r" % (op,)}
    except RuntimeMissing as exc:
        return {"ok": False, "missing": True, "error": str(exc)}
    except Exception as exc:  # the host turns this into a DeviceError naming the model
        text = str(exc).strip().splitlines()
        return {"ok": False, "error": "%s: %s" % (type(exc).__name__, text[0] if text else "")}


def serve():
    """Answer requests from stdin until ``exit`` or end of input.

    Runtimes print to stdout from C code; the reply channel is a private duplicate of
    the original stdout and fd 1 is pointed at stderr, so replies stay parseable.
    """
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError:
            reply = {"ok": False, "error": "request is not JSON"}
            request = {}
        else:
            reply = handle(request)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        if request.get("op") == "exit":
            break


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        serve()
        return 0
    if args[:1] == ["describe"] and len(args) == 2:
        print(json.dumps(handle({"op": "describe", "runtime": args[1], "options": {}}), indent=2))
        return 0
    sys.stderr.write("usage: runner.py serve | runner.py describe RUNTIME\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
