"""The contract every search strategy fulfils (an Optuna-sampler-like plug-in).

A strategy is a frozen dataclass handed to :class:`~hwnas.search.config.SearchConfig`;
the engine never branches on its type. It says:

- which proxies every candidate is scored with (:attr:`Strategy.proxies`);
- the phases of the search (:meth:`Strategy.phases`): for each, the mutation
  operator, the fitness that ranks candidates inside it and its evaluation budget;
- how the winner is picked (:meth:`Strategy.winner_fitness`): the best of the whole
  history by a fitness, or ``None`` for "the last phase's winner";
- its population and tournament sizes (regularised evolution, REFERENCE §6).

Guarantees every implementation gives (``tests/search/test_strategies.py`` checks
them for every registered strategy): no randomness of its own (the engine's seeded
RNG drives every choice, so a seed fixes the result on any number of workers), a
JSON form that round-trips exactly (checkpoints and best.json), and a winner chosen
only among evaluated candidates, which are all feasible.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from hwnas.errors import UsageError
from hwnas.search.fitness import Fitness
from hwnas.spaces.base import SearchSpace

#: Mutation operators a phase may use: change topology genes, size genes, either,
#: cross two tournament winners then mutate either kind, or draw fresh random archs.
OPERATORS = ("topology", "size", "any", "crossover", "sample")
#: Bound on ``screen``: each screened child costs up to this many feasibility checks and SED runs.
MAX_SCREEN = 256


@dataclass(frozen=True)
class Phase:
    """One evolutionary phase: its name (for people and history), cycle, operator, fitness, budget."""

    name: str
    cycle: int
    operator: str
    fitness: Fitness
    budget: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cycle": self.cycle,
            "operator": self.operator,
            "fitness": self.fitness.to_json(),
            "budget": self.budget,
        }


def has_size_genes(space: SearchSpace[Any]) -> bool:
    """The space's own capability (:attr:`SearchSpace.has_size_genes`)."""
    return space.has_size_genes


def split_budget(evaluations: int, parts: int) -> list[int]:
    """``evaluations`` split into ``parts`` budgets as evenly as possible, the first ones larger."""
    base, extra = divmod(evaluations, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


@dataclass(frozen=True)
class Strategy(ABC):
    """Base class; subclasses are frozen dataclasses registered in ``STRATEGIES``."""

    name: ClassVar[str] = ""

    population: int = 25
    tournament: int = 5
    screen: int = 1
    """Children bred per child scored: the surrogate keeps the best (1: no screening)."""

    def __post_init__(self) -> None:
        for field_name in ("population", "tournament", "screen"):
            value = getattr(self, field_name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"--{field_name} must be a whole number of at least 1, got {value!r}")
        if self.screen > MAX_SCREEN:
            raise UsageError(f"--screen must be at most {MAX_SCREEN}, got {self.screen}")
        if self.tournament > self.population:
            raise UsageError(f"--tournament ({self.tournament}) cannot be larger than --population ({self.population})")

    @property
    @abstractmethod
    def proxies(self) -> tuple[str, ...]:
        """Every proxy a candidate is scored with (the union over phases and the winner rule)."""

    def proxies_for(self, space: SearchSpace[Any]) -> tuple[str, ...]:
        """The proxies a candidate of ``space`` is scored with (a rule may weigh them by space)."""
        return self.proxies

    @abstractmethod
    def phases(self, space: SearchSpace[Any], evaluations: int) -> list[Phase]:
        """The phases in order, their budgets summing to ``evaluations`` (empty ones dropped)."""

    @abstractmethod
    def winner_fitness(self, space: SearchSpace[Any]) -> Fitness | None:
        """The fitness that picks the winner from the whole history; None: the last phase's winner."""

    def selection(self, space: SearchSpace[Any]) -> str:
        """How the winner is chosen, in words (best.json's ``selection``)."""
        rule = self.winner_fitness(space)
        if rule is None:
            return "last incumbent: the best of the final phase"
        return rule.describe() + " among all evaluated candidates"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **{f.name: getattr(self, f.name) for f in fields(self)}}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Strategy:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:

            def option(k: str) -> str:
                return "--" + k.replace("_", "-")

            raise UsageError(
                f"strategy {cls.name!r} takes no {', '.join(map(option, unknown))} "
                f"(it takes: {', '.join(map(option, sorted(known)))})"
            )
        return cls(**params)
