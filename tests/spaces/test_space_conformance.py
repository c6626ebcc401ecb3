"""Every registered search space must keep the SearchSpace contract (registry-driven)."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hwnas.counting import count_flops, count_params
from hwnas.errors import InvalidArchitecture, UsageError
from hwnas.spaces import get_space, space_names

SPACES = space_names()
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@pytest.mark.parametrize("name", SPACES)
def test_sampling_is_deterministic(name: str) -> None:
    space = get_space(name)
    a = [space.encode(x) for x in space.sample_many(8, seed=123)]
    b = [space.encode(x) for x in space.sample_many(8, seed=123)]
    c = [space.encode(x) for x in space.sample_many(8, seed=124)]
    assert a == b
    assert a != c


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=200, deadline=None)
@given(seed=seeds)
def test_encode_decode_round_trip(name: str, seed: int) -> None:
    space = get_space(name)
    arch = space.sample(random.Random(seed))
    text = space.encode(arch)
    assert space.decode(text) == arch
    assert space.encode(space.decode(text)) == text


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=100, deadline=None)
@given(seed=seeds, steps=st.integers(min_value=1, max_value=12))
def test_topology_mutations_stay_in_space_and_keep_size(name: str, seed: int, steps: int) -> None:
    space = get_space(name)
    rng = random.Random(seed)
    arch = space.sample(rng)
    for _ in range(steps):
        child = space.mutate_topology(arch, rng)
        assert child != arch
        assert space.size_of(child) == space.size_of(arch)
        assert space.decode(space.encode(child)) == child  # valid: decode validates
        arch = child


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=100, deadline=None)
@given(seed=seeds, steps=st.integers(min_value=1, max_value=12))
def test_size_mutations_stay_in_space_and_keep_topology(name: str, seed: int, steps: int) -> None:
    space = get_space(name)
    rng = random.Random(seed)
    arch = space.sample(rng)
    if not space.has_size_genes:
        with pytest.raises(UsageError):
            space.mutate_size(arch, rng)
        return
    for _ in range(steps):
        child = space.mutate_size(arch, rng)
        assert child != arch
        assert space.decode(space.encode(child)) == child
        # the layers both share keep their topology genes
        for old, new in zip(space.topology_of(arch), space.topology_of(child), strict=True):
            n = min(len(old), len(new))
            assert old[:n] == new[:n]
        arch = child


@pytest.mark.parametrize("name", SPACES)
@settings(max_examples=50, deadline=None)
@given(seed=seeds)
def test_crossover_takes_genes_from_parents(name: str, seed: int) -> None:
    space = get_space(name)
    rng = random.Random(seed)
    a, b = space.sample(rng), space.sample(rng)
    child = space.crossover(a, b, rng)
    assert space.decode(space.encode(child)) == child


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("bad", ["", "garbage", "|||", "a/b/c/d", "+" * 5])
def test_malformed_encodings_raise_invalid_architecture(name: str, bad: str) -> None:
    with pytest.raises(InvalidArchitecture):
        get_space(name).decode(bad)


@pytest.mark.parametrize("name", SPACES)
def test_blocks_in_sequence_reproduce_the_network(name: str) -> None:
    """Latency tables sum blocks: the blocks must be the network, at the shapes they see."""
    space = get_space(name)
    for arch in space.sample_many(3, seed=7):
        specs = space.blocks(arch)
        assert specs[0].kind == "stem" and specs[-1].kind == "head"
        torch.manual_seed(0)
        net = space.build(arch)
        x = space.example_input()
        with torch.no_grad():
            h = x
            for spec, layer in zip(specs, net, strict=True):
                assert tuple(h.shape) == spec.input_shape, spec.key
                assert type(layer) is type(space.build_block(spec))
                h = layer(h)
            assert torch.equal(h, net(x))
        assert len(specs) == len(net)
        assert len({s.key for s in specs if s.kind == "stem"}) == 1


@pytest.mark.parametrize("name", SPACES)
def test_params_and_flops_are_counted(name: str) -> None:
    space = get_space(name)
    arch = space.sample_many(1, seed=3)[0]
    net = space.build(arch)
    assert count_params(net) > 0
    assert count_flops(net, space.input_shape()) > 0


@pytest.mark.parametrize("name", SPACES)
def test_gene_groups_are_topology_then_size(name: str) -> None:
    topology, size = get_space(name).gene_groups()
    assert (topology.name, size.name) == ("topology", "size")
    assert topology.genes


@pytest.mark.parametrize("name", SPACES)
def test_block_sum_counts_equal_whole_network_counts(name: str) -> None:
    from hwnas.counting import count_arch

    space = get_space(name)
    for arch in space.sample_many(2, seed=5):
        net = space.build(arch)
        assert count_arch(space, arch) == (count_params(net), count_flops(net, space.input_shape()))


def test_atomic_writes_make_ordinary_files(tmp_path) -> None:
    import os
    import stat

    from hwnas.io import atomic_write_text

    target = tmp_path / "out.txt"
    atomic_write_text(target, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("name", SPACES)
def test_space_metadata(name: str) -> None:
    """Every space states its input statistics and canonical examples, and implements mutate_size iff it
    has size genes."""
    from hwnas.spaces.base import SearchSpace

    space = get_space(name)
    stats = space.preprocessing
    assert len(stats.mean) == 3 and len(stats.std) == 3 and all(s > 0 for s in stats.std) and stats.statistics
    assert space.examples and all(space.encode(space.decode(e)) == e for e in space.examples)
    overrides = type(space).mutate_size is not SearchSpace.mutate_size
    assert overrides == space.has_size_genes == bool(space.gene_groups()[1].genes)


@pytest.mark.parametrize("name", SPACES)
def test_sed_rules_cover_every_block_kind(name: str) -> None:
    """A space with SED rules has one per block kind it can contain (SED is an optional capability)."""
    import math

    from hwnas.proxies.sed import sed_score

    space = get_space(name)
    if space.sed_rules is None:
        pytest.skip(f"the {name} space has no sed_rules")
    assert set(space.sed_rules) == {spec.kind for spec in space.all_blocks()}
    assert all(math.isfinite(sed_score(space, space.decode(e))) for e in space.examples)
