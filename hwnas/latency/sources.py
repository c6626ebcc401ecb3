"""Latency sources: what the search and export ask for an architecture's latency on a device.

Two kinds, one contract (:class:`LatencySource`):

- :class:`BlockLatencyTable`, a per-device table from ``hwnas profile``: predicted latency
  = stem + sum of blocks + head, each block looked up by its key at its input shape
  (FBNet / Once-for-All), then the table's calibration (fitted by ``hwnas validate-table``).
- :class:`ArchLatencyTable`, whole-architecture measurements (a CSV ``arch,latency_ms`` or
  a JSON ``{encoding: ms}``, the form HW-NAS-Bench publishes; the NB201 dev CSV's
  ``pixel3_latency_ms`` column is one).

A source never guesses: an architecture it cannot price raises
:class:`~hwnas.errors.LatencyUnknown` naming what is missing.
"""

from __future__ import annotations

import csv
import io
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from numbers import Real
from pathlib import Path
from typing import Any

from hwnas.devices import Device, load_device
from hwnas.errors import HwnasError, InvalidArchitecture, LatencyUnknown, UsageError, excerpt
from hwnas.io import read_json, read_text
from hwnas.latency.table import TABLE_KIND, Calibration, LatencyTable, table_path
from hwnas.latency.timing import TimingStats, best_of_rounds
from hwnas.spaces import DEFAULT_SPACE, get_space
from hwnas.spaces.base import SearchSpace


def _space(space: str | SearchSpace) -> SearchSpace:
    return get_space(space) if isinstance(space, str) else space


def _arch(space: SearchSpace, arch: Any) -> Any:
    return space.decode(arch) if isinstance(arch, str) else arch


class LatencySource(ABC):
    """Prices architectures in milliseconds.

    Guarantees: ``predict_ms`` is deterministic, returns a finite positive number, and
    raises LatencyUnknown (never a guess) when the source has no answer; ``describe``
    returns a JSON-ready dict saying where the numbers come from.
    """

    @abstractmethod
    def predict_ms(self, space: SearchSpace, arch: Any, *, resolution: int | None = None) -> float:
        """Latency of ``arch`` (an encoding or the space's architecture object)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Kind, device, file and anything a reader needs to trust the numbers."""


class BlockLatencyTable(LatencySource):
    """A per-device block table (``latency_tables/<device>.json``) used as a predictor."""

    def __init__(self, table: LatencyTable) -> None:
        self.table = table

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> BlockLatencyTable:
        return cls(LatencyTable.load(path))

    @property
    def calibration(self) -> Calibration:
        return self.table.calibration

    def _check(self, space: SearchSpace, resolution: int | None) -> int:
        r = resolution or space.default_resolution
        if space.name != self.table.space_name:
            raise LatencyUnknown(
                f"latency table {self._where()} covers space {self.table.space_name!r}, not {space.name!r}"
            )
        if r != self.table.resolution:
            raise LatencyUnknown(
                f"latency table {self._where()} was measured at resolution {self.table.resolution}, not {r}"
            )
        return r

    def block_latencies(
        self, space: SearchSpace, arch: Any, *, resolution: int | None = None
    ) -> list[tuple[str, TimingStats]]:
        """Every block of ``arch`` (stem first, head last) with its table entry."""
        r = self._check(space, resolution)
        out = []
        for spec in space.blocks(_arch(space, arch), r, self.table.num_classes):
            stats = self.table.stats(spec.key)
            if stats is None:
                raise LatencyUnknown(
                    f"block {spec.key} is not in latency table {self._where()} "
                    f"(run `hwnas profile --device {self.table.device_name} --resume`)"
                )
            out.append((spec.key, stats))
        return out

    def raw_ms(self, space: SearchSpace, arch: Any, *, resolution: int | None = None) -> float:
        """Stem + sum of blocks + head (each block's median, or p10 when the table's estimator says so),
        before calibration."""
        est = self.table.estimator
        return math.fsum(stats.value_ms(est) for _, stats in self.block_latencies(space, arch, resolution=resolution))

    def predict_ms(self, space: SearchSpace, arch: Any, *, resolution: int | None = None) -> float:
        ms = self.calibration.apply(self.raw_ms(space, arch, resolution=resolution))
        if not ms >= 0:  # a negative calibration offset on a tiny network: no answer rather than a bogus one
            raise LatencyUnknown(f"latency table {self._where()} predicts {ms:.3f} ms after calibration")
        return ms

    def _where(self) -> str:
        return str(self.table.path) if self.table.path is not None else f"of {self.table.device_name}"

    def describe(self) -> dict[str, Any]:
        header = self.table.header
        return {
            "kind": "block-table",
            "path": str(self.table.path) if self.table.path else None,
            "device": self.table.device_name,
            "runtime": f"{header.runtime.get('name')} {header.runtime.get('version')}",
            "space": self.table.space_name,
            "resolution": self.table.resolution,
            "entries": len(self.table.entries),
            "estimator": self.table.estimator,
            "complete": self.table.complete,
            "calibration": self.calibration.to_dict(),
            "validation": None if header.validation is None else dict(header.validation.calibrated),
        }


