"""The per-device block latency table: a JSON document, its file name and its calibration.

Layout (``schema_version`` 1)::

    {"schema_version": 1, "kind": "hwnas-block-latency-table",
     "device": {...the device description...}, "runtime": {"name", "version", ...},
     "host": {"cpu_model", "cores", "os", ...}, "threads", "precision", "batch_size",
     "hwnas_version", "created", "updated", "space", "resolution", "num_classes",
     "timing": {...}, "expected_entries", "complete", "profile": {...where the time went...},
     "calibration": {"method", "scale", "offset_ms", ...}, "validation": {...} | null,
     "entries": {"<block key>": {"kind", "input_shape", "median_ms", "p10_ms", "p90_ms",
                                 "mean_ms", "std_ms", "n", "rounds", "round_medians_ms",
                                 "round_p10_ms", "measured_by" (pool tables: one member per round)}}}

The layout's records (header, entry, calibration, validation) live in :mod:`hwnas.records`.
The table is keyed by device *and* runtime build (REFERENCE §7): resuming a table with a
different runtime version, thread count or precision is refused. The calibration is
plain numbers in the JSON (never a pickle).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping
from dataclasses import MISSING, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard

from hwnas import __version__
from hwnas.devices import REPO_ROOT, Device
from hwnas.errors import HwnasError, UsageError, excerpt
from hwnas.io import atomic_write_json, read_json
from hwnas.latency.timing import ESTIMATORS, TimingStats
from hwnas.records import (
    SCHEMA_VERSION,
    SOURCES,
    TABLE_KIND,
    Calibration,
    FewShot,
    ProfileRun,
    TableEntry,
    TableHeader,
    Validation,
)
from hwnas.spaces import DEFAULT_SPACE
from hwnas.spaces.base import BlockSpec, SearchSpace


def default_tables_dir() -> Path:
    """$HWNAS_TABLES_DIR, else the repository's ``latency_tables/``, else ``./latency_tables``."""
    env = os.environ.get("HWNAS_TABLES_DIR")
    if env:
        return Path(env)
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / "latency_tables"
    return Path.cwd() / "latency_tables"


def table_filename(
    device_name: str, space: SearchSpace, resolution: int | None = None, num_classes: int | None = None
) -> str:
    """``<device>.json`` for the default space at its defaults, else ``<device>--<space>-r<R>-c<K>.json``."""
    r = resolution or space.default_resolution
    k = num_classes or space.default_num_classes
    if space.name == DEFAULT_SPACE and r == space.default_resolution and k == space.default_num_classes:
        return f"{device_name}.json"
    return f"{device_name}--{space.name}-r{r}-c{k}.json"


#: A table in ``<tables dir>/local/`` wins over the one beside it: where a table adapted to this
#: machine goes (``scripts/quickstart.sh``), so the committed tables stay untouched (git-ignored).
LOCAL_DIR = "local"


