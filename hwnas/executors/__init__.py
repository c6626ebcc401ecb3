"""Where candidates are scored: this machine (:class:`LocalExecutor`) or a Ray cluster (:class:`RayExecutor`).

``make_executor`` turns the command line's ``--executor``, ``--workers``, ``--ray-address``,
``--batch`` and ``--threads`` into one; the executor never changes a result (see :mod:`hwnas.executors.base`).
"""

from __future__ import annotations

from hwnas.errors import UsageError, excerpt
from hwnas.executors.base import Executor, check_batch, check_threads
from hwnas.executors.local import LocalExecutor

EXECUTORS = ("local", "ray")


def check_executor(
    name: str, *, workers: int = 1, address: str | None = None, batch: int | None = None, threads: int = 1
) -> None:
    """Usage errors for the options alone, before anything is started or connected;
    an option that does not apply to the executor is an error, not ignored."""
    if name not in EXECUTORS:
        raise UsageError(f"unknown executor {excerpt(name)} (known: {', '.join(EXECUTORS)})")
    check_batch(batch)
    check_threads(threads)
    if not isinstance(workers, int) or workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers!r}")
    if name == "local" and address is not None:
        raise UsageError("--ray-address needs --executor ray")
    if name == "ray" and workers != 1:
        raise UsageError("--workers is for --executor local: a Ray cluster's CPUs are its workers")


def make_executor(
    name: str = "local",
    *,
    workers: int = 1,
    address: str | None = None,
    batch: int | None = None,
    threads: int = 1,
) -> Executor:
    """The executor named ``name``, started or connected (see :func:`check_executor` for the options);
    ``threads``: intra-op threads per worker process or Ray task (a task also holds that many CPUs)."""
    check_executor(name, workers=workers, address=address, batch=batch, threads=threads)
    if name == "ray":
        from hwnas.executors.ray import RayExecutor

        return RayExecutor(address, batch=batch, threads=threads)
    return LocalExecutor(workers, batch=batch, threads=threads)


__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "check_executor", "make_executor"]
