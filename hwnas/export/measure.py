"""How fast the exported files are, and how fast the latency table said the network would be.

Timing reuses the latency stack: the device's runtime and target (``open_target``, the
on-device runner, the device's timing settings), so an exported file is timed exactly
as the table's blocks and ``hwnas validate-table``'s networks were. Which device times
an artifact:

- files of a runtime that can be timed on this machine (its ``host_device``: ``host-cpu``
  for ONNX Runtime's onnx, ort, int8, ``host-cpu-litert`` for .tflite, ``host-cpu-openvino``
  for OpenVINO IR): the target device when it runs that runtime (locally, over SSH or
  adb), else that host device;
- the others (Core ML packages, TensorRT engines): the target device when it runs that
  runtime (Core ML timing needs macOS; an engine must be timed where it was built).

A file that cannot be timed gets the reason instead of a number. The ±10% check
compares the figure of the fp32 file the target device runs (``model.onnx`` for ONNX
Runtime devices, ``model.tflite`` for LiteRT, ``openvino/model.xml`` for OpenVINO; by the
device's timing estimator, as the table was built) with the table's prediction on the
same device.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hwnas.devices import DEFAULT_DEVICE, Device, load_device
from hwnas.errors import HwnasError
from hwnas.export.base import ArtifactReport
from hwnas.latency.targets import open_target
from hwnas.latency.timing import TimingStats, best_of_rounds
from hwnas.records import BestRecord
from hwnas.runtimes import RUNTIMES
from hwnas.spaces.base import SearchSpace

TOLERANCE = 0.10


def timing_device(runtime: str, target: Device) -> tuple[Device | None, str]:
    """The device that times artifacts of ``runtime``, or None and the reason."""
    if target.runtime == runtime:
        return target, ""
    spec = RUNTIMES.get(runtime)
    if spec.host_device:
        return load_device(spec.host_device), ""
    return None, f"not timed: the target device {target.name} runs {target.runtime}; time it with {spec.timed_where}"


def measure_artifacts(
    reports: dict[str, ArtifactReport],
    paths: dict[str, Path],
    runtimes: dict[str, str],
    target: Device,
    input_shape: tuple[int, ...],
    on_step: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Latency record per format: device, runtime and median/p10/p90 (ms), or ``reason``.

    Files whose target device cannot be reached are timed on their runtime's host device
    (host-cpu, host-cpu-litert, host-cpu-openvino) instead, with the target's error kept as a note.
    """
    groups: dict[str, tuple[Device, list[str]]] = {}
    results: dict[str, dict[str, Any]] = {}
    for fmt in reports:
        device, reason = timing_device(runtimes[fmt], target)
        if device is None:
            results[fmt] = {"measured": False, "reason": reason}
        else:
            groups.setdefault(device.name, (device, []))[1].append(fmt)
    for device, formats in groups.values():
        try:
            results.update(_time_on(device, formats, reports, paths, input_shape, on_step))
        except HwnasError as exc:
            reason = f"not timed on {device.name}: {str(exc).splitlines()[0]}"
            host = RUNTIMES.get(runtimes[formats[0]]).host_device
            fallback = load_device(host or DEFAULT_DEVICE)
            if host and device.name != fallback.name:
                try:
                    timed = _time_on(fallback, formats, reports, paths, input_shape, on_step)
                    results.update({f: {**r, "note": reason} for f, r in timed.items()})
                    continue
                except HwnasError as again:
                    reason += f"; not timed on {fallback.name}: {str(again).splitlines()[0]}"
            results.update({f: {"measured": False, "reason": reason} for f in formats})
    return results


