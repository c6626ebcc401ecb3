"""The latency commands: devices, profile, latency, validate-table; JSON on stdout, one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from hwnas.cli.main import main
from hwnas.io import read_json
from hwnas.latency.profile import profile_device
from hwnas.spaces import get_space

R = "32"
FAST = {
    "name": "fast-cpu",
    "runtime": "onnxruntime",
    "precision": "fp32",
    "threads": 1,
    "timing": {"warmup_runs": 1, "warmup_s": 0.0, "min_runs": 3, "min_time_s": 0.002},
}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty tables dir, a private export cache and a quick-timing device named fast-cpu."""
    monkeypatch.setenv("HWNAS_TABLES_DIR", str(tmp_path / "tables"))
    monkeypatch.setenv("HWNAS_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "fast-cpu.yaml").write_text(yaml.safe_dump(FAST))
    monkeypatch.setenv("HWNAS_DEVICES_DIR", str(tmp_path / "devices"))
    return tmp_path


def test_devices_lists_names_aliases_and_runtimes(capsys, dirs: Path) -> None:
    code, out, _ = run(capsys, "devices", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert {"host-cpu", "jetson-orin-nano", "nvidia-gpu", "raspberry-pi-5", "apple-silicon", "fast-cpu"} <= rows.keys()
    assert "jetson" in rows["jetson-orin-nano"]["aliases"] and rows["host-cpu"]["table"] is None
    code, out, _ = run(capsys, "devices")
    assert code == 0 and "jetson-orin-nano" in out


def test_unknown_device_is_a_one_line_usage_error(capsys, dirs: Path) -> None:
    arch = get_space("hybrid").encode(get_space("hybrid").sample_many(1, 0)[0])
    for args in (
        ["latency", arch, "--device", "nope"],
        ["profile", "--device", "nope"],
        ["validate-table", "--device", "nope", "--samples", "3"],
    ):
        code, out, err = run(capsys, *args)
        assert code == 2 and out == ""
        assert err.startswith("error: unknown device 'nope'") and err.count("\n") == 1


def test_bad_device_file_names_the_field(capsys, dirs: Path) -> None:
    bad = dirs / "bad.yaml"
    bad.write_text(yaml.safe_dump({**FAST, "precision": "fp8"}))
    code, _, err = run(capsys, "profile", "--device", str(bad))
    assert code == 2 and "field 'precision' must be one of fp32, fp16, int8, got 'fp8'" in err


def test_missing_table_tells_to_run_profile(capsys, dirs: Path) -> None:
    arch = get_space("hybrid").encode(get_space("hybrid").sample_many(1, 0)[0])
    code, out, err = run(capsys, "latency", arch, "--device", "host-cpu")
    assert code == 1 and out == ""
    assert "run `hwnas profile --device host-cpu` first" in err and err.count("\n") == 1
    code, _, err = run(capsys, "validate-table", "--device", "host-cpu", "--samples", "3")
    assert code == 1 and "hwnas profile --device host-cpu" in err


def test_profile_limit_resume_and_json_summary(capsys, dirs: Path) -> None:
    code, out, _ = run(capsys, "profile", "--device", "fast-cpu", "--resolution", R, "--limit", "2", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["entries"] == 2 and summary["measured"] == 2 and not summary["complete"]
    assert 0 < summary["timed_share"] <= 1 and summary["overhead_share"] == pytest.approx(1 - summary["timed_share"])
    assert Path(summary["path"]) == dirs / "tables" / "fast-cpu--hybrid-r32-c1000.json"
    code, _, err = run(capsys, "profile", "--device", "fast-cpu", "--resolution", R, "--limit", "3")
    assert code == 2 and "pass --resume" in err
    code, out, _ = run(capsys, "profile", "--device", "fast-cpu", "--resolution", R, "--limit", "3", "--resume")
    assert code == 0 and "3 of" in out and "1 block timings (2 already in the table)" in out


def test_latency_from_a_whole_arch_csv(capsys, dirs: Path) -> None:
    space = get_space("nb201")
    archs = [space.encode(a) for a in space.sample_many(3, 5)]
    path = dirs / "nb.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([["arch_str", "pixel3_latency_ms"], *[[a, str(10 + i)] for i, a in enumerate(archs)]])
    code, out, _ = run(
        capsys,
        "latency",
        archs[1],
        "--space",
        "nb201",
        "--table",
        str(path),
        "--latency-column",
        "pixel3_latency_ms",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["predicted_ms"] == 11.0 and "measured_ms" not in data and data["source"]["kind"] == "arch-table"
    assert data["device"] is None  # a whole-arch table names no device of ours
    other = next(space.encode(a) for a in space.sample_many(50, 9) if space.encode(a) not in archs)
    code, _, err = run(
        capsys, "latency", other, "--space", "nb201", "--table", str(path), "--latency-column", "pixel3_latency_ms"
    )
    assert code == 1 and "is not in" in err


def test_latency_measure_and_validate_table(capsys, dirs: Path) -> None:
    # two interleaved rounds per block and per network: the rounds path end to end
    (dirs / "devices" / "fast-cpu.yaml").write_text(yaml.safe_dump({**FAST, "timing": {**FAST["timing"], "rounds": 2}}))
    space = get_space("hybrid")
    archs = space.sample_many(4, 11)
    blocks = [spec for arch in archs for spec in space.blocks(arch, int(R))]
    profile_device("fast-cpu", space=space, resolution=int(R), blocks=blocks)
    arch = space.encode(archs[0])
    code, out, _ = run(capsys, "latency", arch, "--device", "fast-cpu", "--resolution", R, "--measure", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["predicted_ms"] > 0 and data["measured_ms"] > 0 and data["measured"]["n"] >= 3
    code, out, _ = run(
        capsys, "validate-table", "--device", "fast-cpu", "--samples", "4", "--seed", "11", "--resolution", R, "--json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["n"] == 4 and report["calibration"]["method"] == "linear"
    for figures in (report["uncalibrated"], report["calibrated"]):
        assert {"within_5pct", "within_10pct", "mape_pct", "spearman"} <= figures.keys()
    assert Path(report["plot"]).stat().st_size > 1000
    table = read_json(report["table"])
    assert table["calibration"]["scale"] == report["calibration"]["scale"] and table["calibration"]["fitted_on"] == 4
    assert table["validation"]["n"] == 4 and len(table["validation"]["samples"]) == 4
    for sample in table["validation"]["samples"]:
        assert len(sample["round_medians_ms"]) == 2 and sample["measured_ms"] == pytest.approx(
            min(sample["round_medians_ms"]), abs=1e-4
        )
    # predictions now use the calibration
    code, out, _ = run(capsys, "latency", arch, "--device", "fast-cpu", "--resolution", R, "--json")
    cal = table["calibration"]
    raw = sum(table["entries"][s.key]["median_ms"] for s in space.blocks(archs[0], int(R)))
    assert json.loads(out)["predicted_ms"] == pytest.approx(cal["scale"] * raw + cal["offset_ms"])
    code, out, _ = run(
        capsys,
        "validate-table",
        "--device",
        "fast-cpu",
        "--samples",
        "4",
        "--seed",
        "11",
        "--resolution",
        R,
        "--resume",
    )
    assert code == 0 and "in ±10%" in out and f"plot: {report['plot']}" in out
    code, _, err = run(capsys, "validate-table", "--device", "fast-cpu", "--samples", "2", "--resolution", R)
    assert code == 2 and "at least 3" in err
