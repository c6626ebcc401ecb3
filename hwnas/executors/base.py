"""The contract every executor fulfils: run one function over many items, results in input order.

An executor is handed to the search's scorer and to ``hwnas score`` / ``bench-proxies``;
neither branches on its kind. What every implementation guarantees:

- ``imap(fn, items)`` yields ``fn(item)`` for every item **in the order of** ``items``,
  never in completion order, so a table's rows and a search's history do not depend on
  which worker finished first;
- nothing but the wall time depends on the executor, its worker count or its batch
  (``fn`` must be a deterministic, picklable function of its item: the scorers'
  functions are, given their seed);
- a failure inside ``fn`` raises the same :class:`~hwnas.errors.HwnasError` it would raise
  in this process, not a wrapper;
- an interrupt (Ctrl-C, SIGTERM) cancels the work still queued before it propagates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Sequence
from typing import Any, ClassVar, TypeVar

from hwnas.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

#: Largest --batch accepted (architectures per task); far above any useful value.
MAX_BATCH = 100_000
#: Largest --threads accepted (intra-op threads per worker or task).
MAX_THREADS = 1024


def check_batch(batch: int | None) -> int | None:
    """``batch`` when it is None (the executor chooses) or a whole number from 1 to MAX_BATCH."""
    if batch is None:
        return None
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= MAX_BATCH:
        raise UsageError(f"--batch must be a whole number from 1 to {MAX_BATCH}, got {batch!r}")
    return batch


def check_threads(threads: int) -> int:
    """``threads`` when it is a whole number from 1 to MAX_THREADS (intra-op threads per worker or task)."""
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= MAX_THREADS:
        raise UsageError(f"--threads must be a whole number from 1 to {MAX_THREADS}, got {threads!r}")
    return threads


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` cut into consecutive lists of ``size`` (the last one shorter)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class Executor(ABC):
    """Runs ``fn`` over items somewhere (this process, a process pool, a Ray cluster)."""

    name: ClassVar[str] = ""
    #: Intra-op threads each worker (or task) scores with; set explicitly, so workers do not compete for cores.
    threads: int = 1

    @abstractmethod
    def imap(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[R, None, None]:
        """``fn(item)`` for each item, yielded in the order of ``items`` as they become available."""

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many items can run at once (processes here, CPUs of the cluster)."""

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return list(self.imap(fn, items))

    def describe(self) -> dict[str, Any]:
        """What run records say about where the work ran (never part of a result)."""
        return {"executor": self.name, "workers": self.workers, "threads": self.threads}

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release processes or the cluster connection; the executor is unusable afterwards."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
