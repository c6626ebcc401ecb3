"""#Params and FLOPs of a built network.

FLOPs count what actually runs: 2 per multiply-add of every convolution, linear
layer and matrix product (attention included), intercepted as the functions are
called (:class:`MultiplyAddCounter`, a ``TorchFunctionMode``; the tests check it
against ``torch.utils.flop_counter.FlopCounterMode``). Element-wise ops, pooling
and normalisation are not counted, as in most NAS papers. A network on the
``meta`` device is counted without allocating or computing anything;
:func:`count_arch` uses that for blocks with large inputs, so memory stays bounded
at any resolution, and real (faster, since meta kernels run in Python) tensors
for the small blocks that searches count by the thousand.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

if TYPE_CHECKING:
    from hwnas.spaces.base import BlockSpec, SearchSpace


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (weights, biases, norm affine terms)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


_CONV = {
    torch.conv1d,
    torch.conv2d,
    torch.conv3d,
    torch.nn.functional.conv1d,
    torch.nn.functional.conv2d,
    torch.nn.functional.conv3d,
}
_LINEAR = {torch.nn.functional.linear}
_MATMUL = {
    torch.matmul,
    torch.Tensor.__matmul__,
    torch.mm,
    torch.bmm,
    torch.Tensor.matmul,
    torch.Tensor.mm,
    torch.Tensor.bmm,
}


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


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one eval-mode forward pass on zeros of ``input_shape``, on the model's device
    (``meta`` for a skeleton); the model's train/eval mode is restored."""
    was_training = model.training
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    counter = MultiplyAddCounter()
    model.eval()
    try:
        with torch.inference_mode(), counter:
            model(torch.zeros(input_shape, device=device))
    finally:
        model.train(was_training)
    return int(counter.flops)


def count_arch(
    space: SearchSpace, arch: object, *, resolution: int | None = None, num_classes: int | None = None
) -> tuple[int, int]:
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
#: Blocks whose input has more elements than this are counted on the meta device.
META_ABOVE_ELEMENTS = 1 << 20


def _block_counts(space: SearchSpace, spec: BlockSpec) -> tuple[int, int]:
    key = (space.name, spec.key)
    counts = _BLOCK_COUNTS.get(key)
    if counts is None:
        device = "meta" if math.prod(spec.input_shape) > META_ABOVE_ELEMENTS else "cpu"
        with torch.device(device):
            block = space.build_block(spec)
        counts = (count_params(block), count_flops(block, spec.input_shape))
        _BLOCK_COUNTS[key] = counts
    return counts
