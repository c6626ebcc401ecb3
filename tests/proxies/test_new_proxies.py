"""AZ-NAS, MeCo and SWAP: properties that hold for the papers' definitions and fail for near misses.

The registry-driven conformance suite checks the contract (finite, deterministic, network
untouched); these check the numbers: MeCo against a direct transcription of the authors'
procedure, SWAP against a brute-force unique count, the AZ-NAS components against their
closed forms on toy inputs and against the architectures they are meant to separate.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hwnas.proxies import get_proxy
from hwnas.proxies.az_nas import (
    COMPONENTS,
    az_nas_combined,
    az_nas_components,
    az_nas_rank_fusion,
    gradient_gain,
    spectrum_entropy,
)
from hwnas.proxies.base import ACTIVATIONS, ProxyContext, batch_statistics, seeded_torch
from hwnas.proxies.meco import channel_correlation, meco_layer_values, meco_score, min_eigenvalues
from hwnas.proxies.swap import regularised_swap, swap_score
from hwnas.spaces import get_space

NB = get_space("nb201")
HYBRID = get_space("hybrid")
CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SKIP_POOL = "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|skip_connect~2|"
IDENTITY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"  # every cell returns its input
MIXED = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
HYBRID_ARCH = "w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:cn3,ti5/w160-e2-q96-h2:tc3"


def _ctx(text: str, *, space=NB, resolution: int = 16, seed: int = 0) -> ProxyContext:
    return ProxyContext(space, space.decode(text), seed=seed, resolution=resolution, num_classes=10)


# ---- MeCo -------------------------------------------------------------------------------
def _lambda_min(maps: torch.Tensor) -> float:
    corr = channel_correlation(maps)
    return 0.0 if corr is None else min_eigenvalues([corr])[0]


def test_meco_layer_value_is_one_minus_the_correlation_of_two_channels() -> None:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 500, generator=gen, dtype=torch.float64)
    for rho in (0.0, 0.3, -0.8):
        maps = torch.stack([a, rho * a + math.sqrt(1 - rho**2) * b])[None]
        r = float(torch.corrcoef(maps[0])[0, 1])
        assert _lambda_min(maps) == pytest.approx(1 - abs(r), abs=1e-9)
    assert _lambda_min(torch.stack([a, 2 * a + 1])[None]) == pytest.approx(0, abs=1e-9)  # a scaled copy
    assert _lambda_min(torch.stack([a, torch.zeros_like(a)])[None]) == 0  # a dead channel
    assert _lambda_min(torch.randn(1, 8, 8, generator=gen)) == 0  # no more positions than channels


def _authors_meco(model: nn.Module, x: torch.Tensor) -> float:
    """The authors' procedure, transcribed: hook every module; for a 4-D output take the first
    input's C x HW map, its Pearson correlation (NaN -> 0) and the smallest eigenvalue; sum."""
    values: list[float] = []

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if isinstance(out, torch.Tensor) and out.dim() == 4:  # their 2-D outputs give a zero matrix
            corr = torch.nan_to_num(torch.corrcoef(out[0].reshape(out.shape[1], -1).double()), nan=0.0)
            values.append(float(torch.linalg.eigvalsh(corr)[0]))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.inference_mode(), batch_statistics(model):
        model(x)
    for h in handles:
        h.remove()
    return sum(values)


@pytest.mark.parametrize("arch", [MIXED, SKIP_POOL, IDENTITY])
def test_meco_matches_the_authors_procedure_on_nb201(arch: str) -> None:
    ctx = _ctx(arch)
    x = ctx.gaussian_batch(1)
    assert meco_score(ctx.model, x) == pytest.approx(_authors_meco(ctx.model, x), abs=1e-6)


def test_meco_reads_channels_last_maps_along_their_last_axis() -> None:
    """A map permuted to NHWC and passed through Linear/GELU is read with channels last: the same
    λ_min as the NCHW map it came from (read as NCHW it would be a correlation across rows)."""

    class Permute(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.permute(0, 2, 3, 1)

    linear = nn.Linear(6, 6)
    with torch.no_grad():
        linear.weight.copy_(torch.eye(6))
        linear.bias.zero_()
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), Permute(), linear, nn.GELU())
    x = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    values = meco_layer_values(model, x)
    # conv, the permutation (its module is not channels-last: a 12-"channel" NCHW map), linear, GELU,
    # and the Sequential itself, whose output is the GELU's
    assert [channels for _, channels in values] == [6, 12, 6, 6, 6]
    assert values[2][0] == pytest.approx(values[0][0], abs=1e-9)
    assert values[4] == values[3]  # the Sequential's output is the GELU's map


def test_meco_ranks_conv_cells_far_above_skip_and_pool_cells() -> None:
    conv, pooled = (get_proxy("meco").score(_ctx(a)) for a in (CONV, SKIP_POOL))
    assert conv > 10 * pooled > 0


@pytest.mark.parametrize(("space", "arch", "resolution"), [(NB, MIXED, 16), (HYBRID, HYBRID_ARCH, 64)])
def test_meco_is_invariant_to_the_input_scale(space, arch: str, resolution: int) -> None:
    ctx = _ctx(arch, space=space, resolution=resolution)
    x = ctx.gaussian_batch(1)
    assert meco_score(ctx.model, 7.0 * x) == pytest.approx(meco_score(ctx.model, x), rel=1e-4)


# ---- SWAP -------------------------------------------------------------------------------
def _brute_force_swap(model: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """(distinct rows of the units x samples sign matrix, units), as the authors count them."""
    codes: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        codes.append((args[0].reshape(x.shape[0], -1) > 0).T)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, ACTIVATIONS)]
    with torch.inference_mode(), batch_statistics(model):
        model(x)
    for h in handles:
        h.remove()
    units = torch.cat(codes)
    return int(torch.unique(units, dim=0).shape[0]), units.shape[0]


