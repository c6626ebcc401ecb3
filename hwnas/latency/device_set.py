"""Several devices at once: one network that must meet each device's own latency budget (issue 24).

Apps ship to more than one phone. Each device's table predicts its own latency; a candidate is
feasible only when every device's prediction is within that device's budget, and the share of
the budget it uses is the tightest device's. The first device is the *primary*: its prediction
is the one a plain ``predict_ms`` (and ``best.json``'s ``predicted_latency_ms``) gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hwnas.errors import UsageError
from hwnas.latency.sources import LatencySource
from hwnas.spaces.base import SearchSpace


@dataclass(frozen=True)
class DeviceBudget:
    """One device of the set: its name, its latency source and its budget in ms."""

    name: str
    source: LatencySource
    budget_ms: float


class DeviceSet(LatencySource):
    """Each device's prediction and budget; LatencyUnknown from any device makes the candidate unknown."""

    def __init__(self, members: list[DeviceBudget]) -> None:
        if len(members) < 2:
            raise UsageError("a device set needs at least two devices")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise UsageError(f"--device names a device twice: {', '.join(names)}")
        for m in members:
            if not (math.isfinite(m.budget_ms) and m.budget_ms > 0):
                raise UsageError(f"--latency-ms of {m.name} must be a finite number above 0, got {m.budget_ms!r}")
        self.members = list(members)

    def predict_each(self, space: SearchSpace, arch: Any, *, resolution: int | None = None) -> dict[str, float]:
        """Every device's predicted latency in ms, in the devices' order."""
        return {m.name: float(m.source.predict_ms(space, arch, resolution=resolution)) for m in self.members}

    def predict_ms(self, space: SearchSpace, arch: Any, *, resolution: int | None = None) -> float:
        """The primary (first) device's prediction."""
        first = self.members[0]
        return float(first.source.predict_ms(space, arch, resolution=resolution))

    def over_budget(self, latencies: dict[str, float]) -> str:
        """Why ``latencies`` break a budget ('' when none does): the first device over its budget."""
        for m in self.members:
            if latencies[m.name] > m.budget_ms:
                return f"latency on {m.name} {latencies[m.name]:.3f} ms > {m.budget_ms:g} ms"
        return ""

    def budget_use(self, latencies: dict[str, float]) -> float:
        """The tightest device's share of its budget."""
        return max(latencies[m.name] / m.budget_ms for m in self.members)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "device_set",
            "devices": [{"name": m.name, "budget_ms": m.budget_ms, **m.source.describe()} for m in self.members],
        }
