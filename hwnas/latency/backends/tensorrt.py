"""TensorRT: the host exports ONNX; the engine is built where it runs (engines are specific to a GPU
and a TensorRT build), with fp16 / int8 builder flags, and timed there by GPU compute time from
CUDA events, or by ``trtexec --exportTimes`` where the Python bindings are missing (some Jetsons).
int8 engines get placeholder dynamic ranges: their speed is representative, their outputs are not."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from hwnas.latency.backends import BACKENDS
from hwnas.latency.backends.base import Backend
from hwnas.onnx_export import export_onnx


@BACKENDS.register("tensorrt")
class TensorRTBackend(Backend):
    name = "tensorrt"
    title = "TensorRT"
    precisions = ("fp32", "fp16", "int8")
    artifact_suffix = ".onnx"
    install_hint = "pip install 'hwnas[tensorrt]' on a machine with an NVIDIA GPU (or put trtexec on PATH)"

    @property
    def artifact_tag(self) -> str:
        return "tensorrt-onnx"  # the engine (with its precision) is built on the device

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        return export_onnx(model, input_shape, out_path)
