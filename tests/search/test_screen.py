"""The surrogate screen: it learns proxy scores from genes, and a screening search finds the
argmax of its fitness in the whole NB201 space far more often than plain evolution does."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pytest
from scipy import stats

from hwnas.latency.sources import ArchLatencyTable
from hwnas.search import Constraints, SearchConfig, make_strategy
from hwnas.search.engine import SearchEngine
from hwnas.search.fitness import BUDGET_USE
from hwnas.search.scoring import ProxyScorer, ScoringConfig
from hwnas.search.surrogate import Surrogate
from hwnas.spaces import get_space
from hwnas.spaces.nb201 import OPS

SPACE = get_space("nb201")
ALL = [
    SPACE.encode(SPACE.decode("|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*o)))
    for o in itertools.product(OPS, repeat=6)
]
# a fixed score per (edge, op) plus an interaction between the last two edges: what a cell-level proxy looks like
GAIN = np.random.default_rng(7).normal(size=(6, len(OPS)))


def synthetic(text: str) -> dict[str, float]:
    ops = SPACE.decode(text).ops
    base = sum(GAIN[e, OPS.index(op)] for e, op in enumerate(ops))
    pair = 0.5 if ops[4] == ops[5] == "nor_conv_3x3" else 0.0
    return {"es": base + pair, "logsynflow": math.exp(2 + 0.3 * base), "skip_length": 0.0}


class SyntheticScorer(ProxyScorer):
    def __init__(self, proxies: Sequence[str]) -> None:
        super().__init__(ScoringConfig("", tuple(proxies), 0, None, None))

    def score_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        for text in texts:
            if text not in self.cache:
                self.cache[text] = {p: v for p, v in synthetic(text).items() if p in self.config.proxies}
        return [self.cache[t] for t in texts]


def test_the_surrogate_learns_scores_from_genes() -> None:
    rng = np.random.default_rng(0)
    train = [ALL[i] for i in rng.choice(len(ALL), 150, replace=False)]
    test = [ALL[i] for i in rng.choice(len(ALL), 500, replace=False)]
    surrogate = Surrogate(SPACE, {"logsynflow": "signed_log"})
    assert surrogate.fit(train, [synthetic(t) for t in train], [1.0] * len(train), ["es", "logsynflow"])
    predicted = surrogate.predict(test, [1.0] * len(test))
    for proxy in ("es", "logsynflow"):
        rho = stats.spearmanr([p[proxy] for p in predicted], [synthetic(t)[proxy] for t in test]).statistic
        assert rho > 0.9, (proxy, rho)
    assert all(p["sed"] == pytest.approx(p["sed"]) for p in predicted)  # exact screen proxies ride along
    assert not Surrogate(SPACE).fit(train[:5], [synthetic(t) for t in train[:5]], [1.0] * 5, ["es"])  # too few


#: A latency per operation (what a block table predicts): the budget below keeps half the space.
COST = {"none": 0.1, "skip_connect": 0.2, "nor_conv_1x1": 0.6, "nor_conv_3x3": 1.5, "avg_pool_3x3": 0.5}
LATENCY = {a: 1 + sum(COST[op] for op in SPACE.decode(a).ops) for a in ALL}
LIMIT = float(np.quantile(list(LATENCY.values()), 0.5))


def _search(screen: int, seed: int, evaluations: int = 100) -> str:
    strategy = make_strategy("cyclic", screen=screen, initial_samples=40)
    config = SearchConfig("nb201", Constraints(latency_ms=LIMIT), strategy=strategy, evaluations=evaluations, seed=seed)
    engine = SearchEngine(config, ArchLatencyTable(LATENCY, space=SPACE), scorer=SyntheticScorer(strategy.proxies))
    engine.run()
    return str(engine.winner()["arch"])


def test_screening_finds_the_rule_argmax_of_the_whole_space() -> None:
    """100 evaluations (1.3 % of the feasible half): the screened search returns the winner
    rule's exhaustive pick in at least 3 of 4 seeds, and more often than plain evolution."""
    rule = make_strategy("cyclic").winner_fitness(SPACE)
    assert rule is not None
    feasible = [a for a in ALL if LATENCY[a] <= LIMIT]
    values = rule.values([{**synthetic(a), BUDGET_USE: LATENCY[a] / LIMIT} for a in feasible])
    pick = feasible[int(np.argmax(values))]
    screened = [_search(16, seed) == pick for seed in range(4)]
    plain = [_search(1, seed) == pick for seed in range(4)]
    assert sum(screened) >= 3 and sum(screened) > sum(plain), (screened, plain)


def test_screening_is_deterministic() -> None:
    assert _search(16, 5, evaluations=60) == _search(16, 5, evaluations=60)
