"""TensorRT on the host: the host exports ONNX; the engine is built where it runs.

Engines are specific to a GPU and a TensorRT build, so ``device.py`` builds them on the
device and times them by GPU compute time from CUDA events, or by ``trtexec --exportTimes``
where the Python bindings are missing or cannot reach the GPU (some Jetsons). TensorRT 10
sets precision with builder flags (int8 engines get placeholder dynamic ranges: their speed
is representative, their outputs are not); TensorRT 11 builds strongly typed networks, so
for fp16 the host uploads an fp16 copy of the ONNX when onnxconverter-common is installed
(TensorRT 10 builds the same copy with its FP16 flag).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hwnas.runtimes.base import RUNTIMES, Runtime, importable
from hwnas.runtimes.tensorrt.fp16 import converter_available, write_fp16

if TYPE_CHECKING:
    from torch import nn


@RUNTIMES.register("tensorrt")
class TensorRT(Runtime):
    name = "tensorrt"
    title = "TensorRT"
    precisions = ("fp32", "fp16", "int8")
    default_provider = "gpu"
    artifact_suffix = ".onnx"
    install_hint = (
        "pip install 'hwnas[tensorrt]' on a machine with an NVIDIA GPU (or put trtexec on PATH); on a Jetson, "
        "JetPack's apt packages (nvidia-tensorrt, python3-libnvinfer) instead: NVIDIA's pip wheels do not support it"
    )
    timed_where = "the TensorRT device that built the engine (e.g. --device nvidia-gpu)"
    host_modules = ("onnx",)

    @classmethod
    def missing(cls, *, local: bool) -> str | None:
        """Timing here needs TensorRT's Python bindings or ``trtexec`` (the GPU is checked when timing starts)."""
        from hwnas.runtimes.tensorrt import trtexec

        absent = super().missing(local=False)
        if absent is None and local and not importable("tensorrt") and trtexec.find() is None:
            return f"tensorrt not installed and no trtexec found ({cls.install_hint})"
        return absent

    def _fp16_copy(self) -> bool:
        return self.device.precision == "fp16" and converter_available()

    @property
    def artifact_tag(self) -> str:
        # the engine (with its precision) is built on the device; fp16 ONNX copies are cached apart
        return "tensorrt-onnx-fp16" if self._fp16_copy() else "tensorrt-onnx"

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        from hwnas.onnx_export import export_onnx

        path = export_onnx(model, input_shape, out_path)
        return write_fp16(path, path) if self._fp16_copy() else path
