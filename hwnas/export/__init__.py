"""Export a searched architecture as files an application loads, each checked, with a model card.

One writer per format (``onnx``, ``ort``, ``int8``, ``coreml``, ``tensorrt``) registered in
:data:`FORMATS`; :func:`export_model` runs them and writes ``model_card.json`` and
``README.md``. A new format is one module with an :class:`~hwnas.export.base.ArtifactWriter`
subclass decorated by ``@FORMATS.register("name")``; the tests in ``tests/export``
iterate this registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.registry import Registry

if TYPE_CHECKING:
    from hwnas.export.base import ArtifactWriter

FORMATS: Registry[type[ArtifactWriter]] = Registry("export format")

from hwnas.export import onnx, ort, int8, coreml, tensorrt  # noqa: E402,F401,I001  (registration, in build order)
from hwnas.export.pipeline import ExportRequest, export_model  # noqa: E402

__all__ = ["FORMATS", "ExportRequest", "export_model"]
