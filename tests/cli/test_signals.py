"""Ctrl-C (SIGINT) and `kill` (SIGTERM) mid-command: exit 130, one line naming --resume, and --resume finishes.

Each command runs as a real subprocess; the signal is sent only once its first checkpoint is
on disk, so the test never interrupts a command that has not started. (SIGINT for search and
SIGTERM for score are in test_bad_inputs.py and test_cli_proxies.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from dev_data import nb201_latency_csv

from hwnas.spaces import get_space

REPO = Path(__file__).resolve().parents[2]
DEV = nb201_latency_csv()
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
STARTED_WITHIN_S = 180  # a slow, shared machine


def interrupt(cmd: list[str], started: Callable[[], bool], sig: signal.Signals) -> str:
    """Run ``cmd``, send ``sig`` once ``started()``, and return its one stderr line (exit code 130)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + STARTED_WITHIN_S
    while not started() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, f"finished before it was interrupted: {proc.communicate()[1].decode()[-2000:]}"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=180)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 130, err.decode()[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: interrupted") and "--resume" in lines[0], lines
    return lines[0]


def finish(cmd: list[str]) -> dict:
    done = subprocess.run([*cmd, "--resume", "--json"], capture_output=True, env=ENV, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_profile_is_interrupted_and_resumed(tmp_path: Path, sig: signal.Signals) -> None:
    device = tmp_path / "quick-cpu.yaml"
    timing = {"warmup_runs": 1, "warmup_s": 0.0, "min_runs": 3, "min_time_s": 0.01}
    device.write_text(yaml.safe_dump({"name": "quick-cpu", "runtime": "onnxruntime", "threads": 1, "timing": timing}))
    table = tmp_path / "table.json"
    cmd = [sys.executable, "-m", "hwnas", "profile", "--device", str(device), "--space", "hybrid"]
    cmd += ["--resolution", "32", "--limit", "100", "--output", str(table), "--work-dir", str(tmp_path / "work")]
    line = interrupt(cmd, table.exists, sig)  # the first checkpoint is written after 2 s of timing
    assert f"saved in {table};" in line, line
    saved = json.loads(table.read_text())
    assert 0 < len(saved["entries"]) < 100 and saved["complete"] is False
    report = finish(cmd)
    assert report["entries"] == 100 and report["already_present"] == len(saved["entries"])


def test_search_is_terminated_and_resumed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hwnas", "search", "--space", "nb201", "--latency-table", str(DEV)]
    cmd += ["--latency-column", "pixel3_latency_ms", "--latency-ms", "10", "--evaluations", "600", "--proxy", "sed"]
    cmd += ["--out", str(out)]
    line = interrupt(cmd, (out / "checkpoint.json").exists, signal.SIGTERM)
    assert f"saved in {out};" in line, line
    assert not (out / "best.json").exists()
    finish(cmd)
    assert (out / "best.json").exists()


def test_score_is_interrupted_and_resumed(tmp_path: Path) -> None:
    nb201 = get_space("nb201")
    archs = tmp_path / "archs.txt"
    unique = list(dict.fromkeys(nb201.encode(a) for a in nb201.sample_many(150, seed=2)))
    archs.write_text("\n".join(unique) + "\n")
    out = tmp_path / "scores.csv"
    cmd = [sys.executable, "-m", "hwnas", "score", "--space", "nb201", "-p", "logsynflow", "--resolution", "16"]
    cmd += ["--archs", str(archs), "--out", str(out)]

    meta = Path(f"{out}.meta.json")  # written as scoring starts; the table's first checkpoint comes 5 s later,
    started: list[float] = []  # too close to the end on a fast machine: interrupt 2 s after the start instead

    def scoring_for_2_s() -> bool:
        if not started and meta.exists():
            started.append(time.monotonic())
        return bool(started) and time.monotonic() - started[0] > 2

    line = interrupt(cmd, scoring_for_2_s, signal.SIGINT)
    assert f"saved in {out};" in line, line
    done = len(out.read_text().splitlines()) - 1  # the interrupt wrote every row scored so far
    assert 0 < done < len(unique)
    report = finish(cmd)
    assert report["reused"] >= done and report["scored"] + report["reused"] == len(unique)


def test_a_forked_helper_ends_quietly_on_sigterm(capfd: pytest.CaptureFixture[str]) -> None:
    """A library's helper process forked during a command (OpenVINO's telemetry sender) inherits the
    SIGTERM handler; it must end as SIGTERM would, not print a KeyboardInterrupt traceback."""
    import multiprocessing

    from hwnas.cli.main import _terminate_as_interrupt

    with _terminate_as_interrupt():
        child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
        child.start()
        time.sleep(0.5)
        child.terminate()  # SIGTERM
        child.join(timeout=30)
    assert child.exitcode == 128 + signal.SIGTERM
    assert "Traceback" not in capfd.readouterr().err
