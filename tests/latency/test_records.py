"""The typed table records read the committed host-cpu table losslessly and predict the same numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwnas.io import read_json
from hwnas.latency.sources import BlockLatencyTable
from hwnas.latency.table import LatencyTable
from hwnas.records import TableEntry
from hwnas.spaces import get_space

COMMITTED = Path(__file__).resolve().parents[2] / "latency_tables" / "host-cpu.json"

# predicted / raw ms for three hybrid networks, computed on main before the records existed
BEFORE = {
    "w32-e3:ib3/w96-e3-q32-h2:ib3/w128-e2-q64-h2:tm,tm,tc7,ib7,tm,ib3/w320-e3-q128-h2:tc3": (
        8.097778228912041,
        7.63847,
    ),
    "w32-e4:ib3,ib5,ib7/w96-e4-q32-h2:cn7/w176-e3-q96-h4:cn5,ib3,tm,tc5,cn5,ti5/w320-e2-q128-h2:cn3": (
        15.869023965196593,
        15.246151600000001,
    ),
    "w32-e2:ib7,cn5/w96-e4-q48-h4:ib3,cn5/w176-e2-q96-h4:cn7,cn7/w224-e3-q128-h2:ti3": (8.708616761885729, 8.236452),
}


def test_committed_table_round_trips_exactly() -> None:
    raw = read_json(COMMITTED)
    table = LatencyTable.load(COMMITTED)
    assert table.to_json() == raw
    assert list(table.to_json()) == list(raw)  # same key order as the file


def test_committed_table_predicts_the_same_numbers() -> None:
    source = BlockLatencyTable.from_file(COMMITTED)
    space = get_space("hybrid")
    for arch, (predicted, raw) in BEFORE.items():
        assert source.predict_ms(space, arch) == pytest.approx(predicted, rel=1e-15)
        assert source.raw_ms(space, arch) == pytest.approx(raw, rel=1e-15)
    described = source.describe()
    assert described["calibration"] == {
        "scale": 1.0214998661727048,
        "offset_ms": 0.2950821461478216,
        "method": "linear",
    }
    assert described["validation"]["within_10pct"] == 0.9 and described["complete"] is True


def test_entry_without_rounds_reads_as_one_round() -> None:
    old = {
        "kind": "stem",
        "input_shape": [1, 3, 8, 8],
        "median_ms": 1.0,
        "p10_ms": 0.9,
        "p90_ms": 1.2,
        "mean_ms": 1.0,
        "std_ms": 0.1,
        "n": 10,
    }
    entry = TableEntry.from_json(old)
    assert entry.rounds_done == 1 and entry.to_json() == {**old, "source": "measured"}  # old tables: all measured
    faster = entry.with_round(entry.stats.__class__(0.8, 0.7, 0.9, 0.8, 0.05, 10), "median")
    assert faster.rounds == 2 and faster.stats.median_ms == 0.8 and faster.round_medians_ms == (1.0, 0.8)
