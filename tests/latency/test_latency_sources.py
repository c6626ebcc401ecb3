"""Latency sources: block tables predict stem + blocks + head with calibration; whole-arch tables
look encodings up; neither guesses."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from hwnas.devices import parse_device
from hwnas.errors import HwnasError, InvalidArchitecture, LatencyUnknown, UsageError
from hwnas.latency.sources import (
    ArchLatencyTable,
    BlockLatencyTable,
    LatencySource,
    load_latency_source,
)
from hwnas.latency.table import Calibration, LatencyTable
from hwnas.latency.timing import TimingStats
from hwnas.spaces import get_space

NB201_DEV_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"
HYBRID = get_space("hybrid")
NB201 = get_space("nb201")
ARCH = HYBRID.examples[1]  # every hybrid layer kind but tm


def _synthetic_table(tmp_path: Path, archs: list[str], calibration: Calibration | None = None) -> Path:
    """A table whose block i costs a known amount: (len(key) % 7 + 1) / 10 ms."""
    device = parse_device({"name": "synthetic", "runtime": "onnxruntime", "precision": "fp32", "threads": 1})
    table = LatencyTable.new(
        device=device,
        description={"runtime": {"name": "onnxruntime", "version": "x"}, "host": {}},
        space=HYBRID,
        resolution=224,
        num_classes=1000,
        expected_entries=1005,
    )
    for arch in archs:
        for spec in HYBRID.blocks(HYBRID.decode(arch)):
            ms = (len(spec.key) % 7 + 1) / 10
            table.add(spec, TimingStats(ms, ms * 0.9, ms * 1.2, ms, 0.01, 20))
    if calibration is not None:
        table.header = replace(table.header, calibration=calibration)
    return table.save(tmp_path / "synthetic.json")


def _expected_sum(arch: str) -> float:
    return sum((len(s.key) % 7 + 1) / 10 for s in HYBRID.blocks(HYBRID.decode(arch)))


def test_block_table_predicts_stem_plus_blocks_plus_head(tmp_path: Path) -> None:
    source = BlockLatencyTable.from_file(_synthetic_table(tmp_path, [ARCH]))
    assert isinstance(source, LatencySource)
    blocks = source.block_latencies(HYBRID, ARCH)
    assert blocks[0][0].startswith("stem-") and blocks[-1][0].startswith("head-")
    assert source.predict_ms(HYBRID, ARCH) == pytest.approx(_expected_sum(ARCH))
    assert source.predict_ms(HYBRID, HYBRID.decode(ARCH)) == source.predict_ms(HYBRID, ARCH)
    assert source.describe()["kind"] == "block-table" and source.describe()["calibration"]["method"] == "identity"


def test_calibration_is_applied(tmp_path: Path) -> None:
    cal = Calibration(scale=1.25, offset_ms=0.5, method="linear")
    source = BlockLatencyTable.from_file(_synthetic_table(tmp_path, [ARCH], cal))
    assert source.raw_ms(HYBRID, ARCH) == pytest.approx(_expected_sum(ARCH))
    assert source.predict_ms(HYBRID, ARCH) == pytest.approx(1.25 * _expected_sum(ARCH) + 0.5)


def test_p10_estimator_predicts_with_block_p10s(tmp_path: Path) -> None:
    path = _synthetic_table(tmp_path, [ARCH])
    data = json.loads(path.read_text())
    data["timing"]["estimator"] = "p10"
    path.write_text(json.dumps(data))
    source = BlockLatencyTable.from_file(path)
    assert source.predict_ms(HYBRID, ARCH) == pytest.approx(0.9 * _expected_sum(ARCH))
    assert source.describe()["estimator"] == "p10"


def test_missing_block_wrong_space_or_resolution_is_unknown(tmp_path: Path) -> None:
    source = BlockLatencyTable.from_file(_synthetic_table(tmp_path, [ARCH]))
    other = ARCH.replace("cn7,tc7", "cn7,tm")
    missing = next(s.key for s in HYBRID.blocks(HYBRID.decode(other)) if s.key not in source.table.entries)
    with pytest.raises(LatencyUnknown, match=f"block {missing} is not in latency table"):
        source.predict_ms(HYBRID, other)
    with pytest.raises(LatencyUnknown, match="measured at resolution 224, not 160"):
        source.predict_ms(HYBRID, ARCH, resolution=160)
    with pytest.raises(LatencyUnknown, match="covers space 'hybrid', not 'nb201'"):
        source.predict_ms(NB201, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_arch_csv_with_arch_column_canonicalises_encodings(tmp_path: Path) -> None:
    path = tmp_path / "archs.csv"
    with path.open("w", newline="") as fh:  # hybrid encodings hold commas: the csv module quotes them
        csv.writer(fh).writerows([["arch", "latency_ms"], [f"  {ARCH} ", "12.5"]])
    source = load_latency_source(space="hybrid", table=path)
    assert isinstance(source, ArchLatencyTable)
    assert source.predict_ms(HYBRID, ARCH) == 12.5
    other = HYBRID.encode(HYBRID.sample_many(1, 3)[0])
    with pytest.raises(LatencyUnknown, match="is not in"):
        source.predict_ms(HYBRID, other)


def test_nb201_dev_csv_latency_column(nb201_dev_rows: list[dict[str, str]]) -> None:
    path = NB201_DEV_CSV
    source = load_latency_source(space="nb201", table=path, latency_column="pixel3_latency_ms")
    assert source.describe()["entries"] == len(nb201_dev_rows)
    for row in nb201_dev_rows[:20]:
        assert source.predict_ms(NB201, row["arch_str"]) == float(row["pixel3_latency_ms"])
    raspi = load_latency_source(space="nb201", table=path, latency_column="raspi4_latency_ms")
    row = nb201_dev_rows[0]
    assert raspi.predict_ms(NB201, row["arch_str"]) == float(row["raspi4_latency_ms"])
    known = {r["arch_str"] for r in nb201_dev_rows}
    absent = next(NB201.encode(a) for a in NB201.sample_many(200, seed=0) if NB201.encode(a) not in known)
    with pytest.raises(LatencyUnknown):
        source.predict_ms(NB201, absent)
    with pytest.raises(UsageError, match="no column 'latency_ms'"):
        load_latency_source(space="nb201", table=path)


def test_arch_json_mapping_and_bad_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({ARCH: 7.0}))
    assert load_latency_source(space="hybrid", table=plain).predict_ms(HYBRID, ARCH) == 7.0
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"device": "pixel3", "latency_ms": {ARCH: 8.0}}))
    assert load_latency_source(space="hybrid", table=wrapped).predict_ms(HYBRID, ARCH) == 8.0
    bad_arch = tmp_path / "bad.json"
    bad_arch.write_text(json.dumps({"w1-e1:ib3/x": 1.0}))
    with pytest.raises(InvalidArchitecture, match="bad.json"):
        load_latency_source(space="hybrid", table=bad_arch)
    negative = tmp_path / "neg.csv"
    with negative.open("w", newline="") as fh:
        csv.writer(fh).writerows([["arch_str", "latency_ms"], [ARCH, "-1"]])
    with pytest.raises(UsageError, match="must be a positive number"):
        load_latency_source(space="hybrid", table=negative)
    no_arch = tmp_path / "noarch.csv"
    no_arch.write_text("name,latency_ms\nx,1\n")
    with pytest.raises(UsageError, match="needs an 'arch'"):
        load_latency_source(space="hybrid", table=no_arch)
    with pytest.raises(UsageError, match="does not exist"):
        load_latency_source(space="hybrid", table=tmp_path / "nope.csv")


def test_device_without_table_says_to_profile(tmp_path: Path) -> None:
    with pytest.raises(HwnasError, match=r"run `hwnas profile --device host-cpu` first"):
        load_latency_source(space="hybrid", device="cpu", tables_dir=tmp_path)
    with pytest.raises(HwnasError, match=r"hwnas profile --device host-cpu --space nb201"):
        load_latency_source(space="nb201", device="host-cpu", tables_dir=tmp_path)


def test_device_table_is_found_by_name_and_alias(tmp_path: Path) -> None:
    path = _synthetic_table(tmp_path, [ARCH])
    path.rename(tmp_path / "host-cpu.json")
    source = load_latency_source(space="hybrid", device="host", tables_dir=tmp_path)
    assert isinstance(source, BlockLatencyTable)
    assert source.predict_ms(HYBRID, ARCH) == pytest.approx(_expected_sum(ARCH))
    block_by_path = load_latency_source(space="hybrid", table=tmp_path / "host-cpu.json")
    assert isinstance(block_by_path, BlockLatencyTable)
