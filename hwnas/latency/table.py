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
                                 "round_p10_ms"}}}

The table is keyed by device *and* runtime build (REFERENCE §7): resuming a table with a
different runtime version, thread count or precision is refused. The calibration is
plain numbers in the JSON (never a pickle).
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hwnas import __version__
from hwnas.devices import REPO_ROOT, Device
from hwnas.errors import HwnasError, UsageError
from hwnas.io import atomic_write_json, read_json
from hwnas.latency.timing import TimingStats, best_of_rounds
from hwnas.spaces import DEFAULT_SPACE
from hwnas.spaces.base import BlockSpec, SearchSpace

SCHEMA_VERSION = 1
TABLE_KIND = "hwnas-block-latency-table"


def default_tables_dir() -> Path:
    """$HWNAS_TABLES_DIR, else the repository's ``latency_tables/``, else ``./latency_tables``."""
    env = os.environ.get("HWNAS_TABLES_DIR")
    if env:
        return Path(env)
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / "latency_tables"
    return Path.cwd() / "latency_tables"


def table_filename(device_name: str, space: SearchSpace, resolution: int | None = None,
                   num_classes: int | None = None) -> str:
    """``<device>.json`` for the default space at its defaults, else ``<device>--<space>-r<R>-c<K>.json``."""
    r = resolution or space.default_resolution
    k = num_classes or space.default_num_classes
    if space.name == DEFAULT_SPACE and r == space.default_resolution and k == space.default_num_classes:
        return f"{device_name}.json"
    return f"{device_name}--{space.name}-r{r}-c{k}.json"


def table_path(device_name: str, space: SearchSpace, resolution: int | None = None, num_classes: int | None = None,
               tables_dir: str | os.PathLike[str] | None = None) -> Path:
    folder = Path(tables_dir) if tables_dir is not None else default_tables_dir()
    return folder / table_filename(device_name, space, resolution, num_classes)


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Calibration:
    """``predicted = scale * (stem + sum of blocks + head) + offset_ms``; identity until validated."""

    scale: float = 1.0
    offset_ms: float = 0.0
    method: str = "identity"

    def apply(self, raw_ms: float) -> float:
        return self.scale * raw_ms + self.offset_ms

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Calibration:
        if not data:
            return cls()
        return cls(scale=float(data["scale"]), offset_ms=float(data["offset_ms"]), method=str(data.get("method", "linear")))


class LatencyTable:
    """A block table document; mutable while ``hwnas profile`` fills it, saved atomically."""

    def __init__(self, data: dict[str, Any], path: Path | None = None) -> None:
        self.data = data
        self.path = path

    # ---- creation and loading --------------------------------------------------------------
    @classmethod
    def new(cls, *, device: Device, description: dict[str, Any], space: SearchSpace, resolution: int,
            num_classes: int, expected_entries: int, path: Path | None = None) -> LatencyTable:
        device_dict = device.to_dict()
        device_dict["source"] = Path(device.source).name if device.source else ""
        stamp = now_iso()
        data = {
            "schema_version": SCHEMA_VERSION,
            "kind": TABLE_KIND,
            "device": device_dict,
            "runtime": description["runtime"],
            "host": description["host"],
            "threads": device.threads,
            "precision": device.precision,
            "batch_size": device.batch_size,
            "hwnas_version": __version__,
            "created": stamp,
            "updated": stamp,
            "space": space.name,
            "resolution": resolution,
            "num_classes": num_classes,
            "timing": device.timing.to_dict(),
            "expected_entries": expected_entries,
            "complete": False,
            "profile": {"runs": []},
            "calibration": Calibration().to_dict(),
            "validation": None,
            "entries": {},
        }
        return cls(data, path)

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
            raise UsageError(f"{path} is not an hwnas block latency table (no \"kind\": \"{TABLE_KIND}\")")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise HwnasError(f"{path} has schema version {data.get('schema_version')}; this hwnas reads "
                             f"{SCHEMA_VERSION} (re-run hwnas profile)")
        return cls(data, path)

    # ---- contents ----------------------------------------------------------------------------
    @property
    def device_name(self) -> str:
        return str(self.data["device"]["name"])

    @property
    def space_name(self) -> str:
        return str(self.data["space"])

    @property
    def resolution(self) -> int:
        return int(self.data["resolution"])

    @property
    def num_classes(self) -> int:
        return int(self.data["num_classes"])

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        return self.data["entries"]

    @property
    def calibration(self) -> Calibration:
        return Calibration.from_dict(self.data.get("calibration"))

    def stats(self, key: str) -> TimingStats | None:
        entry = self.entries.get(key)
        return TimingStats.from_dict(entry) if entry is not None else None

    @property
    def estimator(self) -> str:
        """The statistic predictions use: ``median`` unless the device's timing says ``p10``."""
        return str(self.data.get("timing", {}).get("estimator", "median"))

    def add(self, spec: BlockSpec, stats: TimingStats) -> None:
        """Record one round of ``spec``; the entry keeps the statistics of its fastest round
        (lowest value of the table's estimator).

        Other processes can only slow a run down, and on a shared machine they do so in
        spells that cover whole rounds; the fastest round is the best estimate of the
        block on an otherwise idle device. Every round's median and p10 stay in the entry.
        """
        est = self.estimator
        old = self.entries.get(spec.key)
        medians = list(old.get("round_medians_ms", [old["median_ms"]])) if old else []
        p10s = list(old.get("round_p10_ms", [old["p10_ms"]])) if old else []
        medians.append(stats.median_ms)
        p10s.append(stats.p10_ms)
        keep_old = old is not None and best_of_rounds([TimingStats.from_dict(old), stats], est) is not stats
        entry = old if keep_old else {"kind": spec.kind, "input_shape": list(spec.input_shape), **stats.to_dict()}
        assert entry is not None
        entry["rounds"] = len(medians)
        entry["round_medians_ms"] = medians
        entry["round_p10_ms"] = p10s
        self.entries[spec.key] = entry

    def rounds_done(self, key: str) -> int:
        entry = self.entries.get(key)
        return 0 if entry is None else int(entry.get("rounds", 1))

    def is_complete(self, keys: set[str], rounds: int) -> bool:
        """Every key present with all its rounds."""
        return all(self.rounds_done(k) >= rounds for k in keys)

    def identity(self) -> dict[str, Any]:
        """What must match for two runs to fill one table (REFERENCE §7: device *and* runtime build)."""
        return identity_of(self.data["device"]["name"], self.data["runtime"], self.data["host"], self.data["threads"],
                           self.data["precision"], self.data["space"], self.data["resolution"],
                           self.data["num_classes"], self.data["timing"].get("clock", "wall"), self.estimator)

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("table has no path")
        self.data["updated"] = now_iso()
        atomic_write_json(target, self.data)
        self.path = target
        return target


def identity_of(device_name: str, runtime: dict[str, Any], host: dict[str, Any], threads: int | None,
                precision: str, space: str, resolution: int, num_classes: int, clock: str,
                estimator: str) -> dict[str, Any]:
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
