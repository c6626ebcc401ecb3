"""What NASWOT and Entropic Score hook in the hybrid space (ReLU6, GELU, block outputs)."""

from __future__ import annotations

import math

import torch
from torch import nn

from hwnas.proxies.entropic import EntropicReading, _hook_modules, entropic_score
from hwnas.proxies.naswot import naswot_kernel
from hwnas.spaces import get_space

HYBRID = "w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:cn3,ti5/w160-e2-q96-h2:tc3"


def test_naswot_counts_every_relu6_and_gelu_unit_of_the_hybrid_net() -> None:
    space = get_space("hybrid")
    model = space.build(space.decode(HYBRID), resolution=64)
    kinds = {type(m) for m in model.modules() if isinstance(m, (nn.ReLU6, nn.GELU))}
    assert kinds == {nn.ReLU6, nn.GELU}
    units = []
    handles = [
        m.register_forward_hook(lambda mod, args, out: units.append(args[0][0].numel()))
        for m in model.modules()
        if isinstance(m, (nn.ReLU6, nn.GELU))
    ]
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    kernel = naswot_kernel(model, x)
    assert torch.equal(kernel.diagonal(), torch.full((3,), float(sum(units)), dtype=torch.float64))
    assert (kernel <= sum(units)).all() and torch.equal(kernel, kernel.T)


def test_es_reads_every_block_output_but_not_the_classifier() -> None:
    space = get_space("hybrid")
    arch = space.decode(HYBRID)
    model = space.build(arch, resolution=64)
    hooked = _hook_modules(model, "block")
    assert len(hooked) == len(space.blocks(arch, 64)) - 1
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    assert entropic_score(model, x) == entropic_score(model, x)
    pair = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    per_element = entropic_score(model, pair, EntropicReading(entropy="gaussian", hook="post", batch_size=2))
    layers = len(_hook_modules(model, "post"))
    floor = 0.5 * (math.log(2 * math.pi * math.e) + math.log(1e-6))  # an average element varying by < 1e-6
    assert layers >= 5 and math.isfinite(per_element) and per_element > layers * floor
