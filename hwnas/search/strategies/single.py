"""``single``: one phase of ageing evolution, every mutation allowed, one proxy as fitness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwnas.errors import UsageError
from hwnas.search.fitness import Fitness, ProxyFitness
from hwnas.search.strategies import STRATEGIES
from hwnas.search.strategies.base import Phase, Strategy
from hwnas.spaces.base import SearchSpace


@STRATEGIES.register("single")
@dataclass(frozen=True)
class Single(Strategy):
    """Regularised evolution on one proxy; the winner is the best of all evaluated by that proxy."""

    name = "single"
    proxy: str = "logsynflow"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.proxy:
            raise UsageError(f"the {self.name} strategy needs a proxy (--proxy NAME)")

    @property
    def proxies(self) -> tuple[str, ...]:
        return (self.proxy,)

    def phases(self, space: SearchSpace[Any], evaluations: int) -> list[Phase]:
        return [Phase(self.name, 0, self.operator, ProxyFitness(self.proxy), evaluations)] if evaluations > 0 else []

    @property
    def operator(self) -> str:
        return "any"

    def winner_fitness(self, space: SearchSpace[Any]) -> Fitness:
        return ProxyFitness(self.proxy)
