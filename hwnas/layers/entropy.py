"""The Gaussian feature-field algebra SED is computed in: what each layer does to a feature map's
local entropy, with no data and no network (docs/proxies.md gives the derivation in full).

Model. Every feature map is a stationary Gaussian field, summarised per element
by its variance ``v`` and the correlation ``r`` of horizontally (equally,
vertically) adjacent elements, with correlation ``r^|d|`` at lag ``d`` per axis.
The *local entropy* at a position is the entropy of two adjacent elements:

    H_local = log(2πe) + log v + ½·log(1 − r²)

It falls when the variance falls (1-D Gaussian entropy) and when neighbours
become redundant (multivariate term; r → 1 is a feature map degraded to a bias).
Operations act on (v, r) with weights of unit variance:

- k×k convolution over c input channels (after ReLU, E[relu(x)²] = v/2):
  v ← k²·c·v/2, r preserved in expectation (ReLU maps r through the arc-cosine
  kernel). A small kernel gains less entropy than a large one.
- k×k average pooling: v shrinks by the window's variance factor, r grows toward
  1: entropy falls, the more the larger the kernel.
- skip connection: (v, r) unchanged; summed copies of one source add coherently
  (no new information, just a copy), see :func:`mixed_field`.
- a sum node adds the covariances of its inputs: conv outputs are independent
  new sources (fresh random weights), skip / pool copies of the same source are
  correlated and are combined exactly.
- attention at initialisation attends almost uniformly: a pooling over all
  tokens, whose output is spatially constant (r = 1), the extreme decrease;
  LayerNorm resets v to 1.

A dead field (only ``none`` inputs) has no entropy and counts as log v = −30.
The functions here are the shared building blocks (like :mod:`hwnas.layers.blocks`
for the networks); each space composes them into its ``sed_rules``, one per block kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

DEAD_LOG_VAR = -30.0
MAX_R = 1.0 - 1e-9
RELU_SECOND_MOMENT = 0.5  # E[relu(x)^2] / Var(x) for a zero-mean Gaussian


@dataclass(frozen=True)
class Field:
    """A Gaussian feature map: log per-element variance and adjacent-element correlation."""

    log_var: float
    r: float

    @property
    def local_entropy(self) -> float:
        """log v + ½ log(1 − r²): the entropy of two adjacent elements, constants dropped."""
        if self.log_var <= DEAD_LOG_VAR:
            return DEAD_LOG_VAR
        r = min(abs(self.r), MAX_R)
        return self.log_var + 0.5 * math.log1p(-r * r)


#: White, unit-variance input: the field a network's first block receives.
WHITE = Field(0.0, 0.0)


def relu_correlation(r: float) -> float:
    """Correlation of relu(x), relu(y) for standard Gaussians with correlation r (arc-cosine kernel)."""
    r = max(-1.0, min(1.0, r))
    second = (math.sqrt(1.0 - r * r) + (math.pi - math.acos(r)) * r) / (2.0 * math.pi)
    mean_sq = 1.0 / (2.0 * math.pi)
    return (second - mean_sq) / (0.5 - mean_sq)


@lru_cache(maxsize=64)
def _box_power(n: int) -> tuple[float, ...]:
    """The n-fold convolution of the 1-D 3-tap box [1/3, 1/3, 1/3] (support −n..n)."""
    kernel = [1.0]
    for _ in range(n):
        out = [0.0] * (len(kernel) + 2)
        for i, w in enumerate(kernel):
            for j in range(3):
                out[i + j] += w / 3.0
        kernel = out
    return tuple(kernel)


def _smoothed_covs(r: float, n: int) -> tuple[float, float]:
    """Per-axis covariances at lags 0 and 1 between two copies of a unit AR(1) field
    smoothed by 3-tap boxes a and b times, a + b = n (the box is symmetric, so only the
    sum matters)."""
    kernel = _box_power(n)
    g0 = g1 = 0.0
    for u, w in enumerate(kernel):
        d = u - n
        g0 += w * r ** abs(d)
        g1 += w * r ** abs(1 - d)
    return g0, g1


def window_variance_factor(r: float, k: int) -> float:
    """Var(mean of k consecutive elements) / v for a unit AR(1) field, per axis."""
    return sum(r ** abs(i - j) for i in range(k) for j in range(k)) / (k * k)


#: A linear mix of sources: {(source index, times smoothed by 3x3 average pooling): coefficient}.
Mix = dict[tuple[int, int], float]


def mixed_field(node: Mix, sources: list[tuple[float, float]]) -> Field:
    """The field of a linear mix of independent sources, each ``(variance, r)``; copies of one
    source (skips, poolings of it) are correlated and combined exactly."""
    var = cov1 = 0.0
    by_source: dict[int, list[tuple[int, float]]] = {}
    for (s, p), c in node.items():
        by_source.setdefault(s, []).append((p, c))
    for s, terms in by_source.items():
        v, r = sources[s]
        if len(terms) == 1 and terms[0][0] == 0:  # the common case: one unsmoothed copy
            c = terms[0][1]
            var += v * c * c
            cov1 += v * c * c * r
            continue
        covs: dict[int, tuple[float, float]] = {}
        for pa, ca in terms:
            for pb, cb in terms:
                n = pa + pb
                if n not in covs:
                    covs[n] = _smoothed_covs(r, n)
                g0, g1 = covs[n]
                var += v * ca * cb * g0 * g0
                cov1 += v * ca * cb * g1 * g0
    if var <= 1e-300:
        return Field(DEAD_LOG_VAR, 0.0)
    return Field(math.log(var), cov1 / var)


def shift(field: Field, log_scale: float) -> Field:
    """The field scaled in variance by exp(log_scale) (a dead field stays dead)."""
    return Field(field.log_var + log_scale, field.r) if field.log_var > DEAD_LOG_VAR else field


def add_independent(a: Field, b: Field) -> Field:
    """Sum of two uncorrelated fields (a residual branch with fresh random weights is
    uncorrelated with its input)."""
    if b.log_var <= DEAD_LOG_VAR:
        return a
    if a.log_var <= DEAD_LOG_VAR:
        return b
    top = max(a.log_var, b.log_var)
    wa, wb = math.exp(a.log_var - top), math.exp(b.log_var - top)
    return Field(top + math.log(wa + wb), (wa * a.r + wb * b.r) / (wa + wb))


def conv(field: Field, fan_in: int, *, relu_before: bool = False, stride: int = 1) -> Field:
    """A convolution with ``fan_in`` inputs per output (k²·c; k² for a depthwise one)."""
    if field.log_var <= DEAD_LOG_VAR:
        return field
    r = relu_correlation(field.r) if relu_before else field.r
    gain = fan_in * (RELU_SECOND_MOMENT if relu_before else 1.0)
    return Field(field.log_var + math.log(gain), r**stride)


def avg_pool(field: Field, k: int, stride: int) -> Field:
    """k×k average pooling with stride 1 or non-overlapping windows (stride = k)."""
    factor = window_variance_factor(field.r, k)
    if stride == 1:
        cov1 = sum(field.r ** abs(i - j + 1) for i in range(k) for j in range(k)) / (k * k)
    else:  # non-overlapping windows k = stride apart
        cov1 = sum(field.r ** abs(i - j + stride) for i in range(k) for j in range(k)) / (k * k)
    return Field(field.log_var + 2.0 * math.log(factor), min(cov1 / factor, MAX_R))


def attention_pool(field: Field, tokens_per_side: int) -> Field:
    """Near-uniform attention at initialisation: every token gets the mean of all tokens."""
    factor = window_variance_factor(field.r, tokens_per_side)
    return Field(field.log_var + 2.0 * math.log(factor), MAX_R)


# ---- the blocks of hwnas.layers.blocks (each with its residual) ------------------------
def _ibn_branch(x: Field, c: int, k: int, e: int) -> Field:
    h = conv(x, c)  # 1x1 expand
    h = conv(h, k * k, relu_before=True)  # depthwise kxk after ReLU6
    return conv(h, c * e, relu_before=True)  # 1x1 project after ReLU6


def _mlp_branch(x: Field, c: int, e: int) -> Field:
    h = Field(0.0, x.r)  # LayerNorm: unit variance per token (so a ConvNeXt kernel's gain is normalised away)
    h = conv(h, c)
    return conv(h, c * e, relu_before=True)  # GELU, counted like a ReLU


def inverted_bottleneck(x: Field, c: int, k: int, e: int) -> Field:
    """:class:`~hwnas.layers.blocks.InvertedBottleneck`: 1x1 expand, depthwise kxk, 1x1 project, residual."""
    return add_independent(x, _ibn_branch(x, c, k, e))


def mlp(x: Field, c: int, e: int) -> Field:
    """:class:`~hwnas.layers.blocks.MLP`: LayerNorm, expand, GELU, project, residual."""
    return add_independent(x, _mlp_branch(x, c, e))


def convnext(x: Field, c: int, k: int, e: int) -> Field:
    """:class:`~hwnas.layers.blocks.ConvNeXtBlock`: depthwise kxk, then LayerNorm and the MLP, residual."""
    return add_independent(x, _mlp_branch(conv(x, k * k), c, e))


def self_attention(x: Field, c: int, side: int, qkv_dim: int) -> Field:
    """:class:`~hwnas.layers.blocks.SelfAttention` on a ``side``×``side`` token grid, residual."""
    return add_independent(x, conv(attention_pool(conv(Field(0.0, x.r), c), side), qkv_dim))


def transformer_encoder(x: Field, c: int, side: int, qkv_dim: int, ffn: str, k: int, e: int) -> Field:
    """:class:`~hwnas.layers.blocks.TransformerEncoder`: attention, then an MLP, IBN or ConvNeXt feed-forward."""
    x = self_attention(x, c, side, qkv_dim)
    if ffn == "ibn":
        return inverted_bottleneck(x, c, k, e)
    if ffn == "convnext":
        return convnext(x, c, k, e)
    return mlp(x, c, e)
