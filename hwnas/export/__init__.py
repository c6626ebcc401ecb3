"""Export a searched architecture as files an application loads, each checked, with a model card.

The writers come from the runtimes (``hwnas/runtimes/<name>/export.py``, collected into
:data:`~hwnas.export.formats.FORMATS`); :func:`export_model` runs them and writes
``model_card.json`` and ``README.md``. A new format is one more writer in its runtime's
``WRITERS``; the tests in ``tests/export`` iterate the registry.

``FORMATS``, ``ExportRequest`` and ``export_model`` are imported on first use, so a
runtime's ``export.py`` can import ``hwnas.export.base`` without importing every writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hwnas.export.formats import FORMATS
    from hwnas.export.pipeline import ExportRequest, export_model

__all__ = ["FORMATS", "ExportRequest", "export_model"]


def __getattr__(name: str) -> Any:
    if name == "FORMATS":
        from hwnas.export.formats import FORMATS

        return FORMATS
    if name in ("ExportRequest", "export_model"):
        from hwnas.export import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'hwnas.export' has no attribute {name!r}")
