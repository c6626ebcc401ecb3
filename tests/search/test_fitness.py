"""Fitness rules: group-relative, scale-free where they say so, dead networks last, JSON round trip."""

from __future__ import annotations

import json
import math

import pytest

from hwnas.errors import UsageError
from hwnas.search.fitness import (
    LogRankFusion,
    MaxNormalisedSum,
    ProxyFitness,
    ZScoreSum,
    fitness_from_json,
)

GROUP = [{"a": 1.0, "b": 100.0, "c": 0.0}, {"a": 3.0, "b": 10.0, "c": 0.0}, {"a": 2.0, "b": 1000.0, "c": 0.0}]
RULES = [
    ProxyFitness("a"),
    LogRankFusion((("a", 1.0), ("b", 2.0))),
    MaxNormalisedSum(("a", "b", "c")),
    ZScoreSum((("a", 1.0, "identity"), ("b", 1.0, "signed_log"), ("c", 0.5, "identity"))),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.kind)
def test_round_trip_and_one_value_per_member(rule) -> None:
    assert fitness_from_json(json.loads(json.dumps(rule.to_json()))) == rule
    values = rule.values(GROUP)
    assert len(values) == len(GROUP) and all(math.isfinite(v) for v in values)
    assert rule.values([]) == []
    assert rule.describe().startswith("best ")


@pytest.mark.parametrize("rule", RULES[1:], ids=lambda r: r.kind)
def test_group_relative_rules_ignore_a_common_scale(rule) -> None:
    scaled = [{k: 7.0 * v for k, v in g.items()} for g in GROUP]
    assert rule.best(scaled) == rule.best(GROUP)


def test_z_score_sum_weighs_how_much_better_not_only_the_order() -> None:
    rule = ZScoreSum((("a", 1.0, "identity"), ("b", 1.0, "identity")))
    close = [{"a": 10.0, "b": 0.0}, {"a": 0.0, "b": 1.0}, {"a": 0.0, "b": 0.0}]
    assert rule.best(close) == 0  # far ahead on a beats slightly ahead on b
    ranks = LogRankFusion((("a", 1.0), ("b", 1.0)))
    assert ranks.values(close)[0] == ranks.values(close)[1]  # ranks cannot tell the two apart


def test_constant_terms_are_silent_and_dead_networks_rank_last() -> None:
    rule = ZScoreSum((("a", 1.0, "identity"), ("c", 5.0, "identity")))
    assert rule.values(GROUP) == ZScoreSum((("a", 1.0, "identity"),)).values(GROUP)
    dead = [*GROUP, {"a": float("-inf"), "b": 1.0, "c": 0.0}, {"a": float("nan"), "b": 1.0, "c": 0.0}]
    values = rule.values(dead)
    assert values[3] == values[4] == float("-inf") and rule.best(dead) == 1
    assert MaxNormalisedSum(("a",)).values(dead)[3] == float("-inf")


def test_signed_log_is_monotone_for_any_sign() -> None:
    rule = ZScoreSum((("b", 1.0, "signed_log"),))
    group = [{"b": v} for v in (-1e6, -1.0, 0.0, 2.0, 1e9)]
    values = rule.values(group)
    assert values == sorted(values)


def test_first_member_wins_ties() -> None:
    assert ProxyFitness("c").best(GROUP) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "nope"},
        {"kind": "z_score_sum", "terms": [["a", 1.0, "sqrt"]]},
        {"kind": "log_rank", "weights": [["a", -1.0]]},
        {"kind": "log_rank", "weights": []},
    ],
)
def test_malformed_fitness_records_are_usage_errors(bad) -> None:
    with pytest.raises(UsageError):
        fitness_from_json(bad)
