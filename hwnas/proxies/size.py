"""#Params and FLOPs: the size baselines every proxy must beat (REFERENCE §2).

#Params alone reaches Spearman 0.76 on the NAS-Bench-201 dev set; a proxy that
does not beat it, or that only re-counts parameters (≈0 within groups of equal
#Params), adds nothing.

Both count the built network, or its structure on the ``meta`` device when no
other proxy needed the initialised one: no weights, no memory, no arithmetic.
``flops`` counts what actually runs in one batch-1 forward pass
(``hwnas.counting.count_flops``: convolutions, linear layers and matrix products,
2 FLOPs per multiply-add).
"""

from __future__ import annotations

from hwnas.counting import count_flops, count_params
from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext


@PROXIES.register("params")
class Params(Proxy):
    """Number of trainable parameters, in millions (``hwnas.counting.count_params``)."""

    needs_network = False
    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        counted = None if ctx.model_built else ctx.space.count_params(ctx.arch, ctx.classes)
        if counted is None:
            counted = count_params(ctx.model if ctx.model_built else ctx.skeleton)
        return counted / 1e6


@PROXIES.register("flops")
class Flops(Proxy):
    """FLOPs of one batch-1 forward pass, in millions (2 per multiply-add of convolutions,
    linear layers and matrix products; the total ``FlopCounterMode`` reports)."""

    needs_network = False
    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        return count_flops(ctx.model if ctx.model_built else ctx.skeleton, ctx.input_shape(1)) / 1e6
