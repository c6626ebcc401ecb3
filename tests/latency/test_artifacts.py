"""The export cache with worker processes (HWNAS_CONVERT_WORKERS): the same files as one process
writes, counted once, and a bad value is a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwnas.devices import load_device
from hwnas.errors import UsageError
from hwnas.latency.artifacts import ArtifactCache, convert_workers
from hwnas.runtimes import get_runtime
from hwnas.spaces import get_space


def test_workers_write_the_files_one_process_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    space = get_space("hybrid")
    specs = [s for s in space.all_blocks(32) if s.kind in ("ibn", "downsample")][:3]
    runtime = get_runtime(load_device("host-cpu"))
    monkeypatch.setenv("HWNAS_CONVERT_WORKERS", "1")
    alone = ArtifactCache(runtime, space, tmp_path / "one").blocks(specs)
    monkeypatch.setenv("HWNAS_CONVERT_WORKERS", "2")
    cache = ArtifactCache(runtime, space, tmp_path / "two")
    try:
        shared = cache.blocks([*specs, specs[0]])  # a repeated block is exported once
        assert cache.exported == 3 and cache.blocks(specs) == shared[:3] and cache.exported == 3
    finally:
        cache.close()
    assert [p.read_bytes() for p in shared[:3]] == [p.read_bytes() for p in alone]


def test_a_bad_worker_count_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HWNAS_CONVERT_WORKERS", "two")
    with pytest.raises(UsageError, match="HWNAS_CONVERT_WORKERS must be a whole number, got 'two'"):
        convert_workers()
    monkeypatch.setenv("HWNAS_CONVERT_WORKERS", "0")
    assert convert_workers() == 1
