"""The adb transport: LiteRT's benchmark_model output parsed into timing statistics, the whole
describe / push / measure path driven against a stand-in ``adb`` program (argument lists checked,
every word the phone's shell sees quoted), one-line errors naming what is missing, and a real
phone when one is attached (skipped with the reason otherwise)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hwnas.devices import parse_device
from hwnas.errors import MissingDependency
from hwnas.latency.targets import open_target
from hwnas.latency.timing import Measurement
from hwnas.transport.adb import benchmark_args, parse_benchmark_output

# the shape of benchmark_model's log (values made up): warm-up phase, timed phase, summary line
OUTPUT = """\
INFO: STARTING!
INFO: Num threads: [1]
INFO: Graph: [/data/local/tmp/hwnas/m.tflite]
INFO: The input model file size (MB): 1.2
INFO: Initialized session in 35.2ms.
INFO: Running benchmark for at least 10 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=120 first=5100 curr=4100 min=4000 max=5100 avg=4150.5 std=90
INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=240 first=4120 curr=4090 min=3980 max=4600 avg=4105.25 std=60 p5=4010 median=4095 p95=4300
INFO: Inference timings in us: Init: 35200, First inference: 5100, Warmup (avg): 4150.5, Inference (avg): 4105.25
"""


def test_benchmark_output_becomes_a_measurement() -> None:
    reply = parse_benchmark_output(OUTPUT)
    m = Measurement.from_reply(reply)
    assert m.stats.n == 240
    assert m.stats.median_ms == pytest.approx(4.095) and m.stats.mean_ms == pytest.approx(4.10525)
    assert (m.stats.p10_ms, m.stats.p90_ms) == (pytest.approx(4.010), pytest.approx(4.300))  # its p5 / p95
    assert m.timed_s == pytest.approx(240 * 4105.25e-6)
    assert m.setup_s == pytest.approx(0.0352 + 120 * 4150.5e-6)
    assert reply["summary"]["median_from"] == "median"


def test_older_builds_without_percentiles_and_all_same_runs() -> None:
    old = OUTPUT.replace(" p5=4010 median=4095 p95=4300", "")
    stats = Measurement.from_reply(parse_benchmark_output(old)).stats
    assert stats.median_ms == pytest.approx(4.10525) and (stats.p10_ms, stats.p90_ms) == pytest.approx((3.98, 4.6))
    same = Measurement.from_reply(parse_benchmark_output("count=3 curr=812(all same)\n")).stats
    assert (same.n, same.median_ms, same.std_ms) == (3, 0.812, 0.0)


def test_output_without_a_summary_names_the_last_line() -> None:
    with pytest.raises(ValueError, match="no timing summary.*: ERROR: Could not open 'x.tflite'"):
        parse_benchmark_output("INFO: STARTING!\nERROR: Could not open 'x.tflite'.\n")


def test_benchmark_args_follow_the_device() -> None:
    timing = {"warmup_runs": 10, "warmup_s": 0.5, "min_runs": 50, "min_time_s": 1.0}
    args = benchmark_args("/data/local/tmp/benchmark_model", "/d/m.tflite", {"threads": 2, "provider": "cpu"}, timing)
    assert args == [
        "/data/local/tmp/benchmark_model",
        "--graph=/d/m.tflite",
        "--num_threads=2",
        "--warmup_runs=10",
        "--warmup_min_secs=0.5",
        "--num_runs=50",
        "--min_secs=1",
        "--enable_op_profiling=false",
        "--use_xnnpack=true",
    ]
    assert benchmark_args("b", "m", {"threads": 1, "provider": "gpu"}, timing)[-1] == "--use_gpu=true"
    assert benchmark_args("b", "m", {"threads": 1, "provider": "cpu-builtin"}, timing)[-1] == "--use_xnnpack=false"


FAKE_ADB = """\
#!{python}
import json, os, shlex, sys
args = sys.argv[1:]
with open(os.environ["FAKE_ADB_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args == ["devices"]:
    print("List of devices attached\\nFAKE01\\tdevice")
    sys.exit(0)
if args[:2] != ["-s", "FAKE01"]:
    print("error: device '%s' not found" % args[1], file=sys.stderr)
    sys.exit(1)
cmd = args[2:]
if cmd == ["get-state"]:
    print("device")
elif cmd[0] == "push":
    print("1 file pushed")
elif cmd[0] == "shell":
    words = shlex.split(cmd[1])
    if words[:2] == ["sh", "-c"]:
        print("yes")
    elif words[0] == "getprop":
        print({{"ro.soc.model": "Tensor G3", "ro.product.model": "Pixel 8"}}.get(words[1], "14"))
    elif words[0] == "nproc":
        print(9)
    elif words[0].endswith("benchmark_model"):
        sys.stdout.write(open(os.environ["FAKE_ADB_OUTPUT"]).read())
"""


@pytest.fixture
def fake_adb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    program = tmp_path / "adb"
    program.write_text(FAKE_ADB.format(python=sys.executable))
    program.chmod(0o755)
    (tmp_path / "out.txt").write_text(OUTPUT)
    monkeypatch.setenv("FAKE_ADB_LOG", str(tmp_path / "log.jsonl"))
    monkeypatch.setenv("FAKE_ADB_OUTPUT", str(tmp_path / "out.txt"))
    return program


def _phone(adb: str, serial: str = "FAKE01") -> dict:
    return {
        "name": "phone",
        "runtime": "litert",
        "precision": "fp32",
        "threads": 4,
        "connection": "adb",
        "adb": {"serial": serial, "adb": adb, "work_dir": "/data/local/tmp/hwnas"},
    }


def test_a_phone_is_described_pushed_to_and_timed(fake_adb: Path, tmp_path: Path) -> None:
    model = tmp_path / "block 1.tflite"  # a space in the name: quoted on the phone
    model.write_bytes(b"tflite")
    with open_target(parse_device(_phone(str(fake_adb)))) as target:
        info = target.describe()
        (where,) = target.upload([model])
        m = target.measure(where, (1, 3, 8, 8))
    assert info["host"]["cpu_model"] == "Tensor G3" and info["host"]["cores"] == 9
    assert info["runtime"]["name"] == "litert" and info["runtime"]["threads"] == 4
    assert where == "/data/local/tmp/hwnas/block 1.tflite"
    assert m.stats.median_ms == pytest.approx(4.095)
    calls = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert all(c[:2] == ["-s", "FAKE01"] for c in calls)
    assert ["-s", "FAKE01", "push", str(model), where] in calls
    bench = next(c for c in calls if c[2] == "shell" and shlex.split(c[3])[0].endswith("benchmark_model"))
    words = shlex.split(bench[3])
    assert words[1] == f"--graph={where}" and "--num_threads=4" in words and words[-1] == "2>&1"
    assert shlex.quote(f"--graph={where}") in bench[3]  # one word on the phone, space and all


def test_no_adb_program_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(MissingDependency) as info:
        open_target(parse_device(_phone(str(tmp_path / "no-adb"))))
    text = str(info.value)
    assert "\n" not in text and "Android platform tools" in text and "adb.serial" in text


def test_no_phone_with_the_serial_lists_the_attached_ones(fake_adb: Path) -> None:
    with pytest.raises(MissingDependency) as info:
        open_target(parse_device(_phone(str(fake_adb), serial="OTHER9")))
    text = str(info.value)
    assert "\n" not in text and "Android device OTHER9 is not available" in text and "lists: FAKE01" in text


def test_a_real_phone_when_one_is_attached(tmp_path: Path) -> None:
    adb = shutil.which("adb")
    if adb is None:
        pytest.skip("adb is not installed (Android platform tools): no phone test")
    listed = subprocess.run([adb, "devices"], capture_output=True, text=True, timeout=30).stdout.splitlines()[1:]
    serials = [ln.split()[0] for ln in listed if ln.strip().endswith("device")]
    serial = os.environ.get("HWNAS_ADB_SERIAL") or (serials[0] if serials else None)
    if serial is None:
        pytest.skip("no phone attached (adb devices lists none)")
    device = parse_device({**_phone(adb, serial), "threads": 1})
    with open_target(device) as target:
        info = target.describe()
    assert info["host"]["os"].startswith("Android")