@pytest.mark.parametrize("batch", [16, 70])  # one packed key per unit, and two
@pytest.mark.parametrize(("space", "arch", "resolution"), [(NB, MIXED, 8), (HYBRID, HYBRID_ARCH, 32)])
def test_swap_counts_distinct_patterns_exactly(space, arch: str, resolution: int, batch: int) -> None:
    ctx = _ctx(arch, space=space, resolution=resolution)
    x = ctx.gaussian_batch(batch)
    distinct, units = _brute_force_swap(ctx.model, x)
    assert swap_score(ctx.model, x) == distinct
    assert 1 < distinct <= min(units, 2**batch)


def _relu_net(width: int, copies: int = 1) -> nn.Module:
    class Fanout(nn.Module):  # the same tensor through `copies` ReLUs, as a node feeding several edges
        def __init__(self) -> None:
            super().__init__()
            self.relus = nn.ModuleList(nn.ReLU() for _ in range(copies))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return sum(relu(x) for relu in self.relus)

    with seeded_torch(0):
        return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), Fanout())


def test_swap_grows_with_width_but_not_with_copies_of_the_same_units() -> None:
    x = torch.randn(24, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    narrow, wide = swap_score(_relu_net(4), x), swap_score(_relu_net(16), x)
    assert wide > 3 * narrow
    assert swap_score(_relu_net(4, copies=3), x) == narrow  # a unit count would triple


def test_swap_ranks_conv_cells_above_skip_and_pool_cells_and_the_regulariser_is_gaussian() -> None:
    conv, pooled = (get_proxy("swap").score(_ctx(a)) for a in (CONV, SKIP_POOL))
    assert conv > 2 * pooled
    assert regularised_swap(100.0, 5.0, mu=5.0, sigma=2.0) == 100.0
    assert regularised_swap(100.0, 7.0, mu=5.0, sigma=2.0) == pytest.approx(100.0 * math.exp(-2.0))


# ---- AZ-NAS -----------------------------------------------------------------------------
def test_spectrum_entropy_spans_zero_to_log_channels() -> None:
    gen = torch.Generator().manual_seed(0)
    white = torch.randn(4, 8, 32, 32, generator=gen)
    assert spectrum_entropy(white) == pytest.approx(math.log(8), abs=0.01)
    copies = torch.randn(4, 1, 32, 32, generator=gen).expand(4, 8, 32, 32) * torch.arange(1.0, 9.0)[:, None, None]
    assert spectrum_entropy(copies) == pytest.approx(0, abs=1e-6)
    assert spectrum_entropy(torch.zeros(2, 8, 4, 4)) == 0


def test_gradient_gain_is_the_gain_of_a_scaling_block() -> None:
    gen = torch.Generator().manual_seed(0)
    g_out = torch.randint(0, 2, (8, 4, 64, 64), generator=gen).float() * 2 - 1
    assert gradient_gain(2.0 * g_out, g_out) == pytest.approx(2.0, rel=0.05)
    # a stride-2 block: the input gradient has 4x the positions, pixel-unshuffled to 4x the channels
    g_in = torch.nn.functional.pixel_shuffle(torch.cat([0.5 * g_out] * 4, dim=1), 2)
    assert gradient_gain(g_in, g_out) == pytest.approx(2 * 0.5, rel=0.1)


@pytest.mark.parametrize(("space", "arch", "resolution"), [(NB, MIXED, 16), (HYBRID, HYBRID_ARCH, 64)])
def test_az_nas_components_are_finite_and_complexity_is_the_flops_proxy(space, arch: str, resolution: int) -> None:
    ctx = _ctx(arch, space=space, resolution=resolution)
    parts = az_nas_components(ctx.model, ctx.gaussian_batch(4), ctx.generator(1))
    assert list(parts) == list(COMPONENTS) and all(math.isfinite(v) for v in parts.values())
    assert parts["trainability"] <= 0
    assert parts["complexity"] == pytest.approx(get_proxy("flops").score(ctx) * 1e6)
    assert az_nas_combined(parts) == get_proxy("az_nas").score(ctx)


def test_az_nas_sees_conv_cells_as_more_expressive_and_identity_cells_as_untrainable() -> None:
    conv, pooled, identity = (
        az_nas_components(c.model, c.gaussian_batch(4), c.generator(1)) for c in map(_ctx, (CONV, SKIP_POOL, IDENTITY))
    )
    assert conv["expressivity"] > 1.5 * pooled["expressivity"]
    assert conv["trainability"] > pooled["trainability"] > -10
    assert identity["trainability"] < -1e4  # 15 of 17 block pairs pass their gradient through unchanged
    assert get_proxy("az_nas").score(_ctx(CONV)) > get_proxy("az_nas").score(_ctx(SKIP_POOL))


def test_az_nas_rank_fusion_is_the_sum_of_log_relative_ranks() -> None:
    population = [
        {"expressivity": 3.0, "progressivity": 0.3, "trainability": -0.1, "complexity": 30.0},
        {"expressivity": 1.0, "progressivity": 0.1, "trainability": -0.3, "complexity": 10.0},
        {"expressivity": 2.0, "progressivity": 0.1, "trainability": -0.2, "complexity": 20.0},
    ]
    fused = az_nas_rank_fusion(population)
    assert fused[0] == 0.0  # best on every component: log(3/3) four times
    assert fused[1] == pytest.approx(3 * math.log(1 / 3) + math.log(1.5 / 3))  # tie on progressivity
    assert fused[0] > fused[2] > fused[1]
