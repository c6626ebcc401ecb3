"""The fingerprint of the machine a runner times on: what timings depend on besides the runtime.

Standard library only: this module runs on the device inside the runner zipapp.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from typing import Any

from hwnas.ondevice.core import read_first


def _cpu_model() -> str:
    if platform.system() == "Darwin":
        try:
            return (
                subprocess.run(
                    ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=10
                ).stdout.strip()
                or platform.processor()
            )
        except (OSError, subprocess.TimeoutExpired):
            return platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            info = fh.read()
    except OSError:
        return platform.processor() or platform.machine()
    for field in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(rf"^{re.escape(field)}\s*:\s*(.+)$", info, re.MULTILINE)
        if m:
            return m.group(1).strip()
    return platform.processor() or platform.machine()


def _clocks() -> dict[str, Any]:
    """CPU governor and frequencies (MHz) where readable: a table is only as stable as its clocks."""
    base = "/sys/devices/system/cpu/cpu0/cpufreq/"
    clocks: dict[str, Any] = {}
    governor = read_first(base + "scaling_governor")
    if governor:
        clocks["cpu_governor"] = governor
    for name in ("scaling_cur_freq", "scaling_max_freq"):
        value = read_first(base + name)
        if value and value.isdigit():
            clocks["cpu_{}_mhz".format(name.split("_")[1])] = int(value) // 1000
    exe = shutil.which("nvpmodel")
    if exe:
        try:
            out = subprocess.run([exe, "-q"], capture_output=True, text=True, timeout=10).stdout
            if out.strip():
                clocks["nvpmodel"] = out.strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired):
            pass
    return clocks


def fingerprint() -> dict[str, Any]:
    """What the timings depend on besides the runtime: CPU, cores, OS, board, clocks."""
    info: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cores_available"] = len(os.sched_getaffinity(0))
    board = read_first("/proc/device-tree/model")
    if board:
        info["board"] = board
    clocks = _clocks()
    if clocks:
        info["clocks"] = clocks
    return info
