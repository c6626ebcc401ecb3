"""AZ-NAS (Lee & Ham, CVPR 2024): four training-free views of a network from one forward/backward pass.

On a Gaussian-noise batch, with the features f_0 … f_L of the network's blocks (the
output of every block of its top-level sequence, the blocks ``es`` hooks: stem,
cells/blocks, reductions/downsamples, not the classifier):

- **expressivity** s_E = Σ_l H_l, H_l the entropy of the normalised eigenvalue
  spectrum of f_l's channel covariance, estimated over batch × positions: how evenly
  a block spreads its features over the directions it has (log C_l at most);
- **progressivity** s_P = min_l (H_l − H_{l−1}): a good network gains expressivity
  at every step, so the smallest gain is what counts;
- **trainability** s_T = mean over consecutive pairs (l−1, l) of 2 − σ_l − 1/σ_l, σ_l
  the spectral norm of E_positions[g_{l−1} g_lᵀ], where g_l is a random ±1 gradient
  at f_l and g_{l−1} = J_lᵀ g_l the gradient it sends back to f_{l−1} (a stride-2
  block's input gradient is pixel-unshuffled to the output's resolution first). The
  term peaks at 0 for σ = 1, a block that neither amplifies nor damps gradients;
- **complexity** s_C = FLOPs of one input (counted during the same forward pass,
  as the ``flops`` proxy counts them).

This follows the authors' public code (``NB201/ZeroShotProxy/compute_az_nas_score.py``)
except where it returns −inf: a block whose output is exactly its input (an NB201
cell reduced to one skip edge) gets the score of a block that passes no gradient
(σ = 0, guarded by 10⁻⁶ as there, 2 − 10⁶), and a dead feature map (all zero) has
entropy 0; so every component is finite.

The paper ranks by fusing the components *across the candidates*: Σ_k log(rank_k / N)
(:func:`az_nas_rank_fusion`, for a caller that has scored a population with
:func:`az_nas_components`). A proxy here sees one architecture at a time, so the
registered ``az_nas`` is a per-architecture sum of the four on a common, scale-free
footing, each an increasing function of its component so that it agrees with the
fusion on which direction is better:

    az_nas = s_E + s_P − log(1 − s_T) + log(s_C)

s_E and s_P are entropies (nats), −log(1 − s_T) ≤ 0 is the trainability penalty in
log units (0 when every block has σ = 1, about −14 when every block is dead), and
log FLOPs is size in log units. All are dimensionless: none depends on the scale of
the activations, and the unit of FLOPs only shifts the sum, hence "scale-free". The
weights are all 1, as the fusion weighs the components equally; in nats, though, the
expressivity sum (one entropy per block) has the widest spread, so ``az_nas`` leans
on it more than the fusion does. The form was fixed from these units before the
check below (on 50 other dev archs it gave 0.85 where the fusion gave 0.87).

On the first 200 NB201 dev archs (seed 0, CIFAR-10 test accuracy) ``az_nas`` reaches
Spearman 0.838 (Kendall 0.646) and the rank fusion of the same components over those
200 reaches 0.858 (Kendall 0.666); the components alone: s_E 0.766, s_P 0.709,
s_T 0.492, s_C 0.751 (#Params 0.751).

Batch 4 by default (the authors use 64 on a GPU; on 50 dev archs the fusion gave
0.83 / 0.85 / 0.87 at batch 1 / 2 / 4, at a fraction of batch 64's cost); batch norm
on batch statistics, as the authors score networks in train mode. Gradients come
from ``torch.autograd.grad`` with respect to the features only, so no ``.grad`` is
left on the network.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from hwnas.counting import MultiplyAddCounter
from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext, batch_statistics
from hwnas.proxies.entropic import _hook_modules

COMPONENTS = ("expressivity", "progressivity", "trainability", "complexity")
SIGMA_FLOOR = 1e-6  # the authors' guard in 1/σ


def spectrum_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the channel covariance of an NCHW map,
    over batch × positions (0 for a map that never varies)."""
    c = feature.shape[1]
    x = feature.detach().permute(0, 2, 3, 1).reshape(-1, c).double()
    x = x - x.mean(dim=0, keepdim=True)
    eig = torch.linalg.eigvalsh(x.T @ x / x.shape[0]).clamp_min(0)
    total = eig.sum()
    if total <= 0:
        return 0.0
    p = eig / total
    return float(-torch.xlogy(p, p).sum())


