"""SED, Suppression of Local Entropy Decrease (after Wu, Huang, Xu, Hao, arXiv 2411.06236):
hwnas's derivation, computed from the architecture description alone.

The paper's stated principle: some topology choices decrease the *local entropy*
of feature maps, degrading features toward a bias (large pooling kernels, small
convolution kernels, excessive skip connections); a good architecture suppresses
that decrease. Its exact formula was not available, so this module derives one
from that principle with 1-D and multivariate Gaussian entropy (docs/proxies.md
gives the derivation in full; the measured correlations are reported there too).

Model. Every feature map is a stationary Gaussian field, summarised per element
by its variance ``v`` and the correlation ``r`` of horizontally (equally,
vertically) adjacent elements, with correlation ``r^|d|`` at lag ``d`` per axis.
The *local entropy* at a position is the entropy of two adjacent elements:

    H_local = log(2πe) + log v + ½·log(1 − r²)

It falls when the variance falls (1-D Gaussian entropy) and when neighbours
become redundant (multivariate term; r → 1 is a feature map degraded to a bias).
Operations act on (v, r) with weights of unit variance, no data and no run:

- k×k convolution over c input channels (after ReLU, E[relu(x)²] = v/2):
  v ← k²·c·v/2, r preserved in expectation (ReLU maps r through the arc-cosine
  kernel). A small kernel gains less entropy than a large one.
- k×k average pooling: v shrinks by the window's variance factor, r grows toward
  1: entropy falls, the more the larger the kernel.
- skip connection: (v, r) unchanged, so a node fed mostly by skips gains nothing
  while its conv siblings gain log(k²c/2); summed skips of one source add
  coherently (no new information, just a copy).
- a sum node adds the covariances of its inputs: conv outputs are independent
  new sources (fresh random weights), skip / pool copies of the same source are
  correlated and are combined exactly.
- attention at initialisation attends almost uniformly: a pooling over all
  tokens, whose output is spatially constant (r = 1), the extreme decrease;
  LayerNorm resets v to 1.

SED = Σ over the feature maps a block hands to the next (stem, every cell and
reduction output in NB201, every block output in the hybrid space) of their local
entropy (constants dropped).
A dead node (only ``none`` inputs) has no entropy and counts as log v = −30.
Cost: tens of microseconds per NB201 architecture; it never builds a network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hwnas.errors import UsageError
from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext
from hwnas.spaces.base import BlockSpec, SearchSpace

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


def _window_variance_factor(r: float, k: int) -> float:
    """Var(mean of k consecutive elements) / v for a unit AR(1) field, per axis."""
    return sum(r ** abs(i - j) for i in range(k) for j in range(k)) / (k * k)


# ---- NAS-Bench-201: cells as DAGs of sources --------------------------------------------
_EDGE_SOURCES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


def _nb201_cell(ops: Sequence[str], inp: Field, channels: int) -> Field:
    """The field of a cell's output node (variance relative to ``inp``); every node is a
    linear mix of independent sources (the cell input and each conv's output), each
    smoothed p times by 3x3 average pooling."""
    # a source: (variance relative to the input, r); a node: {(source, pools): coefficient}
    sources: list[tuple[float, float]] = [(1.0, inp.r)]
    nodes: list[dict[tuple[int, int], float]] = [{(0, 0): 1.0}]
    fields: list[Field] = [Field(0.0, inp.r)]
    for target in (1, 2, 3):
        node: dict[tuple[int, int], float] = {}
        for (to, frm), op in zip(_EDGE_SOURCES, ops):
            if to != target or op == "none":
                continue
            parent = nodes[frm]
            if op == "skip_connect":
                terms = parent.items()
            elif op == "avg_pool_3x3":
                terms = (((s, p + 1), c) for (s, p), c in parent.items())
            else:  # nor_conv_kxk: ReLU -> conv -> BN (identity at initialisation)
                k = 3 if op == "nor_conv_3x3" else 1
                pf = fields[frm]
                if pf.log_var <= DEAD_LOG_VAR:
                    continue
                sources.append((math.exp(pf.log_var) * k * k * channels * RELU_SECOND_MOMENT, relu_correlation(pf.r)))
                terms = (((len(sources) - 1, 0), 1.0),)
            for key, c in terms:
                node[key] = node.get(key, 0.0) + c
        nodes.append(node)
        fields.append(_node_field(node, sources))
    return fields[3]


def _node_field(node: dict[tuple[int, int], float], sources: list[tuple[float, float]]) -> Field:
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


def _shift(field: Field, log_scale: float) -> Field:
    return Field(field.log_var + log_scale, field.r) if field.log_var > DEAD_LOG_VAR else field


def _add_independent(a: Field, b: Field) -> Field:
    """Sum of two uncorrelated fields (a residual branch with fresh random weights is
    uncorrelated with its input)."""
    if b.log_var <= DEAD_LOG_VAR:
        return a
    if a.log_var <= DEAD_LOG_VAR:
        return b
    top = max(a.log_var, b.log_var)
    wa, wb = math.exp(a.log_var - top), math.exp(b.log_var - top)
    return Field(top + math.log(wa + wb), (wa * a.r + wb * b.r) / (wa + wb))


def _conv(field: Field, fan_in: int, *, relu_before: bool = False, stride: int = 1) -> Field:
    if field.log_var <= DEAD_LOG_VAR:
        return field
    r = relu_correlation(field.r) if relu_before else field.r
    gain = fan_in * (RELU_SECOND_MOMENT if relu_before else 1.0)
    return Field(field.log_var + math.log(gain), r**stride)


def _avg_pool(field: Field, k: int, stride: int) -> Field:
    factor = _window_variance_factor(field.r, k)
    if stride == 1:
        cov1 = sum(field.r ** abs(i - j + 1) for i in range(k) for j in range(k)) / (k * k)
    else:  # non-overlapping windows k = stride apart
        cov1 = sum(field.r ** abs(i - j + stride) for i in range(k) for j in range(k)) / (k * k)
    return Field(field.log_var + 2.0 * math.log(factor), min(cov1 / factor, MAX_R))


def nb201_sed(blocks: Sequence[BlockSpec]) -> float:
    field = Field(0.0, 0.0)  # white, unit-variance input
    total = 0.0
    for spec in blocks:
        cfg = spec.config_dict()
        c_in = spec.input_shape[1]
        if spec.kind == "stem":
            field = _conv(field, 9 * c_in)
            total += field.local_entropy
        elif spec.kind == "cell":
            field = _shift(_nb201_cell(tuple(cfg["ops"]), field, c_in), field.log_var)
            total += field.local_entropy
        elif spec.kind == "reduction":
            c_out = cfg["c_out"]
            branch = _conv(_conv(field, 9 * c_in, relu_before=True, stride=2), 9 * c_out, relu_before=True)
            shortcut = _conv(_avg_pool(field, 2, 2), c_in)
            field = _add_independent(branch, shortcut)
            total += field.local_entropy
    return total


# ---- hybrid: residual blocks on a (v, r) field -------------------------------------------
def _attention_pool(field: Field, tokens_per_side: int) -> Field:
    """Near-uniform attention at initialisation: every token gets the mean of all tokens."""
    factor = _window_variance_factor(field.r, tokens_per_side)
    return Field(field.log_var + 2.0 * math.log(factor), MAX_R)


def _ibn(x: Field, c: int, k: int, e: int) -> Field:
    h = _conv(x, c)  # 1x1 expand
    h = _conv(h, k * k, relu_before=True)  # depthwise kxk after ReLU6
    return _conv(h, c * e, relu_before=True)  # 1x1 project after ReLU6


def _mlp(x: Field, c: int, e: int) -> Field:
    h = Field(0.0, x.r)  # LayerNorm: unit variance per token (so a ConvNeXt kernel's gain is normalised away)
    h = _conv(h, c)
    return _conv(h, c * e, relu_before=True)  # GELU, counted like a ReLU


def _convnext(x: Field, c: int, k: int, e: int) -> Field:
    return _mlp(_conv(x, k * k), c, e)  # depthwise kxk, then LayerNorm and the MLP


def hybrid_sed(blocks: Sequence[BlockSpec]) -> float:
    field = Field(0.0, 0.0)
    total = 0.0
    for spec in blocks:
        cfg = spec.config_dict()
        c = spec.input_shape[1]
        side = spec.input_shape[-1]
        if spec.kind == "stem":
            field = _conv(field, 16 * c, stride=4)
        elif spec.kind == "downsample":
            field = _conv(field, 4 * c, stride=2)
        elif spec.kind == "ibn":
            field = _add_independent(field, _ibn(field, c, cfg["kernel"], cfg["expansion"]))
        elif spec.kind == "convnext":
            field = _add_independent(field, _convnext(field, c, cfg["kernel"], cfg["expansion"]))
        elif spec.kind == "transformer":
            attn = _conv(_attention_pool(_conv(Field(0.0, field.r), c), side), cfg["qkv_dim"])
            field = _add_independent(field, attn)
            k = cfg["kernel"] or 3
            if cfg["ffn"] == "ibn":
                branch = _ibn(field, c, k, cfg["expansion"])
            elif cfg["ffn"] == "convnext":
                branch = _convnext(field, c, k, cfg["expansion"])
            else:
                branch = _mlp(field, c, cfg["expansion"])
            field = _add_independent(field, branch)
        else:  # head: global pooling and a classifier, the same for every topology
            continue
        total += field.local_entropy
    return total


SED_BY_SPACE = {"nb201": nb201_sed, "hybrid": hybrid_sed}


def sed_score(space: SearchSpace[Any], arch: Any, resolution: int | None = None) -> float:
    """SED of ``arch`` from its block list alone (no network is built or run)."""
    try:
        rule = SED_BY_SPACE[space.name]
    except KeyError:
        raise UsageError(f"sed has no derivation for the {space.name!r} space (known: {', '.join(SED_BY_SPACE)})") from None
    return rule(space.blocks(arch, resolution))


@PROXIES.register("sed")
class Sed(Proxy):
    """SED: summed Gaussian local entropy of every node, from the architecture description alone."""

    needs_network = False
    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        return sed_score(ctx.space, ctx.arch, ctx.res)
