"""What every runtime's ``device.py`` shares: the measuring loop and the missing-runtime error.

Standard library only: this module runs on the device inside the runner zipapp.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from typing import Any

_SAMPLE_CLOCKS = {"wall": time.perf_counter_ns, "thread_cpu": time.thread_time_ns}

#: The timing settings a measure request carries; the host sends every one of them
#: (``hwnas.runtimes.timing.TimingSettings`` holds the only defaults).
TIMING_KEYS = ("warmup_runs", "warmup_s", "min_runs", "min_time_s", "clock")


class RuntimeMissing(Exception):
    """The runtime (or the platform it needs) is not on this device; the message says what to install."""


def timed_runs(run: Callable[[], float | None], timing: dict[str, Any]) -> tuple[list[float], float, float]:
    """Warm up, then time ``run`` until both ``min_runs`` and ``min_time_s`` are reached.

    ``run`` returns ``None`` (the host clock times it) or its own duration in ms (a GPU
    timer: CUDA events). The host clock is ``timing["clock"]``: ``wall`` or
    ``thread_cpu``, the CPU time of the calling thread, which leaves out the time other
    processes take the core away; it equals latency only when the runtime computes on
    the calling thread (ONNX Runtime with one intra-op thread). Returns
    ``(samples_ms, timed_s, warmup_s)``; the budgets (``warmup_s``, ``min_time_s``) are
    wall time. Every key of :data:`TIMING_KEYS` must be present.
    """
    warmup_runs = int(timing["warmup_runs"])
    warmup_s = float(timing["warmup_s"])
    min_runs = max(1, int(timing["min_runs"]))
    min_time_s = float(timing["min_time_s"])
    sample_clock = _SAMPLE_CLOCKS.get(timing["clock"])
    if sample_clock is None:
        raise ValueError("timing clock must be one of {}, got {!r}".format(", ".join(_SAMPLE_CLOCKS), timing["clock"]))
    clock = time.perf_counter
    start = clock()
    done = 0
    while done < warmup_runs or clock() - start < warmup_s:
        run()
        done += 1
    warm = clock() - start
    samples: list[float] = []
    start = clock()
    while len(samples) < min_runs or clock() - start < min_time_s:
        t0 = sample_clock()
        own = run()
        host_ms = (sample_clock() - t0) / 1e6
        samples.append(float(own) if own is not None else host_ms)
    return samples, clock() - start, warm


def import_runtime(module: str, package: str, hint: str) -> Any:
    """Import ``module`` or raise :class:`RuntimeMissing` naming the package and how to install it."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise RuntimeMissing(
            f"{package} is not installed for {sys.executable} on this device ({hint}{_managed_python_advice()})"
        ) from None


def _managed_python_advice() -> str:
    """On a distribution-managed Python (PEP 668: Raspberry Pi OS, Debian 12, Ubuntu 23.04+) a
    system-wide pip install is refused, so the hint must say to make a venv and use its python."""
    marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
    if sys.prefix != sys.base_prefix or not os.path.exists(marker):
        return ""
    return (
        "; this Python is managed by the OS and refuses system-wide pip installs: make a venv "
        "(python3 -m venv ~/hwnas-venv && ~/hwnas-venv/bin/pip install ...) and set ssh.python in the "
        "device file to its absolute path, e.g. /home/USER/hwnas-venv/bin/python3"
    )


def random_input(np: Any, shape: Sequence[int], dtype: str = "float32", seed: int = 0) -> Any:
    """A fixed standard-normal input (numpy is passed in: only the runtimes import it)."""
    return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(dtype)


def measured(samples_ms: list[float], timed_s: float, setup_s: float) -> dict[str, Any]:
    """The result of a ``measure`` request: raw samples (ms), seconds timed, seconds of setup."""
    return {"samples_ms": samples_ms, "timed_s": timed_s, "setup_s": setup_s}


def read_first(path: str) -> str | None:
    """The first line of a (sysfs, device-tree) file, NULs removed; None when unreadable or empty."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().replace(b"\x00", b"").decode("utf-8", "replace").strip()
        return text.splitlines()[0] if text else None
    except OSError:
        return None
