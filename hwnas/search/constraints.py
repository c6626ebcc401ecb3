"""Hardware constraints every candidate must meet before it is scored.

Latency comes from a :class:`~hwnas.latency.sources.LatencySource` (a device's
block table or a whole-architecture table); #Params and FLOPs are counted on the
meta device. An architecture whose latency the source cannot give is infeasible
and counted apart: it is never guessed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hwnas.counting import count_arch
from hwnas.errors import LatencyUnknown, UsageError
from hwnas.latency.device_set import DeviceSet
from hwnas.spaces.base import SearchSpace


@dataclass(frozen=True)
class Constraints:
    """Upper bounds; ``None`` means unconstrained. Each given bound must be a finite number
    above 0: a NaN bound would compare false against everything and switch the
    constraint off without a word."""

    latency_ms: float | None = None
    params_m: float | None = None
    flops_m: float | None = None

    def __post_init__(self) -> None:
        for option, value in (
            ("--latency-ms", self.latency_ms),
            ("--params-m", self.params_m),
            ("--flops-m", self.flops_m),
        ):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise UsageError(f"{option} must be a finite number above 0, got {value!r}")

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """The measured facts about one candidate and whether it meets the constraints."""

    feasible: bool
    latency_ms: float | None
    params_m: float | None  # None when not needed for the verdict
    flops_m: float | None
    reason: str = ""
    latencies_ms: dict[str, float] | None = None
    """Each device's prediction, when the search targets a device set (the first is ``latency_ms``)."""
    devices_use: float | None = None
    """The tightest device's share of its budget, when the search targets a device set."""

    @property
    def latency_unknown(self) -> bool:
        return self.latency_ms is None


class FeasibilityChecker:
    """Checks candidates against :class:`Constraints`, caching by encoding.

    The cache makes a revisited architecture free; the checker is deterministic,
    so a resumed search may rebuild it from scratch.
    """

    def __init__(
        self,
        space: SearchSpace,
        constraints: Constraints,
        latency_source: Any,
        *,
        resolution: int | None = None,
        num_classes: int | None = None,
    ) -> None:
        self.space = space
        self.constraints = constraints
        self.latency_source = latency_source
        self.resolution = resolution
        self.num_classes = num_classes
        self._cache: dict[str, Verdict] = {}

    def check(self, arch: Any) -> Verdict:
        text = self.space.encode(arch)
        verdict = self._cache.get(text)
        if verdict is None:
            verdict = self._check(arch)
            self._cache[text] = verdict
        return verdict

    def _check(self, arch: Any) -> Verdict:
        """Latency first (a table lookup); #Params/FLOPs are counted only when bounded."""
        c = self.constraints
        source = self.latency_source
        devices = source if isinstance(source, DeviceSet) else None
        try:
            if devices is not None:
                each = devices.predict_each(self.space, arch, resolution=self.resolution)
            else:
                each = {"": float(source.predict_ms(self.space, arch, resolution=self.resolution))}
        except LatencyUnknown as exc:
            return Verdict(False, None, None, None, f"latency unknown: {exc}")
        for name, value in each.items():  # a corrupt table entry must never pass as fast
            if not math.isfinite(value) or value < 0:
                where = f" on {name}" if name else ""
                return Verdict(False, None, None, None, f"latency unknown: the table{where} predicts {value!r} ms")
        latency = next(iter(each.values()))
        extra: dict[str, Any] = {}
        if devices is not None:
            extra = {"latencies_ms": each, "devices_use": devices.budget_use(each)}
            over = devices.over_budget(each)
            if over:
                return Verdict(False, latency, None, None, over, **extra)
        if c.latency_ms is not None and latency > c.latency_ms:
            return Verdict(False, latency, None, None, f"latency {latency:.3f} ms > {c.latency_ms} ms", **extra)
        if c.params_m is None and c.flops_m is None:
            return Verdict(True, latency, None, None, **extra)
        params_m, flops_m = self.counts(arch)
        if c.params_m is not None and params_m > c.params_m:
            return Verdict(False, latency, params_m, flops_m, f"#params {params_m:.3f} M > {c.params_m} M", **extra)
        if c.flops_m is not None and flops_m > c.flops_m:
            return Verdict(False, latency, params_m, flops_m, f"FLOPs {flops_m:.1f} M > {c.flops_m} M", **extra)
        return Verdict(True, latency, params_m, flops_m, **extra)

    def budget_use(self, arch: Any) -> float:
        """The share of the tightest active bound that ``arch`` uses (0 when nothing is bounded).

        A fitness may reward it: among candidates the proxies cannot tell apart, the one
        that spends more of the budget is usually the more accurate (docs/search.md).
        """
        verdict = self.check(arch)
        c = self.constraints
        shares = [
            value / limit
            for value, limit in (
                (verdict.latency_ms, c.latency_ms),
                (verdict.params_m, c.params_m),
                (verdict.flops_m, c.flops_m),
            )
            if value is not None and limit is not None
        ]
        if verdict.devices_use is not None:
            shares.append(verdict.devices_use)
        return max(shares, default=0.0)

    def counts(self, arch: Any) -> tuple[float, float]:
        """(#Params in M, FLOPs in M) at the search resolution."""
        params, flops = count_arch(self.space, arch, resolution=self.resolution, num_classes=self.num_classes)
        return params / 1e6, flops / 1e6
