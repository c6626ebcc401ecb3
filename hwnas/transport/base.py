"""One way to talk to a runner: :meth:`Transport.request` sends a request and returns its checked reply.

Two transports implement it: :class:`~hwnas.transport.local.InProcessTransport` (this
machine: the runner's ``handle`` is called in-process) and
:class:`~hwnas.transport.ssh.SSHTransport` (a remote device: the runner zipapp serves
JSON lines over one SSH connection). Both answer with the same replies
(``hwnas/ondevice/protocol.py``) and both go through :func:`check_reply`, so a failure
reads the same wherever the device is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwnas.errors import DeviceError, MissingDependency

if TYPE_CHECKING:
    from hwnas.devices import Device


def check_reply(reply: dict[str, Any], *, what: str, where: str, missing: str) -> dict[str, Any]:
    """``reply`` when it is ``ok``; else MissingDependency (``missing`` names the runtime and place) for a
    runtime that is not installed, DeviceError (``where: could not <what>: <error>``) for the rest."""
    if reply.get("ok"):
        return reply
    if reply.get("missing"):
        raise MissingDependency(missing, reply.get("error", ""))
    raise DeviceError(f"{where}: could not {what}: {reply.get('error')}")


class Transport(ABC):
    """A connection to one device's runner, opened for a job; use as a context manager."""

    def __init__(self, device: Device, runtime_title: str) -> None:
        self.device = device
        self.runtime_title = runtime_title

    @property
    def where(self) -> str:
        """The device as error messages name it."""
        return self.device.name

    @property
    def missing_label(self) -> str:
        """What a missing runtime is called in MissingDependency (``Core ML``, ``TensorRT on jetson (...)``)."""
        return self.runtime_title

    def request(self, request: dict[str, Any], *, what: str, timeout_s: float | None = None) -> dict[str, Any]:
        """Send one request; the reply if it is ``ok``, else the error :func:`check_reply` raises."""
        return check_reply(
            self.send(request, what=what, timeout_s=timeout_s), what=what, where=self.where, missing=self.missing_label
        )

    @abstractmethod
    def send(self, request: dict[str, Any], *, what: str, timeout_s: float | None) -> dict[str, Any]:
        """The runner's raw reply; a transport failure (lost connection, no answer) raises DeviceError."""

    @abstractmethod
    def upload(self, artifacts: list[Path]) -> list[str]:
        """Make artifacts available to the runner; returns the paths it should load."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the connection (in-process transports hold nothing)."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
