"""The on-device runner: a standard-library zipapp, honours the timing rule, speaks JSON lines."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from hwnas.ondevice import core, machine, protocol
from hwnas.onnx_export import export_onnx
from hwnas.runtimes import RUNTIMES, device_modules
from hwnas.runtimes.timing import TimingSettings
from hwnas.transport.zipapp import archive_members, write_runner

RUNTIME_MODULES = {
    "onnxruntime",
    "numpy",
    "tensorrt",
    "cuda",
    "coremltools",
    "ai_edge_litert",
    "tflite_runtime",
    "openvino",
}
RUNNER_PACKAGE = "hwnas.ondevice"


def _timing(**fields: object) -> dict[str, object]:
    """A full timing dict, as the host always sends it."""
    return TimingSettings(**fields).to_dict()  # type: ignore[arg-type]


@pytest.mark.parametrize("member", sorted(n for n, src in archive_members().items() if src is not None))
def test_runner_modules_import_only_the_standard_library(member: str) -> None:
    """What the zipapp ships: top level stdlib (or the runner core), runtimes only inside functions."""
    members = archive_members()
    source = members[member]
    assert source is not None
    tree = ast.parse(source.read_text())
    shipped = {m[: -len(".py")].replace("/", ".").removesuffix(".__init__") for m in members}

    def allowed(name: str) -> bool:
        return (
            name.split(".")[0] in sys.stdlib_module_names
            or name == "__future__"
            or name == RUNNER_PACKAGE
            or name.startswith(RUNNER_PACKAGE + ".")
            or (name.startswith("hwnas.runtimes.") and name in shipped)  # a device module's own siblings
        )

    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert allowed(name), f"{member} imports {name} at top level"
    inner = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    inner |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {n.split(".")[0] for n in inner if not allowed(n)} <= RUNTIME_MODULES


def test_zipapp_holds_the_core_and_every_runtimes_device_module(tmp_path: Path) -> None:
    runner = write_runner(tmp_path / "runner.pyz")
    names = set(zipfile.ZipFile(runner).namelist())
    assert "__main__.py" in names and "hwnas/ondevice/protocol.py" in names
    for name in RUNTIMES:
        assert f"hwnas/runtimes/{name}/device.py" in names
        assert f"hwnas/runtimes/{name}/host.py" not in names  # the host side (torch) stays home
        assert f"hwnas/runtimes/{name}/export.py" not in names
    siblings = {"hwnas/runtimes/tensorrt/trtexec.py", "hwnas/runtimes/tensorrt/precision.py"}
    assert siblings <= names  # what tensorrt/device.py imports from its folder
    assert zipfile.ZipFile(runner).read("hwnas/__init__.py") == b""  # no hwnas import chain on the device


def test_timed_runs_honours_min_count_and_min_time() -> None:
    calls = []

    def run() -> None:
        calls.append(1)
        time.sleep(0.001)

    samples, timed_s, warm_s = core.timed_runs(run, _timing(warmup_runs=4, warmup_s=0.0, min_runs=5, min_time_s=0.05))
    assert len(samples) >= 5 and timed_s >= 0.05
    assert len(calls) == len(samples) + 4  # exactly the warm-up runs asked for, then the timed ones
    assert all(s >= 1.0 for s in samples)  # each run sleeps 1 ms
    samples, timed_s, _ = core.timed_runs(run, _timing(warmup_runs=0, warmup_s=0.0, min_runs=30, min_time_s=0.0))
    assert len(samples) == 30
    samples, _, warm_s = core.timed_runs(lambda: 2.5, _timing(warmup_runs=0, warmup_s=0.02, min_runs=3, min_time_s=0.0))
    assert samples == [2.5, 2.5, 2.5] and warm_s >= 0.02  # a runtime's own timer (CUDA events) wins


def test_timing_keys_are_the_settings_the_host_sends() -> None:
    assert set(core.TIMING_KEYS) <= set(TimingSettings().to_dict())


def test_thread_cpu_clock_leaves_out_time_off_the_cpu() -> None:
    def sleepy() -> None:  # off the CPU, like a run preempted by another process
        time.sleep(0.005)

    timing = {"warmup_runs": 0, "warmup_s": 0.0, "min_runs": 5, "min_time_s": 0.0}
    wall, _, _ = core.timed_runs(sleepy, _timing(**timing, clock="wall"))
    cpu, _, _ = core.timed_runs(sleepy, _timing(**timing, clock="thread_cpu"))
    assert min(wall) >= 5.0 and max(cpu) < 2.0

    def busy() -> None:
        end = time.thread_time() + 0.003
        while time.thread_time() < end:
            pass

    cpu, _, _ = core.timed_runs(busy, _timing(**timing, clock="thread_cpu"))
    assert all(s >= 3.0 for s in cpu)
    with pytest.raises(ValueError, match="timing clock must be one of wall, thread_cpu"):
        core.timed_runs(busy, _timing(**timing, clock="sundial"))


def test_zipapp_serves_json_lines(tmp_path: Path) -> None:
    model = tmp_path / "conv.onnx"
    export_onnx(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()), (1, 3, 8, 8), model)
    quick = _timing(warmup_runs=1, warmup_s=0, min_runs=4, min_time_s=0)
    requests = [
        {"op": "ping"},
        {"op": "describe", "runtime": "onnxruntime", "options": {"threads": 1}},
        {
            "op": "measure",
            "runtime": "onnxruntime",
            "path": str(model),
            "input_shape": [1, 3, 8, 8],
            "options": {"threads": 1},
            "timing": quick,
        },
        {"op": "measure", "runtime": "onnxruntime", "path": str(tmp_path / "missing.onnx"), "input_shape": [1]},
        {
            "op": "measure",
            "runtime": "onnxruntime",
            "path": str(model),
            "input_shape": [1, 3, 8, 8],
            "timing": {"min_runs": 4},
        },
        {"op": "describe", "runtime": "ncnn"},
        {"op": "exit"},
    ]
    text = "\n".join(json.dumps(r) for r in requests) + "\nnot json\n"
    runner = write_runner(tmp_path / "runner.pyz")
    # -I: no PYTHONPATH, no user site, no cwd; the zipapp must bring all of hwnas it needs
    proc = subprocess.run(
        [sys.executable, "-I", str(runner), "serve"],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(replies) == 7  # stops at exit; nothing but replies on stdout
    ping, describe, measure, missing, partial, unknown, bye = replies
    assert ping == {"ok": True, "protocol": protocol.PROTOCOL_VERSION}
    assert describe["runtime"]["name"] == "onnxruntime" and describe["host"]["cores"] >= 1
    assert measure["ok"] and len(measure["samples_ms"]) >= 4 and measure["timed_s"] > 0
    assert not missing["ok"] and "does not exist" in missing["error"]
    assert not partial["ok"] and "timing lacks warmup_runs, warmup_s, min_time_s, clock" in partial["error"]
    assert (
        not unknown["ok"]
        and "unknown runtime 'ncnn' (known: onnxruntime, tensorrt, coreml, litert, openvino)" in unknown["error"]
    )
    assert bye == {"ok": True}


def test_missing_runtime_is_reported_as_missing() -> None:
    reply = protocol.handle({"op": "describe", "runtime": "coreml", "options": {}}, device_modules())
    if sys.platform != "darwin":
        assert reply["ok"] is False and reply["missing"] is True and "macOS" in reply["error"]


def test_fingerprint_names_cpu_cores_and_os() -> None:
    info = machine.fingerprint()
    assert info["cpu_model"] and info["cores"] >= 1 and info["os"]
