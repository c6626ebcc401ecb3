"""Does an exported file compute what the PyTorch model computes? Runs it in a fresh ONNX Runtime
session and compares outputs.

A *fresh* session per check (nothing shared with the exporter) is what an application
does, so a file that only worked because of state in the exporting process fails here.
fp32 artifacts must match PyTorch within :data:`FP32_TOLERANCE` (max absolute
difference of the logits); quantised ones are judged by top-1 agreement instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hwnas.errors import HwnasError

FP32_TOLERANCE = 1e-4
RANDOM_INPUTS = 8


def random_inputs(input_shape: tuple[int, ...], n: int, seed: int) -> np.ndarray:
    """``n`` standard-normal inputs of ``input_shape`` (batch dim replaced), seeded."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((n, *input_shape[1:]), generator=gen).numpy()


def torch_outputs(model: nn.Module, inputs: np.ndarray, batch: int = 16) -> np.ndarray:
    """The PyTorch model's outputs for ``inputs`` (eval mode, no grad)."""
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(inputs), batch):
            outs.append(model(torch.from_numpy(inputs[i : i + batch])).numpy())
    return np.concatenate(outs)


def ort_session(path: str | Path) -> Any:
    """A new ONNX Runtime CPU session for an .onnx or .ort file (one intra-op thread: shared machines)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types; any failure to load is the finding
        raise HwnasError(f"ONNX Runtime could not load {Path(path).name}: {str(exc).strip().splitlines()[0]}") from None


def ort_outputs(session: Any, inputs: np.ndarray) -> np.ndarray:
    """Run ``inputs`` through ``session`` one at a time when the batch is fixed, else all at once."""
    inp = session.get_inputs()[0]
    name, out = inp.name, session.get_outputs()[0].name
    if isinstance(inp.shape[0], int):
        return np.concatenate([session.run([out], {name: inputs[i : i + 1]})[0] for i in range(len(inputs))])
    return session.run([out], {name: inputs})[0]


def compare(reference: np.ndarray, outputs: np.ndarray, *, labels: np.ndarray | None = None) -> dict[str, Any]:
    """Max / mean absolute difference and top-1 agreement of ``outputs`` with ``reference``."""
    if outputs.shape != reference.shape:
        raise HwnasError(f"output shape {outputs.shape} differs from PyTorch's {reference.shape}")
    diff = np.abs(outputs.astype(np.float64) - reference.astype(np.float64))
    result: dict[str, Any] = {
        "n": int(len(reference)),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "top1_agreement": float(np.mean(outputs.argmax(1) == reference.argmax(1))),
    }
    if labels is not None:
        result["top1_accuracy_reference"] = float(np.mean(reference.argmax(1) == labels))
        result["top1_accuracy"] = float(np.mean(outputs.argmax(1) == labels))
    return result


def fp32_parity(
    path: Path,
    inputs: dict[str, np.ndarray],
    reference: dict[str, np.ndarray],
    *,
    extra_batch: int | None = None,
    tolerance: float = FP32_TOLERANCE,
) -> dict[str, Any]:
    """Load ``path`` fresh, run every input set, and raise HwnasError if any differs by more than ``tolerance``.

    ``extra_batch``: also run the random inputs as one batch of that size (dynamic-batch files).
    """
    session = ort_session(path)
    report: dict[str, Any] = {"tolerance": tolerance, "runtime": "onnxruntime (fresh CPU session)"}
    sets = dict(inputs)
    for name, x in sets.items():
        report[name] = compare(reference[name], ort_outputs(session, x))
    if extra_batch:
        x = inputs["random"][:extra_batch]
        name, out = session.get_inputs()[0].name, session.get_outputs()[0].name
        report[f"batch{len(x)}"] = compare(reference["random"][: len(x)], session.run([out], {name: x})[0])
    worst = max((v["max_abs_diff"], k) for k, v in report.items() if isinstance(v, dict))
    report["passed"] = worst[0] <= tolerance
    spread = min(float(ref.std(axis=0).max()) for ref in reference.values())
    report["reference_spread"] = spread
    if spread <= tolerance:
        report["warning"] = (
            f"PyTorch's outputs barely depend on the input (spread {spread:.1e}, typical of "
            "untrained weights): this parity check is weak evidence"
        )
    if not report["passed"]:
        raise HwnasError(
            f"{path.name} differs from PyTorch by {worst[0]:.3g} on {worst[1]} inputs "
            f"(tolerance {tolerance:g}); the export is not the same network"
        )
    return report
