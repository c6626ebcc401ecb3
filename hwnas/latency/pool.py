"""Device pools: one block table measured by several devices of one kind at once.

``hwnas profile --device A --device B`` (or a pool file, :func:`load_pool`) spreads the
space's blocks over the members: one thread per member, each with its own connection
(:func:`~hwnas.latency.targets.open_target`), taking a few blocks at a time from one
shared queue. Every block-round is measured once: it leaves the queue when a member
takes it and is back at the front if that member fails before its timing is in the
table, so a device that dies mid-run costs its in-flight blocks a second trip, never
a measurement already made. Each entry names the member that timed it (``measured_by``).

One table describes one device kind and runtime build, so members must agree on
everything the table's identity holds (runtime and its version, provider, CPU, threads,
precision, timing settings); a pool that mixes kinds is refused before anything is timed.

A pool file is a YAML mapping::

    name: jetson-fleet            # the table's name (latency_tables/jetson-fleet.json)
    description: three Orin Nanos on the lab switch
    pool: [jetson-a, devices/jetson-b.yaml]   # device names, aliases or YAML paths (relative to the file)
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from hwnas.devices import Device, load_device
from hwnas.errors import DeviceError, UsageError, excerpt
from hwnas.io import read_text
from hwnas.latency.artifacts import ArtifactCache
from hwnas.latency.profile import (
    UPLOAD_BATCH,
    BlockDone,
    ProfileSummary,
    _record_run,
    check_output,
    open_table,
    resolve_output,
)
from hwnas.latency.table import LatencyTable, identity_of
from hwnas.latency.targets import Target, open_target
from hwnas.spaces import DEFAULT_SPACE
from hwnas.spaces.base import BlockSpec, SearchSpace

POOL_FIELDS = ("name", "description", "pool")
#: Host facts two members must share (besides the table identity): same board, same clocks.
HOST_FIELDS = ("cpu_model", "cores", "machine", "board", "clocks")


@dataclass(frozen=True)
class Pool:
    """The devices of one pool; ``name`` names its table."""

    name: str
    members: tuple[Device, ...]
    description: str = ""


def is_pool_file(text: str) -> bool:
    path = Path(text).expanduser()
    if not (text.endswith((".yaml", ".yml")) and path.is_file()):
        return False
    with contextlib.suppress(yaml.YAMLError, OSError, UnicodeError):
        data = yaml.safe_load(read_text(path))
        return isinstance(data, dict) and "pool" in data
    return False


def load_pool_file(path: Path) -> Pool:
    where = str(path)
    data = yaml.safe_load(read_text(path))
    unknown = sorted(set(data) - set(POOL_FIELDS))
    if unknown:
        raise UsageError(f"{where}: a pool file takes {', '.join(POOL_FIELDS)}; unknown: {', '.join(unknown)}")
    name, members = data.get("name"), data.get("pool")
    if not isinstance(name, str) or not name or any(c in name for c in "/\\ "):
        raise UsageError(f"{where}: name must be a plain file name, got {excerpt(str(name))}")
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise UsageError(f"{where}: pool must be a list of device names or YAML paths")

    def resolve(member: str) -> str:
        relative = path.parent / member
        return str(relative) if member.endswith((".yaml", ".yml")) and relative.is_file() else member

    return _pool(name, [load_device(resolve(m)) for m in members], str(data.get("description") or ""))


def load_pool(devices: Sequence[str | Device]) -> Pool:
    """A pool from ``--device`` values: one pool file, or two or more devices (named after the first)."""
    if len(devices) == 1 and isinstance(devices[0], str) and is_pool_file(devices[0]):
        return load_pool_file(Path(devices[0]).expanduser())
    members = [load_device(d) for d in devices]
    return _pool(members[0].name if members else "", members)


def _pool(name: str, members: list[Device], description: str = "") -> Pool:
    if len(members) < 2:
        raise UsageError(f"a device pool needs at least two devices, got {len(members)}")
    names = [m.name for m in members]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"device {twice[0]!r} is in the pool twice: each member is a separate device")
    return Pool(name, tuple(members), description)


def _settings(device: Device) -> dict[str, Any]:
    return {
        "runtime": device.runtime,
        "precision": device.precision,
        "provider": device.provider,
        "threads": device.threads,
        "batch_size": device.batch_size,
        "graph_optimization": device.graph_optimization,
        "timing": device.timing.to_dict(),
    }


def check_compatible(pool: Pool, descriptions: Sequence[dict[str, Any]], space: str, r: int, k: int) -> None:
    """A usage error naming the first field on which a member differs from the first member."""
    first, base = pool.members[0], descriptions[0]

    def facts(device: Device, description: dict[str, Any]) -> dict[str, Any]:
        runtime, host = description["runtime"], description["host"]
        out = identity_of(
            pool.name, runtime, host, device.threads, device.precision, space, r, k,
            device.timing.clock, device.timing.estimator,
        )  # fmt: skip
        out.update({f"runtime {key}": value for key, value in runtime.items()})
        out.update({f"host {key}": host.get(key) for key in HOST_FIELDS})
        out.update(_settings(device))
        return out

    reference = facts(first, base)
    for member, description in zip(pool.members[1:], descriptions[1:], strict=True):
        mine = facts(member, description)
        for key in [*reference, *(k for k in mine if k not in reference)]:  # the table identity's fields first
            if reference.get(key) != mine.get(key):
                raise UsageError(
                    f"cannot pool {first.name} and {member.name}: {key} {reference.get(key)!r} vs {mine.get(key)!r} "
                    "(one table holds one device kind and runtime build; profile them apart)"
                )


@dataclass(frozen=True)
class PoolSummary(ProfileSummary):
    """A pool's profile: the usual summary plus block-rounds per member and the members that failed."""

    members: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "members": dict(self.members), "failed": dict(self.failed)}


