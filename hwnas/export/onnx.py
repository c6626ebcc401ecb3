"""ONNX (opset >= 17): the reference artifact every other format is made from or checked against.

Exported with :func:`hwnas.onnx_export.export_onnx` (the exporter profiling uses, so the
file is the network the latency table priced), cleaned with onnxslim (constant folding,
dead nodes, fused shape arithmetic), checked with ``onnx.checker`` (full check, with
shape inference) and compared with PyTorch in a fresh ONNX Runtime session on random
and, when given, real images: max absolute difference <= 1e-4 or the export fails.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from hwnas.errors import HwnasError
from hwnas.export import FORMATS
from hwnas.export.base import INPUT_NAME, OUTPUT_NAME, ArtifactReport, ArtifactWriter, ExportContext
from hwnas.export.parity import fp32_parity
from hwnas.io import atomic_path
from hwnas.onnx_export import DEFAULT_OPSET, export_onnx

OPSET = max(17, DEFAULT_OPSET)


def write_clean_onnx(ctx: ExportContext, path: Path, *, dynamic_batch: bool) -> dict[str, Any]:
    """Export, slim and check the model into ``path``; returns what was checked."""
    import onnx
    import onnxslim

    raw = ctx.scratch / f"raw-{'dynamic' if dynamic_batch else 'static'}.onnx"
    export_onnx(ctx.model, ctx.input_shape, raw, opset=OPSET, dynamic_batch=dynamic_batch,
                input_name=INPUT_NAME, output_name=OUTPUT_NAME)
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


@FORMATS.register("onnx")
class OnnxWriter(ArtifactWriter):
    name = "onnx"
    title = "ONNX"
    file_name = "model.onnx"
    runtime = "onnxruntime"

    def write(self, ctx: ExportContext) -> ArtifactReport:
        path = ctx.out_dir / self.file_name
        checks = write_clean_onnx(ctx, path, dynamic_batch=ctx.dynamic_batch)
        want_in, want_out = expected_io(ctx)
        if checks["input"] != {"name": INPUT_NAME, "shape": want_in} or checks["output"] != {"name": OUTPUT_NAME,
                                                                                             "shape": want_out}:
            raise HwnasError(f"exported ONNX has input {checks['input']} and output {checks['output']}, expected "
                             f"{INPUT_NAME} {want_in} and {OUTPUT_NAME} {want_out}")
        parity = fp32_parity(path, ctx.parity_inputs, ctx.reference, extra_batch=3 if ctx.dynamic_batch else None)
        return ArtifactReport(self.name, self.file_name, "fp32", checks, parity)
