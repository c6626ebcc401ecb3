"""NAS-Bench-201 fidelity: our network is the benchmark's network."""

from __future__ import annotations

import pytest

from hwnas.counting import count_params
from hwnas.errors import InvalidArchitecture
from hwnas.spaces import get_space


def test_params_match_the_benchmark_for_every_dev_arch(nb201_dev_rows) -> None:
    space = get_space("nb201")
    assert len(nb201_dev_rows) == 3000
    mismatches = []
    for row in nb201_dev_rows:
        arch = space.decode(row["arch_str"])
        assert space.encode(arch) == row["arch_str"]
        params_m = count_params(space.build(arch, num_classes=10, resolution=32)) / 1e6
        if abs(params_m - float(row["ref_params"])) > 1e-3:
            mismatches.append((row["arch_str"], params_m, row["ref_params"]))
    assert not mismatches, mismatches[:5]


def test_space_has_15625_archs_and_45k_cells() -> None:
    space = get_space("nb201")
    cells = sum(1 for spec in space.all_blocks() if spec.kind == "cell")
    assert cells == 3 * 5**6


@pytest.mark.parametrize(
    ("bad", "names"),
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|", "3 '\\+'-separated"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "'op~0'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2"),
    ],
)
def test_errors_name_the_offending_part(bad: str, names: str) -> None:
    with pytest.raises(InvalidArchitecture, match=names):
        get_space("nb201").decode(bad)