class ArchLatencyTable(LatencySource):
    """Whole-architecture latencies keyed by canonical encoding (``space.encode(space.decode(text))``)."""

    def __init__(
        self, latency_ms: Mapping[str, float], *, space: SearchSpace, source: str = "", column: str = "latency_ms"
    ) -> None:
        self.space_name = space.name
        self.source = source
        self.column = column
        self.latency_ms: dict[str, float] = {}
        for text, value in latency_ms.items():
            key = _canonical(space, text, source)
            ms = float(value) if isinstance(value, Real) and not isinstance(value, bool) else math.nan
            if not math.isfinite(ms) or ms <= 0:
                raise UsageError(
                    f"{source or 'latency table'}: latency of {excerpt(text)} must be a positive number, "
                    f"got {repr(value)[:80]}"
                )
            if key in self.latency_ms and self.latency_ms[key] != ms:
                raise UsageError(
                    f"{source or 'latency table'}: {excerpt(text)} is the same architecture as an earlier row, "
                    f"with another latency ({self.latency_ms[key]:g} then {ms:g} ms); keep one row per architecture"
                )
            self.latency_ms[key] = ms

    @classmethod
    def from_csv(
        cls, path: str | os.PathLike[str], space: SearchSpace, *, latency_column: str | None = None
    ) -> ArchLatencyTable:
        """Rows ``arch,latency_ms`` (``arch_str`` also names the arch column); empty cells are skipped."""
        path = Path(path)
        reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
        header = reader.fieldnames or []
        arch_col = next((c for c in ("arch", "arch_str") if c in header), None)
        if arch_col is None:
            raise UsageError(f"{path}: needs an 'arch' (or 'arch_str') column, found {', '.join(header) or 'none'}")
        column = latency_column or "latency_ms"
        if column not in header:
            raise UsageError(
                f"{path}: no column {column!r} (columns: {', '.join(header)}); pick one with --latency-column"
            )
        values: dict[str, float] = {}
        for line, row in enumerate(reader, start=2):
            cell = (row.get(column) or "").strip()
            if not cell or cell.lower() == "nan":
                continue
            arch = row[arch_col] or ""
            try:
                ms = float(cell)
            except ValueError:
                raise UsageError(f"{path} line {line}: {column} of {excerpt(arch)} is not a number: {cell!r}") from None
            if arch in values and values[arch] != ms:  # the last row must not silently win
                raise UsageError(
                    f"{path} line {line}: {excerpt(arch)} appears again with another {column} "
                    f"({values[arch]:g} then {ms:g}); keep one row per architecture"
                )
            values[arch] = ms
        return cls(values, space=space, source=str(path), column=column)

    @classmethod
    def from_json(cls, path: str | os.PathLike[str], space: SearchSpace) -> ArchLatencyTable:
        """``{encoding: ms}``, or ``{"latency_ms": {encoding: ms}, ...metadata}``."""
        data = read_json(path)
        if isinstance(data, dict) and isinstance(data.get("latency_ms"), dict):
            data = data["latency_ms"]
        if not isinstance(data, dict):
            raise UsageError(f"{path}: expected a JSON object mapping architecture encodings to milliseconds")
        return cls(data, space=space, source=str(path))

    def predict_ms(self, space: SearchSpace, arch: Any, *, resolution: int | None = None) -> float:
        if space.name != self.space_name:
            raise LatencyUnknown(
                f"{self.source}: whole-architecture table is for space {self.space_name!r}, not {space.name!r}"
            )
        key = space.encode(_arch(space, arch))
        try:
            return self.latency_ms[key]
        except KeyError:
            raise LatencyUnknown(f"architecture {key} is not in {self.source or 'the latency table'}") from None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "arch-table",
            "path": self.source,
            "space": self.space_name,
            "column": self.column,
            "entries": len(self.latency_ms),
        }


