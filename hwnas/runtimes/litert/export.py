"""LiteRT ``.tflite`` (fp32), converted from the PyTorch model with litert-torch (``host.py``).

The file is reloaded in a fresh LiteRT interpreter (one thread) and checked: one float32
input of the exported shape, one output of ``[1, classes]``; then every parity input set
is run one image at a time and compared with PyTorch (max abs difference <= 1e-4, as for
the ONNX files). The file has a fixed batch of 1 (``--dynamic-batch`` applies to ONNX).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwnas.errors import HwnasError, MissingDependency
from hwnas.export.base import ArtifactReport, ArtifactWriter, ExportContext
from hwnas.export.parity import FP32_TOLERANCE, compare
from hwnas.runtimes.litert.host import INSTALL_HINT, convert_to_tflite


class TfliteWriter(ArtifactWriter):
    name = "tflite"
    title = "LiteRT (.tflite)"
    file_name = "model.tflite"
    runtime = "litert"
    build_order = 40

    def check_available(self) -> None:
        for module, package in (("litert_torch", "litert-torch"), ("ai_edge_litert.interpreter", "ai-edge-litert")):
            try:
                __import__(module)
            except ImportError:
                raise MissingDependency(package, INSTALL_HINT) from None

    def write(self, ctx: ExportContext) -> ArtifactReport:
        import ai_edge_litert
        import litert_torch

        path = convert_to_tflite(ctx.model, ctx.input_shape, ctx.out_dir / self.file_name)
        checks, parity = tflite_parity(path, ctx)
        checks["converter"] = f"litert-torch {litert_torch.__version__}"
        checks["interpreter"] = f"ai-edge-litert {ai_edge_litert.__version__}"
        notes: tuple[str, ...] = (
            ("fixed input shape (batch 1); --dynamic-batch applies to the ONNX files",) if ctx.dynamic_batch else ()
        )
        return ArtifactReport(self.name, self.file_name, "fp32", checks, parity, notes=notes)


def tflite_parity(path: Any, ctx: ExportContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """Interface checks and parity with PyTorch in a fresh interpreter; HwnasError when either fails."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        it = Interpreter(model_path=str(path), num_threads=1)
        it.allocate_tensors()
    except Exception as exc:  # the interpreter raises RuntimeError / ValueError with the reason
        raise HwnasError(f"LiteRT could not load {path.name}: {str(exc).strip().splitlines()[0]}") from None
    inputs, outputs = it.get_input_details(), it.get_output_details()
    shape_in = [int(d) for d in inputs[0]["shape"]] if inputs else []
    shape_out = [int(d) for d in outputs[0]["shape"]] if outputs else []
    problems = []
    if len(inputs) != 1 or shape_in != list(ctx.input_shape) or inputs[0]["dtype"] != np.float32:
        problems.append(
            f"inputs {[(d['name'], list(d['shape'])) for d in inputs]}, expected one float32 {ctx.input_shape}"
        )
    if len(outputs) != 1 or shape_out != [ctx.input_shape[0], ctx.num_classes]:
        problems.append(f"outputs {[list(d['shape']) for d in outputs]}, expected one [1, {ctx.num_classes}]")
    if problems:
        raise HwnasError(f"{path.name} has the wrong interface: {'; '.join(problems)}")
    report: dict[str, Any] = {"tolerance": FP32_TOLERANCE, "runtime": "LiteRT interpreter (fresh, 1 thread)"}
    for name, x in ctx.parity_inputs.items():
        outs = []
        for i in range(len(x)):
            it.set_tensor(inputs[0]["index"], x[i : i + 1].astype(np.float32))
            it.invoke()
            outs.append(np.array(it.get_tensor(outputs[0]["index"])))
        report[name] = compare(ctx.reference[name], np.concatenate(outs))
    worst = max((v["max_abs_diff"], k) for k, v in report.items() if isinstance(v, dict))
    report["passed"] = worst[0] <= FP32_TOLERANCE
    if not report["passed"]:
        raise HwnasError(
            f"{path.name} differs from PyTorch by {worst[0]:.3g} on {worst[1]} inputs (tolerance {FP32_TOLERANCE:g})"
        )
    checks = {
        "loads": "fresh LiteRT interpreter",
        "input": {"name": inputs[0]["name"], "shape": shape_in, "dtype": "float32"},
        "output": {"name": outputs[0]["name"], "shape": shape_out},
    }
    return checks, report


WRITERS = (TfliteWriter,)