def _time_on(
    device: Device,
    formats: list[str],
    reports: dict[str, ArtifactReport],
    paths: dict[str, Path],
    input_shape: tuple[int, ...],
    on_step: Callable[[str], None] | None,
) -> dict[str, dict[str, Any]]:
    """Time every file ``timing.rounds`` times, rounds interleaved over the files; keep each file's fastest
    round by the device's ``timing.estimator``, as ``hwnas profile`` and ``validate-table`` do, so a slow
    spell of a shared machine costs one round, not the figure."""
    rounds = max(1, device.timing.rounds)
    estimator = device.timing.estimator
    timed: dict[str, list[TimingStats]] = {f: [] for f in formats}
    with open_target(device) as tgt:
        runtime = tgt.describe()["runtime"]
        where = dict(zip(formats, tgt.upload([paths[f] for f in formats]), strict=True))
        for r in range(rounds):
            for fmt in formats:
                if on_step:
                    on_step(f"timing {reports[fmt].file} on {device.name} (round {r + 1}/{rounds})")
                timed[fmt].append(tgt.measure(where[fmt], input_shape).stats)
    best = {fmt: best_of_rounds(timed[fmt], estimator) for fmt in formats}
    clock = device.timing.clock
    return {
        fmt: {
            "measured": True,
            "device": device.name,
            "runtime": f"{runtime.get('name')} {runtime.get('version')}",
            "threads": device.threads,
            "clock": clock,
            **best[fmt].to_dict(),
            "estimator": estimator,
            "rounds": rounds,
            "round_medians_ms": [st.median_ms for st in timed[fmt]],
        }
        for fmt in formats
    }


def predict(
    space: SearchSpace, arch: str, device: Device, resolution: int, num_classes: int, run: BestRecord | None
) -> dict[str, Any]:
    """The latency table's prediction for the target device (and what the search saw, for a run directory)."""
    from hwnas.latency.sources import BlockLatencyTable, load_latency_source

    result: dict[str, Any] = {"device": device.name}
    if run is not None:
        result["search_predicted_latency_ms"] = run.predicted_latency_ms
        result["search_latency_source"] = None if run.latency_source is None else dict(run.latency_source)
    try:
        source = load_latency_source(space=space, device=device, resolution=resolution, probe=True)
        if isinstance(source, BlockLatencyTable) and source.table.num_classes != num_classes:
            raise HwnasError(
                f"the table prices a {source.table.num_classes}-class head, this export has {num_classes} classes"
            )
        result["predicted_latency_ms"] = source.predict_ms(space, arch, resolution=resolution)
        result["latency_source"] = source.describe()
    except HwnasError as exc:
        result["predicted_latency_ms"] = None
        result["reason"] = str(exc).splitlines()[0]
    return result


def estimate_ms(latency: dict[str, Any]) -> float:
    """A timed file's figure by its device's estimator (the statistic its latency table keeps)."""
    return float(latency[f"{latency.get('estimator', 'median')}_ms"])


def latency_check(
    prediction: dict[str, Any], onnx_latency: dict[str, Any] | None, file: str = "model.onnx"
) -> dict[str, Any]:
    """Measured latency of the fp32 file the target runs (``file``; by the device's estimator, as the
    table was built) vs the table's prediction on the same device: ratio and within ±10%."""
    predicted = prediction.get("predicted_latency_ms")
    if predicted is None:
        return {"checked": False, "reason": prediction.get("reason", "no prediction")}
    if not onnx_latency or not onnx_latency.get("measured"):
        return {"checked": False, "reason": (onnx_latency or {}).get("reason", f"{file} was not timed")}
    if onnx_latency["device"] != prediction["device"]:
        return {
            "checked": False,
            "reason": f"{file} was timed on {onnx_latency['device']}, the prediction is for {prediction['device']}",
        }
    measured = estimate_ms(onnx_latency)
    ratio = measured / predicted
    return {
        "checked": True,
        "file": file,
        "device": prediction["device"],
        "predicted_ms": predicted,
        "measured_ms": measured,
        "estimator": onnx_latency.get("estimator", "median"),
        "ratio": ratio,
        "error_pct": 100.0 * (ratio - 1.0),
        "tolerance_pct": 100 * TOLERANCE,
        "within_tolerance": abs(ratio - 1.0) <= TOLERANCE,
    }


def int8_speedup(latency: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """fp32 ONNX / INT8 ONNX latency (device's estimator), when both were timed on the same device."""
    fp32, int8 = latency.get("onnx"), latency.get("int8")
    if not fp32 or not int8 or not fp32.get("measured") or not int8.get("measured") or fp32["device"] != int8["device"]:
        return None
    return {
        "device": fp32["device"],
        "estimator": fp32.get("estimator", "median"),
        "fp32_ms": estimate_ms(fp32),
        "int8_ms": estimate_ms(int8),
        "speedup": estimate_ms(fp32) / estimate_ms(int8),
    }
