"""SED: from the architecture description alone, and obeying the principle it is derived from."""

from __future__ import annotations

import pytest

from hwnas.layers.entropy import Field, attention_pool, relu_correlation
from hwnas.proxies import score_architecture
from hwnas.proxies.sed import sed_score
from hwnas.spaces import get_space

NB = get_space("nb201")


def _sed(text: str) -> float:
    return sed_score(NB, NB.decode(text))


def _cell(*ops: str) -> str:
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


def test_sed_never_builds_or_runs_a_network(monkeypatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("sed must not build a network")

    for space_name, text in (
        ("nb201", _cell(*["nor_conv_3x3"] * 6)),
        ("hybrid", "w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:cn3,ti5/w160-e2-q96-h2:tc3"),
    ):
        space = get_space(space_name)
        monkeypatch.setattr(type(space), "build", forbidden)
        monkeypatch.setattr(type(space), "build_block", forbidden)
        value = score_architecture(space, space.decode(text), ["sed"])["sed"]
        assert isinstance(value, float)


def test_principle_large_pooling_small_kernels_and_excess_skips_lower_sed() -> None:
    convs = _cell("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_3x3")
    small_kernels = _cell(
        "nor_conv_1x1", "nor_conv_1x1", "nor_conv_1x1", "skip_connect", "nor_conv_1x1", "nor_conv_1x1"
    )
    pooled = _cell("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "avg_pool_3x3", "nor_conv_3x3")
    skips = _cell("nor_conv_3x3", "skip_connect", "skip_connect", "skip_connect", "skip_connect", "nor_conv_3x3")
    dead = _cell(*["none"] * 6)
    assert _sed(convs) > _sed(small_kernels)
    assert _sed(convs) > _sed(pooled)
    assert _sed(convs) > _sed(skips)
    assert min(_sed(convs), _sed(small_kernels), _sed(pooled), _sed(skips)) > _sed(dead)


def test_attention_at_initialisation_pools_toward_a_bias() -> None:
    field = Field(0.0, 0.3)
    pooled = attention_pool(field, 14)
    assert pooled.r > 0.99 and pooled.local_entropy < field.local_entropy - 5


def test_hybrid_sed_depends_on_kernels_and_resolution() -> None:
    hybrid = get_space("hybrid")
    small = hybrid.decode("w24-e2:ib3/w48-e2-q32-h2:ib3/w96-e2-q64-h2:ib3,ib3/w160-e2-q96-h2:ib3")
    large = hybrid.decode("w24-e2:ib7/w48-e2-q32-h2:ib7/w96-e2-q64-h2:ib7,ib7/w160-e2-q96-h2:ib7")
    assert sed_score(hybrid, large, 224) > sed_score(hybrid, small, 224)
    attention = hybrid.decode("w24-e2:ib3/w48-e2-q32-h2:ti3/w96-e2-q64-h2:ti3,ti3/w160-e2-q96-h2:ti3")
    assert sed_score(hybrid, attention, 96) != sed_score(hybrid, attention, 224)  # tokens pooled over


def test_gaussian_building_blocks() -> None:
    assert relu_correlation(0.0) == pytest.approx(0.0, abs=1e-12)
    assert relu_correlation(1.0) == pytest.approx(1.0)
    assert 0.0 < relu_correlation(0.5) < 0.5
    assert Field(0.0, 0.9).local_entropy < Field(0.0, 0.1).local_entropy < Field(1.0, 0.1).local_entropy


def test_a_space_without_sed_rules_is_a_usage_error_naming_it() -> None:
    from hwnas.errors import UsageError

    class NoRules(type(NB)):
        name = "no-rules"
        sed_rules = None

    space = NoRules()
    with pytest.raises(UsageError, match=r"'no-rules' space.*spaces with them: hybrid, nb201"):
        sed_score(space, space.decode(space.examples[0]))


def test_a_block_kind_without_a_rule_is_a_usage_error_naming_it() -> None:
    from hwnas.errors import UsageError

    class MissingRule(type(NB)):
        name = "missing-rule"
        sed_rules = {k: v for k, v in NB.sed_rules.items() if k != "reduction"}

    space = MissingRule()
    with pytest.raises(UsageError, match="no rule for its 'reduction' blocks"):
        sed_score(space, space.decode(space.examples[0]))
