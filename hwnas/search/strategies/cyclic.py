"""``cyclic``: the Entropic Score paper's search (REFERENCE §6), the default strategy.

Cycles of two phases: *topology* (size genes fixed, fitness = the topology proxy,
Entropic Score) and *size* (topology fixed, fitness = the size proxy, LogSynflow).
Each phase starts from the incumbent and hands its best member on. On a space with
size genes the first incumbent is the best of ``initial_samples`` random feasible archs
by the winner rule (regularised evolution's random start); on NB201 none (it cost
regret there, docs/search.md).

The winner is not the last incumbent but the best of the *whole history* by a
normalised sum (:class:`~hwnas.search.fitness.ZScoreSum`), each term standardised over the
random feasible sample the search starts from (over the evaluated candidates when there is
none). Its size term depends on the space. On a cell space (nb201, no size genes):
0.5·z(ES) + z(log LogSynflow) + 0.25·z(skip length) + 0.25·z(budget use), weights chosen on
the NB201 dev regret grid, where #Params as the size term cost regret. On a space whose
widths and depths vary (hybrid): z(log #Params) + 0.25·z(ES) + 0.25·z(budget use): on
networks of free width and depth #Params is the size signal to beat (it ranks the hybrid
references best, and the real ImageNet networks of issue 23), and LogSynflow adds nothing to
it there; ES adds the topology. So the topology signal, the size signal, FreeREA's structural
prior (long skips; constant, so silent, on spaces without cells) and the share of the budget a
candidate spends (supplied by the engine) all count. Every child is the best of ``screen``
(16) bred ones as a surrogate predicts (:mod:`hwnas.search.surrogate`). The evidence for the
rule, its weights and the screen is in docs/search.md.

On a space without size genes (nb201) there is nothing for a size phase to hold
fixed, so the cycle becomes a *topology* phase ranked by ES and a *joint* phase
over the same genes ranked by the winner rule itself (group-relative, over the
living population): the ES phase explores well-wired cells, the joint phase
pulls the population toward what the winner rule will pick. On the NB201 dev
grid this beat alternating ES and LogSynflow phases (docs/search.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hwnas.errors import UsageError
from hwnas.search.fitness import BUDGET_USE, Fitness, ProxyFitness, ZScoreSum
from hwnas.search.strategies import STRATEGIES
from hwnas.search.strategies.base import Phase, Strategy, has_size_genes, split_budget
from hwnas.spaces.base import SearchSpace

#: Weights of the winner rule on a cell space, chosen on the NB201 dev regret grid (docs/search.md).
DEFAULT_TOPOLOGY_WEIGHT = 0.5
DEFAULT_SKIP_WEIGHT = 0.25
DEFAULT_BUDGET_WEIGHT = 0.25
#: The rule's default weights, (topology proxy, size proxy, #Params, skip length, budget use), by
#: space. With size genes, #Params is the size term and ES counts a quarter: this ranks the hybrid
#: references above #Params alone, where LogSynflow or budget use added to it rank them lower
#: (docs/search.md); skip length is constant there.
CELL_SPACE_WEIGHTS = (DEFAULT_TOPOLOGY_WEIGHT, 1.0, 0.0, DEFAULT_SKIP_WEIGHT, DEFAULT_BUDGET_WEIGHT)
SIZED_SPACE_WEIGHTS = (0.25, 0.0, 1.0, 0.0, 0.0)
#: Children bred per child scored, the surrogate keeping the best (docs/search.md, issue 22).
DEFAULT_SCREEN = 16
#: A screening search on a space without size genes starts from twice the population of random
#: feasible archs (50 of 300 evaluations): 25 or 75 found the rule's pick less often (docs/search.md).
SCREEN_SAMPLES_PER_MEMBER = 2


@STRATEGIES.register("cyclic")
@dataclass(frozen=True)
class Cyclic(Strategy):
    """Topology phases by ES, size phases by LogSynflow; the winner by their normalised sum."""

    name = "cyclic"
    topology_proxy: str = "es"
    size_proxy: str = "logsynflow"
    cycles: int = 3
    topology_weight: float | None = None
    size_weight: float | None = None
    params_weight: float | None = None
    skip_weight: float | None = None
    budget_weight: float | None = None
    initial_samples: int | None = None
    screen: int = DEFAULT_SCREEN

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.cycles, int) or self.cycles < 1:
            raise UsageError(f"--cycles must be a whole number of at least 1, got {self.cycles!r}")
        samples = self.initial_samples
        if samples is not None and (not isinstance(samples, int) or isinstance(samples, bool) or samples < 0):
            raise UsageError(f"--initial-samples must be a whole number >= 0, got {self.initial_samples!r}")
        for option, value in (
            ("topology-weight", self.topology_weight),
            ("size-weight", self.size_weight),
            ("params-weight", self.params_weight),
            ("skip-weight", self.skip_weight),
            ("budget-weight", self.budget_weight),
        ):
            if value is None:
                continue
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise UsageError(f"--{option} must be a finite number >= 0, got {value!r}")

    @property
    def proxies(self) -> tuple[str, ...]:
        """The proxies on a cell space (:meth:`proxies_for` gives any space's)."""
        return tuple(dict.fromkeys((self.topology_proxy, self.size_proxy, *self._rule(CELL_SPACE_WEIGHTS).proxies)))

    def proxies_for(self, space: SearchSpace[Any]) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.topology_proxy, self.size_proxy, *self.winner_rule(space).proxies)))

    def winner_rule(self, space: SearchSpace[Any]) -> Fitness:
        """The rule that picks the winner; its size term depends on whether ``space`` has size genes."""
        return self._rule(SIZED_SPACE_WEIGHTS if has_size_genes(space) else CELL_SPACE_WEIGHTS)

    def _rule(self, defaults: tuple[float, float, float, float, float]) -> Fitness:
        if self.topology_proxy == self.size_proxy:
            return ProxyFitness(self.size_proxy)
        given = (self.topology_weight, self.size_weight, self.params_weight, self.skip_weight, self.budget_weight)
        topology, size, params, skip, budget = (
            float(d if g is None else g) for g, d in zip(given, defaults, strict=True)
        )
        terms = [
            (self.topology_proxy, topology, "identity"),
            (self.size_proxy, size, "signed_log"),
            ("params", params, "signed_log"),
            ("skip_length", skip, "identity"),
            (BUDGET_USE, budget, "identity"),
        ]
        return ZScoreSum(
            tuple((name, weight, kind) for name, weight, kind in terms if weight > 0 or name == self.topology_proxy)
        )

    def initial_sample_count(self, space: SearchSpace[Any], evaluations: int | None = None) -> int:
        """Random feasible archs the search starts from: the population on a space with size
        genes (else its size phases cannot grow a small random start to the budget in time).
        On a space without them, a screening search starts from twice the population (at most a
        quarter of the evaluations): they train the surrogate and set the winner rule's scale, an
        unbiased sample of the feasible set; without screening, from none (on the 3,000-arch dev
        grid the sample cost more than it found)."""
        if self.initial_samples is not None:
            return self.initial_samples
        if has_size_genes(space):
            return self.population
        if self.screen <= 1:
            return 0
        wanted = SCREEN_SAMPLES_PER_MEMBER * self.population
        return wanted if evaluations is None else min(wanted, evaluations // 4)

    def phases(self, space: SearchSpace[Any], evaluations: int) -> list[Phase]:
        initial = min(self.initial_sample_count(space, evaluations), max(0, evaluations - 1))
        evaluations -= initial
        topology: Fitness = ProxyFitness(self.topology_proxy)
        second: tuple[str, str, Fitness]
        if has_size_genes(space):
            second = ("size", "size", ProxyFitness(self.size_proxy))
        else:
            second = ("joint", "topology", self.winner_rule(space))
        kinds = []
        for cycle in range(self.cycles):
            kinds.append(("topology", cycle, "topology", topology))
            kinds.append((second[0], cycle, second[1], second[2]))
        budgets = split_budget(evaluations, len(kinds))
        start = [Phase("initial", 0, "sample", self.winner_rule(space), initial)] if initial else []
        return start + [
            Phase(name, cycle, op, fit, b) for (name, cycle, op, fit), b in zip(kinds, budgets, strict=True) if b > 0
        ]

    def winner_fitness(self, space: SearchSpace[Any]) -> Fitness:
        return self.winner_rule(space)
