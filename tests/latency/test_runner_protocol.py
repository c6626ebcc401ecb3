"""The on-device runner: self-contained, honours the timing rule, speaks JSON lines."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hwnas.latency.remote import runner
from hwnas.onnx_export import export_onnx

RUNNER = Path(runner.__file__)
RUNTIME_MODULES = {"onnxruntime", "numpy", "tensorrt", "cuda", "coremltools"}


def test_runner_imports_only_the_standard_library_at_top_level() -> None:
    tree = ast.parse(RUNNER.read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            continue
        for name in names:
            assert name in sys.stdlib_module_names or name == "__future__", name
    inner = {n.names[0].name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)}
    inner |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert inner - set(sys.stdlib_module_names) - {"__future__"} <= RUNTIME_MODULES


def test_timed_runs_honours_min_count_and_min_time() -> None:
    calls = []

    def run() -> None:
        calls.append(1)
        time.sleep(0.001)

    samples, timed_s, warm_s = runner.timed_runs(run, {"warmup_runs": 4, "warmup_s": 0.0, "min_runs": 5, "min_time_s": 0.05})
    assert len(samples) >= 5 and timed_s >= 0.05
    assert len(calls) == len(samples) + 4  # exactly the warm-up runs asked for, then the timed ones
    assert all(s >= 1.0 for s in samples)  # each run sleeps 1 ms
    samples, timed_s, _ = runner.timed_runs(run, {"warmup_runs": 0, "warmup_s": 0.0, "min_runs": 30, "min_time_s": 0.0})
    assert len(samples) == 30
    samples, _, warm_s = runner.timed_runs(lambda: 2.5, {"warmup_runs": 0, "warmup_s": 0.02, "min_runs": 3, "min_time_s": 0.0})
    assert samples == [2.5, 2.5, 2.5] and warm_s >= 0.02  # a runtime's own timer (CUDA events) wins


def test_thread_cpu_clock_leaves_out_time_off_the_cpu() -> None:
    def sleepy() -> None:  # off the CPU, like a run preempted by another process
        time.sleep(0.005)

    timing = {"warmup_runs": 0, "warmup_s": 0.0, "min_runs": 5, "min_time_s": 0.0}
    wall, _, _ = runner.timed_runs(sleepy, {**timing, "clock": "wall"})
    cpu, _, _ = runner.timed_runs(sleepy, {**timing, "clock": "thread_cpu"})
    assert min(wall) >= 5.0 and max(cpu) < 2.0

    def busy() -> None:
        end = time.thread_time() + 0.003
        while time.thread_time() < end:
            pass

    cpu, _, _ = runner.timed_runs(busy, {**timing, "clock": "thread_cpu"})
    assert all(s >= 3.0 for s in cpu)
    with pytest.raises(ValueError, match="timing clock must be one of wall, thread_cpu"):
        runner.timed_runs(busy, {**timing, "clock": "sundial"})


def test_serve_answers_json_lines(tmp_path: Path) -> None:
    model = tmp_path / "conv.onnx"
    export_onnx(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()), (1, 3, 8, 8), model)
    requests = [
        {"op": "ping"},
        {"op": "describe", "runtime": "onnxruntime", "options": {"threads": 1}},
        {"op": "measure", "runtime": "onnxruntime", "path": str(model), "input_shape": [1, 3, 8, 8],
         "options": {"threads": 1}, "timing": {"warmup_runs": 1, "warmup_s": 0, "min_runs": 4, "min_time_s": 0}},
        {"op": "measure", "runtime": "onnxruntime", "path": str(tmp_path / "missing.onnx"), "input_shape": [1]},
        {"op": "describe", "runtime": "tflite"},
        {"op": "exit"},
    ]
    text = "\n".join(json.dumps(r) for r in requests) + "\nnot json\n"
    proc = subprocess.run([sys.executable, str(RUNNER), "serve"], input=text, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(replies) == 6  # stops at exit; nothing but replies on stdout
    ping, describe, measure, missing, unknown, bye = replies
    assert ping == {"ok": True, "protocol": runner.PROTOCOL_VERSION}
    assert describe["runtime"]["name"] == "onnxruntime" and describe["host"]["cores"] >= 1
    assert measure["ok"] and len(measure["samples_ms"]) >= 4 and measure["timed_s"] > 0
    assert not missing["ok"] and "does not exist" in missing["error"]
    assert not unknown["ok"] and "unknown runtime 'tflite'" in unknown["error"]
    assert bye == {"ok": True}


def test_missing_runtime_is_reported_as_missing() -> None:
    reply = runner.handle({"op": "describe", "runtime": "coreml", "options": {}})
    if sys.platform != "darwin":
        assert reply["ok"] is False and reply["missing"] is True and "macOS" in reply["error"]


def test_fingerprint_names_cpu_cores_and_os() -> None:
    info = runner.fingerprint()
    assert info["cpu_model"] and info["cores"] >= 1 and info["os"]
