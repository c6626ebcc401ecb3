"""Judging proxies: rank correlations, within-equal-#Params groups, rank fusion."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.errors import UsageError
from hwnas.proxies.evaluation import judge, parse_entries, rank_fusion


def _data(n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = rng.integers(0, 4, n).astype(float)  # 4 groups of ~50
    topology = rng.normal(size=n)
    accuracy = params + topology
    return params, topology, accuracy


def test_a_params_counter_ranks_nothing_within_groups() -> None:
    params, _, accuracy = _data()
    j = judge("params", params, accuracy, params, np.zeros_like(params))
    assert j.spearman > 0.5 and j.within_params_spearman is None and j.groups == 0


def test_a_topology_proxy_is_seen_within_groups_and_fusion_adds_size() -> None:
    params, topology, accuracy = _data()
    topo = judge("topo", topology, accuracy, params, np.ones_like(params))
    assert topo.within_params_spearman == pytest.approx(1.0) and topo.groups == 4
    fused = judge("params+topo", rank_fusion([params, topology]), accuracy, params, np.ones_like(params))
    assert fused.spearman > max(topo.spearman, judge("p", params, accuracy, params, params).spearman)
    assert topo.seconds_per_arch == 1.0


def test_small_groups_do_not_count() -> None:
    params, topology, accuracy = _data(n=40)
    assert judge("topo", topology, accuracy, params, params, min_group=30).within_params_spearman is None


def test_non_finite_scores_rank_lowest() -> None:
    acc = np.arange(10.0)
    scores = np.arange(10.0)
    scores[0] = -np.inf
    scores[1] = np.nan
    assert judge("x", scores, acc, np.zeros(10), np.zeros(10)).spearman > 0.99


def test_parse_entries() -> None:
    assert parse_entries(["es", "es+logsynflow", "sed"]) == (
        ["es", "logsynflow", "sed"],
        [("es+logsynflow", ["es", "logsynflow"])],
    )
    for bad in (["es+"], ["es+es"]):
        with pytest.raises(UsageError):
            parse_entries(bad)


def test_top_of_the_ranking_is_judged_by_regret() -> None:
    accuracy = np.arange(20, dtype=float)  # arch 19 is the best
    scores = -np.arange(20, dtype=float)  # the proxy prefers the worst
    scores[5] = 100.0  # ... except arch 5, its favourite
    j = judge("p", scores, accuracy, np.ones(20), np.zeros(20))
    assert j.top1_acc == 5.0 and j.top1_regret == 14.0
    assert j.top10_mean_acc == np.mean([5, 0, 1, 2, 3, 4, 6, 7, 8, 9])
    assert j.top10_regret == 19.0 - j.top10_mean_acc
    perfect = judge("acc", accuracy, accuracy, np.ones(20), np.zeros(20))
    assert perfect.top1_regret == 0.0
