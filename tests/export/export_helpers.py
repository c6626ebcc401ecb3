"""Helpers shared by the export tests (a module with its own name, so it never clashes with other conftests)."""

from __future__ import annotations

from pathlib import Path

import torch

from hwnas.spaces import get_space

NB201_ARCH = get_space("nb201").examples[0]
HYBRID_ARCH = get_space("hybrid").examples[0]
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
