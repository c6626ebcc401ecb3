"""params and flops count what hwnas.counting counts, more cheaply."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from hwnas.counting import count_arch, count_flops, count_params
from hwnas.proxies import score_architecture
from hwnas.spaces import get_space


@pytest.mark.parametrize("space_name,resolution", [("nb201", 32), ("hybrid", 64)])
def test_counts_match_the_reference_counters(space_name: str, resolution: int) -> None:
    space = get_space(space_name)
    for arch in space.sample_many(2, seed=8):
        model = space.build(arch, resolution=resolution)
        shape = space.input_shape(resolution)
        reference = FlopCounterMode(display=False)
        with torch.no_grad(), reference:
            model(torch.zeros(shape))
        assert count_flops(model, shape) == reference.get_total_flops()
        with torch.device("meta"):
            skeleton = space.build(arch, resolution=resolution)
        assert count_flops(skeleton, shape) == reference.get_total_flops()  # no memory, same count
        assert count_arch(space, arch, resolution=resolution) == (count_params(model), reference.get_total_flops())
        scores = score_architecture(space, arch, ["params", "flops"], resolution=resolution)
        assert scores["params"] == pytest.approx(count_params(model) / 1e6)
        assert scores["flops"] == pytest.approx(count_flops(model, shape) / 1e6)


def test_params_alone_builds_no_network(monkeypatch) -> None:
    """#Params of a space made of blocks is the sum of its blocks' counts: no network is built, not
    even on the meta device (a screening search counts thousands of candidates)."""
    space = get_space("hybrid")
    arch = space.sample_many(1, seed=2)[0]
    real_build = type(space).build
    devices = []

    def spy(self, *args, **kwargs):
        model = real_build(self, *args, **kwargs)
        devices.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(type(space), "build", spy)
    scores = score_architecture(space, arch, ["params"])
    assert devices == []
    with torch.device("meta"):
        assert scores["params"] == pytest.approx(count_params(real_build(space, arch)) / 1e6)
