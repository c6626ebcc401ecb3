"""The gradient baselines users expect in a proxy library: grad_norm, snip, jacob_cov, ZiCo.

All four need a labelled batch: the images and labels of ``--data`` when given,
otherwise seeded Gaussian noise with seeded random labels (the data-free setting
of the zero-cost-proxy literature). Batch norm normalises with the batch's own
statistics, as in the published code (``net.train()``), without touching the
network's running buffers. Gradients come from ``torch.autograd.grad``, so no
``.grad`` is left on the network.

- grad_norm (Abdelfattah et al., ICLR 2021): Σ over conv/linear weights of ‖∂L/∂W‖₂,
  L the cross-entropy of the batch.
- snip (Lee et al., ICLR 2019; as a proxy, Abdelfattah et al.): Σ |W ⊙ ∂L/∂W|.
- jacob_cov (Mellor et al., 2020 v1 of NASWOT): Jacobians J_i = ∂(Σ_k f_k(x_i))/∂x_i,
  their correlation matrix Σ_J with eigenvalues λ; score = −Σ (log(λ + k) + 1/(λ + k)), k = 1e-5.
- zico (Li et al., ICLR 2023): gradients of the loss on two halves of the batch; per
  conv/linear layer, Σ over weights with non-zero spread of mean|g| / std(g), then
  the sum over layers of its log.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext, batch_statistics


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def loss_gradients(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> list[torch.Tensor]:
    """∂L/∂W (cross-entropy, batch statistics) for every conv/linear weight."""
    weights = _weights(model)
    with batch_statistics(model), torch.enable_grad():
        loss = F.cross_entropy(model(images), labels)
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
    return [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads, strict=True)]


def grad_norm_score(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float(sum(g.norm() for g in loss_gradients(model, images, labels)))


def snip_score(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    grads = loss_gradients(model, images, labels)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(_weights(model), grads, strict=True)))


def jacob_cov_score(model: nn.Module, images: torch.Tensor) -> float:
    x = images.clone().requires_grad_(True)
    with batch_statistics(model), torch.enable_grad():
        (jac,) = torch.autograd.grad(model(x).sum(), x)
    corr = torch.corrcoef(jac.reshape(jac.shape[0], -1).double())
    corr = torch.nan_to_num(corr, nan=0.0)
    eig = torch.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-(torch.log(eig.clamp_min(0) + k) + 1.0 / (eig.clamp_min(0) + k)).sum())


def zico_score(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, splits: int = 2) -> float:
    per_split = [
        loss_gradients(model, xs, ys) for xs, ys in zip(images.chunk(splits), labels.chunk(splits), strict=True)
    ]
    total = 0.0
    for layer in zip(*per_split, strict=True):
        g = torch.stack([t.flatten() for t in layer]).double()
        std = g.std(dim=0, unbiased=False)
        keep = std > 0
        if keep.any():
            ratio = (g.abs().mean(dim=0)[keep] / std[keep]).sum()
            if ratio > 0:
                total += float(torch.log(ratio))
    return total


@PROXIES.register("grad_norm")
class GradNorm(Proxy):
    """grad_norm: Σ‖∂L/∂W‖₂ over conv/linear weights (batch default 32)."""

    default_batch_size = 32

    def score(self, ctx: ProxyContext) -> float:
        return grad_norm_score(ctx.model, *ctx.labelled_batch(self.batch_size(ctx)))


@PROXIES.register("snip")
class Snip(Proxy):
    """snip: Σ|W ⊙ ∂L/∂W| over conv/linear weights (batch default 32)."""

    default_batch_size = 32

    def score(self, ctx: ProxyContext) -> float:
        return snip_score(ctx.model, *ctx.labelled_batch(self.batch_size(ctx)))


@PROXIES.register("jacob_cov")
class JacobCov(Proxy):
    """jacob_cov: −Σ(log(λ+k) + 1/(λ+k)) over eigenvalues of the input-Jacobian correlations (batch default 32)."""

    default_batch_size = 32

    def score(self, ctx: ProxyContext) -> float:
        images, _ = ctx.labelled_batch(self.batch_size(ctx))
        return jacob_cov_score(ctx.model, images)


@PROXIES.register("zico")
class Zico(Proxy):
    """ZiCo: Σ_layers log Σ mean|g|/std(g) over two half-batches (batch default 32)."""

    default_batch_size = 32

    def score(self, ctx: ProxyContext) -> float:
        return zico_score(ctx.model, *ctx.labelled_batch(max(2, self.batch_size(ctx))))
