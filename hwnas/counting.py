"""#Params and FLOPs of a built network.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts what
actually runs (convolutions, matrix products, attention), 2 FLOPs per
multiply-add. Element-wise ops, pooling and normalisation are not counted, as
in most NAS papers.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


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
