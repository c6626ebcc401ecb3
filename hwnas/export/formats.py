"""``FORMATS``: every export writer by format name, in build order, collected from the runtimes.

Every registered runtime's ``export.py`` (``hwnas/runtimes/<name>/export.py``) lists its
:class:`~hwnas.export.base.ArtifactWriter` subclasses in ``WRITERS``; they are registered
here sorted by ``build_order`` (``onnx``, ``ort``, ``int8``, ``coreml``, ``tensorrt``), the
order they are written in and listed in the model card.
"""

from __future__ import annotations

import importlib

from hwnas.export.base import ArtifactWriter
from hwnas.registry import Registry
from hwnas.runtimes import RUNTIMES

FORMATS: Registry[type[ArtifactWriter]] = Registry("export format")


def _register_writers() -> None:
    writers: list[type[ArtifactWriter]] = []
    for name in RUNTIMES:
        writers.extend(importlib.import_module(RUNTIMES.get(name).export_module()).WRITERS)
    for writer in sorted(writers, key=lambda w: w.build_order):
        FORMATS.register(writer.name)(writer)


_register_writers()
