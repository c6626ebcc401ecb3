"""NASWOT (Mellor et al., ICML 2021): how differently a network's units fire across a batch.

Binary code of every unit of every hooked activation (1 where the activation's
input is > 0) over a mini-batch; K_H = Σ_layers codes·codesᵀ + (1−codes)·(1−codes)ᵀ;
score = log|det K_H| (``slogdet``). K_H[i, j] counts the units on which inputs i and
j agree, computed as (n + sᵢ·sⱼ)/2 with s = 2·codes − 1.

Hooked activations: every ReLU-family module (ReLU, ReLU6, GELU, LeakyReLU, SiLU,
Hardswish; ``hwnas.proxies.base.ACTIVATIONS``). For GELU and the smooth ones the
code is the sign of the input, the same cut a ReLU makes. Inputs are seeded
Gaussian noise (the paper uses CIFAR images; noise keeps the proxy data-free).
Batch norm normalises with the batch's statistics, as in the published code (which
runs the freshly built network in train mode); the running buffers are untouched.
On the NB201 dev set this ranks archs like the reference values (Spearman 0.97 on
80 archs; eval-mode batch norm gives 0.80).
"""

from __future__ import annotations

import torch
from torch import nn

from hwnas.proxies import PROXIES
from hwnas.proxies.base import ACTIVATIONS, Proxy, ProxyContext, hooked_forward


@torch.inference_mode()
def naswot_kernel(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """K_H (batch x batch, float64): on how many hooked units each pair of inputs agrees."""
    batch = inputs.shape[0]
    kernel = torch.zeros(batch, batch, dtype=torch.float64)

    def record(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        signs = (args[0].reshape(batch, -1) > 0).to(torch.float32).mul_(2).sub_(1)
        agree = (signs @ signs.T).double()
        kernel.add_((agree + signs.shape[1]) / 2)

    hooked_forward(model, inputs, (m for m in model.modules() if isinstance(m, ACTIVATIONS)), record, proxy="naswot")
    return kernel


def naswot_score(model: nn.Module, inputs: torch.Tensor) -> float:
    return float(torch.linalg.slogdet(naswot_kernel(model, inputs)).logabsdet)


@PROXIES.register("naswot")
class Naswot(Proxy):
    """NASWOT: log|det| of the activation-pattern agreement kernel over a noise batch (default 64)."""

    default_batch_size = 64

    def score(self, ctx: ProxyContext) -> float:
        return naswot_score(ctx.model, ctx.gaussian_batch(self.batch_size(ctx)))
