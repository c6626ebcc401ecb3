"""What to export: the winner of a search run directory, or an architecture encoding with ``--space``.

A run directory contributes its ``best.json`` (architecture, space, resolution, device,
the latency the search predicted, seed); command-line options override the
resolution and device. Nothing is written here: every problem with the inputs is
found before the export starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwnas.errors import UsageError
from hwnas.io import read_json
from hwnas.records import BestRecord
from hwnas.spaces import get_space
from hwnas.spaces.base import SearchSpace


@dataclass(frozen=True)
class ExportSource:
    """The architecture to export and where it came from (``run`` is best.json, or None for an encoding)."""

    space: SearchSpace
    arch: str
    resolution: int
    num_classes: int
    device: str | None
    seed: int
    run_dir: Path | None = None
    run: BestRecord | None = None
    devices: tuple[tuple[str, float], ...] = ()
    """(device, latency budget) of a run searched for several devices at once; the first is ``device``."""

    def search_summary(self) -> dict[str, Any] | None:
        """The parts of best.json a model card repeats."""
        if self.run is None:
            return None
        keys = (
            "strategy",
            "scores",
            "constraints",
            "predicted_latency_ms",
            "device",
            "latency_source",
            "seed",
            "hwnas_version",
        )
        best = self.run.to_json()
        return {"run_dir": str(self.run_dir), **{k: best.get(k) for k in keys}}


def resolve_source(
    target: str,
    *,
    space: str | None,
    resolution: int | None,
    num_classes: int | None,
    device: str | None,
    seed: int | None,
    best_file: str = "best.json",
) -> ExportSource:
    """A run directory (no ``--space``; ``best_file``: which winner, for a family's members) or an
    encoding (with ``--space``); UsageError naming the problem."""
    if space is None:
        return _from_run_dir(Path(target), resolution, num_classes, device, seed, best_file)
    sp = get_space(space)
    arch = sp.encode(sp.decode(target))
    return _checked(
        ExportSource(
            sp, arch, _resolution(sp, resolution), _classes(sp, num_classes), device, 0 if seed is None else seed
        )
    )


def _from_run_dir(
    path: Path,
    resolution: int | None,
    num_classes: int | None,
    device: str | None,
    seed: int | None,
    best_file: str = "best.json",
) -> ExportSource:
    if not path.exists():
        raise UsageError(f"run directory {path} does not exist (to export an architecture encoding, add --space)")
    if not path.is_dir():
        raise UsageError(f"{path} is not a run directory (to export an architecture encoding, add --space)")
    best_path = path / best_file
    if not best_path.is_file():
        if (path / "family.json").is_file() and best_file == "best.json":
            raise UsageError(f"{path} holds a budget family: export every member with --all")
        raise UsageError(f"{path} has no {best_file}: not a finished `hwnas search` run directory")
    try:
        data = read_json(best_path)
    except ValueError as exc:
        raise UsageError(f"{best_path} is not valid JSON ({exc})") from None
    missing = [k for k in ("arch", "space") if not isinstance(data, dict) or not data.get(k)]
    if missing:
        raise UsageError(f"{best_path} has no {' or '.join(missing)}")
    best = BestRecord.from_json(data)
    sp = get_space(best.space)
    arch = sp.encode(sp.decode(best.arch))
    r = resolution or best.resolution or sp.default_resolution
    devices = _device_budgets(best)
    return _checked(
        ExportSource(
            sp,
            arch,
            _resolution(sp, r),
            _classes(sp, num_classes),
            device or (devices[0][0] if devices else best.device),
            int(best.seed or 0) if seed is None else seed,
            path,
            best,
            devices if device is None else (),
        )
    )


def _device_budgets(best: BestRecord) -> tuple[tuple[str, float], ...]:
    """The (device, budget) pairs of a run searched for several devices (its config's ``devices``)."""
    config = best.config or {}
    pairs = config.get("devices") if isinstance(config, dict) else None
    if not pairs:
        return ()
    try:
        return tuple((str(name), float(budget)) for name, budget in pairs)
    except (TypeError, ValueError):
        raise UsageError("best.json's config.devices is not a list of [device, budget] pairs") from None


def _checked(source: ExportSource) -> ExportSource:
    """The space validates resolution and class count when it lays out the blocks (UsageError if invalid)."""
    source.space.blocks(source.space.decode(source.arch), source.resolution, source.num_classes)
    return source


def _resolution(space: SearchSpace, resolution: int | None) -> int:
    r = int(resolution or space.default_resolution)
    if r < 1:
        raise UsageError(f"--resolution must be positive, got {r}")
    return r


def _classes(space: SearchSpace, num_classes: int | None) -> int:
    k = num_classes or space.default_num_classes
    if k < 1:
        raise UsageError(f"--num-classes must be at least 1, got {k}")
    return int(k)
