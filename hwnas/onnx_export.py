"""Export a module to ONNX the one way every part of hwnas does (profiling, tests, export).

Uses torch's TorchScript-based exporter (``dynamo=False``): it needs no extra
package and handles every block of the spaces at opset 17. Files are written
atomically.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

from hwnas.io import atomic_path

DEFAULT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"  # what every artifact, profiled or exported, calls its output


def export_onnx(
    model: nn.Module,
    input_shape: tuple[int, ...],
    path: str | os.PathLike[str],
    *,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = False,
    input_name: str = INPUT_NAME,
    output_name: str = OUTPUT_NAME,
) -> Path:
    """Write ``model`` (in eval mode) as an ONNX file for inputs of ``input_shape``."""
    model = model.eval()
    dynamic_axes = {input_name: {0: "batch"}, output_name: {0: "batch"}} if dynamic_batch else None
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(input_shape),),
            str(tmp),
            opset_version=opset,
            dynamo=False,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    return Path(path)