def _canonical(space: SearchSpace, text: str, source: str) -> str:
    try:
        return space.encode(space.decode(text))
    except InvalidArchitecture as exc:
        raise InvalidArchitecture(f"{source or 'latency table'}: {exc}") from None


def load_latency_source(
    *,
    space: str | SearchSpace,
    device: str | Device | None = None,
    table: str | os.PathLike[str] | None = None,
    latency_column: str | None = None,
    resolution: int | None = None,
    tables_dir: str | os.PathLike[str] | None = None,
    probe: bool | None = None,
) -> LatencySource:
    """The latency source for a search or an export.

    ``table`` (a block-table JSON, a whole-arch CSV or JSON) wins; otherwise the device's
    table ``latency_tables/<device>.json`` (or the file named for a non-default space,
    resolution or class count; one in ``latency_tables/local/`` first). A device without a
    table is an error that says how to make one: ``hwnas profile --device NAME``.

    ``probe`` checks a block table of a local device against this machine
    (:mod:`hwnas.latency.probe`) and says once on stderr when it does not describe it:
    True re-times a few blocks (or reuses a recent probe), False compares the fingerprint
    only (``--no-probe``), None (the library default) checks nothing.
    """
    source = _load_source(space, device, table, latency_column, resolution, tables_dir)
    if probe is not None and isinstance(source, BlockLatencyTable):
        from hwnas.latency.probe import warn_if_foreign

        warn_if_foreign(source.table, device, probe=probe)
    return source


def _load_source(
    space: str | SearchSpace,
    device: str | Device | None,
    table: str | os.PathLike[str] | None,
    latency_column: str | None,
    resolution: int | None,
    tables_dir: str | os.PathLike[str] | None,
) -> LatencySource:
    sp = _space(space)
    if table is not None:
        path = Path(table)
        if not path.is_file():
            raise UsageError(f"latency table {path} does not exist")
        if path.suffix.lower() == ".csv":
            return ArchLatencyTable.from_csv(path, sp, latency_column=latency_column)
        try:
            data = read_json(path)
        except ValueError as exc:
            raise UsageError(f"{path} is neither a CSV nor valid JSON ({exc})") from None
        if isinstance(data, dict) and data.get("kind") == TABLE_KIND:
            return BlockLatencyTable(LatencyTable.load(path))
        return ArchLatencyTable.from_json(path, sp)
    if device is None:
        raise UsageError("give a device (--device) or a latency table file (--table)")
    dev = load_device(device)
    path = table_path(dev.name, sp, resolution, None, tables_dir)
    if not path.exists():
        raise HwnasError(
            f"no latency table for device {dev.name!r} and space {sp.name!r} at {path}: "
            f"run `hwnas profile --device {dev.name}"
            f"{'' if sp.name == DEFAULT_SPACE else ' --space ' + sp.name}"
            f"{' --resolution ' + str(resolution) if resolution else ''}` first"
        )
    source = BlockLatencyTable(LatencyTable.load(path))
    if source.table.space_name != sp.name:
        raise HwnasError(f"{path} covers space {source.table.space_name!r}, not {sp.name!r}")
    return source


def measure_end_to_end(
    space: str | SearchSpace,
    arch: Any,
    device: str | Device,
    *,
    resolution: int | None = None,
    num_classes: int | None = None,
    work_dir: str | os.PathLike[str] | None = None,
) -> TimingStats:
    """Export the whole network and time it on the device (the ground truth tables are checked against).

    With ``timing.rounds`` > 1 the network is timed that many times and the fastest round
    (by the device's ``timing.estimator``) is returned, as table entries keep theirs.
    """
    from hwnas.latency.endtoend import EndToEndMeasurer

    sp = _space(space)
    with EndToEndMeasurer(device, sp, resolution=resolution, num_classes=num_classes, work_dir=work_dir) as meter:
        timing = meter.device.timing
        rounds = [meter.measure(arch).stats for _ in range(timing.rounds)]
    return best_of_rounds(rounds, timing.estimator)
