"""#Params and FLOPs: the size baselines every proxy must beat (REFERENCE §2).

#Params alone reaches Spearman 0.76 on the NAS-Bench-201 dev set; a proxy that
does not beat it, or that only re-counts parameters (≈0 within groups of equal
#Params), adds nothing.

``params`` counts the built network, or its structure on the ``meta`` device when
no other proxy needed the initialised one. ``flops`` counts what actually runs in
one batch-1 forward pass, as ``hwnas.counting.count_flops`` (``FlopCounterMode``)
does — convolutions, linear layers and matrix products, 2 FLOPs per multiply-add —
but with a ``TorchFunctionMode`` that sees only those calls: the same total (a test
checks it on both spaces) at a fraction of the cost, since FlopCounterMode's
per-operation dispatch costs more than the tiny forward itself.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from hwnas.counting import count_params
from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext

_CONV = {torch.conv1d, torch.conv2d, torch.conv3d, torch.nn.functional.conv1d, torch.nn.functional.conv2d,
         torch.nn.functional.conv3d}
_LINEAR = {torch.nn.functional.linear}
_MATMUL = {torch.matmul, torch.Tensor.__matmul__, torch.mm, torch.bmm, torch.Tensor.matmul, torch.Tensor.mm,
           torch.Tensor.bmm}


class MultiplyAddCounter(TorchFunctionMode):
    """Counts 2·(multiply-adds) of convolutions, linear layers and matrix products as they run."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if func in _CONV:
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            self.flops += 2 * out.numel() * math.prod(weight.shape[1:])
        elif func in _LINEAR:
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            self.flops += 2 * out.numel() * weight.shape[-1]
        elif func in _MATMUL:
            self.flops += 2 * out.numel() * args[0].shape[-1]
        return out


def count_flops_fast(model: torch.nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass on zeros of ``input_shape`` (same total as ``count_flops``)."""
    counter = MultiplyAddCounter()
    with torch.inference_mode(), counter:
        model(torch.zeros(input_shape))
    return counter.flops


@PROXIES.register("params")
class Params(Proxy):
    """Number of trainable parameters, in millions (``hwnas.counting.count_params``)."""

    needs_network = False
    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        return count_params(ctx.model if ctx.model_built else ctx.skeleton) / 1e6


@PROXIES.register("flops")
class Flops(Proxy):
    """FLOPs of one batch-1 forward pass, in millions (2 per multiply-add of convolutions,
    linear layers and matrix products; the total ``FlopCounterMode`` reports)."""

    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        return count_flops_fast(ctx.model, ctx.input_shape(1)) / 1e6
