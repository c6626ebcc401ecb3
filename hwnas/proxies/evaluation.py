"""How a proxy is judged against ground-truth accuracy (REFERENCE §4).

Overall Spearman and Kendall rank correlations with accuracy, plus the mean
Spearman *within* groups of architectures with identical #Params (groups of at
least ``min_group`` architectures): a proxy that only re-counts parameters
scores about 0 there. A search returns one network, so the top of the ranking is
judged too: the accuracy of the proxy's top-1 and the mean of its top-10, and
their regret to the best judged architecture (ties at the top are broken by the
first architecture listed, as a search's winner rule does). Rank fusion ``a+b`` scores an architecture by the sum of
its ranks under ``a`` and ``b`` (average ranks for ties), the usual way to
combine proxies of different scales.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from hwnas.errors import UsageError

MIN_GROUP = 30


@dataclass(frozen=True)
class ProxyJudgement:
    """One proxy (or fusion) against accuracy; ``within_params_spearman`` is None when no group qualifies."""

    name: str
    spearman: float
    kendall: float
    within_params_spearman: float | None
    groups: int
    seconds_per_arch: float
    archs: int
    top1_acc: float = float("nan")
    top10_mean_acc: float = float("nan")
    best_acc: float = float("nan")

    @property
    def top1_regret(self) -> float:
        """Best accuracy among the judged archs minus that of the proxy's favourite."""
        return self.best_acc - self.top1_acc

    @property
    def top10_regret(self) -> float:
        return self.best_acc - self.top10_mean_acc


def parse_entries(requested: Sequence[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Split ``["es", "es+logsynflow"]`` into the base proxies to score and the fusions to form."""
    bases: list[str] = []
    fusions: list[tuple[str, list[str]]] = []
    for entry in requested:
        parts = [p.strip() for p in entry.split("+")]
        if any(not p for p in parts):
            raise UsageError(f"malformed proxy entry {entry!r} (use names joined by '+', e.g. es+logsynflow)")
        if len(set(parts)) != len(parts):
            raise UsageError(f"proxy entry {entry!r} names a proxy twice")
        for p in parts:
            if p not in bases:
                bases.append(p)
        if len(parts) > 1:
            fusions.append(("+".join(parts), parts))
    return bases, fusions


def rank_fusion(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Sum of average ranks (higher value, higher rank); NaN stays NaN."""
    total = np.zeros(len(columns[0]))
    for values in columns:
        total = total + _ranks(values)
    return total


def _ranks(values: np.ndarray) -> np.ndarray:
    clean = np.where(np.isnan(values), -np.inf, values)
    ranks = stats.rankdata(clean, method="average")
    return np.where(np.isnan(values), np.nan, ranks)


def _safe(value: float) -> float:
    return float(value) if value is not None and math.isfinite(value) else float("nan")


def judge(
    name: str,
    scores: np.ndarray,
    accuracy: np.ndarray,
    params: np.ndarray,
    seconds: np.ndarray,
    *,
    min_group: int = MIN_GROUP,
) -> ProxyJudgement:
    """Rank correlations of ``scores`` with ``accuracy``; groups are equal ``params`` values.

    Non-finite scores (a dead network's log 0) rank lowest, as the proxy means; NaN
    ranks lowest too. A group where the proxy is constant (``params`` itself) has no
    Spearman and is left out; no group left gives None ("n.a.").
    """
    x = stats.rankdata(np.where(np.isnan(np.asarray(scores, dtype=float)), -np.inf, scores))
    spearman = _safe(stats.spearmanr(x, accuracy).statistic)
    kendall = _safe(stats.kendalltau(x, accuracy).statistic)
    groups: dict[float, list[int]] = defaultdict(list)
    for i, p in enumerate(np.round(params, 9)):
        groups[float(p)].append(i)
    within = []
    for members in groups.values():
        idx = np.array(members)
        if len(idx) >= min_group and np.ptp(x[idx]) > 0 and np.ptp(accuracy[idx]) > 0:
            within.append(_safe(stats.spearmanr(x[idx], accuracy[idx]).statistic))
    within = [w for w in within if math.isfinite(w)]
    order = sorted(range(len(x)), key=lambda i: (-x[i], i))
    accuracy = np.asarray(accuracy, dtype=float)
    return ProxyJudgement(
        name=name,
        spearman=spearman,
        kendall=kendall,
        within_params_spearman=float(np.mean(within)) if within else None,
        groups=len(within),
        seconds_per_arch=float(np.mean(seconds)) if len(seconds) else float("nan"),
        archs=len(x),
        top1_acc=float(accuracy[order[0]]),
        top10_mean_acc=float(np.mean(accuracy[order[:10]])),
        best_acc=float(accuracy.max()),
    )
