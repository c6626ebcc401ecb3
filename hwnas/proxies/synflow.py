"""Synflow (Tanaka et al., NeurIPS 2020) and LogSynflow (Cavagnero et al., FreeREA 2022).

Definition (REFERENCE §2, checked against the Entropic Score authors' earlier code):
normalisation layers out of the signal path (identity), every parameter replaced by
its absolute value, the network run in float64 on one all-ones input of its input
shape, R = sum(output) back-propagated. For every Conv2d/Linear weight W:

- synflow element    = |W ⊙ ∂R/∂W|
- logsynflow element = |W ⊙ log(∂R/∂W + 1)|

and the score is the sum over all elements of all such weights. Float64 because the
products overflow float32 (NB201 synflow values reach 1e47).

The network is never modified: the absolute float64 weights are passed through
``torch.func.functional_call`` and normalisation layers are bypassed by forward
hooks that are removed afterwards. Gradients of ReLU networks are non-negative, so
``log(g + 1)`` is the reference formula; attention's softmax can give negative
gradients in the hybrid space, where ``log(|g| + 1)`` keeps the score defined
(identical wherever the reference formula is).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from hwnas.proxies import PROXIES
from hwnas.proxies.base import NORMS, Proxy, ProxyContext


def synflow_gradients(model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(|W|, ∂R/∂W) in float64 for every Conv2d/Linear weight, per the definition above."""
    weight_names = {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    tensors: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        t = p.detach().abs().double()
        tensors[name] = t.requires_grad_(True) if name in weight_names else t
    for name, b in model.named_buffers():
        tensors[name] = b.detach().double() if b.is_floating_point() else b
    bypass = [m.register_forward_hook(_return_input) for m in model.modules() if isinstance(m, NORMS)]
    try:
        with torch.enable_grad():
            out = functional_call(model, tensors, (torch.ones(input_shape, dtype=torch.float64),))
            weights = [tensors[n] for n in sorted(weight_names)]
            grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
    finally:
        for handle in bypass:
            handle.remove()
    return [(w.detach(), torch.zeros_like(w) if g is None else g) for w, g in zip(weights, grads)]


def synflow_score(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    return float(sum((w * g).abs().sum() for w, g in synflow_gradients(model, input_shape)))


def logsynflow_score(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    return float(sum((w * torch.log1p(g.abs())).abs().sum() for w, g in synflow_gradients(model, input_shape)))


def _return_input(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
    return inputs[0]


@PROXIES.register("synflow")
class Synflow(Proxy):
    """Synflow: Σ|W ⊙ ∂R/∂W| over conv/linear weights (|weights|, no norms, all-ones input, float64)."""

    def score(self, ctx: ProxyContext) -> float:
        return synflow_score(ctx.model, ctx.input_shape(1))


@PROXIES.register("logsynflow")
class LogSynflow(Proxy):
    """LogSynflow: Σ|W ⊙ log(∂R/∂W + 1)|; the Entropic Score paper's proxy for model *size*."""

    def score(self, ctx: ProxyContext) -> float:
        return logsynflow_score(ctx.model, ctx.input_shape(1))
