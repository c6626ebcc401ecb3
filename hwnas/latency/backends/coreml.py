"""Core ML: converted on the host with coremltools (traced torch module -> ML program
``.mlpackage``, fp16 or fp32 compute precision; works on Linux), timed with predictions on a Mac.
Elsewhere timing fails with a clear "needs macOS" error."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import torch
from torch import nn

from hwnas.errors import MissingDependency
from hwnas.latency.backends import BACKENDS
from hwnas.latency.backends.base import Backend
from hwnas.onnx_export import INPUT_NAME


@BACKENDS.register("coreml")
class CoreMLBackend(Backend):
    name = "coreml"
    title = "Core ML"
    precisions = ("fp32", "fp16")
    artifact_suffix = ".mlpackage"
    install_hint = "pip install 'hwnas[coreml]' (timing also needs macOS)"

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        try:
            import coremltools as ct
        except ImportError:
            raise MissingDependency("coremltools", "pip install 'hwnas[coreml]'") from None
        out_path = Path(out_path)
        example = torch.zeros(input_shape)
        precision = ct.precision.FLOAT16 if self.device.precision == "fp16" else ct.precision.FLOAT32
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model.eval(), example)
            mlmodel = ct.convert(traced, inputs=[ct.TensorType(name=INPUT_NAME, shape=tuple(input_shape))],
                                 convert_to="mlprogram", compute_precision=precision,
                                 minimum_deployment_target=ct.target.macOS13)
        # an .mlpackage is a folder: save beside, then swap in (never a half-written package)
        tmp = out_path.with_name(f".tmp-{out_path.name}")  # keeps the .mlpackage suffix coremltools insists on
        shutil.rmtree(tmp, ignore_errors=True)
        mlmodel.save(str(tmp))
        shutil.rmtree(out_path, ignore_errors=True)
        tmp.rename(out_path)
        return out_path
