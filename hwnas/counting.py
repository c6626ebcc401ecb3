"""#Params and FLOPs of a built network.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts what
actually runs (convolutions, matrix products, attention), 2 FLOPs per
multiply-add. Element-wise ops, pooling and normalisation are not counted, as
in most NAS papers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

if TYPE_CHECKING:
    from hwnas.spaces.base import SearchSpace


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (weights, biases, norm affine terms)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass on a zero input of ``input_shape``."""
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(input_shape))
    model.train(was_training)
    return int(counter.get_total_flops())


def count_arch(space: SearchSpace, arch: object, *, resolution: int | None = None,
               num_classes: int | None = None) -> tuple[int, int]:
    """(#Params, FLOPs) of an architecture, counted on the meta device.

    Builds the same modules without allocating or initialising weights, so the
    search can check #Params/FLOPs constraints of every candidate cheaply; the
    counts equal those of the real network (a test checks it).
    """
    with torch.device("meta"):
        model = space.build(arch, num_classes=num_classes, resolution=resolution)
        shape = space.input_shape(resolution)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(torch.empty(shape))
    return count_params(model), int(counter.get_total_flops())
