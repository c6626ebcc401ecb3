"""ORT format (``.ort``): what ONNX Runtime Mobile loads, made by ONNX Runtime's own converter.

``onnxruntime.tools.convert_onnx_models_to_ort`` with the *Fixed* optimisation style
(graph optimised at level "all" for the target CPU, as the tool does by default).
``target_platform`` is ``arm`` (phones, Raspberry Pi, Jetson CPUs) unless the target
device is this machine, then this machine's. The converter's
``required_operators.config`` comes along: it is what a reduced-size ORT Mobile build
is configured with. The ``.ort`` file is loaded in a fresh session and must match
PyTorch within 1e-4, like the ONNX file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import platform
import shutil
from pathlib import Path

from hwnas.devices import Device
from hwnas.errors import HwnasError
from hwnas.export import FORMATS
from hwnas.export.base import ArtifactReport, ArtifactWriter, ExportContext
from hwnas.export.parity import fp32_parity

OPERATORS_CONFIG = "model.required_operators.config"


def target_platform(device: Device) -> str:
    """``amd64`` or ``arm``: what the converter optimises the graph layout for."""
    if device.is_remote or device.runtime != "onnxruntime":
        return "arm"
    return "amd64" if platform.machine().lower() in ("x86_64", "amd64") else "arm"


@FORMATS.register("ort")
class OrtWriter(ArtifactWriter):
    name = "ort"
    title = "ORT format"
    file_name = "model.ort"
    runtime = "onnxruntime"
    needs = ("onnx",)

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
                convert_onnx_models_to_ort(work / "model.onnx", output_dir=work,
                                           optimization_styles=[OptimizationStyle.Fixed], target_platform=plat)
        except Exception as exc:  # the converter raises plain exceptions; keep the first line
            raise HwnasError(f"ONNX Runtime could not convert model.onnx to ORT format: {str(exc).splitlines()[0]}") from None
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
        checks = {"converter": f"onnxruntime {onnxruntime.__version__} convert_onnx_models_to_ort",
                  "optimization_style": "Fixed", "target_platform": plat, "loads": "fresh InferenceSession"}
        return ArtifactReport(self.name, self.file_name, "fp32", checks, parity, extra_files=extra)
