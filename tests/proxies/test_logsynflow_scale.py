"""LogSynflow in the log domain with per-block rescaling: the reference value where the reference
is defined (NB201), finite for every hybrid network at 224, and rising with size."""

from __future__ import annotations

import math
import random

import pytest
import torch

from hwnas.proxies.synflow import logsynflow_score, synflow_gradients
from hwnas.spaces import get_space
from hwnas.spaces.hybrid import DEPTHS, EXPANSIONS, HEADS, QKV_DIMS, WIDTHS
from hwnas.spaces.references import REFERENCES


def reference_definition(model: torch.nn.Module, shape: tuple[int, ...]) -> float:
    """REFERENCE §2 as written: float64, the raw signal, Σ|W ⊙ log(∂R/∂W + 1)|."""
    return float(sum((w * torch.log1p(g.abs())).abs().sum() for w, g in synflow_gradients(model, shape)))


def test_equals_the_reference_definition_on_nb201() -> None:
    space = get_space("nb201")
    rng = random.Random(3)
    for _ in range(6):
        torch.manual_seed(0)
        model = space.build(space.sample(rng))
        shape = space.input_shape(32)
        expected = reference_definition(model, shape)
        assert logsynflow_score(model, shape) == pytest.approx(expected, rel=1e-5)


def _largest() -> str:
    stages = []
    for s in range(4):
        attn = f"-q{max(QKV_DIMS[s])}-h{max(HEADS[s])}" if QKV_DIMS[s] else ""
        token = "tc7" if s else "cn7"
        stages.append(f"w{max(WIDTHS[s])}-e{max(EXPANSIONS)}{attn}:" + ",".join([token] * max(DEPTHS[s])))
    return "/".join(stages)


@pytest.mark.parametrize("name", [*REFERENCES, "largest"])
def test_finite_for_the_largest_network_and_every_reference(name: str) -> None:
    space = get_space("hybrid")
    text = _largest() if name == "largest" else REFERENCES[name].encoding
    torch.manual_seed(0)
    model = space.build(space.decode(text))
    score = logsynflow_score(model, space.input_shape(224))
    assert math.isfinite(score) and score > 0


def test_rises_with_width_and_depth_through_attention() -> None:
    """Transformer layers (tc5) in stages 2-4: the raw signal used to explode there."""
    space = get_space("hybrid")
    scores = []
    for w, d in ((0, 0), (1, 1), (2, 2)):
        text = "/".join(
            f"w{WIDTHS[s][w]}-e3" + (f"-q{QKV_DIMS[s][-1]}-h2" if QKV_DIMS[s] else "") + ":"
            + ",".join(["tc5" if s else "ib3"] * DEPTHS[s][d + (s == 2)])
            for s in range(4)
        )  # fmt: skip
        torch.manual_seed(0)
        scores.append(logsynflow_score(space.build(space.decode(text)), space.input_shape(224)))
    assert scores == sorted(scores) and len(set(scores)) == 3, scores
