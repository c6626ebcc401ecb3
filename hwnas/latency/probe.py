"""Does a block table describe this machine? A fingerprint check and a probe that re-times a few blocks.

Two machines can report the same CPU model string and core count yet run blocks 28 %
apart (issue 13), so the fingerprint (CPU, cores, runtime name, version and provider) is
only the first check. The probe re-times :data:`PROBE_BLOCKS` of the table's measured
blocks, one per kind and stage first, with the device's own timing settings (rounds and
estimator as the table was measured), and takes the median ratio measured / stored: the
*drift*. Beyond :data:`DRIFT_LIMIT` (10 %), or with a different fingerprint, the table
is not this machine's. A probe takes a few seconds; its result is cached for
:data:`CACHE_TTL_S` by the table file's SHA-256, the device settings and the host, so a
quickstart's commands in a row probe once. Only local devices are probed: a remote one
would cost a connection per command.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from hwnas.devices import Device
from hwnas.io import atomic_write_json, read_json
from hwnas.latency.artifacts import ArtifactCache, default_work_dir
from hwnas.latency.table import LOCAL_DIR, LatencyTable
from hwnas.latency.targets import open_target
from hwnas.latency.timing import TimingStats, best_of_rounds
from hwnas.spaces import get_space
from hwnas.spaces.base import BlockSpec, SearchSpace

PROBE_BLOCKS = 8
DRIFT_LIMIT = 0.10
CACHE_TTL_S = 900.0
#: Host fields that change timings (the OS and Python strings change with every update and are not compared).
HOST_FIELDS = ("cpu_model", "cores", "cores_available", "machine")
RUNTIME_FIELDS = ("name", "version", "provider")
#: Blocks faster than this are skipped when others exist: timer resolution and call overhead dominate them.
MIN_PROBE_MS = 0.05


@dataclass(frozen=True)
class ProbeBlock:
    key: str
    stored_ms: float
    measured_ms: float

    @property
    def ratio(self) -> float:
        return self.measured_ms / self.stored_ms


@dataclass(frozen=True)
class TableCheck:
    """What the fingerprint and the probe said about one table on one device."""

    table: str
    device: str
    host_differences: tuple[str, ...]
    runtime_differences: tuple[str, ...]
    blocks: tuple[ProbeBlock, ...]
    limit: float
    checked_at: float
    wall_s: float
    cached: bool = False

    @property
    def drift(self) -> float | None:
        """Median of measured / stored over the probed blocks, minus 1 (+0.28: 28 % slower here)."""
        return statistics.median(b.ratio for b in self.blocks) - 1.0 if self.blocks else None

    @property
    def describes_this_machine(self) -> bool:
        drift = self.drift
        return (
            not self.host_differences and not self.runtime_differences and (drift is None or abs(drift) <= self.limit)
        )

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "cached"}
        out["blocks"] = [{"key": b.key, "stored_ms": b.stored_ms, "measured_ms": b.measured_ms} for b in self.blocks]
        out["host_differences"] = list(self.host_differences)
        out["runtime_differences"] = list(self.runtime_differences)
        return {**out, "drift": self.drift, "describes_this_machine": self.describes_this_machine}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, cached: bool = False) -> TableCheck:
        return cls(
            table=str(data["table"]),
            device=str(data["device"]),
            host_differences=tuple(data["host_differences"]),
            runtime_differences=tuple(data["runtime_differences"]),
            blocks=tuple(
                ProbeBlock(str(b["key"]), float(b["stored_ms"]), float(b["measured_ms"])) for b in data["blocks"]
            ),
            limit=float(data["limit"]),
            checked_at=float(data["checked_at"]),
            wall_s=float(data["wall_s"]),
            cached=cached,
        )


def differences(table: LatencyTable, description: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Host and runtime fields where the table and the device differ, as ``name 'was' -> 'now'``."""
    was_host, now_host = table.header.host, description.get("host", {})
    was_rt, now_rt = table.header.runtime, description.get("runtime", {})
    host = tuple(
        f"{f} {was_host.get(f)!r} -> {now_host.get(f)!r}"
        for f in HOST_FIELDS
        if f in was_host and was_host.get(f) != now_host.get(f)
    )
    runtime = tuple(
        f"runtime {f} {was_rt.get(f)!r} -> {now_rt.get(f)!r}" for f in RUNTIME_FIELDS if was_rt.get(f) != now_rt.get(f)
    )
    return host, runtime


