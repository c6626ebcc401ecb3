"""`profile_device`: a table with the documented header, checkpointed, resumable, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwnas import __version__
from hwnas.errors import UsageError
from hwnas.io import read_json
from hwnas.latency.profile import BlockDone, profile_device
from hwnas.latency.table import SCHEMA_VERSION, LatencyTable
from hwnas.spaces import get_space

R = 32  # the smallest hybrid resolution: blocks export and run in milliseconds


def _profile(device: Path, tmp_path: Path, **kwargs):
    return profile_device(
        str(device), space="hybrid", resolution=R, tables_dir=tmp_path / "tables", work_dir=tmp_path / "work", **kwargs
    )


def test_limit_writes_a_complete_header_and_per_block_stats(fast_device: Path, tmp_path: Path) -> None:
    summary = _profile(fast_device, tmp_path, limit=3)
    assert summary.path == tmp_path / "tables" / "fast-cpu--hybrid-r32-c1000.json"
    data = read_json(summary.path)
    assert data["schema_version"] == SCHEMA_VERSION and data["kind"] == "hwnas-block-latency-table"
    assert data["device"]["name"] == "fast-cpu" and data["device"]["runtime"] == "onnxruntime"
    assert data["runtime"]["name"] == "onnxruntime" and data["runtime"]["version"]
    assert {"cpu_model", "cores", "os"} <= data["host"].keys()
    assert (data["threads"], data["precision"], data["hwnas_version"]) == (1, "fp32", __version__)
    assert data["created"] and data["space"] == "hybrid" and data["resolution"] == R and data["num_classes"] == 1000
    assert data["expected_entries"] == sum(1 for _ in get_space("hybrid").all_blocks(R))
    assert data["complete"] is False
    first3 = [s.key for s in list(get_space("hybrid").all_blocks(R))[:3]]
    assert list(data["entries"]) == first3
    for entry in data["entries"].values():
        assert {"kind", "input_shape", "median_ms", "p10_ms", "p90_ms", "mean_ms", "std_ms", "n"} <= entry.keys()
        assert 0 < entry["p10_ms"] <= entry["median_ms"] <= entry["p90_ms"] and entry["n"] >= 3
    assert summary.measured == 3 and summary.entries == 3 and not summary.complete
    assert 0 < summary.timed_s <= summary.wall_s and 0 <= summary.overhead_share < 1
    run = data["profile"]["runs"][0]
    assert run["measured"] == 3 and run["wall_s"] > 0 and data["profile"]["timed_share"] > 0
    assert summary.exported == 3


def test_interrupted_run_resumes_where_it_stopped(fast_device: Path, tmp_path: Path) -> None:
    seen: list[BlockDone] = []

    def stop_after_two(done: BlockDone) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a table

    with pytest.raises(KeyboardInterrupt):
        _profile(fast_device, tmp_path, limit=5, on_block=stop_after_two)
    path = tmp_path / "tables" / "fast-cpu--hybrid-r32-c1000.json"
    partial = read_json(path)  # the checkpoint is a whole, valid table
    assert len(partial["entries"]) == 2 and partial["complete"] is False
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind

    with pytest.raises(UsageError, match="pass --resume to continue it or --overwrite"):
        _profile(fast_device, tmp_path, limit=5)

    starts: list[tuple[int, int]] = []
    summary = _profile(fast_device, tmp_path, limit=5, resume=True, on_start=lambda t, p: starts.append((t, p)))
    assert starts == [(5, 2)]
    assert summary.measured == 3 and summary.already_present == 2 and summary.entries == 5
    resumed = read_json(path)
    for key, entry in partial["entries"].items():
        assert resumed["entries"][key] == entry  # measured entries are kept, not re-measured
    assert len(resumed["profile"]["runs"]) == 2
    assert summary.exported == 0  # the first run exported its whole first batch: the cache serves it


def test_resume_refuses_a_table_measured_differently(fast_device: Path, tmp_path: Path) -> None:
    summary = _profile(fast_device, tmp_path, limit=1)
    data = read_json(summary.path)
    data["runtime"]["version"] = "0.0.1"
    summary.path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="runtime_version '0.0.1' -> "):
        _profile(fast_device, tmp_path, limit=2, resume=True)
    fresh = _profile(fast_device, tmp_path, limit=1, overwrite=True)
    assert read_json(fresh.path)["runtime"]["version"] != "0.0.1"


def test_blocks_argument_profiles_exactly_those_blocks(fast_device: Path, tmp_path: Path) -> None:
    space = get_space("hybrid")
    arch = space.sample_many(1, seed=4)[0]
    specs = space.blocks(arch, R)
    summary = _profile(fast_device, tmp_path, blocks=specs)
    table = LatencyTable.load(summary.path)
    assert set(table.entries) == {s.key for s in specs}
    assert summary.measured == len({s.key for s in specs})  # a block repeated in the net is timed once


def test_bad_limit_is_a_usage_error(fast_device: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--limit must be at least 1"):
        _profile(fast_device, tmp_path, limit=0)


def test_rounds_keep_each_blocks_fastest_round_and_resume_mid_round(tmp_path: Path) -> None:
    from conftest import FAST_TIMING, write_device

    device = write_device(tmp_path / "devices", "rounds-cpu", timing={**FAST_TIMING, "rounds": 2})
    seen: list[BlockDone] = []

    def stop_in_round_two(done: BlockDone) -> None:
        seen.append(done)
        if len(seen) == 4:  # three blocks: round one is done, round two has started
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _profile(device, tmp_path, limit=3, on_block=stop_in_round_two)
    assert [d.total for d in seen] == [6] * 4
    path = tmp_path / "tables" / "rounds-cpu--hybrid-r32-c1000.json"
    assert sorted(e["rounds"] for e in read_json(path)["entries"].values()) == [1, 1, 2]
    summary = _profile(device, tmp_path, limit=3, resume=True)
    assert summary.measured == 2 and summary.already_present == 4 and summary.rounds == 2
    for entry in read_json(path)["entries"].values():
        assert entry["rounds"] == 2 and len(entry["round_medians_ms"]) == 2
        assert entry["median_ms"] == min(entry["round_medians_ms"])
        assert entry["p10_ms"] <= entry["median_ms"] <= entry["p90_ms"]


def test_p10_estimator_keeps_the_round_with_the_lowest_p10(tmp_path: Path) -> None:
    from conftest import FAST_TIMING, write_device

    device = write_device(tmp_path / "devices", "p10-cpu", timing={**FAST_TIMING, "rounds": 3, "estimator": "p10"})
    summary = _profile(device, tmp_path, limit=2)
    data = read_json(summary.path)
    assert data["timing"]["estimator"] == "p10"
    for entry in data["entries"].values():
        assert entry["rounds"] == 3 and entry["p10_ms"] == min(entry["round_p10_ms"])
        assert entry["median_ms"] in entry["round_medians_ms"]  # the kept round's own statistics
