"""ONNX Runtime on the host: the model as an ONNX file (fp32, or int8 by dynamic quantisation).

The device side (``device.py``) times it with explicit session options (intra-op threads,
one inter-op thread, sequential execution, the device's graph optimisation level).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hwnas.errors import MissingDependency
from hwnas.runtimes.base import RUNTIMES, DeviceSettings, Runtime, SettingError

if TYPE_CHECKING:
    from torch import nn


@RUNTIMES.register("onnxruntime")
class OnnxRuntime(Runtime):
    name = "onnxruntime"
    title = "ONNX Runtime"
    precisions = ("fp32", "int8")
    default_provider = "CPUExecutionProvider"
    artifact_suffix = ".onnx"
    install_hint = "pip install onnxruntime"
    thread_cpu_clock = True
    times_on_host_cpu = True
    host_device = "host-cpu"
    timed_where = "an ONNX Runtime device (or host-cpu)"
    host_modules = ("onnx",)
    timing_modules = (("onnxruntime",),)

    @classmethod
    def check_settings(cls, settings: DeviceSettings) -> None:
        if settings.precision == "fp16":
            raise SettingError(
                "precision", "fp16 is not timed with onnxruntime here; use fp32, int8, or a tensorrt/coreml device"
            )

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        from hwnas.io import atomic_path
        from hwnas.onnx_export import export_onnx

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
