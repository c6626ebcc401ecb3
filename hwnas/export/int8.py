"""INT8 ONNX: static quantisation with ONNX Runtime's tools, calibrated on the ``--calibration`` images.

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
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.errors import HwnasError, MissingDependency
from hwnas.export import FORMATS
from hwnas.export.base import INPUT_NAME, ArtifactReport, ArtifactWriter, ExportContext
from hwnas.export.images import CalibrationImages
from hwnas.export.parity import compare, ort_outputs, ort_session
from hwnas.io import atomic_path


def quantize_qdq(onnx_path: Path, out_path: Path, calibration: CalibrationImages, scratch: Path, *,
                 symmetric: bool = False) -> dict[str, Any]:
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
            return {INPUT_NAME: self.images[self.i - 1:self.i]}

    pre = scratch / f"{onnx_path.stem}.{'sym' if symmetric else 'asym'}.pre.onnx"
    activation = QuantType.QInt8 if symmetric else QuantType.QUInt8
    settings = {"format": "QDQ", "weights": "int8, per channel, symmetric",
                "activations": "int8, symmetric" if symmetric else "uint8, asymmetric",
                "calibration": f"MinMax over {len(calibration.images)} images"}
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), warnings.catch_warnings(), _quiet_logging():
            warnings.simplefilter("ignore")
            quant_pre_process(str(onnx_path), str(pre), skip_symbolic_shape=False)
            with atomic_path(out_path) as tmp:
                quantize_static(str(pre), str(tmp), Reader(calibration.images), quant_format=QuantFormat.QDQ,
                                per_channel=True, activation_type=activation, weight_type=QuantType.QInt8,
                                calibrate_method=CalibrationMethod.MinMax,
                                extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True})
    except HwnasError:
        raise
    except Exception as exc:  # the quantiser raises plain exceptions; keep the first line
        raise HwnasError(f"ONNX Runtime could not quantise {onnx_path.name}: {str(exc).strip().splitlines()[0]}") from None
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


@FORMATS.register("int8")
class Int8Writer(ArtifactWriter):
    name = "int8"
    title = "INT8 ONNX"
    file_name = "model.int8.onnx"
    runtime = "onnxruntime"
    needs = ("onnx",)
    needs_calibration = True
    precisions = ("int8",)

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
        parity = {"runtime": "onnxruntime (fresh CPU session)", "reference": "PyTorch fp32",
                  "calibration_images": agreement, "random": random}
        checks = {"quantization": settings, "loads": "fresh InferenceSession",
                  "quantized_nodes": sum(n.op_type == "QuantizeLinear" for n in onnx.load(str(path)).graph.node)}
        notes = ("top-1 agreement is measured on the calibration images themselves",)
        if ctx.calibration.labels is None:
            notes += ("the calibration set has no labels: no accuracy figure",)
        return ArtifactReport(self.name, self.file_name, "int8", checks, parity, notes=notes)
