"""A cheap surrogate that screens candidates before the proxies score them.

In the whole NB201 space (15,625 archs) a 300-evaluation search sees 2 % of it, and
plain ageing evolution hardly beats random sampling there (issue 22). Breeding is
cheap and scoring is not, so each child is the best of several feasible mutations as
ranked by a ridge regression (scikit-learn) fitted on the candidates scored so far:
from the space's gene features (:meth:`~hwnas.spaces.base.SearchSpace.features`),
the candidate's table latency (free: feasibility already looked it up) and SED
(data-free, under a millisecond), to each proxy the phase's fitness reads. Only the
chosen child is scored; the fitness still ranks true scores everywhere else.

Proxies are fitted through the transform the winner rule applies (LogSynflow's signed
log) and mapped back, so a prediction enters a fitness exactly like a score.
Deterministic: the same history gives the same model, whatever the executor.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge

from hwnas.proxies import score_architecture
from hwnas.search.fitness import BUDGET_USE, Fitness, transform, untransform
from hwnas.spaces.base import SearchSpace

#: Scored candidates needed before the surrogate screens (fewer: the first feasible child is taken).
MIN_TRAINING = 12
#: Ridge penalty on standardised features: small, since the features are few and informative.
ALPHA = 1.0
#: Data-free proxies computed for every screened candidate (cost: well under a millisecond each):
#: SED is a feature; a fitness that reads one of them gets its exact value, not a prediction.
SCREEN_PROXIES = ("sed", "skip_length")
#: Proxies a fitness reads exactly rather than as a prediction: the screen's, and #Params
#: (counted from the encoding; the hybrid winner rule's size term).
EXACT_PROXIES = (*SCREEN_PROXIES, "params")


class Surrogate:
    """Predicts proxy scores of unscored candidates from their genes, latency and SED."""

    def __init__(self, space: SearchSpace[Any], transforms: Mapping[str, str] | None = None, *, seed: int = 0) -> None:
        self.space = space
        self.transforms = dict(transforms or {})
        self.seed = seed
        self._features: dict[str, np.ndarray] = {}
        self._exact: dict[str, dict[str, float]] = {}
        self._models: dict[str, tuple[Ridge, np.ndarray, np.ndarray]] = {}
        self.usable = bool(space.features(space.sample(random.Random(0))))

    @classmethod
    def for_search(cls, space: SearchSpace[Any], strategy: Any, seed: int) -> Surrogate | None:
        """A surrogate when the strategy screens (``screen`` > 1) and the space describes its genes,
        fitted through the transforms of the strategy's winner rule."""
        if strategy.screen <= 1:
            return None
        rule = strategy.winner_fitness(space)
        surrogate = cls(space, {name: kind for name, _, kind in getattr(rule, "terms", ())}, seed=seed)
        return surrogate if surrogate.usable else None

    def features(self, text: str, latency_ms: float | None) -> np.ndarray:
        """Gene features, log latency and the screen proxies of one candidate (cached by encoding)."""
        cached = self._features.get(text)
        if cached is None:
            arch = self.space.decode(text)
            cheap = score_architecture(self.space, arch, list(EXACT_PROXIES), seed=self.seed)
            self._exact[text] = {p: float(v) for p, v in cheap.items()}
            extra = [float(cheap[p]) if math.isfinite(float(cheap[p])) else 0.0 for p in SCREEN_PROXIES]
            latency = math.log(latency_ms) if latency_ms is not None and latency_ms > 0 else 0.0
            cached = np.array([*self.space.features(arch), latency, *extra], dtype=float)
            self._features[text] = cached
        return cached

    def fit(self, texts: Sequence[str], scores: Sequence[Mapping[str, float]], latencies: Sequence[float | None],
            proxies: Sequence[str]) -> bool:  # fmt: skip
        """Fit one ridge per proxy on the scored candidates; False while there are too few."""
        self._models = {}
        if not self.usable or len(texts) < MIN_TRAINING:
            return False
        x = np.stack([self.features(t, ms) for t, ms in zip(texts, latencies, strict=True)])
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        z = (x - mean) / scale
        for proxy in proxies:
            if proxy in EXACT_PROXIES:
                continue  # computed exactly for every candidate
            y = np.array([float(s[proxy]) for s in scores], dtype=float)
            ok = np.isfinite(y)  # a dead network's -inf teaches nothing about the others
            if ok.sum() < MIN_TRAINING:
                continue
            model = Ridge(alpha=ALPHA).fit(z[ok], transform(y[ok], self.transforms.get(proxy, "identity")))
            self._models[proxy] = (model, mean, scale)
        return bool(self._models)

    def covers(self, proxies: Sequence[str]) -> bool:
        """True when the last fit can screen for ``proxies`` (a model for each one that is predicted)."""
        return bool(self._models) and all(p in self._models or p in EXACT_PROXIES for p in proxies)

    def predict(self, texts: Sequence[str], latencies: Sequence[float | None]) -> list[dict[str, float]]:
        """Predicted scores of each fitted proxy on the proxies' own scale, and the exact screen proxies."""
        if not self._models or not texts:
            return [{} for _ in texts]
        x = np.stack([self.features(t, ms) for t, ms in zip(texts, latencies, strict=True)])
        out: list[dict[str, float]] = [dict(self._exact[t]) for t in texts]
        for proxy, (model, mean, scale) in self._models.items():
            predicted = untransform(model.predict((x - mean) / scale), self.transforms.get(proxy, "identity"))
            for row, value in zip(out, predicted, strict=True):
                row[proxy] = float(value)
        return out

    def best(
        self,
        fitness: Fitness,
        candidates: Sequence[str],
        latencies: Sequence[float | None],
        budget_uses: Sequence[float],
        history: Sequence[Mapping[str, float]],
        reference: Sequence[Mapping[str, float]] | None,
    ) -> int:
        """Index of the candidate ``fitness`` ranks first on predicted scores, judged beside the scored
        ``history`` so a group-relative fitness keeps the history's scale (first wins ties)."""
        predicted = self.predict(candidates, latencies)
        rows = [{**p, BUDGET_USE: use} for p, use in zip(predicted, budget_uses, strict=True)]
        values = fitness.values([*history, *rows], reference)[len(history) :]
        return max(range(len(values)), key=lambda i: (values[i], -i))
