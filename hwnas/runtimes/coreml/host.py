"""Core ML on the host: converted with coremltools (``torch.export`` program -> ML program
``.mlpackage``, fp16 or fp32 compute precision; works on Linux), timed with predictions on a Mac.
Elsewhere timing fails with a clear "needs macOS" error.

``torch.export`` rather than ``torch.jit.trace``: a traced attention block keeps its shape
arithmetic (``x.shape`` -> ``aten::Int``), which coremltools 9 fails to convert with torch
2.13; an exported program has static shapes and converts (every hybrid block kind does).
The device side reads the input name from the model, so it need not be ``input``.
"""

from __future__ import annotations

import platform
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwnas.errors import MissingDependency
from hwnas.runtimes.base import RUNTIMES, DeviceSettings, Runtime, SettingError

if TYPE_CHECKING:
    from torch import nn

COMPUTE_UNITS = ("ALL", "CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE")


@RUNTIMES.register("coreml")
class CoreML(Runtime):
    name = "coreml"
    title = "Core ML"
    precisions = ("fp32", "fp16")
    default_provider = "ALL"
    artifact_suffix = ".mlpackage"
    install_hint = "pip install 'hwnas[coreml]' (timing also needs macOS)"
    timed_where = "a Core ML device on macOS (e.g. --device apple-silicon)"
    host_modules = ("coremltools",)

    @classmethod
    def missing(cls, *, local: bool) -> str | None:
        """coremltools converts anywhere, but Core ML predicts (so times) only on macOS."""
        if local and platform.system() != "Darwin":
            return f"Core ML timing needs macOS (this is {platform.system()})"
        return super().missing(local=local)

    @classmethod
    def check_settings(cls, settings: DeviceSettings) -> None:
        if settings.provider is not None and settings.provider.upper() not in COMPUTE_UNITS:
            raise SettingError(
                "provider", f"must be one of {', '.join(COMPUTE_UNITS)} for Core ML, got {settings.provider!r}"
            )

    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        return save_mlpackage(convert_to_mlprogram(model, input_shape, self.device.precision), out_path)


def convert_to_mlprogram(model: nn.Module, input_shape: tuple[int, ...], precision: str) -> Any:
    """An ML program ``MLModel`` of ``model`` at ``input_shape``, computing in ``precision`` (fp16 or fp32).

    Input names come from ``model.forward``'s argument names (``torch.export``).
    """
    import torch

    try:
        import coremltools as ct
    except ImportError:
        raise MissingDependency("coremltools", "pip install 'hwnas[coreml]'") from None
    compute = ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(model.eval(), (torch.zeros(input_shape),)).run_decompositions({})
        return ct.convert(
            program, convert_to="mlprogram", compute_precision=compute, minimum_deployment_target=ct.target.macOS13
        )


def save_mlpackage(mlmodel: Any, out_path: Path) -> Path:
    """Save as ``out_path`` (an .mlpackage folder): beside it first, then swapped in, never half-written."""
    out_path = Path(out_path)
    tmp = out_path.with_name(f".tmp-{out_path.name}")  # keeps the .mlpackage suffix coremltools insists on
    shutil.rmtree(tmp, ignore_errors=True)
    mlmodel.save(str(tmp))
    shutil.rmtree(out_path, ignore_errors=True)
    tmp.rename(out_path)
    return out_path
