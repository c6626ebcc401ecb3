"""SED values recorded before its per-space rules moved into the spaces (commit eeb6c40):
the move must not change a single bit, so these compare with ``==``."""

from __future__ import annotations

import pytest

from hwnas.proxies.sed import sed_score
from hwnas.spaces import get_space

RECORDED = [
    (
        "nb201",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|",
        None,
        1493.0695955990764,
    ),
    (
        "nb201",
        "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|avg_pool_3x3~2|",
        None,
        1098.3084637649881,
    ),
    (
        "nb201",
        "|none~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|avg_pool_3x3~1|skip_connect~2|",
        None,
        566.7958919908151,
    ),
    ("nb201", "|none~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|none~2|", None, -506.7041631339957),
    (
        "nb201",
        "|skip_connect~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|",
        None,
        587.8854973284037,
    ),
    (
        "nb201",
        "|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|",
        None,
        1196.481481381532,
    ),
    (
        "nb201",
        "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
        None,
        883.8011644060134,
    ),
    (
        "nb201",
        "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|avg_pool_3x3~2|",
        None,
        485.161698299211,
    ),
    ("nb201", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", None, -506.7041631339957),
    ("hybrid", "w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:ib3,ti3/w160-e2-q96-h2:cn3", None, 242.2953177657369),
    ("hybrid", "w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:ib3,ti3/w160-e2-q96-h2:cn3", 96, 242.29532213738636),
    (
        "hybrid",
        "w24-e3:ib3,ib3/w48-e3-q32-h2:ib3,ib5/w96-e3-q64-h2:ib5,ti5,tc5/w160-e3-q96-h2:cn7,tc7",
        None,
        645.6552449524174,
    ),
    (
        "hybrid",
        "w32-e3:ib3/w96-e3-q32-h2:ib3/w128-e2-q64-h2:tm,tm,tc7,ib7,tm,ib3/w320-e3-q128-h2:tc3",
        None,
        484.3449707546712,
    ),
    (
        "hybrid",
        "w32-e3:ib3/w96-e3-q32-h2:ib3/w128-e2-q64-h2:tm,tm,tc7,ib7,tm,ib3/w320-e3-q128-h2:tc3",
        96,
        484.3449707546751,
    ),
    (
        "hybrid",
        "w32-e4:ib3,ib5,ib7/w96-e4-q32-h2:cn7/w176-e3-q96-h4:cn5,ib3,tm,tc5,cn5,ti5/w320-e2-q128-h2:cn3",
        None,
        693.317824863351,
    ),
    (
        "hybrid",
        "w32-e2:ib7,cn5/w96-e4-q48-h4:ib3,cn5/w176-e2-q96-h4:cn7,cn7/w224-e3-q128-h2:ti3",
        96,
        317.59008871706396,
    ),
    (
        "hybrid",
        "w24-e3:ib7/w48-e3-q48-h2:ib5,cn7/w128-e3-q96-h4:cn7,cn3,ib3/w160-e2-q96-h2:cn7",
        None,
        347.5166851967169,
    ),
]


@pytest.mark.parametrize(("space_name", "text", "resolution", "expected"), RECORDED)
def test_sed_is_bit_identical_to_the_recorded_value(
    space_name: str, text: str, resolution: int | None, expected: float
) -> None:
    space = get_space(space_name)
    assert sed_score(space, space.decode(text), resolution) == expected
