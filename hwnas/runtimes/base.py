"""The host side of a runtime: what it can do, how a device's settings are checked for it, and how a
model is prepared (exported, quantised, converted) for it on the host.

A runtime folder ``hwnas/runtimes/<name>/`` has three parts:

- ``host.py``: a :class:`Runtime` subclass (this contract), registered in ``hwnas.runtimes``;
- ``device.py``: ``measure(path, input_shape, options, timing)`` and ``describe(options)``,
  executed by the runner (``hwnas.ondevice``) in-process or inside the runner zipapp on a
  remote device; standard library + that runtime only (``tests/runtimes`` checks it);
- ``export.py``: the export writers of its formats, listed in ``WRITERS`` (loaded only by
  ``hwnas.export``; they build on ``hwnas.export.base``).

Guarantees of every runtime:

- ``prepare`` writes its artifact atomically and only once per (model, shape, precision)
  when the caller caches by path; it never modifies the model;
- timing (the device module) warms up and then repeats until both ``min_runs`` and
  ``min_time_s`` are reached, and returns raw per-run samples in milliseconds;
- a runtime or platform that is missing raises :class:`~hwnas.errors.MissingDependency`
  (host side) or ``RuntimeMissing`` (device side) naming what is needed; it never falls
  back to another runtime.

This module imports nothing heavy (torch is imported inside ``prepare``) and nothing from
``hwnas.devices``, which consults the registry while it validates a device file.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hwnas.errors import UsageError
from hwnas.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from hwnas.devices import Device


class SettingError(ValueError):
    """A device file's ``field`` does not suit the runtime; ``hwnas.devices`` names the file."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field '{field}' {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DeviceSettings:
    """The device-file fields a runtime may have rules about (``provider`` already defaulted)."""

    precision: str
    provider: str | None
    threads: Any
    streams: Any = None
    connection: str = "local"


class Runtime(ABC):
    """One runtime (ONNX Runtime, TensorRT, Core ML) as seen from the host, bound to one device."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    precisions: ClassVar[tuple[str, ...]] = ("fp32",)
    """Precisions it times; a device asking for another is refused when the runtime is bound to it."""
    default_provider: ClassVar[str | None] = None
    """The device file's ``provider`` when it gives none (ORT execution provider, Core ML units, ...)."""
    artifact_suffix: ClassVar[str] = ".onnx"
    install_hint: ClassVar[str] = ""
    thread_cpu_clock: ClassVar[bool] = False
    """The model runs on the timing thread with ``threads: 1``, so ``timing.clock: thread_cpu`` is allowed."""
    times_on_host_cpu: ClassVar[bool] = False
    """Its artifacts can be timed on ``host-cpu`` when the target device runs another runtime."""
    takes_streams: ClassVar[bool] = False
    """The device file's ``streams`` field means something to it (OpenVINO's inference streams)."""
    connections: ClassVar[tuple[str, ...]] = ("local", "ssh")
    """How its devices may be reached (``adb``: an Android phone, LiteRT's ``benchmark_model``)."""
    host_device: ClassVar[str] = ""
    """The shipped device that times its artifacts on this machine when the target runs another
    runtime (``host-cpu`` for ONNX Runtime); empty when this machine cannot."""
    timed_where: ClassVar[str] = ""
    """Where its artifacts can be timed, for "not timed" reasons (e.g. "a Core ML device on macOS")."""
    host_modules: ClassVar[tuple[str, ...]] = ()
    """Python modules this machine needs to prepare the runtime's artifacts (converters)."""
    timing_modules: ClassVar[tuple[tuple[str, ...], ...]] = ()
    """Python modules that time on this machine: each inner tuple is a choice, any one of which will do."""
    fewshot_operator_flops: ClassVar[bool] = False
    """A few-shot table's model also sees each block's FLOPs by operator class
    (:mod:`hwnas.latency.op_flops`): for a runtime whose kernels are priced unlike the prior's
    (LiteRT's depthwise). Off by default: on the OpenVINO table they cost networks (100 % -> 92 %
    within ±10 %, ``scripts/fewshot_feature_study.py``)."""

    def __init__(self, device: Device) -> None:
        if device.precision not in self.precisions:
            raise UsageError(
                f"device {device.name}: the {self.name} runtime times precision "
                f"{', '.join(self.precisions)}, not {device.precision}"
            )
        self.device = device

    @classmethod  # noqa: B027  (an optional hook: most runtimes have no rules)
    def check_settings(cls, settings: DeviceSettings) -> None:
        """Raise :class:`SettingError` when a device's settings do not suit this runtime (default: any do)."""

    @classmethod
    def missing(cls, *, local: bool) -> str | None:
        """Why this machine cannot serve a device of this runtime, with the install hint, or None.

        ``local``: the device is this machine, so the runtime times here too; otherwise only
        the host side (conversion) is needed. Import specs are looked up, nothing is imported,
        so listing devices stays fast and one missing runtime never stops the others."""
        absent = [m for m in cls.host_modules if not importable(m)]
        if local:
            absent += [" or ".join(choice) for choice in cls.timing_modules if not any(map(importable, choice))]
        if not absent:
            return None
        return f"{', '.join(absent)} not installed ({cls.install_hint})"

    @classmethod
    def package(cls) -> str:
        """``hwnas.runtimes.<name>``: the folder holding ``host.py``, ``device.py`` and ``export.py``."""
        return cls.__module__.rsplit(".", 1)[0]

    @classmethod
    def device_module(cls) -> str:
        return f"{cls.package()}.device"

    @classmethod
    def export_module(cls) -> str:
        return f"{cls.package()}.export"

    @property
    def artifact_tag(self) -> str:
        """Names the artifact kind in cache paths: two devices with equal tags share exports."""
        return f"{self.name}-{self.device.precision}"

    @abstractmethod
    def prepare(self, model: nn.Module, input_shape: tuple[int, ...], out_path: Path) -> Path:
        """Write what the device's runtime loads (ONNX file, .mlpackage) for ``model`` at ``input_shape``."""

    def runner_options(self) -> dict[str, Any]:
        """The ``options`` of runner requests for this device."""
        return self.device.runner_options()


def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing or broken
        return False


RUNTIMES: Registry[type[Runtime]] = Registry("runtime")
"""Filled by ``@RUNTIMES.register(name)`` in each ``host.py``, imported (in order) by ``hwnas.runtimes``."""
