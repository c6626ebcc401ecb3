"""``trtexec`` on the device: found once, asked once per process which TensorRT it is, and timed
by ``--exportTimes`` (GPU compute time per inference).

trtexec 10 sets precision with ``--fp16`` / ``--int8``; trtexec 11 rejects both ("Unknown
option") and builds with ``--stronglyTyped`` from a model that carries its precision (an
fp16 ONNX, or Q/DQ for int8). The runner process serves a whole profiling job, so
``--help`` runs once per trtexec per process (:data:`_INFO`), not once per measurement.

Standard library only: packed into the runner zipapp with ``device.py``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from typing import Any

from hwnas.ondevice.core import RuntimeMissing, measured
from hwnas.runtimes.tensorrt.precision import check_strongly_typed, major, onnx_facts

TRTEXEC_PATHS = ("/usr/src/tensorrt/bin/trtexec", "/usr/local/tensorrt/bin/trtexec", "/opt/tensorrt/bin/trtexec")
_INFO: dict[str, tuple[str, int]] = {}  # trtexec path -> (version, generation), asked once per process


def find() -> str | None:
    found = shutil.which("trtexec")
    if found:
        return found
    for path in TRTEXEC_PATHS:
        if os.access(path, os.X_OK):
            return path
    return None


def require() -> str:
    exe = find()
    if exe is None:
        raise RuntimeMissing("trtexec is not on this device (JetPack ships it in /usr/src/tensorrt/bin)")
    return exe


def _version(text: str) -> str:
    m = re.search(r"TensorRT v(\d+)", text)
    if not m:
        return "unknown"
    n = int(m.group(1))
    if n >= 100000:  # v100300 -> 10.3.0, v110000 -> 11.0.0
        return f"{n // 10000}.{(n // 100) % 100}.{n % 100}"
    return f"{n // 1000}.{(n // 100) % 10}.{n % 100}"  # v8601 -> 8.6.1


def info(exe: str) -> tuple[str, int]:
    """(version, generation 10 or 11) of ``exe`` from its ``--help`` banner and options; cached per process.

    Generation 11 when the version says so, or when the help offers ``--stronglyTyped`` but
    no ``--fp16`` (a banner that names no version)."""
    cached = _INFO.get(exe)
    if cached is not None:
        return cached
    try:
        proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
        text = proc.stdout + proc.stderr
    except (OSError, subprocess.TimeoutExpired):
        text = ""
    version = _version(text)
    n = major(version)
    gen = 11 if n >= 11 or (n == 0 and "--stronglyTyped" in text and "--fp16" not in text) else 10
    _INFO[exe] = (version, gen)
    return version, gen


def precision_flags(gen: int, precision: str) -> list[str]:
    """The build options for ``precision``: ``--fp16`` / ``--int8`` on 10, ``--stronglyTyped`` on 11."""
    if gen >= 11:
        return ["--stronglyTyped"]
    flags = []
    if precision in ("fp16", "int8"):
        flags.append("--fp16")
    if precision == "int8":
        flags.append("--int8")
    return flags


def failure(output: str, code: int) -> str:
    """A failed run's message: its exit code and FIRST ``[E]`` line (the cause; later ones are
    consequences such as "Engine set up failed"), else its last line."""
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if "[E]" in ln]
    line = errors[0] if errors else (lines[-1] if lines else "no output")
    return f"trtexec failed (exit {code}): {line}"


def is_engine(path: str) -> bool:
    """A serialised engine (``hwnas export --format tensorrt``) is timed as it is, not rebuilt."""
    return path.endswith((".engine", ".plan"))


def engine_path(onnx_path: str, precision: str, version: str) -> str:
    return f"{onnx_path}.{precision}.trt{version}.engine"


def measure(path: str, input_shape: list[int], options: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    """GPU compute time per inference from ``trtexec --exportTimes`` (the Jetson fallback)."""
    exe = require()
    version, gen = info(exe)
    precision = options.get("precision") or "fp16"
    engine_file = path if is_engine(path) else engine_path(path, precision, "exec-" + version)
    cmd = [exe]
    if os.path.exists(engine_file):
        cmd.append("--loadEngine=" + engine_file)
    else:
        if gen >= 11:
            qdq, fp16 = onnx_facts(path)
            check_strongly_typed(precision, path, qdq, fp16, f"trtexec {version}")
        cmd += ["--onnx=" + path, "--saveEngine=" + engine_file] + precision_flags(gen, precision)
    fd, times_file = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    cmd += [
        f"--warmUp={max(1, int(1000 * float(timing['warmup_s'])))}",
        f"--iterations={max(1, int(timing['min_runs']))}",
        f"--duration={max(1, math.ceil(float(timing['min_time_s'])))}",
        "--avgRuns=1",
        "--useSpinWait",
        "--noDataTransfers",
        "--exportTimes=" + times_file,
    ]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(failure(proc.stdout + proc.stderr, proc.returncode))
        with open(times_file) as fh:
            times = json.load(fh)
    finally:
        os.unlink(times_file)
    wall = time.perf_counter() - t0
    samples = [
        float(t["computeMs"]) if "computeMs" in t else float(t["endComputeMs"]) - float(t["startComputeMs"])
        for t in times
    ]
    if not samples:
        raise RuntimeError("trtexec reported no timed iterations")
    timed_s = sum(samples) / 1000.0
    return measured(samples, timed_s, max(0.0, wall - timed_s))
