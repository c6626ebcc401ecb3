"""Fitness: how a strategy turns proxy scores into one number per candidate.

A fitness is a function of a *group* of candidates, not of one candidate alone:
rank fusions and max-normalised sums (FreeREA) only mean something relative to the
others. The engine therefore hands a fitness the scores of every member of the
group it compares (the living population for a tournament, a phase's members for
the phase winner, the whole history for the search's winner) and gets one value
per member back, higher being better. A single-proxy fitness ignores the group.

Every fitness is a frozen dataclass with a ``describe()`` sentence (saved in
``best.json``) and a JSON form, so a checkpoint names exactly what ranked its
candidates. Non-finite scores (a dead network's log 0) rank lowest.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from hwnas.errors import UsageError

Scores = Mapping[str, float]

#: A term the engine supplies beside the proxy scores, not a proxy to score: the share of
#: the tightest active budget (latency, #Params or FLOPs) that a candidate uses. Constant
#: (so silent in a z-score) when the search has no constraint.
BUDGET_USE = "budget_use"
ENGINE_TERMS = frozenset({BUDGET_USE})
#: A reference row's weight in a standardising rule's scale (1 when absent): the search
#: reweights its scored random sample to the dead share of a larger one (search/reference.py).
REFERENCE_WEIGHT = "reference_weight"


class Fitness(ABC):
    """Values for a group of candidates' scores; same group, same values (no randomness)."""

    kind: ClassVar[str]

    @property
    @abstractmethod
    def proxies(self) -> tuple[str, ...]:
        """The proxies every candidate must be scored with."""

    @abstractmethod
    def values(self, group: Sequence[Scores], reference: Sequence[Scores] | None = None) -> list[float]:
        """One value per member of ``group``, higher is better. ``reference``: the group whose
        statistics scale the terms, when a fitness standardises (default: ``group`` itself)."""

    @abstractmethod
    def describe(self) -> str:
        """One sentence for people (best.json's ``selection``)."""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}}

    def best(self, group: Sequence[Scores], reference: Sequence[Scores] | None = None) -> int:
        """Index of the best member; the first one wins ties."""
        values = self.values(group, reference)
        return max(range(len(values)), key=lambda i: (values[i], -i))


def _column(group: Sequence[Scores], proxy: str) -> np.ndarray:
    if proxy in ENGINE_TERMS:  # outside a search (a bare group of scores) the term is absent: silent
        values = np.array([float(s.get(proxy, 0.0)) for s in group], dtype=float)
    else:
        values = np.array([float(s[proxy]) for s in group], dtype=float)
    return np.where(np.isfinite(values), values, -np.inf)


