"""LiteRT on the device: the LiteRT interpreter (XNNPACK on the CPU) with an explicit thread count.

Standard library + ai-edge-litert (or the older tflite-runtime wheel) and numpy only:
packed into the runner zipapp for SSH boards. Android phones are not timed here but with
LiteRT's ``benchmark_model`` over adb (``hwnas.transport.adb``).
"""

from __future__ import annotations

import time
from typing import Any

from hwnas.ondevice.core import RuntimeMissing, import_runtime, measured, random_input, timed_runs

HINT = "pip install ai-edge-litert"


def _interpreter() -> tuple[Any, str]:
    """The Interpreter class and ``package version``: ai-edge-litert, else tflite-runtime."""
    try:
        import ai_edge_litert
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, f"ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')}"
    except ImportError:
        pass
    try:
        import tflite_runtime
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, f"tflite-runtime {getattr(tflite_runtime, '__version__', '?')}"
    except ImportError:
        import_runtime("ai_edge_litert", "ai-edge-litert", HINT)  # raises RuntimeMissing with the hint
        raise RuntimeMissing(f"ai-edge-litert is not installed ({HINT})") from None


def _threads(options: dict[str, Any]) -> int:
    threads = options.get("threads")
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"litert needs an explicit thread count (threads >= 1), got {threads!r}")
    return threads


#: ``provider: cpu-builtin``: LiteRT's own CPU kernels, without the default XNNPACK delegate (another
#: cost model on the same CPU: the stand-in for another phone when a LiteRT prior is checked).
BUILTIN = "cpu-builtin"
XNNPACK = "cpu (XNNPACK delegate)"


def _resolver(cls: Any, options: dict[str, Any]) -> dict[str, Any]:
    if options.get("provider") != BUILTIN:
        return {}
    kinds = getattr(__import__(cls.__module__, fromlist=["OpResolverType"]), "OpResolverType", None)
    if kinds is None:
        raise RuntimeMissing(f"this LiteRT interpreter cannot leave XNNPACK out (provider {BUILTIN}); {HINT}")
    return {"experimental_op_resolver_type": kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES}


def interpreter(path: str, options: dict[str, Any]) -> Any:
    """A fresh interpreter for ``path`` with its tensors allocated."""
    cls, _ = _interpreter()
    it = cls(model_path=path, num_threads=_threads(options), **_resolver(cls, options))
    it.allocate_tensors()
    return it


def measure(path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    np = import_runtime("numpy", "numpy", "pip install numpy")
    t0 = time.perf_counter()
    it = interpreter(path, options)
    detail = it.get_input_details()[0]
    shape = [int(d) for d in detail["shape"]]
    if sorted(shape) != sorted(int(d) for d in input_shape):
        raise ValueError(f"the model takes input {shape}, the request says {list(input_shape)}")
    it.set_tensor(detail["index"], random_input(np, shape, np.dtype(detail["dtype"]).name))
    load_s = time.perf_counter() - t0

    def run() -> None:
        it.invoke()

    samples, timed_s, warm_s = timed_runs(run, timing)
    return measured(samples, timed_s, load_s + warm_s)


def describe(options: dict[str, Any]) -> dict[str, Any]:
    _, version = _interpreter()
    return {
        "name": "litert",
        "version": version,
        "provider": "cpu (builtin kernels, no XNNPACK)" if options.get("provider") == BUILTIN else XNNPACK,
        "threads": options.get("threads"),
    }
