"""Core ML ``.mlpackage`` (ML program, fp16 or fp32 compute precision), converted with coremltools.

Conversion is the runtime's host side's (``host.py``: ``torch.export`` -> ``ct.convert``, macOS 13 / iOS 16
ML program), with the input named ``input`` and the output renamed ``logits`` so every
artifact of an export has the same interface. Works on Linux. The spec check reloads
the saved package and verifies: an ML program, one float32 input of the exported shape,
one output of ``[1, classes]``, and operations in fp16 exactly when fp16 was asked.
On macOS the package is also run (``predict``) and compared with PyTorch.
"""

from __future__ import annotations

import contextlib
import io
import logging
import platform
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from torch import nn

from hwnas.devices import Device
from hwnas.errors import HwnasError, MissingDependency
from hwnas.export.base import INPUT_NAME, OUTPUT_NAME, ArtifactReport, ArtifactWriter, ExportContext
from hwnas.export.parity import compare
from hwnas.runtimes.coreml.host import convert_to_mlprogram, save_mlpackage

FP32_TOLERANCE = 1e-3  # Core ML's fp32 kernels (CPU, GPU) differ more from PyTorch than ORT's do
FP16_TOLERANCE = 5e-2


class _NamedInput(nn.Module):
    """``torch.export`` names the Core ML input after ``forward``'s argument: call it ``input``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, input):  # noqa: A002 (the name becomes the model's input name)
        return self.net(input)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence coremltools on stderr (tqdm bars, 'untested torch version', proxy load failures on Linux)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with (
            contextlib.redirect_stderr(io.StringIO()),
            contextlib.redirect_stdout(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


class CoreMLWriter(ArtifactWriter):
    name = "coreml"
    title = "Core ML"
    file_name = "model.mlpackage"
    runtime = "coreml"
    precisions = ("fp16", "fp32")
    takes_precision = True
    build_order = 30

    def precision_for(self, requested: str | None, device: Device) -> str:
        if requested:
            return requested
        return device.precision if device.runtime == self.runtime and device.precision in self.precisions else "fp16"

    def check_available(self) -> None:
        try:
            with _quiet():
                import coremltools  # noqa: F401
        except ImportError:
            raise MissingDependency(
                "coremltools", "pip install 'hwnas[coreml]' (converts on Linux and macOS)"
            ) from None

    def write(self, ctx: ExportContext) -> ArtifactReport:
        import coremltools as ct

        precision = self.precision_for(ctx.precision, ctx.device)
        try:
            with _quiet():  # coremltools' progress bars and version warnings
                mlmodel = convert_to_mlprogram(_NamedInput(ctx.model), ctx.input_shape, precision)
        except Exception as exc:  # coremltools raises many kinds; the first line says which op failed
            raise HwnasError(f"coremltools could not convert the network: {str(exc).strip().splitlines()[0]}") from None
        spec = mlmodel.get_spec()
        produced = spec.description.output[0].name
        if produced != OUTPUT_NAME:
            ct.utils.rename_feature(spec, produced, OUTPUT_NAME)
            mlmodel = ct.models.MLModel(spec, weights_dir=mlmodel.weights_dir, skip_model_load=True)
        path = save_mlpackage(mlmodel, ctx.out_dir / self.file_name)
        checks = spec_check(path, ctx.input_shape, ctx.num_classes, precision)
        notes: tuple[str, ...] = (
            ("fixed input shape (batch 1); --dynamic-batch applies to the ONNX files",) if ctx.dynamic_batch else ()
        )
        parity = None
        if platform.system() == "Darwin":
            parity = _predict_parity(path, ctx, precision)
        else:
            notes += (f"prediction parity not run: Core ML predictions need macOS (this is {platform.system()})",)
        return ArtifactReport(self.name, self.file_name, precision, checks, parity, notes=notes)


def spec_check(path: Any, input_shape: tuple[int, ...], num_classes: int, precision: str) -> dict[str, Any]:
    """Reload the saved package's spec and check kind, interface and precision; HwnasError if wrong."""
    import coremltools as ct
    from coremltools.proto import FeatureTypes_pb2, MIL_pb2

    spec = ct.utils.load_spec(str(path))
    problems = []
    kind = spec.WhichOneof("Type")
    if kind != "mlProgram":
        problems.append(f"model type is {kind}, not mlProgram")
    inputs = [
        (f.name, list(f.type.multiArrayType.shape), f.type.multiArrayType.dataType) for f in spec.description.input
    ]
    outputs = [(f.name, list(f.type.multiArrayType.shape)) for f in spec.description.output]
    array_type = FeatureTypes_pb2.ArrayFeatureType
    out_dtype = (
        array_type.ArrayDataType.Name(spec.description.output[0].type.multiArrayType.dataType)
        if spec.description.output
        else "none"
    )
    if inputs != [(INPUT_NAME, list(input_shape), array_type.FLOAT32)]:
        problems.append(f"inputs are {inputs}, expected one float32 {INPUT_NAME} {list(input_shape)}")
    if [name for name, _ in outputs] != [OUTPUT_NAME] or outputs[0][1] not in ([], [input_shape[0], num_classes]):
        problems.append(f"outputs are {outputs}, expected one {OUTPUT_NAME} [{input_shape[0]}, {num_classes}]")
    dtypes: set[str] = set()
    n_ops = 0
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            for op in block.operations:
                n_ops += 1
                for out in op.outputs:
                    if out.type.HasField("tensorType"):
                        dtypes.add(MIL_pb2.DataType.Name(out.type.tensorType.dataType))
    has_fp16 = "FLOAT16" in dtypes
    if has_fp16 != (precision == "fp16"):
        problems.append(f"operations compute in {', '.join(sorted(dtypes))}, expected {precision}")
    if problems:
        raise HwnasError(f"Core ML spec check failed for {path}: {'; '.join(problems)}")
    return {
        "spec_check": "passed",
        "model_type": "mlProgram",
        "specification_version": int(spec.specificationVersion),
        "minimum_deployment_target": "macOS 13 / iOS 16",
        "input": {"name": INPUT_NAME, "shape": list(input_shape), "dtype": "float32"},
        "output": {
            "name": OUTPUT_NAME,
            "shape": outputs[0][1] or [input_shape[0], num_classes],
            "dtype": out_dtype.lower(),
        },
        "compute_precision": precision,
        "operations": n_ops,
        "tensor_dtypes": sorted(dtypes),
        "coremltools": ct.__version__,
    }


def _predict_parity(path: Any, ctx: ExportContext, precision: str) -> dict[str, Any]:
    """macOS only: run the package with Core ML and compare with PyTorch (reported, judged by tolerance)."""
    import coremltools as ct

    model = ct.models.MLModel(str(path))
    tolerance = FP16_TOLERANCE if precision == "fp16" else FP32_TOLERANCE
    report: dict[str, Any] = {"tolerance": tolerance, "runtime": f"Core ML (macOS {platform.mac_ver()[0]})"}
    for name, x in ctx.parity_inputs.items():
        outs = np.concatenate(
            [np.asarray(model.predict({INPUT_NAME: x[i : i + 1]})[OUTPUT_NAME]).reshape(1, -1) for i in range(len(x))]
        )
        report[name] = compare(ctx.reference[name], outs, labels=None)
    report["passed"] = all(v["max_abs_diff"] <= tolerance for k, v in report.items() if isinstance(v, dict))
    return report


WRITERS = (CoreMLWriter,)
