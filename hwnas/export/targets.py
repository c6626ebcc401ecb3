"""Every device a network was searched for, in its model card (issue 24).

A winner of ``hwnas search --device a --latency-ms 12 --device b --latency-ms 8`` must hold on
each device. The export checks the first one as for any run (``latency_check``); this module adds
the others: each device's table prediction beside its budget, and, on a device of this machine,
the fp32 file its runtime runs timed there against that prediction. A device this machine does
not reach (SSH, adb) or whose file was not exported gets the reason instead of a number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hwnas.devices import Device, load_device
from hwnas.export.base import ArtifactReport
from hwnas.export.formats import FORMATS
from hwnas.export.measure import latency_check, measure_artifacts, predict
from hwnas.spaces.base import SearchSpace


def device_targets(
    devices: Sequence[tuple[str, float]],
    primary: dict[str, Any],
    *,
    space: SearchSpace[Any],
    arch: str,
    resolution: int,
    num_classes: int,
    reports: dict[str, ArtifactReport],
    paths: dict[str, Path],
    input_shape: tuple[int, ...],
    measure: bool,
    on_step: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One entry per (device, budget): budget, prediction and the latency check (``primary`` is the
    first device's, already made by the export)."""
    out = [{"device": devices[0][0], "budget_ms": devices[0][1], **primary}]
    for name, budget in devices[1:]:
        device = load_device(name)
        prediction = predict(space, arch, device, resolution, num_classes, None)
        entry: dict[str, Any] = {"device": device.name, "budget_ms": budget, "runtime": device.runtime}
        entry["predicted_ms"] = prediction.get("predicted_latency_ms")
        entry["check"] = _check(device, prediction, reports, paths, input_shape, measure, on_step)
        out.append(entry)
    return out


def _check(
    device: Device,
    prediction: dict[str, Any],
    reports: dict[str, ArtifactReport],
    paths: dict[str, Path],
    input_shape: tuple[int, ...],
    measure: bool,
    on_step: Callable[[str], None] | None,
) -> dict[str, Any]:
    if not measure:
        return {"checked": False, "reason": "not timed (--no-measure)"}
    if device.is_remote:
        return {"checked": False, "reason": f"{device.name} is reached over {device.connection}: not timed by export"}
    fmt = next(
        (f for f, r in reports.items() if FORMATS.get(f).runtime == device.runtime and r.precision == device.precision),
        "onnx" if device.runtime == "onnxruntime" else None,
    )
    if fmt is None:
        wanted = [f for f in FORMATS.names() if FORMATS.get(f).runtime == device.runtime]
        return {"checked": False, "reason": f"no {device.runtime} file exported (add --format {','.join(wanted)})"}
    latency = measure_artifacts({fmt: reports[fmt]}, {fmt: paths[fmt]}, {fmt: FORMATS.get(fmt).runtime}, device,
                                input_shape, on_step=on_step)  # fmt: skip
    return latency_check(prediction, latency.get(fmt), reports[fmt].file)
