"""Bad input ends in exactly one `error:` line with the exit code docs/README.md documents, no traceback, no leftovers.

Table-driven: each case is a command line and the exit code and message it must give.
The run folder a case names must not exist afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dev_data import nb201_latency_csv

from hwnas.cli.main import main

DEV = str(nb201_latency_csv())  # the dev CSV, or a synthetic latency table without ../shared
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
NB201_SEARCH = [
    "search",
    "--space",
    "nb201",
    "--latency-table",
    DEV,
    "--latency-column",
    "pixel3_latency_ms",
    "--evaluations",
    "4",
    "--out",
    "{out}",
]


def _with(args: list[str], **changes: str) -> list[str]:
    args = list(args)
    for flag, value in changes.items():
        flag = "--" + flag.replace("_", "-")
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return args


CASES = [
    # (id, argv, exit code, message fragment)
    ("nan budget", _with(NB201_SEARCH, latency_ms="nan"), 2, "--latency-ms must be a finite number above 0"),
    (
        "bounds no network meets",
        _with(NB201_SEARCH, latency_ms="50", params_m="0.001"),
        1,
        "no feasible architecture in 20000 random samples: --params-m / --flops-m are too tight",
    ),
    ("infinite budget", _with(NB201_SEARCH, latency_ms="inf"), 2, "--latency-ms must be a finite number above 0"),
    ("negative budget", _with(NB201_SEARCH, latency_ms="-3"), 2, "--latency-ms must be a finite number above 0"),
    ("nan params bound", _with(NB201_SEARCH, latency_ms="10", params_m="nan"), 2, "--params-m must be a finite"),
    ("zero flops bound", _with(NB201_SEARCH, latency_ms="10", flops_m="0"), 2, "--flops-m must be a finite"),
    (
        "tournament above population",
        _with(NB201_SEARCH, latency_ms="10", tournament="30"),
        2,
        "--tournament (30) cannot be larger than --population (25)",
    ),
    (
        "zero evaluations",
        _with(NB201_SEARCH, latency_ms="10", evaluations="0"),
        2,
        "--evaluations must be a whole number",
    ),
    ("zero parallel", _with(NB201_SEARCH, latency_ms="10", parallel="0"), 2, "--parallel must be a whole number"),
    ("huge parallel", _with(NB201_SEARCH, latency_ms="10", parallel="5000"), 2, "--parallel must be a whole number"),
    ("fractional parallel", _with(NB201_SEARCH, latency_ms="10", parallel="2.5"), 2, "--parallel"),
    ("zero threads", _with(NB201_SEARCH, latency_ms="10", threads="0"), 2, "--threads must be a whole number"),
    ("unknown strategy", _with(NB201_SEARCH, latency_ms="10", strategy="annealing"), 2, "unknown strategy 'annealing'"),
    (
        "option of another strategy",
        _with(NB201_SEARCH, latency_ms="10", strategy="freerea", cycles="2"),
        2,
        "takes no --cycles",
    ),
    (
        "proxy resolution 0",
        _with(NB201_SEARCH, latency_ms="10", proxy_resolution="0"),
        2,
        "--resolution must be from 8",
    ),
    ("huge resolution", ["info", ARCH, "--space", "nb201", "--resolution", "32000"], 2, "--resolution must be from 8"),
    ("resolution 0", ["info", ARCH, "--space", "nb201", "--resolution", "0"], 2, "--resolution must be from 8"),
    ("negative seed", ["sample", "--space", "nb201", "--seed", "-1"], 2, "--seed must be from 0"),
    ("absurd sample count", ["sample", "--space", "nb201", "-n", "1" + "0" * 21], 2, "-n must be from 1 to 1,000,000"),
    ("zero sample count", ["sample", "--space", "nb201", "-n", "0"], 2, "-n must be from 1 to 1,000,000"),
]


@pytest.mark.parametrize("argv,code,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    out = tmp_path / "run"
    argv = [a.replace("{out}", str(out)) for a in argv]
    assert main(argv) == code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists(), "a failed command left its run folder behind"


def test_ctrl_c_says_what_was_saved_and_how_to_resume(tmp_path: Path) -> None:
    """A real SIGINT mid-search: exit 130, one line naming --resume, and the resumed run finishes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    argv = [a.replace("{out}", str(out)) for a in _with(NB201_SEARCH, latency_ms="10", evaluations="600", proxy="sed")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hwnas", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    deadline = time.time() + 120
    while not (out / "checkpoint.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    last = err.decode().strip().splitlines()[-1]
    assert proc.returncode == 130 and last.startswith("error: interrupted") and "--resume" in last
    assert not (out / "best.json").exists()
    assert main([*argv, "--resume", "--json"]) == 0 and (out / "best.json").exists()


def test_score_never_replaces_a_file_that_is_not_a_score_table(tmp_path: Path, capsys) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    code = main(["score", "--space", "nb201", "-p", "params", ARCH, "--out", str(notes)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "is not an hwnas score table" in lines[0]
    assert notes.read_text() == "my notes\n" and not (tmp_path / "notes.txt.meta.json").exists()
    code = main(["score", "--space", "nb201", "-p", "params", ARCH, "--out", str(tmp_path)])
    assert code == 2 and "is a directory" in capsys.readouterr().err
    table = tmp_path / "scores.csv"
    assert main(["score", "--space", "nb201", "-p", "params", ARCH, "--out", str(table)]) == 0
    assert main(["score", "--space", "nb201", "-p", "params", ARCH, "--out", str(table)]) == 0  # a table may be redone


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # cut short by a full disk
        lambda text: "[1, 2]",
        lambda text: '{"version": 2, "config": {}, "state": {"bogus": 1}}',
        lambda text: "\x00\x01binary",
    ],
    ids=["truncated", "a list", "unknown state", "binary"],
)
def test_a_damaged_checkpoint_is_one_error_line_on_resume(tmp_path: Path, capsys, damage) -> None:
    out = tmp_path / "run"
    argv = [a.replace("{out}", str(out)) for a in _with(NB201_SEARCH, latency_ms="10", proxy="sed")]
    assert main([*argv, "--json"]) == 0
    checkpoint = out / "checkpoint.json"
    checkpoint.write_text(damage(checkpoint.read_text()))
    capsys.readouterr()
    code = main([*argv, "--resume"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and "checkpoint" in err[0], err


def test_os_and_encoding_errors_are_one_line(tmp_path: Path, capsys) -> None:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    code = main(["score", "--space", "nb201", "-p", "params", ARCH, "--out", str(a_file / "sub" / "s.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("error: ") and "plain.txt" in err[0], err
    binary = tmp_path / "table.csv"
    binary.write_bytes(b"a\x00\xff\xfe\x81")
    code = main(
        [
            "search",
            "--space",
            "nb201",
            "--latency-table",
            str(binary),
            "--latency-column",
            "x",
            "--latency-ms",
            "5",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not UTF-8" in err[0] and "table.csv" in err[0], err  # names the file
    assert not (tmp_path / "run").exists()


TABLE = Path(__file__).resolve().parents[2] / "latency_tables" / "host-cpu.json"
FIRST_ENTRY = next(iter(json.loads(TABLE.read_text())["entries"]))


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda t: t.pop(key)


def _set_entry(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda t: t["entries"][FIRST_ENTRY].__setitem__(field, value)


BAD_TABLES = [
    ("no entries", _drop("entries"), "missing 'entries'"),
    ("no device", _drop("device"), "missing 'device'"),
    (
        "entries as a list",
        lambda t: t.__setitem__("entries", list(t["entries"].values())),
        "'entries' must be a JSON object",
    ),
    ("a string entry", lambda t: t["entries"].__setitem__(FIRST_ENTRY, "fast"), 'must be a JSON object, got "fast"'),
    ("a NaN entry", _set_entry("p10_ms", float("nan")), "p10_ms must be a finite number >= 0"),
    ("a negative entry", _set_entry("median_ms", -2.0), "median_ms must be a finite number >= 0, got -2"),
    ("a negative calibration", lambda t: t["calibration"].__setitem__("scale", -1.0), "finite 'scale' above 0"),
    ("an entry without its kind", lambda t: t["entries"][FIRST_ENTRY].pop("kind"), "KeyError: 'kind'"),
]


@pytest.mark.parametrize("change,message", [c[1:] for c in BAD_TABLES], ids=[c[0] for c in BAD_TABLES])
def test_a_malformed_latency_table_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict[str, Any]], None], message: str
) -> None:
    table = json.loads(TABLE.read_text())
    change(table)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(table))
    out = tmp_path / "run"
    argv = ["search", "--space", "hybrid", "--latency-table", str(bad), "--latency-ms", "5", "--evaluations", "2"]
    assert main([*argv, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not out.exists()


ROW = f"{ARCH},3.5\n"
BAD_CSVS = [
    ("utf-16", ("arch,latency_ms\n" + ROW).encode("utf-16"), "not UTF-8 text"),
    ("binary", bytes(range(256)) * 4, "not UTF-8 text"),
    ("same arch, two latencies", ("arch,latency_ms\n" + ROW + f"{ARCH},9.0\n").encode(), "appears again"),
    ("a number that is not", ("arch,latency_ms\n" + f"{ARCH},fast\n").encode(), "is not a number"),
    ("no arch column", b"name,latency_ms\nx,1\n", "needs an 'arch'"),
]


@pytest.mark.parametrize("content,message", [c[1:] for c in BAD_CSVS], ids=[c[0] for c in BAD_CSVS])
def test_a_bad_whole_arch_csv_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    table = tmp_path / "lat.csv"
    table.write_bytes(content)
    out = tmp_path / "run"
    assert (
        main(["search", "--space", "nb201", "--latency-table", str(table), "--latency-ms", "5", "--out", str(out)]) == 2
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert str(table) in lines[0] and not out.exists()


def test_a_byte_order_mark_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hwnas.latency.sources import ArchLatencyTable
    from hwnas.spaces import get_space

    table = tmp_path / "lat.csv"
    table.write_bytes(("arch,latency_ms\n" + ROW).encode("utf-8-sig"))  # what spreadsheets write
    assert list(ArchLatencyTable.from_csv(table, get_space("nb201")).latency_ms.values()) == [3.5]


def test_a_failed_profile_leaves_no_empty_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    device = tmp_path / "gpu.yaml"
    device.write_text("name: no-gpu\nruntime: onnxruntime\nprovider: CUDAExecutionProvider\n")
    tables = tmp_path / "tables"
    argv = ["profile", "--device", str(device), "--tables-dir", str(tables), "--limit", "2"]
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "CUDAExecutionProvider" in lines[0], lines
    assert not tables.exists() or not any(tables.iterdir())  # the next run is not blocked by "exists"


def test_a_failed_score_leaves_no_table_or_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hwnas.spaces import get_space

    out = tmp_path / "s.csv"
    arch = get_space("hybrid").examples[0]
    argv = [
        "score",
        "--space",
        "hybrid",
        "-p",
        "es",
        "--batch-size",
        "1",
        "--resolution",
        "32",
        arch,
        "--out",
        str(out),
    ]
    assert main(argv) == 2
    assert "positions per feature map" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [bytes(range(256)) * 8, b"PK\x03\x04garbage"], ids=["random bytes", "broken zip"])
def test_garbage_archives_say_what_a_valid_one_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    bad = tmp_path / "x.npz"
    bad.write_bytes(content)
    argv = ["score", "--space", "nb201", "-p", "revisit", "--data", str(bad), ARCH, "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "not a valid .npz archive" in err and "pickle" not in err and err.count("\n") == 1
    weights = tmp_path / "w.pt"
    weights.write_bytes(content)
    argv = ["export", ARCH, "--space", "nb201", "--weights", str(weights), "--no-measure", "--out", str(tmp_path / "e")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "not a valid PyTorch state dict" in err and "weights_only" not in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pt", "x.npz"]
