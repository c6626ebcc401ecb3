"""The host-side export cache: each block (by its key) and each whole network is prepared once.

Artifacts live under ``<work dir>/artifacts/hwnas-<version>/<space>/<runtime's artifact tag>/``; the
work dir is ``--work-dir``, ``$HWNAS_CACHE_DIR`` or ``~/.cache/hwnas``. A block's file name
is its key made file-safe plus a short hash of the exact key, so two keys never share a
file and a re-run (``--resume``, a second device with the same runtime) skips the export.
A runtime whose converter's version changes the file names it in its artifact tag (LiteRT).

``HWNAS_CONVERT_WORKERS=N`` (default 1) exports the missing blocks of each batch in N worker
processes (spawned once per cache, each importing the converter once): for a machine with idle
cores, since a LiteRT conversion is seconds of single-threaded Python per block. The files are
the ones a single process writes; only when they are written changes, never what is timed.
"""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

from hwnas import __version__
from hwnas.errors import UsageError
from hwnas.runtimes.base import Runtime
from hwnas.spaces.base import BlockSpec, SearchSpace

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_work_dir() -> Path:
    return Path(os.environ.get("HWNAS_CACHE_DIR") or Path.home() / ".cache" / "hwnas")


def convert_workers() -> int:
    """Worker processes for block exports: ``$HWNAS_CONVERT_WORKERS``, else 1 (in process)."""
    text = os.environ.get("HWNAS_CONVERT_WORKERS", "1")
    try:
        return max(1, int(text))
    except ValueError:
        raise UsageError(f"HWNAS_CONVERT_WORKERS must be a whole number, got {text!r}") from None


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
        self.workers = convert_workers()
        self._pool: Executor | None = None

    def _path(self, name: str) -> Path:
        return self.dir / (safe_name(name) + self.runtime.artifact_suffix)

    def block(self, spec: BlockSpec) -> Path:
        """The artifact of one block at its input shape (exported on first use)."""
        path = self._path(spec.key)
        if not path.exists():
            export_block(self.runtime, self.space, spec, path)
            self.exported += 1
        return path

    def blocks(self, specs: list[BlockSpec]) -> list[Path]:
        """The artifacts of ``specs``; the missing ones in the worker processes when there are several."""
        missing = list({s.key: s for s in specs if not self._path(s.key).exists()}.values())
        if self.workers > 1 and len(missing) > 1:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
            jobs = [(self.runtime, self.space, s, self._path(s.key)) for s in missing]
            for _ in self._pool.map(_export_job, jobs):
                self.exported += 1
        return [self.block(s) for s in specs]

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

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


def export_block(runtime: Runtime, space: SearchSpace, spec: BlockSpec, path: Path) -> Path:
    """Build the block with seed 0 (so every process builds the same weights) and prepare it."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = space.build_block(spec)
    return runtime.prepare(module, spec.input_shape, path)


def _export_job(job: tuple[Runtime, SearchSpace, BlockSpec, Path]) -> Path:
    torch.set_num_threads(1)  # the workers share the machine; a conversion is single-threaded Python anyway
    return export_block(*job)
