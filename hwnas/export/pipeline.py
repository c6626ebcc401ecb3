"""``export_model``: from a search winner (or an encoding) to a directory of checked artifacts and a model card.

Order of work, chosen so that bad input costs nothing and leaves nothing:

1. resolve the architecture, formats, precision, device, weights and calibration
   images, and ask every writer whether this machine can write its format;
2. build the network (seeded initial weights, or ``--weights``) and its PyTorch
   reference outputs on random and real inputs;
3. write every format into a staging folder (ONNX first: the others derive from it
   or are checked against it), time the files, write the card;
4. rename the staging folder onto ``--out``. Any error before that deletes it.

Formats and precision: ``onnx`` (fp32) is always written, it is the reference. ``ort``
is fp32. ``int8`` is the statically quantised ONNX file and needs ``--calibration``.
``--precision`` sets the compute precision of the compiled formats: ``coreml`` (fp16 or
fp32, default fp16 or the Core ML device's) and ``tensorrt`` (fp32, fp16 or int8,
default the TensorRT device's or fp16). ``--precision int8`` also adds the ``int8``
format, so "int8" can be asked for either way.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from hwnas import __version__
from hwnas.counting import count_flops, count_params
from hwnas.devices import DEFAULT_DEVICE, Device, list_devices, load_device
from hwnas.errors import UsageError
from hwnas.export.base import INPUT_NAME, OUTPUT_NAME, ArtifactReport, ArtifactWriter, ExportContext
from hwnas.export.card import onnx_snippet, write_card
from hwnas.export.files import check_destination, sha256_of, size_bytes, staged_directory
from hwnas.export.formats import FORMATS
from hwnas.export.images import Preprocessing, load_calibration
from hwnas.export.measure import int8_speedup, latency_check, measure_artifacts, predict
from hwnas.export.parity import RANDOM_INPUTS, random_inputs, torch_outputs
from hwnas.export.source import ExportSource, resolve_source
from hwnas.export.targets import device_targets
from hwnas.export.weights import initial_weights, load_weights
from hwnas.records import ArtifactCard, Int8Speedup, LatencyCheck, ModelCard
from hwnas.runtimes import RUNTIMES

PRECISIONS = ("fp32", "fp16", "int8")
DEFAULT_FORMATS = ("onnx",)


@dataclass(frozen=True)
class ExportRequest:
    """What ``hwnas export`` was asked; ``target`` is a run directory, or an encoding when ``space`` is given."""

    target: str
    out: Path
    space: str | None = None
    formats: tuple[str, ...] = DEFAULT_FORMATS
    weights: Path | None = None
    num_classes: int | None = None
    resolution: int | None = None
    precision: str | None = None
    calibration: Path | None = None
    dynamic_batch: bool = False
    device: str | None = None
    seed: int | None = None
    measure: bool = True
    overwrite: bool = False
    best_file: str = "best.json"


def refuse_unrunnable(writer: type[ArtifactWriter], device: Device) -> None:
    """A device that names a deployment runtime (not ONNX Runtime) runs that runtime's formats and the
    portable ONNX files; a format of a third runtime for it is a mistake, refused before anything is
    written. ``host-cpu`` (ONNX Runtime) takes every format: each is timed where its runtime runs."""
    if device.runtime in ("onnxruntime", writer.runtime) or writer.runtime == "onnxruntime":
        return
    runtime = RUNTIMES.get(device.runtime)
    theirs = [d.name for d in list_devices() if d.runtime == writer.runtime]
    raise UsageError(
        f"device {device.name} runs {runtime.title} and cannot run the {writer.name} format "
        f"({writer.title} runs on {', '.join(theirs) or writer.runtime + ' devices'}); "
        f"export {', '.join(w for w in FORMATS if FORMATS.get(w).runtime in (device.runtime, 'onnxruntime'))} "
        f"for {device.name}, or give one of those devices with --device"
    )


def plan_formats(
    formats: tuple[str, ...], precision: str | None, calibration: Path | None, device: Device
) -> list[ArtifactWriter]:
    """Writers in build order (registry order, ONNX first), with every format/precision rule checked."""
    if precision is not None and precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    wanted = {f.strip().lower() for f in formats if f.strip()}
    for name in sorted(wanted):
        refuse_unrunnable(FORMATS.get(name), device)  # FORMATS.get: UnknownName listing the known formats
    wanted.add("onnx")
    if precision == "int8":
        wanted.add("int8")
    changed = True
    while changed:  # formats a requested one is made from
        changed = False
        for name in list(wanted):
            for need in FORMATS.get(name).needs:
                if need not in wanted:
                    wanted.add(need)
                    changed = True
    writers = [FORMATS.get(name)() for name in FORMATS.names() if name in wanted]
    if precision is not None:
        if precision != "fp32" and not any(precision in w.precisions for w in writers):
            compiled = [FORMATS.get(name).name for name in FORMATS if FORMATS.get(name).takes_precision]
            listed = ", ".join(compiled[:-1]) + f" and {compiled[-1]}" if len(compiled) > 1 else compiled[0]
            raise UsageError(
                f"--precision {precision} applies to the {listed} formats (ONNX, ORT and .tflite "
                f"files are fp32); add --format {' or '.join(compiled)}"
            )
        for w in writers:
            if w.takes_precision and precision not in w.precisions:
                raise UsageError(f"--precision {precision}: {w.title} exports {', '.join(w.precisions)}")
    for w in writers:
        if w.needs_calibration_for(precision, device) and calibration is None:
            raise UsageError(f"the {w.name} format needs --calibration (an image folder or an .npz with 'images')")
    for w in writers:
        w.check_available()
    return writers


def export_model(request: ExportRequest, *, on_step: Callable[[str], None] | None = None) -> ModelCard:
    """Write the artifacts and the model card into ``request.out``; returns the card (with ``out`` set)."""
    step = on_step or (lambda _: None)
    source = resolve_source(
        request.target,
        space=request.space,
        resolution=request.resolution,
        num_classes=request.num_classes,
        device=request.device,
        seed=request.seed,
        best_file=request.best_file,
    )
    device = load_device(source.device or DEFAULT_DEVICE)
    writers = plan_formats(request.formats, request.precision, request.calibration, device)
    check_destination(
        Path(request.out), overwrite=request.overwrite, inputs=(source.run_dir, request.weights, request.calibration)
    )

    step("building the network")
    space, arch_obj = source.space, source.space.decode(source.arch)
    with torch.random.fork_rng():  # seeded initial weights without touching the caller's RNG
        torch.manual_seed(source.seed)
        model = space.build(arch_obj, num_classes=source.num_classes, resolution=source.resolution).eval()
    if request.weights is not None:
        weights = load_weights(model, request.weights, arch=source.arch)
    else:
        weights = initial_weights(source.seed)
    input_shape = space.input_shape(source.resolution)
    preprocessing = Preprocessing.for_space(space, source.resolution)
    calibration = None
    if request.calibration is not None:
        step("reading calibration images")
        calibration = load_calibration(request.calibration, preprocessing, seed=source.seed)
    inputs = {"random": random_inputs(input_shape, RANDOM_INPUTS, source.seed)}
    if calibration is not None:
        inputs["real"] = calibration.images
    reference = {name: torch_outputs(model, x) for name, x in inputs.items()}
    prediction = predict(space, source.arch, device, source.resolution, source.num_classes, source.run)

    with (
        staged_directory(Path(request.out), overwrite=request.overwrite) as stage,
        tempfile.TemporaryDirectory(prefix="hwnas-export-") as scratch,
    ):
        ctx = ExportContext(
            model=model,
            space=space,
            arch=source.arch,
            input_shape=input_shape,
            num_classes=source.num_classes,
            dynamic_batch=request.dynamic_batch,
            device=device,
            precision=request.precision,
            preprocessing=preprocessing,
            calibration=calibration,
            parity_inputs=inputs,
            reference=reference,
            out_dir=stage,
            scratch=Path(scratch),
            seed=source.seed,
        )
        for writer in writers:
            step(f"writing {writer.title}")
            report = writer.write(ctx)
            ctx.reports[writer.name] = report
            ctx.artifacts[writer.name] = stage / report.file
        latency: dict[str, dict[str, Any]] = {}
        if request.measure:
            latency = measure_artifacts(
                ctx.reports, ctx.artifacts, {w.name: w.runtime for w in writers}, device, input_shape, on_step=step
            )
        else:
            latency = {name: {"measured": False, "reason": "not timed (--no-measure)"} for name in ctx.reports}
        for name, report in ctx.reports.items():
            ctx.reports[name] = replace(report, latency=latency[name])
        step("writing the model card")
        card = build_card(source, device, model, weights, ctx, prediction, latency)
        if source.devices:
            checked = checked_artifact(ctx.reports, device)
            primary = {
                "runtime": device.runtime,
                "predicted_ms": prediction.get("predicted_latency_ms"),
                "check": latency_check(prediction, latency.get(checked.format), checked.file),
            }
            targets = device_targets(
                source.devices, primary, space=space, arch=source.arch, resolution=source.resolution,
                num_classes=source.num_classes, reports=ctx.reports, paths=ctx.artifacts, input_shape=input_shape,
                measure=request.measure, on_step=step,
            )  # fmt: skip
            card = replace(card, targets=tuple(targets))
        write_card(stage, card)
    return replace(card, out=str(request.out))


def build_card(
    source: ExportSource,
    device: Device,
    model: torch.nn.Module,
    weights: dict[str, Any],
    ctx: ExportContext,
    prediction: dict[str, Any],
    latency: dict[str, dict[str, Any]],
) -> ModelCard:
    space, shape = source.space, ctx.input_shape
    batch: Any = "batch" if ctx.dynamic_batch else 1
    artifacts = []
    for report in ctx.reports.values():
        path = ctx.out_dir / report.file
        artifacts.append(
            ArtifactCard(
                format=report.format,
                file=report.file,
                precision=report.precision,
                size_bytes=size_bytes(path),
                sha256=sha256_of(path),
                checks=report.checks,
                parity=report.parity,
                latency=report.latency,
                notes=tuple(report.notes),
                extra_files=tuple({"file": f, "sha256": sha256_of(ctx.out_dir / f)} for f in report.extra_files),
            )
        )
    preprocessing = ctx.preprocessing.to_dict()
    checked = checked_artifact(ctx.reports, device)
    return ModelCard(
        name=f"hwnas-{space.name}-{source.resolution}-{sha256_text(source.arch)[:8]}",
        hwnas_version=__version__,
        torch_version=torch.__version__,
        architecture={
            "space": space.name,
            "encoding": source.arch,
            "resolution": source.resolution,
            "num_classes": source.num_classes,
            "params_m": count_params(model) / 1e6,
            "flops_m": count_flops(model, shape) / 1e6,
        },
        search=source.search_summary(),
        weights=weights,
        input={"name": INPUT_NAME, "shape": [batch, *shape[1:]], "dtype": "float32", "preprocessing": preprocessing},
        output={
            "name": OUTPUT_NAME,
            "shape": [batch, source.num_classes],
            "meaning": "unnormalised class scores (softmax gives probabilities)",
        },
        target={"device": device.name, "runtime": device.runtime, "precision": device.precision, **prediction},
        artifacts=tuple(artifacts),
        latency_check=LatencyCheck.from_json(latency_check(prediction, latency.get(checked.format), checked.file)),
        int8_speedup=Int8Speedup.from_json(int8_speedup(latency)),
        calibration=ctx.calibration.describe() if ctx.calibration is not None else None,
        parity_inputs={name: int(len(x)) for name, x in ctx.parity_inputs.items()},
        seed=source.seed,
        snippet=onnx_snippet(preprocessing, source.resolution),
    )


def checked_artifact(reports: dict[str, ArtifactReport], device: Device) -> ArtifactReport:
    """The file whose latency is checked against the table: the first (build order) that the target's
    runtime runs at the target's precision (model.tflite on a LiteRT device), else the ONNX file."""
    for report in reports.values():
        if FORMATS.get(report.format).runtime == device.runtime and report.precision == device.precision:
            return report
    return reports["onnx"]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
