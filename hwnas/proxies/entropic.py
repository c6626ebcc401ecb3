"""Entropic Score (Cavagnero et al., ICCV Workshops 2023, arXiv 2310.04179): hwnas's definition.

The paper's principle: a model's expressivity is the *aggregated element-wise
entropy of its activations*; the score ranks topology well, LogSynflow ranks size.
The exact formula could not be verified, so hwnas implements the candidate
readings of REFERENCE §2 as :class:`EntropicReading` values, compared them on
600 archs of the NAS-Bench-201 dev set (``scripts/es_readings.py``; table in
docs/proxies.md) and registers the one with the best within-equal-#Params rank
correlation as ``es`` (:data:`ES_READING`); readings within 0.005 of the best
count as tied and the cheapest of them wins, since the search scores thousands.

``es`` = Σ over the block outputs of the network of the mean, per channel, of
½·(log 2πe + mean_{i≤k} log(λ_i·k/C + 10⁻³)), λ_1 ≥ … the eigenvalues of R, the
channel correlation of the feature map over its positions, and k = min(C, positions
− 1) the number of them that can be non-zero; one Gaussian-noise input, batch norm
on batch statistics. Where a map has more positions than channels this is
½·log det(2πe·(R + 10⁻³·I)) / C, the reading chosen on 600 NB201 dev archs
(within-#Params Spearman 0.729, overall 0.823; the per-element readings (a) and
(b) stay below 0.15 within groups). Counting only the k possible eigenvalues
(``spectrum="nondegenerate"``) keeps deep hybrid maps, which have fewer positions
than channels at any resolution (7×7 = 49 positions for up to 320 channels at
224), from adding ½·log 10⁻³ per missing eigenvalue, a term that measured channels
beyond positions, i.e. size, not topology: on 60 hybrid archs ES at resolution 64
then ranked like ES at 224 with Spearman −0.28, and now 0.94; on all 3,000 NB201
dev archs the two readings agree at Spearman 0.99999 (docs/proxies.md).

Readings differ in

- ``entropy``:
  ``gaussian`` — reading (a): differential entropy of a Gaussian per element,
  H_e = ½·log(2πe·σ_e²), σ_e the element's std over a batch of Gaussian-noise inputs;
  ``binary`` — reading (b): entropy of the element's firing probability p_e over
  the batch, −p log p − (1−p) log(1−p);
  ``channel`` — a multivariate variant of (a): each spatial element of a feature
  map is a C-dimensional Gaussian vector (its channels); its entropy, with the
  channels standardised, is ½·log det(2πe·R), R the channel correlation matrix
  estimated over the map's positions (per input, or over the whole batch with
  ``samples="pooled"``); log det R ≤ 0 measures how redundant the channels are,
  the multivariate term of the Gaussian entropy. Needs ``hook="block"`` (NCHW maps).
  A map with fewer positions than channels has at most positions − 1 non-zero
  eigenvalues: ``spectrum`` says whether the missing ones count (``full``, each as
  ½·log(10⁻³)) or only the possible ones do, rescaled to average 1
  (``nondegenerate``, the registered reading);
- ``hook``: which activations count — ``post`` (outputs of every activation
  module: ReLU in NB201; ReLU6 and GELU in the hybrid space), ``pre`` (their
  inputs) or ``block`` (the output of every block of the network's top-level
  sequence: stem, cells/blocks, reductions/downsamples; not the classifier);
- ``norm``: ``eval`` (batch norm as built, i.e. with fresh running statistics)
  or ``batch`` (normalising with the batch's statistics, running buffers untouched);
- ``aggregate``: ``mean`` (Σ_layers of the mean entropy per element, per channel
  for ``channel``) or ``sum`` (Σ_layers Σ_elements).

The forward pass runs under ``torch.inference_mode`` (no autograd graph) in float32;
entropies are accumulated in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from hwnas.errors import UsageError
from hwnas.proxies import PROXIES
from hwnas.proxies.base import ACTIVATIONS, Proxy, ProxyContext, hooked_forward

LOG_2PIE = math.log(2.0 * math.pi * math.e)
VAR_FLOOR = 1e-20  # an element that never varies (a dead node) has entropy ½·log(2πe·1e-20)


@dataclass(frozen=True)
class EntropicReading:
    """One candidate reading of the Entropic Score formula (see the module docstring)."""

    entropy: str = "channel"  # gaussian | binary | channel
    hook: str = "block"  # post | pre | block
    norm: str = "batch"  # eval | batch
    aggregate: str = "mean"  # mean | sum
    batch_size: int = 1
    samples: str = "input"  # channel entropy: input (per input, over positions) | pooled (over batch and positions)
    spectrum: str = "full"  # channel entropy: full (log det over all channels) | nondegenerate (see below)

    def __post_init__(self) -> None:
        for field, value, allowed in (
            ("entropy", self.entropy, ("gaussian", "binary", "channel")),
            ("hook", self.hook, ("post", "pre", "block")),
            ("norm", self.norm, ("eval", "batch")),
            ("aggregate", self.aggregate, ("mean", "sum")),
            ("samples", self.samples, ("input", "pooled")),
            ("spectrum", self.spectrum, ("full", "nondegenerate")),
        ):
            if value not in allowed:
                raise ValueError(f"EntropicReading.{field} must be one of {allowed}, got {value!r}")
        if self.entropy == "channel" and self.hook != "block":
            raise ValueError("channel entropy reads NCHW block outputs: use hook='block'")
        if self.entropy != "channel" and self.batch_size < 2:
            raise ValueError("an entropy over the batch needs at least 2 inputs")

    @property
    def label(self) -> str:
        extra = (
            f"/{self.samples}" + ("/nondegenerate" if self.spectrum == "nondegenerate" else "")
            if self.entropy == "channel"
            else ""
        )
        return f"{self.entropy}/{self.hook}/{self.norm}/{self.aggregate}{extra}/B{self.batch_size}"


#: The reading registered as ``es`` (chosen on the dev data; docs/proxies.md has the evidence).
ES_READING = EntropicReading(spectrum="nondegenerate")
RIDGE = 1e-3  # added to the correlation matrix's diagonal: a dead channel counts ½·log(1e-3)


def element_entropy(t: torch.Tensor, entropy: str) -> torch.Tensor:
    """Per-element entropy over the batch (dim 0) of one activation tensor, flattened (float64)."""
    x = t.reshape(t.shape[0], -1)
    if entropy == "gaussian":
        var = x.var(dim=0, unbiased=False).double()
        return 0.5 * (LOG_2PIE + torch.log(var.clamp_min(VAR_FLOOR)))
    p = (x > 0).double().mean(dim=0)
    q = 1.0 - p
    return -(torch.xlogy(p, p) + torch.xlogy(q, q))


def channel_entropy(t: torch.Tensor, *, pooled: bool, spectrum: str = "full") -> tuple[float, int]:
    """(½·log det(2πe·(R + ridge·I)), channels): the Gaussian entropy of a spatial element's
    standardised channel vector, averaged over inputs unless ``pooled``.

    ``spectrum="nondegenerate"``: a map of n positions has at most k = min(C, n − 1)
    non-zero correlation eigenvalues. Only those k count, rescaled by k/C so that they
    average 1 as a full-rank correlation's do, and the result is scaled back to C
    channels: ½·C·(log 2πe + mean_{i≤k} log(λ_i·k/C + ridge)). Where n − 1 ≥ C this
    is the full reading exactly; where positions are fewer than channels it no longer
    adds ½·log(ridge) per missing eigenvalue, a term that counted channels beyond
    positions (a size) instead of how redundant the channels are (a topology).
    """
    b, c = t.shape[0], t.shape[1]
    x = t.reshape(b, c, -1)
    if pooled:
        x = x.transpose(0, 1).reshape(1, c, -1)
    x = x - x.mean(dim=2, keepdim=True)
    cov = (x @ x.transpose(1, 2)).double() / x.shape[2]
    std = cov.diagonal(dim1=1, dim2=2).clamp_min(0).sqrt()
    alive = std > 1e-12 * std.amax(dim=1, keepdim=True).clamp_min(1e-30)
    inv = torch.where(alive, 1.0 / std.clamp_min(1e-300), torch.zeros_like(std))
    corr = cov * inv[:, :, None] * inv[:, None, :]
    k = min(c, x.shape[2] - 1)
    if spectrum == "nondegenerate" and k < c:
        if k < 1:
            raise UsageError("es needs at least 2 positions per feature map: use a larger --resolution")
        eigenvalues = torch.linalg.eigvalsh(corr).flip(-1)[:, :k].clamp_min(0)
        logdet = (torch.log(eigenvalues * (k / c) + RIDGE).mean(dim=1) * c).mean()
        return 0.5 * (c * LOG_2PIE + float(logdet)), c
    corr = corr + torch.diag_embed(RIDGE + torch.zeros_like(std))
    logdet = torch.linalg.slogdet(corr).logabsdet.mean()
    return 0.5 * (c * LOG_2PIE + float(logdet)), c


def _hook_modules(model: nn.Module, hook: str) -> list[nn.Module]:
    if hook == "block":
        children = list(model.children())
        return children[:-1] if len(children) > 1 else [model]
    return [m for m in model.modules() if isinstance(m, ACTIVATIONS)]


@torch.inference_mode()
def entropic_score(model: nn.Module, inputs: torch.Tensor, reading: EntropicReading = ES_READING) -> float:
    """The Entropic Score of ``model`` on ``inputs`` under ``reading``."""
    total = 0.0

    def record(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        t = args[0] if reading.hook == "pre" else output
        if reading.entropy == "channel":
            h, channels = channel_entropy(t, pooled=reading.samples == "pooled", spectrum=reading.spectrum)
            total += h / channels if reading.aggregate == "mean" else h
            return
        e = element_entropy(t, reading.entropy)
        total += float(e.sum() if reading.aggregate == "sum" else e.mean())

    hooked_forward(
        model, inputs, _hook_modules(model, reading.hook), record, proxy="es", statistics=reading.norm == "batch"
    )
    return total


@PROXIES.register("es")
class EntropicScore(Proxy):
    """Entropic Score: aggregated element-wise entropy of the activations over a noise batch
    (reading :data:`ES_READING`)."""

    default_batch_size = ES_READING.batch_size

    def score(self, ctx: ProxyContext) -> float:
        return entropic_score(ctx.model, ctx.gaussian_batch(self.batch_size(ctx)), ES_READING)
