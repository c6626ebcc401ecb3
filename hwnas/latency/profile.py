"""``hwnas profile``: time every distinct block of a space on a device and keep a lookup table.

Blocks come from ``space.all_blocks(resolution)`` (stem, every layer block at its input
shape, downsamples, head). Each is exported once (:class:`ArtifactCache`), copied to the
device in small batches, timed there, and its statistics written to
``latency_tables/<device>.json``. With ``timing.rounds`` > 1 every block is timed once per
round, rounds interleaved over the whole list, and the fastest round is kept (see
:meth:`LatencyTable.add`). The table on disk is the checkpoint: it is saved
atomically every few seconds and whenever the job stops (an error, Ctrl-C, a lost
connection), so ``--resume`` continues with the blocks still missing and a failure never
loses what was measured.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from hwnas.devices import Device, load_device
from hwnas.errors import UsageError
from hwnas.io import announce_checkpoint
from hwnas.latency.artifacts import ArtifactCache
from hwnas.latency.table import LatencyTable, identity_of, now_iso, table_path
from hwnas.latency.targets import Target, open_target
from hwnas.latency.timing import TimingStats
from hwnas.records import ProfileRun
from hwnas.spaces import DEFAULT_SPACE, get_space
from hwnas.spaces.base import BlockSpec, SearchSpace

UPLOAD_BATCH = 16


@dataclass(frozen=True)
class BlockDone:
    """Progress after each measurement: ``done`` of ``total`` block-rounds of this run are in the table."""

    done: int
    total: int
    key: str
    stats: TimingStats


@dataclass(frozen=True)
class ProfileSummary:
    """Where a profiling run's time went; ``overhead_share`` is 1 - timed_s / wall_s.

    ``measured`` and ``already_present`` count block-rounds (blocks x ``rounds``)."""

    path: Path
    device: str
    runtime: str
    entries: int
    expected_entries: int
    measured: int
    already_present: int
    complete: bool
    wall_s: float
    export_s: float
    exported: int
    timed_s: float
    setup_s: float
    rounds: int = 1

    @property
    def timed_share(self) -> float:
        """Share of wall time spent in the timed runs themselves."""
        return self.timed_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def overhead_share(self) -> float:
        return 1.0 - self.timed_share if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "device": self.device,
            "runtime": self.runtime,
            "entries": self.entries,
            "expected_entries": self.expected_entries,
            "measured": self.measured,
            "already_present": self.already_present,
            "complete": self.complete,
            "wall_s": self.wall_s,
            "export_s": self.export_s,
            "exported": self.exported,
            "timed_s": self.timed_s,
            "setup_s": self.setup_s,
            "rounds": self.rounds,
            "timed_share": self.timed_share,
            "overhead_share": self.overhead_share,
        }


class BlockTimer:
    """Times blocks into a table on an opened target, checkpointing the table as it goes.

    :func:`profile_device` runs it once over the whole list; a few-shot profile
    (:mod:`hwnas.latency.fewshot`) runs it batch by batch on one connection. Rounds are
    interleaved over each list it is given, so a slow spell of the machine costs one round
    of a block, not the entry. :meth:`finish` records the run and saves the table."""

    def __init__(
        self,
        target: Target,
        table: LatencyTable,
        path: Path,
        space: SearchSpace,
        all_keys: set[str],
        *,
        work_dir: str | os.PathLike[str] | None = None,
        on_block: Callable[[BlockDone], None] | None = None,
        checkpoint_every_s: float = 2.0,
    ) -> None:
        self.target, self.table, self.path, self.all_keys = target, table, path, all_keys
        self.cache = ArtifactCache(target.runtime, space, work_dir)
        self.rounds = target.device.timing.rounds
        self.on_block = on_block
        self.checkpoint_every_s = checkpoint_every_s
        self.started = time.perf_counter()
        self.export_s = self.timed_s = self.setup_s = 0.0
        self.measured = 0
        self.done = 0
        self.total = 0
        self._last_save = time.perf_counter()

    def measure(self, specs: list[BlockSpec]) -> None:
        """Time every round of ``specs`` still missing from the table."""
        table, rounds = self.table, self.rounds
        for round_index in range(rounds):
            todo = [s for s in specs if table.rounds_done(s.key) <= round_index]
            for start in range(0, len(todo), UPLOAD_BATCH):
                batch = todo[start : start + UPLOAD_BATCH]
                t0 = time.perf_counter()
                artifacts = self.cache.blocks(batch)
                self.export_s += time.perf_counter() - t0
                remote = self.target.upload(artifacts)
                for spec, where in zip(batch, remote, strict=True):
                    m = self.target.measure(where, spec.input_shape)
                    table.add(spec, m.stats)
                    self.measured += 1
                    self.done += 1
                    self.timed_s += m.timed_s
                    self.setup_s += m.setup_s
                    if self.on_block is not None:
                        self.on_block(BlockDone(self.done, self.total, spec.key, m.stats))
                    if time.perf_counter() - self._last_save >= self.checkpoint_every_s:
                        self.save()

    def save(self) -> None:
        self.table.with_progress(self.all_keys, self.rounds)
        self.table.save(self.path)
        self._last_save = time.perf_counter()

    @property
    def wall_s(self) -> float:
        return time.perf_counter() - self.started

    def finish(self) -> None:
        """Record this run and save; nothing timed (a provider that fails on the first block, an
        interrupt at once) leaves the file as it was, so no empty table blocks the next run."""
        self.cache.close()
        if self.measured:
            _record_run(
                self.table,
                wall_s=self.wall_s,
                export_s=self.export_s,
                exported=self.cache.exported,
                timed_s=self.timed_s,
                setup_s=self.setup_s,
                measured=self.measured,
            )
            self.save()

    def summary(self, description: dict, specs_present: int) -> ProfileSummary:
        return ProfileSummary(
            path=self.path,
            device=self.target.device.name,
            runtime=f"{description['runtime']['name']} {description['runtime']['version']}",
            entries=len(self.table.entries),
            expected_entries=len(self.all_keys),
            measured=self.measured,
            already_present=specs_present,
            complete=self.table.complete,
            wall_s=self.wall_s,
            export_s=self.export_s,
            exported=self.cache.exported,
            rounds=self.rounds,
            timed_s=self.timed_s,
            setup_s=self.setup_s,
        )


def profile_device(
    device: str | Device,
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
    blocks: Iterable[BlockSpec] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_block: Callable[[BlockDone], None] | None = None,
    checkpoint_every_s: float = 2.0,
) -> ProfileSummary:
    """Fill the device's table with the space's blocks (the first ``limit`` of them, if given).

    ``blocks`` replaces the space's full block list (e.g. only the blocks some networks
    use). ``on_start(total, already_present)`` and ``on_block`` report progress. Predicted
    entries of a few-shot table count as missing: a full profile replaces them with measurements.
    """
    dev, sp, r, k, path = resolve_output(device, space, resolution, num_classes, output, tables_dir)
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    check_output(path, resume=resume, overwrite=overwrite)
    all_keys = {s.key for s in sp.all_blocks(r, k)}
    specs = list({s.key: s for s in (blocks if blocks is not None else sp.all_blocks(r, k))}.values())
    if limit is not None:
        specs = specs[:limit]

    with open_target(dev) as target:
        description = target.describe()
        table = open_table(path, dev, description, sp, r, k, len(all_keys), resume=resume and not overwrite)
        timer = BlockTimer(
            target,
            table,
            path,
            sp,
            all_keys,
            work_dir=work_dir,
            on_block=on_block,
            checkpoint_every_s=checkpoint_every_s,
        )
        present = sum(min(table.rounds_done(s.key), timer.rounds) for s in specs)
        timer.total, timer.done = len(specs) * timer.rounds, present
        if on_start is not None:
            on_start(timer.total, present)
        try:
            timer.measure(specs)
        finally:
            timer.finish()
    return timer.summary(description, present)


def resolve_output(
    device: str | Device,
    space: str | SearchSpace,
    resolution: int | None,
    num_classes: int | None,
    output: str | os.PathLike[str] | None,
    tables_dir: str | os.PathLike[str] | None,
) -> tuple[Device, SearchSpace, int, int, Path]:
    """The device, space, resolution, class count and table file a profiling run writes."""
    dev = load_device(device)
    sp = get_space(space) if isinstance(space, str) else space
    r = resolution or sp.default_resolution
    k = num_classes or sp.default_num_classes
    path = Path(output) if output is not None else table_path(dev.name, sp, r, k, tables_dir)
    announce_checkpoint(path)
    return dev, sp, r, k, path


def check_output(path: Path, *, resume: bool, overwrite: bool) -> None:
    if path.exists() and not (resume or overwrite):
        raise UsageError(f"{path} exists; pass --resume to continue it or --overwrite to start again")


def open_table(
    path: Path,
    device: Device,
    description: dict,
    space: SearchSpace,
    resolution: int,
    num_classes: int,
    expected: int,
    *,
    resume: bool,
) -> LatencyTable:
    fresh = LatencyTable.new(
        device=device,
        description=description,
        space=space,
        resolution=resolution,
        num_classes=num_classes,
        expected_entries=expected,
        path=path,
    )
    if not (resume and path.exists()):
        return fresh
    table = LatencyTable.load(path)
    now = identity_of(
        device.name,
        description["runtime"],
        description["host"],
        device.threads,
        device.precision,
        space.name,
        resolution,
        num_classes,
        device.timing.clock,
        device.timing.estimator,
    )
    before = table.identity()
    diffs = [f"{k} {before[k]!r} -> {now[k]!r}" for k in now if before.get(k) != now[k]]
    if diffs:
        raise UsageError(
            f"cannot resume {path}: it was measured differently ({'; '.join(diffs)}); "
            f"pass --overwrite to start a new table"
        )
    return table


def _record_run(
    table: LatencyTable, *, wall_s: float, export_s: float, exported: int, timed_s: float, setup_s: float, measured: int
) -> None:
    """Append this run to ``profile.runs`` and keep totals over all runs of the table."""
    table.record_run(
        ProfileRun(
            finished=now_iso(),
            measured=measured,
            wall_s=round(wall_s, 3),
            export_s=round(export_s, 3),
            exported=exported,
            timed_s=round(timed_s, 3),
            setup_s=round(setup_s, 3),
        )
    )
