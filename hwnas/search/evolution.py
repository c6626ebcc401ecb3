"""Regularised (ageing) evolution, the core each search phase runs (Real et al. 2019; FreeREA).

An ask/tell population of encodings: ``tell()`` adds a member and removes the
oldest once the population is full; ``parent()`` runs a tournament among a random
subset of the living members and returns the fittest. Fitness values are passed
in by the caller for the living members, because a strategy's fitness may be
relative to the group (rank fusions, max-normalised sums) and so changes as
members come and go. The population holds encodings only, so it serialises to
JSON for checkpoints. All randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence


class AgeingPopulation:
    """A FIFO population of encodings with tournament selection."""

    def __init__(self, size: int, tournament: int, members: Sequence[str] = ()) -> None:
        if size < 1 or tournament < 1:
            raise ValueError("population and tournament sizes must be positive")
        self.size = size
        self.tournament = min(tournament, size)
        self.members: deque[str] = deque(members, maxlen=size)

    def __len__(self) -> int:
        return len(self.members)

    def tell(self, arch: str) -> None:
        self.members.append(arch)  # deque(maxlen) drops the oldest

    def parent(self, rng: random.Random, fitness: Sequence[float]) -> str:
        """The fittest of a random subset; ``fitness[i]`` belongs to ``members[i]``; first wins ties."""
        if len(fitness) != len(self.members):
            raise ValueError("one fitness value per living member is needed")
        contestants = rng.sample(range(len(self.members)), min(self.tournament, len(self.members)))
        return self.members[max(contestants, key=lambda i: fitness[i])]

    def to_json(self) -> list[str]:
        return list(self.members)

    @classmethod
    def from_json(cls, data: Sequence[str], size: int, tournament: int) -> AgeingPopulation:
        return cls(size, tournament, [str(a) for a in data])
