"""Core ML on the device: predictions with the asked compute units; needs macOS.

Standard library + coremltools and numpy only: packed into the runner zipapp.
"""

from __future__ import annotations

import platform
import time
from typing import Any

from hwnas.ondevice.core import RuntimeMissing, import_runtime, measured, random_input, timed_runs


def _coreml_platform() -> Any:
    if platform.system() != "Darwin":
        raise RuntimeMissing(
            f"timing needs macOS (this device runs {platform.system()}); coremltools converts to "
            ".mlpackage anywhere, but only a Mac runs Core ML predictions"
        )
    return import_runtime("coremltools", "coremltools", "pip install coremltools")


def measure(path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    ct = _coreml_platform()
    np = import_runtime("numpy", "numpy", "pip install numpy")
    t0 = time.perf_counter()
    units = getattr(ct.ComputeUnit, (options.get("provider") or "ALL").upper())
    model = ct.models.MLModel(path, compute_units=units)
    name = model.get_spec().description.input[0].name
    feeds = {name: random_input(np, input_shape)}
    load_s = time.perf_counter() - t0

    def run() -> None:
        model.predict(feeds)

    samples, timed_s, warm_s = timed_runs(run, timing)
    return measured(samples, timed_s, load_s + warm_s)


def describe(options: dict[str, Any]) -> dict[str, Any]:
    ct = _coreml_platform()
    return {
        "name": "coreml",
        "version": ct.__version__,
        "macos": platform.mac_ver()[0],
        "compute_units": (options.get("provider") or "ALL").upper(),
    }
