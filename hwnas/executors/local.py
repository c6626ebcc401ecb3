"""The local executor: this process, or a pool of spawned processes on this machine."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from hwnas.executors.base import Executor, R, T, check_batch, check_threads

#: The thread pools of the native libraries under torch and numpy, read once when they load.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def init_worker(threads: int = 1) -> None:
    """``threads`` intra-op threads in a scoring process (default one: small proxy networks gain
    nothing from more, and oversubscribed cores made scoring up to 20x slower on a busy 2-core
    machine). A worker process starts with the variables set too, before torch or numpy load,
    so their native pools do not size themselves to every core of the machine."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    set_threads(threads)


def set_threads(threads: int) -> None:
    """``threads`` torch intra-op threads in this process (the in-process scorer: no variables set)."""
    import torch

    torch.set_num_threads(threads)


class LocalExecutor(Executor):
    """``workers`` == 1 runs in this process (nothing to start); more use a spawn-context process pool,
    started at the first call with more than one item and handed ``batch`` items per task; each
    worker scores with ``threads`` intra-op threads (``workers × threads`` should not exceed the cores)."""

    name = "local"

    def __init__(self, workers: int = 1, *, batch: int | None = None, threads: int = 1) -> None:
        self._workers = max(1, int(workers))
        self.batch = check_batch(batch)
        self.threads = check_threads(threads)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def imap(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[R, None, None]:
        if self._workers == 1 or len(items) <= 1:
            for item in items:
                yield fn(item)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init_worker,
                initargs=(self.threads,),
            )
        size = self.batch or max(1, len(items) // (self._workers * 4))
        # Executor.map yields in input order whatever finishes first
        yield from self._pool.map(fn, items, chunksize=size)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "batch": self.batch}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
