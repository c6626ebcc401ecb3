"""Regularised (ageing) evolution, the core each search phase runs (Real et al. 2019; FreeREA).

An ask/tell population: ``parent()`` runs a tournament among a random subset of
the living members and returns the fittest; ``tell()`` adds a member and removes
the oldest once the population is full. The population holds encodings and
fitness only, so it serialises to JSON for checkpoints. All randomness comes from
the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Member:
    arch: str
    fitness: float


class AgeingPopulation:
    """A FIFO population with tournament selection."""

    def __init__(self, size: int, tournament: int, members: list[Member] | None = None) -> None:
        if size < 1 or tournament < 1:
            raise ValueError("population and tournament sizes must be positive")
        self.size = size
        self.tournament = min(tournament, size)
        self.members: deque[Member] = deque(members or [], maxlen=size)

    def __len__(self) -> int:
        return len(self.members)

    def tell(self, member: Member) -> None:
        self.members.append(member)  # deque(maxlen) drops the oldest

    def parent(self, rng: random.Random) -> Member:
        contestants = rng.sample(list(self.members), min(self.tournament, len(self.members)))
        return max(contestants, key=lambda m: m.fitness)

    def best(self) -> Member:
        return max(self.members, key=lambda m: m.fitness)

    def to_json(self) -> list[dict[str, Any]]:
        return [{"arch": m.arch, "fitness": m.fitness} for m in self.members]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]], size: int, tournament: int) -> AgeingPopulation:
        return cls(size, tournament, [Member(d["arch"], float(d["fitness"])) for d in data])
