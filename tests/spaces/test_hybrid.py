"""Hybrid space: size range, validation messages, and ONNX export parity."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from hwnas.counting import count_params
from hwnas.errors import InvalidArchitecture, UsageError
from hwnas.onnx_export import export_onnx
from hwnas.spaces import get_space

SMALLEST = "w24-e2:ib3/w48-e2-q32-h2:ib3/w96-e2-q64-h2:ib3,ib3/w160-e2-q96-h2:ib3"
LARGEST = (
    "w48-e4:cn7,cn7,cn7/w96-e4-q48-h4:tc7,tc7,tc7/w176-e4-q96-h4:tc7,tc7,tc7,tc7,tc7,tc7,tc7,tc7"
    "/w320-e4-q128-h4:tc7,tc7,tc7"
)


def test_space_spans_edgenext_xxs_to_s_sizes() -> None:
    space = get_space("hybrid")
    small = count_params(space.build(space.decode(SMALLEST))) / 1e6
    large = count_params(space.build(space.decode(LARGEST))) / 1e6
    assert small < 1.0 and large > 6.0
    sampled = [count_params(space.build(a)) / 1e6 for a in space.sample_many(20, seed=0)]
    assert min(sampled) < 1.3 < 5.0 < max(sampled) or (min(sampled) < 1.3 and max(sampled) > 3.0)


@pytest.mark.parametrize(
    ("bad", "names"),
    [
        (SMALLEST.replace("w24", "w25"), "stage 1.*width 25"),
        (SMALLEST.replace("ib3/w48", "tm/w48"), "not allowed in stage 1"),
        (SMALLEST.replace("-q32-h2", ""), "stage 2.*missing '-q"),
        (SMALLEST.replace("q64", "q65"), "stage 3.*qkv dimension 65"),
        (SMALLEST.replace("ib3,ib3", "ib3,ib9"), "kernel 9"),
        (SMALLEST.replace("ib3,ib3", "ib3,xx3"), "layer 'xx3'"),
        (SMALLEST.replace("w96-e2-q64-h2:ib3,ib3", "w96-e2-q64-h2:ib3"), "stage 3.*depth 1"),
        (SMALLEST + "/w160-e2-q96-h2:ib3", "4 '/'-separated"),
    ],
)
def test_errors_name_the_offending_part(bad: str, names: str) -> None:
    with pytest.raises(InvalidArchitecture, match=names):
        get_space("hybrid").decode(bad)


def test_resolution_must_be_a_multiple_of_32() -> None:
    space = get_space("hybrid")
    with pytest.raises(UsageError, match="multiple of 32"):
        space.blocks(space.decode(SMALLEST), resolution=100)


def test_all_blocks_cover_every_sampled_network() -> None:
    space = get_space("hybrid")
    keys = {spec.key for spec in space.all_blocks()}
    for arch in space.sample_many(30, seed=11):
        assert {s.key for s in space.blocks(arch)} <= keys


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampled_networks_export_to_onnx_and_match_pytorch(tmp_path, seed: int) -> None:
    space = get_space("hybrid")
    arch = space.sample_many(1, seed=seed)[0]
    resolution = 160  # smaller than default to keep CI fast; shapes stay multiples of 32
    torch.manual_seed(seed)
    net = space.build(arch, resolution=resolution)
    path = export_onnx(net, space.input_shape(resolution), tmp_path / "net.onnx")
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    x = space.example_input(resolution, seed=seed)
    with torch.no_grad():
        expected = net(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x.numpy()})[0]
    assert np.abs(got - expected).max() < 1e-4
