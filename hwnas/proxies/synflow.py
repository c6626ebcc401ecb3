"""Synflow (Tanaka et al., NeurIPS 2020) and LogSynflow (Cavagnero et al., FreeREA 2022).

Definition (REFERENCE §2, checked against the Entropic Score authors' earlier code):
normalisation layers out of the signal path (identity), every parameter replaced by
its absolute value, the network run in float64 on one all-ones input of its input
shape, R = sum(output) back-propagated. For every Conv2d/Linear weight W:

- synflow element    = |W ⊙ ∂R/∂W|
- logsynflow element = |W ⊙ log(∂R/∂W + 1)|

and the score is the sum over all elements of all such weights. Float64 because the
products overflow float32 (NB201 synflow values reach 1e47).

The network is left as it was: its parameters and buffers are swapped for absolute
float64 copies and its normalisation layers for the identity only for the duration
of the call (the original tensor objects are put back, also on error). Gradients of ReLU networks are non-negative, so
``log(g + 1)`` is the reference formula; attention's softmax can give negative
gradients in the hybrid space, where ``log(|g| + 1)`` keeps the score defined
(identical wherever the reference formula is).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from hwnas.proxies import PROXIES
from hwnas.proxies.base import NORMS, Proxy, ProxyContext


def synflow_gradients(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float64,
    rescale: list[float] | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(|W|, ∂R/∂W) in ``dtype`` for every Conv2d/Linear weight, per the definition above.

    The network's tensors are swapped for |·| copies, normalisation layers replaced by the
    identity for the call, and everything put back (same tensor objects) before returning,
    even on error; gradients come from ``torch.autograd.grad``, so no ``.grad`` is left behind.

    ``rescale`` (a list to fill): every top-level block of a sequential network but the last
    divides its output by its mean (a detached constant) and appends the log of that divisor.
    The gradients returned are then those of R / P, P the product of the divisors, so the
    signal stays of order one in every block (see :func:`logsynflow_score`).
    """
    modules = [m for _, m in model.named_modules()]
    norms = [m for m in modules if isinstance(m, NORMS)]
    layers = [m for m in modules if isinstance(m, (nn.Conv2d, nn.Linear))]
    saved_params: list[tuple[nn.Parameter, torch.Tensor]] = []
    saved_buffers: list[tuple[nn.Module, str, torch.Tensor]] = []
    hooks = []
    try:
        for m in norms:
            m.forward = _identity  # instance attribute: shadows the class's forward until deleted
        for p in model.parameters():
            saved_params.append((p, p.data))
            p.data = p.data.abs().to(dtype)
        for m in modules:
            if isinstance(m, NORMS):
                continue
            for name, b in m._buffers.items():
                if b is not None and b.is_floating_point():
                    saved_buffers.append((m, name, b))
                    m._buffers[name] = b.to(dtype)
        if rescale is not None and isinstance(model, nn.Sequential):
            hooks = [block.register_forward_hook(_normaliser(rescale)) for block in list(model)[:-1]]
        weights = [m.weight for m in layers]
        with torch.enable_grad():
            out = model(torch.ones(input_shape, dtype=dtype))
            grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
        return [(w.detach(), torch.zeros_like(w) if g is None else g) for w, g in zip(weights, grads, strict=True)]
    finally:
        for hook in hooks:
            hook.remove()
        for p, data in saved_params:
            p.data = data
        for m, name, b in saved_buffers:
            m._buffers[name] = b
        for m in norms:
            m.__dict__.pop("forward", None)


def _normaliser(log_scales: list[float]) -> Any:
    """A forward hook dividing a block's output by its mean magnitude and recording the log of it."""

    def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        scale = output.detach().abs().mean()
        if not (torch.isfinite(scale) and scale > 0):
            return output  # a dead (all-zero) block: nothing to rescale
        log_scales.append(float(torch.log(scale)))
        return output / scale

    return hook


def synflow_score(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    return float(sum((w * g).abs().sum() for w, g in synflow_gradients(model, input_shape)))


def logsynflow_score(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """Σ|W ⊙ log(∂R/∂W + 1)|, computed in the log domain with per-block rescaling.

    Without norms and with |weights|, an all-ones signal grows block after block; through
    softmax attention and GELU it grows without bound, so float64 overflows for large hybrid
    networks at 224 (inf, then NaN) and saturated softmaxes zero the attention weights'
    gradients: the score then measured how fast values explode, not capacity (issue 23).
    Here each block's output is divided by its mean (:func:`synflow_gradients`), so every
    block sees a signal of order one, and the divisors are added back in the log domain:
    for a weight with rescaled gradient g̃, log(g + 1) = softplus(log g̃ + log P), P the
    product of the divisors. For a network that is positively homogeneous on positive
    signals (convolutions, ReLU, pooling, skips: NB201) this is the reference value exactly,
    up to rounding; elsewhere it is the value of the network with its signal kept in range.
    Finite for every network, and float32 is enough once the signal stays in range."""
    log_scales: list[float] = []
    pairs = synflow_gradients(model, input_shape, dtype=torch.float32, rescale=log_scales)
    log_p = math.fsum(log_scales)
    total = 0.0
    for w, g in pairs:
        log_g = torch.log(g.abs()) + log_p  # -inf where the gradient is 0: softplus gives 0
        total += float((w * torch.nn.functional.softplus(log_g)).abs().sum(dtype=torch.float64))
    return total


def _identity(x: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
    return x


@PROXIES.register("synflow")
class Synflow(Proxy):
    """Synflow: Σ|W ⊙ ∂R/∂W| over conv/linear weights (|weights|, no norms, all-ones input, float64)."""

    def score(self, ctx: ProxyContext) -> float:
        return synflow_score(ctx.model, ctx.input_shape(1))


#: LogSynflow's all-ones signal is the same at every pixel, so resolution changes its value only
#: through borders: above this it runs here (hybrid at 128 ranks as at 224: Spearman 0.998 over
#: 40 random archs, 0.9996 over scripts/size_signal.py's 150 networks; 1.5x faster). NB201's 32 is below.
SIGNAL_RESOLUTION = 128


@PROXIES.register("logsynflow")
class LogSynflow(Proxy):
    """LogSynflow: Σ|W ⊙ log(∂R/∂W + 1)|; the Entropic Score paper's proxy for model *size*."""

    def score(self, ctx: ProxyContext) -> float:
        shape = ctx.input_shape(1)
        if ctx.res > SIGNAL_RESOLUTION:
            shape = ctx.space.input_shape(SIGNAL_RESOLUTION)
        return logsynflow_score(ctx.model, shape)
