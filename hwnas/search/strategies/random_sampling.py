"""``random``: random feasible architectures, the best by one proxy wins (the baseline to beat)."""

from __future__ import annotations

from dataclasses import dataclass

from hwnas.search.strategies import STRATEGIES
from hwnas.search.strategies.single import Single


@STRATEGIES.register("random")
@dataclass(frozen=True)
class RandomSampling(Single):
    """Uniform random feasible samples (no evolution); the winner is the best by the proxy."""

    name = "random"

    @property
    def operator(self) -> str:
        return "sample"
