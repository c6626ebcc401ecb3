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
    from hwnas.spaces.base import BlockSpec, SearchSpace


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
    """(#Params, FLOPs) of an architecture as the sum over its blocks, each counted once.

    Networks are their blocks in sequence (a SearchSpace guarantee), so both counts
    add up; caching per block key makes the search's constraint checks cheap after
    the first few candidates. A test checks the sums against the whole network.
    """
    params = flops = 0
    for spec in space.blocks(arch, resolution, num_classes):
        p, f = _block_counts(space, spec)
        params += p
        flops += f
    return params, flops


_BLOCK_COUNTS: dict[tuple[str, str], tuple[int, int]] = {}


def _block_counts(space: SearchSpace, spec: BlockSpec) -> tuple[int, int]:
    key = (space.name, spec.key)
    counts = _BLOCK_COUNTS.get(key)
    if counts is None:
        block = space.build_block(spec)
        counts = (count_params(block), count_flops(block, spec.input_shape))
        _BLOCK_COUNTS[key] = counts
    return counts