def gradient_gain(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """σ: spectral norm of the positions-averaged outer product of the input and output gradients
    of a block (``g_in`` pixel-unshuffled to ``g_out``'s resolution when the block has a stride)."""
    if g_in.shape[2] != g_out.shape[2]:
        g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    a = g_in.permute(0, 2, 3, 1).reshape(-1, g_in.shape[1]).double()
    b = g_out.permute(0, 2, 3, 1).reshape(-1, g_out.shape[1]).double()
    return float(torch.linalg.matrix_norm(a.T @ b / a.shape[0], ord=2))


def az_nas_components(model: nn.Module, inputs: torch.Tensor, generator: torch.Generator) -> dict[str, float]:
    """The four AZ-NAS scores of ``model`` on ``inputs`` (keys :data:`COMPONENTS`); ``generator``
    draws the random ±1 output gradients of the trainability score."""
    features: list[torch.Tensor] = []

    def record(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4:
            features.append(output)

    handles = [m.register_forward_hook(record) for m in _hook_modules(model, "block")]
    counter = MultiplyAddCounter()
    try:
        with torch.enable_grad(), batch_statistics(model), counter:
            model(inputs.detach().requires_grad_())  # a graph even where the weights are frozen
    finally:
        for handle in handles:
            handle.remove()

    entropies = [spectrum_entropy(f) for f in features]
    steps = [b - a for a, b in itertools.pairwise(entropies)]

    pair_scores = []
    for i in reversed(range(1, len(features))):  # back to front: each backward frees its block's graph
        f_out, f_in = features[i], features[i - 1]
        g_out = torch.randint(0, 2, f_out.shape, generator=generator).to(f_out.dtype).mul_(2).sub_(1)
        g_in = None
        if f_out.requires_grad and f_in.requires_grad:  # else no path between them: a dead block
            (g_in,) = torch.autograd.grad(f_out, f_in, g_out, allow_unused=True)
        identity = g_in is not None and g_in.shape == g_out.shape and torch.equal(g_in, g_out)
        sigma = 0.0 if g_in is None or identity else gradient_gain(g_in, g_out)
        pair_scores.append(2.0 - sigma - 1.0 / max(sigma, SIGMA_FLOOR))

    return {
        "expressivity": float(sum(entropies)),
        "progressivity": float(min(steps)) if steps else 0.0,
        "trainability": float(np.mean(pair_scores)) if pair_scores else 0.0,
        "complexity": float(counter.flops / inputs.shape[0]),
    }


def az_nas_combined(components: Mapping[str, float]) -> float:
    """The registered single-architecture ``az_nas`` (module docstring): s_E + s_P − log(1 − s_T) + log s_C."""
    return (
        components["expressivity"]
        + components["progressivity"]
        - math.log1p(-components["trainability"])
        + math.log(max(components["complexity"], 1.0))
    )


def az_nas_rank_fusion(population: Sequence[Mapping[str, float]]) -> np.ndarray:
    """The paper's ranking of a population: Σ over the components of log(rank / N), ranks
    ascending (average ranks for ties), one value per architecture, higher is better."""
    n = len(population)
    total = np.zeros(n)
    for key in COMPONENTS:
        total += np.log(stats.rankdata([c[key] for c in population]) / n)
    return total


@PROXIES.register("az_nas")
class AzNas(Proxy):
    """AZ-NAS for one architecture: s_E + s_P − log(1 − s_T) + log FLOPs (expressivity,
    progressivity, trainability, complexity; Gaussian-noise batch, default 4)."""

    default_batch_size = 4

    def score(self, ctx: ProxyContext) -> float:
        components = az_nas_components(ctx.model, ctx.gaussian_batch(self.batch_size(ctx)), ctx.generator(1))
        return az_nas_combined(components)