def probe_specs(table: LatencyTable, space: SearchSpace, count: int = PROBE_BLOCKS) -> list[BlockSpec]:
    """``count`` measured blocks spread over kinds and stages: groups by (kind, input shape) taken
    round-robin, largest kinds first, each group giving its middle block by stored latency."""
    specs = {s.key: s for s in space.all_blocks(table.resolution, table.num_classes)}
    measured = [k for k in table.measured_keys if k in specs]
    est = table.estimator
    value = {k: table.entries[k].stats.value_ms(est) for k in measured}
    usable = [k for k in measured if value[k] >= MIN_PROBE_MS] or measured
    groups: dict[tuple[str, tuple[int, ...]], list[str]] = {}
    for k in usable:
        groups.setdefault((specs[k].kind, specs[k].input_shape), []).append(k)
    by_kind: dict[str, list[list[str]]] = {}
    for (kind, _shape), keys in sorted(groups.items()):
        by_kind.setdefault(kind, []).append(sorted(keys, key=lambda k: (value[k], k)))
    order = sorted(by_kind, key=lambda kind: (-sum(len(g) for g in by_kind[kind]), kind))
    cursor = dict.fromkeys(order, 0)
    chosen: list[str] = []
    wanted = min(count, len(usable))
    while len(chosen) < wanted:  # each pass adds one block of every kind that has one left
        for kind in order:
            kind_groups = by_kind[kind]
            for _ in range(len(kind_groups)):  # the kind's next stage / shape with a block left
                group = kind_groups[cursor[kind] % len(kind_groups)]
                cursor[kind] += 1
                pool = [k for k in group if k not in chosen]
                if pool:
                    chosen.append(pool[len(pool) // 2])
                    break
            if len(chosen) == wanted:
                break
    return [specs[k] for k in chosen]


def _time_blocks(device: Device, space: SearchSpace, specs: Sequence[BlockSpec], work_dir: Any) -> tuple[dict, list]:
    """The device's description and each block's statistics (fastest of ``timing.rounds`` rounds)."""
    with open_target(device) as target:
        description = target.describe()
        cache = ArtifactCache(target.runtime, space, work_dir)
        where = target.upload([cache.block(s) for s in specs])
        rounds: list[list[TimingStats]] = [[] for _ in specs]
        for _ in range(device.timing.rounds):
            for i, (spec, path) in enumerate(zip(specs, where, strict=True)):
                rounds[i].append(target.measure(path, spec.input_shape).stats)
    return description, [best_of_rounds(r, device.timing.estimator) for r in rounds]


def _describe(device: Device) -> dict:
    with open_target(device) as target:
        return target.describe()


def _cache_file(table: LatencyTable, device: Device, work_dir: Any) -> Path | None:
    if table.path is None or not table.path.exists():
        return None
    from hwnas.ondevice.machine import fingerprint

    host = {k: v for k, v in fingerprint().items() if k in HOST_FIELDS}
    ident = json.dumps({"device": device.to_dict(), "host": host}, sort_keys=True, default=str)
    digest = hashlib.sha256(table.path.read_bytes() + ident.encode()).hexdigest()[:24]
    root = Path(work_dir) if work_dir is not None else default_work_dir()
    return root / "probe" / f"{digest}.json"


def cached_check(
    table: LatencyTable, device: Device, *, work_dir: str | os.PathLike[str] | None = None, ttl_s: float = CACHE_TTL_S
) -> TableCheck | None:
    """A probe of this very table file, device and host from the last ``ttl_s`` seconds, or None."""
    path = _cache_file(table, device, work_dir)
    if path is None or not path.exists():
        return None
    try:
        check = TableCheck.from_json(read_json(path), cached=True)
    except (ValueError, KeyError, TypeError):
        return None
    return check if 0 <= time.time() - check.checked_at <= ttl_s else None


def check_table(
    table: LatencyTable,
    device: Device,
    *,
    probe: bool = True,
    blocks: int = PROBE_BLOCKS,
    work_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> TableCheck:
    """Compare ``table`` with ``device`` as it is now: the fingerprint always, and with ``probe``
    a re-timing of ``blocks`` blocks (a fresh cached result is reused unless ``use_cache`` is off).
    Without ``probe`` a cached probe still counts, if there is one."""
    if use_cache:
        cached = cached_check(table, device, work_dir=work_dir)
        if cached is not None:
            return cached
    started = time.perf_counter()
    space = get_space(table.space_name)
    specs = probe_specs(table, space, blocks) if probe else []
    if specs:
        description, stats = _time_blocks(device, space, specs, work_dir)
    else:
        description, stats = _describe(device), []
    host, runtime = differences(table, description)
    est = table.estimator
    probed = tuple(
        ProbeBlock(s.key, table.entries[s.key].stats.value_ms(est), st.value_ms(est))
        for s, st in zip(specs, stats, strict=True)
        if table.entries[s.key].stats.value_ms(est) > 0
    )
    check = TableCheck(
        str(table.path), device.name, host, runtime, probed, DRIFT_LIMIT, time.time(), time.perf_counter() - started
    )
    path = _cache_file(table, device, work_dir)
    if probed and path is not None:
        atomic_write_json(path, check.to_json())
    return check


def advice(check: TableCheck) -> str | None:
    """One line for stderr when the table is not this machine's: what was found and the fix; else None.

    The fix writes ``<tables dir>/local/<file>``, which the lookup prefers, with the committed
    table as prior; a committed table is never overwritten."""
    if check.describes_this_machine:
        return None
    found = []
    if check.drift is not None:
        found.append(
            f"{len(check.blocks)} re-timed blocks run {check.drift:+.0%} against the table (limit ±{check.limit:.0%})"
        )
    else:
        found.append("no blocks re-timed (--no-probe)")
    found.extend(check.host_differences + check.runtime_differences)
    where = Path(check.table)
    committed = where.parent.parent / where.name if where.parent.name == LOCAL_DIR else where
    target = committed.parent / LOCAL_DIR / committed.name
    prior = f" --prior {committed}" if committed.exists() else ""
    again = " --overwrite" if target.exists() else ""
    return (
        f"latency table {check.table} does not describe this machine: {'; '.join(found)}. "
        f"Fix: `hwnas profile --device {check.device} --budget 150{prior} --output {target}{again}` "
        f"(a few-shot table, about 2 minutes) or a full "
        f"`hwnas profile --device {check.device} --output {target}{again}`"
    )


_WARNED: set[str] = set()


def probe_disabled() -> bool:
    """``HWNAS_NO_PROBE=1`` skips the re-timing everywhere, as ``--no-probe`` does for one command."""
    return os.environ.get("HWNAS_NO_PROBE", "") not in ("", "0")


def warn_if_foreign(table: LatencyTable, device: str | Device | None, *, probe: bool = True) -> TableCheck | None:
    """Check a local device's table and say once per process on stderr when it is not this
    machine's (with the drift and the fix). A table whose device is unknown or remote is not checked."""
    from hwnas.devices import load_device
    from hwnas.errors import HwnasError

    try:
        dev = load_device(device if device is not None else table.device_name)
    except HwnasError:
        return None
    if dev.is_remote or dev.name != table.device_name or table.path is None:
        return None
    check = check_table(table, dev, probe=probe and not probe_disabled())
    text = advice(check)
    if text is not None and str(table.path) not in _WARNED:
        _WARNED.add(str(table.path))
        sys.stderr.write(f"warning: {text}\n")
    return check
