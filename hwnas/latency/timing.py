"""Timing results: what came out of timing a model (:class:`TimingStats`, :class:`Measurement`),
and the one rule for keeping the fastest of several rounds (:func:`best_of_rounds`).

Statistics are computed here, on the host, from the raw per-run samples a runner
returns, so a table measured locally and one measured over SSH summarise their
samples the same way. Percentiles interpolate linearly between order statistics
(numpy's default), ``std_ms`` is the sample standard deviation (0 for one run).
How a device is timed (:class:`TimingSettings`) lives with the runtimes
(``hwnas.runtimes.timing``), below the device descriptions that use it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from hwnas.runtimes.timing import CLOCKS, ESTIMATORS, TimingSettings

__all__ = ["CLOCKS", "ESTIMATORS", "Measurement", "TimingSettings", "TimingStats", "best_of_rounds", "percentile"]


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
        values: dict[str, Any] = {
            f.name: (int(data[f.name]) if f.name == "n" else float(data[f.name])) for f in fields(cls)
        }
        return cls(**values)


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
        """From raw ``samples_ms``, or from ``stats_ms`` where the timing tool summarises itself
        (LiteRT's benchmark_model over adb, ``hwnas.transport.adb``)."""
        if "samples_ms" in reply:
            stats = TimingStats.from_samples(reply["samples_ms"])
        else:
            stats = TimingStats.from_dict(reply["stats_ms"])
        return cls(stats, float(reply["timed_s"]), float(reply["setup_s"]))


def best_of_rounds(rounds: Iterable[TimingStats], estimator: str) -> TimingStats:
    """The round with the lowest ``estimator`` value (``median`` or ``p10``); the earliest wins a tie.

    Other processes can only slow a run down, and on a shared machine they do so in
    spells that cover whole rounds, so the fastest round is the best estimate of the
    model on an otherwise idle device. Table entries, end-to-end measurements,
    validation and export timings all keep their best round by this rule.
    """
    best: TimingStats | None = None
    for stats in rounds:
        if best is None or stats.value_ms(estimator) < best.value_ms(estimator):
            best = stats
    if best is None:
        raise ValueError("best_of_rounds of no rounds")
    return best
