"""TensorRT on the host: the host exports ONNX; the engine is built where it runs.

Engines are specific to a GPU and a TensorRT build, so ``device.py`` builds them on the
device (fp16 / int8 builder flags) and times them by GPU compute time from CUDA events,
or by ``trtexec --exportTimes`` where the Python bindings are missing (some Jetsons).
int8 engines get placeholder dynamic ranges: their speed is representative, their
outputs are not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hwnas.runtimes.base import RUNTIMES, Runtime

if TYPE_CHECKING:
    from torch import nn


@RUNTIMES.register("tensorrt")
class TensorRT(Runtime):
    name = "tensorrt"
    title = "TensorRT"
    precisions = ("fp32", "fp16", "int8")
    default_provider = "gpu"
    artifact_suffix = ".onnx"
    install_hint = "pip install 'hwnas[tensorrt]' on a machine with an NVIDIA GPU (or put trtexec on PATH)"
    timed_where = "the TensorRT device that built the engine (e.g. --device nvidia-gpu)"

    @property
    def artifact_tag(self) -> str:
        return "tensorrt-onnx"  # the engine (with its precision) is built on the device

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        from hwnas.onnx_export import export_onnx

        return export_onnx(model, input_shape, out_path)