class _PoolRun:
    """The shared queue, the table and its checkpoint; one lock guards them all."""

    def __init__(
        self,
        table: LatencyTable,
        path: Path,
        all_keys: set[str],
        rounds: int,
        cache: ArtifactCache,
        work: Iterable[tuple[int, BlockSpec]],
        on_block: Callable[[BlockDone], None] | None,
        checkpoint_every_s: float,
    ) -> None:
        self.table, self.path, self.all_keys, self.rounds, self.cache = table, path, all_keys, rounds, cache
        self.queue: deque[tuple[int, BlockSpec]] = deque(work)
        self.on_block, self.checkpoint_every_s = on_block, checkpoint_every_s
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.busy = 0  # members holding block-rounds not yet in the table
        self.export_lock = threading.Lock()
        self.stop = threading.Event()
        self.members: dict[str, int] = {}
        self.failed: dict[str, str] = {}
        self.alive = 0
        self.done = self.total = self.measured = 0
        self.export_s = self.timed_s = self.setup_s = 0.0
        self._last_save = time.perf_counter()

    def take(self) -> list[tuple[int, BlockSpec]]:
        """A few block-rounds for one member: an even share of what is left, at most UPLOAD_BATCH.

        With the queue empty a member waits while others hold work (one of them may fail and
        hand it back) and gets nothing once nobody does: then every block-round is in the table."""
        with self.changed:
            while not self.queue and self.busy and not self.stop.is_set():
                self.changed.wait(0.2)
            if self.stop.is_set() or not self.queue:
                return []
            size = max(1, min(UPLOAD_BATCH, math.ceil(len(self.queue) / (2 * max(1, self.alive)))))
            self.busy += 1
            return [self.queue.popleft() for _ in range(min(size, len(self.queue)))]

    def _release(self, in_flight: list[tuple[int, BlockSpec]]) -> None:
        """Hand back what a member took and did not measure (the caller holds the lock)."""
        self.queue.extendleft(reversed(in_flight))
        self.busy -= 1
        self.changed.notify_all()

    def serve(self, target: Target) -> None:
        """One member's loop; a failure returns its in-flight block-rounds to the front of the queue."""
        name = target.device.name
        in_flight: list[tuple[int, BlockSpec]] = []
        try:
            while batch := self.take():
                in_flight = list(batch)
                with self.export_lock:  # one export at a time: the cache and torch's exporter are not thread-safe
                    t0 = time.perf_counter()
                    artifacts = [self.cache.block(spec) for _, spec in batch]
                    export_s = time.perf_counter() - t0
                remote = target.upload(artifacts)
                for item, where in zip(batch, remote, strict=True):
                    if self.stop.is_set():
                        break
                    m = target.measure(where, item[1].input_shape)
                    self._record(name, item, m.stats, m.timed_s, m.setup_s)
                    in_flight.remove(item)
                with self.lock:
                    self.export_s += export_s
                    self._release(in_flight)
                    in_flight = []
        except Exception as exc:  # noqa: BLE001  (any failure of a member hands its work to the others)
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            with self.lock:
                self.failed[name] = message
                self._release(in_flight)
        finally:
            with self.lock:
                self.alive -= 1

    def _record(self, name: str, item: tuple[int, BlockSpec], stats: Any, timed_s: float, setup_s: float) -> None:
        spec = item[1]
        with self.lock:
            self.table.add(spec, stats, by=name)
            self.members[name] = self.members.get(name, 0) + 1
            self.measured += 1
            self.done += 1
            self.timed_s += timed_s
            self.setup_s += setup_s
            if self.on_block is not None:
                self.on_block(BlockDone(self.done, self.total, spec.key, stats))
            if time.perf_counter() - self._last_save >= self.checkpoint_every_s:
                self.save()

    def save(self) -> None:
        """Write the table (the caller holds the lock)."""
        self.table.with_progress(self.all_keys, self.rounds)
        self.table.save(self.path)
        self._last_save = time.perf_counter()


