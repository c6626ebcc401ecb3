"""SWAP (Peng et al., ICLR 2024): how many distinct sample-wise activation patterns a network has.

For a batch of B inputs, every unit u of every hooked activation gets a binary
*sample-wise* pattern p_u ∈ {0, 1}^B, bit i = 1 where the unit fires (its input
is > 0) on input i. SWAP = |{p_u}|, the number of distinct patterns over all units,
as the authors' code computes it (``torch.unique`` over the rows of the
units × samples sign matrix). It counts how many different ways the network can
split the batch: at most min(units, 2^B). NASWOT looks at the transposed matrix
(one pattern per input, bounded by B); SWAP's per-unit patterns have a far higher
ceiling, hence the paper's "higher resolution".

- Hooked activations: every ReLU-family module (``hwnas.proxies.base.ACTIVATIONS``),
  every element of its input a unit; the code is input > 0, which for ReLU is the
  sign of the output the authors read and for GELU and SiLU the sign of theirs (the
  authors' later SWAP_Universal code hooks GELU and SiLU too; the ICLR code, for
  ReLU-only spaces, hooks ReLU). So the hybrid space's ReLU6 bottlenecks and the
  GELU of its Transformer and ConvNeXt MLPs all count.
- Batch 16 (the authors' ``--input_samples``); a smaller ``--batch-size`` is raised to
  16: B inputs allow at most 2^B patterns, and below 16 many networks of both spaces
  reach that ceiling (at batch 10 the conformance networks all score 1024), so the
  count stops telling them apart.
- Images of ``--data`` when given (the paper scores real images), otherwise seeded
  Gaussian noise. On noise every position of the input is independent, a unit's
  pattern is close to a fair coin per input, and large networks run into the 2^16
  ceiling: SWAP then mostly counts distinct units. Measured on NB201 dev archs
  (seed 0, CIFAR-10 test accuracy): Spearman 0.718 on noise for the first 200
  (#Params 0.751); on 50 others, 0.65 on noise against 0.78 on the 200 scikit-learn
  digits (8×8, resized), so prefer ``--data`` for SWAP.
- Batch norm normalises with the batch's statistics (the authors score networks in
  train mode); running buffers are untouched.
- One draw of weights and inputs (the authors average 32 re-initialisations; the
  seed gives the repeatability here).

The paper's regularised score, SWAP·exp(−(Θ − μ)²/σ) with Θ the parameter count and
μ, σ the model-size target the search is steered to (in the unit of Θ), is
:func:`regularised_swap`; it is not registered, since μ and σ are a search setting,
not a property of the architecture.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hwnas.proxies import PROXIES
from hwnas.proxies.base import ACTIVATIONS, Proxy, ProxyContext, hooked_forward

BITS_PER_KEY = 52  # a float64 holds every integer below 2^53 exactly
FLOAT32_BITS = 24  # ... and a float32 every integer below 2^24, at half the memory traffic
BITMAP_MAX_BITS = 20  # up to 2^20 possible patterns: count them in a bitmap instead of sorting
MIN_BATCH = 16  # the authors' batch; with fewer inputs many networks reach the 2^B ceiling


def _pattern_keys(codes: torch.Tensor) -> torch.Tensor:
    """(units, ceil(B/52)) int64 keys, one row per unit, packing its B-bit pattern (``codes`` is a
    B × units boolean matrix); the packing is a matrix product with powers of two."""
    keys = []
    for start in range(0, codes.shape[0], BITS_PER_KEY):
        chunk = codes[start : start + BITS_PER_KEY]
        dtype = torch.float32 if chunk.shape[0] <= FLOAT32_BITS else torch.float64
        weights = torch.pow(2.0, torch.arange(chunk.shape[0], dtype=dtype))
        keys.append((weights @ chunk.to(dtype)).to(torch.int64))
    return torch.stack(keys, dim=1)


def count_distinct_patterns(keys: torch.Tensor, batch: int) -> int:
    """Number of distinct rows of ``keys`` (from :func:`_pattern_keys`, for a batch of ``batch``)."""
    if keys.shape[1] == 1 and batch <= BITMAP_MAX_BITS:
        seen = torch.zeros(2**batch, dtype=torch.bool)
        seen[keys[:, 0]] = True
        return int(seen.sum())
    if keys.shape[1] == 1:
        return int(torch.unique(keys[:, 0]).numel())
    return int(torch.unique(keys, dim=0).shape[0])


@torch.inference_mode()
def swap_score(model: nn.Module, inputs: torch.Tensor) -> float:
    """SWAP: the number of distinct sample-wise firing patterns over every hooked unit."""
    batch = inputs.shape[0]
    keys: list[torch.Tensor] = []

    def record(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        keys.append(_pattern_keys(args[0].reshape(batch, -1) > 0))

    hooked_forward(model, inputs, (m for m in model.modules() if isinstance(m, ACTIVATIONS)), record, proxy="swap")
    if not keys:
        return 0.0
    return float(count_distinct_patterns(torch.cat(keys), batch))


def regularised_swap(swap: float, params: float, mu: float, sigma: float) -> float:
    """The paper's regularised SWAP: ``swap · exp(−(params − mu)² / sigma)`` (μ, σ in the unit of
    ``params``; the authors count parameters in thousands)."""
    return swap * math.exp(-((params - mu) ** 2) / sigma)


@PROXIES.register("swap")
class Swap(Proxy):
    """SWAP: number of distinct sample-wise activation patterns of the units over a batch
    (default 16; ``--data`` images when given, else Gaussian noise; batch norm on batch statistics)."""

    default_batch_size = MIN_BATCH

    def score(self, ctx: ProxyContext) -> float:
        images, _ = ctx.labelled_batch(max(MIN_BATCH, self.batch_size(ctx)))
        return swap_score(ctx.model, images)
