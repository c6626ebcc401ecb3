"""ONNX Runtime on the device: a session with every option that changes timings set explicitly.

Standard library + onnxruntime and numpy only: packed into the runner zipapp.
"""

from __future__ import annotations

import time
from typing import Any

from hwnas.ondevice.core import RuntimeMissing, import_runtime, measured, random_input, timed_runs

OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


def session(path: str, options: dict[str, Any]) -> Any:
    """An InferenceSession: intra-op threads as asked, one inter-op thread, sequential execution."""
    ort = import_runtime("onnxruntime", "onnxruntime", "pip install onnxruntime")
    provider = options.get("provider") or "CPUExecutionProvider"
    available = ort.get_available_providers()
    if provider not in available:
        raise RuntimeMissing(
            "onnxruntime {} has no {} here (available: {})".format(ort.__version__, provider, ", ".join(available))
        )
    so = ort.SessionOptions()
    threads = options.get("threads")
    so.intra_op_num_threads = int(threads) if threads else 0
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    level = options.get("graph_optimization") or "all"
    if level not in OPT_LEVELS:
        raise ValueError("graph_optimization must be one of {}, got {!r}".format(", ".join(OPT_LEVELS), level))
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPT_LEVELS[level])
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=[provider])


def measure(path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    np = import_runtime("numpy", "numpy", "pip install numpy")
    t0 = time.perf_counter()
    sess = session(path, options)
    inp = sess.get_inputs()[0]
    dtype = "float16" if inp.type == "tensor(float16)" else "float32"
    feeds = {inp.name: random_input(np, input_shape, dtype)}
    outputs = [o.name for o in sess.get_outputs()]
    load_s = time.perf_counter() - t0

    def run() -> None:
        sess.run(outputs, feeds)

    samples, timed_s, warm_s = timed_runs(run, timing)
    return measured(samples, timed_s, load_s + warm_s)


def describe(options: dict[str, Any]) -> dict[str, Any]:
    ort = import_runtime("onnxruntime", "onnxruntime", "pip install onnxruntime")
    return {
        "name": "onnxruntime",
        "version": ort.__version__,
        "provider": options.get("provider") or "CPUExecutionProvider",
        "available_providers": list(ort.get_available_providers()),
        "graph_optimization": options.get("graph_optimization") or "all",
        "intra_op_threads": options.get("threads") or 0,
        "inter_op_threads": 1,
    }
