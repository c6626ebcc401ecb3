"""The local executor's worker processes score with the thread count they are given."""

from __future__ import annotations

import os

from hwnas.executors import LocalExecutor, make_executor


def _threads(_: int) -> tuple[int, str | None]:
    import torch

    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def test_each_worker_process_gets_the_explicit_thread_count() -> None:
    with LocalExecutor(2, threads=2) as pool:
        assert pool.map(_threads, [0, 1, 2, 3]) == [(2, "2")] * 4
        assert pool.describe()["threads"] == 2
    with make_executor("local", workers=2) as pool:  # the default: one thread each
        assert pool.map(_threads, [0, 1]) == [(1, "1")] * 2
