"""The Ray executor: items in batches as Ray tasks on a cluster (``--executor ray``).

hwnas grows no distributed layer of its own: a batch of items is one Ray task
(``@ray.remote``), ``ray.get`` on the tasks in submission order gives the results in
input order, and Ray's own task retries handle a worker that dies (its batch runs
again elsewhere; the function is deterministic, so the retried batch returns the same
values and the result does not change).

What each task ships: a reference to the function, put in the object store once per
call (for scoring, the settings: a few hundred bytes, plus labelled images when a
proxy needs them), and its batch of items (architecture encodings, about 100 bytes
each); it returns one small dict per item. The per-task overhead and the default
batch are measured by ``scripts/bench_scale.py`` (docs/scale.md).

Connecting: ``--ray-address HOST:PORT`` (the head's GCS port, as ``ray start --head
--port`` prints), ``auto``, or ``ray://HOST:PORT`` (Ray Client); without one,
``RAY_ADDRESS``, else a Ray instance started on this machine for the command and
stopped with it. A driver that is already connected (``ray.init`` called by a
program using hwnas as a library) is reused and left connected.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import socket
from collections.abc import Callable, Generator, Sequence
from typing import Any

from hwnas.errors import HwnasError, MissingDependency, UsageError, excerpt
from hwnas.executors.base import Executor, R, T, check_batch, check_threads, chunks

#: Cost of one Ray task around its work (submit, schedule, ship arguments, return; one task after
#: another), measured by ``scripts/bench_scale.py`` on a cluster on 127.0.0.1 (docs/scale.md).
TASK_OVERHEAD_MS = 4.2
#: Scoring one architecture at the cheapest settings hwnas ships (nb201, ES + LogSynflow at 32 px),
#: measured by the same script on the same machine.
CHEAPEST_ARCH_MS = 63.0
#: The overhead a task may add to its work.
OVERHEAD_SHARE = 0.05
#: Architectures per task when --batch is not given: enough that the overhead stays under
#: OVERHEAD_SHARE of the cheapest scoring, fewer when there are too few items to keep every CPU busy.
DEFAULT_BATCH = max(1, math.ceil(TASK_OVERHEAD_MS / (OVERHEAD_SHARE * CHEAPEST_ARCH_MS)))
#: Times Ray resubmits a task whose worker died before the call fails.
MAX_RETRIES = 3
CONNECT_TIMEOUT_S = 5.0
CANCEL_WAIT_S = 5.0

_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9][A-Za-z0-9.\-]*|\[[0-9A-Fa-f:]+\]):(?P<port>[0-9]{1,5})$")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependency("Ray", "pip install 'hwnas[ray]'") from None
    return ray


def check_address(address: str) -> None:
    """A usage error for an address that cannot name a cluster; a failure when nothing listens there."""
    if address == "auto":
        return
    rest = address.removeprefix("ray://")
    match = _HOST_PORT.match(rest)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise UsageError(
            f"--ray-address {excerpt(address)} is not HOST:PORT, ray://HOST:PORT or auto "
            "(e.g. 127.0.0.1:6379, the port `ray start --head --port` was given)"
        )
    host, port = match["host"].strip("[]"), int(match["port"])
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as conn:
            speaks_grpc = _answers_http2(conn)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise HwnasError(
            f"no Ray cluster answers at {address} ({reason}): start one with `ray start --head --port {port}` "
            "or fix --ray-address / RAY_ADDRESS"
        ) from None
    if not speaks_grpc:  # ray.init would wait for minutes on a port that is not Ray's
        raise HwnasError(
            f"{address} answers but is not a Ray cluster (no gRPC reply): give the port `ray start --head --port` "
            "was given (6379 by default)"
        )


def _answers_http2(conn: socket.socket) -> bool:
    """Whether the server answers an HTTP/2 connection preface with a SETTINGS frame, as Ray's
    gRPC servers (the GCS, Ray Client) do."""
    conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
    reply = b""
    with contextlib.suppress(OSError):
        while len(reply) < 9:
            chunk = conn.recv(9 - len(reply))
            if not chunk:
                break
            reply += chunk
    return len(reply) == 9 and reply[3] == 4  # frame type 4: SETTINGS


def _run_batch(fn: Callable[[Any], Any], items: list[Any], threads: int = 1) -> list[Any]:
    """One task: ``fn`` over a batch with ``threads`` intra-op threads, as many as the CPUs it holds."""
    import torch

    torch.set_num_threads(threads)
    return [fn(item) for item in items]


class RayExecutor(Executor):
    """Batches of items as Ray tasks of ``threads`` CPUs and as many intra-op threads; results in input order.

    Ray also sets ``OMP_NUM_THREADS`` to a task's CPUs in the workers it starts, so the
    native pools under torch and numpy match the CPUs a task holds."""

    name = "ray"

    def __init__(self, address: str | None = None, *, batch: int | None = None, threads: int = 1) -> None:
        self.batch = check_batch(batch)
        self.threads = check_threads(threads)
        ray = self._ray = import_ray()
        self.address = address if address is not None else (os.environ.get("RAY_ADDRESS") or None)
        self._owns_connection = not ray.is_initialized()
        if self._owns_connection:
            self._connect()
        self._check_threads()
        self._remote = ray.remote(num_cpus=self.threads, max_retries=MAX_RETRIES)(_run_batch)

    def _connect(self) -> None:
        ray = self._ray
        options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        if self.address is None:
            # "local": always a new instance for this command (never a cluster someone else started here)
            options.update(address="local", include_dashboard=False)
        else:
            check_address(self.address)
            options["address"] = self.address
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            where = self.address or "a local Ray instance"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HwnasError(f"cannot connect to Ray at {where}: {first}") from None

    def _check_threads(self) -> None:
        """A task of ``threads`` CPUs that no node can hold would wait forever: say so instead."""
        largest = max((int(n["Resources"].get("CPU", 0)) for n in self._ray.nodes() if n.get("Alive")), default=0)
        if self.threads > largest:
            self.close()
            raise HwnasError(
                f"--threads {self.threads}: a task holds that many CPUs, and the largest node of the cluster "
                f"has {largest}; give --threads {max(1, largest)} or fewer"
            )

    @property
    def workers(self) -> int:
        """Tasks the cluster runs at once: its CPUs over the CPUs a task holds."""
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)) // self.threads)

    def batch_for(self, count: int) -> int:
        """The given --batch, else DEFAULT_BATCH cut so that every CPU of the cluster gets a task."""
        if self.batch is not None:
            return self.batch
        return max(1, min(DEFAULT_BATCH, math.ceil(count / self.workers)))

    def imap(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[R, None, None]:
        if not items:
            return
        ray = self._ray
        if not ray.is_initialized():  # used again after close(): connect again rather than start Ray anew
            self._owns_connection = True
            self._connect()
        fn_ref = ray.put(fn)
        refs = [self._remote.remote(fn_ref, batch, self.threads) for batch in chunks(items, self.batch_for(len(items)))]
        pending = list(refs)
        try:
            while pending:
                ref = pending[0]
                results = self._get(ref)
                pending.pop(0)
                yield from results
        except BaseException:
            self._cancel(pending)  # Ctrl-C, an error, or the caller stopped reading: free the cluster
            raise

    def _cancel(self, refs: list[Any]) -> None:
        """Stop the tasks still out.

        A driver that made its own connection disconnects: the job ends, and Ray kills the
        job's workers and drops its queued tasks. ``ray.cancel`` is not used there because it
        races a task that is finishing (Ray 2.60's driver then aborts in task_manager.cc,
        "Tried to complete task that was not pending"). On a connection that belongs to the
        caller, tasks are cancelled: queued ones are dropped, running ones interrupted, and a
        task still running after CANCEL_WAIT_S has its worker killed."""
        if self._owns_connection:
            self.close()
            return
        ray = self._ray
        with contextlib.suppress(Exception):  # a finished or lost task cannot be cancelled
            for ref in refs:
                ray.cancel(ref)
            _, running = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_S)
            for ref in running:
                ray.cancel(ref, force=True)
            ray.wait(running, num_returns=len(running), timeout=CANCEL_WAIT_S)

    def _get(self, ref: Any) -> list[Any]:
        from ray import exceptions as rex

        try:
            return list(self._ray.get(ref))
        except rex.RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, HwnasError):
                raise cause from None  # the error the function raised, as it would read locally
            raise
        except (rex.WorkerCrashedError, rex.NodeDiedError, rex.ObjectLostError) as exc:
            raise HwnasError(
                f"Ray lost a task {MAX_RETRIES + 1} times ({type(exc).__name__}): the cluster is failing"
            ) from None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "batch": self.batch, "address": self.address or "local instance"}

    def close(self) -> None:
        if self._owns_connection and self._ray.is_initialized():
            self._ray.shutdown()
            self._owns_connection = False
