"""Runtime backends by name (``get_backend(device)``); one module per runtime.

A new runtime is one module with a :class:`Backend` subclass decorated by
``@BACKENDS.register("name")`` plus its measuring functions in the runner; the
conformance tests in ``tests/latency/test_backends.py`` iterate this registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.registry import Registry

if TYPE_CHECKING:
    from hwnas.devices import Device
    from hwnas.latency.backends.base import Backend

BACKENDS: Registry[type[Backend]] = Registry("latency backend")


def get_backend(device: Device) -> Backend:
    """The backend for ``device.runtime``, checked against the device's precision."""
    return BACKENDS.get(device.runtime)(device)


from hwnas.latency.backends import coreml, onnxruntime, tensorrt  # noqa: E402,F401  (registration)

__all__ = ["BACKENDS", "get_backend"]
