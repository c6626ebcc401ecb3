"""``freerea``: FreeREA (Cavagnero et al., WACV 2023), the Entropic Score authors' earlier method.

Ageing evolution with population 100 and tournament 25; each child is the crossover
of two tournament winners, then mutated. Fitness: NASWOT, LogSynflow and the mean
skip-connection length, each divided by its maximum over the compared candidates
(REFERENCE §8). The winner is the best of all evaluated candidates by that fitness.
Kept as the published anchor the default strategy is measured against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwnas.search.fitness import Fitness, MaxNormalisedSum
from hwnas.search.strategies import STRATEGIES
from hwnas.search.strategies.base import Phase, Strategy
from hwnas.spaces.base import SearchSpace

TERMS = ("naswot", "logsynflow", "skip_length")


@STRATEGIES.register("freerea")
@dataclass(frozen=True)
class FreeREA(Strategy):
    """FreeREA: crossover + mutation, fitness Σ max-normalised NASWOT, LogSynflow, skip length."""

    name = "freerea"
    population: int = 100
    tournament: int = 25

    @property
    def proxies(self) -> tuple[str, ...]:
        return TERMS

    @property
    def fitness(self) -> Fitness:
        return MaxNormalisedSum(TERMS)

    def phases(self, space: SearchSpace[Any], evaluations: int) -> list[Phase]:
        return [Phase("freerea", 0, "crossover", self.fitness, evaluations)] if evaluations > 0 else []

    def winner_fitness(self, space: SearchSpace[Any]) -> Fitness:
        return self.fitness
