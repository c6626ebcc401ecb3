"""What a search is asked for: one budget, a budget family, or one network for several devices.

The command line gives devices and budgets as repeatable, comma-separated options; this module
turns them into the search's constraints, family and device budgets, and refuses mixtures that
have no single meaning, each with one line that says what to give instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hwnas.errors import UsageError
from hwnas.search.constraints import Constraints
from hwnas.search.family import BudgetFamily, family_of, parse_budgets
from hwnas.spaces.base import SearchSpace


@dataclass(frozen=True)
class SearchTargets:
    constraints: Constraints
    family: BudgetFamily | None = None
    devices: tuple[tuple[str, float], ...] | None = None

    @property
    def latency_budgets(self) -> tuple[float, ...]:
        """Every latency budget asked for (for a run folder's name)."""
        if self.devices:
            return tuple(b for _, b in self.devices)
        if self.family is not None and self.family.kind == "latency_ms":
            return self.family.budgets
        return (self.constraints.latency_ms,) if self.constraints.latency_ms is not None else ()


def search_targets(
    devices: Sequence[str], latency_ms: Sequence[str], params_m: str | None = None, flops_m: str | None = None
) -> SearchTargets:
    """Constraints, family and device budgets from ``--device`` (repeatable), ``--latency-ms``
    (repeatable, each a number or a comma-separated list), ``--params-m`` and ``--flops-m``."""
    if not latency_ms:
        raise UsageError("--latency-ms is required (a budget in ms, e.g. --latency-ms 10)")
    latencies = [parse_budgets("--latency-ms", text) or () for text in latency_ms]
    bounds = {"params_m": parse_budgets("--params-m", params_m), "flops_m": parse_budgets("--flops-m", flops_m)}
    if len(devices) > 1:
        if len(latencies) != len(devices):
            raise UsageError(
                f"--device is given {len(devices)} times and --latency-ms {len(latencies)}: give each device "
                "its own budget, e.g. --device pixel-8 --latency-ms 12 --device host-cpu-openvino --latency-ms 8"
            )
        if any(len(values) > 1 for values in latencies) or any(v and len(v) > 1 for v in bounds.values()):
            raise UsageError("a budget family runs on one device: give one --device with the list of budgets")
        base, _ = family_of({"latency_ms": None, **bounds})
        return SearchTargets(base, devices=tuple((d, values[0]) for d, values in zip(devices, latencies, strict=True)))
    if len(latencies) > 1:
        raise UsageError(
            f"--latency-ms is given {len(latencies)} times for one device: give a list for a family "
            "(--latency-ms 5,10,20), or one --device per budget"
        )
    base, family = family_of({"latency_ms": latencies[0], **bounds})
    return SearchTargets(base, family)


def load_search_source(
    space: SearchSpace[Any],
    devices: Sequence[str],
    budgets: Sequence[tuple[str, float]] | None,
    table: str | os.PathLike[str] | None,
    latency_column: str | None,
    resolution: int | None,
    *,
    probe: bool,
) -> Any:
    """The latency source: one device's (or a table file's), or a :class:`DeviceSet` of each device's."""
    from hwnas.latency.device_set import DeviceBudget, DeviceSet
    from hwnas.latency.sources import load_latency_source

    def one(device: str | None) -> Any:
        return load_latency_source(
            space=space, device=device, table=table if device is None else None,
            latency_column=latency_column, resolution=resolution, probe=probe,
        )  # fmt: skip

    if not budgets:
        return one(devices[0] if devices else None)
    return DeviceSet([DeviceBudget(name, one(name), budget) for name, budget in budgets])
