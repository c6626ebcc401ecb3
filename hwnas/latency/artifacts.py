"""The host-side export cache: each block (by its key) and each whole network is prepared once.

Artifacts live under ``<work dir>/artifacts/hwnas-<version>/<space>/<runtime's artifact tag>/``; the
work dir is ``--work-dir``, ``$HWNAS_CACHE_DIR`` or ``~/.cache/hwnas``. A block's file name
is its key made file-safe plus a short hash of the exact key, so two keys never share a
file and a re-run (``--resume``, a second device with the same runtime) skips the export.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import torch

from hwnas import __version__
from hwnas.runtimes.base import Runtime
from hwnas.spaces.base import BlockSpec, SearchSpace

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_work_dir() -> Path:
    return Path(os.environ.get("HWNAS_CACHE_DIR") or Path.home() / ".cache" / "hwnas")


def safe_name(text: str) -> str:
    """A file name for ``text``: readable prefix, then 10 hex digits of its SHA-1."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    return f"{_UNSAFE.sub('_', text)[:100]}-{digest}"


class ArtifactCache:
    """Prepared models for one runtime and one space, on disk."""

    def __init__(self, runtime: Runtime, space: SearchSpace, work_dir: str | os.PathLike[str] | None = None) -> None:
        self.runtime = runtime
        self.space = space
        root = Path(work_dir) if work_dir is not None else default_work_dir()
        self.dir = root / "artifacts" / f"hwnas-{__version__}" / space.name / runtime.artifact_tag
        self.exported = 0

    def _path(self, name: str) -> Path:
        return self.dir / (safe_name(name) + self.runtime.artifact_suffix)

    def block(self, spec: BlockSpec) -> Path:
        """The artifact of one block at its input shape (exported on first use)."""
        path = self._path(spec.key)
        if not path.exists():
            with torch.random.fork_rng():
                torch.manual_seed(0)
                module = self.space.build_block(spec)
            self.runtime.prepare(module, spec.input_shape, path)
            self.exported += 1
        return path

    def network(self, arch_text: str, resolution: int, num_classes: int) -> Path:
        """The artifact of a whole network (exported on first use)."""
        path = self._path(f"net-{resolution}-{num_classes}-{arch_text}")
        if not path.exists():
            arch = self.space.decode(arch_text)
            with torch.random.fork_rng():
                torch.manual_seed(0)
                module = self.space.build(arch, num_classes=num_classes, resolution=resolution)
            self.runtime.prepare(module, self.space.input_shape(resolution), path)
            self.exported += 1
        return path