def table_path(
    device_name: str,
    space: SearchSpace,
    resolution: int | None = None,
    num_classes: int | None = None,
    tables_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """The device's table: ``<tables dir>/local/<file>`` if it exists, else ``<tables dir>/<file>``."""
    folder = Path(tables_dir) if tables_dir is not None else default_tables_dir()
    name = table_filename(device_name, space, resolution, num_classes)
    local = folder / LOCAL_DIR / name
    return local if local.exists() else folder / name


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


class LatencyTable:
    """A block table: a :class:`TableHeader` and a :class:`TableEntry` per block key.

    ``hwnas profile`` fills it (:meth:`add`, :meth:`with_progress`, :meth:`record_run`) and
    ``hwnas validate-table`` calibrates it (:meth:`calibrate`); each replaces a frozen record,
    none edits a dict. Saved atomically as the JSON layout above."""

    def __init__(
        self, header: TableHeader, entries: Mapping[str, TableEntry] | None = None, path: Path | None = None
    ) -> None:
        self.header = header
        self._entries: dict[str, TableEntry] = dict(entries or {})
        self.path = path

    # ---- creation and loading --------------------------------------------------------------
    @classmethod
    def new(
        cls,
        *,
        device: Device,
        description: dict[str, Any],
        space: SearchSpace,
        resolution: int,
        num_classes: int,
        expected_entries: int,
        path: Path | None = None,
    ) -> LatencyTable:
        device_dict = device.to_dict()
        device_dict["source"] = Path(device.source).name if device.source else ""
        stamp = now_iso()
        header = TableHeader(
            device=device_dict,
            runtime=description["runtime"],
            host=description["host"],
            threads=device.threads,
            precision=device.precision,
            batch_size=device.batch_size,
            hwnas_version=__version__,
            created=stamp,
            updated=stamp,
            space=space.name,
            resolution=resolution,
            num_classes=num_classes,
            timing=device.timing.to_dict(),
            expected_entries=expected_entries,
        )
        return cls(header, {}, path)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: Path | None = None) -> LatencyTable:
        entries = {key: TableEntry.from_json(entry) for key, entry in data.get("entries", {}).items()}
        return cls(TableHeader.from_json(data), entries, path)

    def to_json(self) -> dict[str, Any]:
        return {**self.header.to_json(), "entries": {k: e.to_json() for k, e in self._entries.items()}}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LatencyTable:
        path = Path(path)
        try:
            data = read_json(path)
        except FileNotFoundError:
            raise HwnasError(f"latency table {path} does not exist") from None
        except ValueError as exc:
            raise HwnasError(f"latency table {path} is not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("kind") != TABLE_KIND:
            raise UsageError(f'{path} is not an hwnas block latency table (no "kind": "{TABLE_KIND}")')
        if data.get("schema_version") != SCHEMA_VERSION:
            raise HwnasError(
                f"{path} has schema version {data.get('schema_version')}; this hwnas reads "
                f"{SCHEMA_VERSION} (re-run hwnas profile)"
            )
        problem = layout_problem(data)
        if problem is None:
            try:
                return cls.from_json(data, path)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                problem = f"a field has the wrong type ({type(exc).__name__}: {exc})"
        raise UsageError(f"latency table {path} is damaged: {problem} (re-run hwnas profile, or restore the file)")

    # ---- contents ----------------------------------------------------------------------------
    @property
    def device_name(self) -> str:
        return str(self.header.device["name"])

    @property
    def space_name(self) -> str:
        return self.header.space

    @property
    def resolution(self) -> int:
        return int(self.header.resolution)

    @property
    def num_classes(self) -> int:
        return int(self.header.num_classes)

    @property
    def entries(self) -> Mapping[str, TableEntry]:
        """Block key -> entry (read-only view)."""
        return MappingProxyType(self._entries)

    @property
    def calibration(self) -> Calibration:
        return self.header.calibration

    @property
    def complete(self) -> bool:
        return bool(self.header.complete)

    def stats(self, key: str) -> TimingStats | None:
        entry = self._entries.get(key)
        return entry.stats if entry is not None else None

    @property
    def estimator(self) -> str:
        """The statistic predictions use: ``median`` unless the device's timing says ``p10``."""
        return self.header.estimator

    def add(self, spec: BlockSpec, stats: TimingStats, *, by: str | None = None) -> None:
        """Record one round of ``spec``; the entry keeps the statistics of its fastest round
        (lowest value of the table's estimator). ``by`` names the pool member that timed it.

        Other processes can only slow a run down, and on a shared machine they do so in
        spells that cover whole rounds; the fastest round is the best estimate of the
        block on an otherwise idle device. Every round's median and p10 stay in the entry.
        """
        old = self._entries.get(spec.key)
        self._entries[spec.key] = (
            TableEntry.first(spec.kind, spec.input_shape, stats, by=by)
            if old is None or old.predicted  # a measurement replaces a prediction
            else old.with_round(stats, self.estimator, by=by, earlier_by=self.device_name)
        )

    def add_prediction(self, spec: BlockSpec, value_ms: float) -> None:
        """A few-shot model's value for a block not timed here (never over a measured entry)."""
        old = self._entries.get(spec.key)
        if old is not None and not old.predicted:
            raise ValueError(f"{spec.key} is measured; a prediction must not replace it")
        self._entries[spec.key] = TableEntry.from_prediction(spec.kind, spec.input_shape, value_ms)

    def drop_predictions(self) -> None:
        """Remove every predicted entry and the few-shot model (before the model is refitted)."""
        self._entries = {k: e for k, e in self._entries.items() if not e.predicted}
        self.header = replace(self.header, fewshot=None)

    def set_fewshot(self, fewshot: FewShot | None) -> None:
        self.header = replace(self.header, fewshot=fewshot)

    @property
    def predicted_keys(self) -> list[str]:
        return [k for k, e in self._entries.items() if e.predicted]

    @property
    def measured_keys(self) -> list[str]:
        return [k for k, e in self._entries.items() if not e.predicted]

    def rounds_done(self, key: str) -> int:
        entry = self._entries.get(key)
        return 0 if entry is None else entry.rounds_done

    def is_complete(self, keys: set[str], rounds: int) -> bool:
        """Every key present: measured with all its rounds, or predicted."""
        entries = self._entries
        return all(k in entries and (entries[k].predicted or entries[k].rounds_done >= rounds) for k in keys)

    def with_progress(self, keys: set[str], rounds: int) -> None:
        """Set ``complete`` (every key of the space priced); a table left with no predicted entry
        (a full profile measured them all) drops its few-shot model."""
        fewshot = self.header.fewshot if self.predicted_keys else None
        self.header = replace(self.header, complete=self.is_complete(keys, rounds), fewshot=fewshot)

    def record_run(self, run: ProfileRun) -> None:
        """Append a profiling run to ``profile.runs``; the totals cover all runs."""
        self.header = replace(self.header, profile=self.header.profile.with_run(run))

    def calibrate(self, calibration: Calibration, validation: Validation) -> None:
        """Store a fitted calibration and the validation that produced it."""
        self.header = replace(self.header, calibration=calibration, validation=validation)

    def identity(self) -> dict[str, Any]:
        """What must match for two runs to fill one table (REFERENCE §7: device *and* runtime build)."""
        h = self.header
        return identity_of(
            self.device_name,
            dict(h.runtime),
            dict(h.host),
            h.threads,
            h.precision,
            h.space,
            h.resolution,
            h.num_classes,
            h.timing.get("clock", "wall"),
            self.estimator,
        )

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("table has no path")
        self.header = replace(self.header, updated=now_iso())
        atomic_write_json(target, self.to_json())
        self.path = target
        return target


_OBJECTS = ("device", "runtime", "host", "timing", "entries")
_STATS = ("median_ms", "p10_ms", "p90_ms", "mean_ms", "std_ms")


def _number(value: Any) -> TypeGuard[float]:
    """A finite JSON number (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _shown(value: Any, limit: int = 60) -> str:
    """A JSON value as the file has it, cut to ``limit`` characters."""
    text = json.dumps(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def layout_problem(data: Mapping[str, Any]) -> str | None:
    """What makes a block table's JSON unusable, in words, or None.

    Every latency must be a finite number >= 0: a NaN compares false to every budget and a
    negative entry subtracts, so either could make a slow network look feasible."""
    missing = [f.name for f in fields(TableHeader) if f.default is MISSING and f.default_factory is MISSING]
    missing = [name for name in [*missing, "entries"] if name not in data]
    if missing:
        return f"missing {', '.join(repr(m) for m in missing)}"
    for name in _OBJECTS:
        if not isinstance(data[name], dict):
            return f"{name!r} must be a JSON object, got {_shown(data[name])}"
    if not isinstance(data["device"].get("name"), str) or not isinstance(data["space"], str):
        return "'device.name' and 'space' must be strings"
    for name in ("resolution", "num_classes"):
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
            return f"{name!r} must be a whole number from 1 to 100000, got {_shown(value)}"
    if data["timing"].get("estimator", "median") not in ESTIMATORS:
        return f"'timing.estimator' must be one of {', '.join(ESTIMATORS)}"
    calibration = data.get("calibration")
    if calibration:
        if not isinstance(calibration, dict):
            return f"'calibration' must be a JSON object, got {_shown(calibration)}"
        scale, offset = calibration.get("scale"), calibration.get("offset_ms")
        if not (_number(scale) and _number(offset) and scale > 0):
            return "'calibration' needs a finite 'scale' above 0 and a finite 'offset_ms'"
    for key, entry in data["entries"].items():
        if not isinstance(entry, dict):
            return f"entry {excerpt(key)} must be a JSON object, got {_shown(entry)}"
        if entry.get("source", "measured") not in SOURCES:
            return f"entry {excerpt(key)}: source must be one of {', '.join(SOURCES)}, got {_shown(entry['source'])}"
        for name in _STATS:
            if not (_number(entry.get(name)) and entry[name] >= 0):
                return f"entry {excerpt(key)}: {name} must be a finite number >= 0, got {_shown(entry.get(name))}"
    return None


def identity_of(
    device_name: str,
    runtime: dict[str, Any],
    host: dict[str, Any],
    threads: int | None,
    precision: str,
    space: str,
    resolution: int,
    num_classes: int,
    clock: str,
    estimator: str,
) -> dict[str, Any]:
    return {
        "device": device_name,
        "runtime": runtime.get("name"),
        "runtime_version": runtime.get("version"),
        "provider": runtime.get("provider"),
        "cpu_model": host.get("cpu_model"),
        "threads": threads,
        "precision": precision,
        "space": space,
        "resolution": resolution,
        "num_classes": num_classes,
        "clock": clock,
        "estimator": estimator,
    }
