"""Helpers shared by the export tests (a module with its own name, so it never clashes with other conftests)."""

from __future__ import annotations

from pathlib import Path

import torch

from hwnas.spaces import get_space

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"
HYBRID_ARCH = "w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:ib3,ti3/w160-e2-q96-h2:cn3"
HYBRID_RES = 64


def calibrated_weights(
    space_name: str, arch: str, resolution: int, path: Path, *, num_classes: int | None = None, seed: int = 0
) -> Path:
    """A state dict of ``arch`` whose BatchNorm statistics come from random inputs.

    Untrained networks with default BatchNorm statistics can map every input to the
    same logits (NB201 does), which makes a parity check weak; re-estimated statistics
    keep the outputs input-dependent, as trained weights are.
    """
    space = get_space(space_name)
    torch.manual_seed(seed)
    model = space.build(space.decode(arch), num_classes=num_classes, resolution=resolution)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average
    model.train()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn((8, *space.input_shape(resolution)[1:]), generator=gen))
    torch.save(model.state_dict(), path)
    return path
