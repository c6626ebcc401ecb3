"""MeCo (Jiang, Wang & Bie, NeurIPS 2023): the minimum eigenvalue of each layer's channel correlation.

MeCo = Σ over the layers l of λ_min(P(f_l(x))), where f_l(x) is layer l's feature map
for ONE random input x and P its Pearson correlation matrix across channels (C×C,
each channel a variable observed at the map's positions). The paper ties λ_min of
that matrix to the convergence rate and generalisation of an over-parameterised
network: channels that are near-linear copies of each other (λ_min → 0) slow
training. One forward pass, no labels, no gradients.

hwnas follows the authors' public code where the paper leaves details open:

- *layers* are every module call whose output is a feature map, containers included
  (a cell, a ``Sequential``, the identity of a skip edge), as the authors hook every
  module of the network; a map handed on unchanged by several modules counts once
  per module, as there. Logits and pooled vectors are not maps and add nothing
  (the authors' code gives them 0);
- NCHW outputs are read with channels on axis 1. Outputs of ``nn.Linear`` and
  ``nn.LayerNorm`` (and of any shape-preserving module, such as GELU, applied to
  them) are channels-last, as in the hybrid space's ConvNeXt and Transformer MLPs
  and the tokens inside attention: their channels are the last axis and every
  other non-batch axis is a position;
- a channel that never varies (a ``none`` edge, a dead unit) has no correlation:
  its row and column are 0, as the authors set NaNs to 0, so λ_min = 0. A map with
  no more positions than channels has a rank-deficient correlation matrix, λ_min = 0
  exactly (computed without the eigensolver); rounding negatives are clamped to 0,
  so each layer adds a value in [0, 1];
- batch norm normalises with the batch's statistics (the authors score networks in
  train mode); the input is seeded Gaussian noise of batch 1 (the paper's "one
  random data"). With a larger ``--batch-size`` the score is the mean over the
  inputs of each input's MeCo (batch norm then sees the whole batch).

Weighting each λ_min by the layer's number of channels is not in the paper (Eq. 12)
nor in the authors' code, so the plain sum is registered; ``meco_layer_values``
returns the channel counts too, for a caller who wants that variant. Eigenvalues
in float64; a map is solved once however many modules hand it on, and a batch norm
output reuses its input's value (a per-channel affine map leaves the correlation's
eigenvalues as they are), which the tests check against a direct transcription of
the authors' procedure.

On the first 200 NB201 dev archs (seed 0, CIFAR-10 test accuracy): Spearman 0.873,
Kendall 0.687, 0.677 within groups of equal #Params (#Params: 0.751); the
channel-weighted variant 0.883.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn

from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext, hooked_forward

#: Modules whose outputs are channels-last (they act on the last axis). Exact types:
#: a subclass may permute back (``hwnas.layers.blocks.ChannelLayerNorm`` returns NCHW).
CHANNELS_LAST: tuple[type[nn.Module], ...] = (nn.Linear, nn.LayerNorm)
_BATCH_NORM = nn.modules.batchnorm._BatchNorm


def channel_correlation(maps: torch.Tensor) -> torch.Tensor | None:
    """Pearson correlation across channels of each input, (batch, C, C) in float64, from ``maps``
    of shape (batch, channels, positions); a channel that never varies gets a zero row and column.
    None when there are no more positions than channels: the centred data then has rank
    ≤ positions − 1 < channels, so the matrix is singular and λ_min = 0 without solving."""
    _, c, p = maps.shape
    if p <= c:
        return None
    x = maps.double()
    x = x - x.mean(dim=2, keepdim=True)
    cov = x @ x.transpose(1, 2)
    std = cov.diagonal(dim1=1, dim2=2).clamp_min(0).sqrt()
    alive = std > 1e-12 * std.amax(dim=1, keepdim=True)
    inv = torch.where(alive, 1.0 / std.clamp_min(1e-300), torch.zeros_like(std))
    return cov * inv[:, :, None] * inv[:, None, :]


def min_eigenvalues(matrices: list[torch.Tensor]) -> list[float]:
    """Mean over the batch of λ_min (clamped to [0, 1]) of each (batch, C, C) correlation stack,
    solving all stacks of one size in one batched call."""
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, m in enumerate(matrices):
        by_size.setdefault(tuple(m.shape), []).append(i)
    result = [0.0] * len(matrices)
    for indices in by_size.values():
        lowest = torch.linalg.eigvalsh(torch.stack([matrices[i] for i in indices]))[..., 0]
        for i, value in zip(indices, lowest.clamp(0.0, 1.0).mean(dim=1).tolist(), strict=True):
            result[i] = value
    return result


@torch.inference_mode()
def meco_layer_values(model: nn.Module, inputs: torch.Tensor) -> list[tuple[float, int]]:
    """(mean over the inputs of λ_min, channels) for every feature map the forward pass makes,
    in call order (the module docstring says which outputs count and how they are read)."""
    batch = inputs.shape[0]
    layers: list[tuple[int, int]] = []  # (index into correlations, channels) per layer, in call order
    correlations: list[torch.Tensor | None] = []
    known: dict[int, tuple[weakref.ref[torch.Tensor], int, bool]] = {}  # id -> (tensor, index, channels-last)

    def lookup(t: object) -> tuple[int, bool] | None:
        entry = known.get(id(t))
        if entry is None or entry[0]() is not t:  # never seen, or a freed tensor's id reused
            return None
        return entry[1], entry[2]

    def record(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        if not isinstance(output, torch.Tensor) or output.dim() < 3 or output.shape[0] != batch:
            return
        entry = lookup(output)
        source = lookup(args[0]) if args and isinstance(args[0], torch.Tensor) else None
        if entry is None and source is not None and isinstance(module, _BATCH_NORM) and not source[1]:
            entry = source  # a per-channel affine map: the correlation's eigenvalues are unchanged
            known[id(output)] = (weakref.ref(output), *entry)
        if entry is None:  # a map handed on unchanged (a container's output, an identity) is solved once
            last = type(module) in CHANNELS_LAST or (
                source is not None and source[1] and isinstance(args[0], torch.Tensor) and args[0].shape == output.shape
            )
            if not last and output.dim() != 4:
                return
            if last:
                maps = output.reshape(batch, -1, output.shape[-1]).transpose(1, 2)
            else:
                maps = output.reshape(batch, output.shape[1], -1)
            entry = (len(correlations), last)
            known[id(output)] = (weakref.ref(output), *entry)
            correlations.append(channel_correlation(maps))
        index, last = entry
        layers.append((index, output.shape[-1] if last else output.shape[1]))

    hooked_forward(model, inputs, model.modules(), record, proxy="meco")
    solved = [i for i, m in enumerate(correlations) if m is not None]
    lowest = [0.0] * len(correlations)
    for i, value in zip(solved, min_eigenvalues([correlations[i] for i in solved]), strict=True):  # type: ignore[misc]
        lowest[i] = value
    return [(lowest[index], channels) for index, channels in layers]


def meco_score(model: nn.Module, inputs: torch.Tensor) -> float:
    """MeCo: Σ over the layers of λ_min of the channel correlation (mean over the inputs)."""
    return float(sum(value for value, _ in meco_layer_values(model, inputs)))


@PROXIES.register("meco")
class Meco(Proxy):
    """MeCo: Σ over every layer's feature map of the minimum eigenvalue of its channel
    correlation matrix, for one Gaussian-noise input (batch norm on batch statistics)."""

    default_batch_size = 1

    def score(self, ctx: ProxyContext) -> float:
        return meco_score(ctx.model, ctx.gaussian_batch(self.batch_size(ctx)))
