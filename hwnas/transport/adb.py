"""adb transport to an Android phone: models are pushed with ``adb push`` and timed by LiteRT's own
``benchmark_model`` binary on the phone (no Python there), whose summary is parsed into the same
replies the runner gives.

Every ``adb`` call is an argument list (never a local shell); the command run by the phone's
shell is built from words quoted one by one (``shlex.quote``), and the device file's values
are checked when it is loaded (``hwnas.device_file``). ``adb`` missing, or no phone with
the device file's serial, is a :class:`~hwnas.errors.MissingDependency` naming what is
missing, raised when the transport opens.

``benchmark_model`` warms up (``--warmup_runs``, ``--warmup_min_secs``), then runs at least
``--num_runs`` times and ``--min_secs`` seconds, and prints a summary per phase::

    count=50 first=512 curr=480 min=470 max=560 avg=490.2 std=18 p5=472 median=488 p95=530

in microseconds (the percentiles in recent LiteRT builds). It reports no per-run samples,
so a reply carries its summary (``stats_ms``): the median is its ``median`` (``avg`` when
the build prints no percentiles), p10 / p90 carry its p5 / p95 (min / max without them).
Devices timed this way use the median estimator (the device file check insists).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hwnas.devices import Device
from hwnas.errors import DeviceError, MissingDependency
from hwnas.transport.base import Transport

_STAT = re.compile(r"^(?:\S+: )?(count=\d+\b.*)$", re.MULTILINE)  # lines may carry "INFO: "
_FIELD = re.compile(r"\b([a-z0-9]+)=(-?[0-9.]+(?:e[-+]?\d+)?)")
_INIT = re.compile(r"Inference timings in us: Init: ([0-9.]+)")


def parse_benchmark_output(text: str) -> dict[str, Any]:
    """The timed phase of ``benchmark_model``'s output as a reply: ``stats_ms``, ``timed_s``, ``setup_s``.

    The last ``count=`` line is the timed runs (the one before it the warm-up). Raises
    ValueError naming what is missing when the output has no such line (a crash, a bad flag).
    """
    lines = [m.group(1) for m in _STAT.finditer(text)]
    if not lines:
        tail = [ln.strip() for ln in text.splitlines() if ln.strip()]
        raise ValueError(f"benchmark_model printed no timing summary (count=...){': ' + tail[-1] if tail else ''}")
    fields = {k: float(v) for k, v in _FIELD.findall(lines[-1])}
    n = int(fields["count"])
    if "avg" not in fields:  # "count=N curr=X(all same)": every run took the same time
        fields.update({k: fields["curr"] for k in ("avg", "min", "max")}, std=0.0)
    us = 1e-3
    median = fields.get("median", fields["avg"])
    stats = {
        "median_ms": median * us,
        "p10_ms": fields.get("p5", fields["min"]) * us,
        "p90_ms": fields.get("p95", fields["max"]) * us,
        "mean_ms": fields["avg"] * us,
        "std_ms": fields.get("std", 0.0) * us,
        "n": n,
    }
    warm = {k: float(v) for k, v in _FIELD.findall(lines[-2])} if len(lines) > 1 else {}
    init = _INIT.search(text)
    setup_s = (float(init.group(1)) if init else 0.0) * 1e-6 + warm.get("count", 0) * warm.get("avg", 0.0) * 1e-6
    return {
        "stats_ms": stats,
        "timed_s": n * fields["avg"] * 1e-6,
        "setup_s": setup_s,
        "summary": {"tool": "benchmark_model", "median_from": "median" if "median" in fields else "avg"},
    }


def benchmark_args(binary: str, model: str, options: dict[str, Any], timing: dict[str, Any]) -> list[str]:
    """benchmark_model's arguments for one model with the device's threads, delegate and timing."""
    args = [
        binary,
        f"--graph={model}",
        f"--num_threads={int(options['threads'])}",
        f"--warmup_runs={int(timing['warmup_runs'])}",
        f"--warmup_min_secs={float(timing['warmup_s']):g}",
        f"--num_runs={int(timing['min_runs'])}",
        f"--min_secs={float(timing['min_time_s']):g}",
        "--enable_op_profiling=false",
    ]
    if options.get("provider") == "gpu":
        args += ["--use_gpu=true"]
    elif options.get("provider") == "cpu-builtin":
        args += ["--use_xnnpack=false"]  # LiteRT's own CPU kernels
    else:
        args += ["--use_xnnpack=true"]
    return args


PROVIDER_TITLES = {"gpu": "gpu delegate", "cpu-builtin": "cpu (builtin kernels, no XNNPACK)"}


class AdbTransport(Transport):
    """One phone, by serial: ``adb push`` for models, ``adb shell benchmark_model`` to time them."""

    def __init__(self, device: Device, runtime_title: str) -> None:
        super().__init__(device, runtime_title)
        assert device.adb is not None, "connection: adb devices carry adb settings (checked on load)"
        self.settings = device.adb
        where = f" in {device.source}" if device.source else ""
        if shutil.which(self.settings.adb) is None:
            raise MissingDependency(
                f"adb ({self.settings.adb!r}, Android platform tools)",
                "install them (apt-get install adb, or the Android SDK platform-tools), connect the phone with "
                f"USB debugging on, and set adb.serial{where}",
            )
        state = self._adb(["get-state"], what="reach the phone", check=False)
        if state.returncode != 0 or state.stdout.strip() != "device":
            listed = self._adb_global(["devices"]).splitlines()[1:]
            serials = ", ".join(ln.split()[0] for ln in listed if ln.strip()) or "none"
            raise MissingDependency(
                f"Android device {self.settings.serial}",
                f"adb reaches no phone with that serial (adb devices lists: {serials}); plug it in with USB "
                f"debugging on and accept the prompt, or fix adb.serial{where}",
            )

    @property
    def where(self) -> str:
        return f"{self.device.name} (adb {self.settings.serial})"

    def _adb_global(self, args: list[str]) -> str:
        proc = subprocess.run([self.settings.adb, *args], capture_output=True, text=True, timeout=60)
        return proc.stdout

    def _adb(
        self, args: list[str], *, what: str, check: bool = True, timeout_s: float = 120
    ) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(
                [self.settings.adb, "-s", self.settings.serial, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            raise DeviceError(f"{self.where}: could not {what}: no answer within {timeout_s:.0f} s") from None
        if check and proc.returncode != 0:
            detail = (proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}").splitlines()[-1]
            raise DeviceError(f"{self.where}: could not {what}: {detail}")
        return proc

    def shell(self, words: list[str], *, what: str, timeout_s: float = 600) -> str:
        """Run ``words`` on the phone (each shell-quoted); its output, stdout and stderr together."""
        proc = self._adb(["shell", shlex.join(words) + " 2>&1"], what=what, timeout_s=timeout_s)
        return proc.stdout

    def upload(self, artifacts: list[Path]) -> list[str]:
        work = self.settings.work_dir.rstrip("/")
        self.shell(["mkdir", "-p", work], what="make the model folder")
        remote = []
        for path in artifacts:
            target = f"{work}/{Path(path).name}"
            self._adb(["push", str(path), target], what=f"push {Path(path).name}")
            remote.append(target)
        return remote

    def send(self, request: dict[str, Any], *, what: str, timeout_s: float | None = None) -> dict[str, Any]:
        op = request.get("op")
        if op == "describe":
            return self._describe(request.get("options") or {})
        if op == "measure":
            options, timing = request.get("options") or {}, request.get("timing") or {}
            args = benchmark_args(self.settings.benchmark_model, request["path"], options, timing)
            text = self.shell(args, what=what, timeout_s=timeout_s or 900)
            try:
                return {"ok": True, **parse_benchmark_output(text)}
            except ValueError as exc:
                return {"ok": False, "error": str(exc)}
        return {"ok": False, "error": f"the adb transport answers describe and measure, not {op!r}"}

    def _describe(self, options: dict[str, Any]) -> dict[str, Any]:
        binary = self.settings.benchmark_model
        probe = self.shell(
            ["sh", "-c", 'test -x "$1" && echo yes || echo no', "sh", binary], what="find benchmark_model"
        )
        if probe.strip() != "yes":
            return {
                "ok": False,
                "missing": True,
                "error": f"benchmark_model is not at {binary} on the phone (push LiteRT's Android benchmark_model "
                "there and chmod +x it, or set adb.benchmark_model)",
            }

        def prop(name: str) -> str:
            return self.shell(["getprop", name], what=f"read {name}").strip()

        cores = self.shell(["nproc"], what="count cores").strip()
        return {
            "ok": True,
            "runtime": {
                "name": "litert",
                "version": f"benchmark_model at {binary}",
                "provider": PROVIDER_TITLES.get(str(options.get("provider")), "cpu (XNNPACK delegate)"),
                "threads": options.get("threads"),
            },
            "host": {
                "cpu_model": prop("ro.soc.model") or prop("ro.product.model"),
                "cores": int(cores) if cores.isdigit() else None,
                "os": f"Android {prop('ro.build.version.release')}",
                "machine": prop("ro.product.cpu.abi"),
                "board": prop("ro.product.model"),
            },
        }
