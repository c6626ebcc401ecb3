"""ONNX Runtime's export formats: ``onnx`` (the reference), ``ort`` (ORT Mobile) and ``int8`` (static QDQ).

**onnx** (opset >= 17): the reference artifact every other format is made from or checked
against. Exported with :func:`hwnas.onnx_export.export_onnx` (the exporter profiling uses, so the
file is the network the latency table priced), cleaned with onnxslim (constant folding,
dead nodes, fused shape arithmetic), checked with ``onnx.checker`` (full check, with
shape inference) and compared with PyTorch in a fresh ONNX Runtime session on random
and, when given, real images: max absolute difference <= 1e-4 or the export fails.

**ort** (``.ort``): what ONNX Runtime Mobile loads, made by ONNX Runtime's own converter.

``onnxruntime.tools.convert_onnx_models_to_ort`` with the *Fixed* optimisation style
(graph optimised at level "all" for the target CPU, as the tool does by default).
``target_platform`` is ``arm`` (phones, Raspberry Pi, Jetson CPUs) unless the target
device is this machine, then this machine's. The converter's
``required_operators.config`` comes along: it is what a reduced-size ORT Mobile build
is configured with. The ``.ort`` file is loaded in a fresh session and must match
PyTorch within 1e-4, like the ONNX file.

**int8**: static quantisation with ONNX Runtime's tools, calibrated on the ``--calibration`` images.

``quant_pre_process`` (shape inference, graph clean-up) and then ``quantize_static`` in
QDQ format: weights int8 per output channel (symmetric), activations uint8
(asymmetric, MinMax ranges from the calibration images), the combination ONNX
Runtime's CPU kernels run fastest (U8S8). Every op kind ORT can quantise is
quantised. The same function makes the symmetric int8 QDQ graph TensorRT needs for
its explicit-quantisation engines (``symmetric=True``).

The file is loaded in a fresh session and judged by top-1 agreement with the fp32
PyTorch model on the calibration images (and accuracy, when they carry labels); the
speed-up over fp32 is measured afterwards on the timing device.
"""

from __future__ import annotations

import contextlib
import io
import logging
import platform
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.devices import Device
from hwnas.errors import HwnasError, MissingDependency
from hwnas.export.base import INPUT_NAME, OUTPUT_NAME, ArtifactReport, ArtifactWriter, ExportContext
from hwnas.export.images import CalibrationImages
from hwnas.export.parity import compare, fp32_parity, ort_outputs, ort_session
from hwnas.io import atomic_path
from hwnas.onnx_export import DEFAULT_OPSET, export_onnx

OPSET = max(17, DEFAULT_OPSET)


def write_clean_onnx(ctx: ExportContext, path: Path, *, dynamic_batch: bool) -> dict[str, Any]:
    """Export, slim and check the model into ``path``; returns what was checked."""
    import onnx
    import onnxslim

    raw = ctx.scratch / f"raw-{'dynamic' if dynamic_batch else 'static'}.onnx"
    export_onnx(
        ctx.model,
        ctx.input_shape,
        raw,
        opset=OPSET,
        dynamic_batch=dynamic_batch,
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
    )
    raw_nodes = len(onnx.load(str(raw)).graph.node)
    with contextlib.redirect_stdout(io.StringIO()):  # onnxslim prints a summary table
        model = onnxslim.slim(str(raw))
    if model is None:
        raise HwnasError(f"onnxslim could not clean the exported ONNX graph of {ctx.arch}")
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise HwnasError(f"onnx.checker rejects the exported model: {str(exc).strip().splitlines()[0]}") from None
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    return {
        "onnx_checker": "passed (full_check)",
        "opset": _opset(model),
        "onnxslim": f"{raw_nodes} -> {len(model.graph.node)} nodes (onnxslim {onnxslim.__version__})",
        "input": _value_info(model.graph.input[0]),
        "output": _value_info(model.graph.output[0]),
    }


def _opset(model: Any) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _value_info(value: Any) -> dict[str, Any]:
    dims = [d.dim_param if d.dim_param else d.dim_value for d in value.type.tensor_type.shape.dim]
    return {"name": value.name, "shape": dims}


