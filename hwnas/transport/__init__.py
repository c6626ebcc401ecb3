"""Reaching a device's runner: one :class:`~hwnas.transport.base.Transport` interface (``request()``
with one reply check), in-process for local devices and over SSH for remote ones, and the
runner zipapp the SSH transport ships (``zipapp.py``)."""

from __future__ import annotations

from hwnas.devices import Device
from hwnas.transport.base import Transport, check_reply


def open_transport(device: Device, runtime_title: str) -> Transport:
    """In-process when ``device`` is local, the runner zipapp over SSH, benchmark_model over adb."""
    if device.connection == "adb":
        from hwnas.transport.adb import AdbTransport

        return AdbTransport(device, runtime_title)
    if device.is_remote:
        from hwnas.transport.ssh import SSHTransport

        return SSHTransport(device, runtime_title)
    from hwnas.transport.local import InProcessTransport

    return InProcessTransport(device, runtime_title)


__all__ = ["Transport", "check_reply", "open_transport"]