def profile_pool(
    pool: Pool | Sequence[str | Device],
    *,
    space: str | SearchSpace = DEFAULT_SPACE,
    resolution: int | None = None,
    num_classes: int | None = None,
    limit: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    output: str | os.PathLike[str] | None = None,
    tables_dir: str | os.PathLike[str] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_block: Callable[[BlockDone], None] | None = None,
    checkpoint_every_s: float = 2.0,
) -> PoolSummary:
    """Fill the pool's table (``latency_tables/<pool name>.json``) with the space's blocks, all members at once.

    Members that fail are dropped and their blocks measured by the others; when every member
    has failed with blocks left, the table keeps what was measured and a DeviceError says
    why (``--resume`` continues). Interrupts stop every member after its current timing."""
    pool = pool if isinstance(pool, Pool) else load_pool(pool)
    head = replace(pool.members[0], name=pool.name, aliases=(), description=pool.description)
    dev, sp, r, k, path = resolve_output(head, space, resolution, num_classes, output, tables_dir)
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    check_output(path, resume=resume, overwrite=overwrite)
    all_keys = {s.key for s in sp.all_blocks(r, k)}
    specs = list({s.key: s for s in sp.all_blocks(r, k)}.values())
    if limit is not None:
        specs = specs[:limit]

    targets: list[Target] = []
    started = time.perf_counter()
    try:
        for member in pool.members:
            targets.append(open_target(member))
        descriptions = [t.describe() for t in targets]
        check_compatible(pool, descriptions, sp.name, r, k)
        table = open_table(path, dev, descriptions[0], sp, r, k, len(all_keys), resume=resume and not overwrite)
        rounds = dev.timing.rounds
        work = [(i, s) for i in range(rounds) for s in specs if table.rounds_done(s.key) <= i]
        present = len(specs) * rounds - len(work)
        run = _PoolRun(
            table, path, all_keys, rounds, ArtifactCache(targets[0].runtime, sp, work_dir), work, on_block,
            checkpoint_every_s,
        )  # fmt: skip
        run.total, run.done, run.alive = len(specs) * rounds, present, len(targets)
        if on_start is not None:
            on_start(run.total, present)
        threads = [threading.Thread(target=run.serve, args=(t,), name=f"pool-{t.device.name}") for t in targets]
        try:
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                for thread in threads:
                    thread.join(0.2)  # short joins: Ctrl-C reaches this thread
        except BaseException:
            run.stop.set()  # members finish the timing they are in, then stop
            for thread in threads:
                thread.join()
            raise
        finally:
            with run.lock:
                if run.measured:
                    _record_run(
                        table,
                        wall_s=time.perf_counter() - started,
                        export_s=run.export_s,
                        exported=run.cache.exported,
                        timed_s=run.timed_s,
                        setup_s=run.setup_s,
                        measured=run.measured,
                    )
                    run.save()
        if run.queue:
            failures = "; ".join(f"{name}: {message}" for name, message in run.failed.items())
            raise DeviceError(
                f"every device of pool {pool.name} failed with {len(run.queue)} block timings left "
                f"(what was measured is saved; --resume continues): {failures}"
            )
    finally:
        for target in targets:
            with contextlib.suppress(Exception):
                target.close()
    return PoolSummary(
        path=path,
        device=pool.name,
        runtime=f"{descriptions[0]['runtime']['name']} {descriptions[0]['runtime']['version']}",
        entries=len(table.entries),
        expected_entries=len(all_keys),
        measured=run.measured,
        already_present=present,
        complete=table.complete,
        wall_s=time.perf_counter() - started,
        export_s=run.export_s,
        exported=run.cache.exported,
        timed_s=run.timed_s,
        setup_s=run.setup_s,
        rounds=rounds,
        members=dict(run.members),
        failed=dict(run.failed),
    )
