"""Where models are timed: a device's runtime plus the transport that reaches its runner.

A target is opened once per job (a whole table, a validation run) and hands out
measurements of artifacts the runtime prepared on the host. Local and remote devices
differ only in their transport (``hwnas.transport``: in-process or SSH), which answers
with the same runner replies, so profiling code does not care where the device is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwnas.devices import Device
from hwnas.latency.timing import Measurement
from hwnas.runtimes import Runtime, get_runtime
from hwnas.transport import Transport, open_transport


class Target:
    """An opened device: upload artifacts, time them, say what runtime and machine it is."""

    def __init__(self, device: Device, runtime: Runtime, transport: Transport) -> None:
        self.device = device
        self.runtime = runtime
        self.transport = transport
        self.measure_count = 0
        self._description: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        """``{"runtime": {...name, version...}, "host": {...fingerprint...}}`` of the device (asked once)."""
        if self._description is None:
            request = {"op": "describe", "runtime": self.runtime.name, "options": self.runtime.runner_options()}
            reply = self.transport.request(request, what="describe the runtime", timeout_s=120)
            self._description = {"runtime": reply["runtime"], "host": reply["host"]}
        return self._description

    def upload(self, artifacts: list[Path]) -> list[str]:
        """Make artifacts available on the device; returns the paths the runner should load."""
        return self.transport.upload(artifacts)

    def measure(self, path: str, input_shape: tuple[int, ...]) -> Measurement:
        """Time one uploaded artifact with the device's timing settings (all of them sent)."""
        request = {
            "op": "measure",
            "runtime": self.runtime.name,
            "path": path,
            "input_shape": list(input_shape),
            "options": self.runtime.runner_options(),
            "timing": self.device.timing.to_dict(),
        }
        reply = self.transport.request(request, what=f"time {Path(path).name}")
        self.measure_count += 1
        return Measurement.from_reply(reply)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_target(device: Device) -> Target:
    """Open ``device`` for a job: its runtime (precision checked) and a transport to its runner."""
    runtime = get_runtime(device)
    return Target(device, runtime, open_transport(device, runtime.title))
