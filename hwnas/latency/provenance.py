"""``validate-table`` figures by where a table's numbers came from: measured or predicted entries.

A few-shot table's accuracy is two questions. *Per entry*: re-time a sample of its
predicted entries and, as a yardstick, as many measured ones (the measured entries'
error is the machine's own repeatability; the predicted entries' error adds the
model's). *Per network*: the sampled networks are split at the median share of their
sum of blocks that predicted entries supply, and the end-to-end figures are reported for
each half and for the whole, so a reader sees whether networks priced mostly by the
model fare worse than networks priced mostly by measurements.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hwnas.latency.artifacts import ArtifactCache
from hwnas.latency.table import LatencyTable
from hwnas.latency.targets import Target
from hwnas.latency.timing import TimingStats, best_of_rounds
from hwnas.spaces.base import SearchSpace

DEFAULT_ENTRY_CHECKS = 20

Figures = Callable[[Sequence[float], Sequence[float]], dict[str, Any]]


def predicted_share(table: LatencyTable, space: SearchSpace, arch: str) -> float:
    """Share of the network's sum of blocks (the table's statistic) that predicted entries supply."""
    est = table.estimator
    parts = [
        (table.entries[s.key].stats.value_ms(est), table.entries[s.key].predicted)
        for s in space.blocks(space.decode(arch), table.resolution, table.num_classes)
    ]
    total = sum(v for v, _ in parts)
    return sum(v for v, p in parts if p) / total if total > 0 else 0.0


def by_share(shares: Sequence[float], predicted: Sequence[float], measured: Sequence[float], figures: Figures) -> list:
    """Figures for the networks below and at-or-above the median predicted share (halves)."""
    cut = float(np.median(shares))
    out = []
    for label, keep in (("below", lambda s: s < cut), ("at or above", lambda s: s >= cut)):
        idx = [i for i, s in enumerate(shares) if keep(s)]
        if idx:
            out.append(
                {
                    "group": f"predicted share {label} {cut:.0%}",
                    "predicted_share_mean": float(np.mean([shares[i] for i in idx])),
                    **figures([predicted[i] for i in idx], [measured[i] for i in idx]),
                }
            )
    return out


def entry_sample(table: LatencyTable, count: int, seed: int) -> dict[str, list[str]]:
    """Up to ``count`` predicted keys and as many measured keys, drawn with ``seed``."""
    rng = random.Random(seed)
    predicted = sorted(table.predicted_keys)
    measured = sorted(table.measured_keys)
    picked_p = rng.sample(predicted, min(count, len(predicted)))
    picked_m = rng.sample(measured, min(len(picked_p), len(measured)))
    return {"predicted": picked_p, "measured": picked_m}


def retime_entries(
    target: Target,
    table: LatencyTable,
    space: SearchSpace,
    sample: dict[str, list[str]],
    figures: Figures,
    *,
    work_dir: Any = None,
) -> dict[str, Any]:
    """Re-time the sampled entries (the device's rounds and estimator) and score the stored values."""
    specs = {s.key: s for s in space.all_blocks(table.resolution, table.num_classes)}
    keys = [k for group in ("predicted", "measured") for k in sample[group]]
    cache = ArtifactCache(target.runtime, space, work_dir)
    where = target.upload([cache.block(specs[k]) for k in keys])
    timing = target.device.timing
    rounds: dict[str, list[TimingStats]] = {k: [] for k in keys}
    for _ in range(timing.rounds):
        for key, path in zip(keys, where, strict=True):
            rounds[key].append(target.measure(path, specs[key].input_shape).stats)
    est = table.estimator
    now = {k: best_of_rounds(rounds[k], est).value_ms(est) for k in keys}
    out: dict[str, Any] = {}
    for group in ("measured", "predicted"):
        ks = sample[group]
        if ks:
            stored = [table.entries[k].stats.value_ms(est) for k in ks]
            out[group] = {**figures(stored, [now[k] for k in ks]), "keys": ks}
    return out
