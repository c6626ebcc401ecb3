"""ONNX Runtime: the model as an ONNX file (fp32, or int8 by dynamic quantisation), timed by the runner
with explicit session options (intra-op threads, one inter-op thread, sequential execution,
the device's graph optimisation level)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from torch import nn

from hwnas.errors import MissingDependency
from hwnas.io import atomic_path
from hwnas.latency.backends import BACKENDS
from hwnas.latency.backends.base import Backend
from hwnas.onnx_export import export_onnx


@BACKENDS.register("onnxruntime")
class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    title = "ONNX Runtime"
    precisions = ("fp32", "int8")
    artifact_suffix = ".onnx"
    install_hint = "pip install onnxruntime"

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        if self.device.precision == "fp32":
            return export_onnx(model, input_shape, out_path)
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic
        except ImportError:
            raise MissingDependency("onnxruntime.quantization", self.install_hint) from None
        with tempfile.TemporaryDirectory(prefix="hwnas-int8-") as scratch, atomic_path(out_path) as tmp:
            fp32 = export_onnx(model, input_shape, Path(scratch) / "fp32.onnx")
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8)
        return Path(out_path)
