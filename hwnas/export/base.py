"""The contract every export format fulfils, and what one export run shares between formats.

A format is one :class:`ArtifactWriter` subclass in the ``WRITERS`` of its runtime's
``hwnas/runtimes/<runtime>/export.py``; ``hwnas/export/__init__.py`` collects them into
``FORMATS``. Guarantees of every writer:

- ``check_available`` raises :class:`~hwnas.errors.MissingDependency` naming the package
  or platform that is missing *before* anything is written, so a run that cannot finish
  fails at once and leaves nothing behind;
- ``write`` writes its files only into ``ctx.out_dir`` (intermediates go to
  ``ctx.scratch``), proves the file loads (and, where the runtime runs here, that it
  computes the same function as the PyTorch model) and returns an :class:`ArtifactReport`;
- a check that fails raises :class:`~hwnas.errors.HwnasError` with a one-line reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from torch import nn

from hwnas.devices import Device
from hwnas.export.images import CalibrationImages, Preprocessing
from hwnas.onnx_export import INPUT_NAME, OUTPUT_NAME
from hwnas.spaces.base import SearchSpace

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "ArtifactReport", "ArtifactWriter", "ExportContext"]


@dataclass(frozen=True)
class ArtifactReport:
    """One written artifact: where it is, what it is, and what was checked about it.

    ``file`` is relative to the export directory; ``checks`` holds what was verified
    (checker passed, opset, input and output shapes, precision); ``parity`` compares
    its outputs with PyTorch (``None`` where the runtime cannot run here, with the
    reason in ``notes``); ``latency`` is filled in by the measuring step.
    """

    format: str
    file: str
    precision: str
    checks: dict[str, Any]
    parity: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    extra_files: tuple[str, ...] = ()
    latency: dict[str, Any] | None = None


@dataclass
class ExportContext:
    """Everything a writer may read, plus the artifacts written so far (``artifacts``: format -> path).

    ``parity_inputs`` holds named input sets (``random``, and ``real`` when calibration
    images are given) and ``reference`` the PyTorch outputs for each.
    """

    model: nn.Module
    space: SearchSpace
    arch: str
    input_shape: tuple[int, int, int, int]
    num_classes: int
    dynamic_batch: bool
    device: Device
    precision: str | None
    preprocessing: Preprocessing
    calibration: CalibrationImages | None
    parity_inputs: dict[str, np.ndarray]
    reference: dict[str, np.ndarray]
    out_dir: Path
    scratch: Path
    seed: int
    artifacts: dict[str, Path] = field(default_factory=dict)
    reports: dict[str, ArtifactReport] = field(default_factory=dict)


class ArtifactWriter(ABC):
    """One deployable format (ONNX, ORT, INT8 ONNX, Core ML, TensorRT)."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    file_name: ClassVar[str] = ""
    runtime: ClassVar[str] = ""
    """The runtime that runs (and times) the artifact (``hwnas.runtimes``)."""
    needs: ClassVar[tuple[str, ...]] = ()
    """Formats this one is made from; they are written first."""
    needs_calibration: ClassVar[bool] = False
    precisions: ClassVar[tuple[str, ...]] = ("fp32",)
    takes_precision: ClassVar[bool] = False
    """``--precision`` sets this format's compute precision (a compiled format: Core ML, TensorRT)."""
    build_order: ClassVar[int] = 100
    """Position in ``FORMATS`` and so in build order and in the model card (after the formats it needs)."""

    def precision_for(self, requested: str | None, device: Device) -> str:
        """The precision this format is written in: ``requested`` when given, else its default."""
        return requested or self.precisions[0]

    def needs_calibration_for(self, requested: str | None, device: Device) -> bool:
        """Whether this run of the format needs ``--calibration`` images (default: ``needs_calibration``)."""
        return self.needs_calibration

    def check_available(self) -> None:  # noqa: B027  (optional hook)
        """Raise MissingDependency if this machine cannot write the format (default: it can)."""

    @abstractmethod
    def write(self, ctx: ExportContext) -> ArtifactReport:
        """Write the artifact into ``ctx.out_dir``, check it, and report."""
