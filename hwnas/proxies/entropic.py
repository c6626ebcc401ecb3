"""Entropic Score (Cavagnero et al., ICCV Workshops 2023, arXiv 2310.04179): hwnas's definition.

The paper's principle: a model's expressivity is the *aggregated element-wise
entropy of its activations*; the score ranks topology well, LogSynflow ranks size.
The exact formula could not be verified, so hwnas implements the candidate
readings of REFERENCE §2 as :class:`EntropicReading` values, compared them on
the NAS-Bench-201 dev set (``scripts/es_readings.py``; table in docs/proxies.md)
and registers the one with the best within-equal-#Params rank correlation as
``es`` (:data:`ES_READING`).

Readings differ in

- ``entropy``: ``gaussian`` — differential entropy of a Gaussian per element,
  H_e = ½·log(2πe·σ_e²), σ_e the element's std over a batch of Gaussian-noise
  inputs; ``binary`` — entropy of the element's firing probability p_e over the
  batch, −p log p − (1−p) log(1−p);
- ``hook``: which activations count — ``post`` (outputs of every activation
  module: ReLU in NB201; ReLU6 and GELU in the hybrid space), ``pre`` (their
  inputs) or ``block`` (the output of every block of the network's top-level
  sequence: stem, cells/blocks, reductions/downsamples; not the classifier);
- ``norm``: ``eval`` (batch norm as built, i.e. with fresh running statistics)
  or ``batch`` (normalising with the batch's statistics, running buffers untouched);
- ``aggregate``: ``mean`` (Σ_layers mean_e H_e) or ``sum`` (Σ_layers Σ_e H_e).

The forward pass runs under ``torch.inference_mode`` (no autograd graph) in float32;
the entropies are averaged in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from hwnas.proxies import PROXIES
from hwnas.proxies.base import ACTIVATIONS, Proxy, ProxyContext, batch_statistics

LOG_2PIE = math.log(2.0 * math.pi * math.e)
VAR_FLOOR = 1e-20  # an element that never varies (a dead node) has entropy ½·log(2πe·1e-20)


@dataclass(frozen=True)
class EntropicReading:
    """One candidate reading of the Entropic Score formula (see the module docstring)."""

    entropy: str = "gaussian"  # gaussian | binary
    hook: str = "post"  # post | pre | block
    norm: str = "batch"  # eval | batch
    aggregate: str = "mean"  # mean | sum
    batch_size: int = 16

    def __post_init__(self) -> None:
        for field, value, allowed in (
            ("entropy", self.entropy, ("gaussian", "binary")),
            ("hook", self.hook, ("post", "pre", "block")),
            ("norm", self.norm, ("eval", "batch")),
            ("aggregate", self.aggregate, ("mean", "sum")),
        ):
            if value not in allowed:
                raise ValueError(f"EntropicReading.{field} must be one of {allowed}, got {value!r}")
        if self.batch_size < 2:
            raise ValueError("an entropy over the batch needs at least 2 inputs")

    @property
    def label(self) -> str:
        return f"{self.entropy}/{self.hook}/{self.norm}/{self.aggregate}/B{self.batch_size}"


#: The reading registered as ``es`` (chosen on the dev data; docs/proxies.md has the evidence).
ES_READING = EntropicReading()


def element_entropy(t: torch.Tensor, entropy: str) -> torch.Tensor:
    """Per-element entropy over the batch (dim 0) of one activation tensor, flattened."""
    x = t.reshape(t.shape[0], -1)
    if entropy == "gaussian":
        var = x.var(dim=0, unbiased=False).double()
        return 0.5 * (LOG_2PIE + torch.log(var.clamp_min(VAR_FLOOR)))
    p = (x > 0).double().mean(dim=0)
    q = 1.0 - p
    return -(torch.xlogy(p, p) + torch.xlogy(q, q))


def _hook_modules(model: nn.Module, hook: str) -> list[nn.Module]:
    if hook == "block":
        children = list(model.children())
        return children[:-1] if len(children) > 1 else children
    return [m for m in model.modules() if isinstance(m, ACTIVATIONS)]


@torch.inference_mode()
def entropic_score(model: nn.Module, inputs: torch.Tensor, reading: EntropicReading = ES_READING) -> float:
    """The Entropic Score of ``model`` on ``inputs`` under ``reading``."""
    total = 0.0

    def record(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        t = args[0] if reading.hook == "pre" else output
        h = element_entropy(t, reading.entropy)
        total += float(h.sum() if reading.aggregate == "sum" else h.mean())

    handles = [m.register_forward_hook(record) for m in _hook_modules(model, reading.hook)]
    try:
        if reading.norm == "batch":
            with batch_statistics(model):
                model(inputs)
        else:
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total


@PROXIES.register("es")
class EntropicScore(Proxy):
    """Entropic Score: aggregated element-wise entropy of the activations over a noise batch
    (reading :data:`ES_READING`)."""

    default_batch_size = ES_READING.batch_size

    def score(self, ctx: ProxyContext) -> float:
        return entropic_score(ctx.model, ctx.gaussian_batch(self.batch_size(ctx)), ES_READING)
