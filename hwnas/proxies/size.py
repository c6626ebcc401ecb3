"""#Params and FLOPs: the size baselines every proxy must beat (REFERENCE §2).

#Params alone reaches Spearman 0.76 on the NAS-Bench-201 dev set; a proxy that
does not beat it, or that only re-counts parameters (≈0 within groups of equal
#Params), adds nothing. Both count the network's structure on the ``meta``
device (``ctx.skeleton``): no weights are initialised and nothing is computed,
so they cost a network build and a shape-only forward pass.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from hwnas.counting import count_params
from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext


@PROXIES.register("params")
class Params(Proxy):
    """Number of trainable parameters, in millions (``hwnas.counting.count_params``)."""

    needs_network = False
    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        return count_params(ctx.model if ctx.model_built else ctx.skeleton) / 1e6


@PROXIES.register("flops")
class Flops(Proxy):
    """FLOPs of one batch-1 forward pass, in millions (2 per multiply-add, what
    ``torch.utils.flop_counter.FlopCounterMode`` sees running; as ``hwnas.counting.count_flops``)."""

    needs_network = False
    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            ctx.skeleton(torch.zeros(ctx.input_shape(1), device="meta"))
        return counter.get_total_flops() / 1e6
