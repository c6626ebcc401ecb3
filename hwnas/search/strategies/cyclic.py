"""``cyclic``: the Entropic Score paper's search (REFERENCE §6), the default strategy.

Cycles of two phases: *topology* (size genes fixed, fitness = the topology proxy,
Entropic Score) and *size* (topology fixed, fitness = the size proxy, LogSynflow).
Each phase starts from the incumbent and hands its best member on.

The winner is not the last incumbent but the best of the *whole history* by a
normalised sum (:class:`~hwnas.search.fitness.ZScoreSum`): 0.5·z(ES) + z(log
LogSynflow) + 0.5·z(skip length), each standardised over the evaluated candidates,
so the topology signal (ES, strong within equal sizes), the size signal
(LogSynflow) and FreeREA's structural prior (long skips; constant, so silent, on
spaces without cells) all count. The evidence for the rule and its weights is in
docs/search.md.

On a space without size genes (nb201) there is nothing for a size phase to hold
fixed: the cycle becomes alternating phases over the same genes, one ranked by ES
and one by LogSynflow, which explores both proxies' favourites, and the fused
winner rule picks among them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hwnas.errors import UsageError
from hwnas.search.fitness import Fitness, ProxyFitness, ZScoreSum
from hwnas.search.strategies import STRATEGIES
from hwnas.search.strategies.base import Phase, Strategy, has_size_genes, split_budget
from hwnas.spaces.base import SearchSpace

#: Weights of the winner rule, chosen on the NB201 dev regret grid (docs/search.md).
DEFAULT_TOPOLOGY_WEIGHT = 0.5
DEFAULT_SKIP_WEIGHT = 0.5


@STRATEGIES.register("cyclic")
@dataclass(frozen=True)
class Cyclic(Strategy):
    """Topology phases by ES, size phases by LogSynflow; the winner by their normalised sum."""

    name = "cyclic"
    topology_proxy: str = "es"
    size_proxy: str = "logsynflow"
    cycles: int = 3
    topology_weight: float = DEFAULT_TOPOLOGY_WEIGHT
    skip_weight: float = DEFAULT_SKIP_WEIGHT

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.cycles, int) or self.cycles < 1:
            raise UsageError(f"--cycles must be a whole number of at least 1, got {self.cycles!r}")
        for option, value in (("topology-weight", self.topology_weight), ("skip-weight", self.skip_weight)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise UsageError(f"--{option} must be a finite number >= 0, got {value!r}")

    @property
    def proxies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.topology_proxy, self.size_proxy, *self.winner_rule.proxies)))

    @property
    def winner_rule(self) -> Fitness:
        if self.topology_proxy == self.size_proxy:
            return ProxyFitness(self.size_proxy)
        return ZScoreSum(((self.topology_proxy, float(self.topology_weight), "identity"),
                          (self.size_proxy, 1.0, "signed_log"),
                          ("skip_length", float(self.skip_weight), "identity")))

    def phases(self, space: SearchSpace[Any], evaluations: int) -> list[Phase]:
        size_operator = "size" if has_size_genes(space) else "topology"
        kinds = []
        for cycle in range(self.cycles):
            kinds.append(("topology", cycle, "topology", ProxyFitness(self.topology_proxy)))
            kinds.append(("size", cycle, size_operator, ProxyFitness(self.size_proxy)))
        budgets = split_budget(evaluations, len(kinds))
        return [Phase(name, cycle, op, fit, b) for (name, cycle, op, fit), b in zip(kinds, budgets) if b > 0]

    def winner_fitness(self, space: SearchSpace[Any]) -> Fitness:
        return self.winner_rule
