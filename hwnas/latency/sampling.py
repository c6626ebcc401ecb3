"""Which blocks a few-shot profile times: cover the space first, then where the model is least sure.

1. *Coverage*: one block per (kind, input shape) group, the group's medoid, the kinds in
   turn (largest groups first within a kind), so every kind at every stage and width is
   anchored by a measurement, and a small budget still sees every kind; then
   farthest-point picks in the standardised feature space (the prior's log latency
   included) until :data:`COVER_SHARE` of the budget is spent. Deterministic: the same
   space and prior give the same order, so an interrupted run resumes the same plan.
2. *Uncertainty* (nn-Meter's adaptive sampling, with a bootstrap ensemble standing in for
   its random forest): batches of the blocks whose predicted latency is least sure,
   spread of the ensemble's log predictions times the predicted milliseconds, since a
   network's error is a sum of milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwnas.latency.predictor import fit_ridge, spread_log
from hwnas.spaces.base import BlockSpec

COVER_SHARE = 0.5


def _standardised(rows: Sequence[Sequence[float]]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float64)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    return (x - x.mean(axis=0)) / scale


def coverage_order(specs: Sequence[BlockSpec], rows: Sequence[Sequence[float]], limit: int | None = None) -> list[str]:
    """Every key of ``specs`` in coverage order: group medoids first, then farthest-point picks
    until ``limit`` keys are ordered (all of them by default), then the rest in space order.

    Farthest-point costs one pass over the blocks per pick, so a space of 46,879 NB201 cells
    orders only what a budget can time; memory stays linear in the number of blocks."""
    z = _standardised(rows)
    groups: dict[tuple[str, tuple[int, ...]], list[int]] = {}
    for i, spec in enumerate(specs):
        groups.setdefault((spec.kind, tuple(spec.input_shape)), []).append(i)
    by_kind: dict[str, list[list[int]]] = {}
    for (kind, _), members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        by_kind.setdefault(kind, []).append(members)
    kinds = sorted(by_kind, key=lambda kind: (-sum(map(len, by_kind[kind])), kind))
    order: list[int] = []
    for depth in range(max(len(g) for g in by_kind.values())):  # kinds in turn: a small budget still sees each
        for kind in kinds:
            if depth < len(by_kind[kind]):
                members = by_kind[kind][depth]
                centre = z[members].mean(axis=0)
                order.append(min(members, key=lambda i: (float(np.sum((z[i] - centre) ** 2)), specs[i].key)))
    chosen = np.zeros(len(specs), dtype=bool)
    chosen[order] = True
    nearest = np.full(len(specs), np.inf)
    for i in order:
        nearest = np.minimum(nearest, ((z - z[i]) ** 2).sum(axis=1))
    wanted = len(specs) if limit is None else min(len(specs), max(limit, len(order)))
    while len(order) < wanted:
        dist = np.where(chosen, -1.0, nearest)
        pick = int(np.argmax(dist))  # ties: the first in space order, so the plan is deterministic
        order.append(pick)
        chosen[pick] = True
        nearest = np.minimum(nearest, ((z - z[pick]) ** 2).sum(axis=1))
    order += [i for i in range(len(specs)) if not chosen[i]]
    return [specs[i].key for i in order]


def cover_goal(budget: int, groups: int) -> int:
    """Blocks of the budget spent on coverage: every group if the budget allows, at least half the budget."""
    return min(budget, max(groups, int(round(COVER_SHARE * budget))))


def group_count(specs: Sequence[BlockSpec]) -> int:
    return len({(s.kind, tuple(s.input_shape)) for s in specs})


def least_sure(
    measured_rows: Sequence[Sequence[float]],
    measured_log_ms: Sequence[float],
    candidate_keys: Sequence[str],
    candidate_rows: Sequence[Sequence[float]],
    count: int,
    *,
    seed: int,
) -> list[str]:
    """The ``count`` candidates with the largest spread x predicted ms (ties by key)."""
    spread = spread_log(measured_rows, measured_log_ms, candidate_rows, seed=seed)
    model = fit_ridge(measured_rows, measured_log_ms, [str(i) for i in range(len(candidate_rows[0]))], "fit")
    score = spread * np.exp(model.predict_log(candidate_rows))
    ranked = sorted(range(len(candidate_keys)), key=lambda i: (-float(score[i]), candidate_keys[i]))
    return [candidate_keys[i] for i in ranked[:count]]
