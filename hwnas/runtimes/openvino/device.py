"""OpenVINO on the device: a compiled model with the LATENCY performance hint, and the device file's
streams, threads and precision set explicitly (what OpenVINO would otherwise pick for itself).

Standard library + openvino and numpy only: packed into the runner zipapp.
"""

from __future__ import annotations

import os
import time
from typing import Any

from hwnas.ondevice.core import RuntimeMissing, import_runtime, measured, random_input, timed_runs

HINT = "pip install openvino"
IR_XML = "model.xml"


def _core() -> tuple[Any, Any]:
    ov = import_runtime("openvino", "openvino", HINT)
    return ov, ov.Core()


def _device(core: Any, options: dict[str, Any]) -> str:
    device = options.get("provider") or "CPU"
    available = list(core.available_devices)
    if device not in available and device.split(".")[0] not in [d.split(".")[0] for d in available]:
        raise RuntimeMissing(
            "OpenVINO has no {} device here (available: {}); an Intel GPU needs its compute runtime "
            "(intel-opencl-icd), an NPU its driver".format(device, ", ".join(available) or "none")
        )
    return device


def config(options: dict[str, Any], device: str) -> dict[str, Any]:
    """The compile-time properties: LATENCY hint, streams, threads (CPU) and inference precision."""
    cfg: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if options.get("streams"):
        cfg["NUM_STREAMS"] = str(int(options["streams"]))
    if options.get("threads") and device.startswith("CPU"):
        cfg["INFERENCE_NUM_THREADS"] = int(options["threads"])
    cfg["INFERENCE_PRECISION_HINT"] = "f16" if options.get("precision") == "fp16" else "f32"
    return cfg


def compiled_model(path: str, options: dict[str, Any]) -> Any:
    """Compile the IR at ``path`` (an IR folder or its model.xml) for the device in ``options``."""
    _, core = _core()
    device = _device(core, options)
    xml = os.path.join(path, IR_XML) if os.path.isdir(path) else path
    return core.compile_model(xml, device, config(options, device))


def measure(path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    np = import_runtime("numpy", "numpy", "pip install numpy")
    ov = import_runtime("openvino", "openvino", HINT)
    t0 = time.perf_counter()
    compiled = compiled_model(path, options)
    request = compiled.create_infer_request()
    request.set_input_tensor(ov.Tensor(random_input(np, input_shape)))
    load_s = time.perf_counter() - t0

    def run() -> None:
        request.infer()

    samples, timed_s, warm_s = timed_runs(run, timing)
    return measured(samples, timed_s, load_s + warm_s)


def describe(options: dict[str, Any]) -> dict[str, Any]:
    ov, core = _core()
    device = _device(core, options)
    return {
        "name": "openvino",
        "version": ov.get_version(),
        "device": device,
        "device_name": core.get_property(device, "FULL_DEVICE_NAME"),
        "available_devices": list(core.available_devices),
        "properties": config(options, device),
    }
