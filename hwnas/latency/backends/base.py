"""The contract every runtime backend fulfils: prepare a model for a device, time it, describe itself.

Preparing happens on the host (export to ONNX, quantise, convert to Core ML); timing
happens where the device is, by the self-contained runner
(``hwnas/latency/remote/runner.py``): in-process for local devices, over SSH for remote
ones, so both paths time with the same code. Guarantees of every backend:

- ``prepare`` writes its artifact atomically and only once per (model, shape, precision)
  when the caller caches by path; it never modifies the model.
- ``time`` warms up and then repeats until both ``min_runs`` and ``min_time_s`` are
  reached, and returns per-run statistics in milliseconds.
- A runtime or platform that is missing raises :class:`~hwnas.errors.MissingDependency`
  naming the package or platform needed; it never falls back to another runtime.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from hwnas.devices import Device
from hwnas.errors import DeviceError, MissingDependency, UsageError
from hwnas.latency.remote import runner
from hwnas.latency.timing import Measurement, TimingSettings


class Backend(ABC):
    """One runtime (ONNX Runtime, TensorRT, Core ML) as seen from the host."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    precisions: ClassVar[tuple[str, ...]] = ("fp32",)
    artifact_suffix: ClassVar[str] = ".onnx"
    install_hint: ClassVar[str] = ""

    def __init__(self, device: Device) -> None:
        if device.precision not in self.precisions:
            raise UsageError(f"device {device.name}: the {self.name} backend times precision "
                             f"{', '.join(self.precisions)}, not {device.precision}")
        self.device = device

    @property
    def artifact_tag(self) -> str:
        """Names the artifact kind in cache paths: two devices with equal tags share exports."""
        return f"{self.name}-{self.device.precision}"

    @abstractmethod
    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        """Write what the device's runtime loads (ONNX file, .mlpackage) for ``model`` at ``input_shape``."""

    def runner_options(self) -> dict[str, Any]:
        return self.device.runner_options()

    def describe(self) -> dict[str, Any]:
        """Runtime name, version and options as the runtime on *this* machine reports them."""
        reply = runner.handle({"op": "describe", "runtime": self.name, "options": self.runner_options()})
        self._raise_for(reply, "describe the runtime")
        return {"runtime": reply["runtime"], "host": reply["host"]}

    def time(self, artifact: Path, input_shape: tuple[int, ...], timing: TimingSettings) -> Measurement:
        """Time ``artifact`` on this machine with the runner's measuring loop."""
        reply = runner.handle({"op": "measure", "runtime": self.name, "path": str(artifact),
                               "input_shape": list(input_shape), "options": self.runner_options(),
                               "timing": timing.to_dict()})
        self._raise_for(reply, f"time {Path(artifact).name}")
        return Measurement.from_reply(reply)

    def _raise_for(self, reply: dict[str, Any], what: str) -> None:
        if reply.get("ok"):
            return
        if reply.get("missing"):
            raise MissingDependency(self.title, reply["error"])
        raise DeviceError(f"{self.device.name}: could not {what}: {reply.get('error')}")
