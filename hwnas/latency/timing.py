"""Timing records: how a device was timed (:class:`TimingSettings`) and what came out (:class:`TimingStats`).

Statistics are computed here, on the host, from the raw per-run samples a runner
returns, so a table measured locally and one measured over SSH summarise their
samples the same way. Percentiles interpolate linearly between order statistics
(numpy's default), ``std_ms`` is the sample standard deviation (0 for one run).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

CLOCKS = ("wall", "thread_cpu")
ESTIMATORS = ("median", "p10")


@dataclass(frozen=True)
class TimingSettings:
    """Warm up for at least ``warmup_runs`` runs and ``warmup_s`` seconds, then time runs until
    both ``min_runs`` runs and ``min_time_s`` seconds are reached (trtexec's rule).

    ``clock`` times each run on the host: ``wall`` (elapsed time), or ``thread_cpu``, the
    CPU time of the thread that runs the model, which excludes time the core spent on
    other processes (for one-thread ONNX Runtime on a shared machine; see host-cpu.yaml).
    GPU runtimes time themselves (CUDA events) whatever the clock.

    ``rounds`` > 1 times every model that many times, interleaved with the other models
    of the job, and keeps the round with the lowest ``estimator`` (a table entry, an
    end-to-end measurement alike), so a spell of load from other processes costs one
    round, not the number.

    ``estimator`` is the statistic a table predicts with and is validated against:
    ``median`` (the default, the practice on a dedicated device) or ``p10``, which on a
    shared machine tracks the device's uncontended speed where the median wanders with
    other processes' load (see host-cpu.yaml).
    """

    warmup_runs: int = 10
    warmup_s: float = 0.05
    min_runs: int = 20
    min_time_s: float = 0.3
    clock: str = "wall"
    rounds: int = 1
    estimator: str = "median"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimingSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})



@dataclass(frozen=True)
class TimingStats:
    """Summary of the timed runs of one model, in milliseconds; ``n`` is the number of timed runs."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    mean_ms: float
    std_ms: float
    n: int

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float]) -> TimingStats:
        if not samples_ms:
            raise ValueError("no timing samples")
        xs = sorted(float(x) for x in samples_ms)
        if any(not math.isfinite(x) or x < 0 for x in xs):
            raise ValueError("timing samples must be finite and non-negative")
        return cls(
            median_ms=statistics.median(xs),
            p10_ms=percentile(xs, 10),
            p90_ms=percentile(xs, 90),
            mean_ms=statistics.fmean(xs),
            std_ms=statistics.stdev(xs) if len(xs) > 1 else 0.0,
            n=len(xs),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def value_ms(self, estimator: str) -> float:
        """The statistic named by a timing estimator (``median`` or ``p10``)."""
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
        return float(getattr(self, f"{estimator}_ms"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimingStats:
        return cls(**{f.name: (int(data[f.name]) if f.name == "n" else float(data[f.name])) for f in fields(cls)})


def percentile(sorted_xs: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values, linear interpolation."""
    if not sorted_xs:
        raise ValueError("percentile of no values")
    pos = (len(sorted_xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Measurement:
    """One model timed on a device: its statistics plus where the wall time went.

    ``timed_s`` is the time spent inside the timed runs themselves (what the profile
    summary reports as useful work); ``setup_s`` covers loading the model, building an
    engine and warming up.
    """

    stats: TimingStats
    timed_s: float
    setup_s: float

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any]) -> Measurement:
        return cls(TimingStats.from_samples(reply["samples_ms"]), float(reply["timed_s"]), float(reply["setup_s"]))
