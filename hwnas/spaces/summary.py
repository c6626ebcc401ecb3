"""The facts about one architecture that ``hwnas info`` prints and other commands record."""

from __future__ import annotations

from typing import Any

from hwnas.counting import count_flops, count_params
from hwnas.spaces.base import SearchSpace


def describe_arch(space: SearchSpace, arch_text: str, *, resolution: int | None = None,
                  num_classes: int | None = None) -> dict[str, Any]:
    """Decode, build once, and report #Params (M), FLOPs (M) and the block list."""
    arch = space.decode(arch_text)
    resolution = resolution or space.default_resolution
    num_classes = num_classes or space.default_num_classes
    blocks = space.blocks(arch, resolution, num_classes)
    model = space.build(arch, num_classes=num_classes, resolution=resolution)
    shape = space.input_shape(resolution)
    return {
        "arch": space.encode(arch),
        "space": space.name,
        "resolution": resolution,
        "num_classes": num_classes,
        "input_shape": list(shape),
        "params_m": count_params(model) / 1e6,
        "flops_m": count_flops(model, shape) / 1e6,
        "blocks": [{"key": b.key, "kind": b.kind, "input_shape": list(b.input_shape)} for b in blocks],
    }