def fractional_ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks scaled to (0, 1]: the best member gets 1, ties share their mean rank."""
    return stats.rankdata(values, method="average") / len(values)


@dataclass(frozen=True)
class ProxyFitness(Fitness):
    """The raw value of one proxy."""

    proxy: str
    kind: ClassVar[str] = "proxy"

    @property
    def proxies(self) -> tuple[str, ...]:
        return (self.proxy,)

    def values(self, group: Sequence[Scores], reference: Sequence[Scores] | None = None) -> list[float]:
        return [float(v) for v in _column(group, self.proxy)]

    def describe(self) -> str:
        return f"best {self.proxy}"


@dataclass(frozen=True)
class LogRankFusion(Fitness):
    """Σ_p w_p·log(rank_p / N) over the group (AZ-NAS's fusion, with weights).

    The log punishes a candidate that is poor on *any* proxy far more than a plain
    rank sum does, so the winner must be near the top of every ranking: a network
    that is large (LogSynflow) but badly wired (Entropic Score), or well wired but
    small, loses to one that is good on both.
    """

    weights: tuple[tuple[str, float], ...]
    kind: ClassVar[str] = "log_rank"

    def __post_init__(self) -> None:
        if not self.weights:
            raise UsageError("a rank fusion needs at least one proxy")
        for name, weight in self.weights:
            if not (math.isfinite(weight) and weight > 0):
                raise UsageError(f"fusion weight of {name!r} must be a positive number, got {weight}")

    @property
    def proxies(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.weights)

    def values(self, group: Sequence[Scores], reference: Sequence[Scores] | None = None) -> list[float]:
        if not group:
            return []
        total = np.zeros(len(group))
        for name, weight in self.weights:
            total += weight * np.log(fractional_ranks(_column(group, name)))
        return [float(v) for v in total]

    def describe(self) -> str:
        terms = " + ".join(f"{w:g}·log rank({p})" for p, w in self.weights)
        return f"best {terms}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "weights": [[p, w] for p, w in self.weights]}


@dataclass(frozen=True)
class MaxNormalisedSum(Fitness):
    """Σ_p score_p / max_group(score_p): FreeREA's fitness (Cavagnero et al., WACV 2023).

    A proxy whose group maximum is not positive contributes 0 (FreeREA's skip length
    is 0 for every candidate without skip connections).
    """

    terms: tuple[str, ...]
    kind: ClassVar[str] = "max_normalised_sum"

    @property
    def proxies(self) -> tuple[str, ...]:
        return self.terms

    def values(self, group: Sequence[Scores], reference: Sequence[Scores] | None = None) -> list[float]:
        if not group:
            return []
        total = np.zeros(len(group))
        for name in self.terms:
            column = _column(group, name)
            finite = column[np.isfinite(column)]
            top = finite.max() if finite.size else 0.0
            if top > 0:
                total += np.where(np.isfinite(column), column / top, -np.inf)
        return [float(v) for v in total]

    def describe(self) -> str:
        return "best " + " + ".join(f"{p}/max" for p in self.terms)


#: ``signed_log`` = sign(x)·log(1 + |x|): a log for scores spanning orders of magnitude
#: (LogSynflow), monotone and defined for every real score, so no proxy's sign can break it.
TRANSFORMS = ("identity", "signed_log")


def transform(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` through the named transform (:data:`TRANSFORMS`)."""
    return np.sign(values) * np.log1p(np.abs(values)) if name == "signed_log" else values


def untransform(values: np.ndarray, name: str) -> np.ndarray:
    """The inverse of :func:`transform`: a value on the transformed scale back on the proxy's own."""
    return np.sign(values) * np.expm1(np.abs(values)) if name == "signed_log" else values


@dataclass(frozen=True)
class ZScoreSum(Fitness):
    """Σ_p w_p·z_p, z_p the proxy's (optionally signed-log) score standardised over the group.

    Standardising makes proxies of any scale and sign comparable (ES is a sum of
    log-determinants and can be negative; LogSynflow spans orders of magnitude, hence
    a log), and unlike ranks it keeps *how much* better a candidate is, which is
    what separates the few best networks at the top. A proxy that is constant over
    the group (skip length on a space without cells) contributes 0; a non-finite
    score (a dead network) makes the candidate rank last.
    """

    terms: tuple[tuple[str, float, str], ...]
    kind: ClassVar[str] = "z_score_sum"

    def __post_init__(self) -> None:
        if not self.terms:
            raise UsageError("a z-score sum needs at least one proxy")
        for name, weight, transform in self.terms:
            if not (math.isfinite(weight) and weight >= 0):
                raise UsageError(f"weight of {name!r} must be a finite number >= 0, got {weight}")
            if transform not in TRANSFORMS:
                raise UsageError(f"transform of {name!r} must be one of {', '.join(TRANSFORMS)}, got {transform!r}")

    @property
    def proxies(self) -> tuple[str, ...]:
        return tuple(name for name, weight, _ in self.terms if weight > 0 and name not in ENGINE_TERMS)

    @property
    def uses_budget(self) -> bool:
        return any(name == BUDGET_USE and weight > 0 for name, weight, _ in self.terms)

    def values(self, group: Sequence[Scores], reference: Sequence[Scores] | None = None) -> list[float]:
        """Standardised over ``reference`` when given (a random feasible sample estimates the
        feasible set's scale; a search's own history is biased toward its best), else over ``group``.
        Each term is scaled by the reference rows that carry it, so terms that cost nothing to
        compute can be scaled by a larger sample than the scored proxies (search/reference.py)."""
        if not group:
            return []
        total = np.zeros(len(group))
        dead = np.zeros(len(group), dtype=bool)
        for name, weight, transform in self.terms:
            if weight == 0:
                continue
            column = self._transformed(group, name, transform)
            finite = np.isfinite(column)
            dead |= ~finite
            scale = column[finite]
            weights = np.ones(scale.size)
            rows = [r for r in reference or () if name in r]  # a term is scaled by the rows that carry it
            if rows:
                ref = self._transformed(rows, name, transform)
                ok = np.isfinite(ref)
                if ok.sum() > 1 and np.ptp(ref[ok]) > 0:
                    scale = ref[ok]
                    weights = np.array([float(r.get(REFERENCE_WEIGHT, 1.0)) for r in rows])[ok]
            if scale.size > 1 and np.ptp(scale) > 0 and weights.sum() > 0:
                mean = np.average(scale, weights=weights)
                sd = math.sqrt(np.average((scale - mean) ** 2, weights=weights))
                if sd > 0:
                    total += weight * np.where(finite, (column - mean) / sd, 0.0)
        return [float("-inf") if d else float(v) for v, d in zip(total, dead, strict=True)]

    @staticmethod
    def _transformed(group: Sequence[Scores], name: str, kind: str) -> np.ndarray:
        return transform(_column(group, name), kind)

    def describe(self) -> str:
        terms = " + ".join(f"{w:g}·z({'log ' if t == 'signed_log' else ''}{p})" for p, w, t in self.terms if w > 0)
        return f"best {terms}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "terms": [[p, w, t] for p, w, t in self.terms]}


FITNESS_KINDS: dict[str, type[Fitness]] = {
    f.kind: f for f in (ProxyFitness, LogRankFusion, MaxNormalisedSum, ZScoreSum)
}


def fitness_from_json(data: Mapping[str, Any]) -> Fitness:
    kind = data.get("kind")
    if kind == "proxy":
        return ProxyFitness(str(data["proxy"]))
    if kind == "log_rank":
        return LogRankFusion(tuple((str(p), float(w)) for p, w in data["weights"]))
    if kind == "max_normalised_sum":
        return MaxNormalisedSum(tuple(str(p) for p in data["terms"]))
    if kind == "z_score_sum":
        return ZScoreSum(tuple((str(p), float(w), str(t)) for p, w, t in data["terms"]))
    raise UsageError(f"unknown fitness kind {kind!r} (known: {', '.join(FITNESS_KINDS)})")
