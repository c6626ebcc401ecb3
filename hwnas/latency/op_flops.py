"""A block's FLOPs split by operator class: what a runtime's cost model prices differently.

Two runtimes can agree on a block's total FLOPs and still disagree 4-6x on its latency:
LiteRT's XNNPACK runs 7x7 depthwise convolutions at 56x56 4-6x slower than ONNX Runtime,
while its attention and pointwise work runs at 0.6-2.2x (docs/runtimes.md). A few-shot
table learns such a runtime from the *mix* of a block's work, so the counter keeps each
class apart: depthwise convolutions (also per kernel size, since a runtime's kernels are
specialised by size), pointwise (1x1 convolutions and linear layers), other convolutions,
and matrix products (attention). Counted as :class:`~hwnas.counting.MultiplyAddCounter`
counts (2 per multiply-add), so the classes add up to its total.
"""

from __future__ import annotations

import math
from typing import Any

from hwnas.counting import _CONV, _LINEAR, _MATMUL, MultiplyAddCounter

DEPTHWISE, POINTWISE, CONV, MATMUL = "depthwise", "pointwise", "conv", "matmul"
CLASSES = (DEPTHWISE, POINTWISE, CONV, MATMUL)


def depthwise_kernel_class(kernel: int) -> str:
    """The per-kernel-size depthwise class, e.g. ``depthwise_k7``."""
    return f"{DEPTHWISE}_k{kernel}"


class OperatorFlopCounter(MultiplyAddCounter):
    """``flops`` as the parent counts it, and ``by_class``: the same FLOPs split by operator class."""

    def __init__(self) -> None:
        super().__init__()
        self.by_class: dict[str, int] = {}

    def _add(self, name: str, flops: int) -> None:
        self.by_class[name] = self.by_class.get(name, 0) + flops

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        before = self.flops
        out = super().__torch_function__(func, types, args, kwargs)
        added = int(self.flops - before)
        if not added:
            return out
        if func in _CONV:
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            groups = args[6] if len(args) > 6 else (kwargs or {}).get("groups", 1)
            spatial = tuple(int(d) for d in weight.shape[2:])
            if groups > 1 and weight.shape[1] == 1:  # one input channel per group: depthwise
                self._add(DEPTHWISE, added)
                self._add(depthwise_kernel_class(max(spatial, default=1)), added)
            elif math.prod(spatial) == 1:
                self._add(POINTWISE, added)
            else:
                self._add(CONV, added)
        elif func in _LINEAR:
            self._add(POINTWISE, added)
        elif func in _MATMUL:
            self._add(MATMUL, added)
        return out
