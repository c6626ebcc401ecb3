"""Proxy scoring for the search: a cache of seen architectures and optional worker processes.

Scores are a function of (encoding, proxies, seed, resolution, batch size) only,
so the cache can be saved in a checkpoint and the number of workers never
changes a result, only the wall time.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class ScoringConfig:
    space: str
    proxies: tuple[str, ...]
    seed: int
    resolution: int | None
    batch_size: int | None


def _init_worker() -> None:
    """One intra-op thread per scoring process: small proxy networks gain nothing from more,
    and oversubscribed cores made scoring up to 20x slower on a busy 2-core machine."""
    import torch

    torch.set_num_threads(1)


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
    """Scores encodings, each once; ``cache`` maps encoding -> {proxy: score}."""

    def __init__(
        self, config: ScoringConfig, *, workers: int = 1, cache: dict[str, dict[str, float]] | None = None
    ) -> None:
        self.config = config
        self.workers = max(1, workers)
        self.cache: dict[str, dict[str, float]] = cache if cache is not None else {}  # shared, not copied
        self._pool: ProcessPoolExecutor | None = None
        if self.workers == 1 and config.space:
            _init_worker()  # scoring runs in this process

    def __enter__(self) -> ProxyScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def score_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            if self.workers == 1 or len(todo) == 1:
                results = [_score(self.config, t) for t in todo]
            else:
                if self._pool is None:
                    self._pool = ProcessPoolExecutor(
                        self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
                    )
                results = list(self._pool.map(_score, [self.config] * len(todo), todo))
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
