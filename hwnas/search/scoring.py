"""Proxy scoring for the search: a cache of seen architectures and an executor that scores the rest.

Scores are a function of (encoding, proxies, seed, resolution, batch size) only,
so the cache can be saved in a checkpoint and the executor (this process, a
process pool, a Ray cluster) and its number of workers never change a result,
only the wall time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from hwnas.executors import Executor, LocalExecutor
from hwnas.executors.local import set_threads

if TYPE_CHECKING:
    from hwnas.search.config import SearchConfig


@dataclass(frozen=True)
class ScoringConfig:
    space: str
    proxies: tuple[str, ...]
    seed: int
    resolution: int | None
    batch_size: int | None


def _score(config: ScoringConfig, text: str) -> dict[str, float]:
    from hwnas.proxies import score_architecture
    from hwnas.spaces import get_space

    space = get_space(config.space)
    scores = score_architecture(
        space,
        space.decode(text),
        list(config.proxies),
        seed=config.seed,
        batch_size=config.batch_size,
        resolution=config.resolution,
    )
    return {name: float(scores[name]) for name in config.proxies}


class ProxyScorer:
    """Scores encodings, each once; ``cache`` maps encoding -> {proxy: score}.

    ``executor`` runs the scoring (default: a :class:`LocalExecutor` with ``workers``
    processes); the scorer closes it."""

    def __init__(
        self,
        config: ScoringConfig,
        *,
        workers: int = 1,
        cache: dict[str, dict[str, float]] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self.executor = executor if executor is not None else LocalExecutor(workers)
        self.cache: dict[str, dict[str, float]] = cache if cache is not None else {}  # shared, not copied
        if isinstance(self.executor, LocalExecutor) and self.executor.workers == 1 and config.space:
            set_threads(self.executor.threads)  # scoring runs in this process

    def __enter__(self) -> ProxyScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.executor.close()

    @classmethod
    def for_search(cls, config: SearchConfig, *, workers: int = 1, executor: Executor | None = None) -> ProxyScorer:
        """The scorer of a search (a :class:`~hwnas.search.config.SearchConfig`): its proxies, seed and
        resolution."""
        scoring = ScoringConfig(
            config.space, config.scored_proxies, config.seed, config.proxy_resolution, config.proxy_batch_size
        )
        return cls(scoring, workers=workers, executor=executor)

    def score_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            results = self.executor.map(partial(_score, self.config), todo)  # in the order of todo
            self.cache.update(zip(todo, results, strict=True))
        return [self.cache[t] for t in texts]


class TableScorer(ProxyScorer):
    """Looks scores up in a precomputed table instead of running proxies.

    For benchmarks that compare search strategies on the same proxy values (one
    scoring pass shared by every strategy and seed); an architecture missing from
    the table is an error, never a guess.
    """

    def __init__(self, table: dict[str, dict[str, float]], proxies: Sequence[str]) -> None:
        super().__init__(ScoringConfig("", tuple(proxies), 0, None, None))
        self.table = table

    def score_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        for text in texts:
            if text not in self.cache:
                if text not in self.table:
                    raise KeyError(f"no precomputed scores for {text}")
                self.cache[text] = {p: self.table[text][p] for p in self.config.proxies}
        return [self.cache[t] for t in texts]
