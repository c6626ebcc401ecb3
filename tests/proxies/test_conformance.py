"""Every registered proxy, on both spaces: a finite float, deterministic for a seed,
seed-dependent exactly when it says so, and the network and global RNG left untouched.

The test iterates the registry, so a new proxy is checked without new test code.
"""

from __future__ import annotations

import math

import pytest
import torch

from hwnas.proxies import get_proxy, load_labelled_images, proxy_names, score_architecture
from hwnas.proxies.base import ProxyContext
from hwnas.spaces import get_space

CASES = {
    "nb201": ("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", 16),
    "hybrid": ("w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:cn3,ti5/w160-e2-q96-h2:tc3", 64),
}
BATCH = 10  # one digit per class for the Revisiting metric; small for speed elsewhere


@pytest.fixture(scope="module")
def digits(digits_npz):
    return load_labelled_images(digits_npz)


def _context(space_name: str, seed: int, data) -> ProxyContext:
    space = get_space(space_name)
    text, resolution = CASES[space_name]
    return ProxyContext(
        space, space.decode(text), seed=seed, batch_size=BATCH, resolution=resolution, num_classes=10, data=data
    )


@pytest.mark.parametrize("space_name", sorted(CASES))
@pytest.mark.parametrize("name", proxy_names())
def test_proxy_contract(name: str, space_name: str, digits) -> None:
    proxy = get_proxy(name)
    ctx = _context(space_name, 0, digits)
    if proxy.needs_network:
        model = ctx.model
        weights = {k: v.clone() for k, v in model.state_dict().items()}
        modes = [m.training for m in model.modules()]
    rng = torch.get_rng_state()

    value = proxy.score(ctx)

    assert isinstance(value, float) and math.isfinite(value), f"{name} gave {value!r}"
    assert torch.equal(rng, torch.get_rng_state()), f"{name} moved the global torch RNG"
    if proxy.needs_network:
        after = ctx.model.state_dict()
        assert weights.keys() == after.keys()
        assert all(torch.equal(weights[k], after[k]) for k in weights), f"{name} modified the network"
        assert modes == [m.training for m in ctx.model.modules()], f"{name} left a module in another mode"
        assert all(p.grad is None for p in ctx.model.parameters()), f"{name} left gradients on the network"
    else:
        assert not ctx.model_built, f"{name} says it needs no network but built one"

    assert proxy.score(_context(space_name, 0, digits)) == value, f"{name} is not deterministic for a seed"
    other = proxy.score(_context(space_name, 1, digits))
    if proxy.uses_seed:
        assert other != value, f"{name} claims to use the seed but seed 1 gives the same score"
    else:
        assert other == value, f"{name} claims not to use the seed but seed 1 changes it"


def test_score_architecture_builds_once_and_matches_single_proxies(monkeypatch) -> None:
    space = get_space("nb201")
    arch = space.decode(CASES["nb201"][0])
    builds = []
    real_build = type(space).build
    monkeypatch.setattr(type(space), "build", lambda self, *a, **k: builds.append(1) or real_build(self, *a, **k))
    names = ["params", "logsynflow", "naswot", "es", "sed"]
    together = score_architecture(space, arch, names, seed=3, batch_size=4, resolution=16)
    assert len(builds) == 1
    assert list(together) == names
    for name in names:
        assert score_architecture(space, arch, [name], seed=3, batch_size=4, resolution=16)[name] == together[name]


def test_registry_lists_the_issue_proxies() -> None:
    expected = {
        "params",
        "flops",
        "synflow",
        "logsynflow",
        "naswot",
        "es",
        "sed",
        "revisit",
        "grad_norm",
        "snip",
        "jacob_cov",
        "zico",
    }
    assert expected <= set(proxy_names())
    for name in proxy_names():
        assert get_proxy(name).__doc__, f"{name} needs a docstring giving its definition"
