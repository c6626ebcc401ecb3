"""The winner rule's scale: free terms over a large unscored sample, scored ones over the search's."""

from __future__ import annotations

import random

import numpy as np
import pytest
from dev_data import nb201_latency_csv

from hwnas.search import Constraints, SearchConfig, make_strategy
from hwnas.search.constraints import FeasibilityChecker
from hwnas.search.engine import MIN_REFERENCE, SearchEngine
from hwnas.search.fitness import BUDGET_USE, REFERENCE_WEIGHT, ZScoreSum
from hwnas.search.reference import FREE_SAMPLES, free_sample, free_terms, post_stratified
from hwnas.spaces import get_space

RULE_TERMS = ["es", "logsynflow", "skip_length", BUDGET_USE]


def _table_and_checker(quantile: float = 0.25):
    from hwnas.latency.sources import ArchLatencyTable

    space = get_space("nb201")
    table = ArchLatencyTable.from_csv(nb201_latency_csv(), space, latency_column="pixel3_latency_ms")
    budget = float(np.quantile(list(table.latency_ms.values()), quantile))
    return space, table, budget, FeasibilityChecker(space, Constraints(latency_ms=budget), table)


def test_each_term_is_scaled_by_the_reference_rows_that_carry_it() -> None:
    rule = ZScoreSum((("a", 1.0, "identity"), ("b", 1.0, "identity")))
    group = [{"a": 0.0, "b": 1.0}, {"a": 1.0, "b": 0.0}]
    # a's scale is 1 (rows 0/2), b's is 10 (rows 0/20): the same step in a counts ten times more
    reference = [{"a": 0.0}, {"a": 2.0}, {"b": 0.0}, {"b": 20.0}]
    values = rule.values(group, reference)
    assert values[1] - values[0] == pytest.approx(1.0 - 0.1)
    # without rows for b, b is scaled over the group as before
    only_a = rule.values(group, [{"a": 0.0}, {"a": 2.0}])
    assert only_a[1] - only_a[0] == pytest.approx(0.5 - 1.5)  # a: +1 sd of its scale; b: -2 sd of the group's


def test_free_terms_are_the_ones_that_need_no_network() -> None:
    assert free_terms(RULE_TERMS) == ["skip_length", BUDGET_USE]
    assert free_terms(["es", "params"]) == ["params"]


def test_the_free_sample_is_feasible_seeded_and_bounded() -> None:
    space, _, budget, checker = _table_and_checker()
    feasible = lambda arch: checker.check(arch).feasible  # noqa: E731
    sample = free_sample(space, feasible, checker.budget_use, RULE_TERMS, "s", samples=200)
    assert sample.size == len(sample.rows) == 200
    assert all(set(r) == {"skip_length", BUDGET_USE} and 0 < r[BUDGET_USE] <= 1 for r in sample.rows)
    assert 0 < sample.dead_share < 0.5  # a tight NB201 budget lets some cells without a path through
    assert sample == free_sample(space, feasible, checker.budget_use, RULE_TERMS, "s", samples=200)
    assert sample.rows != free_sample(space, feasible, checker.budget_use, RULE_TERMS, "t", samples=200).rows
    # a budget nothing meets ends after its bounded number of draws, with nothing
    nothing = free_sample(space, lambda arch: False, checker.budget_use, RULE_TERMS, "s", samples=3)
    assert (nothing.size, nothing.rows, nothing.dead_share) == (0, [], 0.0)
    # without free terms the sample still counts the dead
    bare = free_sample(space, feasible, checker.budget_use, ["es", "logsynflow"], "s", samples=50)
    assert bare.rows == [] and bare.size == 50


def test_nb201_dead_cells_are_those_without_a_live_path() -> None:
    space = get_space("nb201")
    cut = "|none~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|avg_pool_3x3~2|"  # nothing leaves node 0
    assert space.is_dead(space.decode(cut))
    path = "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|avg_pool_3x3~2|"  # 0 -> 1 -> 2 -> 3
    assert not space.is_dead(space.decode(path))
    direct = "|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|"  # 0 -> 3
    assert not space.is_dead(space.decode(direct))
    assert not get_space("hybrid").is_dead(get_space("hybrid").sample(random.Random(0)))


def test_post_stratification_gives_the_sample_the_large_samples_dead_share() -> None:
    rows = [{"x": float(i)} for i in range(10)]
    dead = [i < 5 for i in range(10)]  # half dead in the scored sample, a tenth in the large one
    weighted = post_stratified(rows, dead, 0.1)
    weights = [r[REFERENCE_WEIGHT] for r in weighted]
    assert sum(w for w, d in zip(weights, dead, strict=True) if d) / sum(weights) == pytest.approx(0.1)
    assert sum(weights) == pytest.approx(len(rows))
    assert post_stratified(rows, [False] * 10, 0.1) == rows  # no dead stratum to reweight
    # the weights move the scale: a dead outlier counted at its true share
    rule = ZScoreSum((("x", 1.0, "identity"),))
    group = [{"x": 0.0}, {"x": 1.0}]
    assert rule.values(group, weighted) != rule.values(group, rows)


def test_a_search_scales_free_terms_by_the_large_sample_and_says_so(tmp_path) -> None:
    space, table, budget, checker = _table_and_checker()
    # LogSynflow needs a network (scored, so scaled by the search's samples); SED and #Params do not
    strategy = make_strategy("cyclic", topology_proxy="sed", size_proxy="logsynflow", initial_samples=MIN_REFERENCE)
    config = SearchConfig(space="nb201", constraints=Constraints(latency_ms=budget), strategy=strategy,
                          evaluations=MIN_REFERENCE + 8, seed=3)  # fmt: skip
    engine = SearchEngine(config, table)
    engine.run()
    reference = engine._reference()
    assert reference is not None
    scored = [r for r in reference if "logsynflow" in r]
    free = [r for r in reference if BUDGET_USE in r]
    assert len(scored) >= MIN_REFERENCE and len(free) == FREE_SAMPLES
    # the free terms are scaled by the large sample only
    assert all(set(r) - {REFERENCE_WEIGHT} == {"logsynflow"} for r in scored)
    assert all(set(r) == {"sed", "skip_length", BUDGET_USE} for r in free)
    assert f"the dead share of {FREE_SAMPLES} unscored ones, which also scale sed, skip length" in engine.selection
    # the sample is the same for the same seed and budget, whatever the search did before
    again = SearchEngine(config, table)
    assert again._free_sample() == engine._free_sample()