def expected_io(ctx: ExportContext) -> tuple[list[Any], list[Any]]:
    batch: Any = "batch" if ctx.dynamic_batch else 1
    return [batch, *ctx.input_shape[1:]], [batch, ctx.num_classes]


class OnnxWriter(ArtifactWriter):
    name = "onnx"
    title = "ONNX"
    file_name = "model.onnx"
    runtime = "onnxruntime"
    build_order = 0

    def write(self, ctx: ExportContext) -> ArtifactReport:
        path = ctx.out_dir / self.file_name
        checks = write_clean_onnx(ctx, path, dynamic_batch=ctx.dynamic_batch)
        want_in, want_out = expected_io(ctx)
        if checks["input"] != {"name": INPUT_NAME, "shape": want_in} or checks["output"] != {
            "name": OUTPUT_NAME,
            "shape": want_out,
        }:
            raise HwnasError(
                f"exported ONNX has input {checks['input']} and output {checks['output']}, expected "
                f"{INPUT_NAME} {want_in} and {OUTPUT_NAME} {want_out}"
            )
        parity = fp32_parity(path, ctx.parity_inputs, ctx.reference, extra_batch=3 if ctx.dynamic_batch else None)
        return ArtifactReport(self.name, self.file_name, "fp32", checks, parity)


# ---- ORT format ------------------------------------------------------------------------------
OPERATORS_CONFIG = "model.required_operators.config"


def target_platform(device: Device) -> str:
    """``amd64`` or ``arm``: what the converter optimises the graph layout for."""
    if device.is_remote or device.runtime != "onnxruntime":
        return "arm"
    return "amd64" if platform.machine().lower() in ("x86_64", "amd64") else "arm"


class OrtWriter(ArtifactWriter):
    name = "ort"
    title = "ORT format"
    file_name = "model.ort"
    runtime = "onnxruntime"
    needs = ("onnx",)
    build_order = 10

    def write(self, ctx: ExportContext) -> ArtifactReport:
        import onnxruntime
        from onnxruntime.tools.convert_onnx_models_to_ort import (
            OptimizationStyle,
            convert_onnx_models_to_ort,
        )

        source = ctx.artifacts["onnx"]
        work = ctx.scratch / "ort"
        work.mkdir(exist_ok=True)
        shutil.copy(source, work / "model.onnx")
        plat = target_platform(ctx.device)
        quiet = io.StringIO()
        logger = logging.getLogger("ort_format_model.utils")
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                convert_onnx_models_to_ort(
                    work / "model.onnx",
                    output_dir=work,
                    optimization_styles=[OptimizationStyle.Fixed],
                    target_platform=plat,
                )
        except Exception as exc:  # the converter raises plain exceptions; keep the first line
            first = str(exc).splitlines()[0]
            raise HwnasError(f"ONNX Runtime could not convert model.onnx to ORT format: {first}") from None
        finally:
            logger.setLevel(level)
        produced = work / "model.ort"
        if not produced.exists():
            tail = [ln for ln in quiet.getvalue().splitlines() if ln.strip()]
            raise HwnasError(f"ONNX Runtime's converter wrote no model.ort{': ' + tail[-1] if tail else ''}")
        shutil.move(str(produced), ctx.out_dir / self.file_name)
        extra: tuple[str, ...] = ()
        config = work / "model.required_operators.config"
        if config.exists():
            shutil.move(str(config), ctx.out_dir / OPERATORS_CONFIG)
            extra = (OPERATORS_CONFIG,)
        path: Path = ctx.out_dir / self.file_name
        parity = fp32_parity(path, ctx.parity_inputs, ctx.reference, extra_batch=3 if ctx.dynamic_batch else None)
        checks = {
            "converter": f"onnxruntime {onnxruntime.__version__} convert_onnx_models_to_ort",
            "optimization_style": "Fixed",
            "target_platform": plat,
            "loads": "fresh InferenceSession",
        }
        return ArtifactReport(self.name, self.file_name, "fp32", checks, parity, extra_files=extra)


