"""The few-shot table's regressor: log latency of a block from its features (and a prior table).

A ridge regression on standardised features, fitted with scikit-learn (``RidgeCV`` picks
the penalty by leave-one-out), regressing the *log* of the table's statistic: block
latencies span three orders of magnitude and errors are relative. With a prior table
(another device, host or thread count) the prior's log latency of the same block is one
more feature, so the model learns the map between the two devices and the block
features correct it by kind and shape (LitePred's and HELP's transfer, in its simplest
form). Why ridge and not a tree ensemble: on this machine's tables it was as accurate
as a random forest with a prior and better without one, and its parameters are a few
dozen numbers (docs/latency.md gives the figures).

The fitted model is stored in the table's JSON as plain numbers (never a pickle) and
:meth:`RidgeModel.predict_log` evaluates it with numpy alone, so a reloaded table
reproduces its predicted entries exactly. ``spread_log`` (the spread of a bootstrap
ensemble) says where the model is least sure, which is where the next blocks are timed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hwnas.errors import UsageError

MODEL_KIND = "ridge-log-latency"
PRIOR_FEATURE = "log_prior_ms"
ALPHAS = tuple(10.0**k for k in range(-3, 4))


@dataclass(frozen=True)
class RidgeModel:
    """``log(ms) = ((x - center) / scale) . coef + intercept`` over the named features."""

    features: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    alpha: float
    fitted_on: int
    statistic: str

    def predict_log(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        """Row by row with ``math.fsum``: the same row gives the same bits in any batch, on any BLAS."""
        terms = tuple(zip(self.center, self.scale, self.coef, strict=True))
        out = []
        for row in rows:
            if len(row) != len(terms):
                raise ValueError(f"the model takes {len(terms)} features, got a row of {len(row)}")
            out.append(
                math.fsum((float(x) - c) / s * w for x, (c, s, w) in zip(row, terms, strict=True)) + self.intercept
            )
        return np.asarray(out, dtype=np.float64)

    def predict_ms(self, rows: Sequence[Sequence[float]]) -> list[float]:
        return [float(v) for v in np.exp(self.predict_log(rows))]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": MODEL_KIND,
            "target": f"log {self.statistic}_ms",
            "features": list(self.features),
            "center": list(self.center),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "alpha": self.alpha,
            "fitted_on": self.fitted_on,
            "statistic": self.statistic,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RidgeModel:
        if data.get("kind") != MODEL_KIND:
            raise UsageError(f"unknown latency model kind {data.get('kind')!r} (this hwnas reads {MODEL_KIND})")
        n = len(data["features"])
        center, scale, coef = (tuple(float(v) for v in data[name]) for name in ("center", "scale", "coef"))
        vectors = (center, scale, coef)
        if any(len(v) != n for v in vectors) or not all(math.isfinite(v) for vec in vectors for v in vec):
            raise UsageError("the few-shot model's center, scale and coef must be finite and one per feature")
        return cls(
            tuple(str(f) for f in data["features"]),
            center,
            scale,
            coef,
            intercept=float(data["intercept"]),
            alpha=float(data["alpha"]),
            fitted_on=int(data["fitted_on"]),
            statistic=str(data["statistic"]),
        )


def fit_ridge(
    rows: Sequence[Sequence[float]], log_ms: Sequence[float], features: Sequence[str], statistic: str
) -> RidgeModel:
    """Fit on measured blocks; the penalty is chosen by leave-one-out (RidgeCV's efficient form)."""
    from sklearn.linear_model import RidgeCV

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(log_ms, dtype=np.float64)
    center = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant column (one kind measured so far) carries no information yet
    z = (x - center) / scale
    fit = RidgeCV(alphas=ALPHAS).fit(z, y)
    model = RidgeModel(
        tuple(features),
        tuple(float(v) for v in center),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in fit.coef_),
        float(fit.intercept_),
        float(fit.alpha_),
        len(y),
        statistic,
    )
    return RidgeModel.from_json(model.to_json())  # what is predicted is what the JSON holds


def spread_log(
    rows: Sequence[Sequence[float]],
    log_ms: Sequence[float],
    candidates: Sequence[Sequence[float]],
    *,
    seed: int,
    members: int = 16,
) -> np.ndarray:
    """Standard deviation of log predictions for ``candidates`` over ridge fits on bootstrap resamples."""
    rng = np.random.default_rng(seed)
    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(log_ms, dtype=np.float64)
    preds = []
    for _ in range(members):
        pick = rng.integers(0, len(y), len(y))
        model = fit_ridge(x[pick].tolist(), y[pick].tolist(), [str(i) for i in range(x.shape[1])], "member")
        preds.append(model.predict_log(candidates))
    return np.std(np.stack(preds), axis=0)