# ---- INT8 ONNX --------------------------------------------------------------------------------
def quantize_qdq(
    onnx_path: Path, out_path: Path, calibration: CalibrationImages, scratch: Path, *, symmetric: bool = False
) -> dict[str, Any]:
    """Statically quantise ``onnx_path`` into ``out_path`` (QDQ); returns the settings used."""
    try:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise MissingDependency("onnxruntime.quantization", "pip install onnxruntime") from None

    class Reader(CalibrationDataReader):
        """Feeds the calibration images one at a time (the files have batch 1 or a dynamic batch)."""

        def __init__(self, images: np.ndarray) -> None:
            self.images = images
            self.i = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.i >= len(self.images):
                return None
            self.i += 1
            return {INPUT_NAME: self.images[self.i - 1 : self.i]}

    pre = scratch / f"{onnx_path.stem}.{'sym' if symmetric else 'asym'}.pre.onnx"
    activation = QuantType.QInt8 if symmetric else QuantType.QUInt8
    settings = {
        "format": "QDQ",
        "weights": "int8, per channel, symmetric",
        "activations": "int8, symmetric" if symmetric else "uint8, asymmetric",
        "calibration": f"MinMax over {len(calibration.images)} images",
    }
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), warnings.catch_warnings(), _quiet_logging():
            warnings.simplefilter("ignore")
            quant_pre_process(str(onnx_path), str(pre), skip_symbolic_shape=False)
            with atomic_path(out_path) as tmp:
                quantize_static(
                    str(pre),
                    str(tmp),
                    Reader(calibration.images),
                    quant_format=QuantFormat.QDQ,
                    per_channel=True,
                    activation_type=activation,
                    weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True},
                )
    except HwnasError:
        raise
    except Exception as exc:  # the quantiser raises plain exceptions; keep the first line
        first = str(exc).strip().splitlines()[0]
        raise HwnasError(f"ONNX Runtime could not quantise {onnx_path.name}: {first}") from None
    return settings


@contextlib.contextmanager
def _quiet_logging():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


class Int8Writer(ArtifactWriter):
    name = "int8"
    title = "INT8 ONNX"
    file_name = "model.int8.onnx"
    runtime = "onnxruntime"
    needs = ("onnx",)
    needs_calibration = True
    precisions = ("int8",)
    build_order = 20

    def precision_for(self, requested: str | None, device: object) -> str:
        return "int8"

    def write(self, ctx: ExportContext) -> ArtifactReport:
        assert ctx.calibration is not None, "the pipeline refuses int8 without --calibration"
        path = ctx.out_dir / self.file_name
        settings = quantize_qdq(ctx.artifacts["onnx"], path, ctx.calibration, ctx.scratch)
        import onnx

        ops = sorted({n.op_type for n in onnx.load(str(path)).graph.node})
        if "QuantizeLinear" not in ops or "DequantizeLinear" not in ops:
            raise HwnasError("the quantised model has no QuantizeLinear/DequantizeLinear nodes: nothing was quantised")
        session = ort_session(path)
        outputs = ort_outputs(session, ctx.parity_inputs["real"])
        agreement = compare(ctx.reference["real"], outputs, labels=ctx.calibration.labels)
        random = compare(ctx.reference["random"], ort_outputs(session, ctx.parity_inputs["random"]))
        parity = {
            "runtime": "onnxruntime (fresh CPU session)",
            "reference": "PyTorch fp32",
            "calibration_images": agreement,
            "random": random,
        }
        checks = {
            "quantization": settings,
            "loads": "fresh InferenceSession",
            "quantized_nodes": sum(n.op_type == "QuantizeLinear" for n in onnx.load(str(path)).graph.node),
        }
        notes: tuple[str, ...] = ("top-1 agreement is measured on the calibration images themselves",)
        if ctx.calibration.labels is None:
            notes += ("the calibration set has no labels: no accuracy figure",)
        return ArtifactReport(self.name, self.file_name, "int8", checks, parity, notes=notes)


WRITERS = (OnnxWriter, OrtWriter, Int8Writer)
